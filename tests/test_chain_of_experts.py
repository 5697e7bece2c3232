"""Chain-of-experts: the source adapter (good and bad inputs), the computations, the findings on
hand-made tables and the figure builders."""

import hashlib
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from labbook import figures, paths, stats, style
from labbook.analyses import chain_of_experts as coe
from labbook.inputs import InputError
from labbook.plots import chain_of_experts as coe_plots
from labbook.sources import METRICS_COLUMNS
from labbook.sources import chain_of_experts as source

EXAMPLE = paths.EXAMPLES / "chain_of_experts"
METHODS = {
    "baseline": EXAMPLE / "baseline.json",
    "chain_seq": EXAMPLE / "chain_sequential.json",
    "chain_par": EXAMPLE / "chain_parallel.json",
}


def _write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_load_seed_example_values():
    res = source.load(
        METHODS, EXAMPLE / "ablation_experts.json", EXAMPLE / "entropy.json", EXAMPLE / "absent.csv"
    )
    assert res.methods["chain_seq"].name == "ChainSequential"
    assert res.methods["chain_seq"].accuracy.tolist() == [78.6]
    assert res.methods["chain_seq"].gate_means.shape == (4, 4)
    assert res.methods["baseline"].gate_means is None
    assert res.ablation["accuracy"].tolist() == [77.0, 78.1, 78.6, 78.5]
    assert res.entropy["avg_entropy"].tolist() == [0.05, 0.12, 0.21, 0.34]
    assert res.convergence is None and "absent.csv does not exist" in res.notes[0]
    table = res.metrics_table()
    assert list(table.columns) == METRICS_COLUMNS
    assert table.query("metric == 'gflops' and run == 'chain_par'")["value"].item() == 8.4


def test_per_seed_lists(tmp_path):
    m = _write(tmp_path, "m.json", {"accuracy": [78.4, 78.9, 78.5], "gflops": 2})
    abl = _write(
        tmp_path, "a.json", {"experts_per_block": [1, 2], "accuracy": [[1, 2, 3], [4, 5, 6]]}
    )
    res = source.load({"m": m}, ablation_file=abl)
    assert res.methods["m"].accuracy.tolist() == [78.4, 78.9, 78.5]
    assert res.ablation.groupby("experts_per_block")["accuracy"].mean().tolist() == [2.0, 5.0]
    assert sorted(res.ablation["seed"].unique()) == [0, 1, 2]


@pytest.mark.parametrize(
    "doc,match",
    [
        ("{not json", r"m\.json: malformed JSON"),
        ({"params_m": 3}, r"m\.json: required field 'accuracy' is missing"),
        ({"accuracy": "high"}, r"m\.json: field 'accuracy' must be a finite number, got 'high'"),
        ({"accuracy": [1, "x"]}, r"m\.json: field 'accuracy'\[1\] must be a finite number"),
        ({"accuracy": 1, "gflops": "8"}, r"field 'gflops' must be a finite number"),
        (
            {"accuracy": 1, "gate_means": [[0.1, 0.2], [0.3]]},
            r"field 'gate_means' is ragged: row 1 has 1 entries, row 0 has 2",
        ),
        ({"accuracy": 1, "gate_means": [[0.1, None]]}, r"field 'gate_means'\[0\]\[1\]"),
        (
            {"accuracy": 1, "gate_means": [[0.1], [0.2]], "entropy": [0.3]},
            r"'entropy' has 1 blocks but 'gate_means' has 2",
        ),
        ([1, 2], r"m\.json: top level must be a JSON object"),
        (
            {"accuracy": -5},
            r"m\.json: field 'accuracy'\[0\] = -5 is outside its domain \(a percentage",
        ),
        ({"accuracy": 178.1}, r"field 'accuracy'\[0\] = 178.1 is outside its domain"),
        (
            {"accuracy": 78, "params_m": 1e308},
            r"field 'params_m'\[0\] = 1e\+308 is outside its domain",
        ),
        ({"accuracy": 78, "gflops": -1}, r"field 'gflops'\[0\] = -1 is outside its domain"),
        (
            {"accuracy": 78, "gate_means": [[0.5, 1.5]]},
            r"field 'gate_means'\[0\]\[1\] = 1.5 is outside its domain",
        ),
        (
            {"accuracy": 78, "gate_means": [[0.5]], "entropy": [-0.1]},
            r"field 'entropy'\[0\] = -0.1 is outside",
        ),
        (
            {"accuracy": [0.78, 0.79]},
            r"m\.json: field 'accuracy' has every value in \[0, 1\] in every file",
        ),
        ({"accuracy": []}, r"field 'accuracy' is an empty list"),
    ],
)
def test_bad_method_file(tmp_path, doc, match):
    path = _write(tmp_path, "m.json", doc)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=match):
        source.load({"m": path})
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # input untouched


def test_one_file_on_another_scale_or_with_a_duplicate_name(tmp_path):
    a = _write(tmp_path, "a.json", {"method": "A", "accuracy": [78.4, 78.9]})
    b = _write(tmp_path, "b.json", {"method": "B", "accuracy": 0.781})
    before = {p: p.read_bytes() for p in (a, b)}
    with pytest.raises(
        InputError,
        match=r"b\.json: field 'accuracy' = \[0.781\] looks like a fraction, while .*a\.json",
    ):
        source.load({"a": a, "b": b})
    c = _write(tmp_path, "c.json", {"method": "A", "accuracy": 70})
    with pytest.raises(
        InputError, match=r"c\.json: field 'method' 'A' is also the name of .*a\.json"
    ):
        source.load({"a": a, "c": c})
    lower = _write(
        tmp_path, "lower.json", {"method": "a", "accuracy": 70}
    )  # differs by case only: allowed
    assert [m.name for m in source.load({"a": a, "lower": lower}).methods.values()] == ["A", "a"]
    assert {p: p.read_bytes() for p in (a, b)} == before


def test_missing_listed_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"nope\.json: file not found"):
        source.load({"m": tmp_path / "nope.json"})
    with pytest.raises(InputError, match="at least one method"):
        source.load({})


@pytest.mark.parametrize(
    "doc,match",
    [
        (
            {"experts_per_block": [1, 2], "accuracy": [71]},
            r"'accuracy' must be a list of 2 entries, got 1",
        ),
        (
            {"experts_per_block": [1, 2], "accuracy": [[71, 72], [73]]},
            "per-seed lists of different lengths",
        ),
        ({"experts_per_block": [1, 2], "accuracy": [71, [73]]}, "mixes numbers and lists"),
        ({"accuracy": [71, 72]}, "required field 'experts_per_block'"),
        (
            {"experts_per_block": [0, 2], "accuracy": [71, 72]},
            r"'experts_per_block'\[0\] = 0 is outside its domain",
        ),
        ({"experts_per_block": [2, 2], "accuracy": [71, 72]}, "lists a value twice"),
        ({"experts_per_block": [1, 2], "accuracy": [0.71, 0.72]}, "looks like fractions"),
        (
            {"experts_per_block": [1, 2], "accuracy": [71, 172]},
            r"'accuracy'\[0\]\[1\] = 172 is outside its domain",
        ),
    ],
)
def test_bad_ablation(tmp_path, doc, match):
    m = _write(tmp_path, "m.json", {"accuracy": 70})
    with pytest.raises(InputError, match=match):
        source.load({"m": m}, ablation_file=_write(tmp_path, "a.json", doc))


def test_bad_convergence_csv(tmp_path):
    m = _write(tmp_path, "m.json", {"accuracy": 70})
    with pytest.raises(InputError, match=r"c\.csv: missing column\(s\) \['val_acc'\]"):
        source.load({"m": m}, convergence_file=_write(tmp_path, "c.csv", "epoch,train_loss\n1,2\n"))
    with pytest.raises(InputError, match=r"c\.csv: column 'val_acc' row 3 is not a number: 'x'"):
        source.load(
            {"m": m},
            convergence_file=_write(tmp_path, "c.csv", "epoch,train_loss,val_acc\n1,2,3\n2,2,x\n"),
        )


def test_summary_values_and_ci():
    res = source.load(METHODS)
    s = coe.summary(res, "baseline", confidence=0.95)
    assert list(s.index) == ["chain_seq", "chain_par", "baseline"]
    assert s.loc["chain_seq", "delta_vs_baseline"] == pytest.approx(2.2)
    assert s.loc["baseline", "acc_per_gflop"] == pytest.approx(76.4 / 8.1)
    assert s["ci_lower"].isna().all()  # single values: no interval
    with pytest.raises(KeyError, match="baseline 'nope'"):
        coe.summary(res, "nope", confidence=0.95)


def test_plateau():
    acc = pd.Series([77.0, 78.1, 78.6, 78.5], index=[1, 2, 4, 8])
    p = coe.plateau(acc, tolerance=0.2)
    assert p["plateau_x"] == 4 and p["best_x"] == 4 and not p["still_rising"]
    p = coe.plateau(acc, tolerance=0.6)
    assert p["plateau_x"] == 2
    rising = coe.plateau(pd.Series([1.0, 2.0, 3.0], index=[1, 2, 4]), tolerance=0.1)
    assert rising["still_rising"] and rising["plateau_x"] == 4


def test_gate_confidence_and_front():
    assert coe.gate_confidence(np.array([[0.5, 0.5], [1.0, 0.0], [0.75, 0.25]])).tolist() == [
        0.0,
        1.0,
        0.5,
    ]
    df = pd.DataFrame(
        {"accuracy": [78.6, 78.1, 76.4, 76.0], "gflops": [8.9, 8.4, 8.1, 8.5]}, index=list("abcd")
    )
    assert coe.cost_front(df, "gflops").tolist() == [True, True, True, False]


# ---------------------------------------------------------------- findings on hand-made tables

SPREAD = np.array([-0.2, -0.1, 0.0, 0.1, 0.2])  # mean 0, sd 0.158: five seeds
NOISE = np.array([-1.5, 0.8, 0.3, 1.2, -0.8])  # mean 0, sd 1.15: methods 0.5 apart overlap


def _results(acc, gflops=None, params=None):
    """Results of methods {key: accuracies (%)}; each method's name is its key capitalised."""
    methods = {
        k: source.MethodResult(
            key=k,
            name=k.capitalize(),
            accuracy=np.atleast_1d(np.asarray(a, float)),
            params_m=(params or {}).get(k),
            gflops=(gflops or {}).get(k),
            block_entropy=None,
            gate_means=None,
            notes="",
            path=EXAMPLE / f"{k}.json",
        )
        for k, a in acc.items()
    }
    return source.ChainOfExpertsResults(methods)


def _findings(acc, gflops=None, params=None, **sections):
    res = _results(acc, gflops, params)
    summary = coe.summary(res, "base", 0.95)
    accuracy = {k: m.accuracy for k, m in res.methods.items()}
    items = coe.findings(summary, accuracy, "base", 0.95, **sections)
    return {f.key: f for f in items}


def test_findings_separated_methods():
    f = _findings(
        {"base": 70 + SPREAD, "small": 75 + SPREAD, "big": 80 + SPREAD},
        gflops={"base": 8.0, "small": 9.0, "big": 12.0},
    )
    assert list(f) == [
        "best_method",
        "improvement_small",
        "improvement_big",
        "marginal_gflops",
        "cheapest_not_worse",
    ]
    best = f["best_method"]
    assert best.text.startswith(
        "Big has the highest mean top-1 accuracy, 80.00% (95% t-interval 79.80%–80.20%, 5 seeds) "
        "and is better than every other method compared"
    )
    assert (best.verdict, best.winner, best.ranking) == (
        "separated",
        "Big",
        ["Big", "Small", "Base"],
    )
    small = f["improvement_small"]
    assert small.text.startswith(
        "Small vs. Base: +5.00 points in top-1 accuracy (95% Welch t-interval +4.77 to +5.23"
    )
    assert small.text.endswith("n = 5 seeds): Small is better.")
    assert (small.verdict, small.winner) == ("better", "Small")
    # rates: Small 5 points per GFLOP, Big 10 / 4 = 2.5. Their difference is Small - Big/4 -
    # 3/4 base: se = sqrt(0.005 * (1 + 1/16 + 9/16)) = 0.0901 with 8 degrees of freedom (Welch-
    # Satterthwaite), so the interval is 2.5 +- 2.306 * 0.0901 and t = 27.7 gives p = 3.1e-09
    rate = f["marginal_gflops"]
    assert rate.values["rate_p_holm"][0] == pytest.approx(3.08e-9, rel=0.01)
    assert rate.text == (
        "Accuracy gained over the baseline per added GFLOP: Big 2.50 points per added GFLOP "
        "(+10.00 points for +4.00 GFLOP); Small 5.00 points per added GFLOP (+5.00 points for "
        "+1.00 GFLOP); per added GFLOP, Small buys accuracy most cheaply: Small's rate minus "
        "Big's is +2.50 points per GFLOP (95% Welch t-interval +2.29 to +2.71, Holm-corrected "
        "p = 3.1e-09, 5 seeds each)."
    )
    assert (rate.verdict, rate.winner, rate.ranking) == ("separated", "Small", ["Small", "Big"])
    cheapest = f["cheapest_not_worse"]
    assert cheapest.text == (
        "No cheaper method matches Big: every method with fewer GFLOPs is separated below it."
    )
    assert (cheapest.verdict, cheapest.winner) == ("separated", "Big")


def test_findings_methods_not_separated():
    f = _findings(
        {"base": 70 + NOISE, "a": 70.5 + NOISE[::-1], "b": 70.8 + NOISE},
        gflops={"base": 8.0, "a": 11.0, "b": 10.0},
    )
    best = f["best_method"]
    assert "cannot be told apart from" in best.text and "no method is separated" in best.text
    assert (best.verdict, best.winner, best.ranking) == ("not_separated", None, ["B", "A", "Base"])
    b = f["improvement_b"]
    assert b.text.endswith("the two cannot be told apart at this number of seeds.")
    assert (b.verdict, b.winner) == ("not_separated", None)
    rate = f["marginal_gflops"]
    assert rate.text == (
        "Accuracy gained over the baseline per added GFLOP: B adds +2.00 GFLOP for +0.80 points, "
        "a gain not separated from zero, so no rate; A adds +3.00 GFLOP for +0.50 points, a gain "
        "not separated from zero, so no rate."
    )
    assert (rate.verdict, rate.winner, rate.values["rates"]) == (None, None, [])
    cheap = f["cheapest_not_worse"]
    p = cheap.values["p"]
    assert 0.05 < p <= 1
    assert cheap.text == (
        "The cheapest method not shown to be worse than B is Base: 8.00 GFLOPs against 10.00, "
        f"-0.80 points (Holm-corrected p = {p:.2g}, 5 seeds each)."
    )
    assert (cheap.verdict, cheap.winner) == ("not_separated", None)
    off = f["pareto_gflops"]
    assert off.text == (
        "Off the accuracy–GFLOPs Pareto front (by mean accuracy): A — another method is at least "
        "as accurate and cheaper."
    )
    assert off.verdict is None


def test_findings_single_seed_give_an_order_and_no_claim():
    f = _findings({"base": 70.0, "a": 72.0}, gflops={"base": 8.0, "a": 9.0})
    assert list(f) == ["best_method", "improvement_a", "marginal_gflops"]  # no cost claims
    best = f["best_method"]
    assert best.text == (
        "A has the highest top-1 accuracy (72.00%), but every method has a single seed: with no "
        "interval and no test, this order is not evidence that one method is better."
    )
    assert (best.verdict, best.winner, best.ranking) == ("untested", None, ["A", "Base"])
    assert f["improvement_a"].verdict == "untested" and f["improvement_a"].winner is None
    rate = f["marginal_gflops"]
    assert rate.text == (
        "Accuracy gained over the baseline per added GFLOP: A adds +1.00 GFLOP for +2.00 points, "
        "a gain untested with one seed, so no rate."
    )
    assert (rate.verdict, rate.winner) == ("untested", None)


def test_findings_ties():
    f = _findings(
        {"base": 70 + SPREAD, "a": 75 + SPREAD, "b": 75 + SPREAD},
        gflops={"base": 8.0, "a": 9.0, "b": 9.0},
    )
    best = f["best_method"]
    assert "cannot be told apart from B (p = 1)" in best.text
    assert best.text.endswith("; it is better than Base.")
    assert (best.verdict, best.winner, best.ranking) == ("not_separated", None, ["A", "B", "Base"])
    rate = f["marginal_gflops"]  # equal costs: Welch on A - B, se 0.1, 8 d.f., +-2.306 * 0.1
    assert rate.text.endswith(
        "per added GFLOP, A's rate cannot be told apart from B's at this number of seeds: A's "
        "rate minus B's is +0.00 points per GFLOP (95% Welch t-interval -0.23 to +0.23, "
        "Holm-corrected p = 1, 5 seeds each)."
    )
    assert (rate.verdict, rate.winner, rate.ranking) == ("not_separated", None, ["A", "B"])
    # B costs as much as A (not less): no cheaper method matches A
    assert f["cheapest_not_worse"].text == (
        "No cheaper method matches A: every method with fewer GFLOPs is separated below it."
    )


def test_findings_cheaper_and_worse_than_the_baseline():
    f = _findings({"base": 75 + SPREAD, "lite": 73 + SPREAD}, gflops={"base": 8.0, "lite": 6.0})
    lite = f["improvement_lite"]
    assert lite.text.endswith("n = 5 seeds): Lite is worse.")
    assert (lite.verdict, lite.winner) == ("worse", "Base")
    rate = f["marginal_gflops"]
    assert rate.text == (
        "Accuracy gained over the baseline per added GFLOP: Lite costs no more than the baseline "
        "(-2.00 GFLOP, -2.00 points)."
    )
    assert rate.verdict is None
    assert f["cheapest_not_worse"].text.startswith("No cheaper method matches Base")
    assert (f["best_method"].verdict, f["best_method"].winner) == ("separated", "Base")


def test_rate_contrasts_equal_costs_are_a_welch_test():
    """With equal added costs the baseline drops out: the contrast is Welch's test of the two
    methods, scaled by 1 / cost."""
    x, y, base = 72 + NOISE, 71 + SPREAD, 70 + SPREAD
    ev = coe.rate_contrasts({"x": x, "y": y}, base, {"x": 2.0, "y": 2.0}, "x", 0.95)
    welch = stats.compare({"x": x, "y": y}).iloc[0]
    row = ev.iloc[0]
    assert (row["x"], row["y"], row["n_baseline"]) == ("x", "y", 5)
    assert row["diff"] == pytest.approx(0.5)
    assert row["diff_lower"] == pytest.approx(welch["diff_lower"] / 2)
    assert row["diff_upper"] == pytest.approx(welch["diff_upper"] / 2)
    assert row["p"] == pytest.approx(welch["p"]) and row["p_holm"] == pytest.approx(welch["p"])
    one = coe.rate_contrasts({"x": x, "y": [71.0]}, base, {"x": 1.0, "y": 2.0}, "x", 0.95)
    assert np.isnan(one["p"].iloc[0]) and not one["separated"].iloc[0]


def test_rate_claim_separated_from_some_only():
    ev = pd.DataFrame(
        {
            "x": ["A", "A"],
            "y": ["B", "C"],
            "n_x": [5, 5],
            "n_y": [5, 4],
            "n_baseline": [5, 5],
            "diff": [2.0, 0.5],
            "diff_lower": [1.0, -0.5],
            "diff_upper": [3.0, 1.5],
            "p_holm": [0.002, 0.3],
            "separated": [True, False],
        }
    )
    claim = coe.rate_claim(ev, "GFLOP", {"C": 4.5, "A": 5.0, "B": 3.0}, 0.95)
    assert claim.text == (
        "; per added GFLOP, A buys accuracy more cheaply than B, but cannot be told apart from C "
        "at this number of seeds: A's rate minus B's is +2.00 points per GFLOP (95% Welch "
        "t-interval +1.00 to +3.00, Holm-corrected p = 0.002, 5 seeds each) and A's rate minus "
        "C's is +0.50 points per GFLOP (95% Welch t-interval -0.50 to +1.50, Holm-corrected "
        "p = 0.3, n = 5, 4, 5)"
    )
    assert (claim.verdict, claim.winner, claim.ranking) == ("not_separated", None, ("A", "C", "B"))


def _sweep(entropy, accuracy=None):
    """An entropy sweep over coefficients 0, 0.001, 0.01, ... with one row per seed and value."""
    entropy = np.atleast_2d(entropy)
    accuracy = np.full(entropy.shape, 77.0) if accuracy is None else np.atleast_2d(accuracy)
    coeffs = [0.0] + [10.0 ** (i - 3) for i in range(entropy.shape[1] - 1)]
    rows = [
        {"entropy_coeff": c, "seed": s, "accuracy": accuracy[s, i], "avg_entropy": entropy[s, i]}
        for s in range(entropy.shape[0])
        for i, c in enumerate(coeffs)
    ]
    return pd.DataFrame(rows)


def test_entropy_trend_rises_flat_and_unclear():
    best, rising = coe.entropy_findings(_sweep([0.1, 0.22, 0.29, 0.41]), 0.95)
    # slope 0.1 per step, residual sd 0.0158 over 4 points: t(2) interval 0.070 to 0.130
    assert rising.text == (
        "Mean gate entropy rises with the entropy coefficient: +0.10 per step along the tested "
        "values (95% CI +0.07 to +0.13, 4 coefficients)."
    )
    assert rising.verdict == "rises" and rising.values["coefficients"] == [0, 0.001, 0.01, 0.1]
    assert best.text == "No entropy coefficient raises the mean accuracy above 0 (77.00%)."
    _, flat = coe.entropy_findings(_sweep([0.2, 0.2, 0.2]), 0.95)
    assert flat.text == (
        "Mean gate entropy does not change with the entropy coefficient (the same value at all "
        "3 coefficients)."
    )
    assert flat.verdict == "flat"
    _, unclear = coe.entropy_findings(_sweep([0.2, 0.3, 0.1, 0.3]), 0.95)
    assert unclear.text.startswith(
        "Mean gate entropy shows no clear trend with the entropy coefficient: +0.01 per step "
        "along the tested values (95% CI -"
    )
    assert unclear.text.endswith(", 4 coefficients).") and unclear.verdict == "flat"
    _, two = coe.entropy_findings(_sweep([0.2, 0.3]), 0.95)
    assert two.text == (
        "Mean gate entropy: slope +0.10 per step along the tested values of the entropy "
        "coefficient over only 2 coefficients: too few for an interval, so no trend is claimed."
    )
    assert two.verdict == "flat"


def test_entropy_findings_over_seeds():
    entropy = np.array([[0.41, 0.31, 0.19], [0.43, 0.29, 0.21]])  # means 0.42, 0.30, 0.20
    accuracy = 77 + np.array([[0.0, 1.0, 0.5], [0.2, 1.2, 0.7]])  # best: 0.001, +1.0 points
    best, falls = coe.entropy_findings(_sweep(entropy, accuracy), 0.95)
    # picked as the best of the two coefficients besides 0 after looking: Holm over both
    assert best.text.startswith(
        "Entropy coefficient 0.001 has the highest mean accuracy of the 2 coefficients tried "
        "besides 0, a choice made on the accuracies tested here, so its test is Holm-corrected "
        "over all 2 comparisons with 0: Entropy coefficient 0.001 vs. coefficient 0 (no "
        "regularization): +1.00 points in top-1 accuracy (95% Welch t-interval"
    )
    assert (best.verdict, best.winner) == ("better", "Entropy coefficient 0.001")
    assert best.values["chosen_from"] == 2 and best.values["coefficient"] == 0.001
    p_best = scipy.stats.ttest_ind([78.0, 78.2], [77.0, 77.2], equal_var=False).pvalue
    p_other = scipy.stats.ttest_ind([77.5, 77.7], [77.0, 77.2], equal_var=False).pvalue
    assert best.values["p"] == pytest.approx(p_best)
    assert best.values["p_holm"] == pytest.approx(min(1.0, 2 * min(p_best, p_other)))
    # slope -0.11, residuals 0.0033, -0.0067, 0.0033: se 0.0058, t(1) = 12.7
    assert falls.text == (
        "Mean gate entropy falls with the entropy coefficient: -0.11 per step along the tested "
        "values (95% CI -0.18 to -0.04, 3 coefficients)."
    )
    assert falls.verdict == "falls" and falls.values["n"] == 3


def _gates(confidence):
    """Gate means (blocks, 2 experts) whose per-block confidence is *confidence*."""
    c = np.asarray(confidence, float)[:, None]
    return np.hstack([0.5 + c / 2, 0.5 - c / 2])


def test_gate_confidence_trend():
    up = coe.gate_confidence_finding("M", _gates([0.1, 0.22, 0.29, 0.41]), 0.95)
    assert up.text == (
        "M: the most confident gates are in block 3 (confidence 0.41; block 0: 0.10, last "
        "block: 0.41); gate confidence rises with depth: +0.10 per block (95% CI +0.07 to "
        "+0.13, 4 blocks)."
    )
    assert (up.key, up.verdict, up.winner) == ("gate_confidence_M", "rises", None)
    down = coe.gate_confidence_finding("M", _gates([0.41, 0.29, 0.22, 0.1]), 0.95)
    assert down.text.endswith(
        "falls with depth: -0.10 per block (95% CI -0.13 to -0.07, 4 blocks)."
    )
    assert down.values["block"] == 0 and down.verdict == "falls"
    bumpy = coe.gate_confidence_finding("M", _gates([0.1, 0.4, 0.1, 0.4, 0.1]), 0.95)
    assert "gate confidence shows no clear trend with depth: +0.00 per block" in bumpy.text
    assert bumpy.verdict == "flat"
    flat = coe.gate_confidence_finding("M", _gates([0.3, 0.3, 0.3]), 0.95)
    assert flat.text.endswith(
        "gate confidence does not change with depth (the same value at all 3 blocks)."
    )
    one = coe.gate_confidence_finding("M", _gates([0.3]), 0.95)
    assert one.text == (
        "M: the most confident gates are in block 0 (confidence 0.30; block 0: 0.30, last "
        "block: 0.30); gate confidence: a single block, so no trend is claimed."
    )
    assert one.verdict == "flat"


def test_plateau_and_convergence_findings():
    ablation = pd.DataFrame(
        {
            "experts_per_block": [1, 2, 4, 1, 2, 4],
            "seed": [0, 0, 0, 1, 1, 1],
            "accuracy": [70.0, 72.0, 72.1, 70.2, 72.2, 72.3],
        }
    )
    plateau = coe.plateau_finding(ablation, 0.2)
    assert plateau.text == (
        "Accuracy (mean over 2 seeds) plateaus from 2 experts per block (72.10%, within 0.2 "
        "points of the highest, 72.20% at 4)."
    )
    rising = coe.plateau_finding(ablation, 0.05)
    assert rising.text == (
        "Accuracy is still rising at the largest tested size (4 experts per block, 72.20%, mean "
        "over 2 seeds): no plateau within 0.05 points."
    )
    conv = pd.DataFrame(
        {
            "method": ["slow"] * 4 + ["fast"] * 4,
            "epoch": [1, 2, 3, 4] * 2,
            "train_loss": [1.0, 0.8, 0.6, 0.5] * 2,
            "val_acc": [50.0, 60.0, 69.5, 70.0, 65.0, 69.2, 69.0, 70.0],
        }
    )
    assert coe.epochs_to_best(conv).to_dict() == {("slow", ""): 3, ("fast", ""): 2}
    assert coe.convergence_finding(conv).text == (
        "Epochs until validation accuracy is within 1 point of its best: fast 2, slow 3 (one curve "
        "per method, so no interval and no ranking claim)."
    )
    # several seeds: each seed's curve, then the median and range per method
    seeds = pd.concat(
        [
            conv.assign(seed="0"),
            conv.assign(seed="1", val_acc=[50.0, 69.0, 69.5, 70.0, 65.0, 66.0, 69.5, 70.0]),
            conv[conv["method"] == "slow"].assign(seed="2"),
        ]
    )
    assert coe.epochs_to_best(seeds).to_dict() == {
        ("slow", "0"): 3,
        ("fast", "0"): 2,
        ("slow", "1"): 2,
        ("fast", "1"): 3,
        ("slow", "2"): 3,
    }
    found = coe.convergence_finding(seeds)
    assert found.text == (
        "Epochs until validation accuracy is within 1 point of its best, per seed (median, "
        "range): fast 2.5 (2–3, 2 seeds), slow 3 (2–3, 3 seeds); descriptive, no ranking claim."
    )
    assert found.values["methods"] == ["fast", "slow"] and found.values["median"] == [2.5, 3.0]
    assert found.verdict is None


def test_findings_collects_every_section_in_order():
    f = _findings(
        {"base": 70 + SPREAD, "a": 72 + SPREAD},
        ablation=pd.DataFrame({"experts_per_block": [1, 2], "seed": [0, 0], "accuracy": [1, 2]}),
        entropy=_sweep([0.1, 0.2, 0.3]),
        gate_means={"A": _gates([0.1, 0.2])},
        convergence=pd.DataFrame({"method": ["A"], "epoch": [1], "val_acc": [70.0]}),
    )
    assert list(f) == [
        "best_method",
        "improvement_a",
        "experts_plateau",
        "entropy_best_coeff",
        "entropy_trend",
        "gate_confidence_A",
        "convergence",
    ]
    assert coe.cost_fronts(coe.summary(_results({"base": 1.0}), "base", 0.95)) == {}


# ---------------------------------------------------------------- figures


@pytest.fixture
def paper():
    with plt.rc_context(style.paper("full")):
        yield
    plt.close("all")


def _legend(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def _summary():
    res = _results(
        {"base": 70 + SPREAD, "a": 72 + SPREAD, "b": 71.0},
        gflops={"base": 8.0, "a": 9.0, "b": 8.5},
        params={"base": 40.0, "a": 42.0, "b": 41.0},
    )
    return coe.summary(res, "base", 0.95)


COLORS = {"Base": "#111111", "A": "#1f77b4", "B": "#ff7f0e"}


def test_method_comparison_figure(paper):
    accuracy = {"base": 70 + SPREAD, "a": 72 + SPREAD, "b": np.array([71.0])}
    fig = coe_plots.method_comparison(_summary(), accuracy, COLORS, "base", 0.95)
    ax = fig.axes[0]
    assert not ax.patches  # dots, not bars from zero
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "Base"]
    assert [t.get_text() for t in ax.texts] == ["72.0 (+2.0)", "71.0 (+1.0)", "70.0"]
    seeds = {line.get_gid(): line.get_ydata() for line in ax.lines if line.get_gid()}
    assert sorted(seeds["seeds:A"]) == sorted(72 + SPREAD) and list(seeds["mean:B"]) == [71.0]
    low, high = ax.get_ylim()
    assert low > 60 and high < 80  # the axis spans the data, so a 2-point gap is visible
    assert ax.get_ylabel() == "Top-1 accuracy (%)"
    assert ax.get_title().endswith(", whiskers: 95% t-interval over seeds")
    assert figures.check(fig) == []


def test_ablation_and_entropy_figures(paper):
    runs = pd.DataFrame(
        {
            "experts_per_block": [1, 2, 4, 1, 2, 4],
            "seed": [0, 0, 0, 1, 1, 1],
            "accuracy": [70.0, 72.0, 72.1, 70.2, 72.2, 72.3],
        }
    )
    means = coe.sweep_means(runs, "experts_per_block", ["accuracy"])
    fig = coe_plots.ablation(runs, means, 2)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "mean over 2 seeds, band: min–max",
        "plateau from 2",
    ]
    assert (ax.get_xlabel(), ax.get_title()) == ("Experts per block", "Effect of experts per block")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    assert figures.check(fig) == []
    sweep = _sweep([[0.1, 0.2, 0.3], [0.12, 0.22, 0.28]], [[77, 78, 77.5], [77.2, 78.1, 77.4]])
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.2)):
        fig = coe_plots.entropy_regularization(
            sweep, coe.sweep_means(sweep, "entropy_coeff", ["accuracy", "avg_entropy"])
        )
        ax1, ax2 = fig.axes
        assert (ax1.get_title(), ax2.get_title()) == ("Accuracy", "Gate entropy")
        assert (ax1.get_ylabel(), ax2.get_ylabel()) == (
            "Top-1 accuracy (%)",
            "Average gate entropy",
        )
        assert [t.get_text() for t in ax1.get_xticklabels()] == ["0", "0.001", "0.01"]
        assert _legend(fig) == ["mean over 2 seeds, band: min–max", "best accuracy"]
        assert ax1.lines[-1].get_xdata()[0] == 1  # the best accuracy, at 0.001
        assert figures.check(fig) == []


def test_gate_figures(paper):
    gates = {"A": _gates([0.1, 0.2, 0.3]), "B": _gates([0.3, 0.2, 0.1])}
    with plt.rc_context(style.paper("full", ncols=2)):
        fig = coe_plots.gate_heatmaps(gates)
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert [ax.get_title() for ax in panels] == ["A", "B"]
        assert [ax.get_xlabel() for ax in panels] == ["Expert", "Expert"]
        assert len(fig.axes) == 3  # two heatmaps, one shared colour bar
        assert len(panels[0].texts) == 6  # every cell annotated
        assert figures.check(fig) == []
    confidence = {name: coe.gate_confidence(g) for name, g in gates.items()}
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.2)):
        fig = coe_plots.block_entropy_confidence(
            {"A": np.array([0.3, 0.2, 0.1])}, confidence, COLORS
        )
        ax1, ax2 = fig.axes
        assert (ax1.get_title(), ax2.get_title()) == ("Entropy per block", "Confidence per block")
        assert (len(ax1.lines), len(ax2.lines)) == (1, 2) and _legend(fig) == ["A", "B"]
        assert figures.check(fig) == []
        empty = coe_plots.block_entropy_confidence({}, confidence, COLORS)
        assert empty.axes[0].texts[0].get_text() == "no per-block entropy recorded"


def test_convergence_and_cost_figures(paper):
    conv = pd.DataFrame(
        {
            "method": ["A"] * 3 + ["other run"] * 3,
            "seed": "",
            "epoch": [1, 2, 3] * 2,
            "train_loss": [1.0, 0.7, 0.5, 1.1, 0.9, 0.8],
            "val_acc": [60.0, 68.0, 70.0, 55.0, 60.0, 62.0],
        }
    )
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.2)):
        fig = coe_plots.convergence(conv, COLORS)
        ax1, ax2 = fig.axes
        assert (ax1.get_ylabel(), ax2.get_ylabel()) == ("Training loss", "Validation accuracy (%)")
        assert _legend(fig) == ["A", "other run"] and len(ax2.lines) == 2
        assert ax1.lines[0].get_color() == COLORS["A"] and not ax1.collections
        assert figures.check(fig) == []
        # two seeds of A: a thin line each (one collection) and their mean
        seeds = pd.concat(
            [conv.assign(seed="0"), conv.assign(seed="1", val_acc=conv["val_acc"] + 2)]
        )
        fig = coe_plots.convergence(seeds, COLORS)
        ax1, ax2 = fig.axes
        assert len(ax2.collections) == 2 and len(ax2.collections[0].get_segments()) == 2
        assert ax2.lines[0].get_ydata().tolist() == [61.0, 69.0, 71.0]
        assert fig.legends[0].get_title().get_text() == "thin: one seed; thick: mean over 2 seeds"
        assert figures.check(fig) == []
        summary = _summary()
        fronts = coe.cost_fronts(summary)
        assert {c: list(m) for c, m in fronts.items()} == {
            "gflops": [True, True, True],
            "params_m": [True, True, True],
        }
        fig = coe_plots.accuracy_vs_cost(summary, fronts, COLORS, 0.95)
        assert [ax.get_xlabel() for ax in fig.axes] == ["GFLOPs", "Params (M)"]
        assert fig.axes[0].get_title(loc="left") == "Accuracy vs. cost (bars: 95% CI over seeds)"
        assert _legend(fig) == ["Pareto front", "on the front", "A", "B", "Base"]
        assert figures.check(fig) == []
