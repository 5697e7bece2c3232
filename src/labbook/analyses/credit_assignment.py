"""Credit assignment across seeds: curve bands, final scores, per-layer profiles, the
state-vs-credit check and the report's findings. Inputs are the tidy tables of
sources.credit_assignment.Results."""

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from labbook import stats, tables
from labbook.findings import (
    Claim,
    Finding,
    described,
    finding,
    listing,
    plural,
    ranking_claim,
    versus_claim,
)
from labbook.sources.credit_assignment import Results

DIAGNOSTICS = ("bp_cosine", "perturbation_rho", "nudging")  # the per-layer panels, in order
# |1 - cosine| within which a layer's cosine with the BP gradient is 1: float32 logging rounds 1 to
# within 1.2e-7, a float64 cosine of a vector with itself to within 1e-15
EXACT_TOLERANCE = 1e-6
# split words of a key, most specific first, -> the split's name in sentences
SPLITS = {
    "test": "test",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "train": "train",
    "training": "train",
    "dev": "dev",
    "eval": "evaluation",
}
ACCURACY_WORDS = {"acc", "accuracy"}  # a key whose words are a split and these is an accuracy


def split_of(key: str) -> str | None:
    """The data split a scalar key names ("test_acc" -> "test", "eval/val_accuracy" ->
    "validation"; the most specific of SPLITS when it names several), None when it names none."""
    words = set(re.findall(r"[a-z]+", key.lower()))
    return next((SPLITS[w] for w in SPLITS if w in words), None)


def metric_name(key: str, label: str | None = None) -> str:
    """What a scalar key measures, in sentences and titles: "<split> <metric>", the metric being
    *label* when given, else "accuracy" when the key's other words say accuracy ("test_acc" ->
    "test accuracy"); without a split "<metric> (`key`)"; with no metric known, the key itself
    in backquotes ("val/iou" -> "`val/iou`": never "accuracy" for an IoU)."""
    words = re.findall(r"[a-z0-9]+", key.lower())
    rest = [w for w in words if w not in SPLITS]
    metric = label or ("accuracy" if rest and set(rest) <= ACCURACY_WORDS else None)
    if metric is None:
        return f"`{key}`"
    split = split_of(key)
    return f"{split} {metric}" if split else f"{metric} (`{key}`)"


def capitalized(text: str) -> str:
    """*text* with its first letter upper-case, the rest as it is ("validation IoU" ->
    "Validation IoU"; a text starting with a backquote unchanged)."""
    return text[:1].upper() + text[1:]


def exact_layers(cosine: pd.DataFrame, tolerance: float = EXACT_TOLERANCE) -> list[int]:
    """The layers where every method's cosine with the BP gradient is 1 within *tolerance* in
    every seed: there every rule gives BP's gradient by construction (e.g. a readout layer that
    every rule trains as BP does), so the layer says nothing about how well a rule assigns
    credit. Only layers that at least two methods record count. cosine: rows seed, method,
    layer, value. Sorted layer numbers."""
    if cosine.empty:
        return []
    by_layer = cosine.groupby("layer")
    exact = by_layer["value"].agg(lambda v: bool((np.abs(1 - v) <= tolerance).all()))
    several = by_layer["method"].nunique() > 1
    return sorted(int(layer) for layer in exact.index[exact & several])


def exact_layers_note(layers: Sequence[int], reference: str) -> str:
    """The report's note on exact_layers (at least one layer): which layers, the criterion, and
    that they are left out of the layer findings and the means over layers."""
    word = "Layer" if len(layers) == 1 else "Layers"
    return (
        f"{word} {listing(layers)}: every method's cosine with the {reference} gradient is 1 "
        f"(within {EXACT_TOLERANCE:g}) in every seed, so every method equals {reference} there "
        "by construction (such as a readout layer every rule trains as backpropagation does). "
        f"The figure shows {'it' if len(layers) == 1 else 'them'}; the findings on the credit "
        "signal per layer leave "
        f"{'it' if len(layers) == 1 else 'them'} out of the best and worst layers and of the "
        "means over layers."
    )


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


def seed_wide(results: Results, method: str, metric: str) -> pd.DataFrame:
    """*metric* of *method* as a table: one row per seed that has it (seeds in text order), one
    column per value of the x axis (results.x: the epoch, or the store's step); NaN where a
    seed stopped earlier."""
    sub = results.curves[
        (results.curves["method"] == method) & (results.curves["metric"] == metric)
    ]
    return sub.pivot(index="seed", columns=results.x, values="value")


def seed_matrix(results: Results, method: str, metric: str) -> np.ndarray:
    """array(seeds, epochs) of *metric* for *method* (seed_wide; NaN after a seed's end)."""
    return seed_wide(results, method, metric).to_numpy()


def curve_bands(results: Results, metric: str, band: str, confidence: float) -> pd.DataFrame:
    """Per method and point of the x axis that every seed of the method reached: mean across
    seeds and the band (stats.curve_band). Columns method, epoch (the x value: epoch or step),
    mean, lower, upper, seeds; methods without *metric* are left out (an empty frame when none
    has it). Seeds that go on further: curve_tails."""
    frames = []
    for method in results.methods:
        wide = seed_wide(results, method, metric)
        if wide.empty:
            continue
        full = wide.loc[:, wide.notna().all(axis=0)]
        m = full.to_numpy()
        mean, lo, hi = stats.curve_band(m, band, confidence)
        frames.append(
            pd.DataFrame(
                {
                    "method": method,
                    "epoch": full.columns.to_numpy(),
                    "mean": mean,
                    "lower": lo,
                    "upper": hi,
                    "seeds": m.shape[0],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["method", "epoch", "mean", "lower", "upper", "seeds"])
    return pd.concat(frames, ignore_index=True)


def curve_tails(results: Results, metric: str) -> pd.DataFrame:
    """Where a method's seeds ran for different lengths: each seed's values from the last x
    value every seed of the method reached (so the line joins the mean curve's end) to its own
    end, for the seeds that went on. Columns method, seed, epoch (the x value), value; empty when
    every method's seeds are equally long."""
    rows = []
    for method in results.methods:
        wide = seed_wide(results, method, metric)
        complete = wide.notna().all(axis=0)
        if wide.empty or complete.all():
            continue
        last_common = complete[complete].index.max() if complete.any() else None
        for seed, row in wide.iterrows():
            row = row.dropna()
            if row.index.max() == last_common:
                continue
            kept = row[row.index >= last_common] if last_common is not None else row
            rows += [(method, seed, x, float(v)) for x, v in kept.items()]
    return pd.DataFrame(rows, columns=["method", "seed", "epoch", "value"])


def final_scores(results: Results, metric: str = "test_acc") -> dict[str, np.ndarray]:
    """{method: array(seeds, 1)} of *metric*: each seed's last logged value (seeds that stopped
    early at their own last epoch or step, never cut to the shortest)."""
    out = {}
    for m in results.methods:
        wide = seed_wide(results, m, metric)
        out[m] = np.array([[row.dropna().iloc[-1]] for _, row in wide.iterrows()], dtype=float)
    return out


def last_epochs(results: Results, metric: str = "test_acc") -> dict[str, np.ndarray]:
    """{method: array(seeds)} of the x value (epoch or step) at which each seed's final score
    was logged (final_scores' order)."""
    out = {}
    for m in results.methods:
        wide = seed_wide(results, m, metric)
        out[m] = np.array([row.dropna().index[-1] for _, row in wide.iterrows()])
    return out


def horizon(last: dict[str, np.ndarray], unit: str) -> str:
    """Where the final scores were taken, for titles: "after 30 epochs" when every seed of every
    method ends at the same *unit* (epoch, step), else "at each seed's last epoch (17–50)".
    last: last_epochs output."""
    ends = np.concatenate([np.asarray(v).ravel() for v in last.values()])
    low, high = ends.min(), ends.max()
    if low == high:
        return f"after {plural(int(high), unit)}"
    return f"at each seed's last {unit} ({low:g}–{high:g})"


def can_compare(final: dict[str, np.ndarray]) -> bool:
    """Whether there are methods to compare: at least two (one method with several seeds has
    interval estimates but no pair for P(X > Y) or a ranking)."""
    return len(final) > 1


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


def final_table_percent(table: pd.DataFrame) -> pd.DataFrame:
    """final_table as the report shows it, in the figure's unit: every accuracy column (mean,
    interval, sample std, min, max) in percent; method, label and seeds as they are."""
    out = table.copy()
    for col in ("mean", "lower", "upper", "std", "min", "max"):
        out[col] = 100 * out[col]
    return out


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


def band_label(band: str, n_seeds: int, confidence: float) -> str:
    """What the band around the mean accuracy curves shows (the figure's legend title): none for
    one seed, else one sample std (*band* "std") or the t-interval of the mean ("ci")."""
    if n_seeds == 1:
        return "no band (one seed)"
    if band == "std":
        return "band: ± 1 sample std"
    return f"band: {confidence:.0%} t-interval of the mean"


def diagnostics_where(seed: str | None, seeds: list[str]) -> str:
    """Which seeds the per-layer profiles describe: "seed 42" (*seed* given), "mean over 3 seeds"
    or "one seed". ValueError naming the parameter when *seed* is not one of *seeds*."""
    if seed is not None:
        if str(seed) not in seeds:
            raise ValueError(f"parameter diagnostics_seed={seed!r} is not one of the seeds {seeds}")
        return f"seed {seed}"
    return f"mean over {plural(len(seeds), 'seed')}" if len(seeds) > 1 else "one seed"


def diagnostic_profiles(
    results: Results, eta: str, seed: str | None = None
) -> dict[str, pd.DataFrame]:
    """{diagnostic: layer_profile} for each of DIAGNOSTICS (nudging at step size *eta*), over one
    *seed* or the mean across seeds; a diagnostic no method records gives an empty frame."""
    return {
        d: layer_profile(diagnostic(results, d, eta if d == "nudging" else None), "layer", seed)
        for d in DIAGNOSTICS
    }


def state_errors(results: Results) -> dict[str, np.ndarray]:
    """{method: array(seeds, epochs)} of the state-prediction error, for the methods that log it
    (in method order)."""
    errors = {m: seed_matrix(results, m, "state_pred_error") for m in results.methods}
    return {m: v for m, v in errors.items() if v.size}


def state_credit_case(
    final: dict[str, np.ndarray], errors: dict[str, np.ndarray], reference: str
) -> dict | None:
    """state_vs_credit over the methods compared with *reference* (every other method): their
    mean final accuracy from *final* ({method: array(seeds, 1)}) and their mean last-epoch
    state-prediction error from *errors* ({method: array(seeds, epochs)})."""
    compared = [m for m in final if m != reference]
    last = {m: [row[np.isfinite(row)][-1] for row in v] for m, v in errors.items()}
    return state_vs_credit(
        {m: float(final[m].mean()) for m in compared},
        {m: float(np.mean(v)) for m, v in last.items()},
    )


def interval_estimates(
    scores: dict[str, np.ndarray], reps: int, confidence: float, seed: int
) -> tuple[pd.DataFrame, list[str]]:
    """Stratified-bootstrap interval estimates of the final test accuracy (stats.interval_estimates,
    *reps* replicates drawn with *seed*) for the aggregates median, IQM, mean and optimality gap,
    without those that say nothing new for these scores (stats.redundant_aggregates); and one note
    per aggregate left out. scores: {method: array(seeds, 1)} of fractions. Returns
    stats.estimates_frame (method, metric, estimate, lower, upper) in percent (the optimality gap
    in points: 100 minus the mean accuracy clipped at 100%) and the notes."""
    shown = ["median", "iqm", "mean", "optimality_gap"]
    notes = []
    for metric, reason in stats.redundant_aggregates(scores, shown).items():
        shown.remove(metric)
        notes.append(f"{stats.AGGREGATE_LABELS[metric]} not shown: {reason}.")
    points, intervals = stats.interval_estimates(
        scores, shown, reps=reps, confidence=confidence, seed=seed
    )
    frame = stats.estimates_frame(points, intervals, shown)
    for col in ("estimate", "lower", "upper"):  # in % like the report's other accuracies
        frame[col] = 100 * frame[col]
    return frame, notes


def estimates_table(estimates: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, dict]:
    """interval_estimates in wide form for the report: one row per method in *order* (column
    Method), per aggregate its estimate, lower and upper (tables.interval_wide); and the
    intervals spec that shows each aggregate as one `est [lo, hi]` column."""
    wide, spec = tables.interval_wide(
        estimates, "method", "metric", stats.AGGREGATE_LABELS, order=list(order)
    )
    return wide.rename(columns={"method": "Method"}), spec


def improvement_table(probs: dict, cis: dict, order: list[str]) -> tuple[pd.DataFrame, dict]:
    """P(X > Y) as a matrix for the report: row method X (column "X \\ Y"), one column per method
    Y in *order* with its estimate, lower and upper; and the intervals spec. probs, cis:
    stats.probability_of_improvement_ci output over pairs "X:Y"."""
    poi = stats.improvement_frame(probs, cis).rename(
        columns={"P(X > Y)": "estimate", "CI low": "lower", "CI high": "upper"}
    )
    matrix, spec = tables.interval_wide(poi, "X", "Y", order=list(order), columns=list(order))
    return matrix.rename(columns={"X": "X \\ Y"}), spec


# ---------------------------------------------------------------- findings


def accuracy_findings(
    final: dict[str, np.ndarray],
    names: dict[str, str],
    reference: str,
    confidence: float,
    metric: str = "test accuracy",
) -> list[Finding]:
    """The ranking by the final *metric* ("ranking", ranking_claim: one method alone says there
    is nothing to compare) and each method's margin to *reference* ("margin_<method>"), by the
    claim policy (Welch t-tests over seeds, Holm-corrected).
    final: {method: array(seeds, 1)} of fractions; names: method -> display name."""
    order = final_table(final, names, confidence)["method"].tolist()
    samples = {names[m]: final[m][:, 0] for m in order}
    evidence = stats.compare(samples, confidence=confidence)
    what = f"final {metric}"
    out = [
        finding(
            "ranking",
            ranking_claim(samples, evidence, what, "seed", confidence, spec=".1%"),
        )
    ]
    compared = [m for m in final if m != reference]
    if not compared:
        return out
    margins = stats.compare(samples, [(names[m], names[reference]) for m in compared], confidence)
    for m, row in zip(compared, margins.to_dict("records")):
        claim = versus_claim(row, what, "seed", confidence, scale=100, spec="+.1f")
        out.append(finding(f"margin_{m}", claim))
    return out


def credit_layer_findings(
    cosine: pd.DataFrame,
    profile: pd.DataFrame,
    names: dict[str, str],
    reference: str,
    where: str,
    confidence: float,
    exact: Sequence[int] = (),
) -> list[Finding]:
    """Which method's credit signal is closest to the BP gradient ("credit_layers": the cosine
    averaged over layers, one value per seed, ranked by the claim policy) and, per method but
    *reference*, the layers where its cosine is highest and lowest ("credit_layers_<method>",
    descriptive: the profile drawn, *where* says over which seeds; with at most four layers, where
    "the top three" would be every layer but one, each layer's value in layer order).
    cosine: rows seed, method, layer, value of every seed; profile: layer_profile as drawn;
    exact: layers where every method equals the reference by construction (exact_layers): left
    out of the means, the best and the worst layers, and named in each sentence (values
    "exact_layers"); when every layer is such, one sentence says so and nothing is ranked."""
    profile = profile[profile["method"] != reference]
    if profile.empty:
        return []
    exact = [int(v) for v in exact]
    left_out = ""
    if exact:
        word = "layer" if len(exact) == 1 else "layers"
        left_out = f", {word} {listing(exact)} left out: equal to BP by construction"
        where += left_out
        profile = profile[~profile["layer"].isin(exact)]
        cosine = cosine[~cosine["layer"].isin(exact)]
        if profile.empty:
            text = (
                f"Every layer recorded ({listing(exact)}) gives every method a cosine of 1 with "
                "the BP gradient: equal to BP by construction, so these data say nothing about "
                "which method assigns credit best."
            )
            return [finding("credit_layers", Claim(text, {"exact_layers": exact}))]
    layers = best_layers(profile)
    per_seed = cosine.groupby(["method", "seed"], sort=False)["value"].mean()
    samples = {names[m]: per_seed[m].to_numpy() for m in layers["method"]}
    out = []
    if len(samples) > 1:
        what = f"cosine with the BP gradient (mean over layers{left_out})"
        evidence = stats.compare(samples, confidence=confidence)
        claim = ranking_claim(samples, evidence, what, "seed", confidence)
        if exact:
            claim = Claim(
                claim.text,
                dict(claim.values, exact_layers=exact),
                claim.verdict,
                claim.winner,
                claim.ranking,
            )
        out.append(finding("credit_layers", claim))
    for row in layers.itertuples():
        values = dict(
            method=names[row.method],
            best=", ".join(map(str, row.best)),
            worst=row.worst,
            lo=row.worst_value,
            hi=row.best_value,
            where=where,
        )
        if exact:
            values["exact_layers"] = exact
        sub = profile[profile["method"] == row.method].sort_values("layer", kind="stable")
        if len(sub) <= len(row.best) + 1:  # "the top 3 of 4 layers" says nothing: give them all
            values.update(
                layers=[int(v) for v in sub["layer"]],
                values=[float(v) for v in sub["value"]],
                top=int(sub["layer"].iloc[int(np.argmax(sub["value"].to_numpy()))]),
            )
            text = (
                f"{values['method']}: BP cosine per layer ({where}): "
                + listing(f"{v:.2f}" for v in values["values"])
                + f" in layers {listing(values['layers'])}; highest in layer {values['top']}, "
                f"lowest in layer {row.worst}."
            )
            out.append(finding(f"credit_layers_{row.method}", Claim(text, values)))
            continue
        out.append(
            described(
                f"credit_layers_{row.method}",
                "{method}: BP cosine is highest in "
                + ("layers" if len(row.best) > 1 else "layer")
                + " {best} and lowest in layer {worst} ({lo:.2f} to {hi:.2f}, {where}).",
                **values,
            )
        )
    return out


def state_credit_claim(
    final: dict[str, np.ndarray],
    names: dict[str, str],
    reference: str,
    errors: dict[str, np.ndarray],
    confidence: float,
) -> Claim | None:
    """The seed's "predicts the state best but gives the worst credit" sentence, when the means
    show that case (state_credit_case), else None. It concludes that predicting the state is not
    giving good credit only when Welch's t-test separates the method from every other method
    compared, Holm-corrected over those pairs (verdict "worse"); otherwise it says the data do not
    show it: "not_separated" (with the closest method it cannot be told apart from) or "untested"
    (a single seed on a side). The numbers it quotes are percentage points of the pair it names."""
    case = state_credit_case(final, errors, reference)
    if case is None:
        return None
    x, nearest = case["method"], case["next_worst"]
    others = [m for m in final if m not in (reference, x)]
    samples = {names[m]: final[m][:, 0] for m in (x, *others)}
    evidence = stats.compare(samples, [(names[x], names[o]) for o in others], confidence)
    worse = evidence["separated"] & (evidence["diff"] < 0)
    ties = evidence[~worse]
    shown = (
        stats.pair_row(evidence, names[x], names[nearest])
        if ties.empty or ties["p"].isna().any()
        else ties.loc[ties["diff"].abs().idxmin()]
    )
    head = (
        f"{names[x]} predicts the network state best (final error {case['pred_error']:.1e}) yet "
        f"has the lowest mean test accuracy of the methods compared ({case['accuracy']:.1%}; "
        f"next lowest {names[nearest]} {case['next_worst_accuracy']:.1%})"
    )
    alpha = 1 - confidence
    d, lo, hi = (100 * shown[k] for k in ("diff", "diff_lower", "diff_upper"))
    n_x, n_y = int(shown["n_x"]), int(shown["n_y"])
    counts = f"n = {n_x}" if n_x == n_y else f"n = {n_x} and {n_y}"
    means = {names[m]: float(final[m].mean()) for m in final if m != reference}
    values = {
        "method": names[x],
        "err": case["pred_error"],
        "acc": case["accuracy"],
        "other": names[nearest],
        "other_acc": case["next_worst_accuracy"],
        "separated": bool(worse.all()),
        "versus": shown["y"],
        "diff": d,
        "lower": lo,
        "upper": hi,
        "p": shown["p"],
        "p_holm": shown["p_holm"],
        "n_x": n_x,
        "n_y": n_y,
        "pairs": len(evidence),
        "confidence": confidence,
    }
    ranking = tuple(sorted(means, key=lambda m: -means[m]))
    no_claim = "so these data do not show that predicting the state well gives poor credit"
    if evidence["p"].isna().any():
        single = [names[m] for m in (x, *others) if final[m].shape[0] == 1]
        text = (
            f"{head}, but {listing(single)} {'has' if len(single) == 1 else 'have'} a single "
            f"seed: there is no interval and no test, {no_claim}."
        )
        return Claim(text, values, "untested", ranking=ranking)
    detail = (
        f"against {shown['y']}: {d:+.1f} points, {confidence:.0%} Welch t-interval {lo:+.1f} to "
        f"{hi:+.1f}, p = {shown['p']:.2g}, Holm-corrected {shown['p_holm']:.2g} over "
        f"{plural(len(evidence), 'pair')}, {counts} seeds"
    )
    if worse.all():
        text = (
            f"{head}, and Welch's t-tests at α = {alpha:.2g} separate it from every other method "
            f"compared ({detail}): predicting the state is not giving good credit."
        )
        return Claim(text, values, "worse", ranking=ranking)
    text = (
        f"{head}, but at α = {alpha:.2g} it cannot be told apart from {listing(ties['y'])} at "
        f"this number of seeds ({detail}), {no_claim}."
    )
    return Claim(text, values, "not_separated", ranking=ranking)


def seeds_caveat(final: dict[str, np.ndarray], names: dict[str, str]) -> Finding:
    """How far the seeds carry the statistics ("few_seeds"): with one seed there is no interval
    and no test for that method; with a few, the tests are wide and the bootstrap intervals too
    narrow. final: {method: array(seeds, 1)}."""
    n = {m: int(v.shape[0]) for m, v in final.items()}
    n_min = min(n.values())
    if n_min > 1:
        return described(
            "few_seeds",
            "These statistics rest on {seeds} per method: t-intervals and tests from so few runs "
            "are wide, and the bootstrap intervals of the figures are too narrow; read P(X > Y) "
            "as indicative.",
            n=n_min,
            seeds=plural(n_min, "seed"),
        )
    if all(k == 1 for k in n.values()):
        return described(
            "few_seeds",
            "With one seed per method there are no intervals and no tests: every comparison "
            "above is a first look, not evidence; train more seeds to compare the methods.",
            n=n_min,
        )
    single = [names[m] for m in final if n[m] == 1]
    return described(
        "few_seeds",
        "{single} {verb} one seed: no interval and no test involving {it} is possible, so every "
        "comparison with {it} above is a first look, not evidence; train more seeds to compare "
        "the methods.",
        n=n_min,
        single=listing(single),
        verb="has" if len(single) == 1 else "have",
        it="it" if len(single) == 1 else "them",
    )


def findings(
    final: dict[str, np.ndarray],
    names: dict[str, str],
    reference: str,
    cosine: pd.DataFrame,
    cosine_profile: pd.DataFrame,
    where: str,
    errors: dict[str, np.ndarray],
    confidence: float = 0.95,
    exact: Sequence[int] = (),
    metric: str = "test accuracy",
) -> list[Finding]:
    """The report's findings, in order: ranking and margins by the final *metric*
    (accuracy_findings), the credit signal per layer (credit_layer_findings, *exact* layers left
    out), the state-vs-credit case when the means show it (state_credit_claim) and what the
    number of seeds allows (seeds_caveat).

    final: {method: array(seeds, 1)} final scores (fractions); names: method -> display
    name; cosine: bp_cosine rows (seed, method, layer, value), cosine_profile: its layer_profile
    as drawn, over *where*; errors: state_errors output; confidence: 1 - alpha of every test."""
    out = accuracy_findings(final, names, reference, confidence, metric)
    out += credit_layer_findings(cosine, cosine_profile, names, reference, where, confidence, exact)
    claim = state_credit_claim(final, names, reference, errors, confidence)
    if claim is not None:
        out.append(finding("state_vs_credit", claim))
    out.append(seeds_caveat(final, names))
    return out
