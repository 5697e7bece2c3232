"""Figure builders, one module per analysis: each function takes tidy data and returns the
finished matplotlib Figure (or draws on the Axes it is given). Idioms used by several analyses
live in labbook.statplots."""
