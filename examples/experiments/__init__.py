"""Small real training runs on scikit-learn's bundled `digits` (1,797 8x8 images, no download),
in numpy, each logging through a real tracker's own library (labbook.runner.trackerwrite).

    credit_assignment.py       BP, feedback alignment, direct feedback alignment -> TensorBoard
    sparse_training.py         baseline, batched and sample-by-sample gated training -> MLflow
    nonlinearity_reduction.py  fixed shares of linear hidden units, learned gates -> Aim
    common.py                  the data, the MLP's pieces, the scale knob, the machine

They are not part of the labbook package: `make examples` runs them (labbook.runner.examples,
GENERATORS `*_digits`) into examples/generated/<analysis>_digits/. Every run is seeded; the
numbers still vary a little with the BLAS library, the timings with the machine and its load.
LABBOOK_EXPERIMENTS=quick runs each at a few seconds' scale (the tests' sandbox builds).
"""
