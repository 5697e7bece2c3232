"""The runner behind `make figures`: one report per params/<notebook>/<variant>.yaml.

    python -m labbook.build run <notebook>/<variant> [--show-code] [--timeout SECONDS]
    python -m labbook.build index      # reports/index.html, the gallery
    python -m labbook.build summary    # one line per report; exit 1 if any failed or is missing
    python -m labbook.build list       # the report names, one per line

`run` validates the params file against the notebook's parameters cell, executes the notebook with
papermill on the project kernel (fixed cwd, per-cell timeout, SOURCE_DATE_EPOCH), normalizes the
executed notebook, renders HTML with a provenance footer, and swaps the finished folder into
reports/<notebook>/<variant>/. Its exit status is papermill's (0 ok, non-zero failed). The make
stamp `.ok` is only written for a report that succeeded, so a failed report is rebuilt next time.
This module imports nothing heavy at start-up so that a no-op `make figures` stays fast.
"""
import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from labbook import paths

STAMP = ".ok"
DEFAULT_TIMEOUT = 900  # seconds per cell
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01: a fixed date for every file format's timestamps
EXAMPLE_BANNER = "Example data (simulated) — not experimental results"


def report_names() -> list[str]:
    """Every "<notebook>/<variant>" that has a params file, sorted."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in paths.PARAMS.glob("*/*.yaml"))


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


def _failing_cell(nb) -> str | None:
    """'cell N (section): Error: message' for the first code cell with an error output."""
    section = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            section = cell.source.lstrip().splitlines()[0].lstrip("# ").strip()
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                evalue = str(out.get("evalue", "")).splitlines()[0][:200] if out.get("evalue") else ""
                where = f"cell {i}" + (f" ({section})" if section else "")
                return f"{where}: {out.get('ename', 'Error')}: {evalue}"
    return None


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _error_notebook(title: str, message: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n**The report could not be built.**\n\n"
                                              f"```\n{message}\n```")]
    return nb


# ---------------------------------------------------------------- one report

def _make_deps(notebook: str, variant: str, inputs: list[dict]) -> str:
    """inputs.d: the stamp depends on notebook, params, src and every data file read."""
    def rel(p: Path) -> str:  # make-escaped
        return paths.relative(p).replace(" ", "\\ ").replace("$", "$$").replace("#", "\\#")

    target = rel(paths.report_dir(notebook, variant) / STAMP)
    src = sorted(paths.SRC.rglob("*.py"))
    deps = [paths.notebook_path(notebook), paths.params_path(notebook, variant), *src]
    data = [Path(i["path"]) for i in inputs if Path(i["path"]).exists()]
    lines = [f"{target}: " + " \\\n  ".join(rel(d) for d in deps + data)]
    lines += [f"{rel(d)}:" for d in deps + data]  # a deleted file forces a rebuild, not a make error
    return "\n".join(lines) + "\n"


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace *final* by *tmp* with renames, so no half-written folder ever sits at *final*."""
    old = final.parent / f".{final.name}.old.{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def run(name: str, show_code: bool = False, timeout: int = DEFAULT_TIMEOUT) -> int:
    """Build one report; prints one status line; returns 0 if it succeeded, 1 if not."""
    import nbformat

    from labbook import params as params_mod
    from labbook import provenance, render

    t0 = time.monotonic()
    notebook, variant = _split(name)
    nb_path = paths.notebook_path(notebook)
    params_file = paths.params_path(notebook, variant)
    final = paths.report_dir(notebook, variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{variant}.tmp.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    executed = tmp / "executed.ipynb"

    error = None
    params: dict = {}
    try:
        if not nb_path.exists():
            raise params_mod.ParamsError(f"{params_file}: no notebook {nb_path}")
        params = params_mod.validate(params_file, nb_path)
    except params_mod.ParamsError as exc:
        error = f"Invalid parameters:\n{exc}"

    if error is None:
        env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH),
                   PYTHONHASHSEED="0", MPLCONFIGDIR=str(paths.CACHE / "matplotlib"))
        cmd = [sys.executable, "-m", "papermill", str(nb_path), str(executed),
               "-f", str(params_file), "-p", "output_dir", str(tmp),
               "-k", paths.KERNEL_NAME, "--cwd", str(paths.ROOT),
               "--execution-timeout", str(timeout), "--no-progress-bar", "--log-level", "ERROR"]
        proc = subprocess.run(cmd, cwd=paths.ROOT, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            error = f"papermill exited with status {proc.returncode}\n" + proc.stderr[-4000:]

    if executed.exists():
        nb = nbformat.read(executed, as_version=4)
    else:
        nb = _error_notebook(f"{notebook} / {variant}", error or "no executed notebook was written")
    failing = _failing_cell(nb) if error else None
    if error and not failing:  # failed before or outside any cell: the error's most telling line
        lines = error.strip().splitlines()
        failing = (" ".join(lines[:2]) if error.startswith("Invalid") else lines[-1])[:300]
        if executed.exists() and error.startswith("papermill"):
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**The report failed.**\n\n```\n{error}\n```"))
    status = "FAILED" if error else "ok"

    record = {"inputs": [], "warnings": [], "figure_problems": [], "example_data": False}
    if (tmp / "inputs.json").exists():
        record = json.loads((tmp / "inputs.json").read_text())
        (tmp / "inputs.json").unlink()

    seconds = time.monotonic() - t0
    prov = provenance.stamp(notebook, variant, params, record["inputs"], seconds, status)
    prov.update(title=_title(nb, f"{notebook} / {variant}"), failing_cell=failing,
                warnings=record["warnings"], figure_problems=record["figure_problems"],
                example_data=record["example_data"])

    _normalize(nb)
    text = nbformat.writes(nb).replace(str(tmp), str(final))
    executed.write_text(text)
    nb = nbformat.reads(text, as_version=4)
    ctx = render.context(prov, EXAMPLE_BANNER if record["example_data"] else None)
    (tmp / "report.html").write_text(render.html(nb, ctx, show_code))
    if status == "ok":
        render.pdf(nb, ctx, tmp, tmp / "report.pdf")
    (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n")
    (tmp / "inputs.d").write_text(_make_deps(notebook, variant, record["inputs"]))
    if status == "ok":
        (tmp / STAMP).write_text("")
    _swap_into_place(tmp, final)

    line = f"{name:<45} {status:<7} {seconds:7.1f}s"
    print(line + (f"  {failing}" if failing else ""), flush=True)
    return 0 if status == "ok" else 1


# ---------------------------------------------------------------- all reports

def _provenance(name: str) -> dict | None:
    p = paths.report_dir(*_split(name)) / "provenance.json"
    return json.loads(p.read_text()) if p.exists() else None


def summary() -> int:
    """Print one line per report (name, status, seconds, failing cell); 1 if any failed/missing."""
    bad = 0
    names = report_names()
    print(f"{'report':<45} {'status':<7} {'seconds':>8}")
    for name in names:
        prov = _provenance(name)
        if prov is None:
            bad += 1
            print(f"{name:<45} {'MISSING':<7}")
            continue
        bad += prov["status"] != "ok"
        failing = f"  {prov['failing_cell']}" if prov.get("failing_cell") else ""
        print(f"{name:<45} {prov['status']:<7} {prov['seconds']:7.1f}s{failing}")
    print(f"{len(names) - bad} ok, {bad} failed or missing")
    return 1 if bad else 0


def index_html() -> str:
    """The gallery page: one card per report with status, thumbnails and links."""
    cards = []
    for name in report_names():
        prov = _provenance(name)
        notebook, variant = _split(name)
        folder = paths.report_dir(notebook, variant)
        if prov is None:
            cards.append(f'<div class="card missing"><h2>{html.escape(name)}</h2><p class="status">not built</p></div>')
            continue
        thumbs = "".join(
            f'<a href="{notebook}/{variant}/figures/{p.name}"><img src="{notebook}/{variant}/figures/{p.name}" '
            f'alt="{html.escape(p.stem)}" loading="lazy"></a>'
            for p in sorted((folder / "figures").glob("*.png")))
        failing = f'<p class="error">{html.escape(prov["failing_cell"])}</p>' if prov.get("failing_cell") else ""
        example = '<p class="example">example data (simulated)</p>' if prov.get("example_data") else ""
        warn = f'<p class="warn">{len(prov.get("warnings", []))} warning(s)</p>' if prov.get("warnings") else ""
        cards.append(
            f'<div class="card {prov["status"].lower()}"><h2>{html.escape(prov.get("title", name))}</h2>'
            f'<p class="variant">{html.escape(notebook)} · <b>{html.escape(variant)}</b> · '
            f'<span class="status">{prov["status"]}</span> · {prov["seconds"]:.1f} s</p>{example}{warn}{failing}'
            f'<p><a href="{notebook}/{variant}/report.html">report</a> · <a href="{notebook}/{variant}/figures/">figures</a>'
            f' · <a href="{notebook}/{variant}/tables/">tables</a></p><div class="thumbs">{thumbs}</div></div>')
    style = ("body{font-family:sans-serif;margin:2em;background:#fafafa}"
             ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:1em}"
             ".card{background:#fff;border:1px solid #ddd;border-left:6px solid #2a9d8f;padding:0.8em}"
             ".card.failed,.card.missing{border-left-color:#d62828}.card h2{font-size:1.1em;margin:0 0 .3em}"
             ".status{font-weight:bold}.failed .status,.error{color:#d62828}.example{color:#a06800}"
             ".warn{color:#a06800}.thumbs img{height:80px;margin:2px;border:1px solid #eee}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Reports</title>"
            f"<style>{style}</style></head><body><h1>Reports</h1><div class=\"grid\">\n"
            + "\n".join(cards) + "\n</div></body></html>\n")


def write_index() -> Path:
    """Write reports/index.html (only when its content changed)."""
    paths.REPORTS.mkdir(parents=True, exist_ok=True)
    target = paths.REPORTS / "index.html"
    text = index_html()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labbook.build", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="build one report")
    p_run.add_argument("name", help="<notebook>/<variant>")
    p_run.add_argument("--show-code", action="store_true", help="show code cells in report.html")
    p_run.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    sub.add_parser("index", help="write reports/index.html")
    sub.add_parser("summary", help="print the status of every report")
    sub.add_parser("list", help="print every report name")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.name, show_code=args.show_code, timeout=args.timeout)
    if args.command == "index":
        write_index()
        return 0
    if args.command == "summary":
        return summary()
    print("\n".join(report_names()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
