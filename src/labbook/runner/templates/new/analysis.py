"""__TITLE__: computations and findings.

Pure functions the notebook calls. A new section's computation goes here, and its test in
tests/test___NAME__.py."""

import numpy as np
import pandas as pd

from labbook import stats
from labbook.findings import Finding, finding, ranking_claim


def samples(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """{method: array(seeds)} of the scores, methods in file order. scores: method, seed, score
    (sources.scores_csv.load)."""
    return {m: g["score"].to_numpy() for m, g in scores.groupby("method", sort=False)}


def summary(scores: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """One row per method, in file order: method, seeds, mean and its Student-t interval over
    seeds (lower, upper; NaN for a single seed), in the scores' unit."""
    rows = [(m, len(v), *stats.mean_ci(v, confidence)) for m, v in samples(scores).items()]
    return pd.DataFrame(rows, columns=["method", "seeds", "mean", "lower", "upper"])


def findings(scores: pd.DataFrame, score_name: str, confidence: float) -> list[Finding]:
    """The report's findings. "ranking": the method with the best mean *score_name*, called
    better than another only where Welch's t-test separates them at alpha = 1 - confidence,
    Holm-corrected over every pair (the claim policy, findings.ranking_claim)."""
    by_method = samples(scores)
    evidence = stats.compare(by_method, confidence=confidence)
    claim = ranking_claim(by_method, evidence, score_name, "seed", confidence)
    return [finding("ranking", claim)]
