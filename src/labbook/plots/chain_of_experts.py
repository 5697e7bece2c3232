"""Figures of the chain-of-experts report. Each function takes tidy data and returns the finished
Figure, drawn with the rcParams in force (call it inside style.paper's rc_context and save it with
Report.figure there too). Colours: {method name: colour} (style.method_colors)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from labbook import statplots, style

COST_LABELS = {"gflops": "GFLOPs", "params_m": "Params (M)"}  # cost column -> axis label


def method_comparison(
    summary: pd.DataFrame,
    accuracy: dict[str, np.ndarray],
    colors: dict[str, str],
    baseline: str,
    confidence: float,
) -> plt.Figure:
    """Accuracy per method, best first (statplots.seeds_and_mean): every seed as a small dot, the
    mean as a large dot with its t-interval as whiskers where a method has several seeds,
    labelled with the mean and its difference to the baseline in points. The axis spans the data,
    not 0 to 100 %, so a gap of a point or two stays visible.
    summary: analyses.chain_of_experts.summary() (index: method key; accuracy in %); accuracy:
    {method key: array(seeds), %}."""
    has_ci = summary["seeds"] > 1
    fig, ax = plt.subplots()
    value_labels = [
        f"{acc:.1f}" + ("" if key == baseline else f" ({d:+.1f})")
        for key, acc, d in zip(summary.index, summary["accuracy"], summary["delta_vs_baseline"])
    ]
    statplots.seeds_and_mean(
        ax,
        list(summary["method"]),
        [accuracy[key] for key in summary.index],
        summary["accuracy"],
        summary["ci_lower"].where(has_ci),
        summary["ci_upper"].where(has_ci),
        [colors[m] for m in summary["method"]],
        texts=value_labels,
    )
    ax.set_ylabel("Top-1 accuracy (%)")
    ax.set_title(
        "Accuracy per method: seeds (small dots), mean (large dot; label: mean, difference to the "
        "baseline in points)"
        + (f", whiskers: {confidence:.0%} t-interval over seeds" if has_ci.any() else ""),
        fontsize="small",
    )
    return fig


def _band_label(runs: pd.DataFrame) -> str:
    """'mean over 5 seeds, band: min–max' ('mean over 1 seeds' has no band)."""
    n = int(runs["seed"].nunique())
    return f"mean over {n} seeds" + (", band: min–max" if n > 1 else "")


def ablation(runs: pd.DataFrame, means: pd.DataFrame, plateau_x: float) -> plt.Figure:
    """Accuracy against experts per block (log2 axis): mean over seeds with its min–max band and a
    dotted line where the plateau starts. runs: experts_per_block, seed, accuracy (%); means:
    analyses.chain_of_experts.sweep_means() of it (index experts_per_block, ascending)."""
    fig, ax = plt.subplots()
    rng = runs.groupby("experts_per_block")["accuracy"].agg(["min", "max"])
    statplots.mean_band(
        ax,
        means.index,
        means["accuracy"],
        rng["min"],
        rng["max"],
        style.REFERENCE,
        label=_band_label(runs),
        marker="o",
    )
    ax.axvline(plateau_x, color=style.NEUTRAL, ls=":", label=f"plateau from {plateau_x:g}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(means.index, [f"{x:g}" for x in means.index])
    ax.minorticks_off()
    ax.set(
        xlabel="Experts per block",
        ylabel="Top-1 accuracy (%)",
        title="Effect of experts per block",
    )
    ax.legend(loc="lower right")
    return fig


def entropy_regularization(runs: pd.DataFrame, means: pd.DataFrame) -> plt.Figure:
    """Two panels against the entropy coefficient (evenly spaced, not to scale): accuracy (left,
    the best coefficient marked) and average gate entropy (right), each the mean over seeds with
    its min–max band. runs: entropy_coeff, seed, accuracy (%), avg_entropy; means:
    sweep_means() of it (index entropy_coeff, ascending)."""
    fig, (ax1, ax2) = plt.subplots(1, 2)
    pos = np.arange(len(means))
    rng = runs.groupby("entropy_coeff")[["accuracy", "avg_entropy"]].agg(["min", "max"])
    for ax, col, label, marker in (
        (ax1, "accuracy", "Top-1 accuracy (%)", "o"),
        (ax2, "avg_entropy", "Average gate entropy", "s"),
    ):
        statplots.mean_band(
            ax,
            pos,
            means[col],
            rng[(col, "min")],
            rng[(col, "max")],
            style.REFERENCE,
            label=_band_label(runs),
            marker=marker,
        )
        ax.set_xticks(pos, [f"{c:g}" for c in means.index])
        ax.set(xlabel="Entropy coefficient (not to scale)", ylabel=label)
    best = int(np.argmax(means["accuracy"].to_numpy()))
    ax1.axvline(best, color=style.NEUTRAL, ls=":", label="best accuracy")
    ax1.set_title("Accuracy")
    ax2.set_title("Gate entropy")
    statplots.legend_above(fig, [ax1, ax2])
    return fig


def gate_heatmaps(gate_means: dict[str, np.ndarray]) -> plt.Figure:
    """One heatmap per method (blocks as rows, experts as columns) on one 0–1 colour scale with a
    single colour bar; cells annotated when a method has at most 64 of them.
    gate_means: {method name: array(blocks, experts)}, at least one."""
    fig, axes = plt.subplots(1, len(gate_means), squeeze=False)
    for ax, (name, gates) in zip(axes[0], gate_means.items()):
        sns.heatmap(
            gates,
            vmin=0,
            vmax=1,
            cmap="viridis",
            ax=ax,
            cbar=ax is axes[0][-1],
            cbar_kws={"label": "Mean gate activation"},
            annot=gates.size <= 64,
            fmt=".2f",
            annot_kws={"fontsize": 5.5},
            linewidths=0,
        )
        ax.grid(False)
        ax.set_title(name)
        ax.set_xlabel("Expert")
        ax.set_ylabel("Block")
    return fig


def block_entropy_confidence(
    entropy: dict[str, np.ndarray], confidence: dict[str, np.ndarray], colors: dict[str, str]
) -> plt.Figure:
    """Recorded gate entropy per block (left; a panel saying so when no method recorded it) and
    gate confidence per block (right), one line per method. entropy, confidence: {method name:
    array(blocks)}."""
    fig, (ax1, ax2) = plt.subplots(1, 2)
    for name, values in entropy.items():
        ax1.plot(range(len(values)), values, marker="o", color=colors[name], label=name)
    for name, values in confidence.items():
        ax2.plot(range(len(values)), values, marker="s", color=colors[name], label=name)
    ax1.set(xlabel="Block", ylabel="Gate entropy", title="Entropy per block")
    ax2.set(xlabel="Block", ylabel="Gate confidence", title="Confidence per block")
    for ax in (ax1, ax2):
        statplots.integer_ticks(ax)
    statplots.legend_above(fig, [ax1, ax2])
    if not entropy:
        statplots.empty_panel(ax1, "no per-block entropy recorded")
    return fig


def convergence(conv: pd.DataFrame, colors: dict[str, str]) -> plt.Figure:
    """Training loss (left) and validation accuracy (right) per epoch: per method, each seed's
    curve as a thin line and the mean over its seeds as a thick one (one curve per method when
    the curves name no seed); a method without a colour in *colors* gets one of its own.
    conv: method, seed, epoch, train_loss, val_acc (%)."""
    conv_colors = {**style.method_colors(conv["method"].unique()), **colors}
    fig, (ax1, ax2) = plt.subplots(1, 2)
    seeds = conv.groupby("method", sort=False)["seed"].nunique()
    for name, g in conv.groupby("method", sort=False):
        color = conv_colors[name]
        for ax, col in ((ax1, "train_loss"), (ax2, "val_acc")):
            if seeds[name] > 1:
                wide = g.pivot(index="seed", columns="epoch", values=col)
                statplots.run_lines(ax, wide.columns, wide.to_numpy(), color=color, lw=0.5)
            mean = g.groupby("epoch", sort=True)[col].mean()
            ax.plot(mean.index, mean.to_numpy(), color=color, lw=1.6, label=name)
    ax1.set(xlabel="Epoch", ylabel="Training loss", title="Training loss")
    ax2.set(xlabel="Epoch", ylabel="Validation accuracy (%)", title="Validation accuracy")
    for ax in (ax1, ax2):
        statplots.integer_ticks(ax)
    title = None
    if (seeds > 1).any():
        n = seeds.max() if seeds.nunique() == 1 else f"{seeds.min()}–{seeds.max()}"
        title = f"thin: one seed; thick: mean over {n} seeds"
    statplots.legend_above(fig, [ax1, ax2], title=title)
    return fig


def accuracy_vs_cost(
    summary: pd.DataFrame,
    fronts: dict[str, pd.Series],
    colors: dict[str, str],
    confidence: float,
) -> plt.Figure:
    """One panel per cost: each method's accuracy (t-interval bars where it has several seeds)
    against the cost, the Pareto front dashed and its methods ringed. summary: summary();
    fronts: {cost column: bool Series by method key} (analyses.chain_of_experts.cost_fronts)."""
    fig, axes = plt.subplots(1, len(fronts), squeeze=False)
    for ax, (cost, front) in zip(axes[0], fronts.items()):
        f = summary[front].sort_values(cost)
        ax.plot(
            f[cost], f["accuracy"], color=style.NEUTRAL, ls="--", zorder=2, label="Pareto front"
        )
        for _, row in summary.iterrows():
            err = (
                [[row["accuracy"] - row["ci_lower"]], [row["ci_upper"] - row["accuracy"]]]
                if row["seeds"] > 1
                else None
            )
            ax.errorbar(
                row[cost],
                row["accuracy"],
                yerr=err,
                fmt="o",
                color=colors[row["method"]],
                label=row["method"],
                zorder=3,
            )
        ax.scatter(
            f[cost],
            f["accuracy"],
            s=70,
            facecolors="none",
            edgecolors="k",
            zorder=4,
            label="on the front",
        )
        ax.set(xlabel=COST_LABELS[cost], ylabel="Top-1 accuracy (%)")
        ax.margins(x=0.12, y=0.12)
    title = "Accuracy vs. cost"
    if (summary["seeds"] > 1).any():
        title += f" (bars: {confidence:.0%} CI over seeds)"
    axes[0][0].set_title(title, loc="left", fontsize="small")
    statplots.legend_above(fig, axes[0], ncols=5)
    return fig
