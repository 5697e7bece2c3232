"""environment.yml (conda-forge names, pip section for what conda-forge lacks) and pyproject.toml
name the same packages with the same bounds."""

import tomllib

import yaml

from labbook import paths

CONDA_NAMES = {"arch": "arch-py"}  # PyPI name -> conda-forge name where they differ
PIP_ONLY = {
    "rliable",
    "tueplots",
    "typst",
}  # not on conda-forge: environment.yml installs them with pip


def _norm(spec: str) -> tuple[str, str]:
    spec = spec.replace(" ", "")
    for i, ch in enumerate(spec):
        if ch in "<>=!~":
            return spec[:i].lower(), ",".join(sorted(spec[i:].split(",")))
    return spec.lower(), ""


def _project() -> dict[str, str]:
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())
    return dict(
        _norm(s)
        for s in project["project"]["dependencies"] + project["dependency-groups"]["dev"]
        if not s.startswith("ruff")
    )


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
