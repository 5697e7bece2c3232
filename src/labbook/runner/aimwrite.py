"""Writing Aim repositories without hanging: runs opened without aim's status reporter
(labbook.guards.aim.open_run), written by a spawned child process whose every step (start, create,
open, track, close, index, exit) has a limit; a step past it is killed and named (AimWriteError).

`AimRun` and `AimSeries` describe the runs as plain data; `write_aim_runs` writes them. Used by the
example generator (labbook.runner.examples), the tracker writers (labbook.runner.trackerwrite), the
tests and the benchmarks.
"""

import multiprocessing
import os
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labbook.guards import aim as aim_guard

STEP_SECONDS = 60.0  # limit of each step: create the repository, open, track, close a run, exit
START_SECONDS = 60.0  # limit of starting the writing process (spawn, import aim)
POINT_SECONDS = 0.01  # added to a run's tracking limit per value tracked
INDEX_RUN_SECONDS = 1.0  # added to the indexing limit per run indexed
STEPS = ("start", "init", "open", "track", "close", "index", "exit")  # the kinds of step


class AimWriteError(RuntimeError):
    """Writing an Aim repository failed or a step did not finish in time; names the step."""


@dataclass(frozen=True)
class AimSeries:
    """One context of a run's metrics: values[name][i] is tracked at steps[i], epochs[i].

    steps, epochs: int array(points); values: {metric name: array(points)} of floats or ints
    (tracked as Python float or int); context: aim context, e.g. {"subset": "val"}."""

    context: dict
    steps: np.ndarray
    epochs: np.ndarray
    values: dict


@dataclass(frozen=True)
class AimRun:
    """One run to write: run.name, experiment, tags, run[key] = value for each attribute (in
    order), then its series."""

    name: str
    experiment: str | None
    tags: tuple[str, ...]
    attrs: dict
    series: tuple[AimSeries, ...]

    @property
    def value_count(self) -> int:
        """Number of values tracked (points x metrics over the series)."""
        return sum(len(s.steps) * len(s.values) for s in self.series)


def track_run(run, spec: AimRun) -> None:
    """Name, tag, set the attributes of and track every series of *spec* into the open *run*."""
    run.name = spec.name
    for tag in spec.tags:
        run.add_tag(tag)
    for key, value in spec.attrs.items():
        run[key] = value
    for series in spec.series:
        for i, (step, epoch) in enumerate(zip(series.steps, series.epochs, strict=True)):
            values = {name: v[i].item() for name, v in series.values.items()}
            run.track(values, step=int(step), epoch=int(epoch), context=series.context)


def _aim_writer(conn, root: str, runs: list[AimRun], init: bool, index: bool, initializer) -> None:
    """The child process of `write_aim_runs`: sends (step, run index) before each step, then
    ("done", None), or ("error", traceback) when a step raises (("missing", message) when aim is
    not installed). Leads its own process group, so
    killing the group also ends an `aim storage reindex` it started."""
    os.setsid()
    try:
        if initializer is not None:
            initializer()
        Repo = aim_guard.require("aim").Repo
        from labbook.sources.trackers.aim import reindex

        if init:
            conn.send(("init", None))
            Repo.from_path(root, init=True)
        for k, spec in enumerate(runs):
            conn.send(("open", k))
            run = aim_guard.open_run(root, spec.experiment)
            conn.send(("track", k))
            track_run(run, spec)
            conn.send(("close", k))
            run.close()
        if index:
            conn.send(("index", None))
            reindex(Path(root))
        conn.send(("done", None))
    except aim_guard.AimMissing as exc:  # the parent raises it as it is: it names the extra
        conn.send(("missing", str(exc)))
    # any failure is reported to the parent with its traceback; the parent names the step
    except Exception:
        conn.send(("error", traceback.format_exc()[-3000:]))
    finally:
        conn.close()


def _limits(limits: dict | None) -> dict[str, float]:
    """{kind of step: seconds}: the defaults, with *limits* ({kind: seconds}) in their place."""
    unknown = sorted(set(limits or {}) - set(STEPS))
    if unknown:
        raise ValueError(f"write_aim_runs: no step {unknown} (the steps are {', '.join(STEPS)})")
    return {"start": START_SECONDS, **dict.fromkeys(STEPS[1:], STEP_SECONDS), **(limits or {})}


def _step(event: tuple, runs: list[AimRun], limits: dict[str, float]) -> tuple[str, float]:
    """(what the step does, in words; its limit in seconds) for a message of `_aim_writer`."""
    what, k = event
    if what == "init":
        return "creating the repository", limits["init"]
    if what == "index":
        return "indexing it (aim storage reindex)", limits["index"] + INDEX_RUN_SECONDS * len(runs)
    run = f"run {k + 1} of {len(runs)} ({runs[k].name!r})"
    if what == "open":
        return f"opening {run}", limits["open"]
    if what == "track":
        limit = limits["track"] + POINT_SECONDS * runs[k].value_count
        return f"tracking the metrics of {run}", limit
    return f"closing {run} (aim's Run.close)", limits["close"]


def _stop(proc) -> None:
    """Kill the writing process and its process group, waiting at most 10 s for it to go."""
    if proc.pid is None:  # never started
        return
    if proc.is_alive():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # not yet its own group: the process alone
            proc.kill()
    proc.join(10)


def write_aim_runs(
    root: Path,
    runs: list[AimRun],
    init: bool = False,
    index: bool = False,
    limits: dict[str, float] | None = None,
    initializer=None,
) -> None:
    """Write *runs* into the Aim repository at *root* (the folder holding .aim; created first with
    *init*; indexed last with *index*), each run opened without aim's status reporter
    (labbook.guards.aim.open_run).

    The writing happens in a child process, and no wait is unbounded: starting it (importing aim)
    gets START_SECONDS; creating the repository, opening, tracking and closing each run, indexing
    and the process's exit each get STEP_SECONDS (tracking also POINT_SECONDS per value, indexing
    INDEX_RUN_SECONDS per run). *limits* ({kind of step: seconds}, kinds as in STEPS) replaces the
    limit of the kinds it names, e.g. {"close": 3} in a test that forces Run.close to hang: the
    step under test gets a short limit, every other step keeps its generous one. A step that
    outlives its limit is killed with its process, and AimWriteError names it, e.g. "writing the
    Aim repository R: closing run 3 of 210 ('ffn-mnist-s2') (aim's Run.close) did not finish
    within 60 s — killed"; a failing step raises AimWriteError with the child's traceback; without
    aim installed, AimMissing (labbook.guards.aim.require) names the extra. Either way the
    repository is incomplete: write into a temporary folder and mark it complete after this
    returns.

    *initializer*, if given, is called with no arguments in
    the writing process before anything else (as multiprocessing.Pool's); it is pickled, so it
    must be a module-level function. The process is spawned, not forked: a fork would inherit the
    caller's open RocksDB databases without their background threads, and can hang on them."""
    limits = _limits(limits)
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    args = (send, str(root), runs, init, index, initializer)
    proc = ctx.Process(target=_aim_writer, args=args, name="aim-writer")
    where = f"writing the Aim repository {root}"
    step, limit = "starting the writing process (importing aim)", limits["start"]
    try:
        proc.start()
        send.close()
        while True:
            if not receive.poll(limit):
                _stop(proc)
                raise AimWriteError(f"{where}: {step} did not finish within {limit:g} s — killed")
            try:
                event = receive.recv()
            except EOFError:
                proc.join(limits["exit"])
                raise AimWriteError(
                    f"{where}: the writing process ended (exit code {proc.exitcode}) while {step}"
                ) from None
            if event[0] == "missing":
                raise aim_guard.AimMissing(f"{where}: {event[1]}")
            if event[0] == "error":
                raise AimWriteError(f"{where}: {step} failed:\n{event[1]}")
            if event[0] == "done":
                break
            step, limit = _step(event, runs, limits)
        proc.join(limits["exit"])
        if proc.is_alive():
            raise AimWriteError(
                f"{where}: every run was written, but the writing process did not exit within "
                f"{limits['exit']:g} s — killed"
            )
        if proc.exitcode != 0:
            raise AimWriteError(
                f"{where}: the writing process exited with code {proc.exitcode} after writing"
            )
    finally:
        _stop(proc)
        receive.close()
