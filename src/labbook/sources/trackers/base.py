"""The tracker layer's shared definitions: the two tables' contract (TrackerData,
check_tables), the table cache (Arrow IPC files), and which tracker a `source` names (resolve,
detect). The readers (tensorboard, mlflow, aim) import this module; the package
(labbook.sources.trackers) re-exports it and adds `read`, which dispatches to the readers. See the
package docstring."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyarrow import feather

from labbook import paths
from labbook.inputs import InputError

RUN_COLUMNS = ["run", "name", "status"]
SCALAR_COLUMNS = ["run", "key", "step", "value", "wall_time"]
ATTRIBUTE_KINDS = ("tag", "param", "hparam", "config", "summary")
STATUSES = ("finished", "running", "failed", "killed", "unknown")
TRACKERS = ("tensorboard", "mlflow", "aim", "wandb")
# Attribute-name prefixes of what a tracker keeps for itself (run name, experiment, source type)
TRACKER_OWN = ("mlflow.", "aim.", "wandb.")
# A run attribute (of any kind) named so, true for every run of a store, marks the store as
# simulated example data: reports built from it show the example-data banner, wherever it lies.
SIMULATED = "simulated"


@dataclass
class TrackerData:
    """What one store holds: runs, scalars, the reader's warnings, and digests of the store (for
    the cache and provenance) and of each run (for the change report). *left_out*: one text per
    run the reader found but could not read ("run 'r0' (9f2c…): IndexError: …"), so that an error
    the missing runs cause later can say so first (see diagnosis)."""

    tracker: str
    location: str
    runs: pd.DataFrame
    scalars: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    digest: str = ""
    run_digests: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False
    left_out: list[str] = field(default_factory=list)


def empty_runs() -> pd.DataFrame:
    return pd.DataFrame(
        {"run": pd.Series(dtype=str), "name": pd.Series(dtype=str), "status": pd.Series(dtype=str)}
    )


def empty_scalars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": pd.Series(dtype=str),
            "key": pd.Series(dtype=str),
            "step": pd.Series(dtype="int64"),
            "value": pd.Series(dtype="float64"),
            "wall_time": pd.Series(dtype="float64"),
        }
    )


def check_tables(data: TrackerData) -> TrackerData:
    """Check the two tables keep the contract above (a reader's bug, not the user's input, when
    they do not); returns *data*."""
    runs, scalars = data.runs, data.scalars
    if list(runs.columns[:3]) != RUN_COLUMNS:
        raise AssertionError(f"{data.tracker} runs table starts {list(runs.columns[:3])}")
    extra = [c for c in runs.columns[3:] if c.split(":", 1)[0] not in ATTRIBUTE_KINDS]
    if extra:
        raise AssertionError(f"{data.tracker} runs table has attribute columns {extra}")
    if list(scalars.columns) != SCALAR_COLUMNS:
        raise AssertionError(f"{data.tracker} scalars table has columns {list(scalars.columns)}")
    if runs["run"].duplicated().any():
        raise AssertionError(f"{data.tracker}: a run id appears twice in the runs table")
    bad = sorted(set(runs["status"]) - set(STATUSES))
    if bad:
        raise AssertionError(f"{data.tracker}: unknown run status {bad}")
    return data


# ---------------------------------------------------------------- warnings

SHOWN = 5  # runs, keys or steps named in one warning before "..."


def some(items: list[str]) -> str:
    """The first SHOWN *items*, joined by "; ", and how many more there are (for a warning)."""
    more = f"; ... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def listed_steps(steps) -> str:
    """The first SHOWN *steps* (integers), joined by ", ", and how many there are in all."""
    steps = list(steps)
    more = f", ... ({len(steps)} steps)" if len(steps) > SHOWN else ""
    return ", ".join(str(int(s)) for s in steps[:SHOWN]) + more


# ---------------------------------------------------------------- the reader's diagnosis

DIAGNOSIS = "labbook.left_out"  # key of DataFrame.attrs carrying `diagnosis` to the mapping


def diagnosis(data: TrackerData) -> str:
    """What the reader found that explains an empty or short store, as the first words of an
    error: "5 of 5 runs could not be read: run 'r0' (…): IndexError: …", "the store holds no
    run"; "" when every run found was read."""
    if data.left_out:
        found = len(data.runs) + len(data.left_out)
        return f"{len(data.left_out)} of {found} runs could not be read: {some(data.left_out)}"
    if data.runs.empty:
        return "the store holds no run"
    return ""


def check_runs(data: TrackerData) -> TrackerData:
    """*data* with its reader's diagnosis attached to both tables (DataFrame.attrs[DIAGNOSIS]),
    which the mapping's errors (trackers.mapping) say first; InputError when no run could be
    read at all (the store holds none, or every run was left out), saying which."""
    said = diagnosis(data)
    if data.runs.empty:
        others = [w for w in data.warnings if not w.startswith(f"{data.location}:")]
        more = f" (the reader warned: {some(others)})" if others and not data.left_out else ""
        raise InputError(f"{data.location}: {said}{more}")
    data.runs.attrs[DIAGNOSIS] = said
    data.scalars.attrs[DIAGNOSIS] = said
    return data


def run_faults(warnings: list[str], run: str, name: str | None = None) -> list[str]:
    """The reader's warnings that name the run *run* (id) called *name*: every reader names a run
    as "run 'name' (id)" or, where the id is the name (TensorBoard), "run 'id'"."""
    marks = [f"({run})", f"run {run!r}"] + ([f"run {name!r}"] if name else [])
    return [w for w in warnings if any(m in w for m in marks)]


def faults_said(warnings: list[str], run: str, name: str | None = None) -> str:
    """ " (the reader: …)" with the warnings naming the run (run_faults), or ""; appended to an
    error that values missing from the run can cause (keys logged at different steps)."""
    found = run_faults(warnings, run, name)
    return f" (the reader found: {some(found)})" if found else ""


# ---------------------------------------------------------------- the cache


def cache_dir(tracker: str) -> Path:
    """Where *tracker*'s cached tables live (never next to the user's data)."""
    return paths.CACHE / tracker


def file_stamp(st) -> str:
    """What the cache key adds for one file (its os.stat result *st*) to the store's digest (name,
    size, modification time): what no writer can set back, the change time and inode, so a
    rewrite of the same size that restored the modification time is read again. Not part of the
    digest itself (provenance, change report): a copy of an unchanged store is the same input.
    Reading a file changes none of them."""
    return f"{st.st_ctime_ns}\0{st.st_ino}"


class Stamps:
    """The cache key's stamp of a store: file_stamp of each file fed in, hashed in feed order."""

    def __init__(self):
        self._h = hashlib.sha256()

    def add(self, name: str, st) -> None:
        self._h.update(f"{name}\0{file_stamp(st)}\n".encode())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _cache_stem(tracker: str, location: str, digest: str, version: int, stamp: str) -> Path:
    key = f"{location}|{digest}|{version}|{stamp}"
    return cache_dir(tracker) / hashlib.sha256(key.encode()).hexdigest()[:32]


def load_cached(
    tracker: str, location: str, digest: str, version: int, stamp: str = ""
) -> TrackerData | None:
    """The cached read of this store state (*digest*, and *stamp*: Stamps of its files), or
    None."""
    stem = _cache_stem(tracker, location, digest, version, stamp)
    meta = stem.with_suffix(".json")
    if not meta.exists():
        return None
    try:
        info = json.loads(meta.read_text())
        runs = _read_table(stem.with_suffix(".runs.arrow"))
        scalars = _read_table(stem.with_suffix(".scalars.arrow"))
    except (OSError, ValueError, pa.ArrowException):
        return None  # a damaged cache entry is read again from the store
    return TrackerData(
        tracker,
        location,
        runs,
        scalars,
        info["warnings"],
        digest,
        info["run_digests"],
        from_cache=True,
        left_out=info.get("left_out", []),
    )


def _read_table(path: Path) -> pd.DataFrame:
    return feather.read_table(path, memory_map=True).to_pandas()


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    # uncompressed Arrow IPC (Feather v2), read through a memory map: 5 million scalars load in
    # ~0.05 s against ~0.15 s from Parquet (the run and key columns stay categorical), at ~27 bytes
    # a scalar on disk (benchmarks/bench_tensorboard.py)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    feather.write_feather(table, path, compression="uncompressed")


def store_cached(data: TrackerData, version: int, stamp: str = "") -> None:
    """Write *data* to the cache (atomically: a killed write leaves no entry that looks valid),
    keyed as load_cached."""
    stem = _cache_stem(data.tracker, data.location, data.digest, version, stamp)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = stem.with_name(stem.name + ".tmp")
    for table, frame in (("runs", data.runs), ("scalars", data.scalars)):
        _write_table(frame, tmp.with_suffix(f".{table}.arrow"))
        tmp.with_suffix(f".{table}.arrow").replace(stem.with_suffix(f".{table}.arrow"))
    info = {"warnings": data.warnings, "run_digests": data.run_digests, "left_out": data.left_out}
    stem.with_suffix(".json").write_text(json.dumps(info, sort_keys=True))


# ---------------------------------------------------------------- which tracker


def split_source(source: str) -> tuple[str | None, str]:
    """("tensorboard", "runs/") for "tensorboard:runs/"; (None, source) without a known prefix.
    An aim:// server URI is Aim's, an sqlite:/// URI MLflow's (its tracking URI for a database)."""
    if source.startswith("aim://"):
        return "aim", source
    if source.startswith("sqlite:"):
        return "mlflow", source
    prefix, sep, rest = source.partition(":")
    if sep and prefix in TRACKERS:
        return prefix, rest
    return None, source


def detect(path: Path) -> list[str]:
    """The trackers whose stores *path* looks like (a folder or a file), in TRACKERS order."""
    from labbook.sources.trackers import detection

    return detection.detect(path)


def resolve(source: str) -> tuple[str, str]:
    """(tracker, location) for a `source` parameter: the named prefix, or the one tracker the path
    looks like. InputError when it looks like none, or like two at once (naming both)."""
    tracker, location = split_source(source)
    if tracker is not None:
        return tracker, location
    path = paths.resolve_input(location)
    if not path.exists():
        raise InputError(f"{path}: source not found")
    found = detect(path)
    if not found:
        raise InputError(
            f"{path}: source holds no tracker data this product reads (TensorBoard event files "
            "events.out.tfevents.*, an MLflow store (mlflow.db / mlruns/), an Aim repository "
            "(.aim), W&B run folders (wandb/offline-run-*, wandb/run-*)); name one with a "
            "prefix such as tensorboard:"
        )
    if len(found) > 1:
        raise InputError(
            f"{path}: source looks like {' and '.join(found)} at once; name the one to read with "
            f"a prefix ({', '.join(f'{t}:{location}' for t in found)})"
        )
    return found[0], location


def is_simulated(runs: pd.DataFrame) -> bool:
    """True when every run carries a true `simulated` attribute (see SIMULATED)."""
    columns = [c for c in runs.columns if c.split(":", 1)[-1] == SIMULATED and ":" in c]
    if runs.empty or not columns:
        return False
    truth = {"true", "1", "1.0", "yes"}
    flags = runs[columns].map(lambda v: str(v).strip().lower() in truth)
    return bool(flags.any(axis=1).all())
