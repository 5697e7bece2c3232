"""The reports a build makes and what each one's rebuild depends on, for the two engines.

One report per params file: params/<notebook>/<variant>.yaml -> reports/<notebook>/<variant>/.ok.
A report's stamp depends on its params file, its notebook and the build-options file (what make's
pattern rule `reports/%/.ok` names), and on every file its last build recorded in
reports/<notebook>/<variant>/inputs.d (the runner writes it in make syntax: make `-include`s it,
this module reads it for the Snakefile). Nothing else lists reports or dependencies, so a new
params file is a new target for both engines, and both rebuild a report for the same reasons.

A file inputs.d names that no longer exists (a data file deleted, a module renamed) makes make
rebuild the report (inputs.d gives each dependency an empty rule); Snakemake would stop with a
missing-input error instead, so `inputs` returns such files apart and the Snakefile gives the report
a marker file written at that moment (`mark_gone`), newer than the report, instead.
"""

import fnmatch
import json
import os
import re
import sys
from pathlib import Path

from labbook import paths

STAMP = ".ok"  # labbook.runner.build.STAMP (that module is not imported: it is the runner's own)
OPTIONS = paths.CACHE / "build-options"  # make's OPTIONS: rewritten only when an option changes
DEPS_FILE = "inputs.d"


def names(patterns: str | None = None) -> list[str]:
    """Every "<notebook>/<variant>" with a params file (matching one of the space-separated
    globs *patterns*), sorted."""
    found = sorted(f"{p.parent.name}/{p.stem}" for p in paths.PARAMS.glob("*/*.yaml"))
    if not patterns:
        return found
    return [n for n in found if any(fnmatch.fnmatchcase(n, g) for g in patterns.split())]


def stamp(name: str) -> str:
    """The stamp of report *name*, relative to the repository root."""
    return f"reports/{name}/{STAMP}"


def _unescape(word: str) -> str:
    """A path as make reads it from a word of inputs.d (deps.make_rule's escapes undone)."""
    return re.sub(r"\\([ #])", r"\1", word).replace("$$", "$")


def recorded(name: str) -> list[str]:
    """The dependencies the last build of *name* recorded in its inputs.d, in their order (paths
    inside the repository relative to it, others absolute); [] before its first build."""
    deps_file = paths.REPORTS / name / DEPS_FILE
    if not deps_file.is_file():
        return []
    text = deps_file.read_text()
    first = re.split(r"(?<!\\)\n", text.replace("\\\n", " "), maxsplit=1)[0]
    _, sep, rest = first.partition(": ")
    if not sep:
        raise SystemExit(f"{deps_file}: no 'target: dependencies' line (written by the runner)")
    return [_unescape(w) for w in re.split(r"(?<!\\)\s+", rest.strip()) if w]


def inputs(name: str) -> tuple[list[str], list[str]]:
    """(the files report *name* depends on that exist, those its inputs.d names that are gone):
    params file, notebook, build options, then inputs.d's, each once."""
    notebook, _, variant = name.partition("/")
    fixed = [
        paths.relative(paths.params_path(notebook, variant)),
        paths.relative(paths.notebook_path(notebook)),
        paths.relative(OPTIONS),
    ]
    present, gone = [], []
    for dep in dict.fromkeys(fixed + recorded(name)):
        (present if dep in fixed or (paths.ROOT / dep).exists() else gone).append(dep)
    return present, gone


def mark_gone(name: str) -> str:
    """Write (or touch) the marker of report *name* whose recorded dependency is gone, and return
    its path: an input newer than the report, so that Snakemake rebuilds it as make does."""
    marker = paths.CACHE / "gone" / name
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return paths.relative(marker)


def write_options(show_code: str = "") -> Path:
    """Write the build-options file as make does (`SHOW_CODE=...`), only when its content changes,
    so that it is newer than every report only after an option changed; returns its path."""
    text = f"SHOW_CODE={show_code}\n"
    OPTIONS.parent.mkdir(parents=True, exist_ok=True)
    if not OPTIONS.is_file() or OPTIONS.read_text() != text:
        OPTIONS.write_text(text)
    return OPTIONS


def settings(name: str, table: dict | None) -> dict:
    """The cluster settings (resources such as mem_mb and runtime, and the job group) of report
    *name* from *table*: its "default" entry, then each entry whose key is a glob matching the
    notebook name or the report name, later keys overriding earlier ones, an exact report name
    last. E.g. {"default": {"mem_mb": 4000}, "moe_analysis": {"mem_mb": 8000},
    "moe_analysis/cinic10": {"runtime": 120}}."""
    table = table or {}
    notebook = name.partition("/")[0]
    out = dict(table.get("default") or {})
    matching = [
        k
        for k in table
        if k != "default"
        and k != name
        and fnmatch.fnmatchcase(notebook if "/" not in k else name, k)
    ]
    for key in matching + ([name] if name in table else []):
        out.update(table[key] or {})
    return out


def restore_stamp(name: str) -> bool:
    """Put back the stamp of report *name* when its folder holds a good build (provenance status
    ok) but no stamp; True if it did. Snakemake deletes a job's declared output (the stamp) before
    the job runs, and the runner keeps the last good build when a rebuild fails only where a stamp
    says there is one. The stamp gets the build's time (that of its provenance.json), so a build
    killed before the runner ends leaves the report out of date, as it was."""
    folder = paths.REPORTS / name
    prov, stamp_file = folder / "provenance.json", folder / STAMP
    if stamp_file.exists() or not prov.is_file():
        return False
    try:
        good = json.loads(prov.read_text()).get("status") == "ok"
    except (OSError, ValueError):
        return False
    if good:
        stamp_file.write_text("")
        mtime = prov.stat().st_mtime
        os.utime(stamp_file, (mtime, mtime))
    return good


def main(argv: list[str] | None = None) -> int:
    """python -m labbook.runner.targets restore-stamp NB/VARIANT   (a Snakemake job's first step)
    python -m labbook.runner.targets list [GLOB]                  (the report names)"""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "restore-stamp":
        restore_stamp(args[1])
        return 0
    if args[:1] == ["list"] and len(args) <= 2:
        print("\n".join(names(args[1] if len(args) == 2 else None)))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
