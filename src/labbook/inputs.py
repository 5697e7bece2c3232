"""Every input file a report reads, with its sha256: the loaders read through here.

The record is per process (one notebook kernel = one report). Report.finish() writes it to
inputs.json; the runner turns it into provenance and the make dependency list (inputs.d).
"""

import hashlib
import json
from collections import Counter
from pathlib import Path

_READ: dict[str, dict] = {}


class InputError(ValueError):
    """Bad input data: the message names the file and the field."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def not_found(path: Path, what: str = "file") -> InputError:
    """The error for a missing input: it names the path, and for the project's generated example
    data says how to make it."""
    from labbook import paths

    hint = ""
    if paths.is_example_input(path) and "generated" in Path(path).parts:
        hint = " — the example data is generated, not stored in git: run `make examples` first"
    return InputError(f"{path}: {what} not found{hint}")


def read_bytes(path: Path) -> bytes:
    """The bytes of *path* (never modified), recorded with their sha256."""
    path = Path(path).resolve()
    if not path.is_file():
        raise not_found(path)
    data = path.read_bytes()
    _READ[str(path)] = {"path": str(path), "sha256": sha256_bytes(data), "bytes": len(data)}
    return data


def read_json(path: Path):
    """Parsed JSON of *path*; malformed JSON is an InputError naming the file, line and column."""
    data = read_bytes(path)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{Path(path).resolve()}: malformed JSON ({exc})") from None


def record_directory(path: Path, digest: str, simulated: bool = False) -> None:
    """Record a directory input (e.g. a database folder) under a caller-computed content digest;
    *simulated*: its runs say they hold simulated numbers (the report then shows the example-data
    banner wherever the store lies)."""
    path = Path(path).resolve()
    _READ[str(path)] = {"path": str(path), "sha256": digest, "bytes": None}
    if simulated:
        _READ[str(path)]["simulated"] = True


def mark_simulated(digest: str) -> None:
    """Mark the recorded input(s) with content digest *digest* as simulated example data."""
    for entry in _READ.values():
        if entry["sha256"] == digest:
            entry["simulated"] = True


def mark_trained(digest: str, description: str) -> None:
    """Mark the recorded input(s) with content digest *digest* as real training runs, described
    by *description* (labbook.sources.trackers.trained): the report shows that line instead of the
    example-data banner, even where the store lies in the project's examples/ folder."""
    for entry in _READ.values():
        if entry["sha256"] == digest:
            entry["trained"] = description


def record_runs(
    digest: str, run_digests: dict[str, str], names: dict[str, str] | None = None
) -> None:
    """Give the recorded input(s) with content digest *digest* a "runs" field, {run: digest of
    that run} (the change report names the runs added, removed or changed). A run is named by
    *names* ({run id: name}) where its name is unique in the store, else "name (id)"."""
    names = names or {}
    counts = Counter(names.get(run, run) for run in run_digests)
    runs = {}
    for run, run_digest in run_digests.items():
        name = names.get(run, run)
        runs[name if counts[name] == 1 else f"{name} ({run})"] = run_digest
    for entry in _READ.values():
        if entry["sha256"] == digest:
            entry["runs"] = dict(sorted(runs.items()))


def recorded() -> list[dict]:
    """What was read so far, sorted by path."""
    return [_READ[k] for k in sorted(_READ)]


def clear() -> None:
    _READ.clear()
