"""Guards for the private parts of other libraries the analysis core relies on: one module per
library, each the only place that touches them, each with a test that exercises the behaviour
relied on and fails with a clear message when the library changes under it."""
