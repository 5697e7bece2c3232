"""Per-notebook computations too involved for a notebook cell: pure functions with unit tests."""
