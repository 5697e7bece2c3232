"""The runner and make behaviour, end to end, in a copy of the project tree.

One `make -j2 figures` (the session's shared build, conftest.example_build) builds every params
file plus those tests/build_inputs.py adds: one whose data are broken (the notebook fails), one
with an unknown key (fails before a kernel starts), one with modified data (findings must follow
the data), crafted and hostile inputs. A test that rebuilds incrementally does it in a copy.
"""

import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from labbook import numbers
from labbook.runner import sandbox, targets
from tests.build_inputs import HOSTILE


def _make(tree: Path, *args: str):
    return sandbox.make(tree, *args)


@pytest.fixture(scope="module")
def tree(example_build, example_build_make):
    """The session's shared build (conftest.py; its crafted inputs: build_inputs.py) and its
    `make -j2 figures`. Read-only: a test that changes the tree works on a copy."""
    return example_build, example_build_make


def _report(tree: Path, name: str) -> Path:
    return tree / "reports" / "chain_of_experts" / name


def _summary_line(output: str, name: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(f"chain_of_experts/{name} ")]
    assert lines, f"no line for {name} in:\n{output}"
    return lines[-1]


def test_build_reports_status_per_report(tree):
    root, first = tree
    out = first.stdout + first.stderr
    assert first.returncode != 0, out  # some reports failed
    for name in ("example", "multiseed", "modified"):
        assert " ok " in _summary_line(out, name), out
    broken = _summary_line(out, "broken")
    assert (
        "FAILED" in broken
        and "InputError" in broken
        and "broken.json" in broken
        and "cell " in broken
    )
    invalid = _summary_line(out, "invalid")
    assert "FAILED" in invalid and "Invalid parameters" in invalid and "not_a_parameter" in invalid


def test_report_folder_layout(tree):
    root, _ = tree
    rep = _report(root, "example")
    for name in (
        "report.html",
        "executed.ipynb",
        "findings.json",
        "numbers.tex",
        "numbers.typ",
        "provenance.json",
        "inputs.d",
        ".ok",
    ):
        assert (rep / name).is_file(), name
    pngs = sorted(p.stem for p in (rep / "figures").glob("*.png"))
    assert pngs and pngs == sorted(p.stem for p in (rep / "figures").glob("*.pdf"))
    assert {
        "method_comparison",
        "ablation_experts",
        "entropy_regularization",
        "gate_heatmaps",
        "block_entropy_confidence",
        "accuracy_vs_cost",
    } <= set(pngs)
    assert (rep / "tables" / "summary.csv").exists() and (rep / "tables" / "summary.tex").exists()
    leftovers = [p.name for p in rep.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers  # no half-written temporary folders


def test_html_banner_provenance_and_hidden_code(tree):
    root, _ = tree
    html = (_report(root, "example") / "report.html").read_text()
    assert "Example data (simulated) — not experimental results" in html
    assert "Provenance" in html and "sha256" in html
    assert "No convergence data" in html  # the absent optional file gives a visible note
    assert "import matplotlib" not in html  # input hidden by default
    assert "ChainSequential has the highest top-1 accuracy" in html and "not evidence" in html


def test_failed_report_keeps_html_with_error(tree):
    root, _ = tree
    rep = _report(root, "broken")
    html = (rep / "report.html").read_text()
    assert "malformed JSON" in html and "broken.json" in html
    assert not (rep / ".ok").exists()
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "FAILED" and "InputError" in prov["failing_cell"]
    invalid = _report(root, "invalid")
    assert (
        "unknown key &#x27;not_a_parameter&#x27;" in (invalid / "report.html").read_text()
        or "unknown key 'not_a_parameter'" in (invalid / "report.html").read_text()
    )


def test_executed_notebook_normalized(tree):
    root, _ = tree
    nb = json.loads((_report(root, "example") / "executed.ipynb").read_text())
    assert "papermill" not in nb["metadata"]
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == len(ids)
    for c in nb["cells"]:
        assert "papermill" not in c["metadata"] and "execution" not in c["metadata"]
    assert ".tmp." not in json.dumps(nb)


def test_provenance_and_inputs_d(tree):
    root, _ = tree
    rep = _report(root, "example")
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "ok" and prov["example_data"] is True and prov["seconds"] > 0
    assert prov["params"]["baseline"] == "baseline"
    read = {i["path"]: i["sha256"] for i in prov["inputs"]}
    base = "examples/chain_of_experts/baseline.json"
    assert read[base] == hashlib.sha256((root / base).read_bytes()).hexdigest()
    deps = (rep / "inputs.d").read_text()
    assert deps.startswith("reports/chain_of_experts/example/.ok:")
    for d in (
        "notebooks/chain_of_experts.ipynb",
        "params/chain_of_experts/example.yaml",
        "src/labbook/stats.py",
        base,
    ):
        assert d in deps
    modified = json.loads((_report(root, "modified") / "provenance.json").read_text())
    assert modified["example_data"] is False


def test_findings_follow_the_data(tree):
    root, _ = tree
    example = json.loads((_report(root, "example") / "findings.json").read_text())
    modified = json.loads((_report(root, "modified") / "findings.json").read_text())
    assert example["best_method"]["values"]["best"] == "ChainSequential"
    assert example["improvement_chain_seq"]["values"]["diff"] == pytest.approx(2.2)
    assert example["experts_plateau"]["values"]["x"] == 4
    assert modified["best_method"]["values"]["best"] == "Base Backbone"
    assert (
        "single seed" in modified["best_method"]["text"]
    )  # one seed each: an order, never a winner claim
    assert "still rising" in modified["experts_plateau"]["text"]
    assert modified["improvement_chain_seq"]["values"]["diff"] == pytest.approx(78.6 - 80.5)
    multiseed = json.loads((_report(root, "multiseed") / "findings.json").read_text())
    assert multiseed["best_method"]["values"]["ties"] == [
        "ChainParallelFixed"
    ]  # CIs overlap: not told apart
    assert "cannot be told apart" in multiseed["best_method"]["text"]
    assert "pareto_gflops" not in multiseed  # every method is on the front: no sentence


def test_index_gallery(tree):
    root, _ = tree
    index = (root / "reports" / "index.html").read_text()
    for name in ("example", "multiseed", "modified", "broken", "invalid"):
        assert f"chain_of_experts/{name}/report.html" in index
    assert "figures/method_comparison.png" in index and "FAILED" in index


def _outputs(rep: Path) -> dict[str, bytes]:
    files = (
        list((rep / "figures").iterdir())
        + list((rep / "tables").iterdir())
        + [rep / "findings.json", rep / "numbers.tex", rep / "numbers.typ"]
    )
    return {p.name: p.read_bytes() for p in files}


def test_noop_then_incremental_and_deterministic(tree, tmp_path):
    # on a copy of the built tree (file times kept): the other tests read the shared build as made
    root = sandbox.copy_built(tree[0], tmp_path / "tree")
    for name in ("broken", "invalid"):  # leave only reports that succeed
        (root / "params" / "chain_of_experts" / f"{name}.yaml").unlink()
        shutil.rmtree(_report(root, name))
    stamp_files = sorted(root.glob("reports/*/*/.ok"))
    n_params = len(list(root.glob("params/*/*.yaml")))
    assert len(stamp_files) == n_params
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in stamp_files}
    before = _outputs(_report(root, "example"))

    noop = _make(root, "-j2", "figures")
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert {p.parent.name: p.stat().st_mtime_ns for p in stamp_files} == stamps
    assert f"{n_params} ok, 0 failed" in noop.stdout

    time.sleep(1.1)  # make compares mtimes
    (root / "params" / "chain_of_experts" / "example.yaml").touch()  # params changed
    (root / "userdata" / "modified" / "entropy.json").touch()  # a data file the report read changed
    again = _make(root, "-j2", "figures")
    assert again.returncode == 0, again.stdout + again.stderr
    after = {p.parent.name: p.stat().st_mtime_ns for p in stamp_files}
    for name in set(stamps) - {"example", "modified"}:
        assert after[name] == stamps[name], name  # untouched reports not rebuilt
    assert after["example"] > stamps["example"] and after["modified"] > stamps["modified"]
    assert _outputs(_report(root, "example")) == before  # byte-identical figures, tables, findings


def test_same_data_give_the_same_bytes_whatever_the_run_hashes(tree):
    root, _ = tree
    a, b = (root / "reports" / "moe_analysis" / f"twin_{t}" for t in ("a", "b"))
    assert (a / ".ok").exists() and (b / ".ok").exists()
    out_a, out_b = _outputs(a), _outputs(b)
    assert out_a.keys() == out_b.keys() and len(out_a) > 10
    # the numbers files name their macros after the report (moe_analysis/twin_a): the same
    # bytes once each report's own name is put back
    for out, report in ((out_a, "moe_analysis/twin_a"), (out_b, "moe_analysis/twin_b")):
        for name in ("numbers.tex", "numbers.typ"):
            own = numbers.camel(report).encode()
            assert own in out[name]
            out[name] = out[name].replace(own, b"REPORT").replace(report.encode(), b"REPORT")
    different = [name for name in out_a if out_a[name] != out_b[name]]
    assert different == []


def test_sparse_training_reports(tree):
    root, _ = tree
    good = root / "reports" / "sparse_training" / "good"
    bad = root / "reports" / "sparse_training" / "misbehaving"
    good_findings = json.loads((good / "findings.json").read_text())
    bad_findings = json.loads((bad / "findings.json").read_text())
    assert (
        good_findings["checks"]["values"]["passed"]
        == good_findings["checks"]["values"]["evaluated"]
        == 5  # energy savings = 1 − activation rate is a data validation, not a check
    )
    assert bad_findings["checks"]["values"]["passed"] == 0
    assert "activation rate within the target band" in bad_findings["checks"]["values"]["failed"]
    html = (bad / "report.html").read_text()
    assert (
        "FAIL" in html and "Lower `energy_pressure` (was 0.2)" in html and "will not help" in html
    )
    assert {"architecture", "training_dashboard", "threshold_adaptation", "baseline_vs_gated"} <= {
        p.stem for p in (good / "figures").glob("*.png")
    }
    assert (good / "tables" / "checks.csv").exists() and not (
        good / "tables" / "checks.tex"
    ).exists()


def test_credit_assignment_reports(tree):
    root, _ = tree
    cifar = json.loads(
        (root / "reports" / "credit_assignment" / "cifar10" / "findings.json").read_text()
    )
    mnist = json.loads(
        (root / "reports" / "credit_assignment" / "mnist" / "findings.json").read_text()
    )
    assert (
        cifar["state_vs_credit"]["values"]["method"] == "State Bridge"
    )  # true in the cifar10 data: annotated
    assert "state_vs_credit" not in mnist  # the mnist state bridge is not last: no annotation
    assert cifar["ranking"]["values"]["n"] == 3 and mnist["ranking"]["values"]["n"] == 4
    assert mnist["ranking"]["text"].startswith("Backprop has the highest mean final test accuracy")
    assert mnist["ranking"]["values"]["n"] == 4
    assert {"margin_dfa", "margin_state_bridge"} <= set(
        mnist
    ) and "margin_credit_bridge" not in mnist
    figures = {
        p.stem
        for p in (root / "reports" / "credit_assignment" / "cifar10" / "figures").glob("*.png")
    }
    assert figures == {
        "accuracy_curves",
        "diagnostics",
        "feature_drift",
        "state_vs_credit",
        "final_accuracy",
        "interval_estimates",
        "probability_of_improvement",
    }
    assert (
        "predicts the network state best"
        in (root / "reports" / "credit_assignment" / "cifar10" / "report.html").read_text()
    )
    assert (
        "predicts the network state best"
        not in (root / "reports" / "credit_assignment" / "mnist" / "report.html").read_text()
    )


def test_nonlinearity_reduction_reports(tree):
    root, _ = tree
    base = root / "reports" / "nonlinearity_reduction"
    mnist = json.loads((base / "mnist" / "findings.json").read_text())
    cifar = json.loads((base / "cifar10" / "provenance.json").read_text())
    assert mnist["min_nonlinear_mnist"]["values"]["ratio"] == 0.5
    assert mnist["gating_pattern_1"]["values"]["linear_layers"] == ["fc1"]  # sparsity 0.01 ...
    assert mnist["gating_pattern_2"]["values"]["linear_layers"] == [
        "fc1",
        "fc2",
    ]  # ... and 0.05, not pooled
    assert cifar["warnings"] == ["Run `cifar10_fixed_60_s0_crashed` skipped: meta.json missing"]
    assert "cifar10_fixed_60_s0_crashed" in (base / "cifar10" / "report.html").read_text()
    summary = (base / "cifar10" / "tables" / "summary.csv").read_text()
    assert "gating: share α < 0.5" in summary and ",config," in summary
    assert {
        "accuracy_vs_ratio",
        "latency_vs_accuracy",
        "val_curves",
        "val_curves_subset",
        "gating_dynamics",
        "alpha_distributions",
        "generalization_gap",
        "accuracy_vs_flops",
        "activation_stats",
    } <= {p.stem for p in (base / "mnist" / "figures").glob("*.png")}
    html = (
        (base / "cifar10" / "report.html")
        .read_text()
        .replace("<code>", "`")
        .replace("</code>", "`")
    )
    assert "No run has `activation_stats.json`" in html


def test_moe_analysis_reports(tree):
    root, _ = tree
    for dataset in ("mnist", "cifar10", "cinic10"):
        rep = root / "reports" / "moe_analysis" / dataset
        findings = json.loads((rep / "findings.json").read_text())
        assert {"best_type", "best_iqm", "entropy_accuracy", "cheapest_not_worse"} <= set(findings)
        assert f"validation accuracy on {dataset}" in findings["best_type"]["text"]
        assert {"summary", "summary_by_epoch", "entropy", "interval_estimates"} <= {
            p.stem for p in (rep / "tables").glob("*.tex")
        }
        assert {p.stem for p in (rep / "figures").glob("*.png")} == {
            "accuracy_loss_curves",
            "accuracy_by_type",
            "memory_usage",
            "cpu_time",
            "expert_activations",
            "accuracy_vs_entropy",
            "interval_estimates",
            "probability_of_improvement",
            "hardware_usage",
        }
    assert not list(
        (root / "examples" / "generated" / "moe_aim").rglob("*.arrow")
    )  # cache lives in .cache
    assert list((root / ".cache" / "labbook" / "aim").glob("*.arrow"))


FAILING = {"chain_of_experts/broken", "chain_of_experts/invalid"}  # built to fail (build_inputs)


def _built_reports(root: Path) -> list[Path]:
    """The folder of every report of *root*'s params files (the repo's and the crafted ones) but
    FAILING, each checked built: a loop over them covers every report the shared build must
    make, and never passes empty."""
    expected = {f"{p.parent.name}/{p.stem}" for p in root.glob("params/*/*.yaml")} - FAILING
    built = {f"{p.parent.parent.name}/{p.parent.name}" for p in root.glob("reports/*/*/.ok")}
    assert built == expected and set(targets.names()) <= expected, (
        f"not built: {sorted(expected - built)}; built but not expected: {sorted(built - expected)}"
    )
    return [root / "reports" / name for name in sorted(built)]


def test_every_figure_is_shown_once_in_html_and_notebook(tree):
    root, _ = tree
    reports = _built_reports(root)
    assert len(reports) >= 11
    for rep in reports:
        pngs = sorted(p.stem for p in (rep / "figures").glob("*.png"))
        html = (rep / "report.html").read_text()
        assert html.count("<img") - html.count(', previous build"') == len(pngs), rep
        nb = json.loads((rep / "executed.ipynb").read_text())
        shown = [
            o["metadata"]["labbook"]["figure"]
            for c in nb["cells"]
            for o in c.get("outputs", [])
            if "figure" in o.get("metadata", {}).get("labbook", {})
        ]
        assert sorted(shown) == pngs, rep  # each saved figure displayed exactly once


def test_example_reports_pass_the_figure_check_and_read_cleanly(tree):
    import re

    root, _ = tree
    for rep in _built_reports(root):
        prov = json.loads((rep / "provenance.json").read_text())
        if not prov["example_data"]:
            continue
        assert prov["figure_problems"] == [], (rep, prov["figure_problems"])
        html = (rep / "report.html").read_text()
        text = re.sub(r'src="data:[^"]+"', "", html)
        assert "&amp;#" not in text and "&#x27;" not in text, rep  # no entity escaped twice
        assert str(root) not in text and not re.search(r"(/tmp/|/home/|/root/)", text), rep
        assert "Traceback" not in text, rep
        assert "<script src=" not in html, rep  # nothing loaded from the network


def test_every_report_has_a_pdf_with_its_findings_and_vector_figures(tree):
    from pypdf import PdfReader

    root, _ = tree
    for rep in _built_reports(root):
        pdf = PdfReader(rep / "report.pdf")
        if (
            rep.name == "hostile"
        ):  # right-to-left names are reordered by text extraction: see the hostile test
            continue
        text = " ".join(
            " ".join((page.extract_text() or "").replace("\u200b", "").split())
            for page in pdf.pages
        )
        findings = json.loads((rep / "findings.json").read_text())
        for finding in findings.values():
            words = finding["text"].split()[:6]  # the start of every finding, as typeset
            assert " ".join(words) in text, (rep, finding["text"])
        assert "Provenance" in text
        prov = json.loads((rep / "provenance.json").read_text())
        if prov["example_data"]:
            assert "Example data (simulated)" in text
        figures_in_pdf = 0
        for page in pdf.pages:
            res = page.get("/Resources")
            xobjects = res.get_object().get("/XObject") if res else None
            figures_in_pdf += len(xobjects.get_object()) if xobjects else 0
        assert figures_in_pdf >= len(list((rep / "figures").glob("*.pdf"))), (
            rep
        )  # embedded as PDF forms


def test_reports_show_only_report_items(tree):
    """Every output a reader sees came through the Report: a figure, a table, a note, a warning or
    the findings. No stray value (a cell ending in an expression), print or stderr text."""
    root, _ = tree
    for rep in _built_reports(root):
        nb = json.loads((rep / "executed.ipynb").read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                assert out["output_type"] == "display_data", (
                    rep,
                    out["output_type"],
                    str(out)[:300],
                )
                data, meta = out["data"], out.get("metadata", {})
                assert "labbook" in meta or "application/vnd.labbook.table+json" in data, (
                    rep,
                    str(out)[:300],
                )


def _findings(root: Path, name: str) -> dict:
    return json.loads((root / "reports" / name / "findings.json").read_text())


def test_nonlinearity_findings_on_crafted_runs(tree):
    root, _ = tree
    rep = root / "reports" / "nonlinearity_reduction" / "crafted"
    assert (rep / ".ok").exists(), (rep / "provenance.json").read_text()
    f = _findings(root, "nonlinearity_reduction/crafted")
    kept = f["min_nonlinear_crafted"]
    assert kept["values"]["none_kept"] is True  # #17.4: nothing can be linearized
    assert kept["text"].startswith(
        "crafted: no tested reduction keeps the accuracy within 1.0 points"
    )
    assert "the smallest linear ratio tested, 20%, already drops it by 3.05 points" in kept["text"]
    eff = f["most_efficient"][
        "text"
    ]  # #17.5: the top of the ranking costs accuracy, and the text says so
    assert (
        "belongs to crafted_fixed_80_s" in eff
        and "costs 4.90 points" in eff
        and "the most efficient is crafted_fixed_0_s" in eff
    )
    groups = {
        v["values"]["group"]: v for k, v in f.items() if k.startswith("gating_pattern")
    }  # #17.6: not pooled
    assert set(groups) == {"crafted, sparsity_weight = 0.01", "crafted, sparsity_weight = 0.1"}
    assert (
        "(crafted, sparsity_weight = 0.1; 1 run)"
        in groups["crafted, sparsity_weight = 0.1"]["text"]
    )
    sensitivity = [v["text"] for k, v in f.items() if k.startswith("layer_sensitivity")]
    assert sensitivity and all(
        "matters most" not in t and "needs a per-layer ablation" in t for t in sensitivity
    )  # 7
    single = [v for k, v in f.items() if k.startswith("versus_") and v["values"]["n"] == 1]
    assert single and "one run, so no interval and no claim" in single[0]["text"]  # #17.8
    text = " ".join(v["text"] for v in f.values())
    import re

    for wrong in (r"(?<![\d.])1 runs", r"(?<![\d.])0% linear the", r"on average over 1 run\b"):
        assert not re.search(wrong, text), wrong


def test_credit_near_tie_and_one_task(tree):
    root, _ = tree
    f = _findings(root, "credit_assignment/near_tie")
    ranking = f["ranking"]  # #17.9: the top two are not separated, and the sentence says so
    assert {ranking["values"]["best"], *ranking["values"]["ties"]} >= {"Alpha", "BP"}
    assert "cannot be told apart" in ranking["text"] and "3 seeds" in ranking["text"]
    html = (root / "reports" / "credit_assignment" / "near_tie" / "report.html").read_text()
    # #17.1: with one task and three seeds the median and IQM equal the mean; the report says why
    assert "Median not shown" in html and "IQM not shown" in html
    prov = json.loads(
        (root / "reports" / "credit_assignment" / "near_tie" / "provenance.json").read_text()
    )
    assert prov["status"] == "ok" and prov["figure_problems"] == []


def test_credit_with_one_seed_builds_every_section_it_can(tree):
    root, _ = tree
    rep = root / "reports" / "credit_assignment" / "one_seed"
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "ok", prov.get(
        "failing_cell"
    )  # #17.11: one run is a normal first look
    html = (rep / "report.html").read_text()
    assert "need at least 2 seeds per method" in html
    assert {"accuracy_curves", "final_accuracy"} <= {
        p.stem for p in (rep / "figures").glob("*.png")
    }
    assert "single seed" in _findings(root, "credit_assignment/one_seed")["ranking"]["text"]


@pytest.mark.parametrize(
    "notebook",
    [
        "chain_of_experts",
        "credit_assignment",
        "nonlinearity_reduction",
        "sparse_training",
        "moe_analysis",
    ],
)
def test_hostile_names_are_shown_as_written_and_never_run(tree, notebook):
    import html as html_mod
    import re

    root, _ = tree
    rep = root / "reports" / notebook / "hostile"
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "ok", prov.get("failing_cell")  # nothing breaks
    page = (rep / "report.html").read_text()
    assert "<img src=x" not in page and "<script>document" not in page  # no markup from data
    text = html_mod.unescape(re.sub(r"<[^>]*>", " ", page))  # what a reader sees, markup removed
    shown = [n for n in HOSTILE if n in text]
    findings = (rep / "findings.json").read_text()
    used = [n for n in HOSTILE if json.dumps(n)[1:-1] in findings or n in findings]
    assert shown, "no hostile name appears in the report"  # names are shown...
    for n in used:  # ... and every name a finding quotes is in the page as written (escaped once)
        assert n == "\u202eevil" or n in shown, n
    if "\u202eevil" in used:
        assert "⟨U+202E⟩evil" in page  # a direction override is shown, not obeyed
    assert (rep / "report.pdf").exists()
    for tex in (rep / "tables").glob("*.tex"):
        text = tex.read_text()
        assert "<img" not in text or "\\textless{}img" in text
        assert "R&D" not in text and "50%" not in text.replace("\\%", "")  # specials escaped


# ---------------------------------------------------------------- gallery and summary (no build)


def _fake_report(root: Path, name: str, title: str, **prov) -> Path:
    """A params file and a built report folder for *name* under *root* (params/, reports/)."""
    notebook, variant = name.split("/")
    (root / "params" / notebook).mkdir(parents=True, exist_ok=True)
    (root / "params" / notebook / f"{variant}.yaml").write_text("{}\n")
    folder = root / "reports" / notebook / variant
    (folder / "figures").mkdir(parents=True)
    for figure in prov.get("figures", []):
        (folder / "figures" / f"{figure}.png").write_bytes(b"png")
    record = {"status": "ok", "seconds": 1.0, "built_at": "2026-12-07T00:00:00+00:00"}
    record.update(title=title, **prov)
    (folder / "provenance.json").write_text(json.dumps(record))
    (folder / ".ok").write_text("")
    return folder


@pytest.fixture
def fake_tree(tmp_path, monkeypatch):
    from labbook import paths

    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path


def test_gallery_cards_say_failed_checks_the_data_and_a_distinct_title_in_order(fake_tree):
    from labbook.runner import build

    sparse = _fake_report(
        fake_tree, "sparse_training/digits", "Sparse", trained=["Real training runs: 1 run"]
    )
    verdicts = {"speedup": "fail", "accuracy": "pass", "savings": "fail"}
    findings = {k: {"text": f"{k} sentence", "verdict": v} for k, v in verdicts.items()}
    (sparse / "findings.json").write_text(json.dumps(findings))
    for variant in ("tensorboard", "example"):
        _fake_report(
            fake_tree,
            f"chain_of_experts/{variant}",
            "Chain-of-experts analysis",
            example_data=True,
            figures=["zeta", "alpha"],
        )
    _fake_report(fake_tree, "chain_of_experts/mine", "Chain-of-experts analysis", warnings=["w"])
    page = build.index_html()
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert titles == [  # by notebook, then variant; each title its own
        "Chain-of-experts analysis · example",
        "Chain-of-experts analysis · mine",
        "Chain-of-experts analysis · tensorboard",
        "Sparse · digits",
    ]
    cards = page.split('<div class="card')[1:]
    assert "checks-failed" in cards[3] and "2 failed verdict(s)" in cards[3]
    assert "<li>speedup sentence</li><li>savings sentence</li>" in cards[3]
    assert "accuracy sentence" not in cards[3]
    assert "data: real runs" in cards[3]
    assert "data: simulated" in cards[0] and "data: the user&#39;s" in cards[1]
    assert "1 warning(s)" in cards[1] and "checks-failed" not in cards[1]
    # thumbnails in the order the report shows its figures, not by file name
    assert cards[0].index("figures/zeta.png") < cards[0].index("figures/alpha.png")


def test_a_failed_reports_whole_message_is_in_the_summary_wrapped(fake_tree, capsys):
    from labbook.runner import build

    message = (
        "cell 4 (Inputs): InputError: no run attribute `tag:aim.experiment` in store x; the runs "
        "have none\nset `trained_from` to one of: " + ", ".join(f"`attr{i}`" for i in range(30))
    )
    _fake_report(fake_tree, "nb/bad", "Bad", status="FAILED", failing_cell=message)
    assert build.summary(["nb/bad"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("nb/bad "))
    assert "FAILED" in line and line.endswith("have none")  # the first line of the message, whole
    rest = out[out.index("have none") :]
    assert "set `trained_from` to one of:" in rest and "`attr29`" in rest  # nothing cut
    assert all(len(x) <= build.WRAP for x in rest.splitlines()[1:-1])  # the rest wrapped


def test_the_failing_cell_keeps_the_whole_error_message():
    import nbformat

    from labbook.runner import build

    evalue = "first line\n" + "x" * 500
    error = nbformat.v4.new_output("error", ename="InputError", evalue=evalue, traceback=[])
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## Inputs"),
            nbformat.v4.new_code_cell("", outputs=[error]),
        ]
    )
    cell = build._failing_cell(nb)
    assert cell.error == f"InputError: {evalue}" and cell.section == "Inputs"
