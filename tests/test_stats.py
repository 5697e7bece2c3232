"""Statistics engine: known values, errors, determinism, and parity with rliable (the oracle)."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from rliable import library as rly
from rliable import metrics as rmetrics

from labbook import stats


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(1)
    return {f"m{i}": rng.random((6, 5)) + 0.05 * i for i in range(3)}


def _rliable_aggregates(x):
    return np.array(
        [
            rmetrics.aggregate_median(x),
            rmetrics.aggregate_iqm(x),
            rmetrics.aggregate_mean(x),
            rmetrics.aggregate_optimality_gap(x),
        ]
    )


# ---------------------------------------------------------------- known values


def test_aggregates_known_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])  # task means 4, 5
    assert stats.aggregate_mean(x) == 4.5
    assert stats.aggregate_median(x) == 4.5
    assert stats.aggregate_iqm(x) == pytest.approx(4.5)  # middle 4 of 1..8 = 3,4,5,6
    assert stats.aggregate_optimality_gap(x / 8, gamma=1.0) == pytest.approx(1 - np.mean(x / 8))
    assert stats.aggregate_optimality_gap(np.full((2, 2), 2.0), gamma=1.0) == 0.0


def test_aggregates_vectorize_over_replicates(scores):
    stack = np.stack(list(scores.values()))  # (3, 6, 5)
    for name, f in stats.AGGREGATES.items():
        assert np.allclose(f(stack), [f(s) for s in scores.values()]), name


def test_probability_of_improvement_known_values():
    x = np.array([[3.0], [4.0]])
    y = np.array([[1.0], [2.0]])
    assert stats.probability_of_improvement(x, y) == 1.0
    assert stats.probability_of_improvement(y, x) == 0.0
    assert stats.probability_of_improvement(x, x) == 0.5  # ties count 1/2
    # one tie out of four pairs, one win: (1 + 0.5) / 4
    assert (
        stats.probability_of_improvement(np.array([[2.0], [0.0]]), np.array([[2.0], [1.0]]))
        == 0.375
    )


def test_probability_of_improvement_matches_rliable(scores):
    a, b = scores["m0"], scores["m2"][:4]
    assert stats.probability_of_improvement(a, b) == rmetrics.probability_of_improvement(a, b)


def test_ema_matches_seed_loop():
    s = pd.Series([1.0, np.nan, 3.0, 2.0, 5.0], index=[1, 2, 3, 4, 5])
    alpha = 0.3
    clean = s.dropna()
    expect = [clean.iloc[0]]
    for v in clean.iloc[1:]:
        expect.append(alpha * v + (1 - alpha) * expect[-1])
    out = stats.ema(s, alpha)
    assert list(out.index) == [1, 3, 4, 5]
    assert np.allclose(out.to_numpy(), expect)
    with pytest.raises(ValueError):
        stats.ema(s, 0.0)


def test_normalized_entropy():
    assert stats.normalized_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    assert stats.normalized_entropy([3, 3, 0, 0]) == pytest.approx(1.0)  # zeros dropped
    assert stats.normalized_entropy([7, 0, 0]) == 0.0  # one active expert
    assert stats.normalized_entropy([0, 0]) == 0.0
    p = np.array([1, 3]) / 4
    assert stats.normalized_entropy([1, 3]) == pytest.approx(-(p * np.log2(p)).sum() / 1.0)
    with pytest.raises(ValueError):
        stats.normalized_entropy([1, -1])


@pytest.mark.parametrize(
    "r,word",
    [
        (0.05, "negligible"),
        (-0.2, "weak"),
        (0.3, "moderate"),
        (0.69, "strong"),
        (-0.7, "very strong"),
        (1.0, "very strong"),
    ],
)
def test_correlation_strength(r, word):
    assert stats.correlation_strength(r) == word


def test_correlation_values_and_errors():
    x = np.arange(10.0)
    c = stats.correlation(x, 2 * x + 1)
    assert c["pearson_r"] == pytest.approx(1.0) and c["spearman_r"] == pytest.approx(1.0)
    assert c["pearson_strength"] == "very strong" and c["n"] == 10
    c = stats.correlation(x, -(x**3))
    assert c["spearman_r"] == pytest.approx(-1.0) and c["pearson_r"] < -0.9
    with pytest.raises(ValueError, match="constant"):
        stats.correlation(x, np.ones(10))
    with pytest.raises(ValueError, match="at least 3"):
        stats.correlation([1, 2], [2, 3])


def test_pareto_front_two_and_three_objectives():
    # maximize accuracy (col 0), minimize cost (col 1): (3, 1) dominates (1, 1), (2, 2) and (2, 3)
    pts = np.array([[1, 1], [2, 2], [3, 1], [2, 3], [0, 0.5]])
    mask = stats.pareto_front(pts, maximize=[True, False])
    assert mask.tolist() == [False, False, True, False, True]
    three = np.array([[1, 1, 1], [1, 1, 1], [0, 2, 0], [0, 0, 0]])  # all maximize; duplicates kept
    assert stats.pareto_front(three, [True, True, True]).tolist() == [True, True, True, False]
    with_nan = np.array([[1.0, np.nan], [0.0, 1.0]])
    assert stats.pareto_front(with_nan, [True, False]).tolist() == [False, True]


def test_linear_trend():
    x = np.arange(6.0)
    t = stats.linear_trend(x, 3 * x + 2 + np.array([0.1, -0.1, 0.1, -0.1, 0.1, -0.1]))
    assert t["slope"] == pytest.approx(3.0, abs=0.1) and t["lower"] < t["slope"] < t["upper"]


def test_mean_ci_is_the_t_interval():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, lo, hi = stats.mean_ci(x, confidence=0.95)
    half = scipy.stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert mean == 2.5 and lo == pytest.approx(2.5 - half) and hi == pytest.approx(2.5 + half)
    assert stats.mean_ci([5.0])[0] == 5.0 and np.isnan(stats.mean_ci([5.0])[1])
    assert stats.mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    with pytest.raises(stats.ScoreError):
        stats.mean_ci([1.0, np.nan])


@pytest.mark.parametrize("n", [3, 5, 10])
def test_mean_ci_holds_its_coverage_at_small_n(n):
    """Nominal 95% gives 93-97% measured coverage on normal data (4,000 simulated samples)."""
    rng = np.random.default_rng(n)
    samples = rng.normal(10.0, 2.0, (4000, n))
    covered = [lo <= 10.0 <= hi for _, lo, hi in (stats.mean_ci(s, 0.95) for s in samples)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_percentile_bootstrap_under_covers_at_few_seeds():
    """The known failure the t-interval replaces: a percentile bootstrap of the mean of 3 values."""
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 1.0, (2000, 3))
    idx = rng.integers(0, 3, (2000, 500, 3))
    boot = samples[np.arange(2000)[:, None, None], idx].mean(axis=2)  # (samples, reps)
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=1)
    assert np.mean((lo <= 0) & (0 <= hi)) < 0.85


def test_compare_is_welch_with_holm():
    rng = np.random.default_rng(1)
    samples = {"a": rng.normal(1.0, 1, 6), "b": rng.normal(0.0, 1, 5), "c": rng.normal(0.1, 1, 7)}
    ev = stats.compare(samples, confidence=0.95)
    assert list(zip(ev["x"], ev["y"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    for row in ev.itertuples():
        t = scipy.stats.ttest_ind(samples[row.x], samples[row.y], equal_var=False)
        assert row.p == pytest.approx(t.pvalue)
        ci = t.confidence_interval(0.95)
        assert (row.diff_lower, row.diff_upper) == pytest.approx((ci.low, ci.high))
    assert list(ev["p_holm"]) == pytest.approx(stats.holm(ev["p"]))
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    single = stats.compare({"a": [1.0], "b": [2.0, 3.0]})
    assert np.isnan(single["p"].iloc[0]) and not single["separated"].iloc[0]


def test_claim_policy_names_no_winner_between_indistinguishable_methods():
    from labbook import findings

    rng = np.random.default_rng(2)
    same = {
        "A": rng.normal(78.0, 0.3, 5),
        "B": rng.normal(78.0, 0.3, 5),
        "C": rng.normal(70.0, 0.3, 5),
    }
    c = findings.ranking_claim(same, stats.compare(same), "accuracy", "seed")
    text, values = c.text, c.values
    best = values["best"]
    other = "B" if best == "A" else "A"
    assert values["ties"] == [other] and values["beats"] == ["C"]
    assert "cannot be told apart" in text and "5 seeds" in text and "t-interval" in text
    assert "better than every" not in text
    clear = {"A": same["A"] + 5, "C": same["C"]}
    c = findings.ranking_claim(clear, stats.compare(clear), "accuracy", "seed")
    text, values = c.text, c.values
    assert values["beats"] == ["C"] and "better than every other method compared" in text
    singles = {"A": [78.0], "B": [77.0]}
    text = findings.ranking_claim(singles, stats.compare(singles), "accuracy", "seed").text
    assert "single seed" in text and "not evidence" in text
    row = stats.compare(same, [("A", "B")]).iloc[0]
    text = findings.versus_claim(row, "accuracy").text
    assert "cannot be told apart" in text and "Welch t-interval" in text and "n = 5 seeds" in text


def test_correlation_within_groups_removes_between_group_differences():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(5), 12)
    x = g + rng.normal(0, 0.3, g.size)
    y = g + rng.normal(0, 0.3, g.size)  # related only through the group
    r = stats.correlation_ci(x, y, groups=g, reps=1000, seed=0)
    assert r["pooled"]["spearman"] > 0.8 and r["pooled"]["spearman_lower"] > 0.7
    assert r["within"]["spearman_lower"] < 0 < r["within"]["spearman_upper"]
    assert (
        stats.supported_strength(r["within"]["spearman_lower"], r["within"]["spearman_upper"])
        == "no clear"
    )
    assert stats.supported_strength(0.35, 0.8) == "moderate"
    assert stats.correlation_ci(x, y, groups=g, reps=1000, seed=0) == r  # seeded


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.empty((0, 3)), "empty"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), "NaN score at run 0, task 1"),
        (np.array([[1.0, 2.0]]), "1 run"),
        (np.array([1.0, 2.0]), "1-D"),
    ],
)
def test_bad_score_matrices(bad, match):
    with pytest.raises(stats.ScoreError, match=match):
        stats.interval_estimates({"a": bad}, reps=10)


def test_mismatched_task_counts():
    with pytest.raises(stats.ScoreError, match="same number of tasks"):
        stats.interval_estimates({"a": np.ones((3, 2)), "b": np.ones((3, 4))}, reps=10)
    with pytest.raises(stats.ScoreError, match="tasks"):
        stats.probability_of_improvement_ci({"a:b": (np.ones((3, 2)), np.ones((3, 4)))}, reps=10)


def test_legacy_needs_int_seed():
    with pytest.raises(TypeError):
        stats.interval_estimates(
            {"a": np.ones((3, 2))}, reps=10, seed=np.random.default_rng(0), legacy=True
        )


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bits(scores):
    a = stats.interval_estimates(scores, reps=500, seed=11)
    b = stats.interval_estimates(scores, reps=500, seed=11)
    c = stats.interval_estimates(scores, reps=500, seed=12)
    assert all(np.array_equal(a[1][k], b[1][k]) for k in scores)
    assert not all(np.array_equal(a[1][k], c[1][k]) for k in scores)


def test_chunking_does_not_change_results(scores, monkeypatch):
    whole = stats.interval_estimates(scores, reps=300, seed=4, legacy=True)
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 50)  # many small chunks
    chunked = stats.interval_estimates(scores, reps=300, seed=4, legacy=True)
    assert all(np.array_equal(whole[1][k], chunked[1][k]) for k in scores)


# ---------------------------------------------------------------- parity with rliable


def test_legacy_interval_estimates_bit_identical(scores):
    np.random.seed(5)
    points, cis = rly.get_interval_estimates(scores, _rliable_aggregates, reps=200)
    p2, c2 = stats.interval_estimates(scores, reps=200, seed=5, legacy=True)
    for k in scores:
        assert np.array_equal(points[k], p2[k])
        assert np.array_equal(cis[k], c2[k])


def test_legacy_task_bootstrap_bit_identical(scores):
    np.random.seed(9)
    _, cis = rly.get_interval_estimates(scores, _rliable_aggregates, reps=100, task_bootstrap=True)
    _, c2 = stats.interval_estimates(scores, reps=100, seed=9, legacy=True, task_bootstrap=True)
    assert all(np.array_equal(cis[k], c2[k]) for k in scores)


def test_legacy_probability_of_improvement_bit_identical(scores):
    pairs = stats.all_pairs({**scores, "short": scores["m1"][:4]}, reference="m0")
    np.random.seed(7)
    probs, cis = rly.get_interval_estimates(pairs, rmetrics.probability_of_improvement, reps=100)
    p2, c2 = stats.probability_of_improvement_ci(pairs, reps=100, seed=7, legacy=True)
    for k in pairs:  # includes a pair with unequal run counts (6 vs 4)
        assert probs[k] == p2[k]
        assert np.array_equal(np.ravel(cis[k]), c2[k])


def test_legacy_performance_profiles_bit_identical(scores):
    taus = np.linspace(0, 1.2, 7)
    np.random.seed(3)
    prof, cis = rly.create_performance_profile(scores, taus, reps=100)
    p2, c2 = stats.performance_profiles(scores, taus, reps=100, seed=3, legacy=True)
    for k in scores:
        assert np.array_equal(prof[k], p2[k])
        assert np.array_equal(cis[k], c2[k])


def test_generator_mode_within_monte_carlo_tolerance(scores):
    """Generator mode draws a different stream; its interval ends agree with rliable's to within
    Monte-Carlo error: with 4,000 replicates the 2.5/97.5 percentiles of these scores (spread ~0.3)
    move by well under 0.03 between independent streams."""
    np.random.seed(0)
    _, cis = rly.get_interval_estimates(scores, _rliable_aggregates, reps=4000)
    _, c2 = stats.interval_estimates(scores, reps=4000, seed=123)
    for k in scores:
        assert np.abs(cis[k] - c2[k]).max() < 0.03


def test_estimates_frame(scores):
    metrics = ["iqm", "mean"]
    p, c = stats.interval_estimates(scores, metrics=metrics, reps=100, seed=0)
    df = stats.estimates_frame(p, c, metrics)
    assert list(df.columns) == ["method", "metric", "estimate", "lower", "upper"]
    assert (
        len(df) == 6
        and (df["lower"] <= df["estimate"]).all()
        and (df["estimate"] <= df["upper"]).all()
    )


# ---------------------------------------------------------------- plots


def test_stat_plots_draw_what_they_are_given(scores):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labbook import statplots, style

    colors = style.method_colors(scores)
    metrics = ["iqm", "mean"]
    p, c = stats.interval_estimates(scores, metrics=metrics, reps=200, seed=0)
    axes = statplots.interval_estimates(stats.estimates_frame(p, c, metrics), colors)
    assert [ax.get_title() for ax in axes] == ["IQM", "Mean"]
    bars = axes[1].patches
    assert len(bars) == 3 and bars[0].get_x() == pytest.approx(c["m0"][0, 1])
    assert bars[0].get_width() == pytest.approx(c["m0"][1, 1] - c["m0"][0, 1])

    probs, cis = stats.probability_of_improvement_ci(stats.all_pairs(scores), reps=100, seed=0)
    ax = statplots.probability_of_improvement(probs, cis, "m0", colors)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m1", "m2"]
    dot = next(line for line in ax.lines if line.get_marker() == "o")
    assert dot.get_xdata()[0] == pytest.approx(probs["m0:m1"])
    whisker = ax.collections[0].get_segments()[0]  # the CI line of the first row
    assert sorted(whisker[:, 0]) == pytest.approx(sorted(cis["m0:m1"]))
    with pytest.raises(ValueError, match="no pair"):
        statplots.probability_of_improvement(probs, cis, "zz", colors)

    taus = np.linspace(0, 1.2, 5)
    prof, pcis = stats.performance_profiles(scores, taus, reps=100, seed=0)
    ax = statplots.performance_profiles(prof, pcis, taus, colors)
    assert len(ax.get_lines()) >= 3
    assert np.allclose(ax.get_lines()[0].get_ydata(), prof["m0"])
    plt.close("all")


def test_improvement_frame():
    probs = {"a:b": 0.75, "b:a": 0.25}
    cis = {"a:b": np.array([0.6, 0.9]), "b:a": np.array([0.1, 0.4])}
    df = stats.improvement_frame(probs, cis)
    assert list(df.columns) == ["X", "Y", "P(X > Y)", "CI low", "CI high"]
    assert df.values.tolist() == [["a", "b", 0.75, 0.6, 0.9], ["b", "a", 0.25, 0.1, 0.4]]


def test_reverse_pairs_are_mirrors_of_the_same_replicates(scores):
    probs, cis = stats.probability_of_improvement_ci(stats.all_pairs(scores), reps=300, seed=1)
    for pair in probs:
        x, y = pair.split(":")
        assert probs[f"{y}:{x}"] == pytest.approx(1 - probs[pair])
        assert cis[f"{y}:{x}"] == pytest.approx([1 - cis[pair][1], 1 - cis[pair][0]])
    legacy, legacy_cis = stats.probability_of_improvement_ci(
        stats.all_pairs(scores), reps=50, seed=1, legacy=True
    )
    assert legacy_cis["m1:m0"].tolist() != pytest.approx(
        [1 - legacy_cis["m0:m1"][1], 1 - legacy_cis["m0:m1"][0]]
    )


def test_pair_row_finds_a_pair_in_either_order():
    ev = stats.compare({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([2.0, 3.0, 5.0])})
    assert stats.pair_row(ev, "b", "a")["p_holm"] == stats.pair_row(ev, "a", "b")["p_holm"]
    row = stats.pair_row(ev, "b", "a")
    assert row["x"] == "a" and row["diff"] == pytest.approx(-4 / 3)
    with pytest.raises(KeyError, match=r"\('a', 'c'\) was not compared"):
        stats.pair_row(ev, "a", "c")


def test_trend_claim_names_a_direction_only_when_the_interval_excludes_zero():
    from labbook import findings

    x = np.arange(6.0)
    up = findings.trend_claim(stats.linear_trend(x, 2 * x + 1), "Loss", "depth", unit="block")
    assert up.verdict == "rises" and up.text.startswith("Loss rises with depth: +2.00 per unit")
    noisy = stats.linear_trend(x, np.array([1.0, 3.0, 0.5, 2.5, 1.0, 2.0]))
    flat = findings.trend_claim(noisy, "Loss", "depth", unit="block")
    assert (
        flat.verdict == "flat" and "shows no clear trend" in flat.text and "6 blocks" in flat.text
    )
    down = findings.trend_claim(
        stats.linear_trend(x, -x), "Gap", "ratio", words=("grows", "shrinks")
    )
    assert down.verdict == "falls" and "Gap shrinks with ratio" in down.text
    const = findings.trend_claim(stats.linear_trend(x, 0 * x + 3), "Gap", "ratio")
    assert const.verdict == "flat" and "does not change" in const.text
    two = findings.trend_claim(stats.linear_trend([0, 1], [0, 1]), "Gap", "ratio")
    assert two.verdict == "flat" and "too few for an interval" in two.text
    one = findings.trend_claim(stats.linear_trend([0], [1.0]), "Gap", "ratio", unit="block")
    assert one.verdict == "flat" and "a single block" in one.text


def test_tied_top_is_said_before_any_mean_and_names_the_tied_methods():
    from labbook import findings

    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.004, 5)
    # DFA 0.04 points above BP on the mean: the top cannot be told apart
    samples = {
        "BP": 0.9646 + noise,
        "DFA": 0.9650 + noise[::-1],
        "FA": 0.90 + rng.normal(0, 0.004, 5),
    }
    evidence = stats.compare(samples)
    top = findings.top_set(samples, evidence)
    assert top["best"] == "DFA" and top["ranking"] == ("DFA", "BP", "FA")
    assert top["ties"] == ["BP"] and top["beats"] == ["FA"] and top["tied"] == ("DFA", "BP")
    c = findings.ranking_claim(samples, evidence, "final test accuracy", "seed", spec=".1%")
    assert c.verdict == "not_separated" and c.winner is None and c.ranking == ("DFA", "BP", "FA")
    assert c.values["tied"] == ["DFA", "BP"] and c.values["beats"] == ["FA"]
    # the tie and the methods in it come before any mean
    assert c.text.startswith("Tied at the top: DFA has the highest mean final test accuracy, but")
    assert c.text.index("BP (p = ") < c.text.index("%")
    clear = {"BP": samples["BP"], "FA": samples["FA"], "SL": samples["FA"] - 0.05}
    c = findings.ranking_claim(clear, stats.compare(clear), "final test accuracy", "seed")
    assert c.verdict == "separated" and c.winner == "BP" and c.values["tied"] == ["BP"]
    assert "better than every other method compared (FA and SL;" in c.text


def test_log_compare_is_welch_on_log_times_and_a_ratio_of_geometric_means():
    rng = np.random.default_rng(3)
    a = np.exp(rng.normal(np.log(0.7e-3), 0.1, 4))
    b = np.exp(rng.normal(np.log(1.0e-3), 0.1, 5))
    row = stats.log_compare({"a": a, "b": b}).iloc[0]
    t = scipy.stats.ttest_ind(np.log(a), np.log(b), equal_var=False)
    assert row["p"] == pytest.approx(t.pvalue)
    ci = t.confidence_interval(0.95)
    assert (row["ratio_lower"], row["ratio_upper"]) == pytest.approx(np.exp([ci.low, ci.high]))
    gm = np.exp(np.log(a).mean()) / np.exp(np.log(b).mean())
    assert row["ratio"] == pytest.approx(gm)
    assert (row["median_x"], row["median_y"]) == (np.median(a), np.median(b))
    with pytest.raises(stats.ScoreError, match="b: times must be finite and positive"):
        stats.log_compare({"a": a, "b": [1.0, 0.0]})


def test_median_spread():
    assert stats.median_spread([1, 2, 3, 4, 100]) == (3.0, 2.0, 4.0)
    assert stats.median_spread(np.arange(11), "p10-p90") == (5.0, 1.0, 9.0)
    with pytest.raises(ValueError, match="spread"):
        stats.median_spread([1, 2], "sd")


def test_time_verdict_needs_the_log_test_and_the_medians_to_agree():
    from labbook import findings

    fast = np.array([0.60, 0.62, 0.64]) * 1e-3
    slow = np.array([1.0, 1.1, 1.2]) * 1e-3
    row = stats.log_compare({"50% linear": fast, "0% linear": slow}).iloc[0]
    assert findings.time_verdict(row) == "better"
    c = findings.time_claim(row, "latency", "run")
    assert c.verdict == "better" and c.winner == "50% linear"
    assert c.values["ratio"] < 1 and c.values["n_x"] == 3
    assert "ratio of geometric means" in c.text and "log times" in c.text
    back = stats.log_compare({"0% linear": slow, "50% linear": fast}).iloc[0]
    assert findings.time_verdict(back) == "worse"
    assert findings.time_claim(back, "latency").winner == "50% linear"
    same = stats.log_compare({"a": fast, "b": fast[::-1] * 1.01}).iloc[0]
    assert findings.time_verdict(same) == "not_separated"
    one = stats.log_compare({"a": fast[:1], "b": slow}).iloc[0]
    assert findings.time_verdict(one) == "untested"
    disagree = dict(row, median_x=2e-3)  # separated on logs, medians the other way
    assert findings.time_verdict(disagree) == "not_separated"
    epochs = findings.time_claim(row, "epoch time", "epoch", of_one_run=True)
    assert "of one run each, not replicates" in epochs.text
