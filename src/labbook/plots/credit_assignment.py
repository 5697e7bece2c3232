"""Figures of the credit-assignment report. Each builder takes the tidy tables of
labbook.analyses.credit_assignment (accuracies as fractions, drawn in %), a method -> display name
map and a method -> colour map, draws a new figure at the current rcParams (the notebook sets the
venue's size with style.paper) and returns it."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labbook import statplots, stats, style

STATE_STYLES = ["-", "--", ":", "-."]  # one line style per seed in the state-error panel


def accuracy_curves(
    train: pd.DataFrame,
    test: pd.DataFrame,
    names: dict[str, str],
    colors: dict[str, str],
    title: str,
) -> plt.Figure:
    """Train and test accuracy per epoch side by side (shared y axis, %): each method's mean
    curve with its band, one legend above with *title*. train, test: curve_bands output
    (method, epoch, mean, lower, upper)."""
    fig, axes = plt.subplots(1, 2, sharey=True)
    for ax, curves, panel in zip(axes, (train, test), ("Train accuracy", "Test accuracy")):
        for m, c in curves.groupby("method", sort=False):
            statplots.mean_band(
                ax,
                c["epoch"],
                100 * c["mean"],
                100 * c["lower"],
                100 * c["upper"],
                colors[m],
                label=names[m],
            )
        ax.set(title=panel, xlabel="Epoch")
        statplots.integer_ticks(ax)
    axes[0].set_ylabel("Accuracy (%)")
    statplots.legend_above(fig, axes, title=title)
    return fig


def diagnostics(
    profiles: dict[str, pd.DataFrame],
    nudging_eta: str,
    names: dict[str, str],
    colors: dict[str, str],
    title: str,
) -> plt.Figure:
    """Three panels, one per diagnostic (layer on x): cosine with the BP gradient, perturbation
    correlation ρ and the nudging Δ loss at *nudging_eta*, each method a line with markers, a zero
    line under ρ and Δ loss; a diagnostic no method records is an empty panel saying so.
    profiles: diagnostic_profiles output (method, layer, value)."""
    panels = [
        ("bp_cosine", None, "Cosine", "Offline cosine with BP gradient"),
        ("perturbation_rho", None, "ρ", "Local perturbation correlation"),
        ("nudging", nudging_eta, "Δ loss (negative = good)", f"Nudging test (η = {nudging_eta})"),
    ]
    fig, axes = plt.subplots(1, 3)
    for ax, (diag, eta, ylabel, panel) in zip(axes, panels):
        prof = profiles[diag]
        if prof.empty:
            statplots.empty_panel(ax, f"no {diag} recorded" + (f" for η = {eta}" if eta else ""))
            continue
        for m, p in prof.groupby("method", sort=False):
            ax.plot(p["layer"], p["value"], "o-", ms=3, color=colors[m], label=names[m])
        if diag != "bp_cosine":
            ax.axhline(0, color=style.REFERENCE, ls="--", lw=0.8)
        ax.set(title=panel, xlabel="Layer", ylabel=ylabel)
        statplots.integer_ticks(ax)
    statplots.legend_above(fig, axes, title=title)
    return fig


def feature_drift(
    drift: pd.DataFrame, names: dict[str, str], colors: dict[str, str], title: str
) -> plt.Figure:
    """Relative weight drift per block, one line per method, the y axis from zero.
    drift: layer_profile output over blocks (method, block, value)."""
    fig, ax = plt.subplots()
    for m, d in drift.groupby("method", sort=False):
        ax.plot(d["block"], d["value"], "o-", ms=3, color=colors[m], label=names[m])
    ax.set(
        title=title,
        xlabel="Block",
        ylabel="‖W_final − W_init‖ / ‖W_init‖",
        ylim=(0, None),
    )
    statplots.integer_ticks(ax)
    ax.legend(loc="upper right")
    return fig


def state_vs_credit(
    errors: dict[str, np.ndarray],
    final: dict[str, np.ndarray],
    compared: list[str],
    names: dict[str, str],
    colors: dict[str, str],
    case: dict | None = None,
) -> plt.Figure:
    """Left: the state-prediction error per epoch (log scale), one line per seed (line styles
    cycle over seeds). Right: the final test accuracy of the *compared* methods as bars (mean ±
    sample std, %, labelled). With *case* (state_credit_case output) the bar of its method gets
    an arrow saying it predicts the state best but has the lowest accuracy.
    errors: {method: array(seeds, epochs)}; final: {method: array(seeds, 1)} of fractions."""
    fig, (a1, a2) = plt.subplots(1, 2)
    for m, v in errors.items():
        for i, row in enumerate(v):
            a1.plot(
                np.arange(1, len(row) + 1),
                row,
                STATE_STYLES[i % len(STATE_STYLES)],
                color=colors[m],
                alpha=0.85,
                label=names[m] if i == 0 else None,
            )
    a1.set(
        yscale="log",
        title="State prediction error (one line per seed)",
        xlabel="Epoch",
        ylabel="Error",
    )
    statplots.integer_ticks(a1)
    means = [100 * float(final[m].mean()) for m in compared]
    sds = [100 * final[m].std(ddof=1) if len(final[m]) > 1 else np.nan for m in compared]
    statplots.bars(
        a2,
        [names[m] for m in compared],
        means,
        [colors[m] for m in compared],
        lower=np.subtract(means, sds),
        upper=np.add(means, sds),
        value_format="{:.1f}",
    )
    a2.set(title="Final test accuracy (mean ± sample std)", ylabel="Test accuracy (%)")
    if case is not None:
        a2.set_ylim(top=a2.get_ylim()[1] * 1.35)
        i = compared.index(case["method"])
        top = means[i] + (sds[i] if np.isfinite(sds[i]) else 0)
        a2.annotate(
            f"lowest state error ({case['pred_error']:.1e})\nbut lowest accuracy "
            f"({case['accuracy']:.1%})",
            xy=(i, top),
            xytext=(0.5, 0.98),
            textcoords="axes fraction",
            ha="center",
            va="top",
            fontsize="small",
            arrowprops=dict(arrowstyle="->", color=style.REFERENCE, lw=0.8, shrinkB=12),
        )
    statplots.legend_above(fig, [a1])
    return fig


def final_accuracy(table: pd.DataFrame, colors: dict[str, str], title: str) -> plt.Figure:
    """Final test accuracy per method as bars from zero (%), with the t-interval as whiskers
    where there is one, each bar labelled with its mean. table: final_table output."""
    fig, ax = plt.subplots()
    statplots.bars(
        ax,
        table["label"],
        100 * table["mean"],
        [colors[m] for m in table["method"]],
        lower=100 * table["lower"],
        upper=100 * table["upper"],
        value_format="{:.1f}%",
    )
    ax.set(ylabel="Test accuracy (%)", title=title)
    return fig


def interval_estimates(
    estimates: pd.DataFrame, colors: dict[str, str], n_seeds: int, confidence: float
) -> plt.Figure:
    """One panel per aggregate of the final test accuracy (statplots.interval_estimates), the
    optimality gap's x label saying what it measures, a title with the seeds and the interval.
    estimates: stats.estimates_frame output with display names as methods; colors by those."""
    metrics = list(dict.fromkeys(estimates["metric"]))
    xlabels = {m: f"{stats.AGGREGATE_LABELS[m]} test accuracy" for m in metrics}
    xlabels["optimality_gap"] = "1 − mean accuracy (clipped at 1)"
    axes = statplots.interval_estimates(estimates, colors, xlabels=xlabels)
    fig = axes[0].figure
    fig.suptitle(
        f"Interval estimates over {n_seeds} seeds ({confidence:.0%} stratified-bootstrap CI)",
        fontsize="medium",
    )
    return fig


def probability_of_improvement(
    probs: dict[str, float],
    cis: dict[str, np.ndarray],
    reference: str,
    colors: dict[str, str],
    n_seeds: int,
    confidence: float,
) -> plt.Figure:
    """P(reference > Y) for every other method Y with its CI (statplots.probability_of_improvement),
    titled with the seeds and the interval. probs, cis: stats.probability_of_improvement_ci output
    over display names; *reference*: a display name."""
    ax = statplots.probability_of_improvement(probs, cis, reference, colors)
    ax.set_title(
        f"P({reference} > Y) over {n_seeds} seeds, {confidence:.0%} percentile-bootstrap CI"
    )
    return ax.figure
