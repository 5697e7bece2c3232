"""The documents of a report: report.html (nbconvert through the project's template) and
report.pdf (the same content typeset with Typst, offline, figures as vectors).

Both read the executed notebook: markdown cells, and the outputs the Report showed — figures
(``labbook.figure`` metadata: the PDF embeds figures/<name>.pdf), tables
(application/vnd.labbook.table+json), notes, warnings and findings (text/markdown). The banner and
provenance footer come from ``context``, escaped once by the template (HTML) or by markup.typst
(PDF).
"""

import functools
import json
import os
import re
import threading
from pathlib import Path

from labbook import contract, markup, paths
from labbook.runner import changes

TEMPLATES = paths.TEMPLATES
PDF_TIMEOUT = 120.0  # seconds Typst may take to typeset one report.pdf
PAGE_WIDTH_IN = 8.27 - 2 * 0.7  # A4 with 0.7 in margins: room for a 6.75 in figure


def context(
    prov: dict,
    banner: str | None,
    previous: str | None = None,
    changed: dict | None = None,
    folder: Path | None = None,
) -> dict:
    """What the template needs beside the notebook: provenance, banner, params as text, and the
    change report *changed* of this build (labbook.runner.changes; None for a failed build): the
    box it opens with, and each changed figure's previous version, read from *folder*/previous."""
    return {
        "provenance": prov,
        "example_data": bool(banner),
        "banner": banner or "",
        "trained": prov.get("trained") or [],  # lines describing the real training runs read
        "previous": previous,
        "params": [
            (k, json.dumps(v, ensure_ascii=False)) for k, v in sorted(prov["params"].items())
        ],
        "changes": changes.view(changed) if changed else None,
        "previous_figures": changes.previous_figures(changed, folder) if changed and folder else {},
    }


# ---------------------------------------------------------------- HTML


def html(nb, ctx: dict, show_code: bool = False) -> str:
    """report.html: the notebook rendered through templates/labbook, input hidden unless
    *show_code*."""
    body, _ = _html_exporter(show_code).from_notebook_node(nb, resources={"labbook": ctx})
    return body


@functools.cache
def _html_exporter(show_code: bool):
    """One exporter per process and setting: its Jinja environment keeps the compiled templates
    (compiling them takes 0.15 s)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="labbook",
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def warm() -> None:
    """Compile the HTML templates once, in the build's fork server: every report's runner is
    forked from it and renders with them compiled. Renders a one-cell notebook; nothing else."""
    import nbformat

    prov = {
        "report": "",
        "status": "ok",
        "seconds": 0.0,
        "git": {},
        "params_file": "",
        "params": {},
        "figure_problems": [],
        "warnings": [],
        "packages": {},
        "inputs": [],
    }
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("templates")])
    html(nb, context(prov, None))


# ---------------------------------------------------------------- Markdown -> Typst


def _inline(tokens) -> str:
    out = []
    for t in tokens:
        kind = t["type"]
        if kind in ("text", "inline_html", "block_html"):
            out.append(markup.typst(t.get("raw", "")))
        elif kind == "codespan":
            out.append(f"#raw({markup.typst_string(t['raw'])})")
        elif kind == "emphasis":
            out.append(f"#emph[{_inline(t['children'])}]")
        elif kind == "strong":
            out.append(f"#strong[{_inline(t['children'])}]")
        elif kind == "strikethrough":
            out.append(f"#strike[{_inline(t['children'])}]")
        elif kind == "link":
            out.append(f"#link({markup.typst_string(t['attrs']['url'])})[{_inline(t['children'])}]")
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "linebreak":
            out.append(" \\\n")
        elif "children" in t:
            out.append(_inline(t["children"]))
        else:
            out.append(markup.typst(t.get("raw", "")))
    return "".join(out)


def _blocks(tokens, shift: int = 0) -> str:
    out = []
    for t in tokens:
        kind = t["type"]
        if kind == "heading":
            level = min(6, max(1, t["attrs"]["level"] + shift))
            out.append(f"#heading(level: {level})[{_inline(t['children'])}]")
        elif kind in ("paragraph", "block_text"):
            out.append(_inline(t["children"]))
        elif kind == "block_quote":
            out.append(f"#quote(block: true)[{_blocks(t['children'])}]")
        elif kind == "list":
            func = "enum" if t["attrs"].get("ordered") else "list"
            items = ", ".join(f"[{_blocks(i['children'])}]" for i in t["children"])
            out.append(f"#{func}({items})")
        elif kind == "block_code":
            out.append(f"#raw(block: true, {markup.typst_string(t['raw'].rstrip())})")
        elif kind == "thematic_break":
            out.append("#line(length: 100%, stroke: 0.5pt + gray)")
        elif kind == "table":
            out.append(_markdown_table(t))
        elif kind in ("blank_line",):
            continue
        elif "children" in t:
            out.append(_inline(t["children"]))
        elif "raw" in t:
            out.append(markup.typst(t["raw"]))
    return "\n\n".join(out)


def _markdown_table(t) -> str:
    rows = []
    for part in t["children"]:
        cells = (
            part["children"]
            if part["type"] == "table_head"
            else [c for r in part["children"] for c in r["children"]]
        )
        rows += [f"[{_inline(c['children'])}]" for c in cells]
    ncols = len(t["children"][0]["children"])
    return f"#table(columns: {ncols}, {', '.join(rows)})"


def markdown_to_typst(text: str, shift: int = 0) -> str:
    """Typst markup for a Markdown text (headings shifted by *shift* levels)."""
    import mistune

    parse = mistune.create_markdown(renderer=None, plugins=["table", "strikethrough"])
    return _blocks(parse(text), shift)


# ---------------------------------------------------------------- PDF

LANDSCAPE_WIDTH_IN = 11.69 - 2 * 0.7
_CHAR_EM = 0.56  # mean advance of DejaVu Sans glyphs, in em
_BREAK_AFTER = ("\\_", "\\/", ".")  # escaped "_", "/" and ".": text cells may break after them


def _table_width_pt(data: dict, size: float) -> float:
    """Natural width (points) of a table at font *size*: its longest cell per column,
    plus insets."""
    widths = [
        max([len(c), *(len(r[i]) for r in data["rows"])]) for i, c in enumerate(data["columns"])
    ]
    return sum(w * _CHAR_EM * size + 8 for w in widths)


def _table_layout(data: dict) -> tuple[float, bool]:
    """(font size pt, landscape) for a table: the largest size that fits the page's text width,
    on a portrait page if it can, else on a landscape page of its own."""
    for landscape in (False, True):
        room = 72 * (LANDSCAPE_WIDTH_IN if landscape else PAGE_WIDTH_IN)
        for size in (9.0, 8.0, 7.0, 6.5):
            if _table_width_pt(data, size) <= room:
                return size, landscape
    return 6.0, True


def _table(data: dict) -> str:
    cols = len(data["columns"])
    size, landscape = _table_layout(data)
    align = ", ".join("right" if n else "left" for n in data["numeric"])

    def cell(text, numeric):  # text cells may break after _ / . (names, paths); numbers never
        out = markup.typst(text)
        for mark in () if numeric else _BREAK_AFTER:
            out = out.replace(mark, mark + "\u200b")
        return out

    head = ", ".join(f"[*{cell(c, False)}*]" for c in data["columns"])
    cells = [f"[{cell(v, n)}]" for r in data["rows"] for v, n in zip(r, data["numeric"])]
    body = ", ".join(cells) or f"table.cell(colspan: {cols})[_no rows_]"  # an empty table
    table = (
        f"#table(columns: {cols}, align: ({align},), stroke: none, inset: (x: 4pt, y: 2.5pt),\n"
        f"  table.hline(stroke: 0.8pt), table.header({head}), table.hline(stroke: 0.5pt),\n"
        f"  {body},\n  table.hline(stroke: 0.8pt))"
    )
    caption = f"caption: [{markup.typst(data['caption'])}], " if data.get("caption") else ""
    out = f"#figure(kind: table, {caption}text(size: {size:g}pt)[{table}])"
    return f"#page(flipped: true)[{out}]" if landscape else out


def _pdf_width(pdf: Path) -> float | None:
    """Width in inches of a one-page PDF written by matplotlib (its MediaBox)."""
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    return float(m.group(1)) / 72 if m else None


def _output(out, report_dir: Path) -> str | None:
    meta = out.get("metadata", {}).get(contract.META_KEY, {})
    data = out.get("data", {})
    if out["output_type"] == "stream":
        return f"#raw(block: true, {markup.typst_string(out['text'].rstrip())})"
    if out["output_type"] == "error":
        text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
        return f'#block(fill: rgb("#fde2e1"), inset: 6pt, width: 100%)[{markup.typst(text)}]'
    if "figure" in meta:
        pdf = report_dir / "figures" / f"{meta['figure']}.pdf"
        width = min(_pdf_width(pdf) or PAGE_WIDTH_IN, PAGE_WIDTH_IN)
        return (
            f"#figure(image({markup.typst_string(pdf.relative_to(report_dir).as_posix())}, "
            f"width: {width:.3f}in))"
        )
    if contract.TABLE_MIME in data:
        return _table(data[contract.TABLE_MIME])
    if "text/markdown" in data:
        return markdown_to_typst(data["text/markdown"], shift=1)
    if "text/plain" in data:
        return f"#raw(block: true, {markup.typst_string(data['text/plain'])})"
    return None


def _provenance(ctx: dict) -> str:
    p = ctx["provenance"]
    git = p["git"]
    commit = (git["commit"] or "not a git checkout")[:12] + (
        " (uncommitted changes)" if git["dirty"] else ""
    )
    if git.get("error"):
        commit = f"unknown: {git['error']}"
    params = ", ".join(
        f"#raw({markup.typst_string(k)}) = #raw({markup.typst_string(v)})" for k, v in ctx["params"]
    )
    packages = ", ".join(f"{k} {v}" for k, v in sorted(p["packages"].items()) if v)
    problems = len(p.get("figure_problems") or [])
    repairs = len(p.get("figure_repairs") or [])
    fitted = (
        f", {repairs} change(s) made to fit the column, noted under each figure" if repairs else ""
    )
    lines = [
        "= Provenance",
        f"- Report #raw({markup.typst_string(p['report'])}), status *{markup.typst(p['status'])}*, "
        f"built in {p['seconds']:.1f} s",
        f"- Git commit #raw({markup.typst_string(commit)})",
        f"- Params file #raw({markup.typst_string(p['params_file'])})",
        f"- Params: {params or 'none'}",
        "- Figure check: "
        f"{f'{problems} problem(s), listed as warnings above' if problems else 'no problems'}"
        f"{fitted}; "
        f"warnings: {len(p.get('warnings') or [])}",
        f"- Packages: {markup.typst(packages)}",
    ]
    rows = ", ".join(
        f"[#raw({markup.typst_string(i['path'])})], "
        f"[#raw({markup.typst_string(i['sha256'][:16] + '…')})], "
        f"[{i['bytes'] if i['bytes'] is not None else 'folder'}]"
        for i in p["inputs"]
    )
    if rows:
        lines.append(
            "#text(size: 8pt)[#table(columns: 3, stroke: none, inset: (x: 4pt, y: 2pt), "
            f"table.header([*input*], [*sha256*], [*bytes*]), table.hline(stroke: 0.5pt), {rows})]"
        )
    return "\n".join(lines)


def _changes_box(box: dict) -> str:
    """The PDF's change box (see changes.view): the verdict changes first, what changed, the cause
    in one line, then the findings, tables and figures that changed, named in small type."""
    lines = [f"*{markup.typst(box['title'])}*"]
    if box["kind"] in ("first", "error"):
        lines.append(markup.typst(box["headline"]))
    else:
        lines += [
            f'#text(fill: rgb("#9c4221"))[*Verdict changed:*] {markup.typst(v)}'
            for v in box["verdicts"]
        ]
        said = "No output changed." if box["kind"] == "same" else f"Changed: {box['counts']}."
        lines += [markup.typst(said), f"Cause: {markup.typst(box['cause'])}"]
        named = [
            f"{title}: {'; '.join(items)}"
            for title, items in (
                ("Findings", [f["key"] for f in box["findings"]]),
                ("Tables", [t for t in box["tables"] if not t.startswith("  ")]),
                ("Figures", box["figures"]),
            )
            if items
        ]
        if named:
            lines.append(
                f"#text(size: 8pt)[{markup.typst('. '.join(named))}. Before and after: "
                f"#raw({markup.typst_string(changes.FILE)}) and report.html.]"
            )
    return (
        '#block(fill: rgb("#eef4fb"), stroke: 1pt + rgb("#2b6cb0"), inset: 8pt, width: 100%)['
        + " \\\n".join(lines)
        + "]"
    )


def typst_source(nb, ctx: dict, report_dir: Path) -> str:
    """The whole report as a Typst document (paths relative to *report_dir*)."""
    parts = [
        '#set page(paper: "a4", margin: 0.7in, numbering: "1")',
        '#set text(font: "DejaVu Sans", size: 9.5pt)',
        '#show raw: set text(font: "DejaVu Sans Mono", size: 8.5pt)',
        "#set par(justify: false, leading: 0.6em)",
        "#show heading: set block(above: 1.2em, below: 0.6em, sticky: true)",
        "#show figure: set block(breakable: true)",
        "#show figure.where(kind: table): set figure.caption(position: top)",
        "#show quote: it => block(fill: luma(245), inset: 6pt, width: 100%, it.body)",
    ]
    if ctx.get("example_data"):
        parts.append(
            '#block(fill: rgb("#fff3cd"), stroke: 1.5pt + rgb("#d39e00"), inset: 8pt, width: 100%)'
            f"[*{markup.typst(ctx['banner'])}*]"
        )
    for line in ctx.get("trained", []):
        parts.append(
            '#block(fill: rgb("#e6f4ea"), stroke: 1pt + rgb("#2e7d32"), inset: 8pt, width: 100%)'
            f"[{markup.typst(line)}]"
        )
    if ctx.get("previous"):
        parts.append(
            '#block(fill: rgb("#fde2e1"), stroke: 1.5pt + rgb("#b00020"), inset: 8pt, width: 100%)'
            f"[*{markup.typst(ctx['previous'])}*]"
        )
    if ctx.get("changes"):
        parts.append(_changes_box(ctx["changes"]))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(markdown_to_typst(cell.source))
        elif cell.cell_type == "code":
            parts += [s for s in (_output(o, report_dir) for o in cell.get("outputs", [])) if s]
    parts.append(_provenance(ctx))
    return "\n\n".join(parts) + "\n"


def pdf(nb, ctx: dict, report_dir: Path, target: Path, timeout: float = PDF_TIMEOUT) -> None:
    """Typeset report.pdf into *target* from the executed notebook (figures read from
    report_dir/figures). Fonts are matplotlib's DejaVu files: the same glyphs on every machine.
    Raises TimeoutError naming Typst when it takes longer than *timeout* seconds (it runs in a
    thread, without the GIL; one that never ends is left behind and ends with the process)."""
    import matplotlib
    import typst

    source = report_dir / ".report.typ"
    source.write_text(typst_source(nb, ctx, report_dir))
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    result: dict = {}

    def compile_():
        try:
            result["pdf"] = typst.compile(
                str(source),
                root=str(report_dir),
                font_paths=[str(fonts)],
                ignore_system_fonts=True,
                timestamp=epoch,
            )
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    worker = threading.Thread(target=compile_, name="typst", daemon=True)
    try:
        worker.start()
        worker.join(timeout)
    finally:
        source.unlink(missing_ok=True)
    if worker.is_alive():
        raise TimeoutError(f"Typst did not typeset report.pdf within {timeout:g} s")
    if "error" in result:
        raise result["error"]
    target.write_bytes(result["pdf"])
