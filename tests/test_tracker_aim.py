"""The tracker layer's Aim reader (labbook.sources.trackers.aim) and the read side of its guard
(labbook.guards.aim), on repositories written by aim's SDK: what aim's own API reads, read
without a write (audit hook and byte snapshot), and the faults: a damaged run, a damaged
write-ahead log, a run still being written, unindexed runs, NaN and infinite values, values
without an epoch, two values at one epoch or step, runs sharing a name, archived runs, runs the
run-metadata database does not list, an empty repository, a folder without .aim, a corrupted
index; then the cache."""

import functools
import multiprocessing
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.extras import WITHOUT_AIM

pytest.importorskip("aim", reason=WITHOUT_AIM)

from labbook import inputs, paths
from labbook.guards import aim as guard
from labbook.inputs import InputError
from labbook.runner import examples, trackerwrite
from labbook.runner.tracker_examples import moe as moe_examples
from labbook.sources import trackers
from labbook.sources.trackers import aim as reader
from tests.readonly import read_only, snapshot


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """Four MoE runs in the seed's layout (tags, hparams, val/train contexts), indexed."""
    root = tmp_path_factory.mktemp("aim") / "repo"
    specs = moe_examples.aim_runs(
        examples.moe_run_values, moe_types=("softmoe", "ffn"), seeds=2, epochs=3
    )
    return moe_examples.write_aim_twin(root, specs)


def _copy(repo, tmp_path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(repo, root)
    return root


def _name(data, name) -> pd.DataFrame:
    """The scalars of the run called *name*."""
    run = data.runs.loc[data.runs["name"] == name, "run"].item()
    return data.scalars[data.scalars["run"] == run]


def _written(root, *specs):
    """Write runs in this process through the guard: (name, experiment, fill(run)) each."""
    from aim import Repo

    if not (root / ".aim").is_dir():
        Repo.from_path(str(root), init=True)
    hashes = []
    for name, experiment, fill in specs:
        with guard.writing_run(str(root), experiment) as run:
            run.name = name
            fill(run)
            hashes.append(run.hash)
    return hashes


def test_reads_what_aims_public_api_reads(repo):
    """Names, experiments, tags, hparams, status, and every metric's steps, values, epochs and
    times are what aim.Run gives; the epochs become the steps with step_from="epoch"."""
    from aim import Repo, Run

    data = reader.read(repo, use_cache=False)
    by_epoch = reader.read(repo, use_cache=False, step_from="epoch")
    assert data.warnings == [] and len(data.runs) == 4
    aim_repo = Repo(str(repo))
    for h in aim_repo.list_all_runs():
        run = Run(h, repo=aim_repo, read_only=True)
        row = data.runs.set_index("run").loc[h]
        assert (row["name"], row["status"], row["tag:aim.experiment"]) == (
            run.name,
            "finished",
            run.experiment,
        )
        assert sorted(t for t in run.tags) == sorted(
            c[4:] for c in data.runs.columns if c.startswith("tag:") and str(row[c]) == "True"
        )
        assert {k: row[f"hparam:{k}"] for k in run["hparams"]} == run["hparams"]
        assert bool(row["param:simulated"]) and data.runs["param:simulated"].dtype == bool
        for metric, context, _ in run.iter_metrics_info():
            steps, (values, epochs, times) = (
                run.get_metric(metric, context).data.view(["val", "epoch", "time"]).numpy()
            )
            key = f"{metric}[subset:{context.to_dict()['subset']}]"
            got = data.scalars[(data.scalars["run"] == h) & (data.scalars["key"] == key)]
            assert got["step"].tolist() == list(steps)
            assert got["value"].tolist() == [float(v) for v in values]
            assert got["wall_time"].tolist() == [float(t) for t in times]
            again = by_epoch.scalars[
                (by_epoch.scalars["run"] == h) & (by_epoch.scalars["key"] == key)
            ]
            assert again["step"].tolist() == [int(e) for e in epochs]


def test_the_guards_decoding_is_aims_encoding():
    """Keys and values encoded by the installed aim decode to what was encoded."""
    from aim.storage import encoding
    from aim.storage.utils import ArrayFlag

    for path in [("seqs", "v2", "chunks", "abc", -8686149688933388395, "loss", "val"), (0, "é")]:
        key = encoding.encode_path(path)
        assert guard.decode_path(key) == list(path) and guard.encode_path(path) == key
    for value in [None, True, False, 3, -(2**40), 1.5, float("inf"), "ab", b"\x00"]:
        assert guard.decode_value(encoding.encode(value)) == value
    items = [
        (encoding.encode_path(("a", "x", i)), encoding.encode(v))
        for i, v in enumerate([1, 2.5, None])
    ]
    flag = (encoding.encode_path(("a", "x")), encoding.encode(ArrayFlag))
    ((parts, numbers),) = guard.arrays([flag, *items])
    assert parts == ["a", "x"] and numbers[:2].tolist() == [1.0, 2.5] and np.isnan(numbers[2])
    other = [(encoding.encode_path(("b", "y")), encoding.encode(ArrayFlag))]
    other.append((encoding.encode_path(("b", "y", 0)), encoding.encode(7)))
    ((parts, numbers),) = guard.arrays([flag, *items, *other], encoding.encode_path(("a",)))
    assert parts == ["x"] and numbers[:2].tolist() == [1.0, 2.5]  # only the arrays under "a"


def test_several_reading_processes_read_what_one_reads(repo, monkeypatch):
    """With many runs the runs are shared out among processes (here forced on four runs): the
    tables are those one process reads, the store is left as it was (the audit hook cannot see
    into a forked reader: the byte snapshot does); a reading process that dies is an error."""
    alone = reader.read(repo, use_cache=False)
    monkeypatch.setattr(reader, "PARALLEL_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    before = snapshot(repo)
    shared = reader.read(repo, use_cache=False)
    assert snapshot(repo) == before
    pd.testing.assert_frame_equal(shared.scalars, alone.scalars)
    pd.testing.assert_frame_equal(shared.runs, alone.runs)
    assert shared.warnings == alone.warnings == []
    monkeypatch.setattr(reader, "_child", lambda *args: os._exit(3))
    with pytest.raises(RuntimeError, match=r"ended without its runs \(exit code 3\)"):
        reader.read(repo, use_cache=False)


def test_trackerwrite_runs_read_back_and_mark_the_store_simulated(tmp_path):
    """run["params"] and run["tags"] (trackerwrite.write_aim) read back as param:<k> and
    tag:<k>; keys of an empty context are the metric's name; the store's runs say simulated."""
    steps = np.arange(3)
    runs = [
        trackerwrite.TrackedRun(
            f"r{i}",
            {"lr": 0.1 * (i + 1), "seed": i},
            {"simulated": True, "method": "m"},
            {"train/loss": (steps, trackerwrite.float32_exact([0.5, 0.25, 0.125 + i]))},
        )
        for i in range(2)
    ]
    trackerwrite.write_aim(tmp_path, runs)
    inputs.clear()
    data = trackers.read(str(tmp_path))  # a folder holding .aim is Aim's
    assert data.tracker == "aim" and data.runs["name"].tolist() == ["r0", "r1"]
    assert data.runs["param:lr"].tolist() == [0.1, 0.2] and data.runs["param:seed"].tolist() == [
        0,
        1,
    ]
    assert data.runs["tag:simulated"].tolist() == [True, True]
    assert set(data.scalars["key"]) == {"train/loss"}
    assert _name(data, "r1")["value"].tolist() == [0.5, 0.25, 1.125]
    assert [r.get("simulated") for r in inputs.recorded() if r["path"] == str(tmp_path)] == [True]


def test_a_damaged_run_is_named_and_left_out_and_the_store_is_untouched(repo, tmp_path):
    root = _copy(repo, tmp_path)
    victim = sorted((root / ".aim" / "seqs" / "chunks").iterdir())[0].name
    for f in (root / ".aim" / "seqs" / "chunks" / victim).glob("MANIFEST-*"):
        f.write_bytes(b"garbage" * 50)
    before = snapshot(root)
    with read_only(root) as seen:
        data = reader.read(root, use_cache=False)
    assert seen.writes == [] and snapshot(root) == before
    assert victim not in set(data.runs["run"]) and len(data.runs) == 3
    (message,) = [w for w in data.warnings if victim in w]
    assert "cannot be read and is left out: Corruption" in message and "MANIFEST" in message


def test_a_damaged_write_ahead_log_writes_no_rocksdb_files(repo, tmp_path):
    """The LOG-files fault: aim's own read path reopens a database whose log is not empty
    writable (new LOG.old, MANIFEST, OPTIONS files in the user's .aim); ours opens it read-only."""
    from aim import Repo, Run

    root = _copy(repo, tmp_path)
    victim = sorted((root / ".aim" / "seqs" / "chunks").iterdir())[0]
    for f in victim.glob("*.log"):
        f.write_bytes(b"garbage" * 500)
    before = snapshot(root)
    with read_only(root) as seen:
        data = reader.read(root, use_cache=False)
    assert seen.writes == [] and snapshot(root) == before and len(data.runs) == 4
    run = Run(victim.name, repo=Repo(str(root)), read_only=True)  # aim's own reader, for contrast
    name, context, _ = next(iter(run.iter_metrics_info()))
    run.get_metric(name, context).values.values_list()
    added = sorted(set(snapshot(root)) - set(before))
    assert any(Path(p).name.startswith("LOG.old") for p in added), added


def _crash_while_writing(root: str) -> None:
    """Open a run, track five values, and die without closing it (a writer killed mid-run)."""
    run = guard.open_run(root, "exp")
    run.name = "crashed"
    run["hparams"] = {"seed": 1}
    for i in range(5):
        run.track(float(i), name="loss", step=i, epoch=i + 1)
    os._exit(0)


def test_a_run_still_being_written_is_read_from_its_log_and_named(tmp_path):
    from aim import Repo

    Repo.from_path(str(tmp_path), init=True)
    proc = multiprocessing.get_context("spawn").Process(
        target=_crash_while_writing, args=(str(tmp_path),)
    )
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0
    before = snapshot(tmp_path)
    with read_only(tmp_path) as seen:
        data = reader.read(tmp_path, use_cache=False)
    assert seen.writes == [] and snapshot(tmp_path) == before
    assert data.runs["status"].tolist() == ["running"]
    assert _name(data, "crashed")["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert any("not finished in Aim" in w and "'crashed'" in w for w in data.warnings)


def test_unindexed_runs_are_read_and_named(tmp_path):
    specs = moe_examples.aim_runs(examples.moe_run_values, moe_types=("ffn",), seeds=2, epochs=2)
    examples.write_aim_runs(tmp_path, specs, init=True, index=False)
    data = reader.read(tmp_path, use_cache=False)
    assert len(data.runs) == 2 and len(data.scalars) == 2 * (4 * 2 + 1)
    (late,) = [w for w in data.warnings if "not in the repository's index" in w]
    assert "ffn-cifar10-s0" in late and "ffn-cifar10-s1" in late
    assert sorted(reader.unindexed(tmp_path)) == sorted(data.runs["run"])
    indexed = _copy(tmp_path, tmp_path / "copy")
    reader.reindex(indexed)
    again = reader.read(indexed, use_cache=False)
    assert again.warnings == [] and reader.unindexed(indexed) == []
    pd.testing.assert_frame_equal(again.scalars, data.scalars)


def _faulty_values(run):
    run.track(1.0, name="loss", step=0, epoch=1, context={"subset": "val"})
    run.track(float("nan"), name="loss", step=1, epoch=1, context={"subset": "val"})
    run.track(float("inf"), name="loss", step=2, epoch=2, context={"subset": "val"})
    run.track(2.0, name="loss", step=3, epoch=2, context={"subset": "val"})
    run.track(3.0, name="loss", step=4, context={"subset": "val"})  # no epoch
    run.track(5.0, name="acc", step=0, epoch=1)
    run.track(6.0, name="acc", step=0, epoch=1)  # the same step again: aim keeps this one


def test_nan_infinite_epochless_and_repeated_values(tmp_path):
    _written(tmp_path, ("faulty", "exp", _faulty_values))
    data = reader.read(tmp_path, use_cache=False)
    loss = _name(data, "faulty")
    assert loss[loss["key"] == "loss[subset:val]"][["step", "value"]].values.tolist() == [
        [0, 1.0],
        [3, 2.0],
        [4, 3.0],
    ]
    assert loss[loss["key"] == "acc"]["value"].tolist() == [6.0]  # one value per step in aim
    warned = "\n".join(data.warnings)
    assert "metric 'loss[subset:val]': NaN values (left out) in 1 run(s): run 'faulty'" in warned
    assert (
        "infinite values (left out) in 1 run(s): run 'faulty'" in warned and "step(s) 2" in warned
    )
    by_epoch = reader.read(tmp_path, use_cache=False, step_from="epoch")
    loss = _name(by_epoch, "faulty")
    assert loss[loss["key"] == "loss[subset:val]"][["step", "value"]].values.tolist() == [
        [1, 1.0],
        [2, 2.0],
    ]
    warned = "\n".join(by_epoch.warnings)
    assert (
        "'loss[subset:val]': values without an epoch (left out)" in warned and "step(s) 4" in warned
    )


def test_two_values_at_one_epoch_keep_the_later_step(tmp_path):
    def per_batch(run):
        for step, (epoch, value) in enumerate([(1, 0.5), (1, 0.4), (2, 0.3), (2, 0.2)]):
            run.track(value, name="loss", step=step, epoch=epoch)

    _written(tmp_path, ("batches", "exp", per_batch))
    data = reader.read(tmp_path, use_cache=False, step_from="epoch")
    assert _name(data, "batches")[["step", "value"]].values.tolist() == [[1, 0.4], [2, 0.2]]
    (w,) = [w for w in data.warnings if "one epoch" in w]
    assert "the one at the later step kept" in w and "step(s) 0, 2" in w


def _attributes(run):
    run["params"] = {"lr": 0.1, "opt": {"name": "adam"}}
    run["tags"] = {"simulated": True, "cifar10": "yes"}
    run["hparams"] = {"seed": 3, "layers": [1, 2]}
    run["lr"] = 0.5  # shadowed by run["params"]["lr"]
    run["notes"] = "first try"
    run.add_tag("cifar10")
    run.track(7, name="count", step=0, context={"subset": "val", "fold": 1, "flag": True})


def test_attributes_contexts_and_experiment(tmp_path):
    _written(tmp_path, ("attrs", "sweep-1", _attributes))
    data = reader.read(tmp_path, use_cache=False)
    row = data.runs.iloc[0].dropna().to_dict()
    assert {k: v for k, v in row.items() if ":" in k} == {
        "param:lr": 0.1,
        "param:opt.name": "adam",
        "param:notes": "first try",
        "hparam:seed": 3,
        "hparam:layers": "[1, 2]",
        "tag:simulated": True,
        "tag:cifar10": "yes",  # run["tags"] wins over the aim tag of the same name
        "tag:aim.experiment": "sweep-1",
    }
    assert any("share a name" in w and "'attrs'" in w and ": lr" in w for w in data.warnings)
    assert set(data.scalars["key"]) == {"count[flag:true,fold:1,subset:val]"}
    assert mapping_keys_match(data, "count[flag:true,fold:{fold},subset:val]")


def mapping_keys_match(data, template) -> bool:
    from labbook.sources.trackers import mapping

    rows = mapping.series(data.scalars, template, "keys.count", data.location)
    return rows["fold"].tolist() == ["1"]


def test_shared_names_archived_runs_and_runs_the_database_does_not_list(tmp_path):
    def archived(run):
        run.archived = True
        run.track(1.0, name="loss", step=0)

    def plain(run):
        run.track(2.0, name="loss", step=0)

    hashes = _written(tmp_path, ("twin", "e", plain), ("twin", "e", archived), ("solo", "e", plain))
    conn = sqlite3.connect(tmp_path / ".aim" / "run_metadata.sqlite")
    conn.execute("DELETE FROM run WHERE hash = ?", (hashes[2],))
    conn.commit()
    conn.close()
    data = reader.read(tmp_path, use_cache=False)
    assert len(data.runs) == 3 and hashes[2] in set(data.runs["name"])  # named by its hash
    warned = "\n".join(data.warnings)
    assert "2 runs share the name 'twin' (the name alone does not tell them apart)" in warned
    assert f"1 archived run(s) (kept): run 'twin' ({hashes[1]})" in warned
    assert "missing from the repository's run-metadata database" in warned and hashes[2] in warned


def test_empty_repository_missing_path_file_and_folder_without_aim(tmp_path):
    from aim import Repo

    Repo.from_path(str(tmp_path / "empty"), init=True)
    data = reader.read(tmp_path / "empty", use_cache=False)
    assert data.runs.empty and data.scalars.empty
    assert data.warnings == [f"{tmp_path / 'empty'}: the repository holds no readable run"]
    with pytest.raises(InputError, match="source not found"):
        reader.read(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="got a file"):
        reader.read(tmp_path / "file")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="no .aim folder here"):
        reader.read(tmp_path / "plain")
    assert list((tmp_path / "plain").iterdir()) == []


def test_a_corrupted_index_is_passed_by(repo, tmp_path):
    """aim marks a damaged index with .corrupted: every run is then read from its own data."""
    root = _copy(repo, tmp_path)
    (root / ".aim" / "meta" / "index" / ".corrupted").write_text("")
    data = reader.read(root, use_cache=False)
    expected = reader.read(repo, use_cache=False)
    pd.testing.assert_frame_equal(data.scalars, expected.scalars)
    pd.testing.assert_frame_equal(data.runs, expected.runs)
    assert any("not in the repository's index" in w for w in data.warnings)


def test_the_cache_is_keyed_by_the_run_data(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    root = _copy(repo, tmp_path)
    first = reader.read(root)
    second = reader.read(root)
    assert not first.from_cache and second.from_cache and second.digest == first.digest
    pd.testing.assert_frame_equal(first.scalars, second.scalars)
    pd.testing.assert_frame_equal(first.runs, second.runs)
    assert not reader.read(root, step_from="epoch").from_cache  # another table, another entry
    assert not list(root.rglob("*.arrow"))
    _written(root, ("late", "e", lambda run: run.track(1.0, name="loss", step=0)))
    third = reader.read(root)
    assert not third.from_cache and len(third.runs) == 5


def _track_as_accelerate(run, spec) -> None:
    """What Hugging Face accelerate's AimTracker does with a run (aim.Run(repo=...) with aim's
    defaults, then `writer.name`, `writer["hparams"]`, one `writer.track(value, name, step)` per
    logged key, aim.Image for log_images), plus a text per step as Lightning users log samples,
    and a line printed per step (kept by aim's terminal-log capture, on by default)."""
    from aim import Image, Text

    run.name = spec.name
    run["hparams"] = spec.attrs["hparams"]
    for series in spec.series:
        for i, step in enumerate(series.steps.tolist()):
            for name, values in series.values.items():
                print(f"step {step}: {name} = {values[i]:.4f}", flush=True)
                run.track(values[i].item(), name=name, step=step, context=series.context)
            run.track(Text(f"sample at step {step}"), name="generated", step=step)
            run.track(Image(np.full((4, 4, 3), step, dtype=np.uint8)), name="images", step=step)


def _with_aims_defaults() -> None:
    """Initializer of aimwrite's writing process: runs opened with aim's defaults (terminal-log
    capture, system tracking, system params; still without the status reporter that can hang
    Run.close) and tracked as accelerate does. Every step keeps aimwrite's limits."""
    from labbook.runner import aimwrite

    aimwrite.aim_guard.open_run = functools.partial(aimwrite.aim_guard.open_run, aim_defaults=True)
    aimwrite.track_run = _track_as_accelerate


def test_runs_with_aims_defaults_texts_and_images_are_read(tmp_path):
    """A repository as accelerate's AimTracker leaves it (aim's defaults: terminal output under the
    `logs` trace, system metrics, system params; texts and images tracked): every run is read,
    the tracked numbers are the values tracked, the system metrics are what aim's SDK reads, and
    the traces that are not numbers are named in one warning. Before, every run was left out
    (IndexError: aim keeps such data apart, under an empty value)."""
    from aim import Repo, Run

    steps = np.arange(4)
    specs = [
        examples.AimRun(
            name=f"accelerate-{i}",
            experiment=None,
            tags=(),
            attrs={"hparams": {"lr": 0.001 * (i + 1), "seed": i}},
            series=(
                examples.AimSeries(
                    {}, steps, steps, {"train_loss": 1.0 / (steps + 1) + i, "accuracy": steps / 4}
                ),
            ),
        )
        for i in range(5)
    ]
    examples.write_aim_runs(tmp_path, specs, init=True, index=True, initializer=_with_aims_defaults)
    before = snapshot(tmp_path)
    with read_only(tmp_path) as seen:
        data = reader.read(tmp_path, use_cache=False)
    assert seen.writes == [] and snapshot(tmp_path) == before
    assert data.runs["name"].tolist() == [s.name for s in specs]
    assert data.runs["hparam:seed"].tolist() == [0, 1, 2, 3, 4]
    assert data.runs["tag:aim.experiment"].tolist() == ["default"] * 5
    for spec in specs:
        got = _name(data, spec.name)
        for key, values in spec.series[0].values.items():
            mine = got[got["key"] == key]
            assert mine["step"].tolist() == steps.tolist()
            assert mine["value"].tolist() == values.tolist()
    aim_repo = Repo(str(tmp_path))
    system = 0
    for h in aim_repo.list_all_runs():
        run = Run(h, repo=aim_repo, read_only=True)
        for metric, context, _ in run.iter_metrics_info():
            steps_read, (values,) = run.get_metric(metric, context).data.view(["val"]).numpy()
            got = data.scalars[(data.scalars["run"] == h) & (data.scalars["key"] == metric)]
            assert got["step"].tolist() == list(steps_read)
            assert got["value"].tolist() == [float(v) for v in values]
            system += metric.startswith("__system__")
    assert system > 0  # aim tracks the system metrics once as the run starts
    (warned,) = [w for w in data.warnings if "not numbers" in w]
    for what in ("'generated' (texts)", "'images' (images)", "'logs' (terminal output"):
        assert f"{what}" in warned
    assert warned.count("in 5 run(s)") == 3
    assert not any("cannot be read" in w for w in data.warnings)


def test_a_blob_reads_as_blob_and_an_attribute_keeps_its_other_fields():
    """aim's BLOB_SENTINEL (the empty value of a key whose data live under BLOBS) is BLOB, never an
    IndexError; an object attribute's blob field is left out of the attributes."""
    from aim.storage import encoding
    from aim.storage.rockscontainer import BLOB_DOMAIN, BLOB_SENTINEL

    assert guard.BLOB_SENTINEL == BLOB_SENTINEL and BLOB_DOMAIN == b"BLOBS" + guard.SENTINEL
    assert guard.decode_value(BLOB_SENTINEL) is guard.BLOB
    prefix = encoding.encode_path(("attrs",))
    items = [
        (prefix + encoding.encode_path(("picture",)), encoding.encode(encoding.ObjectFlag)),
        (prefix + encoding.encode_path(("picture", "data")), BLOB_SENTINEL),
        (prefix + encoding.encode_path(("picture", "width")), encoding.encode(4)),
    ]
    tree = guard.decode_tree(items, prefix)
    assert tree == {"picture": {"data": guard.BLOB, "width": 4}}
    assert reader.attributes(tree, (), None) == ({"param:picture.width": 4}, [])
