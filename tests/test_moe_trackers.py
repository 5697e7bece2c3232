"""The MoE analysis from any tracker (labbook.sources.aim_repo.load_any / to_load / select): the
same numbers written to TensorBoard, MLflow and Aim (trackerwrite) read as the Aim repository of
the seed's layout written by aim's SDK (the analysis' own input, its twin); the mapping's bad
input (an attribute or key no run has, runs lacking the mapped attribute, both inputs set, a
field no run logs, a dataset, tag or type off by case or a typo); one MoE type; the example's
params. Reports built from every tracker and from the twin: test_tracker_reports.py."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from labbook import figures, paths, style
from labbook.analyses import moe
from labbook.inputs import InputError
from labbook.plots import moe as moe_plots
from labbook.runner import examples, trackerwrite
from labbook.runner.tracker_examples import moe as example
from labbook.sources import aim_repo
from tests.extras import AIM, needs_aim

TYPES = ("softmoe", "ffn", "expert_segmentation")
SEEDS, EPOCHS = 3, 4
MAPPING = example.TENSORBOARD_MAPPING  # the TensorBoard store's names, for MLflow's too
MOE_TYPES = aim_repo.DEFAULT_MOE_TYPES


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The same float32-exact numbers as a TensorBoard folder, an MLflow database, an Aim
    repository written by trackerwrite, and the Aim twin in the seed's layout."""
    root = tmp_path_factory.mktemp("moe_stores")
    runs = example.runs(examples.moe_run_values, moe_types=TYPES, seeds=SEEDS, epochs=EPOCHS)
    trackerwrite.write_tensorboard(root / "tb", runs)
    trackerwrite.write_mlflow(root / "mlflow.db", runs)
    if AIM:  # the tests that read them are marked needs_aim
        trackerwrite.write_aim(root / "aim_tw", runs)
        specs = example.aim_runs(
            examples.moe_run_values, moe_types=TYPES, seeds=SEEDS, epochs=EPOCHS
        )
        example.write_aim_twin(root / "twin", specs)
    return root


def _load(source, repo_path=None, **kw):
    selection, _ = aim_repo.load_any(
        source, repo_path, dataset="cifar10", moe_types=MOE_TYPES, **kw
    )
    return selection


def _same(a: aim_repo.Selection, b: aim_repo.Selection) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.runs.drop(columns="hash"), b.runs.drop(columns="hash"))
    assert (a.notes, a.warnings) == (b.notes, b.warnings)


@needs_aim
@pytest.mark.parametrize("store", ["tensorboard:tb", "mlflow:mlflow.db", "aim:aim_tw"])
def test_every_tracker_reads_as_the_twin(stores, store):
    tracker, name = store.split(":")
    via = _load(f"{tracker}:{stores / name}", **MAPPING)
    twin = _load(None, str(stores / "twin"))
    _same(via, twin)
    assert len(twin.runs) == len(TYPES) * SEEDS and twin.warnings == [] and twin.notes == []
    truth = example.run_numbers(examples.moe_run_values, "cifar10", "softmoe", 0, EPOCHS)
    first = twin.table[(twin.table["run"] == "r0001") & (twin.table["metric"] == "accuracy")]
    assert first["value"].tolist() == truth["accuracy"].tolist()
    assert first["epoch"].tolist() == [1.0, 2.0, 3.0, 4.0]


@needs_aim
def test_the_twin_read_through_source_is_the_twin_read_through_repo_path(stores):
    _same(_load(f"aim:{stores / 'twin'}"), _load(None, str(stores / "twin")))


def test_source_and_repo_path_both_set_is_an_error_naming_both(stores):
    with pytest.raises(InputError, match=r"both `source` \('aim:x'\) and `repo_path` \('y'\)"):
        _load("aim:x", "y")


def test_an_attribute_no_run_has_lists_the_attributes_and_the_closest(stores):
    with pytest.raises(InputError) as err:
        _load(f"mlflow:{stores / 'mlflow.db'}", **{**MAPPING, "dataset_from": "datset"})
    message = str(err.value)
    assert "no run attribute `datset` (set by dataset_from)" in message
    assert "closest: `param:dataset`" in message


def test_a_key_no_run_logs_lists_the_keys_and_the_closest(stores):
    keys = {**MAPPING["metric_keys"], "accuracy": "val/acuracy"}
    with pytest.raises(InputError) as err:
        _load(f"tensorboard:{stores / 'tb'}", **{**MAPPING, "metric_keys": keys})
    message = str(err.value)
    assert "no scalar `val/acuracy`" in message and "set `metric_keys.accuracy`" in message
    assert "(closest: `val/accuracy`" in message


def test_bad_metric_keys(stores):
    source = f"tensorboard:{stores / 'tb'}"
    with pytest.raises(InputError, match=r"unknown field\(s\) \['acc'\]"):
        _load(source, **{**MAPPING, "metric_keys": {"acc": "val/accuracy"}})
    with pytest.raises(InputError, match="`accuracy` .* is required"):
        _load(source, **{**MAPPING, "metric_keys": {"loss": "val/loss"}})
    with pytest.raises(InputError, match="only metric_keys.expert has placeholders"):
        _load(source, **{**MAPPING, "metric_keys": {"accuracy": "{subset}/accuracy"}})
    keys = {"accuracy": "val/accuracy", "expert": "val/{expert}"}  # matches val/loss too
    with pytest.raises(InputError, match=r"run '.*-cifar10-s\d': .* reads expert '.*', not a"):
        _load(source, **{**MAPPING, "metric_keys": keys})


def test_fields_no_run_logs_are_notes_and_their_sections_say_so(stores):
    keys = {"accuracy": "val/accuracy", "expert": "val/expert_{expert}", "loss": "val/lost"}
    sel = _load(f"tensorboard:{stores / 'tb'}", **{**MAPPING, "metric_keys": keys})
    assert sel.notes == [
        "No run logs `val/lost` (metric_keys.loss) (closest: `val/loss`): the sections that "
        "need loss say so."
    ]
    wide = moe.per_epoch(sel.table)
    assert moe.unlogged(wide) == ["loss", "macs", "cpu_time", "memory"]
    shown = moe.display_summary(moe.summary(wide, ["method"]), MOE_TYPES)
    assert list(moe.summary_intervals(shown)) == ["Accuracy over run-epochs: mean [min, max]"]
    methods = [m for m in MOE_TYPES if m in set(wide["method"])]
    fig = moe_plots.accuracy_loss_curves(wide, methods, MOE_TYPES, dict(zip(methods, "rgb")), 0.3)
    assert [ax.get_title() for ax in fig.axes] == ["Validation accuracy (EMA)"]
    scores = {"A": np.array([[0.5, 0.6], [0.55, 0.65]]), "B": np.array([[0.4, 0.5], [0.45, 0.5]])}
    estimates = pd.DataFrame(
        [{"method": m, "metric": "iqm", "estimate": 0.5, "lower": 0.4, "upper": 0.6} for m in "AB"]
    )
    found = moe.findings(
        scores, estimates, None, None, dataset="d", epochs=2, correlation_epoch=2, cost_epoch=2
    )
    assert [f.key for f in found] == ["best_type", "best_iqm"]  # no costs: no cheapest type


def test_runs_lacking_the_mapped_attributes_are_named(stores, tmp_path):
    runs = example.runs(examples.moe_run_values, moe_types=("ffn", "softmoe"), seeds=2, epochs=2)
    runs[0] = trackerwrite.TrackedRun(
        runs[0].name, {"dataset": "cifar10", "seed": 0}, runs[0].tags, runs[0].scalars
    )  # no moe_type
    runs[1] = trackerwrite.TrackedRun(
        runs[1].name, {"dataset": "cifar10", "moe_type": "ffn"}, runs[1].tags, runs[1].scalars
    )  # no seed
    trackerwrite.write_mlflow(tmp_path / "m.db", runs)
    sel = _load(f"mlflow:{tmp_path / 'm.db'}", **MAPPING)
    assert sorted(sel.runs["name"]) == [
        "ffn-cifar10-s1",
        "softmoe-cifar10-s0",
        "softmoe-cifar10-s1",
    ]
    warned = "\n".join(sel.warnings)
    assert "1 cifar10 run(s) have no MoE-type type (`moe_type`) in moe_types" in warned
    assert "'ffn-cifar10-s0'" in warned
    assert "1 run(s) have no seed (`seed`, parameter seed_from; kept" in warned
    assert "'ffn-cifar10-s1'" in warned
    with pytest.raises(InputError, match="no run attribute `moe_tipe`"):
        _load(f"mlflow:{tmp_path / 'm.db'}", **{**MAPPING, "type_from": "moe_tipe"})


@needs_aim
def test_a_dataset_tag_or_type_off_by_case_or_a_typo_gets_a_did_you_mean(stores):
    twin = str(stores / "twin")
    with pytest.raises(InputError, match=r"dataset 'CIFAR10' \(did you mean 'cifar10'\?\)"):
        aim_repo.load_any(None, twin, dataset="CIFAR10", moe_types=MOE_TYPES)
    with pytest.raises(InputError, match=r"dataset 'cifar1' \(did you mean 'cifar10'\?\)"):
        aim_repo.load_any(None, twin, dataset="cifar1", moe_types=MOE_TYPES)
    sel, _ = aim_repo.load_any(
        None,
        twin,
        dataset="cifar10",
        moe_types={"SoftMoE": "SoftMoE", "ffn": "FFN", "expert_segmentation": "ES"},
        exclude_tags=["Softmoe"],
    )
    warned = "\n".join(sel.warnings)
    assert "exclude_tags: no run carries the tag 'Softmoe' (did you mean 'softmoe'?)" in warned
    assert "moe_types: no run has the MoE type 'SoftMoE' (did you mean 'softmoe'?)" in warned
    with pytest.raises(InputError, match=r"include tag 'ffm': did you mean 'ffn'\?"):
        aim_repo.load_any(None, twin, dataset="cifar10", moe_types=MOE_TYPES, include_tags=["ffm"])
    by_value = MAPPING | {"dataset": "Cifar10"}
    with pytest.raises(
        InputError, match=r"'Cifar10' \(did you mean 'cifar10'\?\).*`dataset` values"
    ):
        aim_repo.load_any(f"tensorboard:{stores / 'tb'}", None, moe_types=MOE_TYPES, **by_value)


@needs_aim
def test_one_moe_type_compares_nothing(stores):
    sel = _load(None, str(stores / "twin"))
    wide = moe.per_epoch(sel.table[sel.table["method"] == "ffn"])
    scores, _ = moe.score_matrices(wide, EPOCHS)
    assert list(scores) == ["ffn"]
    estimates = pd.DataFrame(
        [{"method": "ffn", "metric": "iqm", "estimate": 0.5, "lower": 0.4, "upper": 0.6}]
    )
    costs = moe.type_costs(moe.hardware_table(wide, EPOCHS), {"ffn": "ffn"})
    found = moe.findings(
        scores,
        estimates,
        costs,
        None,
        dataset="d",
        epochs=EPOCHS,
        correlation_epoch=EPOCHS,
        cost_epoch=EPOCHS,
    )
    assert found[0].verdict == "only_one" and found[0].text.startswith("Only ffn was compared")


# ---------------------------------------------------------------- the example's params


def test_the_example_params_read_the_example_store_with_its_mapping():
    """params/moe_analysis/cifar10_tensorboard.yaml maps the example store's names (the reports
    built from every tracker with this mapping, and from the twin: test_tracker_reports.py)."""
    given = yaml.safe_load((paths.PARAMS / "moe_analysis" / "cifar10_tensorboard.yaml").read_text())
    assert {k: given[k] for k in MAPPING} == MAPPING


# ---------------------------------------------------------------- runs of every shape


def _cut(run: trackerwrite.TrackedRun, last: int) -> trackerwrite.TrackedRun:
    """*run* as if it stopped after step *last*."""
    scalars = {k: (s[s <= last], v[s <= last]) for k, (s, v) in run.scalars.items()}
    return trackerwrite.TrackedRun(run.name, run.params, run.tags, scalars)


def _blown(run: trackerwrite.TrackedRun, key: str, value: float) -> trackerwrite.TrackedRun:
    """*run* whose *key* jumps to *value* from its third step on (a diverged run)."""
    steps, values = run.scalars[key]
    blown = np.where(steps >= 3, value, values)
    return trackerwrite.TrackedRun(
        run.name, run.params, run.tags, {**run.scalars, key: (steps, blown)}
    )


def test_a_store_of_unequal_and_diverged_runs(tmp_path):
    """A TensorBoard store written by tensorboardX: softmoe s1 stopped after epoch 2 of 6, ffn s2
    diverged (loss 16,726 from epoch 3). The early stop does not cut the horizon (6) and is
    named; softmoe's mean curve is drawn over the runs that go on (2 of 3, enough); the diverged
    run is named and out of the loss panel."""
    runs = example.runs(examples.moe_run_values, moe_types=TYPES, seeds=3, epochs=6)
    by_name = {r.name: r for r in runs}
    by_name["softmoe-cifar10-s1"] = _cut(by_name["softmoe-cifar10-s1"], 2)
    by_name["ffn-cifar10-s2"] = _blown(by_name["ffn-cifar10-s2"], "val/loss", 16726.0)
    trackerwrite.write_tensorboard(tmp_path / "tb", list(by_name.values()))
    sel = _load(f"tensorboard:{tmp_path / 'tb'}", **MAPPING)
    wide = moe.per_epoch(sel.table)
    run_names = dict(zip(sel.runs["run"], sel.runs["name"]))
    assert moe.common_last_epoch(wide) == 2 and moe.horizon(wide) == 6
    stopped = moe.stopped_before(wide, 6)
    assert [run_names[r] for r in stopped["run"]] == ["softmoe-cifar10-s1"]
    scores, incomplete = moe.score_matrices(wide, moe.horizon(wide))
    assert {t: s.shape for t, s in scores.items()} == {
        "softmoe": (2, 6),
        "ffn": (3, 6),
        "expert_segmentation": (3, 6),
    }
    assert incomplete == {"softmoe": 1, "ffn": 0, "expert_segmentation": 0}
    far = moe.diverged(wide)
    assert [(run_names[r], m, e) for r, m, e in far[["run", "metric", "epoch"]].values] == [
        ("ffn-cifar10-s2", "loss", 3.0)
    ]
    names = {t: MOE_TYPES[t] for t in TYPES}
    (warning,) = moe.diverged_warnings(far, names, run_names, moe.OPTIONAL_FIELDS)
    assert "'ffn-cifar10-s2' (FFN) diverged: validation loss 16,726 at epoch 3" in warning
    points = moe.curve_points(wide, "accuracy")
    soft = points[points["method"] == "softmoe"]
    assert soft["runs"].tolist() == [3, 3, 2, 2, 2, 2] and soft["drawn"].all()
    leave_out = far.groupby("metric")["run"].agg(set).to_dict()
    colors = dict(zip(TYPES, "rgb"))
    with plt.rc_context(style.paper("full", venue="icml", ncols=2)):
        fig = moe_plots.accuracy_loss_curves(wide, list(TYPES), names, colors, 0.3, leave_out)
        assert fig.axes[1].get_ylim()[1] < 10  # the loss panel shows the other runs
        assert figures.check(fig) == []
    plt.close("all")
    # the claims: over runs, each run's mean over epochs 1-6
    over = moe.run_intervals(moe.run_values(scores)).set_index("method")
    assert over["runs"].to_dict() == {"softmoe": 2, "ffn": 3, "expert_segmentation": 3}


def test_a_store_of_one_logged_step_and_single_runs(tmp_path):
    """Every run logged at one step, one run per type: the per-epoch table, a horizon of 1, a
    score matrix of one epoch; no type has 2 runs, so nothing is compared (the notebook says so)
    and the curves are dots."""
    runs = example.runs(examples.moe_run_values, moe_types=TYPES, seeds=1, epochs=1)
    trackerwrite.write_mlflow(tmp_path / "m.db", runs)
    sel = _load(f"mlflow:{tmp_path / 'm.db'}", **MAPPING)
    wide = moe.per_epoch(sel.table)
    assert moe.horizon(wide) == 1 and len(wide) == 3
    scores, _ = moe.score_matrices(wide, 1)
    assert {t: s.shape for t, s in scores.items()} == {t: (1, 1) for t in TYPES}
    names = {t: MOE_TYPES[t] for t in TYPES}
    with plt.rc_context(style.paper("full", venue="icml", ncols=2)):
        fig = moe_plots.accuracy_loss_curves(wide, list(TYPES), names, dict(zip(TYPES, "rgb")), 0.3)
        assert sum(line.get_marker() == "o" for line in fig.axes[0].lines) == 3
    plt.close("all")
