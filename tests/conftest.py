"""Fixtures shared by the test files.

`example_build`: the root of a copy of the project tree (labbook.runner.sandbox.copy_tree) in
which one `make -j2 figures` has built every params file of the repo and the crafted reports of
tests/build_inputs.py (broken, modified and hostile inputs; every analysis from every tracker and
from its twin). It is built once per test session: under pytest-xdist the first worker to ask
builds it in a folder of the session (keyed on the xdist test-run id) holding a file lock, and
the other waits for the lock, at most WAIT seconds, then reads what the first left there (the
tree, or the error that stopped its build). It is read-only for the tests: a test that changes
something works on a copy (labbook.runner.sandbox.copy_built).

`example_build_make`: that `make -j2 figures` (return code, stdout, stderr).
"""

import fcntl
import json
import os
import subprocess
import time
import traceback
from pathlib import Path

import pytest

from labbook import paths
from labbook.runner import sandbox

# Bounds against a hang, never against a slow machine: the shared build takes minutes on two idle
# cores and several times that beside other work; every step inside it has its own limit.
MAKE_SECONDS = 3 * 3600  # the shared build's make is stopped after this long
WAIT = MAKE_SECONDS + 600  # a worker waits this long for another's build
TEST_TIMEOUT = WAIT + 600  # pytest-timeout of a test using the build (it may wait for it)


def _build(base: Path) -> dict:
    """Copy the tree into *base*, add the crafted inputs, run `make -j2 figures` once; returns
    {"root", "make": {returncode, stdout, stderr}}."""
    from tests import build_inputs

    root = sandbox.copy_tree(base / f"tree-{os.getpid()}")
    build_inputs.prepare(root)
    editable = sorted(paths.ROOT.glob(".venv/lib/python*/site-packages/__editable__*labbook*.pth"))
    before = [p.read_text() for p in editable]
    made = sandbox.make(root, "-j2", "figures", timeout=MAKE_SECONDS)
    assert [p.read_text() for p in editable] == before, (
        "the sandbox re-installed the shared environment"
    )
    return {
        "root": str(root),
        "make": {"returncode": made.returncode, "stdout": made.stdout, "stderr": made.stderr},
    }


def _lock(handle, what: str) -> None:
    """Take the exclusive lock on *handle*, waiting at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: another worker's build not done within {WAIT} s")
            time.sleep(0.5)


def _shared(base: Path) -> dict:
    """The build in *base*: made here if no process made it yet, else read from its record
    (done.json; its error if it failed, without building again)."""
    base.mkdir(parents=True, exist_ok=True)
    record = base / "done.json"
    with open(base / "lock", "w") as handle:
        _lock(handle, f"the shared example build in {base}")
        try:
            if not record.exists():  # first here (or the first builder died before its record)
                try:
                    state = _build(base)
                except BaseException as exc:  # recorded, so a waiting worker does not rebuild
                    state = {"error": "".join(traceback.format_exception(exc))}
                    record.write_text(json.dumps(state))
                    raise
                record.write_text(json.dumps(state))
            return json.loads(record.read_text())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def _example_build_state(tmp_path_factory) -> dict:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: the session's own temporary folder
        base = tmp_path_factory.mktemp("example_build")
    else:  # every worker's base folder sits in the session's: one folder for all of them
        base = tmp_path_factory.getbasetemp().parent / f"example_build-{run}"
    state = _shared(base)
    if "error" in state:
        pytest.fail(f"the shared example build failed:\n{state['error']}", pytrace=False)
    return state


@pytest.fixture(scope="session")
def example_build(_example_build_state) -> Path:
    """The root of the built tree (read-only: copy what you change)."""
    return Path(_example_build_state["root"])


@pytest.fixture(scope="session")
def example_build_make(_example_build_state) -> subprocess.CompletedProcess:
    """The shared build's `make -j2 figures`, as sandbox.make returned it."""
    made = _example_build_state["make"]
    return subprocess.CompletedProcess(
        ["make", "-j2", "figures"], made["returncode"], made["stdout"], made["stderr"]
    )


def pytest_collection_modifyitems(items):
    """A test using the shared build may wait for it: its timeout covers the build."""
    for item in items:
        uses = {"example_build", "example_build_make"} & set(getattr(item, "fixturenames", ()))
        if uses and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))
