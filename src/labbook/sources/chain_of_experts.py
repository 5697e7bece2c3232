"""Chain-of-experts result files (seed 000's formats) -> tidy tables.

Method file (one per method), JSON object:
    accuracy     number, or list of numbers (one per seed)      required   top-1 accuracy, %
    params_m     number                                         optional   parameters, millions
    gflops       number                                         optional   GFLOPs per image
    entropy      list of numbers, one per block                 optional   gate entropy per block
    gate_means   list of lists, blocks x experts                optional   mean gate activation
    method       string                                         optional   display name
    notes        string                                         optional
Experts ablation: {"experts_per_block": [...], "accuracy": [...] or [[per seed], ...], "params_m": [...]?}
Entropy sweep:    {"entropy_coeff": [...], "accuracy": [...] or [[...]], "avg_entropy": [...] or [[...]]}
Convergence CSV:  columns epoch, train_loss, val_acc, and optionally method.
"""
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, fields, validate_metrics_table


@dataclass
class MethodResult:
    key: str
    name: str
    accuracy: np.ndarray  # array(seeds), %
    params_m: float | None
    gflops: float | None
    block_entropy: np.ndarray | None  # array(blocks)
    gate_means: np.ndarray | None  # array(blocks, experts)
    notes: str
    path: Path


@dataclass
class ChainOfExpertsResults:
    methods: dict[str, MethodResult]
    ablation: pd.DataFrame | None = None  # experts_per_block, seed, accuracy, params_m
    entropy: pd.DataFrame | None = None  # entropy_coeff, seed, accuracy, avg_entropy
    convergence: pd.DataFrame | None = None  # method, epoch, train_loss, val_acc
    notes: list[str] = field(default_factory=list)

    def metrics_table(self) -> pd.DataFrame:
        """The shared long metrics table: one row per method x seed x metric (accuracy, params_m, gflops)."""
        rows = []
        for m in self.methods.values():
            for seed, acc in enumerate(m.accuracy):
                rows.append((m.key, m.name, seed, "accuracy", acc))
            for metric in ("params_m", "gflops"):
                value = getattr(m, metric)
                if value is not None:
                    rows.append((m.key, m.name, 0, metric, value))
        df = pd.DataFrame(rows, columns=["run", "method", "seed", "metric", "value"])
        df["dataset"] = None
        df["epoch"] = np.nan
        df["step"] = np.nan
        df["subset"] = "test"
        return validate_metrics_table(df[METRICS_COLUMNS], "chain-of-experts method files")


def load_method(key: str, path: Path) -> MethodResult:
    doc = fields.mapping(inputs.read_json(path), path)
    gates = fields.matrix(doc, "gate_means", path, required=False)
    ent = fields.vector(doc, "entropy", path, required=False)
    if gates is not None and ent is not None and len(ent) != gates.shape[0]:
        raise InputError(f"{path}: field 'entropy' has {len(ent)} blocks but 'gate_means' has {gates.shape[0]}")
    return MethodResult(
        key=key, name=fields.text(doc, "method", path, default=key) or key,
        accuracy=fields.samples(doc, "accuracy", path),
        params_m=fields.number(doc, "params_m", path, required=False),
        gflops=fields.number(doc, "gflops", path, required=False),
        block_entropy=ent, gate_means=gates, notes=fields.text(doc, "notes", path), path=path)


def _long(x_name: str, x: np.ndarray, **series: np.ndarray) -> pd.DataFrame:
    """array(seeds, points) series -> long frame with columns x_name, seed, <series names>."""
    n_seeds = max(s.shape[0] for s in series.values())
    rows = []
    for seed in range(n_seeds):
        for i, xv in enumerate(x):
            row = {x_name: xv, "seed": seed}
            for name, s in series.items():
                row[name] = s[seed if s.shape[0] > 1 else 0, i]
            rows.append(row)
    return pd.DataFrame(rows)


def load_ablation(path: Path) -> pd.DataFrame:
    doc = fields.mapping(inputs.read_json(path), path)
    x = fields.vector(doc, "experts_per_block", path)
    acc = fields.per_seed_vector(doc, "accuracy", path, len(x))
    series = {"accuracy": acc}
    params = fields.per_seed_vector(doc, "params_m", path, len(x), required=False)
    if params is not None:
        series["params_m"] = params
    _same_seed_count(path, series)
    return _long("experts_per_block", x, **series)


def load_entropy_sweep(path: Path) -> pd.DataFrame:
    doc = fields.mapping(inputs.read_json(path), path)
    x = fields.vector(doc, "entropy_coeff", path)
    series = {"accuracy": fields.per_seed_vector(doc, "accuracy", path, len(x)),
              "avg_entropy": fields.per_seed_vector(doc, "avg_entropy", path, len(x))}
    _same_seed_count(path, series)
    return _long("entropy_coeff", x, **series)


def _same_seed_count(path: Path, series: dict[str, np.ndarray]) -> None:
    counts = {k: v.shape[0] for k, v in series.items() if v.shape[0] > 1}
    if len(set(counts.values())) > 1:
        raise InputError(f"{path}: per-seed fields have different seed counts {counts}")


def load_convergence(path: Path) -> pd.DataFrame:
    raw = inputs.read_bytes(path)
    try:
        df = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("epoch", "train_loss", "val_acc") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    for col in ("epoch", "train_loss", "val_acc"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise InputError(f"{path}: column {col!r} row {row + 2} is not a number: {df[col].iloc[row]!r}")
        df[col] = values
    if "method" not in df.columns:
        df["method"] = "run"
    return df[["method", "epoch", "train_loss", "val_acc"]]


def load(method_files: dict[str, str | Path], ablation_file: str | Path | None = None,
         entropy_file: str | Path | None = None, convergence_file: str | Path | None = None,
         resolve=lambda p: Path(p)) -> ChainOfExpertsResults:
    """Load every listed file. Method files and listed sweep files must exist and be valid
    (InputError otherwise); an absent convergence file is recorded in `notes`, not an error."""
    if not method_files:
        raise InputError("params 'method_files': list at least one method file")
    methods = {key: load_method(key, resolve(p)) for key, p in method_files.items()}
    res = ChainOfExpertsResults(methods=methods)
    if ablation_file:
        res.ablation = load_ablation(resolve(ablation_file))
    if entropy_file:
        res.entropy = load_entropy_sweep(resolve(entropy_file))
    if convergence_file:
        path = resolve(convergence_file)
        if path.exists():
            res.convergence = load_convergence(path)
        else:
            res.notes.append(f"No convergence curves: {path} does not exist.")
    return res
