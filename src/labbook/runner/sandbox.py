"""A throw-away copy of the project tree, for the tests and benchmarks that run make and the runner.

The copy shares the installed environment (.venv, .tools are symlinked), keeps file times (so make
sees the environment as up to date), and runs with PYTHONPATH pointing at its own src/, so the
runner and the notebook kernels import the copy's labbook and write to the copy's reports/.
"""

import os
import shutil
import subprocess
from pathlib import Path

from labbook import paths

COPIED = (
    "src",
    "notebooks",
    "params",
    "examples",
    "Makefile",
    "pyproject.toml",
    "uv.lock",
    "README.md",
)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link *src* to *dst* (same bytes and times, no copying), or copy it where linking is not
    possible (another file system)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_tree(dest: Path) -> Path:
    """Copy the project's sources, params and examples into *dest* (created); returns *dest*.
    The generated example data (hundreds of MB of tracker stores) is hard-linked, not copied: the
    runner and the readers never write into an input, and regenerating it in the copy writes new
    files (examples.generate) instead of rewriting these."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = paths.ROOT / name
        if src.is_dir():
            shutil.copytree(
                src,
                dest / name,
                copy_function=_link_or_copy if name == "examples" else shutil.copy2,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            )
        else:
            shutil.copy2(src, dest / name)
    for name in (".venv", ".tools"):
        (dest / name).symlink_to(paths.ROOT / name)
    return dest


def copy_built(tree: Path, dest: Path, reports: list[str] | None = None) -> Path:
    """Copy *tree* (a copy_tree already built in) to *dest*, file times kept, so make finds the
    same reports up to date; returns *dest*. Its examples/ are hard-linked as copy_tree does, the
    rest copied (a test may change it), symlinks (.venv, .tools) kept. With *reports*
    ("notebook/variant" names) only those reports and their params files come along: the copy
    builds just them."""
    tree, dest = Path(tree), Path(dest)
    keep = None if reports is None else set(reports)

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(tree).parts
        if keep is None or len(rel) != 2 or rel[0] not in ("params", "reports"):
            return set()
        kind, notebook = rel
        stem = (lambda n: n.removesuffix(".yaml")) if kind == "params" else (lambda n: n)
        return {n for n in names if f"{notebook}/{stem(n)}" not in keep}

    def copy(src: str, dst: str) -> None:
        if Path(src).is_relative_to(tree / "examples"):
            _link_or_copy(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(tree, dest, symlinks=True, ignore=ignore, copy_function=copy)
    return dest


def env(tree: Path) -> dict:
    """Environment for commands run in *tree*: its own src first, no inherited make job server."""
    out = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out["PYTHONPATH"] = str(tree / "src")
    out["LABBOOK_SHARED_ENV"] = (
        "1"  # the Makefile never syncs or reinstalls the shared .venv from a copy
    )
    out.setdefault("LABBOOK_EXPERIMENTS", "quick")  # the digits experiments at seconds' scale
    return out


ENV_STAMP = ".venv/.labbook-installed"  # the Makefile's environment target
# seconds a command run here may take before it is killed: a bound against a hang, far beyond
# what any build of the tests or benchmarks takes on a busy machine
TIMEOUT = 1800


def run(tree: Path, *cmd: str, timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    """Run *cmd* in *tree* with env(tree); output captured as text."""
    return subprocess.run(
        list(cmd),
        cwd=tree,
        env=env(tree),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def make(tree: Path, *args: str, timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    """`make ARGS` in *tree*, never rebuilding the shared environment (it belongs to the real tree:
    a sync from the copy would point the editable install at the copy)."""
    return run(tree, "make", "--no-print-directory", "-o", ENV_STAMP, *args, timeout=timeout)


def build_reports(tree: Path, names: list[str], timeout: int = TIMEOUT) -> list[tuple[int, str]]:
    """Build the reports *names* ("notebook/variant") in *tree* side by side, each with
    `labbook.runner.build run`; returns (exit status, output) per report, in order."""
    builds = [
        subprocess.Popen(
            [str(tree / ".venv" / "bin" / "python"), "-m", "labbook.runner.build", "run", name],
            cwd=tree,
            env=env(tree),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for name in names
    ]
    results = []
    for b in builds:
        try:
            out, _ = b.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            b.kill()
            out, _ = b.communicate()
            out += f"\n(killed after {timeout} s)"
        results.append((b.returncode, out))
    return results
