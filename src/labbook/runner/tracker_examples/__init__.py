"""Example tracker stores for `make examples`: one module per analysis, each converting that
analysis' simulated example numbers into TrackedRuns (float32-exact) and writing them with the
trackers' own libraries (labbook.runner.trackerwrite), beside a JSON twin of the same numbers."""
