"""Adaptive sparse training read from trackers (sources.sparse_training_trackers): stores written
by each tracker's own library give the runs the metrics-file loader gives on the float32-exact
JSON twin of the same numbers; the mapping's bad input; the choice between source and JSON files.
Reports built both ways: test_tracker_reports.py."""

import json

import numpy as np
import pandas as pd
import pytest

from labbook.inputs import InputError
from labbook.runner import examples
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import sparse_training as example
from labbook.sources import sparse_training as files
from labbook.sources import sparse_training_trackers as source
from labbook.sources import trackers
from labbook.sources.trackers import TrackerData
from tests.extras import AIM, WITHOUT_AIM

EPOCHS = 5


def _doc(name, kind, rates, seconds, threshold=True):
    """A small metrics document (float32-exact), every run with the same config keys."""
    e = np.arange(1, EPOCHS + 1)
    metrics = {
        "train_loss": (2.3 - 0.3 * e).tolist(),
        "val_accuracy": (20.0 + 9.7 * e).tolist(),
        "activation_rates": list(rates),
        "energy_savings": [1 - r for r in rates],
        "epoch_times": (seconds + 0.1 * e).tolist(),
    }
    if threshold:
        metrics["thresholds"] = (0.4 + 0.01 * e).tolist()
    config = {"target_activation_rate": 0.06 if kind != "baseline" else 1.0, "lr": 1e-4}
    return example.twin(
        {"run": name, "kind": kind, "config": dict(config, epochs=EPOCHS), "metrics": metrics}
    )


DOCS = {
    "gated.json": _doc("vit gated", "gated", [0.2, 0.1, 0.07, 0.06, 0.061], 14.0),
    "other.json": _doc("vit gated (lr 1e-3)", "gated", [0.3, 0.2, 0.2, 0.21, 0.2], 30.0),
    "baseline.json": _doc("baseline", "baseline", [1.0] * EPOCHS, 180.0, threshold=False),
    "sbs.json": _doc("sample by sample", "sample_by_sample", [0.06] * EPOCHS, 400.0),
}
PICK = {"gated": "vit gated"}


def _write_twin(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in DOCS.items():
        (folder / name).write_text(json.dumps(doc))
    return files.load_files(folder / "gated.json", folder / "baseline.json", folder / "sbs.json")


def _assert_same(got: files.Runs, want: files.Runs) -> None:
    assert got.warnings == want.warnings
    assert [(r.name, r.kind, r.config) for r in got.all()] == [
        (r.name, r.kind, r.config) for r in want.all()
    ]
    for a, b in zip(got.all(), want.all()):
        pd.testing.assert_frame_equal(a.epochs, b.epochs, check_exact=True)


@pytest.mark.parametrize("tracker", ["aim", "mlflow", "tensorboard"])
def test_a_store_reads_as_its_json_twin(tmp_path, tracker):
    if tracker == "aim" and not AIM:
        pytest.skip(WITHOUT_AIM)
    runs = [example.tracked_run(doc, simulated=False) for doc in DOCS.values()]
    data = trackers.read(tw.write_store(tracker, tmp_path / tracker, runs), use_cache=False)
    got = source.from_tracker(data, run_names=PICK)
    assert got.gated.path.startswith(str(tmp_path / tracker))
    assert got.gated.path.endswith(" (run 'vit gated')")
    _assert_same(got, _write_twin(tmp_path / "json"))


def test_the_example_store_holds_the_example_numbers_float32_exact(tmp_path):
    docs = example.example_docs(examples.sparse_training, epochs=4)
    assert sorted(docs) == [
        "baseline.json",
        "gated_good.json",
        "gated_misbehaving.json",
        "sample_by_sample.json",
    ]
    gated = docs["gated_good.json"]
    assert (
        gated["metrics"]["val_accuracy"]
        == tw.float32_exact(gated["metrics"]["val_accuracy"]).tolist()
    )
    run = example.tracked_run(gated)
    assert run.tags == {"simulated": True} and run.params["kind"] == "gated"
    steps, values = run.scalars["activation_rates"]
    assert (
        steps.tolist() == [1, 2, 3, 4] and values.tolist() == gated["metrics"]["activation_rates"]
    )
    assert [r.name for r in example.runs(examples.sparse_training, epochs=4)] == [
        d["run"] for d in docs.values()
    ]
    tw.write_tensorboard(tmp_path, example.runs(examples.sparse_training, epochs=4))
    assert trackers.is_simulated(trackers.read(f"tensorboard:{tmp_path}", use_cache=False).runs)


# ---------------------------------------------------------------- the mapping's bad input


def _data(docs=DOCS, statuses=None, extra_runs=(), **attrs) -> TrackerData:
    """The tables an MLflow store of *docs* reads back as (params as text), built in memory."""
    runs, scalars = [], []
    for i, doc in enumerate(docs.values()):
        run = example.tracked_run(doc, simulated=False)
        row = {"run": f"id{i}", "name": run.name, "status": (statuses or {}).get(run.name)}
        row.update({f"param:{k}": str(v) for k, v in run.params.items()})
        runs.append(row)
        scalars += [(f"id{i}", k, s, v, w) for k, s, v, w in run.points()]
    runs += list(extra_runs)
    table = pd.DataFrame(runs).fillna({"status": "finished"})
    for column, values in attrs.items():
        table[column] = values
    table = table.astype(object).where(table.notna(), None)
    frame = pd.DataFrame(scalars, columns=trackers.SCALAR_COLUMNS)
    return TrackerData("mlflow", "/data/mlflow.db", table, frame)


def test_twin_tables_in_memory_match_the_json_loader(tmp_path):
    _assert_same(source.from_tracker(_data(), run_names=PICK), _write_twin(tmp_path))


def test_a_kind_attribute_no_run_has_lists_the_attributes_and_the_closest():
    with pytest.raises(InputError) as err:
        source.from_tracker(_data(), kind_from="knd", run_names=PICK)
    msg = str(err.value)
    assert "/data/mlflow.db: no run attribute `knd` (set by kind_from)" in msg
    assert "`param:epochs`" in msg and "closest: `param:kind`" in msg


def test_a_key_no_run_logs_lists_the_keys_the_closest_and_the_parameter():
    with pytest.raises(InputError) as err:
        source.from_tracker(_data(), names={"train_loss": "train_los"}, run_names=PICK)
    msg = str(err.value)
    assert "no scalar `train_los`; the runs log `activation_rates`" in msg
    assert "(closest: `train_loss`)" in msg and msg.endswith("set `metric_names.train_loss`")


def test_runs_lacking_the_kind_or_with_another_kind_are_left_out_with_a_warning(tmp_path):
    stray = {"run": "id9", "name": "notes", "status": "finished"}
    odd = {"run": "id8", "name": "eval only", "status": "finished", "param:kind": "eval"}
    got = source.from_tracker(_data(extra_runs=[stray, odd]), run_names=PICK)
    assert got.warnings == [
        "/data/mlflow.db: 1 run(s) have no `kind` attribute (kind_from) and are left out: 'notes'",
        "/data/mlflow.db: 1 run(s) whose `kind` is none of gated, baseline, sample_by_sample are "
        "left out: 'eval only' ('eval')",
    ]
    got.warnings = []
    _assert_same(got, _write_twin(tmp_path))


def test_choosing_the_runs_of_each_kind():
    with pytest.raises(InputError, match=r"holds 2 gated runs \('vit gated', 'vit gated \(lr"):
        source.from_tracker(_data())
    with pytest.raises(InputError, match=r"no run is named 'vit gatd' .*closest: 'vit gated'"):
        source.from_tracker(_data(), run_names={"gated": "vit gatd"})
    with pytest.raises(InputError, match=r"run 'baseline' is of kind 'baseline', but run_names"):
        source.from_tracker(_data(), run_names={"gated": "baseline"})
    with pytest.raises(InputError, match=r"run_names: unknown key\(s\) 'gate'; the keys are"):
        source.from_tracker(_data(), run_names={"gate": "vit gated"})
    other = source.from_tracker(_data(), run_names={"gated": "vit gated (lr 1e-3)", "baseline": ""})
    assert other.gated.name == "vit gated (lr 1e-3)" and other.baseline is None
    by_name = source.from_tracker(_data(), kind_from=r"name:^(?:vit )?(gated|baseline)$")
    assert (by_name.gated.name, by_name.baseline.name) == ("vit gated", "baseline")
    assert by_name.sample_by_sample is None and len(by_name.warnings) == 1
    with pytest.raises(InputError, match="no gated run"):
        source.from_tracker(_data(), kind_from=r"name:^(baseline)$")


def test_bad_values_give_the_metrics_file_errors_naming_store_run_and_key():
    docs = json.loads(json.dumps(DOCS))
    docs["gated.json"]["metrics"]["train_loss"][3] = -0.5
    with pytest.raises(InputError) as err:
        source.from_tracker(_data(docs), run_names=PICK)
    assert str(err.value) == (
        "/data/mlflow.db (run 'vit gated'): field 'scalars.train_loss'[3] = -0.5 is negative"
    )
    docs = json.loads(json.dumps(DOCS))
    docs["gated.json"]["metrics"]["activation_rates"][0] = 6.0
    with pytest.raises(
        InputError, match=r"'scalars.activation_rates'\[0\] = 6.0 is not a fraction"
    ):
        source.from_tracker(_data(docs), run_names=PICK)
    with pytest.raises(InputError, match=r"\(run 'vit gated'\): field 'lr' must be a finite numb"):
        source.from_tracker(_data(**{"param:lr": ["fast", "1", "1", "1"]}), run_names=PICK)
    no_target = _data(**{"param:target_activation_rate": [None, "0.2", "1.0", "0.06"]})
    with pytest.raises(InputError, match=r"'vit gated'\): required field 'target_activation_rate"):
        source.from_tracker(no_target, run_names=PICK)
    with pytest.raises(InputError, match=r"no run attribute `target`.*config_from.target_act"):
        source.from_tracker(
            _data(), run_names=PICK, config_from={"target_activation_rate": "target"}
        )


def test_steps_must_agree_and_start_at_epoch_one():
    data = _data()
    gated_loss = (data.scalars["run"] == "id0") & (data.scalars["key"] == "train_loss")
    data.scalars = data.scalars[~(gated_loss & (data.scalars["step"] == 5))]
    with pytest.raises(InputError, match=r"`activation_rates` at 5 steps 1–5, `train_loss` at st"):
        source.from_tracker(data, run_names=PICK)
    data = _data()
    data.scalars = data.scalars.assign(step=data.scalars["step"] - 1)
    with pytest.raises(InputError, match=r"epochs are numbered from 1 \(set step_offset to 1"):
        source.from_tracker(data, run_names=PICK)
    shifted = source.from_tracker(data, run_names=PICK, step_offset=1)
    assert shifted.gated.epochs["epoch"].tolist() == [1, 2, 3, 4, 5]


def test_unfinished_runs_are_kept_with_a_warning_and_faults_of_unread_runs_are_dropped():
    data = _data(statuses={"vit gated": "running", "vit gated (lr 1e-3)": "failed"})
    data.warnings = [
        "metric 'train_loss': NaN in 1 run(s): run 'vit gated (lr 1e-3)' (id1)",
        "metric 'epoch_times': NaN in 1 run(s): run 'baseline' (id2)",
        "3 deleted run(s) left out",
    ]
    got = source.from_tracker(data, run_names=PICK)
    assert got.warnings == [
        "metric 'epoch_times': NaN in 1 run(s): run 'baseline' (id2)",
        "3 deleted run(s) left out",
        "/data/mlflow.db: run(s) not finished, kept (their series may be incomplete): "
        "'vit gated' is running",
    ]


def test_sections_whose_series_were_not_logged_are_left_to_their_notes():
    """The notebook notes a missing threshold plot (no `threshold` column), a missing side by side
    (a baseline without accuracy and loss) and a missing speed panel (no timing run)."""
    docs = json.loads(json.dumps(DOCS))
    del docs["gated.json"]["metrics"]["thresholds"]
    for key in ("train_loss", "val_accuracy"):
        del docs["baseline.json"]["metrics"][key]
    got = source.from_tracker(_data(docs), run_names=PICK)
    assert "threshold" not in got.gated.epochs and "activation_rate" in got.gated.epochs
    assert list(got.baseline.epochs.columns) == [
        "epoch",
        "activation_rate",
        "energy_savings",
        "epoch_time",
    ]
    alone = source.from_tracker(_data(), run_names={**PICK, "baseline": "", "sample_by_sample": ""})
    assert alone.baseline is None and alone.sample_by_sample is None


def test_load_any_takes_the_files_or_the_source_never_both(tmp_path):
    with pytest.raises(InputError) as err:
        source.load_any("mlflow:x.db", "a.json", None, "c.json")
    assert str(err.value).startswith(
        "`source` ('mlflow:x.db') and `run_file`, `sample_by_sample_file` are both set"
    )
    with pytest.raises(InputError, match="neither `run_file` .* nor `source`"):
        source.load_any(None, None, None, None)
    _write_twin(tmp_path)
    got = source.load_any(None, str(tmp_path / "gated.json"), None, str(tmp_path / "sbs.json"))
    assert got.baseline is None and got.sample_by_sample.name == "sample by sample"
    tw.write_tensorboard(
        tmp_path / "tb", [example.tracked_run(d, simulated=False) for d in DOCS.values()]
    )
    from_store = source.load_any(str(tmp_path / "tb"), None, None, None, run_names=PICK)
    _assert_same(from_store, _write_twin(tmp_path))


# The report built from each tracker equals the one from the JSON twin: test_tracker_reports.py.
