"""MoE findings and figures on small hand-made tables: every sentence (the claim policy's words,
numbers, verdict, winner and ranking) and the computations and figure builders the notebook calls.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from labbook import figures, stats, style
from labbook.analyses import moe
from labbook.plots import moe as moe_plots


def _scores(means, spread=0.01):
    """array(runs, 2 epochs) whose run means are *means* (epochs at mean -/+ spread)."""
    return np.array([[m - spread, m + spread] for m in means])


def _estimates(iqm):
    """stats.estimates_frame rows of the IQM: {type: (estimate, lower, upper)}."""
    return pd.DataFrame(
        [
            {"method": t, "metric": "iqm", "estimate": e, "lower": lo, "upper": hi}
            for t, (e, lo, hi) in iqm.items()
        ]
    )


def _costs(**per_type):
    """type_costs rows: type=(macs, cpu_time s, memory MB)."""
    return pd.DataFrame(per_type, index=["macs", "cpu_time", "memory"]).T.astype(float)


def _scope(rho, lo, hi):
    return {"spearman": rho, "spearman_lower": lo, "spearman_upper": hi}


RELATION = {
    "n": 30,
    "groups": 3,
    "pooled": _scope(0.6, 0.35, 0.8),
    "within": _scope(0.05, -0.2, 0.3),
}


def _findings(scores, costs, relation=None, iqm=None):
    iqm = iqm or {t: (0.7, 0.69, 0.71) for t in scores}
    items = moe.findings(
        scores,
        _estimates(iqm),
        costs,
        relation,
        dataset="toy",
        epochs=2,
        correlation_epoch=2,
        cost_epoch=2,
    )
    return {f.key: f for f in items}, [f.key for f in items]


# ---------------------------------------------------------------- findings


def test_separated_best_beats_every_type_and_nothing_cheaper_matches_it():
    scores = {"A": _scores([0.80, 0.81, 0.82]), "B": _scores([0.60, 0.61, 0.62])}
    found, keys = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)))
    assert keys == ["best_type", "best_iqm", "cheapest_not_worse"]  # no relation: no sentence
    best = found["best_type"]
    assert best.text == (
        "A has the highest mean validation accuracy on toy (each run's mean over epochs 1–2), "
        "0.8100 (95% t-interval 0.7852–0.8348, 3 runs) and is better than every other method "
        "compared (B; Welch t-tests, Holm-corrected over 1 pair, at α = 0.05)."
    )
    assert (best.verdict, best.winner, best.ranking) == ("separated", "A", ["A", "B"])
    assert best.values["beats"] == ["B"] and best.values["ties"] == []
    assert found["best_iqm"].text == (
        "A: IQM validation accuracy 0.7000 (95% stratified-bootstrap CI 0.6900–0.7100; "
        "3 runs × 2 epochs)."
    )
    assert found["best_iqm"].verdict is None  # a description: it compares nothing
    cheap = found["cheapest_not_worse"]
    assert cheap.text == (
        "No type that is not shown to be worse than A is cheaper: A needs 2e+08 MACs, 40.0 s CPU "
        "and 1500 MB at epoch 2."
    )
    assert (cheap.verdict, cheap.winner, cheap.ranking) == (None, None, ["A"])


def test_not_separated_names_the_tie_and_the_cheapest_tie_with_its_interval():
    scores = {
        "A": _scores([0.62, 0.64, 0.66]),
        "B": _scores([0.61, 0.63, 0.65]),
        "C": _scores([0.40, 0.41, 0.42]),
    }
    costs = _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200), C=(5e7, 10, 800))
    found, _ = _findings(scores, costs)
    best = found["best_type"]
    assert best.text == (
        "Tied at the top: A has the highest mean validation accuracy on toy (each run's mean "
        "over epochs 1–2), but it cannot be told apart from B (p = 0.57) at this number of runs "
        "(Welch t-tests, Holm-corrected over 3 pairs, at α = 0.05). Its mean is 0.6400 (95% "
        "t-interval 0.5903–0.6897, 3 runs); it is better than C."
    )
    assert (best.verdict, best.winner, best.ranking) == ("not_separated", None, ["A", "B", "C"])
    cheap = found["cheapest_not_worse"]
    # C is cheaper still, but it is shown to be worse: the cheapest candidate is B
    assert cheap.text == (
        "The cheapest type not shown to be worse than A is B: 1e+08 MACs, 30.0 s CPU, 1200 MB at "
        "epoch 2 against 2e+08 MACs, 40.0 s CPU, 1500 MB. B vs. A: -1.00 percentage points in "
        "mean validation accuracy (95% Welch t-interval -5.53 to +3.53, p = 0.57, Holm-corrected "
        "0.57, n = 3 runs): the two cannot be told apart at this number of runs."
    )
    assert (cheap.verdict, cheap.winner, cheap.ranking) == ("not_separated", None, ["B", "A"])
    # the numbers against an independent Welch test (B's run means minus A's, in points)
    b, a = scores["B"].mean(axis=1), scores["A"].mean(axis=1)
    welch = scipy.stats.ttest_ind(b, a, equal_var=False)
    half = scipy.stats.t.ppf(0.975, 4) * math.sqrt(b.var(ddof=1) / 3 + a.var(ddof=1) / 3)
    v = cheap.values
    assert (v["x"], v["y"], v["n_x"], v["n_y"]) == ("B", "A", 3, 3)
    assert v["diff"] == pytest.approx(-1.0)
    assert v["lower"] == pytest.approx(100 * (-0.01 - half))
    assert v["upper"] == pytest.approx(100 * (-0.01 + half))
    assert v["p"] == pytest.approx(welch.pvalue) and v["p_holm"] == pytest.approx(welch.pvalue)
    assert (v["macs"], v["best_macs"], v["mem"], v["best_mem"]) == (1e8, 2e8, 1200, 1500)


def test_the_cheapest_tie_listed_before_the_best_is_compared_the_same_way():
    """The evidence table holds each pair once, in the types' order: a tie listed before the best
    is its X, the best after it; the sentence is the same either way (cheapest vs. best)."""
    a, b = _scores([0.62, 0.64, 0.66]), _scores([0.61, 0.63, 0.65])
    costs = _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200))
    first, _ = _findings({"A": a, "B": b}, costs)
    second, _ = _findings({"B": b, "A": a}, costs)
    assert first["cheapest_not_worse"].text == second["cheapest_not_worse"].text
    assert first["cheapest_not_worse"].values == second["cheapest_not_worse"].values


def test_a_single_run_gives_no_test_and_no_claim():
    scores = {"A": _scores([0.62, 0.64, 0.66]), "B": _scores([0.70])}  # B: one run
    found, _ = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)))
    best = found["best_type"]
    # B's single run is higher, but the mean of one run is no evidence: no winner
    assert best.values["best"] == "B" and best.winner is None
    assert best.verdict == "not_separated" and "A (one run: no test)" in best.text
    assert found["best_iqm"].text.endswith("; 1 run × 2 epochs).")
    cheap = found["cheapest_not_worse"]
    # A's runs cost more, and no test separates them: the cheapest is B itself
    assert cheap.text == (
        "No type that is not shown to be worse than B is cheaper: B needs 1e+08 MACs, 30.0 s CPU "
        "and 1200 MB at epoch 2."
    )
    assert cheap.verdict is None and cheap.ranking == ["B", "A"]


def test_a_single_run_as_the_cheapest_tie_is_untested():
    scores = {"A": _scores([0.62, 0.64, 0.66]), "B": _scores([0.60])}
    found, _ = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)))
    cheap = found["cheapest_not_worse"]
    assert cheap.text.endswith(
        "B vs. A: -4.00 percentage points in mean validation accuracy (single run on a side: no "
        "interval, no test, so no claim either way)."
    )
    assert (cheap.verdict, cheap.winner, cheap.ranking) == ("untested", None, ["B", "A"])


def test_one_type_compares_nothing():
    found, _ = _findings({"A": _scores([0.62, 0.64])}, _costs(A=(2e8, 40, 1500)))
    assert found["best_type"].text == (
        "Only A was compared (validation accuracy on toy (each run's mean over epochs 1–2) "
        "0.6300, 2 runs)."
    )
    assert found["best_type"].verdict == "only_one" and found["best_type"].winner is None
    assert found["cheapest_not_worse"].values["cheapest"] == "A"


def test_equal_scores_are_a_tie_and_equal_costs_break_by_cpu_then_name():
    same = _scores([0.62, 0.64, 0.66])
    scores = {"A": same, "B": same.copy(), "C": same.copy()}
    costs = _costs(A=(1e8, 30, 1500), B=(1e8, 30, 900), C=(1e8, 20, 1600))
    found, _ = _findings(scores, costs)
    best = found["best_type"]
    assert best.values["ties"] == ["B", "C"] and best.winner is None
    assert "cannot be told apart from B (p = 1) and C (p = 1)" in best.text
    cheap = found["cheapest_not_worse"]
    assert cheap.values["cheapest"] == "C"  # same MACs: the least CPU time
    assert cheap.ranking == ["C", "A", "B"]  # A and B cost the same: by name
    assert "C vs. A: +0.00 percentage points" in cheap.text


@pytest.mark.parametrize(
    "scope,words,verdict",
    [
        (_scope(0.6, 0.35, 0.8), "a moderate positive relation", "rises"),  # the bound near 0
        (_scope(-0.6, -0.8, -0.35), "a moderate negative relation", "falls"),
        (_scope(0.3, 0.02, 0.55), "a negligible positive relation", "rises"),
        (_scope(0.75, 0.71, 0.9), "a very strong positive relation", "rises"),
        (_scope(0.1, -0.1, 0.3), "no clear relation", "flat"),  # the interval holds 0: flat
        (_scope(0.0, 0.0, 0.0), "no clear relation", "flat"),
    ],
)
def test_relation_words_follow_the_interval(scope, words, verdict):
    assert moe.relation_words(scope) == words
    claim = moe.entropy_claim({"n": 12, "groups": 2, "pooled": scope, "within": scope}, 5, 0.9)
    assert claim.verdict == verdict and claim.winner is None
    assert claim.values["pooled_word"] == claim.values["within_word"] == words
    assert claim.text.startswith(
        f"At epoch 5, over 12 runs of 2 types: pooled over types, accuracy and the evenness of "
        f"expert use show {words} (Spearman ρ = {scope['spearman']:.2f}, 90% CI "
    )


def test_entropy_sentence_pooled_and_within():
    scores = {"A": _scores([0.62, 0.64, 0.66]), "B": _scores([0.61, 0.63, 0.65])}
    found, keys = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)), RELATION)
    assert keys == ["best_type", "best_iqm", "entropy_accuracy", "cheapest_not_worse"]
    ent = found["entropy_accuracy"]
    assert ent.text == (
        "At epoch 2, over 30 runs of 3 types: pooled over types, accuracy and the evenness of "
        "expert use show a moderate positive relation (Spearman ρ = 0.60, 95% CI 0.35 to 0.80); "
        "within types, where differences between types do not count, no clear relation "
        "(ρ = 0.05, CI -0.20 to 0.30)."
    )
    assert ent.verdict == "rises"  # the pooled relation's; the within words are in the values
    assert ent.values["within_word"] == "no clear relation" and ent.values["wlo"] == -0.2


def test_iqm_is_the_best_mean_types_even_when_another_iqm_is_higher():
    """The IQM sentence describes the type with the highest mean; it ranks nothing."""
    scores = {"A": _scores([0.62, 0.64, 0.66]), "B": _scores([0.61, 0.63, 0.65])}
    iqm = {"A": (0.70, 0.69, 0.71), "B": (0.72, 0.71, 0.73)}
    found, _ = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)), iqm=iqm)
    f = found["best_iqm"]
    assert f.values["best"] == "A" and f.values["value"] == 0.70 and f.ranking is None
    assert "best" not in f.text and "higher" not in f.text


def test_no_type_with_two_runs_is_an_error():
    with pytest.raises(ValueError, match="no MoE type has 2 complete runs"):
        _findings({}, _costs(A=(1, 1, 1)))


# ---------------------------------------------------------------- computations


def _wide():
    """per_epoch rows: types a (runs r1, r2) and b (run r3), epochs 1-3."""
    rows = []
    for method, run, base in (("a", "r1", 0.5), ("a", "r2", 0.6), ("b", "r3", 0.4)):
        for e in (1, 2, 3):
            rows.append(
                {
                    "method": method,
                    "run": run,
                    "epoch": e,
                    "accuracy": base + 0.1 * e,
                    "loss": 2.0 - 0.5 * e,
                    "cpu_time": 10.0 * e,
                    "memory": 100.0 + e,
                    "macs": 2e8 if method == "a" else 1e8,
                }
            )
    return pd.DataFrame(rows)


def test_display_summary_and_runs_table():
    wide = _wide()
    shown = moe.display_summary(moe.summary(wide, ["method", "epoch"]), {"a": "A", "b": "B"})
    assert list(shown.columns[:5]) == [
        "MoE type",
        "Epoch",
        "Accuracy mean",
        "Accuracy min",
        "Accuracy max",
    ]
    assert {"Memory (MB) max", "CPU time (s) mean", "MACs max", "Loss min"} <= set(shown.columns)
    assert shown["MoE type"].tolist() == ["A"] * 3 + ["B"] * 3
    assert set(moe.SUMMARY_INTERVALS["CPU time (s) mean [min, max]"]) <= set(shown.columns)
    runs = pd.DataFrame({"method": ["a", "a", "b"], "run": ["r1", "r2", "r3"]})
    table = moe.runs_table(runs, wide[wide["epoch"] < 3], ["b", "a"], {"a": "A", "b": "B"})
    assert table.to_dict("list") == {"MoE type": ["B", "A"], "runs": [1, 2], "epochs": [2, 2]}


def _weights():
    """expert_weights rows: a and b with 2 experts, c with 4."""
    rows = [("a", 0, 30.0), ("a", 1, 10.0), ("b", 0, 5.0), ("b", 1, 5.0)]
    rows += [("c", e, 1.0 + e) for e in range(4)]
    w = pd.DataFrame(rows, columns=["method", "expert", "total"])
    w["relative_weight"] = w["total"] / w.groupby("method")["total"].transform("sum")
    return w


def test_expert_loads_and_panels():
    loads = moe.expert_loads(_weights())
    assert loads["experts"].tolist() == [2, 2, 2, 2, 4, 4, 4, 4]
    assert loads["load"].tolist() == pytest.approx([1.5, 0.5, 1, 1, 0.4, 0.8, 1.2, 1.6])
    # the common count first (in the given order), then each other count alone
    assert moe.expert_panels(_weights(), ["c", "b", "a", "ffn"]) == [["b", "a"], ["c"]]


def test_entropy_accuracy_leaves_out_fixed_routing():
    wide = _wide().assign(method="a")
    counts = pd.DataFrame(
        [
            ("a", "r1", 3, 0, 5.0),  # perfectly even: entropy 1
            ("a", "r1", 3, 1, 5.0),
            ("a", "r2", 3, 0, 1.0),  # 1:3: entropy 0.811
            ("a", "r2", 3, 1, 3.0),
            ("a", "r3", 3, 0, 4.0),  # one expert only: entropy 0
            ("a", "r3", 3, 1, 0.0),
            ("a", "r2", 2, 0, 1.0),  # another epoch: not read
            ("a", "r2", 2, 1, 1.0),
        ],
        columns=["method", "run", "epoch", "expert", "count"],
    )
    kept, fixed = moe.entropy_accuracy(wide, counts, 3)
    assert kept["run"].tolist() == ["r2"] and sorted(fixed["run"]) == ["r1", "r3"]
    p = np.array([0.25, 0.75])
    assert kept["entropy"].iloc[0] == pytest.approx(-(p * np.log2(p)).sum())
    assert kept["accuracy"].iloc[0] == pytest.approx(0.9)
    assert not moe.can_correlate(kept)  # one run
    three = pd.DataFrame({"entropy": [0.2, 0.5, 0.7], "accuracy": [0.1, 0.3, 0.2]})
    assert moe.can_correlate(three)
    assert not moe.can_correlate(three.assign(entropy=0.5))  # constant entropy


def test_hardware_scaling_and_costs():
    final = moe.hardware_table(_wide(), 3)
    assert final["mmacs"].tolist() == [200, 200, 100] and set(final["epoch"]) == {3}
    scaled, lo, hi = moe.scaled_to_range(final, ["accuracy", "memory", "mmacs"])
    assert scaled["accuracy"].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert scaled["memory"].tolist() == [0.5, 0.5, 0.5]  # constant: the middle
    assert (lo["mmacs"], hi["mmacs"], lo["memory"], hi["memory"]) == (100, 200, 103, 103)
    costs = moe.type_costs(final, {"a": "A", "b": "B"})
    assert costs.loc["A"].tolist() == [2e8, 30.0, 103.0] and costs.loc["B", "macs"] == 1e8


# ---------------------------------------------------------------- figures

NAMES, COLORS = {"a": "Alpha", "b": "Beta"}, {"a": style.PALETTE[0], "b": style.PALETTE[1]}


def _texts(fig):
    return {t.get_text() for t in fig.findobj(plt.Text) if t.get_visible() and t.get_text()}


def _legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


@pytest.fixture
def paper():
    with plt.rc_context(style.paper("full", venue="icml")):
        yield
    plt.close("all")


def test_accuracy_loss_curves(paper):
    fig = moe_plots.accuracy_loss_curves(_wide(), ["a", "b"], NAMES, COLORS, 0.3)
    left, right = fig.axes
    assert (left.get_title(), left.get_ylabel(), left.get_xlabel()) == (
        "Validation accuracy (EMA)",
        "Accuracy",
        "Epoch",
    )
    assert (right.get_title(), right.get_ylabel()) == ("Validation loss (EMA)", "Loss")
    assert len(left.lines) == len(right.lines) == 2 and len(left.collections) == 2  # bands
    legend = fig.legends[0]
    assert _legend_texts(legend) == ["Alpha", "Beta"]
    assert legend.get_title().get_text() == (
        "Mean over runs per MoE type (band: min–max over runs; 1–2 runs per type)"
    )
    # the mean curve is the EMA of the mean over runs: a's epoch-1 mean 0.65, then 0.75 smoothed
    assert left.lines[0].get_ydata()[:2] == pytest.approx([0.65, 0.3 * 0.75 + 0.7 * 0.65])
    assert figures.check(fig) == []


def test_runs_by_type_small_multiples(paper):
    fig = moe_plots.runs_by_type(_wide(), "memory", ["a", "b"], NAMES, COLORS, "Memory (MB)")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["Alpha", "Beta"] and len(fig.axes) == 4
    assert len(shown[0].collections[0].get_segments()) == 2  # one line per run
    assert shown[0].lines[0].get_ydata().tolist() == [101, 102, 103]  # the mean, unsmoothed
    assert fig.get_supylabel() == "Memory (MB)" and fig.get_supxlabel() == "Epoch"
    assert _legend_texts(fig.legends[0]) == ["one run", moe_plots.MEAN_OF_TYPE]
    assert figures.check(fig) == []


def test_expert_activations(paper):
    weights = _weights()
    loads = moe.expert_loads(weights)
    panels = moe.expert_panels(weights, ["a", "b", "c"])
    entropy = {"a": 0.811, "b": 1.0, "c": 0.9}
    with plt.rc_context(style.paper("full", venue="icml", height=2.0)):
        fig = moe_plots.expert_activations(loads, entropy, panels, {**NAMES, "c": "Gamma"})
    first, second, bar = fig.axes
    assert [t.get_text() for t in first.get_xticklabels()] == [
        "Alpha\nH = 0.811",
        "Beta\nH = 1.000",
    ]
    assert [t.get_text() for t in second.get_xticklabels()] == ["Gamma\nH = 0.900"]
    assert len(first.collections[0].get_offsets()) == 4 and first.get_ylabel() == "Expert"
    assert second.get_ylim() == pytest.approx((-0.7, 3.7))  # four experts
    assert bar.get_ylabel() == "Load (1 = even share)"
    assert _legend_texts(fig.legends[0]) == ["0.5×", "1×", "1.5×"]
    assert figures.check(fig) == []


def test_accuracy_vs_entropy(paper):
    runs = pd.DataFrame(
        {
            "method": ["a", "a", "a", "b", "b", "b"],
            "entropy": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9],
            "accuracy": [0.60, 0.62, 0.61, 0.70, 0.72, 0.71],
        }
    )
    relation = {"n": 6, "groups": 2, "pooled": _scope(0.83, 0.4, 1), "within": _scope(0.5, -1, 1)}
    fig = moe_plots.accuracy_vs_entropy(runs, relation, ["a", "b"], NAMES, COLORS, 7)
    (ax,) = fig.axes
    assert ax.get_title() == "Epoch 7, 6 runs: Spearman ρ = 0.83 pooled, 0.50 within types"
    assert ax.get_xlabel() == "Normalized entropy of expert use"
    assert len(ax.collections) == 2 and len(ax.lines) == 1
    slope, intercept = np.polyfit(runs["entropy"], runs["accuracy"], 1)
    line = ax.lines[0]
    assert line.get_ydata()[0] == pytest.approx(intercept + slope * 0.5)
    assert _legend_texts(fig.legends[0]) == ["Alpha", "Beta", "least-squares line (all runs)"]
    assert figures.check(fig) == []


def test_probability_grid(paper):
    scores = {"Alpha": _scores([0.6, 0.62, 0.64]), "Beta": _scores([0.5, 0.52, 0.7])}
    scores["Gamma"] = _scores([0.4, 0.45, 0.5])
    probs, cis = stats.probability_of_improvement_ci(stats.all_pairs(scores), reps=50, seed=0)
    colors = dict(zip(scores, style.PALETTE))
    with plt.rc_context(style.paper("full", venue="icml", nrows=1, ncols=3, height=1.6)):
        fig = moe_plots.probability_grid(probs, cis, list(scores), colors, 3, 0.9)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["P(Alpha > Y)", "P(Beta > Y)", "P(Gamma > Y)"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Beta", "Gamma"]
    assert fig.get_supxlabel().startswith("P(X > Y): dot = estimate, line = 90% bootstrap CI")
    assert figures.check(fig) == []


def test_hardware_usage(paper):
    final = moe.hardware_table(_wide(), 3)
    with plt.rc_context(style.paper("full", venue="icml", nrows=1, ncols=2, height=2.0)):
        fig = moe_plots.hardware_usage(final, ["a", "b"], NAMES, COLORS, 3)
    left, right = fig.axes
    assert (left.get_title(), right.get_title()) == ("Alpha", "Beta")
    assert [t.get_text() for t in left.get_xticklabels()] == [
        "MACs (M)",
        "Memory (MB)",
        "CPU time (s)",
        "Accuracy",
    ]
    # the mean of a's two runs on each scaled axis: MACs at the top, accuracy 0.8 and 0.9 of
    # 0.7-0.9 -> 0.5 and 1, memory and CPU time constant -> 0.5
    assert left.lines[0].get_ydata().tolist() == pytest.approx([1, 0.5, 0.5, 0.75])
    ends = {t.get_text() for t in left.texts}
    assert {"100", "200", "103", "30.0", "0.700", "0.900"} <= ends  # minima and maxima
    legend = fig.legends[0]
    assert _legend_texts(legend) == ["one run", moe_plots.MEAN_OF_TYPE]
    assert legend.get_title().get_text().startswith("Epoch 3; each axis spans")
    assert figures.check(fig) == []
