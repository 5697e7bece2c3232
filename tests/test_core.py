"""Shared core: paths, style, figure saving, tables, findings, provenance, params validation."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from labbook import figures, inputs, paths, style, tables
from labbook.findings import Findings
from labbook.runner import params as params_mod
from labbook.runner import provenance


def test_paths_are_absolute_and_rooted():
    assert paths.ROOT.is_absolute() and (paths.ROOT / "pyproject.toml").exists()
    assert paths.report_dir("nb", "v") == paths.ROOT / "reports" / "nb" / "v"
    assert paths.resolve_input("examples/x.json") == paths.ROOT / "examples" / "x.json"
    assert paths.resolve_input("/abs/x.json").as_posix() == "/abs/x.json"
    assert paths.relative(paths.ROOT / "params" / "x.yaml") == "params/x.yaml"
    assert paths.relative("/elsewhere/x.json") == "/elsewhere/x.json"
    assert paths.is_example_input(paths.EXAMPLES / "a" / "b.json")
    assert not paths.is_example_input(paths.ROOT / "params" / "x.yaml")


def test_style_sizes_and_purity():
    half, full = style.paper("half"), style.paper("full", ncols=2)
    assert half["figure.figsize"][0] == pytest.approx(3.25)
    assert full["figure.figsize"][0] == pytest.approx(6.75)
    assert half["figure.figsize"][1] == pytest.approx(3.25 / ((1 + 5**0.5) / 2), rel=0.05)
    assert half["pdf.fonttype"] == 42 and half["svg.hashsalt"]
    before = dict(plt.rcParams)
    style.paper("half")
    assert dict(plt.rcParams) == before  # no global state touched
    with pytest.raises(ValueError):
        style.paper("third")


@pytest.mark.parametrize(
    "venue,half,full",
    [
        ("icml", 3.25, 6.75),
        ("aistats", 3.25, 6.75),
        ("neurips", 2.75, 5.5),
        ("iclr", 2.75, 5.5),
        ("jmlr", 3.0, 6.0),
        ("tmlr", 3.25, 6.5),
    ],
)
def test_venue_widths_and_fonts(venue, half, full):
    assert style.paper("half", venue=venue)["figure.figsize"][0] == pytest.approx(half)
    assert style.paper("full", venue=venue, ncols=2)["figure.figsize"][0] == pytest.approx(full)
    assert style.paper("full", venue=venue)["font.size"] >= 8
    with pytest.raises(ValueError, match="venue must be one of"):
        style.paper("full", venue="nature")


def test_method_colors_stable_and_distinct():
    a = style.method_colors(["b", "a", "c", "a"])
    assert list(a) == ["b", "a", "c"] and len(set(a.values())) == 3
    assert style.method_colors(["b", "a", "c"]) == a
    many = style.method_colors([f"m{i}" for i in range(14)])
    assert len(set(many.values())) == 14


def _figure():
    with plt.rc_context(style.paper("half")):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 3, 2], label="x")
        ax.legend()
    return fig


def test_figure_save_is_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "315532800")
    first = figures.save(_figure(), tmp_path / "a", "fig")
    second = figures.save(_figure(), tmp_path / "b", "fig")
    assert [p.suffix for p in first] == [".png", ".pdf"]
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes()
    pdf = first[1].read_bytes()
    assert b"/Producer" not in pdf and b"/CreationDate" not in pdf
    assert b"Software" not in first[0].read_bytes()
    with pytest.raises(ValueError):
        figures.save(_figure(), tmp_path, "../escape")


def test_tables_csv_full_precision_and_booktabs_latex(tmp_path):
    df = pd.DataFrame({"Method": ["a_b", "c%"], "Accuracy (%)": [1.2345678, 5.0]})
    csv, tex = tables.save(df, tmp_path, "t", caption="Cap & more")
    assert pd.read_csv(csv).equals(df)  # the CSV keeps every digit
    text = tex.read_text()
    for token in (
        r"\toprule",
        r"\midrule",
        r"\bottomrule",
        r"a\_b",
        r"c\%",
        r"Accuracy (\%)",
        "1.23",
        "5.00",
        r"\caption{Cap \& more}",
        r"\label{tab:t}",
        r"\begin{table}",
    ):
        assert token in text, token
    assert tables.save(df, tmp_path, "only_csv", latex=False) == [tmp_path / "only_csv.csv"]
    with pytest.raises(ValueError, match="caption"):
        tables.save(df, tmp_path, "no_caption")


def test_long_table_goes_to_latex_as_longtable(tmp_path):
    df = pd.DataFrame({"epoch": range(1, 141), "accuracy": np.linspace(0.1, 0.9, 140)})
    _, tex = tables.save(df, tmp_path, "long", caption="Per epoch.")
    text = tex.read_text()
    assert (
        text.startswith(r"\begin{longtable}{rr}")
        and r"\endhead" in text
        and r"\caption{Per epoch.}" in text
    )


def test_present_rounds_per_column_and_keeps_integers():
    df = pd.DataFrame(
        {
            "name": ["x", "y", None],
            "acc": [78.4381, 76.41, 2.1999999999999886],
            "frac": [0.06, 1.0, 0.06],
            "lr": [0.0001, np.nan, np.nan],
            "epochs": [12.0, 12.0, 30.0],
            "macs": [210000000.0, 1.2e8, 2.4e8],
            "small": [0.6978, 0.6971, 0.6984],
        }
    )
    shown = tables.present(df)
    cols = dict(zip(shown.columns, zip(*shown.rows)))
    assert cols["name"] == ("x", "y", "–")
    assert cols["acc"] == ("78.4", "76.4", "2.2")  # 3 significant digits at the column's magnitude
    assert cols["frac"] == ("0.06", "1.00", "0.06")  # no more digits than the values have
    assert cols["lr"] == ("0.0001", "–", "–")
    assert cols["epochs"] == ("12", "12", "30")  # whole numbers as integers
    assert cols["macs"] == ("210,000,000", "120,000,000", "240,000,000")
    assert cols["small"] == ("0.698", "0.697", "0.698")
    assert shown.numeric == [False, True, True, True, True, True, True]


def test_present_intervals_in_wide_form():
    long = pd.DataFrame(
        [
            {"method": m, "metric": k, "estimate": e, "lower": e - 0.0004, "upper": e + 0.0005}
            for m, e in (("A", 0.6978), ("B", 0.69))
            for k in ("iqm", "mean")
        ]
    )
    wide, spec = tables.interval_wide(long, "method", "metric", {"iqm": "IQM", "mean": "Mean"})
    assert list(wide.columns) == [
        "method",
        "IQM estimate",
        "IQM lower",
        "IQM upper",
        "Mean estimate",
        "Mean lower",
        "Mean upper",
    ]
    shown = tables.present(wide, intervals=spec)
    assert shown.columns == ["method", "IQM", "Mean"]
    assert shown.rows[0] == ["A", "0.6978 [0.6974, 0.6983]", "0.6978 [0.6974, 0.6983]"]
    html = shown.to_html()
    assert "<table" in html and "0.6978 [0.6974, 0.6983]" in html and "index" not in html


def test_present_escapes_html():
    shown = tables.present(pd.DataFrame({"name": ['<img src=x onerror="alert(1)">']}))
    assert "<img" not in shown.to_html() and "&lt;img" in shown.to_html()


def test_findings_text_and_json(tmp_path):
    f = Findings()
    f.add("best", "{m} leads by {d:.1f} points", m="A", d=np.float64(1.26))
    with pytest.raises(ValueError):
        f.add("best", "again")
    with pytest.raises(TypeError):
        f.add("bad", "{x}", x=object())
    f.write(tmp_path / "f.json")
    data = json.loads((tmp_path / "f.json").read_text())
    assert data == {
        "best": {
            "text": "A leads by 1.3 points",
            "values": {"m": "A", "d": 1.26},
            "verdict": None,
            "winner": None,
            "ranking": None,
        }
    }
    assert f.markdown() == "- A leads by 1.3 points"


def test_inputs_record_hash_and_errors(tmp_path):
    inputs.clear()
    p = tmp_path / "x.json"
    p.write_text('{"a": 1}')
    assert inputs.read_json(p) == {"a": 1}
    rec = inputs.recorded()
    assert (
        rec[0]["path"] == str(p.resolve()) and len(rec[0]["sha256"]) == 64 and rec[0]["bytes"] == 8
    )
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(inputs.InputError, match=r"bad\.json: malformed JSON"):
        inputs.read_json(tmp_path / "bad.json")
    with pytest.raises(inputs.InputError, match="file not found"):
        inputs.read_json(tmp_path / "missing.json")
    inputs.clear()


def test_provenance_stamp():
    prov = provenance.stamp(
        "nb",
        "v",
        {"a": 1},
        [{"path": str(paths.ROOT / "x"), "sha256": "0" * 64, "bytes": 3}],
        1.5,
        "ok",
    )
    assert prov["git"]["commit"] is None or len(prov["git"]["commit"]) == 40
    assert prov["inputs"][0]["path"] == "x" and prov["packages"]["pandas"]


# ---------------------------------------------------------------- params validation

NOTEBOOK_CELL = """from typing import Optional

output_dir: str = ""  # set by the runner
data_file: str = None  # required input file
optional_file: Optional[str] = None  # may be None
reps: int = 10  # replicates; at least 1
alpha: float = 0.5  # smoothing
flag: bool = False  # a switch
names: list = ["a"]  # names
labels: dict[str, str] = {}  # method -> name
seeds: list[int] = []  # seeds
confidence: float = 0.95  # confidence level; in (0, 1)
tolerance: float = 0.01  # drop still kept; in [0, 1]
column: str = "full"  # width, one of "half", "full"
"""


@pytest.fixture()
def notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(NOTEBOOK_CELL)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def _params(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_params_valid(notebook, tmp_path):
    p = _params(tmp_path, "data_file: x.json\nreps: 3\nalpha: 1\nflag: true\noptional_file: null\n")
    assert params_mod.validate(p, notebook) == {
        "data_file": "x.json",
        "reps": 3,
        "alpha": 1,
        "flag": True,
        "optional_file": None,
    }


@pytest.mark.parametrize(
    "text,match",
    [
        ("data_file: x\nrepz: 3\n", r"p\.yaml: unknown key 'repz'"),
        ("reps: 3\n", r"p\.yaml: missing required key 'data_file'"),
        ("data_file: x\nreps: three\n", r"p\.yaml: key 'reps' must be int, got str"),
        ("data_file: x\nreps: true\n", r"key 'reps' must be int, got bool"),
        ("data_file: x\nalpha: [1]\n", r"key 'alpha' must be float"),
        ("data_file: null\n", r"key 'data_file' must be str"),
        ("data_file: x\noutput_dir: /tmp\n", r"'output_dir' is set by the runner"),
        (
            "data_file: x\nconfidence: 95\n",
            r"p\.yaml: key 'confidence' = 95 is outside its allowed range \(0, 1\)",
        ),
        (
            "data_file: x\ntolerance: -0.1\n",
            r"key 'tolerance' = -0.1 is outside its allowed range \[0, 1\]",
        ),
        ("data_file: x\nreps: 0\n", r"key 'reps' = 0 is outside its allowed range at least 1"),
        (
            "data_file: x\nlabels: {bp: 3}\n",
            r"key 'labels' must be dict\[str, str\]; at \['bp'\]: input should be a valid string",
        ),
        (
            "data_file: x\nseeds: [1, two]\n",
            r"key 'seeds' must be list\[int\]; at \[1\]: input should be a valid integer, got "
            r"'two'",
        ),
        (
            "data_file: x\ncolumn: ful\n",
            r"key 'column' = 'ful' is not one of 'half', 'full'; did you mean 'full'\?",
        ),
        ("data_file: x\nconfidnce: 0.9\n", r"unknown key 'confidnce'; did you mean 'confidence'\?"),
        ("- just\n- a list\n", "must be a mapping"),
        ("data_file: [unclosed\n", "not valid YAML"),
    ],
)
def test_params_errors_name_file_and_key(notebook, tmp_path, text, match):
    with pytest.raises(params_mod.ParamsError, match=match):
        params_mod.validate(_params(tmp_path, text), notebook)


def test_every_problem_of_a_file_is_reported_at_once(notebook, tmp_path):
    with pytest.raises(params_mod.ParamsError) as err:
        params_mod.validate(_params(tmp_path, "confidence: 95\nrepz: 3\nseeds: [1, x]\n"), notebook)
    lines = str(err.value).splitlines()
    assert len(lines) == 4 and all(line.startswith(str(tmp_path / "p.yaml")) for line in lines)
    assert any("'repz'; did you mean 'reps'" in line for line in lines)
    assert any("missing required key 'data_file'" in line for line in lines)


def test_parameter_papermill_cannot_read_is_an_error(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'output_dir: str = ""  # runner\nband: float = 0.01  # 0.01 = 1 point\n'
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    with pytest.raises(params_mod.ParamsError, match=r"\['band'\].*cannot be read by papermill"):
        params_mod.notebook_params(tmp_path / "nb.ipynb")


def test_every_notebook_parameter_is_typed_and_documented():
    for nb in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        declared = params_mod.notebook_params(nb)
        assert "output_dir" in declared, nb
        for p in declared.values():
            assert p.help, f"{nb.name}: parameter {p.name} has no # comment"


def test_every_default_fits_its_domain():
    for nb in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        for p in params_mod.notebook_params(nb).values():
            if p.default is not None:
                assert params_mod.check_value(p, p.default) == [], (nb.name, p.name)


def test_every_params_file_validates():
    for p in sorted(paths.PARAMS.glob("*/*.yaml")):
        params_mod.validate(p, paths.notebook_path(p.parent.name))


def test_notebooks_are_committed_without_outputs():
    for nb_path in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, nb_path.name


def test_no_eval_of_data_in_src_or_notebooks():
    import re

    pattern = re.compile(r"(^|[^_.\w])eval\(")
    for path in list(paths.SRC.rglob("*.py")) + list(paths.NOTEBOOKS.glob("*.ipynb")):
        assert not pattern.search(path.read_text()), path


def test_report_writes_findings_inputs_and_warnings(tmp_path, capsys):
    from labbook.report import Report

    rep = Report(tmp_path / "out", "nb")
    inputs.read_json(paths.EXAMPLES / "chain_of_experts" / "baseline.json")
    rep.finding("k", "value {v:.1f}", v=2.25)
    rep.warn("run r3 left out: no accuracy")
    rep.note("no convergence file")
    rep.table(pd.DataFrame({"a": [1]}), "t", "A table.", latex=False)
    rep.figure(_figure(), "f")
    rep.finish()
    printed = capsys.readouterr().out
    assert "Warning: run r3 left out" in printed and "Note: no convergence file" in printed
    record = json.loads((tmp_path / "out" / "inputs.json").read_text())
    assert record["example_data"] is True and record["warnings"] == ["run r3 left out: no accuracy"]
    assert record["inputs"][0]["path"].endswith("baseline.json")
    assert json.loads((tmp_path / "out" / "findings.json").read_text())["k"]["text"] == "value 2.2"
    assert (tmp_path / "out" / "figures" / "f.pdf").exists() and (
        tmp_path / "out" / "tables" / "t.csv"
    ).exists()
    inputs.clear()


def test_report_restores_the_warning_handler_it_replaced(tmp_path):
    import warnings

    from labbook.report import Report

    before = warnings.showwarning
    rep = Report(tmp_path / "out", "nb")
    assert warnings.showwarning != before
    warnings.warn("careful", UserWarning, stacklevel=1)
    rep.finish()
    assert warnings.showwarning == before
    assert json.loads((tmp_path / "out" / "inputs.json").read_text())["warnings"] == [
        "UserWarning: careful"
    ]
    inputs.clear()


def test_report_notes_each_repair_under_its_figure_and_records_it(tmp_path, capsys):
    """A figure mended to fit a narrow column says so, neutrally, right after it, and the
    record the runner turns into provenance lists each change."""
    from labbook.report import Report

    rep = Report(tmp_path / "out", "nb")
    with plt.rc_context(style.paper("full", venue="neurips", ncols=3)):
        fig, axes = plt.subplots(1, 3)
        for ax in axes:
            ax.plot([0, 1, 2], [0.2, 0.5, 0.4])
            ax.set_title("Offline cosine with the BP gradient per layer")
        rep.figure(fig, "narrow")
        clean, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        rep.figure(clean, "clean")
    rep.finish()
    printed = capsys.readouterr().out
    assert "Note: Figure `narrow` fitted to its 5.50 in width: the title of panel 1 of 3" in printed
    assert "`clean` fitted" not in printed
    record = json.loads((tmp_path / "out" / "inputs.json").read_text())
    assert record["figure_problems"] == []
    repairs = record["figure_repairs"]
    assert {r["figure"] for r in repairs} == {"narrow"}
    assert {"wrapped_text"} <= {r["kind"] for r in repairs}
    inputs.clear()
