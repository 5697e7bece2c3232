"""The real training experiments of examples/experiments/ (small numpy MLPs on scikit-learn's
bundled digits, outside the labbook package) as example generators: `make examples` writes
examples/generated/<analysis>_digits/ with each, like the simulated examples.

    GENERATED       generator name -> experiment module (examples/experiments/<module>.py)
    module(name)    that module, imported from examples/experiments/ (as package `experiments`)

Each module's generate(out, scale=None) trains at $LABBOOK_EXPERIMENTS ("full", or "quick": the
tests' sandbox builds, labbook.runner.sandbox.env) and writes its tracker store under *out*.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

from labbook import paths

PACKAGE = "experiments"
FOLDER = paths.EXAMPLES / "experiments"
GENERATED = {
    "credit_assignment_digits": "credit_assignment",
    "sparse_training_digits": "sparse_training",
    "nonlinearity_reduction_digits": "nonlinearity_reduction",
}


def module(name: str):
    """examples/experiments/<name>.py, imported as experiments.<name> (the package is registered
    from its folder, so nothing is added to sys.path)."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, FOLDER / "__init__.py", submodule_search_locations=[str(FOLDER)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.{name}")


def generator(name: str):
    """The GENERATORS entry of generator *name*: out -> the experiment's generate(out)."""

    def generate(out: Path) -> None:
        module(GENERATED[name]).generate(Path(out))

    return generate
