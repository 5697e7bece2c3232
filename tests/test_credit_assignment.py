"""Credit assignment: the per-seed loader (good and bad input), curve bands, final scores,
layer profiles and the state-vs-credit check."""

import copy
import hashlib
import json

import numpy as np
import pytest

from labbook import stats
from labbook.analyses import credit_assignment as credit
from labbook.inputs import InputError
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
