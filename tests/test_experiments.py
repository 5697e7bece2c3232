"""The real digits experiments (examples/experiments/) at a shrunk scale: properties of real runs
(BP learns, gated runs skip samples, the adapted rate nears its target, latency is measured, the
folded network is exact), not exact values, which vary with the BLAS library. And the line their
reports show instead of the example-data banner (labbook.sources.trackers.trained)."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labbook import inputs, paths
from labbook.report import Report
from labbook.runner import experiments
from labbook.sources import trackers
from labbook.sources.trackers import trained

common = experiments.module("common")
credit = experiments.module("credit_assignment")
sparse = experiments.module("sparse_training")
nlr = experiments.module("nonlinearity_reduction")


@pytest.fixture(scope="module")
def digits():
    return common.load()


def test_digits_split_is_seeded_and_complete(digits):
    again = common.load()
    assert np.array_equal(digits.y_test, again.y_test)
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert digits.x_train.min() >= 0 and digits.x_train.max() <= 1


def test_scale_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(common.SCALE_VARIABLE, "quick")
    assert common.scale() == "quick"
    monkeypatch.delenv(common.SCALE_VARIABLE)
    assert common.scale() == "full"
    monkeypatch.setenv(common.SCALE_VARIABLE, "huge")
    with pytest.raises(SystemExit, match="LABBOOK_EXPERIMENTS='huge'"):
        common.scale()


def test_credit_assignment_bp_learns_and_the_rules_differ_from_bp(digits):
    s = dataclasses.replace(credit.SCALES["quick"], epochs=3, perturbations=8)
    with common.one_thread():
        bp, seconds = credit.train("bp", 0, digits, s)
        dfa, _ = credit.train("dfa", 0, digits, s)
    assert seconds > 0
    assert bp["test_acc"][1][-1] > 0.7  # chance is 0.1
    layers = len(s.hidden) + 1
    for i in range(layers):
        assert bp[f"diag/{i}/bp_cosine"][1] == pytest.approx(1.0)
        assert bp[f"drift/layers.{i}.weight"][1][0] > 0
    readout = dfa[f"diag/{layers - 1}/bp_cosine"][1]
    assert readout == pytest.approx(1.0)  # every rule updates the readout as BP does
    assert dfa["diag/0/bp_cosine"][1].max() < 0.99
    assert -1 <= dfa["diag/0/perturbation_rho"][1][0] <= 1
    assert bp["diag/0/perturbation_rho"][1][0] > 0.9  # BP's gradient predicts the loss change


def test_sparse_gated_runs_skip_samples_and_the_rate_nears_its_target(digits):
    s = sparse.SCALES["quick"]
    with common.one_thread():
        gated = sparse.train("gated", digits, s, s.epochs)
        single = sparse.train("sample_by_sample", digits, s, 1)
        base = sparse.train("baseline", digits, s, 2)
    assert np.mean(gated["energy_savings"][1:]) > 0.5
    assert abs(gated["activation_rates"][-1] - s.target) < 0.03
    assert single["energy_savings"][0] > 0
    assert all(t > 0 for t in gated["epoch_times"] + single["epoch_times"] + base["epoch_times"])
    assert "activation_rates" not in base
    assert base["val_accuracy"][-1] > 50  # %


def test_folded_network_is_exact_and_cheaper_with_linear_units(digits):
    rng = np.random.default_rng(3)
    layers = common.init_layers((64, *nlr.HIDDEN, 10), rng)
    costs = []
    for share in (0.0, 0.5, 1.0):
        nonlinear = [rng.random(n) >= share for n in nlr.HIDDEN]
        alphas = [m.astype(float) for m in nonlinear]
        net = nlr.folded(layers, nonlinear)
        expected = nlr.forward(layers, alphas, digits.x_test)[2]
        np.testing.assert_allclose(nlr.run_folded(net, digits.x_test), expected, atol=1e-9)
        costs.append(nlr.cost(net)[0])
    assert costs[0] > costs[1] > costs[2]


def test_nonlinearity_runs_measure_latency_and_gates_move(digits):
    s = dataclasses.replace(nlr.SCALES["quick"], epochs=2, repeats=5)
    with common.one_thread():
        _, fixed = nlr.train(digits, s, 0, 0.5)
        scalars, gating = nlr.train(digits, s, 0, None)
    for params in (fixed, gating):
        assert 0 < params["p50_latency_s"] <= params["p90_latency_s"]
        assert params[trained.TRAINED["seconds"]] > 0
    assert fixed["linear_ratio"] == 0.5 and "linear_ratio" not in gating
    means = scalars["gating/fc1/alpha_mean"][1]
    assert means[-1] != means[0]
    assert len([k for k in scalars if k.startswith("gating/fc1/alphas/")]) == nlr.HIDDEN[0]


def test_description_names_model_data_epochs_seconds_and_cpu():
    runs = pd.DataFrame(
        {
            "run": ["a", "b", "c"],
            "name": ["a", "b", "c"],
            "status": ["finished"] * 3,
            "param:trained.model": ["MLP", "MLP", "CNN"],
            "param:trained.data": ["digits"] * 3,
            "param:trained.epochs": ["5", "5", "2"],
            "param:trained.seconds": ["1.5", "2.5", "0.25"],
            "param:trained.cpu": ["EPYC, 1 thread"] * 3,
        }
    )
    line = trained.description(runs)
    assert line.startswith("Real training runs, not simulated: 2 runs of MLP on digits, 5 epochs")
    assert "4.0 s of training in total (1.5–2.5 s a run) on EPYC, 1 thread" in line
    assert "1 run of CNN on digits, 2 epochs, 0.2 s" in line
    assert line.endswith("The timings are this machine's, measured while it trained them.")
    assert trained.description(runs.drop(columns="param:trained.cpu")) is None
    assert trained.description(runs.assign(**{"param:trained.seconds": "fast"})) is None


def test_trained_store_in_examples_shows_the_line_not_the_banner(tmp_path):
    inputs.clear()
    try:
        store = paths.EXAMPLES / "generated" / "some_digits_store"
        report = Report(str(tmp_path), "test")
        inputs.record_directory(store, "d1")
        assert report.uses_example_data()  # lies in examples/: example data unless real runs
        inputs.mark_trained("d1", "Real training runs, not simulated: ...")
        assert not report.uses_example_data()
        assert report.trained() == ["Real training runs, not simulated: ..."]
        inputs.mark_simulated("d1")
        assert report.uses_example_data()
    finally:
        inputs.clear()


def test_generated_store_reads_back_with_its_description(tmp_path):
    with common.one_thread():
        credit.generate(tmp_path, scale="quick")
    assert "not simulated" in (tmp_path / "README.md").read_text()
    data = trackers.read(f"tensorboard:{tmp_path / 'tensorboard'}", use_cache=False)
    quick = credit.SCALES["quick"]
    assert len(data.runs) == len(quick.seeds) * len(credit.METHODS)
    line = trained.description(data.runs)
    assert f"{quick.epochs} epochs each" in line and common.cpu() in line
    assert not trackers.is_simulated(data.runs)
    assert Path(credit.__file__).parent == experiments.FOLDER


def test_the_trained_line_is_rendered_where_the_banner_would_be(tmp_path, monkeypatch):
    import nbformat

    from labbook.runner import render

    monkeypatch.setattr(render, "_provenance", lambda ctx: "")  # the footer is not looked at here

    line = "Real training runs, not simulated: 2 runs of MLP on digits."
    prov = {"params": {}, "trained": [line]}
    ctx = render.context(prov, None)
    assert ctx["trained"] == [line] and not ctx["example_data"]
    typst = render.typst_source(nbformat.v4.new_notebook(), ctx, tmp_path)
    assert "Real training runs, not simulated" in typst and "fff3cd" not in typst
