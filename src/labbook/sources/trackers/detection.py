"""Recognising a tracker's store from what is on disk, without opening anything for writing."""

import os
import re
from pathlib import Path

EVENT_FILE = "events.out.tfevents."
MAX_ENTRIES = 200_000  # directory entries looked at before giving up on finding event files
WANDB_RUN_FOLDER = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(.+)$")  # wandb/offline-run-*, run-*
WANDB_LOG = re.compile(r"^run-(.+)\.wandb$")  # a W&B run's transaction log


def _has_event_files(folder: Path) -> bool:
    seen = 0
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in (".aim", "mlruns")]
        if any(f.startswith(EVENT_FILE) for f in filenames):
            return True
        seen += len(filenames) + len(dirnames)
        if seen > MAX_ENTRIES:
            return False
    return False


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _looks_like_mlflow(path: Path) -> bool:
    if path.is_file():
        return _is_sqlite(path) and path.suffix in (".db", ".sqlite", ".sqlite3")
    if path.name == "mlruns" and path.is_dir():
        return True
    return (path / "mlruns").is_dir() or (path / "mlflow.db").is_file()


def wandb_logs(folder: Path) -> list[Path]:
    """The W&B transaction logs (run-<id>.wandb) directly in *folder*, by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and WANDB_LOG.match(p.name))


def is_wandb_run_folder(path: Path) -> bool:
    """A folder named as wandb names a run folder, or holding a transaction log run-<id>.wandb."""
    if not path.is_dir() or path.is_symlink():
        return False
    return bool(WANDB_RUN_FOLDER.match(path.name)) or any(wandb_logs(path))


def wandb_run_folders(folder: Path) -> list[Path]:
    """The W&B run folders directly in *folder* (a wandb folder), by name (= start time),
    symbolic links (latest-run) left out."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if WANDB_RUN_FOLDER.match(p.name) and not p.is_symlink()
    )


def _looks_like_wandb(path: Path) -> bool:
    """A W&B run's log (run-<id>.wandb), a run folder, a wandb folder holding run folders, or a
    folder holding wandb/ (or .wandb/) with run folders."""
    if path.is_file():
        return bool(WANDB_LOG.match(path.name))
    if is_wandb_run_folder(path):
        return True
    return any(wandb_run_folders(base) for base in (path, path / "wandb", path / ".wandb"))


def detect(path: Path) -> list[str]:
    """The trackers *path* looks like: "tensorboard" (event files in it or below), "mlflow" (an
    SQLite store file, a folder named mlruns, or a folder holding mlruns/ or mlflow.db), "aim" (a
    folder holding .aim), "wandb" (W&B run folders: see _looks_like_wandb)."""
    path = Path(path)
    found = []
    if path.is_file():
        if path.name.startswith(EVENT_FILE):
            found.append("tensorboard")
        if _looks_like_mlflow(path):
            found.append("mlflow")
        if _looks_like_wandb(path):
            found.append("wandb")
        return found
    if _has_event_files(path):
        found.append("tensorboard")
    if _looks_like_mlflow(path):
        found.append("mlflow")
    if (path / ".aim").is_dir():
        found.append("aim")
    if _looks_like_wandb(path):
        found.append("wandb")
    return found
