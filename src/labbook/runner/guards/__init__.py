"""Guards for the private parts of other libraries the runner relies on (one module per library;
see labbook.guards for the core's)."""
