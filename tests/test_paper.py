"""Papers over the reports (labbook.runner.paper, `make paper`): dependencies read from the paper,
numbers that no longer exist named, numbers that changed said, and the example paper's PDF."""

import json
import re
import shutil
from pathlib import Path

import pypdf
import pytest

from labbook import numbers, paths
from labbook.runner import paper, sandbox

FINDINGS = {
    "ranking": {
        "text": "DFA has the highest mean accuracy, 96.5% (95% t-interval 95.9%–97.2%, 5 seeds).",
        "values": {
            "best": "DFA",
            "mean": 0.9652,
            "lower": 0.9591,
            "upper": 0.9718,
            "n": 5,
            "confidence": 0.95,
        },
        "verdict": "not_separated",
        "winner": None,
        "ranking": ["DFA", "BP"],
    }
}


@pytest.fixture
def papers(tmp_path, monkeypatch):
    """A paper folder and a reports folder of their own, with one report (nb/v) built."""
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(paper, "PAPERS", tmp_path / "paper")
    monkeypatch.setattr(paper, "BUILD", tmp_path / "paper" / "build")
    folder = tmp_path / "reports" / "nb" / "v"
    folder.mkdir(parents=True)
    (folder / "findings.json").write_text(json.dumps(FINDINGS))
    numbers.write(folder, "nb/v", FINDINGS)
    (tmp_path / "paper").mkdir()
    return tmp_path


def test_the_reports_a_paper_uses_are_read_from_its_strings():
    typ = (
        '#import "/reports/credit_assignment/digits/numbers.typ": *\n'
        '#report-figure("/reports/moe_analysis/cifar10", "curves", [x])\n'
        '#let r = "/reports/credit_assignment/digits"\n'
        'See "reports" and /reports/not/a_string.\n'
    )
    assert paper.reports_in(typ) == ["credit_assignment/digits", "moe_analysis/cifar10"]
    tex = (
        "\\input{../reports/credit_assignment/digits/numbers.tex}\n"
        "\\includegraphics[width=\\linewidth]{../reports/sparse_training/good/figures/a.pdf}\n"
    )
    assert paper.reports_in(tex, tex=True) == ["credit_assignment/digits", "sparse_training/good"]


def test_dependencies_name_the_report_stamps_and_every_source(papers):
    (papers / "paper" / "labbook.typ").write_text("#let helper(x) = x\n")
    (papers / "paper" / "p.typ").write_text(
        '#import "labbook.typ": helper\n#import "/reports/nb/v/numbers.typ": *\n#nbVRankingMean\n'
    )
    assert paper.names() == ["p"]
    assert paper.reports("p") == ["nb/v"]
    deps = paper.deps("p").splitlines()
    assert deps[0].endswith(
        ": " + " ".join(paths.relative(papers / "paper" / f) for f in ("p.typ", "labbook.typ"))
    )
    assert deps[1].endswith("p.pdf: reports/nb/v/.ok")


def test_a_number_the_report_no_longer_has_is_named_with_its_report(papers):
    (papers / "paper" / "p.typ").write_text(
        '#import "/reports/nb/v/numbers.typ": *\n'
        "Mean #nbVRankingMean.\n"
        "Gap #nbVRankingMargin and #nbVRankingMeen.\n"
    )
    with pytest.raises(paper.PaperError) as failed:
        paper.build("p")
    said = str(failed.value).splitlines()
    assert said[0].startswith("the paper uses numbers that report nb/v no longer has")
    assert said[1].endswith(
        "p.typ:3: nbVRankingMargin (closest it has: nbVRankingMean, nbVRankingN)"
    )
    assert said[2].endswith("p.typ:3: nbVRankingMeen (closest it has: nbVRankingMean, nbVRankingN)")
    assert not (papers / "paper" / "build" / "p.pdf").exists()


def test_typst_unknown_variable_is_said_as_a_missing_number():
    error = paper.PaperError("Typst could not typeset p.typ:\nerror: unknown variable: nbVGone")
    said = paper._unknown(error, {"nb/v": {"nbVRankingMean": "96.5%"}})
    assert said.startswith("the paper uses numbers that report nb/v no longer has")
    assert said.splitlines()[1] == "  nbVGone"
    other = paper._unknown(paper.PaperError("unknown variable: x"), {"nb/v": {}})
    assert "x, which no report it imports defines" in other


def test_changed_numbers_are_said_old_to_new_with_the_cause():
    old = {"a": {"report": "nb/v", "text": "96.5%"}, "b": {"report": "nb/v", "text": "5"}}
    new = {"a": {"report": "nb/v", "text": "95.9%"}, "b": {"report": "nb/v", "text": "5"}}
    assert paper.changed(old, new, {"nb/v": "rebuilt; cause: input x changed"}) == [
        "a: 96.5% → 95.9% (nb/v)",
        "nb/v: rebuilt; cause: input x changed",
    ]


def test_scaffold_makes_a_paper_that_builds(papers):
    folder = papers / "reports" / "nb" / "v"
    (folder / "figures").mkdir()
    shutil.copy(paths.ROOT / "paper" / "labbook.typ", papers / "paper" / "labbook.typ")
    made = paper.scaffold("draft", ["nb/v"])
    assert [p.name for p in made] == ["draft.typ", "draft.tex"]
    assert "\\input{../reports/nb/v/numbers.tex}" in made[1].read_text()
    assert paper.reports("draft") == ["nb/v"]
    assert "#nbVRanking" in made[0].read_text()
    with pytest.raises(paper.PaperError, match="exists"):
        paper.scaffold("draft", ["nb/v"])
    with pytest.raises(paper.PaperError, match="not built"):
        paper.scaffold("other", ["nb/none"])


# ---------------------------------------------------------------- the example paper, built


def _text(pdf: Path) -> str:
    """The PDF's text with every space and line break removed (Typst may break a line anywhere
    between words)."""
    return "".join("".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages).split())


def _snapshot(root: Path) -> dict:
    return json.loads((root / "paper" / "build" / "paper.numbers.json").read_text())


@pytest.fixture(scope="module")
def paper_tree(example_build, tmp_path_factory) -> Path:
    """A copy of the built tree with credit_assignment/digits only, and the paper folder."""
    root = tmp_path_factory.mktemp("paper") / "tree"
    sandbox.copy_built(example_build, root, ["credit_assignment/digits"])
    shutil.copytree(paths.ROOT / "paper", root / "paper", ignore=shutil.ignore_patterns("build"))
    return root


def check_example_paper(root: Path) -> None:
    """`make paper` in *root*: the PDF prints the numbers of findings.json as the report prints
    them; a changed input (the params file: 90% intervals) changes them in the next `make paper`,
    which names each changed macro, old → new, with the report's cause; a number the report no
    longer has (DFA left out) stops the build naming it and the report."""
    report = "credit_assignment/digits"
    first = sandbox.make(root, "paper")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "first build" in first.stdout
    findings = json.loads((root / "reports" / report / "findings.json").read_text())
    made = {m.name: m for m in numbers.macros(report, findings)}
    used = _snapshot(root)
    text = _text(root / "paper" / "build" / "paper.pdf")
    assert len(used) >= 15
    for name, item in used.items():
        macro = made[name]
        assert macro.value == item["text"]
        assert "".join(item["text"].split()) in text, name
        if macro.note == "as the sentence prints it":  # a piece of the report's sentence
            assert macro.value in findings[macro.finding]["text"], name
    assert "creditAssignmentDigitsRankingMean" in used

    params = root / "params" / report
    yaml = params.with_suffix(".yaml")
    yaml.write_text(yaml.read_text() + "confidence: 0.9\n")  # an input of the report changes
    second = sandbox.make(root, "paper")
    assert second.returncode == 0, second.stdout + second.stderr
    after = _snapshot(root)
    moved = {m: (used[m]["text"], after[m]["text"]) for m in used if used[m] != after[m]}
    assert moved["creditAssignmentDigitsRankingConfidence"] == ("95%", "90%")
    assert "creditAssignmentDigitsRankingInterval" in moved  # a narrower interval
    for name, (old, new) in moved.items():
        assert f"{name}: {old} → {new} ({report})" in second.stdout
    # the cause, from the report's change report: the input that changed
    assert f"{report}: rebuilt, " in second.stdout and "params: confidence " in second.stdout
    text = _text(root / "paper" / "build" / "paper.pdf")
    assert all("".join(new.split()) in text for _, new in moved.values())

    yaml.write_text(yaml.read_text().replace("methods: [bp, fa, dfa]", "methods: [bp, fa]"))
    third = sandbox.make(root, "paper")
    assert third.returncode != 0
    assert f"the paper uses numbers that report {report} no longer has" in third.stderr
    assert re.search(
        r"paper/paper.typ:\d+: creditAssignmentDigitsMarginDfaDiff \(closest", third.stderr
    )


def test_example_paper_prints_the_report_numbers_and_says_what_changed(paper_tree):
    check_example_paper(paper_tree)
