"""Computations behind the chain-of-experts report: summary, ablation plateau, gate confidence."""

import numpy as np
import pandas as pd

from labbook import stats
from labbook.sources.chain_of_experts import ChainOfExpertsResults


def summary(res: ChainOfExpertsResults, baseline: str, confidence: float) -> pd.DataFrame:
    """One row per method: accuracy mean (%) with its t-interval over seeds (NaN for one seed),
    seeds, params (M), GFLOPs, accuracy per GFLOP, difference to the baseline (pp).
    Sorted by accuracy, best first. Index: method key."""
    if baseline not in res.methods:
        raise KeyError(f"baseline {baseline!r} is not one of the methods {list(res.methods)}")
    rows = []
    for m in res.methods.values():
        mean, lo, hi = stats.mean_ci(m.accuracy, confidence)
        rows.append(
            {
                "key": m.key,
                "method": m.name,
                "accuracy": mean,
                "ci_lower": lo,
                "ci_upper": hi,
                "seeds": len(m.accuracy),
                "params_m": m.params_m,
                "gflops": m.gflops,
            }
        )
    df = pd.DataFrame(rows).set_index("key")
    df[["params_m", "gflops"]] = df[["params_m", "gflops"]].astype(float)
    df["acc_per_gflop"] = df["accuracy"] / df["gflops"]
    df["delta_vs_baseline"] = df["accuracy"] - df.loc[baseline, "accuracy"]
    return df.sort_values("accuracy", ascending=False, kind="stable")


def sweep_means(df: pd.DataFrame, x: str, columns: list[str]) -> pd.DataFrame:
    """Mean over seeds of *columns* per value of *x*, with the seed count: index x."""
    out = df.groupby(x, sort=True)[columns].mean()
    out["seeds"] = df.groupby(x, sort=True)["seed"].nunique()
    return out


def plateau(acc_by_x: pd.Series, tolerance: float) -> dict:
    """Where an ablation stops paying off. acc_by_x: mean accuracy (%) indexed by the swept value,
    ascending. The plateau starts at the smallest x whose accuracy is within *tolerance* points of
    the best; `still_rising` is True when only the largest x gets there (no plateau observed)."""
    acc = acc_by_x.sort_index()
    best_x = acc.idxmax()
    start = acc.index[(acc >= acc.max() - tolerance).to_numpy()][0]
    return {
        "best_x": best_x,
        "best_accuracy": float(acc.max()),
        "plateau_x": start,
        "plateau_accuracy": float(acc[start]),
        "still_rising": bool(start == acc.index[-1] and len(acc) > 1),
    }


def gate_confidence(gate_means: np.ndarray) -> np.ndarray:
    """Per-block gate confidence: mean over experts of |g - 0.5| * 2, for gates in [0, 1].

    gate_means: array(blocks, experts) -> array(blocks); 0 = every gate undecided at 0.5,
    1 = every gate fully on or off."""
    g = np.asarray(gate_means, dtype=float)
    return np.mean(np.abs(g - 0.5) * 2, axis=1)


def cost_front(df: pd.DataFrame, cost: str) -> pd.Series:
    """Methods on the accuracy-vs-*cost* Pareto front (max accuracy, min cost); False where cost is
    NaN."""
    mask = stats.pareto_front(df[["accuracy", cost]].to_numpy(), maximize=[True, False])
    return pd.Series(mask, index=df.index)


def cost_gains(df: pd.DataFrame, baseline: str, cost: str) -> pd.DataFrame:
    """Per non-baseline method: added *cost* over the baseline, accuracy gain (points) and the
    gain per added unit of cost (NaN where the method costs no more than the baseline).
    df: summary() output (index: method key). Columns method, added_cost, gain, gain_per_cost."""
    base = df.loc[baseline]
    out = df.drop(index=baseline)[["method"]].copy()
    out["added_cost"] = df[cost] - base[cost]
    out["gain"] = df["accuracy"] - base["accuracy"]
    out["gain_per_cost"] = (out["gain"] / out["added_cost"]).where(out["added_cost"] > 0)
    return out.dropna(subset=["added_cost"])


def cheapest_not_worse(df: pd.DataFrame, best: str, ties: list[str], cost: str) -> str | None:
    """The cheapest of *best* and the methods not told apart from it (*ties*, method names), by
    *cost*; None when no candidate has a cost. df: summary() output."""
    candidates = df[df["method"].isin([best, *ties])].dropna(subset=[cost])
    if candidates.empty:
        return None
    return str(
        candidates.sort_values([cost, "accuracy"], ascending=[True, False], kind="stable")[
            "method"
        ].iloc[0]
    )
