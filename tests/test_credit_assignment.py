"""Credit assignment: the per-seed loader (good and bad input), curve bands, final scores,
layer profiles, the state-vs-credit check, the findings on hand-made tables (separated, not
separated, one seed, ties) and the figure builders."""

import copy
import hashlib
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from labbook import figures, stats, style
from labbook.analyses import credit_assignment as credit
from labbook.inputs import InputError
from labbook.plots import credit_assignment as draw
from labbook.runner import examples
from labbook.sources import METRICS_COLUMNS
from labbook.sources import credit_assignment as source


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("credit")
    examples.credit_assignment(out)
    return out


def _files(data, dataset="cifar10", seeds=(42, 123, 456)):
    return {s: data / dataset / f"seed{s}" / f"results_{dataset}.json" for s in seeds}


def _result(train, test, **extra):
    return {"log": {"train_acc": train, "test_acc": test}, **extra}


def _write_seeds(tmp_path, docs: dict) -> dict:
    files = {}
    for seed, methods in docs.items():
        p = tmp_path / f"seed{seed}.json"
        p.write_text(json.dumps({str(seed): methods}))
        files[seed] = p
    return files


TWO = {
    1: {"bp": _result([0.5, 0.6], [0.4, 0.5]), "dfa": _result([0.4, 0.5], [0.3, 0.4])},
    2: {"bp": _result([0.5, 0.7], [0.4, 0.6]), "dfa": _result([0.4, 0.4], [0.3, 0.3])},
}


def test_load_example_cifar10(data):
    r = source.load(_files(data))
    assert r.seeds == ["42", "123", "456"] and r.methods == [
        "bp",
        "dfa",
        "state_bridge",
        "credit_bridge",
    ]
    assert r.notes == [] and r.epochs() == 100
    assert sorted(r.drift["block"].unique()) == list(range(12))
    assert set(r.diagnostics["eta"].dropna()) == {"0.001", "0.01", "0.1"}
    sp = r.curves[r.curves["metric"] == "state_pred_error"]
    assert set(sp["method"]) == {"state_bridge", "credit_bridge"}
    table = r.metrics_table("cifar10")
    assert list(table.columns) == METRICS_COLUMNS
    assert set(table["subset"]) == {"train", "test"} and set(table["metric"]) == {
        "accuracy",
        "state_pred_error",
    }


def test_variant_with_other_seeds_methods_blocks(data):
    r = source.load(_files(data, "mnist", (1, 2, 3, 4)), drift_pattern="layers.{i}.fc.weight")
    assert r.seeds == ["1", "2", "3", "4"] and r.methods == ["bp", "dfa", "state_bridge"]
    assert r.epochs() == 30 and sorted(r.drift["block"].unique()) == list(range(6))
    default_pattern = source.load(_files(data, "mnist", (1, 2, 3, 4)))
    assert (
        default_pattern.drift.empty and "do not match the block pattern" in default_pattern.notes[0]
    )


def test_methods_parameter_selects_and_orders(data):
    r = source.load(_files(data), methods=["credit_bridge", "bp"])
    assert r.methods == ["credit_bridge", "bp"] and set(r.curves["method"]) == {
        "credit_bridge",
        "bp",
    }


def test_missing_seed_file_and_seed_key(data, tmp_path):
    files = _files(data)
    files[7] = tmp_path / "nowhere.json"
    with pytest.raises(InputError, match="nowhere.json: file not found"):
        source.load(files)
    with pytest.raises(
        InputError,
        match=r"seed42/results_cifar10.json: no results for seed '99' \(top-level keys: '42'\)",
    ):
        source.load({99: _files(data)[42]})


def test_method_missing_from_one_seed_is_kept_with_a_note(tmp_path):
    docs = copy.deepcopy(TWO)
    del docs[2]["dfa"]
    r = source.load(_write_seeds(tmp_path, docs))
    assert r.methods == ["bp", "dfa"]
    assert set(r.curves.loc[r.curves["method"] == "dfa", "seed"]) == {"1"}
    assert any(
        "'dfa' is missing from seed(s) 2" in n and "seed2.json" in n and "use 1 seed(s)" in n
        for n in r.notes
    )
    scores = credit.final_scores(r)
    assert scores["dfa"].shape == (1, 1) and scores["bp"].shape == (2, 1)
    with pytest.raises(InputError, match="method 'ff' is in none of the seed files"):
        source.load(_write_seeds(tmp_path, TWO), methods=["bp", "ff"])


def test_logs_of_different_lengths_across_seeds_are_truncated_with_a_note(tmp_path):
    docs = copy.deepcopy(TWO)
    docs[1]["bp"] = _result([0.5, 0.6, 0.65], [0.4, 0.5, 0.9])
    r = source.load(_write_seeds(tmp_path, docs))
    assert any(
        "'bp' has logs of different lengths" in n and "seed 1: 3" in n and "first 2 epochs" in n
        for n in r.notes
    )
    assert credit.final_scores(r)["bp"][:, 0].tolist() == [
        0.5,
        0.6,
    ]  # epoch 2 of both seeds, not seed 1's 0.9


@pytest.mark.parametrize(
    "result, message",
    [
        (
            {"log": {"train_acc": [0.5, 0.6], "test_acc": [0.4]}},
            r"field '1.bp.log' has lists of different lengths",
        ),
        ({"log": {"train_acc": [0.5, 0.6]}}, r"field '1.bp.log.test_acc' is missing"),
        (
            {"log": {"train_acc": [50, 60], "test_acc": [40, 50]}},
            r"'1.bp.log.train_acc'\[0\] = 50.0 is not a fraction.*percentages",
        ),
        (
            {"log": {"train_acc": [0.5, None], "test_acc": [0.4, 0.5]}},
            r"field '1.bp.log.train_acc'\[1\] must be a finite number",
        ),
        ({"train_acc": [0.5]}, r"field '1.bp.log' must be an object"),
        (
            {"log": {"train_acc": [0.5], "test_acc": [0.4]}, "diagnostics": {"nudging": [1, 2]}},
            r"'1.bp.diagnostics.nudging' must be an object",
        ),
        (
            {
                "log": {"train_acc": [0.5], "test_acc": [0.4]},
                "drift": {"blocks.0.w1.weight": "big"},
            },
            r"'blocks.0.w1.weight' must be a finite number",
        ),
        (
            {"log": {"train_acc": [0.5], "test_acc": [-0.4]}},
            r"'1.bp.log.test_acc'\[0\] = -0.4 is not a fraction",
        ),
        (
            {"log": {"train_acc": [0.5], "test_acc": [0.4], "state_pred_error": [-1e-3]}},
            r"'1.bp.log.state_pred_error'\[0\] = -0.001 is outside its domain",
        ),
        (
            {
                "log": {"train_acc": [0.5], "test_acc": [0.4]},
                "diagnostics": {"bp_cosine": [0.5, 1.7]},
            },
            r"'1.bp.diagnostics.bp_cosine'\[1\] = 1.7 is outside its domain \(a cosine",
        ),
        (
            {"log": {"train_acc": [0.5], "test_acc": [0.4]}, "drift": {"blocks.0.w1.weight": -0.2}},
            r"'1.bp.drift.blocks.0.w1.weight'\[0\] = -0.2 is outside its domain",
        ),
        (
            {"log": {"train_acc": [], "test_acc": []}},
            r"'1.bp.log.train_acc' must be a non-empty list",
        ),
        (
            {
                "log": {"train_acc": [0.5], "test_acc": [0.4]},
                "diagnostics": {"perturbation_rho": "x"},
            },
            r"'1.bp.diagnostics.perturbation_rho' must be a non-empty list",
        ),
    ],
)
def test_bad_input_names_file_and_field(tmp_path, result, message):
    files = _write_seeds(tmp_path, {1: {"bp": result}})
    before = hashlib.sha256(files[1].read_bytes()).hexdigest()
    with pytest.raises(InputError, match=message) as err:
        source.load(files)
    assert str(files[1]) in str(err.value)
    assert hashlib.sha256(files[1].read_bytes()).hexdigest() == before  # input untouched


def test_absent_diagnostics_are_noted(tmp_path):
    docs = copy.deepcopy(TWO)
    docs[1]["bp"]["diagnostics"] = {"bp_cosine": [1.0, 0.9], "nudging": {"0.01": [-0.1, -0.2]}}
    r = source.load(_write_seeds(tmp_path, docs))
    assert (
        "Diagnostic 'perturbation_rho' is not recorded for method 'bp' in seed(s) 1: left out of "
        "that panel." in r.notes
    )
    assert (
        "Method 'bp' records no diagnostics in seed(s) 2: left out of the per-layer panels."
        in r.notes
    )
    assert (
        "Method 'dfa' records no diagnostics in seed(s) 1, 2: left out of the per-layer panels."
        in r.notes
    )
    assert credit.diagnostic(r, "nudging", "0.01")["value"].tolist() == [-0.1, -0.2]
    assert credit.diagnostic(r, "nudging", "0.1").empty


def test_drift_pattern_reads_blocks_from_data(tmp_path):
    docs = {
        1: {
            "bp": _result(
                [0.5],
                [0.4],
                drift={
                    "blocks.0.w1.weight": 0.3,
                    "blocks.10.w1.weight": 0.1,
                    "blocks.0.w2.weight": 0.5,
                    "head.weight": 0.2,
                },
            )
        }
    }
    r = source.load(_write_seeds(tmp_path, docs))
    assert sorted(r.drift["block"]) == [0, 10]
    assert any("2 drift key(s) do not match" in n and "'blocks.0.w2.weight'" in n for n in r.notes)
    with pytest.raises(ValueError, match="exactly once"):
        source.block_regex("blocks.w1")


def test_curve_band_std_and_ci():
    curves = np.array([[0.1, 0.5, 0.9], [0.3, 0.5, 0.7], [0.2, 0.8, 0.8]])
    mean, lo, hi = stats.curve_band(curves, "std")
    sd = curves.std(0, ddof=1)  # the sample standard deviation, as everywhere in the reports
    assert (
        np.allclose(mean, curves.mean(0))
        and np.allclose(hi - mean, sd)
        and np.allclose(mean - lo, sd)
    )
    m, lo, hi = stats.curve_band(curves, "ci", confidence=0.95)
    for j in range(3):  # the t-interval of the mean at every point
        assert (m[j], lo[j], hi[j]) == pytest.approx(stats.mean_ci(curves[:, j], 0.95))
    one = stats.curve_band(curves[:1], "ci")
    assert np.array_equal(one[1], one[2])
    with pytest.raises(ValueError, match="band must be"):
        stats.curve_band(curves, "sem")


def test_final_table_and_bands(tmp_path):
    r = source.load(_write_seeds(tmp_path, TWO))
    table = credit.final_table(credit.final_scores(r), {"bp": "BP"}, confidence=0.95)
    assert table["method"].tolist() == ["bp", "dfa"] and table["label"].tolist() == ["BP", "dfa"]
    assert table.loc[0, "mean"] == pytest.approx(0.55)
    assert table.loc[0, "std"] == pytest.approx(
        np.std([0.5, 0.6], ddof=1)
    )  # sample std (ddof 1), not ddof 0
    assert (
        table.loc[1, "mean"] == pytest.approx(0.35)
        and (table.loc[1, ["min", "max"]] == [0.3, 0.4]).all()
    )
    bands = credit.curve_bands(r, "test_acc", "std", 0.95)
    bp = bands[bands["method"] == "bp"]
    assert bp["mean"].tolist() == pytest.approx([0.4, 0.55])
    assert bp["upper"].tolist() == pytest.approx([0.4, 0.55 + np.std([0.5, 0.6], ddof=1)])
    assert credit.curve_bands(r, "train_acc", "ci", 0.95)["seeds"].eq(2).all()


def test_state_vs_credit_only_when_true():
    means = {"dfa": 0.45, "state_bridge": 0.37, "credit_bridge": 0.52}
    hit = credit.state_vs_credit(means, {"state_bridge": 2e-5, "credit_bridge": 3e-2})
    assert hit == {
        "method": "state_bridge",
        "pred_error": 2e-5,
        "accuracy": 0.37,
        "next_worst": "dfa",
        "next_worst_accuracy": 0.45,
    }
    assert (
        credit.state_vs_credit({**means, "state_bridge": 0.47}, {"state_bridge": 2e-5}) is None
    )  # not the worst
    assert (
        credit.state_vs_credit(means, {"state_bridge": 0.5, "credit_bridge": 3e-2}) is None
    )  # not the best predictor
    assert credit.state_vs_credit(means, {}) is None
    assert credit.state_vs_credit(means, {"bp": 1e-9}) is None  # a method outside the comparison


def test_layer_profile_and_best_layers(data):
    r = source.load(_files(data))
    cos = credit.diagnostic(r, "bp_cosine")
    prof = credit.layer_profile(cos, "layer")
    sub = cos[(cos["method"] == "dfa") & (cos["layer"] == 4)]
    row = prof[(prof["method"] == "dfa") & (prof["layer"] == 4)].iloc[0]
    assert row["value"] == pytest.approx(sub["value"].mean()) and row["seeds"] == 3
    assert row["std"] == pytest.approx(sub["value"].std(ddof=1))  # sample std, the one definition
    one = credit.layer_profile(cos, "layer", seed="123")
    assert one["seeds"].eq(1).all() and len(one) == 4 * 12 and one["std"].isna().all()
    best = credit.best_layers(prof).set_index("method")
    cb = prof[prof["method"] == "credit_bridge"].set_index("layer")["value"]
    assert (
        best.loc["credit_bridge", "best"][0] == cb.idxmax()
        and best.loc["credit_bridge", "worst"] == cb.idxmin()
    )
    assert best.loc["credit_bridge", "mean"] == pytest.approx(cb.mean())


def test_two_methods_may_not_share_a_display_name():
    assert credit.display_names(["bp", "dfa"], {"bp": "BP"}) == {"bp": "BP", "dfa": "dfa"}
    assert credit.display_names(["a", "b"], {"a": "Case", "b": "case"}) == {
        "a": "Case",
        "b": "case",
    }
    with pytest.raises(
        ValueError, match=r"parameter labels: 'bp' and 'dfa' would both be shown as 'X'"
    ):
        credit.display_names(["bp", "dfa"], {"bp": "X", "dfa": "X"})


def test_seeds_read_lists_each_seeds_methods_in_order_and_its_last_epoch():
    import pandas as pd

    metrics = pd.DataFrame(
        {
            "seed": ["1", "1", "1", "2", "2"],
            "method": ["dfa", "bp", "bp", "bp", "bp"],
            "epoch": [1, 1, 2, 1, 3],
        }
    )
    out = credit.seeds_read(metrics, ["1", "2"], ["bp", "dfa"], {"bp": "BP", "dfa": "DFA"})
    assert out.to_dict("records") == [
        {"seed": "1", "methods": "BP, DFA", "epochs": 2},
        {"seed": "2", "methods": "BP", "epochs": 3},
    ]


# ---------------------------------------------------------------- findings on hand-made tables

NAMES = {"bp": "BP", "dfa": "DFA", "sb": "State Bridge", "cb": "Credit Bridge"}
NO_COSINE = pd.DataFrame(columns=["seed", "method", "layer", "value"])


def _final(**accuracies) -> dict:
    """{method: array(seeds, 1)} from per-seed final accuracies."""
    return {m: np.array(v, dtype=float)[:, None] for m, v in accuracies.items()}


def _errors(seeds: int) -> dict:
    """State Bridge predicts the state best (last epoch 2e-5), Credit Bridge worse (3e-2)."""
    return {"sb": np.tile([1e-3, 2e-5], (seeds, 1)), "cb": np.tile([1e-1, 3e-2], (seeds, 1))}


def _welch(a, b, confidence=0.95):
    """Difference of means, its Welch t-interval and two-sided p, computed here from scratch."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = scipy.stats.t.ppf(0.5 + confidence / 2, df) * np.sqrt(va + vb)
    d = a.mean() - b.mean()
    return d, d - half, d + half, scipy.stats.ttest_ind(a, b, equal_var=False).pvalue


def _holm_of_first(p_first, p_other):
    """Holm-adjusted p of the first of two tests."""
    return 2 * p_first if p_first <= p_other else max(2 * p_other, p_first)


SEPARATED = _final(
    bp=[0.60, 0.62, 0.64], dfa=[0.44, 0.45, 0.46], sb=[0.37, 0.375, 0.38], cb=[0.52, 0.53, 0.54]
)
NOT_SEPARATED = _final(
    bp=[0.60, 0.62, 0.64], dfa=[0.40, 0.50, 0.45], sb=[0.30, 0.45, 0.37], cb=[0.52, 0.53, 0.54]
)
ONE_SEED = _final(bp=[0.62], dfa=[0.45], sb=[0.375], cb=[0.53])


def _findings(final, cosine=NO_COSINE, where="mean over 3 seeds"):
    seeds = next(iter(final.values())).shape[0]
    profile = credit.layer_profile(cosine, "layer")
    items = credit.findings(final, NAMES, "bp", cosine, profile, where, _errors(seeds), 0.95)
    return {f.key: f for f in items}


def test_findings_when_the_methods_are_separated():
    f = _findings(SEPARATED)
    assert list(f) == ["ranking", "margin_dfa", "margin_sb", "margin_cb", "state_vs_credit"] + [
        "few_seeds"
    ]
    rank = f["ranking"]
    assert rank.text == (
        "BP has the highest mean final test accuracy, 62.0% (95% t-interval 57.0%–67.0%, "
        "3 seeds) and is better than every other method compared (Credit Bridge, DFA and State "
        "Bridge; Welch t-tests, Holm-corrected over 6 pairs, at α = 0.05)."
    )
    assert (rank.verdict, rank.winner) == ("separated", "BP")
    assert rank.ranking == ["BP", "Credit Bridge", "DFA", "State Bridge"]
    d, lo, hi, p = _welch([0.44, 0.45, 0.46], [0.60, 0.62, 0.64])
    margin = f["margin_dfa"]
    assert d == pytest.approx(-0.17) and margin.values["diff"] == pytest.approx(100 * d)
    assert margin.text.startswith(
        f"DFA vs. BP: -17.0 points in final test accuracy (95% Welch t-interval {100 * lo:+.1f} "
        f"to {100 * hi:+.1f}, p = {p:.2g}, "
    )
    assert margin.text.endswith("n = 3 seeds): DFA is worse.")
    assert (margin.verdict, margin.winner) == ("worse", "BP")

    # the state claim: worse than every other compared method, Holm over its two pairs
    state = f["state_vs_credit"]
    d, lo, hi, p = _welch([0.37, 0.375, 0.38], [0.44, 0.45, 0.46])
    p_cb = _welch([0.37, 0.375, 0.38], [0.52, 0.53, 0.54])[3]
    assert state.text == (
        "State Bridge predicts the network state best (final error 2.0e-05) yet has the lowest "
        "mean test accuracy of the methods compared (37.5%; next lowest DFA 45.0%), and Welch's "
        "t-tests at α = 0.05 separate it from every other method compared (against DFA: -7.5 "
        f"points, 95% Welch t-interval {100 * lo:+.1f} to {100 * hi:+.1f}, p = {p:.2g}, "
        f"Holm-corrected {_holm_of_first(p, p_cb):.2g} over 2 pairs, n = 3 seeds): predicting "
        "the state is not giving good credit."
    )
    assert (state.verdict, state.winner) == ("worse", None)
    assert state.ranking == ["Credit Bridge", "DFA", "State Bridge"]
    assert state.values["separated"] is True and state.values["pairs"] == 2
    assert state.values["diff"] == pytest.approx(-7.5)


def test_findings_when_the_methods_are_not_separated():
    f = _findings(NOT_SEPARATED)
    rank = f["ranking"]
    assert rank.verdict == "not_separated" and rank.winner is None
    assert "but it cannot be told apart from DFA (p = " in rank.text
    assert rank.text.endswith("it is better than Credit Bridge.")
    state = f["state_vs_credit"]
    d, lo, hi, p = _welch([0.30, 0.45, 0.37], [0.40, 0.50, 0.45])
    p_cb = _welch([0.30, 0.45, 0.37], [0.52, 0.53, 0.54])[3]
    assert p > 0.05  # the hand-made case: State Bridge's seeds overlap DFA's
    assert state.text == (
        "State Bridge predicts the network state best (final error 2.0e-05) yet has the lowest "
        "mean test accuracy of the methods compared (37.3%; next lowest DFA 45.0%), but at "
        "α = 0.05 it cannot be told apart from DFA and Credit Bridge at this number of seeds "
        f"(against DFA: {100 * d:+.1f} points, 95% Welch t-interval {100 * lo:+.1f} to "
        f"{100 * hi:+.1f}, p = {p:.2g}, Holm-corrected {_holm_of_first(p, p_cb):.2g} over 2 "
        "pairs, n = 3 seeds), so these data do not show that predicting the state well gives "
        "poor credit."
    )
    assert "is not giving good credit" not in state.text
    assert (state.verdict, state.winner, state.values["separated"]) == (
        "not_separated",
        None,
        False,
    )


def test_findings_with_one_seed_claim_nothing():
    f = _findings(ONE_SEED, where="one seed")
    rank = f["ranking"]
    assert rank.text == (
        "BP has the highest final test accuracy (62.0%), but every method has a single seed: "
        "with no interval and no test, this order is not evidence that one method is better."
    )
    assert (rank.verdict, rank.winner) == ("untested", None)
    assert rank.ranking == ["BP", "Credit Bridge", "DFA", "State Bridge"]
    assert all(f[f"margin_{m}"].verdict == "untested" for m in ("dfa", "sb", "cb"))
    assert all(f[f"margin_{m}"].winner is None for m in ("dfa", "sb", "cb"))
    state = f["state_vs_credit"]
    assert state.text == (
        "State Bridge predicts the network state best (final error 2.0e-05) yet has the lowest "
        "mean test accuracy of the methods compared (37.5%; next lowest DFA 45.0%), but State "
        "Bridge, DFA and Credit Bridge have a single seed: there is no interval and no test, so "
        "these data do not show that predicting the state well gives poor credit."
    )
    assert (state.verdict, state.winner) == ("untested", None)
    assert f["few_seeds"].text == (
        "With one seed per method there are no intervals and no tests: every comparison above is "
        "a first look, not evidence; train more seeds to compare the methods."
    )


def test_findings_with_tied_methods():
    tied = _final(
        bp=[0.5, 0.6, 0.7], dfa=[0.5, 0.6, 0.7], sb=[0.30, 0.31, 0.32], cb=[0.40, 0.41, 0.42]
    )
    f = _findings(tied)
    rank = f["ranking"]
    assert rank.verdict == "not_separated" and rank.winner is None
    assert "cannot be told apart from DFA (p = 1)" in rank.text
    margin = f["margin_dfa"]
    assert margin.values["diff"] == 0 and margin.values["p"] == 1
    assert (margin.verdict, margin.winner) == ("not_separated", None)
    assert margin.text.endswith("the two cannot be told apart at this number of seeds.")


def test_state_claim_only_when_the_best_predictor_has_the_lowest_accuracy():
    final = _final(bp=[0.6, 0.62], dfa=[0.3, 0.31], sb=[0.4, 0.41], cb=[0.5, 0.52])
    assert credit.state_credit_claim(final, NAMES, "bp", _errors(2), 0.95) is None
    assert "state_vs_credit" not in _findings(final)
    assert credit.state_credit_claim(SEPARATED, NAMES, "bp", {}, 0.95) is None


def test_seeds_caveat_names_the_methods_with_one_seed():
    caveat = credit.seeds_caveat(_final(bp=[0.6, 0.62], dfa=[0.3], sb=[0.4]), NAMES)
    assert caveat.text == (
        "DFA and State Bridge have one seed: no interval and no test involving them is possible, "
        "so every comparison with them above is a first look, not evidence; train more seeds to "
        "compare the methods."
    )
    assert caveat.values["n"] == 1 and caveat.verdict is None
    few = credit.seeds_caveat(_final(bp=[0.6, 0.62], dfa=[0.3, 0.31]), NAMES)
    assert few.text.startswith("These statistics rest on 2 seeds per method:")


def _cosine():
    """Two seeds, four layers: DFA's cosine 0.1-0.4, Credit Bridge's 0.5-0.8 (seed 2: +0.02)."""
    rows = []
    for seed, shift in (("1", 0.0), ("2", 0.02)):
        for method, base in (("bp", 1.0), ("dfa", 0.1), ("cb", 0.5)):
            for layer in range(4):
                value = 1.0 if method == "bp" else base + 0.1 * layer + shift
                rows.append({"seed": seed, "method": method, "layer": layer, "value": value})
    return pd.DataFrame(rows)


def test_credit_layer_findings_rank_the_mean_cosine_and_describe_each_profile():
    cosine = _cosine()
    profile = credit.layer_profile(cosine, "layer")
    out = credit.credit_layer_findings(cosine, profile, NAMES, "bp", "mean over 2 seeds", 0.95)
    f = {x.key: x for x in out}
    assert list(f) == ["credit_layers", "credit_layers_dfa", "credit_layers_cb"]
    # per-seed means over layers: Credit Bridge 0.65, 0.67 (mean 0.66, sd 0.0141, t(1) = 12.71)
    assert f["credit_layers"].text == (
        "Credit Bridge has the highest mean cosine with the BP gradient (mean over layers), 0.66 "
        "(95% t-interval 0.53–0.79, 2 seeds) and is better than every other method compared "
        "(DFA; Welch t-tests, Holm-corrected over 1 pair, at α = 0.05)."
    )
    assert (f["credit_layers"].verdict, f["credit_layers"].winner) == ("separated", "Credit Bridge")
    # four layers: "highest in the top 3" would be every layer but one, so each layer is given
    assert f["credit_layers_dfa"].text == (
        "DFA: BP cosine per layer (mean over 2 seeds): 0.11, 0.21, 0.31 and 0.41 in layers 0, 1, 2 "
        "and 3; highest in layer 3, lowest in layer 0."
    )
    assert f["credit_layers_dfa"].verdict is None
    deep = pd.concat([cosine, cosine.assign(layer=cosine["layer"] + 4, value=cosine["value"] / 2)])
    deep_profile = credit.layer_profile(deep, "layer")
    out = credit.credit_layer_findings(deep, deep_profile, NAMES, "bp", "seed 1", 0.95)
    (dfa,) = [x for x in out if x.key == "credit_layers_dfa"]
    assert dfa.text == (
        "DFA: BP cosine is highest in layers 3, 2, 1 and lowest in layer 4 (0.06 to 0.41, seed 1)."
    )
    only_reference = profile[profile["method"] == "bp"]
    assert credit.credit_layer_findings(cosine, only_reference, NAMES, "bp", "", 0.95) == []


def test_helpers_of_the_notebook_cells(tmp_path):
    assert credit.band_label("std", 3, 0.95) == "band: ± 1 sample std"
    assert credit.band_label("ci", 3, 0.9) == "band: 90% t-interval of the mean"
    assert credit.band_label("ci", 1, 0.95) == "no band (one seed)"
    assert credit.diagnostics_where(None, ["1", "2"]) == "mean over 2 seeds"
    assert credit.diagnostics_where(None, ["1"]) == "one seed"
    assert credit.diagnostics_where("2", ["1", "2"]) == "seed 2"
    with pytest.raises(ValueError, match=r"parameter diagnostics_seed='9' is not one of"):
        credit.diagnostics_where("9", ["1", "2"])
    r = source.load(_write_seeds(tmp_path, TWO))
    profiles = credit.diagnostic_profiles(r, "0.01")
    assert list(profiles) == ["bp_cosine", "perturbation_rho", "nudging"]
    assert all(p.empty for p in profiles.values())  # TWO records no diagnostics
    assert credit.state_errors(r) == {}
    errors = _errors(3)
    case = credit.state_credit_case(SEPARATED, errors, "bp")
    assert case == {
        "method": "sb",
        "pred_error": pytest.approx(2e-5),
        "accuracy": pytest.approx(0.375),
        "next_worst": "dfa",
        "next_worst_accuracy": pytest.approx(0.45),
    }


def test_interval_estimates_leave_out_aggregates_equal_to_the_mean():
    scores = {"A": np.array([[0.5], [0.6], [0.7]]), "B": np.array([[0.2], [0.3], [0.4]])}
    estimates, notes = credit.interval_estimates(scores, reps=200, confidence=0.95, seed=0)
    assert list(dict.fromkeys(estimates["metric"])) == ["mean", "optimality_gap"]
    assert [n.split(" not shown")[0] for n in notes] == ["Median", "IQM"]
    mean_a = estimates[(estimates["method"] == "A") & (estimates["metric"] == "mean")].iloc[0]
    assert mean_a["estimate"] == pytest.approx(60.0)  # percent, like the report's other accuracies
    gap_a = estimates[(estimates["method"] == "A") & (estimates["metric"] == "optimality_gap")]
    assert gap_a["estimate"].iloc[0] == pytest.approx(40.0)  # points below 100%
    wide, spec = credit.estimates_table(estimates, ["B", "A"])
    assert wide["Method"].tolist() == ["B", "A"]
    assert spec["Mean"] == ("Mean estimate", "Mean lower", "Mean upper")
    assert wide["Mean estimate"].tolist() == pytest.approx([30.0, 60.0])
    probs = {"A:B": 0.9, "B:A": 0.1}
    cis = {"A:B": np.array([0.7, 1.0]), "B:A": np.array([0.0, 0.3])}
    matrix, spec = credit.improvement_table(probs, cis, ["A", "B"])
    assert matrix["X \\ Y"].tolist() == ["A", "B"]
    assert matrix.loc[0, "B estimate"] == 0.9 and matrix.loc[1, "A upper"] == 0.3
    assert np.isnan(matrix.loc[0, "A estimate"])  # no method against itself


# ---------------------------------------------------------------- figure builders

COLORS = {"bp": "#F44336", "dfa": "#2196F3", "sb": "#FF9800", "cb": "#4CAF50"}


def _legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def test_accuracy_curves_figure(tmp_path):
    r = source.load(_write_seeds(tmp_path, TWO))
    train, test = (credit.curve_bands(r, m, "ci", 0.95) for m in ("train_acc", "test_acc"))
    with plt.rc_context(style.paper("full", ncols=2)):
        fig = draw.accuracy_curves(train, test, {"bp": "BP", "dfa": "DFA"}, COLORS, "T: 2 seeds")
        a, b = fig.axes
        assert (a.get_title(), b.get_title()) == ("Train accuracy", "Test accuracy")
        assert a.get_ylabel() == "Accuracy (%)" and b.get_xlabel() == "Epoch"
        assert len(a.lines) == len(b.lines) == 2  # one mean curve per method
        assert a.lines[0].get_ydata().tolist() == pytest.approx([50, 65])  # BP train, in %
        (legend,) = fig.legends
        assert _legend_texts(legend) == ["BP", "DFA"] and legend.get_title().get_text() == (
            "T: 2 seeds"
        )
        assert figures.check(fig) == []
    plt.close(fig)


def test_diagnostics_figure_says_which_panel_is_empty():
    rows = [("dfa", layer, 0.1 * layer) for layer in range(4)] + [
        ("cb", layer, 0.5 + 0.1 * layer) for layer in range(4)
    ]
    prof = pd.DataFrame(rows, columns=["method", "layer", "value"])
    empty = prof.iloc[:0]
    profiles = {"bp_cosine": prof, "perturbation_rho": empty, "nudging": prof}
    with plt.rc_context(style.paper("full", ncols=3, height_scale=1.45)):
        fig = draw.diagnostics(profiles, "0.01", NAMES, COLORS, "X per-layer diagnostics")
        cos, rho, nudge = fig.axes
        assert cos.get_title() == "Offline cosine with BP gradient" and len(cos.lines) == 2
        assert not rho.axison and rho.texts[0].get_text() == "no perturbation_rho recorded"
        assert nudge.get_title() == "Nudging test (η = 0.01)"
        assert nudge.get_ylabel() == "Δ loss (negative = good)"
        assert len(nudge.lines) == 3  # two methods and the zero line
        assert _legend_texts(fig.legends[0]) == ["DFA", "Credit Bridge"]
        assert figures.check(fig) == []
    plt.close(fig)


def test_feature_drift_figure():
    drift = pd.DataFrame(
        {
            "method": ["dfa"] * 3 + ["cb"] * 3,
            "block": [0, 1, 2] * 2,
            "value": [0.3, 0.2, 0.1, 0.25, 0.15, 0.1],  # early blocks move most
        }
    )
    with plt.rc_context(style.paper("full")):
        fig = draw.feature_drift(drift, NAMES, COLORS, "Feature drift per block (X, seed 1)")
        (ax,) = fig.axes
        (legend,) = fig.legends  # above the panel: no headroom over the data for a legend
        assert legend.get_title().get_text() == "Feature drift per block (X, seed 1)"
        assert ax.get_xlabel() == "Block" and ax.get_legend() is None
        assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] < 0.35 and len(ax.lines) == 2
        assert _legend_texts(legend) == ["DFA", "Credit Bridge"]
        assert figures.check(fig) == []
    plt.close(fig)


def test_state_vs_credit_figure_annotates_the_case_only_when_given():
    errors = _errors(3)
    compared = ["dfa", "sb", "cb"]
    case = credit.state_credit_case(SEPARATED, errors, "bp")
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.35)):
        fig = draw.state_vs_credit(errors, SEPARATED, compared, NAMES, COLORS, case)
        left, right = fig.axes
        assert left.get_yscale() == "log" and len(left.lines) == 6  # one line per seed, 2 methods
        assert [t.get_text() for t in right.get_xticklabels()] == [
            "DFA",
            "State Bridge",
            "Credit Bridge",
        ]
        assert [p.get_height() for p in right.patches] == pytest.approx([45, 37.5, 53])
        (note,) = [t for t in right.texts if "lowest state error" in t.get_text()]
        assert note.get_text() == "lowest state error (2.0e-05)\nbut lowest accuracy (37.5%)"
        assert _legend_texts(fig.legends[0]) == ["State Bridge", "Credit Bridge"]
        figures.plain_log_ticks(fig)  # as Report.figure does first: mathtext is off
        assert figures.check(fig) == []
        plain = draw.state_vs_credit(errors, SEPARATED, compared, NAMES, COLORS, None)
        assert not [t for t in plain.axes[1].texts if "lowest" in t.get_text()]
    plt.close("all")


def test_final_accuracy_figure():
    table = credit.final_table(SEPARATED, NAMES, 0.95)
    with plt.rc_context(style.paper("full")):
        fig = draw.final_accuracy(table, SEPARATED, COLORS, "X final test accuracy")
        (ax,) = fig.axes
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "BP",
            "Credit Bridge",
            "DFA",
            "State Bridge",
        ]
        assert not ax.patches  # dots, not bars from zero
        seeds = [line for line in ax.lines if str(line.get_gid()).startswith("seeds:")]
        means = [line for line in ax.lines if str(line.get_gid()).startswith("mean:")]
        assert sorted(seeds[0].get_ydata()) == pytest.approx([60, 62, 64])
        assert [float(line.get_ydata()[0]) for line in means] == pytest.approx([62, 53, 45, 37.5])
        assert "62.0%" in [t.get_text() for t in ax.texts]
        assert ax.get_title() == "X final test accuracy" and ax.get_ylabel() == "Test accuracy (%)"
        # the axis spans the data (lowest seed 37% .. BP's upper bound 67%), not 0..100
        low, high = ax.get_ylim()
        hi_bp = 100 * table.loc[0, "upper"]
        assert 30 < low < 37 and hi_bp < high < 75
        assert figures.check(fig) == []
    plt.close(fig)


def test_final_accuracy_figure_shows_a_one_point_spread():
    """digits-like: 94.7% to 96.5%; on a 0-100 axis this spread is a pixel, here it fills it."""
    final = _final(bp=[0.953, 0.962, 0.969, 0.965, 0.975], fa=[0.933, 0.94, 0.95, 0.951, 0.96])
    table = credit.final_table(final, {"bp": "BP", "fa": "FA"}, 0.95)
    with plt.rc_context(style.paper("full")):
        fig = draw.final_accuracy(table, final, {"bp": "#000000", "fa": "#E69F00"}, "t")
        low, high = fig.axes[0].get_ylim()
        assert 92 < low < 93.3 and 97.5 < high < 99 and high - low < 6
    plt.close(fig)


def test_final_table_percent_is_in_the_figures_unit():
    table = credit.final_table(SEPARATED, NAMES, 0.95)
    shown = credit.final_table_percent(table)
    assert shown.loc[0, ["mean", "min", "max"]].tolist() == pytest.approx([62.0, 60.0, 64.0])
    assert shown.loc[0, "std"] == pytest.approx(2.0)
    assert shown.loc[0, "upper"] == pytest.approx(100 * table.loc[0, "upper"])
    assert shown["seeds"].tolist() == table["seeds"].tolist()
    assert table.loc[0, "mean"] == pytest.approx(0.62)  # the input is left as it was


def test_interval_estimates_and_improvement_figures():
    scores = {"BP": np.array([[0.6], [0.62], [0.64]]), "DFA": np.array([[0.44], [0.45], [0.46]])}
    colors = {"BP": COLORS["bp"], "DFA": COLORS["dfa"]}
    estimates, _ = credit.interval_estimates(scores, reps=200, confidence=0.95, seed=0)
    with plt.rc_context(style.paper("full", ncols=2)):
        fig = draw.interval_estimates(estimates, colors, 3, 0.95)
        assert [ax.get_title() for ax in fig.axes] == ["Mean", "Optimality Gap"]
        assert fig.axes[0].get_xlabel() == "Mean test accuracy (%)"
        assert fig.axes[1].get_xlabel() == "100% − mean accuracy (points)"
        assert 40 < fig.axes[0].get_xlim()[0] < 45 and 64 < fig.axes[0].get_xlim()[1] < 67
        assert fig.get_suptitle() == "Interval estimates over 3 seeds (95% stratified-bootstrap CI)"
        assert figures.check(fig) == []
    probs, cis = stats.probability_of_improvement_ci(
        stats.all_pairs(scores), reps=200, confidence=0.95, seed=0
    )
    with plt.rc_context(style.paper("full")):
        fig = draw.probability_of_improvement(probs, cis, "BP", colors, 3, 0.95)
        (ax,) = fig.axes
        assert ax.get_title() == "P(BP > Y) over 3 seeds, 95% percentile-bootstrap CI"
        assert [t.get_text() for t in ax.get_yticklabels()] == ["DFA"]
        assert figures.check(fig) == []
    plt.close("all")
