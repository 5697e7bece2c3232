"""Chain-of-experts result files (seed 000's formats) -> tidy tables.

Method file (one per method), JSON object:
    accuracy     number, or list of numbers (one per seed)      required   top-1 accuracy, %
    params_m     number                                         optional   parameters, millions
    gflops       number                                         optional   GFLOPs per image
    entropy      list of numbers, one per block                 optional   gate entropy per block
    gate_means   list of lists, blocks x experts                optional   mean gate activation
    method       string                                         optional   display name
    notes        string                                         optional
Experts ablation (JSON):
    {"experts_per_block": [...], "accuracy": [...] or [[per seed], ...], "params_m": [...]?}
Entropy sweep (JSON):
    {"entropy_coeff": [...], "accuracy": [...] or [[...]], "avg_entropy": [...] or [[...]]}
Convergence CSV: columns epoch, train_loss, val_acc, and optionally method.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
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
    path: Path | str  # the method file; for a tracker store, "<store>, runs of method `key`"
    runs: list[str] = field(default_factory=list)  # names of the tracker runs read (one a seed)


# What each section says when its data are absent (the tracker loader says it in its own terms).
SKIPPED = {
    "ablation": "No experts-per-block ablation file was given; section skipped.",
    "entropy": "No entropy-regularization file was given; section skipped.",
    "convergence": "No convergence data: the convergence file is absent or not set; section "
    "skipped.",
}
FIELD_NAMES = ("gate_means", "params_m", "gflops")  # fields notes name as the input names them


@dataclass
class ChainOfExpertsResults:
    methods: dict[str, MethodResult]
    ablation: pd.DataFrame | None = None  # experts_per_block, seed, accuracy, params_m
    entropy: pd.DataFrame | None = None  # entropy_coeff, seed, accuracy, avg_entropy
    # method, seed (text; "" when the curves name no seed), epoch, train_loss, val_acc
    convergence: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # input left out (tracker stores)
    skipped: dict[str, str] = field(default_factory=lambda: dict(SKIPPED))
    field_names: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELD_NAMES})
    store: str | None = None  # the tracker store read ("mlflow store path"); None: JSON files

    def metrics_table(self) -> pd.DataFrame:
        """The shared long metrics table: one row per method x seed x metric (accuracy, params_m,
        gflops)."""
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
        raise InputError(
            f"{path}: field 'entropy' has {len(ent)} blocks but 'gate_means' has {gates.shape[0]}"
        )
    accuracy = fields.samples(doc, "accuracy", path)
    fields.check_range(accuracy, path, "'accuracy'", 0, 100, "a percentage in [0, 100]")
    params_m = fields.number(doc, "params_m", path, required=False)
    gflops = fields.number(doc, "gflops", path, required=False)
    for name, value, limit in (
        ("params_m", params_m, MAX_PARAMS_M),
        ("gflops", gflops, MAX_GFLOPS),
    ):
        if value is not None:
            fields.check_range(
                [value],
                path,
                repr(name),
                0,
                limit,
                f"not negative, and at most {limit:g}: larger is not a real model",
            )
    if gates is not None:
        fields.check_range(gates, path, "'gate_means'", 0, 1, "a gate activation in [0, 1]")
    if ent is not None:
        fields.check_range(ent, path, "'entropy'", 0)
    return MethodResult(
        key=key,
        name=fields.text(doc, "method", path, default=key) or key,
        accuracy=accuracy,
        params_m=params_m,
        gflops=gflops,
        block_entropy=ent,
        gate_means=gates,
        notes=fields.text(doc, "notes", path),
        path=path,
    )


MAX_PARAMS_M = 1e7  # 10 trillion parameters
MAX_GFLOPS = 1e7


def check_methods(methods: dict[str, MethodResult]) -> None:
    """Across method files: unique display names, and one accuracy scale. A file whose accuracies
    are all at most 1 while another file's are above 1 is a fraction among percentages."""
    seen = {}
    for m in methods.values():
        if m.name in seen:  # names differing only by case are different names
            other = seen[m.name]
            raise InputError(
                f"{m.path}: field 'method' {m.name!r} is also the name of {other.path} "
                f"(method {other.key!r}): give every method its own name"
            )
        seen[m.name] = m
    percent = [m for m in methods.values() if m.accuracy.max() > 1]
    fraction = [m for m in methods.values() if m.accuracy.max() <= 1]
    if fraction and percent:
        f = fraction[0]
        raise InputError(
            f"{f.path}: field 'accuracy' = {f.accuracy.tolist()} looks like a fraction, while "
            f"{percent[0].path} gives {percent[0].accuracy[0]:g}: accuracy is in % in every file "
            "(multiply by 100)"
        )
    if fraction:
        raise InputError(
            f"{fraction[0].path}: field 'accuracy' has every value in [0, 1] in every file: it "
            "looks like fractions, but accuracy is in % (multiply by 100)"
        )


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
    fields.check_range(x, path, "'experts_per_block'", 1, what="a count of at least 1")
    if len(set(x.tolist())) != len(x):
        raise InputError(f"{path}: field 'experts_per_block' lists a value twice: {x.tolist()}")
    acc = fields.per_seed_vector(doc, "accuracy", path, len(x))
    fields.check_percent(acc, path, "'accuracy'")
    series = {"accuracy": acc}
    params = fields.per_seed_vector(doc, "params_m", path, len(x), required=False)
    if params is not None:
        series["params_m"] = params
    _same_seed_count(path, series)
    return _long("experts_per_block", x, **series)


def load_entropy_sweep(path: Path) -> pd.DataFrame:
    doc = fields.mapping(inputs.read_json(path), path)
    x = fields.vector(doc, "entropy_coeff", path)
    fields.check_range(x, path, "'entropy_coeff'", 0)
    if len(set(x.tolist())) != len(x):
        raise InputError(f"{path}: field 'entropy_coeff' lists a value twice: {x.tolist()}")
    series = {
        "accuracy": fields.per_seed_vector(doc, "accuracy", path, len(x)),
        "avg_entropy": fields.per_seed_vector(doc, "avg_entropy", path, len(x)),
    }
    fields.check_percent(series["accuracy"], path, "'accuracy'")
    fields.check_range(series["avg_entropy"], path, "'avg_entropy'", 0)
    _same_seed_count(path, series)
    return _long("entropy_coeff", x, **series)


def _same_seed_count(path: Path, series: dict[str, np.ndarray]) -> None:
    counts = {k: v.shape[0] for k, v in series.items() if v.shape[0] > 1}
    if len(set(counts.values())) > 1:
        raise InputError(f"{path}: per-seed fields have different seed counts {counts}")


def load_convergence(path: Path) -> pd.DataFrame:
    """The convergence CSV: columns epoch, train_loss, val_acc (%), and optionally method (absent:
    one method "run") and seed (absent: one curve per method, seed ""). Returns method, seed
    (text), epoch, train_loss, val_acc."""
    raw = inputs.read_bytes(path)
    try:
        # round_trip: every number as written (pandas' default parser can be 1 ulp off a
        # 17-digit value, so a float32-exact twin of tracker values would not read back equal)
        df = pd.read_csv(io.BytesIO(raw), float_precision="round_trip")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("epoch", "train_loss", "val_acc") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    for col in ("epoch", "train_loss", "val_acc"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise InputError(
                f"{path}: column {col!r} row {row + 2} is not a number: {df[col].iloc[row]!r}"
            )
        df[col] = values
    fields.check_range(df["train_loss"], path, "column 'train_loss'", 0)
    fields.check_percent(df["val_acc"], path, "column 'val_acc'")
    if "method" not in df.columns:
        df["method"] = "run"
    if "seed" in df.columns:
        if df["seed"].isna().any():
            row = int(df["seed"].isna().to_numpy().nonzero()[0][0])
            raise InputError(f"{path}: column 'seed' row {row + 2} is empty")
        df["seed"] = df["seed"].astype(str)
    else:
        df["seed"] = ""
    twice = df[df.duplicated(["method", "seed", "epoch"], keep=False)]
    if not twice.empty:
        first = twice.iloc[0]
        seed = f", seed {first['seed']}" if first["seed"] else " (add a `seed` column)"
        raise InputError(
            f"{path}: method {first['method']!r}{seed} has epoch {first['epoch']:g} twice"
        )
    return df[["method", "seed", "epoch", "train_loss", "val_acc"]]


# The notebook's defaults for the JSON inputs (the seed's example files); tests keep them equal.
EXAMPLE_INPUTS = {
    "method_files": {
        "baseline": "examples/chain_of_experts/baseline.json",
        "chain_seq": "examples/chain_of_experts/chain_sequential.json",
        "chain_par": "examples/chain_of_experts/chain_parallel.json",
    },
    "ablation_file": "examples/chain_of_experts/ablation_experts.json",
    "entropy_file": "examples/chain_of_experts/entropy.json",
    "convergence_file": "examples/chain_of_experts/convergence.csv",
}


def load(
    method_files: dict[str, str | Path],
    ablation_file: str | Path | None = None,
    entropy_file: str | Path | None = None,
    convergence_file: str | Path | None = None,
    resolve=lambda p: Path(p),
) -> ChainOfExpertsResults:
    """Load every listed file. Method files and listed sweep files must exist and be valid
    (InputError otherwise); an absent convergence file is recorded in `notes`, not an error."""
    if not method_files:
        raise InputError("params 'method_files': list at least one method file")
    methods = {key: load_method(key, resolve(p)) for key, p in method_files.items()}
    check_methods(methods)
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


def inputs_table(res: ChainOfExpertsResults) -> tuple[pd.DataFrame, str]:
    """What was read, for the report's Inputs section: (one row per method: key, method, seeds,
    and its file or its runs; the caption)."""
    rows = []
    for m in res.methods.values():
        row = {"key": m.key, "method": m.name, "seeds": len(m.accuracy)}
        if res.store is None:
            row["file"] = paths.relative(m.path)
        else:
            row["runs"] = ", ".join(m.runs)
        rows.append(row)
    if res.store is None:
        return pd.DataFrame(rows), "Result files read."
    return pd.DataFrame(rows), f"Runs read from the {res.store}."
