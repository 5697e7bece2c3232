"""`make inspect` and `make params` (labbook.sources.inspect, labbook.runner.proposeparams,
python -m labbook): on stores written by the trackers' own libraries (trackerwrite), what a store
holds (runs by status, attributes, keys with their steps and values, the reader's warnings), which
analyses it can feed with which mapping, and the params file written for one, read back by the
analysis' own loader."""

import subprocess
import sys

import numpy as np
import pytest
import yaml

from labbook import paths
from labbook.runner import proposeparams
from labbook.runner import trackerwrite as tw
from labbook.sources import credit_assignment_trackers as ca_source
from labbook.sources import inspect as store_inspect
from labbook.sources import trackers

EPOCHS = {"bp_s0": 5, "bp_s1": 3, "dfa_s0": 5, "dfa_s1": 4}  # runs that stopped early


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


def _runs() -> list[tw.TrackedRun]:
    """Credit-assignment runs as another codebase logs them: `Method` and `seed` hparams,
    `train/train_acc` and `eval/test_acc` per epoch, a loss; runs of unequal length."""
    out = []
    for name, epochs in EPOCHS.items():
        steps = np.arange(1, epochs + 1)
        shift = 0.1 if name.startswith("bp") else 0.0
        out.append(
            tw.TrackedRun(
                name,
                params={"Method": name.split("_")[0], "seed": int(name[-1])},
                scalars={
                    "train/train_acc": (steps, tw.float32_exact(0.4 + 0.05 * steps + shift)),
                    "eval/test_acc": (steps, tw.float32_exact(0.3 + 0.05 * steps + shift)),
                    "train/loss": (steps, tw.float32_exact(2.0 / steps)),
                },
            )
        )
    return out


@pytest.fixture
def store(tmp_path):
    return tw.write_store("tensorboard", tmp_path / "store", _runs())


def test_describe_counts_runs_attributes_keys_steps_and_values(store):
    d = store_inspect.describe(trackers.read(store))
    assert (d.tracker, d.runs, d.statuses) == ("tensorboard", 4, {"finished": 4})
    by_column = {a.column: a for a in d.attributes}
    assert by_column["hparam:Method"] == store_inspect.Attribute(
        "hparam:Method", 4, 2, ("bp", "dfa")
    )
    assert by_column["hparam:seed"].distinct == 2
    test = {k.key: k for k in d.keys}["eval/test_acc"]
    assert (test.runs, test.values, test.step_min, test.step_max) == (4, 17, 1, 5)
    assert (test.last_min, test.last_median, test.last_max) == (3, 4.5, 5)
    assert test.value_min == pytest.approx(0.35) and test.value_max == pytest.approx(0.65)
    shown = store_inspect.text(d)
    assert (
        "runs: 4 (4 finished)" in shown and "hparam:Method  4 run(s), 2 value(s): bp, dfa" in shown
    )
    assert (
        "eval/test_acc    4 run(s), steps 1–5, last step per run 3/4.5/5 (min/median/max)" in shown
    )
    assert shown.endswith("warnings of the reader: 0 (none)")


def test_keys_that_differ_only_in_numbers_are_one_line():
    keys = [
        store_inspect.Key(f"diag/{i}/cos", 2, 4, 1, 9 + i, 9, 9.0, 9 + i, -0.5 * i, i)
        for i in range(3)
    ]
    keys.append(store_inspect.Key("loss", 2, 4, 1, 9, 9, 9.0, 9, 0.0, 1.0))
    ((name, merged), (other, _)) = store_inspect.grouped(keys)
    assert name == "diag/{n}/cos (3 keys)" and other == "loss"
    assert (merged.values, merged.step_max, merged.value_min, merged.value_max) == (12, 11, -1, 2)


def test_choose_keeps_a_default_found_takes_the_closest_name_or_says_what_lacks(store):
    data = trackers.read(store)
    Want = store_inspect.Want
    kept = store_inspect.choose(data, Want("seed_from", "attribute", "seed", True))
    assert (kept.value, kept.found) == ("seed", True) and "found in 4 of 4 run(s)" in kept.why
    method = store_inspect.choose(data, Want("method_from", "attribute", "method", True))
    assert (method.value, method.found) == ("hparam:Method", True)
    assert "closest name to `method`" in method.why and "2 value(s): bp, dfa" in method.why
    test = store_inspect.choose(data, Want("test_acc_key", "key", "test_acc", True))
    assert (test.value, test.found) == ("eval/test_acc", True)
    loss = store_inspect.choose(data, Want("val_loss_key", "key", "val_loss", False))
    assert (loss.value, loss.found) == ("train/loss", True)  # the same word `loss`, said
    none = store_inspect.choose(data, Want("state_error_key", "key", "state_pred_error", False))
    assert (none.value, none.found) == (None, True) and "left out" in none.why
    lacking = store_inspect.choose(data, Want("approach_from", "attribute", "approach", True))
    assert not lacking.found and "no run attribute like `approach`" in lacking.why
    near_prefix = store_inspect.choose(data, Want("x", "key", "train_loss", True))
    assert near_prefix.value == "train/loss"  # not train/train_acc: a shared prefix is no match


def test_the_params_file_written_reads_back_through_the_analysis_loader(
    store, tmp_path, monkeypatch
):
    """make params for credit assignment: the mapping found (method from `Method`, the keys under
    eval/ and train/), every choice commented, valid for the notebook; the analysis' own loader
    reads the store with it. A store lacking a required field gets no file, naming the field."""
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    written = proposeparams.write("credit_assignment", store, "mine")
    assert written == tmp_path / "params" / "credit_assignment" / "mine.yaml"
    text = written.read_text()
    assert 'method_from: "hparam:Method"  # no attribute `method`; `hparam:Method` is the' in text
    assert '# seed_from: "seed"  # the default, found in 4 of 4 run(s)' in text
    assert 'test_acc_key: "eval/test_acc"  # no key `test_acc`' in text
    values = yaml.safe_load(text)
    mapping = {k: v for k, v in values.items() if k != "source"}
    results = ca_source.load_any(values["source"], None, **mapping)
    assert sorted(results.methods) == ["bp", "dfa"]
    with pytest.raises(SystemExit, match="exists"):
        proposeparams.write("credit_assignment", store, "mine")
    with pytest.raises(SystemExit) as raised:
        proposeparams.write("nonlinearity_reduction", store, "mine")
    assert "`approach_from`: the store has no run attribute like `approach`" in str(raised.value)
    assert not (tmp_path / "params" / "nonlinearity_reduction").exists()


def test_python_m_labbook_inspect_prints_the_store_and_the_analyses(store, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "labbook", "inspect", store], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "tensorboard store" in done.stdout and "runs: 4 (4 finished)" in done.stdout
    assert "credit_assignment: can be fed" in done.stdout
    assert "method_from='hparam:Method'" in done.stdout
    assert "nonlinearity_reduction: cannot be fed" in done.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "labbook", "inspect", str(empty)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "source holds no tracker data" in done.stderr


def test_an_aim_context_is_not_part_of_the_name_compared():
    """`loss[subset:train]` is close to `train_loss` by its name `loss`, not by `train]`."""
    data = trackers.TrackerData(
        "aim",
        "repo",
        trackers.empty_runs(),
        trackers.empty_scalars().astype({"run": object, "key": object}),
    )
    data.scalars.loc[0] = ["r", "loss[subset:train]", 0, 1.0, 0.0]
    want = store_inspect.Want("metric_names.train_loss", "key", "train_loss", True)
    assert store_inspect.choose(data, want).value == "loss[subset:train]"


def _sparse_run(name: str, kind: str) -> tw.TrackedRun:
    """A sparse-training run as MLflow holds it (kind and config as params, one key per metric)."""
    from labbook.runner.tracker_examples import sparse_training as st_example

    e = np.arange(1, 5)
    rates = [0.2, 0.1, 0.07, 0.06] if kind == "gated" else [1.0] * 4
    metrics = {
        "train_loss": (2.3 - 0.3 * e).tolist(),
        "val_accuracy": (20.0 + 9.7 * e).tolist(),
        "activation_rates": rates,
        "energy_savings": [1 - r for r in rates],
        "epoch_times": (14.0 + 0.1 * e).tolist(),
    }
    config = {"target_activation_rate": 0.06 if kind == "gated" else 1.0}
    doc = {"run": name, "kind": kind, "config": config, "metrics": metrics}
    return st_example.tracked_run(st_example.twin(doc), simulated=False)


def test_several_gated_runs_get_run_names_and_the_file_reads_back(tmp_path, monkeypatch):
    """Sparse training reads one gated run: with two in the store, the params file names the first
    by name in run_names (said), and the analysis' loader reads the store with it."""
    from labbook.sources import sparse_training_trackers as st_source

    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    runs = [_sparse_run("b gated", "gated"), _sparse_run("a gated", "gated")]
    source = tw.write_store("mlflow", tmp_path / "store", [*runs, _sparse_run("base", "baseline")])
    written = proposeparams.write("sparse_training", source, "mine")
    values = yaml.safe_load(written.read_text())
    assert values["run_names"] == {"gated": "a gated"}
    assert "2 gated runs (a gated, b gated): the first by name" in written.read_text()
    loaded = st_source.load_any(values["source"], None, None, None, run_names=values["run_names"])
    assert loaded.gated.name == "a gated" and loaded.baseline.name == "base"


def _moe_run(name: str, router: str) -> tw.TrackedRun:
    steps = np.arange(1, 4)
    return tw.TrackedRun(
        name,
        params={"moe_type": router},
        tags={"mlflow.source.type": "LOCAL"},
        scalars={
            "val_accuracy": (steps, tw.float32_exact(0.5 + 0.1 * steps)),
            "val_loss": (steps, tw.float32_exact(1.0 / steps)),
        },
    )


def test_moe_params_name_every_type_and_take_the_dataset_from_the_shared_experiment(
    tmp_path, monkeypatch
):
    """MoE from an MLflow store with a type parameter and no dataset attribute: the type comes
    from `param:moe_type` (never the tracker's own `tag:mlflow.source.type`, whatever its name),
    moe_types names each of its values, and the dataset is the experiment every run shares; the
    file validates and the MoE loader selects every run with it."""
    from labbook.sources import aim_repo

    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    runs = [_moe_run(f"{r}_{i}", r) for r in ("switch", "topk") for i in range(2)]
    source = tw.write_store("mlflow", tmp_path / "store", runs)
    written = proposeparams.write("moe_analysis", source, "mine")
    values = yaml.safe_load(written.read_text())
    assert values["type_from"] == "param:moe_type"
    assert values["moe_types"] == {"switch": "switch", "topk": "topk"}
    assert values["dataset_from"] == "tag:mlflow.experimentName"
    text = written.read_text()
    assert "every run shares `tag:mlflow.experimentName`" in text and "`None`" not in text
    mapping = {k: v for k, v in values.items() if k not in ("source", "dataset", "moe_types")}
    metric_keys = {"accuracy": "val_accuracy", "loss": "val_loss"}
    assert values["metric_keys"] == metric_keys
    selection, _ = aim_repo.load_any(
        values["source"], None, dataset=values["dataset"], moe_types=values["moe_types"], **mapping
    )
    assert len(selection.runs) == 4


def test_a_store_without_a_type_attribute_cannot_feed_moe_and_says_which_field(tmp_path):
    """The tracker's own tags are never a mapping by their name: a store whose only `type`-like
    attribute is `tag:mlflow.source.type` cannot feed MoE, and the verdict names type_from."""
    runs = [_moe_run("a", "switch")]
    runs[0].params.clear()
    source = tw.write_store("mlflow", tmp_path / "store", runs)
    data = trackers.read(source)
    verdict = proposeparams.verdict(proposeparams.propose(data, "moe_analysis", source))
    assert verdict.startswith("moe_analysis: cannot be fed — `type_from`: no run attribute")
