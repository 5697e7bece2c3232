"""Chain-of-experts source adapter (good and bad inputs) and analysis helpers."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from labbook import paths
from labbook.analyses import chain_of_experts as coe
from labbook.inputs import InputError
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
