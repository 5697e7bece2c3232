"""Benchmark (not a test): rliable vs. labbook.stats on 7 methods x (10 runs x 20 tasks).

Four aggregates (median, IQM, mean, optimality gap) at 50,000 replicates and probability of
improvement for all 42 ordered pairs at 2,000 replicates, both engines in one run, the intervals
compared for bit-identity (labbook in legacy mode replays rliable's random stream).
    python benchmarks/bench_stats.py [--agg-reps 50000] [--poi-reps 2000]
Takes ~10 minutes here, nearly all of it rliable's probability of improvement.
"""

import argparse
import json
import time

import numpy as np
from rliable import library as rly
from rliable import metrics

from labbook import paths, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agg-reps", type=int, default=50_000)
    ap.add_argument("--poi-reps", type=int, default=2_000)
    ap.add_argument(
        "--skip-poi",
        action="store_true",
        help="time only the aggregates (rliable's PoI takes ~15 min)",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    scores = {f"method{i}": rng.random((10, 20)) * (0.6 + 0.05 * i) for i in range(7)}

    def agg(x):
        return np.array(
            [
                metrics.aggregate_median(x),
                metrics.aggregate_iqm(x),
                metrics.aggregate_mean(x),
                metrics.aggregate_optimality_gap(x),
            ]
        )

    out = {}

    t = time.perf_counter()
    np.random.seed(42)
    _, r_ci = rly.get_interval_estimates(scores, agg, reps=args.agg_reps)
    out["rliable_aggregates_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _, l_ci = stats.interval_estimates(scores, reps=args.agg_reps, seed=42, legacy=True)
    out["labbook_aggregates_s"] = time.perf_counter() - t
    out["aggregates_identical"] = all(np.array_equal(r_ci[k], l_ci[k]) for k in scores)

    pairs = stats.all_pairs(scores)
    if args.skip_poi:
        out["aggregates_speedup"] = out["rliable_aggregates_s"] / out["labbook_aggregates_s"]
        print(json.dumps(out, indent=2))
        return
    t = time.perf_counter()
    np.random.seed(7)
    _, r_p = rly.get_interval_estimates(
        pairs, metrics.probability_of_improvement, reps=args.poi_reps
    )
    out["rliable_poi_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _, l_p = stats.probability_of_improvement_ci(pairs, reps=args.poi_reps, seed=7, legacy=True)
    out["labbook_poi_s"] = time.perf_counter() - t
    out["poi_identical"] = all(np.array_equal(np.ravel(r_p[k]), l_p[k]) for k in pairs)

    out["aggregates_speedup"] = out["rliable_aggregates_s"] / out["labbook_aggregates_s"]
    out["poi_speedup"] = out["rliable_poi_s"] / out["labbook_poi_s"]
    out.update(agg_reps=args.agg_reps, poi_reps=args.poi_reps, pairs=len(pairs))
    print(json.dumps(out, indent=2))
    (paths.ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (paths.ROOT / "benchmarks" / "results" / "stats.json").write_text(
        json.dumps(out, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
