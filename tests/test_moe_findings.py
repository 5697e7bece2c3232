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
from labbook.inputs import InputError
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
        "A: IQM validation accuracy 0.7000 (95% stratified-bootstrap CI 0.6900–0.7100 over 6 "
        "run-epochs, 3 runs × 2 epochs: an aggregate of runs × epochs, not an interval over runs); "
        "each run's mean over epochs 1–2 averages 0.8100 (95% t-interval over runs 0.7852–0.8348, "
        "n = 3 runs)."
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
    assert "over 2 run-epochs, 1 run × 2 epochs" in found["best_iqm"].text
    assert found["best_iqm"].text.endswith("averages 0.7000 (a single run: no interval).")
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
    assert list(shown.columns[:6]) == [
        "MoE type",
        "Epoch",
        "Runs",
        "Accuracy mean",
        "Accuracy min",
        "Accuracy max",
    ]
    assert {"Memory (MB) max", "CPU time (s) mean", "MACs max", "Loss min"} <= set(shown.columns)
    assert shown["MoE type"].tolist() == ["A"] * 3 + ["B"] * 3
    assert moe.summary_intervals(shown)["CPU time (s) mean [min, max]"] == (
        "CPU time (s) mean",
        "CPU time (s) min",
        "CPU time (s) max",
    )
    runs = pd.DataFrame({"method": ["a", "a", "b"], "run": ["r1", "r2", "r3"]})
    table = moe.runs_table(runs, wide[wide["epoch"] < 3], ["b", "a"], {"a": "A", "b": "B"})
    assert table.to_dict("list") == {"MoE type": ["B", "A"], "runs": [1, 2], "epochs": [2, 2]}
    ragged = wide[(wide["run"] != "r2") | (wide["epoch"] < 2)]  # r2 stopped after epoch 1
    table = moe.runs_table(runs, ragged, ["a", "b"], {"a": "A", "b": "B"})
    assert table["epochs"].tolist() == ["1–3", "3"]


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


# ---------------------------------------------------------------- the unit of replication


def test_the_interval_over_runs_is_computed_over_each_runs_value_with_n_runs():
    """run_values: each run's mean over the epochs (one value per run); run_intervals: the
    Student-t interval over those values, n = runs, far wider than the stratified bootstrap of
    the run-epochs when runs differ more than epochs do."""
    scores = {
        "A": np.array([[0.60, 0.61, 0.62], [0.70, 0.71, 0.72], [0.65, 0.66, 0.67]]),
        "B": np.array([[0.50, 0.52, 0.54], [0.55, 0.57, 0.59]]),
    }
    values = moe.run_values(scores)
    assert values["A"].tolist() == pytest.approx([0.61, 0.71, 0.66])
    assert values["B"].tolist() == pytest.approx([0.52, 0.57])
    table = moe.run_intervals(values, 0.95).set_index("method")
    assert table["runs"].tolist() == [3, 2]  # n counts runs, not the 9 and 6 run-epochs
    half = scipy.stats.t.ppf(0.975, 2) * np.std([0.61, 0.71, 0.66], ddof=1) / math.sqrt(3)
    assert table.loc["A", "mean"] == pytest.approx(0.66)
    assert (table.loc["A", "lower"], table.loc["A", "upper"]) == pytest.approx(
        (0.66 - half, 0.66 + half)
    )
    points, intervals = stats.interval_estimates({"A": scores["A"]}, ["mean"], reps=500, seed=0)
    pooled = intervals["A"][1, 0] - intervals["A"][0, 0]
    assert points["A"][0] == pytest.approx(0.66)  # the same mean ...
    assert pooled < (2 * half) / 4  # ... with a far narrower interval over run-epochs
    one = moe.run_intervals({"C": np.array([0.5])}).iloc[0]
    assert one["runs"] == 1 and math.isnan(one["lower"]) and math.isnan(one["upper"])


def test_the_iqm_finding_labels_its_aggregate_and_gives_the_interval_over_runs():
    scores = {"A": _scores([0.80, 0.81, 0.82]), "B": _scores([0.60, 0.61, 0.62])}
    found, _ = _findings(scores, _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)))
    v = found["best_iqm"].values
    # the aggregate's numbers are kept as they were, its n said in run-epochs
    assert (v["value"], v["lo"], v["hi"], v["n"], v["epochs"]) == (0.7, 0.69, 0.71, 3, 2)
    assert v["run_epochs"] == 6 and v["runs"] == 3
    mean, lo, hi = stats.mean_ci([0.80, 0.81, 0.82])
    assert (v["run_mean"], v["run_lower"], v["run_upper"]) == pytest.approx((mean, lo, hi))
    assert "over 6 run-epochs, 3 runs × 2 epochs: an aggregate of runs × epochs" in (
        found["best_iqm"].text
    )
    assert f"t-interval over runs {lo:.4f}–{hi:.4f}, n = 3 runs" in found["best_iqm"].text
    # the claim is tested on the same run values (n = runs)
    assert found["best_type"].values["n"] == 3
    assert found["best_type"].values["lower"] == pytest.approx(lo)


def test_summary_tables_say_what_their_n_counts_and_carry_the_interval_over_runs():
    wide = _wide()
    by_type = moe.summary(wide, ["method"])
    assert by_type[["method", "runs", "run_epochs"]].values.tolist() == [["a", 2, 6], ["b", 1, 3]]
    by_epoch = moe.summary(wide, ["method", "epoch"])
    assert "run_epochs" not in by_epoch and by_epoch["runs"].tolist() == [2, 2, 2, 1, 1, 1]
    scores, _ = moe.score_matrices(wide, 3)
    over = moe.run_intervals(moe.run_values(scores))
    table = moe.with_run_interval(by_type, over)
    at = list(table.columns).index("accuracy max")
    assert list(table.columns[at + 1 : at + 5]) == [
        "over runs mean",
        "over runs lower",
        "over runs upper",
        "over runs n",
    ]
    mean, lo, hi = stats.mean_ci([0.7, 0.8])  # a's two runs, each its mean over epochs 1-3
    row = table.set_index("method").loc["a"]
    assert (row["over runs mean"], row["over runs lower"]) == pytest.approx((mean, lo))
    assert row["over runs n"] == 2
    shown = moe.display_summary(table, NAMES)
    assert list(shown.columns[:3]) == ["MoE type", "Runs", "Run-epochs"]
    spans = moe.summary_intervals(shown, 0.9)
    assert list(spans)[:3] == [
        "Accuracy over run-epochs: mean [min, max]",
        "Accuracy over runs [90% t-CI]",
        "Memory (MB) mean [min, max]",
    ]
    by_epoch_spans = moe.summary_intervals(moe.display_summary(by_epoch, NAMES))
    assert list(by_epoch_spans)[0] == "Accuracy mean [min, max]"  # over the runs at an epoch
    accuracy, others = moe.summary_parts(shown)
    assert accuracy == [
        "MoE type",
        "Runs",
        "Run-epochs",
        "Accuracy mean",
        "Accuracy min",
        "Accuracy max",
        "Over runs mean",
        "Over runs lower",
        "Over runs upper",
        "CI runs",
    ]
    assert others[0] == "MoE type" and set(others[1:]) == {
        c for c in shown if c.startswith(("Memory", "CPU", "MACs", "Loss"))
    }


def test_interval_estimates_rows_and_counts_say_their_n():
    scores = {"A": _scores([0.80, 0.81, 0.82]), "B": _scores([0.60, 0.61])}
    estimates = _estimates({"A": (0.8, 0.79, 0.81), "B": (0.6, 0.59, 0.61)})
    both = moe.with_over_runs(estimates, moe.run_intervals(moe.run_values(scores)))
    over = both[both["metric"] == moe.OVER_RUNS].set_index("method")
    assert over.loc["A", "estimate"] == pytest.approx(0.81)
    assert over.loc["B", "lower"] == pytest.approx(stats.mean_ci([0.60, 0.61])[1])
    assert moe.score_counts(scores).values.tolist() == [["A", 3, 6], ["B", 2, 4]]


# ---------------------------------------------------------------- runs of every shape


def _ragged(lasts, method="a", start=0):
    """per_epoch rows of one type: one run per entry of *lasts*, logged at epochs 1..last."""
    return pd.DataFrame(
        [
            {
                "method": method,
                "run": f"{method}{start + i}",
                "epoch": e,
                "accuracy": 0.5 + 0.01 * e,
            }
            for i, last in enumerate(lasts)
            for e in range(1, last + 1)
        ]
    )


def test_a_run_that_stopped_early_never_cuts_the_horizon_of_the_others():
    assert moe.runs_needed(10) == 5 and moe.runs_needed(3) == 2 and moe.runs_needed(1) == 1
    same = pd.concat([_ragged([20, 20, 20]), _ragged([20, 20], "b")])
    assert moe.horizon(same) == moe.common_last_epoch(same) == 20
    one_early = pd.concat([_ragged([20, 20, 2, 20]), _ragged([20, 20], "b")])
    assert moe.common_last_epoch(one_early) == 2 and moe.horizon(one_early) == 20
    stopped = moe.stopped_before(one_early, 20)
    assert stopped.values.tolist() == [["a", "a2", 2]]
    text = moe.stopped_warning(stopped, 20, {"a": "Alpha"}, {"a2": "alpha-s2"})
    assert text.startswith("1 run stopped before epoch 20")
    assert "a2 'alpha-s2' (Alpha, last epoch 2)" in text and "do not cut it for the other" in text
    assert moe.stopped_warning(moe.stopped_before(same, 20), 20, {}, {}) is None
    # half a type stopped early: the comparison stops where that type thins out
    half = pd.concat([_ragged([20, 20, 5, 5, 5]), _ragged([20, 20], "b")])
    assert moe.horizon(half) == 5
    # a type of a single run does not set the horizon of the types that can be compared
    single = pd.concat([_ragged([20, 20]), _ragged([3], "b")])
    assert moe.horizon(single) == 20
    assert moe.horizon(_ragged([7])) == 7


def test_mean_curves_stop_where_the_type_thins_out():
    wide = _ragged([10, 10, 10, 3])  # runs_needed(4) = 2: the mean goes on while 2 runs do
    wide.loc[wide["run"] == "a1", "accuracy"] += 0.1
    points = moe.curve_points(wide, "accuracy").set_index("epoch")
    assert points["runs"].tolist() == [4, 4, 4] + [3] * 7
    assert points["drawn"].all()
    thin = moe.curve_points(_ragged([10, 4, 3]), "accuracy").set_index("epoch")
    assert thin["runs"].tolist() == [3, 3, 3, 2] + [1] * 6
    assert thin["drawn"].tolist() == [True] * 4 + [False] * 6  # one run is not the type's mean
    left_out = moe.curve_points(wide, "accuracy", leave_out={"a1"}).set_index("epoch")
    assert left_out.loc[1, "runs"] == 3 and left_out.loc[1, "max"] == pytest.approx(0.51)


def test_diverged_runs_are_found_and_named():
    wide = _ragged([4, 4, 4, 4])
    wide["loss"] = 1.0 - 0.1 * wide["epoch"]
    wide.loc[(wide["run"] == "a2") & (wide["epoch"] >= 3), "loss"] = 16726.0
    far = moe.diverged(wide)
    assert far.to_dict("records") == [
        {
            "method": "a",
            "run": "a2",
            "metric": "loss",
            "epoch": 3,
            "value": 16726.0,
            "median": pytest.approx(0.7),
            "epochs": 2,
        }
    ]
    (text,) = moe.diverged_warnings(far, {"a": "Alpha"}, {"a2": "alpha-s2"}, {"loss": "loss"})
    assert text.startswith("Run a2 'alpha-s2' (Alpha) diverged: loss 16,726 at epoch 3")
    assert "more than 10× that epoch's median over all runs (0.7; 2 epochs so far out)" in text
    # two runs at an epoch have no median to be far from; a bounded accuracy is not looked at
    assert moe.diverged(wide[wide["run"].isin(["a0", "a2"])]).empty
    assert moe.diverged(wide, metrics=["accuracy"]).empty


def test_curves_of_unequal_runs_stop_and_say_so(paper):
    wide = pd.concat([_ragged([6, 2, 1]), _ragged([6, 6], "b")])
    wide["loss"] = 1.0
    fig = moe_plots.accuracy_loss_curves(wide, ["a", "b"], NAMES, COLORS, 1.0)
    left = fig.axes[0]
    assert left.lines[0].get_xdata().tolist() == [1, 2]  # a: 3 runs, then 2, then 1 (not drawn)
    assert left.lines[1].get_xdata().tolist() == list(range(1, 7))
    assert fig.legends[0].get_title().get_text() == (
        "Mean over runs per MoE type, drawn while at least half its runs go on (band: min–max "
        "over runs; 2–3 runs a point)"
    )
    assert figures.check(fig) == []


def test_a_single_logged_epoch_is_drawn_with_markers(paper):
    wide = pd.concat([_ragged([1, 1]), _ragged([1, 1], "b")]).assign(loss=1.0, memory=100.0)
    fig = moe_plots.accuracy_loss_curves(wide, ["a", "b"], NAMES, COLORS, 0.3)
    left = fig.axes[0]
    dots = [line for line in left.lines if line.get_marker() == "o"]
    assert len(dots) == 2 and all(len(d.get_xdata()) == 1 for d in dots)
    grid = moe_plots.runs_by_type(wide, "memory", ["a", "b"], NAMES, COLORS, "Memory (MB)")
    panel = grid.axes[0]
    assert [line.get_marker() for line in panel.lines] == [".", "o"]  # the runs, the mean
    assert figures.check(fig) == [] and figures.check(grid) == []


def test_a_diverged_run_leaves_the_axes_to_the_others(paper):
    wide = pd.concat([_ragged([4, 4, 4]), _ragged([4, 4, 4], "b", 3)])
    wide["loss"] = 1.0 - 0.1 * wide["epoch"]
    wide["memory"] = 100.0 + wide["epoch"]
    wide.loc[wide["run"] == "b4", ["loss", "memory"]] = 16726.0
    far = moe.diverged(wide)
    assert far["run"].unique().tolist() == ["b4"]
    leave_out = far.groupby("metric")["run"].agg(set).to_dict()
    fig = moe_plots.accuracy_loss_curves(wide, ["a", "b"], NAMES, COLORS, 0.3, leave_out)
    assert fig.axes[1].get_ylim()[1] < 2  # the loss panel shows the other runs
    assert fig.legends[0].get_title().get_text().endswith("; diverged, left out: b4)")
    grid = moe_plots.runs_by_type(
        wide, "memory", ["a", "b"], NAMES, COLORS, "Memory (MB)", leave_out=leave_out["memory"]
    )
    assert grid.axes[0].get_ylim()[1] < 200
    assert grid.legends[0].get_title().get_text() == (
        "diverged, out of the mean and the axis range: b4"
    )


def test_a_metric_is_named_by_its_label_or_its_key_never_accuracy_for_something_else():
    seed = {"accuracy": "accuracy[subset:val]", "loss": "loss[subset:val]"}
    assert moe.metric_names(seed, {}, seed) == moe.SEED_NAMES
    iou = {"accuracy": "val/iou", "loss": "val/dice_loss"}
    assert moe.metric_names(iou, {}, seed) == {"accuracy": "val/iou", "loss": "val/dice_loss"}
    named = moe.metric_names(iou, {"accuracy": "mean IoU"}, seed)
    assert named == {"accuracy": "mean IoU", "loss": "val/dice_loss"}
    with pytest.raises(InputError, match=r"metric_labels: no field \['acc'\]"):
        moe.metric_names(iou, {"acc": "x"}, seed)
    assert (moe.capital("validation accuracy"), moe.capital("accuracy")) == (
        "Validation accuracy",
        "Accuracy",
    )
    assert moe.capital("val/iou") == "val/iou" and moe.short_name("val/iou") == "val/iou"
    # tables: columns named by the key; findings: sentences too
    wide = _wide()
    shown = moe.display_summary(moe.summary(wide, ["method"]), NAMES, named)
    assert {"mean IoU mean", "mean IoU min", "val/dice_loss max"} <= set(shown.columns)
    assert not [c for c in shown.columns if "ccuracy" in c or "Loss" in c]
    assert list(moe.summary_intervals(shown, accuracy="mean IoU"))[0] == (
        "mean IoU over run-epochs: mean [min, max]"
    )
    scores = {"A": _scores([0.80, 0.81, 0.82]), "B": _scores([0.60, 0.61, 0.62])}
    items = moe.findings(
        scores,
        _estimates({t: (0.7, 0.69, 0.71) for t in scores}),
        _costs(A=(2e8, 40, 1500), B=(1e8, 30, 1200)),
        RELATION,
        dataset="toy",
        epochs=2,
        correlation_epoch=2,
        cost_epoch=2,
        metric="mean IoU",
    )
    for f in items:
        assert "accuracy" not in f.text, f.text
    assert items[0].text.startswith("A has the highest mean mean IoU on toy")
    assert "pooled over types, mean IoU and the evenness" in items[2].text


def test_figures_name_the_metric_by_its_label(paper):
    wide = _wide()
    names = {"accuracy": "val/iou", "loss": "val/dice_loss"}
    fig = moe_plots.accuracy_loss_curves(wide, ["a", "b"], NAMES, COLORS, 0.3, metrics=names)
    assert [(ax.get_title(), ax.get_ylabel()) for ax in fig.axes] == [
        ("val/iou (EMA)", "val/iou"),
        ("val/dice_loss (EMA)", "val/dice_loss"),
    ]
    final = moe.hardware_table(wide, 3)
    fig = moe_plots.hardware_usage(final, ["a", "b"], NAMES, COLORS, 3, accuracy="val/iou")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][-1] == "val/iou"


def test_the_interval_figure_draws_the_interval_over_runs_through_the_mean(paper):
    scores = {"A": _scores([0.80, 0.81, 0.82]), "B": _scores([0.60, 0.61]), "C": _scores([0.5])}
    two = {t: s for t, s in scores.items() if len(s) > 1}  # a bootstrap needs 2 runs
    points, intervals = stats.interval_estimates(two, ["median", "mean"], reps=200, seed=0)
    estimates = stats.estimates_frame(points, intervals, ["median", "mean"])
    over = moe.run_intervals(moe.run_values(scores))
    colors = {"A": "r", "B": "g", "C": "b"}
    axes = moe_plots.interval_estimates(estimates, over, colors, {"mean": "Mean accuracy"})
    median, mean = axes
    assert not median.collections  # the interval over runs is drawn in the mean's panel only
    lines = [c for c in mean.collections if c.get_segments()]
    spans = sorted([s[0][1], s[0][0], s[1][0]] for c in lines for s in c.get_segments())
    a_lo, a_hi = over.set_index("method").loc["A", ["lower", "upper"]]
    b_lo, b_hi = over.set_index("method").loc["B", ["lower", "upper"]]
    assert len(spans) == 2  # C (one run) is not in the figure
    assert spans[0] == pytest.approx([0, a_lo, a_hi]) and spans[1] == pytest.approx([1, b_lo, b_hi])
    assert mean.get_xlim()[0] < b_lo and mean.get_xlim()[1] > a_hi
    assert figures.check(axes[0].figure) == []


def test_a_diverged_run_is_off_the_hardware_axes(paper):
    wide = pd.concat([_ragged([3, 3, 3]), _ragged([3, 3, 3], "b", 3)])
    wide = wide.assign(macs=1e8, cpu_time=10.0 + wide["epoch"], memory=100.0 + wide["epoch"])
    wide.loc[wide["run"] == "b4", "memory"] = 16726.0
    final = moe.hardware_table(wide, 3)
    fig = moe_plots.hardware_usage(final, ["a", "b"], NAMES, COLORS, 3, leave_out={"b4"})
    panel_b = fig.axes[1]
    labels = [t.get_text() for t in panel_b.texts]
    assert "103" in labels and "16726" not in labels  # the memory axis spans the other runs
    assert fig.legends[0].get_title().get_text().endswith("; diverged, off the axes: b4")
    mean = panel_b.lines[0].get_ydata()
    assert mean[1] == pytest.approx(0.5)  # b's mean memory over its other runs: 103 of 103
