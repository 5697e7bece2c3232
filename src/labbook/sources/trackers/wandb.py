"""Weights & Biases run folders -> the tracker layer's runs and scalars tables (see
trackers/__init__), read offline, from the files wandb writes on the training machine.

    data = wandb.read("project/")                 # a folder holding wandb/ (or .wandb/)
    data = wandb.read("project/wandb")            # the wandb folder itself
    data = wandb.read("project/wandb/offline-run-20261129_120000-abc123")   # one run

What is read. Every run folder (`offline-run-<date>_<time>-<id>` written with WANDB_MODE=offline,
`run-<date>_<time>-<id>` written online) of the wandb folder; the `latest-run` link and other
symbolic links are not followed. A run's history, config and summary all come from its
transaction log `run-<id>.wandb`, the only place an offline run keeps them, decoded through
labbook.guards.wandb (wandb's own record protocol; wandb has no public offline reader). A run
resumed into a second folder (same id) is read from its folders in the order they were started.

Runs table: `run` = the W&B run id, `name` = its display name (the id when it has none),
`status` (the exit record's code: 0 -> finished, another -> failed; no exit record -> running),
then attributes: `config:<key>` for every config value (nested dicts flattened with dots, as the
W&B UI names them: `config:optimizer.lr`; lists as JSON text; wandb's own `_wandb` left out),
`summary:<key>` for every summary value that is a number, a string or a bool, but for those that
only repeat a history key's last value (wandb copies each logged value into the summary: the
scalars hold them; a value the run set itself, e.g. a best accuracy, is kept) and wandb's `_step`,
`_runtime`, `_timestamp` and `_wandb`, `tag:<label>` for every W&B tag any run carries
(True where a run has it, else False: a W&B tag is a label without a value), and
`tag:wandb.project`, `tag:wandb.group`, `tag:wandb.job_type` where a run has one (named in W&B's
namespace, as the MLflow reader names an experiment, so they never collide with a config key).
An attribute that is a number is float64 (NaN where a run has none), strings and bools objects
(None where missing); one that is a number in some runs and a string in others is kept as
strings, said. Runs sorted by name, then id.

Scalars: every history value that is a number (int or float, not bool): `key` = its name
(nested keys joined with dots), `step` = the row's `_step`, `wall_time` = its `_timestamp`
(seconds since the epoch). Left out with a warning naming the run and the key: NaN and infinite
values; history values that are not numbers (media such as images and histograms, text, bools,
lists: the tracker layer carries scalars); all but the last value of a step logged twice.

Warnings also name: a run folder without its transaction log (left out: an online run also keeps
its config and summary in files/, but not its history, and an offline run keeps nothing else; a
run is read from its log or not at all); a log cut short or damaged (the records before the damage
are kept); a run with no exit record (still being written, or its process ended without
wandb.finish: its scalars may be incomplete); runs sharing a name; a run without scalars. A
warning names at most SHOWN runs and counts the rest. Not read: console output, system metrics,
artifacts, the files under files/.

Read-only: every file is opened for reading only, nothing is written beside the runs, and wandb's
service is never started (no `wandb sync`, no Api). Cached as Parquet under paths.CACHE / "wandb",
keyed by the name, size and modification time of each run folder's log, so a run still being
written is read again. wandb is imported only when a log is decoded (not for a cached
read); without it the error names the extra to install, labbook[wandb].
"""

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources.trackers import base as trackers
from labbook.sources.trackers.base import TrackerData, listed_steps, some
from labbook.sources.trackers.detection import (  # how a W&B folder is recognised
    WANDB_LOG,
    WANDB_RUN_FOLDER,
    is_wandb_run_folder,
    wandb_logs,
    wandb_run_folders,
)
from labbook.sources.trackers.mlflow import run_digests

TRACKER = "wandb"
CACHE_VERSION = 3  # bump when what a read returns changes
INTERNAL = ("_step", "_timestamp", "_runtime", "_wandb")  # wandb's own history and summary keys


# ---------------------------------------------------------------- where the runs are


def locate(location: str | Path) -> tuple[Path, list[Path]]:
    """(the source path, its run folders) for a folder holding wandb/ (or .wandb/), a wandb
    folder, one run folder, or one run's .wandb file. InputError naming the path when it is
    missing or holds no run folder."""
    path = paths.resolve_input(location)
    if not path.exists():
        raise inputs.not_found(path, "W&B run folder")
    if path.is_file():
        if not WANDB_LOG.match(path.name):
            raise InputError(f"{path}: not a W&B run's transaction log (run-<id>.wandb)")
        return path, [path.parent]
    if is_wandb_run_folder(path):
        return path, [path]
    for base in (path, path / "wandb", path / ".wandb"):
        found = wandb_run_folders(base)
        if found:
            return path, found
    raise InputError(
        f"{path}: no W&B run folders here (offline-run-<date>_<time>-<id> or "
        "run-<date>_<time>-<id>, in the folder, in its wandb/ or .wandb/ folder); point the source "
        "at the folder holding wandb/, at wandb/ itself or at one run folder"
    )


def _run_id(folder: Path) -> str:
    logs = wandb_logs(folder)
    if logs:
        return WANDB_LOG.match(logs[0].name).group(1)
    m = WANDB_RUN_FOLDER.match(folder.name)
    return m.group(1) if m else folder.name


def store_digest(folders: list[Path]) -> tuple[str, str]:
    """(sha256 naming the state of the run folders: each folder's name and the name, size and
    modification time of its transaction logs; the cache key's stamp: trackers.Stamps of those
    logs). Reading changes none of them."""
    h = hashlib.sha256(TRACKER.encode())
    stamps = trackers.Stamps()
    for folder in folders:
        h.update(f"{folder}\n".encode())
        for file in wandb_logs(folder):
            st = file.stat()
            h.update(f"{file.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            stamps.add(str(file), st)
    return h.hexdigest(), stamps.hexdigest()


# ---------------------------------------------------------------- one run


@dataclass
class RunRead:
    """One run as read: id, name (None if it has none), status, W&B tags, attributes
    {column: value}, scalar rows (key, step, value, wall time) in the order written, history
    values that are not numbers {key: kind}, and warnings about this run."""

    run: str
    name: str | None = None
    status: str = "unknown"
    labels: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    exited: bool = False  # the last log read has an exit record
    found: bool = False  # a transaction log was read

    @property
    def label(self) -> str:
        return f"run {self.name or self.run!r} ({self.run})"


def _flat(path: tuple, value, out: dict) -> None:
    """{dotted name: value} of *value* at *path*, dicts flattened (empty ones left out)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat((*path, str(k)), v, out)
    else:
        out[".".join(path)] = value


def _plain(value):
    """A config or summary value as a runs-table cell: number (float), str, bool or None; lists
    as JSON text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return json.dumps(value, sort_keys=True)


def _apply(target: dict, update, remove) -> None:
    """Apply a config or summary record to *target* {name: JSON text} (decoded once, at the
    end: wandb writes the summary again with every history row)."""
    for path, text in update:
        if path and path[0] != "_wandb":
            target[path] = text
    for path in remove:
        target.pop(path, None)


def _kind(value) -> str | None:
    """None for a number a scalar holds; else what the value is, in words."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return None
    if isinstance(value, dict):
        return str(value.get("_type", "dict"))
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else "null"


def _fold(out: RunRead, log, config: dict, summary: dict) -> None:
    """Fold the records of one transaction log into *out*, *config* and *summary*."""
    from labbook.guards import wandb as guard

    step = -1
    for record in log.records:
        if isinstance(record, guard.RunInfo):
            out.name = out.name or record.name or None
            out.labels = tuple(dict.fromkeys((*out.labels, *record.tags)))
            for what, value in (
                ("project", record.project),
                ("group", record.group),
                ("job_type", record.job_type),
            ):
                if value:
                    out.attributes[f"tag:wandb.{what}"] = value
            _apply(config, record.config, [])
        elif isinstance(record, guard.Update):
            _apply(config if record.kind == "config" else summary, record.update, record.remove)
        elif isinstance(record, guard.Row):
            items = dict(record.items)
            given = items.get(("_step",))
            step = (
                int(given)
                if isinstance(given, (int, float))
                else (record.step if record.step is not None else step + 1)
            )
            wall = items.get(("_timestamp",))
            wall = float(wall) if isinstance(wall, (int, float)) else math.nan
            flat: dict = {}
            for path, value in record.items:
                if path and path[0] not in INTERNAL:
                    _flat(path, value, flat)
            for key, value in flat.items():
                kind = _kind(value)
                if kind is None:
                    out.rows.append((key, step, float(value), wall))
                else:
                    out.skipped.setdefault(key, kind)
        elif isinstance(record, guard.Exit):
            out.exited = True
            out.status = "finished" if record.exit_code == 0 else "failed"


def read_run(run: str, folders: list[Path]) -> RunRead:
    """The run *run* from its folders (in the order started); not `found` when no folder has a
    transaction log. Every fault of the run is in its warnings."""
    from labbook.guards import wandb as guard

    out = RunRead(run)
    config: dict = {}
    summary: dict = {}
    for folder in folders:
        logs = wandb_logs(folder)
        if not logs:
            out.warnings.append(
                f"run folder {folder} has no transaction log run-{run}.wandb (the file that holds "
                "a run's history, config and summary): nothing read there"
            )
            continue
        for file in logs:
            try:
                with open(file, "rb") as f:
                    data = f.read()
            except OSError as exc:
                out.warnings.append(f"{file}: unreadable ({exc}); left out")
                continue
            log = guard.read_log(data)
            if not log.records and not log.others:
                why = "" if log.damage is None else f"; {log.damage[1]}"
                out.warnings.append(
                    f"{file}: the transaction log holds no record ({len(data)} bytes{why}: the "
                    "run was never written, or its writer died at once); nothing read there"
                )
                continue
            out.exited = False
            _fold(out, log, config, summary)
            out.found = True
            if log.damage is not None:
                kind, where = log.damage
                why = "cut short, or still being written" if kind == "cut" else "damaged"
                out.warnings.append(
                    f"{out.label}: {file} {where} ({why}): the {len(log.records) + log.others} "
                    "record(s) before it kept"
                )
    if not out.found:
        return out
    if len(folders) > 1:
        out.warnings.append(
            f"{out.label} was resumed: read from {len(folders)} folders in the order started "
            f"({', '.join(f.name for f in folders)})"
        )
    if any(wandb_logs(f) for f in folders) and not out.exited:
        out.status = "running"
    for path, text in config.items():
        _flat(path, json.loads(text) if text else None, flat := {})
        out.attributes.update({f"config:{k}": _plain(v) for k, v in flat.items()})
    last = {key: value for key, _, value, _ in out.rows}  # each history key's last value
    for path, text in summary.items():
        if path and path[0].startswith("_"):
            continue
        _flat(path, json.loads(text) if text else None, flat := {})
        for k, v in flat.items():
            repeat = k in last and _kind(v) is None and _same(float(v), last[k])
            if _kind(v) in (None, "bool", "text") and not repeat:
                out.attributes[f"summary:{k}"] = _plain(v)
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# ---------------------------------------------------------------- the two tables


def _column(name: str, reads: list[RunRead], warnings: list[str]) -> pd.Series:
    """One attribute column over the runs: float64 numbers, bools, strings (see the docstring)."""
    values = [r.attributes.get(name) for r in reads]
    kinds = {type(v) for v in values if v is not None}
    if kinds == {float}:
        return pd.Series(values, dtype="float64")
    if kinds == {bool} and None not in values:
        return pd.Series(values, dtype=bool)
    if len(kinds) > 1:
        words = {float: "a number", str: "a string", bool: "a bool"}
        odd = [f"{r.label}: {words[type(v)]}" for r, v in zip(reads, values) if v is not None]
        warnings.append(
            f"attribute `{name}` is of more than one type across the runs (kept as strings): "
            f"{some(odd)}"
        )
        return pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return pd.Series(values, dtype=object)


def _runs_table(reads: list[RunRead], warnings: list[str]) -> pd.DataFrame:
    labels = {f"tag:{t}": t for r in reads for t in r.labels}
    names = sorted({c for r in reads for c in r.attributes} | set(labels))
    columns = {
        "run": np.array([r.run for r in reads], dtype=object),
        "name": np.array([r.name or r.run for r in reads], dtype=object),
        "status": np.array([r.status for r in reads], dtype=object),
    }
    for name in names:
        if name in labels:  # a W&B tag: every run has it or not
            columns[name] = np.array([labels[name] in r.labels for r in reads], dtype=bool)
        else:
            columns[name] = _column(name, reads, warnings).to_numpy()
    table = pd.DataFrame(columns)
    table = table.sort_values(["name", "run"], kind="stable", ignore_index=True)
    for name, group in table.groupby("name", sort=True):
        if len(group) > 1:
            warnings.append(
                f"{len(group)} runs share the name {name!r} (the name alone does not tell them "
                f"apart): ids {some(list(group['run']))}"
            )
    return table


def _scalars_table(reads: list[RunRead], order: list[str], warnings: list[str]) -> pd.DataFrame:
    """The scalars table: sorted by run, key, step; one row per (run, key, step), the last
    written kept; NaN and infinite values left out; each fault a warning naming run and key."""
    frames = [
        pd.DataFrame(r.rows, columns=["key", "step", "value", "wall_time"]).assign(run=r.run)
        for r in reads
        if r.rows
    ]
    if not frames:
        table = trackers.empty_scalars()
        table["run"] = pd.Categorical([], categories=sorted(order))
        table["key"] = pd.Categorical([], categories=[])
        return table
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.astype({"step": "int64", "value": "float64", "wall_time": "float64"})
    rows = rows.sort_values(["run", "key", "step"], kind="stable", ignore_index=True)
    label = {r.run: r.label for r in reads}
    twice = rows.duplicated(["run", "key", "step"], keep="last")
    nonfinite = ~np.isfinite(rows["value"].to_numpy())
    for what, mask in (
        ("more than one value logged at one step (the last value written kept)", twice),
        ("NaN or infinite values (left out)", nonfinite & ~twice),
    ):
        if mask.any():
            for key, in_key in rows[mask].groupby("key", sort=True):
                found = [
                    f"{label[run]} at step(s) {listed_steps(g['step'].drop_duplicates())}"
                    for run, g in in_key.groupby("run", sort=True)
                ]
                warnings.append(f"key `{key}`: {what} in {len(found)} run(s): {some(found)}")
    rows = rows[~twice & ~nonfinite]
    return pd.DataFrame(
        {
            "run": pd.Categorical(rows["run"], categories=sorted(order)),
            "key": pd.Categorical(rows["key"], categories=sorted(rows["key"].unique())),
            "step": rows["step"].to_numpy(),
            "value": rows["value"].to_numpy(),
            "wall_time": rows["wall_time"].to_numpy(),
        }
    )


def _run_warnings(reads: list[RunRead], warnings: list[str]) -> None:
    for r in reads:
        warnings.extend(r.warnings)
    unfinished = [r.label for r in reads if r.status == "running"]
    if unfinished:
        warnings.append(
            f"{len(unfinished)} run(s) have no exit record (still being written, or their process "
            f"ended without wandb.finish; their scalars may be incomplete): {some(unfinished)}"
        )
    skipped: dict[str, list[str]] = {}
    for r in reads:
        for key, kind in r.skipped.items():
            skipped.setdefault(kind, []).append(f"`{key}` ({r.label})")
    for kind, found in sorted(skipped.items()):
        warnings.append(f"history values of kind {kind} are not scalars (left out): {some(found)}")
    empty = [r.label for r in reads if not r.rows]
    if empty:
        warnings.append(f"{len(empty)} run(s) without scalars in their history: {some(empty)}")


def tables(reads: list[RunRead], location: str, digest: str, notes: list[str]) -> TrackerData:
    """TrackerData of the runs read: attributes typed, names checked, scalars sorted and cleaned,
    every fault a warning."""
    warnings = list(notes)
    _run_warnings(reads, warnings)
    runs = _runs_table(reads, warnings)
    scalars = _scalars_table(reads, list(runs["run"]), warnings)
    if runs.empty:
        warnings.append(f"{location}: no run could be read")
    data = TrackerData(TRACKER, location, runs, scalars, warnings, digest)
    data.run_digests = run_digests(runs, scalars)
    return trackers.check_tables(data)


def read(location: str | Path, *, use_cache: bool = True) -> TrackerData:
    """The runs and scalars of the W&B run folders at *location* (see the module docstring):
    from the cache when this state of the folders was read before and *use_cache*, else from the
    folders (and cached). The source is recorded as an input of the report."""
    from labbook.guards import wandb as guard

    path, folders = locate(location)
    path = path.resolve()
    digest, stamp = store_digest(folders)
    inputs.record_directory(path, digest)
    if use_cache:
        cached = trackers.load_cached(TRACKER, str(path), digest, CACHE_VERSION, stamp)
        if cached is not None:
            return trackers.check_tables(cached)
    by_id: dict[str, list[Path]] = {}
    for folder in folders:
        by_id.setdefault(_run_id(folder), []).append(folder)
    reads, notes, left_out = [], [], []
    try:
        for run, its in by_id.items():
            r = read_run(run, its)
            if r.found:
                reads.append(r)
            else:
                notes.extend(r.warnings)
                left_out.append(f"run {run}: {'; '.join(r.warnings)}")
    except guard.WandbMissing as exc:
        raise InputError(f"{path}: {exc}") from None
    data = tables(reads, str(path), digest, notes)
    data.left_out = left_out
    if use_cache:
        trackers.store_cached(data, CACHE_VERSION, stamp)
    return data
