"""Benchmark (not a test): `make -j2 figures` against `make -j2 figures ENGINE=snakemake` (the same
reports built by Snakemake's local executor, with the same fork server), and Snakemake's own cost.

Both build, from clean, the same reports in one copy of the tree: the project's params files plus
EXTRA copies of each (as bench_build.py). The two engines alternate, ROUNDS times each; the load
average is recorded around every build (the machine may be shared). Snakemake's own cost: its
no-op run on the built tree (parsing the Snakefile, reading every inputs.d, building the DAG)
against make's; its extra wall time per report job over make's; and, apart from the reports, the
time per job of N jobs that only touch a file (a shell command, as the report rule's), Snakemake
against make, two at a time.

It is also the suite's full comparison of the engines (tests/test_snakemake.py builds one report
per notebook): every report Snakemake builds has, byte for byte, the figures, tables and findings
make built in the same round; the benchmark stops with the list of those that differ.
    python benchmarks/bench_snakemake.py [--extra 2] [--rounds 1]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from labbook import paths
from labbook.runner import sandbox

OUTPUTS = ("figures/*", "tables/*", "findings.json")  # what both engines must build alike


def outputs(tree: Path) -> dict[str, bytes]:
    """The figures, tables and findings of every report built in *tree*, by path."""
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for ok in sorted(tree.glob("reports/*/*/.ok"))
        for pattern in OUTPUTS
        for p in sorted(ok.parent.glob(pattern))
    }


def timed(tree: Path, *cmd: str, make: bool = True) -> float:
    t = time.perf_counter()
    res = sandbox.make(tree, *cmd) if make else sandbox.run(tree, *cmd)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return time.perf_counter() - t


TRIVIAL_SNAKEFILE = """
rule all:
    input: expand("out/{i}", i=range(N))

rule one:
    output: "out/{i}"
    shell: "touch {output}"
"""
TRIVIAL_MAKEFILE = (
    "all: $(foreach i,$(shell seq 0 $$((N-1))),out/$(i))\nout/%:\n\t@mkdir -p out; touch $@\n"
)


def trivial_jobs(tmp: Path, n: int) -> dict:
    """Seconds per job of *n* jobs that each touch a file, run two at a time by each engine."""
    out = {}
    for engine in ("make", "snakemake"):
        work = tmp / f"trivial-{engine}"
        work.mkdir()
        if engine == "make":
            (work / "Makefile").write_text(TRIVIAL_MAKEFILE.replace("N", str(n)))
            cmd = ["make", "-s", "-j2"]
        else:
            (work / "Snakefile").write_text(TRIVIAL_SNAKEFILE.replace("N", str(n)))
            cmd = [str(paths.ROOT / ".venv/bin/snakemake"), "--cores", "2", "-q", "all"]
        t = time.perf_counter()
        res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1800)
        if res.returncode != 0:
            raise SystemExit(f"{engine} trivial jobs failed:\n{res.stdout}\n{res.stderr}")
        out[f"{engine}_s_per_trivial_job"] = round((time.perf_counter() - t) / n, 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extra", type=int, default=2, help="extra variants per params file")
    ap.add_argument("--rounds", type=int, default=1, help="clean builds per engine")
    ap.add_argument("--trivial", type=int, default=200, help="trivial jobs for the per-job cost")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = sandbox.copy_tree(Path(tmp) / "tree")
        for name in ("workflow", "profiles"):
            shutil.copytree(paths.ROOT / name, tree / name)
        for p in sorted(tree.glob("params/*/*.yaml")):
            for i in range(1, args.extra + 1):
                (p.parent / f"{p.stem}_copy{i}.yaml").write_text(p.read_text())
        reports = len(list(tree.glob("params/*/*.yaml")))
        timed(tree, "examples")  # example data exist before either engine starts

        builds: dict[str, list[float]] = {"make": [], "snakemake": []}
        load: list[dict] = []
        differ: set[str] = set()
        for _ in range(args.rounds):
            built = {}
            for engine in ("make", "snakemake"):
                shutil.rmtree(tree / "reports", ignore_errors=True)
                before = os.getloadavg()
                builds[engine].append(timed(tree, "-j2", "figures", f"ENGINE={engine}"))
                load.append({"engine": engine, "before": before, "after": os.getloadavg()})
                built[engine] = outputs(tree)
            made, snake = built["make"], built["snakemake"]
            differ |= {f for f in made.keys() | snake.keys() if made.get(f) != snake.get(f)}
        snakemake = str(tree / ".venv" / "bin" / "snakemake")
        noop_make = min(timed(tree, "-n", "reports") for _ in range(3))
        noop_snakemake = min(
            timed(tree, snakemake, "-n", "-q", "all", make=False) for _ in range(3)
        )
        trivial = trivial_jobs(Path(tmp), args.trivial)

    # the best of the rounds: the first build in a fresh tree also fills caches (fonts) and a
    # shared machine's load comes and goes
    make_s, snake_s = min(builds["make"]), min(builds["snakemake"])
    result = {
        "reports": reports,
        "outputs_compared": len(made),
        "outputs_differing": sorted(differ),
        "rounds": args.rounds,
        "make_j2_clean_s": [round(s, 2) for s in builds["make"]],
        "snakemake_j2_clean_s": [round(s, 2) for s in builds["snakemake"]],
        "snakemake_over_make_best": round(snake_s / make_s, 3),
        # the best builds' difference per report (its fixed start-up cost included)
        "snakemake_extra_s_per_report": round((snake_s - make_s) / reports, 3),
        "noop_make_n_s": round(noop_make, 3),
        "noop_snakemake_n_s": round(noop_snakemake, 3),
        "trivial_jobs": args.trivial,
        **trivial,
        "load_average": load,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    out = paths.ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "snakemake.json").write_text(json.dumps(result, indent=2) + "\n")
    if differ or not made:
        raise SystemExit(f"Snakemake's reports differ from make's: {sorted(differ)}")


if __name__ == "__main__":
    main()
