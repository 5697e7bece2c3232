"""Credit assignment on runs of every shape and on layers true by construction: the functions that
decide what the report says (a layer where every method equals BP by construction left out of
the layer claims, the split and metric named from the keys, one method, runs of unequal length,
a store logging only the test metric, float32 rounding at a bound)."""

import numpy as np
import pandas as pd
import pytest

from labbook.analyses import credit_assignment as credit
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.runner.tracker_examples import credit_assignment as example
from labbook.sources import credit_assignment as source
from labbook.sources import credit_assignment_trackers as trackers_source
from labbook.sources import fields
from labbook.sources.trackers import TrackerData
from tests.test_credit_assignment import _write_seeds

NAMES = {"bp": "BP", "fa": "FA", "dfa": "DFA"}


def _cosine(readout: float = 1.0) -> pd.DataFrame:
    """bp_cosine rows of 3 methods x 2 seeds x 4 layers; layer 3 is a readout every method trains
    as BP does (cosine *readout*); BP is 1 everywhere."""
    hidden = {"bp": [1.0, 1.0, 1.0], "fa": [0.25, 0.45, 0.55], "dfa": [0.41, 0.62, 0.70]}
    rows = []
    for seed, shift in (("1", 0.0), ("2", 0.02)):
        for method, values in hidden.items():
            per_layer = [v if method == "bp" else v + shift for v in values]
            for layer, v in enumerate([*per_layer, readout]):
                rows.append((seed, method, layer, v))
    return pd.DataFrame(rows, columns=["seed", "method", "layer", "value"])


# ---------------------------------------------------------------- layers equal by construction


def test_a_layer_where_every_method_equals_bp_is_found_from_the_data():
    assert credit.exact_layers(_cosine()) == [3]
    # float32 logging: 1 within a rounding step is still 1
    assert credit.exact_layers(_cosine(readout=float(np.float32(1 - 6e-8)))) == [3]
    assert credit.exact_layers(_cosine(readout=0.999)) == []
    one_method = _cosine()[lambda d: d["method"] == "bp"]
    assert credit.exact_layers(one_method) == []  # BP alone: nothing is equal "by construction"
    assert credit.exact_layers(_cosine().iloc[:0]) == []


def test_the_layer_claims_and_means_leave_the_exact_layer_out():
    cosine = _cosine()
    profile = credit.layer_profile(cosine, "layer")
    f = {
        x.key: x
        for x in credit.credit_layer_findings(
            cosine, profile, NAMES, "bp", "mean over 2 seeds", 0.95, exact=[3]
        )
    }
    # hidden layers only: DFA 0.41, 0.62, 0.70 (+0.02 in seed 2): mean 0.5867 and 0.6067
    assert f["credit_layers"].values["mean"] == pytest.approx((0.5767 + 0.5967) / 2, abs=1e-3)
    assert f["credit_layers"].values["best"] == "DFA"
    assert f["credit_layers"].values["exact_layers"] == [3]
    dfa = f["credit_layers_dfa"]
    assert dfa.values["layers"] == [0, 1, 2] and dfa.values["top"] == 2
    assert dfa.values["exact_layers"] == [3]
    assert "layer 3 left out" in dfa.text and "highest in layer 2" in dfa.text
    # without the exclusion the readout is "highest" and lifts the mean (the reviewer's mark)
    plain = {
        x.key: x for x in credit.credit_layer_findings(cosine, profile, NAMES, "bp", "mean", 0.95)
    }
    assert plain["credit_layers_dfa"].values["top"] == 3
    assert plain["credit_layers"].values["mean"] > f["credit_layers"].values["mean"] + 0.09


def test_every_layer_exact_gives_a_sentence_and_no_ranking():
    cosine = _cosine()
    cosine = cosine[cosine["layer"] == 3]
    profile = credit.layer_profile(cosine, "layer")
    (only,) = credit.credit_layer_findings(cosine, profile, NAMES, "bp", "", 0.95, exact=[3])
    assert only.key == "credit_layers" and only.verdict is None
    assert only.values["exact_layers"] == [3]
    assert "equal to BP by construction" in only.text


def test_the_exact_layer_note_names_the_layers_and_the_tolerance():
    text = credit.exact_layers_note([3], "BP")
    assert text.startswith("Layer 3: every method's cosine with the BP gradient is 1")
    assert "by construction" in text and "leave it out of the best and worst layers" in text
    assert credit.exact_layers_note([2, 3], "BP").startswith("Layers 2 and 3:")


# ---------------------------------------------------------------- names from the keys


@pytest.mark.parametrize(
    "key, label, want",
    [
        ("test_acc", None, "test accuracy"),
        ("train_acc", None, "train accuracy"),
        ("val/accuracy", None, "validation accuracy"),
        ("valid_acc", None, "validation accuracy"),
        ("val/iou", None, "`val/iou`"),
        ("val/iou", "IoU", "validation IoU"),
        ("acc", None, "accuracy (`acc`)"),
        ("score", "IoU", "IoU (`score`)"),
    ],
)
def test_a_metric_is_named_by_its_key_or_its_label(key, label, want):
    assert credit.metric_name(key, label) == want


def test_the_split_is_the_one_the_key_names():
    assert credit.split_of("test_acc") == "test"
    assert credit.split_of("eval/val_accuracy") == "validation"
    assert credit.split_of("accuracy") is None


# ---------------------------------------------------------------- one method, several seeds


def _log(train, test):
    return {"log": {"train_acc": train, "test_acc": test}}


def test_one_method_with_several_seeds_compares_nothing_and_does_not_fail(tmp_path):
    docs = {s: {"bp": _log([0.5, 0.6], [0.4, 0.5 + s / 100])} for s in (1, 2, 3)}
    r = source.load(_write_seeds(tmp_path, docs))
    final = credit.final_scores(r)
    assert not credit.can_compare(final)
    found = {
        f.key: f
        for f in credit.findings(
            final,
            {"bp": "BP"},
            "bp",
            pd.DataFrame(columns=["seed", "method", "layer", "value"]),
            pd.DataFrame(columns=["method", "layer", "value", "std", "seeds"]),
            "mean",
            {},
            0.95,
        )
    }
    assert found["ranking"].verdict == "only_one"
    assert not [k for k in found if k.startswith("margin_")]
    assert credit.can_compare({"a": final["bp"], "b": final["bp"]})


# ---------------------------------------------------------------- runs of unequal length


UNEQUAL = {
    1: {"bp": _log([0.5, 0.6, 0.65], [0.4, 0.5, 0.9]), "dfa": _log([0.4, 0.5], [0.3, 0.4])},
    2: {"bp": _log([0.5, 0.7], [0.4, 0.6]), "dfa": _log([0.4, 0.4], [0.3, 0.3])},
}


def test_each_run_ends_at_its_own_last_epoch(tmp_path):
    r = source.load(_write_seeds(tmp_path, UNEQUAL))
    assert credit.final_scores(r)["bp"][:, 0].tolist() == [0.9, 0.6]  # seed 1's epoch 3
    assert {m: v.tolist() for m, v in credit.last_epochs(r).items()} == {
        "bp": [3, 2],
        "dfa": [2, 2],
    }
    (note,) = [n for n in r.notes if "different lengths" in n]
    assert "seed 1: 3" in note and "last logged epoch" in note
    assert "first 2 epochs" not in note
    assert credit.horizon(credit.last_epochs(r), "epoch") == "at each seed's last epoch (2–3)"
    equal = {"bp": np.array([30, 30]), "dfa": np.array([30])}
    assert credit.horizon(equal, "epoch") == "after 30 epochs"
    assert credit.horizon({"bp": np.array([500, 800])}, "step") == (
        "at each seed's last step (500–800)"
    )


def test_mean_curves_stop_where_a_seed_stops_and_the_longer_seeds_go_on(tmp_path):
    r = source.load(_write_seeds(tmp_path, UNEQUAL))
    bands = credit.curve_bands(r, "test_acc", "ci", 0.95)
    bp = bands[bands["method"] == "bp"]
    assert bp["epoch"].tolist() == [1, 2] and bp["seeds"].tolist() == [2, 2]
    tails = credit.curve_tails(r, "test_acc")
    assert tails[["method", "seed", "epoch", "value"]].values.tolist() == [
        ["bp", "1", 2, 0.5],
        ["bp", "1", 3, 0.9],
    ]
    equal = source.load(_write_seeds(tmp_path, {1: UNEQUAL[2], 2: UNEQUAL[2]}))
    assert credit.curve_tails(equal, "test_acc").empty


# ---------------------------------------------------------------- tracker stores of other shapes


def _store(runs: list[tuple[str, str, dict]]) -> TrackerData:
    """A TrackerData of runs (name, method, seed) -> {key: [(step, value), ...]}."""
    rows, scalars = [], []
    for i, (name, method, seed, series) in enumerate(runs):
        rows.append(
            {
                "run": f"id{i}",
                "name": name,
                "status": "finished",
                "hparam:method": method,
                "hparam:seed": float(seed),
            }
        )
        for key, points in series.items():
            scalars += [(f"id{i}", key, s, v, 0.0) for s, v in points]
    return TrackerData(
        "tensorboard",
        "store",
        pd.DataFrame(rows),
        pd.DataFrame(scalars, columns=["run", "key", "step", "value", "wall_time"]),
        [],
    )


def test_a_store_logging_only_the_test_metric_reads_with_the_train_key_off():
    data = _store(
        [
            ("a", "bp", 1, {"val/acc": [(100, 0.5), (200, 0.6)]}),
            ("b", "bp", 2, {"val/acc": [(100, 0.55), (200, 0.65)]}),
        ]
    )
    keys = dict(
        train_acc_key=None,
        test_acc_key="val/acc",
        state_error_key=None,
        cosine_key=None,
        rho_key=None,
        nudging_key=None,
        drift_key=None,
    )
    r = trackers_source.from_tracker(data, **keys)
    assert set(r.curves["metric"]) == {"test_acc"}
    assert r.curves["step"].tolist() == [100, 200, 100, 200] and r.unit == "step"
    assert r.diagnostics.empty and r.drift.empty
    with pytest.raises(InputError, match="train_acc_key"):
        trackers_source.from_tracker(data, test_acc_key="val/acc")  # train key on, not logged


def test_a_cosine_one_float32_step_above_1_is_clipped_and_said():
    values, clipped = fields.clip_rounding(np.array([0.5, 1.0000001, 1.0]), -1, 1)
    assert values.tolist() == [0.5, 1.0, 1.0] and clipped == 1
    values, clipped = fields.clip_rounding(np.array([1.001]), -1, 1)
    assert values.tolist() == [1.001] and clipped == 0  # beyond rounding: left for the check
    data = _store(
        [
            (
                "a",
                "bp",
                1,
                {
                    "train_acc": [(1, 0.5)],
                    "test_acc": [(1, 1.0000001)],
                    "diag/0/bp_cosine": [(1, 1.0000001)],
                },
            ),
        ]
    )
    r = trackers_source.from_tracker(data)
    assert r.curves["value"].max() == 1.0
    assert r.diagnostics["value"].tolist() == [1.0]
    assert any("float32 rounding" in n and "clipped" in n for n in r.notes)


# ---------------------------------------------------------------- the simulated examples


def test_the_simulated_bp_cosine_is_1_by_definition():
    docs = example.simulated(examples.credit_assignment)
    for methods in docs.values():
        assert set(methods["bp"]["diagnostics"]["bp_cosine"]) == {1.0}
        assert max(methods["dfa"]["diagnostics"]["bp_cosine"]) < 1
    mnist = example.simulated(examples.credit_assignment, "mnist")
    assert all(set(m["bp"]["diagnostics"]["bp_cosine"]) == {1.0} for m in mnist.values())


def test_the_curves_figure_without_train_curves_says_so_and_labels_the_test_axis(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from labbook.plots import credit_assignment as draw

    r = source.load(_write_seeds(tmp_path, UNEQUAL))
    test = credit.curve_bands(r, "test_acc", "ci", 0.95)
    empty = credit.curve_bands(r, "no_such_metric", "ci", 0.95)
    tails = (credit.curve_tails(r, "no_such_metric"), credit.curve_tails(r, "test_acc"))
    colors = {"bp": "#000000", "dfa": "#ff0000"}
    fig = draw.accuracy_curves(
        empty, test, {"bp": "BP", "dfa": "DFA"}, colors, "t", tails=tails, missing="not logged"
    )
    left, right = fig.axes
    assert left.texts[0].get_text() == "not logged" and not left.axison
    assert right.get_ylabel() == "Accuracy (%)"
    assert any(t.get_visible() and t.get_text() for t in right.get_yticklabels())
    # the seed that ran on is a thin line from epoch 2 to 3 in BP's colour
    thin = [line for line in right.lines if line.get_linewidth() < 1]
    assert [line.get_xdata().tolist() for line in thin] == [[2, 3]]
