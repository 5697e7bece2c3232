"""TensorBoard event files -> the tracker layer's two tables (runs, scalars).

What is read. Every file named ``events.out.tfevents.*`` under the source folder (nested folders
too), as written by ``torch.utils.tensorboard``, tensorboardX, TF2 ``tf.summary`` and TensorBoard's
own writer. A **run** is a folder holding event files, as TensorBoard shows it: its id and its name
are the folder's path relative to the source (posix; ``.`` for event files in the source folder
itself, and for a single event file given as the source). Its **scalars** are the summary values
that are scalars: ``simple_value`` (torch, tensorboardX) and the tensor-encoded scalars of the
newer writers (a one-element numeric tensor of a tag whose first metadata names the ``scalars``
plugin; TF2 writes that metadata with a tag's first value only). A row: run, key (the tag as
written), step, value (float64) and wall_time (the event's ``wall_time``, seconds since the
epoch). A run's event files are read in the order they were started (their first event's wall
time), each in the order written. Its **attributes** come from the hparams plugin: each
hyperparameter of the session start info is a column ``hparam:<name>`` (a number as float64, a
string or a bool); the session end info gives the status (finished, failed, running; ``unknown``
without one). torch's and tensorboardX's ``add_hparams`` write the hyperparameters into a
sub-folder of the run named by a timestamp: a run without hyperparameters of its own that has
exactly one such sub-folder (hyperparameters and at most one value per key: the metric values
given to ``add_hparams``) takes that session's hyperparameters, status and scalars, and the
sub-folder is not a run of its own.

What is not read, and why: histograms, images, audio, text, graphs and tensors of other plugins
(the tracker layer carries scalars; each kind left out is named in a warning with its tags and
runs); TF1's ``SessionLog`` records and TensorBoard's purge of the steps a restarted run orphaned
(the rule here is simpler, and said: the last value written for a step is kept); folders reached
through symbolic links (not followed, said); compressed event files (no TensorBoard writer
writes them).

How it reads, fast. Each file is read whole and split into TFRecord frames; both checksums of
every record (CRC-32C of the length and of the data) are checked, vectorised with numpy, and the
first damaged record ends the file, keeping the records before it. Events of the scalar layouts
above are decoded vectorised; every other event is parsed in full by protobuf (TensorBoard's own
``event_pb2``). Many runs are read by two worker processes. What was read is cached as Parquet
under ``.cache/labbook/tensorboard`` (never next to the data), keyed by each event file's path,
size and modification time, so a run still being written is read again. Nothing under the source
is opened for writing. The scalars table's ``run`` and ``key`` columns are pandas categoricals of
str (a cached read of millions of rows stays a file read).

Warnings, each naming the run and the file or key: a damaged event file or one cut short (the
records before the damage are kept), a file still being written (an incomplete last record), an
empty event file, an undecodable record, a run without scalars, steps logged more than once (a
restarted run: the last value written is kept, and the count said; a step that repeats the same
value, as Lightning's `epoch`, is kept once without a word), a key logged out of step
order (sorted), NaN or infinite values (left out), a tag logged both as ``simple_value`` and as
a tensor (read as one series), runs without hyperparameters while others have them, a run whose
hyperparameters were written twice with other values (the last kept), a hyperparameter that is
a number in some runs and a string in others (kept as strings), runs inside other runs, run ids
that differ only in letter case or Unicode form, the summary kinds left out. Errors (InputError):
a missing path, a folder without event files, a file that is not an event file.
"""

import functools
import hashlib
import json
import os
import posixpath
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources.trackers import base as trackers

TRACKER = "tensorboard"
EVENT_FILE = "events.out.tfevents."
CACHE_VERSION = 3  # bump when the cached tables' layout or the reading rules change
WORKERS = 2  # processes reading runs at once, at most
PARALLEL_FROM = 64  # below this many runs one process reads them all (a pool costs ~0.1 s)
HPARAMS_PLUGIN = "hparams"
SCALARS_PLUGIN = "scalars"
SESSION_START = "_hparams_/session_start_info"
SESSION_END = "_hparams_/session_end_info"
STATUS = {0: "unknown", 1: "finished", 2: "failed", 3: "running"}  # hparams api Status
LISTED = 10  # runs named in one warning; more are counted
SIMPLE, TENSOR = 1, 2  # how a scalar was written
MAX_TAG = 256  # bytes; events with longer tags are parsed by protobuf


def read(location: str | Path, *, use_cache: bool = True) -> trackers.TrackerData:
    """The runs and scalars of the TensorBoard logs at *location* (a folder or one event file;
    a relative path is taken from the repo root). InputError for a missing path or no event
    files; faults inside the files are warnings (see the module docstring)."""
    root = paths.resolve_input(location)
    if not root.exists():
        raise inputs.not_found(root, "TensorBoard log folder")
    runs, notes = scan(root)
    digest, run_digests, stamp = store_digest(runs)
    inputs.record_directory(root, digest)
    if use_cache:
        cached = trackers.load_cached(TRACKER, str(root), digest, CACHE_VERSION, stamp)
        if cached is not None:
            return cached
    data = assemble(str(root), read_runs(runs), notes)
    data.digest, data.run_digests = digest, run_digests
    trackers.check_tables(data)
    if use_cache:
        trackers.store_cached(data, CACHE_VERSION, stamp)
    return data


# ---------------------------------------------------------------- the store


def scan(root: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """({run id: its event files}, warnings) for the logs at *root*: a run is a folder holding
    event files (runs sorted by id, files by name). Symbolic links to folders are not followed.
    One directory scan, no stat but for symbolic links."""
    if root.is_file():
        if not root.name.startswith(EVENT_FILE):
            raise InputError(f"{root}: not a TensorBoard event file (events.out.tfevents.*)")
        return {".": [root]}, []
    runs: dict[str, list[Path]] = {}
    notes = []
    stack = [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        events = []
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((name, entry.path))
                elif entry.is_symlink() and entry.is_dir():
                    notes.append(f"folder '{name}' is a symbolic link: not followed, not read")
                elif entry.name.startswith(EVENT_FILE) and entry.is_file():
                    events.append(entry.name)
        if events:
            runs[rel or "."] = [Path(folder, f) for f in sorted(events)]
    if not runs:
        raise InputError(
            f"{root}: no TensorBoard event files (events.out.tfevents.*) in this folder or "
            "below: the store holds no run"
        )
    return dict(sorted(runs.items())), sorted(notes)


def store_digest(runs: dict[str, list[Path]]) -> tuple[str, dict[str, str], str]:
    """(digest of the store, {run id: digest of its files}, the cache key's stamp): sha256 over
    each event file's name, size and modification time, one stat per file (reading changes none
    of them); the stamp is trackers.Stamps of the same files."""
    whole = hashlib.sha256()
    stamps = trackers.Stamps()
    per_run = {}
    for run in sorted(runs):
        h = hashlib.sha256()
        for path in runs[run]:
            st = path.stat()
            h.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            stamps.add(str(path), st)
        per_run[run] = h.hexdigest()
        whole.update(f"{run}\0{per_run[run]}\n".encode())
    return whole.hexdigest(), per_run, stamps.hexdigest()


# ---------------------------------------------------------------- CRC-32C, vectorised

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), bit-reflected
_DEPTH = 1024  # ranges up to this many bytes are checked in one gather; longer ones in blocks


@functools.cache
def _crc_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E, Z, S), uint32. The CRC register is linear in the message, so after a message of L
    bytes m it is Z[L] xor (xor over i of E[L-1-i, m[i]]): E[d, v] (shape (_DEPTH, 256)) is
    what byte v followed by d zero bytes contributes, Z[n] (shape (_DEPTH + 1,)) the initial
    register after n zero bytes. S[k, v] (shape (4, 256)) is the register v << 8k after _DEPTH
    zero bytes, to chain blocks."""
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    e = np.empty((_DEPTH, 256), np.uint32)
    z = np.empty(_DEPTH + 1, np.uint32)
    s = np.arange(256, dtype=np.uint32)[None, :] << (8 * np.arange(4, dtype=np.uint32))[:, None]
    e[0], z[0] = t, 0xFFFFFFFF
    for n in range(1, _DEPTH + 1):
        if n < _DEPTH:
            e[n] = t[e[n - 1] & 0xFF] ^ (e[n - 1] >> 8)
        z[n] = t[z[n - 1] & 0xFF] ^ (z[n - 1] >> 8)
        s = t[s & 0xFF] ^ (s >> 8)
    return e, z, s


CHUNK = 1 << 22  # bytes checked at once (the index arrays hold 8 bytes per byte checked)
SIZES = 64  # record sizes in one file checked size by size; more go through flat arrays


def masked_crc32c(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC-32C of each range buf[start:start + length]: buf uint8, start and
    length int64 of shape (n,); returns uint32 of shape (n,)."""
    reg = np.empty(len(start), np.uint32)
    sizes, inverse = np.unique(length, return_inverse=True)
    inverse = inverse.ravel()
    if len(sizes) <= SIZES:
        for i, size in enumerate(sizes):
            same = np.flatnonzero(inverse == i)
            reg[same] = _crc_rows(buf, start[same], int(size))
    else:
        short = np.flatnonzero(length <= _DEPTH)
        ends = np.cumsum(length[short])
        cuts = np.searchsorted(ends, np.arange(CHUNK, ends[-1] if len(ends) else 0, CHUNK))
        for part in np.split(short, np.unique(cuts)):
            reg[part] = _crc_flat(buf, start[part], length[part])
        for i in np.flatnonzero(length > _DEPTH):
            reg[i] = _crc_long(buf, int(start[i]), int(length[i]))
    crc = (reg ^ np.uint32(0xFFFFFFFF)).astype(np.uint64)
    return ((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF).astype(np.uint32)


def _crc_rows(buf: np.ndarray, start: np.ndarray, size: int) -> np.ndarray:
    """The CRC registers after ranges of one *size* (shape (n,)), in row blocks of CHUNK bytes;
    ranges longer than _DEPTH one by one."""
    e, z, _ = _crc_tables()
    if size > _DEPTH:
        return np.array([_crc_long(buf, int(s), size) for s in start], np.uint32)
    reg = np.full(len(start), z[size], np.uint32)
    if size == 0:
        return reg
    cols = np.arange(size)
    flat = (size - 1 - cols) * 256  # where each column's table row starts in e.ravel()
    step = max(1, CHUNK // size)
    for lo in range(0, len(start), step):
        rows = buf.take(start[lo : lo + step, None] + cols, mode="clip")
        reg[lo : lo + step] ^= np.bitwise_xor.reduce(e.ravel()[flat + rows], axis=1)
    return reg


def _crc_flat(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The CRC registers after ranges of many sizes (each at most _DEPTH bytes), all at once
    through flat arrays (shape (n,))."""
    e, z, _ = _crc_tables()
    reg = z[length]
    total = int(length.sum())
    if total:
        first = np.cumsum(length) - length  # where each range begins in the flat arrays
        pos = np.arange(total, dtype=np.int64) - np.repeat(first - start, length)
        dist = np.repeat(start + length - 1, length) - pos
        contrib = e.ravel()[dist * 256 + buf[pos]]
        nonempty = length > 0
        reg[nonempty] ^= np.bitwise_xor.reduceat(contrib, first[nonempty])
    return reg


def _crc_long(buf: np.ndarray, start: int, length: int) -> int:
    """The CRC register after a range of more than _DEPTH bytes: its first block (1.._DEPTH
    bytes) as above, then each further block of _DEPTH bytes after shifting the register."""
    e, z, s = _crc_tables()
    m = length - (length - 1) // _DEPTH * _DEPTH
    reg, p = int(z[m]), start
    while True:
        reg ^= int(np.bitwise_xor.reduce(e[np.arange(m - 1, -1, -1), buf[p : p + m]]))
        p += m
        if p >= start + length:
            return reg
        reg = int(
            s[0, reg & 0xFF] ^ s[1, (reg >> 8) & 0xFF] ^ s[2, (reg >> 16) & 0xFF] ^ s[3, reg >> 24]
        )
        m = _DEPTH


# ---------------------------------------------------------------- TFRecord frames

_U64 = struct.Struct("<Q")


@dataclass
class Frames:
    """The records of one event file: payload start (in the run's buffer) and length, int64
    arrays of shape (records,); *problem* says what ended the file early ("" when nothing)."""

    start: np.ndarray
    length: np.ndarray
    problem: str = ""


def _gather(buf: np.ndarray, pos: np.ndarray, width: int, dtype: str) -> np.ndarray:
    """The little-endian *dtype* value of *width* bytes at each position (shape (n,))."""
    return buf.take(pos[:, None] + np.arange(width), mode="clip").view(dtype).ravel()


def frames(buf: np.ndarray, base: int, size: int) -> Frames:
    """Split one event file (its *size* bytes at offset *base* of *buf*) into TFRecord frames —
    u64 length, u32 masked CRC of the length, payload, u32 masked CRC of the payload — and check
    both checksums. The frames before the first bad one are kept."""
    heads = []
    view, pos, unpack = memoryview(buf), 0, _U64.unpack_from
    while pos + 12 <= size:
        end = pos + 16 + unpack(view, base + pos)[0]
        if end > size:
            break
        heads.append(pos)
        pos = end
    head = np.asarray(heads + ([pos] if pos + 12 <= size else []), np.int64) + base
    ok_len = masked_crc32c(buf, head, np.full(len(head), 8)) == _gather(buf, head + 8, 4, "<u4")
    bad = np.flatnonzero(~ok_len)
    count = len(heads)
    problem = ""
    if bad.size:  # a bad length is damage, also in a last record that looks incomplete
        count = int(bad[0])
        problem = f"the length checksum of record {count + 1} is wrong"
    elif pos < size:
        problem = "its last record is incomplete (a file still being written, or cut short)"
    start, length = head[:count] + 12, _gather(buf, head[:count], 8, "<u8").astype(np.int64)
    ok_data = masked_crc32c(buf, start, length) == _gather(buf, start + length, 4, "<u4")
    bad = np.flatnonzero(~ok_data)
    if bad.size:
        count = int(bad[0])
        problem = f"the data checksum of record {count + 1} is wrong"
    if problem:
        kept = int(start[count - 1] + length[count - 1] + 4 - base) if count else 0
        problem += f"; read its {count} records before that, left out {size - kept} bytes"
    return Frames(start[:count], length[:count], problem)


# ---------------------------------------------------------------- Event protos


def _varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, positions after) of the protobuf varints at *pos* (int64, shape (n,)). Values
    are int64 (a length that does not fit reads as -1); reads never leave the buffer."""
    byte = buf.take(pos, mode="clip")
    val = (byte & 0x7F).astype(np.uint64)
    size = np.ones(len(pos), np.int64)
    more = np.flatnonzero(byte & 0x80)
    shift = 7
    while more.size and shift < 70:
        byte = buf.take(pos[more] + size[more], mode="clip")
        val[more] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        size[more] += 1
        more = more[(byte & 0x80) != 0]
        shift += 7
    return val.view(np.int64), pos + size


@dataclass
class Fast:
    """Events decoded vectorised (all arrays of shape (records,)): *ok* where the record is a
    one-value scalar event of a known layout (the others go to protobuf)."""

    ok: np.ndarray
    wall: np.ndarray
    step: np.ndarray
    tag_start: np.ndarray
    tag_length: np.ndarray
    kind: np.ndarray  # SIMPLE or TENSOR
    value: np.ndarray
    meta_start: np.ndarray  # -1 without metadata
    meta_end: np.ndarray


def decode_fast(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> Fast:
    """Decode the records buf[start:end] laid out as every scalar writer lays them out:
    Event{wall_time, step?, summary{value{tag, simple_value | tensor, metadata?}}}, the tensor
    {dtype float|double, shape [], one float_val | double_val | tensor_content}."""

    def at(p):  # the bytes at positions p (clipped to the buffer)
        return buf.take(p, mode="clip")

    def span(p, key):  # a length-delimited field *key* at p: (ok, content start, content end)
        n, q = _varint(buf, p + 1)
        return (at(p) == key) & (n >= 0), q, q + n

    ok = (end - start >= 9) & (at(start) == 0x09)
    wall = _gather(buf, start + 1, 8, "<f8")
    p = start + 9
    has_step = at(p) == 0x10
    step, after = _varint(buf, p + 1)
    step = np.where(has_step, step, 0)
    p = np.where(has_step, after, p)
    good, p, stop = span(p, 0x2A)  # Event.summary
    ok &= good & (stop == end)
    good, p, stop = span(p, 0x0A)  # Summary.value, the only one
    ok &= good & (stop == end)
    good, tag_start, tag_end = span(p, 0x0A)  # Value.tag
    ok &= good & (tag_end <= end) & (tag_end - tag_start <= MAX_TAG)
    p = tag_end
    kind = np.where(at(p) == 0x15, SIMPLE, np.where(at(p) == 0x42, TENSOR, 0))
    simple = _gather(buf, p + 1, 4, "<f4").astype(np.float64)
    _, t_start, t_end = span(p, 0x42)  # Value.tensor
    p = np.where(kind == SIMPLE, p + 5, np.where(kind == TENSOR, t_end, end + 1))
    ok &= (kind > 0) & (p <= end)
    has_meta, m_start, m_end = span(p, 0x4A)  # Value.metadata
    has_meta &= p < end
    ok &= np.where(has_meta, m_end, p) == end
    value = np.where(kind == SIMPLE, simple, np.nan)
    tensor = np.flatnonzero(ok & (kind == TENSOR))
    value[tensor], t_ok = _tensor_scalar(buf, t_start[tensor], t_end[tensor])
    ok[tensor] &= t_ok
    meta_start = np.where(has_meta, m_start, -1)
    meta_end = np.where(has_meta, m_end, -1)
    return Fast(ok, wall, step, tag_start, tag_end - tag_start, kind, value, meta_start, meta_end)


def _tensor_scalar(buf: np.ndarray, start: np.ndarray, end: np.ndarray):
    """(values float64, ok) of the TensorProtos buf[start:end] that hold one float or double
    of shape []: dtype, an empty tensor_shape, then float_val, double_val or tensor_content."""

    def at(p):  # the bytes at positions p (clipped to the buffer)
        return buf.take(p, mode="clip")

    dtype, p = _varint(buf, start + 1)
    ok = (at(start) == 0x08) & (at(p) == 0x12) & (at(p + 1) == 0x00)  # dtype, shape []
    p = p + 2
    key, size = at(p), at(p + 1)
    single = (dtype == 1) & (size == 4) & ((key == 0x2A) | (key == 0x22))  # float_val, content
    double = (dtype == 2) & (size == 8) & ((key == 0x32) | (key == 0x22))  # double_val, content
    ok &= (single | double) & (p + 2 + size == end)
    value = np.where(
        single,
        _gather(buf, p + 2, 4, "<f4").astype(np.float64),
        _gather(buf, p + 2, 8, "<f8"),
    )
    return value, ok


@functools.cache
def _protos():
    """TensorBoard's own protobuf modules (imported on first use)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.util import tensor_util

    return event_pb2, summary_pb2, plugin_data_pb2, tensor_util


@dataclass
class Value:
    """One summary value parsed in full: kind is SIMPLE, TENSOR (a one-element numeric
    tensor), or what it holds otherwise ("histograms", "images", "audio", "graphs", "tensors",
    "values without data")."""

    order: int
    wall: float
    step: int
    tag: str
    kind: int | str
    value: float
    plugin: str | None  # its metadata's plugin name, None without metadata
    scalar_class: bool  # its metadata says DATA_CLASS_SCALAR
    content: bytes  # its metadata's plugin content (for the hparams plugin)


def decode_full(payload: bytes, order: int) -> list[Value] | None:
    """Every summary value of one Event record parsed by protobuf; None when the record is not
    an Event."""
    from google.protobuf.message import DecodeError

    event_pb2, summary_pb2, _, tensor_util = _protos()
    try:
        event = event_pb2.Event.FromString(payload)
    except DecodeError:
        return None
    wall = event.wall_time or np.nan  # 0.0: not written
    values = []
    for v in event.summary.value:
        which = v.WhichOneof("value")
        number = np.nan
        if which == "simple_value":
            kind, number = SIMPLE, v.simple_value
        elif which == "tensor":
            kind, number = _tensor_value(v.tensor, tensor_util)
        else:
            kind = {"histo": "histograms", "image": "images", "audio": "audio"}.get(
                which, "values without data"
            )
        meta = v.metadata if v.HasField("metadata") else None
        values.append(
            Value(
                order,
                wall,
                event.step,
                v.tag,
                kind,
                number,
                meta.plugin_data.plugin_name if meta is not None else None,
                meta is not None and meta.data_class == summary_pb2.DATA_CLASS_SCALAR,
                meta.plugin_data.content if meta is not None else b"",
            )
        )
    if event.HasField("graph_def") or event.HasField("meta_graph_def"):
        values.append(Value(order, wall, event.step, "", "graphs", np.nan, None, False, b""))
    return values


def _tensor_value(tensor, tensor_util) -> tuple[int | str, float]:
    """(TENSOR, value) for a one-element numeric tensor, else ("tensors", NaN)."""
    try:
        array = tensor_util.make_ndarray(tensor)
    except (ValueError, TypeError):
        return "tensors", np.nan
    if array.size != 1 or array.dtype.kind not in "fiub":
        return "tensors", np.nan
    return TENSOR, float(array.reshape(-1)[0])


# ---------------------------------------------------------------- one run


@dataclass
class RunRead:
    """What one run folder holds. Scalars as rows (shape (rows,) each): key index into *keys*,
    step, value, wall time, write order, how written (SIMPLE/TENSOR). After finalize the rows are
    in key and step order, one per (key, step), and the write order is their position."""

    run: str
    keys: list[str]
    key: np.ndarray
    step: np.ndarray
    value: np.ndarray
    wall: np.ndarray
    order: np.ndarray
    how: np.ndarray
    hparams: dict | None = None
    status: str = "unknown"
    left_out: dict[str, set[str]] = field(default_factory=dict)  # kind -> tags
    warnings: list[str] = field(default_factory=list)


def read_run(run: str, files: list[Path]) -> RunRead:
    """Read one run folder's event files (opened read-only, each read whole into one buffer, as
    long as it was when looked at), oldest first."""
    sizes = [path.stat().st_size for path in files]
    buf = np.zeros(sum(sizes) + 16, np.uint8)  # 16 zero bytes: reads past the end stay inside
    parts, warnings, base = [], [], 0
    for path, size in zip(files, sizes, strict=True):
        with open(path, "rb") as f:
            got = f.readinto(memoryview(buf)[base : base + size])
        if not got:
            warnings.append(f"run '{run}': event file {path.name} is empty (0 bytes)")
            continue
        fr = frames(buf, base, got)
        if fr.problem:
            warnings.append(f"run '{run}': event file {path.name}: {fr.problem}")
        parts.append((path.name, fr))
        base += size
    parts.sort(key=lambda p: (_first_wall(buf, p[1]), p[0]))  # files in the order started
    start = np.concatenate([fr.start for _, fr in parts] or [np.zeros(0, np.int64)])
    end = start + np.concatenate([fr.length for _, fr in parts] or [np.zeros(0, np.int64)])
    fast = decode_fast(buf, start, end)
    firsts = np.cumsum([0] + [len(fr.start) for _, fr in parts])  # each file's first record
    slow = []
    for i in np.flatnonzero(~fast.ok):
        values = decode_full(buf[start[i] : end[i]].tobytes(), int(i))
        if values is None:
            f = int(np.searchsorted(firsts, i, side="right")) - 1
            warnings.append(
                f"run '{run}': event file {parts[f][0]}: record {i - firsts[f] + 1} is not a "
                "TensorBoard event; left out"
            )
        else:
            slow.extend(values)
    return _collect(run, buf, fast, slow, warnings)


def _first_wall(buf: np.ndarray, fr: Frames) -> float:
    """The wall time of a file's first event (its file_version event), +inf without one."""
    if not len(fr.start) or fr.length[0] < 9 or buf[fr.start[0]] != 0x09:
        return np.inf
    return float(_gather(buf, fr.start[:1] + 1, 8, "<f8")[0])


def _tag_strings(buf: np.ndarray, start: np.ndarray, length: np.ndarray):
    """(distinct tags as str, index of each range's tag) for the tag ranges buf[start:start +
    length] (shape (n,), lengths up to MAX_TAG): the ranges as zero-padded byte rows, grouped by
    a polynomial hash of row and length, each group checked byte for byte against its first row
    (a hash collision falls back to sorting the rows)."""
    if not len(start):
        return [], np.zeros(0, np.int64)
    cols = np.arange(max(int(length.max()), 1))
    rows = buf.take(start[:, None] + cols, mode="clip")
    rows[cols >= length[:, None]] = 0
    powers = np.uint64(1099511628211) ** np.arange(len(cols) + 1, dtype=np.uint64)
    h = rows.astype(np.uint64) @ powers[1:] + length.astype(np.uint64) * powers[0]
    _, first, index = np.unique(h, return_index=True, return_inverse=True)
    index = index.ravel()
    if not (rows == rows[first][index]).all() or not (length == length[first][index]).all():
        rows = np.hstack([rows, length.astype("<u4").view(np.uint8).reshape(-1, 4)])
        keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1]))).ravel()
        _, first, index = np.unique(keys, return_index=True, return_inverse=True)
        index = index.ravel()
    tags = [
        buf[start[i] : start[i] + length[i]].tobytes().decode("utf-8", "replace") for i in first
    ]
    return tags, index


def _collect(run: str, buf: np.ndarray, fast: Fast, slow: list[Value], warnings) -> RunRead:
    """One run's scalars, hyperparameters, status and the summaries left out, from its records
    decoded vectorised (*fast*, where fast.ok) and by protobuf (*slow*)."""
    _, summary_pb2, plugin_data_pb2, _ = _protos()
    ok = np.flatnonzero(fast.ok)
    tags, fast_key = _tag_strings(buf, fast.tag_start[ok], fast.tag_length[ok])
    ids = {t: i for i, t in enumerate(tags)}
    slow_key = np.array([ids.setdefault(v.tag, len(ids)) for v in slow], np.int64)
    tags = list(ids)
    # every value as one row: fast ones first, then the slow ones
    key = np.concatenate([fast_key, slow_key])
    order = np.concatenate([ok, np.array([v.order for v in slow], np.int64)])
    kind = np.concatenate(
        [fast.kind[ok], np.array([v.kind if isinstance(v.kind, int) else 0 for v in slow])]
    ).astype(np.int64)
    # a tag's plugin is named by its first value with metadata, in the order written
    has_meta = np.concatenate([fast.meta_start[ok] >= 0, [v.plugin is not None for v in slow]])
    rows = np.flatnonzero(has_meta)
    rows = rows[np.lexsort((order[rows], key[rows]))]
    _, firsts = np.unique(key[rows], return_index=True)
    plugin, scalar_tag = {}, np.zeros(len(tags), bool)
    for r in rows[firsts]:
        if r < len(ok):
            i = ok[r]
            meta = summary_pb2.SummaryMetadata.FromString(
                buf[fast.meta_start[i] : fast.meta_end[i]].tobytes()
            )
            scalar = meta.data_class == summary_pb2.DATA_CLASS_SCALAR
            name = meta.plugin_data.plugin_name
        else:
            v = slow[r - len(ok)]
            name, scalar = v.plugin, v.scalar_class
        plugin[int(key[r])] = name
        scalar_tag[key[r]] = scalar or name == SCALARS_PLUGIN
    scalar = (kind == SIMPLE) | ((kind == TENSOR) & scalar_tag[key])
    out = RunRead(run, tags, *_rows(fast, ok, slow, np.flatnonzero(scalar), key, order, kind))
    out.warnings = warnings
    sessions = []
    for r in np.flatnonzero(~scalar):
        k = int(key[r])
        v = slow[r - len(ok)] if r >= len(ok) else None
        name = plugin.get(k) or (v.plugin if v is not None else None)
        if name == HPARAMS_PLUGIN and v is not None and v.tag in (SESSION_START, SESSION_END):
            sessions.append((v.order, plugin_data_pb2.HParamsPluginData.FromString(v.content)))
        elif name != HPARAMS_PLUGIN:
            label = v.kind if v is not None and isinstance(v.kind, str) else None
            if label in (None, "values without data", "tensors"):
                label = f"{name} (tensor-encoded)" if name else "tensors without a plugin"
            out.left_out.setdefault(label, set()).add(tags[k])
    _sessions(out, sorted(sessions, key=lambda s: s[0]))
    return finalize(out)


def _rows(fast: Fast, ok: np.ndarray, slow: list[Value], rows, key, order, kind):
    """(key, step, value, wall, order, how) of the value rows *rows* (indices into the fast
    values, then the slow ones)."""
    n = len(ok)
    f, s = rows[rows < n], rows[rows >= n] - n
    picked = [slow[i] for i in s]
    step = np.concatenate([fast.step[ok[f]], np.array([v.step for v in picked], np.int64)])
    value = np.concatenate([fast.value[ok[f]], np.array([v.value for v in picked], float)])
    wall = np.concatenate([fast.wall[ok[f]], np.array([v.wall for v in picked], float)])
    return key[rows], step, value, wall, order[rows], kind[rows]


def _sessions(out: RunRead, sessions: list) -> None:
    """The run's hyperparameters and status from its hparams sessions (in the order written):
    the last start info and the last end info win; a second start info with other values is
    said."""
    for _, data in sessions:
        which = data.WhichOneof("data")
        if which == "session_end_info":
            out.status = STATUS.get(data.session_end_info.status, "unknown")
        elif which == "session_start_info":
            hp = {}
            for name, value in sorted(data.session_start_info.hparams.items()):
                plain = _plain(value)
                hp[name] = (
                    json.dumps(plain, sort_keys=True) if isinstance(plain, list | dict) else plain
                )
            if out.hparams is not None and out.hparams != hp:
                changed = sorted(
                    k for k in set(hp) | set(out.hparams) if hp.get(k) != out.hparams.get(k)
                )
                out.warnings.append(
                    f"run '{out.run}': hyperparameters written twice with other values "
                    f"({', '.join(changed)}); kept the last written"
                )
            out.hparams = hp


def _plain(value):
    """A protobuf Value (an hparam's value) as Python: a number (float), str, bool, None, or a
    list or dict of these."""
    kind = value.WhichOneof("kind")
    if kind == "list_value":
        return [_plain(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: _plain(v) for k, v in value.struct_value.fields.items()}
    return None if kind in (None, "null_value") else getattr(value, kind)


def finalize(r: RunRead) -> RunRead:
    """*r* with its scalar rows checked and put in order: non-finite values left out, one row
    per (key, step) keeping the last written, keys sorted by name (r.keys holds only keys with
    rows), rows by key then step. Each fault said in r.warnings, naming run and key."""
    by_name = sorted(range(len(r.keys)), key=r.keys.__getitem__)
    rank = np.empty(len(r.keys), np.int64)
    rank[by_name] = np.arange(len(r.keys))
    r.keys, r.key = [r.keys[i] for i in by_name], rank[r.key]
    finite = np.isfinite(r.value)
    bad = np.flatnonzero(~finite)
    for k, at in _groups(r.key[bad]):
        r.warnings.append(
            f"run '{r.run}', key '{r.keys[k]}': {len(at)} values are NaN or infinite "
            f"({_steps(r.step[bad[at]])}); left out"
        )
    pairs = np.unique(r.key[finite] * 4 + r.how[finite])  # (key, how written) pairs
    for k in np.unique(pairs[1:][pairs[1:] // 4 == pairs[:-1] // 4] // 4):
        r.warnings.append(
            f"run '{r.run}', key '{r.keys[k]}': logged both as simple_value and as a tensor; "
            "read as one series"
        )
    written = np.flatnonzero(finite)
    written = written[np.lexsort((r.order[written], r.key[written]))]
    key, step = r.key[written], r.step[written]
    back = key[1:][(key[1:] == key[:-1]) & (step[1:] < step[:-1])]  # keys whose steps go back
    rows = np.flatnonzero(finite)
    rows = rows[np.lexsort((r.order[rows], r.step[rows], r.key[rows]))]
    key, step = r.key[rows], r.step[rows]
    stale = np.zeros(len(rows), bool)  # rows overwritten: the next has the same key and step
    stale[:-1] = (key[1:] == key[:-1]) & (step[1:] == step[:-1])
    # a repeat of the same value loses nothing (PyTorch Lightning logs `epoch` beside every
    # train and validation metric at one global step): said only where the values differ
    value = r.value[rows]
    differs = np.zeros(len(rows), bool)
    differs[:-1] = stale[:-1] & (value[1:] != value[:-1])
    for k, at in _groups(key[differs]):
        steps = np.unique(step[differs][at])
        r.warnings.append(
            f"run '{r.run}', key '{r.keys[k]}': {len(steps)} steps logged more than once "
            f"({_steps(steps)}; a restarted run?); kept the last value written for each"
        )
    for k in np.setdiff1d(back, key[stale]):
        r.warnings.append(
            f"run '{r.run}', key '{r.keys[k]}': logged out of step order; sorted by step"
        )
    rows = rows[~stale]
    used = np.unique(r.key[rows])
    rank = np.full(len(r.keys), -1, np.int64)
    rank[used] = np.arange(len(used))
    r.keys, r.key = [r.keys[k] for k in used], rank[r.key[rows]].astype(np.int32)
    r.step, r.value, r.wall = r.step[rows], r.value[rows], r.wall[rows]
    r.how, r.order = r.how[rows].astype(np.int8), np.arange(len(rows))
    return r


def _groups(keys: np.ndarray):
    """(key, positions in *keys*) for each distinct key, in key order."""
    if not len(keys):
        return []
    order = np.argsort(keys, kind="stable")
    distinct, first = np.unique(keys[order], return_index=True)
    return zip(distinct, np.split(order, first[1:]), strict=True)


def _steps(steps: np.ndarray) -> str:
    """'step 5', 'steps 5, 7, 9' or 'steps 5, 7, 9, ... 120' for a warning."""
    steps = np.unique(steps)
    if len(steps) == 1:
        return f"step {steps[0]}"
    shown = ", ".join(str(s) for s in steps[:3])
    return f"steps {shown}" + (f", ... {steps[-1]}" if len(steps) > 3 else "")


# ---------------------------------------------------------------- every run


def read_runs(runs: dict[str, list[Path]]) -> list[RunRead]:
    """read_run over every run: in forked worker processes (spawn would re-run a notebook
    kernel's main) when there are many runs and two cores, else here."""
    items = list(runs.items())
    count = workers()
    if count < 2 or len(items) < PARALLEL_FROM:
        return [read_run(run, files) for run, files in items]
    import multiprocessing

    _protos(), _crc_tables()  # once, here: the forked workers inherit them
    with multiprocessing.get_context("fork").Pool(count) as pool:
        return pool.starmap(read_run, items, chunksize=max(1, len(items) // (8 * count)))


def workers() -> int:
    """Processes to read with: WORKERS, at most one per core. Measured on 2 cores, 1,000 runs x 5
    tags x 1,000 steps (bench_tensorboard.py), a first read in one process vs two: 4.50-4.59 s
    vs 2.74-3.04 s at load 1.5; 5.5-6.0 s vs 5.7-7.0 s (read_runs alone) at load 6, with two
    reports building beside it. The gain outweighs the loss."""
    return max(1, min(WORKERS, os.cpu_count() or 1))


def assemble(location: str, reads: list[RunRead], notes: list[str]) -> trackers.TrackerData:
    """The two tables and every warning from the runs read (sorted by run id)."""
    reads = fold_sessions(reads)
    warnings = list(notes)
    for r in reads:
        warnings.extend(r.warnings)
    warnings.extend(_store_warnings(reads))
    runs, more = _runs_table(reads)
    warnings.extend(more)
    return trackers.TrackerData(TRACKER, location, runs, _scalars_table(reads), warnings)


def fold_sessions(reads: list[RunRead]) -> list[RunRead]:
    """Runs with the hparams session that torch's and tensorboardX's add_hparams write into a
    sub-folder folded into their parent run: a run without hyperparameters and with exactly one
    child run that has some and at most one value per key (the metric values add_hparams
    writes), and no runs below it, takes the child's hyperparameters, status, scalars and
    warnings; the child is dropped."""
    by_id = {r.run: r for r in reads}
    children: dict[str, list[RunRead]] = {}
    for r in reads:
        parent = posixpath.dirname(r.run) or "."
        single = not len(r.key) or np.bincount(r.key).max() == 1  # a value per key at most
        if r.run != "." and r.hparams is not None and single and parent in by_id:
            children.setdefault(parent, []).append(r)
    dropped = set()
    for parent_id, kids in children.items():
        parent, kid = by_id[parent_id], kids[0]
        inside = any(o.run.startswith(kid.run + "/") for o in reads)
        if len(kids) > 1 or parent.hparams is not None or inside:
            continue
        parent.hparams, parent.status = kid.hparams, kid.status
        keys = sorted(set(parent.keys) | set(kid.keys))
        said = list(parent.warnings) + list(kid.warnings)
        remap = [np.array([keys.index(k) for k in r.keys], np.int64) for r in (parent, kid)]
        parent.key = np.concatenate([remap[0][parent.key], remap[1][kid.key]]).astype(np.int64)
        parent.order = np.arange(len(parent.key))  # the child was written last
        for name in ("step", "value", "wall", "how"):
            setattr(parent, name, np.concatenate([getattr(parent, name), getattr(kid, name)]))
        parent.keys, parent.warnings = keys, []
        for kind, tags in kid.left_out.items():
            parent.left_out.setdefault(kind, set()).update(tags)
        finalize(parent)
        parent.warnings = list(dict.fromkeys(said + parent.warnings))
        dropped.add(kid.run)
    return [r for r in reads if r.run not in dropped]


def _runs(names: list[str]) -> str:
    """ "run 'a'" or "runs 'a', 'b' and 'c'"."""
    return f"run{'s' if len(names) > 1 else ''} {_listed(names)}"


def _listed(names: list[str]) -> str:
    """'a', 'b' and 'c' — at most LISTED names, then how many more."""
    shown = [f"'{n}'" for n in names[:LISTED]]
    if len(names) > LISTED:
        return ", ".join(shown) + f" and {len(names) - LISTED} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"


def _store_warnings(reads: list[RunRead]) -> list[str]:
    """Warnings about the runs together: runs inside runs, look-alike ids, runs without scalars
    or without hyperparameters while others have them, the summary kinds left out."""
    out = []
    ids = {r.run for r in reads}
    inside: dict[str, list[str]] = {}
    for r in reads:
        parts = r.run.split("/") if r.run != "." else []
        outer = ["."] + ["/".join(parts[:i]) for i in range(1, len(parts))]
        found = [o for o in outer if o in ids and o != r.run]
        if found:
            inside.setdefault(found[-1], []).append(r.run)
    for outer, inner in sorted(inside.items()):
        out.append(
            f"{_runs(inner)} {'lie' if len(inner) > 1 else 'lies'} inside run '{outer}' (event "
            "files in both folders): read as separate runs, as "
            "TensorBoard shows them"
        )
    alike: dict[str, list[str]] = {}
    for r in reads:
        alike.setdefault(unicodedata.normalize("NFC", r.run).casefold(), []).append(r.run)
    for same in alike.values():
        if len(same) > 1:
            out.append(
                f"runs {_listed(same)} differ only in letter case or Unicode form: kept apart "
                "by their folder path, but a name pattern or a case-insensitive file system "
                "would take them for one run"
            )
    empty = [r.run for r in reads if not len(r.key)]
    if empty:
        out.append(f"no scalars in {_runs(empty)}")
    without = [r.run for r in reads if r.hparams is None]
    if without and len(without) < len(reads):
        out.append(
            f"no hyperparameters (hparams plugin) in {_runs(without)}, while the other "
            f"{len(reads) - len(without)} runs have them"
        )
    kinds: dict[str, tuple[set, list]] = {}
    for r in reads:
        for kind, tags in r.left_out.items():
            kinds.setdefault(kind, (set(), []))[0].update(tags)
            kinds[kind][1].append(r.run)
    for kind, (tags, runs) in sorted(kinds.items()):
        named = sorted(t for t in tags if t)
        out.append(
            f"{kind} not read (this reader reads scalars): "
            + (f"tag{'s' if len(named) > 1 else ''} {_listed(named)} in " if named else "in ")
            + _runs(runs)
        )
    return out


def _runs_table(reads: list[RunRead]) -> tuple[pd.DataFrame, list[str]]:
    """The runs table (run, name, status, hparam:<name>...) and warnings about hyperparameters
    whose type differs between runs (kept as strings). Numbers are float64 (NaN where a run has
    none), strings and bools objects (None where missing), so the table reads back from Parquet
    as it was written."""
    table = {
        "run": [r.run for r in reads],
        "name": [r.run for r in reads],
        "status": [r.status for r in reads],
    }
    warnings = []
    names = sorted({k for r in reads for k in (r.hparams or {})})
    for name in names:
        values = [(r.hparams or {}).get(name) for r in reads]
        types = {type(v) for v in values if v is not None}
        if types == {float}:
            column = pd.Series(values, dtype="float64")
        elif types == {bool} and None not in values:
            column = pd.Series(values, dtype=bool)
        elif len(types) > 1:
            kinds = {float: "a number", str: "a string", bool: "a bool"}
            kind = [kinds.get(type(v), "a value") if v is not None else None for v in values]
            common = max(set(kinds.values()) & set(kind), key=lambda k: (kind.count(k), k))
            odd = [r.run for r, k in zip(reads, kind, strict=True) if k not in (None, common)]
            others = sorted({k for k in kind if k not in (None, common)})
            warnings.append(
                f"hyperparameter '{name}' is {' or '.join(others)} in {_runs(odd)} and {common} "
                "in the others: kept as strings"
            )
            column = pd.Series([None if v is None else str(v) for v in values], dtype=object)
        else:
            column = pd.Series(values, dtype=object)
        table[f"hparam:{name}"] = column.values
    return pd.DataFrame(table), warnings


def _scalars_table(reads: list[RunRead]) -> pd.DataFrame:
    """The scalars table (run, key, step, value, wall_time), sorted by run, key and step; run and
    key as categoricals of str."""
    if not reads or not sum(len(r.key) for r in reads):
        return trackers.empty_scalars()
    keys = sorted({k for r in reads for k in r.keys})
    code = {k: i for i, k in enumerate(keys)}
    key = np.concatenate([np.array([code[k] for k in r.keys], np.int64)[r.key] for r in reads])
    sizes = [len(r.key) for r in reads]
    run = np.repeat(np.arange(len(reads)), sizes)
    return pd.DataFrame(
        {
            "run": pd.Categorical.from_codes(run, [r.run for r in reads]),
            "key": pd.Categorical.from_codes(key, keys),
            "step": np.concatenate([r.step for r in reads]).astype(np.int64, copy=False),
            "value": np.concatenate([r.value for r in reads]).astype(np.float64, copy=False),
            "wall_time": np.concatenate([r.wall for r in reads]).astype(np.float64, copy=False),
        }
    )
