"""Proving a reader leaves a store alone, as root (where chmod proves nothing).

    with read_only(store) as seen:
        reader(store)
    assert seen.writes == []            # no file under the store opened for writing, no rename...
    assert snapshot(store) == before    # and every file byte-identical, none added or removed

An audit hook (sys.addaudithook, installed once per process and active only inside the block)
records every file open, SQLite connection and file-system change aimed at a path under the store.
"""

import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path

_WATCHED: list["Seen"] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGES = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.rename",
    "os.replace",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.rmtree",
    "shutil.move",
    "shutil.copyfile",
}


class Seen:
    def __init__(self, root: Path):
        self.root = str(Path(root).resolve())
        self.writes: list[str] = []
        self.connections: list[str] = []

    def under(self, path) -> bool:
        if isinstance(path, int) or path is None:
            return False
        try:
            p = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return p == self.root or p.startswith(self.root + os.sep)


def _hook(event: str, args: tuple) -> None:
    if not _WATCHED:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        for seen in _WATCHED:
            if writing and seen.under(path):
                seen.writes.append(f"open {path} mode={mode} flags={flags}")
    elif event == "sqlite3.connect":
        database = args[0] if args else None
        for seen in _WATCHED:
            name = os.fsdecode(database) if database is not None else ""
            target = name.split("?", 1)[0].removeprefix("file:")
            if seen.under(target):
                seen.connections.append(name)
                if "mode=ro" not in name:
                    seen.writes.append(f"sqlite3.connect {name} (not mode=ro)")
    elif event in _CHANGES:
        for seen in _WATCHED:
            if any(seen.under(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))):
                seen.writes.append(f"{event} {args[:2]}")


_installed = False


@contextmanager
def read_only(store: Path):
    """Record what the code in the block does to files under *store* (see Seen)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    seen = Seen(store)
    _WATCHED.append(seen)
    try:
        yield seen
    finally:
        _WATCHED.remove(seen)


def snapshot(store: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under *store* (folders listed too, as "dir")."""
    root = Path(store)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out
