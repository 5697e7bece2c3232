"""The reader's diagnosis travels with the errors it causes (labbook.sources.trackers.base
check_runs, diagnosis, faults_said; trackers.mapping): runs left out are said before a mapping
error, an empty store says so, a cut event file is named beside "logged at different steps", a
mapping dict's unknown key is an error with a did-you-mean, the cache sees a same-size rewrite that
kept its modification time, a negative accuracy is not called a percentage, and a newer MLflow
schema is not told to upgrade. Every store is written by the tracker's own library (then damaged
where the case needs it)."""

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from labbook import paths
from labbook.inputs import InputError
from labbook.runner import trackerwrite as tw
from labbook.sources import credit_assignment_trackers as ca_source
from labbook.sources import fields, trackers
from labbook.sources import sparse_training_trackers as st_source
from labbook.sources.trackers import mapping
from labbook.sources.trackers import mlflow as mlflow_reader
from labbook.sources.trackers import tensorboard as tb_reader

STEPS = np.arange(1, 6)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


def _credit_run(name: str, method: str, seed: int, shift: float = 0.0) -> tw.TrackedRun:
    """A credit-assignment run: train/test accuracy per epoch, method and seed as attributes."""
    return tw.TrackedRun(
        name,
        params={"method": method, "seed": seed},
        scalars={
            "train_acc": (STEPS, tw.float32_exact(0.5 + 0.05 * STEPS + shift)),
            "test_acc": (STEPS, tw.float32_exact(0.4 + 0.05 * STEPS + shift)),
        },
    )


def _aim_store(root: Path, damaged: int) -> str:
    """Two runs written by aim; the first *damaged* of them with a garbage MANIFEST (unreadable)."""
    pytest.importorskip("aim")
    source = tw.write_store("aim", root, [_credit_run("a", "bp", 0), _credit_run("b", "bp", 1)])
    chunks = sorted((root / ".aim" / "seqs" / "chunks").iterdir())
    for victim in chunks[:damaged]:
        for f in victim.glob("MANIFEST-*"):
            f.write_bytes(b"garbage" * 50)
    return source


def test_runs_the_reader_left_out_are_said_before_the_mapping_error(tmp_path):
    """Every run unreadable: the read says "2 of 2 runs could not be read" with the cause (not
    "no run attribute ..."); one of two: a mapping error starts with "1 of 2 ..."."""
    source = _aim_store(tmp_path / "all", damaged=2)
    with pytest.raises(InputError, match=r"2 of 2 runs could not be read: run '[ab]' .*Corruption"):
        trackers.read(source)
    source = _aim_store(tmp_path / "one", damaged=1)
    data = trackers.read(source)
    assert len(data.runs) == 1 and len(data.left_out) == 1
    (kept,) = data.runs["name"]
    gone = "b" if kept == "a" else "a"
    with pytest.raises(InputError) as raised:
        mapping.attribute(data.runs, "dataset", "dataset_from", "store")
    assert str(raised.value).startswith(f"store: 1 of 2 runs could not be read: run '{gone}' (")
    assert "no run attribute `dataset`" in str(raised.value)
    with pytest.raises(InputError, match=r"^store: 1 of 2 runs could not be read.*no scalar `acc`"):
        mapping.series(data.scalars[data.scalars["run"] != ""], "acc", "keys.acc", "store")


def test_an_empty_store_says_it_holds_no_run(tmp_path):
    """An MLflow store with an experiment and no run, a TensorBoard folder without event files, an
    Aim repository without runs: "the store holds no run", not "no run attribute `kind` ... set
    `kind_from`"."""
    db = tmp_path / "mlflow" / "mlflow.db"
    tw.write_mlflow(db, [])
    with pytest.raises(InputError, match=r"mlflow\.db: the store holds no run$"):
        st_source.load_any(f"mlflow:{db}", None, None, None)
    (tmp_path / "tb").mkdir()
    with pytest.raises(
        InputError, match=r"tb: no TensorBoard event files .*the store holds no run$"
    ):
        trackers.read(f"tensorboard:{tmp_path / 'tb'}")
    pytest.importorskip("aim")
    from aim import Repo

    Repo.from_path(str(tmp_path / "aim"), init=True)
    with pytest.raises(InputError, match=r"aim: the store holds no run$"):
        trackers.read(f"aim:{tmp_path / 'aim'}")


def test_a_cut_event_file_is_named_beside_keys_logged_at_different_steps(tmp_path):
    """A TensorBoard event file cut short (a killed writer) loses the last test_acc steps: the
    credit-assignment error says the keys are logged at different steps *and* what the reader
    found in that run."""
    source = tw.write_store(
        "tensorboard", tmp_path, [_credit_run("bp_s0", "bp", 0), _credit_run("bp_s1", "bp", 1)]
    )
    (log,) = (tmp_path / "bp_s0").glob("events.out.tfevents.*")
    log.write_bytes(log.read_bytes()[: log.stat().st_size - 60])
    data = trackers.read(source)
    with pytest.raises(InputError) as raised:
        ca_source.from_tracker(data)
    message = str(raised.value)
    assert "the per-epoch keys are logged at different steps" in message
    assert f"(the reader found: run 'bp_s0': event file {log.name}" in message
    assert "run 'bp_s1'" not in message


def test_an_unknown_key_of_a_mapping_dict_is_an_error_with_a_did_you_mean(tmp_path):
    db = tmp_path / "mlflow.db"
    tw.write_mlflow(db, [_credit_run("r", "bp", 0)])
    data = trackers.read(f"mlflow:{db}")
    with pytest.raises(InputError) as raised:
        st_source.from_tracker(data, names={"activation_rates": "rate"})
    assert str(raised.value) == (
        "metric_names: unknown key(s) 'activation_rates'; the keys are train_loss, val_accuracy, "
        "activation_rate, energy_savings, epoch_time, threshold (did you mean 'activation_rate' "
        "for 'activation_rates'?)"
    )


def test_the_cache_sees_a_same_size_rewrite_that_kept_its_modification_time(tmp_path):
    """Copy a twin store's event file (same size, one value changed) over the first's and set
    its modification time back: the cache key changes (change time, inode), so it is read again."""
    runs = [_credit_run("r", "bp", 0)]
    twin = [_credit_run("r", "bp", 0, shift=0.125)]
    tw.write_tensorboard(tmp_path / "a", runs)
    tw.write_tensorboard(tmp_path / "b", twin)
    (a,) = (tmp_path / "a" / "r").glob("events.*")
    (b,) = (tmp_path / "b" / "r").glob("events.*")
    assert a.stat().st_size == b.stat().st_size
    first = tb_reader.read(tmp_path / "a")
    assert tb_reader.read(tmp_path / "a").from_cache
    kept = a.stat()
    a.write_bytes(b.read_bytes())
    os.utime(a, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    again = tb_reader.read(tmp_path / "a")
    assert not again.from_cache and again.digest == first.digest  # the same input for provenance
    changed = again.scalars["value"].to_numpy() - first.scalars["value"].to_numpy()
    assert np.allclose(changed, 0.125)


def test_a_negative_accuracy_is_not_offered_percentages():
    with pytest.raises(InputError) as raised:
        fields.check_fractions(np.array([0.5, -0.25]), "f.json", "'acc'")
    assert "percentages" not in str(raised.value) and "[1] = -0.25" in str(raised.value)
    with pytest.raises(InputError, match=r"percentages\? divide by 100"):
        fields.check_fractions(np.array([50.0, 75.0]), "f.json", "'acc'")


def test_a_newer_mlflow_schema_is_not_told_to_upgrade(tmp_path):
    """A store whose schema version the locked mlflow does not know, lacking a column the reader
    needs: written by a newer MLflow (no `mlflow db upgrade`); a known older version is told to
    upgrade a copy."""
    db = tmp_path / "mlflow.db"
    tw.write_mlflow(db, [_credit_run("r", "bp", 0)])
    locked, known = mlflow_reader.known_revisions()
    conn = sqlite3.connect(db)
    conn.execute('ALTER TABLE runs RENAME COLUMN status TO "state"')
    conn.execute("UPDATE alembic_version SET version_num = 'fedcba987654'")
    conn.commit()
    conn.close()
    with pytest.raises(InputError) as raised:
        mlflow_reader.read(db, use_cache=False)
    message = str(raised.value)
    assert f"written by a newer MLflow than the locked one (mlflow {locked})" in message
    assert "fedcba987654" in message and "runs.status" in message and "upgrade" not in message
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = ?", (sorted(known)[0],))
    conn.commit()
    conn.close()
    with pytest.raises(InputError, match="mlflow db upgrade"):
        mlflow_reader.read(db, use_cache=False)


def test_an_empty_wandb_log_leaves_its_run_out_and_says_so(tmp_path):
    """A run whose run-<id>.wandb is empty (0 bytes) is no run with a wrong name for a
    did-you-mean: it is left out, and a mapping error says so first."""
    pytest.importorskip("wandb")
    from labbook.sources.trackers import wandb as wandb_reader

    tw.write_wandb(tmp_path, [_credit_run("kept", "bp", 0), _credit_run("emptied", "bp", 1)])
    data = wandb_reader.read(tmp_path)
    emptied = data.runs.loc[data.runs["name"] == "emptied", "run"].item()
    (log,) = tmp_path.glob(f"wandb/*-{emptied}/run-{emptied}.wandb")
    log.write_bytes(b"")
    data = trackers.read(f"wandb:{tmp_path}")
    assert data.runs["name"].tolist() == ["kept"]
    (left,) = data.left_out
    assert left.startswith(f"run {emptied}: ") and "holds no record (0 bytes" in left
    with pytest.raises(InputError, match=r"1 of 2 runs could not be read: run .*no run attribute"):
        mapping.attribute(data.runs, "dataset", "dataset_from", "store")


def test_nan_values_the_reader_left_out_are_named_beside_keys_logged_at_different_steps(tmp_path):
    """An MLflow run whose val_accuracy holds a NaN at epoch 2 (left out by the reader): the
    sparse-training error says the keys are logged at different steps and what the reader found
    (the NaN, its run and step), not only the symptom."""
    from labbook.runner.tracker_examples import sparse_training as st_example

    e = np.arange(1, 5)
    metrics = {
        "train_loss": (2.3 - 0.3 * e).tolist(),
        "val_accuracy": [20.0, float("nan"), 40.0, 50.0],
        "activation_rates": [0.2, 0.1, 0.07, 0.06],
        "epoch_times": (14.0 + 0.1 * e).tolist(),
        "energy_savings": [0.8, 0.9, 0.93, 0.94],
    }
    doc = {"run": "gated run", "kind": "gated", "config": {"target_activation_rate": 0.06}}
    db = tmp_path / "mlflow.db"
    tw.write_mlflow(db, [st_example.tracked_run({**doc, "metrics": metrics})])
    with pytest.raises(InputError) as raised:
        st_source.load_any(f"mlflow:{db}", None, None, None)
    message = str(raised.value)
    assert "its scalars are logged at different steps" in message
    assert "(the reader found: metric 'val_accuracy': NaN values (left out)" in message
    assert "run 'gated run'" in message and "at step(s) 2" in message
