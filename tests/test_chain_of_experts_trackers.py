"""Chain-of-experts results read from trackers (sources.chain_of_experts_trackers): stores written
by each tracker's own library give what the JSON loader gives on the float32-exact JSON twin of
the same numbers; the mapping's bad input; absent sections; the choice between source and JSON
files; the example store. Reports built both ways: test_tracker_reports.py."""

import numpy as np
import pandas as pd
import pytest

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import chain_of_experts as example
from labbook.sources import chain_of_experts as coe
from labbook.sources import chain_of_experts_trackers as source
from labbook.sources import trackers
from labbook.sources.trackers import TrackerData
from tests.extras import needs_aim

LABELS = source.Mapping(label_from="method_name")


def assert_same_results(got: coe.ChainOfExpertsResults, want: coe.ChainOfExpertsResults):
    """Every number, name and table of two loads equal, bit for bit, and the same warnings."""
    assert list(got.methods) == list(want.methods)
    for key, w in want.methods.items():
        g = got.methods[key]
        assert (g.key, g.name, g.params_m, g.gflops) == (w.key, w.name, w.params_m, w.gflops)
        for name in ("accuracy", "block_entropy", "gate_means"):
            a, b = getattr(g, name), getattr(w, name)
            assert (a is None and b is None) or np.array_equal(a, b), (key, name, a, b)
    for name in ("ablation", "entropy", "convergence"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    assert got.warnings == want.warnings == []


# ---------------------------------------------------------------- each tracker, same numbers


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """The example numbers, small (2 seeds, 4 epochs): the twin's folder and its runs."""
    folder = tmp_path_factory.mktemp("twin")
    examples.chain_of_experts_seeds(folder / "seeds", n_seeds=2, epochs=4)
    example.write_twin(folder / "seeds", folder / "json")
    return folder, example.runs(example.load_twin(folder))


@pytest.mark.parametrize(
    "tracker",
    [
        "tensorboard",
        "mlflow",
        pytest.param("aim", marks=needs_aim),
    ],
)
def test_a_store_of_each_tracker_reads_as_the_json_twin_of_its_numbers(tracker, twin, tmp_path):
    folder, runs = twin
    data = trackers.read(tw.write_store(tracker, tmp_path / tracker, runs), use_cache=False)
    assert trackers.is_simulated(data.runs)
    got = source.from_tracker(data, LABELS)
    assert_same_results(got, example.load_twin(folder))
    assert got.notes == [] and got.store.startswith(f"{tracker} store ")
    assert [m.runs for m in got.methods.values()] == [
        [f"{key}_s0", f"{key}_s1"] for key in ("baseline", "chain_par", "chain_seq")
    ]
    inputs.clear()


# ---------------------------------------------------------------- bad input, in memory


def _store(runs: list[tw.TrackedRun], status: dict | None = None) -> TrackerData:
    """What the MLflow reader gives for *runs*: params and tags as text, one row per value."""
    rows, points = [], []
    for i, r in enumerate(runs):
        run = f"id{i:03d}"
        row = {"run": run, "name": r.name, "status": (status or {}).get(r.name, "finished")}
        row.update({f"param:{k}": str(v) for k, v in r.params.items()})
        row.update({f"tag:{k}": str(v) for k, v in r.tags.items()})
        rows.append(row)
        points += [(run, k, s, v, w) for k, s, v, w in r.points()]
    table = pd.DataFrame(rows)
    table = table.astype(object).where(table.notna(), None)
    scalars = pd.DataFrame(points, columns=["run", "key", "step", "value", "wall_time"])
    return TrackerData("mlflow", "/data/mlflow.db", table, scalars)


def _at(step, **values) -> dict:
    return {k: (np.array([step]), np.array([v], dtype=float)) for k, v in values.items()}


def _method(key, seed, acc, gates=None, curve=True, **extra) -> tw.TrackedRun:
    """A compared run: accuracy and costs at step 3, gates of a 2 x 2 chain, curves 1..3."""
    scalars = _at(3, accuracy=acc, params_m=10.0, gflops=2.0)
    if gates is not None:
        for (b, e), g in np.ndenumerate(np.asarray(gates)):
            scalars.update(_at(3, **{f"gate/{b}/{e}/mean": g}))
        scalars.update(_at(3, **{f"gate/{b}/entropy": 0.3 for b in range(len(gates))}))
    if curve:
        scalars["train_loss"] = (np.array([1, 2, 3]), np.array([2.0, 1.0, 0.5]))
        scalars["val_acc"] = (np.array([1, 2, 3]), np.array([40.0, 60.0, acc]))
    tags = {"method": key, "method_name": key.upper(), **extra.pop("tags", {})}
    return tw.TrackedRun(f"{key}_s{seed}", {"seed": seed, **extra}, tags, scalars)


def _sweep(kind, x, seed, acc, **values) -> tw.TrackedRun:
    tags = {"sweep": kind, kind: x}
    return tw.TrackedRun(f"{kind}{x}_s{seed}", {"seed": seed}, tags, _at(3, accuracy=acc, **values))


GATES = [[0.5, 0.6], [0.8, 0.9]]


def _runs() -> list[tw.TrackedRun]:
    runs = [_method("base", s, 70.0 + s) for s in (0, 1)]
    runs += [_method("moe", s, 72.0 + s, gates=GATES) for s in (0, 1)]
    runs += [
        _sweep("experts_per_block", x, s, 70 + x + s, params_m=x) for x in (1, 2) for s in (0, 1)
    ]
    runs += [
        _sweep("entropy_coeff", c, s, 71 + s, avg_entropy=c + 0.1)
        for c in (0.0, 0.01)
        for s in (0, 1)
    ]
    return runs


def _read(runs=None, m=None, status=None) -> coe.ChainOfExpertsResults:
    return source.from_tracker(_store(_runs() if runs is None else runs, status), m)


def _without(runs, name: str, *, tags=(), params=(), keys=()) -> list[tw.TrackedRun]:
    """*runs* with run *name* stripped of the tags, params and scalar keys given."""
    out = []
    for r in runs:
        if r.name == name:
            r = tw.TrackedRun(
                r.name,
                {k: v for k, v in r.params.items() if k not in params},
                {k: v for k, v in r.tags.items() if k not in tags},
                {k: v for k, v in r.scalars.items() if k not in keys},
            )
        out.append(r)
    return out


def test_the_mapping_reads_every_section_of_a_store_in_seed_order():
    res = _read()
    assert list(res.methods) == ["base", "moe"]
    moe = res.methods["moe"]
    assert moe.name == "moe" and moe.accuracy.tolist() == [72.0, 73.0]
    assert (moe.params_m, moe.gflops) == (10.0, 2.0) and np.array_equal(moe.gate_means, GATES)
    assert moe.block_entropy.tolist() == [0.3, 0.3] and res.methods["base"].gate_means is None
    assert res.ablation.to_dict("list") == {
        "experts_per_block": [1.0, 2.0, 1.0, 2.0],
        "seed": [0, 0, 1, 1],
        "accuracy": [71.0, 72.0, 72.0, 73.0],
        "params_m": [1.0, 2.0, 1.0, 2.0],
    }
    assert res.entropy["entropy_coeff"].tolist() == [0.0, 0.01, 0.0, 0.01]
    assert res.entropy["avg_entropy"].tolist() == [0.0 + 0.1, 0.01 + 0.1] * 2
    # one curve per run, by method and seed (the figure draws each seed and their mean)
    assert res.convergence["method"].tolist() == ["base"] * 6 + ["moe"] * 6
    assert res.convergence["seed"].tolist() == (["0"] * 3 + ["1"] * 3) * 2
    assert res.convergence["val_acc"].tolist() == [40.0, 60.0, 70.0, 40.0, 60.0, 71.0] + [
        40.0,
        60.0,
        72.0,
        40.0,
        60.0,
        73.0,
    ]
    assert res.notes == []
    assert res.warnings == []
    assert source.from_tracker(_store(_runs()), LABELS).methods["moe"].name == "MOE"


def test_seeds_from_the_run_name_or_from_the_order_of_the_runs():
    by_name = _read(m=source.Mapping(seed_from=r"name:_s(\d+)$"))
    by_order = _read(m=source.Mapping(seed_from=None))
    for res in (by_name, by_order):
        assert res.methods["moe"].accuracy.tolist() == [72.0, 73.0]
        assert res.ablation["seed"].tolist() == [0, 0, 1, 1]


def test_an_attribute_no_run_has_is_an_error_listing_the_attributes_and_the_closest():
    with pytest.raises(InputError) as err:
        _read(m=source.Mapping(method_from="methd"))
    msg = str(err.value)
    assert "no run attribute `methd` (set by method_from)" in msg
    assert "`param:seed`" in msg and "closest: `tag:method`" in msg
    with pytest.raises(InputError, match="set by label_from"):
        _read(m=source.Mapping(label_from="display"))


def test_a_key_no_run_logs_is_an_error_listing_the_keys_and_the_closest():
    with pytest.raises(InputError) as err:
        _read(m=source.Mapping(scalar_keys={"accuracy": "acc/top1"}))
    msg = str(err.value)
    assert "no scalar `acc/top1`" in msg and "`accuracy`" in msg and "`gflops`" in msg
    assert "set `scalar_keys.accuracy`" in msg
    with pytest.raises(InputError, match=r"unknown field `acuracy` \(closest: `accuracy`\)"):
        _read(m=source.Mapping(scalar_keys={"acuracy": "accuracy"}))
    with pytest.raises(InputError, match=r"scalar_keys.entropy` = 'gate/entropy': needs \{block\}"):
        _read(m=source.Mapping(scalar_keys={"entropy": "gate/entropy"}))


def test_runs_lacking_the_method_the_seed_or_the_accuracy_are_left_out_with_a_warning():
    runs = _without(_runs(), "moe_s1", tags=["method"])
    runs = _without(runs, "base_s1", params=["seed"])
    runs = _without(runs, "base_s0", keys=["accuracy"])
    runs = _without(runs, "experts_per_block2_s0", tags=["experts_per_block"])
    res = _read(runs)
    assert res.warnings == [
        "1 compared run(s) without `method` (method_from) left out: `moe_s1`",
        "1 compared run(s) without `seed` (seed_from) left out: `base_s1`",
        "1 compared run(s) without `accuracy` left out: `base_s0`",
        "1 `experts_per_block` sweep run(s) without `experts_per_block` (experts_from) left "
        "out: `experts_per_block2_s0`",
    ]
    assert list(res.methods) == ["moe"] and res.methods["moe"].accuracy.tolist() == [72.0]
    assert len(res.ablation) == 3
    no_method = [_without([r], r.name, tags=["method"])[0] for r in _runs()[:4]]
    marked = _sweep("experts_per_block", 4, 0, 70.0)
    marked = tw.TrackedRun(marked.name, marked.params, {**marked.tags, "method": "moe"})
    with pytest.raises(InputError, match="no compared run has the attribute `method`"):
        _read([*no_method, marked])


def test_runs_that_did_not_finish_are_left_out_with_a_warning():
    res = _read(status={"moe_s1": "failed", "entropy_coeff0.01_s0": "running"})
    assert res.warnings == [
        "2 run(s) that did not finish left out (their last values are not final results): "
        "`entropy_coeff0.01_s0` (running), `moe_s1` (failed)"
    ]
    assert res.methods["moe"].accuracy.tolist() == [72.0] and len(res.entropy) == 3
    everything = {r.name: "killed" for r in _runs()}
    with pytest.raises(InputError, match="no finished run to read"):
        _read(status=everything)


def test_runs_of_a_sweep_the_report_does_not_read_are_named_in_a_warning():
    runs = [*_runs(), _sweep("lr", 0.1, 0, 60.0)]
    res = _read(runs)
    assert res.warnings == [
        "1 run(s) of a sweep this report does not read left out: `lr0.1_s0` (sweep = `lr`)"
    ]


def test_bad_values_are_errors_naming_the_run_and_the_key():
    cases = [
        (_method("moe", 1, 120.0), r"run `moe_s1`: field 'accuracy' = 120 .*percentage"),
        (
            _method("moe", 1, 72.0, gates=[[0.5, 0.6], [1.5, 0.9]]),
            r"run `moe_s1`: field 'gate/1/0/mean' = 1.5 .*gate activation in \[0, 1\]",
        ),
        (_method("moe", 1, 72.0, params_m=-1.0), None),
        (_sweep("experts_per_block", 0, 1, 70.0), r"run `experts_per_block0_s1`: field "),
    ]
    for bad, pattern in cases:
        runs = [r for r in _runs() if r.name != bad.name] + [bad]
        if pattern is None:  # a cost as a run attribute, when no run logs it as a scalar
            runs = [_without([r], r.name, keys=["params_m"])[0] for r in runs]
            pattern = r"run `moe_s1`: field 'params_m' = -1 .*not negative"
        with pytest.raises(InputError, match=pattern):
            _read(runs)
    fractions = [_method("base", s, 0.7) for s in (0, 1)] + [_method("moe", 0, 0.72)]
    with pytest.raises(InputError, match="every value in \\[0, 1\\] in every file"):
        _read(fractions)
    loss = _method("base", 0, 70.0)
    loss.scalars["train_loss"] = (np.array([1, 2, 3]), np.array([2.0, -1.0, 0.5]))
    with pytest.raises(InputError, match=r"run `base_s0`: field 'train_loss' = -1 "):
        _read([loss, _method("moe", 0, 72.0)])


def test_two_runs_of_one_method_and_seed_or_two_names_for_one_method_are_errors():
    twice = [
        *_runs(),
        tw.TrackedRun("moe_again", {"seed": 1}, {"method": "moe"}, _at(3, accuracy=1)),
    ]
    with pytest.raises(
        InputError, match="runs `moe_again`, `moe_s1` are all method `moe`, seed `1`"
    ):
        _read(twice)
    renamed = _method("moe", 1, 73.0, gates=GATES, tags={"method_name": "Other"})
    with pytest.raises(
        InputError, match="method `moe` give it two names .*`MOE` \\(run `moe_s0`\\)"
    ):
        _read([*_runs()[:3], renamed], LABELS)


def test_sections_whose_data_the_runs_did_not_log_say_so():
    compared = [_method("base", 0, 70.0, curve=False), _method("moe", 0, 72.0, curve=False)]
    res = _read(compared)
    assert (res.ablation, res.entropy, res.convergence) == (None, None, None)
    assert res.skipped == {
        "ablation": "No experts-per-block ablation in the store: no run has `sweep` = "
        "`experts_per_block` (`sweep_from`, `ablation_sweep`; values found: none); section "
        "skipped.",
        "entropy": "No entropy-regularization sweep in the store: no run has `sweep` = "
        "`entropy_coeff` (`sweep_from`, `entropy_sweep`; values found: none); section skipped.",
        "convergence": "No convergence data: no compared run logs both `train_loss` and "
        "`val_acc` at one step; section skipped.",
    }
    assert all(m.gate_means is None and m.block_entropy is None for m in res.methods.values())
    assert res.field_names == {
        "gate_means": "gate/{block}/{expert}/mean",
        "params_m": "params_m",
        "gflops": "gflops",
    }
    unset = _read(m=source.Mapping(ablation_sweep=None))
    assert unset.ablation is None and unset.entropy is not None
    assert unset.skipped["ablation"] == (
        "No experts-per-block ablation read (`ablation_sweep` is not set); section skipped."
    )
    assert unset.warnings[0].startswith("4 run(s) of a sweep this report does not read")
    json_default = coe.ChainOfExpertsResults(methods={})
    assert json_default.skipped == coe.SKIPPED and json_default.field_names["gflops"] == "gflops"


def test_costs_as_run_attributes_differing_costs_and_gates_at_a_step():
    runs = [_without([r], r.name, keys=["params_m", "gflops"])[0] for r in _runs()]
    for i, r in enumerate(runs[:4]):  # the compared runs: costs as params, gflops per seed
        costs = {"params_m": 12, "gflops": 2 + r.params["seed"]}
        runs[i] = tw.TrackedRun(r.name, {**r.params, **costs}, r.tags, r.scalars)
    res = _read(runs)
    assert (res.methods["base"].params_m, res.methods["base"].gflops) == (12.0, 2.5)
    assert res.warnings[0] == (
        "mlflow store /data/mlflow.db, runs of method `base`: the runs give different `gflops` "
        "(`base_s0` 2, `base_s1` 3); the mean is used"
    )
    early = _method("moe", 0, 72.0, gates=GATES)
    for (b, e), g in np.ndenumerate([[0.1, 0.2], [0.3, 0.4]]):
        early.scalars[f"gate/{b}/{e}/mean"] = (np.array([1, 3]), np.array([g, GATES[b][e]]))
    res = _read([_method("base", 0, 70.0), early], source.Mapping(gate_step=1))
    assert res.methods["moe"].gate_means.tolist() == [[0.1, 0.2], [0.3, 0.4]]
    assert res.methods["moe"].block_entropy is None  # logged at step 3 only
    ragged = _without([_method("moe", 0, 72.0, gates=GATES)], "moe_s0", keys=["gate/1/1/mean"])
    with pytest.raises(InputError, match=r"run `moe_s0`: no scalar `gate/1/1/mean`"):
        _read([_method("base", 0, 70.0), *ragged])


def test_load_any_reads_the_json_files_or_the_source_never_both(tmp_path):
    defaults = dict(coe.EXAMPLE_INPUTS)
    res = source.load_any(None, defaults)
    assert res.store is None and list(res.methods) == ["baseline", "chain_seq", "chain_par"]
    table, caption = coe.inputs_table(res)
    assert caption == "Result files read." and table["file"].iloc[0].endswith("baseline.json")
    for name, value in (("method_files", {"a": "a.json"}), ("ablation_file", None)):
        with pytest.raises(InputError) as err:
            source.load_any("mlflow:x.db", {**defaults, name: value})
        assert f"both `source` (mlflow:x.db) and `{name}`" in str(err.value)
    tw.write_mlflow(tmp_path / "mlflow.db", _runs())
    res = source.load_any(f"mlflow:{tmp_path / 'mlflow.db'}", defaults)
    table, caption = coe.inputs_table(res)
    assert table["runs"].tolist() == ["base_s0, base_s1", "moe_s0, moe_s1"]
    assert caption.startswith("Runs read from the mlflow store /") and caption.endswith(
        "mlflow.db."
    )
    inputs.clear()


def test_the_notebook_defaults_are_the_example_inputs_load_any_compares_with():
    from labbook.runner import params

    declared = params.notebook_params(paths.NOTEBOOKS / "chain_of_experts.ipynb")
    assert {k: declared[k].default for k in coe.EXAMPLE_INPUTS} == coe.EXAMPLE_INPUTS
    assert declared["scalar_keys"].default == source.KEYS
    mapping = source.Mapping()
    for name in ("method_from", "label_from", "seed_from", "sweep_from", "ablation_sweep"):
        assert declared[name].default == getattr(mapping, name)


# ---------------------------------------------------------------- the example store


def test_the_example_mlflow_store_reads_as_its_json_twin(example_build):
    """The store `make examples` writes (here: the session's shared build's, so a clean clone has
    it) holds its twin's numbers, its runs tagged simulated. Reports built both ways:
    test_tracker_reports.py."""
    store = example_build / "examples" / "generated" / "chain_of_experts_trackers"
    data = trackers.read(f"mlflow:{store / 'mlflow' / 'mlflow.db'}", use_cache=False)
    assert trackers.is_simulated(data.runs) and data.warnings == []
    assert_same_results(source.from_tracker(data, LABELS), example.load_twin(store))
    inputs.clear()
