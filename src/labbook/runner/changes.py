"""The change report: what a rebuild changed since the good build it replaces, and why.

    python -m labbook.runner.changes <notebook>/<variant>   # print the last change report

When a report is rebuilt successfully, the runner compares the new build (still in its temporary
folder) with the good build in the report folder and writes changes.json beside the new report:

- findings: each finding whose sentence or numbers changed (old -> new, by key), those added and
  removed; a change of verdict, winner or ranking is a verdict change, read from the findings'
  structured fields, never from their sentences;
- tables: per table, rows added and removed (matched by the key columns recorded with the table,
  see labbook.report.row_keys) and cells that changed beyond a relative RELATIVE, largest first;
- figures: each PNG whose decoded pixels changed, with the share of pixels that differ (a figure
  whose size changed says so);
- causes: inputs added, removed or changed (sha256 from provenance; runs of a tracker store by
  their digests), params keys changed, code (commit, and the sha256 of the notebook, each labbook
  module it runs and the report templates, so an edit in a dirty tree is seen), package versions
  and build options.

The files of the replaced build needed to look at the comparison (findings.json, provenance.json,
tables/*.csv, figures/*.png) are kept in PREVIOUS inside the new report folder: hard links, made
before the folder is swapped into place, so a killed build leaves either the old state or the new
one. Only the last good build is kept. A failed build writes no change report.
"""

import base64
import datetime
import hashlib
import json
import math
import os
import shutil
import sys
import threading
import time
from pathlib import Path

FILE = "changes.json"
PREVIOUS = "previous"  # inside a report folder: the files of the good build it replaced
KEPT = ("findings.json", "provenance.json", "tables/*.csv", "figures/*.png")
RELATIVE = 1e-9  # a table cell changed when |new - old| > RELATIVE * max(|old|, |new|)
LISTED = 20  # rows added or removed listed per table (the rest counted)
CELLS_LISTED = 50  # changed cells listed per table, largest changes first (the rest counted)
CAUSES_IN_LINE = 4  # causes named in the report's cause line (the rest counted)
SUMMARY_CAUSES = 2  # causes named in the build summary's line
FIGURE_THREADS = 4  # figures compared at once, at most
WATCH_INTERVAL = 0.25  # seconds between two looks at a running build's figures (FigureWatch)
WATCH_STOP = 10.0  # seconds FigureWatch.stop waits for the comparison under way
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the last chunk of a complete PNG file
OPTIONS = {"show_code": "SHOW_CODE"}  # build options recorded in provenance, by make's name


# ---------------------------------------------------------------- findings


def _structure(item: dict) -> dict:
    return {k: item.get(k) for k in ("verdict", "winner", "ranking")}


def _ranking_move(old: list | None, new: list | None) -> str:
    """'ranking reordered from place 2 (A → B)': the first place where two rankings differ."""
    if not old or not new:
        return f"ranking {' > '.join(old or ['none'])} → {' > '.join(new or ['none'])}"
    place = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    before = old[place] if place < len(old) else "none"
    after = new[place] if place < len(new) else "none"
    return f"ranking reordered from place {place + 1} ({before} → {after})"


def verdict_change(key: str, old: dict, new: dict) -> dict | None:
    """How finding *key*'s conclusion moved between two builds (each a findings.json entry):
    {"key", "fields" (which of verdict, winner, ranking changed), "old", "new", "says" (one line:
    the winner's change first, else the verdict's, else the ranking's)}; None when none moved."""
    before, after = _structure(old), _structure(new)
    fields = [f for f in ("verdict", "winner", "ranking") if before[f] != after[f]]
    if not fields:
        return None
    if "winner" in fields:
        says = f"{before['winner'] or 'no winner'} → {after['winner'] or 'no winner'}"
    elif "verdict" in fields:
        says = f"{_word(before['verdict'])} → {_word(after['verdict'])}"
    else:
        says = _ranking_move(before["ranking"], after["ranking"])
    return {"key": key, "fields": fields, "old": before, "new": after, "says": f"{key}: {says}"}


def _word(verdict: str | None) -> str:
    return "no verdict" if verdict is None else verdict.replace("_", " ")


def findings_changes(old: dict, new: dict) -> dict:
    """The findings part of changes.json from two findings.json documents ({key: {text, values,
    verdict, winner, ranking}}): verdict changes, findings changed (old and new sentence, the
    values that differ), added and removed, each list in key order."""
    verdicts, changed = [], []
    for key in sorted(set(old) & set(new)):
        moved = verdict_change(key, old[key], new[key])
        if moved:
            verdicts.append(moved)
        a, b = old[key].get("values", {}), new[key].get("values", {})
        values = {
            k: {"old": a.get(k), "new": b.get(k)}
            for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k) or (k in a) != (k in b)
        }
        if old[key]["text"] != new[key]["text"] or values or moved:
            changed.append(
                {
                    "key": key,
                    "old": old[key]["text"],
                    "new": new[key]["text"],
                    "values": values,
                    "verdict_changed": moved is not None,
                }
            )

    def listed(doc, keys):
        return [dict(key=k, text=doc[k]["text"], **_structure(doc[k])) for k in sorted(keys)]

    return {
        "verdicts": verdicts,
        "changed": changed,
        "added": listed(new, set(new) - set(old)),
        "removed": listed(old, set(old) - set(new)),
    }


# ---------------------------------------------------------------- tables


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    import csv

    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return (rows[0], rows[1:]) if rows else ([], [])


def _number(text: str) -> float | None:
    """The number a CSV cell holds (NaN for an empty cell), or None for text."""
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def cell_change(old: str, new: str) -> dict | None:
    """None when two CSV cells hold the same value (numbers within a relative RELATIVE, or both
    empty); else {"old", "new", "relative"}: numbers as floats (an empty cell as None) and
    relative = |new - old| / |old| (None for text, from zero or from/to an empty cell)."""
    if old == new:
        return None
    a, b = _number(old), _number(new)
    if a is None or b is None:
        return {"old": old, "new": new, "relative": None}
    if math.isnan(a) and math.isnan(b):
        return None
    if abs(b - a) <= RELATIVE * max(abs(a), abs(b)):
        return None
    finite = math.isfinite(a) and math.isfinite(b)
    return {
        "old": None if math.isnan(a) else a if math.isfinite(a) else old,
        "new": None if math.isnan(b) else b if math.isfinite(b) else new,
        "relative": abs(b - a) / abs(a) if finite and a != 0 else None,
    }


def _default_keys(columns: list[str], rows: list[list[str]]) -> list[str] | None:
    """The shortest run of leading columns unique per row (labbook.report.row_keys' rule, for a
    build that recorded no keys)."""
    for n in range(1, len(columns) + 1):
        if len({tuple(r[:n]) for r in rows}) == len(rows):
            return columns[:n]
    return None


def _index(columns, rows, keys) -> dict | None:
    """{key values: row} when *keys* are columns naming each row once, else None."""
    if not keys or any(k not in columns for k in keys):
        return None
    at = [columns.index(k) for k in keys]
    index = {tuple(r[i] for i in at): r for r in rows if len(r) == len(columns)}
    return index if len(index) == len(rows) else None


def table_changes(old_csv: Path, new_csv: Path, keys: list[str] | None) -> dict | None:
    """How a table moved between two builds (its CSV files): rows added and removed, matched by
    *keys* (None: the default rule; rows are matched by position when the keys do not name each
    row once in both), columns added and removed, and the cells of the rows and columns both have
    that changed (see cell_change), largest relative change first. None when nothing changed."""
    if old_csv.read_bytes() == new_csv.read_bytes():
        return None
    old_cols, old_rows = _read_csv(old_csv)
    new_cols, new_rows = _read_csv(new_csv)
    keys = keys or _default_keys(new_cols, new_rows)
    old_index, new_index = _index(old_cols, old_rows, keys), _index(new_cols, new_rows, keys)
    if old_index is None or new_index is None:
        keys = None
        old_index = {(str(i + 1),): r for i, r in enumerate(old_rows)}
        new_index = {(str(i + 1),): r for i, r in enumerate(new_rows)}
    names = keys or ["row"]

    def row(values, cols):
        return dict(zip(cols, values))

    added = [k for k in new_index if k not in old_index]
    removed = [k for k in old_index if k not in new_index]
    cells = []
    common = [c for c in new_cols if c in old_cols and c not in (keys or [])]
    for k in (k for k in new_index if k in old_index):
        for column in common:
            moved = cell_change(
                old_index[k][old_cols.index(column)], new_index[k][new_cols.index(column)]
            )
            if moved:
                cells.append({"row": dict(zip(names, k)), "column": column, **moved})
    cells.sort(key=lambda c: -math.inf if c["relative"] is None else -c["relative"])
    return {
        "keys": keys,
        "matched_by": "keys" if keys else "position",
        "rows_added": len(added),
        "rows_removed": len(removed),
        "added": [row(new_index[k], new_cols) for k in added[:LISTED]],
        "removed": [row(old_index[k], old_cols) for k in removed[:LISTED]],
        "columns_added": [c for c in new_cols if c not in old_cols],
        "columns_removed": [c for c in old_cols if c not in new_cols],
        "cells_changed": len(cells),
        "cells": cells[:CELLS_LISTED],
    }


# ---------------------------------------------------------------- figures


def png_pixels(data: bytes):
    """The decoded pixels of a PNG file's bytes: array (height, width, 4) of uint8, RGBA."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(image if image.mode == "RGBA" else image.convert("RGBA"))


def pixel_change(old: bytes, new: bytes) -> dict | None:
    """How a figure moved, from the bytes of its two PNG files: None when they are equal or
    decode to the same pixels; else {"share": fraction of pixels (0-1) that differ in any
    channel, "size": None, or {"old", "new"} as [width, height] px when the size changed (then
    share is None)}."""
    import numpy as np

    if old == new:
        return None
    a, b = png_pixels(old), png_pixels(new)
    if a.shape != b.shape:
        size = {"old": [a.shape[1], a.shape[0]], "new": [b.shape[1], b.shape[0]]}
        return {"share": None, "size": size}
    # one 32-bit word per RGBA pixel: a pixel differs when its word does
    differ = np.count_nonzero(a.view(np.uint32) != b.view(np.uint32))
    return {"share": differ / (a.shape[0] * a.shape[1]), "size": None} if differ else None


def figure_change(old_png: Path, new_png: Path, cache: dict | None = None) -> dict | None:
    """pixel_change of two PNG files. *cache*: {(sha256 old, sha256 new): result}, read and
    filled (the figures a FigureWatch compared while the notebook ran)."""
    old, new = Path(old_png).read_bytes(), Path(new_png).read_bytes()
    if cache is None:
        return pixel_change(old, new)
    key = (hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest())
    if key not in cache:
        cache[key] = pixel_change(old, new)
    return cache[key]


class FigureWatch:
    """Compares a build's figures with the good build's while its notebook still runs, so that
    little is left to compare when it ends: a thread looks at new_dir/figures every WATCH_INTERVAL
    seconds and compares each PNG written or rewritten since (figure_change). Results are kept by
    the sha256 of both files: a PNG read half-written, or rewritten later, is compared again at
    the end (figures_changes). *seconds*: the thread's CPU time spent comparing."""

    def __init__(self, old_dir: Path, new_dir: Path, interval: float = WATCH_INTERVAL):
        self.old, self.new = Path(old_dir) / "figures", Path(new_dir) / "figures"
        self.interval = interval
        self.cache: dict = {}
        self.seconds = 0.0
        self._seen: dict[str, tuple[int, int]] = {}
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="figure-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.wait(self.interval):
            self._scan()

    def _scan(self) -> None:
        t0 = time.thread_time()
        for png in sorted(self.new.glob("*.png")):
            old = self.old / png.name
            if self._halt.is_set() or not old.exists():
                continue
            try:
                stat = png.stat()
                if self._seen.get(png.name) == (stat.st_size, stat.st_mtime_ns):
                    continue
                with open(png, "rb") as f:
                    f.seek(max(0, stat.st_size - len(PNG_END)))
                    if f.read() != PNG_END:
                        continue  # still being written: looked at again next time
                self._seen[png.name] = (stat.st_size, stat.st_mtime_ns)
                figure_change(old, png, self.cache)
            except Exception:  # read half-written after all: compared again at the end
                continue
        self.seconds += time.thread_time() - t0

    def stop(self, timeout: float = WATCH_STOP) -> dict:
        """End the thread (waiting at most *timeout* seconds) and return its results ({} when
        it did not end: then everything is compared at the end)."""
        self._halt.set()
        self._thread.join(timeout)
        return {} if self._thread.is_alive() else self.cache


# ---------------------------------------------------------------- causes


def file_hashes(files) -> dict[str, str]:
    """{path relative to the repo: sha256 of its bytes} for the files that exist."""
    from labbook import paths

    return {
        paths.relative(f): hashlib.sha256(Path(f).read_bytes()).hexdigest()
        for f in files
        if Path(f).is_file()
    }


def _flat(params: dict, prefix: str = "") -> dict:
    """{"a.b": value} for nested dicts of params."""
    out = {}
    for k, v in params.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _keyed_diff(old: dict, new: dict) -> dict:
    """{"added", "removed", "changed"}: sorted keys of two {name: digest} dicts."""
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k]),
    }


def input_changes(old: list[dict], new: list[dict]) -> dict:
    """Inputs added, removed and changed between two provenance "inputs" lists (by path; changed:
    another sha256, with the runs added, removed and changed where both record per-run digests)."""
    a, b = {i["path"]: i for i in old}, {i["path"]: i for i in new}
    changed = []
    for path in sorted(set(a) & set(b)):
        if a[path]["sha256"] == b[path]["sha256"]:
            continue
        entry = {"path": path, "old": a[path]["sha256"], "new": b[path]["sha256"]}
        if "runs" in a[path] and "runs" in b[path]:
            entry["runs"] = _keyed_diff(a[path]["runs"], b[path]["runs"])
        changed.append(entry)
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": changed,
    }


def causes(old: dict, new: dict) -> dict:
    """What differs between two provenance records that can change a report: inputs, params
    (flattened keys; "set" says whether the params file sets the key), code (commit, dirty flag,
    the files hashed in "code"), package versions and build options."""
    p, q = _flat(old.get("params", {})), _flat(new.get("params", {}))
    params = [
        {"key": k, "old": p.get(k), "new": q.get(k), "set": {"old": k in p, "new": k in q}}
        for k in sorted(set(p) | set(q))
        if p.get(k) != q.get(k) or (k in p) != (k in q)
    ]
    git_a, git_b = old.get("git") or {}, new.get("git") or {}
    recorded = "code" in old and "code" in new
    code = {
        "commit": {"old": git_a.get("commit"), "new": git_b.get("commit")},
        "dirty": {"old": git_a.get("dirty"), "new": git_b.get("dirty")},
        "hashed": recorded,
        **(_keyed_diff(old["code"], new["code"]) if recorded else {}),
    }
    packages = [
        {"name": k, "old": old.get("packages", {}).get(k), "new": new.get("packages", {}).get(k)}
        for k in sorted(set(old.get("packages", {})) | set(new.get("packages", {})))
        if old.get("packages", {}).get(k) != new.get("packages", {}).get(k)
    ]
    options = [
        {"name": name, "old": old.get(k), "new": new.get(k)}
        for k, name in OPTIONS.items()
        if bool(old.get(k)) != bool(new.get(k))
    ]
    return {
        "inputs": input_changes(old.get("inputs", []), new.get("inputs", [])),
        "params": params,
        "code": code,
        "packages": packages,
        "options": options,
    }


def _short(value) -> str:
    """A value as a reader would write it: numbers to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _runs_said(runs: dict) -> str:
    parts = [f"{len(runs[k])} run(s) {k}" for k in ("added", "removed", "changed") if runs[k]]
    names = (runs["added"] + runs["removed"] + runs["changed"])[:3]
    more = len(runs["added"] + runs["removed"] + runs["changed"]) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return f" ({', '.join(parts)}: {listed})" if parts else " (no run changed)"


def cause_parts(c: dict) -> list[str]:
    """The causes as short phrases, in order: inputs, params, code, packages, build options."""
    out = []
    for entry in c["inputs"]["changed"]:
        out.append(
            f"{entry['path']} changed" + (_runs_said(entry["runs"]) if "runs" in entry else "")
        )
    out += [f"{p} added" for p in c["inputs"]["added"]]
    out += [f"{p} no longer read" for p in c["inputs"]["removed"]]
    for p in c["params"]:
        old = _short(p["old"]) if p["set"]["old"] else "(notebook default)"
        new = _short(p["new"]) if p["set"]["new"] else "(notebook default)"
        out.append(f"params: {p['key']} {old} → {new}")
    code = c["code"]
    if code["hashed"]:
        out += [f"{f} edited" for f in code["changed"]]
        out += [f"{f} now run" for f in code["added"]]
        out += [f"{f} no longer run" for f in code["removed"]]
    elif code["commit"]["old"] != code["commit"]["new"] or code["dirty"]["new"]:
        old, new = (str(code["commit"][k] or "none")[:10] for k in ("old", "new"))
        dirty = " with uncommitted changes" if code["dirty"]["new"] else ""
        out.append(f"code at commit {old} → {new}{dirty} (files not hashed by the earlier build)")
    out += [f"{p['name']} {p['old'] or 'absent'} → {p['new'] or 'absent'}" for p in c["packages"]]
    out += [
        f"{o['name']} {'on' if o['old'] else 'off'} → {'on' if o['new'] else 'off'}"
        for o in c["options"]
    ]
    return out


def cause_line(c: dict, listed: int = CAUSES_IN_LINE) -> str:
    """The causes in one line: the first *listed* phrases, the rest counted."""
    parts = cause_parts(c)
    if not parts and not c["code"]["hashed"]:
        return (
            "nothing recorded changed; the earlier build did not record the sha256 of its code "
            "files, so an edit to them cannot be told"
        )
    if not parts:
        return (
            "nothing recorded changed (inputs, params, code, packages and build options are as "
            "before)"
        )
    more = len(parts) - listed
    return "; ".join(parts[:listed]) + (f"; and {more} more" if more > 0 else "")


# ---------------------------------------------------------------- one comparison


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _by_stem(folder: Path, pattern: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob(pattern))}


def tables_changes(old_dir: Path, new_dir: Path, keys: dict) -> dict:
    """Tables changed (see table_changes; *keys*: {table: key columns}), added and removed."""
    old, new = _by_stem(old_dir / "tables", "*.csv"), _by_stem(new_dir / "tables", "*.csv")
    changed = []
    for name in sorted(set(old) & set(new)):
        moved = table_changes(old[name], new[name], keys.get(name))
        if moved:
            changed.append({"name": name, **moved})
    return {
        "changed": changed,
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
    }


def figures_changes(old_dir: Path, new_dir: Path, cache: dict | None = None) -> dict:
    """Figures changed (see figure_change; *cache* as there), added and removed, by name. Those
    not in *cache* are compared in up to FIGURE_THREADS threads (PNG decoding and numpy release
    the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    old, new = _by_stem(old_dir / "figures", "*.png"), _by_stem(new_dir / "figures", "*.png")
    names = sorted(set(old) & set(new))
    workers = max(1, min(len(names), os.cpu_count() or 1, FIGURE_THREADS))
    with ThreadPoolExecutor(workers) as pool:
        moved = pool.map(lambda name: figure_change(old[name], new[name], cache), names)
    changed = [{"name": name, **m} for name, m in zip(names, moved) if m]
    return {
        "changed": changed,
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
    }


def _table_keys(old_prov: dict, new_prov: dict) -> dict:
    keys = {name: meta.get("keys") for name, meta in old_prov.get("tables", {}).items()}
    keys.update({name: meta.get("keys") for name, meta in new_prov.get("tables", {}).items()})
    return keys


def compare(
    old_dir: Path, new_dir: Path, old_prov: dict, new_prov: dict, figures: dict | None = None
) -> dict:
    """The change report of the build in *new_dir* (provenance *new_prov*) against the good build
    in *old_dir* (*old_prov*): findings, tables, figures (*figures*: the results of a FigureWatch),
    causes, a headline and the cause line."""
    t0 = time.perf_counter()
    out = {
        "report": new_prov.get("report"),
        "first_build": False,
        "built_at": new_prov.get("built_at"),
        "previous_built_at": old_prov.get("built_at"),
        "previous": PREVIOUS,
        "findings": findings_changes(
            _load(old_dir / "findings.json"), _load(new_dir / "findings.json")
        ),
        "tables": tables_changes(old_dir, new_dir, _table_keys(old_prov, new_prov)),
        "figures": figures_changes(old_dir, new_dir, dict(figures or {})),
        "causes": causes(old_prov, new_prov),
    }
    out["outputs_changed"] = any(
        out[part][kind]
        for part, kinds in (
            ("findings", ("changed", "added", "removed")),
            ("tables", ("changed", "added", "removed")),
            ("figures", ("changed", "added", "removed")),
        )
        for kind in kinds
    )
    out["verdicts_changed"] = len(out["findings"]["verdicts"])
    out["headline"] = headline(out)
    out["cause"] = cause_line(out["causes"])
    out["seconds"] = round(time.perf_counter() - t0, 4)
    return out


def first_build(prov: dict) -> dict:
    """The change report of a report's first good build."""
    return {
        "report": prov.get("report"),
        "first_build": True,
        "built_at": prov.get("built_at"),
        "previous_built_at": None,
        "outputs_changed": None,
        "verdicts_changed": 0,
        "headline": "first build",
        "cause": "no earlier good build to compare with",
    }


def keep_previous(final: Path, tmp: Path) -> None:
    """Hard-link the files of the good build in *final* named by KEPT into tmp/PREVIOUS (copied
    where a link cannot be made); the good build's own PREVIOUS is not kept (one build back)."""
    for pattern in KEPT:
        for f in sorted(final.glob(pattern)):
            target = tmp / PREVIOUS / f.relative_to(final)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f, target)
            except OSError:
                shutil.copy2(f, target)


def write(folder: Path, changes: dict) -> None:
    (folder / FILE).write_text(
        json.dumps(changes, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    )


def record(
    final: Path, tmp: Path, prov: dict, old_prov: dict | None, watch: "FigureWatch | None" = None
) -> dict:
    """Compare the new build in *tmp* (provenance *prov*) with the good build in *final*
    (*old_prov*; None: there is none), keep the good build's files in tmp/PREVIOUS and write
    tmp/changes.json; returns the change report. *watch*: the FigureWatch that compared figures
    while the notebook ran (its CPU time is recorded as "seconds_while_running"). A comparison
    that fails (an unreadable file of the earlier build) is a change report saying so, with the
    error: the build goes on."""
    t0 = time.perf_counter()
    early = watch.stop() if watch else None
    if old_prov is None:
        changes = first_build(prov)
    else:
        try:
            changes = compare(final, tmp, old_prov, prov, early)
            keep_previous(final, tmp)
            changes["seconds"] = round(time.perf_counter() - t0, 4)  # with previous/ kept
            changes["seconds_while_running"] = round(watch.seconds, 4) if watch else 0.0
        except Exception as exc:  # said in the report and changes.json, never hidden
            shutil.rmtree(tmp / PREVIOUS, ignore_errors=True)
            changes = dict(
                first_build(prov),
                first_build=False,
                previous_built_at=old_prov.get("built_at"),
                headline="the comparison with the previous build failed",
                cause="unknown",
                error=f"{type(exc).__name__}: {exc}",
            )
    write(tmp, changes)
    return changes


def discard(tmp: Path) -> None:
    """Remove a change report from a build that failed after it was written."""
    (tmp / FILE).unlink(missing_ok=True)
    shutil.rmtree(tmp / PREVIOUS, ignore_errors=True)


# ---------------------------------------------------------------- saying it


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _count(part: dict) -> int:
    return sum(len(part[k]) for k in ("changed", "added", "removed"))


def headline(changes: dict) -> str:
    """What changed, in a few words: '1 verdict changed (best: A → B), 2 findings, 1 table,
    2 figures', 'no output changed', 'first build'."""
    if changes.get("error"):
        return "the comparison with the previous build failed"
    if changes["first_build"]:
        return "first build"
    verdicts = changes["findings"]["verdicts"]
    parts = []
    if verdicts:
        said = verdicts[0]["says"] + ("; …" if len(verdicts) > 1 else "")
        parts.append(f"{_plural(len(verdicts), 'verdict')} changed ({said})")
    for part, word in (("findings", "finding"), ("tables", "table"), ("figures", "figure")):
        if _count(changes[part]):
            parts.append(_plural(_count(changes[part]), word))
    return ", ".join(parts) if parts else "no output changed"


def counts(changes: dict) -> str:
    """What changed, counted: '2 verdicts, 3 findings, 1 table and 2 figures'."""
    parts = [
        _plural(n, word)
        for n, word in (
            (len(changes["findings"]["verdicts"]), "verdict"),
            (_count(changes["findings"]), "finding"),
            (_count(changes["tables"]), "table"),
            (_count(changes["figures"]), "figure"),
        )
        if n
    ]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def summary(changes: dict) -> str:
    """One line for the build summary: the headline and its cause."""
    if changes.get("error"):
        return f"{changes['headline']}: {changes['error']}"
    if changes["first_build"]:
        return "first build"
    cause = cause_line(changes["causes"], SUMMARY_CAUSES) if "causes" in changes else "unknown"
    return f"{changes['headline']}; cause: {cause}"


def when(iso: str | None) -> str:
    """'2026-11-29 21:03 UTC' for an ISO time stamp (as given when it is not one)."""
    try:
        t = datetime.datetime.fromisoformat(iso).astimezone(datetime.UTC)
    except (TypeError, ValueError):
        return str(iso)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _cell_said(cell: dict) -> str:
    where = ", ".join(str(v) for v in cell["row"].values())
    line = f"{where} · {cell['column']}: {_short(cell['old'])} → {_short(cell['new'])}"
    if cell["relative"] is not None:
        line += f" ({(cell['new'] - cell['old']) / abs(cell['old']):+.2%})"
    return line


def table_lines(t: dict, cells: int = 5) -> list[str]:
    """A changed table in lines: what changed, then its largest changed cells."""
    parts = [
        f"{_plural(t[k], label)} {verb}"
        for k, label, verb in (
            ("rows_added", "row", "added"),
            ("rows_removed", "row", "removed"),
            ("cells_changed", "cell", "changed"),
        )
        if t[k]
    ]
    parts += [f"column {c} added" for c in t["columns_added"]]
    parts += [f"column {c} removed" for c in t["columns_removed"]]
    by = f"rows matched by {', '.join(t['keys'])}" if t["keys"] else "rows matched by position"
    lines = [f"{t['name']}: {', '.join(parts) or 'the file changed'} ({by})"]
    lines += [f"  {_cell_said(c)}" for c in t["cells"][:cells]]
    if t["cells_changed"] > cells:
        lines.append(f"  and {t['cells_changed'] - cells} more cell(s) (changes.json)")
    lines += [
        f"  added: {', '.join(_short(v) for v in row.values())}" for row in t["added"][:cells]
    ]
    lines += [
        f"  removed: {', '.join(_short(v) for v in row.values())}" for row in t["removed"][:cells]
    ]
    return lines


def figure_said(f: dict) -> str:
    if f["size"]:
        (w0, h0), (w1, h1) = f["size"]["old"], f["size"]["new"]
        return f"{f['name']}: size changed from {w0}×{h0} to {w1}×{h1} px"
    return f"{f['name']}: {f['share']:.2%} of pixels differ"


def detail_causes(c: dict) -> list[str]:
    """Every cause, one per line, and the commit the code was at."""
    lines = cause_parts(c)
    commit = c["code"]["commit"]
    if commit["old"] != commit["new"]:
        lines.append(
            f"commit {str(commit['old'] or 'none')[:12]} → {str(commit['new'] or 'none')[:12]}"
        )
    if c["code"]["dirty"]["new"]:
        lines.append("built from a tree with uncommitted changes (each file's sha256 is compared)")
    return lines


def view(changes: dict) -> dict:
    """What the report's change box shows (the HTML template and the PDF read this): "kind"
    (first, error, same, changed), a title, the verdict changes, the cause line, and folded
    details: findings (key, before, after), tables, figures and causes as lines."""
    since = when(changes.get("previous_built_at"))
    if changes.get("error"):
        return {
            "kind": "error",
            "title": f"Changes since the build of {since}",
            "headline": f"The comparison with the previous build failed: {changes['error']}",
            "verdicts": [],
            "cause": "",
        }
    if changes["first_build"]:
        return {
            "kind": "first",
            "title": "First build of this report",
            "headline": "There is no earlier good build to compare it with.",
            "verdicts": [],
            "cause": "",
        }
    f, t, g = changes["findings"], changes["tables"], changes["figures"]
    findings = [{"key": x["key"], "before": x["old"], "after": x["new"]} for x in f["changed"]]
    findings += [{"key": x["key"], "before": "(absent)", "after": x["text"]} for x in f["added"]]
    findings += [{"key": x["key"], "before": x["text"], "after": "(removed)"} for x in f["removed"]]
    tables = [line for x in t["changed"] for line in table_lines(x)]
    tables += [f"{name}: new table" for name in t["added"]] + [
        f"{name}: no longer written" for name in t["removed"]
    ]
    figures = [figure_said(x) for x in g["changed"]]
    figures += [f"{name}: new figure" for name in g["added"]] + [
        f"{name}: no longer drawn" for name in g["removed"]
    ]
    return {
        "kind": "changed" if changes["outputs_changed"] else "same",
        "title": f"Changes since the build of {since}",
        "headline": changes["headline"],
        "counts": counts(changes),
        "verdicts": [v["says"] for v in f["verdicts"]],
        "cause": changes["cause"],
        "findings": findings,
        "tables": tables,
        "figures": figures,
        "causes": detail_causes(changes["causes"]),
    }


def previous_figures(changes: dict, folder: Path) -> dict:
    """{figure: {"png": base64 of PREVIOUS/figures/<figure>.png, "note": what differs, "since"}}
    for each changed figure the earlier build kept in *folder*."""
    out = {}
    for f in (changes.get("figures") or {}).get("changed", []):
        png = folder / PREVIOUS / "figures" / f"{f['name']}.png"
        if png.exists():
            out[f["name"]] = {
                "png": base64.b64encode(png.read_bytes()).decode("ascii"),
                "note": figure_said(f).split(": ", 1)[1],
                "since": when(changes.get("previous_built_at")),
            }
    return out


def text(changes: dict) -> str:
    """The change report for a terminal (`make changes`)."""
    v = view(changes)
    head = f"{changes.get('report')}: built {when(changes.get('built_at'))}"
    lines = [head, f"{v['title']}: {v['headline']}"]
    if v["kind"] in ("first", "error"):
        return "\n".join(lines) + "\n"
    lines.append(f"cause: {v['cause']}")
    if v["verdicts"]:
        lines += ["", "Verdicts changed", *(f"  {i}" for i in v["verdicts"])]
    if v["findings"]:
        lines += ["", "Findings"]
        for x in v["findings"]:
            lines += [f"  {x['key']}", f"    before: {x['before']}", f"    after:  {x['after']}"]
    for title, items in (("Tables", v["tables"]), ("Figures", v["figures"])):
        if items:
            lines += ["", title, *(f"  {i}" for i in items)]
    lines += ["", "Causes", *(f"  {i}" for i in v["causes"] or ["none recorded"])]
    lines.append(f"\nThe earlier build's files are in reports/{changes.get('report')}/{PREVIOUS}/.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from labbook import paths

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].count("/") != 1:
        print("usage: python -m labbook.runner.changes <notebook>/<variant>", file=sys.stderr)
        return 2
    folder = paths.REPORTS / args[0]
    source = folder / FILE
    if not source.exists():
        print(
            f"no change report for {args[0]}: reports/{args[0]}/{FILE} does not exist "
            f"(build it with `make report R={args[0]}`)",
            file=sys.stderr,
        )
        return 2
    if (folder / "last-failure").exists():
        print(
            f"The last build of {args[0]} FAILED; this is the change report of its last good "
            "build.\n"
        )
    print(text(json.loads(source.read_text())), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
