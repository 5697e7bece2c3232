"""Benchmark (not a test): `make -j2 figures` from clean vs. the naive loop, and a no-op rebuild.

The naive loop is what a user would write: for each params file, `papermill` then `jupyter nbconvert
--to html`, one report after another. Both run on the same reports in a copy of the tree: the params
files of the project plus EXTRA copies of each, so there are several reports.
    python benchmarks/bench_build.py [--extra 2]
"""

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from labbook import paths
from labbook.runner import sandbox


def timed(tree: Path, *make_args: str) -> float:
    t = time.perf_counter()
    res = sandbox.make(tree, *make_args)
    if res.returncode != 0:
        raise SystemExit(f"make {' '.join(make_args)} failed:\n{res.stdout}\n{res.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extra", type=int, default=2, help="extra variants per params file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = sandbox.copy_tree(Path(tmp) / "tree")
        for p in sorted(tree.glob("params/*/*.yaml")):
            for i in range(1, args.extra + 1):
                (p.parent / f"{p.stem}_copy{i}.yaml").write_text(p.read_text())
        params = sorted(tree.glob("params/*/*.yaml"))
        timed(tree, "examples")  # example data exist before either contender starts

        clean = timed(tree, "-j2", "figures")
        noop = min(timed(tree, "figures") for _ in range(3))

        naive_dir = Path(tmp) / "naive"
        venv = tree / ".venv" / "bin"
        t = time.perf_counter()
        for p in params:
            out = naive_dir / p.parent.name / p.stem
            out.mkdir(parents=True)
            nb = tree / "notebooks" / f"{p.parent.name}.ipynb"
            for cmd in (
                [
                    str(venv / "papermill"),
                    str(nb),
                    str(out / "executed.ipynb"),
                    "-f",
                    str(p),
                    "-p",
                    "output_dir",
                    str(out),
                    "-k",
                    "labbook",
                    "--cwd",
                    str(tree),
                ],
                [str(venv / "jupyter"), "nbconvert", "--to", "html", str(out / "executed.ipynb")],
            ):
                res = sandbox.run(tree, *cmd)
                if res.returncode != 0:
                    raise SystemExit(f"naive loop failed on {p}:\n{res.stderr[-2000:]}")
        naive = time.perf_counter() - t
        shutil.rmtree(naive_dir)

    result = {
        "reports": len(params),
        "make_j2_clean_s": round(clean, 2),
        "naive_loop_s": round(naive, 2),
        "speedup": round(naive / clean, 2),
        "noop_make_s": round(noop, 3),
    }
    print(json.dumps(result, indent=2))
    (paths.ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (paths.ROOT / "benchmarks" / "results" / "build.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
