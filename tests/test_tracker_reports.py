"""Every analysis from every tracker (issue #23): the report built from a TensorBoard, an MLflow, an
Aim and a W&B store, each written by that tracker's own library (trackerwrite.write_store), equals
the report built from the analysis' own input holding the same float32-exact numbers (its JSON
twin; for MoE the Aim repository of the seed's layout): every table (the CSV bytes), every finding,
the list of figures, no warning in either. All these reports come from the session's one shared
build (conftest.py: example_build; their inputs: build_inputs.py). Beside them: a nonlinearity
report from a store that logged no latency, per-neuron gates or activation statistics, and a MoE
report of one type. Aim needs aim (the aim extra, Python 3.11 only), W&B wandb (the wandb extra):
their cases, and MoE's whose twin is an Aim repository, skip without it."""

import json
from pathlib import Path

import numpy as np
import pytest

from labbook.runner import trackerwrite as tw
from labbook.sources import trackers
from tests import build_inputs
from tests.build_inputs import ANALYSES, TRACKERS, TWIN

NO_AIM = "aim is not installed (the aim extra; Python 3.11 only)"
NO_WANDB = "wandb is not installed (the wandb extra)"

# analysis -> what its twin's report holds: the table CSVs, at least this many findings (or
# exactly these keys), the number of figure files (PNG and PDF), figures it must include, and
# whether the twin too is marked as example data
EXPECTED = {
    "chain_of_experts": {
        "tables": ["ablation_experts.csv", "entropy_regularization.csv", "summary.csv"],
        "findings": 10,
        "figures": 14,
    },
    "credit_assignment": {"tables": 3, "findings": 8, "figures": 14},
    "moe_analysis": {
        "tables": 5,
        "findings": {"best_type", "best_iqm", "entropy_accuracy", "cheapest_not_worse"},
        "figures": 18,
        "twin_simulated": True,  # the twin's Aim runs say simulated too
    },
    "nonlinearity_reduction": {
        "tables": 5,
        "findings": 8,
        "figures": 18,
        "includes": {"alpha_distributions.png", "activation_stats.png"},
    },
    "sparse_training": {"tables": 1, "findings": 5, "figures": 8},
}


def _needs_aim(analysis: str, tracker: str) -> bool:
    return tracker == "aim" or analysis == "moe_analysis"


def _skips(analysis: str, tracker: str) -> list:
    return [
        pytest.mark.skipif(_needs_aim(analysis, tracker) and not build_inputs.AIM, reason=NO_AIM),
        pytest.mark.skipif(tracker == "wandb" and not build_inputs.WANDB, reason=NO_WANDB),
    ]


CASES = [
    pytest.param(analysis, tracker, marks=_skips(analysis, tracker))
    for analysis in ANALYSES
    for tracker in TRACKERS
]


def _built(root: Path, analysis: str, variant: str) -> Path:
    """The report folder, checked to be a finished build."""
    rep = root / "reports" / analysis / variant
    prov = json.loads((rep / "provenance.json").read_text())
    assert prov["status"] == "ok" and (rep / ".ok").exists(), (rep, prov.get("failing_cell"))
    return rep


def _csv(rep: Path) -> list[str]:
    return sorted(p.name for p in (rep / "tables").glob("*.csv"))


@pytest.mark.parametrize("analysis, tracker", CASES)
def test_a_report_from_a_tracker_store_equals_the_one_from_its_twin(
    example_build, analysis, tracker
):
    twin = _built(example_build, analysis, TWIN)
    store = _built(example_build, analysis, f"from_{tracker}")
    expected = EXPECTED[analysis]

    tables = _csv(twin)
    assert _csv(store) == tables
    want = expected["tables"]
    assert tables == want if isinstance(want, list) else len(tables) == want, tables
    for name in tables:
        assert (store / "tables" / name).read_bytes() == (twin / "tables" / name).read_bytes(), name

    found = [json.loads((r / "findings.json").read_text()) for r in (twin, store)]
    assert found[1] == found[0]
    want = expected["findings"]
    assert set(found[0]) == want if isinstance(want, set) else len(found[0]) >= want, found[0]

    figures = [sorted(p.name for p in (r / "figures").iterdir()) for r in (twin, store)]
    assert figures[1] == figures[0] and len(figures[0]) == expected["figures"], figures[0]
    assert expected.get("includes", set()) <= set(figures[0])

    provenance = [json.loads((r / "provenance.json").read_text()) for r in (twin, store)]
    assert provenance[1]["example_data"] is True  # the store's runs say simulated
    if expected.get("twin_simulated"):
        assert provenance[0]["example_data"] is True
    assert provenance[0]["warnings"] == provenance[1]["warnings"] == []
    assert provenance[1]["params"]["source"].startswith(f"{tracker}:")


def test_a_store_without_latency_gates_or_activations_says_so_in_each_section(example_build):
    """nonlinearity_reduction/from_sparse_store: the twin's runs in a TensorBoard store that
    logged no latency, per-neuron gates or activation statistics: the report builds (its PDF
    too), each section lacking its data says so, and those figures are left out."""
    report = _built(example_build, "nonlinearity_reduction", "from_sparse_store")
    twin = _built(example_build, "nonlinearity_reduction", TWIN)
    assert (report / "report.pdf").is_file()
    html = (report / "report.html").read_text()
    for note in (
        "No run records <code>mean_latency_s</code>: no latency plot.",
        "No run records <code>mean_latency_s</code>: no efficiency ranking.",
        "No gating run stores per-neuron <code>gating/{layer}/alphas/{neuron}</code>",
        "No run has <code>activation/{layer}/{stat}</code>: no activation statistics.",
    ):
        assert note in html
    names = sorted(p.stem for p in (report / "figures").glob("*.png"))
    assert names == sorted(
        {p.stem for p in (twin / "figures").glob("*.png")}
        - {"latency_vs_accuracy", "alpha_distributions", "activation_stats"}
    )


@pytest.mark.skipif(not build_inputs.AIM, reason=NO_AIM)
def test_a_moe_report_of_one_type_builds_and_compares_nothing(example_build):
    one = _built(example_build, "moe_analysis", "one_type")
    html = (one / "report.html").read_text()
    assert "P(X &gt; Y) compares one type with another, so there is nothing to compare" in html
    assert not (one / "figures" / "probability_of_improvement.png").exists()
    assert json.loads((one / "findings.json").read_text())["best_type"]["verdict"] == "only_one"


def test_write_store_returns_the_source_that_reads_the_store_back(tmp_path):
    runs = [
        tw.TrackedRun(
            "a",
            params={"seed": 1},
            scalars={"acc": (np.arange(3), tw.float32_exact([0.1, 0.2, 0.3]))},
        )
    ]
    for tracker, where in (("tensorboard", ""), ("mlflow", "/mlflow.db")):
        source = tw.write_store(tracker, tmp_path / tracker, runs)
        assert source == f"{tracker}:{tmp_path / tracker}{where}"
        data = trackers.read(source, use_cache=False)
        assert data.scalars["value"].tolist() == tw.float32_exact([0.1, 0.2, 0.3]).tolist()
    with pytest.raises(ValueError, match="no writer for the tracker 'neptune'; trackers: "):
        tw.write_store("neptune", tmp_path / "n", runs)
