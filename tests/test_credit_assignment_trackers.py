"""Credit assignment read from trackers (sources.credit_assignment_trackers): stores written by each
tracker's own library give the Results the JSON loader gives on the float32-exact JSON twin of the
same numbers (tables and notes); the mapping's bad input; the choice between source and seed files.
Reports built both ways: test_tracker_reports.py."""

import types

import numpy as np
import pandas as pd
import pytest
import yaml

from labbook import paths
from labbook.analyses import credit_assignment as credit
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.runner import params as runner_params
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import credit_assignment as example
from labbook.sources import credit_assignment as files
from labbook.sources import credit_assignment_trackers as source
from labbook.sources import trackers
from labbook.sources.trackers import TrackerData
from tests.extras import AIM, WITHOUT_AIM

METHODS = ["bp", "dfa", "state_bridge", "credit_bridge"]


def from_tracker(*args, **mapping) -> files.Results:
    """source.from_tracker with step_unit "epoch": these runs log one value per epoch, numbered
    as the JSON twin's lists (the default unit of a store is its own "step")."""
    return source.from_tracker(*args, step_unit="epoch", **mapping)


EPOCHS, LAYERS = 12, 4


def _small(docs: dict) -> dict:
    """The example's numbers cut to EPOCHS epochs and LAYERS layers and blocks, float32-exact,
    with what the JSON reader notes: a diagnostic unrecorded (dfa, seed 123), no diagnostics at
    all (state_bridge, seed 42), logs shorter in one seed (bp, seed 456: 10 epochs)."""
    out = {}
    for seed, methods in docs.items():
        out[seed] = {}
        for method, result in methods.items():
            diag = result["diagnostics"]
            drift = list(result["drift"].items())[:LAYERS]
            out[seed][method] = {
                "log": {k: v[:EPOCHS] for k, v in result["log"].items()},
                "diagnostics": {
                    "bp_cosine": diag["bp_cosine"][:LAYERS],
                    "perturbation_rho": diag["perturbation_rho"][:LAYERS],
                    "nudging": {eta: v[:LAYERS] for eta, v in diag["nudging"].items()},
                },
                "drift": dict(drift),
            }
    del out["123"]["dfa"]["diagnostics"]["perturbation_rho"]
    del out["42"]["state_bridge"]["diagnostics"]
    out["456"]["bp"]["log"] = {k: v[:10] for k, v in out["456"]["bp"]["log"].items()}
    return example.float32_docs(out)


DOCS = _small(example.simulated(examples.credit_assignment))


def _twin(folder) -> files.Results:
    return files.load(example.write_twin(folder, DOCS), METHODS)


def _assert_same(got: files.Results, want: files.Results) -> None:
    assert got.seeds == want.seeds and got.methods == want.methods
    assert got.notes == want.notes
    for table in ("curves", "diagnostics", "drift"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table), check_exact=True)


@pytest.mark.parametrize("tracker", ["aim", "mlflow", "tensorboard"])
def test_a_store_reads_as_its_json_twin(tmp_path, tracker):
    if tracker == "aim" and not AIM:
        pytest.skip(WITHOUT_AIM)
    store = tw.write_store(tracker, tmp_path / tracker, example.runs(DOCS))
    data = trackers.read(store, use_cache=False)
    assert data.warnings == []
    got = from_tracker(data, METHODS)
    want = _twin(tmp_path / "json")
    assert len(want.notes) == 3  # the three absences above, noted alike by both readers
    _assert_same(got, want)
    assert got.runs["42"] == ["bp_s42", "dfa_s42", "state_bridge_s42", "credit_bridge_s42"]
    assert got.store.startswith(f"{tracker}:") and got.files == {}
    assert got.origins() == ("runs", [", ".join(got.runs[s]) for s in got.seeds])


def test_the_example_store_and_twin_hold_the_example_numbers_float32_exact(tmp_path):
    docs = example.simulated(examples.credit_assignment)
    assert list(docs) == ["42", "123", "456"] and list(docs["42"]) == METHODS
    exact = example.float32_docs(docs)
    acc = exact["42"]["bp"]["log"]["test_acc"]
    assert acc == tw.float32_exact(acc).tolist() and acc != docs["42"]["bp"]["log"]["test_acc"]
    run = example.runs(exact)[0]
    assert run.name == "bp_s42" and run.params == {"method": "bp", "seed": 42}
    assert run.tags == {"simulated": True}
    steps, values = run.scalars["test_acc"]
    assert steps.tolist() == list(range(1, 101)) and values.tolist() == acc
    assert run.scalars["diag/11/bp_cosine"][0].tolist() == [100]
    assert "drift/blocks.11.w1.weight" in run.scalars
    example.generate(tmp_path, examples.credit_assignment)
    data = trackers.read(str(tmp_path / "cifar10" / "tensorboard"), use_cache=False)
    assert trackers.is_simulated(data.runs) and len(data.runs) == 12
    twin = {s: tmp_path / "cifar10" / "json" / f"seed{s}" / "results_cifar10.json" for s in docs}
    _assert_same(from_tracker(data, METHODS), files.load(twin, METHODS))


# ---------------------------------------------------------------- in memory, as TensorBoard reads


def _data(runs=None, statuses=None, drop=(), extra=(), **attrs) -> TrackerData:
    """The tables a TensorBoard store of *runs* (default: DOCS) reads back as (hparams, numbers as
    floats), built in memory; keys matching a regex of *drop* left out; *extra* scalar rows added
    as (run name, key, step, value)."""
    import re

    runs = example.runs(DOCS) if runs is None else runs
    rows, scalars = [], []
    for i, run in enumerate(runs):
        row = {"run": f"id{i}", "name": run.name, "status": (statuses or {}).get(run.name)}
        row.update({f"hparam:{k}": v for k, v in run.params.items()})
        row["hparam:seed"] = float(run.params["seed"])
        rows.append(row)
        scalars += [
            (f"id{i}", k, s, v, w)
            for k, s, v, w in run.points()
            if not any(re.search(d, k) for d in drop)
        ]
    ids = {r["name"]: r["run"] for r in rows}
    scalars += [(ids[n], k, s, v, 0.0) for n, k, s, v in extra]
    table = pd.DataFrame(rows).fillna({"status": "finished"})
    for column, values in attrs.items():
        table[column] = values
    table = table.astype(object).where(table.notna(), None)
    frame = pd.DataFrame(scalars, columns=trackers.SCALAR_COLUMNS)
    frame = frame.sort_values(["run", "key", "step"], kind="stable")
    frame = frame.drop_duplicates(["run", "key", "step"], keep="last")
    return TrackerData("tensorboard", "/data/tb", table, frame.reset_index(drop=True))


def test_tables_in_memory_match_the_json_loader_and_the_default_order(tmp_path):
    want = _twin(tmp_path)
    _assert_same(from_tracker(_data(), METHODS), want)
    every = from_tracker(_data())  # no methods given: every method, in text order
    assert every.methods == sorted(METHODS)
    by_name = from_tracker(_data(), METHODS, seed_from=r"name:_s(\d+)$")
    _assert_same(by_name, want)


def test_seed_attributes_as_numbers_or_text_name_the_same_seed():
    assert [source.seed_text(v) for v in (42, 42.0, "42", "42.0", np.int64(42))] == ["42"] * 5
    assert source.seed_text(0.5) == "0.5" and source.seed_text("a1") == "a1"
    assert source.seed_text(None) is None and source.seed_text(float("nan")) is None


def test_an_attribute_no_run_has_lists_the_attributes_and_the_closest():
    with pytest.raises(InputError) as err:
        from_tracker(_data(), METHODS, method_from="methd")
    message = str(err.value)
    assert "no run attribute `methd` (set by method_from)" in message
    assert "`hparam:method`" in message and "`hparam:seed`" in message
    assert "closest: `hparam:method`" in message


def test_a_key_no_run_logs_lists_the_keys_the_closest_and_the_parameter():
    with pytest.raises(InputError) as err:
        from_tracker(_data(), METHODS, test_acc_key="test_accuracy")
    message = str(err.value)
    assert "no scalar `test_accuracy`" in message and "set `test_acc_key`" in message
    assert "the runs log `diag/0/bp_cosine`" in message and "(27 in all)" in message
    assert "(closest: `test_acc`)" in message


def test_a_key_template_without_its_placeholder_names_the_parameter():
    with pytest.raises(InputError, match=r"cosine_key = 'diag/bp_cosine'.*needs \{layer\}"):
        from_tracker(_data(), METHODS, cosine_key="diag/bp_cosine")
    with pytest.raises(InputError, match=r"nudging_key .*needs \{layer\} and \{eta\}"):
        from_tracker(_data(), METHODS, nudging_key="diag/{layer}/nudging")


def test_runs_lacking_the_method_or_seed_are_left_out_with_a_note():
    method = [None if r.name == "dfa_s123" else r.params["method"] for r in example.runs(DOCS)]
    got = from_tracker(_data(**{"hparam:method": method}), METHODS)
    assert (
        "1 run(s) lack the method ('method') or the seed ('seed') and are left out: "
        in (got.notes[0])
    )
    assert "`dfa_s123`" in got.notes[0]
    assert "dfa_s123" not in got.runs["123"]
    assert (
        "Method 'dfa' is missing from seed(s) 123 (no run in tensorboard:/data/tb): its curves "
        "and statistics use 2 seed(s)." in got.notes
    )
    with pytest.raises(InputError, match="no run has both a method"):
        from_tracker(_data(**{"hparam:seed": [None] * 12}), METHODS)


def test_a_method_no_run_has_and_two_runs_of_one_method_and_seed_are_errors():
    with pytest.raises(InputError, match=r"method 'ff' has no run .*'bp', 'credit_bridge'"):
        from_tracker(_data(), ["bp", "ff"])
    runs = example.runs(DOCS)
    again = tw.TrackedRun("bp_s42_rerun", runs[0].params, runs[0].tags, runs[0].scalars)
    with pytest.raises(InputError, match=r"runs `bp_s42` and `bp_s42_rerun` are both method 'bp'"):
        from_tracker(_data(runs + [again]), METHODS)


def test_unfinished_runs_are_kept_with_a_note():
    got = from_tracker(_data(statuses={"dfa_s42": "running"}), METHODS)
    assert got.notes[0] == (
        "Run(s) that did not finish, kept with the values they logged: `dfa_s42` (running)."
    )
    assert "dfa_s42" in got.runs["42"]


def test_bad_values_give_the_json_readers_errors_naming_run_and_key():
    def bad(key, step, value):
        return _data(extra=[("bp_s42", key, step, value)])

    with pytest.raises(InputError) as err:
        from_tracker(bad("test_acc", 3, 61.2), METHODS)
    assert str(err.value).startswith("tensorboard:/data/tb: run `bp_s42`: field `test_acc`")
    assert "[2] = 61.2 is not a fraction in [0, 1] (percentages? divide by 100)" in str(err.value)
    with pytest.raises(
        InputError,
        match=r"run `bp_s42`: field `diag/2/bp_cosine` at step 12 = 1.5 is outside its domain "
        r"\(a cosine or correlation in \[-1, 1\]\)",
    ):
        from_tracker(bad("diag/2/bp_cosine", 12, 1.5), METHODS)
    with pytest.raises(InputError, match=r"`drift/blocks.1.w1.weight` at step 12 = -0.1 .*drift"):
        from_tracker(bad("drift/blocks.1.w1.weight", 12, -0.1), METHODS)
    with pytest.raises(InputError, match=r"`state_pred_error` \(steps 1–12\)\[0\] = -1"):
        from_tracker(_data(extra=[("state_bridge_s42", "state_pred_error", 1, -1.0)]), METHODS)
    with pytest.raises(InputError, match=r"gives \{layer\} = 'fc', not a whole number"):
        from_tracker(bad("diag/fc/bp_cosine", 12, 0.5), METHODS)


def test_per_epoch_steps_that_skip_are_noted(tmp_path):
    runs = example.runs(DOCS)
    for run in runs[:2]:
        for key in ("train_acc", "test_acc"):
            steps, values = run.scalars[key]
            run.scalars[key] = (steps * 5, values)
    got = from_tracker(_data(runs), METHODS)
    assert got.notes[-1] == (
        "Run(s) `bp_s42`, `dfa_s42` log their per-epoch keys at steps that do not follow one "
        "another (`bp_s42`: 5, 10, 15, 20, …): epoch k is the k-th value logged."
    )
    twin = _twin(tmp_path).curves
    pd.testing.assert_frame_equal(got.curves.drop(columns="step"), twin.drop(columns="step"))
    first = got.curves[(got.curves["seed"] == "42") & (got.curves["method"] == "bp")]
    assert first["step"].tolist()[:3] == [5, 10, 15]  # the store's own steps are kept


def test_per_epoch_keys_logged_at_other_steps_are_an_error():
    with pytest.raises(InputError) as err:
        from_tracker(_data(extra=[("bp_s42", "train_acc", 13, 0.5)]), METHODS)
    assert "run `bp_s42`: the per-epoch keys are logged at different steps" in str(err.value)
    assert "`train_acc`: 13 steps 1–13; `test_acc`: 12 steps 1–12" in str(err.value)


def test_diagnostics_are_read_at_diagnostics_step_else_at_their_last_step(tmp_path):
    early = [("bp_s42", f"diag/{layer}/bp_cosine", 6, 0.5) for layer in range(LAYERS)]
    data = _data(extra=early)
    _assert_same(from_tracker(data, METHODS), _twin(tmp_path))
    got = from_tracker(data, METHODS, diagnostics_step=6)
    cosine = got.diagnostics[got.diagnostics["diagnostic"] == "bp_cosine"]
    assert cosine["value"].tolist() == [0.5] * LAYERS and set(cosine["seed"]) == {"42"}
    assert got.notes[3] == (
        "Run(s) `bp_s123`, `bp_s456`, `credit_bridge_s123`, `credit_bridge_s42`, "
        "`credit_bridge_s456`, … (10 in all) do not log `diag/{layer}/bp_cosine` at step 6 "
        "(diagnostics_step): 'bp_cosine' left out for them."
    )
    assert len(got.notes) == 6  # the twin's three, then one for each diagnostic
    assert not got.drift.empty  # drift is read at its last step whatever diagnostics_step says


def test_drift_keys_by_block_number_or_parameter_name_and_the_ones_left_over():
    extra = [
        ("bp_s42", "drift/blocks.0.w2.weight", 12, 0.3),
        ("bp_s42", "drift/blocks.x.w1.weight", 12, 0.3),
    ]
    got = from_tracker(_data(extra=extra), METHODS)
    assert got.notes[3] == (
        "2 drift key(s) do not match the block pattern 'drift/blocks.{block}.w1.weight' and are "
        "not plotted (e.g. 'drift/blocks.0.w2.weight', 'drift/blocks.x.w1.weight')."
    )
    runs = example.runs(DOCS)
    for run in runs:
        for key in [k for k in run.scalars if k.startswith("drift/")]:
            run.scalars[key.replace("blocks.", "").replace(".w1.weight", "")] = run.scalars.pop(key)
    by_number = from_tracker(_data(runs), METHODS, drift_key="drift/{block}")
    pd.testing.assert_frame_equal(by_number.drift, got.drift)
    assert by_number.keys["drift"] == "drift/{block}"


def test_sections_the_runs_did_not_log_are_left_to_their_notes():
    data = _data(drop=[r"^diag/", r"^drift/", r"^state_pred_error$"])
    got = from_tracker(data, METHODS)
    assert got.notes[1:] == [  # after the note on bp's shorter logs
        f"Method {m!r} records no diagnostics in seed(s) 42, 123, 456: left out of the per-layer "
        "panels."
        for m in METHODS
    ]
    assert credit.state_errors(got) == {}  # the notebook notes the state section is left out
    assert got.drift.empty  # ... and warns there is no drift plot
    profiles = credit.diagnostic_profiles(got, "0.01")
    assert all(p.empty for p in profiles.values())  # ... and that each panel is empty
    assert got.keys["state_pred_error"] == "state_pred_error"


def test_load_any_takes_the_seed_files_or_the_source_never_both(tmp_path):
    twin = {s: str(p) for s, p in example.write_twin(tmp_path / "json", DOCS).items()}
    with pytest.raises(InputError) as err:
        source.load_any("tensorboard:runs/", twin, METHODS)
    assert "`source`" in str(err.value) and "`seed_files`" in str(err.value)
    from_files = source.load_any(None, twin, METHODS)
    tw.write_tensorboard(tmp_path / "tb", example.runs(DOCS))
    from_store = source.load_any(
        str(tmp_path / "tb"), None, METHODS, step_unit="epoch", method_from="method"
    )
    _assert_same(from_store, from_files)
    assert from_files.origins()[0] == "file"


def test_without_seed_files_or_source_the_cifar10_example_is_read(monkeypatch):
    cifar10 = yaml.safe_load((paths.ROOT / "params" / "credit_assignment" / "cifar10.yaml").open())
    assert files.EXAMPLE_SEED_FILES == cifar10["seed_files"]
    seen = {}
    read = types.SimpleNamespace()
    monkeypatch.setattr(source, "load", lambda seed_files, *a: seen.update(seed_files) or read)
    assert source.load_any(None, None).unit == "epoch"  # a JSON list holds one value per epoch
    assert seen == {s: paths.resolve_input(p) for s, p in cifar10["seed_files"].items()}


def test_the_mapping_defaults_are_the_notebooks():
    import inspect

    declared = runner_params.notebook_params(paths.ROOT / "notebooks" / "credit_assignment.ipynb")
    signature = inspect.signature(source.from_tracker).parameters
    mapping = [n for n in signature if n not in ("data", "methods", "step_unit")]
    assert len(mapping) == 10
    # the notebook's None: "epoch" for results JSON, the store's "step" for a tracker
    assert declared["step_unit"].default is None and signature["step_unit"].default == "step"
    assert {n: declared[n].default for n in mapping} == {n: signature[n].default for n in mapping}
    keys = {p for p, _ in source.KEY_PARAMETERS.values()}
    assert keys <= set(mapping)


# The report built from each tracker equals the one from the JSON twin: test_tracker_reports.py.
