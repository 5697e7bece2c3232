"""report.html: the page's own rules for tables and provenance, through the real template."""

import os
import re

import nbformat
import pytest

from labbook import tables
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
