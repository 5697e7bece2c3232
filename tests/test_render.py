"""report.html: the page's own rules for tables and provenance, through the real template."""

import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

from labbook import contract, tables
from labbook.runner import render

LONG_PATH = "examples/generated/credit_assignment/cifar10/seed42/results_cifar10.json"


def _prov(**git) -> dict:
    return {
        "report": "nb/variant",
        "status": "ok",
        "seconds": 1.0,
        "git": {"commit": "0123456789abcdef", "dirty": False, **git},
        "params_file": "params/nb/variant.yaml",
        "params": {},
        "figure_problems": [],
        "figure_repairs": [],
        "warnings": [],
        "packages": {},
        "inputs": [],
    }


def _page(prov: dict) -> str:
    shown = tables.Presented(
        columns=["seed", "file", "epochs"], rows=[["42", LONG_PATH, "100"]], numeric=[0, 0, 1]
    )
    out = nbformat.v4.new_output("display_data", data={"text/html": shown.to_html()})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("t", outputs=[out])])
    return render.html(nb, render.context(prov, None))


def _rules(html: str, selector: str) -> str:
    """The declarations of every CSS rule in the page's <style> blocks for *selector*."""
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S))
    styles = re.sub(r"/\*.*?\*/", "", styles, flags=re.S)  # comments
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", styles)
    return " ".join(body for sel, body in rules if selector in [s.strip() for s in sel.split(",")])


def test_text_cells_wrap_long_unbroken_strings_instead_of_overlapping():
    html = _page(_prov())
    assert f'<td class="txt">{LONG_PATH}</td>' in html
    declarations = _rules(html, "table.labbook-table td.txt")
    # a path has no space to break at: without this the cell's text runs over the next column;
    # break-word (not anywhere) breaks only a word too long for the cell, never "Segmentation"
    assert re.search(r"overflow-wrap:\s*break-word", declarations), declarations
    assert re.search(r"max-width:\s*32em", declarations), declarations
    assert "nowrap" in _rules(html, "table.labbook-table td.num")  # numbers never break


def test_footer_says_why_the_commit_is_unknown_when_git_did_not_answer():
    error = "`git status --porcelain` did not finish within 30 s"
    html = _page(_prov(commit=None, dirty=None, error=error))
    assert "Git commit unknown: `git status --porcelain` did not finish within 30 s" in html
    assert "not a git checkout" not in html
    assert "<code>0123456789ab</code>" in _page(_prov())


def test_a_typst_run_that_does_not_end_fails_the_pdf_naming_typst(tmp_path, monkeypatch):
    import threading

    import typst

    release = threading.Event()

    def hung(*args, **kwargs):
        release.wait(60)
        raise RuntimeError("released")

    monkeypatch.setattr(typst, "compile", hung)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
    try:
        with pytest.raises(TimeoutError, match=r"Typst did not typeset report.pdf within 0.2 s"):
            render.pdf(nb, render.context(_prov(), None), tmp_path, tmp_path / "r.pdf", 0.2)
    finally:
        release.set()
    assert not (tmp_path / "r.pdf").exists() and not (tmp_path / ".report.typ").exists()


def test_git_that_does_not_answer_is_bounded_and_named(tmp_path, monkeypatch):
    from labbook.runner import provenance

    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$3" = rev-parse ] && { echo abc; exit 0; }\nexec sleep 60\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    state = provenance.git_state(tmp_path, timeout=0.5)
    assert state == {
        "commit": None,
        "dirty": None,
        "error": "`git status --porcelain` did not finish within 0.5 s",
    }


def test_an_empty_table_typesets(tmp_path):
    import typst

    from labbook.runner import render

    data = {"columns": ["run", "acc"], "numeric": [False, True], "rows": [], "caption": "None."}
    source = tmp_path / "t.typ"
    source.write_text(render._table(data))
    assert typst.compile(str(source))[:4] == b"%PDF"


# ---------------------------------------------------------------- tables that fit the page


def _wide(rows: int = 3, columns: int = 17) -> tables.Presented:
    head = ["Run", "Approach"] + [f"Metric number {i} [min, max]" for i in range(columns - 2)]
    body = [[f"run_{r}", "gating"] + ["0.714 [0.713, 0.716]"] * (columns - 2) for r in range(rows)]
    return tables.Presented(head, body, [False, False] + [True] * (columns - 2))


def test_a_wide_table_is_shown_in_column_groups_that_repeat_the_key_and_fit():
    wide = _wide()
    assert sum(wide.widths()) > tables.HTML_ROOM_EM  # too wide for the page as one table
    parts = wide.groups(tables.HTML_ROOM_EM)
    assert len(parts) > 1
    for part in parts:
        assert part.columns[0] == "Run"  # "Run" alone names every row: the key, repeated
        assert sum(part.widths()) <= tables.HTML_ROOM_EM
        assert [r[0] for r in part.rows] == ["run_0", "run_1", "run_2"]
    shown = [c for part in parts for c in part.columns[1:]]
    assert shown == wide.columns[1:]  # every other column once, in order
    assert all(
        part.rows[k][1:] == [wide.rows[k][wide.columns.index(c)] for c in part.columns[1:]]
        for part in parts
        for k in range(3)
    )
    narrow = tables.Presented(["a", "b"], [["x", "1"]], [False, True])
    assert narrow.groups(tables.HTML_ROOM_EM) == [narrow]


def test_the_key_is_the_shortest_run_of_leading_columns_unique_per_row():
    t = tables.Presented(
        ["Type", "Epoch", "Acc"], [["a", "1", "0.5"], ["a", "2", "0.6"]], [False, True, True]
    )
    assert t.keys() == 2
    assert tables.Presented(["x", "y"], [["a", "1"], ["a", "1"]], [False, True]).keys() == 1


def test_the_html_of_a_wide_table_is_one_table_per_group_each_said_to_continue():
    wide = _wide()
    html = wide.to_html()
    parts = wide.groups(tables.HTML_ROOM_EM)
    assert html.count("<table") == len(parts)
    assert f"Continued (2 of {len(parts)})" in html and "Continued (1 of" not in html


def test_the_pdf_shows_a_wide_table_in_groups_at_its_size_and_text_copies_cleanly(tmp_path):
    import typst
    from pypdf import PdfReader

    data = dict(_wide().to_json(), caption="A wide table.")
    data["rows"][0][0] = "examples/generated/run_with_a_long_name.json"
    size, parts = render._table_layout(tables.Presented.from_json(data))
    assert size == render.SPLIT_SIZE and len(parts) > 1
    room = 72 * render.PAGE_WIDTH_IN / size
    assert all(sum(p.widths()) <= room for p in parts)
    source = tmp_path / "t.typ"
    source.write_text('#set text(font: "DejaVu Sans")\n' + render._table(data))
    (tmp_path / "t.pdf").write_bytes(typst.compile(str(source)))
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "t.pdf").pages)
    text = text.replace("\xa0", " ")  # Typst joins "Table" and its number with a no-break space
    assert "\u200b" not in text and "\u200b" not in source.read_text()
    assert "Table 1: A wide table." in text and f"Continued (2 of {len(parts)})" in text
    assert "0.714 [0.713, 0.716]" in text  # a number is never broken


def test_text_cells_break_after_underscores_without_adding_a_character():
    assert render._cell("a_b c", False) == "#box[a\\_]#box[b] c"
    assert render._cell("Acc. per GFLOP", False) == "Acc. per GFLOP"  # spaces stay spaces
    assert render._cell("0.5 [0.4, 0.6]", True) == "#box[0.5 \\[0.4, 0.6\\]]"


# ---------------------------------------------------------------- figures: numbers and captions


def _figure_output(name: str):
    return nbformat.v4.new_output(
        "display_data",
        data={"image/png": "iVBORw0KGgo=", "text/plain": f"<figure {name}>"},
        metadata={"labbook": {"figure": name}},
    )


def _sections_notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            md("# Title\n\nWhat the report shows, `x` included."),
            code("a", outputs=[_figure_output("early")]),
            md("## Curves\nAccuracy per epoch, mean over\nseeds."),
            code("b", outputs=[_figure_output("curves"), _figure_output("curves_by_type")]),
            md("## No sentence"),
            code("c", outputs=[_figure_output("bare")]),
            md("## Findings\nEvery sentence is computed."),
        ]
    )


def _figure_files(folder: Path) -> None:
    (folder / "figures").mkdir()
    for name in ("early", "curves", "curves_by_type", "bare"):
        fig = plt.figure(figsize=(2, 1))
        fig.savefig(folder / "figures" / f"{name}.pdf")
        plt.close(fig)


def test_every_figure_is_numbered_and_captioned_by_its_sections_sentence(tmp_path):
    _figure_files(tmp_path)
    nb = _sections_notebook()
    caps = render.captions(nb)
    assert caps.figures == {
        (1, 0): (1, "`early`"),  # before any section: its name
        (3, 0): (2, "Accuracy per epoch, mean over seeds."),
        (3, 1): (3, "Accuracy per epoch, mean over seeds."),
        (5, 0): (4, "No sentence"),  # a section without a sentence: its title
    }
    assert caps.markdown == {2: "## Curves\n"}  # the sentence moved to the captions
    table = tables.Presented(["a"], [["1"]], [True])
    nb.cells[5].outputs.append(
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": '<p class="labbook-caption">Counts.</p>' + table.to_html(),
                contract.TABLE_MIME: dict(table.to_json(), caption="Counts."),
            },
        )
    )
    html = render.html(nb, render.context(_prov(), None))
    assert '<p class="labbook-caption"><b>Table 1:</b> Counts.</p>' in html
    assert "<b>Figure 2:</b> Accuracy per epoch, mean over seeds.</p>" in html
    assert html.count("Accuracy per epoch, mean over") == 2  # in the two captions only
    assert "Every sentence is computed." in html  # a section without a figure keeps its text
    source = render.typst_source(nb, render.context(_prov(), None), tmp_path)
    assert "caption: [Accuracy per epoch, mean over seeds.]" in source


def test_the_pdf_has_numbered_figure_captions_and_its_title_and_subject(tmp_path):
    from pypdf import PdfReader

    _figure_files(tmp_path)
    nb = _sections_notebook()
    prov = dict(_prov(), title="Title")
    render.pdf(nb, render.context(prov, None), tmp_path, tmp_path / "r.pdf")
    reader = PdfReader(tmp_path / "r.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    text = text.replace("\xa0", " ")
    for k in range(1, 5):
        assert f"Figure {k}:" in text
    assert "Figure 2: Accuracy per epoch, mean over seeds." in text
    assert reader.metadata.title == "Title — nb/variant"
    assert reader.metadata.subject == "What the report shows, x included."


# ---------------------------------------------------------------- provenance


def test_an_aim_repository_is_listed_once_with_the_folders_make_watches(tmp_path):
    from labbook.runner import provenance

    root = tmp_path / "store"
    recorded = [
        {"path": str(root), "sha256": "d1", "bytes": None},
        {"path": str(root / ".aim" / "meta" / "chunks"), "sha256": "d1", "bytes": None},
        {"path": str(root / ".aim" / "meta" / "index"), "sha256": "d1", "bytes": None},
        {"path": str(tmp_path / "other.json"), "sha256": "d2", "bytes": 10},
    ]
    assert provenance.merged_inputs(recorded) == [
        {**recorded[0], "watched": [".aim/meta/chunks", ".aim/meta/index"]},
        recorded[3],
    ]


def test_real_runs_name_their_tracker_and_the_script_that_trained_them():
    from labbook import paths
    from labbook.runner import experiments, provenance

    store = paths.EXAMPLES / "generated" / "credit_assignment_digits" / "mlflow.db"
    scripts = provenance.experiment_scripts(store)
    assert scripts == [
        experiments.FOLDER / "credit_assignment.py",
        experiments.FOLDER / "common.py",
    ]
    assert provenance.experiment_scripts(paths.EXAMPLES / "chain_of_experts" / "x.json") == []
    prov = {
        "inputs": [
            {
                "path": "examples/generated/credit_assignment_digits/mlflow.db",
                "tracker": "mlflow",
                "trained_by": ["examples/experiments/credit_assignment.py"],
            },
            {"path": "examples/x.json"},
        ]
    }
    assert provenance.source_line(prov) == (
        "Runs read from the MLflow store examples/generated/credit_assignment_digits/mlflow.db, "
        "trained by examples/experiments/credit_assignment.py."
    )
    assert provenance.source_line({"inputs": [{"path": "examples/x.json"}]}) is None


def test_a_heading_near_the_foot_of_a_page_goes_to_the_next_page_with_its_figure(tmp_path):
    from pypdf import PdfReader

    (tmp_path / "figures").mkdir()
    fig = plt.figure(figsize=(6, 3))
    fig.savefig(tmp_path / "figures" / "late.pdf")
    plt.close(fig)
    filler = "\n\n".join(f"Paragraph {k} of text that fills the first page." for k in range(30))
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# Title\n\n{filler}"),
            nbformat.v4.new_markdown_cell("## Late section\nWhat the late figure shows."),
            nbformat.v4.new_code_cell("f", outputs=[_figure_output("late")]),
        ]
    )
    render.pdf(nb, render.context(_prov(), None), tmp_path, tmp_path / "r.pdf")
    pages = [page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages]
    # the filler leaves room on page 1 for the heading and its sentence, not for the figure: the
    # sentence is the figure's caption (render.captions), and the heading sticks to the figure
    assert "Paragraph 29" in pages[0]
    assert "Late section" not in pages[0]  # the heading did not stay behind at the foot
    assert "Late section" in pages[1] and "What the late figure shows." in pages[1]


def test_a_text_cell_never_breaks_inside_a_number():
    """PDF table cells break after _ / . in names and paths, never inside a number: "+0.028" and
    "was 0.0001" stay whole (the reviewer read "+0.␤028" on a page)."""
    cell = render._cell("+0.028 (was 0.0001) share α < 0.5 run.name a/b", False)
    assert cell.startswith("\\+0.028 (was 0.0001) share α \\< 0.5 #box[run.]")
    assert "#box[run.]#box[name]" in cell and "#box[a\\/]#box[b]" in cell
