"""Credit assignment across seeds: curve bands, final scores, per-layer profiles and the
state-vs-credit check. Inputs are the tidy tables of sources.credit_assignment.Results."""

import numpy as np
import pandas as pd

from labbook import stats
from labbook.sources.credit_assignment import Results


def display_names(methods: list[str], labels: dict[str, str]) -> dict[str, str]:
    """method -> display name (its label, else the method key); ValueError naming the parameter when
    two methods would show under one name."""
    names = {m: labels.get(m, m) for m in methods}
    seen = {}
    for m, n in names.items():
        if n in seen:
            raise ValueError(
                f"parameter labels: {seen[n]!r} and {m!r} would both be shown as {n!r}; give each "
                "method its own label"
            )
        seen[n] = m
    return names


def seeds_read(
    metrics: pd.DataFrame, seeds: list[str], methods: list[str], names: dict[str, str]
) -> pd.DataFrame:
    """One row per seed, in *seeds* order: the methods that seed's file holds (display names from
    *names*, in *methods* order, comma-separated) and its last epoch. metrics: the long metrics
    table (columns seed, method, epoch, ...). Columns seed, methods, epochs."""
    present = metrics.groupby("seed")["method"].agg(set)
    last = metrics.groupby("seed")["epoch"].max()
    return pd.DataFrame(
        {
            "seed": seeds,
            "methods": [", ".join(names[m] for m in methods if m in present[s]) for s in seeds],
            "epochs": [int(last[s]) for s in seeds],
        }
    )


def seed_matrix(results: Results, method: str, metric: str) -> np.ndarray:
    """array(seeds, epochs) of *metric* for *method* (seeds that have it, in seed order)."""
    sub = results.curves[
        (results.curves["method"] == method) & (results.curves["metric"] == metric)
    ]
    return sub.pivot(index="seed", columns="epoch", values="value").to_numpy()


def curve_bands(results: Results, metric: str, band: str, confidence: float) -> pd.DataFrame:
    """Per method and epoch: mean across seeds and the band (stats.curve_band).
    Columns method, epoch, mean, lower, upper, seeds; methods without *metric* are left out."""
    frames = []
    for method in results.methods:
        m = seed_matrix(results, method, metric)
        if m.size == 0:
            continue
        mean, lo, hi = stats.curve_band(m, band, confidence)
        frames.append(
            pd.DataFrame(
                {
                    "method": method,
                    "epoch": np.arange(1, m.shape[1] + 1),
                    "mean": mean,
                    "lower": lo,
                    "upper": hi,
                    "seeds": m.shape[0],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def final_scores(results: Results, metric: str = "test_acc") -> dict[str, np.ndarray]:
    """{method: array(seeds, 1)} of *metric* at the last epoch every seed of that method reached."""
    return {m: seed_matrix(results, m, metric)[:, -1:] for m in results.methods}


def final_table(
    scores: dict[str, np.ndarray], labels: dict[str, str], confidence: float
) -> pd.DataFrame:
    """One row per method, best first: label, seeds, mean, t-interval of the mean (stats.mean_ci;
    NaN for one seed), sample std (ddof 1; NaN for one seed), min, max."""
    rows = []
    for method, s in scores.items():
        x = s[:, 0]
        mean, lo, hi = stats.mean_ci(x, confidence)
        rows.append(
            {
                "method": method,
                "label": labels.get(method, method),
                "seeds": len(x),
                "mean": mean,
                "lower": lo,
                "upper": hi,
                "std": stats.sample_std(x),
                "min": float(x.min()),
                "max": float(x.max()),
            }
        )
    return (
        pd.DataFrame(rows)
        .sort_values("mean", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def layer_profile(frame: pd.DataFrame, index: str, seed: str | None = None) -> pd.DataFrame:
    """Mean across seeds (or one *seed*) per method and *index* (layer or block).

    frame: rows seed, method, <index>, value. Returns method, <index>, value, std (sample std,
    ddof 1; NaN for one seed), seeds.
    """
    if seed is not None:
        frame = frame[frame["seed"] == str(seed)]
    if frame.empty:
        return pd.DataFrame(columns=["method", index, "value", "std", "seeds"])
    g = frame.groupby(["method", index], sort=False)["value"]
    out = g.agg(value="mean", std=stats.sample_std, seeds="count").reset_index()
    return out.reset_index(drop=True)


def diagnostic(results: Results, name: str, eta: str | None = None) -> pd.DataFrame:
    """Rows of one per-layer diagnostic (nudging: for one eta): seed, method, layer, value."""
    d = results.diagnostics[results.diagnostics["diagnostic"] == name]
    if name == "nudging":
        d = d[d["eta"] == eta]
    return d[["seed", "method", "layer", "value"]]


def state_vs_credit(final_means: dict[str, float], pred_error: dict[str, float]) -> dict | None:
    """The seed's "predicts the state best but gives the worst credit" case, only when true.

    final_means: {method: mean final test accuracy} of the methods compared; pred_error:
    {method: mean final state-prediction error} of those that log it. Returns the method, its
    error and accuracy, and the runner-up accuracy when the method with the lowest prediction
    error also has the lowest accuracy of the methods compared; else None.
    """
    logged = {m: e for m, e in pred_error.items() if m in final_means}
    if not logged or len(final_means) < 2:
        return None
    best_pred = min(logged, key=logged.get)
    worst_acc = min(final_means, key=final_means.get)
    if best_pred != worst_acc:
        return None
    others = {m: a for m, a in final_means.items() if m != best_pred}
    return {
        "method": best_pred,
        "pred_error": float(logged[best_pred]),
        "accuracy": float(final_means[best_pred]),
        "next_worst": min(others, key=others.get),
        "next_worst_accuracy": float(min(others.values())),
    }


def best_layers(profile: pd.DataFrame, index: str = "layer", top: int = 3) -> pd.DataFrame:
    """Per method: the *top* layers with the highest value, the lowest layer, and the mean over
    layers. profile: layer_profile output. Columns method, best (list), best_value, worst,
    worst_value, mean."""
    rows = []
    for method, sub in profile.groupby("method", sort=False):
        ordered = sub.sort_values("value", ascending=False, kind="stable")
        rows.append(
            {
                "method": method,
                "best": ordered[index].head(top).astype(int).tolist(),
                "best_value": float(ordered["value"].iloc[0]),
                "worst": int(ordered[index].iloc[-1]),
                "worst_value": float(ordered["value"].iloc[-1]),
                "mean": float(sub["value"].mean()),
            }
        )
    return pd.DataFrame(rows)
