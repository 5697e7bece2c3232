"""Statistics: pure functions, vectorized with numpy, every random draw seeded.

Score matrices follow rliable's contract: ``scores`` is ``array(runs, tasks)`` and a score dict is
``{method: array(runs, tasks)}``. Bootstrap functions take ``seed`` (an int or a
``numpy.random.Generator``) and give bit-identical output for the same seed. With ``legacy=True``
(int seed) they draw ``RandomState(seed).randint(0, N, (reps, N, M))`` — the stream rliable consumes
after ``np.random.seed(seed)`` — and reproduce rliable's intervals exactly, 20–700x faster.
"""

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.stats

SeedLike = int | np.random.Generator
_CHUNK_ELEMENTS = 1_000_000  # resampled values per chunk: 8 MB arrays, fastest here of 40k-4M


# ---------------------------------------------------------------- checks


class ScoreError(ValueError):
    """A score matrix unfit for the statistic asked of it."""


def check_scores(scores, name: str = "scores", min_runs: int = 2) -> np.ndarray:
    """*scores* as a float array(runs, tasks); ScoreError for empty, NaN, wrong rank,
    too few runs."""
    arr = np.asarray(scores, dtype=float)
    if arr.ndim == 1:
        raise ScoreError(
            f"{name}: expected array(runs, tasks), got a 1-D array; use x[:, None] for one task"
        )
    if arr.ndim != 2:
        raise ScoreError(f"{name}: expected array(runs, tasks), got {arr.ndim} dimensions")
    if arr.size == 0:
        raise ScoreError(f"{name}: empty score matrix {arr.shape}")
    if np.isnan(arr).any():
        rows, cols = np.nonzero(np.isnan(arr))
        raise ScoreError(
            f"{name}: NaN score at run {rows[0]}, task {cols[0]} ({len(rows)} NaN in all)"
        )
    if arr.shape[0] < min_runs:
        raise ScoreError(
            f"{name}: {arr.shape[0]} run(s); a bootstrap interval needs at least {min_runs}"
        )
    return arr


def _check_dict(score_dict: Mapping[str, np.ndarray], min_runs: int = 2) -> dict[str, np.ndarray]:
    if not score_dict:
        raise ScoreError("score dict is empty")
    out = {k: check_scores(v, f"scores[{k!r}]", min_runs) for k, v in score_dict.items()}
    tasks = {k: v.shape[1] for k, v in out.items()}
    if len(set(tasks.values())) > 1:
        raise ScoreError(f"every method needs the same number of tasks; got {tasks}")
    return out


# ---------------------------------------------------------------- aggregates
# Each takes array(..., runs, tasks) and reduces the last two axes, so one call evaluates a whole
# stack of bootstrap replicates array(reps, runs, tasks) -> array(reps).


def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    """Mean over tasks of the per-task mean over runs. array(..., N, M) -> array(...)."""
    return np.mean(np.mean(scores, axis=-2), axis=-1)


def aggregate_median(scores: np.ndarray) -> np.ndarray:
    """Median over tasks of the per-task mean over runs. array(..., N, M) -> array(...)."""
    return np.median(np.mean(scores, axis=-2), axis=-1)


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean: 25% trimmed mean of all N*M scores pooled. array(..., N, M) ->
    array(...)."""
    flat = scores.reshape(*scores.shape[:-2], -1)
    return scipy.stats.trim_mean(flat, proportiontocut=0.25, axis=-1)


def aggregate_optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """gamma minus the mean of scores clipped at gamma (lower is better). array(..., N, M) ->
    array(...)."""
    flat = np.minimum(scores, gamma).reshape(*scores.shape[:-2], -1)
    return gamma - np.mean(flat, axis=-1)


AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "median": aggregate_median,
    "iqm": aggregate_iqm,
    "mean": aggregate_mean,
    "optimality_gap": aggregate_optimality_gap,
}
AGGREGATE_LABELS = {
    "median": "Median",
    "iqm": "IQM",
    "mean": "Mean",
    "optimality_gap": "Optimality Gap",
}


def redundant_aggregates(
    score_dict: Mapping[str, np.ndarray], metrics: Sequence[str]
) -> dict[str, str]:
    """Aggregates in *metrics* that equal the mean for these score shapes, with the reason.

    The median over tasks of per-task means is the mean when there is one task; the IQM (25%
    trimmed mean) trims nothing from fewer than 4 pooled scores. score_dict: {method: array(runs,
    tasks)}. Returns {metric: reason} for the metrics a report should not show beside the mean."""
    shapes = [np.shape(v) for v in score_dict.values()]
    out = {}
    if "mean" in metrics and "median" in metrics and all(s[1] == 1 for s in shapes):
        out["median"] = "with one task the median of the per-task means is the mean"
    if "mean" in metrics and "iqm" in metrics and all(int(0.25 * s[0] * s[1]) == 0 for s in shapes):
        out["iqm"] = (
            "a 25% trimmed mean of fewer than 4 scores trims nothing, so the IQM is the mean"
        )
    return out


# ---------------------------------------------------------------- resampling


def _percentiles(confidence: float) -> list[float]:
    # Same arithmetic as arch's conf_int (rliable's backend), so legacy intervals match bit for bit.
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    alpha = (1.0 - confidence) / 2
    return [100 * alpha, 100 * (1.0 - alpha)]


def _chunks(reps: int, per_rep: int) -> list[int]:
    size = max(1, _CHUNK_ELEMENTS // max(per_rep, 1))
    return [min(size, reps - start) for start in range(0, reps, size)]


class _Indexer:
    """Draws bootstrap run indices array(chunk, N, M) (and task indices) from a seeded stream."""

    def __init__(self, seed: SeedLike, legacy: bool):
        if legacy:
            if not isinstance(seed, (int, np.integer)):
                raise TypeError("legacy=True needs an int seed (it replays np.random.seed(seed))")
            self.rs = np.random.RandomState(int(seed))
            self.draw = self.rs.randint
        else:
            self.rs = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            self.draw = self.rs.integers
        self.legacy = legacy

    def runs(self, n: int, shape: tuple[int, ...]) -> np.ndarray:
        return self.draw(0, n, shape)


def _resample_runs(scores: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """scores array(N, M), idx array(B, N, M) -> array(B, N, M): column m resampled
    within task m."""
    return scores[idx, np.arange(scores.shape[1])]


def bootstrap_distribution(
    scores: np.ndarray,
    func: Callable[[np.ndarray], np.ndarray],
    reps: int,
    indexer: "_Indexer",
    task_bootstrap: bool = False,
) -> np.ndarray:
    """func over *reps* stratified-bootstrap replicates of scores array(N, M) -> array(reps, K).

    Runs are resampled with replacement independently within each task column; with
    *task_bootstrap* the task columns are resampled too (rliable's semantics: one draw of
    array(1, M) task indices per replicate, after that replicate's run indices).
    """
    n, m = scores.shape
    out = []
    if task_bootstrap:
        if indexer.legacy:  # rliable interleaves run and task draws per replicate
            for _ in range(reps):
                idx = indexer.runs(n, (n, m))
                tidx = indexer.runs(m, (1, m))
                out.append(np.atleast_1d(func(scores[idx, tidx])))
            return np.asarray(out).reshape(reps, -1)
        for chunk in _chunks(reps, n * m):
            idx = indexer.runs(n, (chunk, n, m))
            tidx = indexer.runs(m, (chunk, 1, m))
            out.append(_as_2d(func(scores[idx, tidx]), chunk))
        return np.concatenate(out)
    for chunk in _chunks(reps, n * m):
        idx = indexer.runs(n, (chunk, n, m))
        out.append(_as_2d(func(_resample_runs(scores, idx)), chunk))
    return np.concatenate(out)


def _as_2d(values: np.ndarray, chunk: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values.reshape(chunk, -1)


def _stack(funcs: Sequence[Callable]) -> Callable[[np.ndarray], np.ndarray]:
    """Several aggregates evaluated on the same replicates: array(..., N, M) -> array(..., K)."""
    return lambda s: np.stack([np.asarray(f(s), dtype=float) for f in funcs], axis=-1)


# ---------------------------------------------------------------- interval estimates


def interval_estimates(
    score_dict: Mapping[str, np.ndarray],
    metrics: Sequence[str] = tuple(AGGREGATES),
    reps: int = 50_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    legacy: bool = False,
    task_bootstrap: bool = False,
    gamma: float = 1.0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates and percentile bootstrap CIs of aggregate metrics, per method.

    score_dict: {method: array(runs, tasks)}; metrics: names from AGGREGATES.
    Returns (points {method: array(K)}, intervals {method: array(2, K)}), rows lower/upper, as
    rliable.library.get_interval_estimates returns them. One random stream is consumed method
    after method in dict order (as rliable does after np.random.seed(seed) when legacy=True).
    """
    scores = _check_dict(score_dict)
    unknown = [m for m in metrics if m not in AGGREGATES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(AGGREGATES)}")
    funcs = [
        (lambda s: aggregate_optimality_gap(s, gamma)) if m == "optimality_gap" else AGGREGATES[m]
        for m in metrics
    ]
    func = _stack(funcs)
    indexer = _Indexer(seed, legacy)
    q = _percentiles(confidence)
    points, intervals = {}, {}
    for method, s in scores.items():
        points[method] = func(s)
        dist = bootstrap_distribution(s, func, reps, indexer, task_bootstrap)
        intervals[method] = np.percentile(dist, q, axis=0)
    return points, intervals


def estimates_frame(
    points: Mapping[str, np.ndarray], intervals: Mapping[str, np.ndarray], metrics: Sequence[str]
) -> pd.DataFrame:
    """Tidy table of interval_estimates output: method, metric, estimate, lower, upper."""
    rows = [
        {
            "method": meth,
            "metric": met,
            "estimate": float(points[meth][k]),
            "lower": float(intervals[meth][0, k]),
            "upper": float(intervals[meth][1, k]),
        }
        for meth in points
        for k, met in enumerate(metrics)
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "estimate", "lower", "upper"])


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of a 1-D sample and its Student-t confidence interval: (mean, lower, upper).

    The t-interval keeps its nominal coverage at any n for normal data (tests/test_stats.py
    simulates n = 3, 5, 10); a percentile bootstrap of the mean under-covers at few seeds (about
    80% for a nominal 95% at n = 3), so it is not used for means over seeds. A sample of one value
    returns (value, nan, nan): there is no interval to give. A constant sample gives a zero-width
    interval.
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ScoreError(f"mean_ci needs finite values, got {values!r}")
    _percentiles(confidence)  # checks the level
    if x.size == 1:
        return float(x[0]), float("nan"), float("nan")
    half = _t_half_width(x.std(ddof=1), x.size, confidence)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def _t_half_width(sd, n, confidence: float):
    """Half width of a t-interval for a mean: t(1 - alpha/2, n - 1) * sd / sqrt(n)."""
    return scipy.stats.t.ppf(0.5 + confidence / 2, n - 1) * np.asarray(sd) / np.sqrt(n)


def sample_std(values) -> float:
    """Sample standard deviation (ddof = 1), the one used for every spread over seeds or runs;
    NaN for fewer than two values."""
    x = np.asarray(values, dtype=float).ravel()
    return float(x.std(ddof=1)) if x.size > 1 else float("nan")


def curve_band(
    curves, band: str = "ci", confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean curve across runs and a band around it: (mean, lower, upper), each array(points).

    curves: array(runs, points), e.g. accuracy per seed x epoch. band "std": mean -/+ one sample
    standard deviation (ddof = 1); "ci": the t-interval of the mean at each point (see mean_ci).
    One run gives a zero-width band.
    """
    c = np.asarray(curves, dtype=float)
    if c.ndim != 2 or c.size == 0 or np.isnan(c).any():
        raise ScoreError(f"curves must be a finite array(runs, points), got shape {c.shape}")
    if band not in ("std", "ci"):
        raise ValueError(f"band must be 'std' or 'ci', got {band!r}")
    mean = c.mean(axis=0)
    if c.shape[0] == 1:
        return mean, mean.copy(), mean.copy()
    sd = c.std(axis=0, ddof=1)
    half = sd if band == "std" else _t_half_width(sd, c.shape[0], confidence)
    return mean, mean - half, mean + half


# ---------------------------------------------------------------- comparing methods


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control over all the tests given)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def compare(
    samples: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[str, str]] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Pairwise evidence for method differences, the claim policy's input.

    samples: {method: 1-D scores, one per run or seed}. pairs: (X, Y) to compare (default: every
    unordered pair, in dict order). For each pair: n_x, n_y, mean_x, mean_y, diff = mean_x - mean_y,
    its Welch t-interval (diff_lower, diff_upper), Welch's two-sided p, and p_holm, adjusted over
    all the pairs given. `separated` is p_holm < 1 - confidence. A pair where either side has one
    run has no test (p NaN, separated False). Identical constant samples give p = 1.
    """
    names = list(samples)
    pairs = (
        list(pairs)
        if pairs is not None
        else [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    )
    rows = []
    for x, y in pairs:
        a = np.asarray(samples[x], dtype=float).ravel()
        b = np.asarray(samples[y], dtype=float).ravel()
        row = {
            "x": x,
            "y": y,
            "n_x": a.size,
            "n_y": b.size,
            "mean_x": float(a.mean()),
            "mean_y": float(b.mean()),
            "diff": float(a.mean() - b.mean()),
            "diff_lower": np.nan,
            "diff_upper": np.nan,
            "p": np.nan,
        }
        if a.size > 1 and b.size > 1:
            va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
            se = np.sqrt(va + vb)
            if se == 0:
                row.update(
                    diff_lower=row["diff"],
                    diff_upper=row["diff"],
                    p=1.0 if row["diff"] == 0 else 0.0,
                )
            else:
                df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
                t = scipy.stats.t.ppf(0.5 + confidence / 2, df)
                row.update(
                    diff_lower=row["diff"] - t * se,
                    diff_upper=row["diff"] + t * se,
                    p=float(2 * scipy.stats.t.sf(abs(row["diff"]) / se, df)),
                )
        rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            "x",
            "y",
            "n_x",
            "n_y",
            "mean_x",
            "mean_y",
            "diff",
            "diff_lower",
            "diff_upper",
            "p",
        ],
    )
    tested = out["p"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = holm(out.loc[tested, "p"].to_numpy())
    out["separated"] = out["p_holm"] < (1 - confidence)
    return out


def log_compare(
    samples: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[str, str]] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Pairwise evidence for positive quantities compared as ratios (times, latencies): `compare`
    on their natural logarithms, so one slow outlier does not dominate as it dominates a mean.

    samples: {name: 1-D positive values, one per run (or per epoch, where that is the unit)}.
    Returns compare's columns on the log scale (mean_x, mean_y: the means of the logs; diff and
    its interval: their difference), plus median_x, median_y
    (the medians of the values), ratio = exp(diff), the ratio of the geometric means x / y, and
    its interval ratio_lower, ratio_upper (exp of the Welch t-interval of the log difference).
    ScoreError naming the sample for a value that is not finite and positive."""
    logs = {}
    for name, v in samples.items():
        x = np.asarray(v, dtype=float).ravel()
        if x.size == 0 or not (np.isfinite(x) & (x > 0)).all():
            raise ScoreError(
                f"{name}: times must be finite and positive to compare on logs, got {x}"
            )
        logs[name] = np.log(x)
    out = compare(logs, pairs, confidence)
    out.insert(6, "median_x", [float(np.median(samples[x])) for x in out["x"]])
    out.insert(7, "median_y", [float(np.median(samples[y])) for y in out["y"]])
    out["ratio"] = np.exp(out["diff"])
    out["ratio_lower"] = np.exp(out["diff_lower"])
    out["ratio_upper"] = np.exp(out["diff_upper"])
    return out


def median_spread(values, spread: str = "iqr") -> tuple[float, float, float]:
    """The median of a 1-D sample and its spread: (median, low, high), low and high the 25th and
    75th percentiles (*spread* "iqr") or the 10th and 90th ("p10-p90"), linear interpolation.
    The way a time is shown: a few slow repeats move a mean, not a median. ScoreError for an
    empty or non-finite sample."""
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ScoreError(f"median_spread needs finite values, got {values!r}")
    q = {"iqr": (25, 75), "p10-p90": (10, 90)}.get(spread)
    if q is None:
        raise ValueError(f"spread must be 'iqr' or 'p10-p90', got {spread!r}")
    lo, med, hi = np.percentile(x, [q[0], 50, q[1]])
    return float(med), float(lo), float(hi)


def pair_row(evidence: pd.DataFrame, a: str, b: str) -> pd.Series:
    """The row of a `compare` table for the pair {a, b}, whichever of them was X (p and p_holm do
    not depend on the order; diff does). KeyError naming the pair when it was not compared."""
    hit = evidence[
        ((evidence["x"] == a) & (evidence["y"] == b))
        | ((evidence["x"] == b) & (evidence["y"] == a))
    ]
    if hit.empty:
        raise KeyError(f"the pair ({a!r}, {b!r}) was not compared")
    return hit.iloc[0]


# ---------------------------------------------------------------- probability of improvement


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) per Mann–Whitney, ties counted 1/2, averaged over tasks.

    x: array(..., Nx, M), y: array(..., Ny, M) -> array(...). Equals rliable's
    metrics.probability_of_improvement for 2-D inputs.
    """
    xs = x[..., :, None, :]
    ys = y[..., None, :, :]
    wins = np.sum(xs > ys, axis=(-3, -2)) + 0.5 * np.sum(xs == ys, axis=(-3, -2))  # (..., M)
    per_task = wins / (x.shape[-2] * y.shape[-2])
    return np.mean(per_task, axis=-1)


def probability_of_improvement_ci(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    reps: int = 2_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    legacy: bool = False,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """P(X > Y) and its bootstrap CI for each named pair (X, Y), x and y resampled independently.

    pairs: {name: (array(Nx, M), array(Ny, M))}; run counts may differ, task counts may not.
    Returns ({name: estimate}, {name: array(2) lower, upper}), as rliable's get_interval_estimates
    does for metrics.probability_of_improvement; one stream consumed pair after pair. A pair that
    is the reverse of one already computed (the same two arrays swapped) is its mirror image,
    P(Y > X) = 1 - P(X > Y) with the interval [1 - upper, 1 - lower], from the same replicates —
    half the work for all_pairs; with legacy=True (rliable's draws) every pair is drawn anew.
    """
    if not pairs:
        raise ScoreError("no pairs given")
    indexer = _Indexer(seed, legacy)
    q = _percentiles(confidence)
    points, intervals = {}, {}
    done: dict[tuple[int, int], str] = {}
    for name, (x, y) in pairs.items():
        mirror = done.get((id(y), id(x)))
        if mirror is not None and not legacy:
            points[name] = 1.0 - points[mirror]
            intervals[name] = 1.0 - intervals[mirror][::-1]
            continue
        done[(id(x), id(y))] = name
        x = check_scores(x, f"{name}: x")
        y = check_scores(y, f"{name}: y")
        if x.shape[1] != y.shape[1]:
            raise ScoreError(f"{name}: x has {x.shape[1]} tasks, y has {y.shape[1]}")
        (nx, m), ny = x.shape, y.shape[0]
        points[name] = float(probability_of_improvement(x, y))
        dist = []
        for chunk in _chunks(reps, (nx * ny + nx + ny) * m):
            if nx == ny:  # one draw of (chunk, 2, N, M) is the x-then-y stream of each replicate
                both = indexer.runs(nx, (chunk, 2, nx, m))
                ix, iy = both[:, 0], both[:, 1]
            elif indexer.legacy:  # unequal run counts: replay rliable's per-replicate interleaving
                draws = [
                    (indexer.runs(nx, (nx, m)), indexer.runs(ny, (ny, m))) for _ in range(chunk)
                ]
                ix = np.stack([d[0] for d in draws])
                iy = np.stack([d[1] for d in draws])
            else:
                ix = indexer.runs(nx, (chunk, nx, m))
                iy = indexer.runs(ny, (chunk, ny, m))
            dist.append(probability_of_improvement(_resample_runs(x, ix), _resample_runs(y, iy)))
        intervals[name] = np.percentile(np.concatenate(dist), q)
    return points, intervals


def all_pairs(
    score_dict: Mapping[str, np.ndarray], reference: str | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Ordered pairs "X:Y" for P(X > Y): every X against every other Y, or one *reference* X."""
    names = list(score_dict)
    xs = [reference] if reference is not None else names
    return {f"{a}:{b}": (score_dict[a], score_dict[b]) for a in xs for b in names if a != b}


def improvement_frame(
    probs: Mapping[str, float], intervals: Mapping[str, np.ndarray], separator: str = ":"
) -> pd.DataFrame:
    """Tidy table of probability_of_improvement_ci output: X, Y, P(X > Y), CI low, CI high."""
    rows = [
        {
            "X": k.split(separator, 1)[0],
            "Y": k.split(separator, 1)[1],
            "P(X > Y)": float(probs[k]),
            "CI low": float(intervals[k][0]),
            "CI high": float(intervals[k][1]),
        }
        for k in probs
    ]
    return pd.DataFrame(rows, columns=["X", "Y", "P(X > Y)", "CI low", "CI high"])


# ---------------------------------------------------------------- performance profiles


def score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all runs x tasks with score > tau, per tau. array(..., N, M), array(T) ->
    array(..., T)."""
    taus = np.asarray(taus, dtype=float)
    flat = scores.reshape(*scores.shape[:-2], -1)
    return np.mean(flat[..., :, None] > taus, axis=-2)


def performance_profiles(
    score_dict: Mapping[str, np.ndarray],
    taus,
    reps: int = 2_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    legacy: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions with bootstrap CIs: ({method: array(T)}, {method: array(2, T)})."""
    scores = _check_dict(score_dict)
    taus = np.asarray(taus, dtype=float)
    indexer = _Indexer(seed, legacy)
    q = _percentiles(confidence)
    profiles, cis = {}, {}
    for method, s in scores.items():
        profiles[method] = score_distribution(s, taus)
        dist = bootstrap_distribution(s, lambda r: score_distribution(r, taus), reps, indexer)
        cis[method] = np.percentile(dist, q, axis=0)
    return profiles, cis


# ---------------------------------------------------------------- descriptive statistics


def ema(values: pd.Series, alpha: float) -> pd.Series:
    """Exponential moving average s_0 = x_0, s_t = alpha*x_t + (1-alpha)*s_{t-1}, NaNs dropped
    first.

    values: a Series (index kept, NaN entries removed); alpha in (0, 1]. Same as the seed's loop.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"EMA alpha must be in (0, 1], got {alpha}")
    return values.dropna().ewm(alpha=alpha, adjust=False).mean()


def ema_rows(values, alpha: float) -> np.ndarray:
    """stats.ema applied to every row of array(rows, points) at once: NaN entries are skipped (the
    average carries over them) and stay NaN in the output. Same numbers as ema per row."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"EMA alpha must be in (0, 1], got {alpha}")
    x = np.asarray(values, dtype=float)
    out = np.full_like(x, np.nan)
    state = np.full(x.shape[:-1], np.nan)
    for t in range(x.shape[-1]):
        xt = x[..., t]
        have = np.isfinite(xt)
        state = np.where(
            have, np.where(np.isnan(state), xt, alpha * xt + (1 - alpha) * state), state
        )
        out[..., t] = np.where(have, state, np.nan)
    return out


def normalized_entropy(counts) -> float:
    """Shannon entropy (base 2) of the non-zero entries of *counts*, divided by log2 of their count.

    1.0 = perfectly even use of the experts that were used at all; 0.0 = very uneven. Zeros are
    dropped first (the seed's definition), so inactive experts do not lower the score: measure
    them with the count of active experts instead. One active expert (or none) gives 0.0 — there is
    no choice to be even about. counts: 1-D non-negative numbers (e.g. activations per expert).
    """
    c = np.asarray(counts, dtype=float).ravel()
    if (c < 0).any() or np.isnan(c).any():
        raise ValueError(f"counts must be non-negative numbers, got {counts!r}")
    nz = c[c > 0]
    if nz.size <= 1:
        return 0.0
    return float(scipy.stats.entropy(nz / nz.sum(), base=2) / np.log2(nz.size))


STRENGTH_BOUNDS = ((0.1, "negligible"), (0.3, "weak"), (0.5, "moderate"), (0.7, "strong"))


def correlation_strength(r: float) -> str:
    """Word for |r|: <0.1 negligible, <0.3 weak, <0.5 moderate, <0.7 strong, else very strong."""
    a = abs(float(r))
    for bound, word in STRENGTH_BOUNDS:
        if a < bound:
            return word
    return "very strong"


def correlation(x, y) -> dict:
    """Pearson and Spearman correlation of two equal-length samples, p-values and strength words."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"correlation needs at least 3 points, got {x.size}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("correlation is undefined when x or y is constant")
    pr, pp = scipy.stats.pearsonr(x, y)
    sr, sp = scipy.stats.spearmanr(x, y)
    return {
        "n": int(x.size),
        "pearson_r": float(pr),
        "pearson_p": float(pp),
        "pearson_strength": correlation_strength(pr),
        "spearman_r": float(sr),
        "spearman_p": float(sp),
        "spearman_strength": correlation_strength(sr),
    }


def correlation_ci(
    x, y, groups=None, reps: int = 2_000, confidence: float = 0.95, seed: SeedLike = 0
) -> dict:
    """Spearman and Pearson correlation of x and y with percentile bootstrap CIs, pooled and, when
    *groups* are given, within groups (each variable centred on its group mean before Pearson, and
    ranked within its group before Spearman, so between-group differences do not count).

    x, y: 1-D, equal length; groups: labels of the same length (e.g. the MoE type of each run).
    Pairs are resampled with replacement within each group (stratified). Returns n, and for
    "pooled" (and "within"): spearman, spearman_lower/upper, pearson, pearson_lower/upper.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError(f"x and y must be 1-D of equal length >= 3, got {x.shape} and {y.shape}")
    g = np.zeros(x.size, dtype=int) if groups is None else pd.factorize(np.asarray(groups))[0]
    members = [np.flatnonzero(g == k) for k in range(g.max() + 1)]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = np.concatenate(
        [m[rng.integers(0, m.size, (reps, m.size))] for m in members], axis=1
    )  # (reps, n)

    def within(v, gi):  # centred on group means (rows of v are replicates)
        out = np.array(v, dtype=float, copy=True)
        for k in np.unique(gi):
            sel = gi == k
            out[..., sel] -= out[..., sel].mean(axis=-1, keepdims=True)
        return out

    def ranks(v, gi=None):
        if gi is None:
            return scipy.stats.rankdata(v, axis=-1)
        out = np.empty_like(v, dtype=float)
        for k in np.unique(gi):
            sel = gi == k
            out[..., sel] = scipy.stats.rankdata(v[..., sel], axis=-1)
        return out

    def pearson(a, b):
        a = a - a.mean(axis=-1, keepdims=True)
        b = b - b.mean(axis=-1, keepdims=True)
        den = np.sqrt((a**2).sum(axis=-1) * (b**2).sum(axis=-1))
        return np.divide((a * b).sum(axis=-1), den, out=np.full(den.shape, np.nan), where=den > 0)

    q = _percentiles(confidence)
    # idx keeps the group blocks in place: the group of each column is fixed
    xs, ys, gs = x[idx], y[idx], g[idx[0]]
    out = {"n": int(x.size), "groups": len(members)}
    variants = {"pooled": (lambda v, gi: v, lambda v, gi: ranks(v))}
    if groups is not None:
        variants["within"] = (within, lambda v, gi: within(ranks(v, gi), gi))
    for label, (centre, rank) in variants.items():
        gi = g
        point_p = pearson(centre(x, gi), centre(y, gi))
        point_s = pearson(rank(x, gi), rank(y, gi))
        boot_p = pearson(centre(xs, gs), centre(ys, gs))
        boot_s = pearson(rank(xs, gs), rank(ys, gs))
        out[label] = {"pearson": float(point_p), "spearman": float(point_s)}
        for name, dist in (("pearson", boot_p), ("spearman", boot_s)):
            lo, hi = np.nanpercentile(dist, q)
            out[label][f"{name}_lower"], out[label][f"{name}_upper"] = float(lo), float(hi)
    return out


def supported_strength(lower: float, upper: float) -> str:
    """The strength word an interval for a correlation supports: "no clear" when it includes 0,
    else the word for the bound nearer 0 (a CI of 0.35-0.80 supports "moderate", not "strong")."""
    if lower <= 0 <= upper:
        return "no clear"
    return correlation_strength(min(abs(lower), abs(upper)))


def pareto_front(points, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of points array(n, k).

    maximize[j] says whether objective j is better larger (True) or smaller (False). A row is
    dominated when another row is at least as good in every objective and better in one. Rows
    with NaN are never on the front. Duplicated optimal rows are all kept.
    """
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(maximize):
        raise ValueError(f"points must be array(n, {len(maximize)}), got shape {p.shape}")
    signed = np.where(np.asarray(maximize, dtype=bool), p, -p)  # larger is better in every column
    valid = ~np.isnan(signed).any(axis=1)
    geq = (signed[:, None, :] >= signed[None, :, :]).all(axis=2)
    gt = (signed[:, None, :] > signed[None, :, :]).any(axis=2)
    dominated_by = geq & gt & valid[:, None]  # [i, j]: row i dominates row j
    return valid & ~dominated_by.any(axis=0)


def linear_trend(x, y, confidence: float = 0.95) -> dict:
    """Least-squares slope of y on x with its t-interval: slope, lower, upper,
    intercept, r, p, n."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if np.ptp(y) == 0:  # a constant: no slope, and no uncertainty about it
        return {
            "slope": 0.0,
            "lower": 0.0,
            "upper": 0.0,
            "intercept": float(y[0]),
            "r": float("nan"),
            "p": float("nan"),
            "n": int(n),
        }
    res = scipy.stats.linregress(x, y)
    t = scipy.stats.t.ppf(0.5 + confidence / 2, n - 2) if n > 2 else float("nan")
    return {
        "slope": float(res.slope),
        "lower": float(res.slope - t * res.stderr),
        "upper": float(res.slope + t * res.stderr),
        "intercept": float(res.intercept),
        "r": float(res.rvalue),
        "p": float(res.pvalue),
        "n": int(n),
    }
