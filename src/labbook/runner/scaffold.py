"""`make new NAME=...`: a new analysis that already follows the conventions and builds.

    python -m labbook.runner.scaffold NAME

writes notebooks/NAME.ipynb (title, a typed parameters cell, load through a sources adapter, one
section with its sentence, figure and table, findings, report.finish()),
src/labbook/analyses/NAME.py (the computations and `findings(...)`, by the claim policy),
src/labbook/plots/NAME.py (the figure builder), params/NAME/example.yaml,
examples/NAME/scores.csv (simulated, labelled so) and tests/test_NAME.py (the adapter on the
example file, the params file against the notebook, the findings on hand-made scores, the figure).
Nothing existing is overwritten. Start from there: replace the example data with yours and grow
the sections.
"""

import keyword
import re
import sys
from pathlib import Path

from labbook import paths

TEMPLATES = paths.TEMPLATES / "new"


def targets(name: str) -> dict[str, Path]:
    """The files a new analysis NAME consists of, by template name."""
    return {
        "notebook.ipynb": paths.notebook_path(name),
        "analysis.py": paths.SRC / "analyses" / f"{name}.py",
        "plots.py": paths.SRC / "plots" / f"{name}.py",
        "params.yaml": paths.params_path(name, "example"),
        "scores.csv": paths.EXAMPLES / name / "scores.csv",
        "test.py": paths.ROOT / "tests" / f"test_{name}.py",
    }


def create(name: str) -> list[Path]:
    """Write the files of a new analysis *name* (a lower-case identifier); returns them.
    ValueError for a bad name or when any of the files exists already."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(
            "NAME must be a lower-case identifier (letters, digits, _; not a Python keyword), "
            f"not {name!r}"
        )
    files = targets(name)
    existing = [paths.relative(p) for p in files.values() if p.exists()]
    if existing:
        raise ValueError(f"{name!r} exists already ({', '.join(existing)}); nothing was written")
    title = name.replace("_", " ").capitalize()
    for template, target in files.items():
        text = (
            (TEMPLATES / template).read_text().replace("__NAME__", name).replace("__TITLE__", title)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return list(files.values())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: make new NAME=<analysis>  (python -m labbook.runner.scaffold NAME)",
            file=sys.stderr,
        )
        return 2
    try:
        written = create(args[0])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    for p in written:
        print(f"wrote {paths.relative(p)}")
    print(
        f"next: make report R={args[0]}/example, then open it with make lab "
        f"P=params/{args[0]}/example.yaml"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
