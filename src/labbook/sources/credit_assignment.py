"""Credit-assignment results (seed 004's format), one JSON file per training seed -> tidy tables.

A seed file holds one top-level key, the seed (as a string), mapping method -> result:

    {"42": {"bp": {"log": {"train_acc": [...], "test_acc": [...],
                           "state_pred_error": [...]},
                   "diagnostics": {"bp_cosine": [...],
                                   "perturbation_rho": [...],
                                   "nudging": {"0.01": [...], ...}},
                   "drift": {"blocks.0.w1.weight": 0.12, ...}},
            "dfa": {...}}}

    log.train_acc, log.test_acc    required; fractions in [0, 1], one per epoch
    log.state_pred_error           optional; one per epoch
    diagnostics.bp_cosine          optional; one per layer
    diagnostics.perturbation_rho   optional; one per layer
    diagnostics.nudging            optional; step size eta -> one value per layer
    drift                          optional; parameter name -> relative drift

What is wrong with a file is an InputError naming the file and the field. What is merely absent
(a method missing from one seed, a diagnostic not recorded) is kept out and listed in
``Results.notes`` for the report to show; logs of different lengths across seeds are kept whole
(each seed's final value is its last logged epoch) and noted; a fraction or a cosine outside its
domain by one float32 rounding step (1.0000001) is clipped to it and noted.

The same Results come from a tracker's runs (sources.credit_assignment_trackers.from_tracker):
both readers check each (seed, method) into a `SeedResult` and leave the rest to `collect`, so
what is absent gives the same notes whichever way the numbers came (its load_any picks the reader
from the notebook's parameters).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, fields, validate_metrics_table

LOG_METRICS = ("train_acc", "test_acc", "state_pred_error")
LAYER_DIAGNOSTICS = ("bp_cosine", "perturbation_rho")
FRACTIONS = ("train_acc", "test_acc")


@dataclass
class Results:
    seeds: list[str]
    methods: list[str]  # methods present in at least one seed, in the requested order
    # seed, method, epoch (the k-th value logged, 1-based), step (the store's step; JSON: the
    # epoch), metric (LOG_METRICS), value; a seed's rows end at its own last value
    curves: pd.DataFrame
    diagnostics: (
        pd.DataFrame
    )  # seed, method, diagnostic (bp_cosine | perturbation_rho | nudging), eta, layer, value
    drift: pd.DataFrame  # seed, method, block, value
    files: dict[str, Path]  # seed -> results JSON (empty when read from a tracker)
    notes: list[str] = field(default_factory=list)
    # field (LOG_METRICS, diagnostics, "drift") -> what it was read from: the JSON field name, or
    # the tracker's key template; "drift": the block pattern of the drift keys
    keys: dict[str, str] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)  # seed -> tracker run names
    store: str = ""  # the tracker store read ("" for JSON files)
    unit: str = "epoch"  # what one logged value counts, in labels: "epoch", or the store's "step"

    def metrics_table(self, dataset: str | None = None) -> pd.DataFrame:
        """The shared long metrics table: accuracy (train/test) and state-prediction error per
        epoch."""
        df = self.curves.copy()
        df["run"] = df["method"] + "/seed" + df["seed"]
        df["subset"] = df["metric"].map({"train_acc": "train", "test_acc": "test"}).fillna("train")
        df["metric"] = (
            df["metric"].map({"train_acc": "accuracy", "test_acc": "accuracy"}).fillna(df["metric"])
        )
        df["dataset"] = dataset
        df["step"] = np.nan
        return validate_metrics_table(df[METRICS_COLUMNS], "credit-assignment seed files")

    def epochs(self) -> int:
        return int(self.curves["epoch"].max())

    @property
    def x(self) -> str:
        """The curves' column the x axis follows: "epoch" (the k-th value logged) when one value
        is one epoch, else "step" (the store's own steps)."""
        return "epoch" if self.unit == "epoch" else "step"

    def origins(self) -> tuple[str, list[str]]:
        """Where each seed was read from, for the table of seeds read: ("file", the results JSON
        relative to the repo root) or ("runs", the tracker run names), in seed order."""
        if self.files:
            return "file", [paths.relative(self.files[s]) for s in self.seeds]
        return "runs", [", ".join(self.runs.get(s, [])) for s in self.seeds]


def block_regex(pattern: str) -> re.Pattern:
    """The drift-key pattern (e.g. "blocks.{i}.w1.weight") as a regex capturing the block number."""
    if pattern.count("{i}") != 1:
        raise ValueError(f"drift pattern {pattern!r} must contain '{{i}}' exactly once")
    head, tail = pattern.split("{i}")
    return re.compile(re.escape(head) + r"(\d+)" + re.escape(tail) + r"\Z")


def _seed_entry(doc, seed: str, path: Path) -> dict:
    doc = fields.mapping(doc, path)
    if seed not in doc:
        keys = ", ".join(repr(k) for k in doc) or "none"
        raise InputError(f"{path}: no results for seed {seed!r} (top-level keys: {keys})")
    return fields.mapping(doc[seed], path)


def _log(
    result: dict, where: str, path: Path, clipped: list[tuple[str, float]]
) -> dict[str, np.ndarray]:
    """The per-epoch lists of one result, checked; a fraction one float32 step outside [0, 1]
    is clipped and recorded in *clipped* as (field, value as logged)."""
    log = result.get("log")
    if not isinstance(log, dict):
        raise InputError(
            f"{path}: field '{where}.log' must be an object with train_acc and test_acc lists"
        )
    out = fields.per_epoch_vectors(
        log,
        {m: m for m in LOG_METRICS},
        path,
        required=FRACTIONS,
        fractions=(),
        where=f"{where}.log",
    )
    for name in FRACTIONS:
        out[name] = clip_and_record(out[name], 0, 1, f"'{where}.log.{name}'", clipped)
        fields.check_fractions(out[name], path, repr(f"{where}.log.{name}"))
    if "state_pred_error" in out:
        fields.check_range(
            out["state_pred_error"],
            path,
            f"'{where}.log.state_pred_error'",
            0,
            what="an error, not negative",
        )
    return out


def clip_and_record(
    values: np.ndarray, low: float, high: float, label: str, clipped: list[tuple[str, float]]
) -> np.ndarray:
    """*values* clipped to [low, high] where they lie one float32 rounding step outside
    (fields.clip_rounding); the first such value is recorded in *clipped* as (label, value)."""
    out, n = fields.clip_rounding(values, low, high)
    if n:
        first = np.asarray(values, dtype=float)[out != np.asarray(values, dtype=float)][0]
        clipped.append((label, float(first)))
    return out


def clipped_note(clipped: list[tuple[str, float]]) -> str:
    """The note saying which values were clipped from one float32 rounding step outside their
    domain. clipped: (field or key, value as logged), at least one."""
    label, value = clipped[0]
    more = f" and {len(clipped) - 1} more series" if len(clipped) > 1 else ""
    return (
        f"Values one float32 rounding step ({fields.FLOAT32_STEP:.1e}) outside their domain were "
        f"clipped to it: {label} = {value!r}{more} (a fraction in [0, 1] or a cosine in [-1, 1] "
        "logged in float32)."
    )


def _layer_rows(
    result: dict, seed: str, method: str, path: Path, clipped: list[tuple[str, float]]
) -> tuple[list[tuple], list]:
    """The per-layer rows (diagnostic, eta, layer, value) of one result and the diagnostics it does
    not record (None: no diagnostics at all)."""
    if result.get("diagnostics") is None:
        return [], [None]
    diag = result["diagnostics"]
    where = f"{seed}.{method}.diagnostics"
    if not isinstance(diag, dict):
        raise InputError(f"{path}: field '{where}' must be an object")
    rows, missing = [], []
    for name in LAYER_DIAGNOSTICS:
        values = fields.vector(diag, name, path, required=False, where=f"{where}.{name}")
        if values is None:
            missing.append(name)
            continue
        values = clip_and_record(values, -1, 1, f"'{where}.{name}'", clipped)
        fields.check_range(
            values, path, f"'{where}.{name}'", -1, 1, "a cosine or correlation in [-1, 1]"
        )
        rows += [(name, None, layer, v) for layer, v in enumerate(values)]
    nudging = diag.get("nudging")
    if nudging is None:
        missing.append("nudging")
    elif not isinstance(nudging, dict):
        raise InputError(f"{path}: field '{where}.nudging' must be an object eta -> per-layer list")
    else:
        for eta in nudging:
            values = fields.vector(nudging, eta, path)
            rows += [("nudging", str(eta), layer, v) for layer, v in enumerate(values)]
    return rows, missing


def _drift_rows(
    result: dict, seed: str, method: str, path: Path, regex: re.Pattern
) -> tuple[list[tuple], set]:
    """The (block, value) rows of one result's drift keys matching *regex*, and the keys that do
    not match."""
    drift = result.get("drift", {})
    if not isinstance(drift, dict):
        raise InputError(
            f"{path}: field '{seed}.{method}.drift' must be an object parameter -> value"
        )
    rows, unmatched = [], set()
    for key in drift:
        match = regex.match(key)
        if match is None:
            unmatched.add(key)
            continue
        value = fields.number(drift, key, path)
        fields.check_range(
            [value],
            path,
            f"'{seed}.{method}.drift.{key}'",
            0,
            what="a relative drift, not negative",
        )
        rows.append((int(match.group(1)), value))
    return rows, unmatched


@dataclass
class SeedResult:
    """One method's results in one seed, read and checked (by either reader).

    log: LOG_METRICS name -> array(epochs), in LOG_METRICS order, equal lengths (a tracker run
    may lack train_acc when its key is switched off); layers: rows (diagnostic, eta, layer,
    value), eta None but for nudging; drift: rows (block, value); missing: the diagnostics not
    recorded, in DIAGNOSTICS order (None alone: no diagnostics at all); unmatched: drift keys that
    do not match the pattern; steps: the store's step of each logged value (None: the epochs
    1..n); clipped: (field or key, value as logged) of series clipped from one float32 rounding
    step outside their domain."""

    log: dict[str, np.ndarray]
    layers: list[tuple] = field(default_factory=list)
    drift: list[tuple] = field(default_factory=list)
    missing: list = field(default_factory=list)
    unmatched: set = field(default_factory=set)
    steps: np.ndarray | None = None
    clipped: list[tuple[str, float]] = field(default_factory=list)


def collect(
    seeds: list[str],
    wanted: list[str],
    have: Callable[[str], list[str]],
    read: Callable[[str, str], SeedResult],
    absent: Callable[[str, list[str]], str],
    drift_pattern: str,
    unit: str = "epoch",
) -> tuple[list[str], pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Every method of *wanted* over the seeds that have it, into the Results tables.

    have(method): the seeds holding *method* (in *seeds* order; the caller raises when none does);
    read(seed, method): that result, checked; absent(method, seeds): where the seeds lacking it
    were looked for (for the note); unit: what one logged value counts (for the notes). Returns
    methods present, curves (every seed whole, however long), diagnostics, drift, notes.
    """
    notes, curves, layer_rows, drift_rows, clipped = [], [], [], [], []
    missing_diag: dict = {}
    unmatched: set = set()
    present = []
    for method in wanted:
        holding = have(method)
        lacking = [s for s in seeds if s not in holding]
        if lacking:
            notes.append(
                f"Method {method!r} is missing from seed(s) {', '.join(lacking)} "
                f"({absent(method, lacking)}): its curves and statistics use "
                f"{len(holding)} seed(s)."
            )
        present.append(method)
        logs, steps = {}, {}
        for seed in holding:
            result = read(seed, method)
            logs[seed] = result.log
            steps[seed] = result.steps
            clipped += result.clipped
            layer_rows += [(seed, method, *row) for row in result.layers]
            drift_rows += [(seed, method, *row) for row in result.drift]
            for name in result.missing:
                missing_diag.setdefault((method, name), []).append(seed)
            unmatched |= result.unmatched
        lengths = {s: len(next(iter(log.values()))) for s, log in logs.items()}
        if len(set(lengths.values())) > 1:
            told = ", ".join(f"seed {s}: {n}" for s, n in lengths.items())
            notes.append(
                f"Method {method!r} has logs of different lengths across seeds ({told} values "
                f"per key): each seed's final value is its last logged {unit}; the mean curves "
                f"stop at the last {unit} every seed reached, and the seeds that go on are drawn "
                "as thin lines."
            )
        for seed, log in logs.items():
            n = lengths[seed]
            epochs = np.arange(1, n + 1)
            at = epochs if steps[seed] is None else np.asarray(steps[seed])
            for metric, values in log.items():
                curves.append(
                    pd.DataFrame(
                        {
                            "seed": seed,
                            "method": method,
                            "epoch": epochs,
                            "step": at,
                            "metric": metric,
                            "value": values,
                        }
                    )
                )
    for (method, name), missing_seeds in missing_diag.items():
        if name is None:
            notes.append(
                f"Method {method!r} records no diagnostics in seed(s) "
                f"{', '.join(missing_seeds)}: left out of the per-layer panels."
            )
        else:
            notes.append(
                f"Diagnostic {name!r} is not recorded for method {method!r} in seed(s) "
                f"{', '.join(missing_seeds)}: left out of that panel."
            )
    if clipped:
        notes.append(clipped_note(clipped))
    if unmatched:
        shown = sorted(unmatched)
        notes.append(
            f"{len(shown)} drift key(s) do not match the block pattern {drift_pattern!r} and are "
            f"not plotted (e.g. {', '.join(repr(k) for k in shown[:3])})."
        )
    return (
        present,
        pd.concat(curves, ignore_index=True),
        pd.DataFrame(layer_rows, columns=["seed", "method", "diagnostic", "eta", "layer", "value"]),
        pd.DataFrame(drift_rows, columns=["seed", "method", "block", "value"]),
        notes,
    )


def load(
    seed_files: dict, methods: list[str] | None = None, drift_pattern: str = "blocks.{i}.w1.weight"
) -> Results:
    """Read one results file per seed. seed_files: {seed: path}; methods: the ones to analyse in
    this order (None or empty: every method of the first seed file, in file order)."""
    if not seed_files:
        raise InputError("no seed files given (parameter seed_files is empty)")
    regex = block_regex(drift_pattern)
    files = {str(s): Path(p) for s, p in seed_files.items()}
    entries = {
        seed: _seed_entry(inputs.read_json(path), seed, path) for seed, path in files.items()
    }
    wanted = list(methods) if methods else list(next(iter(entries.values())))

    def have(method: str) -> list[str]:
        holding = [s for s in files if method in entries[s]]
        if not holding:
            raise InputError(
                f"method {method!r} is in none of the seed files "
                f"({', '.join(str(p) for p in files.values())})"
            )
        return holding

    def read(seed: str, method: str) -> SeedResult:
        path = files[seed]
        result = fields.mapping(entries[seed][method], path)
        clipped: list[tuple[str, float]] = []
        log = _log(result, f"{seed}.{method}", path, clipped)
        layers, missing = _layer_rows(result, seed, method, path, clipped)
        drift, unmatched = _drift_rows(result, seed, method, path, regex)
        return SeedResult(log, layers, drift, missing, unmatched, clipped=clipped)

    def absent(method: str, lacking: list[str]) -> str:
        return ", ".join(str(files[s]) for s in lacking)

    present, curves, diagnostics, drift, notes = collect(
        list(files), wanted, have, read, absent, drift_pattern
    )
    keys = {name: name for name in (*LOG_METRICS, *LAYER_DIAGNOSTICS, "nudging")}
    return Results(
        seeds=list(files),
        methods=present,
        curves=curves,
        diagnostics=diagnostics,
        drift=drift,
        files=files,
        notes=notes,
        keys={**keys, "drift": drift_pattern},
    )


# The simulated CIFAR-10 example (`make examples`): what the notebook reads when its parameters
# name neither seed files nor a tracker.
EXAMPLE_SEED_FILES = {
    s: f"examples/generated/credit_assignment/cifar10/seed{s}/results_cifar10.json"
    for s in ("42", "123", "456")
}
