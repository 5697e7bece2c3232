"""Plots of the statistics in labbook.stats, drawn on given axes in the shared style.

Each takes ``ax``/``axes`` (None: a new figure), draws, and returns the Axes. Colours come from
a method -> colour map (style.method_colors) so a method keeps its colour across figures.
"""
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from rliable import plot_utils

from labbook.stats import AGGREGATE_LABELS


def interval_estimates(frame: pd.DataFrame, colors: Mapping[str, str], methods: Sequence[str] | None = None,
                       axes=None, xlabel: str = "Score"):
    """One panel per metric: the CI as a bar, the point estimate as a black tick (rliable's layout).

    frame: stats.estimates_frame output (method, metric, estimate, lower, upper).
    Returns the array of Axes (one per metric, in the frame's metric order)."""
    metrics = list(dict.fromkeys(frame["metric"]))
    methods = list(methods or dict.fromkeys(frame["method"]))
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), squeeze=False)
        axes = axes[0]
    h = 0.6
    for ax, metric in zip(axes, metrics):
        sub = frame[frame["metric"] == metric].set_index("method")
        for i, m in enumerate(methods):
            row = sub.loc[m]
            ax.barh(i, row["upper"] - row["lower"], left=row["lower"], height=h, color=colors[m], alpha=0.75)
            ax.vlines(row["estimate"], i - 7.5 * h / 16, i + 6 * h / 16, color="k", alpha=0.85)
        ax.set_yticks(range(len(methods)), methods if ax is axes[0] else [""] * len(methods))
        ax.set_title(AGGREGATE_LABELS.get(metric, metric))
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.grid(True, axis="x")
        ax.grid(False, axis="y")
        ax.spines["left"].set_visible(False)
    axes[0].figure.supxlabel(xlabel)
    return axes


def probability_of_improvement(probs: Mapping[str, float], cis: Mapping[str, np.ndarray], reference: str,
                               colors: Mapping[str, str], ax=None, separator: str = ":"):
    """P(reference > Y) for every Y, the seed's layout: CI bar per Y, black tick at the estimate,
    dashed line at 0.5. probs/cis: stats.probability_of_improvement_ci output for pairs "X:Y"."""
    if ax is None:
        _, ax = plt.subplots()
    pairs = [p for p in probs if p.split(separator, 1)[0] == reference]
    if not pairs:
        raise ValueError(f"no pair starts with {reference!r}{separator}")
    h = 0.6
    labels = []
    for i, pair in enumerate(pairs):
        other = pair.split(separator, 1)[1]
        labels.append(other)
        lo, hi = cis[pair]
        ax.barh(i, hi - lo, left=lo, height=h, color=colors[other], alpha=0.75)
        ax.vlines(probs[pair], i - 7.5 * h / 16, i + 6 * h / 16, color="k", alpha=0.85)
    ax.axvline(0.5, color="k", ls="--", lw=0.8, alpha=0.6)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"P({reference} > Y)")
    ax.set_ylabel("Method Y")
    ax.grid(False, axis="y")
    return ax


def performance_profiles(profiles: Mapping[str, np.ndarray], cis: Mapping[str, np.ndarray], taus,
                         colors: Mapping[str, str], ax=None, xlabel: str = r"Score ($\tau$)"):
    """Score distributions with CI bands (rliable's plot_performance_profiles on *ax*)."""
    if ax is None:
        _, ax = plt.subplots()
    plot_utils.plot_performance_profiles(profiles, np.asarray(taus), performance_profile_cis=dict(cis), ax=ax,
                                         colors=dict(colors), xlabel=xlabel,
                                         ylabel=r"Fraction of runs $> \tau$",
                                         labelsize="medium", ticklabelsize="small")
    for spine in ax.spines.values():  # undo rliable's heavy axis decoration: keep the shared style
        spine.set_linewidth(plt.rcParams["axes.linewidth"])
    ax.legend(handles=[plt.Line2D([], [], color=colors[m], label=m) for m in profiles])
    return ax
