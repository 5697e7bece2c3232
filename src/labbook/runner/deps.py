"""What a report's rebuild depends on, as files: its notebook, its params file, the labbook modules
its notebook imports (followed through their own imports), the templates that render it, and the
data files it read. The runner writes them to inputs.d in make syntax; make and Snakemake read it.

The modules are found by reading the code, not by watching the kernel: a kernel forked from the
build's server already holds every preloaded module, so what it has loaded says nothing about what
the notebook uses. Every `import labbook...` / `from labbook... import ...` counts, also one inside
a function (a lazy import still runs). The runner (`labbook.runner`) is never a dependency: the core
does not import it, and editing it changes no report.
"""

import ast
import json
from pathlib import Path

from labbook import paths

PACKAGE = "labbook"
RUNNER = "labbook.runner"


def _module_file(name: str) -> Path | None:
    """The source file of labbook module *name* (a package's __init__.py), or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = paths.SRC.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(code: str, package: str | None = None) -> set[str]:
    """The labbook module names *code* imports (absolute, and relative to *package*); for
    `from labbook.x import y` both labbook.x and labbook.x.y (when y is a module)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _with_parents(name: str) -> list[str]:
    """labbook.sources.aim_repo -> labbook, labbook.sources, labbook.sources.aim_repo"""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def code_modules(code: str) -> list[Path]:
    """The labbook source files *code* runs, its imports followed to the end, sorted; never the
    runner's."""
    todo = sorted(_imported(code))
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        for full in _with_parents(name):
            if full in seen or full == RUNNER or full.startswith(RUNNER + "."):
                continue
            file = _module_file(full)
            if file is None:
                continue
            seen[full] = file
            package = full if file.name == "__init__.py" else full.rpartition(".")[0]
            todo.extend(_imported(file.read_text(), package))
    return sorted(set(seen.values()))


def notebook_code(nb_path: Path) -> str:
    """The code cells of a notebook file, joined (IPython magics dropped)."""
    nb = json.loads(Path(nb_path).read_text())
    lines = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            lines += [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def templates() -> list[Path]:
    """The files the report page is rendered from (HTML template and its configuration)."""
    return sorted(p for p in (paths.TEMPLATES / "labbook").rglob("*") if p.is_file())


def report_dependencies(nb_path: Path, params_path: Path, data: list[Path]) -> list[Path]:
    """Everything a report's rebuild depends on, in a stable order: notebook, params, code,
    templates, then the data files as read."""
    return [
        Path(nb_path),
        Path(params_path),
        *code_modules(notebook_code(nb_path)),
        *templates(),
        *data,
    ]


def make_rule(target: Path, deps: list[Path]) -> str:
    """inputs.d text: `target: deps`, then an empty rule per dependency (a deleted file forces a
    rebuild, not a make error). Paths inside the repository are written relative to it."""

    def rel(p: Path) -> str:  # make-escaped
        return paths.relative(p).replace(" ", "\\ ").replace("$", "$$").replace("#", "\\#")

    lines = [f"{rel(target)}: " + " \\\n  ".join(rel(d) for d in deps)]
    lines += [f"{rel(d)}:" for d in deps]
    return "\n".join(lines) + "\n"
