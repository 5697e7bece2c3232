"""Nonlinearity reduction: every finding sentence from hand-made run tables, one test per branch
of the claim policy (separated, not separated, one seed, ties, slower-not-faster, flat trends),
checking the sentence and its verdict, winner and ranking. Welch intervals are checked against
scipy's own Welch test."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from labbook.analyses import nonlinearity_reduction as nlr

BASE = [0.900, 0.902, 0.898]  # the all-nonlinear setting: mean 0.900, sd 0.002


def _fixed(settings: dict, latency: dict | None = None, dataset: str = "d") -> pd.DataFrame:
    """Runs of approach "fixed": {ratio: [val_acc per seed]} (seeds "0", "1", ...), latencies in
    seconds per ratio and seed (default 1 ms)."""
    rows = []
    for ratio, accs in settings.items():
        lat = (latency or {}).get(ratio, [1e-3] * len(accs))
        for s, acc in enumerate(accs):
            rows.append(
                {
                    "run": f"{dataset}_fixed_{round(100 * ratio)}_s{s}",
                    "dataset": dataset,
                    "approach": "fixed",
                    "seed": str(s),
                    "linear_ratio": ratio,
                    "ratio_rule": "run name",
                    "val_acc": acc,
                    "train_acc": acc + 0.01,
                    "mean_latency_s": lat[s],
                    "approx_linear_flops": 1e6,
                }
            )
    return pd.DataFrame(rows)


def _gated(name: str, ratios: list, accs: list, dataset: str = "d") -> pd.DataFrame:
    """Gating runs name_s0, name_s1, ... at measured ratios *ratios* with accuracies *accs*."""
    n = len(ratios)
    return pd.DataFrame(
        {
            "run": [f"{name}_s{i}" for i in range(n)],
            "dataset": dataset,
            "approach": "gating",
            "seed": [str(i) for i in range(n)],
            "linear_ratio": ratios,
            "ratio_rule": "gating: 1 − mean α",
            "val_acc": accs,
            "train_acc": np.asarray(accs) + 0.01,
            "mean_latency_s": 1e-3,
            "approx_linear_flops": 1e6,
        }
    )


def _welch(x, y, confidence=0.95):
    """scipy's Welch test of mean(x) - mean(y): (p, lower, upper)."""
    res = scipy.stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(confidence)
    return res.pvalue, ci.low, ci.high


# ---------------------------------------------------------------- smallest nonlinear fraction


def _min_nonlinear(settings, tolerance=0.01):
    runs = _fixed(settings)
    items = nlr.min_nonlinear_findings(runs, nlr.groups(runs, 0.95), "fixed", tolerance, 0.95)
    assert [f.key for f in items] == ["min_nonlinear_d"]
    return items[0]


def test_suffice_is_said_when_the_interval_of_the_drop_lies_within_the_tolerance():
    at50 = [0.897, 0.899, 0.895]
    f = _min_nonlinear({0.0: BASE, 0.5: at50, 0.75: [0.850, 0.852, 0.848]})
    _, lo, _ = _welch(at50, BASE)
    assert -100 * lo == pytest.approx(0.7533, abs=1e-4)  # worst drop 0.30 + t(4) * 0.163
    assert f.text == (
        "d: 50% nonlinear neurons suffice — up to 50% linear the mean accuracy stays within 1.0 "
        "points of the all-nonlinear network (89.70% vs. 90.00%; the 95% Welch t-interval of the "
        "drop reaches 0.75 points, within the tolerance too); at 75% linear it drops to 85.00%."
    )
    assert (f.verdict, f.winner, f.ranking) == ("pass", None, None)
    assert f.values["established"] is True and f.values["next_ratio"] == 0.75


def test_suffice_is_not_said_when_the_interval_reaches_beyond_the_tolerance():
    f = _min_nonlinear({0.0: BASE, 0.5: [0.880, 0.900, 0.920], 0.75: [0.850, 0.852, 0.848]})
    assert f.text == (
        "d: up to 50% linear the mean accuracy stays within 1.0 points of the all-nonlinear "
        "network (90.00% vs. 90.00%; the 95% Welch t-interval of the drop reaches 4.90 points, "
        "beyond the tolerance); at 75% linear it drops to 85.00%; more seeds are needed to "
        "establish that 50% nonlinear neurons suffice."
    )
    assert "neurons suffice —" not in f.text
    assert (f.verdict, f.values["established"]) == ("not_separated", False)


def test_suffice_with_one_seed_per_ratio_is_untested():
    f = _min_nonlinear({0.0: [0.900], 0.5: [0.897], 0.75: [0.850]})
    assert "(89.70% vs. 90.00%; a single run on a side: no interval)" in f.text
    assert f.text.endswith("more seeds are needed to establish that 50% nonlinear neurons suffice.")
    assert f.verdict == "untested" and f.values["established"] is False


def test_every_ratio_kept_says_so():
    f = _min_nonlinear({0.0: BASE, 0.5: [0.899, 0.901, 0.897]})
    assert f.text.startswith(
        "d: 50% nonlinear neurons suffice — up to 50% linear (every ratio tested) the mean "
    )
    assert f.verdict == "pass" and "next_ratio" not in f.values


def test_a_fully_linear_network_within_tolerance_shows_no_need_for_nonlinearity():
    """digits: at 100% linear the network is one linear map and matches the MLP: the sentence
    says the data cannot show a need for nonlinearity, whether or not the interval settles it."""
    f = _min_nonlinear({0.0: BASE, 0.5: [0.899, 0.901, 0.897], 1.0: [0.898, 0.900, 0.896]})
    _, lo, hi = _welch([0.898, 0.900, 0.896], BASE)
    assert f.text == (
        "d: at 100% linear the network is one linear map (its layers fold into one matrix), and "
        "it matches the all-nonlinear network: mean accuracy 89.80% vs. 90.00%, a drop of 0.20 "
        f"points (95% Welch t-interval {-100 * hi:+.2f} to {-100 * lo:+.2f}). These data cannot "
        "show a need for nonlinearity; the interval lies within the 1.0-point tolerance too."
    )
    assert (f.verdict, f.values["fully_linear"], f.values["ratio"]) == ("pass", True, 1.0)
    assert (f.values["drop_lower"], f.values["drop_upper"]) == pytest.approx((-100 * hi, -100 * lo))
    # digits: the same mean as the MLP, an interval reaching 1.05 points: no need shown, and the
    # tolerance not established either; never "stays within ... the interval reaches ..."
    wide = _min_nonlinear({0.0: BASE, 1.0: [0.880, 0.900, 0.920]})
    assert wide.verdict == "not_separated" and wide.values["fully_linear"] is True
    assert wide.text.endswith(
        "These data cannot show a need for nonlinearity; that the linear map stays within 1.0 "
        "points is not established at this number of runs."
    )
    assert "suffice" not in wide.text and "reaches" not in wide.text
    assert "a drop of 0.00 points" in wide.text  # the same mean: never "-0.00"
    partial = _min_nonlinear({0.0: BASE, 0.5: [0.899, 0.901, 0.897]})
    assert "fully_linear" not in partial.values


def test_a_fully_linear_network_well_above_the_mlp_is_said_to_be_above_not_to_match():
    """A linear map 11 points above the all-nonlinear network (undertrained ReLU runs): the
    sentence says it is above, with the gain's interval, never "matches" or "a drop of -11"; the
    most efficient run, that linear one, is said to be above, not "within 1.0 points"."""
    f = _min_nonlinear({0.0: BASE, 1.0: [1.0, 1.01, 1.02]})
    assert f.values["above"] is True
    assert "is above the all-nonlinear network" in f.text and "matches" not in f.text
    assert "a drop of" not in f.text and "interval of the gain" in f.text
    assert f.values["gain_lower"] == pytest.approx(-f.values["drop_upper"])
    runs = _fixed({0.0: BASE, 1.0: [1.0, 1.01, 1.02]})
    runs["mean_latency_s"] = [1e-3, 1e-3, 1e-3, 0.5e-3, 0.5e-3, 0.5e-3]
    (item,) = nlr.efficiency_findings(
        nlr.efficiency(runs), nlr.groups(runs, 0.95), "fixed", 0.01, "test"
    )
    assert "points above the all-nonlinear network" in item.text
    assert "within 1.0 points" not in item.text


def test_split_name_is_what_the_data_call_the_split():
    assert nlr.split_name("val_acc") == "validation"
    assert nlr.split_name("test/accuracy") == "test"
    assert nlr.split_name("train_acc") == "training"
    # the digits scripts log their test-set accuracy under val_acc: the params file says so
    assert nlr.split_name("val_acc", "test") == "test"
    runs = _fixed({0.0: BASE, 0.5: [0.899, 0.901, 0.897]})
    runs["mean_latency_s"] = [1e-3, 1e-3, 1e-3, 0.5e-3, 0.6e-3, 0.7e-3]
    items = nlr.efficiency_findings(
        nlr.efficiency(runs), nlr.groups(runs, 0.95), "fixed", 0.01, "test"
    )
    (f,) = items
    assert f.values["split"] == "test"
    assert "test accuracy per ms" in f.text and "validation" not in f.text
    assert "chosen on the test accuracy it also reports" in f.text


def test_efficiency_and_pareto_front_use_each_runs_median_latency():
    runs = _fixed({0.0: [0.90], 0.5: [0.89]})
    # the 0%-linear run has the faster median; its mean is pulled up by a few slow repeats
    runs["mean_latency_s"] = [3.0e-3, 1.0e-3]
    runs["p50_latency_s"] = [0.8e-3, 0.9e-3]
    runs["p90_latency_s"] = [1.0e-3, 1.1e-3]
    ranked = nlr.efficiency(runs)
    assert ranked["run"].tolist() == ["d_fixed_0_s0", "d_fixed_50_s0"]
    assert ranked["acc_per_ms"].tolist() == pytest.approx([0.90 / 0.8, 0.89 / 0.9])
    front = nlr.pareto(runs)
    assert front["run"].tolist() == ["d_fixed_0_s0"]  # faster by median and more accurate
    assert front["latency_s"].tolist() == pytest.approx([0.8e-3])
    table = nlr.groups(runs, 0.95)
    assert table["latency_s"].tolist() == pytest.approx([0.8e-3, 0.9e-3])


def test_no_reduction_kept_fails_only_when_the_drop_is_clearly_beyond_the_tolerance():
    f = _min_nonlinear({0.0: BASE, 0.25: [0.870, 0.872, 0.868]})
    assert f.text == (
        "d: no tested reduction keeps the accuracy within 1.0 points of the all-nonlinear network "
        "(90.00%): the smallest linear ratio tested, 25%, already drops it by 3.00 points (to "
        "87.00%; 95% Welch t-interval of the drop 2.55 to 3.45, wholly beyond the tolerance)."
    )
    assert f.verdict == "fail" and f.values["none_kept"] is True
    assert (f.values["lo"], f.values["hi"]) == pytest.approx((2.5466, 3.4534), abs=1e-4)
    noisy = _min_nonlinear({0.0: BASE, 0.25: [0.855, 0.885, 0.915]})
    assert noisy.verdict == "not_separated" and noisy.values["none_kept"] is True
    assert "which reaches back within the tolerance: more seeds are needed" in noisy.text
    single = _min_nonlinear({0.0: [0.90], 0.25: [0.85]})
    assert single.verdict == "untested" and "a single run on a side: no interval" in single.text
    assert "nan" not in single.text


def test_only_the_all_nonlinear_setting_tested():
    f = _min_nonlinear({0.0: BASE})
    assert f.text == (
        "d: fixed was run only with all neurons nonlinear, so no reduction of the nonlinearity "
        "was tested."
    )
    assert f.verdict is None


# ---------------------------------------------------------------- latency


def _latency(latency, at=0.5):
    runs = _fixed({r: [0.9] * len(v) for r, v in latency.items()}, latency)
    items = nlr.latency_findings(runs, nlr.groups(runs, 0.95), "fixed", at, 0.95)
    assert [f.key for f in items] == ["latency_gain_d"]
    return items[0]


ZERO_MS = [1.0e-3, 1.1e-3, 0.9e-3]


def _log_welch(x, y, confidence=0.95):
    """scipy's Welch test on log(x) - log(y): (ratio of geometric means, lower, upper, p)."""
    t = scipy.stats.ttest_ind(np.log(x), np.log(y), equal_var=False)
    ci = t.confidence_interval(confidence)
    gm = np.exp(np.mean(np.log(x)) - np.mean(np.log(y)))
    return gm, float(np.exp(ci.low)), float(np.exp(ci.high)), t.pvalue


def test_latency_reduction_when_separated():
    f = _latency({0.0: ZERO_MS, 0.5: [0.6e-3, 0.7e-3, 0.5e-3]})
    gm, lo, hi, p = _log_welch([0.6, 0.7, 0.5], [1.0, 1.1, 0.9])
    assert (f.values["ratio_gm"], f.values["lower"], f.values["upper"]) == pytest.approx(
        (gm, lo, hi)
    )
    assert f.values["p"] == pytest.approx(p)
    assert (f.values["median_x"], f.values["median_y"]) == pytest.approx((0.6e-3, 1.0e-3))
    assert (f.values["ratio"], f.values["gain"]) == pytest.approx((0.5, 0.4))
    assert f.text == (
        "d: 50% linear vs. 0% linear: median latency (each run's mean over repeats) 0.600 ms "
        "against 1.000 ms (ratio of geometric means 0.60, 95% Welch t-interval on log times 0.42 "
        "to 0.84, p = 0.016, Holm-corrected 0.016, n = 3 runs): 50% linear is faster, a 40.0% "
        "lower median."
    )
    assert (f.verdict, f.winner) == ("better", "50% linear")


def test_latency_compares_each_runs_median_on_log_times():
    """digits: one 0%-linear run's mean is 3x its median (a loaded machine); the medians of the
    50%-linear runs all lie below those of the 0%-linear runs, and the test on log medians
    separates them where a test on the means could not."""
    runs = _fixed({0.0: [0.9] * 3, 0.5: [0.9] * 3})
    medians = {0.0: [1.00e-3, 1.05e-3, 0.98e-3], 0.5: [0.70e-3, 0.72e-3, 0.69e-3]}
    means = {0.0: [3.0e-3, 1.1e-3, 1.0e-3], 0.5: [0.72e-3, 2.2e-3, 0.70e-3]}
    runs["p50_latency_s"] = [*medians[0.0], *medians[0.5]]
    runs["mean_latency_s"] = [*means[0.0], *means[0.5]]
    runs["p90_latency_s"] = runs["p50_latency_s"] * 1.2
    assert scipy.stats.ttest_ind(means[0.5], means[0.0], equal_var=False).pvalue > 0.5
    assert nlr.run_latency(runs).tolist() == runs["p50_latency_s"].tolist()
    assert nlr.latency_basis(runs) == "median"
    (f,) = nlr.latency_findings(runs, nlr.groups(runs, 0.95), "fixed", 0.5, 0.95)
    gm, lo, hi, p = _log_welch(medians[0.5], medians[0.0])
    assert f.values["p"] == pytest.approx(p) and p < 0.05
    assert (f.verdict, f.winner, f.values["basis"]) == ("better", "50% linear", "median")
    assert f.values["gain"] == pytest.approx(1 - 0.70 / 1.00)
    # the runs whose means the slow repeats dominate are named
    out = nlr.timing_outliers(runs)
    assert out["run"].tolist() == ["d_fixed_50_s1", "d_fixed_0_s0"]  # mean / median 3.06, 3.0
    (named,) = nlr.outlier_findings(runs)
    assert named.values["runs"] == ["d_fixed_50_s1", "d_fixed_0_s0"] and named.verdict is None
    assert "2 runs of 6 have outlier timings" in named.text
    assert "d_fixed_50_s1 (3.1×) and d_fixed_0_s0 (3.0×)" in named.text
    calm = runs.assign(p90_latency_s=runs["mean_latency_s"] * 2)
    assert nlr.timing_outliers(calm).empty
    (none,) = nlr.outlier_findings(calm)
    assert none.values["runs"] == [] and "in each of the 6 timed runs" in none.text
    assert nlr.outlier_findings(runs.drop(columns="p90_latency_s")) == []  # nothing to check
    # a run without a median is compared by its mean, said so
    runs.loc[0, "p50_latency_s"] = np.nan
    assert nlr.run_latency(runs)[0] == 3.0e-3
    assert nlr.latency_basis(runs) == "median (mean where no median was recorded)"


def test_latency_slower_not_faster():
    f = _latency({0.0: ZERO_MS, 0.5: [1.5e-3, 1.6e-3, 1.4e-3]})
    assert f.text.endswith("n = 3 runs): 50% linear is slower.")
    assert (f.verdict, f.winner) == ("worse", "0% linear") and f.values["gain"] == pytest.approx(
        -0.5
    )
    assert "faster" not in f.text


def test_latency_not_separated_and_single_runs():
    f = _latency({0.0: ZERO_MS, 0.5: [0.9e-3, 1.2e-3, 0.6e-3]})
    assert f.text.endswith("n = 3 runs): the two cannot be told apart at this number of runs.")
    assert (f.verdict, f.winner) == ("not_separated", None)
    one = _latency({0.0: [1.0e-3], 0.5: [0.6e-3]})
    assert one.text == (
        "d: 50% linear vs. 0% linear: median latency (each run's mean over repeats) 0.600 ms "
        "against 1.000 ms (a single run on a side: no interval, no test, so no claim either way)."
    )
    assert (one.verdict, one.winner) == ("untested", None)


def test_latency_at_the_all_nonlinear_ratio_states_no_gain():
    f = _latency({0.0: ZERO_MS, 0.5: [0.6e-3, 0.7e-3, 0.5e-3]}, at=0.1)
    assert f.text == (
        "d: the tested ratio nearest 10% with a measured latency is the all-nonlinear setting "
        "itself, so there is no latency gain to state."
    )
    assert f.verdict is None


# ---------------------------------------------------------------- generalization-gap trend


def _gap(ratios, gaps, approach="fixed"):
    runs = pd.DataFrame(
        {
            "run": [f"r{i}" for i in range(len(ratios))],
            "dataset": "d",
            "approach": "fixed",
            "linear_ratio": ratios,
            "val_acc": 0.9,
            "train_acc": 0.9 + np.asarray(gaps),
        }
    )
    return nlr.gap_findings(runs, approach, 0.95)


X = np.repeat([0.0, 0.5, 1.0], 2)
NOISE = np.tile([0.001, -0.001], 3)


@pytest.mark.parametrize(
    "gaps,verdict,head,numbers",
    [
        (0.02 + 0.04 * X + NOISE, "rises", "grows", "+4.00 points per 100% linear (95% CI +3.66"),
        (0.06 - 0.04 * X + NOISE, "falls", "shrinks", "-4.00 points per 100% linear (95% CI -4.34"),
        (
            0.02 + np.array([0.01, -0.01, -0.01, 0.01, 0.01, -0.01]),
            "flat",
            "shows no clear trend",
            "+0.00 points per 100% linear (95% CI -3.40 to +3.40",
        ),
    ],
)
def test_gap_trend_names_a_direction_only_when_the_interval_excludes_zero(
    gaps, verdict, head, numbers
):
    (f,) = _gap(X, gaps)
    assert f.key == "gap_trend" and f.verdict == verdict
    assert f.text.startswith(f"The generalization gap {head} with the linear ratio: {numbers}")
    assert f.text.endswith(", 6 fixed runs).")
    assert f.values["approach"] == "fixed" and f.values["n"] == 6


def test_gap_trend_constant_and_too_few_runs():
    (f,) = _gap(X, np.full(6, 0.02))
    assert f.text == (
        "The generalization gap does not change with the linear ratio (the same value at all 6 "
        "fixed runs)."
    )
    assert f.verdict == "flat"
    (few,) = _gap([0.0, 0.5], [0.01, 0.02])
    assert few.text == (
        "No trend of the generalization gap is fitted: that needs at least 3 fixed runs at 2 or "
        "more linear ratios, and there are 2 runs at 2 ratios."
    )
    assert few.verdict is None
    assert _gap([0.0, 0.5], [0.01, 0.02], approach="pruning") == []  # no such run: no sentence


# ---------------------------------------------------------------- other approaches vs. baseline

FIXED3 = {0.0: [0.90, 0.92, 0.91], 0.5: [0.80, 0.84, 0.82], 1.0: [0.70, 0.70, 0.70]}


def _versus(*gated, groups):
    runs = pd.concat([_fixed(FIXED3), *gated], ignore_index=True)
    return nlr.versus_findings(runs, pd.Series(groups), "fixed", 0.95)


def test_gating_vs_fixed_by_versus_claim_with_holm_over_the_groups():
    better = _gated("a", [0.24, 0.25, 0.26], [0.90, 0.91, 0.92])  # fixed per seed at 25%:
    same = _gated("b", [0.5, 0.5, 0.5], [0.81, 0.83, 0.82])  # .85, .88, .865
    groups = {**{r: "d, w = 1" for r in better["run"]}, **{r: "d, w = 2" for r in same["run"]}}
    first, second = _versus(better, same, groups=groups)
    p1, lo1, hi1 = _welch([0.90, 0.91, 0.92], [0.85, 0.88, 0.865])
    p2, _, _ = _welch([0.81, 0.83, 0.82], FIXED3[0.5])
    assert (first.values["lower"], first.values["upper"]) == pytest.approx((100 * lo1, 100 * hi1))
    assert first.values["p_holm"] == pytest.approx(min(1, 2 * p1))  # Holm over the two groups
    assert second.values["p_holm"] == pytest.approx(max(2 * p1, p2))
    assert first.text == (
        "gating (d, w = 1) vs. fixed at 25% linear (interpolated per seed between the tested "
        "ratios): +4.50 points in validation accuracy (95% Welch t-interval +1.43 to +7.57, "
        "p = 0.017, Holm-corrected 0.033, n = 3 runs): gating (d, w = 1) is better."
    )
    assert (first.key, first.verdict, first.winner) == ("versus_1", "better", "gating (d, w = 1)")
    assert second.text == (
        "gating (d, w = 2) vs. fixed at 50% linear: +0.00 points in validation accuracy (95% "
        "Welch t-interval -4.16 to +4.16, p = 1, Holm-corrected 1, n = 3 runs): the two cannot "
        "be told apart at this number of runs."
    )
    assert (second.key, second.verdict, second.winner) == ("versus_2", "not_separated", None)
    assert first.values["ratio_min"] == 0.24 and first.values["n"] == 3


def test_gating_worse_than_fixed():
    worse = _gated("a", [0.5, 0.5, 0.5], [0.70, 0.71, 0.72])
    (f,) = _versus(worse, groups={r: "d, w = 1" for r in worse["run"]})
    assert (f.verdict, f.winner) == ("worse", "fixed at 50% linear")
    assert f.text.endswith(": gating (d, w = 1) is worse.")


def test_one_gating_run_gets_no_claim_and_out_of_range_is_not_compared():
    one = _gated("c", [0.75], [0.70])
    (f,) = _versus(one, groups={"c_s0": "d, w = 3"})
    assert f.text == (
        "The one gating (d, w = 3) run vs. fixed at 75% linear (interpolated per seed between "
        "the tested ratios): -6.00 points; one run, so no interval and no claim."
    )
    assert f.verdict == "untested" and f.values["n"] == 1
    assert f.values["delta"] == pytest.approx(-6.0)  # 0.70 - mean(.75, .77, .76)
    elsewhere = _gated("e", [0.05, 0.05], [0.95, 0.96], dataset="other")
    (g,) = _versus(elsewhere, groups={r: "other, w = 1" for r in elsewhere["run"]})
    assert g.text == (
        "gating (other, w = 1) (2 runs, mean linear ratio 5%) is not compared with fixed: fixed "
        "has no run with a set ratio on other."
    )
    assert g.verdict is None


def test_baseline_is_interpolated_per_seed():
    runs = pd.concat([_fixed(FIXED3), _fixed({0.0: [0.5]}).assign(seed="7")], ignore_index=True)
    assert nlr.baseline_at(runs, "d", "fixed", 0.25) == pytest.approx([0.85, 0.88, 0.865])
    assert sorted(nlr.baseline_at(runs, "d", "fixed", 0.0)) == [0.5, 0.90, 0.91, 0.92]
    assert nlr.baseline_at(runs, "d", "fixed", 1.2).size == 0  # outside the tested range
    gated = _gated("g", [0.3], [0.9])
    labels = nlr.versus_labels(pd.concat([runs, gated]), pd.Series({"g_s0": "d, w = 1"}), "fixed")
    assert labels.to_dict() == {"g_s0": "gating (d, w = 1)"}


# ---------------------------------------------------------------- gates per layer


def _gates(per_run: dict, share: float = 0.5):
    """per_run: {run: {layer: final alpha_mean}} -> gating rows (epoch 1 all ones, epoch 2 the
    final gates) and one group "g" for every run."""
    rows = []
    for run, layers in per_run.items():
        for layer, a in layers.items():
            rows.append({"run": run, "epoch": 1, "layer": layer, "alpha_mean": 1.0})
            rows.append({"run": run, "epoch": 2, "layer": layer, "alpha_mean": a})
    gating = pd.DataFrame(rows)
    gating["alpha_lt_0.1"] = np.where(gating["alpha_mean"] < 0.5, share, 0.0)
    pattern, sensitivity = nlr.gating_findings(gating, pd.Series(dict.fromkeys(per_run, "g")), 0.95)
    assert (pattern.key, sensitivity.key) == ("gating_pattern", "layer_sensitivity")
    return pattern, sensitivity


TAIL = (
    ". Gate values alone do not show which layer's nonlinearity matters for accuracy; that needs "
    "a per-layer ablation, which these runs do not include."
)


def test_separated_layers_are_named_most_linear_and_most_nonlinear():
    pattern, sensitivity = _gates(
        {
            "a": {"fc1": 0.20, "fc2": 0.60, "fc3": 0.90},
            "b": {"fc1": 0.22, "fc2": 0.62, "fc3": 0.92},
            "c": {"fc1": 0.18, "fc2": 0.58, "fc3": 0.88},
        }
    )
    assert pattern.text == (
        "Gating (g; 3 runs): fc1 ends mostly linear (final mean α 0.20); fc2 and fc3 stay "
        "nonlinear (α 0.60, 0.90). Most linear: fc1 (50% of its neurons below α 0.1)."
    )
    assert sensitivity.text == (
        "Gates per layer (g; 3 runs): they kept fc3 the most nonlinear (mean α 0.90) and made fc1 "
        "the most linear (α 0.20)" + TAIL
    )
    for f in (pattern, sensitivity):
        assert (f.verdict, f.winner, f.ranking) == ("separated", None, ["fc1", "fc2", "fc3"])
    assert pattern.values["linear_layers"] == ["fc1"]


def test_layers_that_the_runs_do_not_separate_are_not_ranked():
    pattern, sensitivity = _gates(
        {
            "a": {"fc1": 0.20, "fc2": 0.30, "fc3": 0.90},
            "b": {"fc1": 0.30, "fc2": 0.20, "fc3": 0.92},
            "c": {"fc1": 0.22, "fc2": 0.26, "fc3": 0.88},
        }
    )
    assert pattern.text.endswith(
        "Lowest final mean α: fc1 (50% of its neurons below α 0.1), but it cannot be told apart "
        "from fc2 (p = 0.77) at this number of runs (Welch t-tests over runs, Holm-corrected)."
    )
    assert "Most linear" not in pattern.text
    assert sensitivity.text == (
        "Gates per layer (g; 3 runs): they kept fc3 the most nonlinear (mean α 0.90); fc1 has "
        "the lowest (0.24) but cannot be told apart from fc2 (p = 0.77) at this number of runs "
        "(Welch t-tests over runs, Holm-corrected)" + TAIL
    )
    assert pattern.verdict == sensitivity.verdict == "not_separated"


def test_a_layer_whose_interval_straddles_the_cut_is_not_called_linear_or_nonlinear():
    pattern, _ = _gates(
        {
            "a": {"fc1": 0.20, "fc2": 0.30, "fc3": 0.90},
            "b": {"fc1": 0.22, "fc2": 0.70, "fc3": 0.92},
            "c": {"fc1": 0.18, "fc2": 0.50, "fc3": 0.88},
        }
    )
    assert pattern.text.startswith(
        "Gating (g; 3 runs): fc1 ends mostly linear (final mean α 0.20); fc3 stays nonlinear (α "
        "0.90); fc2 is not placed on either side of α 0.5 at this number of runs (final mean α "
        "0.50 [0.00, 1.00], 95% t-interval)."
    )
    assert pattern.values["unclear_layers"] == ["fc2"]
    assert pattern.values["unclear_lower"] == pytest.approx(
        [0.5 - scipy.stats.t.ppf(0.975, 2) * 0.2 / 3**0.5]
    )


def test_one_run_gives_an_order_not_a_test_and_ties_and_one_layer():
    pattern, sensitivity = _gates({"a": {"fc1": 0.20, "fc2": 0.60, "fc3": 0.90}})
    assert pattern.text.endswith(
        "Most linear in this one run: fc1 (50% of its neurons below α 0.1)."
    )
    assert sensitivity.text == (
        "Gates per layer (g; 1 run): in this one run they kept fc3 the most nonlinear (mean α "
        "0.90) and made fc1 the most linear (α 0.20); one run gives an order, not a test" + TAIL
    )
    assert pattern.verdict == sensitivity.verdict == "untested"
    tie, tie_order = _gates({"a": {"fc1": 0.2, "fc2": 0.2}, "b": {"fc1": 0.3, "fc2": 0.3}})
    assert tie.verdict == tie_order.verdict == "not_separated"
    assert "fc2 has the highest mean α (0.25) but cannot be told apart from fc1 (p = 1)" in (
        tie_order.text
    )
    alone, alone_order = _gates({"a": {"fc1": 0.2}, "b": {"fc1": 0.3}})
    assert alone.verdict == alone_order.verdict == "only_one"
    assert "only fc1 has gate statistics (mean α 0.25): no order of layers" in alone_order.text


# ---------------------------------------------------------------- most efficient run


def _efficiency(rows):
    runs = pd.DataFrame(
        rows, columns=["run", "dataset", "approach", "linear_ratio", "val_acc", "mean_latency_s"]
    ).assign(seed="0", ratio_rule="config", train_acc=0.95, approx_linear_flops=1e6)
    items = nlr.efficiency_findings(nlr.efficiency(runs), nlr.groups(runs, 0.95), "fixed", 0.01)
    assert [f.key for f in items] == ["most_efficient"]
    return items[0]


ALL_NONLINEAR = ("f0", "d", "fixed", 0.0, 0.90, 1e-3)


def test_most_efficient_run_is_an_order_of_single_runs():
    f = _efficiency([ALL_NONLINEAR, ("f50", "d", "fixed", 0.5, 0.895, 0.5e-3)])
    assert f.text == (
        "Most efficient run (validation accuracy per ms of latency): f50 (fixed, 50% linear), "
        "1.790 accuracy per ms, within 1.0 points of the all-nonlinear network. The run is chosen "
        "on the validation accuracy it also reports, so that accuracy is optimistic for it."
    )
    assert (f.verdict, f.winner, f.ranking) == ("untested", None, ["f50", "f0"])


def test_most_efficient_run_says_how_far_its_own_setting_spreads():
    """digits: the top run's two sibling seeds took 1.5x and 2.5x as long; the sentence shows it."""
    f = _efficiency(
        [
            ALL_NONLINEAR,
            ("f100_s0", "d", "fixed", 1.0, 0.962, 0.0674e-3),
            ("f100_s1", "d", "fixed", 1.0, 0.953, 0.0683e-3),
            ("f100_s2", "d", "fixed", 1.0, 0.960, 0.1652e-3),
        ]
    )
    assert f.text.endswith(
        "6.2 points above the all-nonlinear network. The run is chosen on the validation "
        "accuracy it also reports, so that accuracy is optimistic for it. The 3 runs of its "
        "setting (fixed, 100% "
        "linear) range from 5.811 to 14.273 accuracy per ms: single runs, no test, so this names "
        "a run, not a better setting."
    )
    assert (f.values["setting_n"], f.verdict, f.winner) == (3, "untested", None)
    assert f.values["setting_lo"] == pytest.approx(0.960 / 0.1652)


def test_most_efficient_run_that_costs_accuracy_is_named_with_its_cost():
    f = _efficiency(
        [
            ALL_NONLINEAR,
            ("f50", "d", "fixed", 0.5, 0.895, 0.6e-3),
            ("f90", "d", "fixed", 0.9, 0.80, 0.4e-3),
        ]
    )
    assert f.text.startswith(
        "The highest validation accuracy per ms of latency, 2.000, belongs to f90 (90% linear), "
        "which costs 10.00 points of accuracy against the all-nonlinear network; among the runs "
        "within 1.0 points of the all-nonlinear network, the most efficient is f50 (fixed, 50% "
        "linear, 1.492 accuracy per ms)."
    )
    assert f.ranking == ["f90", "f50", "f0"]


def test_most_efficient_with_no_run_within_tolerance_or_no_reference():
    untimed = ("f0", "d", "fixed", 0.0, 0.90, np.nan)  # in the reference, not in the ranking
    f = _efficiency([untimed, ("f50", "d", "fixed", 0.5, 0.85, 0.5e-3)])
    assert (
        "which costs 5.00 points of accuracy against the all-nonlinear network; no run stays "
        "within 1.0 points of the all-nonlinear network." in f.text
    )
    assert "ok_run" not in f.values
    g = _efficiency([ALL_NONLINEAR, ("g", "e", "gating", 0.3, 0.90, 0.5e-3)])
    assert g.text.startswith(
        "Most efficient run (validation accuracy per ms of latency): g (gating, 30% linear), "
        "1.800 accuracy per ms; e has no all-nonlinear fixed run to measure its accuracy cost "
        "against."
    )


# ---------------------------------------------------------------- all findings, in order


def test_findings_in_report_order_with_structured_fields():
    runs = pd.concat(
        [
            _fixed({0.0: BASE, 0.5: [0.897, 0.899, 0.895], 1.0: [0.80, 0.81, 0.79]}),
            _gated("g", [0.48, 0.5, 0.52], [0.910, 0.911, 0.912]),
        ],
        ignore_index=True,
    )
    gating = pd.DataFrame(
        {
            "run": ["g_s0", "g_s1", "g_s2"] * 2,
            "epoch": 1,
            "layer": ["fc1"] * 3 + ["fc2"] * 3,
            "alpha_mean": [0.1, 0.12, 0.11, 0.9, 0.91, 0.92],
            "alpha_lt_0.1": 0.5,
        }
    )
    groups = nlr.gating_groups(runs, {r: {} for r in runs["run"]})
    items = nlr.findings(runs, gating, groups, "fixed", 0.01, 0.5, 0.95)
    assert [f.key for f in items] == [
        "min_nonlinear_d",
        "gating_pattern",
        "layer_sensitivity",
        "latency_gain_d",
        "gap_trend",
        "versus_1",
        "most_efficient",
    ]
    verdicts = {f.key: f.verdict for f in items}
    assert verdicts["min_nonlinear_d"] == "pass" and verdicts["versus_1"] == "better"
    assert verdicts["latency_gain_d"] == "not_separated"  # every run took 1 ms
    assert items[5].winner == "gating (d)" and items[1].ranking == ["fc1", "fc2"]
    assert nlr.findings(runs, gating.iloc[:0], groups, "fixed", 0.01, 0.5, 0.95)[1].key == (
        "latency_gain_d"
    )  # no gate statistics: no gate sentences
