"""MoE metrics: per-run wide tables, grouped summaries, expert-activation weights and entropy,
and the score matrices for the bootstrap. Input: sources.aim_repo.Selection.table (long)."""

import numpy as np
import pandas as pd

from labbook import stats

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
    columns "<metric> <stat>"."""
    cols = {k: v for k, v in SUMMARY.items() if k in wide}
    g = wide.groupby(by).agg(cols)
    g.columns = [f"{m} {s}" for m, s in g.columns]
    return g.reset_index()


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
