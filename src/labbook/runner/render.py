"""The documents of a report: report.html (nbconvert through the project's template) and
report.pdf (the same content typeset with Typst, offline, figures as vectors).

Both read the executed notebook: markdown cells, and the outputs the Report showed — figures
(``labbook.figure`` metadata: the PDF embeds figures/<name>.pdf), tables
(application/vnd.labbook.table+json), notes, warnings and findings (text/markdown). The banner and
provenance footer come from ``context``, escaped once by the template (HTML) or by markup.typst
(PDF).
"""

import dataclasses
import functools
import json
import os
import re
import threading
from pathlib import Path

from labbook import contract, markup, paths, tables
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
    """What the template needs beside the notebook: provenance, banner, the line naming the
    tracker stores read (and the scripts that trained real runs), params as text, and the
    change report *changed* of this build (labbook.runner.changes; None for a failed build): the
    box it opens with, and each changed figure's previous version, read from *folder*/previous."""
    from labbook.runner import provenance

    return {
        "provenance": prov,
        "example_data": bool(banner),
        "banner": banner or "",
        "trained": prov.get("trained") or [],  # lines describing the real training runs read
        "source": provenance.source_line(prov),  # the tracker stores read, and what trained them
        "previous": previous,
        "params": [
            (k, json.dumps(v, ensure_ascii=False)) for k, v in sorted(prov["params"].items())
        ],
        "changes": changes.view(changed) if changed else None,
        "previous_figures": changes.previous_figures(changed, folder) if changed and folder else {},
    }


# ---------------------------------------------------------------- figure captions

_SECTION = re.compile(r"^#{2,6}\s")  # a section's heading (the notebook's title is "# ...")
_NOT_PARAGRAPH = re.compile(r"^\s*(#|[-*+]\s|>|\||```|~~~|\d+[.)]\s)")


def _title_text(line: str) -> str:
    """The plain text of a Markdown heading line ("## Per-layer `x`" -> "Per-layer x")."""
    return line.lstrip().lstrip("#").strip().replace("`", "")


def _split_sentence(source: str) -> tuple[str, str | None]:
    """A section's Markdown cell as (the cell without its sentence, the sentence): the paragraph
    right after its heading, as Markdown on one line, or None when there is none."""
    lines = source.splitlines()
    head = next((i for i, line in enumerate(lines) if _SECTION.match(line)), None)
    if head is None:
        return source, None
    start = head + 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and lines[end].strip() and not _NOT_PARAGRAPH.match(lines[end]):
        end += 1
    if end == start:
        return source, None
    rest = "\n".join(lines[: head + 1] + lines[end:]).rstrip() + "\n"
    return rest, " ".join(line.strip() for line in lines[start:end])


@dataclasses.dataclass(frozen=True)
class Captions:
    """Figure numbers and captions of a notebook (see captions)."""

    figures: dict[tuple[int, int], tuple[int, str]]  # (cell, output) -> (number, caption Markdown)
    markdown: dict[int, str]  # cell -> its source without the sentence that became a caption


def captions(nb) -> Captions:
    """Every figure numbered 1, 2, … in notebook order, with a caption: its section's sentence
    (the paragraph after the "##" heading of the Markdown cell the figure follows), which moves
    from the text to the caption of each figure of that section; a section without a sentence
    gives its title, a figure before any section its name."""
    figures: dict[tuple[int, int], tuple[int, str]] = {}
    markdown: dict[int, str] = {}
    section = None  # (cell index, title, sentence, source without the sentence)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            heading = next((x for x in cell.source.splitlines() if _SECTION.match(x)), None)
            if heading is not None:
                rest, sentence = _split_sentence(cell.source)
                section = (i, _title_text(heading), sentence, rest)
            continue
        for j, out in enumerate(cell.get("outputs", [])):
            name = out.get("metadata", {}).get(contract.META_KEY, {}).get("figure")
            if not name:
                continue
            if section is None:
                caption = f"`{name}`"
            else:
                caption = section[2] or section[1]
                if section[2]:
                    markdown[section[0]] = section[3]
            figures[(i, j)] = (len(figures) + 1, caption)
    return Captions(figures, markdown)


def _inline_html(text: str) -> str:
    """Markdown on one line as HTML without the paragraph around it (raw HTML escaped)."""
    import mistune

    out = mistune.create_markdown(escape=True, plugins=["strikethrough"])(text).strip()
    return out.removeprefix("<p>").removesuffix("</p>")


TABLE_CAPTION = '<p class="labbook-caption">'  # how Report.show_table opens a table's caption


def _captioned(nb):
    """A copy of *nb* for report.html: each figure output's metadata carries its number and
    caption (HTML), the sentences that became captions are out of the Markdown cells, and each
    table's caption starts with its number ("Table 2:"), counted as the PDF counts them (every
    shown table)."""
    import copy

    caps = captions(nb)
    nb = copy.deepcopy(nb)
    for i, source in caps.markdown.items():
        nb.cells[i].source = source
    for (i, j), (number, caption) in caps.figures.items():
        meta = nb.cells[i].outputs[j].setdefault("metadata", {}).setdefault(contract.META_KEY, {})
        meta.update(number=number, caption_html=_inline_html(caption))
    shown = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if contract.TABLE_MIME in out.get("data", {})
    ]
    for number, out in enumerate(shown, 1):
        page = out["data"].get("text/html", "")
        if page.startswith(TABLE_CAPTION):
            label = f"<b>Table {number}:</b> "
            out["data"]["text/html"] = TABLE_CAPTION + label + page[len(TABLE_CAPTION) :]
    return nb


# ---------------------------------------------------------------- HTML


def html(nb, ctx: dict, show_code: bool = False) -> str:
    """report.html: the notebook rendered through templates/labbook, input hidden unless
    *show_code*; each figure numbered and captioned (see captions)."""
    body, _ = _html_exporter(show_code).from_notebook_node(
        _captioned(nb), resources={"labbook": ctx}
    )
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

TABLE_SIZES = (
    9.0,
    8.0,
    7.0,
)  # pt: the largest at which a table fits the text width is used
SPLIT_SIZE = 8.0  # pt: a table that fits at none of them is shown in column groups at this size
# text cells may break after _ / . (names, paths), never inside a number ("0.028", "0.5")
_BREAK_AFTER = re.compile(r"(?<=[_/])|(?<=\.)(?!\d)")


def _table_layout(shown: tables.Presented) -> tuple[float, list[tables.Presented]]:
    """(font size pt, parts) for a table on the portrait page: whole at the largest of
    TABLE_SIZES at which it fits the text width (tables.Presented.widths), else its column groups
    (tables.Presented.groups) at SPLIT_SIZE."""
    for size in TABLE_SIZES:
        if sum(shown.widths()) <= 72 * PAGE_WIDTH_IN / size:
            return size, [shown]
    return SPLIT_SIZE, shown.groups(72 * PAGE_WIDTH_IN / SPLIT_SIZE)


def _cell(text: str, numeric: bool) -> str:
    """A table cell's Typst markup: a number in one unbreakable box; text that may also break
    after _ / . inside a word (each piece of the word a box: a break with no character added, so
    text copied from the PDF is the cell's text)."""
    if numeric:
        return f"#box[{markup.typst(text)}]"
    out = []
    for word in re.split(r"(\s+)", text):
        pieces = [p for p in _BREAK_AFTER.split(word) if p]
        if len(pieces) <= 1 or word.isspace():
            out.append(markup.typst(word))
        else:
            out.append("".join(f"#box[{markup.typst(p)}]" for p in pieces))
    return "".join(out)


TIGHT = 0.75  # a table wider than this share of the text width gets its columns from the model


def _table_part(part: tables.Presented, room: float) -> str:
    """One Typst table. Columns size themselves, unless the table takes more than TIGHT of the
    *room* (em): then each column gets its share of the text width in proportion to its modelled
    width (tables.Presented.widths, which fit the room), so Typst never squeezes a name to fit a
    header."""
    cols = len(part.columns)
    widths = part.widths()
    if sum(widths) > TIGHT * room:
        cols = "(" + ", ".join(f"{w:.1f}fr" for w in widths) + ",)"
    align = ", ".join("right" if n else "left" for n in part.numeric)
    head = ", ".join(f"[*{_cell(c, False)}*]" for c in part.columns)
    cells = [f"[{_cell(v, n)}]" for r in part.rows for v, n in zip(r, part.numeric)]
    empty = f"table.cell(colspan: {len(part.columns)})[_no rows_]"  # an empty table
    body = ", ".join(cells) or empty
    return (
        f"table(columns: {cols}, align: ({align},), stroke: none, inset: (x: 4pt, y: 2.5pt),\n"
        f"  table.hline(stroke: 0.8pt), table.header({head}), table.hline(stroke: 0.5pt),\n"
        f"  {body},\n  table.hline(stroke: 0.8pt))"
    )


def _table(data: dict) -> str:
    """A shown table (its application/vnd.labbook.table+json) as a numbered Typst table figure:
    whole, or in column groups one under the other (see _table_layout)."""
    size, parts = _table_layout(tables.Presented.from_json(data))
    room = 72 * PAGE_WIDTH_IN / size
    shown = [f"#{_table_part(parts[0], room)}"]
    for k, part in enumerate(parts[1:], 2):
        shown.append(
            f"#v(0.6em) #align(left)[#emph[Continued ({k} of {len(parts)})]] #v(0.2em)\n"
            f"#{_table_part(part, room)}"
        )
    caption = f"caption: [{markup.typst(data['caption'])}], " if data.get("caption") else ""
    return f"#figure(kind: table, {caption}text(size: {size:g}pt)[{''.join(shown)}])"


def _pdf_width(pdf: Path) -> float | None:
    """Width in inches of a one-page PDF written by matplotlib (its MediaBox)."""
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    return float(m.group(1)) / 72 if m else None


def _output(out, report_dir: Path, caption: tuple[int, str] | None = None) -> str | None:
    """One output as Typst; a figure with its caption (number, Markdown; see captions)."""
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
        text = caption[1] if caption else f"`{meta['figure']}`"
        return (
            f"#figure(image({markup.typst_string(pdf.relative_to(report_dir).as_posix())}, "
            f"width: {width:.3f}in), caption: [{markdown_to_typst(text)}])"
        )
    if contract.TABLE_MIME in data:
        return _table(data[contract.TABLE_MIME])
    if "text/markdown" in data:
        return markdown_to_typst(data["text/markdown"], shift=1)
    if "text/plain" in data:
        return f"#raw(block: true, {markup.typst_string(data['text/plain'])})"
    return None


def _tracker(entry: dict) -> str:
    return f" ({markup.typst(entry['tracker'])})" if entry.get("tracker") else ""


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
    if p.get("experiments"):
        scripts = ", ".join(
            f"#raw({markup.typst_string(path)}) "
            f"(sha256 #raw({markup.typst_string(sha[:16] + '…')}))"
            for path, sha in sorted(p["experiments"].items())
        )
        lines.insert(-1, f"- Experiment scripts that trained the runs read: {scripts}")
    rows = ", ".join(
        f"[#raw({markup.typst_string(i['path'])}){_tracker(i)}], "
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


def _plain(markdown: str) -> str:
    """The text of a Markdown paragraph, without its markup, on one line."""
    import mistune

    def text(tokens) -> str:
        return "".join(
            text(t["children"])
            if "children" in t
            else " "
            if "break" in t["type"]
            else t.get("raw", "")
            for t in tokens
        )

    return " ".join(text(mistune.create_markdown(renderer=None)(markdown)).split())


def metadata(nb, ctx: dict) -> tuple[str, str]:
    """(title, subject) of report.pdf: the report's title and name ("Credit assignment across
    seeds — credit_assignment/digits"), and what the notebook says it shows (the paragraph after
    its title; the title alone when it has none)."""
    prov = ctx["provenance"]
    title = " — ".join(x for x in (prov.get("title"), prov.get("report")) if x)
    subject = None
    for cell in nb.cells:
        lines = cell.source.splitlines() if cell.cell_type == "markdown" else []
        title_line = next((k for k, line in enumerate(lines) if line.startswith("# ")), None)
        if title_line is not None:
            after = "\n".join(lines[title_line + 1 :]).strip()
            subject = _plain(re.split(r"\n\s*\n", after)[0]) if after else None
            break
    return title or "Report", subject or title or "Report"


def typst_source(nb, ctx: dict, report_dir: Path) -> str:
    """The whole report as a Typst document (paths relative to *report_dir*): its title and
    subject in the PDF's metadata, every figure numbered with its caption (see captions), a
    heading never left at the foot of a page (it sticks to what follows; a figure is never
    split)."""
    title, subject = metadata(nb, ctx)
    parts = [
        f"#set document(title: {markup.typst_string(title)}, "
        f"description: {markup.typst_string(subject)})",
        '#set page(paper: "a4", margin: 0.7in, numbering: "1")',
        '#set text(font: "DejaVu Sans", size: 9.5pt)',
        '#show raw: set text(font: "DejaVu Sans Mono", size: 8.5pt)',
        "#set par(justify: false, leading: 0.6em)",
        "#show heading: set block(above: 1.2em, below: 0.6em, sticky: true)",
        "#show figure.where(kind: table): set block(breakable: true)",
        "#show figure.where(kind: image): set block(breakable: false)",
        "#show figure.where(kind: table): set figure.caption(position: top)",
        "#show quote: it => block(fill: luma(245), inset: 6pt, width: 100%, it.body)",
    ]
    source = f" \\\n{markup.typst(ctx['source'])}" if ctx.get("source") else ""
    if ctx.get("example_data"):
        parts.append(
            '#block(fill: rgb("#fff3cd"), stroke: 1.5pt + rgb("#d39e00"), inset: 8pt, width: 100%)'
            f"[*{markup.typst(ctx['banner'])}*{source}]"
        )
    for line in ctx.get("trained", []):
        parts.append(
            '#block(fill: rgb("#e6f4ea"), stroke: 1pt + rgb("#2e7d32"), inset: 8pt, width: 100%)'
            f"[{markup.typst(line)}{source}]"
        )
    if source and not ctx.get("example_data") and not ctx.get("trained"):
        parts.append(f"#text(size: 8.5pt)[{markup.typst(ctx['source'])}]")
    if ctx.get("previous"):
        parts.append(
            '#block(fill: rgb("#fde2e1"), stroke: 1.5pt + rgb("#b00020"), inset: 8pt, width: 100%)'
            f"[*{markup.typst(ctx['previous'])}*]"
        )
    if ctx.get("changes"):
        parts.append(_changes_box(ctx["changes"]))
    caps = captions(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(markdown_to_typst(caps.markdown.get(i, cell.source)))
        elif cell.cell_type == "code":
            outputs = cell.get("outputs", [])
            shown = (
                _output(o, report_dir, caps.figures.get((i, j))) for j, o in enumerate(outputs)
            )
            parts += [s for s in shown if s]
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
