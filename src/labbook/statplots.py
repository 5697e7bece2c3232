"""Plots of the statistics in labbook.stats, drawn on given axes in the shared style.

Each takes ``ax``/``axes`` (None: a new figure), draws, and returns the Axes. Colours come from
a method -> colour map (style.method_colors) so a method keeps its colour across figures.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from rliable import plot_utils

from labbook import style
from labbook.stats import AGGREGATE_LABELS

# ---------------------------------------------------------------- figure idioms


def bars(
    ax,
    labels: Sequence[str],
    values,
    colors: Sequence[str],
    lower=None,
    upper=None,
    value_format: str = "{:.1f}",
    label_values: bool = True,
    width: float = 0.65,
    texts: Sequence[str] | None = None,
):
    """Vertical bars from zero with optional interval whiskers [lower, upper], each labelled with
    its value (*value_format*), or with *texts* (one per bar) when given, above the whisker (or the
    bar) so no label crosses a whisker; the value axis keeps headroom for the labels. Returns the
    Axes."""
    values = np.asarray(values, dtype=float)
    x = np.arange(len(values))
    ax.bar(x, values, color=list(colors), width=width)
    top = values.copy()
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, float), np.asarray(upper, float)
        have = np.isfinite(lo) & np.isfinite(hi)  # bars without an interval get no whisker
        if have.any():
            err = np.vstack([values - lo, hi - values])[:, have].clip(0)
            ax.errorbar(
                x[have], values[have], yerr=err, fmt="none", ecolor=style.REFERENCE, elinewidth=0.9
            )
            top[have] = values[have] + err[1]
    if label_values:
        shown = list(texts) if texts is not None else [value_format.format(v) for v in values]
        for xi, t, text in zip(x, top, shown):
            ax.annotate(
                text,
                (xi, max(t, 0)),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
            )
    ymax = float(np.nanmax(np.append(top, 0)))
    ax.set_ylim(min(0.0, float(np.nanmin(values))), ymax * 1.15 if ymax > 0 else 1)
    ax.set_xticks(x, list(labels))
    ax.grid(False, axis="x")
    return ax


def seeds_and_mean(
    ax,
    labels: Sequence[str],
    samples: Sequence,
    means,
    lower,
    upper,
    colors: Sequence[str],
    value_format: str = "{:.1f}%",
    bounds: tuple[float, float] = (0.0, 100.0),
    min_pad: float = 0.25,
    texts: Sequence[str] | None = None,
):
    """Per group, at x = 0, 1, ...: every sample (one per seed) as a small dot on the left, the
    mean as a large dot on the right with its interval [lower, upper] as whiskers where both are
    finite, labelled with the mean (*value_format*), or with *texts* (one per group) when given.
    The value axis spans the data with a margin
    (15 % of the range, at least *min_pad*), clipped to *bounds*, not from zero: a dot, unlike a
    bar, is not read from zero, so a gap of a few points between groups stays visible.
    samples: one 1-D array per group; means, lower, upper: one value per group. Dots carry the gid
    "seeds:<label>" and "mean:<label>". Returns the Axes."""
    shown = []
    texts = [value_format.format(m) for m in means] if texts is None else list(texts)
    for i, (label, values, mean, lo, hi, color, text) in enumerate(
        zip(labels, samples, means, lower, upper, colors, texts)
    ):
        values = np.asarray(values, dtype=float).ravel()
        spread = np.linspace(-0.1, 0.1, len(values)) if len(values) > 1 else np.zeros(1)
        order = np.argsort(values, kind="stable")
        ax.plot(
            i - 0.15 + spread,
            values[order],
            "o",
            ms=3,
            color=color,
            alpha=0.55,
            gid=f"seeds:{label}",
        )
        if np.isfinite(lo) and np.isfinite(hi):
            ax.errorbar(
                i + 0.15,
                mean,
                yerr=[[mean - lo], [hi - mean]],
                fmt="none",
                ecolor=style.REFERENCE,
                elinewidth=0.9,
                capsize=3,
            )
        ax.plot(
            i + 0.15,
            mean,
            "o",
            ms=6,
            color=color,
            mec=style.REFERENCE,
            mew=0.6,
            gid=f"mean:{label}",
        )
        ax.annotate(
            text,
            (i + 0.15, mean),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize="small",
        )
        shown += [*values, lo, hi]
    shown = np.asarray(shown, dtype=float)
    low, high = np.nanmin(shown), np.nanmax(shown)
    pad = max(0.15 * (high - low), min_pad)
    ax.set_ylim(max(low - pad, bounds[0]), min(high + pad, bounds[1]))
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_xticks(range(len(labels)), list(labels))
    ax.grid(False, axis="x")
    return ax


def mean_band(ax, x, mean, lower, upper, color: str, label: str | None = None, **line_kw):
    """A mean curve with a shaded band [lower, upper] in the same colour. Returns the Axes."""
    ax.plot(x, mean, color=color, label=label, **line_kw)
    ax.fill_between(x, lower, upper, color=color, alpha=0.2, lw=0)
    return ax


def run_lines(ax, x, runs, color: str = style.NEUTRAL, lw: float = 0.6, alpha: float = 0.6):
    """One thin line per run: x array(points), runs array(runs, points) (NaN gaps allowed), drawn
    as one LineCollection (fast for thousands of runs). Returns the Axes."""
    from matplotlib.collections import LineCollection

    x = np.asarray(x, dtype=float)
    segments = [
        np.column_stack([x[np.isfinite(r)], r[np.isfinite(r)]]) for r in np.atleast_2d(runs)
    ]
    ax.add_collection(
        LineCollection(
            [s for s in segments if len(s) > 1], colors=color, linewidths=lw, alpha=alpha
        )
    )
    ax.autoscale_view()
    return ax


def runs_and_mean(ax, x, runs, mean, color: str, title: str | None = None):
    """One panel of a small-multiples figure: a thin neutral line per run (x array(points), runs
    array(runs, points)) and their mean curve (array(points)) in the group's *color*, with a small
    title and whole-number x ticks. Returns the Axes."""
    run_lines(ax, x, runs)
    ax.plot(x, mean, color=color, lw=1.6)
    if title:
        ax.set_title(title, fontsize="small")
    integer_ticks(ax)
    return ax


def runs_and_mean_legend(
    fig,
    mean_label: str = "mean of the group (in its colour)",
    title: str | None = None,
    **mean_style,
):
    """The legend of runs_and_mean panels, above them (with an optional *title*): a neutral thin
    line for one run and a thick line for the mean (drawn with *mean_style*, default lw=1.6)."""
    mean_style = {"lw": 1.6, **mean_style}
    return fig.legend(
        handles=[
            Line2D([], [], color=style.NEUTRAL, lw=0.8, label="one run"),
            Line2D([], [], color=style.REFERENCE, label=mean_label, **mean_style),
        ],
        loc="outside upper center",
        ncols=2,
        title=title,
    )


def hide_unused(axes, used: int):
    """Hide the panels of a grid after the first *used* (a grid larger than its groups)."""
    for ax in list(np.asarray(axes).flat)[used:]:
        ax.set_visible(False)
    return axes


def empty_panel(ax, message: str):
    """An axes that says why it holds no data (axis turned off). Returns the Axes."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        transform=ax.transAxes,
        wrap=True,
        color=style.NEUTRAL,
    )
    return ax


def integer_ticks(ax, axis: str = "x"):
    """Whole-number ticks (epochs, layers, blocks) on *axis* ("x", "y" or "both")."""
    for a in (ax.xaxis, ax.yaxis) if axis == "both" else (ax.xaxis if axis == "x" else ax.yaxis,):
        a.set_major_locator(MaxNLocator(integer=True))
    return ax


def fit_in_boxes(ax, texts, width: float, smallest: float = 6.0) -> None:
    """Give *texts* (each centred in a box *width* data units wide on *ax*) one font size: their
    current size, or smaller so the widest fits its box with a margin, never below *smallest*
    points. Diagrams of labelled boxes keep their text inside the boxes in a narrow column."""
    fig = ax.figure
    fig.draw_without_rendering()  # the layout fixes the axes' size in pixels
    renderer = fig.canvas.get_renderer()
    room = 0.9 * abs(ax.transData.transform((width, 0))[0] - ax.transData.transform((0, 0))[0])
    widest = max(t.get_window_extent(renderer).width for t in texts)
    if widest <= room:
        return
    size = max(smallest, min(t.get_fontsize() for t in texts) * room / widest)
    for t in texts:
        t.set_fontsize(size)


def legend_above(fig, axes, ncols: int | None = None, **kw):
    """One legend for the whole figure, above the panels (outside every axes, so it never covers
    data), from the labelled artists of *axes* (duplicates dropped)."""
    handles, labels = {}, []
    for ax in np.atleast_1d(axes).ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    return fig.legend(
        [handles[lab] for lab in labels],
        labels,
        loc="outside upper center",
        ncols=ncols or min(len(labels), 4),
        **kw,
    )


def interval_estimates(
    frame: pd.DataFrame,
    colors: Mapping[str, str],
    methods: Sequence[str] | None = None,
    axes=None,
    xlabels: Mapping[str, str] | None = None,
):
    """One panel per metric: the CI as a bar and the point estimate as a dot (so a zero-width
    interval still shows), methods as rows, each panel with its own x label.

    frame: stats.estimates_frame output (method, metric, estimate, lower, upper).
    xlabels: metric -> x-axis label (default the metric's name). axes: one per metric (None: a new
    row of panels, its height set by the number of methods). Returns the array of Axes."""
    metrics = list(dict.fromkeys(frame["metric"]))
    methods = list(methods or dict.fromkeys(frame["method"]))
    xlabels = dict(xlabels or {})
    if axes is None:
        width = plt.rcParams["figure.figsize"][0]
        _, axes = plt.subplots(
            1, len(metrics), squeeze=False, figsize=(width, style.rows_height(len(methods)))
        )
        axes = axes[0]
    for ax, metric in zip(axes, metrics):
        sub = frame[frame["metric"] == metric].set_index("method")
        for i, m in enumerate(methods):
            row = sub.loc[m]
            ax.barh(
                i,
                row["upper"] - row["lower"],
                left=row["lower"],
                height=0.6,
                color=colors[m],
                alpha=0.55,
            )
            ax.plot(row["estimate"], i, "o", color=colors[m], mec=style.REFERENCE, mew=0.6, ms=4)
        ax.set_yticks(range(len(methods)), methods if ax is axes[0] else [""] * len(methods))
        ax.set_ylim(-0.6, len(methods) - 0.4)
        ax.invert_yaxis()
        ax.set_title(AGGREGATE_LABELS.get(metric, metric))
        ax.set_xlabel(xlabels.get(metric, AGGREGATE_LABELS.get(metric, metric)))
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.use_sticky_edges = False
        ax.margins(x=0.08)
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    return axes


def probability_of_improvement(
    probs: Mapping[str, float],
    cis: Mapping[str, np.ndarray],
    reference: str,
    colors: Mapping[str, str],
    ax=None,
    separator: str = ":",
):
    """P(reference > Y) for every Y: the estimate as a dot, its CI as a capped line (visible at
    any P, also when the interval has zero width), a dashed line at 0.5. probs/cis:
    stats.probability_of_improvement_ci output for pairs "X:Y". ax None: a new figure whose
    height follows the number of rows. Returns the Axes."""
    pairs = [p for p in probs if p.split(separator, 1)[0] == reference]
    if not pairs:
        raise ValueError(f"no pair starts with {reference!r}{separator}")
    if ax is None:
        width = plt.rcParams["figure.figsize"][0]
        _, ax = plt.subplots(figsize=(width, style.rows_height(len(pairs))))
    labels = []
    for i, pair in enumerate(pairs):
        other = pair.split(separator, 1)[1]
        labels.append(other)
        lo, hi = cis[pair]
        p = probs[pair]
        ax.errorbar(
            p,
            i,
            xerr=[[p - lo], [hi - p]],
            fmt="o",
            color=colors[other],
            ecolor=colors[other],
            mec=style.REFERENCE,
            mew=0.6,
            ms=5,
            elinewidth=2.2,
            capsize=3,
        )
    ax.axvline(0.5, color=style.REFERENCE, ls="--", lw=0.8)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(-0.04, 1.04)
    ax.set_xlabel(f"P({reference} > Y), dot: estimate, line: CI")
    ax.grid(False, axis="y")
    return ax


def performance_profiles(
    profiles: Mapping[str, np.ndarray],
    cis: Mapping[str, np.ndarray],
    taus,
    colors: Mapping[str, str],
    ax=None,
    xlabel: str = "Score (τ)",
):
    """Score distributions with CI bands (rliable's plot_performance_profiles on *ax*)."""
    if ax is None:
        _, ax = plt.subplots()
    plot_utils.plot_performance_profiles(
        profiles,
        np.asarray(taus),
        performance_profile_cis=dict(cis),
        ax=ax,
        colors=dict(colors),
        xlabel=xlabel,
        ylabel="Fraction of runs > τ",
        labelsize="medium",
        ticklabelsize="small",
    )
    for spine in ax.spines.values():  # undo rliable's heavy axis decoration: keep the shared style
        spine.set_linewidth(plt.rcParams["axes.linewidth"])
    ax.legend(handles=[plt.Line2D([], [], color=colors[m], label=m) for m in profiles])
    return ax
