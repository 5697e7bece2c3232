"""Benchmark (not a test): what the change report adds to a rebuild of the MoE report.

In a copy of the tree, moe_analysis/cifar10 is built once, rebuilt with nothing changed (every
output compared, none differs: the common rebuild) and rebuilt with `ema_alpha` and the bootstrap
`seed` changed (some figures and tables differ), and rebuilt on another dataset's runs (every
figure and table differs, each PNG decoded: the costly case). For each rebuild the work the change
report adds is summed:
- the comparison left when the notebook has ended, and the hard links of previous/ (changes.json
  "seconds", timed inside the build); the figures the build compared while its notebook ran (a
  thread in the otherwise idle runner, changes.json "seconds_while_running", CPU time) are
  reported beside it, and counted in a second share, as on a machine with no idle core;
- the sha256 of the code files (notebook, labbook modules, templates) recorded in provenance;
- report.html and report.pdf rendered with the change box and the previous figures, minus the same
  renders without them (median of repeated renders of the built report);
and set against the rebuild's wall time (`python -m labbook.runner.build run`, as make runs it).
    python benchmarks/bench_changes.py [--quick]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat

from labbook import paths
from labbook.runner import build, changes, render, sandbox

NAME = "moe_analysis/cifar10"
OUT = paths.ROOT / "benchmarks" / "results" / "changes.json"


def rebuild(tree: Path) -> float:
    """Wall seconds of one `build run` of NAME in *tree* (fails loudly)."""
    t = time.perf_counter()
    res = sandbox.run(tree, ".venv/bin/python", "-m", "labbook.runner.build", "run", NAME)
    if res.returncode != 0:
        raise SystemExit(f"{NAME} failed:\n{res.stdout}\n{res.stderr[-3000:]}")
    return time.perf_counter() - t


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def render_overhead(folder: Path, repeat: int, pdf: bool) -> dict:
    """Seconds report.html (and report.pdf) take with the change box and previous figures, and
    without them, rendered from the report built in *folder*."""
    nb = nbformat.read(folder / "executed.ipynb", as_version=4)
    prov = json.loads((folder / "provenance.json").read_text())
    report = json.loads((folder / changes.FILE).read_text())
    banner = build.EXAMPLE_BANNER
    with_box = render.context(prov, banner, None, report, folder)
    without = render.context(prov, banner, None)
    render.html(nb, without)  # templates compiled before timing
    out = {
        "html_with_s": median_seconds(lambda: render.html(nb, with_box), repeat),
        "html_without_s": median_seconds(lambda: render.html(nb, without), repeat),
    }
    if pdf:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "report.pdf"
            out["pdf_with_s"] = median_seconds(
                lambda: render.pdf(nb, with_box, folder, target), repeat
            )
            out["pdf_without_s"] = median_seconds(
                lambda: render.pdf(nb, without, folder, target), repeat
            )
    return out


def measure(tree: Path, wall: float, repeat: int, pdf: bool) -> dict:
    """The change report's share of one rebuild of NAME (its wall time *wall*)."""
    folder = tree / "reports" / NAME
    report = json.loads((folder / changes.FILE).read_text())
    code = subprocess.run(
        [
            str(tree / ".venv" / "bin" / "python"),
            "-c",
            "import time; from labbook.runner import build, changes; "
            "files = build._code_files(build.paths.notebook_path('moe_analysis')); "
            "t = time.perf_counter(); changes.file_hashes(files); "
            "print(time.perf_counter() - t)",
        ],
        env=sandbox.env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    renders = render_overhead(folder, repeat, pdf)
    hashes = float(code.stdout)  # the file list is the one inputs.d is written from anyway
    added = (
        report["seconds"]
        + hashes
        + renders["html_with_s"]
        - renders["html_without_s"]
        + (renders.get("pdf_with_s", 0) - renders.get("pdf_without_s", 0))
    )
    return {
        "rebuild_wall_s": round(wall, 2),
        "headline": report["headline"],
        "figures_changed": len(report["figures"]["changed"]),
        "tables_changed": len(report["tables"]["changed"]),
        "compare_and_previous_s": report["seconds"],
        "compared_while_running_cpu_s": report.get("seconds_while_running", 0.0),
        "code_hashes_s": round(hashes, 4),
        **{k: round(v, 4) for k, v in renders.items()},
        "added_s": round(added, 4),
        "added_share": round(added / wall, 4),
        "added_share_with_cpu_while_running": round(
            (added + report.get("seconds_while_running", 0.0)) / wall, 4
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeated renders, no PDF timing")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        tree = sandbox.copy_tree(Path(tmp) / "tree")
        for p in tree.glob("params/*/*.yaml"):
            if f"{p.parent.name}/{p.stem}" != NAME:
                p.unlink()
        first = rebuild(tree)
        same = measure(tree, rebuild(tree), repeat, not args.quick)
        params = tree / "params" / f"{NAME}.yaml"
        text = params.read_text()
        params.write_text(text + "ema_alpha: 0.5\nseed: 1\n")
        some = measure(tree, rebuild(tree), repeat, not args.quick)
        params.write_text(text.replace("dataset: cifar10", "dataset: mnist"))
        every = measure(tree, rebuild(tree), repeat, not args.quick)
        shutil.rmtree(tree / "reports", ignore_errors=True)
    result = {
        "report": NAME,
        "first_build_wall_s": round(first, 2),
        "rebuild_nothing_changed": same,
        "rebuild_some_outputs_changed": some,
        "rebuild_every_output_changed": every,
    }
    print(json.dumps(result, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
