"""Figures of the adaptive-sparse-training report. Each builder takes tidy per-epoch tables of
labbook.analyses.sparse_training (rates and savings as fractions, drawn in %; accuracy in %;
seconds per epoch), draws a new figure at the current rcParams (the notebook sets the venue's size
with style.paper) and returns it."""

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from labbook import statplots, style
from labbook.analyses import sparse_training as sparse
from labbook.findings import plural

PIPELINE = [
    "Input\nbatch",
    "Vectorized\nsignificance",
    "Gating\n(adaptive threshold)",
    "Active\nmask",
    "Batched\ntraining",
]
MODES = {
    "baseline": "Baseline",
    "sample_by_sample": "Sample-by-\nsample",
    "gated": "Batched\n(gated)",
}


def architecture(numbers: list[str]) -> plt.Figure:
    """The batched pipeline as five boxes joined by arrows (PIPELINE) above three boxes of
    measured numbers (*numbers*: three texts, e.g. sparse.pipeline_texts); the texts are fitted
    into their boxes."""
    fig, ax = plt.subplots()
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    step_texts, stat_texts = [], []
    for i, label in enumerate(PIPELINE):
        x = 0.1 + i * 2.0
        ax.add_patch(
            FancyBboxPatch(
                (x, 2.2), 1.6, 1.2, boxstyle="round,pad=0.05", fc="#eef2f7", ec="#7a8aa0"
            )
        )
        step_texts.append(ax.text(x + 0.8, 2.8, label, ha="center", va="center"))
        if i < len(PIPELINE) - 1:
            ax.annotate(
                "",
                xy=(x + 2.0, 2.8),
                xytext=(x + 1.65, 2.8),
                arrowprops=dict(arrowstyle="->", lw=1.2),
            )
    for i, text in enumerate(numbers):
        ax.add_patch(
            FancyBboxPatch(
                (0.3 + i * 3.3, 0.2),
                2.9,
                1.3,
                boxstyle="round,pad=0.05",
                fc="#fff7e0",
                ec="#d39e00",
            )
        )
        stat_texts.append(ax.text(1.75 + i * 3.3, 0.85, text, ha="center", va="center"))
    statplots.fit_in_boxes(ax, step_texts, 1.6)
    statplots.fit_in_boxes(ax, stat_texts, 2.9)
    return fig


def dashboard(
    epochs: pd.DataFrame,
    target: float,
    band: float,
    warmup: int,
    speed: pd.DataFrame | None,
    colors: dict[str, str],
    color: str,
    samples_per_epoch: float | None = None,
    split: str = "validation",
) -> plt.Figure:
    """Six panels of the gated run (*color*): training loss, accuracy on *split*, activation rate
    against its target band (*target* ± *band*, warm-up end marked), the share of skipped samples
    per epoch (the energy-savings proxy, not a measured saving) against 1 − target, median time
    per epoch of each timed run with its interquartile range over the run's epochs (*speed*:
    sparse.timing output, run colours from *colors*; None: an empty panel saying so), processed
    vs. skipped samples. epochs: the gated run's per-epoch table."""
    df = epochs
    fig, axes = plt.subplots(2, 3)
    (a1, a2, a3), (a4, a5, a6) = axes
    a1.plot(df["epoch"], df["train_loss"], marker="o", color=color)
    a1.set(title="Training loss", xlabel="Epoch", ylabel="Loss")
    a2.plot(df["epoch"], df["val_accuracy"], marker="o", color=color)
    a2.set(title=f"{split.capitalize()} accuracy", xlabel="Epoch", ylabel="Accuracy (%)")
    a3.axhspan(
        100 * (target - band),
        100 * (target + band),
        color=style.REFERENCE,
        alpha=0.1,
        lw=0,
        label=f"target {target:.0%} ± {band:.0%}",
    )
    a3.axhline(100 * target, color=style.REFERENCE, ls="--", lw=0.9)
    top = max(100 * df["activation_rate"].max(), 100 * (target + band))
    a3.vlines(  # across the data only: the legend sits above it
        warmup + 0.5, 0, top, color=style.NEUTRAL, ls=":", lw=0.8, label="end of warm-up"
    )
    a3.plot(df["epoch"], 100 * df["activation_rate"], marker="o", color=color, label="measured")
    a3.set(title="Activation rate", xlabel="Epoch", ylabel="Activation rate (%)")
    a3.set_ylim(0, top * 1.6)
    a3.legend(loc="upper right", ncols=1)
    a4.bar(df["epoch"], 100 * df["energy_savings"], color=color, width=0.7)
    a4.axhline(
        100 * (1 - target), color=style.REFERENCE, ls="--", lw=0.9, label=f"target {1 - target:.0%}"
    )
    a4.set_ylim(0, 125)
    a4.set_yticks([0, 25, 50, 75, 100])
    a4.set(
        title="Skipped samples\n(energy-savings proxy)",
        xlabel="Epoch",
        ylabel="Samples skipped (%)",
    )
    a4.legend(loc="upper right")
    if speed is None:
        statplots.empty_panel(a5, "no timing runs given")
    else:
        time_bars(
            a5,
            [MODES[k] for k in speed.index],
            speed["seconds_per_epoch"],
            [colors[n] for n in speed["run"]],
            0,
            speed["q25"],
            speed["q75"],
        )
        a5.set(title="Time per epoch\n(median, IQR over epochs)")
    processed, skipped = sparse.sample_shares(df, samples_per_epoch)
    wedges, _, _ = a6.pie(
        [processed, skipped],
        colors=[color, "#d9d9d9"],
        autopct="%1.1f%%",
        pctdistance=0.75,
        startangle=90,
        counterclock=False,
        wedgeprops=dict(width=0.5, edgecolor="white"),
        textprops=dict(fontsize="small"),
    )
    a6.legend(
        wedges, ["processed", "skipped"], loc="upper center", bbox_to_anchor=(0.5, 0.02), ncols=2
    )
    a6.set_title(
        f"Samples over {plural(len(df), 'epoch')}\n({processed + skipped:,.0f} in all)"
        if samples_per_epoch
        else "Samples (share over all epochs)"
    )
    for ax in (a1, a2, a3, a4):
        statplots.integer_ticks(ax)
    return fig


def threshold_adaptation(epochs: pd.DataFrame, target: float, color: str) -> plt.Figure:
    """The gating threshold per epoch beside the activation rate (%) it steers, with the target
    as a dashed line. epochs: the gated run's per-epoch table with a threshold column."""
    df = epochs
    fig, (t1, t2) = plt.subplots(1, 2)
    t1.plot(df["epoch"], df["threshold"], marker="o", color=color)
    t1.set(title="Gating threshold", xlabel="Epoch", ylabel="Threshold")
    t2.plot(
        df["epoch"],
        100 * df["activation_rate"],
        marker="o",
        color=color,
        label="measured",
    )
    t2.axhline(100 * target, color=style.REFERENCE, ls="--", lw=0.9, label=f"target {target:.0%}")
    t2.set(title="Activation rate", xlabel="Epoch", ylabel="Activation rate (%)", ylim=(0, None))
    t2.legend(loc="best")
    for ax in (t1, t2):
        statplots.integer_ticks(ax)
    return fig


def baseline_vs_gated(
    curves: pd.DataFrame, speed: pd.DataFrame, colors: dict[str, str], split: str = "validation"
) -> plt.Figure:
    """Accuracy on *split* and training loss per epoch of each run (curves: sparse.side_by_side
    output, one line per run in its colour), and the median seconds per epoch of the baseline and
    the gated run as labelled bars with the interquartile range over each run's epochs (speed:
    sparse.timing output); one legend above."""
    fig, (c1, c2, c3) = plt.subplots(1, 3)
    for name, r in curves.groupby("run", sort=False):
        c1.plot(r["epoch"], r["val_accuracy"], marker="o", color=colors[name], label=name)
        c2.plot(r["epoch"], r["train_loss"], marker="o", color=colors[name], label=name)
    c1.set(title=f"{split.capitalize()} accuracy", xlabel="Epoch", ylabel="Accuracy (%)")
    c2.set(title="Training loss", xlabel="Epoch", ylabel="Loss")
    for ax in (c1, c2):
        statplots.integer_ticks(ax)
    timed = speed.loc[["baseline", "gated"]]
    time_bars(
        c3,
        ["Baseline", "Gated"],
        timed["seconds_per_epoch"],
        [colors[n] for n in timed["run"]],
        1,
        timed["q25"],
        timed["q75"],
    )
    c3.set(title="Time per epoch (median, IQR)")
    statplots.legend_above(fig, [c1])
    return fig


def time_bars(ax, labels, seconds, colors, decimals: int, lower=None, upper=None):
    """Median seconds per epoch as labelled bars, in milliseconds when a time is under 0.05 s
    (sparse.seconds_unit, as the findings write them: "13 ms", not "0.013 s"), else in seconds
    with *decimals* decimals (sparse.seconds_format); *lower*, *upper* (seconds, optional): the
    spread drawn as whiskers (e.g. the interquartile range over the run's epochs). Returns the
    Axes."""
    seconds = [float(v) for v in seconds]
    spread = lower is not None and upper is not None
    if sparse.seconds_unit(*seconds) == "ms":
        statplots.bars(
            ax,
            labels,
            [1000 * v for v in seconds],
            colors,
            [1000 * float(v) for v in lower] if spread else None,
            [1000 * float(v) for v in upper] if spread else None,
            texts=sparse.seconds_texts(*seconds, unit="ms"),
        )
        ax.set_ylabel("Milliseconds")
        return ax
    statplots.bars(
        ax,
        labels,
        seconds,
        colors,
        lower,
        upper,
        value_format=sparse.seconds_format(seconds, decimals),
    )
    ax.set_ylabel("Seconds")
    return ax
