"""Nonlinearity reduction: run-folder loader (good folders and every bad-input case), ratio rules,
Pareto front, and the quantities behind the findings (which must follow the data)."""

import hashlib
import json
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from labbook import figures, style
from labbook.analyses import nonlinearity_reduction as nlr
from labbook.inputs import InputError
from labbook.plots import nonlinearity_reduction as nlr_plots
from labbook.runner import examples
from labbook.sources import METRICS_COLUMNS
from labbook.sources import nonlinearity_reduction as source


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("nlr")
    examples.nonlinearity_reduction(out)
    return out


def _epoch(e, acc=0.9, **extra):
    return {
        "epoch": e,
        "train_acc": acc + 0.01,
        "val_acc": acc,
        "train_loss": 0.3,
        "val_loss": 0.35,
        **extra,
    }


def _run(root, name, history=None, meta=None):
    d = root / name
    d.mkdir(parents=True)
    if history is not None:
        (d / "history.json").write_text(
            history if isinstance(history, str) else json.dumps(history)
        )
    if meta is not None:
        (d / "meta.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    return d


FIXED = {"config": {"approach": "fixed"}, "latency": {"mean_latency_s": 0.001}}


def _digest(root):
    return {
        p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_load_example_folders(data):
    mnist = source.load_runs(data / "mnist")
    assert mnist.skipped == [] and len(mnist.runs) == 27
    assert mnist.runs["ratio_rule"].value_counts().to_dict() == {
        "run name": 21,
        "gating: 1 − mean α": 6,
    }
    assert sorted(mnist.runs.loc[mnist.runs["approach"] == "fixed", "linear_ratio"].unique()) == [
        0,
        0.1,
        0.25,
        0.5,
        0.75,
        0.9,
        1,
    ]
    assert set(mnist.gating["layer"]) == {"fc1", "fc2", "fc3"} and len(mnist.alphas) == 6 * 3 * 64
    assert set(mnist.activation["stat"]) == {"dead_fraction", "mean_abs_activation"}
    assert list(mnist.metrics_table().columns) == METRICS_COLUMNS
    cifar = source.load_runs(data / "cifar10", ratio_rule="below_threshold", alpha_threshold=0.5)
    assert cifar.skipped == [("cifar10_fixed_60_s0_crashed", "meta.json missing")]
    assert (
        set(cifar.runs["ratio_rule"]) == {"config", "gating: share α < 0.5"}
        and cifar.activation.empty
    )


def test_every_bad_run_is_listed_with_its_reason(tmp_path):
    root = tmp_path / "runs"
    _run(root, "good_fixed_50", [_epoch(1), _epoch(2)], FIXED)
    _run(root, "no_meta_20", [_epoch(1)])
    _run(root, "no_history_20", None, FIXED)
    _run(root, "broken_json_30", '[{"epoch": 1,', FIXED)
    _run(root, "empty_40", [], FIXED)
    _run(root, "no_ratio", [_epoch(1)], FIXED)
    _run(root, "percent_10", [_epoch(1, acc=91.0)], FIXED)
    _run(
        root,
        "bad_latency_10",
        [_epoch(1)],
        {"config": {"approach": "fixed"}, "latency": {"mean_latency_s": "fast"}},
    )
    _run(
        root,
        "neg_latency_10",
        [_epoch(1)],
        {"config": {"approach": "fixed"}, "latency": {"mean_latency_s": -0.1}},
    )
    _run(
        root,
        "neg_flops_10",
        [_epoch(1)],
        {"config": {"approach": "fixed"}, "approx_linear_flops": -5},
    )
    _run(root, "ratio_150", [_epoch(1)], {"config": {"approach": "fixed", "linear_ratio": 1.5}})
    _run(root, "neg_loss_10", [dict(_epoch(1), train_loss=-0.3)], FIXED)
    _run(root, "gate_20", [dict(_epoch(1), gating=[{"layer": "fc1", "alpha_mean": 1.4}])], FIXED)
    _run(
        root,
        "alphas_20",
        [dict(_epoch(1), gating=[{"layer": "fc1", "alpha_mean": 0.4, "alphas": [0.2, -0.1]}])],
        FIXED,
    )
    _run(root, "twice_20", [_epoch(1), _epoch(1)], FIXED)
    (root / "notes.txt").write_text("not a run")
    (root / ".DS_Store").write_text("")
    before = _digest(root)
    rs = source.load_runs(root)
    assert rs.runs["run"].tolist() == ["good_fixed_50"]
    reasons = dict(rs.skipped)
    assert (
        reasons["no_meta_20"] == "meta.json missing"
        and reasons["no_history_20"] == "history.json missing"
    )
    assert reasons["broken_json_30"].startswith("history.json: malformed JSON")
    assert reasons["empty_40"] == "history.json: the history is empty (no epochs)"
    assert reasons["no_ratio"].startswith("no linear ratio")
    assert (
        "[0].train_acc = 91.01 is not a fraction" in reasons["percent_10"]
        and "percentages" in reasons["percent_10"]
    )
    assert (
        reasons["bad_latency_10"]
        == "meta.json: field 'mean_latency_s' must be a finite number, got 'fast'"
    )
    assert (
        reasons["neg_latency_10"]
        == "meta.json: field 'mean_latency_s' = -0.1 is outside its domain (not negative)"
    )
    assert reasons["neg_flops_10"].startswith(
        "meta.json: field 'approx_linear_flops' = -5 is outside"
    )
    assert (
        reasons["ratio_150"]
        == "meta.json: field 'config.linear_ratio' = 1.5 is not a fraction in [0, 1]"
    )
    assert (
        reasons["neg_loss_10"]
        == "history.json: field [0].train_loss = -0.3 is outside its domain (a loss, not negative)"
    )
    assert reasons["gate_20"].startswith(
        "history.json: field [0].gating[0].alpha_mean[0] = 1.4 is outside"
    )
    assert reasons["alphas_20"].startswith(
        "history.json: field [0].gating[0].alphas[1] = -0.1 is outside"
    )
    assert reasons["twice_20"] == "history.json: epoch 1 appears twice"
    assert reasons["notes.txt"] == "not a run folder (a file)" and ".DS_Store" not in reasons
    assert len(reasons) >= 15
    assert _digest(root) == before  # input never modified


def test_nothing_usable_is_an_error(tmp_path):
    root = tmp_path / "runs"
    _run(root, "a_10", [_epoch(1)])
    with pytest.raises(InputError, match=r"runs: no usable run \(a_10: meta.json missing\)"):
        source.load_runs(root)
    with pytest.raises(InputError, match="runs folder not found"):
        source.load_runs(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="the folder is empty"):
        source.load_runs(tmp_path / "empty")


def test_ratio_from_name():
    assert source.ratio_from_name("mnist_fixed_50_s0") == 0.5
    assert source.ratio_from_name("run_007") == 0.07
    assert source.ratio_from_name("cifar_150_linear") is None  # not 0-100
    assert source.ratio_from_name("mnist_gating_lam0.01_s1") is None
    assert source.ratio_from_name("a_0_b_30") == 0.0  # the first token wins


def test_gating_ratio_rules():
    gates = [
        {"alpha_mean": 0.2, "alpha_lt_0.1": 0.5, "alphas": [0.0, 0.05, 0.3, 0.6]},
        {"alpha_mean": 0.8, "alpha_lt_0.1": 0.0, "alphas": [0.9, 0.95, 0.2, 1.0]},
    ]
    assert source.gating_ratio(gates, "mean_alpha", 0.5) == pytest.approx(0.5)
    assert source.gating_ratio(gates, "below_threshold", 0.5) == pytest.approx(
        4 / 8
    )  # 0, .05, .3, .2
    assert source.gating_ratio(gates, "below_threshold", 0.1) == pytest.approx(2 / 8)
    no_alphas = [{k: v for k, v in g.items() if k != "alphas"} for g in gates]
    assert source.gating_ratio(no_alphas, "below_threshold", 0.1) == pytest.approx(
        0.25
    )  # mean of alpha_lt_0.1
    assert (
        source.gating_ratio(no_alphas, "below_threshold", 0.5) is None
    )  # no alpha_lt_0.5, no alphas
    assert source.gating_ratio([], "mean_alpha", 0.5) is None
    with pytest.raises(ValueError, match="ratio rule"):
        source.gating_ratio(gates, "median", 0.5)


def test_ratio_rule_order(tmp_path):
    root = tmp_path / "runs"
    gate = [{"layer": 0, "alpha_mean": 0.3}]
    _run(root, "cfg_20", [_epoch(1)], {"config": {"approach": "fixed", "linear_ratio": 0.4}})
    _run(root, "name_20", [_epoch(1)], {"config": {"approach": "fixed"}})
    _run(
        root,
        "gate_20",
        [_epoch(1, gating=gate)],
        {"config": {"approach": "gating", "linear_ratio": 0.4}},
    )
    _run(root, "gate_nostats_20", [_epoch(1)], {"config": {"approach": "gating"}})
    r = source.load_runs(root).runs.set_index("run")
    assert (r.loc["cfg_20", "linear_ratio"], r.loc["cfg_20", "ratio_rule"]) == (0.4, "config")
    assert (r.loc["name_20", "linear_ratio"], r.loc["name_20", "ratio_rule"]) == (0.2, "run name")
    assert (
        r.loc["gate_20", "linear_ratio"] == pytest.approx(0.7)
        and r.loc["gate_20", "ratio_rule"] == "gating: 1 − mean α"
    )
    assert r.loc["gate_nostats_20", "ratio_rule"] == "run name"  # falls back, and says so


def test_pareto_front_on_known_points():
    runs = pd.DataFrame(
        {
            "run": list("abcde"),
            "val_acc": [0.9, 0.8, 0.85, 0.95, 0.7],
            "mean_latency_s": [2.0, 1.0, 1.5, 3.0, 1.2],
        }
    )
    front = nlr.pareto(runs)
    assert front["run"].tolist() == ["b", "c", "a", "d"]  # e is slower and worse than b


def _groups(accs, lat=None):
    ratios = [0.0, 0.25, 0.5, 0.75]
    return pd.DataFrame(
        {
            "dataset": "d",
            "approach": "fixed",
            "linear_ratio": ratios,
            "runs": 3,
            "val_acc": accs,
            "latency_s": lat or [1.0, 0.9, 0.8, 0.7],
        }
    )


def test_min_nonlinear_and_latency_gain():
    kept = nlr.min_nonlinear(_groups([0.90, 0.895, 0.893, 0.80]), "fixed", 0.01).iloc[0]
    assert kept["linear_ratio"] == 0.5 and kept["nonlinear"] == 0.5 and kept["next_ratio"] == 0.75
    # a dip at 25% stops the run of kept ratios even though 50% recovers
    assert (
        nlr.min_nonlinear(_groups([0.90, 0.85, 0.899, 0.80]), "fixed", 0.01).iloc[0]["linear_ratio"]
        == 0.0
    )
    allkept = nlr.min_nonlinear(_groups([0.90, 0.90, 0.90, 0.90]), "fixed", 0.01).iloc[0]
    assert allkept["linear_ratio"] == 0.75 and np.isnan(allkept["next_ratio"])
    gain = nlr.latency_gain(_groups([0.9] * 4), "fixed", 0.45).iloc[0]
    assert gain["linear_ratio"] == 0.5 and gain["gain"] == pytest.approx(0.2)


def test_gap_trend_and_gates():
    x = np.repeat([0.0, 0.5, 1.0], 2)
    runs = pd.DataFrame(
        {
            "run": [f"r{i}" for i in range(6)],
            "dataset": "d",
            "approach": "fixed",
            "linear_ratio": x,
            "val_acc": 0.9 - 0.1 * x,
            "train_acc": 0.9 - 0.1 * x + 0.02 + 0.04 * x,
        }
    )
    trend = nlr.gap_trend(runs, "fixed", 0.95)
    assert trend["slope"] == pytest.approx(0.04) and trend["n"] == 6
    gating = pd.DataFrame(
        {
            "run": ["a", "a", "a", "a", "b", "b"],
            "epoch": [1, 1, 2, 2, 3, 3],
            "layer": ["fc1", "fc2"] * 3,
            "alpha_mean": [0.9, 0.9, 0.1, 0.7, 0.3, 0.8],
            "alpha_lt_0.1": [0, 0, 0.6, 0.0, 0.2, 0.0],
        }
    )
    one_group = pd.Series({"a": "d", "b": "d"})
    layers = nlr.final_gates(gating, one_group)  # last epochs only: a@2, b@3
    assert layers["layer"].tolist() == ["fc1", "fc2"] and layers["runs"].tolist() == [2, 2]
    assert layers["alpha_mean"].tolist() == pytest.approx([0.2, 0.75]) and layers[
        "alpha_lt_01"
    ].iloc[0] == pytest.approx(0.4)


def test_gating_groups_with_many_differing_keys_are_numbered_and_still_apart():
    # a store whose runs carry hundreds of per-run keys (e.g. summaries) gave legend labels of
    # thousands of characters, and matplotlib ran out of memory laying them out
    runs = pd.DataFrame({"run": ["a0", "a1", "b0"], "dataset": "mnist", "approach": "gating"})
    keys = [f"k{i}" for i in range(200)]
    configs = {
        "a0": {k: 1 for k in keys} | {"seed": 0},
        "a1": {k: 1 for k in keys} | {"seed": 1},
        "b0": {k: 2 for k in keys} | {"seed": 0},
    }
    groups = nlr.gating_groups(runs, configs)
    assert groups.to_dict() == {
        "a0": "mnist, setting 1 of 2 (200 config keys differ)",
        "a1": "mnist, setting 1 of 2 (200 config keys differ)",
        "b0": "mnist, setting 2 of 2 (200 config keys differ)",
    }


def test_gating_runs_are_pooled_only_within_dataset_and_config():
    runs = pd.DataFrame(
        {
            "run": ["a0", "a1", "b0", "c0"],
            "dataset": ["mnist", "mnist", "mnist", "cifar10"],
            "approach": "gating",
        }
    )
    configs = {
        "a0": {"sparsity_weight": 0.01, "epochs": 15, "seed": 0},
        "a1": {"sparsity_weight": 0.01, "epochs": 15, "seed": 1},
        "b0": {"sparsity_weight": 0.05, "epochs": 15, "seed": 0},
        "c0": {"sparsity_weight": 0.01},
    }
    groups = nlr.gating_groups(runs, configs)
    assert groups.to_dict() == {
        "c0": "cifar10",
        "a0": "mnist, sparsity_weight = 0.01",
        "a1": "mnist, sparsity_weight = 0.01",
        "b0": "mnist, sparsity_weight = 0.05",
    }
    gating = pd.DataFrame(
        {
            "run": ["a0", "a1", "b0", "c0"],
            "epoch": 1,
            "layer": "fc1",
            "alpha_mean": [0.2, 0.4, 0.9, 0.5],
            "alpha_lt_0.1": 0.0,
        }
    )
    layers = nlr.final_gates(gating, groups).set_index("group")
    assert layers.loc["mnist, sparsity_weight = 0.01", "alpha_mean"] == pytest.approx(
        0.3
    )  # not pooled with b0
    assert layers.loc["mnist, sparsity_weight = 0.05", "runs"] == 1


def test_findings_follow_the_data(data, tmp_path):
    root = tmp_path / "mnist"
    shutil.copytree(data / "mnist", root)
    before = nlr.min_nonlinear(nlr.groups(source.load_runs(root).runs, 0.95), "fixed", 0.01).iloc[0]
    for s in range(3):  # make the 50% runs clearly worse
        path = root / f"mnist_fixed_50_s{s}" / "history.json"
        hist = json.loads(path.read_text())
        hist[-1]["val_acc"] = 0.90
        path.write_text(json.dumps(hist))
    after = nlr.min_nonlinear(nlr.groups(source.load_runs(root).runs, 0.95), "fixed", 0.01).iloc[0]
    assert before["linear_ratio"] == 0.5 and after["linear_ratio"] == 0.25
    assert after["next_ratio"] == 0.5 and after["next_acc"] == pytest.approx(0.90)


def test_all_nonlinear_accuracy_is_the_baseline_ratio_zero_mean_per_dataset():
    groups = pd.DataFrame(
        {
            "dataset": ["mnist", "mnist", "mnist", "cifar10"],
            "approach": ["fixed", "fixed", "gating", "fixed"],
            "linear_ratio": [0.0, 0.5, 0.0, 0.5],
            "val_acc": [0.98, 0.95, 0.90, 0.70],
        }
    )
    ref = nlr.all_nonlinear_accuracy(groups, "fixed")
    assert ref.to_dict() == {"mnist": 0.98}  # cifar10 has no ratio-0 run: absent, not NaN


# ---------------------------------------------------------------- figure builders


@pytest.fixture(scope="module")
def mnist(data):
    return source.load_runs(data / "mnist")


def _legend(fig) -> list[str]:
    return [
        t.get_text()
        for leg in fig.legends + [a.get_legend() for a in fig.axes]
        if leg
        for t in leg.get_texts()
    ]


def _colors(runs):
    return style.method_colors(sorted(set(runs["approach"])))


def test_accuracy_vs_ratio_figure(mnist):
    runs = mnist.runs
    groups = nlr.groups(runs, 0.95)
    with plt.rc_context(style.paper("full")):
        fig = nlr_plots.accuracy_vs_ratio(groups, runs[nlr.is_measured(runs)], _colors(runs), 0.95)
        ax = fig.axes[0]
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
            "Accuracy vs. linear ratio",
            "Linear neurons (%)",
            "Validation accuracy (%)",
        )
        assert _legend(fig) == [
            "fixed: mean of 3 seeds, band 95% t-interval",
            "gating (measured ratio)",
        ]
        (line,) = ax.lines  # the fixed mean; the gating runs are 6 diamonds
        assert list(line.get_xdata()) == pytest.approx([0, 10, 25, 50, 75, 90, 100])
        assert list(line.get_ydata()) == pytest.approx(100 * groups["val_acc"])
        assert len(ax.collections[-1].get_offsets()) == 6
        assert figures.check(fig) == []
        plt.close(fig)


def test_latency_and_flops_figures(mnist):
    runs = mnist.runs
    front = nlr.pareto(runs)
    with plt.rc_context(style.paper("full")):
        timed = runs.assign(latency_s=nlr.run_latency(runs))
        slow = [timed["run"].iloc[0]]
        fig = nlr_plots.latency_vs_accuracy(timed, front, nlr.is_measured(runs), slow, "test")
        ax, bar = fig.axes
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), bar.get_ylabel()) == (
            "Latency vs. accuracy",
            "Latency (ms; each run's median over repeats)",
            "Test accuracy (%)",
            "Linear ratio",
        )
        assert _legend(fig) == [
            "median to 90th percentile of a run's repeats",
            "outlier timing (mean above the run's 90th percentile)",
            "Pareto front",
        ]
        spread, dots, ringed = ax.collections
        assert len(dots.get_offsets()) == 27 and len(ringed.get_offsets()) == 1
        # each run's spread: a bar from its median to its 90th percentile, in ms
        ends = np.array([seg[:, 0] for seg in spread.get_segments()])
        assert ends[:, 0] == pytest.approx(1000 * timed["p50_latency_s"])
        assert ends[:, 1] == pytest.approx(1000 * timed["p90_latency_s"])
        assert list(ax.lines[0].get_xdata()) == pytest.approx(1000 * front["latency_s"])
        assert ax.get_xscale() == "linear"  # mnist's latencies span less than a factor 10
        assert figures.check(fig) == []
        plt.close(fig)
        # digits: a slow repeat 100x a run's median: the latency axis is logarithmic
        wide = timed.assign(p90_latency_s=timed["p50_latency_s"] * 100)
        fig = nlr_plots.latency_vs_accuracy(wide, front, nlr.is_measured(runs))
        assert fig.axes[0].get_xscale() == "log"
        assert fig.axes[0].get_xlabel().startswith("Latency (ms, log scale;")
        assert figures.check(fig) == []
        plt.close(fig)
        fig = nlr_plots.accuracy_vs_flops(runs, _colors(runs))
        assert fig.axes[0].get_xlabel() == "Approx. linear-layer MFLOPs"
        assert _legend(fig) == ["fixed", "gating"] and len(fig.axes[0].collections) == 2
        assert figures.check(fig) == []
        plt.close(fig)


def test_curves_and_gap_figures(mnist):
    runs = mnist.runs
    with plt.rc_context(style.paper("full")):
        fig = nlr_plots.val_curves(mnist.history, runs, runs["run"], "all runs")
        ax = fig.axes[0]
        assert ax.get_title() == "all runs" and len(ax.lines) == 27
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)  # epochs, not 2.5
        assert sum(line.get_linestyle() == "--" for line in ax.lines) == 6  # the gating runs
        assert figures.check(fig) == []
        plt.close(fig)
        trend = nlr.gap_trend(runs, "fixed", 0.95)
        fig = nlr_plots.generalization_gap(runs, trend, _colors(runs), "fixed")
        slope, lo, hi = (100 * trend[k] for k in ("slope", "lower", "upper"))
        label = (
            f"fixed least squares: {slope:+.2f} points per 100% linear (95% CI {lo:+.2f} to "
            f"{hi:+.2f})" + ("" if lo > 0 or hi < 0 else ": no clear trend")
        )
        assert _legend(fig) == ["fixed", "gating", label]
        assert fig.axes[0].get_ylabel() == "Train − validation accuracy (points)"
        assert figures.check(fig) == []
        plt.close(fig)
        fig = nlr_plots.generalization_gap(runs, None, _colors(runs), "fixed")
        assert _legend(fig) == ["fixed", "gating"] and not fig.axes[0].lines
        plt.close(fig)


def test_gate_figures(mnist):
    groups = nlr.gating_groups(mnist.runs, mnist.configs)
    names = sorted(set(groups))
    colors = dict(zip(["fc1", "fc2", "fc3"], style.sequence_colors(3)))
    with plt.rc_context(style.paper("full", nrows=2, ncols=2, height=1.75 * 2 + 0.75)):
        fig = nlr_plots.gating_dynamics(mnist.gating, groups, names, colors)
        assert [a.get_title() for a in fig.axes] == [
            f"{g} (3 runs)" for g in names for _ in range(2)
        ]
        assert [a.get_ylabel() for a in fig.axes[:2]] == ["Mean α", "Share α < 0.1"]
        fig.canvas.draw()  # the share panel keeps its own tick labels (sharey per column)
        assert [t.get_text() for t in fig.axes[1].get_yticklabels() if t.get_text()]
        assert _legend(fig) == ["fc1", "fc2", "fc3"]
        assert all(len(a.lines) == 3 for a in fig.axes)
        assert figures.check(fig) == []
        plt.close(fig)
    alphas = mnist.alphas.assign(group=mnist.alphas["run"].map(groups))
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.2)):
        fig = nlr_plots.alpha_distributions(alphas, names, colors, 0.5)
        assert fig.get_suptitle() == (
            "Final gate distribution per layer (quartiles dashed; line: α = 0.5)"
        )
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["fc1", "fc2", "fc3"]
        assert figures.check(fig) == []
        plt.close(fig)


def test_activation_figure(mnist):
    act = mnist.activation
    approach_of = mnist.runs.set_index("run")["approach"]
    with plt.rc_context(style.paper("full", ncols=2, height_scale=1.3)):
        fig = nlr_plots.activation_stats(act, approach_of, _colors(mnist.runs))
        assert [a.get_title() for a in fig.axes] == ["dead fraction", "mean abs activation"]
        assert set(_legend(fig)) == set(act["run"]) and figures.check(fig) == []
        plt.close(fig)


def test_gap_figure_draws_noise_dashed_and_a_real_trend_solid():
    runs = pd.DataFrame(
        {
            "approach": "fixed",
            "linear_ratio": [0.0, 0.0, 0.5, 0.5, 1.0, 1.0],
            "train_acc": 0.99,
            "val_acc": [0.97, 0.972, 0.96, 0.962, 0.95, 0.952],  # the gap grows 2 points
        }
    )
    colors = {"fixed": "#0072B2"}
    with plt.rc_context(style.paper("full")):
        trend = nlr.gap_trend(runs, "fixed", 0.95)
        fig = nlr_plots.generalization_gap(runs, trend, colors, "fixed")
        (line,) = fig.axes[0].lines
        assert line.get_linestyle() == "-" and "no clear trend" not in line.get_label()
        noisy = runs.assign(val_acc=[0.97, 0.95, 0.96, 0.962, 0.95, 0.972])
        trend = nlr.gap_trend(noisy, "fixed", 0.95)
        fig = nlr_plots.generalization_gap(noisy, trend, colors, "fixed", 0.9)
        (line,) = fig.axes[0].lines
        assert line.get_linestyle() == "--" and line.get_label().endswith(": no clear trend")
        assert "(90% CI " in line.get_label()
    plt.close("all")


def test_tables_beside_figures_are_in_their_units():
    runs = pd.DataFrame(
        {
            "run": ["a"],
            "linear_ratio": [0.25],
            "val_acc": [0.958],
            "lower": [0.947],
            "gen_gap": [0.0188],
            "mean_latency_s": [0.00258],
            "params": [1000],
        }
    )
    shown = nlr.in_report_units(runs)
    assert shown.loc[0, ["linear_ratio", "val_acc", "lower", "gen_gap"]].tolist() == (
        pytest.approx([25.0, 95.8, 94.7, 1.88])
    )
    assert shown.loc[0, "mean_latency_s"] == pytest.approx(2.58)  # ms
    assert shown.loc[0, "params"] == 1000 and runs.loc[0, "val_acc"] == 0.958
