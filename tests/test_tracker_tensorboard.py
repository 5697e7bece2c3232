"""The TensorBoard reader (labbook.sources.trackers.tensorboard) on event files written by the
writers themselves: tensorboardX (simple_value, add_hparams, histograms, images), TensorBoard's
own `tensorboard.summary.Writer` (tensor-encoded scalars) and TF2's layout (tensor_content, the
scalars metadata on a tag's first value only) built from TensorBoard's own protos and written by
its event writer. Every read is checked read-only (audit hook) and the store byte-identical."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from readonly import read_only, snapshot

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources import trackers
from labbook.sources.trackers import tensorboard as tb

WALL = 1.7e9


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test caches into its own folder."""
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")


def read(store: Path, **kwargs) -> trackers.TrackerData:
    """tb.read, checked to leave *store* alone: nothing opened for writing, no file added,
    removed or changed."""
    before = snapshot(store)
    with read_only(store) as seen:
        data = tb.read(store, **kwargs)
    assert seen.writes == []
    assert snapshot(store) == before
    return data


def tbx(folder: Path, series: dict[str, list], suffix: str = "", hparams=None):
    """Write a run with tensorboardX: {tag: [(step, value), ...]} as simple_value scalars,
    wall time WALL + step."""
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(folder), filename_suffix=suffix) as w:
        for tag, points in series.items():
            for step, value in points:
                w.add_scalar(tag, value, step, walltime=WALL + step)
        if hparams is not None:
            w.add_hparams(hparams, {"hparam/accuracy": 0.5}, name="session")


def tf2(folder: Path, tag: str, points: list, dtype: str = "float32", suffix: str = ""):
    """Write a run in TF2's layout with TensorBoard's own protos and event writer: each value a
    tensor of shape [] in tensor_content, the scalars metadata on the first value only."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.scalar import metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    w = EventFileWriter(str(folder), filename_suffix=suffix)
    types = {"float32": types_pb2.DT_FLOAT, "float64": types_pb2.DT_DOUBLE}
    for i, (step, value) in enumerate(points):
        tensor = tensor_pb2.TensorProto(
            dtype=types[dtype],
            tensor_shape=TensorShapeProto(),
            tensor_content=np.array(value, dtype).tobytes(),
        )
        v = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
        if i == 0:
            v.metadata.CopyFrom(metadata.create_summary_metadata("", ""))
        w.add_event(
            event_pb2.Event(
                wall_time=WALL + step, step=step, summary=summary_pb2.Summary(value=[v])
            )
        )
    w.close()


def tb_writer(folder: Path, series: dict[str, list]):
    """Write a run with TensorBoard's own summary writer (tensor-encoded scalars, float_val,
    metadata on every value)."""
    from tensorboard.summary import Writer

    w = Writer(str(folder))
    for tag, points in series.items():
        for step, value in points:
            w.add_scalar(tag, value, step, wall_time=WALL + step)
    w.close()


def values(data, run: str, key: str) -> list[tuple[int, float]]:
    s = data.scalars
    rows = s[(s["run"] == run) & (s["key"] == key)]
    return list(zip(rows["step"].tolist(), rows["value"].tolist(), strict=True))


def event_file(folder: Path) -> Path:
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def said(data, *words) -> list[str]:
    """The warnings containing every one of *words*."""
    return [w for w in data.warnings if all(x in w for x in words)]


# ---------------------------------------------------------------- what is read


def test_three_writers_read_alike(tmp_path):
    """simple_value (tensorboardX), float_val tensors (TensorBoard's writer) and tensor_content
    tensors in TF2's layout (metadata once, float32 and float64) give the same tables."""
    points = [(s, 0.5 + 0.25 * s) for s in range(6)]
    tbx(tmp_path / "store" / "a", {"loss": points})
    tb_writer(tmp_path / "store" / "b", {"loss": points})
    tf2(tmp_path / "store" / "c", "loss", points)
    tf2(tmp_path / "store" / "d", "loss", points, dtype="float64")
    data = read(tmp_path / "store")
    assert data.runs["run"].tolist() == ["a", "b", "c", "d"]
    assert data.runs["name"].tolist() == ["a", "b", "c", "d"]
    for run in "abcd":
        assert values(data, run, "loss") == points
    assert data.warnings == []
    s = data.scalars
    assert list(s.columns) == trackers.SCALAR_COLUMNS
    assert s["wall_time"].tolist() == [WALL + p[0] for p in points] * 4
    assert s["step"].dtype == np.int64 and s["value"].dtype == np.float64
    assert list(s["run"].cat.categories) == ["a", "b", "c", "d"]


def test_vectorised_decoder_takes_scalar_events(tmp_path, monkeypatch):
    """Only the records that are not one-value scalar events (here: each file's version record)
    reach protobuf; forcing every record through protobuf gives the identical tables."""
    points = [(s, float(s) ** 0.5) for s in range(50)]
    tbx(tmp_path / "store" / "a", {"x": points, "y": points})
    tb_writer(tmp_path / "store" / "b", {"x": points})
    tf2(tmp_path / "store" / "c", "x", points, dtype="float64")
    parsed = []
    full = tb.decode_full
    monkeypatch.setattr(tb, "decode_full", lambda p, o: parsed.append(o) or full(p, o))
    fast = tb.read(tmp_path / "store", use_cache=False)
    assert parsed == [0, 0, 0]
    fast_decode = tb.decode_fast

    def nothing_fast(buf, start, end):
        out = fast_decode(buf, start, end)
        out.ok[:] = False
        return out

    monkeypatch.setattr(tb, "decode_fast", nothing_fast)
    slow = tb.read(tmp_path / "store", use_cache=False)
    pd.testing.assert_frame_equal(slow.scalars, fast.scalars)
    assert len(fast.scalars) == 200


def test_values_match_tensorboards_own_reader(tmp_path):
    """Every value, step and wall time as TensorBoard's EventAccumulator reads them (integer,
    float and double tensors; a negative step; several values in one event)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    folder = tmp_path / "store" / "run"
    w = EventFileWriter(str(folder))
    for step in (-3, 0, 1, 300, 2**40):
        summary = summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(tag="a", simple_value=step / 7),
                summary_pb2.Summary.Value(tag="b", simple_value=-step / 3),
            ]
        )
        w.add_event(event_pb2.Event(wall_time=WALL + step / 1e3, step=step, summary=summary))
    w.close()
    tb_writer(tmp_path / "store" / "t", {"c": [(1, 1 / 3), (2, 1e-30)]})
    data = read(tmp_path / "store")
    acc = EventAccumulator(str(folder))
    acc.Reload()
    for tag in ("a", "b"):
        want = [(e.step, e.value, e.wall_time) for e in acc.Scalars(tag)]
        rows = data.scalars[(data.scalars["run"] == "run") & (data.scalars["key"] == tag)]
        got = list(zip(rows["step"], rows["value"], rows["wall_time"], strict=True))
        assert got == want
    acc = EventAccumulator(str(tmp_path / "store" / "t"))
    acc.Reload()
    want = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors("c")]
    assert values(data, "t", "c") == want


def test_hparams_from_the_plugin(tmp_path):
    """TF2's hparams summary (number, string and bool; status unknown without an end) and
    tensorboardX's add_hparams (its sub-folder folded into the run, status finished)."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    tf2(tmp_path / "store" / "tf", "loss", [(0, 1.0), (1, 0.5)])
    w = EventFileWriter(str(tmp_path / "store" / "tf"), filename_suffix=".hp")
    hp = {"lr": 0.01, "optimizer": "adam", "warmup": True}
    w.add_event(event_pb2.Event(wall_time=WALL, summary=hparams_pb(hp, trial_id="t1")))
    w.close()
    tbx(tmp_path / "store" / "tx", {"loss": [(0, 2.0)]}, hparams={"lr": 0.1, "optimizer": "sgd"})
    data = read(tmp_path / "store")
    runs = data.runs.set_index("run")
    assert list(runs.index) == ["tf", "tx"]  # tx/session is no run of its own
    assert runs.loc["tf", "hparam:lr"] == 0.01 and runs.loc["tx", "hparam:lr"] == 0.1
    assert runs["hparam:optimizer"].tolist() == ["adam", "sgd"]
    assert runs.loc["tf", "hparam:warmup"] is True and runs.loc["tx", "hparam:warmup"] is None
    assert runs["status"].tolist() == ["unknown", "finished"]
    assert values(data, "tx", "hparam/accuracy") == [(0, 0.5)]
    assert values(data, "tx", "loss") == [(0, 2.0)]
    assert data.warnings == []


def test_hparams_lists_and_structs_as_json(tmp_path):
    """The hparams protos allow lists and structs (TensorBoard's own writers write none): kept
    as JSON strings; null as missing."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    data = plugin_data_pb2.HParamsPluginData()
    hp = data.session_start_info.hparams
    hp["layers"].list_value.values.add().number_value = 64
    hp["layers"].list_value.values.add().string_value = "out"
    hp["opt"].struct_value.fields["beta"].number_value = 0.9
    hp["none"].null_value = 0
    value = summary_pb2.Summary.Value(
        tag=metadata.SESSION_START_INFO_TAG, metadata=metadata.create_summary_metadata(data)
    )
    w = EventFileWriter(str(tmp_path / "store" / "run"))
    w.add_event(event_pb2.Event(wall_time=WALL, summary=summary_pb2.Summary(value=[value])))
    w.close()
    runs = read(tmp_path / "store").runs
    assert runs.loc[0, "hparam:layers"] == '[64.0, "out"]'
    assert runs.loc[0, "hparam:opt"] == '{"beta": 0.9}'
    assert runs.loc[0, "hparam:none"] is None


def test_single_event_file_and_relative_path(tmp_path, monkeypatch):
    tbx(tmp_path / "logs" / "run", {"x": [(1, 2.0)]})
    path = event_file(tmp_path / "logs" / "run")
    data = read(path)
    assert data.runs["run"].tolist() == ["."] and values(data, ".", "x") == [(1, 2.0)]
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    assert values(read(Path("logs")), "run", "x") == [(1, 2.0)]


def test_cache_is_read_back_and_follows_a_growing_run(tmp_path):
    """A second read comes from the cache (under paths.CACHE, never in the store) with equal
    tables; a run that grows is read again."""
    store = tmp_path / "store"
    tbx(store / "a", {"x": [(0, 1.0), (1, 2.0)]}, hparams={"lr": 0.1})
    tbx(store / "b", {"x": [(0, 3.0)]}, hparams={"lr": "auto"})
    first = read(store)
    again = read(store)
    assert again.from_cache and not first.from_cache
    pd.testing.assert_frame_equal(again.scalars, first.scalars)
    pd.testing.assert_frame_equal(again.runs, first.runs)
    assert again.warnings == first.warnings and again.run_digests == first.run_digests
    assert list((tmp_path / "cache" / "tensorboard").glob("*.json"))
    recorded = {r["path"]: r["sha256"] for r in inputs.recorded()}
    assert recorded[str(store.resolve())] == first.digest
    tbx(store / "a", {"x": [(2, 4.0)]}, suffix=".resumed")
    grown = read(store)
    assert not grown.from_cache and values(grown, "a", "x") == [(0, 1.0), (1, 2.0), (2, 4.0)]
    assert grown.run_digests["b"] == first.run_digests["b"]
    assert grown.run_digests["a"] != first.run_digests["a"]


def test_many_runs_in_worker_processes(tmp_path, monkeypatch):
    store = tmp_path / "store"
    for i in range(6):
        tb_writer(store / f"r{i}", {"x": [(s, i + s / 4) for s in range(5)]})
    serial = tb.read(store, use_cache=False)
    monkeypatch.setattr(tb, "PARALLEL_FROM", 2)
    monkeypatch.setattr(tb, "workers", lambda: 2)
    parallel = tb.read(store, use_cache=False)
    pd.testing.assert_frame_equal(parallel.scalars, serial.scalars)
    assert values(parallel, "r5", "x")[-1] == (4, 6.0)


def test_crc_matches_tensorboards(tmp_path):
    """The vectorised masked CRC-32C equals TensorBoard's, for empty, short and long ranges."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 5000, dtype=np.uint8)
    start = np.array([0, 7, 100, 0, 3, 1500], np.int64)
    length = np.array([0, 1, 9, 1024, 1025, 3333], np.int64)
    many = rng.integers(0, 1100, 200)  # more sizes than are checked size by size
    start = np.concatenate([start, rng.integers(0, 3000, 200)])
    length = np.concatenate([length, many])
    assert len(np.unique(many)) > tb.SIZES
    for part in (slice(0, 6), slice(None)):
        got = tb.masked_crc32c(data, start[part], length[part])
        want = [masked_crc32c(data[s : s + n].tobytes()) for s, n in zip(start, length)][part]
        assert got.tolist() == want


# ---------------------------------------------------------------- bad input: errors


def test_missing_path_empty_folder_and_other_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        tb.read(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(InputError, match=r"empty: no TensorBoard event files"):
        read(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="notes.txt: not a TensorBoard event file"):
        read(tmp_path / "notes.txt")


# ---------------------------------------------------------------- bad input: warnings


def test_file_cut_short_keeps_the_records_before(tmp_path):
    """A file still being written (or cut short): its complete records are read, as
    TensorBoard's own loader reads them, and the run and file are named."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

    tbx(tmp_path / "store" / "run", {"x": [(s, s / 2) for s in range(10)]})
    path = event_file(tmp_path / "store" / "run")
    path.write_bytes(path.read_bytes()[:-7])
    data = read(tmp_path / "store")
    records = len(list(RawEventFileLoader(str(path)).Load()))
    assert values(data, "run", "x") == [(s, s / 2) for s in range(records - 1)]
    (w,) = said(data, "run 'run'", path.name, "incomplete", f"read its {records} records")


@pytest.mark.parametrize("where", ["length", "length's last byte", "data"])
def test_damaged_record_ends_the_file(tmp_path, where):
    """A byte changed in record 6's length or payload: records 1-5 are kept (as TensorBoard's
    loader keeps them), the checksum that failed is named, the other runs are read whole."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

    tbx(tmp_path / "store" / "bad", {"x": [(s, float(s)) for s in range(10)]})
    tbx(tmp_path / "store" / "good", {"x": [(s, float(s)) for s in range(10)]})
    path = event_file(tmp_path / "store" / "bad")
    raw = bytearray(path.read_bytes())
    fr = tb.frames(np.frombuffer(bytes(raw) + bytes(16), np.uint8), 0, len(raw))
    at = int(fr.start[5]) + {"length": -12, "length's last byte": -5, "data": 3}[where]
    raw[at] ^= 0x40
    path.write_bytes(bytes(raw))
    data = read(tmp_path / "store")
    assert len(list(RawEventFileLoader(str(path)).Load())) == 5
    assert values(data, "bad", "x") == [(s, float(s)) for s in range(4)]  # record 1: version
    assert len(values(data, "good", "x")) == 10
    checksum = where.split("'")[0]
    (w,) = said(data, "run 'bad'", path.name, f"the {checksum} checksum of record 6 is wrong")


def test_empty_event_file_and_a_run_without_scalars(tmp_path):
    tbx(tmp_path / "store" / "a", {"x": [(0, 1.0)]})
    (tmp_path / "store" / "a" / "events.out.tfevents.0.host").write_bytes(b"")
    (tmp_path / "store" / "b").mkdir()
    (tmp_path / "store" / "b" / "events.out.tfevents.1.host").write_bytes(b"")
    data = read(tmp_path / "store")
    assert values(data, "a", "x") == [(0, 1.0)]
    assert said(data, "run 'a'", "events.out.tfevents.0.host is empty")
    assert said(data, "no scalars in run 'b'")
    assert data.runs["run"].tolist() == ["a", "b"]


def test_restarted_run_keeps_the_last_value_written(tmp_path):
    """Two event files in one folder (a run restarted from step 5): the later file's values win
    for the steps both logged, the earlier one's stay for the others, and it is said."""
    run = tmp_path / "store" / "run"
    tbx(run, {"x": [(s, 1.0) for s in range(10)]}, suffix=".first")
    tb_writer(run, {"x": [(s, 2.0) for s in range(5, 12)]})
    data = read(tmp_path / "store")
    assert values(data, "run", "x") == [(s, 1.0) for s in range(5)] + [
        (s, 2.0) for s in range(5, 12)
    ]
    (w,) = said(data, "run 'run', key 'x'", "5 steps logged more than once", "steps 5, 6, 7")
    assert "kept the last value written" in w


def test_resumed_run_in_two_files_without_overlap(tmp_path):
    run = tmp_path / "store" / "run"
    tbx(run, {"x": [(0, 1.0), (1, 2.0)]}, suffix=".a")
    tbx(run, {"x": [(2, 3.0)]}, suffix=".b")
    data = read(tmp_path / "store")
    assert values(data, "run", "x") == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert data.warnings == []


def test_nan_and_infinite_values_are_left_out(tmp_path):
    tbx(tmp_path / "store" / "run", {"loss": [(0, 1.0), (1, float("nan")), (2, float("inf"))]})
    tf2(tmp_path / "store" / "tf", "acc", [(0, float("-inf")), (1, 0.5)])
    data = read(tmp_path / "store")
    assert values(data, "run", "loss") == [(0, 1.0)]
    assert values(data, "tf", "acc") == [(1, 0.5)]
    assert said(data, "run 'run', key 'loss'", "2 values are NaN or infinite", "steps 1, 2")
    assert said(data, "run 'tf', key 'acc'", "1 values are NaN or infinite", "step 0")


def test_runs_without_hparams_while_others_have_them(tmp_path):
    tbx(tmp_path / "store" / "with", {"x": [(0, 1.0)]}, hparams={"lr": 0.1})
    tbx(tmp_path / "store" / "without", {"x": [(0, 1.0)]})
    data = read(tmp_path / "store")
    assert said(data, "no hyperparameters", "run 'without'", "other 1 runs have them")
    assert pd.isna(data.runs.set_index("run").loc["without", "hparam:lr"])


def test_hparams_written_twice_and_of_mixed_types(tmp_path):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    sessions_of = {"a": [{"lr": 0.1}, {"lr": 0.2}], "b": [{"lr": "auto"}], "c": [{"lr": 0.3}]}
    for run, sessions in sessions_of.items():
        w = EventFileWriter(str(tmp_path / "store" / run))
        for hp in sessions:
            w.add_event(event_pb2.Event(wall_time=WALL, summary=hparams_pb(hp)))
        w.close()
    data = read(tmp_path / "store")
    assert data.runs["hparam:lr"].tolist() == ["0.2", "auto", "0.3"]
    assert said(data, "run 'a'", "written twice with other values (lr)", "kept the last")
    assert said(data, "hyperparameter 'lr' is a string in run 'b' and a number in the others")


def test_lookalike_run_names(tmp_path):
    """Run folders whose names differ only in case or Unicode form are named together."""
    tbx(tmp_path / "store" / "Adam", {"x": [(0, 1.0)]})
    tbx(tmp_path / "store" / "adam", {"x": [(0, 2.0)]})
    tbx(tmp_path / "store" / "caf\u00e9", {"x": [(0, 3.0)]})
    tbx(tmp_path / "store" / "cafe\u0301", {"x": [(0, 4.0)]})
    data = read(tmp_path / "store")
    assert len(data.runs) == 4 and values(data, "adam", "x") == [(0, 2.0)]
    assert said(data, "runs 'Adam' and 'adam' differ only in letter case or Unicode form")
    assert said(data, "runs 'cafe\u0301' and 'caf\u00e9' differ only")


def test_non_scalar_summaries_are_left_out_and_said(tmp_path):
    """Histograms and images (tensorboardX), a tensor-encoded histogram (TensorBoard's
    histogram plugin): not read, each kind named with its tags and runs."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.histogram.summary_v2 import histogram_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(tmp_path / "store" / "pics")) as w:
        w.add_histogram("weights", np.arange(10.0), 0)
        w.add_image("sample", np.zeros((3, 4, 4)), 0)
    w = EventFileWriter(str(tmp_path / "store" / "mixed"))
    w.add_event(event_pb2.Event(wall_time=WALL, step=1, summary=histogram_pb("w2", [1.0, 2.0])))
    w.close()
    tbx(tmp_path / "store" / "mixed", {"x": [(0, 1.0)]}, suffix=".s")
    data = read(tmp_path / "store")
    assert values(data, "mixed", "x") == [(0, 1.0)]
    assert said(data, "no scalars in run 'pics'")
    assert said(data, "histograms not read", "tag 'weights'", "run 'pics'")
    assert said(data, "images not read", "tag 'sample'", "run 'pics'")
    assert said(data, "histograms (tensor-encoded) not read", "tag 'w2'", "run 'mixed'")


def test_tag_in_simple_value_and_tensor(tmp_path):
    run = tmp_path / "store" / "run"
    tbx(run, {"x": [(0, 1.0), (1, 2.0)]}, suffix=".a")
    tb_writer(run, {"x": [(2, 3.0)]})
    data = read(tmp_path / "store")
    assert values(data, "run", "x") == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert said(data, "run 'run', key 'x'", "both as simple_value and as a tensor")


def test_steps_out_of_order_are_sorted(tmp_path):
    tbx(tmp_path / "store" / "run", {"x": [(2, 2.0), (0, 0.0), (1, 1.0)]})
    data = read(tmp_path / "store")
    assert values(data, "run", "x") == [(0, 0.0), (1, 1.0), (2, 2.0)]
    (w,) = said(data, "run 'run', key 'x'", "out of step order; sorted by step")


def test_runs_inside_runs_and_symlinks(tmp_path):
    """Event files in a folder and in folders below it: separate runs, said; a symlinked folder
    is not followed."""
    tbx(tmp_path / "store" / "exp", {"x": [(0, 1.0)]})
    tbx(tmp_path / "store" / "exp" / "seed0", {"x": [(0, 2.0)]})
    tbx(tmp_path / "store" / "exp" / "seed1" / "deeper", {"x": [(0, 3.0)]})
    os.symlink(tmp_path / "store" / "exp" / "seed0", tmp_path / "store" / "link")
    data = read(tmp_path / "store")
    assert data.runs["run"].tolist() == ["exp", "exp/seed0", "exp/seed1/deeper"]
    assert values(data, "exp/seed1/deeper", "x") == [(0, 3.0)]
    assert said(data, "runs 'exp/seed0' and 'exp/seed1/deeper' lie inside run 'exp'")
    assert said(data, "folder 'link' is a symbolic link: not followed")


def test_record_that_is_not_an_event(tmp_path):
    """A record with right checksums whose bytes are no Event (written by TensorBoard's record
    writer) is left out and named; the records around it are read."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    tbx(tmp_path / "store" / "run", {"x": [(0, 1.0)]})
    path = event_file(tmp_path / "store" / "run")
    with open(path, "ab") as f:
        RecordWriter(f).write(b"\xff\xff\xff")
    tbx(tmp_path / "store" / "run", {"x": [(1, 2.0)]}, suffix=".b")
    data = read(tmp_path / "store")
    assert values(data, "run", "x") == [(0, 1.0), (1, 2.0)]
    assert said(data, "run 'run'", "is not a TensorBoard event; left out")


def test_a_step_that_repeats_its_value_is_kept_once_without_a_warning(tmp_path):
    """PyTorch Lightning logs `epoch` beside every train and validation metric at one global step:
    the same value twice at a step loses nothing and is not called a restarted run; a step logged
    again with another value still is, counting only those steps."""
    tbx(
        tmp_path / "store" / "version_0",
        {
            "epoch": [(25, 0.0), (25, 0.0), (51, 1.0), (51, 1.0)],
            "val_acc": [(25, 0.5), (25, 0.6), (51, 0.7), (51, 0.7)],
        },
    )
    data = read(tmp_path / "store")
    epoch = data.scalars[data.scalars["key"] == "epoch"]
    assert epoch["step"].tolist() == [25, 51] and epoch["value"].tolist() == [0.0, 1.0]
    assert not any("'epoch'" in w for w in data.warnings)
    repeated = [w for w in data.warnings if "'val_acc'" in w]
    assert len(repeated) == 1 and "1 steps logged more than once (step 25" in repeated[0]
    val = data.scalars[data.scalars["key"] == "val_acc"]
    assert val["value"].round(6).tolist() == [0.6, 0.7]
