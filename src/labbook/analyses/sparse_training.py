"""Computations behind the adaptive-sparse-training report: timing, and the seed's
"what success looks like" as checks with measured values and the seed's advice when they fail."""
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from labbook import stats
from labbook.sources.sparse_training import Run


@dataclass
class Check:
    name: str
    passed: bool | None  # None: not evaluated (no data for it)
    measured: str
    expected: str
    advice: str = ""


def checks_frame(checks: list[Check]) -> pd.DataFrame:
    df = pd.DataFrame([asdict(c) for c in checks])
    df["status"] = df["passed"].map({True: "pass", False: "FAIL", None: "not evaluated"})
    return df[["name", "status", "measured", "expected", "advice"]]


def after_warmup(run: Run, warmup: int) -> pd.DataFrame:
    """The epochs after the first *warmup* ones (all epochs if there are not more than *warmup*)."""
    df = run.epochs
    return df[df["epoch"] > warmup] if len(df) > warmup else df


def within_band(rates, target: float, band: float) -> np.ndarray:
    """Boolean per epoch: |rate - target| <= band (fractions; a hair of slack for float rounding)."""
    return np.abs(np.asarray(rates, dtype=float) - target) <= band + 1e-12


def timing(gated: Run, baseline: Run | None, sample_by_sample: Run | None) -> pd.DataFrame:
    """Median seconds per epoch for each run given, and the gated run's speedup over each (x).
    Index: kind (gated, baseline, sample_by_sample)."""
    rows = []
    for run in (baseline, sample_by_sample, gated):
        if run is not None:
            rows.append({"kind": run.kind, "run": run.name, "seconds_per_epoch": float(run.epochs["epoch_time"].median())})
    df = pd.DataFrame(rows).set_index("kind")
    df["gated_speedup"] = df["seconds_per_epoch"] / df.loc["gated", "seconds_per_epoch"]
    return df


def run_checks(run: Run, speed: pd.DataFrame | None, warmup: int, band: float, savings_tolerance: float,
               oscillation_tolerance: float, target_speedup: float) -> list[Check]:
    """The seed's success criteria, measured on *run*. Rates are fractions; *band* is the allowed
    distance of the activation rate from the target (e.g. 0.01 = ±1 point around 6%)."""
    cfg = run.config
    df = run.epochs
    steady = after_warmup(run, warmup)
    out = []

    loss = df["train_loss"].to_numpy()
    trend = stats.linear_trend(df["epoch"], loss) if len(df) > 2 else None
    decreasing = bool(len(loss) > 1 and loss[-1] < loss[0] and (trend is None or trend["slope"] < 0))
    lr = cfg.get("lr")
    out.append(Check("training loss decreasing", decreasing,
                     f"{loss[0]:.3f} → {loss[-1]:.3f}" + (f" (slope {trend['slope']:+.3f}/epoch)" if trend else ""),
                     "last epoch below the first, negative trend",
                     "" if decreasing else "Loss not decreasing: the learning rate is too high or too low — adjust `lr`"
                     + (f" (try {lr / 2:g}, was {lr:g})." if lr else ".")))

    acc = df["val_accuracy"].to_numpy()
    rising = bool(len(acc) > 1 and acc[-1] > acc[0])
    epochs = cfg.get("epochs", len(df))
    target = run.target
    out.append(Check("validation accuracy increasing", rising, f"{acc[0]:.1f}% → {acc[-1]:.1f}%",
                     "last epoch above the first",
                     "" if rising else f"Accuracy plateauing: train for more epochs (was {epochs:g}) or raise "
                     f"`target_activation_rate` (was {target:g}) to process more samples."))

    rate = steady["activation_rate"].to_numpy()
    mean_rate = float(rate.mean())
    in_band = bool(within_band(rate, target, band).all())
    advice = ""
    if not in_band:
        thr, pressure = cfg.get("activation_threshold"), cfg.get("energy_pressure")
        if mean_rate > target:
            advice = ("Activation rate too high: processing too many samples — increase `activation_threshold`"
                      + (f" (was {thr:g})" if thr is not None else "") + " or `energy_pressure`"
                      + (f" (was {pressure:g})" if pressure is not None else "") + ".")
        else:
            advice = ("Activation rate too low: not processing enough samples — decrease `activation_threshold`"
                      + (f" (was {thr:g})" if thr is not None else "") + ".")
    out.append(Check("activation rate within the target band after warm-up", in_band,
                     f"mean {mean_rate:.1%}, range {rate.min():.1%}–{rate.max():.1%} over epochs {int(steady['epoch'].iloc[0])}–{int(steady['epoch'].iloc[-1])}",
                     f"{target:.1%} ± {band:.1%}", advice))

    gap = float(np.max(np.abs(df["energy_savings"] - (1 - df["activation_rate"]))))
    ok = gap <= savings_tolerance
    out.append(Check("energy savings = 1 − activation rate", ok, f"largest difference {gap:.2%}",
                     f"≤ {savings_tolerance:.2%}",
                     "" if ok else "Energy savings do not match the skipped share: check how the training script "
                     "computes them (they should be 1 − activation rate)."))

    steps = np.abs(np.diff(rate))
    swing = float(steps.max()) if steps.size else 0.0
    ok = swing <= oscillation_tolerance
    out.append(Check("no wild oscillation of the activation rate", ok if steps.size else None,
                     f"largest epoch-to-epoch change {swing:.1%}" if steps.size else "one epoch after warm-up",
                     f"≤ {oscillation_tolerance:.1%}",
                     "" if ok else "The gate over-corrects from epoch to epoch: lower `energy_pressure` so the "
                     "threshold adapts more gently, or allow more warm-up epochs."))

    if speed is None or "baseline" not in speed.index:
        out.append(Check("speedup vs. baseline", None, "no baseline timing run given", f"≥ {target_speedup:g}×"))
    else:
        s = float(speed.loc["baseline", "gated_speedup"])
        ok = s >= target_speedup
        out.append(Check("speedup vs. baseline", ok, f"{s:.1f}×", f"≥ {target_speedup:g}×",
                         "" if ok else "Speedup below target: make sure only the active samples are trained, in one "
                         "batched forward pass (boolean-mask indexing), and that both runs were timed on the same hardware."))
    return out
