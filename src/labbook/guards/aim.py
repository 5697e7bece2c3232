"""The private parts of aim (3.29) labbook relies on, and only those: this module is the one place
that touches them. tests/test_guards_aim.py exercises each behaviour relied on; when aim changes
under a hook, the hook raises AimChanged saying what moved.

0. aim is optional (the `aim` extra: aim and its RocksDB binding aimrocks, which install on Python
   3.11 only). Every import of either goes through `require`, which names the extra to install
   when it is missing; nothing here imports them at module level.

1. Writing a run without aim's status reporter (`open_run`). Every writable aim.Run starts a
   RunStatusReporter (a writer thread for the check-in files under .aim/check_ins) and a heartbeat
   thread; Run.close stops them with RunStatusReporter.stop, which sets the stop flag before its
   final blocking flush. The writer thread can see the flag and exit before that flush waits, and
   the flush then waits forever (a lost wake-up; aim issue #3339 is the same wait left hanging
   by a writer thread that died). Check-ins only tell a monitoring server that a live run is
   still progressing; runs written in one go need none, and nothing labbook reads uses them.
   BasicRun.__init__ looks both classes up as globals of aim.sdk.run when it builds a run, so
   `open_run` builds it while those two names stand for "no reporter": nothing is started, and
   close has nothing to wait for.
2. Every run's name, experiment and tags in one query (`run_infos`): Repo.structured_db, aim's
   run-metadata SQLite, which aim documents nowhere. Every run of a server's repository
   (`remote_run_hashes`): Repo.list_all_runs goes through Repo._all_run_hashes, a cachetools
   ttl_cache whose entry keeps the Repo alive; a remote Repo still alive when its server has gone
   makes the interpreter's exit wait minutes on aim's cleanup thread, so the entry is dropped.
3. Reading a local repository without writing to it (`read_database`, `run_rows` and the key
   layout below). aim's own read path is not read-only: a run opened with Run(read_only=True)
   goes through RocksContainer.optimize_for_read, which reopens any database whose write-ahead
   log is not empty (a run still being written, or one whose writer died) *writable* to flush
   it, so reading writes LOG, MANIFEST and OPTIONS files and a lock into the user's .aim, and on
   a damaged log rewrites it; and aim's Repo opens the run-metadata SQLite read-write (SQLAlchemy)
   and may upgrade its schema. Here each RocksDB is opened by aimrocks with read_only=True and
   create_if_missing=False (RocksDB replays a write-ahead log in memory and writes nothing, not
   even its info LOG), and the SQLite with sqlite3 `mode=ro`. What is read is laid out as aim
   3.29 lays it out (encoded with aim.storage.encoding):
   - meta/chunks/<run>/ (one RocksDB per run) and meta/index/ (the runs indexed so far): under
     ("meta", "chunks", <run>): "attrs" (run[...] values), "contexts" {context id: dict},
     "traces" {context id: {metric: {"dtype", "version", ...}}}, "end_time" (None while the run
     is written);
   - seqs/chunks/<run>/: under ("seqs", "v2", "chunks", <run>, <context id>, <metric>) one array
     per field ("step", "val", "epoch", "time"), its elements keyed by a hash of the step, so the
     four arrays list their elements in the same order;
   - run_metadata.sqlite: tables run (hash, name, is_archived, experiment_id), experiment, tag and
     run_tag;
   - a binary or text object's data (an aim.Text, aim.Image, or a line of terminal output that
     aim's capture_terminal_logs, on by default, keeps under the `logs` trace) is a BLOB: its key
     holds an empty value (aim's BLOB_SENTINEL) and its bytes live under the key prefixed by
     BLOBS (BLOB_DOMAIN). A reader of scalars never needs those bytes; `decode_value` reads the
     empty value as BLOB.
"""

import bisect
import importlib
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

TESTED = "3.29.1"  # the aim version these hooks were written against and tested with
_REPORTERS = ("RunStatusReporter", "ScheduledStatusReporter")  # globals of aim.sdk.run
_PATCHING = threading.Lock()  # one run built at a time while the module globals are replaced


EXTRA = "pip install 'labbook[aim]'"  # what installs aim and aimrocks
AIM_PYTHONS = "Python 3.11"  # the Pythons aim 3.29 installs on (wheels for cp311 only)


class AimChanged(RuntimeError):
    """aim no longer behaves as a labbook hook into its internals expects."""


class AimMissing(ImportError):
    """aim (or aimrocks) is not installed, so an Aim repository can be neither read nor written."""


def require(module: str = "aim"):
    """*module* ("aim", or "aimrocks": aim's RocksDB binding, all a local read needs), imported.
    AimMissing when it is not installed, saying which extra installs it and on which Python; an
    installed module that fails to import raises its own error."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is None or not f"{module}.".startswith(f"{exc.name}."):
            raise  # installed, but broken: its own error says more than "missing" would
        here = ".".join(map(str, sys.version_info[:3]))
        package = module.partition(".")[0]
        raise AimMissing(
            f"{package} is not installed: Aim repositories need the aim extra ({EXTRA}), which "
            f"installs on {AIM_PYTHONS} only (this is Python {here}); every other input works "
            "without it"
        ) from None


def _changed(what: str) -> AimChanged:
    from importlib.metadata import version

    return AimChanged(
        f"aim {version('aim')} changed under labbook.guards.aim (written for aim {TESTED}): "
        f"{what}. Update the hook there and run tests/test_guards_aim.py."
    )


def _no_reporter(*args, **kwargs) -> None:
    """Stands in for RunStatusReporter and ScheduledStatusReporter while a run is built: the run
    keeps None and its close skips both."""
    return None


def open_run(repo: str, experiment: str | None = None, aim_defaults: bool = False):
    """A new aim.Run in the local repository at *repo* (the folder holding .aim), writable, with
    no status reporter or heartbeat, and (unless *aim_defaults*) no system-metrics or terminal-log
    thread, so closing it waits on no thread. With *aim_defaults* the run keeps aim's own defaults
    for those, as integrations that build aim.Run(repo=...) get them (Hugging Face accelerate's
    AimTracker, Lightning's AimLogger): system metrics (`__system__*`) every 10 s, the system
    parameters, and every line printed kept under the `logs` trace; its close then stops and joins
    that one thread (it wakes every 0.1 s). Call run.close() when done (or use `writing_run`). The
    run's log_info/log_warning/log_error methods report to the status reporter and are not
    available on it. A folder without .aim is an error (aim.Run would create a repository there
    without a word)."""
    Run = require("aim").Run
    aim_run = require("aim.sdk.run")

    if not (Path(repo) / ".aim").is_dir():
        raise FileNotFoundError(
            f"{repo}: no Aim repository here (no .aim folder); create one first with "
            "aim.Repo.from_path(path, init=True)"
        )

    looked_up = aim_run.BasicRun.__init__.__code__.co_names
    for name in _REPORTERS:
        if not hasattr(aim_run, name) or name not in looked_up:
            raise _changed(f"BasicRun.__init__ no longer builds {name} from aim.sdk.run")
    saved = {name: getattr(aim_run, name) for name in _REPORTERS}
    with _PATCHING:
        for name in _REPORTERS:
            setattr(aim_run, name, _no_reporter)
        try:
            quiet = dict(
                system_tracking_interval=None, log_system_params=False, capture_terminal_logs=False
            )
            run = Run(repo=str(repo), experiment=experiment, **({} if aim_defaults else quiet))
        finally:
            for name, value in saved.items():
                setattr(aim_run, name, value)
    kept = vars(run)
    if "_checkins" not in kept or "_heartbeat" not in kept:
        run.close()
        raise _changed("Run no longer keeps its status reporter in _checkins and _heartbeat")
    if kept["_checkins"] is not None or kept["_heartbeat"] is not None:
        run.close()
        raise _changed("Run started a status reporter although none was given")
    return run


@contextmanager
def writing_run(repo: str, experiment: str | None = None) -> Iterator:
    """`open_run` as a context manager: the run is closed on leaving the block."""
    run = open_run(repo, experiment)
    try:
        yield run
    finally:
        run.close()


def run_infos(repo) -> dict[str, tuple[str, str, list[str]]] | None:
    """{run hash: (name, experiment, sorted tags)} for every run of an open aim.Repo, read in one
    query of its run-metadata SQLite (Repo.structured_db; '' for a missing name or experiment).
    None when the repository is an aim server's (aim serves no SQLite to its clients): read each
    run's name and tags through aim.Run then."""
    if not hasattr(repo, "structured_db"):
        raise _changed("Repo has no structured_db (the run-metadata SQLite)")
    db = repo.structured_db
    if db is None:
        return None
    try:
        return {r.hash: (r.name or "", r.experiment or "", sorted(r.tags)) for r in db.runs()}
    except (AttributeError, TypeError) as exc:
        raise _changed(
            f"Repo.structured_db.runs() no longer yields runs with hash, name, experiment and "
            f"tags ({type(exc).__name__}: {exc})"
        ) from exc


def remote_run_hashes(repo) -> set[str]:
    """Every run of an aim server's repository (an open aim.Repo): Repo.list_all_runs, with its
    ttl_cache entry (which keeps *repo* alive) dropped."""
    cached = getattr(type(repo), "_all_run_hashes", None)
    if cached is None or not hasattr(cached, "cache_clear"):
        raise _changed("Repo._all_run_hashes is no longer a cachetools ttl_cache")
    try:
        return set(repo.list_all_runs())
    finally:
        cached.cache_clear()


# ---------------------------------------------------------------- reading, never writing

# aim's RocksContainer options for a run's database, as far as they matter to a reader
_READ_OPTIONS = dict(
    create_if_missing=False,
    paranoid_checks=False,
    keep_log_file_num=10,
    skip_stats_update_on_db_open=True,
    skip_checking_sst_file_sizes_on_db_open=True,
    max_open_files=-1,
    allow_mmap_reads=True,
)
SERIES_FIELDS = ("step", "val", "epoch", "time")  # the arrays of a metric (see 3. above)
METRIC_DTYPES = ("float", "float64", "int", "number")  # a trace of these dtypes is a metric


def read_database(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of the RocksDB at *path* in key order, opened read-only (see 3. above):
    nothing is created or changed. FileNotFoundError when *path* holds no database (no CURRENT
    file); a damaged database raises aimrocks' error (e.g. Corruption), which names the file."""
    aimrocks = require("aimrocks")
    path = Path(path)
    if not (path / "CURRENT").is_file():
        raise FileNotFoundError(f"{path}: no database here (no CURRENT file)")
    db = aimrocks.DB(str(path), aimrocks.Options(**_READ_OPTIONS), read_only=True)
    try:
        it = db.iteritems()
        it.seek_to_first()
        return list(it)
    finally:
        del db  # closes it


# aim.storage.encoding's format, decoded here: importing aim's own module imports all of aim's
# SDK (half a second), and these few rules are all a reader needs. A key is its parts joined,
# each followed by SENTINEL: a str part as UTF-8 (never holding the byte 0xFE), an int part as
# SENTINEL + 8 bytes big-endian signed. A value is one type byte and its content.
SENTINEL = b"\xfe"
_NONE, _BOOL, _INT, _FLOAT, _STR, _BYTES, _ARRAY, _OBJECT, _CUSTOM = range(9)
_ARRAY_VALUE = bytes([_ARRAY])  # the whole value that says "an array follows under this key"
_NINE = np.arange(9)  # one type byte and 8 bytes of number


class _Flag:
    """A stored value that says "a list/dict follows under this key"."""

    def __init__(self, kind: str):
        self.kind = kind


ARRAY, OBJECT = _Flag("array"), _Flag("object")
BLOB = _Flag("blob")  # a value kept apart under the BLOBS domain (see 3. above), not read
BLOB_SENTINEL = b""  # aim.storage.rockscontainer's: the stored value of a BLOB's key


def encode_path(path: tuple) -> bytes:
    """The key prefix of *path* (str and int parts), as aim encodes it."""
    out = []
    for part in path:
        if isinstance(part, str):
            out.append(part.encode("utf-8"))
        elif isinstance(part, int):
            out.append(SENTINEL + part.to_bytes(8, "big", signed=True))
        else:
            raise TypeError(f"a key part is str or int, got {part!r}")
    return b"".join(p + SENTINEL for p in out)


def decode_path(key: bytes) -> list:
    """The parts of an encoded key (str and int)."""
    parts, i, n = [], 0, len(key)
    while i < n:
        if key[i] == SENTINEL[0]:
            parts.append(int.from_bytes(key[i + 1 : i + 9], "big", signed=True))
            i += 10
        else:
            j = key.index(SENTINEL, i)
            parts.append(key[i:j].decode("utf-8"))
            i = j + 1
    return parts


def decode_value(value: bytes):
    """One stored value: None, bool, int, float, str, bytes, ARRAY / OBJECT (a list or dict
    follows under its key; aim's custom objects, e.g. an aim.Image kept as a run attribute, read
    as a dict of their fields), or BLOB (the empty value of a key whose data aim keeps apart: an
    image's pixels, a text, a captured line of terminal output; see 3. above)."""
    if value == BLOB_SENTINEL:
        return BLOB
    kind, body = value[0], value[1:]
    if kind == _BOOL:
        return body[:1] != b"\x00"
    if kind == _INT:
        return int.from_bytes(body, "little", signed=True)
    if kind == _FLOAT:
        return float(np.frombuffer(body, dtype="<f8")[0])
    if kind == _STR:
        return body.decode("utf-8")
    if kind == _BYTES:
        return bytes(body)
    if kind == _ARRAY:
        return ARRAY
    if kind in (_OBJECT, _CUSTOM):
        return OBJECT
    return None


def decode_tree(items: list[tuple[bytes, bytes]], prefix: bytes):
    """The nested value (dicts, lists, scalars) stored under *prefix*: *items* are (key, value)
    pairs in key order, every key starting with *prefix*. None when there are none. A BLOB
    (decode_value) is kept as the leaf BLOB: its data are not read."""
    if not items:
        return None
    root: dict = {}
    arrays = []
    for key, value in items:
        path = decode_path(key[len(prefix) :])
        leaf = decode_value(value)
        if not path:
            if leaf is ARRAY:
                arrays.append(root)
            elif leaf is not OBJECT:
                return leaf
            continue
        node = root
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if leaf is BLOB:
            node[path[-1]] = BLOB
        elif isinstance(leaf, _Flag):
            node[path[-1]] = {}
            if leaf is ARRAY:
                arrays.append(node[path[-1]])
        else:
            node[path[-1]] = leaf
    listed = {id(a) for a in arrays}
    return _lists(root, listed)


def _lists(node, listed: set[int]):
    """*node* with every dict that stands for an array turned into a list (by index order)."""
    if not isinstance(node, dict):
        return node
    out = {k: _lists(v, listed) for k, v in node.items()}
    if id(node) in listed:
        return [out[k] for k in sorted(out)]
    return out


def prefix_range(keys: list[bytes], prefix: bytes) -> tuple[int, int]:
    """(lo, hi): keys[lo:hi] are the keys of sorted *keys* that start with *prefix*."""
    lo = bisect.bisect_left(keys, prefix)
    hi = bisect.bisect_left(keys, prefix + b"\xff", lo)
    return lo, hi


def run_meta_prefix(run_hash: str) -> bytes:
    """Key prefix of a run's metadata, in meta/index and in meta/chunks/<run>."""
    return encode_path(("meta", "chunks", run_hash))


def arrays(items: list[tuple[bytes, bytes]], prefix: bytes = b"") -> list[tuple[list, np.ndarray]]:
    """Every array stored in a database's *items* (read_database) under the key *prefix*, in key
    order: (the parts of its key after *prefix*, float64 array(n) of its elements in key order).
    Numbers are decoded vectorised; an element that is not an int64 or float64 (None: an epoch
    aim was not given) is NaN. In a run's seqs database a metric's arrays are ("seqs", "v2",
    "chunks", run, context id, metric, field): under that run's prefix, (context id, metric,
    field)."""
    if not items:
        return []
    values = list(map(itemgetter(1), items))
    lens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    flags = [i for i in np.flatnonzero(lens == 1).tolist() if values[i] == _ARRAY_VALUE]
    if not flags:
        return []
    buf = np.frombuffer(b"".join(values), dtype=np.uint8)
    numbers = np.full(len(values), np.nan)
    nine = np.flatnonzero(lens == 9)
    rec = buf[(np.cumsum(lens) - lens)[nine, None] + _NINE]
    kind, bits = rec[:, 0], np.ascontiguousarray(rec[:, 1:])
    floats, ints = kind == _FLOAT, kind == _INT
    numbers[nine[floats]] = bits[floats].view("<f8").ravel()
    numbers[nine[ints]] = bits[ints].view("<i8").ravel().astype(np.float64)
    bounds = [*flags, len(values)]
    n = len(prefix)
    return [
        (decode_path(items[a][0][n:]), numbers[a + 1 : b])
        for a, b in zip(bounds[:-1], bounds[1:])
        if items[a][0].startswith(prefix)
    ]


@dataclass(frozen=True)
class RunRow:
    """A run as aim's run-metadata SQLite lists it."""

    name: str | None
    experiment: str | None
    archived: bool
    tags: tuple[str, ...]


def run_rows(aim_dir: Path) -> dict[str, RunRow]:
    """{run hash: RunRow} from .aim/run_metadata.sqlite, read with sqlite3 mode=ro in one read
    transaction; {} when the file is missing. sqlite3.Error when it cannot be read."""
    db = Path(aim_dir) / "run_metadata.sqlite"
    if not db.is_file():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        runs = conn.execute(
            "SELECT run.id, run.hash, run.name, run.is_archived, experiment.name FROM run "
            "LEFT JOIN experiment ON experiment.id = run.experiment_id"
        ).fetchall()
        tags: dict[int, list[str]] = {}
        for run_id, tag in conn.execute(
            "SELECT run_tag.run_id, tag.name FROM run_tag JOIN tag ON tag.id = run_tag.tag_id"
        ):
            tags.setdefault(run_id, []).append(tag)
    finally:
        conn.close()
    return {
        h: RunRow(name, experiment, bool(archived), tuple(sorted(tags.get(run_id, []))))
        for run_id, h, name, archived, experiment in runs
    }
