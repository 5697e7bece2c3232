"""Benchmark (not a test): loading an Aim repository of RUNS runs x EPOCHS epochs.

Measures, in one run on the same repository: the seed notebook's own reads of the same data (its
`repo.query_metrics(...)` loop and its expert-activation loop, each timed, and one query_metrics
pass of the seed's loop over the same metrics our load reads: the validation metrics, the
training MACs and every expert_<i>; REPEATS times, interleaved with as many first loads, medians
compared, in wall-clock and in CPU seconds: this process's and its reading children's), our first
load (empty cache: the tracker layer's Aim reader, labbook.sources.trackers.aim, then the MoE
mapping), our cached load, and the whole MoE notebook on that repository (papermill, cold and
warm cache); and the first load through a real `aim server` (on a small repository: aim's server
protocol makes one request per tree access, so it is measured where it finishes in reasonable
time).
    python benchmarks/bench_aim.py [--runs 1001] [--epochs 100] [--quick]
The repository is written once to benchmarks/results/aim_<runs>x<epochs>/ and reused (by
examples.moe_aim: every step of the writing bounded, a hung one named and killed).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from labbook import paths
from labbook.guards import aim as aim_guard
from labbook.runner import examples
from labbook.sources import aim_repo

OUT = paths.ROOT / "benchmarks" / "results"
NOTEBOOK_SECONDS = 3600  # the MoE notebook on the large repository; an hour means it hangs
REPEATS = 5  # first loads (cache emptied each time) interleaved with seed query passes


def _seed_pass(seq, dataset: str) -> int:
    """The body of the seed's query loop over *seq* (an aim metric query): the runs of *dataset*,
    expert counts grouped by run, step and epoch, the rest as rows. Returns the points read."""
    rows, acts = [], defaultdict(list)
    for metric in seq:
        if dataset not in metric.run.props.tags:
            continue
        for x in metric.data:
            step, data = x[0], x[1]
            if metric.name.startswith("expert_"):
                acts[metric.run.hash, step, data[1]].append(data[0])
            else:
                rows.append((metric.run.hash, step, data[1], metric.name, data[0]))
    return len(rows) + sum(len(v) for v in acts.values())


def seed_query_loop(repo_path: str, dataset: str) -> int:
    """The seed's first read, unchanged in substance: the `repo.query_metrics(...)` loop of its
    cell "Mean, Max and Min metrics data query" (val metrics, train MACs and expert counts).
    Returns the number of points read."""
    from aim import Repo

    repo = Repo(repo_path)
    seq = repo.query_metrics(
        "metric.name in ['loss', 'accuracy', 'profiling_total_cpu_time', 'profiling_memory_usage'] "
        "and metric.context.subset == 'val' or ((metric.name == 'macs' or "
        "metric.name.startswith('expert_')) and metric.context.subset == 'train')"
    )
    return _seed_pass(seq, dataset)


SAME_METRICS = (
    "metric.name in ['loss', 'accuracy', 'profiling_total_cpu_time', 'profiling_memory_usage'] "
    "and metric.context.subset == 'val' or (metric.name == 'macs' and metric.context.subset == "
    "'train') or metric.name.startswith('expert_')"
)  # what aim_repo.load reads (expert_<i> in whatever subset it was logged in)


def seed_query_same_metrics(repo_path: str, dataset: str) -> int:
    """One pass of the seed's `repo.query_metrics(...)` loop over the metrics our load reads
    (SAME_METRICS): the baseline the first load is measured against. Returns the points read."""
    from aim import Repo

    repo = Repo(repo_path)
    return _seed_pass(repo.query_metrics(SAME_METRICS), dataset)


def seed_expert_loop(repo_path: str) -> int:
    """The seed's second read: the loop of its cell "Query for Expert Activations" (every run's
    expert_<i> sequences, which the seed reads from the val subset). Returns the points read."""
    from aim import Repo

    repo = Repo(repo_path)
    expert_rows = []
    for t in repo.iter_runs():
        for metric in t.metrics():
            if metric.name.startswith("expert_"):
                expert_rows.append(
                    (
                        t.hash,
                        t.props.tags,
                        metric.name,
                        metric.values.values_list(),
                        metric.context.to_dict(),
                    )
                )
    return sum(len(r[3]) for r in expert_rows)


def remote_load(runs_per_type: int = 3, epochs: int = 20) -> dict:
    """First load of one dataset through `aim server` on 127.0.0.1 vs. a local read of the same
    repository (7 types x runs_per_type runs x epochs, two datasets)."""
    import socket

    folder = OUT / f"aim_remote_{runs_per_type}x{epochs}"
    if not (folder / "repo" / ".aim").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        examples.moe_aim(
            folder, 0, ("cifar10", "mnist"), tuple(examples.MOE_TYPES), runs_per_type, epochs
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("aim")),
            "server",
            "--repo",
            str(folder / "repo"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        remote_s, remote = timed(aim_repo.load, f"aim://127.0.0.1:{port}", False, True, "cifar10")
        local_s, local = timed(aim_repo.load, str(folder / "repo"), False, False, "cifar10")
        same = remote.metrics.equals(local.metrics)
    finally:
        os.killpg(server.pid, 9)
        server.wait()
    return {
        "runs": len(remote.runs),
        "points": len(remote.metrics),
        "remote_first_load_s": remote_s,
        "local_first_load_s": local_s,
        "same_table": bool(same),
    }


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its children that have ended."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1001)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="210 runs x 30 epochs: a few minutes")
    args = ap.parse_args()
    try:
        aim_guard.require("aim")
    except aim_guard.AimMissing as err:  # a Python without the aim extra: nothing to time
        print(f"bench_aim skipped: {err}")
        return
    if args.quick:
        args.runs, args.epochs = 210, 30
    folder = OUT / f"aim_{args.runs}x{args.epochs}"
    types = list(examples.MOE_TYPES)
    seeds = -(-args.runs // len(types))
    if not (folder / "repo" / ".aim").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        write, _ = timed(
            examples.moe_aim, folder, 0, ("cifar10",), tuple(types), seeds, args.epochs
        )
        print(f"wrote {len(types) * seeds} runs x {args.epochs} epochs in {write:.1f} s")
    repo = str(folder / "repo")
    for p in (paths.CACHE / "aim").glob("*"):
        p.unlink()
    first, loaded = timed(aim_repo.load, repo, False, True, "cifar10")
    cached, again = timed(aim_repo.load, repo, False, True, "cifar10")
    assert again.from_cache and again.metrics.equals(loaded.metrics)
    query_s, query_points = timed(seed_query_loop, repo, "cifar10")
    expert_s, expert_points = timed(seed_expert_loop, repo)
    firsts, sames = [], []  # interleaved, so both see the same machine (other jobs, page cache)
    first_cpus, same_cpus = [], []  # CPU seconds of each (this process and its reading children)
    load_before = os.getloadavg()
    for _ in range(REPEATS):
        cpu = cpu_seconds()
        same_s, same_points = timed(seed_query_same_metrics, repo, "cifar10")
        same_cpus.append(cpu_seconds() - cpu)
        sames.append(same_s)
        for p in (paths.CACHE / "aim").glob("*"):
            p.unlink()
        cpu = cpu_seconds()
        firsts.append(timed(aim_repo.load, repo, False, True, "cifar10")[0])
        first_cpus.append(cpu_seconds() - cpu)
    seed_s = query_s + expert_s
    results = {
        "runs": len(loaded.runs),
        "epochs": args.epochs,
        "points": len(loaded.metrics),
        "seed_loop_points": query_points + expert_points,
        "first_load_s": first,
        "cached_load_s": cached,
        "seed_loop_s": seed_s,
        "seed_query_loop_s": query_s,
        "seed_query_loop_points": query_points,
        "seed_expert_loop_s": expert_s,
        "cached_speedup": first / cached,
        "first_vs_seed": seed_s / first,
        "first_vs_seed_query_loop": query_s / first,
        "seed_query_same_metrics_s": sames,
        "seed_query_same_metrics_points": same_points,
        "first_load_again_s": firsts,
        "first_vs_seed_query_same_metrics": float(np.median(sames) / np.median(firsts)),
        "seed_query_same_metrics_cpu_s": same_cpus,
        "first_load_again_cpu_s": first_cpus,
        "first_vs_seed_query_same_metrics_cpu": float(np.median(same_cpus) / np.median(first_cpus)),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average": os.getloadavg(),
    }
    for label in ("cold", "warm"):
        if label == "cold":
            for p in (paths.CACHE / "aim").glob("*"):
                p.unlink()
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "papermill",
                    str(paths.notebook_path("moe_analysis")),
                    str(Path(tmp) / "out.ipynb"),
                    "-k",
                    paths.KERNEL_NAME,
                    "--cwd",
                    str(paths.ROOT),
                    "-p",
                    "repo_path",
                    repo,
                    "-p",
                    "dataset",
                    "cifar10",
                    "-p",
                    "output_dir",
                    tmp,
                ],
                capture_output=True,
                text=True,
                timeout=NOTEBOOK_SECONDS,
            )
            results[f"notebook_{label}_s"] = time.perf_counter() - t
            if done.returncode != 0:
                raise SystemExit(done.stderr[-3000:])
    results["remote"] = remote_load()
    print(json.dumps(results, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"bench_aim_{args.runs}x{args.epochs}.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
