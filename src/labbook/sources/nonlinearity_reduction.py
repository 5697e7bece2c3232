"""Nonlinearity-reduction run folders (seed 002's format) -> tidy tables, one row per usable run.

A runs folder holds one sub-folder per run:

    <run>/history.json   list of epoch objects: epoch, train_acc, val_acc (fractions), train_loss,
                         val_loss; optional "gating": list of per-layer objects
                         {layer, alpha_mean, alpha_median, alpha_lt_0.1, alpha_gt_0.9, alphas?}
                         (alphas: the per-neuron gate values, for distributions and threshold rules)
    <run>/meta.json      {"config": {"approach": "fixed" | "gating" | ..., "linear_ratio"?,
                                     "seed"?, "dataset"?},
                          "latency": {"mean_latency_s", "p50_latency_s", "p90_latency_s"},
                          "param_counts": {"trainable_params"}, "approx_linear_flops",
                          "memory_mb"}
    <run>/activation_stats.json   optional: {layer: {stat: number}}

The linear ratio (fraction of neurons made linear) of each run comes from, in order:
gating runs — the final epoch's gates (RATIO_RULES); then `config.linear_ratio`; then the run name
(the first "_"-separated token that is an integer 0-100, e.g. mnist_fixed_50_s0 -> 0.50). The rule
used is kept per run. A run that cannot be used (a file missing, malformed JSON, an empty history,
a bad field, no ratio) is listed in ``RunSet.skipped`` with the reason; the input is never modified.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, fields, validate_metrics_table

EPOCH_METRICS = ("train_acc", "val_acc", "train_loss", "val_loss")
ACCURACIES = ("train_acc", "val_acc")
GATE_STATS = ("alpha_mean", "alpha_median", "alpha_lt_0.1", "alpha_gt_0.9")
RATIO_RULES = {
    "mean_alpha": "1 − mean α over layers (final epoch)",
    "below_threshold": "share of neurons with α < threshold (final epoch)",
}
# Where each optional field is read from, as the report's notes name it when no run has it
JSON_LABELS = {
    "mean_latency_s": "latency.mean_latency_s",
    "approx_linear_flops": "approx_linear_flops",
    "alphas": "alphas",
    "activation": "activation_stats.json",
}
RUN_COLUMNS = [
    "run",
    "dataset",
    "approach",
    "seed",
    "linear_ratio",
    "ratio_rule",
    "epochs",
    "val_acc",
    "train_acc",
    "val_loss",
    "train_loss",
    "mean_latency_s",
    "p50_latency_s",
    "p90_latency_s",
    "params",
    "approx_linear_flops",
    "memory_mb",
]


@dataclass
class RunSet:
    runs: pd.DataFrame  # RUN_COLUMNS, one row per usable run, sorted by approach, ratio, run
    history: pd.DataFrame  # run, epoch, train_acc, val_acc, train_loss, val_loss
    gating: (
        pd.DataFrame
    )  # run, epoch, layer (str), alpha_mean, alpha_median, alpha_lt_0.1, alpha_gt_0.9
    alphas: pd.DataFrame  # run, layer, alpha: per-neuron gates of the last epoch that recorded them
    activation: pd.DataFrame  # run, layer, stat, value (activation_stats.json)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run folder, reason)
    configs: dict[str, dict] = field(default_factory=dict)  # run -> its other scalar config keys
    notes: list[str] = field(default_factory=list)  # what the report should warn about (duplicates)
    labels: dict[str, str] = field(default_factory=lambda: dict(JSON_LABELS))  # optional fields

    def metrics_table(self) -> pd.DataFrame:
        """The shared long metrics table: accuracy and loss (train/val) per run and epoch."""
        h = self.history.melt(id_vars=["run", "epoch"], var_name="name", value_name="value").dropna(
            subset=["value"]
        )
        h["subset"] = h["name"].str.split("_").str[0].map({"train": "train", "val": "val"})
        h["metric"] = h["name"].str.split("_").str[1].map({"acc": "accuracy", "loss": "loss"})
        runs = self.runs.set_index("run")
        h["method"] = h["run"].map(runs["approach"])
        h["seed"] = h["run"].map(runs["seed"])
        h["dataset"] = h["run"].map(runs["dataset"])
        h["step"] = np.nan
        return validate_metrics_table(
            h[METRICS_COLUMNS].reset_index(drop=True), "nonlinearity-reduction runs"
        )


def ratio_from_name(name: str) -> float | None:
    """The seed's rule: the first "_"-separated token that is an integer 0-100, as a fraction."""
    for token in name.split("_"):
        if token.isdigit() and 0 <= int(token) <= 100:
            return int(token) / 100.0
    return None


def gating_ratio(final_gating: list[dict], rule: str, threshold: float) -> float | None:
    """Effective linear ratio from the last epoch's per-layer gate stats, or None if the rule has no
    data.

    mean_alpha: 1 - mean over layers of alpha_mean (the seed's rule). below_threshold: share of
    all neurons with alpha < threshold, from per-neuron `alphas` (pooled over layers) or, without
    them, the mean over layers of `alpha_lt_<threshold>`."""
    if rule not in RATIO_RULES:
        raise ValueError(f"ratio rule must be one of {list(RATIO_RULES)}, got {rule!r}")
    if not final_gating:
        return None
    if rule == "mean_alpha":
        means = [g["alpha_mean"] for g in final_gating if "alpha_mean" in g]
        return 1.0 - float(np.mean(means)) if means else None
    if all("alphas" in g for g in final_gating):
        pooled = np.concatenate([np.asarray(g["alphas"], dtype=float) for g in final_gating])
        return float(np.mean(pooled < threshold))
    key = f"alpha_lt_{threshold:g}"
    shares = [g[key] for g in final_gating if key in g]
    return float(np.mean(shares)) if len(shares) == len(final_gating) else None


def check_epoch_value(metric: str, value: float, path, label: str) -> None:
    """The domain of an epoch metric (one of EPOCH_METRICS): accuracies are fractions in [0, 1],
    losses are not negative. InputError naming *path* and the field *label* otherwise."""
    if metric in ACCURACIES and not 0 <= value <= 1:
        raise InputError(
            f"{path}: field {label} = {value} is not a fraction in [0, 1]"
            + (" (percentages? divide by 100)" if value <= 100 else "")
        )
    if metric not in ACCURACIES and value < 0:
        raise InputError(
            f"{path}: field {label} = {value:g} is outside its domain (a loss, not negative)"
        )


def check_ratio(value: float, path, label: str) -> None:
    """A set linear ratio is a fraction in [0, 1]; InputError naming *path* and *label*."""
    if not 0 <= value <= 1:
        raise InputError(f"{path}: field {label} = {value} is not a fraction in [0, 1]")


def check_not_negative(value: float, path, label: str) -> None:
    """Latency, parameter count, FLOPs and memory are not negative; InputError naming *path* and
    *label* otherwise."""
    if value < 0:
        raise InputError(f"{path}: field {label} = {value:g} is outside its domain (not negative)")


def _epochs(history, path: Path) -> tuple[pd.DataFrame, list[dict]]:
    """history.json -> (per-epoch metrics, gating rows); InputError for a bad field."""
    if not isinstance(history, list):
        raise InputError(
            f"{path}: top level must be a list of epoch objects, got {type(history).__name__}"
        )
    if not history:
        raise InputError(f"{path}: the history is empty (no epochs)")
    rows, gates = [], []
    for i, ep in enumerate(history):
        if not isinstance(ep, dict):
            raise InputError(f"{path}: entry [{i}] must be an object")
        row = {"epoch": fields.number(ep, "epoch", path)}
        for metric in EPOCH_METRICS:
            try:
                v = fields.number(ep, metric, path, required=metric in ACCURACIES)
            except InputError as exc:
                raise InputError(f"{exc} (epoch entry [{i}])") from None
            if v is not None:
                check_epoch_value(metric, v, path, f"[{i}].{metric}")
            row[metric] = v
        rows.append(row)
        gating = ep.get("gating") or []
        if not isinstance(gating, list):
            raise InputError(f"{path}: field [{i}].gating must be a list of per-layer objects")
        for j, g in enumerate(gating):
            if not isinstance(g, dict) or "layer" not in g:
                raise InputError(
                    f"{path}: field [{i}].gating[{j}] must be an object with a 'layer'"
                )
            stat = {"epoch": row["epoch"], "layer": str(g["layer"])}
            for name in GATE_STATS:
                stat[name] = fields.number(g, name, path, required=name == "alpha_mean")
                if stat[name] is not None:
                    fields.check_range(
                        [stat[name]],
                        path,
                        f"[{i}].gating[{j}].{name}",
                        0,
                        1,
                        "a gate statistic in [0, 1]",
                    )
            if "alphas" in g:
                stat["alphas"] = fields.vector(g, "alphas", path, where=f"[{i}].gating[{j}].alphas")
                fields.check_range(
                    stat["alphas"],
                    path,
                    f"[{i}].gating[{j}].alphas",
                    0,
                    1,
                    "a gate value in [0, 1]",
                )
            gates.append(stat)
    df = pd.DataFrame(rows)
    if df["epoch"].duplicated().any():
        raise InputError(
            f"{path}: epoch {int(df.loc[df['epoch'].duplicated(), 'epoch'].iloc[0])} appears twice"
        )
    return df, gates


def _meta(meta, path: Path) -> dict:
    meta = fields.mapping(meta, path)
    config = meta.get("config") or {}
    if not isinstance(config, dict):
        raise InputError(f"{path}: field 'config' must be an object")
    latency = meta.get("latency") or {}
    if not isinstance(latency, dict):
        raise InputError(f"{path}: field 'latency' must be an object")
    counts = meta.get("param_counts") or {}
    if not isinstance(counts, dict):
        raise InputError(f"{path}: field 'param_counts' must be an object")
    ratio = fields.number(config, "linear_ratio", path, required=False)
    if ratio is not None:
        check_ratio(ratio, path, "'config.linear_ratio'")
    seed = config.get("seed")
    for group, key in (
        (latency, "mean_latency_s"),
        (latency, "p50_latency_s"),
        (latency, "p90_latency_s"),
        (counts, "trainable_params"),
        (meta, "approx_linear_flops"),
        (meta, "memory_mb"),
    ):
        value = fields.number(group, key, path, required=False)
        if value is not None:
            check_not_negative(value, path, repr(key))
    known = ("approach", "dataset", "seed", "linear_ratio")
    extra = {
        k: v for k, v in config.items() if k not in known and isinstance(v, (str, int, float, bool))
    }
    return {
        "extra": extra,
        "approach": fields.text(config, "approach", path, default="unknown") or "unknown",
        "dataset": fields.text(config, "dataset", path),
        "config_ratio": ratio,
        "seed": None if seed is None else str(seed),
        "mean_latency_s": fields.number(latency, "mean_latency_s", path, required=False),
        "p50_latency_s": fields.number(latency, "p50_latency_s", path, required=False),
        "p90_latency_s": fields.number(latency, "p90_latency_s", path, required=False),
        "params": fields.number(counts, "trainable_params", path, required=False),
        "approx_linear_flops": fields.number(meta, "approx_linear_flops", path, required=False),
        "memory_mb": fields.number(meta, "memory_mb", path, required=False),
    }


def _activation(path: Path, run: str) -> list[tuple]:
    doc = fields.mapping(inputs.read_json(path), path)
    rows = []
    for layer, st in doc.items():
        if not isinstance(st, dict):
            raise InputError(f"{path}: field {layer!r} must be an object stat -> number")
        rows += [(run, str(layer), stat, fields.number(st, stat, path)) for stat in st]
    return rows


@dataclass
class RunParts:
    """One usable run's checked fields, whatever the source (run folder or tracker run).

    history: one row per epoch, columns epoch (float) and EPOCH_METRICS (None where not
    recorded); gates: one dict per epoch and layer {epoch, layer (str), GATE_STATS...,
    alphas?: array(neurons)};
    meta: as _meta returns it (approach, dataset, seed, config_ratio, latency, params, FLOPs,
    memory, extra: the other scalar config keys); activation: (run, layer, stat, value) rows."""

    name: str
    history: pd.DataFrame
    gates: list[dict]
    meta: dict
    activation: list[tuple] = field(default_factory=list)


def run_ratio(part: RunParts, ratio_rule: str, alpha_threshold: float):
    """(linear ratio, the rule that gave it) of one run, or (None, reason) when no rule gives one:
    gating runs from their final gates (RATIO_RULES), then the set ratio, then the run name
    (unless meta["ratio_from_name"] is False: a tracker store read with `ratio_from: null`)."""
    meta, name = part.meta, part.name
    last_epoch = part.history["epoch"].max()
    final_gates = [g for g in part.gates if g["epoch"] == last_epoch]
    ratio, rule = None, None
    if meta["approach"] == "gating":
        ratio = gating_ratio(final_gates, ratio_rule, alpha_threshold)
        rule = (
            (
                f"gating: share α < {alpha_threshold:g}"
                if ratio_rule == "below_threshold"
                else "gating: 1 − mean α"
            )
            if ratio is not None
            else None
        )
    if ratio is None and meta["config_ratio"] is not None:
        ratio, rule = meta["config_ratio"], "config"
    if ratio is None and meta.get("ratio_from_name", True) and ratio_from_name(name) is not None:
        ratio, rule = ratio_from_name(name), "run name"
    if ratio is None:
        return None, "no linear ratio: no config.linear_ratio, no 0-100 token in the name" + (
            ", no final gating stats for the rule" if meta["approach"] == "gating" else ""
        )
    return ratio, rule


def _run_row(part: RunParts, ratio: float, rule: str, default_dataset: str) -> dict:
    meta, hist = part.meta, part.history
    final = hist.sort_values("epoch").iloc[-1]
    return {
        "run": part.name,
        "dataset": meta["dataset"] or default_dataset,
        "approach": meta["approach"],
        "seed": meta["seed"],
        "linear_ratio": ratio,
        "ratio_rule": rule,
        "epochs": len(hist),
        **{m: final[m] for m in EPOCH_METRICS},
        **{
            k: meta[k]
            for k in (
                "mean_latency_s",
                "p50_latency_s",
                "p90_latency_s",
                "params",
                "approx_linear_flops",
                "memory_mb",
            )
        },
    }


def _final_alphas(part: RunParts) -> list[pd.DataFrame]:
    """The per-neuron gates of the last epoch that recorded them (run, layer, alpha)."""
    with_alphas = [g for g in part.gates if "alphas" in g]
    if not with_alphas:
        return []
    last = max(g["epoch"] for g in with_alphas)
    return [
        pd.DataFrame({"run": part.name, "layer": g["layer"], "alpha": g["alphas"]})
        for g in with_alphas
        if g["epoch"] == last
    ]


def duplicate_notes(table: pd.DataFrame) -> list[str]:
    """A warning for each setting (dataset, approach, set ratio, seed) held by several runs."""
    notes = []
    fixed = table[~table["ratio_rule"].str.startswith("gating") & table["seed"].notna()]
    for (dataset, approach, ratio, seed), g in fixed.groupby(
        ["dataset", "approach", "linear_ratio", "seed"]
    ):
        if len(g) > 1:
            notes.append(
                f"Runs {', '.join(g['run'])} share dataset {dataset}, approach {approach}, linear "
                f"ratio {ratio:g} and seed {seed}: duplicates of one setting; all are pooled as "
                "separate seeds."
            )
    return notes


def assemble(
    parts: list[RunParts],
    skipped: list[tuple[str, str]],
    ratio_rule: str,
    alpha_threshold: float,
    default_dataset: str,
    where: str,
) -> RunSet:
    """The RunSet of *parts* (in reading order): each run's linear ratio (run_ratio; a run without
    one joins *skipped*, which ends sorted by run name), the run table sorted by approach, ratio
    and run, and the notes on duplicate settings. *default_dataset*: the dataset of runs that name
    none; *where*: the source, for the error when no usable run is left."""
    runs, histories, gatings, alphas, activation, configs = [], [], [], [], [], {}
    for part in parts:
        ratio, rule = run_ratio(part, ratio_rule, alpha_threshold)
        if ratio is None:
            skipped.append((part.name, rule))
            continue
        runs.append(_run_row(part, ratio, rule, default_dataset))
        configs[part.name] = part.meta["extra"]
        histories.append(part.history.assign(run=part.name))
        gatings += [
            {"run": part.name, **{k: v for k, v in g.items() if k != "alphas"}} for g in part.gates
        ]
        alphas += _final_alphas(part)
        activation += part.activation
    skipped.sort(key=lambda item: item[0])  # in run-name order, as the runs were read
    if not runs:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "the folder is empty"
        raise InputError(f"{where}: no usable run ({reasons})")
    table = pd.DataFrame(runs, columns=RUN_COLUMNS).sort_values(
        ["approach", "linear_ratio", "run"], kind="stable"
    )
    history = pd.concat(histories, ignore_index=True)[["run", "epoch", *EPOCH_METRICS]]
    return RunSet(
        runs=table.reset_index(drop=True),
        history=history,
        gating=pd.DataFrame(gatings, columns=["run", "epoch", "layer", *GATE_STATS]),
        alphas=pd.concat(alphas, ignore_index=True)
        if alphas
        else pd.DataFrame(columns=["run", "layer", "alpha"]),
        activation=pd.DataFrame(activation, columns=["run", "layer", "stat", "value"]),
        skipped=skipped,
        configs=configs,
        notes=duplicate_notes(table),
    )


def _read_folder(folder: Path) -> RunParts:
    """One run folder's files, checked; InputError naming the file and the field."""
    name = folder.name
    hist, gates = _epochs(inputs.read_json(folder / "history.json"), folder / "history.json")
    meta = _meta(inputs.read_json(folder / "meta.json"), folder / "meta.json")
    act = (
        _activation(folder / "activation_stats.json", name)
        if (folder / "activation_stats.json").is_file()
        else []
    )
    return RunParts(name, hist, gates, meta, act)


def load_runs(
    runs_dir: Path, ratio_rule: str = "mean_alpha", alpha_threshold: float = 0.5
) -> RunSet:
    """Every run folder of *runs_dir* (sorted by name); unusable runs go to ``skipped`` with the
    reason.

    InputError when the folder is missing or no usable run is left."""
    if ratio_rule not in RATIO_RULES:
        raise ValueError(f"ratio rule must be one of {list(RATIO_RULES)}, got {ratio_rule!r}")
    runs_dir = Path(runs_dir).resolve()
    if not runs_dir.is_dir():
        raise inputs.not_found(runs_dir, "runs folder")
    parts, skipped = [], []
    for folder in sorted(p for p in runs_dir.iterdir() if not p.name.startswith(".")):
        name = folder.name
        if not folder.is_dir():
            skipped.append((name, "not a run folder (a file)"))
            continue
        missing = [f for f in ("history.json", "meta.json") if not (folder / f).is_file()]
        if missing:
            skipped.append((name, f"{' and '.join(missing)} missing"))
            continue
        try:
            parts.append(_read_folder(folder))
        except InputError as exc:
            skipped.append((name, str(exc).replace(str(folder) + "/", "")))
    return assemble(parts, skipped, ratio_rule, alpha_threshold, runs_dir.name, str(runs_dir))
