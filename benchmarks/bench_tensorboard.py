"""Benchmark (not a test): reading TensorBoard logs of RUNS runs x TAGS tags x STEPS steps.

Measures, in one run on the same folder: our first read (empty cache; cache written), our cached
read, our first read in one and in two processes (each REPEAT times, interleaved; medians; the
reader uses two), tbparse's `SummaryReader` (its scalars and
tensors, the way it is documented), and our first read with every event parsed by protobuf one
at a time (the vectorised decoder off), to show what each part buys; then checks that tbparse
and we yield the same values, and the protobuf path too.
    python benchmarks/bench_tensorboard.py [--runs 1000] [--tags 5] [--steps 1000] [--quick]
The logs are written once to .cache/labbook/bench/tensorboard_<runs>x<tags>x<steps>/ and reused:
even runs by tensorboardX (simple_value scalars, hyperparameters through its hparams summaries in
the run's own file), odd runs by TensorBoard's own writer (tensor-encoded scalars; the
hyperparameters in a second event file, written by its event writer).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import time

import numpy as np
import pandas as pd

from labbook import paths
from labbook.sources import trackers
from labbook.sources.trackers import tensorboard

OUT = paths.ROOT / "benchmarks" / "results"
REPEAT = 3  # each of our reads, interleaved; medians reported
TAG_NAMES = ("loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr", "grad_norm")


def write_run(folder: str, index: int, tags: int, steps: int) -> None:
    """One run of the benchmark logs (values from a generator seeded by *index*)."""
    rng = np.random.default_rng(index)
    names = [TAG_NAMES[k] if k < len(TAG_NAMES) else f"metric_{k}" for k in range(tags)]
    values = rng.normal(size=(steps, tags)).astype(np.float32)
    wall = 1.7e9 + index * 10_000 + np.arange(steps) * 0.5
    hparams = {"lr": float(10.0 ** -rng.integers(2, 5)), "optimizer": ["adam", "sgd"][index % 2]}
    if index % 2 == 0:
        from tensorboardX import SummaryWriter
        from tensorboardX.summary import hparams as hparams_summaries

        with SummaryWriter(folder, flush_secs=3600, max_queue=100_000) as w:
            for summary in hparams_summaries(hparams, {}):
                w.file_writer.add_summary(summary, walltime=float(wall[0]) - 1)
            for s in range(steps):
                for k, name in enumerate(names):
                    w.add_scalar(name, values[s, k], s, walltime=float(wall[s]))
        return
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb
    from tensorboard.summary import Writer
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    w = Writer(folder)
    for s in range(steps):
        for k, name in enumerate(names):
            w.add_scalar(name, values[s, k], s, wall_time=float(wall[s]))
    w.close()
    ev = EventFileWriter(folder, filename_suffix=".hparams")
    ev.add_event(event_pb2.Event(wall_time=float(wall[-1]), summary=hparams_pb(hparams)))
    ev.close()


def _write_one(args) -> None:
    write_run(*args)


def write_store(folder, runs: int, tags: int, steps: int) -> float:
    """Write the logs once (two processes); a folder without its .complete mark is rewritten."""
    if (folder / ".complete").exists():
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    jobs = [(str(folder / f"run_{i:04d}"), i, tags, steps) for i in range(runs)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_write_one, jobs, chunksize=4)
    (folder / ".complete").write_text("")
    return time.perf_counter() - t


def tbparse_read(folder) -> pd.DataFrame:
    """tbparse's reading of the same folder: scalars and tensors, with run folder and wall time;
    as (run, key, step, value, wall_time) sorted like ours."""
    from tbparse import SummaryReader

    reader = SummaryReader(str(folder), extra_columns={"dir_name", "wall_time"})
    frames = [reader.scalars, reader.tensors]
    both = pd.concat([f for f in frames if len(f)], ignore_index=True)
    both = both.rename(columns={"dir_name": "run", "tag": "key"})
    both["value"] = both["value"].astype(np.float64)
    both = both.sort_values(["run", "key", "step"], kind="stable", ignore_index=True)
    return both[["run", "key", "step", "value", "wall_time"]]


def clear_cache() -> None:
    for p in trackers.cache_dir(tensorboard.TRACKER).glob("*"):
        p.unlink()


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--tags", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="100 runs: well under a minute")
    args = ap.parse_args()
    if args.quick:
        args.runs = 100
    name = f"tensorboard_{args.runs}x{args.tags}x{args.steps}"
    folder = paths.CACHE / "bench" / name
    wrote = write_store(folder, args.runs, args.tags, args.steps)
    if wrote:
        print(f"wrote {args.runs} runs x {args.tags} tags x {args.steps} steps in {wrote:.1f} s")
    firsts, cacheds, processes = [], [], {1: [], 2: []}
    shipped = tensorboard.workers
    for _ in range(REPEAT):  # interleaved, so a busy machine weighs on each alike
        clear_cache()
        t, data = timed(tensorboard.read, folder)
        firsts.append(t)
        t, again = timed(tensorboard.read, folder)
        cacheds.append(t)
        assert again.from_cache and not data.from_cache
        pd.testing.assert_frame_equal(again.scalars, data.scalars)
        pd.testing.assert_frame_equal(again.runs, data.runs)
        for count, times in processes.items():
            clear_cache()
            tensorboard.workers = lambda count=count: count
            times.append(timed(tensorboard.read, folder)[0])
        tensorboard.workers = shipped
    tbparse_s, ref = timed(tbparse_read, folder)
    ours = data.scalars.astype({"run": str, "key": str})
    same = ours.equals(ref)
    tensorboard.decode_fast, tensorboard.workers = _nothing_fast, lambda: 1
    protobuf_loop, slow = timed(tensorboard.read, folder, use_cache=False)
    tensorboard.decode_fast, tensorboard.workers = _original_decode_fast, shipped
    assert slow.scalars.equals(data.scalars), "the protobuf path reads other values"
    first, cached = float(np.median(firsts)), float(np.median(cacheds))
    results = {
        "runs": len(data.runs),
        "tags": args.tags,
        "steps": args.steps,
        "scalars": len(data.scalars),
        "store_mb": round(sum(p.stat().st_size for p in folder.rglob("events*")) / 2**20, 1),
        "cpus": multiprocessing.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "repeats": REPEAT,
        "first_read_s": first,
        "first_read_all_s": firsts,
        "cached_read_s": cached,
        "cached_read_all_s": cacheds,
        "first_read_one_process_s": float(np.median(processes[1])),
        "first_read_one_process_all_s": processes[1],
        "first_read_two_processes_s": float(np.median(processes[2])),
        "first_read_two_processes_all_s": processes[2],
        "tbparse_s": tbparse_s,
        "protobuf_loop_one_process_s": protobuf_loop,
        "same_values_as_tbparse": bool(same),
        "first_vs_tbparse": tbparse_s / first,
        "cached_vs_first": first / cached,
        "warnings": data.warnings[:5],
    }
    print(json.dumps(results, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"bench_{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    if not same:
        raise SystemExit("tbparse and the reader disagree on the values read")


def _nothing_fast(buf, start, end):
    """decode_fast with every record left to protobuf."""
    fast = _original_decode_fast(buf, start, end)
    fast.ok[:] = False
    return fast


_original_decode_fast = tensorboard.decode_fast

if __name__ == "__main__":
    main()
