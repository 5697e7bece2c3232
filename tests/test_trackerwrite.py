"""The tracker writers (labbook.runner.trackerwrite) write what the tracker layer reads back."""

import numpy as np

from labbook.runner import trackerwrite as tw
from labbook.sources.trackers import mlflow as mlflow_reader
from labbook.sources.trackers import tensorboard as tb_reader

RUNS = [
    tw.TrackedRun(
        "bp_s0",
        params={"method": "bp", "seed": 0},
        tags={"dataset": "cifar10"},
        scalars={
            "test_acc": (np.arange(3), tw.float32_exact([0.1, 0.2, 0.3])),
            "diag/0/bp_cosine": (np.array([2]), np.array([0.5])),
        },
    ),
    tw.TrackedRun(
        "dfa_s1",
        params={"method": "dfa", "seed": 1},
        scalars={"test_acc": (np.arange(3), tw.float32_exact([0.1, 0.15, 0.2]))},
    ),
]


def _by_name(data) -> dict:
    names = dict(zip(data.runs["run"], data.runs["name"]))
    s = data.scalars
    return {
        (names[r], k, int(st)): v for r, k, st, v in zip(s["run"], s["key"], s["step"], s["value"])
    }


def _expected() -> dict:
    return {(r.name, k, s): v for r in RUNS for k, s, v, _ in r.points()}


def test_tensorboard_and_mlflow_stores_read_back_as_written(tmp_path):
    tw.write_tensorboard(tmp_path / "tb", RUNS)
    tw.write_mlflow(tmp_path / "ml" / "mlflow.db", RUNS)
    tb = tb_reader.read(tmp_path / "tb", use_cache=False)
    ml = mlflow_reader.read(tmp_path / "ml" / "mlflow.db", use_cache=False)
    assert _by_name(tb) == _expected() == _by_name(ml)
    assert tb.warnings == [] and ml.warnings == []
    tb_runs = tb.runs.set_index("name")
    assert tb_runs.loc["bp_s0", "hparam:method"] == "bp"
    assert tb_runs.loc["bp_s0", "hparam:dataset"] == "cifar10"
    ml_runs = ml.runs.set_index("name")
    assert ml_runs.loc["dfa_s1", "param:method"] == "dfa"
    assert ml_runs.loc["bp_s0", "tag:dataset"] == "cifar10"
    assert set(ml.runs["status"]) == {"finished"}


def test_float32_exact_values_survive_tensorboard(tmp_path):
    values = tw.float32_exact([0.1, 1 / 3, 97.123456789])
    run = tw.TrackedRun("r", scalars={"acc": (np.arange(3), values)})
    tw.write_tensorboard(tmp_path, [run])
    read = tb_reader.read(tmp_path, use_cache=False).scalars["value"].to_numpy()
    assert np.array_equal(read, values)


def test_a_store_whose_runs_say_simulated_marks_the_report_as_example_data(tmp_path):
    from labbook import inputs
    from labbook.sources import trackers

    inputs.clear()
    marked = [
        tw.TrackedRun(r.name, params=r.params, tags={"simulated": True}, scalars=r.scalars)
        for r in RUNS
    ]
    tw.write_mlflow(tmp_path / "sim" / "mlflow.db", marked)
    tw.write_mlflow(tmp_path / "real" / "mlflow.db", RUNS)
    trackers.read(f"mlflow:{tmp_path / 'real' / 'mlflow.db'}", use_cache=False)
    assert not any(i.get("simulated") for i in inputs.recorded())
    trackers.read(f"sqlite:///{tmp_path / 'sim' / 'mlflow.db'}", use_cache=False)
    assert [i.get("simulated", False) for i in inputs.recorded()].count(True) == 1
    inputs.clear()
