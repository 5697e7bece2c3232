"""MoE metrics: per-run wide tables, grouped summaries, expert-activation weights and entropy,
the score matrices for the bootstrap, and the findings (each sentence by the claim policy).
Input: sources.aim_repo.Selection.table (long), from any tracker the MoE source reads."""

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from labbook import stats
from labbook.findings import (
    Claim,
    Finding,
    finding,
    plural,
    ranking_claim,
    trend_verdict,
    versus_claim,
)
from labbook.inputs import InputError

VAL = {
    "accuracy": "accuracy",
    "loss": "loss",
    "profiling_total_cpu_time": "cpu_time",
    "profiling_memory_usage": "memory",
}
SUMMARY = {
    "accuracy": ["mean", "min", "max"],
    "memory": ["mean", "min", "max"],
    "cpu_time": ["mean", "min", "max"],
    "macs": ["max"],
    "loss": ["mean", "min", "max"],
}


def per_epoch(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run and epoch: method, run, epoch, accuracy, loss, cpu_time (s), memory (MB),
    macs (the run's MACs: tracked once, at the first epoch, and carried to every epoch of that run).
    """
    val = table[(table["subset"] == "val") & table["metric"].isin(VAL)]
    wide = val.pivot_table(
        index=["method", "run", "epoch"], columns="metric", values="value", aggfunc="last"
    )
    wide = wide.rename(columns=VAL).reset_index()
    wide.columns.name = None
    macs = (
        table[(table["subset"] == "train") & (table["metric"] == "macs")]
        .groupby("run")["value"]
        .max()
    )
    wide["macs"] = wide["run"].map(macs)
    return wide.sort_values(["method", "run", "epoch"], kind="stable").reset_index(drop=True)


def summary(wide: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """mean/min/max of accuracy, memory, CPU time and loss and max MACs grouped by *by*; flat
    columns "<metric> <stat>", after what each group pools: runs (their number) and, unless
    *by* has the epoch (one value per run), run_epochs (the accuracy values pooled: the n of an
    aggregate over runs x epochs, not a number of replicates)."""
    cols = {k: v for k, v in SUMMARY.items() if k in wide}
    grouped = wide.groupby(by)
    g = grouped.agg(cols)
    g.columns = [f"{m} {s}" for m, s in g.columns]
    n = grouped.agg(runs=("run", "nunique"), run_epochs=("accuracy", "count"))
    if "epoch" in by:
        n = n[["runs"]]
    return n.join(g).reset_index()


def with_run_interval(by_type: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """summary(wide, ["method"]) with the interval over runs beside the accuracy aggregate:
    "over runs mean", "over runs lower", "over runs upper" and "over runs n" (its n, runs) from
    *intervals* (run_intervals of the accuracy, method keys; NaN for a type not in it), placed
    after "accuracy max"."""
    r = intervals.set_index("method").reindex(by_type["method"])
    added = pd.DataFrame(
        {
            "over runs mean": r["mean"].to_numpy(),
            "over runs lower": r["lower"].to_numpy(),
            "over runs upper": r["upper"].to_numpy(),
            "over runs n": r["runs"].astype("Int64").to_numpy(),
        },
        index=by_type.index,
    )
    at = list(by_type.columns).index("accuracy max") + 1
    return pd.concat([by_type.iloc[:, :at], added, by_type.iloc[:, at:]], axis=1)


COUNT_READINGS = {
    "cumulative": "cumulative counters (activations so far; a run's total is its last value, "
    "the seed analysis's reading)",
    "per_epoch": "activations per epoch (a run's total is their sum)",
}


def expert_counts(
    table: pd.DataFrame, subset: str = "val", reading: str = "cumulative"
) -> tuple[pd.DataFrame, list[str]]:
    """Activation counts as running totals: method, run, epoch, expert (int), count (activations up
    to and including the epoch), from the `expert_<i>` metrics logged in *subset*.

    reading: how the file logs them (COUNT_READINGS): "cumulative" counters are taken as they are,
    "per_epoch" counts are summed up. Returns the table and warnings: a "cumulative" series that
    decreases contradicts the declared reading (each such run is named once)."""
    if reading not in COUNT_READINGS:
        raise ValueError(
            f"expert count reading must be one of {list(COUNT_READINGS)}, got {reading!r}"
        )
    e = table[(table["subset"] == subset) & table["metric"].str.startswith("expert_")]
    out = e[["method", "run", "epoch"]].copy()
    out["expert"] = e["metric"].str.removeprefix("expert_").astype(int)
    out["count"] = e["value"].to_numpy()
    out = out.sort_values(["method", "run", "expert", "epoch"], kind="stable").reset_index(
        drop=True
    )
    warnings = []
    if reading == "per_epoch":
        out["count"] = out.groupby(["run", "expert"])["count"].cumsum()
    elif not out.empty:
        drops = out.groupby(["run", "expert"])["count"].diff() < 0
        if drops.any():
            bad = out.loc[drops, ["run", "method", "expert", "epoch"]].drop_duplicates("run")
            for r in bad.itertuples():
                warnings.append(
                    f"Run {r.run} ({r.method}): expert_{r.expert} decreases at epoch {r.epoch:g}, "
                    "so it is not a cumulative counter as declared (parameter expert_counts); "
                    "totals read as its last value may be wrong — set expert_counts: per_epoch if "
                    "it logs each epoch's activations."
                )
    return out, warnings


def expert_weights(counts: pd.DataFrame) -> pd.DataFrame:
    """Per method and expert: each run's total (its last running count, i.e. the per-run maximum
    of a cumulative counter, as the seed takes it), averaged over runs (total), and its share of
    the method's total (relative_weight). counts: expert_counts output."""
    per_run = counts.groupby(["method", "run", "expert"])["count"].last().reset_index()
    w = per_run.groupby(["method", "expert"])["count"].mean().rename("total").reset_index()
    w["relative_weight"] = w["total"] / w.groupby("method")["total"].transform("sum")
    return w


def entropy_table(weights: pd.DataFrame) -> pd.DataFrame:
    """Per method: normalized Shannon entropy of the expert totals, total activations (mean run),
    active experts (total > 0) and experts."""
    rows = [
        {
            "method": m,
            "entropy": stats.normalized_entropy(g["total"]),
            "total": float(g["total"].sum()),
            "active_experts": int((g["total"] > 0).sum()),
            "experts": len(g),
        }
        for m, g in weights.groupby("method", sort=False)
    ]
    return pd.DataFrame(rows, columns=["method", "entropy", "total", "active_experts", "experts"])


def run_entropy(counts: pd.DataFrame) -> pd.DataFrame:
    """Normalized entropy of each run's running expert totals at each epoch
    (stats.normalized_entropy, vectorized over rows): method, run, epoch, entropy."""
    wide = counts.pivot_table(
        index=["method", "run", "epoch"],
        columns="expert",
        values="count",
        aggfunc="sum",
        fill_value=0,
    )
    c = wide.to_numpy(dtype=float)
    total = c.sum(axis=1, keepdims=True)
    p = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0.0)
    active = (c > 0).sum(axis=1)
    h = np.divide(-plogp.sum(axis=1), np.log2(np.maximum(active, 2)))
    out = wide.index.to_frame(index=False)
    out["entropy"] = np.where(active > 1, h, 0.0)
    return out


def common_last_epoch(wide: pd.DataFrame) -> int:
    """The last epoch every run reached."""
    return int(wide.groupby("run")["epoch"].max().min())


def runs_needed(runs: int) -> int:
    """How many of a type's *runs* must reach an epoch for the type to be compared or drawn there:
    half of them rounded up, at least 2 (a mean of one run has no interval), at most all."""
    return min(runs, max(2, math.ceil(runs / 2)))


def horizon(wide: pd.DataFrame) -> int:
    """The last epoch of the comparisons (score matrix, costs, correlation): for each type, the
    last epoch that runs_needed of its runs reached; the earliest of these over the types with 2
    or more runs (over every type when none has). Runs of one length give their common last
    epoch; a run that stopped early never cuts it for the others (unless half its type stopped as
    early). wide: per_epoch (method, run, epoch)."""
    last = wide.groupby(["method", "run"])["epoch"].max()
    reached = {
        m: (len(g), sorted(g, reverse=True)[runs_needed(len(g)) - 1])
        for m, g in last.groupby(level="method")
    }
    paired = [e for n, e in reached.values() if n >= 2] or [e for _, e in reached.values()]
    return int(min(paired))


def stopped_before(wide: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """The runs whose last epoch is before *epoch*: method, run, last (their last epoch), in
    per_epoch's order."""
    last = wide.groupby(["method", "run"], sort=False)["epoch"].max().rename("last").reset_index()
    return last[last["last"] < epoch].reset_index(drop=True)


def curve_points(wide: pd.DataFrame, metric: str, leave_out: Collection[str] = ()) -> pd.DataFrame:
    """The points of each type's mean curve of *metric*: method, epoch, mean, min, max (over the
    runs that logged it at that epoch, but the runs in *leave_out*, e.g. diverged ones), runs
    (their number) and drawn: whether at least runs_needed of the type's runs are there (a mean
    over the few runs that go on after the others stopped is not the type's, so its curve stops
    where the type thins out). wide: per_epoch."""
    kept = wide[~wide["run"].isin(set(leave_out))].dropna(subset=[metric])
    g = kept.groupby(["method", "epoch"])[metric]
    out = g.agg(["mean", "min", "max", "count"]).rename(columns={"count": "runs"}).reset_index()
    total = kept.groupby("method")["run"].nunique()
    out["drawn"] = out["runs"] >= out["method"].map(total).map(runs_needed)
    return out


def score_matrices(
    wide: pd.DataFrame, epochs: int, runs_per_type: int | None = None
) -> tuple[dict[str, np.ndarray], dict]:
    """{method: array(runs, epochs)} of accuracy over epochs 1..*epochs* for complete runs only
    (the seed's runs x tasks matrix), optionally the first *runs_per_type* runs per method in the
    stable run order (lowest seeds first) so methods have equal counts. Also {method: runs left
    out as incomplete}."""
    scores, incomplete = {}, {}
    for method, g in wide.groupby("method", sort=False):
        m = g[g["epoch"].between(1, epochs)].pivot_table(
            index="run", columns="epoch", values="accuracy"
        )
        complete = m.dropna()
        complete = complete[[c for c in range(1, epochs + 1) if c in complete.columns]]
        if complete.shape[1] != epochs:
            complete = complete.iloc[0:0]
        incomplete[method] = len(g["run"].unique()) - len(complete)
        if runs_per_type:
            complete = complete.iloc[:runs_per_type]
        if len(complete):
            scores[method] = complete.to_numpy()
    return scores, incomplete


def final_epoch(wide: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Rows of *epoch* (one per run): for the hardware comparison and the entropy correlation."""
    return wide[wide["epoch"] == epoch].reset_index(drop=True)


def correlation_table(relation: dict) -> pd.DataFrame:
    """The rows of stats.correlation_ci's result for a table: Spearman and Pearson, pooled over
    types and (when computed) within types. Columns Correlation, Estimate, CI low, CI high."""
    scopes = {"pooled": "pooled", "within": "within types"}
    return pd.DataFrame(
        [
            {
                "Correlation": f"{kind} ({scopes[scope]})",
                "Estimate": relation[scope][kind.lower()],
                "CI low": relation[scope][f"{kind.lower()}_lower"],
                "CI high": relation[scope][f"{kind.lower()}_upper"],
            }
            for scope in scopes
            if scope in relation
            for kind in ("Spearman", "Pearson")
        ]
    )


def run_values(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The unit of replication: each run's value, its mean over the score matrix's epochs.
    {type: array(runs, epochs)} -> {type: array(runs)}."""
    return {t: np.asarray(s, dtype=float).mean(axis=1) for t, s in scores.items()}


def run_intervals(values: Mapping[str, np.ndarray], confidence: float = 0.95) -> pd.DataFrame:
    """Per type, the interval over runs (n counts runs, the unit of replication): method, runs,
    mean (of the run values), lower, upper (its Student-t interval, stats.mean_ci; NaN for one
    run). values: run_values."""
    rows = []
    for t, v in values.items():
        mean, lower, upper = stats.mean_ci(v, confidence)
        rows.append({"method": t, "runs": len(v), "mean": mean, "lower": lower, "upper": upper})
    return pd.DataFrame(rows, columns=["method", "runs", "mean", "lower", "upper"])


OVER_RUNS = "Mean over runs"  # with_over_runs' metric: the interval over runs


def with_over_runs(estimates: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """stats.estimates_frame rows (the stratified bootstrap over run-epochs) followed by each
    type's interval over runs (run_intervals) as the metric OVER_RUNS, in the same columns
    (method, metric, estimate, lower, upper), for one table (tables.interval_wide)."""
    over = intervals.rename(columns={"mean": "estimate"}).assign(metric=OVER_RUNS)
    return pd.concat([estimates, over[list(estimates.columns)]], ignore_index=True)


def score_counts(scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """What each score matrix holds: method, Runs (the n of an interval over runs) and
    Run-epochs (runs x epochs: the n of the stratified bootstrap's aggregates)."""
    return pd.DataFrame(
        [{"method": t, "Runs": s.shape[0], "Run-epochs": s.size} for t, s in scores.items()],
        columns=["method", "Runs", "Run-epochs"],
    )


UNBOUNDED = ("loss", "cpu_time", "memory")  # per_epoch metrics a diverged run can blow up
DIVERGED_FACTOR = 10.0  # a value this many times the epoch's median is far outside the rest


def diverged(
    wide: pd.DataFrame, metrics: Sequence[str] = UNBOUNDED, factor: float = DIVERGED_FACTOR
) -> pd.DataFrame:
    """Runs whose values are far outside the rest: a value of *metric* more than *factor* times
    the median over every run at that epoch (at least 3 runs there, the median above 0). One row
    per run and metric, at its first such epoch: method, run, metric, epoch, value, median
    (that epoch's), epochs (how many of its epochs are so far out). wide: per_epoch."""
    rows = []
    for metric in (m for m in metrics if m in wide):
        v = wide[["method", "run", "epoch", metric]].dropna(subset=[metric]).reset_index(drop=True)
        by_epoch = v.groupby("epoch")[metric]
        median, count = by_epoch.transform("median"), by_epoch.transform("count")
        far = v[(count >= 3) & (median > 0) & (v[metric] > factor * median)]
        far = far.assign(median=median[far.index])
        for (method, run), g in far.groupby(["method", "run"], sort=False):
            first = g.iloc[0]
            rows.append(
                {
                    "method": method,
                    "run": run,
                    "metric": metric,
                    "epoch": first["epoch"],
                    "value": float(first[metric]),
                    "median": float(first["median"]),
                    "epochs": len(g),
                }
            )
    columns = ["method", "run", "metric", "epoch", "value", "median", "epochs"]
    return pd.DataFrame(rows, columns=columns)


def stopped_warning(
    stopped: pd.DataFrame, epoch: int, names: Mapping[str, str], run_names: Mapping[str, str]
) -> str | None:
    """The warning naming the runs that stopped before *epoch* (stopped_before), None when none
    did: what is computed at or up to that epoch leaves them out, and they did not cut it.
    names: method -> display name; run_names: run -> the tracker's run name."""
    if stopped.empty:
        return None
    listed = ", ".join(
        f"{r.run} {run_names.get(r.run, '')!r} ({names[r.method]}, last epoch {r.last:g})"
        for r in stopped.head(8).itertuples()
    )
    more = f" and {len(stopped) - 8} more" if len(stopped) > 8 else ""
    return (
        f"{plural(len(stopped), 'run')} stopped before epoch {epoch}, the last epoch the "
        f"comparisons use (reached by at least half the runs of every type): {listed}{more}. "
        "They are left out of the score matrix, the costs and the correlation at that epoch, and "
        "do not cut it for the other runs; the curves show them as far as they go."
    )


def _number(value: float) -> str:
    """A value for a sentence: thousands with separators (16,726), else four significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def diverged_warnings(
    far: pd.DataFrame,
    names: Mapping[str, str],
    run_names: Mapping[str, str],
    labels: Mapping[str, str],
) -> list[str]:
    """One warning per row of diverged(): the run, the metric (*labels*: metric -> its name),
    the value and the epoch's median, and what the figures do with it."""
    return [
        f"Run {r.run} {run_names.get(r.run, '')!r} ({names[r.method]}) diverged: "
        f"{labels[r.metric]} {_number(r.value)} at epoch {r.epoch:g}, more than "
        f"{DIVERGED_FACTOR:g}× that epoch's median over all runs ({r.median:.4g}; "
        f"{plural(r.epochs, 'epoch')} so far out). Its "
        f"{labels[r.metric]} is left out of the mean curves and of the axes' range, so they "
        "still show the other runs; the tables keep it."
        for r in far.itertuples()
    ]


# ---------------------------------------------------------------- tables for people

SEED_NAMES = {"accuracy": "validation accuracy", "loss": "validation loss"}  # the seed's fields
SHORT_NAMES = {"validation accuracy": "accuracy", "validation loss": "loss"}


def metric_names(
    metric_keys: Mapping[str, str], labels: Mapping[str, str], seed_keys: Mapping[str, str]
) -> dict[str, str]:
    """What the accuracy and loss fields are called in titles, tables and findings: the label
    given (*labels*, the parameter metric_labels), else the seed's name ("validation accuracy")
    when the field reads the seed's key (*seed_keys*: aim_repo.DEFAULT_METRIC_KEYS), else its
    scalar key as written: never "accuracy" for a metric not known to be one. InputError for a
    label of another field."""
    unknown = sorted(set(labels) - set(SEED_NAMES))
    if unknown:
        raise InputError(
            f"metric_labels: no field {unknown}; the fields named by a label are {list(SEED_NAMES)}"
        )
    out = {}
    for field, seed_name in SEED_NAMES.items():
        key = metric_keys.get(field)
        default = seed_name if key in (None, seed_keys[field]) else key
        out[field] = labels.get(field) or default
    return out


def short_name(name: str) -> str:
    """A metric's name where the context says "validation": "accuracy" for the seed's
    "validation accuracy", any other name as it is."""
    return SHORT_NAMES.get(name, name)


def capital(name: str) -> str:
    """*name* at the start of a title or a column: the seed's names capitalized ("Validation
    accuracy", "Accuracy"), a label or key as written ("val/iou")."""
    seed = name in SHORT_NAMES or name in SHORT_NAMES.values()
    return name[:1].upper() + name[1:] if seed else name


OVER_RUNS_COLUMNS = ("Over runs mean", "Over runs lower", "Over runs upper")


def summary_intervals(
    table: pd.DataFrame, confidence: float = 0.95, accuracy: str = "Accuracy"
) -> dict[str, tuple[str, str, str]]:
    """The `est [lo, hi]` cells of a display_summary table, in its column order: every
    "<metric> mean" with its min and max as "<metric> mean [min, max]" (in a table by type, one
    that has "Run-epochs", the accuracy's says it pools run-epochs: "<accuracy> over run-epochs:
    mean [min, max]"), and with_run_interval's columns as "<accuracy> over runs [<confidence>
    t-CI]". *accuracy*: the accuracy's column stem (display_summary's)."""
    out = {}
    for c in table.columns:
        stem = c.removesuffix(" mean")
        if c.endswith(" mean") and f"{stem} min" in table and f"{stem} max" in table:
            pooled = stem == accuracy and "Run-epochs" in table
            label = f"{stem} over run-epochs: mean" if pooled else f"{stem} mean"
            out[f"{label} [min, max]"] = (c, f"{stem} min", f"{stem} max")
        elif c == OVER_RUNS_COLUMNS[0] and all(x in table for x in OVER_RUNS_COLUMNS):
            out[f"{accuracy} over runs [{confidence:.0%} t-CI]"] = OVER_RUNS_COLUMNS
    return out


COST_FIELDS = {"macs": "MACs", "cpu_time": "CPU time", "memory": "memory"}
OPTIONAL_FIELDS = {"loss": "validation loss", **COST_FIELDS}  # per_epoch columns besides accuracy


def unlogged(wide: pd.DataFrame) -> list[str]:
    """The OPTIONAL_FIELDS of per_epoch's table that no run logged (no column, or all NaN), in
    OPTIONAL_FIELDS order."""
    return [f for f in OPTIONAL_FIELDS if f not in wide or wide[f].isna().all()]


def display_summary(
    summary_table: pd.DataFrame,
    names: Mapping[str, str],
    metrics: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A summary() table for people: each method as its display name (*names*: method -> name),
    columns "MoE type", "Epoch", "Runs", "Run-epochs", "Accuracy mean", "Memory (MB) min",
    "CPU time (s) max", "Loss mean", "MACs max", and with_run_interval's "Over runs mean" ...
    "CI runs" (the n of that interval). *metrics*: metric_names (the accuracy and loss columns
    are named by capital(short_name(name)); default the seed's: Accuracy, Loss)."""
    metrics = metrics or SEED_NAMES
    stems = {
        "accuracy": capital(short_name(metrics["accuracy"])),
        "loss": capital(short_name(metrics["loss"])),
        "cpu_time": "CPU time (s)",
        "memory": "Memory (MB)",
        "macs": "MACs",
        "over runs": "Over runs",
    }
    fixed = {
        "method": "MoE type",
        "epoch": "Epoch",
        "runs": "Runs",
        "run_epochs": "Run-epochs",
        "over runs n": "CI runs",
    }

    def column(c: str) -> str:
        if c in fixed:
            return fixed[c]
        field, _, stat = c.rpartition(" ")
        return f"{stems[field]} {stat}"

    out = summary_table.copy()
    out["method"] = out["method"].map(names)
    return out.rename(columns=column)


def summary_parts(table: pd.DataFrame, accuracy: str = "Accuracy") -> tuple[list[str], list[str]]:
    """The columns of display_summary's by-type *table* shown as two tables (one would be wider
    than a page): the accuracy's (type, runs, the aggregate over run-epochs and the interval over
    runs; *accuracy* its column stem) and the other metrics' (type, memory, CPU time, MACs,
    loss)."""
    own = ("MoE type", "Runs", "Run-epochs", "CI runs")
    first = [c for c in table if c in own or c.startswith((f"{accuracy} ", "Over runs "))]
    return first, ["MoE type"] + [c for c in table if c not in first]


def runs_table(
    runs: pd.DataFrame, wide: pd.DataFrame, methods: Sequence[str], names: Mapping[str, str]
) -> pd.DataFrame:
    """Per method in *methods* order: "MoE type" (display name), "runs" (rows of *runs*, the
    selected runs) and "epochs", the last epoch its runs reached in *wide*: a number when the
    runs of each type stopped at one epoch, else each type's range ("2–20")."""
    last = wide.groupby(["method", "run"])["epoch"].max().groupby(level="method")
    lo, hi = last.min().reindex(methods), last.max().reindex(methods)
    epochs = (
        hi.to_numpy()
        if (lo == hi).all()
        else [f"{a:g}" if a == b else f"{a:g}–{b:g}" for a, b in zip(lo, hi)]
    )
    return (
        runs.groupby("method")
        .size()
        .reindex(methods)
        .rename(index=names)
        .rename("runs")
        .to_frame()
        .assign(epochs=epochs)
        .reset_index(names="MoE type")
    )


# ---------------------------------------------------------------- expert use


def expert_loads(weights: pd.DataFrame) -> pd.DataFrame:
    """expert_weights() with two more columns: experts (the method's number of experts) and load,
    an expert's share of the method's activations times that number (1 = an even share, above 1 =
    over-used), so methods with 8 and 16 experts read on one scale."""
    n_experts = weights.groupby("method")["expert"].nunique()
    experts = weights["method"].map(n_experts)
    return weights.assign(experts=experts, load=weights["relative_weight"] * experts)


def expert_panels(weights: pd.DataFrame, methods: Sequence[str]) -> list[list[str]]:
    """The panels of the expert-activation figure, methods in *methods* order: one panel with
    every method that has the most common number of experts, then one panel per method with
    another number (e.g. expert segmentation's 16). Methods without activations are left out."""
    n_experts = weights.groupby("method")["expert"].nunique()
    common = n_experts.mode().iloc[0]
    first = [m for m in methods if n_experts.get(m) == common]
    return [first] + [[m] for m in methods if m in n_experts and n_experts[m] != common]


def entropy_accuracy(
    wide: pd.DataFrame, counts: pd.DataFrame, epoch: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each run's accuracy (from per_epoch) and the normalized entropy of its expert use (from
    expert_counts) at *epoch*: (kept, fixed), where fixed holds the runs whose entropy is exactly
    0 or 1 (routing fixed to one expert or to perfectly even use, as in the seed: they say nothing
    about the relation) and kept the others. Columns of per_epoch plus entropy."""
    per_run = run_entropy(counts)
    joined = final_epoch(wide, epoch).merge(
        per_run[per_run["epoch"] == epoch], on=["method", "run", "epoch"]
    )
    fixed = joined[(joined["entropy"] == 0) | (joined["entropy"] == 1)]
    return joined.drop(fixed.index), fixed


def can_correlate(runs: pd.DataFrame) -> bool:
    """Whether entropy_accuracy's kept runs allow a correlation: at least 3 runs, and neither
    entropy nor accuracy the same in all of them."""
    return len(runs) >= 3 and runs["entropy"].nunique() > 1 and runs["accuracy"].nunique() > 1


# ---------------------------------------------------------------- hardware usage

HARDWARE_AXES = (
    ("mmacs", "MACs (M)", "{:.0f}"),
    ("memory", "Memory (MB)", "{:.0f}"),
    ("cpu_time", "CPU time (s)", "{:.1f}"),
    ("accuracy", "Accuracy", "{:.3f}"),
)  # the parallel axes: column, label, format of its minimum and maximum


def hardware_table(wide: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """The rows of *epoch* (one per run) with mmacs, the MACs in millions."""
    return final_epoch(wide, epoch).assign(mmacs=lambda d: d["macs"] / 1e6)


def scaled_to_range(
    table: pd.DataFrame, columns: Sequence[str], over: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict, dict]:
    """Each of *columns* scaled to [0, 1] over the rows of *over* (default all rows; (v - min) /
    (max - min), outside [0, 1] for rows beyond them; 0.5 where a column is constant). Returns
    (scaled columns, {column: min}, {column: max})."""
    over = table if over is None else over
    lo = {c: over[c].min() for c in columns}
    hi = {c: over[c].max() for c in columns}
    scaled = pd.DataFrame(
        {
            c: (table[c] - lo[c]) / (hi[c] - lo[c]) if hi[c] > lo[c] else table[c] * 0 + 0.5
            for c in columns
        },
        index=table.index,
    )
    return scaled, lo, hi


def type_costs(final: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Mean macs, cpu_time (s) and memory (MB) over the runs of each type, indexed by the type's
    display name. final: per_epoch rows of one epoch (one per run)."""
    by_type = final.assign(type=final["method"].map(names)).groupby("type")
    return by_type[["macs", "cpu_time", "memory"]].mean()


# ---------------------------------------------------------------- findings


def relation_words(scope: dict) -> str:
    """What a Spearman interval supports, for a sentence: "no clear relation" when it contains 0,
    else "a <strength> positive|negative relation", the strength word from the interval's end
    nearer 0 (stats.supported_strength) and the sign from the side of 0 the interval is on.
    scope: one scope of stats.correlation_ci (spearman, spearman_lower, spearman_upper)."""
    lo, hi = scope["spearman_lower"], scope["spearman_upper"]
    word = stats.supported_strength(lo, hi)
    if word == "no clear":
        return "no clear relation"
    return f"a {word} {'positive' if lo > 0 else 'negative'} relation"


def entropy_claim(
    relation: dict, epoch: int, confidence: float = 0.95, metric: str = "validation accuracy"
) -> Claim:
    """The accuracy-entropy sentence from stats.correlation_ci over runs grouped by type (pooled
    and within types): a relation is named only when its bootstrap interval excludes 0. The
    verdict is the pooled relation's ("rises": accuracy rises with the evenness of expert use,
    "falls", or "flat" when the interval contains 0); the within-type words are in the values."""
    p, w = relation["pooled"], relation["within"]
    text = (
        "At epoch {epoch}, over {n} runs of {k} types: pooled over types, {short} and the "
        "evenness of expert use show {pooled_word} (Spearman ρ = {rho:.2f}, {conf:.0%} CI {lo:.2f} "
        "to {hi:.2f}); within types, where differences between types do not count, {within_word} "
        "(ρ = {wrho:.2f}, CI {wlo:.2f} to {whi:.2f})."
    )
    values = {
        "epoch": epoch,
        "n": relation["n"],
        "k": relation["groups"],
        "pooled_word": relation_words(p),
        "rho": p["spearman"],
        "lo": p["spearman_lower"],
        "hi": p["spearman_upper"],
        "conf": confidence,
        "within_word": relation_words(w),
        "wrho": w["spearman"],
        "wlo": w["spearman_lower"],
        "whi": w["spearman_upper"],
    }
    verdict = trend_verdict({"lower": p["spearman_lower"], "upper": p["spearman_upper"]})
    return Claim(text.format(**values, short=short_name(metric)), values, verdict)


def iqm_finding(
    estimates: pd.DataFrame,
    best: str,
    runs: int,
    epochs: int,
    over_runs: pd.Series,
    confidence: float = 0.95,
    metric: str = "validation accuracy",
) -> Finding:
    """The IQM of validation accuracy of *best* (the type with the highest mean, ranking_claim)
    with its stratified-bootstrap CI, an aggregate over *runs* runs x *epochs* epochs (its n
    counts run-epochs, not replicates), and beside it the interval over runs, the unit of
    replication (*over_runs*: best's run_intervals row, each run's mean over the epochs): a
    description, no comparison. estimates: stats.estimates_frame (method, metric, estimate,
    lower, upper)."""
    iqm = estimates[estimates["metric"] == "iqm"].set_index("method")
    values = {
        "best": best,
        "value": iqm.loc[best, "estimate"],
        "conf": confidence,
        "lo": iqm.loc[best, "lower"],
        "hi": iqm.loc[best, "upper"],
        "n": runs,
        "epochs": epochs,
        "run_epochs": runs * epochs,
        "run_mean": over_runs["mean"],
        "run_lower": over_runs["lower"],
        "run_upper": over_runs["upper"],
        "runs": int(over_runs["runs"]),
    }
    span = f"{plural(runs, 'run')} × {plural(epochs, 'epoch')}"
    interval = (
        f"{confidence:.0%} t-interval over runs {values['run_lower']:.4f}–"
        f"{values['run_upper']:.4f}, n = {plural(values['runs'], 'run')}"
        if values["runs"] > 1
        else "a single run: no interval"
    )
    text = (
        f"{best}: IQM {metric} {values['value']:.4f} ({confidence:.0%} "
        f"stratified-bootstrap CI {values['lo']:.4f}–{values['hi']:.4f} over "
        f"{runs * epochs} run-epochs, {span}: an aggregate of runs × epochs, not an interval over "
        f"runs); each run's mean over epochs 1–{epochs} averages {values['run_mean']:.4f} "
        f"({interval})."
    )
    return finding("best_iqm", Claim(text, values))


def _with_x(row: pd.Series, x: str) -> pd.Series:
    """A stats.compare row with *x* as its X: when x was Y, sides swapped and the difference and
    its interval negated (p, p_holm and separated do not depend on the order)."""
    if row["x"] == x:
        return row
    out = row.copy()
    for a, b in (("x", "y"), ("n_x", "n_y"), ("mean_x", "mean_y")):
        out[a], out[b] = row[b], row[a]
    for a, b in (("diff", "diff"), ("diff_lower", "diff_upper"), ("diff_upper", "diff_lower")):
        out[a] = 0.0 - row[b]  # 0.0 - x, not -x: a zero difference stays +0.0, never "-0.00"
    return out


def cheapest_claim(
    costs: pd.DataFrame,
    best: str,
    ties: Sequence[str],
    evidence: pd.DataFrame,
    epoch: int,
    confidence: float = 0.95,
    metric: str = "validation accuracy",
) -> Claim:
    """The cheapest type among *best* and the types not shown to be worse than it (*ties*, from
    ranking_claim): cheapest by mean MACs (the model's cost), then mean CPU time, then name.
    costs: type_costs at *epoch*; evidence: stats.compare over the types' run means. When it is
    not *best*, the accuracy difference goes through versus_claim (in percentage points, with
    its Welch t-interval, p, Holm-corrected p and n) and the claim takes its verdict; ranking:
    the candidates from cheapest to dearest."""
    candidates = [best, *ties]

    def cost(t):
        return (costs.loc[t, "macs"], costs.loc[t, "cpu_time"], t)

    cheapest = min(candidates, key=cost)
    ranking = tuple(sorted(candidates, key=cost))
    values = {
        "best": best,
        "macs": costs.loc[cheapest, "macs"],
        "cpu": costs.loc[cheapest, "cpu_time"],
        "mem": costs.loc[cheapest, "memory"],
        "epoch": epoch,
        "cheapest": cheapest,
    }
    if cheapest == best:
        text = (
            "No type that is not shown to be worse than {best} is cheaper: {best} needs "
            "{macs:.3g} MACs, {cpu:.1f} s CPU and {mem:.0f} MB at epoch {epoch}."
        )
        return Claim(text.format(**values), values, ranking=ranking)
    values.update(
        best_macs=costs.loc[best, "macs"],
        best_cpu=costs.loc[best, "cpu_time"],
        best_mem=costs.loc[best, "memory"],
    )
    head = (
        "The cheapest type not shown to be worse than {best} is {cheapest}: {macs:.3g} MACs, "
        "{cpu:.1f} s CPU, {mem:.0f} MB at epoch {epoch} against {best_macs:.3g} MACs, "
        "{best_cpu:.1f} s CPU, {best_mem:.0f} MB."
    ).format(**values)
    row = _with_x(stats.pair_row(evidence, cheapest, best), cheapest)
    versus = versus_claim(
        row,
        f"mean {metric}",
        "run",
        confidence,
        scale=100,
        points="percentage points",
    )
    values.update(versus.values)
    return Claim(f"{head} {versus.text}", values, versus.verdict, versus.winner, ranking)


def findings(
    scores: Mapping[str, np.ndarray],
    estimates: pd.DataFrame,
    costs: pd.DataFrame | None,
    relation: dict | None,
    *,
    dataset: str,
    epochs: int,
    correlation_epoch: int,
    cost_epoch: int,
    confidence: float = 0.95,
    metric: str = "validation accuracy",
) -> list[Finding]:
    """The MoE findings, in report order: the type with the highest mean validation accuracy and
    the types it beats (ranking_claim over each run's mean over the score matrix's epochs,
    Welch + Holm over every pair), that type's IQM with its CI, the accuracy-entropy relation
    (when *relation* was computed), and the cheapest type not shown to be worse than it.

    scores: {type: array(runs, epochs)} (score_matrices, display names, at least 2 runs each);
    estimates: stats.estimates_frame of them with "iqm"; costs: type_costs at *cost_epoch*;
    relation: stats.correlation_ci of entropy and accuracy at *correlation_epoch*, by type.
    Without *costs* (the runs log no MACs, CPU time or memory) there is no cheapest-type
    finding. *metric*: what the accuracy field is called (metric_names)."""
    if not scores:
        raise ValueError("no MoE type has 2 complete runs: nothing to compare")
    run_means = run_values(scores)
    evidence = stats.compare(run_means, confidence=confidence)
    over_runs = run_intervals(run_means, confidence).set_index("method")
    ranked = ranking_claim(
        run_means,
        evidence,
        f"{metric} on {dataset} (each run's mean over epochs 1–{epochs})",
        "run",
        confidence,
        spec=".4f",
    )
    best = ranked.values["best"]
    out = [
        finding("best_type", ranked),
        iqm_finding(
            estimates, best, len(scores[best]), epochs, over_runs.loc[best], confidence, metric
        ),
    ]
    if relation is not None:
        claim = entropy_claim(relation, correlation_epoch, confidence, metric)
        out.append(finding("entropy_accuracy", claim))
    if costs is not None:
        ties = ranked.values.get("ties", [])
        claim = cheapest_claim(costs, best, ties, evidence, cost_epoch, confidence, metric)
        out.append(finding("cheapest_not_worse", claim))
    return out
