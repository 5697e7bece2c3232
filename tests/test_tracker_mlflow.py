"""The MLflow reader (labbook.sources.trackers.mlflow) on stores written by MLflow itself.

Every store is written by MlflowClient (SQLite: a copy of one empty store MLflow made once per
module, so its migrations run once; file store: with MLFLOW_ALLOW_FILE_STORE=true while writing).
The older schemas are made by MLflow's own models and migrations (alembic stopped at an older
revision), filled with rows MlflowClient wrote, moved by SQLAlchemy. Each read runs under the
read-only audit hook and the store is compared byte for byte afterwards.
"""

import math
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network from the tests

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources import trackers
from labbook.sources.trackers import mlflow as reader
from tests.readonly import read_only, snapshot

T0 = 1_700_000_000_000  # ms
OLD_REVISION = "451aebb31d03"  # MLflow 1.0's schema (2019): no is_nan, no latest_metrics


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with no runs, made once (MLflow runs its ~70 migrations)."""
    db = tmp_path_factory.mktemp("empty") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


def new_store(empty_store: Path, folder: Path) -> tuple[Path, MlflowClient]:
    """(database, client) of a fresh store at folder/mlflow.db."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "mlflow.db"
    shutil.copy(empty_store, db)
    return db, MlflowClient(tracking_uri=f"sqlite:///{db}")


def log_run(client, experiment, name, metrics, params=None, tags=None, status="FINISHED"):
    """A run logged through MLflow: metrics {key: [(step, value), ...]} at 1 s a step."""
    run = client.create_run(experiment, run_name=name, start_time=T0, tags=tags or {})
    batch = [
        Metric(key, value, T0 + 1000 * step, step)
        for key, points in metrics.items()
        for step, value in points
    ]
    params = [Param(k, v) for k, v in (params or {}).items()]
    client.log_batch(run.info.run_id, metrics=batch, params=params)
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status=status, end_time=T0 + 10_000)
    return run.info.run_id


def read_unchanged(location, store: Path, **kw):
    """reader.read under the audit hook; the store must be left byte-identical, and every
    SQLite connection opened read-only (a database read opens at least one)."""
    before = snapshot(store)
    with read_only(store) as seen:
        data = reader.read(location, **kw)
    assert seen.writes == []
    assert all("mode=ro" in c for c in seen.connections)
    assert seen.connections or data.from_cache or reader.locate(location)[0] == "files"
    assert snapshot(store) == before
    return data


def mlflow_history(client: MlflowClient) -> pd.DataFrame:
    """Every metric value of every run MLflow lists (deleted ones aside), through its client."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    rows = []
    for run in client.search_runs(experiments, run_view_type=ViewType.ACTIVE_ONLY):
        for key in run.data.metrics:
            for m in client.get_metric_history(run.info.run_id, key):
                rows.append((run.info.run_id, key, m.step, m.value, m.timestamp / 1000))
    columns = ["run", "key", "step", "value", "wall_time"]
    table = pd.DataFrame(rows, columns=columns).sort_values(["run", "key", "step"])
    return table.reset_index(drop=True)


def plain(scalars: pd.DataFrame) -> pd.DataFrame:
    return scalars.astype({"run": object, "key": object}).reset_index(drop=True)


def by_name(data) -> pd.DataFrame:
    """The scalars with the run's name for its id, sorted by name, key, step."""
    names = dict(zip(data.runs["run"], data.runs["name"]))
    table = plain(data.scalars).assign(run=lambda t: t["run"].map(names))
    return table.sort_values(["run", "key", "step"], kind="stable", ignore_index=True)


def warned(data, *parts) -> list[str]:
    """The warnings of *data* that contain every one of *parts*."""
    return [w for w in data.warnings if all(p in w for p in parts)]


# ---------------------------------------------------------------- what is read


def test_sqlite_store_reads_runs_and_every_metric_value_as_mlflow_does(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    mnist = client.create_experiment("mnist")
    cifar = client.create_experiment("cifar10")
    a = log_run(
        client,
        mnist,
        "adam-s0",
        {"loss": [(0, 1.5), (1, 0.75), (2, 0.5)], "val/acc": [(0, 0.25), (2, 0.9)]},
        params={"lr": "0.001", "optimizer": "adam"},
        tags={"dataset": "mnist"},
    )
    b = log_run(
        client, cifar, "sgd-s0", {"loss": [(0, 2.0), (5, 1.0)]}, {"lr": "0.1", "optimizer": "sgd"}
    )
    data = read_unchanged(db, db.parent)

    assert data.tracker == "mlflow" and not data.from_cache and data.warnings == []
    runs = data.runs.set_index("run")
    assert list(data.runs["name"]) == ["adam-s0", "sgd-s0"]
    assert runs.loc[a, "status"] == "finished" and runs.loc[b, "status"] == "finished"
    assert runs.loc[a, "param:lr"] == "0.001" and runs.loc[b, "param:optimizer"] == "sgd"
    assert runs.loc[a, "tag:dataset"] == "mnist" and runs.loc[b, "tag:dataset"] is None
    assert runs.loc[a, "tag:mlflow.runName"] == "adam-s0"
    assert runs.loc[a, reader.EXPERIMENT_NAME] == "mnist"
    assert runs.loc[b, reader.EXPERIMENT_NAME] == "cifar10"
    pd.testing.assert_frame_equal(plain(data.scalars), mlflow_history(client), check_dtype=False)
    assert data.scalars["step"].dtype == np.int64 and data.scalars["value"].dtype == np.float64
    assert data.scalars[data.scalars["run"] == a]["wall_time"].tolist()[:3] == [
        T0 / 1000,
        (T0 + 1000) / 1000,
        (T0 + 2000) / 1000,
    ]
    assert set(data.run_digests) == {a, b}
    assert [r["path"] for r in inputs.recorded()].count(str(db.resolve())) == 1


def test_runs_logging_in_turns_are_read_as_mlflow_reads_them(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    a, b = (client.create_run(experiment, run_name=n).info.run_id for n in ("a", "b"))
    for step in range(4):  # metric rows of the two runs interleaved in the table
        for run, key in ((b, "loss"), (a, "loss"), (a, "acc"), (b, "acc")):
            client.log_metric(run, key, step + (run == b) / 2, timestamp=T0 + step, step=step)
    data = read_unchanged(db, db.parent)
    pd.testing.assert_frame_equal(plain(data.scalars), mlflow_history(client), check_dtype=False)


def test_uri_file_and_folder_and_prefix_name_the_same_store(empty_store, tmp_path, monkeypatch):
    db, client = new_store(empty_store, tmp_path / "store")
    log_run(client, client.create_experiment("e"), "r", {"loss": [(0, 1.0)]})
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    for location in (f"sqlite:///{db}", "sqlite:///store/mlflow.db", db, "store/mlflow.db"):
        assert reader.locate(location) == ("sqlite", db)
    assert reader.locate(db.parent) == ("sqlite", db)
    assert trackers.resolve(str(db.parent)) == ("mlflow", str(db.parent))
    assert trackers.resolve(f"mlflow:sqlite:///{db}") == ("mlflow", f"sqlite:///{db}")
    assert trackers.resolve(f"sqlite:///{db}") == ("mlflow", f"sqlite:///{db}")
    first = reader.read(f"sqlite:///{db}", use_cache=False)
    second = reader.read(db.parent, use_cache=False)
    pd.testing.assert_frame_equal(first.scalars, second.scalars)


def test_second_read_comes_from_the_cache_until_the_store_changes(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    run = log_run(client, experiment, "r", {"loss": [(0, 1.0), (1, 0.5)]})
    first = read_unchanged(db, db.parent)
    again = read_unchanged(db, db.parent)
    assert again.from_cache and again.digest == first.digest
    pd.testing.assert_frame_equal(again.scalars, first.scalars)
    pd.testing.assert_frame_equal(again.runs, first.runs)
    assert again.run_digests == first.run_digests
    assert list(paths.CACHE.glob("mlflow/*.json")) and not list(db.parent.glob("*.arrow"))

    client.log_metric(run, "loss", 0.25, timestamp=T0 + 2000, step=2)
    changed = reader.read(db)
    assert not changed.from_cache and changed.scalars["value"].tolist() == [1.0, 0.5, 0.25]
    assert changed.run_digests[run] != first.run_digests[run]


# ---------------------------------------------------------------- faults: warnings


def test_nan_and_infinite_values_are_left_out_naming_run_key_and_steps(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    points = [(0, 1.0), (1, math.nan), (2, math.inf), (3, -math.inf), (4, 0.5)]
    run = log_run(client, client.create_experiment("e"), "bad", {"loss": points})
    data = read_unchanged(db, db.parent)
    assert data.scalars["step"].tolist() == [0, 4]
    assert np.isfinite(data.scalars["value"]).all()
    assert warned(data, "metric 'loss'", "NaN", "in 1 run(s)", f"run 'bad' ({run}) at step(s) 1")
    assert warned(data, "metric 'loss'", "infinite", f"run 'bad' ({run}) at step(s) 2, 3")


def test_a_step_logged_twice_keeps_the_last_value_written(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    run = log_run(client, experiment, "restarted", {"loss": [(0, 3.0), (1, 2.0)]})
    client.log_batch(run, metrics=[Metric("loss", 1.5, T0 + 5000, 1), Metric("loss", 1.25, T0, 1)])
    data = read_unchanged(db, db.parent)
    assert data.scalars["value"].tolist() == [3.0, 1.25]  # the last written, not the latest time
    assert warned(
        data,
        "metric 'loss'",
        "more than one value",
        "last value written",
        "'restarted'",
        "step(s) 1",
    )


def test_a_run_without_a_param_the_others_have_reads_none(empty_store, tmp_path):
    """Not a warning here: whether it matters is the mapping's to say, for the attributes an
    analysis uses (tests/test_tracker_mapping.py, the analyses' tracker tests)."""
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    log_run(client, experiment, "a", {"loss": [(0, 1.0)]}, {"lr": "0.1", "seed": "0"})
    b = log_run(client, experiment, "b", {"loss": [(0, 1.0)]}, {"seed": "1"})
    data = read_unchanged(db, db.parent)
    assert data.runs.set_index("run").loc[b, "param:lr"] is None
    assert data.warnings == []


def test_runs_sharing_a_name_are_both_kept_and_named(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    first = log_run(client, experiment, "baseline", {"loss": [(0, 1.0)]})
    second = log_run(client, experiment, "baseline", {"loss": [(0, 2.0)]})
    data = read_unchanged(db, db.parent)
    assert len(data.runs) == 2 and sorted(data.scalars["value"]) == [1.0, 2.0]
    assert warned(data, "2 runs share the name 'baseline'", first, second)


def test_deleted_runs_and_runs_of_deleted_experiments_are_left_out_and_counted(
    empty_store, tmp_path
):
    db, client = new_store(empty_store, tmp_path / "store")
    kept, gone = client.create_experiment("kept"), client.create_experiment("gone")
    live = log_run(client, kept, "live", {"loss": [(0, 1.0)]})
    client.delete_run(log_run(client, kept, "deleted", {"loss": [(0, 9.0)]}))
    log_run(client, gone, "in-deleted-experiment", {"loss": [(0, 9.0)]})
    client.delete_experiment(gone)
    data = read_unchanged(db, db.parent)
    assert data.runs["run"].tolist() == [live] and data.scalars["value"].tolist() == [1.0]
    assert warned(data, "2 deleted run(s) left out", "'deleted'", "'in-deleted-experiment'")


def test_unfinished_runs_are_named_and_statuses_mapped(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    ids = {
        status: log_run(client, experiment, status.lower(), {"loss": [(0, 1.0)]}, status=status)
        for status in ("FINISHED", "RUNNING", "FAILED", "KILLED")
    }
    scheduled = log_run(client, experiment, "scheduled", {}, status="RUNNING")
    client.update_run(scheduled, status="SCHEDULED")
    data = read_unchanged(db, db.parent)
    status = dict(zip(data.runs["run"], data.runs["status"]))
    assert [status[ids[s]] for s in ("FINISHED", "RUNNING", "FAILED", "KILLED")] == [
        "finished",
        "running",
        "failed",
        "killed",
    ]
    assert status[scheduled] == "unknown"
    assert warned(
        data,
        "2 run(s) not finished",
        "incomplete",
        f"run 'running' ({ids['RUNNING']}) is RUNNING",
        f"run 'scheduled' ({scheduled}) is SCHEDULED",
    )
    assert len(data.warnings) == 1


def test_an_empty_store_gives_empty_tables_and_says_so(empty_store, tmp_path):
    db, _ = new_store(empty_store, tmp_path / "store")
    data = read_unchanged(db, db.parent)
    assert data.runs.empty and data.scalars.empty
    assert warned(data, "holds no run")


# ---------------------------------------------------------------- faults: errors


def test_missing_path_and_folder_without_a_store_are_errors(tmp_path):
    with pytest.raises(InputError, match="MLflow store not found"):
        reader.read(tmp_path / "nowhere")
    with pytest.raises(InputError, match="MLflow database not found"):
        reader.read(f"sqlite:///{tmp_path}/nowhere.db")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no MLflow store here"):
        reader.read(tmp_path / "empty")


def test_a_database_that_is_not_an_mlflow_store_is_named(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    db, text = folder / "other.db", folder / "notes.db"
    with sqlite3.connect(db) as conn:  # a database pandas wrote: no MLflow tables
        pd.DataFrame({"x": [1, 2]}).to_sql("results", conn, index=False)
    text.write_text("not a database\n")
    with pytest.raises(InputError, match=r"not an MLflow tracking store: it has no table 'runs' "):
        read_unchanged(db, folder)
    with pytest.raises(InputError, match="not an SQLite database"):
        read_unchanged(text, folder)


def test_a_damaged_database_is_an_error_naming_the_file(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    for i in range(20):
        log_run(client, experiment, f"r{i}", {"loss": [(s, float(s)) for s in range(200)]})
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")  # SQLite's page size, from the file header
    for start in range(page, len(data), page):  # every page but the schema's: header scribbled
        data[start : start + 8] = b"\xa5" * 8
    db.write_bytes(bytes(data))
    before = snapshot(db.parent)
    with pytest.raises(InputError, match=rf"{db}: SQLite could not read .*damaged"):
        reader.read(db)
    assert snapshot(db.parent) == before


def test_a_writer_holding_the_lock_too_long_is_an_error_and_a_pending_write_is_not_read(
    empty_store, tmp_path, monkeypatch
):
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("e")
    log_run(client, experiment, "committed", {"loss": [(0, 1.0)]})
    monkeypatch.setattr(reader, "LOCK_WAIT_S", 0.2)
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a writer mid-transaction: readers go on
        data = reader.read(db, use_cache=False)
        assert data.runs["name"].tolist() == ["committed"]
        writer.execute("ROLLBACK")
        writer.execute("BEGIN EXCLUSIVE")  # a writer committing: readers must wait
        with pytest.raises(InputError, match=r"a writer held the store's lock for more than 0.2"):
            reader.read(db, use_cache=False)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_store_written_while_it_is_read(empty_store, tmp_path):
    """MLflow logging from another process while the store is read again and again: no read
    fails or sees half a run's batch, the writer is never refused (database is locked)."""
    db, client = new_store(empty_store, tmp_path / "store")
    experiment = client.create_experiment("live")
    script = textwrap.dedent(
        f"""
        from mlflow import MlflowClient
        from mlflow.entities import Metric
        client = MlflowClient(tracking_uri="sqlite:///{db}")
        for i in range(40):
            run = client.create_run("{experiment}", run_name=f"r{{i}}").info.run_id
            batch = [Metric(k, float(s), {T0} + s, s) for k in ("a", "b") for s in range(300)]
            client.log_batch(run, metrics=batch)
            client.set_terminated(run)
        """
    )
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    writer = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    reads = []
    with read_only(db.parent) as seen:
        while writer.poll() is None or not reads:
            reads.append(reader.read(db, use_cache=False))
    assert writer.wait() == 0, writer.stderr.read().decode()[-2000:]
    assert seen.writes == [] and all("mode=ro" in c for c in seen.connections)
    for data in reads:  # each read is the store at one moment: a run's batch whole or absent
        counts = data.scalars.groupby("run", observed=False).size()
        status = data.runs.set_index("run")["status"]
        assert set(counts[status.index]) <= {0, 600}
        assert (counts[status.index[status == "finished"]] == 600).all()
    assert len(reads) > 1 and len(reader.read(db, use_cache=False).runs) == 40


def test_a_wal_mode_store_is_read_without_making_wal_or_shm_files(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    log_run(client, client.create_experiment("e"), "r", {"loss": [(0, 1.0), (1, 0.5)]})
    with sqlite3.connect(db) as conn:  # as a user who switched the store to WAL would
        conn.execute("PRAGMA journal_mode=WAL")
    assert db.read_bytes()[18] == 2  # the header says WAL
    assert sorted(p.name for p in db.parent.iterdir()) == ["mlflow.db"]
    data = read_unchanged(db, db.parent)
    assert data.scalars["value"].tolist() == [1.0, 0.5]


# ---------------------------------------------------------------- older schemas


MIGRATIONS = Path(mlflow.__file__).parent / "store" / "db_migrations"  # MLflow's alembic scripts


def older_store(source: Path, target: Path, revision: str | None) -> None:
    """*target*: MLflow's initial schema (its own models) migrated by its own alembic scripts up
    to *revision* (None: not at all), holding the rows of *source* that fit its columns."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    engine = sa.create_engine(f"sqlite:///{target}")
    InitialBase.metadata.create_all(engine)
    if revision is not None:
        config = Config(str(MIGRATIONS / "alembic.ini"))
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", f"sqlite:///{target}")
        command.upgrade(config, revision)
    old, new = sa.MetaData(), sa.MetaData()
    old.reflect(engine)
    origin = sa.create_engine(f"sqlite:///{source}")
    new.reflect(origin)
    with origin.connect() as src, engine.begin() as dst:
        for name in ("experiments", "runs", "params", "tags", "metrics"):
            columns = [new.tables[name].c[c.name] for c in old.tables[name].columns]
            rows = [dict(r._mapping) for r in src.execute(sa.select(*columns))]
            if rows:
                dst.execute(old.tables[name].insert(), rows)
    engine.dispose()
    origin.dispose()


def test_an_older_schema_is_read_as_it_is_and_never_migrated(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "new")
    experiment = client.create_experiment("old")
    run = log_run(client, experiment, "v1", {"loss": [(0, 2.0), (1, 1.0)]}, {"lr": "0.1"})
    old = tmp_path / "old" / "mlflow.db"
    old.parent.mkdir()
    older_store(db, old, OLD_REVISION)
    with sqlite3.connect(f"file:{old}?mode=ro", uri=True) as conn:
        assert reader.schema_version(conn) == OLD_REVISION

    data = read_unchanged(old, old.parent)
    assert data.runs.set_index("run").loc[run, "param:lr"] == "0.1"
    assert data.scalars["value"].tolist() == [2.0, 1.0]
    pd.testing.assert_frame_equal(data.scalars, reader.read(db, use_cache=False).scalars)

    # the fault this avoids: MLflow's own client migrates the store it is pointed at
    copy = tmp_path / "copy.db"
    shutil.copy(old, copy)
    MlflowClient(tracking_uri=f"sqlite:///{copy}").search_experiments()
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as conn:
        assert reader.schema_version(conn) != OLD_REVISION


def test_a_schema_without_a_needed_column_names_the_version_found(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "new")
    log_run(client, client.create_experiment("e"), "r", {"loss": [(0, 1.0)]})
    initial = tmp_path / "initial.db"
    older_store(db, initial, None)  # MLflow's initial schema: metrics have no step yet
    with pytest.raises(InputError) as error:
        read_unchanged(initial, initial)
    assert "schema version none (no alembic_version table" in str(error.value)
    assert "lacks metrics.step" in str(error.value) and str(initial) in str(error.value)


# ---------------------------------------------------------------- the file store


@pytest.fixture
def file_store(tmp_path, monkeypatch) -> tuple[Path, MlflowClient]:
    """(mlruns folder, client) written with MLFLOW_ALLOW_FILE_STORE=true."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlruns = tmp_path / "mlruns"
    return mlruns, MlflowClient(tracking_uri=str(mlruns))


def test_file_store_is_read_without_the_variable_mlflow_now_requires(
    file_store, empty_store, tmp_path, monkeypatch
):
    mlruns, client = file_store
    db, twin = new_store(empty_store, tmp_path / "twin")
    for store in (client, twin):  # the same runs into the file store and into a database
        experiment = store.create_experiment("mnist")
        log_run(store, experiment, "a", {"loss": [(0, 1.0), (1, 0.5)], "val/acc": [(1, 0.75)]})
        log_run(store, experiment, "b", {"loss": [(0, 2.0)]}, {"lr": "0.1"}, {"note": "x"})
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    with pytest.raises(MlflowException, match="MLFLOW_ALLOW_FILE_STORE"):
        MlflowClient(tracking_uri=f"file://{mlruns}").search_experiments()

    data = read_unchanged(mlruns, mlruns)
    assert reader.locate(tmp_path) == ("files", mlruns)
    from_db = reader.read(db, use_cache=False)
    columns = ["name", "status", "param:lr", "tag:note", reader.EXPERIMENT_NAME]
    pd.testing.assert_frame_equal(data.runs[columns], from_db.runs[columns])
    pd.testing.assert_frame_equal(by_name(data), by_name(from_db))
    assert data.warnings == []


def test_file_store_faults(file_store):
    mlruns, client = file_store
    live, gone = client.create_experiment("live"), client.create_experiment("gone")
    run = log_run(client, live, "cut", {"loss": [(0, 1.0), (1, math.nan), (2, math.inf)]})
    client.delete_run(log_run(client, live, "deleted", {"loss": [(0, 1.0)]}))
    log_run(client, gone, "in-deleted-experiment", {"loss": [(0, 1.0)]})
    client.delete_experiment(gone)
    broken = log_run(client, live, "broken", {"loss": [(0, 1.0)]})
    loss = mlruns / live / run / "metrics" / "loss"
    loss.write_bytes(loss.read_bytes() + b"17000000")  # a writer stopped mid-line
    (mlruns / live / broken / "meta.yaml").write_text("run_id: [unclosed\n")
    data = read_unchanged(mlruns, mlruns)
    assert data.runs["name"].tolist() == ["cut"]
    assert data.scalars["value"].tolist() == [1.0]
    assert warned(data, f"run 'cut' ({run})", "'loss'", "1 malformed line(s)", "line 4")
    assert warned(data, "metric 'loss'", "NaN", f"run 'cut' ({run}) at step(s) 1")
    assert warned(data, "metric 'loss'", "infinite", f"run 'cut' ({run}) at step(s) 2")
    assert warned(data, "2 deleted run(s) left out")
    assert warned(data, broken, "meta.yaml unreadable", "left out")


def test_a_folder_with_both_a_database_and_a_file_store_is_an_error(
    file_store, empty_store, tmp_path
):
    mlruns, client = file_store
    log_run(client, client.create_experiment("e"), "r", {"loss": [(0, 1.0)]})
    new_store(empty_store, tmp_path)
    with pytest.raises(InputError, match=r"both an MLflow database .* and a file store"):
        reader.read(tmp_path)
    assert reader.locate(mlruns) == ("files", mlruns)


def test_mlflow3_artifacts_folder_beside_the_database_is_not_a_file_store(empty_store, tmp_path):
    project = tmp_path / "project"
    db, client = new_store(empty_store, project)
    experiment = client.create_experiment("e", artifact_location=str(project / "mlruns" / "1"))
    run = log_run(client, experiment, "r", {"loss": [(0, 1.0)]})
    client.log_text(run, "hello", "notes.txt")
    assert (project / "mlruns" / "1" / run / "artifacts" / "notes.txt").is_file()
    assert reader.locate(project) == ("sqlite", db)
    assert read_unchanged(project, project).runs["run"].tolist() == [run]


def test_tags_written_as_run_tags_and_system_tags_are_kept(empty_store, tmp_path):
    db, client = new_store(empty_store, tmp_path / "store")
    run = log_run(client, client.create_experiment("e"), "r", {"loss": [(0, 1.0)]})
    client.log_batch(run, tags=[RunTag("mlflow.parentRunId", "p"), RunTag("team", "vision")])
    runs = read_unchanged(db, db.parent).runs
    assert runs.loc[0, "tag:mlflow.parentRunId"] == "p" and runs.loc[0, "tag:team"] == "vision"
