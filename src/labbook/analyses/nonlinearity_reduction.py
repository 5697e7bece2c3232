"""Nonlinearity reduction: across-seed groups, Pareto front, and the quantities behind the findings.
Inputs are the tables of sources.nonlinearity_reduction.RunSet. Accuracies are fractions,
latencies seconds, ratios the fraction of neurons made linear (0 = all nonlinear)."""

import numpy as np
import pandas as pd

from labbook import stats


def is_measured(runs: pd.DataFrame) -> pd.Series:
    """True for runs whose ratio was measured from their gates (not set by config or name)."""
    return runs["ratio_rule"].str.startswith("gating")


def groups(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Runs with a set ratio (config or name), grouped by dataset, approach and ratio: the seeds
    of one setting. Columns dataset, approach, linear_ratio, runs, val_acc (mean), lower, upper
    (t-interval of the mean, stats.mean_ci; NaN for one run), train_acc, gen_gap, mean_latency_s,
    approx_linear_flops."""
    fixed = runs[~is_measured(runs)]
    rows = []
    for (dataset, approach, ratio), g in fixed.groupby(
        ["dataset", "approach", "linear_ratio"], sort=True
    ):
        mean, lo, hi = stats.mean_ci(g["val_acc"].to_numpy(), confidence)
        rows.append(
            {
                "dataset": dataset,
                "approach": approach,
                "linear_ratio": ratio,
                "runs": len(g),
                "val_acc": mean,
                "lower": lo,
                "upper": hi,
                "train_acc": g["train_acc"].mean(),
                "gen_gap": (g["train_acc"] - g["val_acc"]).mean(),
                "mean_latency_s": g["mean_latency_s"].mean(),
                "approx_linear_flops": g["approx_linear_flops"].mean(),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "approach",
            "linear_ratio",
            "runs",
            "val_acc",
            "lower",
            "upper",
            "train_acc",
            "gen_gap",
            "mean_latency_s",
            "approx_linear_flops",
        ],
    )


def pareto(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs on the accuracy (max) vs. mean latency (min) Pareto front, sorted by latency."""
    d = runs.dropna(subset=["val_acc", "mean_latency_s"])
    front = stats.pareto_front(d[["val_acc", "mean_latency_s"]].to_numpy(), maximize=[True, False])
    return (
        d[front]
        .sort_values(["mean_latency_s", "val_acc"], ascending=[True, False])
        .reset_index(drop=True)
    )


def min_nonlinear(
    group_table: pd.DataFrame, baseline_approach: str, tolerance: float
) -> pd.DataFrame:
    """Per dataset: the largest linear ratio up to which every tested ratio of *baseline_approach*
    keeps its mean accuracy within *tolerance* (fraction) of the all-nonlinear run (ratio 0).

    Columns dataset, baseline_acc, linear_ratio, nonlinear (1 - ratio), val_acc, next_ratio (the
    first ratio that falls out, NaN if none), next_acc. Datasets without a ratio-0 group are left
    out."""
    rows = []
    for dataset, g in group_table[group_table["approach"] == baseline_approach].groupby("dataset"):
        g = g.sort_values("linear_ratio")
        if g["linear_ratio"].iloc[0] != 0:
            continue
        base = g["val_acc"].iloc[0]
        ok = (g["val_acc"] >= base - tolerance).to_numpy()
        last = len(ok) - 1 if ok.all() else int(np.argmin(ok)) - 1
        nxt = g.iloc[last + 1] if last + 1 < len(g) else None
        rows.append(
            {
                "dataset": dataset,
                "baseline_acc": base,
                "linear_ratio": g["linear_ratio"].iloc[last],
                "nonlinear": 1 - g["linear_ratio"].iloc[last],
                "val_acc": g["val_acc"].iloc[last],
                "next_ratio": np.nan if nxt is None else nxt["linear_ratio"],
                "next_acc": np.nan if nxt is None else nxt["val_acc"],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "baseline_acc",
            "linear_ratio",
            "nonlinear",
            "val_acc",
            "next_ratio",
            "next_acc",
        ],
    )


def all_nonlinear_accuracy(group_table: pd.DataFrame, baseline_approach: str) -> pd.Series:
    """Mean validation accuracy (fraction) of the baseline approach's all-nonlinear setting
    (linear ratio 0), by dataset; datasets without that setting are absent. group_table: `groups`
    output."""
    ref = group_table[
        (group_table["approach"] == baseline_approach) & (group_table["linear_ratio"] == 0)
    ]
    return ref.set_index("dataset")["val_acc"]


def latency_gain(group_table: pd.DataFrame, baseline_approach: str, at: float) -> pd.DataFrame:
    """Per dataset: mean latency at the tested ratio nearest *at* vs. at ratio 0 (baseline
    approach). Columns dataset, linear_ratio (the one used), latency_0, latency,
    gain (1 - latency / latency_0)."""
    rows = []
    g = group_table[(group_table["approach"] == baseline_approach)].dropna(
        subset=["mean_latency_s"]
    )
    for dataset, d in g.groupby("dataset"):
        zero = d[d["linear_ratio"] == 0]
        if zero.empty:
            continue
        near = d.iloc[int(np.argmin(np.abs(d["linear_ratio"].to_numpy() - at)))]
        l0 = float(zero["mean_latency_s"].iloc[0])
        rows.append(
            {
                "dataset": dataset,
                "linear_ratio": near["linear_ratio"],
                "latency_0": l0,
                "latency": near["mean_latency_s"],
                "gain": 1 - near["mean_latency_s"] / l0,
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "linear_ratio", "latency_0", "latency", "gain"])


def gating_groups(
    runs: pd.DataFrame, configs: dict[str, dict], approach: str = "gating"
) -> pd.Series:
    """A label per run of *approach* naming what its runs may be pooled over: the dataset and every
    config key whose value differs between that dataset's runs of *approach* (the seed excepted),
    e.g. "mnist, sparsity_weight = 0.05". Index: run. Runs in one group differ only by seed."""
    labels = {}
    for dataset, d in runs[runs["approach"] == approach].groupby("dataset", sort=True):
        names = list(d["run"])
        keys = sorted({k for r in names for k in configs.get(r, {})} - {"seed"})
        differing = [k for k in keys if len({repr(configs.get(r, {}).get(k)) for r in names}) > 1]
        for r in names:
            parts = [f"{k} = {configs.get(r, {}).get(k, '–')}" for k in differing]
            labels[r] = ", ".join([str(dataset), *parts])
    return pd.Series(labels, dtype=object, name="group")


def final_gates(gating: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per group (gating_groups) and layer, over the group's runs at their last epoch: mean
    alpha_mean, mean share alpha < 0.1, runs. Within a group, sorted from the most linear layer
    (lowest alpha) to the most nonlinear."""
    last = gating[gating["epoch"] == gating.groupby("run")["epoch"].transform("max")]
    last = last.assign(group=last["run"].map(groups))
    out = (
        last.groupby(["group", "layer"], sort=False)
        .agg(
            alpha_mean=("alpha_mean", "mean"),
            alpha_lt_01=("alpha_lt_0.1", "mean"),
            runs=("run", "nunique"),
        )
        .reset_index()
    )
    out["group_order"] = out["group"].map(
        {g: i for i, g in enumerate(dict.fromkeys(groups.sort_values()))}
    )
    return (
        out.sort_values(["group_order", "alpha_mean"], kind="stable")
        .drop(columns="group_order")
        .reset_index(drop=True)
    )


def gap_trend(runs: pd.DataFrame, approach: str, confidence: float) -> dict | None:
    """Slope of the generalization gap (train - val accuracy) on the linear ratio over the runs of
    *approach* (stats.linear_trend), or None with fewer than 3 runs or one ratio."""
    d = runs[(runs["approach"] == approach)].dropna(subset=["train_acc", "val_acc"])
    if len(d) < 3 or d["linear_ratio"].nunique() < 2:
        return None
    return stats.linear_trend(
        d["linear_ratio"].to_numpy(), (d["train_acc"] - d["val_acc"]).to_numpy(), confidence
    )


def versus_baseline(
    runs: pd.DataFrame, group_table: pd.DataFrame, baseline_approach: str
) -> pd.DataFrame:
    """Runs of the other approaches against the baseline approach's mean accuracy interpolated at
    their ratio (same dataset). Columns run, dataset, approach, linear_ratio, val_acc, baseline_acc,
    delta.
    Runs outside the baseline's tested ratio range are left out."""
    rows = []
    for _, r in runs[runs["approach"] != baseline_approach].iterrows():
        g = group_table[
            (group_table["approach"] == baseline_approach)
            & (group_table["dataset"] == r["dataset"])
        ]
        if (
            len(g) < 2
            or not g["linear_ratio"].min() <= r["linear_ratio"] <= g["linear_ratio"].max()
        ):
            continue
        base = float(np.interp(r["linear_ratio"], g["linear_ratio"], g["val_acc"]))
        rows.append(
            {
                "run": r["run"],
                "dataset": r["dataset"],
                "approach": r["approach"],
                "linear_ratio": r["linear_ratio"],
                "val_acc": r["val_acc"],
                "baseline_acc": base,
                "delta": r["val_acc"] - base,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["run", "dataset", "approach", "linear_ratio", "val_acc", "baseline_acc", "delta"],
    )


def ratio_samples(runs: pd.DataFrame, dataset: str, approach: str, ratio: float) -> np.ndarray:
    """Validation accuracies (fractions) of the runs of one setting: the seeds at one ratio."""
    sel = (
        (runs["dataset"] == dataset)
        & (runs["approach"] == approach)
        & np.isclose(runs["linear_ratio"], ratio)
    )
    return runs.loc[sel & ~is_measured(runs), "val_acc"].to_numpy()


def efficiency(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs ranked by accuracy per millisecond of mean latency (the seed's composite score)."""
    d = runs.dropna(subset=["val_acc", "mean_latency_s"]).copy()
    d["acc_per_ms"] = d["val_acc"] / (d["mean_latency_s"] * 1000)
    return d.sort_values("acc_per_ms", ascending=False, kind="stable").reset_index(drop=True)
