"""Adaptive sparse training metrics files (seed 003) -> one tidy per-epoch table per run.

A metrics file is the trainer's metrics dumped as JSON, one per run:

    {
      "run": "vit-gated",                           optional display name (default: file stem)
      "kind": "gated",                              gated | baseline | sample_by_sample
                                                    (default gated)
      "config": {"target_activation_rate": 0.06,    required for gated runs (fraction, 0-1)
                 "activation_threshold": 0.4, "energy_pressure": 0.2, "lr": 1e-4, "epochs": 10,
                 "samples_per_epoch": 50000},       all optional but the target
      "metrics": {"train_loss": [...], "val_accuracy": [...], "activation_rates": [...],
                  "energy_savings": [...], "epoch_times": [...], "thresholds": [...]}
    }

Every metrics list has one value per epoch. Rates and savings are fractions in [0, 1]; accuracy is
in %; epoch times in seconds. Gated runs need every metric but `thresholds` (optional); baseline and
sample-by-sample timing runs need only `epoch_times`. The metric names are the seed's defaults and
can be renamed with *names* (our name -> the file's name).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs
from labbook.inputs import InputError
from labbook.sources import fields

DEFAULT_NAMES = {
    "train_loss": "train_loss",
    "val_accuracy": "val_accuracy",
    "activation_rate": "activation_rates",
    "energy_savings": "energy_savings",
    "epoch_time": "epoch_times",
    "threshold": "thresholds",
}
GATED_REQUIRED = ("train_loss", "val_accuracy", "activation_rate", "energy_savings", "epoch_time")
FRACTIONS = ("activation_rate", "energy_savings")
KINDS = ("gated", "baseline", "sample_by_sample")
CONFIG_FIELDS = (
    "target_activation_rate",
    "activation_threshold",
    "energy_pressure",
    "lr",
    "epochs",
    "samples_per_epoch",
)


@dataclass
class Run:
    name: str
    kind: str
    config: dict
    epochs: pd.DataFrame  # epoch (1-based) + one column per metric present
    path: Path | str  # the file; for a tracker run "<store> (run '<name>')"

    @property
    def target(self) -> float | None:
        return self.config.get("target_activation_rate")


def _check_domains(columns: dict, names: dict, path: Path | str, section: str) -> None:
    """Values outside their domain: accuracy in % (0-100, and not fractions), loss and thresholds
    not negative, epoch times positive."""

    def field(ours):
        return f"'{section}.{names[ours]}'"

    if "val_accuracy" in columns:
        acc = np.asarray(columns["val_accuracy"], dtype=float)
        bad = np.flatnonzero((acc < 0) | (acc > 100))
        if bad.size:
            raise InputError(
                f"{path}: field {field('val_accuracy')}[{bad[0]}] = {acc[bad[0]]:g} is not a "
                "percentage in [0, 100]"
            )
        if acc.max() <= 1.0:
            raise InputError(
                f"{path}: field {field('val_accuracy')} has every value in [0, 1] (largest "
                f"{acc.max():g}): it looks like fractions, but this format's accuracy is in % "
                "(multiply by 100)"
            )
    for ours, ok, what in (
        ("train_loss", lambda v: v >= 0, "negative"),
        ("epoch_time", lambda v: v > 0, "not positive"),
        ("threshold", np.isfinite, "not finite"),
    ):
        if ours in columns:
            v = np.asarray(columns[ours], dtype=float)
            bad = np.flatnonzero(~ok(v))
            if bad.size:
                raise InputError(f"{path}: field {field(ours)}[{bad[0]}] = {v[bad[0]]:g} is {what}")


def load_run(path: Path, names: dict[str, str] | None = None, kind: str | None = None) -> Run:
    """Load and validate one metrics file; *kind* (if given) must match the file's `kind`."""
    doc = fields.mapping(inputs.read_json(path), path)
    return run_from_doc(doc, Path(path), names, kind, default_name=Path(path).stem)


def run_from_doc(
    doc: dict,
    path: Path | str,
    names: dict[str, str] | None = None,
    kind: str | None = None,
    default_name: str = "",
    section: str = "metrics",
    epochs: np.ndarray | None = None,
) -> Run:
    """Validate one run's document (a metrics file's content, or a tracker run rebuilt in that
    shape) into a Run; errors start with *path* (the file, or the store and the run) and name
    the field (*section*.<name> for a per-epoch series). *kind* (if given) must match the
    document's. *epochs*: the epoch numbers of the per-epoch values, array(epochs) of int
    (default 1, 2, ...; the caller keeps its length equal to the lists')."""
    names = {**DEFAULT_NAMES, **(names or {})}
    file_kind = fields.text(doc, "kind", path, default="gated") or "gated"
    if file_kind not in KINDS:
        raise InputError(f"{path}: field 'kind' must be one of {KINDS}, got {file_kind!r}")
    if kind is not None and file_kind != kind:
        raise InputError(
            f"{path}: field 'kind' is {file_kind!r}, but this file is listed as the {kind} run"
        )
    config = doc.get("config", {})
    if not isinstance(config, dict):
        raise InputError(f"{path}: field 'config' must be an object")
    metrics = doc.get(section)
    if not isinstance(metrics, dict):
        raise InputError(f"{path}: field '{section}' must be an object of per-epoch lists")
    required = GATED_REQUIRED if file_kind == "gated" else ("epoch_time",)
    columns = fields.per_epoch_vectors(
        metrics, names, path, required=required, fractions=FRACTIONS, where=section
    )
    _check_domains(columns, names, path, section)
    cfg = {}
    for key in CONFIG_FIELDS:
        v = fields.number(
            config, key, path, required=key == "target_activation_rate" and file_kind == "gated"
        )
        if v is not None:
            cfg[key] = v
    if "target_activation_rate" in cfg and not 0 < cfg["target_activation_rate"] <= 1:
        raise InputError(
            f"{path}: field 'config.target_activation_rate' must be a fraction in (0, 1]"
        )
    df = pd.DataFrame(columns)
    numbers = np.arange(1, len(df) + 1) if epochs is None else np.asarray(epochs, dtype=np.int64)
    df.insert(0, "epoch", numbers)
    name = fields.text(doc, "run", path, default=default_name) or default_name
    return Run(name=name, kind=file_kind, config=cfg, epochs=df, path=path)


def check_names(runs: list[Run]) -> None:
    """The runs of one report need distinct names (they label and colour every figure)."""
    seen = {}
    for r in runs:
        if r.name in seen:
            raise InputError(
                f"{r.path}: field 'run' {r.name!r} is also the name of {seen[r.name].path}: give "
                "each run its own name"
            )
        seen[r.name] = r


@dataclass
class Runs:
    """The runs of one report: the gated run, the optional timing runs, and the warnings met while
    reading them (to show in the report)."""

    gated: Run
    baseline: Run | None = None
    sample_by_sample: Run | None = None
    warnings: list[str] = field(default_factory=list)

    def all(self) -> list[Run]:
        """The runs given, gated first."""
        return [r for r in (self.gated, self.baseline, self.sample_by_sample) if r is not None]


def load_files(
    run_file: Path,
    baseline_file: Path | None = None,
    sample_by_sample_file: Path | None = None,
    names: dict[str, str] | None = None,
) -> Runs:
    """The gated run and the optional timing runs from their metrics files, each file's `kind`
    checked against its role and the names checked distinct."""
    runs = Runs(
        load_run(run_file, names, kind="gated"),
        load_run(baseline_file, names, kind="baseline") if baseline_file else None,
        (
            load_run(sample_by_sample_file, names, kind="sample_by_sample")
            if sample_by_sample_file
            else None
        ),
    )
    check_names(runs.all())
    return runs
