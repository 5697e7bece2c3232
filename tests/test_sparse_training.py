"""Adaptive sparse training: metrics-file loader (good and bad input) and the success checks."""

import hashlib
import json

import pytest

from labbook.analyses import sparse_training as sparse
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.sources import sparse_training as source


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("sparse")
    examples.sparse_training(out)
    return out


def _write(tmp_path, doc, name="run.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


GOOD = {
    "config": {"target_activation_rate": 0.06},
    "metrics": {
        "train_loss": [2.0, 1.5, 1.0],
        "val_accuracy": [30, 50, 60],
        "activation_rates": [0.1, 0.07, 0.06],
        "energy_savings": [0.9, 0.93, 0.94],
        "epoch_times": [10, 10, 10],
    },
}


def test_load_good_run_and_renamed_metrics(tmp_path):
    run = source.load_run(_write(tmp_path, GOOD))
    assert run.kind == "gated" and run.target == 0.06 and run.name == "run"
    assert run.epochs["epoch"].tolist() == [1, 2, 3] and "threshold" not in run.epochs
    renamed = json.loads(json.dumps(GOOD))
    renamed["metrics"]["act"] = renamed["metrics"].pop("activation_rates")
    run = source.load_run(_write(tmp_path, renamed), names={"activation_rate": "act"})
    assert run.epochs["activation_rate"].tolist() == [0.1, 0.07, 0.06]


def _broken(path, value):
    doc = json.loads(json.dumps(GOOD))
    keys = path.split(".")
    target = doc
    for k in keys[:-1]:
        target = target[k]
    if value is None:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return doc


@pytest.mark.parametrize(
    "doc,match",
    [
        (
            _broken("metrics.activation_rates", None),
            r"required field 'metrics.activation_rates' is missing",
        ),
        (
            _broken("metrics.activation_rates", [10, 7, 6]),
            r"'metrics.activation_rates'\[0\] = 10.0 is not a fraction.*percentages",
        ),
        (_broken("metrics.epoch_times", [1, 2]), "different lengths"),
        (
            _broken("metrics.train_loss", [1, "x", 2]),
            r"'metrics.train_loss'\[1\] must be a finite number",
        ),
        (_broken("config.target_activation_rate", None), "required field 'target_activation_rate'"),
        (_broken("config.target_activation_rate", 6), "must be a fraction in"),
        (_broken("metrics", None), "field 'metrics' must be an object"),
        ({**GOOD, "kind": "teacher"}, "field 'kind' must be one of"),
        (
            _broken("metrics.val_accuracy", [0.30, 0.50, 0.60]),
            r"'metrics.val_accuracy' has every value in \[0, 1\].*in %",
        ),
        (
            _broken("metrics.val_accuracy", [30, 50, 160]),
            r"'metrics.val_accuracy'\[2\] = 160 is not a percentage",
        ),
        (
            _broken("metrics.train_loss", [1.0, -0.5, 0.2]),
            r"'metrics.train_loss'\[1\] = -0.5 is negative",
        ),
        (
            _broken("metrics.epoch_times", [10, 0, 10]),
            r"'metrics.epoch_times'\[1\] = 0 is not positive",
        ),
    ],
)
def test_bad_metrics_file(tmp_path, doc, match):
    path = _write(tmp_path, doc)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=match):
        source.load_run(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_within_band():
    assert sparse.within_band([0.05, 0.06, 0.07, 0.0701], 0.06, 0.01).tolist() == [
        True,
        True,
        True,
        False,
    ]


def test_kind_must_match_role(data):
    with pytest.raises(InputError, match="listed as the baseline run"):
        source.load_run(data / "gated_good.json", kind="baseline")
    assert source.load_run(data / "baseline.json", kind="baseline").kind == "baseline"


def _checks(data, name):
    run = source.load_run(data / name, kind="gated")
    speed = sparse.timing(
        run,
        source.load_run(data / "baseline.json"),
        source.load_run(data / "sample_by_sample.json"),
    )
    return {
        c.name: c
        for c in sparse.run_checks(
            run,
            speed,
            warmup=3,
            band=0.01,
            savings_tolerance=0.005,
            oscillation_tolerance=0.01,
            target_speedup=10,
        )
    }, speed


def test_good_example_passes_every_check(data):
    checks, speed = _checks(data, "gated_good.json")
    assert all(c.passed for c in checks.values()), {k: c.measured for k, c in checks.items()}
    assert speed.loc["baseline", "gated_speedup"] > 10


def test_misbehaving_example_fails_with_the_right_advice(data):
    checks, _ = _checks(data, "gated_misbehaving.json")
    band = checks["activation rate within the target band after warm-up"]
    oscillation = checks["no wild oscillation of the activation rate"]
    assert band.passed is False and oscillation.passed is False
    # one diagnosis from the controller's own trajectory: the threshold already climbed, so raising
    # it is not the advice, and the two failing checks give the same advice, never opposite ones
    assert "0.50 to 1.73" in band.advice and "will not help" in band.advice
    assert (
        "lower `energy_pressure`" in band.advice.lower()
        and "increase `energy_pressure`" not in band.advice
    )
    assert oscillation.advice == band.advice
    assert checks["speedup vs. baseline"].passed is False


def test_trends_are_slopes_over_the_last_epochs_with_their_interval(data):
    bad, _ = _checks(data, "gated_misbehaving.json")
    loss = bad["training loss decreasing (last 5 epochs)"]
    acc = bad["validation accuracy increasing (last 5 epochs)"]
    # the misbehaving run's loss rises over its last two epochs and its accuracy is flat over
    # epochs 8-12, although both improve from first to last epoch
    assert (
        loss.passed is False
        and "over epochs 8–12" in loss.measured
        and "not clearly decreasing" in loss.advice
    )
    assert acc.passed is False and "plateauing" in acc.advice
    good, _ = _checks(data, "gated_good.json")
    assert all(c.passed for c in good.values())


def test_checks_on_hand_made_runs(tmp_path):
    low = _broken("metrics.activation_rates", [0.02, 0.02, 0.02])
    low["metrics"]["energy_savings"] = [0.98, 0.98, 0.98]
    low["metrics"]["train_loss"] = [1.0, 1.2, 1.4]
    low["config"].update(lr=1e-4, activation_threshold=0.4)
    run = source.load_run(_write(tmp_path, low))
    checks = {
        c.name: c for c in sparse.run_checks(run, None, 1, 0.01, 0.005, 0.01, 10, trend_window=3)
    }
    assert "too low" in checks["activation rate within the target band after warm-up"].advice
    loss = checks["training loss decreasing (last 3 epochs)"]
    assert (
        loss.passed is False and "rising" in loss.advice and "try 5e-05, was 0.0001" in loss.advice
    )
    assert checks["speedup vs. baseline"].passed is None
    mismatch = _broken("metrics.energy_savings", [0.5, 0.93, 0.94])
    checks = {
        c.name: c
        for c in sparse.run_checks(
            source.load_run(_write(tmp_path, mismatch)), None, 1, 0.01, 0.005, 0.05, 10
        )
    }
    assert checks["energy savings = 1 − activation rate"].passed is False


def test_runs_need_their_own_names(tmp_path):
    a = source.load_run(_write(tmp_path, {**GOOD, "run": "run"}, "a.json"))
    b = source.load_run(_write(tmp_path, {**GOOD, "run": "run", "kind": "baseline"}, "b.json"))
    with pytest.raises(
        InputError, match=r"b\.json: field 'run' 'run' is also the name of .*a\.json"
    ):
        source.check_names([a, b])
