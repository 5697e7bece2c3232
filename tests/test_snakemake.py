"""The Snakemake engine (#24): the same reports as make, the same rebuild decisions, and the cluster
submission paths, all run here (no cluster, no network).

Both engines run the runner's one command per report, so this module proves them equal cheaply:
for EVERY example report, the command Snakemake's job runs is make's command (both dry runs, every
report forced), started under the same `make figures` recipe line (the same LABBOOK_* variables:
each job prints its [k/n] count); and one report per notebook (chosen from the params files), built
by `make -j2 figures ENGINE=snakemake` with the build's fork server in a sandbox holding a copy of
make's shared build, has make's figures, tables and findings byte for byte. The full comparison,
every report built by each engine from clean and compared byte for byte, is
benchmarks/bench_snakemake.py (run by `make benchmark`), too slow for the suite. Then, in that tree,
two reports resubmitted through Snakemake's generic cluster executor (a stand-in submit command that
runs the job script here) and through the SLURM profile (stand-in sbatch, srun, sacct, squeue and
sinfo on PATH, driven by the real slurm executor plugin), each grouped into one submission; then
dry runs after input changes; then a failed rebuild. The tests of this module share that tree and
run in file order.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labbook import paths
from labbook.runner import deps, sandbox, targets

pytest.importorskip("snakemake", reason="Snakemake is the optional extra 'cluster'")

# two of the quickest reports: what the cluster tests resubmit
SMALL = ("chain_of_experts/example", "sparse_training/misbehaving")
OUTPUTS = ("figures/*", "tables/*", "findings.json")  # what must be byte-identical


def _run(tree: Path, *cmd: str, env: dict | None = None, timeout: int = sandbox.TIMEOUT):
    return subprocess.run(
        list(cmd),
        cwd=tree,
        env={**sandbox.env(tree), **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _snakemake(tree: Path, *args: str, env: dict | None = None):
    return _run(tree, str(tree / ".venv" / "bin" / "snakemake"), *args, env=env)


def _outputs(report: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(report)): p.read_bytes()
        for pattern in OUTPUTS
        for p in sorted(report.glob(pattern))
    }


def _same_outputs(a: Path, b: Path, names) -> None:
    for name in names:
        left, right = _outputs(a / "reports" / name), _outputs(b / "reports" / name)
        assert left and sorted(left) == sorted(right), name
        differ = [f for f in left if left[f] != right[f]]
        assert not differ, f"{name}: {differ} differ from make's build"


def _names(tree: Path) -> list[str]:
    """The reports of *tree*'s params files."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in tree.glob("params/*/*.yaml"))


def _make_dry(tree: Path) -> set[str]:
    res = sandbox.make(tree, "-n", "reports")
    assert res.returncode == 0, res.stderr
    return set(re.findall(r"labbook\.runner\.build run (\S+)", res.stdout))


def _snakemake_dry(tree: Path, *args: str) -> set[str]:
    res = _snakemake(tree, "-n", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return set(re.findall(r"output: reports/(\S+)/\.ok", res.stdout))


@pytest.fixture(scope="module")
def make_tree(example_build) -> Path:
    """The suite's shared `make -j2 figures` build of every example report (read only)."""
    return example_build


def _one_per_notebook(names) -> list[str]:
    """The first report (by name) of each notebook among *names*."""
    first: dict[str, str] = {}
    for name in sorted(names):
        first.setdefault(name.split("/")[0], name)
    return sorted(first.values())


@pytest.fixture(scope="module")
def snake_build(make_tree, tmp_path_factory) -> dict:
    """A sandbox holding make's build of the repo's reports (inputs and reports copied from its
    tree with their file times, example data as hard links; not from the project's tree, which may
    have changed since), minus one report per notebook, which `make -j2 figures ENGINE=snakemake`
    then built: {"tree", "built" (those reports), "since" (when), "make" (its result)}."""
    tree = tmp_path_factory.mktemp("snake") / "tree"
    tree.mkdir()
    for name in sandbox.COPIED:
        if (make_tree / name).is_dir():
            link = name == "examples"
            shutil.copytree(
                make_tree / name,
                tree / name,
                copy_function=sandbox._link_or_copy if link else shutil.copy2,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            )
        else:
            shutil.copy2(make_tree / name, tree / name)
    for name in (".venv", ".tools"):
        (tree / name).symlink_to(paths.ROOT / name)
    keep = {tree / "params" / f"{name}.yaml" for name in targets.names()}  # the repo's
    for extra in set(tree.glob("params/*/*.yaml")) - keep:  # the shared build's crafted reports
        extra.unlink()
    for name in ("workflow", "profiles"):
        shutil.copytree(paths.ROOT / name, tree / name)
    # the Snakefile's module goes with the Snakefile (the runner is no report's dependency)
    shutil.copy2(paths.SRC / "runner" / "targets.py", tree / "src/labbook/runner/targets.py")
    options = Path(".cache/labbook/build-options")  # make's, with its time: every report is newer
    (tree / options).parent.mkdir(parents=True)
    shutil.copy2(make_tree / options, tree / options)
    names = _names(tree)
    built = _one_per_notebook(names)
    for name in set(names) - set(built):  # make's build of the others, file times kept
        shutil.copytree(make_tree / "reports" / name, tree / "reports" / name)
    since = time.time()
    res = sandbox.make(tree, "-j2", "figures", "ENGINE=snakemake")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return {"tree": tree, "built": built, "since": since, "make": res}


@pytest.fixture(scope="module")
def snake_tree(snake_build) -> Path:
    return snake_build["tree"]


@pytest.fixture(scope="module")
def pool(snake_tree):
    """The build's fork server for the cluster tests' jobs (as `make figures` starts one): the
    stand-in commands run the jobs on this machine, where it saves each report's imports."""
    sock = snake_tree / ".cache" / "pool.sock"
    server = subprocess.Popen(
        [str(snake_tree / ".venv/bin/python"), "-m", "labbook.runner.build", "pool", str(sock)],
        cwd=snake_tree,
        env={**sandbox.env(snake_tree), "PYTHONHASHSEED": "0"},
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120  # without the server the jobs only start slower
    while not sock.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    yield {"LABBOOK_KERNEL_POOL": str(sock)} if sock.exists() else {}
    server.terminate()
    server.wait(timeout=120)


def test_inputs_d_read_back_as_written(tmp_path, monkeypatch):
    """targets.recorded reads inputs.d (deps.make_rule's make syntax, escapes included) back into
    the paths written, and inputs() sets apart a recorded file that is gone."""
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    odd = tmp_path / "data dir" / "runs #1 $x.json"
    odd.parent.mkdir()
    odd.write_text("{}")
    gone = paths.SRC / "no_such_module.py"
    written = [paths.params_path("nb", "v"), paths.SRC / "stats.py", odd, gone]
    (tmp_path / "reports" / "nb" / "v").mkdir(parents=True)
    (tmp_path / "reports/nb/v/inputs.d").write_text(
        deps.make_rule(tmp_path / "reports/nb/v/.ok", written)
    )
    assert targets.recorded("nb/v") == [paths.relative(p) for p in written]
    present, missing = targets.inputs("nb/v")
    assert present == [
        "params/nb/v.yaml",
        "notebooks/nb.ipynb",
        ".cache/labbook/build-options",
        "src/labbook/stats.py",
        str(odd),
    ]
    assert missing == ["src/labbook/no_such_module.py"]


def test_cluster_settings_by_notebook_and_report():
    table = {
        "default": {"mem_mb": 4000, "runtime": 30},
        "moe_*": {"mem_mb": 8000},
        "moe_analysis/cinic10": {"runtime": 120, "group": "alone"},
        "*/cinic10": {"runtime": 90},
    }
    assert targets.settings("moe_analysis/cinic10", table) == {
        "mem_mb": 8000,
        "runtime": 120,
        "group": "alone",
    }
    assert targets.settings("moe_analysis/mnist", table) == {"mem_mb": 8000, "runtime": 30}
    assert targets.settings("sparse_training/good", table) == {"mem_mb": 4000, "runtime": 30}
    assert targets.settings("sparse_training/good", None) == {}


def _commands(text: str, name_group: int) -> dict[str, tuple]:
    """Each report's runner command in a dry run's *text*: {name: (python, rest of the line)}."""
    found = re.findall(r"(\S+) -m labbook\.runner\.build run (\S+)( .*)?$", text, re.M)
    return {m[name_group]: (m[0], f"{m[1]}{m[2]}".rstrip()) for m in found}


def test_snakemake_runs_makes_command_for_every_report(snake_tree):
    """For every example report, Snakemake's job runs make's command (`make -n` and `snakemake -n
    -p`, every report forced): the same interpreter, report, timeout and options, after putting
    back the stamp of the last good build."""
    names = _names(snake_tree)
    assert names == targets.names() and names  # the repo's reports, every one
    forced = [a for n in names for a in ("-W", f"params/{n}.yaml")]
    made = sandbox.make(snake_tree, "-n", "reports", *forced)
    assert made.returncode == 0, made.stderr
    snake = _snakemake(snake_tree, "-n", "-p", "--forcerun", "report")
    assert snake.returncode == 0, snake.stdout + snake.stderr
    make_cmds, snake_cmds = _commands(made.stdout, 1), _commands(snake.stdout, 1)
    assert sorted(make_cmds) == sorted(snake_cmds) == names
    for name in names:
        (make_py, make_rest), (snake_py, snake_rest) = make_cmds[name], snake_cmds[name]
        make_py, snake_py_path = snake_tree / make_py, Path(snake_py)  # one environment's
        assert make_py.name == snake_py_path.name, name
        assert make_py.parent.resolve() == snake_py_path.parent.resolve(), name
        assert snake_rest == make_rest == f"{name} --timeout 900", name
        restore = f"{snake_py} -m labbook.runner.targets restore-stamp {name} && {snake_py}"
        assert restore in snake.stdout, name


def test_snakemake_builds_what_make_builds(snake_build, make_tree, example_build_make):
    """One report per notebook, built by Snakemake with the build's fork server, has make's
    figures, tables and findings, byte for byte; each job got the recipe's progress variables as
    make's did; the gallery and the summary were made after the jobs; the tree (those reports
    Snakemake's, the others make's) is then up to date for make and for Snakemake."""
    tree, built = snake_build["tree"], snake_build["built"]
    names = _names(tree)
    assert names == targets.names() and set(names) <= set(_names(make_tree)) and len(names) >= 16
    assert len(built) == len({n.split("/")[0] for n in names}) >= 5
    assert all((tree / "reports" / n / ".ok").is_file() for n in names)
    assert _rebuilt(tree, names, snake_build["since"]) == built
    _same_outputs(tree, make_tree, built)
    out = snake_build["make"].stdout
    for name in built:  # LABBOOK_PROGRESS and LABBOOK_TOTAL reached the job, as under make
        assert re.search(rf"\[\d/{len(built)}\] {re.escape(name)} started", out), out[-3000:]
        assert re.search(rf"\[\d+/\d+\] {re.escape(name)} started", example_build_make.stdout)
    assert (tree / "reports" / "index.html").stat().st_mtime >= snake_build["since"]
    assert _make_dry(tree) == set()
    assert _snakemake_dry(tree) == set()


def _stand_in(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _rebuilt(tree: Path, names, since: float) -> list[str]:
    return [n for n in names if (tree / "reports" / n / ".ok").stat().st_mtime >= since]


def test_generic_cluster_executor_submits_grouped_reports(snake_tree, make_tree, pool, tmp_path):
    """Two reports resubmitted through the generic cluster executor, grouped into one job: the
    stand-in submit command runs the job script Snakemake wrote, here and now."""
    submitted = tmp_path / "submitted"
    submit = tmp_path / "submit.sh"
    _stand_in(
        submit,
        "#!/bin/sh\n# stand-in submit command: keep the job script, run it, print a job id\n"
        f'n=$(ls {submitted} | wc -l); cp "$1" {submitted}/job$n.sh\n'
        f'sh "$1" > {submitted}/job$n.log 2>&1\necho job$n\n',
    )
    submitted.mkdir()
    since = time.time()
    res = _snakemake(
        snake_tree,
        *(targets.stamp(n) for n in SMALL),
        "--force",
        "--executor",
        "cluster-generic",
        "--cluster-generic-submit-cmd",
        str(submit),
        "--jobs",
        "2",
        "--groups",
        "report=small",
        "--group-components",
        "small=2",
        "--seconds-between-status-checks",
        "1",
        env=pool,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    scripts = sorted(submitted.glob("*.sh"))
    assert len(scripts) == 1, "two reports of one group: one submission"
    props = json.loads(re.search(r"# properties = (.*)", scripts[0].read_text()).group(1))
    assert props["type"] == "group" and props["groupid"] == "small"
    assert _rebuilt(snake_tree, SMALL, since) == list(SMALL)
    _same_outputs(snake_tree, make_tree, SMALL)


SLURM_STAND_INS = {
    "sbatch": '''#!PYTHON
"""Stand-in sbatch: keeps its arguments, runs the --wrap command now (as the job would run on a
node, with SLURM_JOB_ID set), records COMPLETED or FAILED for sacct, prints the id (--parsable)."""
import json, os, pathlib, subprocess, sys
state = pathlib.Path(os.environ["SLURM_STAND_IN"])
jobid = str(1000 + len(list(state.glob("*.args"))))
args = sys.argv[1:]
(state / f"{jobid}.args").write_text(json.dumps(args))
wrap = next(a[len("--wrap="):] for a in args if a.startswith("--wrap="))
log = args[args.index("--output") + 1].replace("%j", jobid)
env = dict(os.environ, SLURM_JOB_ID=jobid, SLURM_JOBID=jobid)
with open(log, "w") as out:
    rc = subprocess.run(["sh", "-c", wrap], cwd=args[args.index("-D") + 1], env=env,
                        stdout=out, stderr=subprocess.STDOUT).returncode
(state / f"{jobid}.state").write_text("COMPLETED" if rc == 0 else "FAILED")
print(jobid)
''',
    "sacct": '''#!PYTHON
"""Stand-in sacct: `JobIdRaw|State` of each job run (the plugin's status query), else nothing."""
import os, pathlib, sys
if "--format=JobIdRaw,State" in sys.argv:
    for p in sorted(pathlib.Path(os.environ["SLURM_STAND_IN"]).glob("*.state")):
        print(f"{p.stem}|{p.read_text()}")
''',
    "squeue": '''#!PYTHON
"""Stand-in squeue: `%i|%T` of each job run."""
import os, pathlib
for p in sorted(pathlib.Path(os.environ["SLURM_STAND_IN"]).glob("*.state")):
    print(f"{p.stem}|{p.read_text()}")
''',
    "srun": "#!/bin/sh\n# stand-in srun: drop its options, run the command\n"
    'while [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done\nexec "$@"\n',
    "sinfo": "#!/bin/sh\n# stand-in sinfo: one partition, the default\n"
    'echo PARTITION; echo "short*"\n',
}


def test_slurm_profile_against_stand_in_commands(snake_tree, make_tree, pool, tmp_path):
    """`--profile profiles/slurm` with stand-in SLURM commands on PATH: the real slurm executor
    plugin submits the two reports as one grouped sbatch whose memory and time come from
    profiles/slurm/reports.yaml (one report's own entry overriding the default), checks them with
    sacct, and the reports come out as make builds them."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in SLURM_STAND_INS.items():
        _stand_in(bin_dir / name, text.replace("PYTHON", sys.executable))
    reports_yaml = snake_tree / "profiles" / "slurm" / "reports.yaml"
    original = reports_yaml.read_text()
    reports_yaml.write_text(original + f"  {SMALL[1]}:\n    mem_mb: 2000\n    runtime: 10\n")
    since = time.time()
    try:
        res = _snakemake(
            snake_tree,
            *(targets.stamp(n) for n in SMALL),
            "--force",
            "--profile",
            "profiles/slurm",
            "--slurm-init-seconds-before-status-checks",
            "1",
            "--seconds-between-status-checks",
            "1",
            env={
                **pool,
                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                "SLURM_STAND_IN": str(state),
            },
        )
    finally:
        reports_yaml.write_text(original)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    calls = [json.loads(p.read_text()) for p in sorted(state.glob("*.args"))]
    assert len(calls) == 1, "the profile groups short reports into one job"
    call = calls[0]
    # two reports side by side in one job (profile cores: 2): memory adds up, time is the longest
    assert call[call.index("--mem") + 1] == str(4000 + 2000)
    assert call[call.index("-t") + 1] == "30"
    assert "--cpus-per-task=2" in call and call[call.index("-p") + 1] == "short"
    assert "rule_reports_report" in call  # the group's comment
    assert _rebuilt(snake_tree, SMALL, since) == list(SMALL)
    _same_outputs(snake_tree, make_tree, SMALL)


def _recorded_by(tree: Path, names) -> dict[str, set[str]]:
    """Each file under examples/ or src/ that the built reports recorded: which reports did."""
    users: dict[str, set[str]] = {}
    for name in names:
        for dep in (tree / "reports" / name / "inputs.d").read_text().split():
            if dep.startswith(("examples/", "src/labbook/")) and not dep.endswith(":"):
                if (tree / dep).is_file():
                    users.setdefault(dep, set()).add(name)
    return users


def _touch_own(path: Path) -> None:
    """Make *path* newer than every report, on a copy of its own: the sandbox's example data are
    hard links to the project's, whose times must not change."""
    tmp = path.with_name(path.name + ".own")
    shutil.copy2(path, tmp)
    os.replace(tmp, path)
    later = time.time() + 5
    os.utime(path, (later, later))


def test_dry_runs_list_what_make_would_rebuild(snake_tree):
    """After a new params file, an edited params file, an edited core module, an edited data file
    and a deleted data file, `snakemake -n` lists exactly the reports `make -n` would rebuild."""
    names = _names(snake_tree)
    users = _recorded_by(snake_tree, names)
    alone = sorted(d for d, u in users.items() if d.startswith("examples/") and len(u) == 1)
    edited_data, deleted_data = alone[0], alone[-1]
    module = "src/labbook/analyses/moe.py"
    assert edited_data != deleted_data and users[module] < set(names)

    params = snake_tree / "params"
    shutil.copy(params / "sparse_training" / "good.yaml", params / "sparse_training" / "new.yaml")
    _touch_own(params / "credit_assignment" / "mnist.yaml")
    _touch_own(snake_tree / module)
    _touch_own(snake_tree / edited_data)
    (snake_tree / deleted_data).unlink()

    expected = (
        {"sparse_training/new", "credit_assignment/mnist"}
        | users[module]
        | users[edited_data]
        | users[deleted_data]
    )
    assert len(expected) >= 6
    assert _make_dry(snake_tree) == expected
    assert _snakemake_dry(snake_tree) == expected


def test_failed_report_keeps_its_last_good_build(snake_tree, make_tree):
    """A rebuild that fails under Snakemake leaves the last good report in place (the failure
    beside it), and both engines then rebuild it."""
    name = SMALL[0]
    params = snake_tree / "params" / f"{name}.yaml"
    params.write_text(params.read_text() + "no_such_parameter: 1\n")
    res = _snakemake(snake_tree, targets.stamp(name), "--cores", "1")
    assert res.returncode != 0 and "kept the last good build" in res.stdout + res.stderr
    report = snake_tree / "reports" / name
    failure = json.loads((report / "last-failure" / "provenance.json").read_text())
    assert failure["status"] == "FAILED" and failure["failure"]["kind"] == "params"
    assert json.loads((report / "provenance.json").read_text())["status"] == "ok"
    _same_outputs(snake_tree, make_tree, [name])  # the good build's figures, tables, findings
    summary = _run(
        snake_tree,
        str(snake_tree / ".venv/bin/python"),
        "-m",
        "labbook.runner.build",
        "summary",
        name,
    )
    assert "showing the last good build" in summary.stdout
    assert name in _make_dry(snake_tree) & _snakemake_dry(snake_tree)
