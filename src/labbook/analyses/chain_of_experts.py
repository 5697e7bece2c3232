"""Computations behind the chain-of-experts report (summary, ablation plateau, gate confidence,
cost fronts) and its findings: every sentence the report states, by the claim policy."""

import numpy as np
import pandas as pd
import scipy.stats

from labbook import stats
from labbook.findings import (
    Claim,
    Finding,
    described,
    finding,
    listing,
    ranking_claim,
    trend_claim,
    versus_claim,
)
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


COSTS = {"gflops": "GFLOP", "params_m": "million parameters"}  # cost column -> unit in sentences


def cost_fronts(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The accuracy-vs-cost Pareto front (cost_front) for each cost of COSTS that some method
    gives, in COSTS order. df: summary() output. {cost column: bool Series by method key}."""
    return {c: cost_front(df, c) for c in COSTS if df[c].notna().any()}


def epochs_to_best(conv: pd.DataFrame, within: float = 1.0) -> pd.Series:
    """Per curve (method and seed, in file order), the first epoch whose validation accuracy is
    within *within* points of that curve's best. conv: method, seed, epoch, val_acc (%); curves
    without a seed column are one per method. Series of int indexed by (method, seed)."""
    if "seed" not in conv:
        conv = conv.assign(seed="")
    return conv.groupby(["method", "seed"], sort=False).apply(
        lambda g: int(g.loc[g["val_acc"] >= g["val_acc"].max() - within, "epoch"].min()),
        include_groups=False,
    )


# ---------------------------------------------------------------- findings
# Every sentence the report states, from the tables above. Comparisons and trends go through the
# claim policy (labbook.findings): Welch + Holm for methods, a slope's t-interval for trends.


def findings(
    summary: pd.DataFrame,
    accuracy: dict[str, np.ndarray],
    baseline: str,
    confidence: float,
    ablation: pd.DataFrame | None = None,
    plateau_tolerance: float = 0.2,
    entropy: pd.DataFrame | None = None,
    gate_means: dict[str, np.ndarray] | None = None,
    convergence: pd.DataFrame | None = None,
) -> list[Finding]:
    """The report's findings, in reading order.

    summary: summary() output; accuracy: {method key: array(seeds), %} in file order; baseline:
    a method key. Optional sections (None: no sentence): ablation (experts_per_block, seed,
    accuracy), entropy (entropy_coeff, seed, accuracy, avg_entropy), gate_means ({method name:
    array(blocks, experts)}), convergence (method, seed, epoch, val_acc)."""
    out = method_findings(summary, accuracy, baseline, confidence)
    if ablation is not None:
        out.append(plateau_finding(ablation, plateau_tolerance))
    if entropy is not None:
        out += entropy_findings(entropy, confidence)
    for name, gates in (gate_means or {}).items():
        out.append(gate_confidence_finding(name, gates, confidence))
    if convergence is not None:
        out.append(convergence_finding(convergence))
    return out


def method_findings(
    summary: pd.DataFrame, accuracy: dict[str, np.ndarray], baseline: str, confidence: float
) -> list[Finding]:
    """The best method, each method against the baseline, accuracy gained per added cost, the
    cheapest method not shown worse than the best, and the methods off the GFLOPs front.
    Arguments as in findings()."""
    names = summary["method"]
    samples = {names[k]: np.asarray(v, float) for k, v in accuracy.items()}
    evidence = stats.compare(samples, confidence=confidence)
    ranked = ranking_claim(samples, evidence, "top-1 accuracy", "seed", confidence, suffix="%")
    out = [finding("best_method", ranked)]
    others = [k for k in accuracy if k != baseline]
    versus = stats.compare(samples, [(names[k], names[baseline]) for k in others], confidence)
    for key, row in zip(others, versus.to_dict("records")):
        claim = versus_claim(row, "top-1 accuracy", "seed", confidence)
        out.append(finding(f"improvement_{key}", claim))
    gained = {r["x"] for r in versus.to_dict("records") if r["separated"] and r["diff"] > 0}
    for cost in COSTS:
        item = marginal_finding(summary, samples, baseline, cost, gained, confidence)
        if item is not None:
            out.append(item)
    if summary["gflops"].notna().any():
        out += cost_findings(summary, ranked, evidence)
    return out


def marginal_finding(
    summary: pd.DataFrame,
    samples: dict[str, np.ndarray],
    baseline: str,
    cost: str,
    gained: set[str],
    confidence: float,
) -> Finding | None:
    """Accuracy gained over the baseline per added unit of *cost*, for each method whose gain is
    separated from zero (*gained*: method names), and whose rate is highest by rate_contrasts
    when two or more have one. None when the baseline, or every other method, has no such cost.
    samples: {method name: array(seeds), %}; baseline: its key in summary."""
    unit = COSTS[cost]
    gains = cost_gains(summary, baseline, cost)
    if gains.empty:
        return None
    single_seed = bool((summary["seeds"] == 1).any())
    parts, rates, added = [], {}, {}
    for row in gains.itertuples():
        if np.isnan(row.gain_per_cost):
            parts.append(
                f"{row.method} costs no more than the baseline ({row.added_cost:+.2f} {unit}, "
                f"{row.gain:+.2f} points)"
            )
        elif row.method in gained:
            rates[row.method], added[row.method] = row.gain_per_cost, row.added_cost
            parts.append(
                f"{row.method} {row.gain_per_cost:.2f} points per added {unit} ({row.gain:+.2f} "
                f"points for {row.added_cost:+.2f} {unit})"
            )
        else:
            why = "untested with one seed" if single_seed else "not separated from zero"
            parts.append(
                f"{row.method} adds {row.added_cost:+.2f} {unit} for {row.gain:+.2f} points, a "
                f"gain {why}, so no rate"
            )
    values = {"unit": unit, "parts": "; ".join(parts), "verdict": ""}
    values.update(rates=[float(v) for v in rates.values()], methods=list(rates))
    text = "Accuracy gained over the baseline per added {unit}: {parts}{verdict}."
    if len(rates) < 2:
        verdict = "untested" if single_seed else None
        return finding(f"marginal_{cost}", Claim(text.format(**values), values, verdict))
    best = max(rates, key=rates.get)
    rated = {m: samples[m] for m in rates}
    base = samples[summary.loc[baseline, "method"]]
    evidence = rate_contrasts(rated, base, added, best, confidence)
    clause = rate_claim(evidence, unit, rates, confidence)
    values = dict(values, verdict=clause.text, **clause.values)
    claim = Claim(text.format(**values), values, clause.verdict, clause.winner, clause.ranking)
    return finding(f"marginal_{cost}", claim)


def rate_contrasts(
    accuracy: dict[str, np.ndarray],
    baseline: np.ndarray,
    added_cost: dict[str, float],
    best: str,
    confidence: float,
) -> pd.DataFrame:
    """Is *best*'s accuracy gain per added unit of cost higher than each other method's?

    accuracy: {method: array(seeds), %}; baseline: array(seeds), %; added_cost: {method: its
    cost above the baseline's, > 0; fixed numbers, not samples}. The rate of X is (mean X - mean
    baseline) / cost X, so the difference of two rates is a linear contrast of three means, with
    a Welch t-interval and p (Welch-Satterthwaite degrees of freedom). One row per other method,
    in dict order: x (= best), y, n_x, n_y, n_baseline, diff (points per unit of cost),
    diff_lower, diff_upper, p, p_holm (Holm over the rows), separated (p_holm < 1 - confidence).
    A single seed in any of the three samples gives no test (p NaN, not separated)."""
    rows = []
    for y in (m for m in accuracy if m != best):
        weights = (
            1 / added_cost[best],
            -1 / added_cost[y],
            1 / added_cost[y] - 1 / added_cost[best],
        )
        samples = [np.asarray(s, float) for s in (accuracy[best], accuracy[y], baseline)]
        diff = float(sum(w * s.mean() for w, s in zip(weights, samples)))
        row = {"x": best, "y": y, "n_x": samples[0].size, "n_y": samples[1].size}
        row.update(n_baseline=samples[2].size, diff=diff, diff_lower=np.nan, diff_upper=np.nan)
        row["p"] = np.nan
        if min(s.size for s in samples) > 1:
            terms = [w**2 * s.var(ddof=1) / s.size for w, s in zip(weights, samples)]
            se = float(np.sqrt(sum(terms)))
            if se == 0:
                row.update(diff_lower=diff, diff_upper=diff, p=1.0 if diff == 0 else 0.0)
            else:
                dof = sum(terms) ** 2 / sum(t**2 / (s.size - 1) for t, s in zip(terms, samples))
                half = scipy.stats.t.ppf(0.5 + confidence / 2, dof) * se
                p = float(2 * scipy.stats.t.sf(abs(diff) / se, dof))
                row.update(diff_lower=diff - half, diff_upper=diff + half, p=p)
        rows.append(row)
    out = pd.DataFrame(rows)
    tested = out["p"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = stats.holm(out.loc[tested, "p"].to_numpy())
    out["separated"] = out["p_holm"] < (1 - confidence)
    return out


def rate_claim(
    evidence: pd.DataFrame, unit: str, rates: dict[str, float], confidence: float
) -> Claim:
    """The clause saying which method buys accuracy most cheaply per added *unit*, by the claim
    policy: rate_contrasts rows of the best rate against every other (*rates*: {method: points
    per unit}). The text starts with "; " (it ends a sentence)."""
    best = str(evidence["x"].iloc[0])
    beats = list(evidence.loc[evidence["separated"], "y"])
    ties = list(evidence.loc[~evidence["separated"], "y"])
    if not ties:
        head = f"{best} buys accuracy most cheaply"
    elif not beats:
        head = f"{best}'s rate cannot be told apart from {listing(ties)}'s at this number of seeds"
    else:
        head = (
            f"{best} buys accuracy more cheaply than {listing(beats)}, but cannot be told apart "
            f"from {listing(ties)} at this number of seeds"
        )
    parts = []
    for r in evidence.itertuples():
        counts = {r.n_x, r.n_y, r.n_baseline}
        n = f"{r.n_x} seeds each" if len(counts) == 1 else f"n = {r.n_x}, {r.n_y}, {r.n_baseline}"
        test = (
            f"{confidence:.0%} Welch t-interval {r.diff_lower:+.2f} to {r.diff_upper:+.2f}, "
            f"Holm-corrected p = {r.p_holm:.2g}"
            if r.p_holm == r.p_holm
            else "one seed: no test"
        )
        parts.append(
            f"{best}'s rate minus {r.y}'s is {r.diff:+.2f} points per {unit} ({test}, {n})"
        )
    text = f"; per added {unit}, {head}: {listing(parts)}"
    values = {
        "rate_vs": list(evidence["y"]),
        "rate_diff": [float(v) for v in evidence["diff"]],
        "rate_lower": [float(v) for v in evidence["diff_lower"]],
        "rate_upper": [float(v) for v in evidence["diff_upper"]],
        "rate_p_holm": [float(v) for v in evidence["p_holm"]],
    }
    ranking = tuple(sorted(rates, key=lambda m: -rates[m]))
    verdict = "separated" if not ties else "not_separated"
    return Claim(text, values, verdict, best if not ties else None, ranking)


def cost_findings(summary: pd.DataFrame, ranked: Claim, evidence: pd.DataFrame) -> list[Finding]:
    """The cheapest method in GFLOPs not shown worse than the best (only when every method has
    several seeds), and the methods off the accuracy-GFLOPs Pareto front. ranked: the
    ranking_claim of the best method; evidence: stats.compare over every pair of methods."""
    out = []
    best = ranked.values["best"]
    if all(n > 1 for n in summary["seeds"]):
        cheap = cheapest_not_worse(summary, best, ranked.values.get("ties", []), "gflops")
        by_name = summary.set_index("method")
        if cheap is not None and cheap != best:
            template = (
                "The cheapest method not shown to be worse than {best} is {cheap}: "
                "{cheap_cost:.2f} GFLOPs against {best_cost:.2f}, {diff:+.2f} points "
                "(Holm-corrected p = {p:.2g}, {n} seeds each)."
            )
            values = {
                "best": best,
                "cheap": cheap,
                "cheap_cost": float(by_name.loc[cheap, "gflops"]),
                "best_cost": float(by_name.loc[best, "gflops"]),
                "diff": float(by_name.loc[cheap, "accuracy"] - ranked.values["mean"]),
                "p": float(stats.pair_row(evidence, cheap, best)["p_holm"]),
                "n": int(summary["seeds"].min()),
            }
            claim = Claim(template.format(**values), values, "not_separated")
            out.append(finding("cheapest_not_worse", claim))
        elif cheap == best:
            text = (
                f"No cheaper method matches {best}: every method with fewer GFLOPs is "
                "separated below it."
            )
            claim = Claim(text, {"best": best}, "separated", winner=best)
            out.append(finding("cheapest_not_worse", claim))
    front = cost_front(summary, "gflops")
    off = [m for m, on in zip(summary["method"], front) if not on]
    if off:
        template = (
            "Off the accuracy–GFLOPs Pareto front (by mean accuracy): {off} — another method is "
            "at least as accurate and cheaper."
        )
        out.append(described("pareto_gflops", template, off=", ".join(off)))
    return out


def plateau_finding(ablation: pd.DataFrame, tolerance: float) -> Finding:
    """Where the experts-per-block ablation plateaus (plateau() on the means over seeds), or that
    accuracy still rises at the largest size. ablation: experts_per_block, seed, accuracy (%)."""
    plat = plateau(sweep_means(ablation, "experts_per_block", ["accuracy"])["accuracy"], tolerance)
    n = int(ablation["seed"].nunique())
    seeds = "one seed" if n == 1 else f"mean over {n} seeds"
    if plat["still_rising"]:
        template = (
            "Accuracy is still rising at the largest tested size ({x:g} experts per block, "
            "{acc:.2f}%, {seeds}): no plateau within {tol:g} points."
        )
        return described(
            "experts_plateau",
            template,
            x=plat["plateau_x"],
            acc=plat["plateau_accuracy"],
            tol=tolerance,
            seeds=seeds,
        )
    template = (
        "Accuracy ({seeds}) plateaus from {x:g} experts per block ({acc:.2f}%, within {tol:g} "
        "points of the highest, {best:.2f}% at {best_x:g})."
    )
    return described(
        "experts_plateau",
        template,
        x=plat["plateau_x"],
        acc=plat["plateau_accuracy"],
        tol=tolerance,
        best=plat["best_accuracy"],
        best_x=plat["best_x"],
        seeds=seeds,
    )


def entropy_findings(entropy: pd.DataFrame, confidence: float) -> list[Finding]:
    """The coefficient with the best mean accuracy against the first one tested (usually 0, no
    regularization), and the trend of mean gate entropy along the tested coefficients (trend();
    the coefficients are usually log-spaced, so the slope is per step from one tested value to
    the next, as on the figure's axis). entropy: entropy_coeff, seed, accuracy (%), avg_entropy.

    The best coefficient is chosen after looking at the same accuracies it is then tested on, so
    the test corrects for that choice: every other coefficient is compared with the first
    (Welch), Holm-corrected over those comparisons, and the best one's comparison is the one
    stated, saying it was picked as the best of them (values: chosen_from, the number of
    coefficients it was picked from)."""
    sweep = sweep_means(entropy, "entropy_coeff", ["accuracy", "avg_entropy"])
    c_best, c_none = sweep["accuracy"].idxmax(), sweep.index[0]
    if c_best == c_none:
        best = described(
            "entropy_best_coeff",
            "No entropy coefficient raises the mean accuracy above {c:g} ({acc:.2f}%).",
            c=c_none,
            acc=sweep.loc[c_none, "accuracy"],
        )
    else:
        by_coeff = {c: g["accuracy"].to_numpy() for c, g in entropy.groupby("entropy_coeff")}
        none = f"coefficient {c_none:g}" + (" (no regularization)" if c_none == 0 else "")
        label = {c: f"Entropy coefficient {c:g}" for c in sweep.index[1:]}
        samples = {**{label[c]: by_coeff[c] for c in sweep.index[1:]}, none: by_coeff[c_none]}
        pairs = [(label[c], none) for c in sweep.index[1:]]
        evidence = stats.compare(samples, pairs, confidence=confidence)
        row = stats.pair_row(evidence, label[c_best], none)
        claim = versus_claim(row, "top-1 accuracy", "seed", confidence)
        k = len(pairs)
        head = ""
        if k > 1:
            picked = (
                f"{label[c_best]} has the highest mean accuracy of the {k} coefficients tried "
                f"besides {c_none:g}"
            )
            head = (
                f"{picked} (picked after looking): "
                if claim.verdict == "untested"
                else f"{picked}, a choice made on the accuracies tested here, so its test is "
                f"Holm-corrected over all {k} comparisons with {c_none:g}: "
            )
        text = head + claim.text
        values = dict(claim.values, chosen_from=k, coefficient=float(c_best))
        best = finding("entropy_best_coeff", Claim(text, values, claim.verdict, claim.winner))
    steps = np.arange(len(sweep))
    claim = trend(
        steps,
        sweep["avg_entropy"].to_numpy(),
        "Mean gate entropy",
        "the entropy coefficient",
        "per step along the tested values",
        "coefficient",
        confidence,
    )
    values = dict(claim.values, coefficients=[float(c) for c in sweep.index])
    trend_finding = finding("entropy_trend", Claim(claim.text, values, claim.verdict))
    return [best, trend_finding]


def gate_confidence_finding(name: str, gate_means: np.ndarray, confidence: float) -> Finding:
    """Where method *name*'s gates are most confident (gate_confidence per block) and the trend
    of confidence with depth (trend() over the blocks). gate_means: array(blocks, experts)."""
    conf = gate_confidence(gate_means)
    claim = trend(
        np.arange(len(conf)), conf, "gate confidence", "depth", "per block", "block", confidence
    )
    values = {
        "method": name,
        "block": int(np.argmax(conf)),
        "top": float(conf.max()),
        "first": float(conf[0]),
        "last": float(conf[-1]),
    }
    text = (
        "{method}: the most confident gates are in block {block} (confidence {top:.2f}; block 0: "
        "{first:.2f}, last block: {last:.2f}); "
    ).format(**values) + claim.text
    return finding(
        f"gate_confidence_{name}", Claim(text, dict(values, **claim.values), claim.verdict)
    )


def trend(x, y, what: str, against: str, per: str, unit: str, confidence: float) -> Claim:
    """findings.trend_claim over stats.linear_trend(x, y) (a direction only when the slope's
    t-interval excludes zero), or, for a single point, a sentence saying there is no trend.
    x, y: 1-D, equal length; *unit* names one point ("block")."""
    if len(x) < 2:
        return Claim(f"{what}: a single {unit}, so no trend is claimed.", {"n": len(x)}, "flat")
    t = stats.linear_trend(x, y, confidence)
    return trend_claim(t, what, against, per=per, confidence=confidence, unit=unit)


def convergence_finding(conv: pd.DataFrame) -> Finding:
    """Epochs each curve needs to come within 1 point of its best validation accuracy
    (epochs_to_best), per method: the one curve's value, or over several seeds the median and
    range; fastest first, descriptive (no ranking is claimed). conv: method, seed, epoch,
    val_acc (%)."""
    per_curve = epochs_to_best(conv)
    by_method = per_curve.groupby(level="method", sort=False)
    median = by_method.median().sort_values(kind="stable")
    seeds = by_method.size()
    if (seeds == 1).all():
        return described(
            "convergence",
            "Epochs until validation accuracy is within 1 point of its best: {epochs} (one curve "
            "per method, so no interval and no ranking claim).",
            epochs=", ".join(f"{k} {int(median[k])}" for k in median.index),
        )
    low, high = by_method.min(), by_method.max()
    parts = [
        f"{k} {median[k]:g} ({low[k]}–{high[k]}, {seeds[k]} seeds)"
        if seeds[k] > 1
        else f"{k} {int(median[k])} (one seed)"
        for k in median.index
    ]
    return described(
        "convergence",
        "Epochs until validation accuracy is within 1 point of its best, per seed (median, "
        "range): {epochs}; descriptive, no ranking claim.",
        epochs=", ".join(parts),
        methods=list(median.index),
        median=[float(median[k]) for k in median.index],
        seeds=[int(seeds[k]) for k in median.index],
    )
