"""__TITLE__: figures.

Each function builds a figure from tidy data and returns it; the notebook calls it inside
style.paper's rc_context and saves it with Report.figure there. Tested in
tests/test___NAME__.py."""

import matplotlib.pyplot as plt
import pandas as pd

from labbook import statplots


def scores(
    summary: pd.DataFrame, colors: dict[str, str], score_name: str, confidence: float
) -> plt.Figure:
    """The mean score per method as bars, whiskers: its t-interval over seeds (none for a single
    seed). summary: analyses.__NAME__.summary(); colors: {method: colour}."""
    fig, ax = plt.subplots()
    statplots.bars(
        ax,
        summary["method"],
        summary["mean"],
        [colors[m] for m in summary["method"]],
        lower=summary["lower"],
        upper=summary["upper"],
    )
    ax.set(
        ylabel=score_name,
        title=f"Mean {score_name} over seeds, whiskers: {confidence:.0%} t-interval",
    )
    return fig
