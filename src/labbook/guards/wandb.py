"""The private parts of wandb (0.31) labbook relies on, and only those: this module is the one place
that touches them. tests/test_guards_wandb.py checks each against runs written by wandb itself;
when wandb changes under it, `check` (called before every read) raises WandbChanged saying what
moved, and the test fails.

A W&B run's history lives only in its transaction log, `run-<id>.wandb` in the run folder
(`wandb/offline-run-*` or `wandb/run-*`); offline runs have no other copy of it. wandb has no
public reader of that file: its public Api reads runs from the W&B server only, wandb 0.31 dropped
the Python reader it had (wandb.sdk.internal.datastore), and its own reader is now in the Go
service (wandb-core), reachable only by replaying a run to a server (`wandb sync`). So:

1. The file's framing, as wandb-core 0.31 writes it (and as the dropped Python datastore read it):
   a 7-byte header, ident ``:W&B``, magic 0xBEE1 (uint16, little-endian), version 0 (uint8);
   then LevelDB's log format: blocks of BLOCK bytes, each holding chunks of a 7-byte header
   (checksum uint32, length uint16, type uint8; little-endian) and *length* bytes of data; a
   record is one FULL chunk or a FIRST, MIDDLE..., LAST sequence; fewer than 7 bytes left in a
   block are padding. The checksum is CRC-32 (IEEE, zlib.crc32) of the type byte then the data,
   unmasked (LevelDB proper uses masked CRC-32C).
2. Each record is a ``wandb.proto.wandb_internal_pb2.Record`` (wandb's internal protocol, the one
   the SDK and wandb-core exchange). Read: ``run`` (run_id, display_name, project, run_group,
   job_type, tags, config), ``config`` and ``summary`` (update and remove items), ``history``
   (items and step) and ``exit`` (exit_code). An item's name is its ``nested_key`` path (a dict
   logged as {"a": {"b": 1}} gives ("a", "b")), or its ``key``; its value the JSON text
   ``value_json`` (wandb writes NaN and infinities as the JSON extensions NaN, Infinity), or one
   of the typed fields of a history item's ``value`` oneof.

`read_log` returns plain Python (no protobuf object leaves this module). wandb itself is imported
only when a log is decoded: a missing wandb raises WandbMissing, naming the extra to install.
"""

import json
import struct
import zlib
from dataclasses import dataclass, field

TESTED = "0.31.0"  # the wandb version this module was written against and tested with
IDENT, MAGIC, VERSION = b":W&B", 0xBEE1, 0
FILE_HEADER = 7
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
RECORD_KINDS = ("run", "config", "summary", "history", "exit")  # the Record fields read
EXTRA = "labbook[wandb]"

Path_ = tuple[str, ...]  # an item's name: its nested_key path, or (key,)


class WandbChanged(RuntimeError):
    """wandb no longer writes or describes its run files as this module expects."""


class WandbMissing(ImportError):
    """wandb is not installed; reading a W&B run needs it (the extra labbook[wandb])."""


def _changed(what: str) -> WandbChanged:
    from importlib.metadata import version

    return WandbChanged(
        f"wandb {version('wandb')} changed under labbook.guards.wandb (written for wandb "
        f"{TESTED}): {what}. Update the module there and run tests/test_guards_wandb.py."
    )


_PB = None


def _proto():
    """wandb.proto.wandb_internal_pb2, imported once (it imports wandb: ~1 s)."""
    global _PB
    if _PB is None:
        try:
            from wandb.proto import wandb_internal_pb2
        except ImportError as exc:
            if exc.name not in ("wandb", "wandb.proto"):
                raise  # installed, but broken: its own error says more than "missing" would
            raise WandbMissing(
                "W&B runs are read with the wandb package (the wandb extra), which is not "
                f"installed: pip install '{EXTRA}'. Every other input works without it."
            ) from None
        _PB = wandb_internal_pb2
        check()
    return _PB


NEEDED = {  # message: the fields this module reads
    "Record": RECORD_KINDS,
    "RunRecord": ("run_id", "display_name", "project", "run_group", "job_type", "tags", "config"),
    "ConfigRecord": ("update", "remove"),
    "ConfigItem": ("key", "nested_key", "value_json"),
    "SummaryRecord": ("update", "remove"),
    "SummaryItem": ("key", "nested_key", "value_json"),
    "HistoryRecord": ("item", "step"),
    "HistoryItem": ("key", "nested_key", "value_json"),
    "HistoryStep": ("num",),
    "RunExitRecord": ("exit_code",),
}


def check() -> None:
    """WandbChanged unless wandb's Record protocol has every message and field read here, and
    the record kinds in the Record's record_type oneof."""
    pb = _PB if _PB is not None else _proto()
    for message, fields in NEEDED.items():
        descriptor = getattr(pb, message, None)
        if descriptor is None:
            raise _changed(f"wandb_internal_pb2 has no message {message}")
        names = set(descriptor.DESCRIPTOR.fields_by_name)
        missing = [f for f in fields if f not in names]
        if missing:
            raise _changed(f"{message} lacks the field(s) {', '.join(missing)}")
    oneof = pb.Record.DESCRIPTOR.oneofs_by_name.get("record_type")
    kinds = {f.name for f in oneof.fields} if oneof is not None else set()
    if not set(RECORD_KINDS) <= kinds:
        raise _changed(f"Record's record_type oneof lacks {sorted(set(RECORD_KINDS) - kinds)}")


# ---------------------------------------------------------------- what a log holds


@dataclass
class RunInfo:
    run_id: str
    name: str
    project: str
    group: str
    job_type: str
    tags: tuple[str, ...]
    config: list[tuple[Path_, str]]  # (name, JSON text) of each config item given at init


@dataclass
class Update:
    """A config or summary record: items set (name, JSON text) and names removed."""

    kind: str  # "config" or "summary"
    update: list[tuple[Path_, str]]
    remove: list[Path_]


@dataclass
class Row:
    """A history row: (name, value) of each item, value a Python value (JSON decoded), and the
    row's step (None if the record gives none)."""

    items: list[tuple[Path_, object]]
    step: int | None


@dataclass
class Exit:
    exit_code: int


@dataclass
class Log:
    """What a transaction log holds: its records in the order written (RunInfo, Update, Row,
    Exit; the kinds not read are counted in `others`), and `damage`: None when the log was read
    to its end, else where and why reading stopped ("cut" when the file ends inside a record,
    "damaged" otherwise; the records before it are kept)."""

    records: list = field(default_factory=list)
    others: int = 0
    damage: tuple[str, str] | None = None  # (kind "cut" or "damaged", sentence)


def _name(item) -> Path_:
    return tuple(item.nested_key) or (item.key,)


def _history_value(item):
    """A history item's value: its JSON text decoded (a number, the common case, by float():
    five times faster than json.loads, and it reads NaN and Infinity as JSON does), or its
    typed `value` field."""
    text = item.value_json
    if text:
        try:
            return float(text)
        except ValueError:
            return json.loads(text)
    kind = item.WhichOneof("value")
    if kind in (None, "none"):
        return None
    return json.loads(item.json) if kind == "json" else getattr(item, kind)


def _entry(record):
    """A Record as plain Python, or None for a kind not read."""
    kind = record.WhichOneof("record_type")
    if kind == "history":
        h = record.history
        return Row(
            [(_name(i), _history_value(i)) for i in h.item],
            h.step.num if h.HasField("step") else None,
        )
    if kind in ("config", "summary"):
        r = getattr(record, kind)
        return Update(
            kind, [(_name(i), i.value_json) for i in r.update], [_name(i) for i in r.remove]
        )
    if kind == "run":
        r = record.run
        config = [(_name(i), i.value_json) for i in r.config.update]
        return RunInfo(
            r.run_id, r.display_name, r.project, r.run_group, r.job_type, tuple(r.tags), config
        )
    if kind == "exit":
        return Exit(record.exit.exit_code)
    return None


def chunks(data: bytes):
    """(offset, type, payload) of each chunk of the log *data* after its file header, then a
    final (offset, None, (kind, sentence)) if the data do not end cleanly at a chunk's end."""
    pos, end = FILE_HEADER, len(data)
    while pos < end:
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER:
            if data[pos : pos + left].strip(b"\0"):
                yield pos, None, ("damaged", f"non-zero padding at byte {pos}")
                return
            pos += left
            continue
        if pos + CHUNK_HEADER > end:
            yield pos, None, ("cut", f"ends inside a record header at byte {pos}")
            return
        checksum, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0 and not data[pos:].strip(b"\0"):
            yield pos, None, ("cut", f"ends in {end - pos} zero bytes from byte {pos}")
            return
        if pos + CHUNK_HEADER + length > end:
            yield pos, None, ("cut", f"ends inside a record at byte {pos}")
            return
        if length > left - CHUNK_HEADER or kind not in (FULL, FIRST, MIDDLE, LAST):
            yield pos, None, ("damaged", f"a malformed record header at byte {pos}")
            return
        payload = data[pos + CHUNK_HEADER : pos + CHUNK_HEADER + length]
        if zlib.crc32(payload, zlib.crc32(bytes([kind]))) != checksum:
            yield pos, None, ("damaged", f"a checksum mismatch at byte {pos}")
            return
        yield pos, kind, payload
        pos += CHUNK_HEADER + length


def read_log(data: bytes) -> Log:
    """The records of a transaction log's bytes *data* (the whole file, read by the caller):
    decoded up to the first fault, which `damage` describes. WandbMissing without wandb."""
    log = Log()
    if len(data) < FILE_HEADER or data[:4] != IDENT:
        log.damage = ("damaged", "has no W&B transaction-log header (:W&B)")
        return log
    _, magic, version = struct.unpack_from("<4sHB", data, 0)
    if magic != MAGIC or version != VERSION:
        log.damage = (
            "damaged",
            f"has header magic {magic:#06x} version {version}; this reader knows "
            f"{MAGIC:#06x} version {VERSION} (wandb {TESTED})",
        )
        return log
    pb = _proto()
    parts: list[bytes] | None = None
    start = FILE_HEADER
    for pos, kind, payload in chunks(data):
        if kind is None:
            log.damage = payload
            break
        if kind in (FULL, FIRST):
            if parts is not None:
                log.damage = ("damaged", f"a record left unfinished before byte {pos}")
                break
            parts, start = [payload], pos
        elif parts is None:
            log.damage = ("damaged", f"a record continued at byte {pos} without its start")
            break
        else:
            parts.append(payload)
        if kind in (FULL, LAST):
            record = pb.Record()
            try:
                record.ParseFromString(b"".join(parts))
                entry = _entry(record)
            except Exception as exc:  # protobuf's DecodeError or a JSON error, named below
                log.damage = ("damaged", f"an undecodable record at byte {start} ({exc})")
                break
            parts = None
            if entry is None:
                log.others += 1
            else:
                log.records.append(entry)
    else:
        if parts is not None:
            log.damage = ("cut", f"ends inside a record that starts at byte {start}")
    return log
