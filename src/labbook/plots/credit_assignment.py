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
    panels: tuple[str, str] = ("Train accuracy", "Test accuracy"),
    ylabel: str = "Accuracy (%)",
    xlabel: str = "Epoch",
    tails: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    missing: str = "",
) -> plt.Figure:
    """Train and test curves side by side (shared y axis, %): each method's mean curve with its
    band, one legend above with *title*. train, test: curve_bands output (method, epoch, mean,
    lower, upper), the x values in *xlabel*'s unit; an empty train frame gives a panel saying
    *missing*. tails: curve_tails of each (seeds that ran on past the mean curve's end), drawn
    as thin lines in the method's colour."""
    fig, axes = plt.subplots(1, 2, sharey=True)
    tails = tails or (None, None)
    for ax, curves, panel, tail in zip(axes, (train, test), panels, tails):
        if curves.empty:
            statplots.empty_panel(ax, missing)
            continue
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
        if tail is not None:
            for (m, _seed), t in tail.groupby(["method", "seed"], sort=False):
                ax.plot(t["epoch"], 100 * t["value"], color=colors[m], lw=0.6, alpha=0.7)
        ax.set(title=panel, xlabel=xlabel)
        statplots.integer_ticks(ax)
    if train.empty:  # the shared y axis hides the right panel's labels: show them there
        axes[1].tick_params(labelleft=True)
    axes[0 if not train.empty else 1].set_ylabel(ylabel)
    statplots.legend_above(fig, axes, title=title)
    return fig


def diagnostics(
    profiles: dict[str, pd.DataFrame],
    nudging_eta: str,
    names: dict[str, str],
    colors: dict[str, str],
    title: str,
    exact: list[int] | None = None,
) -> plt.Figure:
    """Three panels, one per diagnostic (layer on x): cosine with the BP gradient, perturbation
    correlation ρ and the nudging Δ loss at *nudging_eta*, each method a line with markers, a zero
    line under ρ and Δ loss; a diagnostic no method records is an empty panel saying so. *exact*
    layers (analyses.credit_assignment.exact_layers) are shaded in the cosine panel, labelled
    "= BP by construction" in the legend.
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
        for i, layer in enumerate((exact or []) if diag == "bp_cosine" else []):
            label = "= BP by construction" if i == 0 else None
            ax.axvspan(layer - 0.4, layer + 0.4, color=style.NEUTRAL, alpha=0.18, lw=0, label=label)
        ax.set(title=panel, xlabel="Layer", ylabel=ylabel)
        statplots.integer_ticks(ax)
    statplots.legend_above(fig, axes, title=title)
    return fig


def feature_drift(
    drift: pd.DataFrame, names: dict[str, str], colors: dict[str, str], title: str
) -> plt.Figure:
    """Relative weight drift per block, one line per method, the y axis from zero; one legend
    above the panel with *title* (as in the other figures), so it never needs headroom over the
    data. drift: layer_profile output over blocks (method, block, value)."""
    fig, ax = plt.subplots()
    for m, d in drift.groupby("method", sort=False):
        ax.plot(d["block"], d["value"], "o-", ms=3, color=colors[m], label=names[m])
    ax.set(xlabel="Block", ylabel="‖W_final − W_init‖ / ‖W_init‖", ylim=(0, None))
    statplots.integer_ticks(ax)
    statplots.legend_above(fig, [ax], title=title)
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


def final_accuracy(
    table: pd.DataFrame,
    final: dict[str, np.ndarray],
    colors: dict[str, str],
    title: str,
    ylabel: str = "Test accuracy (%)",
) -> plt.Figure:
    """Final test accuracy per method (%), best first (statplots.seeds_and_mean): every seed as a
    small dot, the mean as a large dot with its t-interval as whiskers where there is one,
    labelled with the mean. The y axis spans the data, not zero to 100: the spread between
    methods and seeds is what a reader compares, and a dot (unlike a bar) does not ask to be read
    from zero. table: final_table output; final: {method: array(seeds, 1)} of fractions."""
    fig, ax = plt.subplots()
    statplots.seeds_and_mean(
        ax,
        list(table["label"]),
        [100 * np.asarray(final[m], dtype=float).ravel() for m in table["method"]],
        100 * table["mean"].to_numpy(),
        100 * table["lower"].to_numpy(),
        100 * table["upper"].to_numpy(),
        [colors[m] for m in table["method"]],
    )
    ax.set(ylabel=ylabel, title=title)
    return fig


def interval_estimates(
    estimates: pd.DataFrame,
    colors: dict[str, str],
    n_seeds: int,
    confidence: float,
    metric: str = "test accuracy",
) -> plt.Figure:
    """One panel per aggregate of the final *metric* (statplots.interval_estimates), the
    optimality gap's x label saying what it measures, a title with the seeds and the interval.
    estimates: interval_estimates output (in %) with display names as methods; colors by those."""
    metrics = list(dict.fromkeys(estimates["metric"]))
    xlabels = {m: f"{stats.AGGREGATE_LABELS[m]} {metric} (%)" for m in metrics}
    xlabels["optimality_gap"] = "100% − mean accuracy (points)"
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
