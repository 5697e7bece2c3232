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
    """Boolean per epoch: |rate - target| <= band (fractions; a hair of slack for
    float rounding)."""
    return np.abs(np.asarray(rates, dtype=float) - target) <= band + 1e-12


def timing(gated: Run, baseline: Run | None, sample_by_sample: Run | None) -> pd.DataFrame:
    """Median seconds per epoch for each run given, and the gated run's speedup over each (x).
    Index: kind (gated, baseline, sample_by_sample)."""
    rows = []
    for run in (baseline, sample_by_sample, gated):
        if run is not None:
            rows.append(
                {
                    "kind": run.kind,
                    "run": run.name,
                    "seconds_per_epoch": float(run.epochs["epoch_time"].median()),
                }
            )
    df = pd.DataFrame(rows).set_index("kind")
    df["gated_speedup"] = df["seconds_per_epoch"] / df.loc["gated", "seconds_per_epoch"]
    return df


def window_trend(df: pd.DataFrame, column: str, window: int, confidence: float) -> dict | None:
    """Least-squares slope of *column* per epoch over the last *window* epochs, with its t-interval
    (stats.linear_trend): slope, lower, upper, first, last (epochs), n. None with fewer than 3
    epochs."""
    d = df.dropna(subset=[column]).tail(max(window, 3))
    if len(d) < 3:
        return None
    t = stats.linear_trend(d["epoch"].to_numpy(float), d[column].to_numpy(float), confidence)
    return dict(t, first=int(d["epoch"].iloc[0]), last=int(d["epoch"].iloc[-1]))


def _trend_text(t: dict, unit: str, confidence: float) -> str:
    return (
        f"slope {t['slope']:+.3g}{unit}/epoch ({confidence:.0%} CI {t['lower']:+.3g} to "
        f"{t['upper']:+.3g}) over epochs {t['first']}–{t['last']}"
    )


def controller_advice(
    run: Run, steady: pd.DataFrame, band: float, oscillation_tolerance: float
) -> dict:
    """One diagnosis of the gating controller from its own trajectory, shared by the activation-rate
    and oscillation checks so their advice never contradicts: which symptoms hold (too_high,
    too_low, oscillating), how the threshold moved, and the advice text."""
    cfg, target = run.config, run.target
    rate = steady["activation_rate"].to_numpy()
    mean_rate = float(rate.mean())
    steps = np.abs(np.diff(rate))
    state = {
        "too_high": mean_rate > target + band,
        "too_low": mean_rate < target - band,
        "oscillating": bool(steps.size and steps.max() > oscillation_tolerance),
        "threshold_moved": None,
    }
    thr, pressure = cfg.get("activation_threshold"), cfg.get("energy_pressure")
    was_thr = f" (was {thr:g})" if thr is not None else ""
    was_p = f" (was {pressure:g})" if pressure is not None else ""
    moved = ""
    if "threshold" in run.epochs.columns:
        t = run.epochs["threshold"].dropna().to_numpy()
        if t.size > 1:
            rel = (t[-1] - t[0]) / max(abs(t[0]), 1e-12)
            state["threshold_moved"] = "up" if rel > 0.25 else "down" if rel < -0.25 else "flat"
            moved = f"the threshold went from {t[0]:.2f} to {t[-1]:.2f}"
    swing = f"the rate swings between {rate.min():.1%} and {rate.max():.1%}"
    if (
        (state["too_high"] or state["too_low"])
        and state["oscillating"]
        and state["threshold_moved"] in ("up", "down")
    ):
        advice = (
            f"The threshold controller is acting ({moved}) but over-corrects: {swing} instead of "
            f"settling near {target:.1%}. Lower `energy_pressure`{was_p} so each step is smaller "
            "and allow more warm-up epochs; changing `activation_threshold` will not help, the "
            "controller already moves it."
        )
    elif state["too_high"] and state["threshold_moved"] == "up":
        advice = (
            f"The controller raises the threshold ({moved}) but too slowly to reach the target: "
            f"increase `energy_pressure`{was_p}."
        )
    elif state["too_low"] and state["threshold_moved"] == "down":
        advice = (
            f"The controller lowers the threshold ({moved}) but too slowly to reach the target: "
            f"increase `energy_pressure`{was_p}."
        )
    elif state["too_high"]:
        advice = (
            "Activation rate too high: processing too many samples — increase "
            f"`activation_threshold`{was_thr} or `energy_pressure`{was_p}."
            + (f" ({moved[0].upper() + moved[1:]}.)" if moved else "")
        )
    elif state["too_low"]:
        advice = (
            "Activation rate too low: not processing enough samples — decrease "
            f"`activation_threshold`{was_thr}."
            + (f" ({moved[0].upper() + moved[1:]}.)" if moved else "")
        )
    elif state["oscillating"]:
        advice = (
            f"The gate over-corrects from epoch to epoch ({swing}): lower `energy_pressure`{was_p} "
            "so the threshold adapts more gently, or allow more warm-up epochs."
        )
    else:
        advice = ""
    state["advice"] = advice
    return state


def run_checks(
    run: Run,
    speed: pd.DataFrame | None,
    warmup: int,
    band: float,
    savings_tolerance: float,
    oscillation_tolerance: float,
    target_speedup: float,
    trend_window: int = 5,
    confidence: float = 0.95,
) -> list[Check]:
    """The seed's success criteria, measured on *run*. Rates are fractions; *band* is the allowed
    distance of the activation rate from the target (e.g. 0.01 = ±1 point around 6%). Loss and
    accuracy trends are slopes over the last *trend_window* epochs with their t-interval: a
    decrease (increase) passes only when the whole interval is below (above) zero."""
    cfg = run.config
    df = run.epochs
    steady = after_warmup(run, warmup)
    out = []

    loss = df["train_loss"].to_numpy()
    lr = cfg.get("lr")
    t = window_trend(df, "train_loss", trend_window, confidence)
    ok = None if t is None else bool(t["upper"] < 0)
    out.append(
        Check(
            f"training loss decreasing (last {trend_window} epochs)",
            ok,
            (_trend_text(t, "", confidence) if t else "fewer than 3 epochs")
            + f"; {loss[0]:.3f} → {loss[-1]:.3f} overall",
            "slope below 0 (whole CI)",
            ""
            if ok is not False
            else (
                "Loss "
                + ("rising" if t["lower"] > 0 else "not clearly decreasing")
                + ": the learning rate is too high or too low — adjust `lr`"
                + (f" (try {lr / 2:g}, was {lr:g})." if lr else ".")
            ),
        )
    )

    acc = df["val_accuracy"].to_numpy()
    epochs = cfg.get("epochs", len(df))
    target = run.target
    t = window_trend(df, "val_accuracy", trend_window, confidence)
    ok = None if t is None else bool(t["lower"] > 0)
    out.append(
        Check(
            f"validation accuracy increasing (last {trend_window} epochs)",
            ok,
            (_trend_text(t, " points", confidence) if t else "fewer than 3 epochs")
            + f"; {acc[0]:.1f}% → {acc[-1]:.1f}% overall",
            "slope above 0 (whole CI)",
            ""
            if ok is not False
            else f"Accuracy plateauing: train for more epochs (was {epochs:g}) or raise "
            f"`target_activation_rate` (was {target:g}) to process more samples.",
        )
    )

    control = controller_advice(run, steady, band, oscillation_tolerance)
    rate = steady["activation_rate"].to_numpy()
    in_band = bool(within_band(rate, target, band).all())
    out.append(
        Check(
            "activation rate within the target band after warm-up",
            in_band,
            f"mean {rate.mean():.1%}, range {rate.min():.1%}–{rate.max():.1%} over epochs "
            f"{int(steady['epoch'].iloc[0])}–{int(steady['epoch'].iloc[-1])}",
            f"{target:.1%} ± {band:.1%}",
            "" if in_band else control["advice"],
        )
    )

    gap = float(np.max(np.abs(df["energy_savings"] - (1 - df["activation_rate"]))))
    ok = gap <= savings_tolerance
    out.append(
        Check(
            "energy savings = 1 − activation rate",
            ok,
            f"largest difference {gap:.2%}",
            f"≤ {savings_tolerance:.2%}",
            ""
            if ok
            else "Energy savings do not match the skipped share: check how the training script "
            "computes them (they should be 1 − activation rate).",
        )
    )

    steps = np.abs(np.diff(rate))
    swing = float(steps.max()) if steps.size else 0.0
    ok = swing <= oscillation_tolerance
    out.append(
        Check(
            "no wild oscillation of the activation rate",
            ok if steps.size else None,
            f"largest epoch-to-epoch change {swing:.1%}"
            if steps.size
            else "one epoch after warm-up",
            f"≤ {oscillation_tolerance:.1%}",
            "" if ok else control["advice"],
        )
    )

    if speed is None or "baseline" not in speed.index:
        out.append(
            Check(
                "speedup vs. baseline",
                None,
                "no baseline timing run given",
                f"≥ {target_speedup:g}×",
            )
        )
    else:
        s = float(speed.loc["baseline", "gated_speedup"])
        ok = s >= target_speedup
        out.append(
            Check(
                "speedup vs. baseline",
                ok,
                f"{s:.1f}×",
                f"≥ {target_speedup:g}×",
                ""
                if ok
                else "Speedup below target: make sure only the active samples are trained, in one "
                "batched forward pass (boolean-mask indexing), and that both runs were timed on "
                "the same hardware.",
            )
        )
    return out
