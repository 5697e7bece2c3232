"""Computations behind the adaptive-sparse-training report: timing and the speed claims, the
seed's "what success looks like" as checks with measured values and the seed's advice when they
fail, the numbers of the pipeline diagram, and the report's findings."""

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.stats

from labbook import stats
from labbook.findings import Claim, Finding, finding, plural, time_verdict, trend_verdict
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
    return steady_epochs(run.epochs, warmup)


def steady_epochs(epochs: pd.DataFrame, warmup: int) -> pd.DataFrame:
    """The rows of a per-epoch table (column epoch, 1-based) after the first *warmup* epochs (all
    of them if there are not more than *warmup*)."""
    return epochs[epochs["epoch"] > warmup] if len(epochs) > warmup else epochs


def within_band(rates, target: float, band: float) -> np.ndarray:
    """Boolean per epoch: |rate - target| <= band (fractions; a hair of slack for
    float rounding)."""
    return np.abs(np.asarray(rates, dtype=float) - target) <= band + 1e-12


def savings_mismatch(epochs: pd.DataFrame, tolerance: float) -> str:
    """A data-consistency validation (not a check of the method: the scripts log energy savings
    as 1 − activation rate, true by definition): "" when every epoch's logged energy_savings is
    within *tolerance* of 1 − activation_rate (fractions), else a warning naming the largest gap
    and its epoch."""
    gap = (epochs["energy_savings"] - (1 - epochs["activation_rate"])).abs()
    if gap.empty or float(gap.max()) <= tolerance:
        return ""
    at = int(epochs.loc[gap.idxmax(), "epoch"])
    return (
        f"The logged energy savings are not 1 − activation rate: they differ by up to "
        f"{float(gap.max()):.2%} (epoch {at}; allowed {tolerance:.2%}). Check how the training "
        "script computes them: every statement below about skipped samples reads them."
    )


def sampling_noise(
    rate: float, samples: float, count: int, confidence: float, change: bool = False
) -> float:
    """The largest distance of a rate measured over *samples* samples from its expected value (or,
    with *change*, of the change between two such rates) that sampling alone gives in *count*
    measurements at *confidence*: z · sqrt(rate (1 − rate) / samples), times sqrt(2) for a change,
    with z the normal quantile at 1 − (1 − confidence) / (2 count) (Bonferroni over the count).
    Fractions; 0 for no measurement."""
    if count < 1 or samples <= 0:
        return 0.0
    z = float(scipy.stats.norm.ppf(1 - (1 - confidence) / (2 * count)))
    spread = np.sqrt(max(rate * (1 - rate), 0.0) / samples) * (np.sqrt(2) if change else 1.0)
    return float(z * spread)


@dataclass(frozen=True)
class Tolerances:
    """The activation-rate checks' criteria for a run: *band* around the target and *swing*
    between epochs (fractions), each at least the sampling noise of a rate measured over the
    run's samples per epoch (sampling_noise); *widened* states the criteria that come from that
    noise rather than from the parameters, and why ("" when both are the parameters)."""

    band: float
    swing: float
    widened: str


def rate_tolerances(
    run: Run, warmup: int, band: float, swing: float, confidence: float = 0.95
) -> Tolerances:
    """*band* and *swing* (the parameters), each raised to the sampling noise of the run's rate
    when its config gives `samples_per_epoch`: a controller exactly on target still measures a
    rate that varies from epoch to epoch by sampling alone (about ±2.5 points at 10% over 1,348
    samples; ±0.3 points at 6% over 50,000), and is not failed for it. The text states the
    criteria so, before any verdict is given on them."""
    samples = run.config.get("samples_per_epoch")
    rate = after_warmup(run, warmup)["activation_rate"].to_numpy(float)
    if not samples or rate.size == 0:
        return Tolerances(band, swing, "")
    mean = float(rate.mean())
    noise_band = sampling_noise(mean, samples, rate.size, confidence)
    noise_swing = sampling_noise(mean, samples, rate.size - 1, confidence, change=True)
    parts = []
    if noise_band > band:
        parts.append(
            f"every epoch after warm-up within ±{noise_band:.1%} of the target (the parameter "
            f"`target_band` is ±{band:.1%})"
        )
    if noise_swing > swing:
        parts.append(
            f"no epoch-to-epoch change above {noise_swing:.1%} (the parameter "
            f"`oscillation_tolerance` is {swing:.1%})"
        )
    widened = ""
    if parts:
        widened = (
            f"Criteria of the activation-rate checks: {' and '.join(parts)}. These are the "
            f"sampling noise of a rate of {mean:.1%} measured over {samples:,.0f} samples per "
            f"epoch ({confidence:.0%}, Bonferroni over the {rate.size} epochs after warm-up): a "
            "controller exactly on target varies that much by sampling alone."
        )
    return Tolerances(max(band, noise_band), max(swing, noise_swing), widened)


def seconds_unit(*values: float) -> str:
    """ "ms" when one of *values* (seconds) is under 0.05 s but not 0 (it would read 0.0 s), else
    "s"."""
    return "ms" if any(0 < abs(v) < 0.05 for v in values) else "s"


def seconds_texts(*values: float, unit: str | None = None, signed: bool = False) -> list[str]:
    """*values* (seconds) written in one *unit* (None: seconds_unit of the values): "12.3 s" (one
    decimal), or milliseconds to two significant digits and whole ones from 100 ("7.1 ms",
    "230 ms"), so that no time reads 0.0 s."""
    sign = "+" if signed else ""
    if (unit or seconds_unit(*values)) == "s":
        return [f"{v:{sign}.1f} s" for v in values]
    return [f"{1000 * v:{sign}{'.0f' if abs(v) >= 0.1 else '.2g'}} ms" for v in values]


def seconds_format(values, decimals: int) -> str:
    """A bar-label format for *values* (seconds): *decimals* decimals, unless a value would read as
    0 at that precision, then two significant digits."""
    shows_zero = any(round(abs(float(v)), decimals) == 0 < abs(float(v)) for v in values)
    return "{:.2g} s" if shows_zero else f"{{:.{decimals}f}} s"


def timing(gated: Run, baseline: Run | None, sample_by_sample: Run | None) -> pd.DataFrame:
    """Median seconds per epoch for each run given with its interquartile range over the run's
    epochs (q25, q75), and the gated run's speedup over each (x, the ratio of the medians).
    Index: kind (gated, baseline, sample_by_sample)."""
    rows = []
    for run in (baseline, sample_by_sample, gated):
        if run is not None:
            median, q25, q75 = stats.median_spread(run.epochs["epoch_time"].to_numpy(float))
            rows.append(
                {
                    "kind": run.kind,
                    "run": run.name,
                    "seconds_per_epoch": median,
                    "q25": q25,
                    "q75": q75,
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
    oscillation_tolerance: float,
    target_speedup: float,
    trend_window: int = 5,
    confidence: float = 0.95,
    baseline: Run | None = None,
    split: str = "validation",
) -> list[Check]:
    """The seed's success criteria, measured on *run* (its val_accuracy measured on *split*).
    Rates are fractions; *band* is the allowed distance of the activation rate from the target
    (e.g. 0.01 = ±1 point around 6%). Loss and
    accuracy trends are slopes over the last *trend_window* epochs with their t-interval: a
    decrease (increase) passes only when the whole interval is below (above) zero
    (findings.trend_verdict). An accuracy that stopped rising also passes where the *baseline*
    (all samples) stopped rising too and Welch's t-test over those epochs does not put the gated
    run below it (plateau_at_baseline): the model has reached what it reaches on these data."""
    cfg = run.config
    df = run.epochs
    steady = after_warmup(run, warmup)
    out = []

    loss = df["train_loss"].to_numpy()
    lr = cfg.get("lr")
    t = window_trend(df, "train_loss", trend_window, confidence)
    ok = None if t is None else trend_verdict(t) == "falls"
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
                + ("rising" if trend_verdict(t) == "rises" else "not clearly decreasing")
                + ": the learning rate is too high or too low — adjust `lr`"
                + (f" (try {lr / 2:g}, was {lr:g})." if lr else ".")
            ),
        )
    )

    acc = df["val_accuracy"].to_numpy()
    epochs = cfg.get("epochs", len(df))
    target = run.target
    t = window_trend(df, "val_accuracy", trend_window, confidence)
    ok = None if t is None else trend_verdict(t) == "rises"
    plateau = (
        None if ok is not False else plateau_at_baseline(run, baseline, trend_window, confidence)
    )
    measured = (
        _trend_text(t, " points", confidence) if t else "fewer than 3 epochs"
    ) + f"; {acc[0]:.1f}% → {acc[-1]:.1f}% overall"
    advice = (
        f"Accuracy plateauing: train for more epochs (was {epochs:g}) or raise "
        f"`target_activation_rate` (was {target:g}) to process more samples."
    )
    if plateau is not None:
        ok = not plateau["below"]
        measured += f"; {plateau['text']}"
        advice = (
            f"Accuracy plateaued below the baseline's: raise `target_activation_rate` (was "
            f"{target:g}) to process more samples."
        )
    out.append(
        Check(
            f"{split} accuracy increasing (last {trend_window} epochs)",
            ok,
            measured,
            "slope above 0 (whole CI)" + (", or the baseline's plateau" if plateau else ""),
            "" if ok is not False else advice,
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
                "" if ok else speedup_advice(speed, float(rate.mean()), target_speedup),
            )
        )
    return out


def speedup_advice(speed: pd.DataFrame, rate: float, target_speedup: float) -> str:
    """What a gated epoch's time is spent on, for a speedup below *target_speedup*: training only
    the active share *rate* (fraction) of the samples at the baseline's pace would take *rate*
    times a baseline epoch; the rest of the measured gated epoch is the overhead of scoring every
    sample and selecting the active ones, and that overhead is what must shrink (rather than the
    training, which is already proportional to the samples kept). speed: timing output with the
    gated and baseline rows."""
    base = float(speed.loc["baseline", "seconds_per_epoch"])
    gated = float(speed.loc["gated", "seconds_per_epoch"])
    trained = rate * base
    overhead = gated - trained
    budget = base / target_speedup
    g, t, o, b = seconds_texts(gated, trained, overhead, budget)
    if overhead <= 0:
        return (
            f"Speedup below target: a gated epoch ({g}) takes no longer than training its "
            f"{rate:.1%} active samples at the baseline's pace ({t}); check that both runs were "
            "timed on the same hardware and under the same load."
        )
    fixes = []
    if rate * target_speedup > 1:
        fixes.append(
            f"at the measured activation rate of {rate:.1%} even free scoring gives at most "
            f"{1 / rate:.1f}×, so fewer samples must be active"
        )
    if overhead > budget:
        fixes.append(
            "the overhead alone exceeds that, so the scoring pass must get cheaper (one batched "
            "pass, boolean-mask indexing, no per-sample Python loop)"
        )
    return (
        f"Speedup below target: a gated epoch takes {g}; training only its {rate:.1%} active "
        f"samples at the baseline's pace would take {t}, so {o} ({overhead / base:.0%} of a "
        f"baseline epoch) go to scoring every sample and selecting the active ones. "
        f"{target_speedup:g}× needs a gated epoch of at most {b}"
        + "".join(f"; {f}" for f in fixes)
        + ". Time both runs on the same hardware."
    )


def plateau_at_baseline(
    run: Run, baseline: Run | None, window: int, confidence: float = 0.95
) -> dict | None:
    """Whether *run*'s validation accuracy, no longer rising, sits at the baseline's plateau:
    None unless the *baseline* logged accuracy and its own last *window* epochs do not rise either
    (window_trend); else {"below": Welch's t-test over the two runs' last-window accuracies puts
    *run* below the baseline at α = 1 − *confidence*, "text": both means and the test, "p"}."""
    if baseline is None or "val_accuracy" not in baseline.epochs.columns:
        return None
    t = window_trend(baseline.epochs, "val_accuracy", window, confidence)
    if t is None or trend_verdict(t) == "rises":
        return None
    last = max(window, 3)
    own = run.epochs["val_accuracy"].dropna().tail(last).to_numpy(float)
    base = baseline.epochs["val_accuracy"].dropna().tail(last).to_numpy(float)
    row = stats.compare({"run": own, "baseline": base}, confidence=confidence).iloc[0]
    below = bool(row["separated"] and row["diff"] < 0)
    text = (
        f"the baseline's accuracy is flat too: {own.mean():.1f}% here against the baseline's "
        f"{base.mean():.1f}%, means over the last {last} epochs (Welch p = {row['p']:.2g}, over "
        "those epochs of one run each, not over replicates)"
    )
    return {"below": below, "text": text, "p": float(row["p"])}


# ---------------------------------------------------------------- tables for the notebook


def runs_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run read: run, kind, epochs and its config fields (underscores in the column
    names shown as spaces)."""
    rows = [{"run": r.name, "kind": r.kind, "epochs": len(r.epochs), **r.config} for r in runs]
    return pd.DataFrame(rows).rename(columns=lambda c: c.replace("_", " "))


def epoch_times(runs: list[Run]) -> pd.DataFrame:
    """The seconds of every timed epoch of *runs*, long: kind, run, epoch, seconds."""
    return pd.DataFrame(
        [
            {"kind": r.kind, "run": r.name, "epoch": int(e), "seconds": float(s)}
            for r in runs
            for e, s in zip(r.epochs["epoch"], r.epochs["epoch_time"])
        ],
        columns=["kind", "run", "epoch", "seconds"],
    )


def side_by_side(runs: list[Run]) -> pd.DataFrame:
    """The validation accuracy (%) and training loss per epoch of *runs*, long: run, epoch,
    val_accuracy, train_loss (runs in the order given)."""
    return pd.concat(
        [r.epochs[["epoch", "val_accuracy", "train_loss"]].assign(run=r.name) for r in runs],
        ignore_index=True,
    )[["run", "epoch", "val_accuracy", "train_loss"]]


def sample_shares(epochs: pd.DataFrame, samples_per_epoch: float | None) -> tuple[float, float]:
    """(processed, skipped) over all epochs: the sums of activation_rate and 1 - activation_rate
    (fractions) times *samples_per_epoch* (samples), or times 1 when it is not known (then the
    two are epoch-weighted shares in units of epochs)."""
    n = samples_per_epoch or 1
    rate = epochs["activation_rate"]
    return float((rate * n).sum()), float(((1 - rate) * n).sum())


# ---------------------------------------------------------------- speed, by the claim policy

# kind of the run the gated run is timed against -> (the gated run as subject, the other run)
SPEED_WORDS = {
    "baseline": ("The gated run", "the baseline"),
    "sample_by_sample": ("Batched gating", "sample-by-sample gating"),
}


def times_word(factor: float) -> str:
    """A speed factor as written: "12.6×"; two decimals when one would read as 1.0×."""
    return f"{factor:.1f}×" if f"{factor:.1f}" != "1.0" else f"{factor:.2f}×"


def speed_claims(times: pd.DataFrame, confidence: float = 0.95) -> dict[str, Claim]:
    """The gated run's speed against each other timed run (baseline, sample-by-sample), by the
    claim policy over per-epoch times compared on logs (stats.log_compare: Welch's t-test on the
    log seconds per epoch, Holm-corrected over the pairs compared; findings.time_verdict). Each
    kind has one run, so the test is over the epochs of one run each, not over replicates, and
    the sentence says so. It states the medians (seconds per epoch), their ratio (x) and the
    ratio of the geometric means with its interval, and says "faster" or "slower" only when the
    test separates the runs and the medians point the same way (verdict "better" or "worse":
    the gated run is faster or slower; winner the faster run); else that no speed difference is
    shown ("not_separated"), or, with one timed epoch on a side, that this is a single
    measurement with no interval and no test ("untested").

    times: epoch_times output with one gated run. Returns {kind of the other run: Claim}."""
    seconds = {k: g["seconds"].to_numpy(float) for k, g in times.groupby("kind", sort=False)}
    names = times.groupby("kind", sort=False)["run"].first()
    others = [k for k in SPEED_WORDS if k in seconds]
    evidence = stats.log_compare(seconds, [("gated", k) for k in others], confidence)
    out = {}
    for kind, row in zip(others, evidence.to_dict("records")):
        out[kind] = _speed_claim(row, seconds, names, len(evidence), confidence)
    return out


def _speed_claim(row: dict, seconds: dict, names: pd.Series, pairs: int, confidence: float):
    kind = row["y"]
    subject, against = SPEED_WORDS[kind]
    gated, other = row["median_x"], row["median_y"]
    ratio = other / gated
    n_g, n_o = int(row["n_x"]), int(row["n_y"])
    values = {
        "gated": gated,
        "other": other,
        "speedup": ratio,
        "n_gated": n_g,
        "n_other": n_o,
        "speedup_gm": 1 / row["ratio"],
        "lower": 1 / row["ratio_upper"],
        "upper": 1 / row["ratio_lower"],
        "p": row["p"],
        "p_holm": row["p_holm"],
        "pairs": pairs,
        "confidence": confidence,
    }
    verdict = time_verdict(row)
    if verdict == "untested":  # one timed epoch on a side: no test
        timed = (
            "both runs were"
            if n_g == n_o == 1
            else f"{against} was"
            if n_o == 1
            else f"{subject[0].lower() + subject[1:]} was"
        )
        g_s, o_s = seconds_texts(gated, other)
        text = (
            f"{subject} took {g_s} per epoch against {o_s} for {against} (ratio "
            f"{ratio:.2f}), but {timed} timed for a single epoch: a single measurement, with no "
            "interval and no test, so no speed difference is claimed."
        )
        return Claim(text, values, "untested")
    epochs = f"{n_g} epochs" if n_g == n_o else f"{n_g} and {n_o} epochs"
    basis = f"medians over {epochs} of one run each"
    test = (
        f"on log epoch times over those epochs, not over replicates: speedup by geometric means "
        f"{times_word(values['speedup_gm'])}, {confidence:.0%} Welch t-interval "
        f"{values['lower']:.2f}× to {values['upper']:.2f}×, p = {row['p']:.2g}, Holm-corrected "
        f"{row['p_holm']:.2g} over {plural(pairs, 'pair')}"
    )
    g_s, o_s = seconds_texts(gated, other)
    if verdict in ("better", "worse"):
        faster = verdict == "better"
        words = f"{times_word(ratio)} faster" if faster else f"{times_word(1 / ratio)} slower"
        text = (
            f"{subject} is {words} than {against}: {g_s} against {o_s} per epoch ({basis}); "
            f"Welch's t-test separates them at α = {1 - confidence:.2g} ({test})."
        )
        winner = names["gated"] if faster else names[kind]
        return Claim(text, values, verdict, winner=winner)
    why = (
        "the test on log times and the medians disagree on which is faster"
        if row["separated"]
        else f"Welch's t-test does not separate them at α = {1 - confidence:.2g}"
    )
    text = (
        f"{subject} took {g_s} per epoch against {o_s} for {against} ({basis}, ratio "
        f"{ratio:.2f}), but {why} ({test}): no speed difference is shown."
    )
    return Claim(text, values, "not_separated")


def speed_box(claim: Claim | None) -> str:
    """The pipeline diagram's speed box (two lines) for the speed_claims claim against the
    baseline (None: no baseline timing run): the factor only where the claim states one."""
    if claim is None:
        return "speedup not measured\n(no baseline timing run)"
    v = claim.values
    other, gated = seconds_texts(v["other"], v["gated"])
    seconds = f"({other} → {gated} per epoch)"
    if claim.verdict == "better":
        return f"{v['speedup']:.1f}× faster than the baseline\n{seconds}"
    if claim.verdict == "worse":
        return f"{times_word(1 / v['speedup'])} slower than the baseline\n{seconds}"
    if claim.verdict == "untested":
        return f"ratio {v['speedup']:.1f} from one timed epoch\n{seconds}"
    return f"no speed difference shown\n{seconds}"


def pipeline_texts(steady: pd.DataFrame, target: float, speed: Claim | None) -> list[str]:
    """The three measured boxes of the pipeline diagram: speed against the baseline (speed_box),
    the mean share of skipped samples after warm-up with its epochs (the energy-savings proxy, not
    a measured saving), mean activation rate against *target*. steady: the gated run's epochs
    after warm-up (fractions)."""
    first, last = int(steady["epoch"].iloc[0]), int(steady["epoch"].iloc[-1])
    return [
        speed_box(speed),
        f"{steady['energy_savings'].mean():.1%} samples skipped\n(energy-savings proxy, epochs "
        f"{first}–{last})",
        f"activation rate {steady['activation_rate'].mean():.1%}\n(target {target:.1%})",
    ]


# ---------------------------------------------------------------- findings


def findings(
    epochs: pd.DataFrame,
    target: float,
    warmup: int,
    band: float,
    checks: list[Check],
    times: pd.DataFrame | None = None,
    baseline_accuracy: float | None = None,
    confidence: float = 0.95,
    baseline_epochs: pd.DataFrame | None = None,
    window: int = 5,
    band_param: float | None = None,
    split: str = "validation",
) -> list[Finding]:
    """The report's findings, in order: activation rate after warm-up against its target, the
    criterion (±*band*) stated before the verdict (pass when every epoch is within it, else
    fail), the skipped samples (the energy-savings proxy, beside the measured change of the
    epoch time), final accuracy (descriptive), the speed against the baseline ("speedup") and
    against sample-by-sample gating ("batched_vs_sample") by speed_claims, the accuracy
    difference to the baseline (one run each: "untested") and the checks (pass unless one
    failed).

    epochs: the gated run's per-epoch table (epoch, activation_rate and energy_savings as
    fractions, val_accuracy in %); target: the target activation rate (fraction); checks:
    run_checks output; times: epoch_times of every timed run (None: none besides the gated run);
    baseline_accuracy: the baseline's final accuracy (%), None when not recorded;
    baseline_epochs: the baseline's per-epoch table, when given with val_accuracy the accuracy
    sentence also compares the means over the last *window* epochs (a single last epoch of an
    oscillating curve can sit a point above or below where the run has settled); band_param:
    the `target_band` parameter, said to have been raised to the sampling noise when *band* is
    wider; split: the data split val_accuracy was measured on, as the sentences name it."""
    steady = steady_epochs(epochs, warmup)
    rate = steady["activation_rate"]
    n_in = int(within_band(rate, target, band).sum())
    why = (
        f" (the sampling noise of the measured rate, wider than the ±{band_param:.1%} of "
        "`target_band`)"
        if band_param is not None and band > band_param
        else ""
    )
    verdict = "pass" if n_in == len(steady) else "fail"
    out = [
        finding(
            "activation",
            Claim(
                f"Criterion: every epoch after the {warmup} warm-up epochs within ±{band:.1%} of "
                f"the {target:.1%} target{why}. The activation rate averaged {rate.mean():.1%}, "
                f"{n_in} of {len(steady)} epochs within: {verdict}.",
                {
                    "warmup": warmup,
                    "rate": rate.mean(),
                    "target": target,
                    "band": band,
                    "n_in": n_in,
                    "n": len(steady),
                },
                verdict,
            ),
        ),
    ]
    speed = speed_claims(times, confidence) if times is not None else {}
    out.append(skipped_finding(steady, speed.get("baseline")))
    acc = epochs["val_accuracy"]
    best_epoch = int(epochs.loc[acc.idxmax(), "epoch"])
    out.append(
        finding(
            "accuracy",
            Claim(
                f"Final {split} accuracy {acc.iloc[-1]:.1f}% after {len(epochs)} epochs (highest "
                f"{acc.max():.1f}% at epoch {best_epoch}, an epoch picked on the {split} "
                "accuracy it reports, so that value is optimistic).",
                {
                    "acc": acc.iloc[-1],
                    "epochs": len(epochs),
                    "best": acc.max(),
                    "best_epoch": best_epoch,
                    "split": split,
                },
            ),
        )
    )
    speed = speed_claims(times, confidence) if times is not None else {}
    for kind, key in (("baseline", "speedup"), ("sample_by_sample", "batched_vs_sample")):
        if kind in speed:
            out.append(finding(key, speed[kind]))
    if baseline_accuracy is not None:
        delta = acc.iloc[-1] - baseline_accuracy
        values = {"delta": delta, "base": baseline_accuracy}
        recent = ""
        if baseline_epochs is not None and "val_accuracy" in baseline_epochs:
            last = min(window, len(acc), int(baseline_epochs["val_accuracy"].notna().sum()))
            own = float(acc.tail(last).mean())
            base = float(baseline_epochs["val_accuracy"].dropna().tail(last).mean())
            values.update(window=last, recent=own, recent_base=base, recent_delta=own - base)
            recent = (
                f"; means over the last {plural(last, 'epoch')}: {own:.1f}% against "
                f"{base:.1f}%, {own - base:+.1f} points"
            )
        text = (
            f"Final {split} accuracy {delta:+.1f} points against the baseline ({acc.iloc[-1]:.1f}% "
            f"against {baseline_accuracy:.1f}% at the last epoch{recent}; one run each, so no "
            "interval and no claim either way)."
        )
        out.append(finding("accuracy_cost", Claim(text, values, "untested")))
    out.append(checks_finding(checks))
    return out


def skipped_finding(steady: pd.DataFrame, speed: Claim | None) -> Finding:
    """ "energy": the mean share of samples skipped per epoch after warm-up, said to be the
    energy-savings proxy (the share the gate skipped, not a measured saving), beside the measured
    change of the median epoch time against the baseline (*speed*: speed_claims' claim against
    the baseline, None when no baseline was timed). Descriptive: no verdict."""
    skipped = float(steady["energy_savings"].mean())
    values = {"skipped": skipped}
    text = (
        f"Skipped samples (the energy-savings proxy: the share of samples the gate left out, not "
        f"a measured saving) averaged {skipped:.1%} per epoch after warm-up"
    )
    if speed is None:
        text += "; no baseline run was timed, so no measured change of the epoch time is given."
    else:
        v = speed.values
        change = v["gated"] / v["other"] - 1
        values.update(gated=v["gated"], baseline=v["other"], time_change=change)
        g_s, b_s = seconds_texts(v["gated"], v["other"])
        text += (
            f"; the measured median epoch time is {g_s} against {b_s} for the baseline "
            f"({change:+.0%}; the speed finding tests it)."
        )
    return finding("energy", Claim(text, values))


def checks_finding(checks: list[Check]) -> Finding:
    """How many of the checks evaluated passed, naming the failed ones; verdict "fail" when one
    failed, "pass" when every evaluated check passed, None when none was evaluated."""
    failed = [c.name for c in checks if c.passed is False]
    evaluated = sum(c.passed is not None for c in checks)
    values = {
        "passed": sum(c.passed is True for c in checks),
        "evaluated": evaluated,
        "failed": "; ".join(failed),
    }
    text = "{passed} of {evaluated} checks passed" + (": failed — {failed}." if failed else ".")
    verdict = "fail" if failed else "pass" if evaluated else None
    return finding("checks", Claim(text.format(**values), values, verdict))


def final_accuracy(run: Run | None) -> float | None:
    """The last accuracy (%) of *run* (its val_accuracy), None when there is no run or it
    recorded none."""
    if run is None or "val_accuracy" not in run.epochs.columns:
        return None
    return float(run.epochs["val_accuracy"].iloc[-1])
