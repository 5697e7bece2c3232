"""Nonlinearity reduction: across-seed groups, Pareto front, the quantities behind the findings
and the findings themselves (`findings`). Inputs are the tables of
sources.nonlinearity_reduction.RunSet. Accuracies are fractions, latencies seconds, ratios the
fraction of neurons made linear (0 = all nonlinear)."""

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from labbook import stats
from labbook.findings import (
    Claim,
    Finding,
    described,
    finding,
    listing,
    plural,
    ranking_claim,
    time_claim,
    trend_claim,
    versus_claim,
)

LINEAR_BELOW = 0.5  # a layer whose final mean gate alpha is below this "ends mostly linear"


def is_measured(runs: pd.DataFrame) -> pd.Series:
    """True for runs whose ratio was measured from their gates (not set by config or name)."""
    return runs["ratio_rule"].str.startswith("gating")


def run_latency(runs: pd.DataFrame) -> pd.Series:
    """Each run's latency (seconds) as every comparison uses it: its median over repeats
    (`p50_latency_s`) where recorded, else its mean (`mean_latency_s`); NaN without either. A few
    very slow repeats on a loaded machine move a run's mean, not its median."""
    mean = runs["mean_latency_s"] if "mean_latency_s" in runs else pd.Series(np.nan, runs.index)
    if "p50_latency_s" not in runs:
        return mean.astype(float)
    return runs["p50_latency_s"].astype(float).fillna(mean.astype(float))


def latency_basis(runs: pd.DataFrame) -> str:
    """What run_latency took for the timed runs: "median", "mean", or "median (mean where no
    median was recorded)"."""
    timed = runs[run_latency(runs).notna()]
    if "p50_latency_s" not in timed or timed["p50_latency_s"].isna().all():
        return "mean"
    return (
        "median"
        if timed["p50_latency_s"].notna().all()
        else ("median (mean where no median was recorded)")
    )


def groups(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Runs with a set ratio (config or name), grouped by dataset, approach and ratio: the seeds
    of one setting. Columns dataset, approach, linear_ratio, runs, val_acc (mean), lower, upper
    (t-interval of the mean, stats.mean_ci; NaN for one run), train_acc, gen_gap, latency_s (the
    median over runs of each run's latency, run_latency), latency_q25 and latency_q75 (its
    interquartile range over runs), approx_linear_flops."""
    fixed = runs[~is_measured(runs)].assign(latency_s=run_latency(runs))
    rows = []
    for (dataset, approach, ratio), g in fixed.groupby(
        ["dataset", "approach", "linear_ratio"], sort=True
    ):
        mean, lo, hi = stats.mean_ci(g["val_acc"].to_numpy(), confidence)
        lat = g["latency_s"].dropna().to_numpy()
        med, q25, q75 = stats.median_spread(lat) if lat.size else (np.nan,) * 3
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
                "latency_s": med,
                "latency_q25": q25,
                "latency_q75": q75,
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
            "latency_s",
            "latency_q25",
            "latency_q75",
            "approx_linear_flops",
        ],
    )


def timing_outliers(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose timings are outliers: a run whose mean latency lies above its own 90th
    percentile (`p90_latency_s`), i.e. fewer than a tenth of its repeats are slow enough to pull
    its mean past nine tenths of them. Columns run, mean_latency_s, p50_latency_s, p90_latency_s,
    mean_over_median (mean / median); sorted by that ratio, largest first. Empty when no run
    records all three."""
    cols = ["run", "mean_latency_s", "p50_latency_s", "p90_latency_s"]
    if not set(cols) <= set(runs.columns):
        return pd.DataFrame(columns=[*cols, "mean_over_median"])
    d = runs[cols].dropna()
    d = d[d["mean_latency_s"] > d["p90_latency_s"]]
    d = d.assign(mean_over_median=d["mean_latency_s"] / d["p50_latency_s"])
    return d.sort_values(["mean_over_median", "run"], ascending=[False, True]).reset_index(
        drop=True
    )


PERCENT = ("linear_ratio", "val_acc", "train_acc", "lower", "upper", "gen_gap")  # x 100 to read
MILLISECONDS = (  # x 1000 to read
    "mean_latency_s",
    "p50_latency_s",
    "p90_latency_s",
    "latency_s",
    "latency_q25",
    "latency_q75",
)


def in_report_units(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of *frame* in the figures' units, for the tables shown beside them: the linear
    ratio, accuracies (with their interval) and the generalization gap times 100 (% and
    percentage points), latencies times 1000 (ms); every other column as it is."""
    out = frame.copy()
    for col in PERCENT:
        if col in out:
            out[col] = 100 * out[col]
    for col in MILLISECONDS:
        if col in out:
            out[col] = 1000 * out[col]
    return out


def pareto(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs on the accuracy (max) vs. latency (min) Pareto front, latency by run_latency (the
    run's median where recorded) in column latency_s, sorted by it."""
    d = runs.assign(latency_s=run_latency(runs)).dropna(subset=["val_acc", "latency_s"])
    front = stats.pareto_front(d[["val_acc", "latency_s"]].to_numpy(), maximize=[True, False])
    return (
        d[front]
        .sort_values(["latency_s", "val_acc"], ascending=[True, False])
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
    """Per dataset: the median latency over runs (groups' latency_s) at the tested ratio nearest
    *at* vs. at ratio 0 (baseline approach). Columns dataset, linear_ratio (the one used),
    latency_0, latency, gain (1 - latency / latency_0)."""
    rows = []
    g = group_table[(group_table["approach"] == baseline_approach)].dropna(subset=["latency_s"])
    for dataset, d in g.groupby("dataset"):
        zero = d[d["linear_ratio"] == 0]
        if zero.empty:
            continue
        near = d.iloc[int(np.argmin(np.abs(d["linear_ratio"].to_numpy() - at)))]
        l0 = float(zero["latency_s"].iloc[0])
        rows.append(
            {
                "dataset": dataset,
                "linear_ratio": near["linear_ratio"],
                "latency_0": l0,
                "latency": near["latency_s"],
                "gain": 1 - near["latency_s"] / l0,
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "linear_ratio", "latency_0", "latency", "gain"])


MAX_GROUP_KEYS = 3  # config keys named in a gating group's label; more: the settings are numbered


def gating_groups(
    runs: pd.DataFrame, configs: dict[str, dict], approach: str = "gating"
) -> pd.Series:
    """A label per run of *approach* naming what its runs may be pooled over: the dataset and every
    config key whose value differs between that dataset's runs of *approach* (the seed excepted),
    e.g. "mnist, sparsity_weight = 0.05". Where more than MAX_GROUP_KEYS keys differ, the label
    numbers the settings instead ("mnist, setting 2 of 4 (7 config keys differ)"): a label is a
    legend entry, and hundreds of keys made one thousands of characters long. Index: run. Runs in
    one group differ only by seed."""
    labels = {}
    for dataset, d in runs[runs["approach"] == approach].groupby("dataset", sort=True):
        names = list(d["run"])
        keys = sorted({k for r in names for k in configs.get(r, {})} - {"seed"})
        differing = [k for k in keys if len({repr(configs.get(r, {}).get(k)) for r in names}) > 1]
        settings = {r: tuple(repr(configs.get(r, {}).get(k)) for k in differing) for r in names}
        numbered = {s: i for i, s in enumerate(sorted(set(settings.values())), start=1)}
        for r in names:
            if len(differing) > MAX_GROUP_KEYS:
                parts = [
                    f"setting {numbered[settings[r]]} of {len(numbered)} "
                    f"({len(differing)} config keys differ)"
                ]
            else:
                parts = [f"{k} = {configs.get(r, {}).get(k, '–')}" for k in differing]
            labels[r] = ", ".join([str(dataset), *parts])
    return pd.Series(labels, dtype=object, name="group")


def final_alphas(gating: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Each run's gate statistics at its last epoch (the gating table's rows there: run, epoch,
    layer, alpha_mean, alpha_lt_0.1, ...) with its *groups* label (gating_groups) as column
    group."""
    last = gating[gating["epoch"] == gating.groupby("run")["epoch"].transform("max")]
    return last.assign(group=last["run"].map(groups))


def final_gates(gating: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per group (gating_groups) and layer, over the group's runs at their last epoch: mean
    alpha_mean, mean share alpha < 0.1, runs. Within a group, sorted from the most linear layer
    (lowest alpha) to the most nonlinear."""
    last = final_alphas(gating, groups)
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


def versus_labels(runs: pd.DataFrame, gate_groups: pd.Series, baseline_approach: str) -> pd.Series:
    """What each run of an approach other than *baseline_approach* is compared as: gating runs by
    their gating_groups label, "gating (mnist, sparsity_weight = 0.01)", any other approach by
    dataset, "pruning (mnist)". Index: run. Runs under one label differ only by seed."""
    others = runs[runs["approach"] != baseline_approach]
    labels = [
        f"{a} ({gate_groups[r]})" if r in gate_groups.index else f"{a} ({d})"
        for r, a, d in zip(others["run"], others["approach"], others["dataset"])
    ]
    return pd.Series(labels, index=others["run"].to_numpy(), dtype=object, name="label")


def baseline_at(runs: pd.DataFrame, dataset: str, approach: str, ratio: float) -> np.ndarray:
    """Validation accuracies (fractions) of *approach* on *dataset* at linear *ratio*, one per
    seed: at a tested ratio every run there (ratio_samples); between two tested ratios each seed's
    accuracy interpolated linearly between its runs at those two ratios (a seed without a run at
    both is left out; a run without a seed counts as its own seed). Empty outside the tested
    range."""
    sel = runs[(runs["dataset"] == dataset) & (runs["approach"] == approach) & ~is_measured(runs)]
    tested = np.sort(sel["linear_ratio"].unique())
    if tested.size == 0 or not tested[0] <= ratio <= tested[-1]:
        return np.array([])
    lo, hi = tested[tested <= ratio].max(), tested[tested >= ratio].min()
    if lo == hi:
        return ratio_samples(runs, dataset, approach, lo)
    seed = sel["seed"].where(sel["seed"].notna(), sel["run"])
    per_seed = sel.assign(seed=seed).pivot_table(
        index="seed", columns="linear_ratio", values="val_acc", aggfunc="mean"
    )
    both = per_seed[[lo, hi]].dropna()
    w = (ratio - lo) / (hi - lo)
    return ((1 - w) * both[lo] + w * both[hi]).to_numpy()


def ratio_samples(
    runs: pd.DataFrame, dataset: str, approach: str, ratio: float, column: str = "val_acc"
) -> np.ndarray:
    """*column* (default validation accuracy, a fraction) of the runs of one setting: the seeds at
    one set ratio, runs without a value left out."""
    sel = (
        (runs["dataset"] == dataset)
        & (runs["approach"] == approach)
        & np.isclose(runs["linear_ratio"], ratio)
    )
    return runs.loc[sel & ~is_measured(runs), column].dropna().to_numpy()


def efficiency(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs ranked by accuracy per millisecond of latency (the seed's composite score), latency
    by run_latency (the run's median where recorded) in column latency_s."""
    d = runs.assign(latency_s=run_latency(runs)).dropna(subset=["val_acc", "latency_s"])
    d["acc_per_ms"] = d["val_acc"] / (d["latency_s"] * 1000)
    return d.sort_values("acc_per_ms", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- findings


def findings(
    runs: pd.DataFrame,
    gating: pd.DataFrame,
    gate_groups: pd.Series,
    baseline_approach: str,
    tolerance: float,
    latency_at: float,
    confidence: float,
    split: str = "validation",
) -> list[Finding]:
    """The report's findings, in order: the smallest nonlinear fraction within *tolerance*
    (fraction of accuracy) per dataset, the gates' pattern and layer order per gating group, the
    latency gain at *latency_at*, the runs whose timings are outliers, the generalization-gap
    trend, every other approach against *baseline_approach*, and the most efficient run.
    runs: RunSet.runs; gating: RunSet.gating (may be empty); gate_groups: gating_groups(runs,
    configs); split: the data split the accuracies (val_acc) were measured on, as the sentences
    name it (split_name)."""
    group_table = groups(runs, confidence)
    return [
        *min_nonlinear_findings(runs, group_table, baseline_approach, tolerance, confidence),
        *gating_findings(gating, gate_groups, confidence),
        *latency_findings(runs, group_table, baseline_approach, latency_at, confidence),
        *outlier_findings(runs),
        *gap_findings(runs, baseline_approach, confidence),
        *versus_findings(runs, gate_groups, baseline_approach, confidence, split),
        *efficiency_findings(efficiency(runs), group_table, baseline_approach, tolerance, split),
    ]


def split_name(key: str, split: str | None = None) -> str:
    """The name of the data split an accuracy was measured on, as labels and sentences write it:
    *split* when given (what the data say it is, e.g. "test" for runs that log their test-set
    accuracy under `val_acc`), else read from the scalar *key*: "test" when it names a test
    split, "training" a training split, else "validation"."""
    if split:
        return split
    words = set(re.split(r"[^a-z]+", key.lower()))
    if words & {"test", "testing", "eval_test"}:
        return "test"
    if words & {"train", "training"}:
        return "training"
    return "validation"


def chosen_on(split: str) -> str:
    """The clause saying a choice was made on the split whose accuracy is also reported."""
    return f"chosen on the {split} accuracy it also reports, so that accuracy is optimistic for it"


def outlier_findings(runs: pd.DataFrame) -> list[Finding]:
    """ "timing_outliers": the runs whose timings are outliers (timing_outliers: mean above the
    run's own 90th percentile), each with its mean and median; nothing when no run records a
    mean, median and 90th percentile. Descriptive (no verdict): the comparisons already use each
    run's median."""
    cols = {"mean_latency_s", "p50_latency_s", "p90_latency_s"}
    if not cols <= set(runs.columns) or runs[list(cols)].dropna().empty:
        return []
    out = timing_outliers(runs)
    checked = len(runs[list(cols)].dropna())
    values = {
        "runs": out["run"].tolist(),
        "mean_ms": (1000 * out["mean_latency_s"]).tolist(),
        "median_ms": (1000 * out["p50_latency_s"]).tolist(),
        "mean_over_median": out["mean_over_median"].tolist(),
        "checked": checked,
    }
    if out.empty:
        every = "the one timed run" if checked == 1 else f"each of the {checked} timed runs"
        text = (
            f"No run's timing is an outlier: in {every} the mean latency lies below the run's own "
            "90th percentile."
        )
        return [finding("timing_outliers", Claim(text, values))]
    shown = listing(f"{r.run} ({r.mean_over_median:.1f}×)" for r in out.itertuples())
    text = (
        f"{plural(len(out), 'run')} of {checked} {'has' if len(out) == 1 else 'have'} outlier "
        "timings, a mean latency above the run's own 90th percentile (a few very slow repeats; "
        f"in brackets the mean over the median): {shown}. Latencies are compared by each run's "
        "median, which those few repeats do not move."
    )
    return [finding("timing_outliers", Claim(text, values))]


def min_nonlinear_findings(
    runs: pd.DataFrame,
    group_table: pd.DataFrame,
    baseline_approach: str,
    tolerance: float,
    confidence: float,
) -> list[Finding]:
    """Per dataset ("min_nonlinear_<dataset>"), from min_nonlinear: the largest linear ratio whose
    mean accuracy, and that of every smaller ratio, stays within *tolerance* of the all-nonlinear
    setting. It says the remaining nonlinear fraction "suffices" only when the Welch t-interval of
    the drop at that ratio lies within the tolerance (verdict "pass"); an interval reaching beyond
    it gives "not_separated" (more seeds needed), one run on a side "untested". When already the
    smallest ratio tested loses more than the tolerance: "fail" when the drop's interval lies
    wholly beyond the tolerance, else "not_separated" or "untested"."""
    out = []
    for row in min_nonlinear(group_table, baseline_approach, tolerance).itertuples():
        base = ratio_samples(runs, row.dataset, baseline_approach, 0.0)
        key = f"min_nonlinear_{row.dataset}"
        if row.linear_ratio == 0 and np.isnan(row.next_ratio):
            out.append(
                described(
                    key,
                    "{dataset}: {approach} was run only with all neurons nonlinear, so no "
                    "reduction of the nonlinearity was tested.",
                    dataset=row.dataset,
                    approach=baseline_approach,
                )
            )
            continue
        ratio = row.next_ratio if row.linear_ratio == 0 else row.linear_ratio
        sample = ratio_samples(runs, row.dataset, baseline_approach, ratio)
        drop = stats.compare({"at": sample, "zero": base}, confidence=confidence).iloc[0]
        claim = (
            _none_kept(row, drop, tolerance, confidence)
            if row.linear_ratio == 0
            else _kept(row, drop, tolerance, confidence)
        )
        out.append(finding(key, claim))
    return out


def _none_kept(row, drop: pd.Series, tolerance: float, confidence: float) -> Claim:
    """min_nonlinear_findings when the smallest ratio tested already loses more than the
    tolerance; *drop*: the stats.compare row (ratio vs. all-nonlinear)."""
    lo, hi = -100 * drop["diff_upper"], -100 * drop["diff_lower"]
    if drop["p"] != drop["p"]:
        evidence, verdict = "a single run on a side: no interval", "untested"
    elif lo > 100 * tolerance:
        evidence = f"{confidence:.0%} Welch t-interval of the drop {lo:.2f} to {hi:.2f}, wholly "
        evidence, verdict = evidence + "beyond the tolerance", "fail"
    else:
        evidence = f"{confidence:.0%} Welch t-interval of the drop {lo:.2f} to {hi:.2f}, which "
        evidence += "reaches back within the tolerance: more seeds are needed to settle it"
        verdict = "not_separated"
    values = {
        "dataset": row.dataset,
        "tol": 100 * tolerance,
        "base": row.baseline_acc,
        "ratio": row.next_ratio,
        "acc": row.next_acc,
        "drop": -100 * drop["diff"],
        "conf": confidence,
        "lo": lo,
        "hi": hi,
        "evidence": evidence,
        "none_kept": True,
    }
    text = (
        "{dataset}: no tested reduction keeps the accuracy within {tol:.1f} points of the "
        "all-nonlinear network ({base:.2%}): the smallest linear ratio tested, {ratio:.0%}, "
        "already drops it by {drop:.2f} points (to {acc:.2%}; {evidence})."
    )
    return Claim(text.format(**values), values, verdict)


def _kept(row, drop: pd.Series, tolerance: float, confidence: float) -> Claim:
    """min_nonlinear_findings when some reduction keeps the mean within the tolerance; *drop*:
    the stats.compare row (the largest such ratio vs. all-nonlinear)."""
    worst = -100 * drop["diff_lower"]
    tested = drop["p"] == drop["p"]
    established = bool(tested and worst <= 100 * tolerance)
    evidence = (
        "a single run on a side: no interval"
        if not tested
        else f"the {confidence:.0%} Welch t-interval of the drop reaches {worst:.2f} points"
        + (", within the tolerance too" if established else ", beyond the tolerance")
    )
    head = (
        "{dataset}: {nonlinear:.0%} nonlinear neurons suffice — up to {ratio:.0%} linear"
        if established
        else "{dataset}: up to {ratio:.0%} linear"
    )
    tail = (
        ""
        if established
        else "; more seeds are needed to establish that {nonlinear:.0%} nonlinear neurons suffice"
    )
    values = {
        "dataset": row.dataset,
        "nonlinear": row.nonlinear,
        "ratio": row.linear_ratio,
        "tol": 100 * tolerance,
        "acc": row.val_acc,
        "base": row.baseline_acc,
        "evidence": evidence,
        "established": established,
        "none_kept": False,
    }
    middle = (
        " the mean accuracy stays within {tol:.1f} points of the all-nonlinear network "
        "({acc:.2%} vs. {base:.2%}; {evidence})"
    )
    if np.isnan(row.next_ratio):
        text = head + " (every ratio tested)" + middle + tail + "."
    else:
        values.update(next_ratio=row.next_ratio, next_acc=row.next_acc)
        text = (
            head + middle + "; at {next_ratio:.0%} linear it drops to {next_acc:.2%}" + tail + "."
        )
    verdict = "pass" if established else "not_separated" if tested else "untested"
    if row.linear_ratio == 1:
        text = _fully_linear(values, drop, established, confidence)
    return Claim(text.format(**values), values, verdict)


def _fully_linear(values: dict, drop: pd.Series, established: bool, confidence: float) -> str:
    """_kept's sentence template when every neuron is linear and the mean stays within the
    tolerance: the network is then one linear map that matches the all-nonlinear one (or, when its
    mean is above by more than the tolerance, is said to be above, with the gain's interval), so
    the data cannot show that it needs any nonlinearity. The drop is given with its two-sided
    interval; whether that interval also lies within the tolerance (equivalence) is said after. Adds
    fully_linear, drop, drop_lower, drop_upper (points) to *values*."""
    values.update(
        fully_linear=True,
        drop=-100 * drop["diff"],
        drop_lower=-100 * drop["diff_upper"],
        drop_upper=-100 * drop["diff_lower"],
        n_runs=int(drop["n_x"]),
        conf=confidence,
    )
    values["drop_shown"] = f"{float(format(values['drop'], '.2f')) + 0.0:.2f}"  # never "-0.00"
    values["above"] = bool(values["drop"] < -values["tol"])  # better by more than the tolerance
    text = (
        "{dataset}: at 100% linear the network is one linear map (its layers fold into one "
        "matrix), and it "
    )
    if values["above"]:
        values["gain_shown"] = f"{-values['drop']:.2f}"
        text += (
            "is above the all-nonlinear network: mean accuracy {acc:.2%} vs. {base:.2%}, "
            "{gain_shown} points higher"
        )
    else:
        text += (
            "matches the all-nonlinear network: mean accuracy {acc:.2%} vs. {base:.2%}, a drop "
            "of {drop_shown} points"
        )
    if drop["p"] != drop["p"]:
        text += " (a single run on a side: no interval)"
    elif values["above"]:
        values.update(gain_lower=-values["drop_upper"], gain_upper=-values["drop_lower"])
        text += " ({conf:.0%} Welch t-interval of the gain {gain_lower:+.2f} to {gain_upper:+.2f})"
    else:
        text += " ({conf:.0%} Welch t-interval {drop_lower:+.2f} to {drop_upper:+.2f})"
    text += ". These data cannot show a need for nonlinearity"
    if values["above"]:
        return text + "."
    if established:
        return text + "; the interval lies within the {tol:.1f}-point tolerance too."
    return text + (
        "; that the linear map stays within {tol:.1f} points is not established at this number "
        "of runs."
    )


def layer_samples(final: pd.DataFrame, layers) -> dict[str, np.ndarray]:
    """{layer: final alpha_mean of each run} for *layers* in that order; final: final_alphas rows
    of one group."""
    return {
        layer: final.loc[final["layer"] == layer, "alpha_mean"].dropna().to_numpy()
        for layer in layers
    }


def gating_findings(
    gating: pd.DataFrame, gate_groups: pd.Series, confidence: float
) -> list[Finding]:
    """Per gating group ("gating_pattern", "layer_sensitivity", suffixed _1, _2, ... when there
    are several groups), from the final gates of its runs: which layers end mostly linear (final
    mean alpha below LINEAR_BELOW) and which stay nonlinear, and the most linear and most
    nonlinear layer. A layer is placed on one side of LINEAR_BELOW only when the t-interval of
    its mean over runs lies there (one run: by its value); a layer is named the most linear (or
    nonlinear) only when Welch t-tests over runs, Holm-corrected over every pair of layers,
    separate it from every other (ranking_claim). Verdicts: "separated", "not_separated",
    "untested" (one run), "only_one" (one layer); ranking: layers from the lowest mean alpha."""
    if gating.empty:
        return []
    final = final_alphas(gating, gate_groups)
    table = final_gates(gating, gate_groups)
    several = table["group"].nunique() > 1
    out = []
    for i, (group, lg) in enumerate(table.groupby("group", sort=False)):
        key = f"_{i + 1}" if several else ""
        samples = layer_samples(final[final["group"] == group], lg["layer"])
        evidence = stats.compare(samples, confidence=confidence)
        what = "final mean α"
        low = ranking_claim(samples, evidence, what, "run", confidence, higher_is_better=False)
        rev = dict(reversed(samples.items()))  # the last of equal layers, as final_gates orders
        high = ranking_claim(rev, evidence, what, "run", confidence)
        out.append(finding(f"gating_pattern{key}", _pattern(group, lg, samples, low, confidence)))
        out.append(finding(f"layer_sensitivity{key}", _sensitivity(group, lg, low, high)))
    return out


def _ties(claim: Claim) -> str:
    """'fc2 (p = 0.31) and fc3 (p = 0.04)': the layers a ranking_claim's top is not told apart
    from, with their Holm-corrected p (a single run: no p)."""
    p = dict(zip(claim.values["compared_with"], claim.values["p_holm"]))
    return listing(
        f"{t} (p = {p[t]:.2g})" if p[t] == p[t] else f"{t} (one run: no test)"
        for t in claim.values["ties"]
    )


_SIDES = ("linear", "nonlinear", "")  # the values _sides gives, in the sentence's order


def _sides(samples: dict, confidence: float) -> dict[str, str]:
    """layer -> "linear" when the t-interval of its mean final alpha over runs lies below
    LINEAR_BELOW, "nonlinear" when it lies at or above it, "" when it straddles it (one run: its
    value decides)."""
    sides = {}
    for layer, x in samples.items():
        _, lo, hi = stats.mean_ci(x, confidence) if x.size > 1 else (0, x.mean(), x.mean())
        sides[layer] = "linear" if hi < LINEAR_BELOW else "nonlinear" if lo >= LINEAR_BELOW else ""
    return sides


def _pattern(group: str, lg: pd.DataFrame, samples: dict, low: Claim, confidence: float):
    """gating_findings' pattern sentence for one group; lg: its final_gates rows (in order)."""
    n_runs = int(lg["runs"].max())
    mean = dict(zip(lg["layer"], lg["alpha_mean"]))
    side = _sides(samples, confidence)
    linear, nonlin, unclear = ([la for la in lg["layer"] if side[la] == s] for s in _SIDES)
    first = low.values["best"]
    v = {
        "group": group,
        "runs": plural(n_runs, "run"),
        "linear": listing(linear) or "no layer",
        "verb_lin": "ends" if len(linear) <= 1 else "end",
        "lin_alpha": ", ".join(f"{mean[la]:.2f}" for la in linear) or "–",
        "nonlinear": listing(nonlin) or "no layer",
        "verb_nl": "stays" if len(nonlin) <= 1 else "stay",
        "nl_alpha": ", ".join(f"{mean[la]:.2f}" for la in nonlin) or "–",
        "first": first,
        "first_share": float(lg.set_index("layer").loc[first, "alpha_lt_01"]),
        "n": n_runs,
        "linear_layers": linear,
    }
    parts = [
        f"{v['linear']} {v['verb_lin']} mostly linear (final mean α {v['lin_alpha']})"
        if linear
        else "no layer ends mostly linear",
        f"{v['nonlinear']} {v['verb_nl']} nonlinear (α {v['nl_alpha']})"
        if nonlin
        else "no layer stays nonlinear",
    ]
    if unclear:  # say only what is known: "no layer ..." would hide the undecided layers
        parts = [p for p, known in zip(parts, (linear, nonlin)) if known]
    text = f"Gating ({group}; {v['runs']}): " + "; ".join(parts)
    if unclear:
        cis = [stats.mean_ci(samples[la], confidence) for la in unclear]
        v.update(
            unclear_layers=unclear,
            unclear_alpha=[c[0] for c in cis],
            unclear_lower=[c[1] for c in cis],
            unclear_upper=[c[2] for c in cis],
            conf=confidence,
        )
        shown = ", ".join(f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in cis)
        text += (
            ("; " if parts else "")
            + f"{listing(unclear)} {'is' if len(unclear) == 1 else 'are'} not placed on either "
            f"side of α {LINEAR_BELOW:g} at this number of runs (final mean α {shown}, "
            f"{confidence:.0%} t-interval{'s' if len(unclear) > 1 else ''})"
        )
    share = f"({v['first_share']:.0%} of its neurons below α 0.1)"
    if low.verdict == "separated":
        text += f". Most linear: {first} {share}."
    elif low.verdict == "untested":
        text += f". Most linear in this one run: {first} {share}."
    elif low.verdict == "only_one":
        text += f". Only {first} has gate statistics {share}."
    else:
        text += (
            f". Lowest final mean α: {first} {share}, but it cannot be told apart from "
            f"{_ties(low)} at this number of runs (Welch t-tests over runs, Holm-corrected)."
        )
    return Claim(text, v, low.verdict, ranking=low.ranking)


def _sensitivity(group: str, lg: pd.DataFrame, low: Claim, high: Claim) -> Claim:
    """gating_findings' layer-order sentence for one group; lg: its final_gates rows; low, high:
    ranking_claim of the lowest and of the highest final mean alpha."""
    mean = dict(zip(lg["layer"], lg["alpha_mean"]))
    first, last = low.values["best"], high.values["best"]
    v = {
        "group": group,
        "runs": plural(int(lg["runs"].max()), "run"),
        "last": last,
        "last_alpha": float(mean[last]),
        "first": first,
        "first_alpha": float(mean[first]),
    }
    most_nl = f"they kept {last} the most nonlinear (mean α {v['last_alpha']:.2f})"
    most_lin = f"made {first} the most linear (α {v['first_alpha']:.2f})"
    verdict = low.verdict
    if low.verdict == "only_one":
        body = (
            f"only {first} has gate statistics (mean α {v['first_alpha']:.2f}): no order of layers"
        )
    elif low.verdict == "untested":
        body = f"in this one run {most_nl} and {most_lin}; one run gives an order, not a test"
    elif low.verdict == high.verdict == "separated":
        body = f"{most_nl} and {most_lin}"
    else:
        verdict = "not_separated"
        tied = "but cannot be told apart from {} at this number of runs"
        body = (
            most_nl
            if high.verdict == "separated"
            else f"{last} has the highest mean α ({v['last_alpha']:.2f}) "
            + tied.format(_ties(high))
        )
        body += "; " + (
            f"they {most_lin}"
            if low.verdict == "separated"
            else f"{first} has the lowest ({v['first_alpha']:.2f}) " + tied.format(_ties(low))
        )
        body += " (Welch t-tests over runs, Holm-corrected)"
    text = (
        f"Gates per layer ({group}; {v['runs']}): {body}. Gate values alone do not show which "
        "layer's nonlinearity matters for accuracy; that needs a per-layer ablation, which these "
        "runs do not include."
    )
    return Claim(text, v, verdict, ranking=low.ranking)


def latency_findings(
    runs: pd.DataFrame,
    group_table: pd.DataFrame,
    baseline_approach: str,
    at: float,
    confidence: float,
) -> list[Finding]:
    """Per dataset ("latency_gain_<dataset>"), from latency_gain: the latency of the runs at the
    tested ratio nearest *at* against all neurons nonlinear, each run's latency by run_latency
    (its median over repeats where recorded), compared on log latencies by the claim policy
    (stats.log_compare, findings.time_claim: Welch's t-test over runs, the ratio of geometric
    means with its interval). A reduction is stated only when the test separates the two and the
    medians agree (verdict "better", winner the reduced setting); a slower reduced network is
    said to be slower ("worse"); otherwise the two cannot be told apart ("not_separated"), or one
    run on a side allows no test ("untested"). values: time_claim's, its ratio of geometric means
    as ratio_gm, plus dataset, ratio (the linear ratio), gain (1 - the ratio of the medians over
    runs) and basis (what a run's latency is)."""
    out = []
    timed = runs.assign(latency_s=run_latency(runs))
    basis = latency_basis(runs)
    for row in latency_gain(group_table, baseline_approach, at).itertuples():
        key = f"latency_gain_{row.dataset}"
        if row.linear_ratio == 0:
            out.append(
                described(
                    key,
                    "{dataset}: the tested ratio nearest {at:.0%} with a measured latency is the "
                    "all-nonlinear setting itself, so there is no latency gain to state.",
                    dataset=row.dataset,
                    at=at,
                )
            )
            continue
        reduced, full = (
            ratio_samples(timed, row.dataset, baseline_approach, r, "latency_s")
            for r in (row.linear_ratio, 0.0)
        )
        names = (f"{row.linear_ratio:.0%} linear", "0% linear")
        diff = stats.log_compare(dict(zip(names, (reduced, full))), confidence=confidence)
        what = f"latency (each run's {basis} over repeats)"
        claim = time_claim(diff.iloc[0], what, "run", confidence)
        text = f"{row.dataset}: {claim.text}"
        if claim.verdict == "better":
            text = text[:-1] + f", a {row.gain:.1%} lower median."
        values = {
            **claim.values,
            "ratio_gm": claim.values["ratio"],  # time_claim's ratio of geometric means
            "dataset": row.dataset,
            "ratio": row.linear_ratio,
            "gain": row.gain,
            "basis": basis,
        }
        out.append(finding(key, replace(claim, text=text, values=values)))
    return out


def gap_findings(runs: pd.DataFrame, approach: str, confidence: float) -> list[Finding]:
    """ "gap_trend": the trend of the generalization gap (train - val accuracy, in points) on the
    linear ratio over the runs of *approach* (gap_trend), by trend_claim: "grows" or "shrinks"
    only when the slope's t-interval excludes zero (verdict "rises"/"falls"), else "shows no
    clear trend" ("flat"). With too few runs or one ratio, a sentence saying so; nothing when
    *approach* has no run."""
    trend = gap_trend(runs, approach, confidence)
    d = runs[(runs["approach"] == approach)].dropna(subset=["train_acc", "val_acc"])
    if trend is None:
        if d.empty:
            return []
        return [
            described(
                "gap_trend",
                "No trend of the generalization gap is fitted: that needs at least 3 {approach} "
                "runs at 2 or more linear ratios, and there {are} {runs} at {ratios}.",
                approach=approach,
                are="is" if len(d) == 1 else "are",
                runs=plural(len(d), "run"),
                ratios=plural(d["linear_ratio"].nunique(), "ratio"),
                n=len(d),
            )
        ]
    claim = trend_claim(
        trend,
        "The generalization gap",
        "the linear ratio",
        words=("grows", "shrinks"),
        per="points per 100% linear",
        scale=100,
        confidence=confidence,
        unit=f"{approach} run",
    )
    return [finding("gap_trend", replace(claim, values={**claim.values, "approach": approach}))]


def versus_findings(
    runs: pd.DataFrame,
    gate_groups: pd.Series,
    baseline_approach: str,
    confidence: float,
    split: str = "validation",
) -> list[Finding]:
    """Each other approach's runs (versus_labels; "versus_1", "versus_2", ... in label order)
    against *baseline_approach* at their mean linear ratio (baseline_at: the baseline's seeds
    interpolated there), by versus_claim: Welch t-test over runs, Holm-corrected over the labels
    compared (verdict "better", "worse", "not_separated"). A label with one run gets its
    difference and no claim ("untested"); one whose ratio lies outside the baseline's tested
    range is named and not compared (no verdict)."""
    labels = versus_labels(runs, gate_groups, baseline_approach)
    rows, out = [], {}
    for label, names in labels.groupby(labels, sort=True).groups.items():
        mine = runs[runs["run"].isin(names)]
        ratio = float(mine["linear_ratio"].mean())
        dataset = mine["dataset"].iloc[0]
        tested = ratio_range(runs, dataset, baseline_approach)
        values = {
            "group": label,
            "baseline": baseline_approach,
            "ratio": ratio,
            "ratio_min": float(mine["linear_ratio"].min()),
            "ratio_max": float(mine["linear_ratio"].max()),
            "n": len(mine),
        }
        base = baseline_at(runs, dataset, baseline_approach, ratio)
        if base.size == 0:
            out[label] = _not_compared(values, dataset, tested)
            continue
        y = f"{baseline_approach} at {ratio:.0%} linear" + (
            ""
            if np.isclose(tested, ratio).any()
            else " (interpolated per seed between the tested ratios)"
        )
        evidence = stats.compare(
            {label: mine["val_acc"].to_numpy(), y: base}, confidence=confidence
        )
        rows.append((label, values, evidence.iloc[0].copy()))
    p = [row["p"] for _, _, row in rows if row["p"] == row["p"]]
    adjusted = iter(stats.holm(p))
    for label, values, row in rows:
        if row["p"] == row["p"]:  # Holm over every label tested, not per label
            row["p_holm"] = float(next(adjusted))
            row["separated"] = bool(row["p_holm"] < 1 - confidence)
        out[label] = _versus_claim(values, row, confidence, split)
    return [finding(f"versus_{i + 1}", out[label]) for i, label in enumerate(sorted(out))]


def ratio_range(runs: pd.DataFrame, dataset: str, approach: str) -> np.ndarray:
    """The set linear ratios *approach* was run at on *dataset*, sorted (measured ratios left
    out)."""
    sel = (runs["dataset"] == dataset) & (runs["approach"] == approach) & ~is_measured(runs)
    return np.sort(runs.loc[sel, "linear_ratio"].unique())


def _versus_claim(values: dict, row: pd.Series, confidence: float, split: str) -> Claim:
    """versus_findings' sentence for one label; row: its stats.compare row, Holm-adjusted."""
    if row["n_x"] == 1:
        delta = 100 * row["diff"]
        text = (
            f"The one {row['x']} run vs. {row['y']}: {delta:+.2f} points; one run, so no "
            "interval and no claim."
        )
        return Claim(text, {**values, "delta": delta}, "untested")
    claim = versus_claim(row, f"{split} accuracy", "run", confidence, scale=100, points="points")
    return replace(claim, values={**values, **claim.values})


def _not_compared(values: dict, dataset: str, tested: np.ndarray) -> Claim:
    """versus_findings' sentence for a label the baseline cannot be interpolated for."""
    where = (
        f"{values['baseline']} has no run with a set ratio on {dataset}"
        if tested.size == 0
        else f"{values['baseline']} was tested on {dataset} from {tested[0]:.0%} to "
        f"{tested[-1]:.0%} linear only"
        if not tested[0] <= values["ratio"] <= tested[-1]
        else f"no seed of {values['baseline']} on {dataset} has runs at both tested ratios "
        "around it"
    )
    text = (
        f"{values['group']} ({plural(values['n'], 'run')}, mean linear ratio "
        f"{values['ratio']:.0%}) is not compared with {values['baseline']}: {where}."
    )
    return Claim(text, values)


def efficiency_findings(
    ranking: pd.DataFrame,
    group_table: pd.DataFrame,
    baseline_approach: str,
    tolerance: float,
    split: str = "validation",
) -> list[Finding]:
    """ "most_efficient": the run with the highest accuracy per ms of latency (ranking:
    efficiency output), what it costs in accuracy against its dataset's all-nonlinear mean, and,
    when that is more than *tolerance*, the most efficient run within the tolerance; the sentence
    says the run was chosen on the *split* accuracy it reports. Single runs give an order and
    no test: verdict "untested", no winner, ranking every run from the most efficient."""
    if ranking.empty:
        return []
    top = ranking.iloc[0]
    ref = all_nonlinear_accuracy(group_table, baseline_approach)
    within = ranking[ranking["dataset"].map(ref) - ranking["val_acc"] <= tolerance]
    v = {
        "run": top["run"],
        "ratio": top["linear_ratio"],
        "score": top["acc_per_ms"],
        "tol": 100 * tolerance,
        "split": split,
    }
    head = (
        f"Most efficient run ({split} accuracy per ms of latency): {v['run']} "
        f"({top['approach']}, {v['ratio']:.0%} linear), {v['score']:.3f} accuracy per ms"
    )
    if top["dataset"] not in ref.index:
        v.update(approach=top["approach"], dataset=top["dataset"])
        text = (
            f"{head}; {top['dataset']} has no all-nonlinear {baseline_approach} run to measure "
            "its accuracy cost against."
        )
    elif not within.empty and within.iloc[0]["run"] == top["run"]:
        v.update(approach=top["approach"], gain=100 * (top["val_acc"] - ref[top["dataset"]]))
        text = (
            f"{head}, {v['gain']:.1f} points above the all-nonlinear network."
            if v["gain"] > v["tol"]
            else f"{head}, within {v['tol']:.1f} points of the all-nonlinear network."
        )
    else:
        v.update(cost=100 * (ref[top["dataset"]] - top["val_acc"]))
        text = (
            f"The highest {split} accuracy per ms of latency, {v['score']:.3f}, belongs to "
            f"{v['run']} ({v['ratio']:.0%} linear), which costs "
            f"{v['cost']:.2f} points of accuracy against the all-nonlinear network; "
        )
        if within.empty:
            text += f"no run stays within {v['tol']:.1f} points of the all-nonlinear network."
        else:
            ok = within.iloc[0]
            v.update(
                ok_run=ok["run"],
                ok_approach=ok["approach"],
                ok_ratio=ok["linear_ratio"],
                ok_score=ok["acc_per_ms"],
            )
            text += (
                f"among the runs within {v['tol']:.1f} points of the all-nonlinear network, the "
                f"most efficient is {v['ok_run']} ({v['ok_approach']}, {v['ok_ratio']:.0%} "
                f"linear, {v['ok_score']:.3f} accuracy per ms)."
            )
    text += f" The run is {chosen_on(split)}." + _setting_spread(ranking, top, v)
    claim = Claim(text, v, "untested", ranking=tuple(ranking["run"]))
    return [finding("most_efficient", claim)]


def _setting_spread(ranking: pd.DataFrame, top: pd.Series, values: dict) -> str:
    """The sentence on how far the top run's own setting (its dataset, approach and set ratio, or
    its gating approach) spreads in accuracy per ms, when that setting has more than one run; the
    numbers go into *values*. A run's latency is one noisy measurement: the spread says whether
    the top place belongs to the setting or to that run."""
    same = (ranking["dataset"] == top["dataset"]) & (ranking["approach"] == top["approach"])
    measured = is_measured(ranking)
    if measured[ranking["run"] == top["run"]].iloc[0]:
        same &= measured
        setting = f"{top['approach']} runs"
    else:
        same &= ~measured & (ranking["linear_ratio"] == top["linear_ratio"])
        setting = f"runs of its setting ({top['approach']}, {top['linear_ratio']:.0%} linear)"
    scores = ranking.loc[same, "acc_per_ms"]
    if len(scores) < 2:
        return ""
    values.update(setting_n=len(scores), setting_lo=scores.min(), setting_hi=scores.max())
    return (
        f" The {len(scores)} {setting} range from {scores.min():.3f} to {scores.max():.3f} "
        "accuracy per ms: single runs, no test, so this names a run, not a better setting."
    )
