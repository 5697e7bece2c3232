"""Benchmark (not a test): reading an MLflow SQLite store of RUNS runs x KEYS metrics x STEPS steps.

Measures, in one run on the same store: MLflow's own way to get every run's metric history
(`MlflowClient.search_runs` over the store's experiments, then `get_metric_history` per run and
key), our first read (empty cache), our cached read, and how long a writer logging to the store
waits while our reader reads it (a copy of the store: the benchmark store is never written).
The two tables are compared value for value.
    python benchmarks/bench_mlflow.py [--runs 1000] [--keys 5] [--steps 200] [--quick]
The store is written once by MLflow (MlflowClient.log_batch, one call per run) into
.cache/labbook/bench/mlflow_<runs>x<keys>x<steps>/mlflow.db and reused.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network from a benchmark

from labbook import paths
from labbook.sources import trackers
from labbook.sources.trackers import mlflow as mlflow_reader

OUT = paths.ROOT / "benchmarks" / "results"
STORES = paths.CACHE / "bench"
KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "grad_norm", "lr", "memory", "macs")
METHODS = ("baseline", "dropout", "mixup", "cutmix", "label_smoothing")
T0_MS = 1_700_000_000_000  # the first step's wall time (ms), so stores written twice are equal


def write_store(db: Path, runs: int, keys: int, steps: int, seed: int) -> None:
    """An MLflow SQLite store at *db* written by MLflow itself: one experiment, *runs* runs
    (tags method and seed, params lr, method and seed), each logging the first *keys* of KEYS at
    steps 0..steps-1 (one log_batch per run; values from a generator seeded with *seed*, wall
    times one second apart). Written to a temporary file and renamed into place."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    if keys > len(KEYS):
        raise SystemExit(f"--keys: at most {len(KEYS)}")
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(db.name + ".tmp")
    tmp.unlink(missing_ok=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}")
    experiment = client.create_experiment("bench", artifact_location=str(db.parent / "artifacts"))
    rng = np.random.default_rng(seed)
    for i in range(runs):
        method, run_seed = METHODS[i % len(METHODS)], i // len(METHODS)
        run = client.create_run(
            experiment,
            start_time=T0_MS,
            run_name=f"{method}-s{run_seed}",
            tags={"method": method, "seed": str(run_seed)},
        )
        values = rng.normal(size=(keys, steps)).cumsum(axis=1)
        metrics = [
            Metric(KEYS[k], float(values[k, s]), T0_MS + 1000 * s, s)
            for k in range(keys)
            for s in range(steps)
        ]
        params = [Param("lr", str(10.0 ** -(1 + i % 3))), Param("method", method)]
        params.append(Param("seed", str(run_seed)))
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id, end_time=T0_MS + 1000 * steps)
    tmp.replace(db)


def mlflow_read(db: Path) -> pd.DataFrame:
    """MLflow's own way to every metric value: search_runs over every experiment (paged), then
    get_metric_history per run and key; as (run, key, step, value, wall_time) sorted like ours."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs, token = [], None
    while True:
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            break
    rows = [
        (run.info.run_id, key, m.step, m.value, m.timestamp / 1000)
        for run in runs
        for key in run.data.metrics
        for m in client.get_metric_history(run.info.run_id, key)
    ]
    table = pd.DataFrame(rows, columns=["run", "key", "step", "value", "wall_time"])
    return table.sort_values(["run", "key", "step"], kind="stable", ignore_index=True)


def writer_waits(db: Path, reads: int) -> dict:
    """How long MLflow's log_batch calls take in another process, on a copy of *db*, while
    nothing reads it and while our reader reads it *reads* times (uncached). Seconds."""
    script = textwrap.dedent(
        """
        import json, sys, threading, time
        from mlflow import MlflowClient
        from mlflow.entities import Metric
        client = MlflowClient(tracking_uri=sys.argv[1])
        run = client.create_run(client.create_experiment("writer")).info.run_id
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
        print("ready", flush=True)
        calls, step = [], 0
        while not stop.is_set():
            start = time.time()
            batch = [Metric(k, float(step), int(start * 1000), step) for k in ("a", "b")]
            client.log_batch(run, metrics=batch)
            calls.append((start, time.time() - start))
            step += 1
            time.sleep(0.01)
        print(json.dumps(calls), flush=True)
        """
    )
    with tempfile.TemporaryDirectory(dir=db.parent.parent) as tmp:
        copy = Path(tmp) / "mlflow.db"
        shutil.copy(db, copy)
        writer = subprocess.Popen(
            [sys.executable, "-c", script, f"sqlite:///{copy}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(2.0)
        windows = []
        for _ in range(reads):
            start = time.time()
            mlflow_reader.read(copy, use_cache=False)
            windows.append((start, time.time()))
        time.sleep(1.0)
        out, _ = writer.communicate("stop\n", timeout=60)
    calls = json.loads(out.strip().splitlines()[-1])
    during = [d for t, d in calls if any(a - d <= t <= b for a, b in windows)]
    alone = [d for t, d in calls if t < windows[0][0] - 0.1]
    return {
        "reads": reads,
        "read_s": [round(b - a, 3) for a, b in windows],
        "log_batch_calls_alone": len(alone),
        "log_batch_alone_median_s": statistics.median(alone),
        "log_batch_alone_max_s": max(alone),
        "log_batch_calls_while_read": len(during),
        "log_batch_while_read_median_s": statistics.median(during) if during else None,
        "log_batch_while_read_max_s": max(during) if during else None,
    }


def clear_cache() -> None:
    for p in trackers.cache_dir(mlflow_reader.TRACKER).glob("*"):
        p.unlink()


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="first reads timed; medians reported")
    ap.add_argument("--quick", action="store_true", help="100 runs: a minute the first time")
    args = ap.parse_args()
    if args.quick:
        args.runs = 100
    name = f"mlflow_{args.runs}x{args.keys}x{args.steps}"
    db = STORES / name / "mlflow.db"
    if not db.exists():
        wrote, _ = timed(write_store, db, args.runs, args.keys, args.steps, seed=0)
        print(f"wrote {args.runs} runs x {args.keys} keys x {args.steps} steps in {wrote:.1f} s")
    firsts, cached = [], []
    for _ in range(args.repeat):
        clear_cache()
        seconds, data = timed(mlflow_reader.read, db)
        firsts.append(seconds)
        assert not data.from_cache
    for _ in range(5 * args.repeat):  # a cached read is short: more repeats for a steady median
        seconds, again = timed(mlflow_reader.read, db)
        cached.append(seconds)
        assert again.from_cache
    pd.testing.assert_frame_equal(again.scalars, data.scalars)
    pd.testing.assert_frame_equal(again.runs, data.runs)
    mlflow_s, ref = timed(mlflow_read, db)
    same = data.scalars.astype({"run": object, "key": object}).equals(ref)
    first, cache = statistics.median(firsts), statistics.median(cached)
    results = {
        "runs": len(data.runs),
        "keys": args.keys,
        "steps": args.steps,
        "scalars": len(data.scalars),
        "store_mb": round(db.stat().st_size / 2**20, 1),
        "cpus": multiprocessing.cpu_count(),
        "first_read_s": first,
        "first_reads_s": firsts,
        "cached_read_s": cache,
        "cached_reads_s": cached,
        "mlflow_client_s": mlflow_s,
        "same_values_as_mlflow": bool(same),
        "first_vs_mlflow": mlflow_s / first,
        "cached_vs_first": first / cache,
        "writer": writer_waits(db, reads=args.repeat),
        "warnings": data.warnings[:5],
    }
    print(json.dumps(results, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"bench_{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    if not same:
        raise SystemExit("MLflow's client and the reader disagree on the values read")


if __name__ == "__main__":
    main()
