"""Without aim (the aim extra: aim and aimrocks install on Python 3.11 only): an Aim source is a
clear error naming the extra, at every door (a `source`, a folder detected as Aim, the MoE
notebook's `repo_path`); writing an Aim repository too; the MoE example store is written without
its Aim twin; and on a Python without aim every report builds but those reading Aim, which fail
with that error.

Where aim is installed its absence is simulated in a child process whose PYTHONPATH starts with
stand-ins for aim and aimrocks that fail to import as a missing module does (the writer's own
spawned processes inherit it); on Python 3.12 and 3.13 it is real."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labbook import paths
from labbook.guards import aim as guard
from labbook.runner import build, sandbox
from tests.readonly import snapshot

AIM_INSTALLED = importlib.util.find_spec("aim") is not None
NAMES_THE_EXTRA = ("pip install 'labbook[aim]'", "Python 3.11 only")


def _without_aim(tmp_path: Path, code: str) -> dict:
    """Run *code* (which prints one JSON document last) in a child process that cannot import aim
    or aimrocks; returns that document."""
    shadow = tmp_path / "no-aim"
    for module in ("aim", "aimrocks"):
        (shadow / module).mkdir(parents=True)
        (shadow / module / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n"
        )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow), str(paths.ROOT / "src")]))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=paths.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[-1])


READ = """
import json
from labbook.guards.aim import AimMissing
from labbook.inputs import InputError
from labbook.sources import aim_repo, trackers
root = {root!r}
out = {{}}
for door, call in [
    ("prefix", lambda: trackers.read("aim:" + root)),
    ("detected", lambda: trackers.read(root)),
    ("repo_path", lambda: aim_repo.load_any(None, root, dataset="cifar10", moe_types={{"a": "A"}})),
]:
    try:
        call()
        out[door] = None
    except (InputError, AimMissing) as exc:  # an InputError here would be the wrong error
        out[door] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_an_aim_source_without_aim_is_an_error_naming_the_extra(tmp_path):
    root = tmp_path / "runs"
    (root / ".aim" / "meta").mkdir(parents=True)
    (root / ".aim" / "run_metadata.sqlite").write_bytes(b"not read")
    before = snapshot(root)
    got = _without_aim(tmp_path, READ.format(root=str(root)))
    for door, named in (
        ("prefix", f"aim:{root}: "),
        ("detected", f"{root}: "),
        ("repo_path", f"repo_path {root}: "),
    ):
        kind, message = got[door]
        assert kind == "AimMissing" and message.startswith(named), got
        assert all(part in message for part in NAMES_THE_EXTRA), message
        assert "aimrocks is not installed" in message and "this is Python 3." in message
    assert snapshot(root) == before


WRITE = """
import json
from pathlib import Path
from labbook.guards.aim import AimMissing
from labbook.runner import examples
from labbook.runner.tracker_examples import moe
root = Path({root!r})
try:
    examples.generate("moe_aim", root=root)
    written = None
except AimMissing as exc:
    written = str(exc)
store = examples.generate("moe_trackers", root=root)
print(json.dumps({{
    "moe_aim": written,
    "left": sorted(p.name for p in root.iterdir()),
    "store": sorted(p.name for p in store.iterdir()),
    "runs": len(list((store / "tensorboard").iterdir())),
    "readme": (store / "README.md").read_text(),
}}))
"""


def test_without_aim_the_aim_examples_are_left_out_saying_why(tmp_path):
    root = tmp_path / "generated"
    got = _without_aim(tmp_path, WRITE.format(root=str(root)))
    assert got["moe_aim"] is not None, "an Aim repository was written without aim"
    assert "writing the Aim repository" in got["moe_aim"]
    assert all(part in got["moe_aim"] for part in NAMES_THE_EXTRA), got["moe_aim"]
    assert got["left"] == ["moe_trackers"]  # no moe_aim, nothing half-written
    assert got["store"] == [".complete", "README.md", "tensorboard"]  # no empty aim/ folder
    assert got["runs"] == 7 * 5  # every MoE type and seed of the TensorBoard store
    assert "not in an Aim twin: aim was not installed" in got["readme"]


def test_require_names_the_extra_and_passes_a_broken_install_through(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "aimrocks", None)
    with pytest.raises(guard.AimMissing, match=r"^aimrocks is not installed: .*labbook\[aim\]"):
        guard.require("aimrocks")
    for name in ("aim", "aim.sdk", "aim.sdk.run"):  # as if never installed, here or imported
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("aim", "aim.sdk.run"):
        with pytest.raises(guard.AimMissing, match=r"^aim is not installed: "):
            guard.require(name)
    assert guard.require("json") is json
    broken = tmp_path / "broken_probe"  # installed, but one of its own imports is missing
    broken.mkdir()
    (broken / "__init__.py").write_text("import no_such_dependency_of_probe\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_of_probe") as err:
        guard.require("broken_probe")
    assert not isinstance(err.value, guard.AimMissing)


@pytest.mark.skipif(AIM_INSTALLED, reason="aim is installed: tests/test_build.py builds them all")
def test_without_aim_every_report_builds_but_those_reading_aim(tmp_path):
    """Every report of the tree, built by make in a copy of it on this Python: each is ok, or
    failed in the cell that reads an Aim repository with the error naming the extra."""
    tree = sandbox.copy_tree(tmp_path / "tree")
    (tree / ".venv").unlink()
    (tree / ".venv").symlink_to(sys.prefix)  # this interpreter's environment, not the main one
    shutil.rmtree(tree / "examples" / "generated" / "moe_aim", ignore_errors=True)  # make it try
    done = sandbox.make(tree, "-j2", "figures")
    out = done.stdout + done.stderr
    states = {}
    names = build.report_names()
    assert names and names == sorted(
        f"{p.parent.name}/{p.stem}" for p in tree.glob("params/*/*.yaml")
    )
    for name in names:
        prov = tree / "reports" / name / "provenance.json"
        failed = tree / "reports" / name / build.FAILURE / "provenance.json"
        assert prov.exists() or failed.exists(), f"{name} was not built:\n{out[-3000:]}"
        record = json.loads((failed if failed.exists() else prov).read_text())
        states[name] = (record["status"], record.get("failing_cell") or "")
    built = {n for n, (status, _) in states.items() if status == "ok"}
    needs_aim = {n for n, (_, cell) in states.items() if "AimMissing" in cell}
    assert all(NAMES_THE_EXTRA[0] in states[n][1] for n in needs_aim)
    others = {n: cell for n, (_, cell) in states.items() if n not in built | needs_aim}
    assert not others, "\n".join(f"{n}: {cell}" for n, cell in others.items())
    notebooks = {n.partition("/")[0] for n in states}
    assert {n.partition("/")[0] for n in built} == notebooks, "a notebook built no report"
    assert "examples moe_aim: skipped: aim is not installed" in out
