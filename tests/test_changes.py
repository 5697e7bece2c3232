"""The change report (labbook.runner.changes): what a rebuild changed since the last good build, and
why. Unit tests of the comparison, then one light report (chain_of_experts on three small result
files) rebuilt in a copy of the tree: a value that takes a winner away, a params edit, a comment
edited in a core module, a failed and a killed rebuild, the summary line, the gallery mark and
`make changes`."""

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labbook import inputs
from labbook.report import row_keys
from labbook.runner import changes, sandbox

# ---------------------------------------------------------------- findings


def _finding(text, values=None, verdict=None, winner=None, ranking=None):
    return {
        "text": text,
        "values": values or {},
        "verdict": verdict,
        "winner": winner,
        "ranking": ranking,
    }


def test_a_verdict_change_is_read_from_the_structured_fields_never_from_the_sentence():
    old = {
        "best": _finding("A is best.", {"mean": 0.9}, "separated", "A", ["A", "B"]),
        "check": _finding("The check passes.", {}, "pass"),
        "order": _finding("A, B, C.", {}, "untested", None, ["A", "B", "C"]),
        "same_words": _finding("Same sentence.", {"n": 3}, "better", "A"),
        "reworded": _finding("Old words.", {"n": 3}, "better", "A"),
        "gone": _finding("Removed later.", {}),
    }
    new = {
        "best": _finding(
            "B leads; not separated.", {"mean": 0.8}, "not_separated", None, ["B", "A"]
        ),
        "check": _finding("The check passes.", {}, "fail"),
        "order": _finding("A, B, C.", {}, "untested", None, ["A", "C", "B"]),
        "same_words": _finding("Same sentence.", {"n": 3}, "worse", "B"),
        "reworded": _finding("New words.", {"n": 4}, "better", "A"),
        "added": _finding("New finding.", {}, "rises"),
    }
    out = changes.findings_changes(old, new)
    says = {v["key"]: v["says"] for v in out["verdicts"]}
    assert says == {
        "best": "best: A → no winner",
        "check": "check: pass → fail",
        "order": "order: ranking reordered from place 2 (B → C)",
        "same_words": "same_words: A → B",  # the sentence did not change; its winner did
    }
    assert next(v for v in out["verdicts"] if v["key"] == "best")["fields"] == [
        "verdict",
        "winner",
        "ranking",
    ]
    changed = {c["key"]: c for c in out["changed"]}
    assert set(changed) == {"best", "check", "order", "same_words", "reworded"}
    assert changed["reworded"]["verdict_changed"] is False  # new words, same conclusion
    assert changed["reworded"]["values"] == {"n": {"old": 3, "new": 4}}
    assert changed["best"]["old"] == "A is best." and changed["best"]["new"].startswith("B leads")
    assert [a["key"] for a in out["added"]] == ["added"] and out["added"][0]["verdict"] == "rises"
    assert [r["key"] for r in out["removed"]] == ["gone"]
    assert changes.findings_changes(old, old) == {
        "verdicts": [],
        "changed": [],
        "added": [],
        "removed": [],
    }


# ---------------------------------------------------------------- tables


def _csv(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False, lineterminator="\n")
    return path


def test_table_rows_are_matched_by_their_keys_and_cells_listed_largest_change_first(tmp_path):
    old = pd.DataFrame(
        {
            "Method": ["A", "B", "C"],
            "Accuracy": [0.90, 0.80, 0.70],
            "Seeds": [3, 3, 3],
            "Note": ["x", "y", "z"],
        }
    )
    new = pd.DataFrame(
        {
            "Method": ["D", "B", "A"],  # C removed, D added, rows reordered
            "Accuracy": [0.60, 0.40, 0.90 * (1 + 1e-12)],  # A within 1e-9: not a change
            "Seeds": [3, 3, 5],
            "Note": ["w", "y", "x!"],
        }
    )
    out = changes.table_changes(
        _csv(tmp_path / "old.csv", old), _csv(tmp_path / "new.csv", new), ["Method"]
    )
    assert out["matched_by"] == "keys" and out["keys"] == ["Method"]
    assert (out["rows_added"], out["rows_removed"]) == (1, 1)
    assert out["added"][0]["Method"] == "D" and out["removed"][0]["Method"] == "C"
    cells = [(c["row"]["Method"], c["column"], c["old"], c["new"]) for c in out["cells"]]
    assert cells == [
        ("A", "Note", "x", "x!"),  # text has no relative size: listed first
        ("A", "Seeds", 3.0, 5.0),  # relative 2/3
        ("B", "Accuracy", 0.8, 0.4),  # relative 1/2
    ]
    assert [c["relative"] for c in out["cells"]] == [None, pytest.approx(2 / 3), 0.5]
    assert out["cells_changed"] == 3
    same = _csv(tmp_path / "same.csv", old)
    assert changes.table_changes(same, _csv(tmp_path / "copy.csv", old), ["Method"]) is None


def test_rows_fall_back_to_position_when_the_keys_do_not_name_each_row_once(tmp_path):
    old = pd.DataFrame({"Type": ["a", "a"], "Value": [1.0, 2.0]})
    new = pd.DataFrame({"Type": ["a", "a"], "Value": [1.0, 3.0]})
    out = changes.table_changes(
        _csv(tmp_path / "o.csv", old), _csv(tmp_path / "n.csv", new), ["Type"]
    )
    assert out["matched_by"] == "position" and out["keys"] is None
    assert out["cells"] == [
        {"row": {"row": "2"}, "column": "Value", "old": 2.0, "new": 3.0, "relative": 0.5}
    ]


def test_cell_change_tolerance_and_empty_cells():
    assert changes.cell_change("1.0", "1.0000000000001") is None
    assert changes.cell_change("", "") is None
    assert changes.cell_change("1.0", "1.00001")["relative"] == pytest.approx(1e-5)
    assert changes.cell_change("", "2.5") == {"old": None, "new": 2.5, "relative": None}
    assert changes.cell_change("0", "2") == {"old": 0.0, "new": 2.0, "relative": None}


def test_table_row_keys_declared_or_the_shortest_unique_run_of_leading_columns():
    by_epoch = pd.DataFrame({"Type": ["a", "a", "b"], "Epoch": [1, 2, 1], "Acc": [0.1, 0.2, 0.3]})
    assert row_keys(by_epoch, "t") == ["Type", "Epoch"]
    checks = pd.DataFrame({"Name": ["loss", "acc"], "Status": ["pass", "pass"]})
    assert row_keys(checks, "t") == ["Name"]
    assert row_keys(pd.DataFrame({"x": [1, 1], "y": [2, 2]}), "t") is None
    assert row_keys(by_epoch, "t", keys=["Type", "Epoch"]) == ["Type", "Epoch"]
    with pytest.raises(ValueError, match="table 't': key columns \\['Type'\\] name some rows"):
        row_keys(by_epoch, "t", keys=["Type"])
    with pytest.raises(ValueError, match="key column\\(s\\) \\['Run'\\] not among"):
        row_keys(by_epoch, "t", keys=["Run"])


# ---------------------------------------------------------------- figures


def _png(path: Path, pixels: np.ndarray, level: int = 6) -> Path:
    Image.fromarray(pixels).save(path, compress_level=level)
    return path


def test_figures_are_compared_on_their_decoded_pixels(tmp_path):
    base = np.full((40, 50, 4), 255, dtype=np.uint8)
    moved = base.copy()
    moved[:10, :5, :3] = 0  # 50 of 2000 pixels
    a = _png(tmp_path / "a.png", base, level=1)
    b = _png(tmp_path / "b.png", base, level=9)  # other bytes, the same pixels
    assert a.read_bytes() != b.read_bytes() and changes.figure_change(a, b) is None
    out = changes.figure_change(a, _png(tmp_path / "c.png", moved))
    assert out == {"share": 50 / 2000, "size": None}
    wider = _png(tmp_path / "d.png", np.full((40, 60, 4), 255, dtype=np.uint8))
    out = changes.figure_change(a, wider)
    assert out == {"share": None, "size": {"old": [50, 40], "new": [60, 40]}}
    assert changes.figure_said(dict(out, name="f")) == "f: size changed from 50×40 to 60×40 px"


def test_figures_written_while_the_notebook_runs_are_compared_then_checked_by_content(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "figures").mkdir(parents=True)
    (new / "figures").mkdir(parents=True)
    base = np.full((30, 40, 4), 255, dtype=np.uint8)
    moved = base.copy()
    moved[:3, :4] = 0  # 12 of 1200 pixels
    _png(old / "figures" / "f.png", base)
    final = _png(tmp_path / "f.png", moved).read_bytes()
    watch = changes.FigureWatch(old, new, interval=0.01)
    (new / "figures" / "f.png").write_bytes(final[:60])  # caught half-written
    time.sleep(0.1)
    (new / "figures" / "f.png").write_bytes(final)
    # compared while "the notebook runs", however long a busy machine takes (pytest's timeout
    # bounds the wait)
    while not any(v is not None for v in watch.cache.values()):
        time.sleep(0.01)
    cache = watch.stop()
    assert list(cache.values()) == [{"share": 12 / 1200, "size": None}]
    assert watch.seconds > 0
    # a figure rewritten after it was compared is compared again, by its content
    (new / "figures" / "f.png").write_bytes(_png(tmp_path / "g.png", base).read_bytes())
    assert changes.figures_changes(old, new, dict(cache))["changed"] == []


# ---------------------------------------------------------------- causes


def _prov(**kw):
    prov = {
        "inputs": [{"path": "data/a.json", "sha256": "1", "bytes": 3}],
        "params": {"files": {"a": "data/a.json"}, "confidence": 0.95},
        "git": {"commit": "abc", "dirty": True},
        "code": {"src/labbook/stats.py": "s1", "notebooks/nb.ipynb": "n1"},
        "packages": {"numpy": "2.4.6"},
        "show_code": False,
    }
    prov.update(kw)
    return prov


def test_causes_name_inputs_runs_params_code_packages_and_options():
    old = _prov(
        inputs=[
            {"path": "data/a.json", "sha256": "1", "bytes": 3},
            {"path": "runs/", "sha256": "t1", "bytes": None, "runs": {"r1": "x", "r2": "y"}},
            {"path": "data/gone.json", "sha256": "g", "bytes": 1},
        ]
    )
    new = _prov(
        inputs=[
            {"path": "data/a.json", "sha256": "2", "bytes": 3},
            {"path": "runs/", "sha256": "t2", "bytes": None, "runs": {"r2": "z", "r3": "w"}},
        ],
        params={"files": {"a": "data/b.json"}, "confidence": 0.95, "column": "half"},
        code={"src/labbook/stats.py": "s2", "notebooks/nb.ipynb": "n1"},
        packages={"numpy": "2.5.0"},
        show_code=True,
    )
    c = changes.causes(old, new)
    assert c["inputs"]["removed"] == ["data/gone.json"]
    runs = next(i for i in c["inputs"]["changed"] if i["path"] == "runs/")["runs"]
    assert runs == {"added": ["r3"], "removed": ["r1"], "changed": ["r2"]}
    assert [(p["key"], p["old"], p["new"]) for p in c["params"]] == [
        ("column", None, "half"),
        ("files.a", "data/a.json", "data/b.json"),
    ]
    assert c["code"]["changed"] == ["src/labbook/stats.py"]
    assert changes.cause_parts(c) == [
        "data/a.json changed",
        "runs/ changed (1 run(s) added, 1 run(s) removed, 1 run(s) changed: r3, r1, r2)",
        "data/gone.json no longer read",
        "params: column (notebook default) → half",
        "params: files.a data/a.json → data/b.json",
        "src/labbook/stats.py edited",
        "numpy 2.4.6 → 2.5.0",
        "SHOW_CODE off → on",
    ]
    assert changes.cause_line(c).endswith("; and 4 more")
    assert changes.cause_line(changes.causes(old, old)).startswith("nothing recorded changed")


def test_tracker_runs_are_recorded_by_name_with_their_id_where_names_repeat(tmp_path):
    inputs.clear()
    inputs.record_directory(tmp_path, "digest")
    inputs.record_runs("digest", {"id1": "a", "id2": "b", "id3": "c"}, {"id1": "x", "id2": "x"})
    assert inputs.recorded()[0]["runs"] == {"id3": "c", "x (id1)": "a", "x (id2)": "b"}
    inputs.clear()


def test_a_tracker_store_names_the_runs_added_removed_and_changed(tmp_path):
    import shutil

    from labbook.runner import trackerwrite as tw
    from labbook.sources import trackers

    store = tmp_path / "tb"

    def write(values: dict[str, list[float]]) -> None:
        runs = [
            tw.TrackedRun(name, scalars={"acc": (np.arange(3), tw.float32_exact(v))})
            for name, v in values.items()
        ]
        tw.write_tensorboard(store, runs)

    def read() -> list[dict]:
        inputs.clear()
        trackers.read(f"tensorboard:{store}", use_cache=False)
        return inputs.recorded()

    write({"bp_s0": [0.1, 0.2, 0.3], "dfa_s0": [0.1, 0.1, 0.2], "fa_s0": [0.2, 0.2, 0.2]})
    old = read()
    shutil.rmtree(store / "fa_s0")
    shutil.rmtree(store / "dfa_s0")
    write({"dfa_s0": [0.1, 0.1, 0.25], "dfa_s1": [0.1, 0.2, 0.2]})  # bp_s0 left as it was
    new = read()
    inputs.clear()
    assert sorted(old[0]["runs"]) == ["bp_s0", "dfa_s0", "fa_s0"]
    changed = changes.input_changes(old, new)["changed"]
    assert changed[0]["runs"] == {"added": ["dfa_s1"], "removed": ["fa_s0"], "changed": ["dfa_s0"]}
    assert changes.cause_parts(changes.causes({"inputs": old}, {"inputs": new}))[0].endswith(
        "changed (1 run(s) added, 1 run(s) removed, 1 run(s) changed: dfa_s1, fa_s0, dfa_s0)"
    )


# ---------------------------------------------------------------- rebuilt reports

NAME = "chain_of_experts/flip"
METHODS = {
    "baseline": ("Base Backbone", [76.0, 76.1, 76.2], 45.2, 8.1),
    "chain_sequential": ("ChainSequential", [79.0, 79.1, 79.2], 47.3, 8.9),
    "chain_parallel": ("ChainParallelFixed", [78.0, 78.1, 78.2], 46.8, 8.4),
}
PARAMS = (
    "method_files:\n"
    "  baseline: userdata/flip/baseline.json\n"
    "  chain_seq: userdata/flip/chain_sequential.json\n"
    "  chain_par: userdata/flip/chain_parallel.json\n"
    "ablation_file: null\n"
    "entropy_file: null\n"
    "convergence_file: null\n"
)


def _write_method(root: Path, key: str, accuracy: list[float]) -> None:
    name, _, params_m, gflops = METHODS[key]
    doc = {"method": name, "accuracy": accuracy, "params_m": params_m, "gflops": gflops}
    (root / "userdata" / "flip" / f"{key}.json").write_text(json.dumps(doc))


def _build(root: Path) -> subprocess.CompletedProcess:
    return sandbox.run(root, ".venv/bin/python", "-m", "labbook.runner.build", "run", NAME)


def _report(root: Path) -> Path:
    return root / "reports" / NAME


def _changes(root: Path) -> dict:
    return json.loads((_report(root) / "changes.json").read_text())


def _kept(root: Path) -> dict:
    """The change report and the previous build's files, as bytes."""
    rep = _report(root)
    files = [rep / "changes.json", *sorted((rep / "previous").rglob("*"))]
    return {p.relative_to(rep): p.read_bytes() for p in files if p.is_file()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the tree whose only report is NAME, built once (its first build)."""
    # examples/ is not needed (the data are written below) and may be rewritten while copied
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sandbox, "COPIED", tuple(n for n in sandbox.COPIED if n != "examples"))
        root = sandbox.copy_tree(tmp_path_factory.mktemp("changes"))
    for p in root.glob("params/*/*.yaml"):
        p.unlink()
    (root / "userdata" / "flip").mkdir(parents=True)
    for key, (_, accuracy, _, _) in METHODS.items():
        _write_method(root, key, accuracy)
    (root / "params" / f"{NAME}.yaml").write_text(PARAMS)
    first = _build(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def test_a_first_build_says_it_is_the_first(tree):
    report = _changes(tree)
    assert report["first_build"] is True and report["headline"] == "first build"
    assert not (_report(tree) / "previous").exists()
    assert "First build of this report" in (_report(tree) / "report.html").read_text()


def test_a_value_that_takes_the_winner_away_names_verdict_finding_cells_and_input(tree):
    before = json.loads((_report(tree) / "findings.json").read_text())
    assert before["best_method"]["winner"] == "ChainSequential"
    start = time.time()
    _write_method(tree, "chain_sequential", [79.0, 79.1, 70.0])  # one seed's value
    built = _build(tree)
    assert built.returncode == 0, built.stdout + built.stderr
    report = _changes(tree)
    assert report["outputs_changed"] is True and report["first_build"] is False
    best = next(v for v in report["findings"]["verdicts"] if v["key"] == "best_method")
    assert best["old"]["winner"] == "ChainSequential" and best["new"]["winner"] is None
    assert best["says"] == "best_method: ChainSequential → no winner"
    finding = next(f for f in report["findings"]["changed"] if f["key"] == "best_method")
    assert finding["old"] == before["best_method"]["text"] and finding["verdict_changed"]
    assert "cannot be told apart" in finding["new"]
    summary = next(t for t in report["tables"]["changed"] if t["name"] == "summary")
    assert summary["keys"] == ["Method"]
    accuracy = next(c for c in summary["cells"] if c["column"] == "Accuracy (%)")
    assert accuracy["row"] == {"Method": "ChainSequential"}
    assert (accuracy["old"], accuracy["new"]) == (pytest.approx(79.1), pytest.approx(228.1 / 3))
    assert report["causes"]["inputs"]["changed"][0]["path"] == "userdata/flip/chain_sequential.json"
    assert report["cause"] == "userdata/flip/chain_sequential.json changed"
    figures = {f["name"]: f for f in report["figures"]["changed"]}
    assert 0 < figures["method_comparison"]["share"] < 1
    # the previous build's files, kept beside the report: exactly the good build replaced
    previous = _report(tree) / "previous"
    assert json.loads((previous / "findings.json").read_text()) == before
    assert sorted(p.name for p in (previous / "figures").iterdir()) == sorted(
        p.name for p in (_report(tree) / "figures").glob("*.png")
    )
    assert not (previous / "previous").exists()
    # the report opens with the box; the changed figure sits beside its previous version
    html = (_report(tree) / "report.html").read_text()
    box = html[html.index('class="labbook-changes') : html.index("</details>")]
    assert "Verdict changed: best_method: ChainSequential → no winner" in box
    assert "Cause: userdata/flip/chain_sequential.json changed" in box
    old_png = (previous / "figures" / "method_comparison.png").read_bytes()
    assert base64.b64encode(old_png).decode() in html
    assert html.count('class="labbook-compare"') == len(figures)
    # the build summary's line for this report, as make figures prints it
    out = sandbox.run(
        tree,
        ".venv/bin/python",
        "-m",
        "labbook.runner.build",
        "summary",
        "--since",
        str(start),
        NAME,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith(NAME))
    assert " ok " in line and "rebuilt  — " in line
    assert "verdicts changed (best_method: ChainSequential → no winner; …)" in line
    assert line.endswith("; cause: userdata/flip/chain_sequential.json changed")
    # the gallery marks the report
    sandbox.run(tree, ".venv/bin/python", "-m", "labbook.runner.build", "index")
    index = (tree / "reports" / "index.html").read_text()
    assert 'class="card ok changed"' in index and ">verdict changed</span>" in index
    # make changes prints it
    shown = sandbox.make(tree, "changes", f"R={NAME}")
    assert shown.returncode == 0, shown.stderr
    assert "Verdicts changed\n  best_method: ChainSequential → no winner" in shown.stdout
    assert "cause: userdata/flip/chain_sequential.json changed" in shown.stdout
    assert "ChainSequential · Accuracy (%): 79.1 → 76.0333" in shown.stdout


def test_a_params_edit_names_the_key(tree):
    params = tree / "params" / f"{NAME}.yaml"
    params.write_text(PARAMS + "confidence: 0.9\n")
    try:
        built = _build(tree)
        assert built.returncode == 0, built.stdout + built.stderr
        report = _changes(tree)
        assert report["causes"]["params"] == [
            {"key": "confidence", "old": None, "new": 0.9, "set": {"old": False, "new": True}}
        ]
        assert report["cause"] == "params: confidence (notebook default) → 0.9"
        assert report["causes"]["inputs"]["changed"] == []
        assert report["outputs_changed"] is True  # 90% intervals now
    finally:
        params.write_text(PARAMS)
        assert _build(tree).returncode == 0


def test_a_comment_edited_in_a_core_module_changes_nothing_and_says_why(tree):
    stats = tree / "src" / "labbook" / "stats.py"
    assert "src/labbook/stats.py" in (_report(tree) / "inputs.d").read_text()
    start = time.time()
    stats.write_text(stats.read_text() + "# a comment: no code changed\n")
    built = _build(tree)
    assert built.returncode == 0, built.stdout + built.stderr
    report = _changes(tree)
    assert report["outputs_changed"] is False and report["headline"] == "no output changed"
    assert report["cause"] == "src/labbook/stats.py edited"
    assert changes.summary(report) == "no output changed; cause: src/labbook/stats.py edited"
    html = (_report(tree) / "report.html").read_text()
    assert "No output changed." in html and 'class="labbook-compare"' not in html
    out = sandbox.run(
        tree, ".venv/bin/python", "-m", "labbook.runner.build", "summary", "--since", str(start)
    )
    assert "rebuilt  — no output changed; cause: src/labbook/stats.py edited" in out.stdout
    sandbox.run(tree, ".venv/bin/python", "-m", "labbook.runner.build", "index")
    assert "changed-mark" not in (tree / "reports" / "index.html").read_text().split("<body>")[1]


def test_a_failed_rebuild_leaves_the_last_change_report_as_it_was(tree):
    kept = _kept(tree)
    params = tree / "params" / f"{NAME}.yaml"
    params.write_text(PARAMS + "confidance: 0.9\n")  # a typo'd key: the build fails
    try:
        failed = _build(tree)
        assert failed.returncode != 0
        assert (_report(tree) / "last-failure" / "provenance.json").exists()
        assert _kept(tree) == kept
        assert not (_report(tree) / "last-failure" / "changes.json").exists()
        shown = sandbox.make(tree, "changes", f"R={NAME}")
        assert shown.stdout.startswith(f"The last build of {NAME} FAILED; this is the change")
    finally:
        params.write_text(PARAMS)


def test_a_report_pdf_that_fails_to_typeset_keeps_the_last_good_build_and_its_changes(tree):
    kept = _kept(tree)
    good = (_report(tree) / "provenance.json").read_bytes()
    _write_method(tree, "chain_parallel", [78.0, 78.1, 78.3])  # a rebuild that would change
    failing_pdf = (
        "import sys\n"
        "from labbook.runner import build, render\n"
        "def fail(*args, **kwargs):\n"
        "    raise RuntimeError('typesetting failed')\n"
        "render.pdf = fail\n"
        f"sys.exit(build.main(['run', '{NAME}'], forward=False))\n"
    )
    try:
        failed = sandbox.run(tree, ".venv/bin/python", "-c", failing_pdf)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "FAILED (kept the last good build)" in failed.stdout
        assert (_report(tree) / "provenance.json").read_bytes() == good
        assert _kept(tree) == kept
        failure = json.loads((_report(tree) / "last-failure" / "provenance.json").read_text())
        assert failure["failure"]["kind"] == "pdf"
        assert not (_report(tree) / "last-failure" / "changes.json").exists()
    finally:
        _write_method(tree, "chain_parallel", METHODS["chain_parallel"][1])


def test_a_killed_rebuild_leaves_the_last_change_report_and_the_next_build_compares_good_builds(
    tree,
):
    kept = _kept(tree)
    good = json.loads((_report(tree) / "provenance.json").read_text())["built_at"]
    _write_method(tree, "baseline", [75.0, 75.1, 75.2])
    proc = subprocess.Popen(
        [".venv/bin/python", "-m", "labbook.runner.build", "run", NAME],
        cwd=tree,
        env=sandbox.env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pattern = f".{Path(NAME).name}.tmp.{proc.pid}"
    # the build has started writing its new report (however long a busy machine takes to get there)
    while not (_report(tree).parent / pattern).exists() and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (_report(tree).parent / pattern).exists()  # killed mid-build
    assert _kept(tree) == kept
    repaired = _build(tree)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not list(_report(tree).parent.glob(".flip.*"))
    report = _changes(tree)
    assert report["previous_built_at"] == good  # compared with the last good build
    assert report["cause"] == "userdata/flip/baseline.json changed"


def test_make_changes_without_a_built_report_says_what_to_do(tree):
    usage = sandbox.make(tree, "changes")
    assert usage.returncode != 0 and "usage: make changes R=<notebook>/<variant>" in usage.stdout
    missing = sandbox.make(tree, "changes", "R=chain_of_experts/nope")
    assert missing.returncode != 0
    assert "no change report for chain_of_experts/nope" in missing.stderr
