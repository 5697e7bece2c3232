"""__TITLE__: tests.

The input adapter on the example file, the params file against the notebook, the findings on
hand-made scores (separated, not separated, a single seed) and the figure."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from labbook import figures, paths, style
from labbook.analyses import __NAME__ as analysis
from labbook.plots import __NAME__ as plots
from labbook.runner import params
from labbook.sources import scores_csv


def _scores(by_method: dict[str, list[float]]) -> pd.DataFrame:
    """A scores table (method, seed, score) from {method: [score of seed 0, seed 1, ...]}."""
    rows = [(m, seed, s) for m, values in by_method.items() for seed, s in enumerate(values)]
    return pd.DataFrame(rows, columns=["method", "seed", "score"])


def test_example_scores_load():
    scores = scores_csv.load(paths.EXAMPLES / "__NAME__" / "scores.csv")
    assert list(scores.columns) == ["method", "seed", "score"]
    assert scores.groupby("method")["seed"].nunique().min() >= 2  # seeds enough for intervals


def test_example_params_validate():
    values = params.validate(
        paths.params_path("__NAME__", "example"),
        paths.notebook_path("__NAME__"),
    )
    assert values["scores_file"] == "examples/__NAME__/scores.csv"


def test_findings_name_a_winner_only_when_separated():
    # b: mean 75.0, sd 0.2 over 3 seeds -> t-interval 75 +- 4.303 * 0.2 / sqrt(3)
    (f,) = analysis.findings(
        _scores({"a": [70.0, 70.2, 69.8], "b": [75.0, 75.2, 74.8]}), "score", 0.95
    )
    assert f.text == (
        "b has the highest mean score, 75.00 (95% t-interval 74.50–75.50, 3 seeds) and is "
        "better than every other method compared (a; Welch t-tests, Holm-corrected over 1 "
        "pair, at α = 0.05)."
    )
    assert (f.key, f.verdict, f.winner, f.ranking) == ("ranking", "separated", "b", ["b", "a"])
    # 1 point apart with sd 2: Welch t = 0.61 on 4 degrees of freedom, p = 0.57
    (f,) = analysis.findings(
        _scores({"a": [70.0, 72.0, 68.0], "b": [71.0, 69.0, 73.0]}), "score", 0.95
    )
    assert "cannot be told apart from a (p = 0.57) at this number of seeds" in f.text
    assert (f.verdict, f.winner, f.ranking) == ("not_separated", None, ["b", "a"])


def test_findings_with_a_single_seed_claim_no_winner():
    (f,) = analysis.findings(_scores({"a": [70.0], "b": [72.0]}), "score", 0.95)
    assert f.text == (
        "b has the highest score (72.00), but every method has a single seed: with no interval "
        "and no test, this order is not evidence that one method is better."
    )
    assert (f.verdict, f.winner, f.ranking) == ("untested", None, ["b", "a"])


def test_summary_and_scores_figure():
    summary = analysis.summary(_scores({"a": [70.0, 70.2, 69.8], "b": [75.0]}), 0.95)
    assert summary["method"].tolist() == ["a", "b"] and summary["seeds"].tolist() == [3, 1]
    assert summary["mean"].tolist() == [70.0, 75.0] and summary["upper"].isna().tolist() == [
        False,
        True,
    ]
    with plt.rc_context(style.paper("full")):
        fig = plots.scores(summary, {"a": "#1f77b4", "b": "#ff7f0e"}, "accuracy (%)", 0.95)
        ax = fig.axes[0]
        assert len(ax.patches) == 2 and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
        assert ax.get_ylabel() == "accuracy (%)"
        assert ax.get_title() == "Mean accuracy (%) over seeds, whiskers: 95% t-interval"
        assert figures.check(fig) == []
    plt.close(fig)
