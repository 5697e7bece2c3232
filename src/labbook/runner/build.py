"""The runner behind `make figures`: one report per params/<notebook>/<variant>.yaml.

    python -m labbook.runner.build run <notebook>/<variant> [--show-code] [--timeout SECONDS]
    python -m labbook.runner.build index                # reports/index.html, the gallery
    python -m labbook.runner.build pool SOCKET          # the build's fork server (make figures)
    python -m labbook.runner.build summary [--since T] [NAME ...]  # a line each; 1 if any failed
    python -m labbook.runner.build list [GLOB]          # the report names, one per line

`run` validates the params file against the notebook's parameters cell, executes the notebook with
papermill on the project kernel (fixed cwd, per-cell timeout, SOURCE_DATE_EPOCH), normalizes the
executed notebook, renders report.html and report.pdf, and swaps the finished folder into
reports/<notebook>/<variant>/ with renames. A failed build never replaces a good report: the
failure goes to reports/<notebook>/<variant>/last-failure/ beside it (a report that never succeeded
shows its error page in place). The make stamp `.ok` is only written for a report that succeeded,
so a failed report is rebuilt next time. Folders a killed build left behind (.<variant>.tmp.<pid>,
.<variant>.old.<pid>) are repaired or removed by the next build of that report. A good build is
compared with the good build it replaces (labbook.runner.changes): changes.json, the change box
the report opens with, and previous/ (the replaced build's files) are written into the temporary
folder and swapped in with it; the summary adds what changed and why to each rebuilt report.
This module imports nothing heavy at start-up so that a no-op `make figures` stays fast.
"""

import argparse
import dataclasses
import datetime
import fnmatch
import json
import os
import shutil
import sys
import time
from pathlib import Path

from labbook import contract, paths

STAMP = ".ok"
FAILURE = "last-failure"  # beside a good report: the failed build that did not replace it
DEFAULT_TIMEOUT = 900  # seconds per cell
KERNEL_START_TIMEOUT = 60  # seconds a report's kernel may take to start and answer
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01: a fixed date for every file format's timestamps
EXAMPLE_BANNER = "Example data (simulated) — not experimental results"
ENTRY = "labbook.runner.build:run_here"  # what the fork server's runner children call
# What the fork server imports once for every report of a build: the heavy libraries, the runner,
# and the analysis core the notebooks import.
PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "pyarrow",
    "pydantic",
    "jinja2",
    "mistune",
    "nbformat",
    "papermill",
    "nbconvert",
    "typst",
    "jupyter_client.manager",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",  # the kernel class and its debugger support (debugpy): 0.05 s a kernel
    "labbook.runner.build",
    "labbook.runner.params",
    "labbook.runner.render",
    "labbook.runner.provenance",
    "labbook.runner.guards.jupyter_client",
    "labbook.runner.guards.papermill",
    "labbook.stats",
    "labbook.statplots",
    "labbook.report",
    "labbook.findings",
    "labbook.analyses.chain_of_experts",
    "labbook.analyses.credit_assignment",
    "labbook.analyses.moe",
    "labbook.analyses.nonlinearity_reduction",
    "labbook.analyses.sparse_training",
    "labbook.sources.chain_of_experts",
    "labbook.sources.credit_assignment",
    "labbook.sources.nonlinearity_reduction",
    "labbook.sources.sparse_training",
)


def report_names(pattern: str | None = None) -> list[str]:
    """Every "<notebook>/<variant>" that has a params file (matching the glob *pattern*), sorted."""
    names = sorted(f"{p.parent.name}/{p.stem}" for p in paths.PARAMS.glob("*/*.yaml"))
    return [
        n
        for n in names
        if pattern is None or any(fnmatch.fnmatchcase(n, g) for g in pattern.split())
    ]


def _split(name: str) -> tuple[str, str]:
    notebook, _, variant = name.partition("/")
    if not notebook or not variant or "/" in variant:
        raise SystemExit(f"report name must be <notebook>/<variant>, not {name!r}")
    return notebook, variant


# ---------------------------------------------------------------- the executed notebook


def _normalize(nb) -> None:
    """Drop timings and run-specific metadata; give cells stable ids (in place)."""
    nb.metadata.pop("papermill", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


@dataclasses.dataclass(frozen=True)
class Failure:
    """Why a report failed. *kind*: "params" (the params file), "raised" (a cell raised),
    "timeout" (a cell ran past the per-cell timeout), "dead_kernel" (the kernel died),
    "kernel_start" (the kernel did not start), "error" (anything else while executing), "pdf"
    (typesetting report.pdf); *message*: the error text."""

    kind: str
    message: str


@dataclasses.dataclass(frozen=True)
class FailingCell:
    """The code cell where execution stopped: its index in the notebook, the title of the section
    it is in (None before any heading), and its error ("Error: message"), or None for a cell that
    started and never finished."""

    index: int
    section: str | None
    error: str | None

    @property
    def where(self) -> str:
        """'cell N (section)', or 'cell N' outside any section."""
        return f"cell {self.index}" + (f" ({self.section})" if self.section else "")

    def line(self) -> str:
        """'cell N (section): Error: message', or 'cell N (section): stopped while it ran'."""
        return f"{self.where}: {self.error or 'stopped while it ran'}"


def _failing_cell(nb, stopped: bool = False) -> FailingCell | None:
    """The first code cell with an error output; else, when execution *stopped* in a cell (a
    timeout, a dead kernel), the last cell papermill started (it marks each cell it starts, and
    starts none after the one that stopped); None when no cell failed."""
    section = None
    started = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            section = cell.source.lstrip().splitlines()[0].lstrip("# ").strip()
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":  # the whole message, every line of it
                evalue = str(out.get("evalue", "")).strip()
                return FailingCell(i, section, f"{out.get('ename', 'Error')}: {evalue}")
        if cell.source.strip() and cell.metadata.get("papermill", {}).get("start_time"):
            started = FailingCell(i, section, None)
    return started if stopped else None


def _figures(nb) -> list[str]:
    """The names of the figures the executed notebook shows, in order."""
    return [
        out["metadata"][contract.META_KEY]["figure"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "figure" in out.get("metadata", {}).get(contract.META_KEY, {})
    ]


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _error_notebook(title: str, message: str):
    import nbformat

    from labbook import markup

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {markup.markdown_text(title)}\n\n**The report could not be built.**"
            f"\n\n{markup.markdown_block(message)}"
        )
    ]
    return nb


# ---------------------------------------------------------------- one report


def _code_files(nb_path: Path) -> list[Path]:
    """The notebook, the labbook modules its code runs and the report templates (see
    labbook.runner.deps): the code a report depends on."""
    from labbook.runner import deps

    return [nb_path, *deps.code_modules(deps.notebook_code(nb_path)), *deps.templates()]


def _make_deps(notebook: str, variant: str, inputs: list[dict], code: list[Path]) -> str:
    """inputs.d: the stamp depends on notebook, params, the code and templates it runs (*code*, as
    _code_files gives it), and every data file read (the order of deps.report_dependencies)."""
    from labbook.runner import deps

    data = [Path(i["path"]) for i in inputs if Path(i["path"]).exists()]
    nb_path, params_path = paths.notebook_path(notebook), paths.params_path(notebook, variant)
    files = [nb_path, params_path, *code[1:], *data]
    return deps.make_rule(paths.report_dir(notebook, variant) / STAMP, files)


def _good_build(final: Path) -> dict | None:
    """The provenance of the good build in *final* (its stamp written, status ok), or None."""
    prov = final / "provenance.json"
    if not (final / STAMP).exists() or not prov.exists():
        return None
    good = json.loads(prov.read_text())
    return good if good.get("status") == "ok" else None


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace *final* by *tmp* with renames, so no half-written folder ever sits at *final*."""
    old = final.parent / f".{final.name}.old.{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _alive(pid: int) -> bool:
    """True while process *pid* runs (a zombie, killed but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def recover(final: Path) -> None:
    """Repair what a killed build of *final* left: a report moved aside but not replaced is moved
    back; temporary and old folders of builds that are no longer running are removed."""
    for leftover in sorted(final.parent.glob(f".{final.name}.*.*")):
        kind, _, pid = leftover.name[len(final.name) + 2 :].partition(".")
        if (
            kind not in ("tmp", "old")
            or not pid.isdigit()
            or _alive(int(pid))
            and int(pid) != os.getpid()
        ):
            continue
        if kind == "old" and not final.exists():
            leftover.rename(final)  # killed between the two renames: the previous report comes back
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _execute(
    nb_path: Path, executed: Path, params: dict, output_dir: Path, timeout: int
) -> Failure | None:
    """Run the notebook with papermill in this process (no second interpreter to start) on a fresh
    project kernel (fixed cwd, per-cell timeout, SOURCE_DATE_EPOCH and PYTHONHASHSEED for the
    kernel); writes *executed* even on failure. Returns None, or the Failure, its kind told by the
    exception's type."""
    import logging

    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from labbook.runner import kernelpool
    from labbook.runner.guards import jupyter_client as jc_guard
    from labbook.runner.guards import papermill as pm_guard

    os.environ.setdefault(
        "SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH
    )  # the kernel inherits this environment
    os.environ.update(PYTHONHASHSEED="0", MPLCONFIGDIR=str(paths.CACHE / "matplotlib"))
    logging.getLogger("papermill").setLevel(logging.ERROR)
    log = output_dir / ".kernel-stderr"
    saved = os.dup(2)  # the kernel inherits fd 2: its chatter goes to a file, shown only on failure
    try:
        with open(log, "wb") as f:
            os.dup2(f.fileno(), 2)
            try:
                papermill.execute_notebook(
                    str(nb_path),
                    str(executed),
                    parameters={**params, "output_dir": str(output_dir)},
                    engine_name=pm_guard.engine_name(),
                    request_save_on_cell_execute=False,
                    partial_path=str(executed),
                    kernel_name=paths.KERNEL_NAME,
                    cwd=str(paths.ROOT),
                    execution_timeout=timeout,
                    start_timeout=KERNEL_START_TIMEOUT,
                    progress_bar=False,
                    kernel_manager_class=kernelpool.kernel_manager_class(),
                )
            finally:
                os.dup2(saved, 2)
    except papermill.PapermillExecutionError as exc:
        return Failure("raised", f"papermill: the notebook raised {exc.ename}: {exc.evalue}")
    # anything else (a dead kernel, a timeout) fails this report, not the build
    except Exception as exc:
        kinds = (
            (CellTimeoutError, "timeout"),
            (DeadKernelError, "dead_kernel"),
            (jc_guard.KernelStartError, "kernel_start"),
        )
        kind = next((k for t, k in kinds if isinstance(exc, t)), "error")
        return Failure(
            kind,
            f"papermill: {type(exc).__name__}: "
            f"{str(exc)[-2000:]}\n{log.read_text(errors='replace')[-2000:]}",
        )
    finally:
        os.close(saved)
        log.unlink(missing_ok=True)
    return None


# Execution stopped in a cell: what stopped it (with the timeout in seconds), and what the reader
# can do.
STOPPED = {
    "timeout": (
        "timed out after {timeout} s (the per-cell timeout)",
        "it was interrupted; the cells before it ran. "
        "Give slow cells more time with `make figures TIMEOUT=<seconds>`.",
    ),
    "dead_kernel": (
        "the kernel died while it ran (DeadKernelError)",
        "the cells before it ran. A kernel dies when "
        "its process ends: out of memory, a crash in compiled code, or an exit call.",
    ),
}


def _failing_line(failure: Failure, cell: FailingCell | None, timeout: int) -> str:
    """The one line that says where and why a report failed (summary, progress, provenance)."""
    if cell is not None and failure.kind in STOPPED:
        return f"{cell.where}: {STOPPED[failure.kind][0].format(timeout=timeout)}"
    if cell is not None:
        return cell.line()
    # failed before or outside any cell: the whole params message (its heading and first problem
    # on one line), else the error's last line (the lines before it are papermill's and the
    # kernel's, kept whole in provenance.json's failure.message)
    lines = failure.message.strip().splitlines()
    if failure.kind == "params":
        return "\n".join([" ".join(lines[:2]), *lines[2:]])
    return lines[-1]


def run(name: str, show_code: bool = False, timeout: int = DEFAULT_TIMEOUT) -> int:
    """Build one report; prints one status line; returns 0 if it succeeded, 1 if not."""
    import nbformat

    from labbook.runner import changes, provenance, render
    from labbook.runner import params as params_mod

    t0 = time.monotonic()
    notebook, variant = _split(name)
    nb_path = paths.notebook_path(notebook)
    params_file = paths.params_path(notebook, variant)
    final = paths.report_dir(notebook, variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover(final)
    tmp = final.parent / contract.staging_folder(variant, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    k, n = _progress_start(name)
    executed = tmp / "executed.ipynb"

    failure = None
    params: dict = {}
    try:
        if not nb_path.exists():
            raise params_mod.ParamsError(f"{params_file}: no notebook {nb_path}")
        params = params_mod.validate(params_file, nb_path)
    except params_mod.ParamsError as exc:
        failure = Failure("params", f"Invalid parameters:\n{exc}")

    good = _good_build(final)  # the provenance of the last good build, or None
    watch = None
    if failure is None:
        # the figures are compared with the good build's while the notebook writes them
        watch = changes.FigureWatch(final, tmp) if good is not None else None
        failure = _execute(nb_path, executed, params, tmp, timeout)

    if executed.exists():
        nb = nbformat.read(executed, as_version=4)
    else:
        nb = _error_notebook(
            f"{notebook} / {variant}", failure.message if failure else "no notebook was written"
        )
    cell = _failing_cell(nb, stopped=failure.kind in STOPPED) if failure else None
    failing = _failing_line(failure, cell, timeout) if failure else None
    if failure and cell is not None and failure.kind in STOPPED:
        advice = STOPPED[failure.kind][1]
        nb.cells.insert(
            0, nbformat.v4.new_markdown_cell(f"**The report failed.** {failing}: {advice}")
        )
    elif failure and cell is None and executed.exists() and failure.kind != "params":
        nb.cells.insert(
            0,
            nbformat.v4.new_markdown_cell(f"**The report failed.**\n\n```\n{failure.message}\n```"),
        )
    status = "FAILED" if failure else "ok"

    record = contract.empty_record()
    if (tmp / contract.RECORD_FILE).exists():
        record.update(json.loads((tmp / contract.RECORD_FILE).read_text()))
        (tmp / contract.RECORD_FILE).unlink()

    keep_good = status != "ok" and good is not None
    seconds = time.monotonic() - t0
    code = _code_files(nb_path) if nb_path.exists() else []
    prov = provenance.stamp(notebook, variant, params, record["inputs"], seconds, status)
    prov.update(
        title=_title(nb, f"{notebook} / {variant}"),
        failing_cell=failing,
        failure=_failure_record(failure, cell),
        warnings=record["warnings"],
        figure_problems=record["figure_problems"],
        figure_repairs=record["figure_repairs"],
        example_data=record["example_data"],
        trained=record.get("trained", []),  # real training runs: the line shown instead of a banner
        show_code=show_code,
        built_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        code=changes.file_hashes(code),  # what the change report names as edited
        tables=record.get("tables", {}),  # each table's row keys
        figures=_figures(nb),  # in the order the report shows them (the gallery's thumbnails)
    )
    banner = EXAMPLE_BANNER if record["example_data"] else None
    if watch is not None and status != "ok":
        watch.stop()  # a failed build is compared with nothing

    _normalize(nb)
    raw = nbformat.writes(nb)
    changed = None
    if status == "ok":  # only good builds are compared, with the good build they replace
        changed = changes.record(final, tmp, prov, good, watch)
        ctx = render.context(prov, banner, None, changed, tmp)
        try:
            done = nbformat.reads(raw.replace(str(tmp), str(final)), as_version=4)
            render.pdf(done, ctx, tmp, tmp / "report.pdf")
        except Exception as exc:  # a typesetting failure fails the report, with its reason
            status, failing = "FAILED", f"report.pdf: {type(exc).__name__}: {exc}"
            failure = Failure("pdf", f"{type(exc).__name__}: {exc}")
            prov.update(status=status, failing_cell=failing, failure=_failure_record(failure, None))
            changes.discard(tmp)
            changed, keep_good = None, good is not None
    previous = None
    if keep_good:
        previous = (
            f"This build FAILED; reports/{name}/ still holds the last good build, of "
            f"{good.get('built_at', '?')}."
        )
    target = final / FAILURE if keep_good else final
    text = raw.replace(str(tmp), str(target))
    executed.write_text(text)
    nb = nbformat.reads(text, as_version=4)
    ctx = render.context(prov, banner, previous, changed, tmp)
    (tmp / "report.html").write_text(render.html(nb, ctx, show_code))
    (tmp / "provenance.json").write_text(
        json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n"
    )
    if keep_good:
        _swap_into_place(
            tmp, target
        )  # the good report stays as it was; the failure lands beside it
    else:
        (tmp / "inputs.d").write_text(_make_deps(notebook, variant, record["inputs"], code))
        if status == "ok":
            (tmp / STAMP).write_text("")
        _swap_into_place(tmp, final)  # the change report and previous/ move in with it

    _progress_line(
        k, n, name, status + (" (kept the last good build)" if keep_good else ""), seconds, failing
    )
    return 0 if status == "ok" else 1


def _failure_record(failure: Failure | None, cell: FailingCell | None) -> dict | None:
    """provenance.json's "failure": kind, the cell's index and section title (None when the
    report did not fail in a cell) and the whole message."""
    if failure is None:
        return None
    return {
        "kind": failure.kind,
        "cell": cell.index if cell else None,
        "section": cell.section if cell else None,
        "message": failure.message,
    }


# ---------------------------------------------------------------- progress


def _progress_start(name: str) -> tuple[int, int | None]:
    """Number this report among those the current `make figures` builds ([k/n]); prints 'started'.
    make passes LABBOOK_PROGRESS (a counter file) and LABBOOK_TOTAL; alone, the runner prints no
    count."""
    counter, total = os.environ.get("LABBOOK_PROGRESS"), os.environ.get("LABBOOK_TOTAL")
    k = None
    if counter:
        import fcntl

        with open(counter, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            k = len(f.read().split()) + 1
            f.write(f"{name}\n")
    n = int(total) if total and total.isdigit() else None
    print(f"{_count(k, n)}{name} started", flush=True)
    return k, n


def _count(k, n) -> str:
    return f"[{k}/{n}] " if k and n else f"[{k}] " if k else ""


WRAP = 100  # columns: a failure's message goes on after its report's line, wrapped to this
INDENT = "      "


def wrapped(message: str | None) -> str:
    """A failure's whole message for the terminal: its first line as it is (it ends the report's
    line), every further line on its own, indented and wrapped at WRAP columns; "" for None."""
    import textwrap

    if not message:
        return ""
    first, *rest = message.strip().splitlines() or [""]
    more = [
        textwrap.fill(line, WRAP, initial_indent=INDENT, subsequent_indent=INDENT + "  ")
        for line in rest
        if line.strip()
    ]
    return "  " + "\n".join([first, *more])


def _progress_line(k, n, name: str, status: str, seconds: float, failing: str | None) -> None:
    print(f"{_count(k, n)}{name} … {status} {seconds:.1f} s{wrapped(failing)}", flush=True)


# ---------------------------------------------------------------- all reports


def _provenance(name: str, failure: bool = False) -> dict | None:
    folder = paths.report_dir(*_split(name))
    p = (folder / FAILURE if failure else folder) / "provenance.json"
    return json.loads(p.read_text()) if p.exists() else None


def _changes(name: str, prov: dict | None) -> dict | None:
    """The change report of the good build *prov* of report *name* (changes.json), or None."""
    from labbook.runner import changes

    path = paths.report_dir(*_split(name)) / changes.FILE
    if prov is None or not path.exists():
        return None
    report = json.loads(path.read_text())
    return report if report.get("built_at") == prov.get("built_at") else None


def state(name: str, since: float | None = None) -> dict:
    """What a reader should know about one report: status (ok, FAILED, MISSING), whether it shows
    the last good build after a failure, the failing cell, seconds, when built, whether it was
    rebuilt since *since* (epoch seconds) or was already up to date, and the change report of the
    build it shows (what changed since the good build before it, and why)."""
    prov = _provenance(name)
    failed = _provenance(name, failure=True)
    stamp = paths.report_dir(*_split(name)) / STAMP
    out = {
        "name": name,
        "status": "MISSING",
        "kept_good": False,
        "failing": None,
        "seconds": None,
        "built_at": None,
        "rebuilt": None,
        "prov": prov,
        "changes": None,
    }
    if prov is None:
        return out
    current = failed if failed is not None else prov
    out.update(
        status=current["status"],
        failing=current.get("failing_cell"),
        seconds=current["seconds"],
        built_at=prov.get("built_at"),
        kept_good=failed is not None,
        changes=_changes(name, prov),
    )
    if since is not None:
        changed = max(
            [
                p.stat().st_mtime
                for p in (
                    stamp,
                    paths.report_dir(*_split(name)) / FAILURE,
                    paths.report_dir(*_split(name)) / "provenance.json",
                )
                if p.exists()
            ],
            default=0,
        )
        out["rebuilt"] = changed >= since
    return out


def summary(names: list[str] | None = None, since: float | None = None) -> int:
    """Print one line per report (name, status, seconds, rebuilt or up to date, failing cell);
    return 1 if any failed or is missing."""
    from labbook.runner import changes

    names = names or report_names()
    bad = 0
    print(f"{'report':<45} {'status':<8} {'seconds':>8}  this build")
    for name in names:
        st = state(name, since)
        if st["status"] == "MISSING":
            bad += 1
            print(f"{name:<45} {'MISSING':<8}")
            continue
        bad += st["status"] != "ok"
        when = "" if st["rebuilt"] is None else ("rebuilt" if st["rebuilt"] else "up to date")
        kept = f" — showing the last good build of {st['built_at']}" if st["kept_good"] else ""
        failing = wrapped(st["failing"])
        changed = ""
        if st["rebuilt"] and not st["kept_good"] and st["changes"]:
            changed = f"  — {changes.summary(st['changes'])}"
        print(f"{name:<45} {st['status']:<8} {st['seconds']:7.1f}s  {when}{changed}{kept}{failing}")
    rebuilt = sum(1 for n in names if state(n, since)["rebuilt"]) if since is not None else None
    print(
        f"{len(names) - bad} ok, {bad} failed or missing"
        + (f"; {rebuilt} rebuilt now" if rebuilt is not None else "")
    )
    return 1 if bad else 0


def data_kind(prov: dict) -> str:
    """What a report's data are, as its card says: "simulated" (the example-data banner),
    "real runs" (real training runs, described instead of the banner) or "the user's"."""
    if prov.get("example_data"):
        return "simulated"
    return "real runs" if prov.get("trained") else "the user's"


def failed_checks(folder: Path) -> list[str]:
    """The sentences of the findings of the report in *folder* whose verdict is "fail" (its own
    checks that failed, findings.json), in the report's order; [] without findings."""
    path = folder / "findings.json"
    if not path.exists():
        return []
    findings = json.loads(path.read_text())
    return [f["text"] for f in findings.values() if (f or {}).get("verdict") == "fail"]


def _thumbs(folder: Path, prov: dict) -> list[str]:
    """The figures' PNG files in the order the report shows them (provenance "figures"), then any
    other PNG in figures/ by name."""
    present = {p.name for p in (folder / "figures").glob("*.png")}
    shown = [f"{n}.png" for n in prov.get("figures", []) if f"{n}.png" in present]
    return shown + sorted(present - set(shown))


def index_html() -> str:
    """The gallery page (templates/gallery.html.j2, autoescaped): one card per report, ordered by
    notebook then variant, with its title and variant, status and verdicts (checks failed,
    warnings), the kind of data, thumbnails in report order and links."""
    import jinja2

    cards = []
    for name in sorted(report_names(), key=_split):
        st = state(name)
        notebook, variant = _split(name)
        folder = paths.report_dir(notebook, variant)
        prov = st["prov"] or {}
        cards.append(
            {
                "name": name,
                "notebook": notebook,
                "variant": variant,
                "status": st["status"],
                "kept_good": st["kept_good"],
                "built_at": st["built_at"],
                "failing": st["failing"],
                "title": f"{prov.get('title', notebook)} · {variant}",
                "seconds": st["seconds"],
                "data": data_kind(prov),
                "failed_checks": failed_checks(folder) if prov else [],
                "warnings": len(prov.get("warnings", [])),
                "has_pdf": (folder / "report.pdf").exists(),
                "thumbs": _thumbs(folder, prov),
                "changes": _card_changes(st["changes"]),
            }
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES),
        autoescape=True,
        keep_trailing_newline=True,
    )
    return env.get_template("gallery.html.j2").render(cards=cards)


def _card_changes(report: dict | None) -> dict | None:
    """The gallery's mark for a report whose last build changed an output: when the build it was
    compared with was made, what changed, the cause, and the number of verdicts changed."""
    from labbook.runner import changes

    if not report or not report.get("outputs_changed"):
        return None
    return {
        "since": changes.when(report.get("previous_built_at")),
        "said": changes.summary(report),
        "verdicts": report.get("verdicts_changed", 0),
    }


def write_index() -> Path:
    """Write reports/index.html (only when its content changed)."""
    paths.REPORTS.mkdir(parents=True, exist_ok=True)
    target = paths.REPORTS / "index.html"
    text = index_html()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def run_here(argv: list[str]) -> int:
    """The fork server's entry point: `main` in this process, never forwarded to a server again."""
    return main(argv, forward=False)


def warm() -> None:
    """Called once by the fork server before it forks: compile the HTML templates."""
    from labbook.runner import render

    render.warm()


def main(argv: list[str] | None = None, forward: bool = True) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labbook.runner.build", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="build one report")
    p_run.add_argument("name", help="<notebook>/<variant>")
    p_run.add_argument("--show-code", action="store_true", help="show code cells in report.html")
    p_run.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    sub.add_parser("index", help="write reports/index.html")
    p_pool = sub.add_parser("pool", help="run the build's fork server on a UNIX socket")
    p_pool.add_argument("socket")
    p_sum = sub.add_parser(
        "summary", help="print the status of every report (or of the NAMEs given)"
    )
    p_sum.add_argument("names", nargs="*", help="<notebook>/<variant> (default: every params file)")
    p_sum.add_argument(
        "--since", type=float, help="epoch seconds the build started: marks rebuilt reports"
    )
    p_list = sub.add_parser("list", help="print every report name (matching a glob)")
    p_list.add_argument(
        "pattern", nargs="?", help="glob(s) over report names, e.g. 'moe_analysis/*'"
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        if forward:  # a build's fork server runs it in a child with the imports done
            from labbook.runner import kernelpool

            rc = kernelpool.run_forked(sys.argv[1:] if argv is None else argv)
            if rc is not None:
                return rc
        return run(args.name, show_code=args.show_code, timeout=args.timeout)
    if args.command == "pool":
        from labbook.runner import kernelpool

        kernelpool.serve(args.socket, ENTRY, PRELOAD)
        return 0
    if args.command == "index":
        write_index()
        return 0
    if args.command == "summary":
        return summary(args.names or None, args.since)
    print("\n".join(report_names(args.pattern)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
