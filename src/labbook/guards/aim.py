"""The private parts of aim (3.29) labbook relies on, and only those: this module is the one place
that touches them. tests/test_guards_aim.py exercises each behaviour relied on; when aim changes
under a hook, the hook raises AimChanged saying what moved.

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
   run-metadata SQLite, which aim documents nowhere.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TESTED = "3.29.1"  # the aim version these hooks were written against and tested with
_REPORTERS = ("RunStatusReporter", "ScheduledStatusReporter")  # globals of aim.sdk.run
_PATCHING = threading.Lock()  # one run built at a time while the module globals are replaced


class AimChanged(RuntimeError):
    """aim no longer behaves as a labbook hook into its internals expects."""


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


def open_run(repo: str, experiment: str | None = None):
    """A new aim.Run in the local repository at *repo* (the folder holding .aim), writable, with
    no status reporter, heartbeat, system-metrics or terminal-log thread, so closing it waits on
    no thread. Call run.close() when done (or use `writing_run`). The run's log_info/log_warning/
    log_error methods report to the status reporter and are not available on it. A folder without
    .aim is an error (aim.Run would create a repository there without a word)."""
    import aim.sdk.run as aim_run
    from aim import Run

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
            run = Run(
                repo=str(repo),
                experiment=experiment,
                system_tracking_interval=None,
                log_system_params=False,
                capture_terminal_logs=False,
            )
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
