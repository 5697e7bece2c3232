"""The W&B reader (labbook.sources.trackers.wandb) on offline run folders written by wandb itself
(labbook.runner.trackerwrite.write_wandb; the run still being written by a wandb process alive
while it is read). Each read runs under the read-only audit hook and the folders are compared byte
for byte afterwards. The bad-input corpus: a run folder without its log, a log cut short, a
damaged log, a run still being written, NaN and infinite values, history values that are not
numbers, a resumed run that logged a step again, a run without the mapped attribute, two runs with
one name. Reports of every analysis built from W&B runs are compared with their JSON twins in
tests/test_tracker_reports.py (the shared build)."""

import math
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from labbook import paths
from labbook.guards import wandb as guard
from labbook.inputs import InputError
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import sparse_training as st_example
from labbook.sources import sparse_training_trackers as st_source
from labbook.sources import trackers
from labbook.sources.trackers import wandb as reader
from tests.readonly import read_only, snapshot

EPOCHS = 4
T0 = tw.TrackedRun("x").wall_time


def _doc(name, kind, scale):
    """A small sparse-training metrics document (float32-exact), *kind* None for none."""
    e = np.arange(1, EPOCHS + 1)
    metrics = {
        "train_loss": (2.3 - 0.3 * e * scale).tolist(),
        "val_accuracy": (20.0 + 9.7 * e * scale).tolist(),
        "activation_rates": [0.2, 0.1, 0.07, 0.06] if kind == "gated" else [1.0] * EPOCHS,
        "epoch_times": (14.0 * scale + 0.1 * e).tolist(),
    }
    metrics["energy_savings"] = [1 - r for r in metrics["activation_rates"]]
    config = {
        "target_activation_rate": 0.06 if kind == "gated" else 1.0,
        "lr": 1e-4,
        "epochs": EPOCHS,
    }
    doc = {"run": name, "kind": kind, "config": config, "metrics": metrics}
    return st_example.twin(doc)


DOCS = [
    _doc("vit gated", "gated", 1.0),
    _doc("baseline", "baseline", 1.5),
    _doc("sample by sample", "sample_by_sample", 2.0),
    _doc("sample by sample", "sample_by_sample", 3.0),  # two runs with one name
]


def _runs():
    runs = [st_example.tracked_run(doc) for doc in DOCS]
    steps = np.arange(1, EPOCHS + 1)
    notes = tw.TrackedRun(  # no `kind`; NaN at step 2, inf at step 3
        "notes",
        params={"lr": 0.5},
        tags={"simulated": True, "dataset": "cifar10"},
        scalars={"val_accuracy": (steps, np.array([0.5, math.nan, math.inf, 0.75]))},
    )
    return [*runs, notes]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A folder holding wandb/ with the five runs of _runs(), written once by wandb."""
    root = tmp_path_factory.mktemp("project")
    tw.write_wandb(root, _runs())
    return root


def read_unchanged(location, folder, **kw):
    """reader.read under the audit hook; *folder* must be left byte-identical."""
    before = snapshot(folder)
    with read_only(folder) as seen:
        data = reader.read(location, **kw)
    assert seen.writes == []
    assert snapshot(folder) == before
    return data


def warned(data, *parts) -> list[str]:
    return [w for w in data.warnings if all(p in w for p in parts)]


def run_of(data, name) -> str:
    (run,) = data.runs.loc[data.runs["name"] == name, "run"]
    return run


def folder_of(root, data, name):
    (folder,) = (root / "wandb").glob(f"offline-run-*-{run_of(data, name)}")
    return folder


# ---------------------------------------------------------------- what is read


def test_config_tags_summary_and_every_history_value_as_logged(store):
    data = read_unchanged(store, store, use_cache=False)
    assert data.tracker == "wandb" and trackers.is_simulated(data.runs)
    runs = data.runs.set_index("name")
    names = ["baseline", "notes", "sample by sample", "sample by sample", "vit gated"]
    assert list(data.runs["name"]) == names  # sorted by name, then id
    assert set(data.runs["status"]) == {"finished"}
    assert runs.loc["vit gated", "config:kind"] == "gated"
    assert (
        runs.loc["vit gated", "config:lr"] == 1e-4 and runs.loc["vit gated", "config:epochs"] == 4
    )
    assert runs.loc["notes", "config:dataset"] == "cifar10"  # a tag with a value: config
    assert pd.isna(runs.loc["notes", "config:kind"])
    assert data.runs["tag:simulated"].dtype == bool and data.runs["tag:simulated"].all()
    assert set(data.runs["tag:wandb.project"]) == {"examples"}
    assert not [c for c in data.runs if c.startswith("summary:")]  # each only a last value
    gated = data.scalars[data.scalars["run"] == run_of(data, "vit gated")]
    for key, values in DOCS[0]["metrics"].items():
        rows = gated[gated["key"] == key]
        assert rows["step"].tolist() == list(range(1, EPOCHS + 1))
        assert rows["value"].tolist() == values  # exact: wandb keeps float64 as JSON text
        assert rows["wall_time"].tolist() == [T0 + s for s in range(1, EPOCHS + 1)]


def test_the_folder_the_wandb_folder_a_run_folder_and_a_log_alike(store):
    whole = reader.read(store, use_cache=False)
    assert reader.read(store / "wandb", use_cache=False).runs.equals(whole.runs)
    folder = folder_of(store, whole, "baseline")
    (log,) = folder.glob("run-*.wandb")
    for source in (folder, log, f"wandb:{folder}"):
        one = trackers.read(str(source), use_cache=False)
        assert list(one.runs["name"]) == ["baseline"]
    for path in (store, store / "wandb", folder, log):
        assert trackers.detect(path) == ["wandb"]
    tw.write_tensorboard(store.parent / "both", [tw.TrackedRun("a", scalars={"x": ([1], [1.0])})])
    shutil.copytree(folder, store.parent / "both" / "wandb" / folder.name)
    with pytest.raises(InputError, match="looks like tensorboard and wandb at once"):
        trackers.read(str(store.parent / "both"))
    with pytest.raises(InputError, match="no W&B run folders here"):
        reader.read(store.parent / "both" / "a")


def test_a_second_read_comes_from_the_cache_without_wandb(store, monkeypatch):
    first = reader.read(store)
    monkeypatch.setattr(guard, "read_log", lambda data: pytest.fail("the log was decoded"))
    second = read_unchanged(store, store)
    assert second.from_cache and second.warnings == first.warnings
    pd.testing.assert_frame_equal(second.runs, first.runs)
    pd.testing.assert_frame_equal(second.scalars, first.scalars)


def test_without_wandb_the_error_names_the_extra(store, monkeypatch):
    monkeypatch.setattr(guard, "_PB", None)
    for name in ("wandb", "wandb.proto"):  # as if never installed
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(InputError, match=r"pip install 'labbook\[wandb\]'"):
        reader.read(store, use_cache=False)


# ---------------------------------------------------------------- bad input


def _copy(store, tmp_path):
    shutil.copytree(store, tmp_path / "copy", symlinks=True)
    return tmp_path / "copy"


def test_nan_and_infinite_values_are_left_out_naming_run_key_and_steps(store):
    data = reader.read(store, use_cache=False)
    notes = run_of(data, "notes")
    assert warned(
        data, "key `val_accuracy`: NaN or infinite values (left out) in 1 run(s)", "'notes'"
    )
    assert warned(data, f"run 'notes' ({notes}) at step(s) 2, 3")
    rows = data.scalars[data.scalars["run"] == notes]
    assert rows["step"].tolist() == [1, 4] and rows["value"].tolist() == [0.5, 0.75]


def test_a_run_folder_without_its_log_is_left_out_with_a_warning(store, tmp_path):
    copy = _copy(store, tmp_path)
    folder = folder_of(copy, reader.read(copy, use_cache=False), "baseline")
    (log,) = folder.glob("run-*.wandb")
    log.unlink()
    data = read_unchanged(copy, copy, use_cache=False)
    assert "baseline" not in set(data.runs["name"]) and len(data.runs) == 4
    assert warned(data, str(folder), f"has no transaction log {log.name}", "nothing read")


def _cut_inside_row(log, rows: int) -> int:
    """The byte offset inside the record that follows the *rows*-th history row of *log*."""
    data = log.read_bytes()
    starts = [pos for pos, _, _ in guard.chunks(data)]
    for a, b in zip(starts, starts[1:]):
        seen = [r for r in guard.read_log(data[:a]).records if isinstance(r, guard.Row)]
        if len(seen) == rows:
            return (a + b) // 2
    raise AssertionError(f"{log}: fewer than {rows} history rows")


def test_a_log_cut_short_or_damaged_keeps_the_records_before(store, tmp_path):
    copy = _copy(store, tmp_path)
    data = reader.read(copy, use_cache=False)
    (cut,) = folder_of(copy, data, "vit gated").glob("run-*.wandb")
    (bad,) = folder_of(copy, data, "baseline").glob("run-*.wandb")
    at = _cut_inside_row(cut, 2)
    with open(cut, "r+b") as f:
        f.truncate(at)
    flip = bytearray(bad.read_bytes())
    flip[_cut_inside_row(bad, 3)] ^= 0xFF
    bad.write_bytes(bytes(flip))
    data = read_unchanged(copy, copy, use_cache=False)
    gated, base = run_of(data, "vit gated"), run_of(data, "baseline")
    assert warned(
        data, f"run 'vit gated' ({gated})", str(cut), "(cut short, or still being written)"
    )
    assert warned(data, f"run 'baseline' ({base})", str(bad), "checksum mismatch", "(damaged)")
    steps = data.scalars.groupby("run", observed=True)["step"].max()
    assert (steps[gated], steps[base]) == (2, 3)  # the rows before the damage
    status = data.runs.set_index("name")["status"]
    assert status["vit gated"] == status["baseline"] == "running"  # no exit record read
    assert warned(data, "2 run(s) have no exit record", "'baseline'", "'vit gated'")


def _kill_group(proc) -> None:
    """Kill the process group *proc* leads (wandb's service with it), if any is left."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


LIVE = """
import sys, time
import wandb
run = wandb.init(dir=sys.argv[1], project="live", name="still writing", config={"seed": 3},
                 settings=wandb.Settings(**%r))
for step in range(400):
    run.log({"loss": 1.0 / (step + 1), "note": "text", "ok": True}, step=step)
print("logged", flush=True)
time.sleep(120)
"""


def test_a_run_still_being_written_is_read_as_running_with_its_rows_so_far(tmp_path):
    env = dict(os.environ, WANDB_SILENT="true")
    env.update({f"WANDB_{d}_DIR": str(tmp_path / "home") for d in ("CONFIG", "CACHE", "DATA")})
    code = textwrap.dedent(LIVE % (tw.WANDB_SETTINGS,))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready and proc.stdout.readline() == b"logged\n"
        deadline = time.monotonic() + 30
        while not [p for p in tmp_path.glob("wandb/*/run-*.wandb") if p.stat().st_size > 20_000]:
            assert time.monotonic() < deadline, "wandb wrote no history within 30 s"
            time.sleep(0.1)
        with read_only(tmp_path) as seen:  # wandb itself writes on: no byte snapshot here
            data = reader.read(tmp_path, use_cache=False)
        assert seen.writes == []
    finally:
        _kill_group(proc)
    assert list(data.runs["status"]) == ["running"]
    assert warned(data, "1 run(s) have no exit record (still being written", "'still writing'")
    assert data.runs["config:seed"].tolist() == [3.0]
    steps = data.scalars["step"].tolist()
    assert 0 < len(steps) <= 400 and steps == list(range(len(steps)))
    assert warned(data, "history values of kind text are not scalars (left out): `note`")
    assert warned(data, "history values of kind bool are not scalars (left out): `ok`")


RESUMED = """
import sys
import time
import wandb
for part in range(2):  # the second process resumes the run and logs step 2 again
    if part:  # a run folder is named by its start second: the resumed one must start in another
        time.sleep(1.05 - time.time() %% 1)
    run = wandb.init(dir=sys.argv[1], project="p", name="resumed", id="resumed1", resume="allow",
                     config={"lr": 0.1, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}},
                     settings=wandb.Settings(**%r))
    for step in range(3):
        run.log({"loss": 10.0 * part + step}, step=step + 2 * part)
    run.summary["best_loss"] = 0.5  # a summary value of the run's own
    run.finish()
wandb.teardown()
"""


def test_a_resumed_run_is_read_from_both_folders_and_a_step_logged_twice_keeps_the_last(tmp_path):
    env = dict(os.environ, WANDB_SILENT="true")
    env.update({f"WANDB_{d}_DIR": str(tmp_path / "home") for d in ("CONFIG", "CACHE", "DATA")})
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RESUMED % (tw.WANDB_SETTINGS,)), str(tmp_path)],
        env=env,
        start_new_session=True,
    )
    try:
        assert proc.wait(120) == 0
    finally:
        _kill_group(proc)
    assert len(list(tmp_path.glob("wandb/offline-run-*-resumed1"))) == 2
    data = read_unchanged(tmp_path / "wandb", tmp_path / "wandb", use_cache=False)
    assert list(data.runs["run"]) == ["resumed1"] and list(data.runs["status"]) == ["finished"]
    assert data.scalars["step"].tolist() == [0, 1, 2, 3, 4]
    attributes = data.runs.drop(columns=["run", "name", "status"]).iloc[0].to_dict()
    assert attributes == {  # nested config flattened, a list as JSON; summary:loss only repeats
        "config:lr": 0.1,
        "config:optimizer.name": "adam",
        "config:optimizer.betas": "[0.9, 0.99]",
        "summary:best_loss": 0.5,
        "tag:wandb.project": "p",
    }
    assert data.scalars["value"].tolist() == [0.0, 1.0, 10.0, 11.0, 12.0]
    assert warned(data, "run 'resumed' (resumed1) was resumed: read from 2 folders")
    assert warned(
        data,
        "key `loss`: more than one value logged at one step (the last value written kept)",
        "run 'resumed' (resumed1) at step(s) 2",
    )


def test_a_run_without_the_mapped_attribute_and_two_runs_with_one_name(store):
    data = read_unchanged(store, store)
    twins = data.runs.loc[data.runs["name"] == "sample by sample", "run"].tolist()
    assert warned(data, "2 runs share the name 'sample by sample'", *twins)
    with pytest.raises(InputError, match=r"2 runs are named 'sample by sample' \(run_names"):
        st_source.from_tracker(
            data, run_names={"gated": "vit gated", "sample_by_sample": "sample by sample"}
        )
    got = st_source.from_tracker(data, run_names={"gated": "vit gated", "sample_by_sample": ""})
    assert got.warnings == [
        f"{store}: 1 run(s) have no `kind` attribute (kind_from) and are left out: 'notes'"
    ]
    assert got.gated.epochs["train_loss"].tolist() == DOCS[0]["metrics"]["train_loss"]
    assert got.baseline.name == "baseline"
