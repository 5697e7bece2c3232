"""environment.yml (conda-forge names, pip section for what conda-forge lacks) and pyproject.toml
name the same packages with the same bounds."""

import tomllib

import yaml

from labbook import paths

CONDA_NAMES = {
    "arch": "arch-py",
    "jupyter-client": "jupyter_client",
}  # PyPI name -> conda-forge name where they differ
PIP_ONLY = {
    "rliable",
    "tueplots",
    "typst",
    "tbparse",
    "snakemake-executor-plugin-slurm",
    "snakemake-executor-plugin-cluster-generic",
}  # not on conda-forge: environment.yml installs them with pip


def _norm(spec: str) -> tuple[str, str]:
    spec = spec.split(";")[0].replace(" ", "")  # an environment marker is pyproject's alone
    for i, ch in enumerate(spec):
        if ch in "<>=!~":
            return spec[:i].lower(), ",".join(sorted(spec[i:].split(",")))
    return spec.lower(), ""


def _pyproject() -> dict:
    return tomllib.loads((paths.ROOT / "pyproject.toml").read_text())


def _project(dev: bool = True) -> dict[str, str]:
    """{package: its bounds} of the dependencies and every extra, and with *dev* of the dev group
    (ruff aside: a formatter, not installed by environment.yml)."""
    project = _pyproject()
    specs = project["project"]["dependencies"] + [
        s for extra in project["project"]["optional-dependencies"].values() for s in extra
    ]
    if dev:
        specs += project["dependency-groups"]["dev"]
    return dict(_norm(s) for s in specs if not s.startswith("ruff"))


def _environment() -> tuple[dict[str, str], dict[str, str]]:
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = dict(
        _norm(s)
        for s in env["dependencies"]
        if isinstance(s, str) and not s.startswith(("python=", "pip"))
    )
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = dict(_norm(s) for s in pip_section if not s.startswith("-e"))
    assert "-e ." in pip_section
    return conda, pip


def test_environment_yml_names_the_project_packages():
    project = _project()
    conda, pip = _environment()
    assert set(pip) == PIP_ONLY
    for name, bounds in project.items():
        if name in PIP_ONLY:
            assert pip[name] == bounds, name
        else:
            assert conda[CONDA_NAMES.get(name, name)] == bounds, name
    assert len(conda) + len(pip) == len(project)
    assert "arch" not in conda and conda["arch-py"] == "<8"
    assert project["pandas"] == "<3,>=2.2"


def test_lock_file_is_committed():
    assert (paths.ROOT / "uv.lock").exists()


def _imported_distributions() -> dict[tuple, str]:
    """{owners of a module: a file of src/ importing it}, for every third-party import."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    found = {}
    for path in sorted(paths.SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "labbook":
                    continue
                # a namespace package (google.*) is owned by several: one of them must be declared
                dists = tuple(sorted(d.lower().replace("_", "-") for d in owners.get(top, [top])))
                found.setdefault(dists, paths.relative(path))
    return found


def test_every_imported_package_is_declared():
    """Declared in the dependencies or an extra: what src/ imports at run time (`make examples`
    too) must install with `pip install labbook[...]`, never only with the dev group."""
    declared = {name.replace("_", "-") for name in _project(dev=False)}
    missing = {d: where for d, where in _imported_distributions().items() if not declared & set(d)}
    assert not missing, f"imported but not declared in pyproject.toml's dependencies: {missing}"


def test_the_example_writers_are_the_examples_extra_not_dev_only():
    """mlflow and tensorboardX, which `make examples` writes with (runner/trackerwrite.py), are
    declared by the `examples` extra, and not by the dev group."""
    project = _pyproject()
    examples = {_norm(s)[0] for s in project["project"]["optional-dependencies"]["examples"]}
    dev = {_norm(s)[0] for s in project["dependency-groups"]["dev"]}
    writers = {d: where for d, where in _imported_distributions().items() if set(d) & examples}
    assert sorted(writers.values()) == ["src/labbook/runner/trackerwrite.py"] * 2, writers
    assert examples == {"mlflow", "tensorboardx"} and not examples & dev


def _requirement_lines() -> list[tuple[int, str]]:
    """(line number, line) of pyproject.toml, for reading the comments beside requirements."""
    return list(enumerate((paths.ROOT / "pyproject.toml").read_text().splitlines()))


def test_every_upper_bound_says_why_in_a_comment_above_it():
    """An upper bound marks a private part used or a known break, named in a comment directly
    above the requirement (above its extra's name for an extra's first line); a bound without
    one is a guess that only keeps users from fixes."""
    lines = [line.strip() for _, line in _requirement_lines()]
    bounded = []
    for i, line in enumerate(lines):
        if not (line.startswith('"') and "<" in line.split(";")[0]):
            continue
        above = i - 2 if lines[i - 1].endswith("= [") else i - 1  # an extra's first line
        bounded.append(line)
        assert lines[above].startswith("#"), f"pyproject.toml: {line} has no comment saying why"
    names = {_norm(line.strip('",'))[0] for line in bounded}
    assert {"pandas", "arch", "matplotlib", "jupyter-client", "papermill"} <= names
    assert not names & {"numpy", "pydantic", "jinja2", "cycler", "traitlets", "ipython"}
