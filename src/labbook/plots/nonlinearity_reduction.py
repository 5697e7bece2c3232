"""Figures of the nonlinearity-reduction report, each built from the analysis' tidy tables
(sources.nonlinearity_reduction.RunSet, analyses.nonlinearity_reduction) and returned unsaved.
Accuracies are fractions and latencies seconds in the tables; the figures show % and ms. Sizes
come from the rcParams in force (style.paper), so a caller sets those around the call."""

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import seaborn as sns

from labbook import statplots, style
from labbook.findings import plural, trend_verdict

RATIO_CMAP = "viridis"  # linear ratio 0 (all nonlinear) to 1 (all linear)


def accuracy_vs_ratio(
    groups: pd.DataFrame,
    measured: pd.DataFrame,
    colors: dict,
    confidence: float,
    split: str = "validation",
) -> plt.Figure:
    """Accuracy on *split* (%) against linear neurons (%): per approach the mean over seeds with
    its t-interval band (groups: analyses groups() rows), and runs whose ratio was measured from
    their gates as single diamonds (measured: runs rows). colors: approach -> colour."""
    fig, ax = plt.subplots()
    for approach, g in groups.groupby("approach"):
        seeds = int(g["runs"].max())
        statplots.mean_band(
            ax,
            100 * g["linear_ratio"],
            100 * g["val_acc"],
            100 * g["lower"],
            100 * g["upper"],
            color=colors[approach],
            label=f"{approach}: mean of {plural(seeds, 'seed')}"
            + (f", band {confidence:.0%} t-interval" if seeds > 1 else ""),
            marker="o",
        )
    for approach, g in measured.groupby("approach"):
        ax.scatter(
            100 * g["linear_ratio"],
            100 * g["val_acc"],
            marker="D",
            s=18,
            color=colors[approach],
            label=f"{approach} (measured ratio)",
            zorder=3,
        )
    ax.set(
        xlabel="Linear neurons (%)",
        ylabel=f"{split.capitalize()} accuracy (%)",
        title="Accuracy vs. linear ratio",
    )
    statplots.legend_above(fig, [ax], ncols=2)
    return fig


def latency_vs_accuracy(
    timed: pd.DataFrame,
    front: pd.DataFrame,
    measured,
    outliers=(),
    split: str = "validation",
    basis: str = "median",
) -> plt.Figure:
    """Every run's latency (ms; timed: runs rows with column latency_s, the run's median where
    recorded, analyses.run_latency) against its accuracy on *split* (%), coloured by linear ratio
    (larger dots: ratio measured from gates, *measured* a boolean per row of *timed*), each run's
    spread over its repeats as a bar from its median to its 90th percentile (where recorded), the
    runs named in *outliers* (their mean above their own 90th percentile) ringed, and the line
    through the Pareto front (front: analyses pareto() rows, sorted by latency); latency on a
    log axis when the values drawn span more than a factor 10. *basis*: what a run's latency is,
    for the axis label."""
    fig, ax = plt.subplots()
    if "p90_latency_s" in timed:
        spread = timed.dropna(subset=["p90_latency_s"])
        ax.hlines(
            100 * spread["val_acc"],
            1000 * spread["latency_s"],
            1000 * spread["p90_latency_s"],
            color="0.6",
            lw=0.8,
            zorder=1,
            label="median to 90th percentile of a run's repeats",
        )
    sc = ax.scatter(
        1000 * timed["latency_s"],
        100 * timed["val_acc"],
        c=timed["linear_ratio"],
        cmap=plt.get_cmap(RATIO_CMAP),
        vmin=0,
        vmax=1,
        s=np.where(measured, 30, 16),
        marker="o",
        edgecolors="none",
        zorder=2,
    )
    odd = timed[timed["run"].isin(list(outliers))]
    if not odd.empty:
        ax.scatter(
            1000 * odd["latency_s"],
            100 * odd["val_acc"],
            s=70,
            facecolors="none",
            edgecolors=style.PALETTE[1],
            lw=1,
            zorder=3,
            label="outlier timing (mean above the run's 90th percentile)",
        )
    ax.plot(
        1000 * front["latency_s"],
        100 * front["val_acc"],
        color=style.PALETTE[3],
        lw=1.5,
        label="Pareto front",
    )
    fig.colorbar(sc, ax=ax, label="Linear ratio")
    shown = timed["latency_s"]
    if "p90_latency_s" in timed:
        shown = pd.concat([shown, timed["p90_latency_s"]]).dropna()
    log = bool(shown.min() > 0 and shown.max() > 10 * shown.min())
    if log:  # times compare as ratios, and a slow repeat can be 100x a run's median
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(
        xlabel=f"Latency (ms{', log scale' if log else ''}; each run's {basis} over repeats)",
        ylabel=f"{split.capitalize()} accuracy (%)",
        title="Latency vs. accuracy",
    )
    statplots.legend_above(fig, [ax], ncols=1)
    return fig


def val_curves(
    history: pd.DataFrame, runs: pd.DataFrame, names, title: str, split: str = "validation"
) -> plt.Figure:
    """Accuracy on *split* (%) per epoch of the runs *names* (history: RunSet.history rows; runs:
    RunSet.runs, for each run's linear ratio and rule), coloured by linear ratio, gating runs
    dashed, with a colour bar for the ratio."""
    cmap = plt.get_cmap(RATIO_CMAP)
    fig, ax = plt.subplots()
    info = runs.set_index("run")
    for name in names:
        h = history[history["run"] == name]
        ax.plot(
            h["epoch"],
            100 * h["val_acc"],
            color=cmap(info.loc[name, "linear_ratio"]),
            lw=0.9,
            alpha=0.85,
            ls="--" if info.loc[name, "ratio_rule"].startswith("gating") else "-",
        )
    fig.colorbar(
        plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1)), ax=ax, label="Linear ratio"
    )
    ax.set(xlabel="Epoch", ylabel=f"{split.capitalize()} accuracy (%)", title=title)
    statplots.integer_ticks(ax)
    return fig


def gating_dynamics(
    gating: pd.DataFrame, gate_groups: pd.Series, group_names: list, layer_colors: dict
) -> plt.Figure:
    """One row per gating group (group_names; gate_groups: run -> group), two panels: mean α and
    share α < 0.1 per layer over epochs, the mean over the group's runs with the min–max band
    (gating: RunSet.gating rows; layer_colors: layer -> colour, in legend order)."""
    # both columns run 0..1 but measure different things: each keeps its own tick labels
    fig, axes = plt.subplots(len(group_names), 2, sharex=True, sharey="col", squeeze=False)
    for row, grp in zip(axes, group_names):
        sub = gating[gating["run"].map(gate_groups) == grp]
        for ax, stat, label in zip(
            row, ("alpha_mean", "alpha_lt_0.1"), ("Mean α", "Share α < 0.1")
        ):
            per = (
                sub.dropna(subset=[stat])
                .groupby(["layer", "epoch"], sort=False)[stat]
                .agg(["mean", "min", "max"])
                .reset_index()
            )
            for layer, d in per.groupby("layer", sort=False):
                statplots.mean_band(
                    ax, d["epoch"], d["mean"], d["min"], d["max"], layer_colors[layer], label=layer
                )
            ax.set(ylabel=label, ylim=(0, 1))
            ax.set_title(f"{grp} ({plural(sub['run'].nunique(), 'run')})", fontsize="small")
            statplots.integer_ticks(ax)
    for ax in axes[-1]:
        ax.set_xlabel("Epoch")
    statplots.legend_above(
        fig,
        axes,
        title="Layer: mean gate over the group's runs, band: min–max over runs "
        "(runs pooled only within a group: same dataset and config)",
    )
    return fig


def alpha_distributions(
    alphas: pd.DataFrame, group_names: list, layer_colors: dict, threshold: float
) -> plt.Figure:
    """One panel per gating group that stores per-neuron gates: violins of the final α per layer
    (alphas: RunSet.alphas rows with a group column; group_names in panel order; layer_colors:
    layer -> colour, in axis order), quartiles dashed, a line at α = *threshold*."""
    fig, axes = plt.subplots(1, len(group_names), sharey=True, squeeze=False)
    for ax, grp in zip(axes[0], group_names):
        d = alphas[alphas["group"] == grp]
        sns.violinplot(
            data=d,
            x="layer",
            y="alpha",
            hue="layer",
            palette=layer_colors,
            cut=0,
            inner="quartile",
            density_norm="width",
            legend=False,
            ax=ax,
            order=[layer for layer in layer_colors if layer in set(d["layer"])],
        )
        ax.axhline(threshold, color=style.REFERENCE, ls="--", lw=0.8)
        ax.set(
            xlabel="Layer",
            ylabel="Final α per neuron",
            ylim=(0, 1),
            title=f"{grp} ({plural(d['run'].nunique(), 'run')})",
        )
        ax.title.set_fontsize("small")
    fig.suptitle(
        f"Final gate distribution per layer (quartiles dashed; line: α = {threshold:g})",
        fontsize="medium",
    )
    return fig


def generalization_gap(
    runs: pd.DataFrame,
    trend: dict | None,
    colors: dict,
    baseline_approach: str,
    confidence: float = 0.95,
    split: str = "validation",
) -> plt.Figure:
    """Train minus *split* accuracy (points) of every run against linear neurons (%), one
    colour per approach (diamonds for approaches other than the baseline), and the baseline's
    least-squares line (trend: stats.linear_trend of the gap as a fraction on the ratio, at
    *confidence*, or None for no line). The legend gives the slope with its interval; a slope whose
    interval contains zero is drawn dashed and labelled "no clear trend", as the finding says."""
    fig, ax = plt.subplots()
    gap = runs.assign(gen_gap=runs["train_acc"] - runs["val_acc"])
    for approach, g in gap.groupby("approach"):
        ax.scatter(
            100 * g["linear_ratio"],
            100 * g["gen_gap"],
            s=14,
            color=colors[approach],
            label=approach,
            marker="D" if approach != baseline_approach else "o",
        )
    ncols = 2
    if trend is not None:
        verdict = trend_verdict(trend)
        xs = np.linspace(0, 1, 50)
        slope, lo, hi = (100 * trend[k] for k in ("slope", "lower", "upper"))
        interval = (
            f" ({confidence:.0%} CI {lo:+.2f} to {hi:+.2f})" if np.isfinite([lo, hi]).all() else ""
        )
        flat = "" if verdict != "flat" else ": no clear trend"
        ax.plot(
            100 * xs,
            100 * (trend["intercept"] + trend["slope"] * xs),
            color=colors[baseline_approach],
            lw=1,
            ls="--" if verdict == "flat" else "-",
            label=f"{baseline_approach} least squares: {slope:+.2f} points per 100% linear"
            f"{interval}{flat}",
        )
        ncols = 3 if len(interval + flat) < 20 else 2
    ax.set(
        xlabel="Linear neurons (%)",
        ylabel=f"Train − {split} accuracy (points)",
        title="Generalization gap",
    )
    statplots.legend_above(fig, [ax], ncols=ncols)
    return fig


def accuracy_vs_flops(runs: pd.DataFrame, colors: dict, split: str = "validation") -> plt.Figure:
    """Accuracy on *split* (%) against approximate linear-layer MFLOPs, one colour per approach
    (colors: approach -> colour), dots sized by linear ratio."""
    fig, ax = plt.subplots()
    for approach, g in runs.groupby("approach"):
        ax.scatter(
            g["approx_linear_flops"] / 1e6,
            100 * g["val_acc"],
            s=10 + 60 * g["linear_ratio"],
            color=colors[approach],
            alpha=0.75,
            label=approach,
            edgecolors="none",
        )
    ax.set(
        xlabel="Approx. linear-layer MFLOPs",
        ylabel=f"{split.capitalize()} accuracy (%)",
        title="Accuracy vs. linear FLOPs (size: linear ratio)",
    )
    ax.legend()
    return fig


def activation_stats(act: pd.DataFrame, approach_of: pd.Series, colors: dict) -> plt.Figure:
    """One panel per statistic (act: RunSet.activation rows run, layer, stat, value): the value
    per layer, one line per run in its approach's colour (approach_of: run -> approach; colors:
    approach -> colour), told apart by marker and dash."""
    stat_names = list(dict.fromkeys(act["stat"]))
    fig, axes = plt.subplots(1, len(stat_names), squeeze=False)
    for ax, stat in zip(axes[0], stat_names):
        for i, (run_name, d) in enumerate(act[act["stat"] == stat].groupby("run", sort=False)):
            ax.plot(
                d["layer"],
                d["value"],
                marker="os^vD"[i % 5],
                ls=["-", "--", ":", "-."][i % 4],
                color=colors[approach_of[run_name]],
                label=run_name,
            )
        ax.set(title=stat.replace("_", " "), xlabel="Layer")
    statplots.legend_above(fig, axes[0], title="Run (colour: approach)")
    return fig
