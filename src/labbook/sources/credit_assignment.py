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
(a method missing from one seed, a diagnostic not recorded, logs of different lengths across
seeds) is kept out and listed in ``Results.notes`` for the report to show.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, fields, validate_metrics_table

LOG_METRICS = ("train_acc", "test_acc", "state_pred_error")
LAYER_DIAGNOSTICS = ("bp_cosine", "perturbation_rho")
FRACTIONS = ("train_acc", "test_acc")


@dataclass
class Results:
    seeds: list[str]
    methods: list[str]  # methods present in at least one seed, in the requested order
    curves: pd.DataFrame  # seed, method, epoch (1-based), metric (LOG_METRICS), value
    diagnostics: (
        pd.DataFrame
    )  # seed, method, diagnostic (bp_cosine | perturbation_rho | nudging), eta, layer, value
    drift: pd.DataFrame  # seed, method, block, value
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)

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


def _log(result: dict, where: str, path: Path) -> dict[str, np.ndarray]:
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
        fractions=FRACTIONS,
        where=f"{where}.log",
    )
    if "state_pred_error" in out:
        fields.check_range(
            out["state_pred_error"],
            path,
            f"'{where}.log.state_pred_error'",
            0,
            what="an error, not negative",
        )
    return out


def _layer_rows(result: dict, seed: str, method: str, path: Path, missing: dict) -> list[tuple]:
    if result.get("diagnostics") is None:
        missing.setdefault((method, None), []).append(seed)
        return []
    diag = result["diagnostics"]
    where = f"{seed}.{method}.diagnostics"
    if not isinstance(diag, dict):
        raise InputError(f"{path}: field '{where}' must be an object")
    rows = []
    for name in LAYER_DIAGNOSTICS:
        values = fields.vector(diag, name, path, required=False, where=f"{where}.{name}")
        if values is None:
            missing.setdefault((method, name), []).append(seed)
            continue
        fields.check_range(
            values, path, f"'{where}.{name}'", -1, 1, "a cosine or correlation in [-1, 1]"
        )
        rows += [(seed, method, name, None, layer, v) for layer, v in enumerate(values)]
    nudging = diag.get("nudging")
    if nudging is None:
        missing.setdefault((method, "nudging"), []).append(seed)
    elif not isinstance(nudging, dict):
        raise InputError(f"{path}: field '{where}.nudging' must be an object eta -> per-layer list")
    else:
        for eta in nudging:
            values = fields.vector(nudging, eta, path)
            rows += [
                (seed, method, "nudging", str(eta), layer, v) for layer, v in enumerate(values)
            ]
    return rows


def _drift_rows(
    result: dict, seed: str, method: str, path: Path, regex: re.Pattern, unmatched: set
) -> list[tuple]:
    drift = result.get("drift", {})
    if not isinstance(drift, dict):
        raise InputError(
            f"{path}: field '{seed}.{method}.drift' must be an object parameter -> value"
        )
    rows = []
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
        rows.append((seed, method, int(match.group(1)), value))
    return rows


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
    notes, curves, layer_rows, drift_rows = [], [], [], []
    missing_diag: dict = {}
    unmatched: set = set()
    present = []
    for method in wanted:
        have = [s for s in files if method in entries[s]]
        if not have:
            raise InputError(
                f"method {method!r} is in none of the seed files "
                f"({', '.join(str(p) for p in files.values())})"
            )
        absent = [s for s in files if s not in have]
        if absent:
            notes.append(
                f"Method {method!r} is missing from seed(s) {', '.join(absent)} "
                f"({', '.join(str(files[s]) for s in absent)}): its curves and statistics use "
                f"{len(have)} seed(s)."
            )
        present.append(method)
        logs = {}
        for seed in have:
            result = fields.mapping(entries[seed][method], files[seed])
            logs[seed] = _log(result, f"{seed}.{method}", files[seed])
            layer_rows += _layer_rows(result, seed, method, files[seed], missing_diag)
            drift_rows += _drift_rows(result, seed, method, files[seed], regex, unmatched)
        lengths = {s: len(next(iter(log.values()))) for s, log in logs.items()}
        common = min(lengths.values())
        if len(set(lengths.values())) > 1:
            notes.append(
                f"Method {method!r} has logs of different lengths across seeds "
                f"({', '.join(f'seed {s}: {n}' for s, n in lengths.items())} epochs): curves and "
                f"final accuracies use the first {common} epochs of every seed."
            )
        for seed, log in logs.items():
            for metric, values in log.items():
                curves.append(
                    pd.DataFrame(
                        {
                            "seed": seed,
                            "method": method,
                            "epoch": np.arange(1, common + 1),
                            "metric": metric,
                            "value": values[:common],
                        }
                    )
                )
    for (method, name), seeds in missing_diag.items():
        if name is None:
            notes.append(
                f"Method {method!r} records no diagnostics in seed(s) {', '.join(seeds)}: left out "
                "of the per-layer panels."
            )
        else:
            notes.append(
                f"Diagnostic {name!r} is not recorded for method {method!r} in seed(s) "
                f"{', '.join(seeds)}: left out of that panel."
            )
    if unmatched:
        shown = sorted(unmatched)
        notes.append(
            f"{len(shown)} drift key(s) do not match the block pattern {drift_pattern!r} and are "
            f"not plotted (e.g. {', '.join(repr(k) for k in shown[:3])})."
        )
    return Results(
        seeds=list(files),
        methods=present,
        curves=pd.concat(curves, ignore_index=True),
        diagnostics=pd.DataFrame(
            layer_rows, columns=["seed", "method", "diagnostic", "eta", "layer", "value"]
        ),
        drift=pd.DataFrame(drift_rows, columns=["seed", "method", "block", "value"]),
        files=files,
        notes=notes,
    )
