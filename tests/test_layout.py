"""The package's two sides: the analysis core that notebooks import and the runner that make runs.

No import circle anywhere in src/; the core never imports the runner, and importing it loads none
of the build's heavy machinery; a report's rebuild depends on the code its notebook runs and the
templates that render it, never on the rest of the runner.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from labbook import paths
from labbook.runner import deps, sandbox

RUNNER = "labbook.runner"


def _module_name(path: Path) -> str:
    rel = path.relative_to(paths.SRC.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """{module: the labbook modules it imports anywhere in its code (lazy imports too)}."""
    files = {_module_name(p): p for p in paths.SRC.rglob("*.py") if "templates" not in p.parts}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the module pkg.sub (its package's __init__ runs
                # first, as for every submodule, and is no edge); `from mod import name`, mod
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files]
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            else:
                continue
            found |= {t for t in targets if t in files and t != name}
        graph[name] = found
    return graph


def test_no_import_circle_in_src():
    graph = _import_graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    circles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(trail[trail.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not circles, "import circles: " + "; ".join(circles)


def test_the_core_never_imports_the_runner():
    graph = _import_graph()
    core = {m for m in graph if m != RUNNER and not m.startswith(RUNNER + ".")}
    wrong = {m: sorted(i for i in graph[m] if i.startswith(RUNNER)) for m in core}
    assert not {m: i for m, i in wrong.items() if i}


def test_importing_the_core_loads_no_build_machinery():
    core = sorted(
        m
        for m in _import_graph()
        if not m.startswith(RUNNER) and not m.startswith("labbook.guards")
    )
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in core)
        + "heavy = ('papermill', 'nbconvert', 'typst', 'jupyter_client', 'nbclient',"
        + " 'labbook.runner')\n"
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("nb", sorted(p.stem for p in paths.NOTEBOOKS.glob("*.ipynb")))
def test_a_report_depends_on_the_code_it_runs_not_on_the_runner(nb):
    files = deps.report_dependencies(paths.notebook_path(nb), paths.params_path(nb, "any"), data=[])
    code = {paths.relative(f) for f in files if f.suffix == ".py"}
    assert not any(f.startswith("src/labbook/runner/") and f.endswith(".py") for f in code)
    assert {"src/labbook/report.py", "src/labbook/findings.py", "src/labbook/figures.py"} <= code
    module = {"moe_analysis": "moe"}.get(nb, nb)
    assert f"src/labbook/analyses/{module}.py" in code
    assert set(deps.templates()) <= set(files) and deps.templates()


def test_imports_are_followed_through_modules_and_relative_imports():
    code = "from labbook.sources import fields\nimport labbook.stats as s\n"
    found = {paths.relative(p) for p in deps.code_modules(code)}
    assert {
        "src/labbook/__init__.py",
        "src/labbook/sources/__init__.py",
        "src/labbook/sources/fields.py",
        "src/labbook/inputs.py",  # imported by fields
        "src/labbook/stats.py",
    } <= found
    assert "src/labbook/report.py" not in found


def _out_of_date(tree: Path) -> list[str]:
    """The reports `make figures` would rebuild now (a dry run)."""
    out = sandbox.make(tree, "-n", "reports")
    assert out.returncode == 0, out.stderr
    return sorted(
        line.split("labbook.runner.build run ")[1].split()[0]
        for line in out.stdout.splitlines()
        if "labbook.runner.build run " in line
    )


def test_editing_the_runner_rebuilds_no_report_and_a_template_rebuilds_it(example_build, tmp_path):
    """In a copy of the session's shared build holding one report (file times kept: up to
    date), never a build of its own from a fresh tree (which would first generate every
    example input)."""
    import os

    tree = sandbox.copy_built(example_build, tmp_path / "tree", ["sparse_training/good"])
    assert [f"{p.parent.name}/{p.stem}" for p in tree.glob("params/*/*.yaml")] == [
        "sparse_training/good"
    ]
    assert _out_of_date(tree) == []
    stamp = tree / "reports" / "sparse_training" / "good" / ".ok"

    def touch(rel: str) -> None:  # edited just after the report was built
        later = stamp.stat().st_mtime + 1
        os.utime(tree / rel, (later, later))

    for runner_module in ("build.py", "render.py", "kernelpool.py", "provenance.py", "deps.py"):
        touch(f"src/labbook/runner/{runner_module}")
    touch("src/labbook/analyses/chain_of_experts.py")  # another notebook's code
    assert _out_of_date(tree) == []
    touch("src/labbook/runner/templates/labbook/index.html.j2")
    assert _out_of_date(tree) == ["sparse_training/good"]
    sandbox.make(tree, "-j2", "figures")
    assert _out_of_date(tree) == []
    touch("src/labbook/stats.py")  # code the notebook runs (through statplots and the analysis)
    assert _out_of_date(tree) == ["sparse_training/good"]


@pytest.mark.parametrize(
    "path",
    sorted(paths.NOTEBOOKS.glob("*.ipynb")) + [paths.TEMPLATES / "new" / "notebook.ipynb"],
    ids=lambda p: p.stem if p.parent == paths.NOTEBOOKS else "make-new template",
)
def test_no_notebook_code_cell_over_40_lines(path):
    """A cell reads as the report it produces: computation and figure-building live in tested
    functions (the tagged parameters cell, a list of documented parameters, aside)."""
    import json

    cells = json.loads(path.read_text())["cells"]
    long = {
        i: len("".join(c["source"]).splitlines())
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
        and "parameters" not in c.get("metadata", {}).get("tags", [])
        and len("".join(c["source"]).splitlines()) > 40
    }
    assert not long, f"cells over 40 lines (cell index: lines): {long}"


def test_a_report_reading_a_tracker_depends_on_every_reader():
    found = {paths.relative(p) for p in deps.code_modules("from labbook.sources import trackers")}
    assert {
        "src/labbook/sources/trackers/tensorboard.py",
        "src/labbook/sources/trackers/mlflow.py",
        "src/labbook/sources/trackers/detection.py",
    } <= found
