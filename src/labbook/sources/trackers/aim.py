"""Aim repositories -> the tracker layer's runs and scalars tables (see trackers/__init__).

    data = aim.read("results/")             # the folder holding .aim
    data = aim.read("aim://host:53800")     # an `aim server`
    data = aim.read("results/", step_from="epoch")   # aim's epoch as the step

What is read. Runs table: `run` = the run hash, `name` = the run name (the hash when it has
none), `status` "finished" (the run was closed: it has an end time) or "running" (no end time:
still being written, or its writer stopped without closing it; its scalars may be incomplete).
Attributes: `tag:<t>` = True for each aim tag (`run.add_tag`); `run["params"][k]` -> `param:<k>`,
`run["tags"][k]` -> `tag:<k>` (what trackerwrite.write_aim writes), `run["hparams"][k]` ->
`hparam:<k>` (aim's documented habit, read as TensorBoard's hparams are), any other `run[k]` ->
`param:<k>`; nested dicts flattened with dots (`run["hparams"]["opt"]["lr"]` -> `hparam:opt.lr`),
lists as JSON text; aim's own `__system_params` left out; the experiment as
`tag:aim.experiment`. A `run["tags"]` entry wins over an aim tag of the same name, a
`run["params"]` entry over a top-level `run[k]` of the same name (with a warning).
Scalars: every metric (int and float sequences; images, texts and other objects are not scalars),
one key per metric and context: `accuracy` for an empty context, `accuracy[subset:val]`
otherwise, several context entries sorted by name and joined by commas
(`loss[fold:1,subset:val]`), a value written as text when it is a string, as JSON otherwise
(`[is_train:true]`). A `:`, not a `=`: papermill reads a `=` in a parameters cell as an
assignment, so a key holding one could not be a notebook parameter's default. `step` is aim's
step, or with step_from="epoch" aim's epoch (values logged without one are left out);
`wall_time` is aim's timestamp of each value.

What is left out, with a warning naming the run (name and hash) and the key: a run that cannot be
read (a damaged database: the error says which file); NaN and infinite values; with
step_from="epoch" values without an epoch, and all but the last value (in step order) where two
values share an epoch; a metric in aim's pre-3.0 layout (version 1). Also warned: runs not
finished (status running), runs not yet in the repository's index (aim indexes runs late; they are
read from their own files all the same), runs sharing a name, archived runs (kept), runs missing
from the run-metadata database (named by their hash). A step logged twice cannot be seen: aim
keeps one value per step, the last written.

Read-only, and fast where aim's own API is slow: the repository is never opened through aim's
Repo or Run (see labbook.guards.aim, 3.: aim's read path writes into a repository that holds a
run still being written or damaged); each RocksDB is opened read-only by the guard and read in
one pass, its numbers decoded vectorised; runs' metadata come from the index (one database) and,
for runs not in it or not finished, from their own database; with many runs, this process and
forked ones share the runs out (read_runs). The metrics have no index (aim 3.29 indexes run
metadata only), so each run's seqs database is opened: RocksDB's work on those databases (several
unmerged tables per run, full of the deletion markers aim's writer leaves) is most of a first
read. An `aim://` server is read through aim's SDK (no files to open). A local repository is
cached (trackers.base's Arrow files) under paths.CACHE / "aim", keyed by a digest of the run
data only (every file under .aim but locks, check-ins, progress markers, the index and RocksDB's
logs; see repo_digest), so a second read of an unchanged repository is a file read and reading
never changes the key. Errors (InputError): a missing path, a file, a folder without .aim.
"""

import hashlib
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.guards import aim as guard
from labbook.inputs import InputError
from labbook.sources.trackers import base as trackers
from labbook.sources.trackers.base import TrackerData, listed_steps, some

guard.require("aimrocks")  # without the aim extra: AimMissing, naming it (not a later failure)

TRACKER = "aim"
CACHE_VERSION = 3  # bump when what a read returns changes
STEP_FROM = ("step", "epoch")
EXPERIMENT = "tag:aim.experiment"
WORKERS = 2  # processes reading runs in parallel (at most; this one included)
PARALLEL_FROM = 100  # runs from which WORKERS processes read them
THREADS = 3  # threads reading runs in each process
CHILD_WAIT = 10  # seconds a reading process has to end once it has sent its runs
_NOT_DATA = ("locks", "check_ins", "progress")  # liveness and progress bookkeeping, not run data


# ---------------------------------------------------------------- the repository on disk


def is_remote(location: str) -> bool:
    return str(location).startswith("aim://")


def check_local_repo(root: Path, parameter: str = "source") -> Path:
    """The repository root *root* checked: it exists and holds a .aim folder (*parameter*: the
    notebook parameter that named it, for the message). Returns the .aim path."""
    if not root.exists():
        raise inputs.not_found(root, parameter)
    if not root.is_dir():
        raise InputError(
            f"{root}: {parameter} must be a folder holding an Aim repository (.aim), got a file"
        )
    aim_dir = root / ".aim"
    if not aim_dir.is_dir():
        raise InputError(
            f"{root}: no .aim folder here, so this is not an Aim repository (point {parameter} at "
            "the folder that contains .aim)"
        )
    return aim_dir


def repo_digest(aim_dir: Path) -> tuple[str, str]:
    """sha256 of the repository's run data as files: every file under .aim but bookkeeping (locks,
    check-ins, progress), the search index (meta/index: derived from the runs, rewritten by aim's
    background indexer) and RocksDB's info logs and lock files. Immutable table files (.sst) count
    by name and size; every other file by name, size and modification time. Reading changes none
    of these, so a second load hits the cache; any change to a run changes the digest. One
    directory scan, one stat per file, excluded folders never entered (a 1,000-run repository
    holds some 20,000 files). Returned with the cache key's stamp (trackers.Stamps of the files
    counted by modification time)."""
    files, stamped = [], []
    stack = [("", str(aim_dir))]
    while stack:
        rel, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if not (rel == "" and entry.name in _NOT_DATA) and name != "meta/index":
                        stack.append((name, entry.path))
                elif entry.is_file() and not (
                    entry.name in ("LOCK", "LOG")
                    or entry.name.startswith("LOG.old")
                    or entry.name.endswith(".lock")
                ):
                    st = entry.stat()
                    stamp = "" if entry.name.endswith(".sst") else str(st.st_mtime_ns)
                    files.append(f"{name}\0{st.st_size}\0{stamp}\n")
                    if stamp:
                        stamped.append((name, st))
    h = hashlib.sha256()
    for line in sorted(files):
        h.update(line.encode())
    stamps = trackers.Stamps()
    for name, st in sorted(stamped, key=lambda pair: pair[0]):
        stamps.add(name, st)
    return h.hexdigest(), stamps.hexdigest()


def reindex(root: Path) -> None:
    """`aim storage --repo ROOT reindex -y` (rebuilds the repository's index; touches
    nothing else). The only call here that writes to a repository, and only on request."""
    aim = Path(sys.executable).with_name("aim")
    done = subprocess.run(
        [str(aim), "storage", "--repo", str(root), "reindex", "-y"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise InputError(f"{root}: `aim storage reindex` failed: {done.stderr.strip()[-500:]}")


def run_hashes(aim_dir: Path) -> list[str]:
    """Every run of the repository (aim's list_all_runs: one folder per run in meta/chunks)."""
    chunks = Path(aim_dir) / "meta" / "chunks"
    return sorted(os.listdir(chunks)) if chunks.is_dir() else []


def _index(aim_dir: Path) -> tuple[list[bytes], list[bytes]]:
    """(keys, values) of the repository's index, ([], []) when it has none or aim marked it
    corrupted (then every run is read from its own database)."""
    index = Path(aim_dir) / "meta" / "index"
    if (index / ".corrupted").exists() or not (index / "CURRENT").is_file():
        return [], []
    items = guard.read_database(index)
    return [k for k, _ in items], [v for _, v in items]


def unindexed(root: Path) -> list[str]:
    """The runs of the repository at *root* that its index does not list yet (aim indexes runs
    late; aim's own API cannot read them until `aim storage reindex`)."""
    aim_dir = Path(root) / ".aim"
    keys, _ = _index(aim_dir)
    return [h for h in run_hashes(aim_dir) if not _in_index(keys, h)]


def _in_index(keys: list[bytes], run_hash: str) -> bool:
    lo, hi = guard.prefix_range(keys, guard.run_meta_prefix(run_hash))
    return hi > lo


# ---------------------------------------------------------------- one run


@dataclass
class RunRead:
    """What was read of one run: its metadata tree (attrs, contexts, traces, end_time), whether
    the index had it, its metric values and its faults. The values are flat arrays(n), one entry
    per value, grouped by key in key order and sorted by step within a key: key (int index into
    keys), step (int64), value, epoch (NaN where aim has none), time (seconds)."""

    run: str
    meta: dict
    indexed: bool
    keys: list[str] = field(default_factory=list)
    key: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    step: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    value: np.ndarray = field(default_factory=lambda: np.array([]))
    epoch: np.ndarray = field(default_factory=lambda: np.array([]))
    time: np.ndarray = field(default_factory=lambda: np.array([]))
    error: str | None = None
    old_metrics: list[str] = field(default_factory=list)  # keys in aim's version-1 layout
    not_scalars: list[tuple[str, str]] = field(default_factory=list)  # (key, aim dtype), _others
    damaged: list[str] = field(default_factory=list)  # keys whose arrays disagree in length


def scalar_key(metric: str, context: dict) -> str:
    """`accuracy` for an empty context, `accuracy[subset:val]`, `loss[fold:1,subset:val]`."""
    if not context:
        return metric
    parts = ",".join(f"{k}:{_context_text(v)}" for k, v in sorted(context.items()))
    return f"{metric}[{parts}]"


def _context_text(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _metrics_of(meta: dict) -> list[tuple[int, str, dict, int]]:
    """(context id, metric, context, version) of every metric trace in a run's metadata."""
    out = []
    contexts = meta.get("contexts") or {}
    for ctx_id, traces in sorted((meta.get("traces") or {}).items(), key=lambda t: str(t[0])):
        for metric, info in sorted((traces or {}).items()):
            info = info if isinstance(info, dict) else {}
            if info.get("dtype", "float") in guard.METRIC_DTYPES:
                context = contexts.get(ctx_id) or {}
                out.append((ctx_id, metric, dict(context), int(info.get("version", 1) or 1)))
    return out


# what aim's object sequences hold, in words, by their dtype (aim.sdk.objects); others by dtype
_OBJECT_KINDS = {
    "aim.log_line": "terminal output captured by aim",
    "aim.text": "texts",
    "aim.image": "images",
    "list(aim.image)": "images",
    "aim.audio": "audio",
    "list(aim.audio)": "audio",
    "aim.distribution": "distributions",
    "aim.figure": "figures",
    "list(aim.figure)": "figures",
}


def _others(meta: dict) -> list[tuple[str, str]]:
    """(key, aim dtype) of every trace in a run's metadata that is not a metric (a sequence of
    texts, images, captured terminal lines, ...: left out of the scalars, see _run_warnings)."""
    out = []
    contexts = meta.get("contexts") or {}
    for ctx_id, traces in (meta.get("traces") or {}).items():
        for metric, info in (traces or {}).items():
            dtype = info.get("dtype", "float") if isinstance(info, dict) else "float"
            if dtype not in guard.METRIC_DTYPES:
                out.append((scalar_key(metric, dict(contexts.get(ctx_id) or {})), str(dtype)))
    return sorted(out)


def read_series(aim_dir: str, run_hash: str, metrics: list) -> RunRead:
    """The metrics of one run (*metrics*: _metrics_of its metadata) from seqs/chunks/<run>, its
    database read in one pass; a run that cannot be read comes back with its error."""
    out = RunRead(run_hash, {}, True)
    if not metrics:
        return out
    try:
        items = guard.read_database(Path(aim_dir) / "seqs" / "chunks" / run_hash)
    # any failure of the database (rocksdb's Corruption and IO errors have no public class) makes
    # the run unreadable; it is named, the others are read
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        return out
    stored = {}
    prefix = guard.encode_path(("seqs", "v2", "chunks", run_hash))
    for parts, numbers in guard.arrays(items, prefix):
        if len(parts) == 3:
            stored[parts[0], parts[1], parts[2]] = numbers
    columns = {f: [] for f in ("key", *guard.SERIES_FIELDS)}
    for ctx_id, metric, context, version in sorted(metrics, key=lambda m: scalar_key(*m[1:3])):
        key = scalar_key(metric, context)
        if version != 2:
            out.old_metrics.append(key)
            continue
        got = {f: stored.get((ctx_id, metric, f)) for f in guard.SERIES_FIELDS}
        if got["step"] is None or got["val"] is None:
            continue  # declared but never tracked
        n = len(got["step"])
        if any(a is not None and len(a) != n for a in got.values()):
            out.damaged.append(key)
            continue
        columns["key"].append(np.full(n, len(out.keys)))
        for f in guard.SERIES_FIELDS:
            columns[f].append(got[f] if got[f] is not None else np.full(n, np.nan))
        out.keys.append(key)
    if out.keys:
        flat = {f: np.concatenate(v) for f, v in columns.items()}
        order = np.lexsort((flat["step"], flat["key"]))
        out.key = flat["key"][order].astype(np.int64)
        out.step = flat["step"][order].astype(np.int64)
        out.value, out.epoch, out.time = (flat[f][order] for f in ("val", "epoch", "time"))
    return out


def read_run(aim_dir: Path, run_hash: str, index: tuple[list, list]) -> RunRead:
    """One run: its metadata (_read_meta) and its metrics (read_series); a run whose metadata
    cannot be read comes back with its error."""
    try:
        meta, indexed = _read_meta(aim_dir, run_hash, index)
    # a damaged metadata database (rocksdb's errors have no public class): the run is named
    except Exception as exc:
        return RunRead(run_hash, {}, False, error=f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    out = read_series(str(aim_dir), run_hash, _metrics_of(meta))
    out.meta, out.indexed, out.not_scalars = meta, indexed, _others(meta)
    return out


def _claim(aim_dir: Path, hashes: list[str], index: tuple[list, list], take) -> list:
    """[(i, read_run of hashes[i])] for every i that THREADS threads draw from *take* (the next
    run not yet taken by any reader) until the runs run out. Threads: RocksDB opens a database
    without the GIL, waiting on threads of its own, so one run's open overlaps another's read."""
    from concurrent.futures import ThreadPoolExecutor

    def reader() -> list:
        mine = []
        while (i := take()) < len(hashes):
            mine.append((i, read_run(aim_dir, hashes[i], index)))
        return mine

    with ThreadPoolExecutor(THREADS) as threads:
        futures = [threads.submit(reader) for _ in range(THREADS)]
        return [pair for f in futures for pair in f.result()]


def _shared_take(counter):
    """take() over a counter in shared memory: each call returns the next number, once, to
    whichever thread of whichever process asks."""

    def take() -> int:
        with counter.get_lock():
            i = counter.value
            counter.value = i + 1
        return i

    return take


def _child(aim_dir: Path, hashes: list[str], index: tuple[list, list], counter, send) -> None:
    """A forked reader: its share of the runs (_claim), pickled down *send*."""
    send.send_bytes(pickle.dumps(_claim(aim_dir, hashes, index, _shared_take(counter)), -1))
    send.close()


def _received(child, receive) -> list:
    """What *child* sent (it sends once, then ends). A child that ends without sending (a crash
    in RocksDB, killed) closes the pipe: an error saying so, not a wait."""
    try:
        return pickle.loads(receive.recv_bytes())
    except EOFError:
        child.join(CHILD_WAIT)
        raise RuntimeError(
            f"a process reading the Aim repository ended without its runs (exit code "
            f"{child.exitcode}); to read in this process alone: "
            "labbook.sources.trackers.aim.WORKERS = 1"
        ) from None


def read_runs(aim_dir: Path, hashes: list[str], index: tuple[list, list]) -> list[RunRead]:
    """read_run for every run of *hashes*, in that order. With many runs and cores, WORKERS
    processes read them, this one and forked children (each opens its own databases: nothing
    open is inherited; the index reaches them through the fork), every thread of every process
    taking the next unread run from one counter, so a process slowed by other work reads fewer;
    each child pickles its reads back through a pipe once."""
    import itertools

    workers = min(WORKERS, os.cpu_count() or 1)
    if workers < 2 or len(hashes) < PARALLEL_FROM:
        done = _claim(aim_dir, hashes, index, itertools.count().__next__)
        return [r for _, r in sorted(done, key=lambda pair: pair[0])]
    import multiprocessing

    # fork, not spawn: spawn would re-run a notebook kernel's main module
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    children = []
    try:
        for _ in range(workers - 1):  # forked before this process starts threads of its own
            receive, send = context.Pipe(duplex=False)
            child = context.Process(
                target=_child, args=(aim_dir, hashes, index, counter, send), daemon=True
            )
            child.start()
            send.close()
            children.append((child, receive))
        done = _claim(aim_dir, hashes, index, _shared_take(counter))
        for child, receive in children:
            done += _received(child, receive)
    finally:
        for child, receive in children:
            receive.close()
            child.join(CHILD_WAIT)
            if child.is_alive():
                child.kill()
                child.join()
    return [r for _, r in sorted(done, key=lambda pair: pair[0])]


def _read_meta(aim_dir: Path, run_hash: str, index: tuple[list, list]) -> tuple[dict, bool]:
    """(metadata tree, read from the index) of one run: from the index when the run is there,
    finished and not being written (no progress marker), else from its own database."""
    keys, values = index
    prefix = guard.run_meta_prefix(run_hash)
    lo, hi = guard.prefix_range(keys, prefix)
    writing = (aim_dir / "meta" / "progress" / run_hash).exists()
    if hi > lo:
        meta = guard.decode_tree(_needed(zip(keys[lo:hi], values[lo:hi]), prefix), prefix) or {}
        if meta.get("end_time") is not None and not writing:
            return meta, True
    items = guard.read_database(aim_dir / "meta" / "chunks" / run_hash)
    mine = _needed(((k, v) for k, v in items if k.startswith(prefix)), prefix)
    return guard.decode_tree(mine, prefix) or {}, hi > lo


_STATISTICS = tuple(
    guard.encode_path((k,)) for k in ("first", "last", "min", "max", "first_step", "last_step")
)  # what aim keeps of each metric for its UI (not read: a third of the metadata keys)


def _needed(items, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """A run's metadata items (keys under *prefix*) without its metrics' statistics."""
    traces = prefix + guard.encode_path(("traces",))
    return [(k, v) for k, v in items if not (k.endswith(_STATISTICS) and k.startswith(traces))]


# ---------------------------------------------------------------- attributes


def _flat(value, path: str):
    """(dotted path, value) of every leaf of *value*: dicts flattened, lists as JSON text; the
    data aim keeps apart (a BLOB: an image's pixels in an aim.Image attribute) left out."""
    if value is guard.BLOB:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        yield path, json.dumps(value, sort_keys=True, default=str)
    elif value is None or isinstance(value, (bool, int, float, str)):
        yield path, value
    else:
        yield path, str(value)


def attributes(attrs: dict, tags: tuple[str, ...], experiment: str | None) -> tuple[dict, list]:
    """({column: value}, [names of run[k] attributes shadowed by run["params"][k]]) of one run, by
    the rules of the module docstring."""
    out = {f"tag:{t}": True for t in tags}
    shadowed = []
    special = {"params": "param", "tags": "tag", "hparams": "hparam"}
    for name, kind in special.items():
        value = attrs.get(name)
        if isinstance(value, dict):
            out.update({f"{kind}:{k}": v for k, v in _flat(value, "")})
    for name, value in attrs.items():
        if str(name).startswith("__") or (name in special and isinstance(value, dict)):
            continue
        for k, v in _flat(value, str(name)):
            if f"param:{k}" in out:
                shadowed.append(k)
            else:
                out[f"param:{k}"] = v
    if experiment:
        out[EXPERIMENT] = experiment
    return out, shadowed


# ---------------------------------------------------------------- the two tables


def _label(run: str, name) -> str:
    return f"run {name!r} ({run})" if name and name != run else f"run {run}"


def _column(name: str, values: list, labels: list[str], warnings: list[str]) -> pd.Series:
    """One attribute column, typed so that it reads back from the cache as it was written: ints
    int64 (when every run has one), numbers float64 (NaN where missing), bools bool (object with
    None where missing), strings object; several types in one column are kept as strings, with
    a warning naming the runs whose type is not the most common."""
    types = {type(v) for v in values if v is not None}
    if types == {int} and None not in values:
        return pd.Series(values, dtype="int64")
    if types and types <= {int, float}:
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if types == {bool} and None not in values:
        return pd.Series(values, dtype=bool)
    if len(types) > 1:
        kind = [None if v is None else type(v).__name__ for v in values]
        common = max({k for k in kind if k}, key=lambda k: (kind.count(k), k))
        odd = [label for label, k in zip(labels, kind) if k not in (None, common)]
        warnings.append(
            f"attribute {name!r} is not a {common} in {len(odd)} run(s) ({some(odd)}), as it is "
            "in the others: kept as strings"
        )
        return pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return pd.Series(values, dtype=object)


def _runs_table(rows: list[dict], warnings: list[str]) -> pd.DataFrame:
    """The runs table of one row per run (run, name, status, attributes), sorted by name and
    run; attribute columns sorted and typed by _column."""
    if not rows:
        return trackers.empty_runs()
    rows = sorted(rows, key=lambda r: (r["name"], r["run"]))
    labels = [_label(r["run"], r["name"]) for r in rows]
    table = pd.DataFrame({c: [r[c] for r in rows] for c in trackers.RUN_COLUMNS}, dtype=object)
    for c in sorted({c for r in rows for c in r} - set(trackers.RUN_COLUMNS)):
        table[c] = _column(c, [r.get(c) for r in rows], labels, warnings).to_numpy()
    return table


def _scalar_rows(
    reads: list[RunRead], names: dict[str, str], step_from: str, warnings: list[str]
) -> pd.DataFrame:
    """The scalars table of *reads*: NaN, infinite and (with step_from="epoch") epoch-less values
    left out, and of two values at one epoch the one at the later step kept; each fault with a
    warning per key naming the runs and the (aim) steps. Built on numpy arrays (a 1,000-run
    repository holds millions of values); pandas only for the faults found."""
    every_run = sorted(names)
    if not any(len(r.key) for r in reads):
        empty = trackers.empty_scalars()
        empty["run"] = pd.Categorical([], categories=every_run)
        empty["key"] = pd.Categorical([], categories=[])
        return empty
    keys = sorted({k for r in reads for k in r.keys})
    code = {k: i for i, k in enumerate(keys)}
    run_code = {run: i for i, run in enumerate(every_run)}
    run = np.concatenate([np.full(len(r.key), run_code[r.run]) for r in reads])
    key = np.concatenate(
        [np.array([code[k] for k in r.keys], dtype=np.int64)[r.key] for r in reads]
    )
    aim_step = np.concatenate([r.step for r in reads])
    value = np.concatenate([r.value for r in reads])
    epoch = np.concatenate([r.epoch for r in reads])
    wall_time = np.concatenate([r.time for r in reads])
    faults = {
        "NaN values (left out)": np.isnan(value),
        "infinite values (left out)": np.isinf(value),
    }
    if step_from == "epoch":
        faults["values without an epoch (left out)"] = ~np.isfinite(epoch)
    keep = ~np.logical_or.reduce(list(faults.values()))
    if step_from == "epoch":  # within a key in step order: the last value of an epoch is kept
        kept = np.flatnonzero(keep)
        order = kept[np.lexsort((kept, epoch[kept], key[kept], run[kept]))]
        same = (
            (run[order[1:]] == run[order[:-1]])
            & (key[order[1:]] == key[order[:-1]])
            & (epoch[order[1:]] == epoch[order[:-1]])
        )
        twice = np.zeros(len(value), dtype=bool)
        twice[order[:-1][same]] = True
        faults["two values at one epoch (the one at the later step kept)"] = twice
        keep &= ~twice
    for what, mask in faults.items():
        if not mask.any():
            continue
        found_rows = pd.DataFrame({"run": run[mask], "key": key[mask], "aim_step": aim_step[mask]})
        for k, in_key in found_rows.groupby("key", sort=True):
            found = [
                f"{_label(every_run[r], names[every_run[r]])} at step(s) "
                + listed_steps(group["aim_step"])
                for r, group in in_key.groupby("run", sort=True)
            ]
            warnings.append(f"metric {keys[k]!r}: {what} in {len(found)} run(s): {some(found)}")
    step = (aim_step if step_from == "step" else epoch)[keep].astype("int64")
    run, key = run[keep], key[keep]
    order = np.lexsort((step, key, run))
    return pd.DataFrame(
        {
            "run": pd.Categorical.from_codes(run[order], every_run),
            "key": pd.Categorical.from_codes(key[order], keys),
            "step": step[order],
            "value": value[keep][order],
            "wall_time": wall_time[keep][order],
        }
    )


def _run_warnings(table: pd.DataFrame, rows: dict, reads: list[RunRead], warnings: list[str]):
    """Warnings naming unfinished, unindexed, archived, same-named and unlisted runs, metrics in
    the old layout, damaged arrays and shadowed attributes."""
    label = dict(zip(table["run"], [_label(r, n) for r, n in zip(table["run"], table["name"])]))
    running = [label[r] for r in table.loc[table["status"] == "running", "run"]]
    if running:
        warnings.append(
            f"{len(running)} run(s) not finished in Aim (no end time: still being written, or "
            f"their writer stopped without closing them; their scalars may be incomplete): "
            f"{some(running)}"
        )
    late = [label[r.run] for r in reads if not r.indexed and r.run in label]
    if late:
        warnings.append(
            f"{len(late)} run(s) are not in the repository's index yet (aim indexes runs late; "
            f"aim's own UI and queries miss them until `aim storage reindex`); read from their "
            f"own data: {some(late)}"
        )
    archived = [label[h] for h, row in rows.items() if row is not None and row.archived]
    if archived:
        warnings.append(f"{len(archived)} archived run(s) (kept): {some(archived)}")
    unlisted = [label[h] for h, row in rows.items() if row is None and h in label]
    if unlisted:
        warnings.append(
            f"{len(unlisted)} run(s) missing from the repository's run-metadata database (no "
            f"name, experiment or tags; named by their hash): {some(unlisted)}"
        )
    for name, group in table.groupby("name", sort=True):
        if len(group) > 1:
            warnings.append(
                f"{len(group)} runs share the name {name!r} (the name alone does not tell them "
                f"apart): hashes {some(list(group['run']))}"
            )
    _object_warning(reads, label, warnings)
    for r in reads:
        if r.old_metrics:
            warnings.append(
                f"{label.get(r.run, r.run)}: metric(s) {some(r.old_metrics)} stored in aim's "
                "version-1 layout are not read (open the run once with aim 3.x to migrate it)"
            )
        if r.damaged:
            warnings.append(
                f"{label.get(r.run, r.run)}: metric(s) {some(r.damaged)} left out: their step, "
                "value and time arrays differ in length (a damaged or partly written series)"
            )


def _object_warning(reads: list[RunRead], label: dict, warnings: list[str]) -> None:
    """One warning naming the traces that are not scalars (aim's terminal-log capture and system
    tracking are on by default; integrations such as Hugging Face accelerate's and Lightning's
    track texts and images too): each key with what it holds and in how many runs."""
    runs_of: dict[tuple[str, str], list[str]] = {}
    for r in reads:
        for key, dtype in r.not_scalars:
            runs_of.setdefault((key, dtype), []).append(label.get(r.run, r.run))
    if not runs_of:
        return
    found = [
        f"{key!r} ({_OBJECT_KINDS.get(dtype, dtype)}) in {len(runs)} run(s)"
        for (key, dtype), runs in sorted(runs_of.items())
    ]
    warnings.append(
        f"{len(found)} trace(s) that are not numbers are not read (only metrics are scalars): "
        + some(found)
    )


def _local(root: Path, aim_dir: Path, digest: str, step_from: str) -> TrackerData:
    """Read the local repository (see the module docstring)."""
    warnings: list[str] = []
    hashes = run_hashes(aim_dir)
    try:
        listed = guard.run_rows(aim_dir)
    except Exception as exc:  # sqlite3's errors: the runs are still read, without names
        warnings.append(f"{aim_dir / 'run_metadata.sqlite'}: cannot be read ({exc}); runs unnamed")
        listed = {}
    reads = read_runs(aim_dir, hashes, _index(aim_dir))
    unreadable = {r.run: r.error for r in reads if r.error is not None}
    reads = [r for r in reads if r.error is None]
    rows, shadowed = [], []
    for r in reads:
        row = listed.get(r.run)
        attrs, shadow = attributes(
            r.meta.get("attrs") or {}, row.tags if row else (), row.experiment if row else None
        )
        name = row.name if row and row.name else r.run
        shadowed += [f"{_label(r.run, name)}: {k}" for k in shadow]
        status = "finished" if r.meta.get("end_time") is not None else "running"
        rows.append({"run": r.run, "name": name, "status": status, **attrs})
    runs = _runs_table(rows, warnings)
    left_out = []
    for h, error in sorted(unreadable.items()):
        row = listed.get(h)
        left_out.append(f"{_label(h, row.name if row else None)}: {error}")
        warnings.append(
            f"{_label(h, row.name if row else None)} cannot be read and is left out: {error}"
        )
    _run_warnings(runs, {h: listed.get(h) for h in runs["run"]}, reads, warnings)
    if shadowed:
        warnings.append(
            f'run["params"] and a top-level run[...] attribute share a name in '
            f'{len(shadowed)} case(s); param:<name> is the run["params"] value: {some(shadowed)}'
        )
    names = dict(zip(runs["run"], runs["name"]))
    scalars = _scalar_rows(reads, names, step_from, warnings)
    if runs.empty:
        warnings.append(f"{root}: the repository holds no readable run")
    data = TrackerData(TRACKER, str(root), runs, scalars, warnings, digest, left_out=left_out)
    data.run_digests = _run_digests(runs, scalars)
    return trackers.check_tables(data)


def _run_digests(runs: pd.DataFrame, scalars: pd.DataFrame) -> dict[str, str]:
    """{run: sha256 of its row and its scalars}, for the change report."""
    from labbook.sources.trackers.mlflow import run_digests

    return run_digests(runs, scalars)


# ---------------------------------------------------------------- an aim server


def _remote(location: str, step_from: str) -> TrackerData:
    """Read an `aim server` through aim's SDK (read-only runs; the server owns the files)."""
    import gc

    Repo = guard.require("aim").Repo

    repo = Repo(location)
    try:
        return _remote_tables(repo, location, step_from)
    finally:
        # while the server is there: the runs read release their server-side resources (they
        # are freed with their reference cycles), and the repository, freed on return,
        # disconnects (aim's Repo.close would stop its request queue, and a run freed after it
        # would wait for that queue for ever)
        gc.collect()


def _remote_tables(repo, location: str, step_from: str) -> TrackerData:
    warnings: list[str] = []
    every = guard.remote_run_hashes(repo)
    reads, rows, failed, left_out = [], [], set(), []
    for run in repo.iter_runs():
        try:
            r, row = _remote_run(run)
        # one unreadable run is named; the others are read
        except Exception as exc:
            failed.add(run.hash)
            left_out.append(f"run {run.hash}: {type(exc).__name__}: {str(exc).strip()[:300]}")
            warnings.append(
                f"run {run.hash} cannot be read and is left out: {type(exc).__name__}: "
                f"{str(exc).strip()[:300]}"
            )
            continue
        reads.append(r)
        rows.append(row)
    late = sorted(every - {r.run for r in reads} - failed)
    if late:
        warnings.append(
            f"{len(late)} run(s) are not in the server repository's index and cannot be read "
            f"through a server (`aim storage reindex` on the server adds them): {some(late)}"
        )
    runs = _runs_table(rows, warnings)
    _run_warnings(runs, {}, [], warnings)
    names = dict(zip(runs["run"], runs["name"]))
    scalars = _scalar_rows(reads, names, step_from, warnings)
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(scalars.astype({"run": str, "key": str})).values.tobytes()
    ).hexdigest()
    data = TrackerData(TRACKER, location, runs, scalars, warnings, digest, left_out=left_out)
    data.run_digests = _run_digests(runs, scalars)
    return trackers.check_tables(data)


def _remote_run(run) -> tuple[RunRead, dict]:
    """One run of an aim server, through aim's SDK: (its values, its runs-table row)."""
    r = RunRead(run.hash, {}, True)
    columns = {f: [] for f in ("key", *guard.SERIES_FIELDS)}
    found = sorted(
        (scalar_key(metric, context.to_dict()), metric, context)
        for metric, context, _ in run.iter_metrics_info()
    )
    for key, metric, context in found:
        steps, (values, epochs, times) = (
            run.get_metric(metric, context).data.view(["val", "epoch", "time"]).numpy()
        )
        n = len(steps)
        columns["key"].append(np.full(n, len(r.keys)))
        columns["step"].append(np.asarray(steps, dtype=np.int64))
        columns["val"].append(np.asarray(values, dtype=float))
        columns["epoch"].append(np.array([np.nan if e is None else e for e in epochs], float))
        columns["time"].append(np.asarray(times, dtype=float))
        r.keys.append(key)
    if r.keys:
        flat = {f: np.concatenate(v) for f, v in columns.items()}
        order = np.lexsort((flat["step"], flat["key"]))
        r.key, r.step = flat["key"][order], flat["step"][order]
        r.value, r.epoch, r.time = (flat[f][order] for f in ("val", "epoch", "time"))
    attrs, _ = attributes(run[...] or {}, tuple(sorted(run.tags)), run.experiment)
    status = "finished" if run.end_time is not None else "running"
    return r, {"run": run.hash, "name": run.name or run.hash, "status": status, **attrs}


# ---------------------------------------------------------------- the reader


def _cache_version(step_from: str) -> int:
    """The cache entry's version: a read with aim's epochs as steps is another table."""
    return CACHE_VERSION * 10 + STEP_FROM.index(step_from)


def read(location: str | Path, *, use_cache: bool = True, step_from: str = "step") -> TrackerData:
    """The runs and scalars of the Aim repository at *location* (the folder holding .aim, or an
    aim://host:port server; see the module docstring). *step_from*: "step" (aim's step) or
    "epoch" (aim's epoch as the step). A local repository is read from the cache when this state
    of it was read before and *use_cache*, else from its files (and cached); it is recorded as an
    input of the report."""
    if step_from not in STEP_FROM:
        raise ValueError(f"step_from must be one of {STEP_FROM}, got {step_from!r}")
    if is_remote(str(location)):
        return _remote(str(location), step_from)
    root = paths.resolve_input(location).resolve()
    aim_dir = check_local_repo(root)
    digest, stamp = repo_digest(aim_dir)
    inputs.record_directory(root, digest)
    for folder in (aim_dir / "meta" / "chunks", aim_dir / "meta" / "index"):
        if folder.is_dir():  # new runs and (re)indexing change these folders (make's view)
            inputs.record_directory(folder, digest)
    if use_cache:
        cached = trackers.load_cached(TRACKER, str(root), digest, _cache_version(step_from), stamp)
        if cached is not None:
            return trackers.check_tables(cached)
    data = _local(root, aim_dir, digest, step_from)
    if use_cache:
        trackers.store_cached(data, _cache_version(step_from), stamp)
    return data
