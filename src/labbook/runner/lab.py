"""Open a notebook in JupyterLab with the parameters of one params file.

    python -m labbook.runner.lab params/<notebook>/<variant>.yaml  # write the copy, say where
    python -m labbook.runner.lab --path params/<notebook>/<variant>.yaml # only print its path

The params file is validated as for a build, then papermill injects its values into a copy of the
notebook (a cell tagged `injected-parameters` after the parameters cell, papermill's own
convention), written to reports/_lab/<notebook>__<variant>.ipynb without running it. The notebook
in notebooks/ is not touched; the copy writes its report to reports/_interactive/<notebook>/.
"""

import argparse
import sys
from pathlib import Path

from labbook import paths

LAB = paths.REPORTS / "_lab"


def copy_path(params_file: Path) -> Path:
    """Where the parameterized copy of *params_file*'s notebook goes."""
    params_file = paths.resolve_input(params_file)
    return LAB / f"{params_file.parent.name}__{params_file.stem}.ipynb"


def write_copy(params_file: Path) -> Path:
    """Validate *params_file*, inject it into a copy of its notebook, return the copy's path."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from labbook.runner import params as params_mod

    params_file = paths.resolve_input(params_file)
    notebook = paths.notebook_path(params_file.parent.name)
    values = params_mod.validate(params_file, notebook)
    nb = parameterize_notebook(load_notebook_node(str(notebook)), values, report_mode=False)
    nb.metadata.pop("papermill", None)
    target = copy_path(params_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labbook.runner.lab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("params_file", help="params/<notebook>/<variant>.yaml")
    parser.add_argument(
        "--path", action="store_true", help="print the copy's path (relative to the repo root)"
    )
    args = parser.parse_args(argv)
    if args.path:
        print(paths.relative(copy_path(args.params_file)))
        return 0
    from labbook.runner.params import ParamsError

    try:
        target = write_copy(Path(args.params_file))
    except ParamsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"{paths.relative(target)}: {paths.notebook_path(target.stem.split('__')[0]).name} with "
        f"{paths.relative(paths.resolve_input(args.params_file))} injected"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
