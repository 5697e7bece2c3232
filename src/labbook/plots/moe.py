"""Figures of the MoE report. Each function takes the tidy tables of labbook.analyses.moe (per-run
rows, method keys) with the display names and colours of the methods, draws a new figure in the
current rcParams (the caller sets the venue's size with style.paper) and returns it."""

import math
import textwrap
from collections.abc import Collection, Mapping, Sequence

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labbook import statplots, stats, style
from labbook.analyses import moe

MEAN_OF_TYPE = "mean of the type (in its colour)"


def _smooth(values: pd.Series, alpha: float) -> np.ndarray:
    """stats.ema of a curve (array(points)) whatever its index."""
    return stats.ema(values.reset_index(drop=True), alpha).to_numpy()


def _count_words(counts) -> str:
    """'10 runs' or '3–10 runs' for the run counts of a figure's curves."""
    lo, hi = int(min(counts)), int(max(counts))
    return f"{lo} runs" if lo == hi else f"{lo}–{hi} runs"


def _range_of(values: np.ndarray, margin: float = 0.05) -> tuple[float, float]:
    """y limits around *values* with a margin (a constant gets a unit-wide or relative range)."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = (hi - lo) * margin if hi > lo else max(abs(hi) * 0.05, 0.5)
    return lo - pad, hi + pad


def _one_epoch(wide: pd.DataFrame, ax) -> None:
    """When *wide* holds a single epoch: that epoch as the x axis' one tick, half an epoch each
    side (the default limits of a single point leave fractional ticks that collide)."""
    epochs = wide["epoch"].unique()
    if len(epochs) == 1:
        ax.set_xlim(epochs[0] - 0.5, epochs[0] + 0.5)
        ax.set_xticks([epochs[0]])


def accuracy_loss_curves(
    wide: pd.DataFrame,
    methods: Sequence[str],
    names: Mapping[str, str],
    colors: Mapping[str, str],
    ema_alpha: float,
    leave_out: Mapping[str, Collection[str]] | None = None,
    metrics: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Two panels, validation accuracy and validation loss per epoch (the accuracy alone when
    *wide* has no loss): for every method its mean over runs with the min-max band over runs, all
    three smoothed by an EMA (*ema_alpha*), drawn while at least half its runs go on
    (moe.curve_points: a curve stops where its type thins out, and the legend says so); a type
    logged at one epoch is a dot with its min-max bar. *leave_out*: metric -> runs left out of
    that panel (diverged runs, named in the legend). One legend above says how many runs each
    point averages. *metrics*: what accuracy and loss are called (moe.metric_names; default the
    seed's names). wide: moe.per_epoch."""
    leave_out = leave_out or {}
    metrics = metrics or moe.SEED_NAMES
    panels = [
        (metric, f"{moe.capital(metrics[metric])} (EMA)")
        for metric in ("accuracy", "loss")
        if metric in wide and wide[metric].notna().any()
    ]
    fig, axes = plt.subplots(1, len(panels), squeeze=False)
    axes = axes[0]
    counts, cut, left_out = [], False, set()
    for ax, (metric, title) in zip(axes, panels):
        points = moe.curve_points(wide, metric, leave_out.get(metric, ()))
        left_out |= set(leave_out.get(metric, ())) & set(wide["run"])
        cut = cut or not points["drawn"].all()
        for m in methods:
            p = points[(points["method"] == m) & points["drawn"]]
            if p.empty:
                continue
            counts += p["runs"].tolist()
            mean, low, high = (_smooth(p[c], ema_alpha) for c in ("mean", "min", "max"))
            if len(p) == 1:  # one logged epoch: a line would draw nothing
                ax.errorbar(
                    p["epoch"],
                    mean,
                    yerr=[mean - low, high - mean],
                    fmt="o",
                    ms=3,
                    capsize=2,
                    color=colors[m],
                    label=names[m],
                )
            else:
                statplots.mean_band(ax, p["epoch"], mean, low, high, colors[m], label=names[m])
        ylabel = moe.capital(moe.short_name(metrics[metric]))
        ax.set(title=title, xlabel="Epoch", ylabel=ylabel)
        statplots.integer_ticks(ax)
        _one_epoch(wide, ax)
    what = (
        "Mean over runs per MoE type, drawn while at least half its runs go on"
        if cut
        else "Mean over runs per MoE type"
    )
    per = "a point" if cut else "per type"
    note = f"; diverged, left out: {', '.join(sorted(left_out))}" if left_out else ""
    statplots.legend_above(
        fig,
        axes,
        title=f"{what} (band: min–max over runs; {_count_words(counts)} {per}{note})",
    )
    return fig


def runs_by_type(
    wide: pd.DataFrame,
    metric: str,
    methods: Sequence[str],
    names: Mapping[str, str],
    colors: Mapping[str, str],
    ylabel: str,
    ema_alpha: float | None = None,
    ncols: int = 4,
    leave_out: Collection[str] = (),
) -> plt.Figure:
    """Small multiples of *metric* per epoch, one panel per method (*ncols* a row, shared axes):
    every run as a thin grey line (a dot when logged at one epoch) and the method's mean in its
    colour, both smoothed by an EMA when *ema_alpha* is given; the mean is drawn while at least
    half the method's runs go on (moe.curve_points), and the legend says so when one stops
    early. Runs in *leave_out* (diverged) are out of the mean and of the y range, so the axes
    show the other runs. wide: moe.per_epoch."""
    nrows = math.ceil(len(methods) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    points = moe.curve_points(wide, metric, leave_out)
    kept = wide[~wide["run"].isin(set(leave_out))][metric]
    for ax, m in zip(axes.flat, methods):
        g = wide[wide["method"] == m]
        per_run = g.pivot(index="run", columns="epoch", values=metric)
        p = points[(points["method"] == m) & points["drawn"]]
        if ema_alpha is None:
            runs, mean_line = per_run.to_numpy(), p["mean"].to_numpy()
        else:
            runs, mean_line = (
                stats.ema_rows(per_run.to_numpy(), ema_alpha),
                _smooth(p["mean"], ema_alpha),
            )
        statplots.run_lines(ax, per_run.columns, runs)
        if per_run.shape[1] == 1:  # one logged epoch: lines would draw nothing
            ax.plot(np.repeat(per_run.columns, len(runs)), runs[:, 0], ".", color=style.NEUTRAL)
        dot = {"marker": "o", "ms": 3} if len(p) == 1 else {}
        ax.plot(p["epoch"], mean_line, color=colors[m], lw=1.6, **dot)
        ax.set_title(names[m], fontsize="small")
        statplots.integer_ticks(ax)
    left_out = sorted(set(leave_out) & set(wide["run"]))
    if left_out and kept.notna().any():  # the range of the other runs
        axes.flat[0].set_ylim(*_range_of(kept.to_numpy(dtype=float)))
    _one_epoch(wide, axes.flat[0])
    statplots.hide_unused(axes, len(methods))
    fig.supxlabel("Epoch", fontsize="small")
    fig.supylabel(ylabel, fontsize="small")
    cut = not points["drawn"].all()
    notes = ["mean drawn while at least half the type's runs go on"] if cut else []
    if left_out:
        notes.append(f"diverged, out of the mean and the axis range: {', '.join(left_out)}")
    statplots.runs_and_mean_legend(fig, MEAN_OF_TYPE, title="; ".join(notes) or None)
    return fig


def _bubble_area(load) -> np.ndarray:
    """Marker area (pt²) of a bubble for an expert's load (1 = an even share)."""
    return 8 + 60 * np.asarray(load)


def expert_activations(
    loads: pd.DataFrame,
    entropy: Mapping[str, float],
    panels: Sequence[Sequence[str]],
    names: Mapping[str, str],
) -> plt.Figure:
    """One bubble per method (column) and expert (row), its area and colour the expert's load (a
    diverging scale centred on 1 = an even share), the method's normalized entropy under its
    name; one panel per group of *panels* (moe.expert_panels), a colour bar and a size legend.
    loads: moe.expert_loads; entropy: {method: normalized entropy}."""
    norm = mcolors.TwoSlopeNorm(vmin=0, vcenter=1, vmax=max(2.0, float(loads["load"].max())))
    fig, axes = plt.subplots(
        1, len(panels), squeeze=False, width_ratios=[len(p) + 0.6 for p in panels]
    )
    for ax, panel in zip(axes[0], panels):
        w = loads[loads["method"].isin(panel)]
        x = w["method"].map({m: i for i, m in enumerate(panel)})
        bubbles = ax.scatter(
            x,
            w["expert"],
            s=_bubble_area(w["load"]),
            c=w["load"],
            cmap="RdBu_r",
            norm=norm,
            edgecolors=style.NEUTRAL,
            linewidths=0.3,
        )
        labels = [
            textwrap.fill(names[m], 11, break_long_words=False) + f"\nH = {entropy[m]:.3f}"
            for m in panel
        ]
        ax.set_xticks(range(len(panel)), labels, fontsize="x-small")
        ax.set_yticks(sorted(w["expert"].unique()))
        ax.set_xlim(-0.6, len(panel) - 0.4)
        ax.set_ylim(-0.7, w.loc[w["method"] == panel[0], "experts"].iloc[0] - 0.3)
        ax.tick_params(axis="y", labelsize="x-small")
        ax.grid(False)
    axes[0][0].set_ylabel("Expert")
    fig.colorbar(bubbles, ax=axes[0].tolist(), label="Load (1 = even share)", shrink=0.9)
    sizes = [  # empty scatters on the last panel: bubble handles for the size legend
        axes[0][-1].scatter(
            [],
            [],
            s=_bubble_area(v),
            color="#bbbbbb",
            edgecolors=style.NEUTRAL,
            linewidths=0.3,
            label=f"{v:g}×",
        )
        for v in (0.5, 1, 1.5)
    ]
    fig.legend(handles=sizes, title="Bubble size: load", loc="outside upper center", ncols=3)
    return fig


def accuracy_vs_entropy(
    runs: pd.DataFrame,
    relation: dict,
    methods: Sequence[str],
    names: Mapping[str, str],
    colors: Mapping[str, str],
    epoch: int,
    metric: str = "validation accuracy",
) -> plt.Figure:
    """Each run's *metric* (the accuracy field, moe.metric_names) against the normalized entropy
    of its expert use, coloured by method, with the least-squares line over all runs and the
    pooled and within-type Spearman ρ in the title. runs: moe.entropy_accuracy (kept);
    relation: stats.correlation_ci by type."""
    fig, ax = plt.subplots()
    for m in methods:
        g = runs[runs["method"] == m]
        if len(g):
            ax.scatter(g["entropy"], g["accuracy"], s=12, color=colors[m], label=names[m])
    slope, intercept = np.polyfit(runs["entropy"], runs["accuracy"], 1)
    xs = np.linspace(runs["entropy"].min(), runs["entropy"].max(), 20)
    ax.plot(
        xs,
        intercept + slope * xs,
        "--",
        color=style.REFERENCE,
        lw=1,
        label="least-squares line (all runs)",
    )
    pooled, within = relation["pooled"]["spearman"], relation["within"]["spearman"]
    ax.set(
        xlabel="Normalized entropy of expert use",
        ylabel=moe.capital(metric),
        title=f"Epoch {epoch}, {relation['n']} runs: Spearman ρ = {pooled:.2f} pooled, "
        f"{within:.2f} within types",
    )
    statplots.legend_above(fig, [ax], ncols=4)
    return fig


def interval_estimates(
    estimates: pd.DataFrame,
    over_runs: pd.DataFrame,
    colors: Mapping[str, str],
    xlabels: Mapping[str, str],
) -> np.ndarray:
    """statplots.interval_estimates of the stratified bootstrap's aggregates (a bar per type: the
    CI over run-epochs) with, in the mean's panel, each type's interval over runs drawn through
    its dot as a thin capped line (moe.run_intervals: the interval the claims use; none for a
    single run). estimates: stats.estimates_frame with "mean"; over_runs: method, mean, lower,
    upper. Returns the Axes."""
    axes = statplots.interval_estimates(estimates, colors, xlabels=xlabels)
    metrics = list(dict.fromkeys(estimates["metric"]))
    if "mean" in metrics:
        ax = axes[metrics.index("mean")]
        methods = list(dict.fromkeys(estimates["method"]))
        for r in over_runs.itertuples():
            if r.method in methods and r.lower == r.lower:
                ax.errorbar(
                    r.mean,
                    methods.index(r.method),
                    xerr=[[r.mean - r.lower], [r.upper - r.mean]],
                    fmt="none",
                    ecolor=style.REFERENCE,
                    elinewidth=0.8,
                    capsize=2,
                    zorder=1.5,
                )
        ax.autoscale_view()
    return axes


def probability_grid(
    probs: Mapping[str, float],
    cis: Mapping[str, np.ndarray],
    types: Sequence[str],
    colors: Mapping[str, str],
    ncols: int,
    confidence: float = 0.95,
) -> plt.Figure:
    """One panel per type X (*ncols* a row, shared x axis): P(X > Y) against every other type Y
    with its bootstrap CI (statplots.probability_of_improvement). probs, cis:
    stats.probability_of_improvement_ci over stats.all_pairs of *types*."""
    nrows = math.ceil(len(types) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=True)
    for ax, x in zip(axes.flat, types):
        statplots.probability_of_improvement(probs, cis, x, colors, ax=ax)
        ax.set_title(f"P({x} > Y)", fontsize="small")
        ax.set_xlabel("")
        ax.tick_params(labelsize="x-small")
    statplots.hide_unused(axes, len(types))
    fig.supxlabel(
        f"P(X > Y): dot = estimate, line = {confidence:.0%} bootstrap CI; dashed: 0.5 (no "
        "difference)",
        fontsize="small",
    )
    return fig


def hardware_usage(
    final: pd.DataFrame,
    methods: Sequence[str],
    names: Mapping[str, str],
    colors: Mapping[str, str],
    epoch: int,
    ncols: int = 2,
    accuracy: str = "Accuracy",
    leave_out: Collection[str] = (),
) -> plt.Figure:
    """Parallel coordinates, one panel per method (*ncols* a row): each run's MACs, memory, CPU
    time and accuracy (moe.HARDWARE_AXES), each axis scaled to its range over all runs with the
    minimum written below and the maximum above; runs in grey, the method's mean dashed in its
    colour; the accuracy axis is labelled *accuracy*. Runs in *leave_out* (diverged) are out of
    the ranges and the means, so the axes show the other runs. final: moe.hardware_table at
    *epoch*."""
    columns = [c for c, _, _ in moe.HARDWARE_AXES]
    out = final["run"].isin(set(leave_out))
    scaled, lo, hi = moe.scaled_to_range(final, columns, over=final[~out])
    nrows = math.ceil(len(methods) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharey=True)
    xs = np.arange(len(columns))
    for ax, m in zip(axes.flat, methods):
        mine = final["method"] == m
        ys = np.array([scaled.loc[mine, c].to_numpy() for c in columns])  # (axes, runs)
        ax.vlines(xs, 0, 1, color=style.NEUTRAL, lw=0.5, alpha=0.6)
        statplots.run_lines(ax, xs, ys.T)
        kept = ys[:, ~out[mine].to_numpy()]
        ax.plot(xs, np.nanmean(kept, axis=1), "o--", color=colors[m], lw=1.5, ms=3)
        for x, (c, _, fmt) in zip(xs, moe.HARDWARE_AXES):
            ax.text(x, -0.07, fmt.format(lo[c]), ha="center", va="top", fontsize=6, color="dimgray")
            ax.text(
                x, 1.07, fmt.format(hi[c]), ha="center", va="bottom", fontsize=6, color="dimgray"
            )
        labels = [accuracy if c == "accuracy" else label for c, label, _ in moe.HARDWARE_AXES]
        ax.set_xticks(xs, labels)
        ax.set_xlim(-0.45, len(columns) - 0.55)
        ax.set_ylim(-0.3, 1.3)
        ax.set_yticks([])
        ax.grid(False)
        ax.spines["left"].set_visible(False)
        ax.set_title(names[m], fontsize="small")
    statplots.hide_unused(axes, len(methods))
    statplots.runs_and_mean_legend(
        fig,
        MEAN_OF_TYPE,
        title=f"Epoch {epoch}; each axis spans the range over all runs (minimum below, "
        "maximum above)"
        + (
            f"; diverged, off the axes: {', '.join(sorted(final.loc[out, 'run']))}"
            if out.any()
            else ""
        ),
        ls="--",
        marker="o",
        ms=3,
        lw=1.5,
    )
    return fig
