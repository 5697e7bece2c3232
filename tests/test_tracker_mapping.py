"""Mapping a tracker's runs and scalars to an analysis' fields (labbook.sources.trackers.mapping),
on tables in the tracker layer's contract."""

import pandas as pd
import pytest

from labbook.inputs import InputError
from labbook.sources.trackers import mapping

RUNS = pd.DataFrame(
    {
        "run": ["r1", "r2", "r3"],
        "name": ["fixed_50_s0", "fixed_50_s1", "gating_s2"],
        "status": ["finished"] * 3,
        "param:method": ["bp", "dfa", None],
        "tag:dataset": ["cifar10", "cifar10", "mnist"],
        "hparam:seed": [0, 1, 2],
    }
)
SCALARS = pd.DataFrame(
    {
        "run": ["r1"] * 4 + ["r2"] * 2,
        "key": ["eval/accuracy", "diag/0/bp_cosine", "diag/1/bp_cosine", "train/loss"] * 1
        + ["eval/accuracy", "diag/0/bp_cosine"],
        "step": [1, 1, 1, 1, 1, 1],
        "value": [0.5, 0.2, 0.3, 1.5, 0.6, 0.25],
        "wall_time": [float("nan")] * 6,
    }
)


def test_attribute_by_kind_by_name_and_by_pattern():
    assert mapping.attribute(RUNS, "param:method", "method_from", "store").tolist() == [
        "bp",
        "dfa",
        None,
    ]
    assert mapping.attribute(RUNS, "dataset", "dataset_from", "store")["r3"] == "mnist"
    seeds = mapping.attribute(RUNS, r"name:_s(\d+)$", "seed_from", "store")
    assert seeds.to_dict() == {"r1": "0", "r2": "1", "r3": "2"}
    assert mapping.attribute(RUNS, "name", "x", "store")["r3"] == "gating_s2"


def test_a_missing_attribute_lists_what_the_runs_have_and_the_closest():
    with pytest.raises(InputError) as err:
        mapping.attribute(RUNS, "methd", "method_from", "runs/")
    text = str(err.value)
    assert "no run attribute `methd` (set by method_from)" in text
    assert "`param:method`" in text and "closest: `param:method`" in text
    assert text.startswith("runs/:") and "set `method_from`" in text
    with pytest.raises(InputError, match="matches no run name"):
        mapping.attribute(RUNS, r"name:lr(\d+)", "seed_from", "runs/")
    with pytest.raises(InputError, match="needs one"):
        mapping.attribute(RUNS, r"name:_s\d+", "seed_from", "runs/")


def test_series_extracts_placeholders_and_names_a_missing_key():
    cos = mapping.series(SCALARS, "diag/{layer}/bp_cosine", "keys.bp_cosine", "runs/")
    assert sorted(zip(cos["run"], cos["layer"], cos["value"])) == [
        ("r1", "0", 0.2),
        ("r1", "1", 0.3),
        ("r2", "0", 0.25),
    ]
    with pytest.raises(InputError) as err:
        mapping.series(SCALARS, "test_acc", "keys.test_acc", "runs/")
    text = str(err.value)
    assert "no scalar `test_acc`; the runs log `diag/0/bp_cosine`" in text
    assert "`eval/accuracy`" in text and "set `keys.test_acc`" in text
    empty = mapping.series(SCALARS, "state_pred_error", "k", "runs/", required=False)
    assert empty.empty and list(empty.columns) == ["run", "step", "value", "wall_time"]
