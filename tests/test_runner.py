"""The daily loop around the runner, in a small copy of the session's shared build (three of its
reports): keeping the last good report, surviving a killed build, subsets, progress, build
options, help, Lab copies."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from labbook import paths
from labbook.runner import sandbox

KEEP = ("chain_of_experts/example", "sparse_training/good", "sparse_training/misbehaving")


@pytest.fixture(scope="module")
def small(example_build, example_build_make, tmp_path_factory):
    """A copy of the session's shared build (conftest.example_build) holding only the KEEP
    reports and their params, every file time kept (so they are up to date), and that build's
    `make -j2 figures`."""
    for name in KEEP:
        assert _complete(_report(example_build, name)), name
    root = sandbox.copy_built(example_build, tmp_path_factory.mktemp("small") / "tree", KEEP)
    return root, example_build_make


def _report(root: Path, name: str) -> Path:
    return root / "reports" / name


def _complete(rep: Path) -> bool:
    """A report folder a reader would take as a finished report, checked for consistency."""
    if not (rep / ".ok").exists():
        return False
    prov = json.loads((rep / "provenance.json").read_text())
    pngs = sorted(p.stem for p in (rep / "figures").glob("*.png"))
    html = (rep / "report.html").read_text()
    return (
        prov["status"] == "ok"
        and (rep / "report.pdf").stat().st_size > 0
        and html.count("<img") - html.count(', previous build"') == len(pngs)
        and sorted(p.stem for p in (rep / "figures").glob("*.pdf")) == pngs
        and (rep / "findings.json").exists()
    )


def test_progress_lines_and_summary(small, example_build):
    root, first = small
    out = first.stdout
    names = sorted(f"{p.parent.name}/{p.stem}" for p in example_build.glob("params/*/*.yaml"))
    n, ok = len(names), len(list(example_build.glob("reports/*/*/.ok")))
    assert f"building {n} of {n} report(s)" in out
    for name in names:
        assert f"{name} started" in out
    assert f"[1/{n}]" in out and f"[{n}/{n}]" in out and " … ok " in out
    summary = out[out.index("report ") :]
    assert summary.count("  rebuilt") == n
    assert f"{ok} ok, {n - ok} failed or missing; {n} rebuilt now" in summary
    again = sandbox.make(root, "-j2", "figures")  # the copy of three reports: nothing to do
    assert (
        "up to date" in again.stdout
        and "3 ok, 0 failed or missing; 0 rebuilt now" in again.stdout
        and "building" not in again.stdout
    )


def test_help_lists_targets_once_reports_exist(small):
    root, _ = small
    assert list(root.glob("reports/*/*/inputs.d"))  # -include'd into the Makefile list
    out = sandbox.make(root, "help").stdout
    assert out.splitlines()[0].startswith("help ") and "figures" in out and "Makefile" not in out


def test_failed_rebuild_keeps_the_last_good_report(small):
    root, _ = small
    name = "chain_of_experts/example"
    rep = _report(root, name)
    before = {p.relative_to(rep): p.read_bytes() for p in rep.rglob("*") if p.is_file()}
    params = root / "params" / f"{name}.yaml"
    good_params = params.read_text()
    time.sleep(1.1)
    params.write_text(good_params + "plateau_tolerence: 0.3\n")  # a typo'd key
    failed = sandbox.make(root, "-j2", "figures")
    assert failed.returncode != 0
    after = {
        p.relative_to(rep): p.read_bytes()
        for p in rep.rglob("*")
        if p.is_file()
        if "last-failure" not in p.parts
    }
    assert after == before  # the good report, its figures and tables, untouched
    failure = json.loads((rep / "last-failure" / "provenance.json").read_text())
    assert failure["status"] == "FAILED" and "plateau_tolerence" in failure["failing_cell"]
    assert "did you mean 'plateau_tolerance'" in (rep / "last-failure" / "report.html").read_text()
    line = next(line for line in failed.stdout.splitlines() if line.startswith(name + " "))
    assert "FAILED" in line and "showing the last good build of" in line
    assert "showing the last good build of" in (root / "reports" / "index.html").read_text()
    time.sleep(1.1)
    params.write_text(good_params)
    fixed = sandbox.make(root, "-j2", "figures")
    assert fixed.returncode == 0, fixed.stdout
    assert not (rep / "last-failure").exists() and _complete(rep)


def test_subsets_and_build_options(small):
    root, _ = small
    time.sleep(1.1)
    for p in root.glob("params/sparse_training/*.yaml"):
        p.touch()
    only = sandbox.make(root, "-j2", "figures", "ONLY=sparse_training/g*")
    assert only.returncode == 0 and "building 1 of 1 report(s)" in only.stdout
    assert "sparse_training/good started" in only.stdout and "misbehaving" not in only.stdout
    one = sandbox.make(root, "-j2", "report", "R=sparse_training/misbehaving")
    assert one.returncode == 0 and "sparse_training/misbehaving started" in one.stdout
    assert "hl-ipython3" not in (_report(root, "sparse_training/good") / "report.html").read_text()
    shown = sandbox.make(root, "-j2", "figures", "SHOW_CODE=1", "ONLY=sparse_training/good")
    assert (
        "sparse_training/good started" in shown.stdout
    )  # the option is part of what decides a rebuild
    assert (
        "hl-ipython3" in (_report(root, "sparse_training/good") / "report.html").read_text()
    )  # code
    bad = sandbox.make(root, "-j2", "report", "R=nope/none")
    assert bad.returncode != 0 and "no params file params/nope/none.yaml" in bad.stdout


def test_summary_counts_only_the_reports_of_this_build(small):
    root, _ = small
    (root / "params" / "sparse_training" / "added_later.yaml").write_text("warmup_epochs: 2\n")
    try:
        out = sandbox.run(root, ".venv/bin/python", "-m", "labbook.runner.build", "summary", *KEEP)
        assert (
            out.returncode == 0 and "added_later" not in out.stdout and "MISSING" not in out.stdout
        )
    finally:
        (root / "params" / "sparse_training" / "added_later.yaml").unlink()


def test_lab_copy_with_injected_params(small):
    root, _ = small
    out = sandbox.run(
        root,
        ".venv/bin/python",
        "-m",
        "labbook.runner.lab",
        "params/sparse_training/misbehaving.yaml",
    )
    assert out.returncode == 0, out.stderr
    copy = root / "reports" / "_lab" / "sparse_training__misbehaving.ipynb"
    nb = json.loads(copy.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "gated_misbehaving.json" in "".join(injected[0]["source"])
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    bad = sandbox.run(
        root, ".venv/bin/python", "-m", "labbook.runner.lab", "params/sparse_training/nope.yaml"
    )
    assert bad.returncode == 2 and "params file not found" in bad.stderr


def _building(root: Path, before: set[Path]) -> list[Path]:
    """The temporary folders of the reports being built in *root*, those in *before* (left by
    a killed build) aside. A runner makes its folder before its kernel starts; the notebook
    writes its figures there, the runner then the executed notebook, report.html and report.pdf;
    the folder is renamed into place last."""
    return [t for t in root.glob("reports/*/.*.tmp.*") if t not in before]


# when each kill happens: a moment of the build seen on disk, not a delay (load changes delays)
KILLED_WHEN = {
    "a kernel starts": lambda tmps: bool(tmps),
    "a notebook runs": lambda tmps: any(next(t.glob("figures/*.png"), 0) for t in tmps),
    "a report is written": lambda tmps: any((t / "executed.ipynb").exists() for t in tmps),
}


def test_killed_builds_never_leave_a_half_report_and_the_next_build_repairs(small):
    root, _ = small
    for moment, reached in KILLED_WHEN.items():
        time.sleep(1.1)
        for p in root.glob("params/*/*.yaml"):
            p.touch()  # every report out of date
        before = set(_building(root, set()))
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", sandbox.ENV_STAMP, "-j2", "figures"],
            cwd=root,
            env=sandbox.env(root),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while not reached(_building(root, before)) and proc.poll() is None:
            time.sleep(0.005)
        seen = reached(_building(root, before))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert seen, f"the build ended before {moment}"
        for name in KEEP:  # either the previous complete report or the new complete one
            rep = _report(root, name)
            assert rep.is_dir() or list(rep.parent.glob(f".{rep.name}.old.*")), name
            if rep.is_dir():
                assert _complete(rep), name
    repair = sandbox.make(root, "-j2", "figures")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    for name in KEEP:
        rep = _report(root, name)
        assert _complete(rep)
        assert (rep / ".ok").stat().st_mtime > (root / "params" / f"{name}.yaml").stat().st_mtime
    leftovers = [p.name for p in root.glob("reports/*/.*")]
    assert leftovers == [], leftovers  # no .<variant>.tmp.<pid> or .old. folders survive the repair


def test_missing_example_data_says_what_to_run(tmp_path, monkeypatch):
    from labbook.inputs import InputError
    from labbook.sources import sparse_training

    missing = paths.EXAMPLES / "generated" / "sparse_training_absent" / "gated.json"
    with pytest.raises(
        InputError,
        match=r"gated\.json: file not found — the example data is generated, not "
        r"stored in git: run `make examples` first",
    ):
        sparse_training.load_run(missing)


def test_make_new_scaffolds_an_analysis_that_builds(small):
    root, _ = small
    out = sandbox.make(root, "new", "NAME=toy_scores")
    assert out.returncode == 0, out.stderr
    for rel in (
        "notebooks/toy_scores.ipynb",
        "params/toy_scores/example.yaml",
        "examples/toy_scores/scores.csv",
        "tests/test_toy_scores.py",
    ):
        assert (root / rel).is_file(), rel
    built = sandbox.make(root, "-j2", "report", "R=toy_scores/example")
    assert built.returncode == 0, built.stdout + built.stderr
    rep = _report(root, "toy_scores/example")
    assert (
        _complete(rep)
        and json.loads((rep / "provenance.json").read_text())["figure_problems"] == []
    )
    assert "better than" in json.loads((rep / "findings.json").read_text())["ranking"]["text"]
    tests = sandbox.run(
        root,
        ".venv/bin/python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",
        "tests/test_toy_scores.py",
    )
    assert tests.returncode == 0 and "5 passed" in tests.stdout, tests.stdout
    again = sandbox.make(root, "new", "NAME=toy_scores")
    assert again.returncode != 0 and "exists already" in again.stderr
    bad = sandbox.make(root, "new", "NAME=Bad-Name")
    assert bad.returncode != 0 and "lower-case identifier" in bad.stderr


def test_a_timed_out_report_keeps_the_cells_run_before_and_names_the_timeout(small):
    """The build writes the executed notebook once, at the end; a cell that runs past --timeout
    still leaves a failed report that shows what ran before it and says what stopped it. The
    per-cell timeout applies to every cell: the cells before the hanging one only print, so
    that 10 s is generous for them on the busiest machine."""
    import nbformat

    root, _ = small
    assert sandbox.make(root, "new", "NAME=toy_slow").returncode == 0
    nb_path = root / "notebooks" / "toy_slow.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = nb.cells[:2] + [  # the title and the parameters cell, then
        nbformat.v4.new_markdown_cell("## Before\n\nA cell that ends at once."),
        nbformat.v4.new_code_cell("print('the cell before the slow one ran')"),
        nbformat.v4.new_code_cell("import time\n\ntime.sleep(600)"),
    ]
    assert "parameters" in nb.cells[1].metadata["tags"]
    nbformat.write(nb, nb_path)
    out = sandbox.make(root, "-j2", "report", "R=toy_slow/example", "TIMEOUT=10")
    assert out.returncode != 0
    rep = _report(root, "toy_slow/example")
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "FAILED" and "timed out" in prov["failing_cell"]
    assert (prov["failure"]["kind"], prov["failure"]["section"]) == ("timeout", "Before")
    html = (rep / "report.html").read_text()
    assert "the cell before the slow one ran" in html  # the output of the cell that finished
    assert "The report failed" in html and "timed out after 10 s" in html


def test_a_kernel_that_dies_fails_its_report_naming_its_cell_and_whole_section(small):
    """A kernel that dies fails its report instead of hanging the build; the failing cell and its
    section are separate fields: a title with ": " is not cut."""
    import nbformat

    root, _ = small
    title = "Ablation: experts per block"
    assert sandbox.make(root, "new", "NAME=toy_colon").returncode == 0
    nb_path = root / "notebooks" / "toy_colon.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells += [
        nbformat.v4.new_markdown_cell(f"## {title}\n\nAccuracy by the number of experts."),
        nbformat.v4.new_code_cell("import os\n\nos._exit(3)"),
    ]
    nbformat.write(nb, nb_path)
    out = sandbox.make(root, "-j2", "report", "R=toy_colon/example")
    assert out.returncode != 0
    rep = _report(root, "toy_colon/example")
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "FAILED" and "DeadKernelError" in prov["failing_cell"]
    index = prov["failure"]["cell"]
    executed = nbformat.read(rep / "executed.ipynb", as_version=4)
    assert executed.cells[0].source.startswith("**The report failed.**")  # the note, on top
    assert "os._exit(3)" in executed.cells[1 + index].source  # the cell that died, as numbered
    assert (
        prov["failure"]["kind"] == "dead_kernel" and "DeadKernelError" in prov["failure"]["message"]
    )
    assert (prov["failure"]["cell"], prov["failure"]["section"]) == (index, title)
    said = f"cell {index} ({title}): the kernel died while it ran (DeadKernelError)"
    assert prov["failing_cell"] == said
    summary = [line for line in out.stdout.splitlines() if line.startswith("toy_colon/example ")]
    assert len(summary) == 1 and summary[0].endswith(said), out.stdout
    assert f"The report failed.</strong> {said}" in (rep / "report.html").read_text()


PAIR = """\
import time
from pathlib import Path

Path(mark).touch()
waited = 0
while wait_for and not Path(wait_for).exists():
    assert waited < 6000, "the other report did not start within 600 s"
    time.sleep(0.1)
    waited += 1
"""


def _pair(root: Path, marks: Path, wait: bool) -> None:
    """Reports toy_pair/a and toy_pair/b of a notebook that marks its start in *marks* and, with
    *wait*, waits for the other's mark: built at once, neither can end before both started,
    however busy the machine."""
    import nbformat

    nb_path = root / "notebooks" / "toy_pair.ipynb"
    if not nb_path.exists():
        assert sandbox.make(root, "new", "NAME=toy_pair").returncode == 0
        (root / "params" / "toy_pair" / "example.yaml").unlink()
        nb = nbformat.read(nb_path, as_version=4)
        parameters = nb.cells[1]
        assert "parameters" in parameters.metadata["tags"]
        parameters.source += (
            '\n# a file this report creates when it runs\nmark: str = ""\n'
            '# a file this report waits for (empty: none)\nwait_for: str = ""\n'
        )
        nb.cells = [nb.cells[0], parameters, nbformat.v4.new_code_cell(PAIR)]
        nbformat.write(nb, nb_path)
    marks.mkdir(exist_ok=True)
    for mark in marks.iterdir():
        mark.unlink()
    for me, other in (("a", "b"), ("b", "a")):
        waits = str(marks / other) if wait else ""
        params = {"mark": str(marks / me), "wait_for": waits}
        (root / "params" / "toy_pair" / f"{me}.yaml").write_text(json.dumps(params))


def test_make_figures_builds_on_every_core_unless_given_j(small, tmp_path):
    root, _ = small
    cores = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)

    def build(*jobs):
        time.sleep(1.1)  # make compares mtimes
        _pair(root, tmp_path / "marks", wait=jobs == () and cores >= 2)
        out = sandbox.make(root, *jobs, "figures", "ONLY=toy_pair/*")
        assert out.returncode == 0, out.stdout + out.stderr
        events = [
            line.split()[-1] if line.endswith("started") else "ended"
            for line in out.stdout.splitlines()
            if line.startswith("[") and ("started" in line or " … " in line)
        ]
        return out.stdout, events

    default, events = build()
    assert f"building 2 of 2 report(s) (-j{cores})" in default
    if cores >= 2:  # both reports start before either ends
        assert events == ["started", "started", "ended", "ended"], default
    one, events = build("-j1")
    assert "building 2 of 2 report(s) (-j1)" in one
    assert events == ["started", "ended", "started", "ended"], one


def test_failing_cell_keeps_the_cell_its_section_and_its_error_apart():
    import nbformat

    from labbook.runner import build

    v4 = nbformat.v4
    error = v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero")
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Report"),
            v4.new_code_cell("x = 1", execution_count=1),
            v4.new_markdown_cell("## Ablation: experts per block\n\nOne sentence."),
            v4.new_code_cell("1 / 0", execution_count=2, outputs=[error]),
        ]
    )
    cell = build._failing_cell(nb)
    title = "Ablation: experts per block"
    assert cell == build.FailingCell(3, title, "ZeroDivisionError: division by zero")
    raised = build.Failure("raised", "papermill: the notebook raised ZeroDivisionError")
    assert build._failing_line(raised, cell, 900) == (
        f"cell 3 ({title}): ZeroDivisionError: division by zero"
    )
    timeout = build.Failure("timeout", "papermill: CellTimeoutError: ...")
    stopped = build.FailingCell(3, title, None)
    assert build._failing_line(timeout, stopped, 5) == (
        f"cell 3 ({title}): timed out after 5 s (the per-cell timeout)"
    )
    assert stopped.line() == f"cell 3 ({title}): stopped while it ran"
    started = {"papermill": {"start_time": "2026-01-01T00:00:00", "status": "completed"}}
    dead = v4.new_notebook(
        cells=[
            v4.new_code_cell("x = 1", execution_count=1, metadata=started),
            v4.new_markdown_cell(f"## {title}"),
            v4.new_code_cell("import os\n\nos._exit(3)", execution_count=2, metadata=started),
            v4.new_code_cell("y = 2"),  # never started
        ]
    )
    assert build._failing_cell(dead, stopped=True) == build.FailingCell(2, title, None)
    assert build._failing_cell(dead) is None  # no cell raised, and execution did not stop in one
    params = build.Failure("params", "Invalid parameters:\nparams/x.yaml: unknown key 'a'\nmore")
    assert build._failing_line(params, None, 900) == (  # the whole message, every line
        "Invalid parameters: params/x.yaml: unknown key 'a'\nmore"
    )


# ---------------------------------------------------------------- the fork server and its bounds

FAKE = """
import os
import sys
import time
from pathlib import Path


def _note_pid(path):
    Path(path + ".tmp").write_text(str(os.getpid()))
    os.replace(path + ".tmp", path)


def entry(argv):  # a runner: note the pid, sleep if asked, exit with the status given
    what, pidfile, rc = argv
    _note_pid(pidfile)
    if what == "sleep":
        time.sleep(600)
    return int(rc)


def kernel(argv):  # a kernel: note the pid, then run until stopped
    _note_pid(argv[0])
    time.sleep(600)


if __name__ == "__main__":  # the server, with the fake kernel and the receive bound given
    from labbook.runner import kernelpool

    kernelpool._kernel = kernel
    kernelpool.RECEIVE_TIMEOUT = float(sys.argv[2])
    kernelpool.serve(sys.argv[1], "fakepool:entry")
"""
WAIT = 120  # seconds a test waits for what it expects to happen (bounded, generous, not timed)
RECEIVE = 60.0  # the fake server's receive bound, but where a test forces a silent request


def _gone(pid: int) -> bool:
    """True once *pid* has ended (a zombie counts: it no longer runs)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _wait_for(test, what: str, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while not test():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def _pid(path: Path) -> int:
    _wait_for(path.exists, f"{path.name} written")
    return int(path.read_text())


@pytest.fixture
def server(tmp_path, monkeypatch, request):
    """A real fork server (fake runner entry and kernel) on a socket in tmp_path; it drops a
    request not received whole within RECEIVE seconds (a test's indirect parameter)."""
    receive = getattr(request, "param", RECEIVE)
    from labbook.runner import kernelpool

    (tmp_path / "fakepool.py").write_text(FAKE)
    sock = tmp_path / "pool.sock"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}:{paths.ROOT / 'src'}")
    env.pop(kernelpool.SOCKET_ENV, None)
    proc = subprocess.Popen(
        [
            str(paths.ROOT / ".venv/bin/python"),
            str(tmp_path / "fakepool.py"),
            str(sock),
            str(receive),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(sock.exists, "the server's socket")
    monkeypatch.setenv(kernelpool.SOCKET_ENV, str(sock))
    env[kernelpool.SOCKET_ENV] = str(sock)
    yield proc, sock, env
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=WAIT)


def test_children_forgets_a_reaped_child_and_kills_only_live_ones(monkeypatch):
    """No PID reuse needed: kill_all is asked whom it signals after one child ended."""
    from labbook.runner import kernelpool

    children = kernelpool.Children()
    previous = signal.signal(signal.SIGCHLD, lambda *_: children.reap())
    try:
        ended = children.fork()
        if ended == 0:
            os._exit(0)
        running = children.fork()
        if running == 0:
            time.sleep(600)
            os._exit(0)
        _wait_for(lambda: ended not in children.pids, "the ended child reaped and forgotten")
        assert children.pids == {running}
        signalled = []
        monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.append((pid, sig)))
        assert children.kill_all() == [running]
        assert signalled == [(running, signal.SIGKILL)]  # never the PID of the ended child
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGCHLD, previous)
        os.kill(running, signal.SIGKILL)
        os.waitpid(running, 0)


def test_the_fork_server_stops_only_its_live_children(server, tmp_path):
    from labbook.runner import kernelpool

    proc, _, _ = server
    assert kernelpool.run_forked(["quick", str(tmp_path / "quick.pid"), "3"]) == 3
    quick = _pid(tmp_path / "quick.pid")
    _wait_for(lambda: not Path(f"/proc/{quick}").exists(), "the quick runner reaped by the server")
    status = []
    waiting = threading.Thread(
        target=lambda: status.append(
            kernelpool.run_forked(["sleep", str(tmp_path / "sleep.pid"), "0"])
        )
    )
    waiting.start()
    sleeper = _pid(tmp_path / "sleep.pid")
    proc.terminate()
    _, err = proc.communicate(timeout=WAIT)
    assert f"stopped 1 child(ren) still running (pid {sleeper})" in err
    assert str(quick) not in err
    waiting.join(timeout=WAIT)
    assert status == [1]  # the caller is not left waiting for a runner that was killed
    _wait_for(lambda: _gone(sleeper), "the sleeping runner killed")


@pytest.mark.parametrize("server", [2.0], indirect=True)
def test_a_request_that_never_arrives_does_not_stop_the_server(server, tmp_path):
    """The silent request is dropped after the server's 2 s; the real one, sent while the server
    waits on the silent one, is already whole when the server takes it."""
    import socket

    from labbook.runner import kernelpool

    proc, sock, _ = server
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(sock))  # says nothing
        assert kernelpool.run_forked(["quick", str(tmp_path / "quick.pid"), "4"]) == 4
    proc.terminate()
    assert "a request was dropped: timed out" in proc.communicate(timeout=WAIT)[1]


def test_a_kernel_ends_with_its_launcher_and_a_launcher_with_its_manager(server, tmp_path):
    proc, _, env = server
    python = str(paths.ROOT / ".venv/bin/python")
    launcher = subprocess.Popen(
        [python, "-m", "labbook.runner.kernelpool", "launch", str(tmp_path / "k1.pid")], env=env
    )
    kernel = _pid(tmp_path / "k1.pid")
    assert not _gone(kernel)
    launcher.kill()  # as jupyter_client does with a kernel that does not shut down
    launcher.wait(timeout=WAIT)
    _wait_for(lambda: _gone(kernel), "the kernel ended with its killed launcher")

    manager = subprocess.Popen(  # a kernel manager that starts a launcher, then is killed
        [
            python,
            "-c",
            "import subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-m', 'labbook.runner.kernelpool', 'launch', "
            f"{str(tmp_path / 'k2.pid')!r}])\n"
            "print(p.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    launcher_pid = int(manager.stdout.readline())
    kernel = _pid(tmp_path / "k2.pid")
    manager.kill()
    manager.wait(timeout=WAIT)
    _wait_for(lambda: _gone(launcher_pid), "the launcher ended with its manager")
    _wait_for(lambda: _gone(kernel), "the kernel ended with its launcher")
    assert proc.poll() is None  # the server goes on


def test_a_server_that_does_not_answer_bounds_the_wait_and_says_so(tmp_path, monkeypatch, capsys):
    import socket

    from labbook.runner import kernelpool

    path = tmp_path / "mute.sock"
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(path))
    mute.listen(4)  # accepts connections (the kernel does it), never answers
    monkeypatch.setenv(kernelpool.SOCKET_ENV, str(path))
    monkeypatch.setattr(kernelpool, "ANSWER_TIMEOUT", 0.5)
    try:
        with pytest.raises(
            SystemExit, match=r"kernel launch: .* did not start a kernel within 0.5 s"
        ):
            kernelpool.launch(["-f", "kernel.json"])
        assert kernelpool.run_forked(["run", "nb/variant"]) is None  # built in this process
        assert "did not start a runner within 0.5 s: building nb/variant in this process" in (
            capsys.readouterr().err
        )
        assert kernelpool.SOCKET_ENV not in os.environ  # nor is its kernel asked from that server
    finally:
        mute.close()
