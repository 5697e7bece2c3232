"""The runner: what `make` runs and no notebook imports.

It builds reports (build), hands each a fresh kernel (kernelpool), validates params (params),
renders HTML and PDF (render), stamps provenance (provenance), writes make dependencies (deps),
opens Lab copies (lab), scaffolds analyses (scaffold), writes example data (examples) and copies the
tree for tests (sandbox). It imports the analysis core where it needs it (markup); the core never
imports the runner.
"""
