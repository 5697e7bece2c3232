"""MLflow tracking stores -> the tracker layer's runs and scalars tables (see trackers/__init__).

    data = mlflow.read("sqlite:///results/mlflow.db")   # or results/mlflow.db, or results/
    data = mlflow.read("results/mlruns")                # the legacy file store

What is read. An SQLite store (`sqlite:///path`, the path of the database file, or a folder
holding `mlflow.db`) and the legacy file store (a folder `mlruns/`, a `file:` URI, or a folder
holding `mlruns/` with experiment folders in it). A folder holding both a database and a file
store is an error naming both (MLflow 3 keeps only artifacts in `mlruns/` next to `mlflow.db`;
that is read as the database). Runs table: `run` = the MLflow run id, `name` = the run name (the
mlflow.runName tag where the runs table has none, else the id), `status` (FINISHED, RUNNING,
FAILED, KILLED -> finished, running, failed, killed; SCHEDULED -> unknown), `param:<key>` for
every param (text, as MLflow stores params), `tag:<key>` for every tag, MLflow's own `mlflow.*`
system tags included as they are stored (mlflow.runName, mlflow.user, mlflow.source.*,
mlflow.parentRunId, ...), and `tag:mlflow.experimentName`, the name of the run's experiment (not
a tag MLflow stores; named in MLflow's reserved tag namespace so it never collides with a user's
tag). Runs sorted by name, then id. Scalars: every metric value logged (the metrics table, or
each `metrics/<key>` file), with its step and its wall time (MLflow's timestamp in ms / 1000);
`run` and `key` are pandas categoricals of str (as in the TensorBoard reader: a cached read of
millions of rows stays a file read), the categories sorted, every run of the runs table among
them.

What is left out, with a warning naming run and key: deleted runs and the runs of deleted
experiments (MLflow keeps both until `mlflow gc`; counted), NaN values (MLflow stores them as 0
with is_nan set) and infinite ones (stored as +-1.8e308), and all but the last value written at a
step logged twice (SQLite row order; line order in a metric file). Also warned: runs still running
or scheduled (their scalars may be incomplete), runs sharing a name,
a metric file line that is not `timestamp value [step]` (e.g. cut short by a writer), a run or
experiment folder whose meta.yaml cannot be read. A warning names at most SHOWN runs and counts
the rest. Not read: artifacts, models, datasets and traces (not scalars), and the
latest_metrics table (derived from the history, not the history).

Read-only. MLflow's client is never used: MLflow 3 migrates an older database's schema when its
client opens it (a write to the user's store), refuses the file store unless
MLFLOW_ALLOW_FILE_STORE=true, and fetches history one run and key at a time. The database is
opened with sqlite3 `mode=ro` (no journal, no lock beyond SQLite's shared read lock), the file
store's files are opened for reading only. Runs, params and tags are read in one read transaction
with the metrics table's last row id; the metrics up to that row are then read in chunks of
CHUNK_ROWS rows, each its own short transaction, so a writer waits at most one chunk (MLflow only
appends metric rows: what is read is the store as it was at the first transaction). A writer
that holds its lock longer than LOCK_WAIT_S is an error. A database in WAL mode with no writer
attached is read with `immutable=1` (`mode=ro` would create -wal and -shm files beside it) and read
again if it changed meanwhile. An older schema is read when the columns in NEEDED exist; otherwise
the error names the schema version found (alembic_version). Errors (InputError, naming the path):
a missing path, a folder with no store or with both kinds, a file that is no SQLite database, a
database without MLflow's runs table, a damaged database, a lock held past LOCK_WAIT_S.

Cached as Parquet under paths.CACHE / "mlflow", keyed by the database file's size, modification
time and SQLite change counter (and its -wal file's), or by the name, size and modification time
of every file of the file store outside artifact folders.
"""

import gc
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import numpy as np
import pandas as pd
import yaml

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources.trackers import base as trackers
from labbook.sources.trackers.base import TrackerData, listed_steps, some

TRACKER = "mlflow"
CACHE_VERSION = 3  # bump when what a read returns changes
LOCK_WAIT_S = 10.0  # how long a read waits for a writer's lock before giving up
CHUNK_ROWS = 200_000  # metric rows read per read transaction
EXPERIMENT_NAME = "tag:mlflow.experimentName"
RUN_NAME_TAG = "mlflow.runName"
STATUS = {"FINISHED": "finished", "RUNNING": "running", "FAILED": "failed", "KILLED": "killed"}
UNFINISHED = ("RUNNING", "SCHEDULED")
FILE_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
MLFLOW_INFINITY = 1.7976931348623157e308  # MLflow stores +-inf as +-this
NEEDED = {  # the columns this reader needs in an SQLite store (older schemas have them too)
    "experiments": ("experiment_id", "name", "lifecycle_stage"),
    "runs": ("run_uuid", "status", "lifecycle_stage", "experiment_id"),
    "metrics": ("run_uuid", "key", "value", "timestamp", "step"),
    "params": ("run_uuid", "key", "value"),
    "tags": ("run_uuid", "key", "value"),
}
NOT_RUNS = {"tags", "datasets", "traces", "models"}  # folders of an experiment that are no run


@dataclass
class Store:
    """One store as read, before the checks.

    runs: run (id), name (None if the store has none), status (MLflow's word), deleted (bool:
    the run or its experiment), experiment (name). attributes: run, column ("param:lr",
    "tag:dataset"), value. metrics: run, key, step (int64), value (float64, NaN where MLflow
    flagged is_nan), timestamp (int64 ms), one row per value logged, in the order written."""

    runs: pd.DataFrame
    attributes: pd.DataFrame
    metrics: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # runs found but not read, with the cause


def _runs_frame(rows: list[tuple]) -> pd.DataFrame:
    """Store.runs from (run, name, status, deleted, experiment) tuples."""
    columns = ["run", "name", "status", "deleted", "experiment"]
    return pd.DataFrame(rows, columns=columns, dtype=object).astype({"deleted": bool})


# ---------------------------------------------------------------- where the store is


def locate(location: str | Path) -> tuple[str, Path]:
    """("sqlite", database file) or ("files", mlruns folder) for a `sqlite:///` URI, a `file:`
    URI, a database file, an mlruns folder or a folder holding one of them. InputError when the
    path is missing, holds neither or both."""
    text = str(location)
    if text.startswith("sqlite:"):
        rest = text.removeprefix("sqlite:").split("?", 1)[0]
        if not rest.startswith("///"):
            raise InputError(f"{text}: an SQLite store URI is sqlite:///path/to/mlflow.db")
        path = paths.resolve_input(unquote(rest[3:]))
        if not path.is_file():
            raise inputs.not_found(path, "MLflow database")
        return "sqlite", path
    if text.startswith("file:"):
        text = unquote(urlparse(text).path)
    path = paths.resolve_input(text)
    if not path.exists():
        raise inputs.not_found(path, "MLflow store")
    if path.is_file():
        return "sqlite", path
    db, mlruns = path / "mlflow.db", path / "mlruns"
    if _is_file_store(path):
        return "files", path
    if db.is_file() and _is_file_store(mlruns):
        raise InputError(
            f"{path}: holds both an MLflow database (mlflow.db) and a file store (mlruns/); name "
            f"the one to read: mlflow:{db} or mlflow:{mlruns}"
        )
    if db.is_file():
        return "sqlite", db
    if _is_file_store(mlruns):
        return "files", mlruns
    raise InputError(
        f"{path}: no MLflow store here (neither mlflow.db nor an mlruns/ folder with experiment "
        "folders); point the source at the database file or the mlruns folder"
    )


def _is_file_store(folder: Path) -> bool:
    """A folder MLflow's file store wrote: experiment folders with meta.yaml, or its .trash."""
    if not folder.is_dir():
        return False
    if (folder / ".trash").is_dir():
        return True
    return any((child / "meta.yaml").is_file() for child in folder.iterdir() if child.is_dir())


def store_digest(kind: str, path: Path) -> tuple[str, str]:
    """(sha256 naming the store's state, the cache key's stamp: trackers.Stamps of the same
    files). The state: for a database, its size, modification time and SQLite change counter
    (header bytes 24-27) and those of its -wal file; for a file store, the name, size and
    modification time of every file outside artifact folders. Reading changes none of them."""
    h = hashlib.sha256(kind.encode())
    stamps = trackers.Stamps()
    if kind == "sqlite":
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                st = file.stat()
                with open(file, "rb") as f:
                    counter = f.read(28)[24:28].hex()
                h.update(f"{file.name}\0{st.st_size}\0{st.st_mtime_ns}\0{counter}\n".encode())
                stamps.add(file.name, st)
        return h.hexdigest(), stamps.hexdigest()
    lines = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "artifacts")
        rel = os.path.relpath(folder, path)
        for name in files:
            st = os.stat(os.path.join(folder, name))
            lines.append(f"{rel}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n")
            stamps.add(f"{rel}/{name}", st)
    for line in sorted(lines):
        h.update(line.encode())
    return h.hexdigest(), stamps.hexdigest()


# ---------------------------------------------------------------- the SQLite store


def _connect(db: Path, immutable: bool) -> sqlite3.Connection:
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    return sqlite3.connect(
        f"file:{quote(str(db))}?{flags}", uri=True, timeout=LOCK_WAIT_S, isolation_level=None
    )


def _sqlite_error(db: Path, exc: sqlite3.Error, reading: str) -> InputError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return InputError(
            f"{db}: a writer held the store's lock for more than {LOCK_WAIT_S:g} s while "
            f"{reading} was read; read it again when the writer pauses"
        )
    return InputError(f"{db}: SQLite could not read {reading} ({text}); is the file damaged?")


def schema_version(conn: sqlite3.Connection) -> str:
    """The store's alembic revision, or a sentence saying it has none."""
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return "none (no alembic_version table: older than MLflow's first migration)"
    return row[0] if row else "none (alembic_version is empty)"


def _columns(db: Path, conn: sqlite3.Connection) -> dict[str, set[str]]:
    """{table: its columns} for the tables in NEEDED; InputError when the file is no MLflow
    store or lacks a needed column (naming the schema version found)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "runs" not in tables:
        shown = ", ".join(sorted(tables)[:10]) or "none"
        raise InputError(
            f"{db}: not an MLflow tracking store: it has no table 'runs' (tables: {shown})"
        )
    found = {t: {r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')} for t in NEEDED}
    missing = [f"{t}.{c}" for t, cols in NEEDED.items() for c in cols if c not in found[t]]
    if missing:
        version = schema_version(conn)
        locked, known = known_revisions()
        if known and version not in known and not version.startswith("none"):
            raise InputError(
                f"{db}: written by a newer MLflow than the locked one (mlflow {locked}): its "
                f"schema version {version} is none that mlflow {locked} knows, and it lacks "
                f"{', '.join(missing)}, which this reader needs; this reader cannot read it yet "
                f"(a store cannot be downgraded: log the runs with mlflow {locked} or older)"
            )
        raise InputError(
            f"{db}: MLflow schema version {version} lacks {', '.join(missing)}, "
            "which this reader needs; upgrade a copy of the store (`mlflow db upgrade "
            "sqlite:///COPY.db`) and read the copy"
        )
    return found


def known_revisions() -> tuple[str, set[str]]:
    """(the installed mlflow's version, the schema versions (alembic revisions) it knows), read
    from the names of its migration files without importing it; ("", set()) without mlflow."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return "", set()
    folder = Path(spec.submodule_search_locations[0]) / "store" / "db_migrations" / "versions"
    revisions = {p.name.split("_", 1)[0] for p in folder.glob("*.py") if p.name[0] != "_"}
    return importlib.metadata.version("mlflow"), revisions


def _head(db: Path, conn: sqlite3.Connection) -> tuple[pd.DataFrame, pd.DataFrame, int, bool]:
    """(runs, attributes, last metric row id, whether metrics have is_nan), read in one read
    transaction (on an error the caller closes the connection, which ends it)."""
    conn.execute("BEGIN")
    cols = _columns(db, conn)
    experiments = {
        str(i): (name, stage)
        for i, name, stage in conn.execute(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments"
        )
    }
    name_column = "name" if "name" in cols["runs"] else "NULL"
    rows = conn.execute(
        f"SELECT run_uuid, {name_column}, status, lifecycle_stage, experiment_id FROM runs"
    ).fetchall()
    attributes = [
        (run, f"{kind}:{key}", value)
        for kind in ("param", "tag")
        for run, key, value in conn.execute(f"SELECT run_uuid, key, value FROM {kind}s")
    ]
    last = conn.execute("SELECT max(rowid) FROM metrics").fetchone()[0] or 0
    conn.execute("COMMIT")
    runs = _runs_frame(
        [
            (
                run,
                name,
                status,
                stage == "deleted" or experiments.get(str(exp), ("", ""))[1] == "deleted",
                experiments.get(str(exp), (f"experiment {exp}", ""))[0],
            )
            for run, name, status, stage, exp in rows
        ]
    )
    attributes = pd.DataFrame(attributes, columns=["run", "column", "value"], dtype=object)
    return runs, attributes, last, "is_nan" in cols["metrics"]


def _metric_rows(conn: sqlite3.Connection, last: int, has_is_nan: bool) -> pd.DataFrame:
    """Every metrics row with row id <= *last*, in row-id (written) order, read in row-id
    ranges of CHUNK_ROWS, each range its own read transaction."""
    value = "CASE WHEN is_nan THEN NULL ELSE value END" if has_is_nan else "value"
    query = (
        f"SELECT run_uuid, key, step, {value}, timestamp FROM metrics "
        "WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
    )
    names = ["run", "key", "step", "value", "timestamp"]
    kinds = [object, object, np.int64, np.float64, np.int64]
    parts = []
    with _no_cycle_collection():
        for after in range(0, last, CHUNK_ROWS):
            columns = list(zip(*conn.execute(query, (after, after + CHUNK_ROWS)).fetchall()))
            if columns:
                parts.append([_column(c, k) for c, k in zip(columns, kinds)])
    return pd.DataFrame(
        {
            name: np.concatenate([p[i] for p in parts]) if parts else np.array([], dtype=kind)
            for i, (name, kind) in enumerate(zip(names, kinds))
        }
    )


def _column(values: tuple, kind) -> np.ndarray:
    """One fetched column as an array; NULL or text where a number belongs becomes NaN in
    values and a ValueError in steps and timestamps."""
    if kind is object:
        return np.array(values, dtype=object)
    try:
        return np.array(values, dtype=kind)
    except (TypeError, ValueError):
        if kind is np.float64:
            return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy()
        raise ValueError(f"a metric step or timestamp is not an integer: {values[:3]}") from None


@contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector while millions of short-lived rows (tuples, which form
    no cycles) are made: it would scan them again and again (about a third of the read)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_sqlite(db: Path) -> Store:
    """The SQLite store *db* as read (see Store). InputError for a file that is no SQLite
    database or MLflow store, lacks a needed column, is damaged, or stays locked."""
    with open(db, "rb") as f:
        header = f.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        raise InputError(
            f"{db}: not an SQLite database (an MLflow store is one): it starts {header[:16]!r}"
        )
    wal_mode = header[18] == 2  # the file format's write version: 2 = WAL
    for _attempt in range(3):
        immutable = wal_mode and not Path(f"{db}-wal").exists()  # no writer attached
        before = _stamp(db)
        store = _read_sqlite_once(db, immutable)
        if not immutable or _stamp(db) == before:
            return store
    raise InputError(f"{db}: the WAL-mode store kept changing while it was read; read it again")


def _stamp(db: Path) -> tuple[int, int, bool]:
    st = db.stat()
    return st.st_size, st.st_mtime_ns, Path(f"{db}-wal").exists()


def _read_sqlite_once(db: Path, immutable: bool) -> Store:
    reading = "the runs, params and tags"
    try:
        conn = _connect(db, immutable)
    except sqlite3.Error as exc:
        raise _sqlite_error(db, exc, "the file") from None
    try:
        runs, attributes, last, has_is_nan = _head(db, conn)
        reading = "the metrics table"
        metrics = _metric_rows(conn, last, has_is_nan)
    except InputError:  # the reader's own diagnosis (a ValueError too): said as it is
        raise
    except (sqlite3.Error, TypeError, ValueError) as exc:  # the latter two: NULL or text steps
        raise _sqlite_error(db, exc, reading) from None
    finally:
        conn.close()
    return Store(runs, attributes, metrics)


# ---------------------------------------------------------------- the file store


def _yaml(path: Path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _files(folder: Path) -> dict[str, Path]:
    """{key: file} for every file under *folder* (keys with '/' are nested files, as MLflow
    writes them)."""
    out = {}
    if not folder.is_dir():
        return out
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            file = Path(root) / name
            out[file.relative_to(folder).as_posix()] = file
    return out


def _metric_file(file: Path, label: str, key: str, warnings: list[str]) -> list[tuple]:
    """(step, value, timestamp) per line of a metric file: `timestamp value [step [dataset
    digest]]`; a line of another shape is left out with a warning naming run, key and line."""
    rows, bad = [], []
    try:
        f = open(file, encoding="utf-8", errors="replace")
    except OSError as exc:
        warnings.append(f"{label}: metric '{key}' unreadable ({exc}), left out")
        return rows
    with f:
        for number, line in enumerate(f, 1):
            parts = line.split()
            try:
                if len(parts) not in (2, 3, 5):
                    raise ValueError
                step = int(parts[2]) if len(parts) >= 3 else 0
                rows.append((step, float(parts[1]), int(parts[0])))
            except ValueError:
                bad.append((number, line.strip()[:60]))
    if bad:
        limit = trackers.SHOWN
        shown = "; ".join(f"line {n}: {text!r}" for n, text in bad[:limit])
        warnings.append(
            f"{label}: metric '{key}' has {len(bad)} malformed line(s) in {file} (expected "
            f"'timestamp value step'), left out: {shown}{' ...' if len(bad) > limit else ''}"
        )
    return rows


def _run_folders(mlruns: Path, warnings: list[str]) -> list[tuple[Path, str, bool]]:
    """(run folder, experiment name, experiment deleted) for every run folder of every
    experiment (active ones, then .trash)."""
    out = []
    experiments = [(p, False) for p in sorted(mlruns.iterdir()) if p.is_dir()]
    experiments = [(p, d) for p, d in experiments if p.name not in (".trash", "models")]
    if (mlruns / ".trash").is_dir():
        experiments += [(p, True) for p in sorted((mlruns / ".trash").iterdir()) if p.is_dir()]
    for folder, deleted in experiments:
        runs = [
            run
            for run in sorted(folder.iterdir())
            if run.is_dir() and run.name not in NOT_RUNS and (run / "meta.yaml").exists()
        ]
        if not runs:
            continue
        try:
            meta = _yaml(folder / "meta.yaml")
            name = str(meta.get("name", folder.name))
            deleted = deleted or meta.get("lifecycle_stage") == "deleted"
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            warnings.append(
                f"experiment folder {folder}: meta.yaml unreadable ({exc}); its runs are read "
                "under the folder's name"
            )
            name = folder.name
        out += [(run, name, deleted) for run in runs]
    return out


def read_files(mlruns: Path) -> Store:
    """The file store *mlruns* as read (see Store): each run folder's meta.yaml, params/, tags/
    and metrics/ files. A run whose meta.yaml cannot be read is left out with a warning."""
    warnings: list[str] = []
    runs, attributes, metrics, left_out = [], [], [], []
    for folder, experiment, exp_deleted in _run_folders(mlruns, warnings):
        try:
            meta = _yaml(folder / "meta.yaml")
            run = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
            status = meta.get("status", 1)
            status = FILE_STATUS.get(status, str(status))
            deleted = exp_deleted or meta.get("lifecycle_stage") == "deleted"
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            warnings.append(f"run folder {folder}: meta.yaml unreadable ({exc}); run left out")
            left_out.append(f"run folder {folder}: meta.yaml unreadable ({exc})")
            continue
        values = {}
        for kind in ("param", "tag"):
            for key, file in _files(folder / f"{kind}s").items():
                try:
                    values[f"{kind}:{key}"] = file.read_text(encoding="utf-8", errors="replace")
                except OSError as exc:
                    warnings.append(f"run folder {folder}: {kind} {key!r} unreadable ({exc})")
        attributes += [(run, column, value) for column, value in values.items()]
        name = meta.get("run_name") or values.get(f"tag:{RUN_NAME_TAG}") or None
        runs.append((run, name, status, deleted, experiment))
        for key, file in _files(folder / "metrics").items():
            label = _label(run, name or run)
            for step, value, timestamp in _metric_file(file, label, key, warnings):
                metrics.append((run, key, step, value, timestamp))
    return Store(
        _runs_frame(runs),
        pd.DataFrame(attributes, columns=["run", "column", "value"], dtype=object),
        pd.DataFrame(metrics, columns=["run", "key", "step", "value", "timestamp"]).astype(
            {
                "run": object,
                "key": object,
                "step": "int64",
                "value": "float64",
                "timestamp": "int64",
            }
        ),
        warnings,
        left_out,
    )


# ---------------------------------------------------------------- the two tables


def _label(run: str, name: str) -> str:
    return f"run {name!r} ({run})"


def _runs_table(store: Store, warnings: list[str]) -> pd.DataFrame:
    """The runs table of the runs not deleted; warnings for deleted, unfinished and same-named
    runs and for params some runs lack."""
    runs = store.runs
    deleted = runs[runs["deleted"]]
    if len(deleted):
        shown = some([_label(r, n or r) for r, n in zip(deleted["run"], deleted["name"])])
        warnings.append(
            f"{len(deleted)} deleted run(s) left out (deleted in MLflow, or in a deleted "
            f"experiment; kept in the store until `mlflow gc`): {shown}"
        )
    runs = runs[~runs["deleted"]]
    wide = store.attributes[store.attributes["run"].isin(runs["run"])]
    wide = wide.drop_duplicates(["run", "column"], keep="last")
    wide = wide.pivot(index="run", columns="column", values="value")
    wide = wide.reindex(index=runs["run"], columns=sorted(wide.columns))
    tagged = wide[f"tag:{RUN_NAME_TAG}"] if f"tag:{RUN_NAME_TAG}" in wide else None
    names = [
        n if n else (tagged[r] if tagged is not None and pd.notna(tagged[r]) else r)
        for r, n in zip(runs["run"], runs["name"])
    ]
    table = pd.DataFrame(
        {
            "run": runs["run"].to_numpy(dtype=object),
            "name": np.array(names, dtype=object),
            "status": [STATUS.get(s, "unknown") for s in runs["status"]],
        }
    )
    for column in wide.columns:
        table[column] = [None if pd.isna(v) else v for v in wide[column].to_numpy()]
    table[EXPERIMENT_NAME] = runs["experiment"].to_numpy(dtype=object)
    table = table[[*trackers.RUN_COLUMNS, *sorted(table.columns[3:])]]
    table = table.sort_values(["name", "run"], kind="stable", ignore_index=True)
    _run_warnings(table, runs, warnings)
    return table


def _run_warnings(table: pd.DataFrame, runs: pd.DataFrame, warnings: list[str]) -> None:
    """Warnings naming the runs still running or scheduled, of a status this reader does not
    know, or sharing a name. (A param some runs lack is None for them: whether that matters is the
    mapping's to say, for the attributes an analysis uses.)"""
    status = dict(zip(runs["run"], runs["status"]))
    labels = [(_label(r, n), status[r]) for r, n in zip(table["run"], table["name"])]
    unfinished = [f"{label} is {word}" for label, word in labels if word in UNFINISHED]
    if unfinished:
        warnings.append(
            f"{len(unfinished)} run(s) not finished in MLflow (their scalars may be "
            f"incomplete): {some(unfinished)}"
        )
    odd = [f"{label}: {word!r}" for label, word in labels if word not in (*STATUS, *UNFINISHED)]
    if odd:
        warnings.append(f"run status unknown to this reader (status unknown): {some(odd)}")
    for name, group in table.groupby("name", sort=True):
        if len(group) > 1:
            warnings.append(
                f"{len(group)} runs share the name {name!r} (the name alone does not tell "
                f"them apart): ids {some(list(group['run']))}"
            )


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, sorted distinct values) of an object array, hashing a value only where it differs
    from the one before: MLflow writes a run's values together, so 1,000,000 rows of 1,000 runs
    hash ~1,000 strings, not 1,000,000 (a fifth of the read)."""
    if len(values) == 0:
        return np.array([], dtype=np.intp), np.array([], dtype=object)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    codes, uniques = pd.factorize(values[starts], sort=True)
    return np.repeat(codes, np.diff(np.r_[starts, len(values)])), uniques


def _scalars_table(metrics: pd.DataFrame, names: dict[str, str], warnings: list[str]):
    """The scalars table of the runs in *names*: sorted by run, key, step; a step logged twice
    keeps the last value written; NaN and infinite values left out; each with a warning."""
    run_codes, run_ids = _codes(metrics["run"].to_numpy())
    wanted = np.array([run in names for run in run_ids], dtype=bool)
    kept = np.flatnonzero(wanted[run_codes]) if len(run_codes) else run_codes
    run_codes = run_codes[kept]
    key_codes, keys = _codes(metrics["key"].to_numpy()[kept])
    step = metrics["step"].to_numpy()[kept]
    order = np.lexsort((step, run_codes.astype(np.int64) * max(len(keys), 1) + key_codes))
    run_codes, key_codes, step, kept = run_codes[order], key_codes[order], step[order], kept[order]
    value = metrics["value"].to_numpy()[kept]
    same_next = np.zeros(len(step), dtype=bool)  # lexsort is stable: the last is the last written
    same_next[:-1] = (
        (run_codes[1:] == run_codes[:-1])
        & (key_codes[1:] == key_codes[:-1])
        & (step[1:] == step[:-1])
    )
    last = ~same_next
    nan = last & np.isnan(value)
    inf = last & ~nan & (np.abs(value) >= MLFLOW_INFINITY)
    flags = {
        "more than one value logged at one step (the last value written kept)": same_next,
        "NaN values (left out)": nan,
        "infinite values (MLflow stores +-inf as +-1.8e308; left out)": inf,
    }
    for what, mask in flags.items():
        if not mask.any():
            continue
        bad = pd.DataFrame({"run": run_codes[mask], "key": key_codes[mask], "step": step[mask]})
        for k, in_key in bad.groupby("key", sort=True):
            found = [
                f"{_label(run_ids[r], names[run_ids[r]])} at step(s) "
                + listed_steps(group["step"].drop_duplicates())
                for r, group in in_key.groupby("run", sort=True)
            ]
            warnings.append(f"metric {keys[k]!r}: {what} in {len(found)} run(s): {some(found)}")
    keep = last & ~nan & ~inf
    every_run = sorted(names)  # runs without scalars are categories too
    return pd.DataFrame(
        {
            "run": pd.Categorical.from_codes(
                np.searchsorted(every_run, run_ids)[run_codes[keep]], every_run
            ),
            "key": pd.Categorical.from_codes(key_codes[keep], keys),
            "step": step[keep].astype("int64"),
            "value": value[keep].astype("float64"),
            "wall_time": metrics["timestamp"].to_numpy()[kept[keep]] / 1000.0,
        }
    )


def run_digests(runs: pd.DataFrame, scalars: pd.DataFrame) -> dict[str, str]:
    """{run id: sha256 of its row in the runs table and its scalars (key names, steps, values,
    wall times)}, for the change report. *scalars* as _scalars_table makes it (sorted by run,
    key, step; run and key categoricals)."""
    run_codes, key_codes = scalars["run"].cat.codes.to_numpy(), scalars["key"].cat.codes.to_numpy()
    run_ids = scalars["run"].cat.categories.to_numpy(dtype=object)
    keys = scalars["key"].cat.categories.to_numpy(dtype=object)
    columns = [scalars[c].to_numpy() for c in ("step", "value", "wall_time")]
    change = (run_codes[1:] != run_codes[:-1]) | (key_codes[1:] != key_codes[:-1])
    bounds = np.flatnonzero(np.r_[len(run_codes) > 0, change])
    segments: dict[str, list[tuple[int, int]]] = {}
    for start, end in zip(bounds, np.r_[bounds[1:], len(run_codes)]):
        segments.setdefault(run_ids[run_codes[start]], []).append((start, end))
    out = {}
    for row in runs.to_dict("records"):
        h = hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode())
        for start, end in segments.get(row["run"], []):
            h.update(f"\0{keys[key_codes[start]]}\0{end - start}\0".encode())
            for column in columns:
                h.update(column[start:end].tobytes())
        out[row["run"]] = h.hexdigest()
    return out


def tables(store: Store, location: str, digest: str) -> TrackerData:
    """TrackerData from a store as read: deleted runs left out, names filled in, statuses
    mapped, scalars sorted and cleaned; every fault a warning naming run and key."""
    warnings = list(store.warnings)
    runs = _runs_table(store, warnings)
    scalars = _scalars_table(store.metrics, dict(zip(runs["run"], runs["name"])), warnings)
    if runs.empty:
        warnings.append(f"{location}: the store holds no run (deleted ones aside)")
    data = TrackerData(TRACKER, location, runs, scalars, warnings, digest, left_out=store.left_out)
    data.run_digests = run_digests(runs, scalars)
    return trackers.check_tables(data)


def read(location: str | Path, *, use_cache: bool = True) -> TrackerData:
    """The runs and scalars of the MLflow store at *location* (see the module docstring): from
    the cache when this store state was read before and *use_cache*, else from the store (and
    cached). The store is recorded as an input of the report."""
    kind, path = locate(location)
    path = path.resolve()
    digest, stamp = store_digest(kind, path)
    inputs.record_directory(path, digest)
    if use_cache:
        cached = trackers.load_cached(TRACKER, str(path), digest, CACHE_VERSION, stamp)
        if cached is not None:
            return trackers.check_tables(cached)
    store = read_sqlite(path) if kind == "sqlite" else read_files(path)
    data = tables(store, str(path), digest)
    if use_cache:
        trackers.store_cached(data, CACHE_VERSION, stamp)
    return data
