"""The tracker layer: every experiment tracker read into the same two tidy tables.

    data = trackers.read("runs/")            # recognised from what is there
    data = trackers.read("tensorboard:runs/")  # or named: tensorboard:, mlflow:, aim:, wandb:

Every reader returns a `TrackerData`:

- ``runs``: one row per run. Columns ``run`` (the tracker's id, str), ``name`` (str), ``status``
  (str: "finished", "running", "failed", "killed" or "unknown"), then one column per run attribute,
  named ``<kind>:<key>`` with kind one of ``tag``, ``param``, ``hparam``, ``config``, ``summary``
  (e.g. ``param:lr``, ``tag:dataset``); values as the tracker stored them (str, or a number where
  the tracker keeps numbers), missing as None.
- ``scalars``: one row per logged value. Columns ``run`` and ``key`` (str, held as a pandas
  categorical: millions of rows share a few thousand names), ``step`` (int64),
  ``value`` (float64, finite), ``wall_time`` (float64 seconds since the epoch; NaN where the
  tracker keeps none). Sorted by run, key, step; one row per (run, key, step): a step logged twice
  keeps the last value written, and the reader says so in a warning.

Readers open a store read-only and leave it byte-identical: no migration, no lock, no log file.
What they read is cached as Parquet under paths.CACHE / <tracker> (never next to the data), keyed
by a digest of the store's run data only, so a second read of an unchanged store is a file read.
Faults in the store (a damaged file, NaN values, a run still being written) are warnings naming
the run and the key, kept in ``warnings``; the notebook shows them (Report.warn).
"""

from labbook.guards.aim import AimMissing
from labbook.inputs import InputError
from labbook.sources.trackers.base import (
    ATTRIBUTE_KINDS,
    RUN_COLUMNS,
    SCALAR_COLUMNS,
    SIMULATED,
    STATUSES,
    TRACKERS,
    TrackerData,
    cache_dir,
    check_runs,
    check_tables,
    detect,
    diagnosis,
    empty_runs,
    empty_scalars,
    faults_said,
    is_simulated,
    load_cached,
    resolve,
    split_source,
    store_cached,
)

__all__ = [
    "RUN_COLUMNS",
    "SCALAR_COLUMNS",
    "ATTRIBUTE_KINDS",
    "STATUSES",
    "TRACKERS",
    "SIMULATED",
    "TrackerData",
    "empty_runs",
    "empty_scalars",
    "check_tables",
    "check_runs",
    "diagnosis",
    "faults_said",
    "cache_dir",
    "load_cached",
    "store_cached",
    "split_source",
    "detect",
    "resolve",
    "is_simulated",
    "read",
    "read_store",
]


def read(source: str, use_cache: bool = True) -> TrackerData:
    """Read the store named by a `source` parameter (see resolve) with its tracker's reader; the
    store is recorded as an input of the report (with `simulated` when its runs say so, and the
    line describing them when they are real training runs: trackers.trained). InputError when no
    run could be read, saying why (check_runs: the store holds none, or "5 of 5 runs could not be
    read: …"); runs left out of the rest are said first by the mapping's errors."""
    from labbook import inputs
    from labbook.sources.trackers import trained

    data = read_store(source, use_cache)
    inputs.record_runs(
        data.digest, data.run_digests, dict(zip(data.runs["run"], data.runs["name"]))
    )
    if is_simulated(data.runs):
        inputs.mark_simulated(data.digest)
    description = trained.description(data.runs)
    if description is not None:
        inputs.mark_trained(data.digest, description)
    return check_runs(data)


def read_store(source: str, use_cache: bool = True) -> TrackerData:
    """What the store named by *source* holds, as its reader reads it (an empty store too)."""
    tracker, location = resolve(source)
    return _reader(tracker, source).read(location, use_cache=use_cache)


def _reader(tracker: str, source: str):
    """The reader module of *tracker*, imported by name in the code (not through importlib) so that
    a report's dependencies (labbook.runner.deps, read from the imports) include every reader."""
    try:
        if tracker == "tensorboard":
            from labbook.sources.trackers import tensorboard as reader
        elif tracker == "mlflow":
            from labbook.sources.trackers import mlflow as reader
        elif tracker == "wandb":
            from labbook.sources.trackers import wandb as reader
        else:
            from labbook.sources.trackers import aim as reader
    except AimMissing as exc:  # an optional extra not installed: the error says which to install
        raise AimMissing(f"{source}: {exc}") from None
    except ImportError as exc:
        raise InputError(f"{source}: the {tracker} reader cannot be loaded ({exc})") from None
    return reader
