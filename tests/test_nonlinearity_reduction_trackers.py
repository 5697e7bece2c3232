"""Nonlinearity reduction read from trackers (sources.nonlinearity_reduction_trackers).

The same numbers written by TensorBoard's, MLflow's and Aim's own libraries read back as the run
folders' reader reads their float32-exact JSON twin; bad mappings and bad values (on hand-made
tracker tables). Reports built from each tracker and from the twin: test_tracker_reports.py."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from labbook import inputs
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import nonlinearity_reduction as example
from labbook.sources import nonlinearity_reduction as nlr
from labbook.sources import nonlinearity_reduction_trackers as nt
from labbook.sources import trackers
from labbook.sources.trackers import TrackerData
from tests.extras import AIM, WITHOUT_AIM

KEPT = ("_fixed_0_s0", "_fixed_0_s1", "_fixed_50_s0", "_fixed_50_s1", "_lam0.05_s0", "_lam0.05_s1")
TABLES = ("runs", "history", "gating", "alphas", "activation")


@pytest.fixture(scope="module")
def docs():
    """Twelve float32-exact example runs: mnist (ratios from the run name, activation statistics)
    and cifar10 (ratios from config.linear_ratio), fixed at 0% and 50% and gating, two seeds each,
    and a second run of one mnist setting (the readers warn of it)."""
    out = {}
    for dataset in ("mnist", "cifar10"):
        every = example.float32_docs(example.simulated(examples.nonlinearity_reduction, dataset))
        out.update({name: doc for name, doc in every.items() if name.endswith(KEPT)})
    out["mnist_fixed_50_s1_again"] = out["mnist_fixed_50_s1"]
    return out


@pytest.fixture(scope="module")
def twin(docs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nlr") / "json"
    example.write_json(folder, docs)
    return folder


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow", "aim"])
def test_a_store_reads_as_its_json_twin(tracker, docs, twin, tmp_path):
    if tracker == "aim" and not AIM:
        pytest.skip(WITHOUT_AIM)
    source = tw.write_store(tracker, tmp_path / tracker, example.runs(docs))
    data = trackers.read(source, use_cache=False)
    assert trackers.is_simulated(data.runs)
    for rule in ("mean_alpha", "below_threshold"):
        from_store = nt.from_tracker(data, nt.SEED_NAMES, rule, 0.5)
        from_files = nlr.load_runs(twin, rule, 0.5)
        for table in TABLES:
            pd.testing.assert_frame_equal(
                getattr(from_store, table), getattr(from_files, table), check_exact=True
            )
        assert from_store.configs == from_files.configs
        assert from_store.skipped == from_files.skipped == []
        assert from_store.notes == data.warnings + from_files.notes  # the reader's first
        assert len(from_files.notes) == 1 and "duplicates of one setting" in from_files.notes[0]
    runs = from_store.runs.set_index("run")
    assert set(runs["ratio_rule"]) == {"run name", "config", "gating: share α < 0.5"}
    assert runs.loc["mnist_fixed_0_s1", "seed"] == "1" and not from_store.activation.empty
    inputs.clear()


def test_load_any_reads_the_folders_or_the_store_never_both(twin, tmp_path):
    pd.testing.assert_frame_equal(nt.load_any(str(twin), None).runs, nlr.load_runs(twin).runs)
    with pytest.raises(InputError, match=r"runs_dir \('runs/'\) and source \('tb/'\) are both set"):
        nt.load_any("runs/", "tb/")


# ------------------------------------------------------------ hand-made tracker tables


def _store(runs: dict[str, dict], scalars: dict[str, dict], status=None) -> TrackerData:
    """Tracker tables as a reader returns them. runs: {name: {attribute column: value}} (the id
    is "id-<name>"); scalars: {name: {key: {step: value}}}; status: {name: status}."""
    columns = sorted({c for attrs in runs.values() for c in attrs})
    table = pd.DataFrame(
        [
            {
                "run": f"id-{n}",
                "name": n,
                "status": (status or {}).get(n, "finished"),
                **{c: attrs.get(c) for c in columns},
            }
            for n, attrs in runs.items()
        ],
        columns=["run", "name", "status", *columns],
    ).astype({c: object for c in columns})
    rows = [
        (f"id-{n}", key, step, value, np.nan)
        for n, keys in scalars.items()
        for key, values in keys.items()
        for step, value in values.items()
    ]
    values = pd.DataFrame(rows, columns=trackers.SCALAR_COLUMNS).astype(
        {"step": "int64", "value": "float64", "wall_time": "float64"}
    )
    values["run"] = values["run"].astype("category")
    values["key"] = values["key"].astype("category")
    return trackers.check_tables(TrackerData("tensorboard", "store", table, values))


def _fixed(seed: int, approach="fixed", **attrs) -> dict:
    return {"hparam:approach": approach, "hparam:dataset": "d", "hparam:seed": float(seed), **attrs}


def _epochs(acc=(0.5, 0.8), **more) -> dict:
    keys = {
        "train_acc": {s + 1: a + 0.01 for s, a in enumerate(acc)},
        "val_acc": {s + 1: a for s, a in enumerate(acc)},
        "mean_latency_s": {len(acc): 0.001},
    }
    return {**keys, **more}


def test_an_attribute_no_run_has_lists_the_attributes_and_the_closest():
    data = _store({"a_0_s0": _fixed(0)}, {"a_0_s0": _epochs()})
    with pytest.raises(InputError) as err:
        nt.from_tracker(data, nt.Mapping(approach_from="approch"))
    message = str(err.value)
    assert "no run attribute `approch` (set by approach_from)" in message
    assert "`hparam:dataset`" in message and "closest: `hparam:approach`" in message
    with pytest.raises(InputError, match="no run attribute `run_seed` .set by seed_from."):
        nt.from_tracker(data, nt.Mapping(seed_from="run_seed"))


def test_a_key_no_run_logs_lists_the_keys_and_the_closest():
    data = _store({"a_0_s0": _fixed(0)}, {"a_0_s0": _epochs()})
    with pytest.raises(InputError) as err:
        nt.from_tracker(data, nt.Mapping(val_acc_key="val/acc"))
    message = str(err.value)
    assert "store: no scalar `val/acc`; the runs log `mean_latency_s`, `train_acc`" in message
    assert "(closest: `val_acc`" in message and message.endswith("set `val_acc_key`")
    with pytest.raises(InputError, match="set `train_acc_key`"):
        nt.from_tracker(data, nt.Mapping(train_acc_key="accuracy"))
    with pytest.raises(InputError, match=r"alpha_mean_key: 'gating/mean' must hold \{layer\}"):
        nt.from_tracker(data, nt.Mapping(alpha_mean_key="gating/mean"))


def test_runs_lacking_an_attribute_or_unfinished_are_left_out_with_the_reason():
    runs = {
        "a_0_s0": _fixed(0),
        "b_0_s1": {"hparam:dataset": "d", "hparam:seed": 1.0},
        "c_0": _fixed(0, **{"hparam:seed": None}),
        "d_0_s2": _fixed(2),
        "e_0_s3": _fixed(3),
        "f_0_s4": _fixed(4),
    }
    status = {"d_0_s2": "failed", "e_0_s3": "running", "f_0_s4": "unknown"}
    data = _store(runs, {n: _epochs() for n in runs}, status)
    rs = nt.from_tracker(data)
    assert rs.runs["run"].tolist() == ["a_0_s0", "f_0_s4"]
    assert dict(rs.skipped) == {
        "b_0_s1": "no `approach` (approach_from) attribute",
        "c_0": "no `seed` (seed_from) attribute",
        "d_0_s2": "status failed: not finished, its last epoch is no result",
        "e_0_s3": "status running: not finished, its last epoch is no result",
    }
    nobody = _store({"a_0": {"hparam:approach": None, "hparam:x": 1}}, {"a_0": _epochs()})
    with pytest.raises(
        InputError, match="no run has a value for `approach` .set by approach_from."
    ):
        nt.from_tracker(nobody)


def test_bad_values_leave_the_run_out_naming_the_key_and_the_step():
    gate = "gating/fc1/alpha_mean"
    runs = {
        "ok_10_s0": (_fixed(0), _epochs()),
        "pct_10_s0": (_fixed(0), _epochs(acc=(0.5, 97.0))),
        "loss_10_s0": (_fixed(0), _epochs(train_loss={1: 0.3, 2: -0.3})),
        "gate_10_s0": (_fixed(0), _epochs(**{gate: {1: 0.5, 2: 1.4}})),
        "alpha_10_s0": (
            _fixed(0),
            _epochs(
                **{
                    gate: {2: 0.5},
                    "gating/fc1/alphas/0": {2: 0.2},
                    "gating/fc1/alphas/1": {2: -0.1},
                }
            ),
        ),
        "lonely_10_s0": (_fixed(0), _epochs(**{"gating/fc2/alpha_median": {2: 0.5}})),
        "lat_10_s0": (_fixed(0, **{"param:mean_latency_s": "fast"}), _epochs()),
        "neg_10_s0": (_fixed(0, **{"param:memory_mb": -5.0}), _epochs()),
        "ratio_s0": (_fixed(0, **{"hparam:linear_ratio": 1.5}), _epochs()),
        "gap_10_s0": (_fixed(0), {**_epochs(), "train_acc": {1: 0.5}}),
        "none_10_s0": (_fixed(0), {"mean_latency_s": {1: 0.1}}),
    }
    data = _store({n: a for n, (a, _) in runs.items()}, {n: s for n, (_, s) in runs.items()})
    m = nt.Mapping(mean_latency_from="param:mean_latency_s", memory_from="param:memory_mb")
    reasons = dict(nt.from_tracker(data, m).skipped)
    assert reasons == {
        "pct_10_s0": "field `train_acc` at step 2 = 97.01 is not a fraction in [0, 1] "
        "(percentages? divide by 100)",
        "loss_10_s0": "field `train_loss` at step 2 = -0.3 is outside its domain (a loss, not "
        "negative)",
        "gate_10_s0": f"field `{gate}` at step 2 = 1.4 is outside its domain (a gate statistic in "
        "[0, 1])",
        "alpha_10_s0": "field `gating/fc1/alphas/1` at step 2 = -0.1 is outside its domain (a gate "
        "value in [0, 1])",
        "lonely_10_s0": "layer fc2 has gate values at step 2 but no `gating/fc2/alpha_mean` "
        "(alpha_mean_key)",
        "lat_10_s0": "field 'param:mean_latency_s' must be a finite number, got 'fast'",
        "neg_10_s0": "field 'param:memory_mb' = -5 is outside its domain (not negative)",
        "ratio_s0": "field 'linear_ratio' = 1.5 is not a fraction in [0, 1]",
        "gap_10_s0": "`train_acc` is not logged at step(s) 2 where `val_acc` is",
        "none_10_s0": "logs no `val_acc` (val_acc_key)",
    }


def test_sections_the_runs_did_not_log_say_so():
    runs = {"a_0_s0": _fixed(0), "b_50_s0": _fixed(0)}
    scalars = {n: {**_epochs(), "gating/fc1/alpha_mean": {2: 0.5}} for n in runs}
    for keys in scalars.values():
        del keys["mean_latency_s"]
    rs = nt.from_tracker(_store(runs, scalars))
    assert rs.alphas.empty and rs.activation.empty and rs.runs["mean_latency_s"].isna().all()
    assert rs.history["train_loss"].isna().all() and not rs.gating.empty
    notes = "\n".join(rs.notes)
    assert "no scalar `gating/{layer}/alphas/{neuron}`" in notes
    assert "set `alphas_key` (None when the runs do not log it): no per-neuron gate" in notes
    assert "set `activation_key` (None when the runs do not log it): no activation" in notes
    assert (
        "no run attribute or scalar `mean_latency_s` (mean_latency_from), `p50_latency_s`" in notes
    )
    assert "`train_loss_key`" in notes
    assert rs.labels["alphas"] == "gating/{layer}/alphas/{neuron}"
    assert rs.labels["activation"] == "activation/{layer}/{stat}"
    quiet = nt.Mapping(alphas_key=None, activation_key=None, train_loss_key=None, flops_from="f")
    runs["a_0_s0"]["hparam:approx_linear_flops"] = 5.0
    rs = nt.from_tracker(_store(runs, scalars), quiet)
    assert rs.configs["a_0_s0"] == {}  # the seed's meta names are never config, mapped or not
    assert not any("alphas_key" in n or "activation_key" in n for n in rs.notes)
    assert rs.labels["alphas"] == "alphas_key: None"


def test_a_store_without_gates_says_so_once():
    rs = nt.from_tracker(_store({"a_0_s0": _fixed(0)}, {"a_0_s0": _epochs()}))
    gate_notes = [n for n in rs.notes if "gating/" in n.split(";")[0]]
    assert len(gate_notes) == 1 and "set `alpha_mean_key`" in gate_notes[0]
    assert gate_notes[0].endswith("no gate statistics.") and rs.gating.empty


def test_names_patterns_duplicates_and_layer_order():
    runs = {"lin_fixed_20_s3": {"hparam:x": 1.0}, "lin_gating_s4": {"hparam:x": 1.0}}
    gates = {f"gating/{layer}/alpha_mean": {2: 0.4} for layer in ("fc10", "fc2", "fc1")}
    data = _store(runs, {"lin_fixed_20_s3": _epochs(), "lin_gating_s4": _epochs(**gates)})
    m = nt.Mapping(
        approach_from=r"name:_(fixed|gating)", seed_from=r"name:_s(\d+)$", dataset_from=None
    )
    rs = nt.from_tracker(data, m)
    assert rs.runs[["run", "approach", "seed", "dataset"]].values.tolist() == [
        ["lin_fixed_20_s3", "fixed", "3", "store"],
        ["lin_gating_s4", "gating", "4", "store"],
    ]
    assert rs.gating["layer"].tolist() == ["fc1", "fc2", "fc10"]
    assert rs.configs["lin_gating_s4"] == {"x": 1}
    twice = _store({"r_10_s0": _fixed(0)}, {"r_10_s0": _epochs()})
    twice.runs = pd.concat([twice.runs, twice.runs.assign(run="id-other")], ignore_index=True)
    extra = twice.scalars.assign(run="id-other")
    twice.scalars = pd.concat([twice.scalars.astype({"run": str}), extra.astype({"run": str})])
    rs = nt.from_tracker(twice)
    assert sorted(rs.runs["run"]) == ["r_10_s0 (id-other)", "r_10_s0 (id-r_10_s0)"]
    assert "share the name(s) `r_10_s0`" in rs.notes[0]


def test_attribute_values_read_as_a_json_config_holds_them():
    assert [nt.plain(v) for v in ("0", 0.0, "0.01", 2.5, "fixed", True, np.float64(3.0))] == [
        0,
        0,
        0.01,
        2.5,
        "fixed",
        True,
        3,
    ]


# Reports built from each tracker and from the twin: test_tracker_reports.py.


def test_ratio_from_null_takes_no_ratio_from_a_run_name(tmp_path):
    """Lightning names its runs version_N: with `ratio_from: null` (the store sets no ratio) a
    fixed run's name token is no linear ratio (version_16 is not 16 % linear); the run is left
    out saying it has no ratio. With the default, the seed's name rule still applies."""
    steps = np.arange(1, 4)
    run = tw.TrackedRun(
        "version_16",
        params={"approach": "fixed"},
        scalars={
            "train_acc": (steps, tw.float32_exact(0.5 + 0.1 * steps)),
            "val_acc": (steps, tw.float32_exact(0.4 + 0.1 * steps)),
        },
    )
    source = tw.write_store("tensorboard", tmp_path / "store", [run])
    off = dataclasses.replace(
        nt.SEED_NAMES, dataset_from=None, seed_from=None, ratio_from=None, alpha_mean_key=None
    )
    with pytest.raises(InputError, match="no linear ratio"):
        nt.load_any(None, source, off, use_cache=False)
    by_name = nt.load_any(None, source, dataclasses.replace(off, ratio_from="linear_ratio"))
    assert by_name.runs["linear_ratio"].tolist() == [0.16]
