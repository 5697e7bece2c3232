"""Nonlinearity-reduction runs read from an experiment tracker (TensorBoard, MLflow, Aim), and the
choice between a tracker store and the run folders (`load_any`).

Each tracker run is one run folder. Where its fields are found is set by a `Mapping` (the
notebook's mapping parameters; defaults: the seed's names):

- run attributes (found under any kind: TensorBoard ``hparam:``, MLflow ``param:``/``tag:``, Aim
  params; or ``name:<regex>`` over the run name): the approach (`approach_from`), dataset
  (`dataset_from`; None: the store's name, as a runs folder's name for the JSON files), seed
  (`seed_from`; None: no seeds) and set linear ratio (`ratio_from`: a fraction; a store without
  that attribute takes every ratio from the gates or the run name, as the JSON reader does). The
  other attributes are the run's config (its gating runs are pooled only when those agree), but
  for the summary fields' names and the trackers' own (mlflow.*, aim.*, wandb.*) and `simulated`.
- per-epoch scalars, the step being the epoch: `val_acc_key` gives the epochs; `train_acc_key`
  must be logged at each of them; the losses where logged.
- per-layer gate statistics, one key per layer and epoch (``gating/{layer}/alpha_mean``, ...), and
  the final per-neuron gates (``gating/{layer}/alphas/{neuron}``, read at the last step that logged
  them); activation statistics (``activation/{layer}/{stat}``, the last value of each key).
- latency, trainable parameters, approximate linear FLOPs and memory: a run attribute of that
  name, else the last value of the scalar key of that name.

The numbers are checked by the rules the run folders are checked by (sources.nonlinearity_reduction:
accuracies are fractions, losses, latency, FLOPs, parameters and memory not negative, gates in
[0, 1]); a run that breaks one is left out with the reason, naming the key and the step. Runs that
are not finished (running, failed, killed: their last epoch is not a final result) and runs lacking
the approach, dataset or seed attribute are left out with a warning naming them; when no run has
the attribute at all, or no run logs `val_acc_key`/`train_acc_key`, it is an InputError listing
what the store holds and the closest names. An optional key or attribute that no run has is a
warning with the same listing (set its parameter to None when the runs do not log it; a store
without gates gets one, for alpha_mean_key), and the report section it feeds says it is left
out. Runs sharing a name are told apart by their id: "name (id)".
"""

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import paths
from labbook.inputs import InputError
from labbook.sources import fields, trackers
from labbook.sources import nonlinearity_reduction as nlr
from labbook.sources.trackers import TrackerData, base, mapping, trained

EXAMPLE_RUNS = "examples/generated/nonlinearity_reduction/mnist"  # with neither input set
LEFT_OUT = ("running", "failed", "killed")  # statuses whose runs are left out ("unknown": kept)
OWN = base.TRACKER_OWN  # what a tracker keeps for itself (run name, experiment)
NOT_CONFIG = (
    *OWN,
    trained.PREFIX,
)  # nor what a real run says it trained (sources.trackers.trained)
SUMMARY_FIELDS = {  # RunSet column -> Mapping attribute naming its attribute or scalar
    "mean_latency_s": "mean_latency_from",
    "p50_latency_s": "p50_latency_from",
    "p90_latency_s": "p90_latency_from",
    "params": "params_from",
    "approx_linear_flops": "flops_from",
    "memory_mb": "memory_from",
}
GATE_FIELDS = {  # gate statistic -> Mapping attribute naming its key template
    "alpha_mean": "alpha_mean_key",
    "alpha_median": "alpha_median_key",
    "alpha_lt_0.1": "alpha_lt_key",
    "alpha_gt_0.9": "alpha_gt_key",
}
EPOCH_FIELDS = {m: f"{m}_key" for m in nlr.EPOCH_METRICS}
PLACEHOLDERS = {  # Mapping attribute -> the placeholders its template must hold
    **{k: ("layer",) for k in GATE_FIELDS.values()},
    "alphas_key": ("layer", "neuron"),
    "activation_key": ("layer", "stat"),
    **{k: () for k in EPOCH_FIELDS.values()},
}


@dataclass(frozen=True)
class Mapping:
    """Where each field of a run is in a tracker store. Attribute specs as in
    trackers.mapping.attribute; key templates as in trackers.mapping.series; None: not logged."""

    approach_from: str = "approach"
    dataset_from: str | None = "dataset"
    seed_from: str | None = "seed"
    ratio_from: str | None = "linear_ratio"
    train_acc_key: str = "train_acc"
    val_acc_key: str = "val_acc"
    train_loss_key: str | None = "train_loss"
    val_loss_key: str | None = "val_loss"
    alpha_mean_key: str | None = "gating/{layer}/alpha_mean"
    alpha_median_key: str | None = "gating/{layer}/alpha_median"
    alpha_lt_key: str | None = "gating/{layer}/alpha_lt_0.1"
    alpha_gt_key: str | None = "gating/{layer}/alpha_gt_0.9"
    alphas_key: str | None = "gating/{layer}/alphas/{neuron}"
    activation_key: str | None = "activation/{layer}/{stat}"
    mean_latency_from: str | None = "mean_latency_s"
    p50_latency_from: str | None = "p50_latency_s"
    p90_latency_from: str | None = "p90_latency_s"
    params_from: str | None = "trainable_params"
    flops_from: str | None = "approx_linear_flops"
    memory_from: str | None = "memory_mb"


SEED_NAMES = Mapping()  # every field under the seed's name


def check_templates(m: Mapping) -> None:
    """Every key template holds the placeholders its field needs (and no other); InputError
    naming the parameter otherwise."""
    for parameter, needed in PLACEHOLDERS.items():
        template = getattr(m, parameter)
        if template is None:
            continue
        found = re.findall(r"\{(\w+)\}", template)
        if sorted(found) != sorted(needed):
            want = ", ".join(f"{{{n}}}" for n in needed) or "no placeholder"
            raise InputError(f"{parameter}: {template!r} must hold {want}")


def natural_key(text: str) -> list:
    """Sort key that orders embedded numbers by value: fc2 before fc10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def plain(value):
    """An attribute value as a JSON config would hold it: text that reads as a number becomes
    that number (MLflow keeps params as text), a whole float an int (TensorBoard keeps every
    number as a float: a seed 0 reads back 0.0)."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return plain(kind(value))
            except ValueError:
                pass
        return value
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def given(value) -> bool:
    """False for a missing attribute value (None or NaN)."""
    return value is not None and not (isinstance(value, float) and value != value)


def display_names(runs: pd.DataFrame, notes: list[str]) -> dict[str, str]:
    """{run id: the name the report uses}: the run's name, or "name (id)" for names several runs
    share (a note names them)."""
    counts = runs["name"].value_counts()
    shared = sorted(str(n) for n in counts[counts > 1].index)
    if shared:
        notes.append(
            f"Several runs share the name(s) {', '.join(f'`{n}`' for n in shared)}: each is "
            "shown as name (run id)."
        )
    return {
        r: f"{n} ({r})" if str(n) in shared else str(n) for r, n in zip(runs["run"], runs["name"])
    }


def attribute_column(runs: pd.DataFrame, spec: str) -> str | None:
    """The attribute column *spec* names ("param:lr" exactly, or "lr" under the first kind that
    has it), or None (also for "name" specs)."""
    names = mapping.attribute_names(runs)
    if spec == "name" or spec.startswith("name:"):
        return None
    if ":" in spec:
        return spec if spec in names else None
    return next((f"{k}:{spec}" for k in trackers.ATTRIBUTE_KINDS if f"{k}:{spec}" in names), None)


def _attribute(data: TrackerData, spec: str | None, parameter: str, required: bool) -> pd.Series:
    """{run id: value or None} of *spec*. A *required* spec that no run has is an InputError
    listing the attributes and the closest; an optional attribute no run has (the set ratio of
    runs that take it from their name) is None for every run, as is a spec of None."""
    named = spec is not None and (spec == "name" or spec.startswith("name:"))
    if spec is None or not (required or named or attribute_column(data.runs, spec)):
        return pd.Series([None] * len(data.runs), index=data.runs["run"], dtype=object)
    values = mapping.attribute(data.runs, spec, parameter, data.location)
    if required and values.isna().all():
        raise InputError(f"{data.location}: no run has a value for `{spec}` (set by {parameter})")
    return values


def _absent(m: Mapping, parameter: str, data: TrackerData, what: str) -> str:
    """The note for an optional key template that no run logs."""
    keys = data.scalars["key"].unique()
    error = mapping.missing_key(getattr(m, parameter), parameter, data.location, keys)
    return f"{error} (None when the runs do not log it): {what}."


def _series(data: TrackerData, m: Mapping, parameter: str, notes: list[str], what: str):
    """The scalars of the template *parameter* names (mapping.series), grouped by run id: {run id:
    frame}. The accuracies are required; an optional template that matches nothing adds a note."""
    template = getattr(m, parameter)
    if template is None:
        return {}
    required = parameter in ("train_acc_key", "val_acc_key")
    frame = mapping.series(data.scalars, template, parameter, data.location, required)
    if frame.empty:
        notes.append(_absent(m, parameter, data, what))
        return {}
    return {str(r): g for r, g in frame.groupby("run", observed=True, sort=False)}


def _summary(data: TrackerData, spec: str | None) -> tuple[dict, bool]:
    """({run id: value}, found) of a summary field: the run attribute *spec*, else the last value
    of the scalar key *spec*; ({}, False) when the store has neither ({}, True for None)."""
    if spec is None:
        return {}, True
    column = attribute_column(data.runs, spec)
    if column is not None:
        values = data.runs.set_index("run")[column]
        return {str(r): v for r, v in values.items() if given(v)}, True
    rows = data.scalars[data.scalars["key"] == spec]
    if rows.empty:
        return {}, False
    last = rows.sort_values("step", kind="stable").groupby("run", observed=True).last()
    return {str(r): v for r, v in last["value"].items()}, True


def _listing(names: list[str], shown: int = 6) -> str:
    more = f", … ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(f"`{n}`" for n in names[:shown]) + more if names else "none"


def absent_summaries(data: TrackerData, missing: dict[str, str]) -> str:
    """The note for summary fields (*missing*: parameter -> spec) that are neither a run attribute
    nor a scalar key of the store: what the runs have and log, and the closest names."""
    columns = mapping.attribute_names(data.runs)
    bare = {c.split(":", 1)[1]: c for c in columns}
    keys = sorted(str(k) for k in data.scalars["key"].unique())
    near = []
    for spec in missing.values():
        for name in difflib.get_close_matches(spec, [*bare, *keys], n=2, cutoff=0.5):
            near.append(bare.get(name, name))
    hint = f" (closest: {', '.join(f'`{n}`' for n in dict.fromkeys(near))})" if near else ""
    wanted = ", ".join(f"`{spec}` ({parameter})" for parameter, spec in missing.items())
    return (
        f"{data.location}: no run attribute or scalar {wanted}; the runs have attributes "
        f"{_listing(sorted(columns))} and log {_listing(keys)}{hint}: set the parameter (None "
        "when the runs do not record it); left empty."
    )


def _values(frame: pd.DataFrame | None) -> dict[int, float]:
    return {} if frame is None else dict(zip(frame["step"].astype(int), frame["value"]))


def history(name: str, series: dict[str, pd.DataFrame], m: Mapping) -> pd.DataFrame:
    """One run's epochs (the steps of `val_acc_key`), as the run folders' history: epoch (float)
    and EPOCH_METRICS (None where not logged), checked by nlr.check_epoch_value. InputError
    naming the run, the key and the step otherwise."""
    by = {metric: _values(series.get(metric)) for metric in nlr.EPOCH_METRICS}
    if not by["val_acc"]:
        raise InputError(f"{name}: logs no `{m.val_acc_key}` (val_acc_key)")
    steps = sorted(by["val_acc"])
    lacking = [s for s in steps if s not in by["train_acc"]]
    if lacking:
        raise InputError(
            f"{name}: `{m.train_acc_key}` is not logged at step(s) "
            f"{', '.join(map(str, lacking[:5]))} where `{m.val_acc_key}` is"
        )
    rows = []
    for step in steps:
        row = {"epoch": float(step)}
        for metric in nlr.EPOCH_METRICS:
            value = by[metric].get(step)
            if value is not None:
                label = f"`{getattr(m, EPOCH_FIELDS[metric])}` at step {step}"
                nlr.check_epoch_value(metric, value, name, label)
            row[metric] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _key(template: str, **parts) -> str:
    for k, v in parts.items():
        template = template.replace(f"{{{k}}}", str(v))
    return template


def check_gate_values(name: str, frame: pd.DataFrame, template: str, what: str) -> None:
    """Every value of *frame* (a run's rows of the key *template*: step, value, placeholders) in
    [0, 1]; else the InputError of fields.check_range naming the run, the key and the step."""
    bad = frame[(frame["value"] < 0) | (frame["value"] > 1)]
    if not bad.empty:
        row = bad.iloc[0]
        names = re.findall(r"\{(\w+)\}", template)
        label = f"`{_key(template, **{n: row[n] for n in names})}` at step {int(row['step'])}"
        fields.check_range(float(row["value"]), name, label, 0, 1, what)


def gates(name: str, stats: dict[str, pd.DataFrame], alphas, m: Mapping) -> list[dict]:
    """One run's gate statistics per epoch (step) and layer, as the run folders' gating entries
    {epoch, layer, GATE_STATS..., alphas?}; per-neuron gates (*alphas*: the run's rows of
    `alphas_key`, in neuron order) join their layer's entry at their step. Values outside [0, 1],
    or values without `alpha_mean_key` beside them, are an InputError naming run, key and step."""
    table = {}
    for stat, frame in stats.items():
        check_gate_values(name, frame, getattr(m, GATE_FIELDS[stat]), "a gate statistic in [0, 1]")
        for step, layer, value in zip(frame["step"], frame["layer"], frame["value"]):
            table.setdefault((int(step), str(layer)), {})[stat] = float(value)
    per_neuron = {}
    if alphas is not None:
        check_gate_values(name, alphas, m.alphas_key, "a gate value in [0, 1]")
        points = zip(alphas["step"], alphas["layer"], alphas["neuron"], alphas["value"])
        for step, layer, _, value in sorted(
            points, key=lambda p: (int(p[0]), natural_key(p[1]), natural_key(p[2]))
        ):
            per_neuron.setdefault((int(step), str(layer)), []).append(float(value))
    out = []
    keys = sorted(set(table) | set(per_neuron), key=lambda k: (k[0], natural_key(k[1])))
    for step, layer in keys:
        found = table.get((step, layer), {})
        if "alpha_mean" not in found:
            raise InputError(
                f"{name}: layer {layer} has gate values at step {step} but no "
                f"`{_key(m.alpha_mean_key or 'alpha_mean', layer=layer)}` (alpha_mean_key)"
            )
        entry = {"epoch": float(step), "layer": layer}
        entry.update({stat: found.get(stat) for stat in nlr.GATE_STATS})
        if (step, layer) in per_neuron:
            entry["alphas"] = np.asarray(per_neuron[(step, layer)])
        out.append(entry)
    return out


def activation(name: str, frame: pd.DataFrame | None) -> list[tuple]:
    """(run, layer, stat, value) rows: the last value of each key, layers in natural order."""
    if frame is None:
        return []
    last = frame.sort_values("step", kind="stable").groupby(["layer", "stat"], sort=False).last()
    rows = [(name, str(layer), str(stat), float(v)) for (layer, stat), v in last["value"].items()]
    return sorted(rows, key=lambda r: (natural_key(r[1]), r[2]))


def meta(name: str, attrs: dict, summary: dict, extra: dict) -> dict:
    """A run's meta fields as nlr._meta returns them, from its attribute values (*attrs*:
    approach, dataset, seed, ratio, each (spec, value or None)) and summary values (*summary*:
    field -> (label, value or None)); checked by the run folders' rules."""
    out = {"extra": extra}
    spec, value = attrs["approach"]
    out["approach"] = str(plain(value))
    out["dataset"] = str(plain(attrs["dataset"][1])) if given(attrs["dataset"][1]) else None
    out["seed"] = str(plain(attrs["seed"][1])) if given(attrs["seed"][1]) else None
    spec, value = attrs["ratio"]
    out["config_ratio"] = None
    # the seed's name rule (a 0-100 token in the run name) only while ratio_from names an
    # attribute: `ratio_from: null` says the store sets no ratio, and Lightning's version_16 is
    # no 16 % linear run
    out["ratio_from_name"] = spec is not None
    if given(value):
        out["config_ratio"] = fields.number({spec: plain(value)}, spec, name)
        nlr.check_ratio(out["config_ratio"], name, repr(spec))
    for column, (label, value) in summary.items():
        number = fields.number({label: plain(value)}, label, name) if given(value) else None
        if number is not None:
            nlr.check_not_negative(number, name, repr(label))
        out[column] = number
    return out


def _config(row: pd.Series, used: set[str]) -> dict:
    """A run's other attributes (bare name -> plain value), as a JSON config's extra keys: not
    those mapped to a field, nor `simulated`, nor the trackers' own (OWN: mlflow.*, aim.*,
    wandb.*), nor the trained.* description of a real run."""
    out = {}
    for column, value in row.items():
        kind, _, key = str(column).partition(":")
        if not key or column in used or key == trackers.SIMULATED or key.startswith(NOT_CONFIG):
            continue
        if not given(value) or key in out:
            continue
        if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
            out[key] = plain(value)
    return out


def _default_dataset(location: str) -> str:
    return Path(str(location).rstrip("/")).stem or str(location)


def from_tracker(
    data: TrackerData,
    m: Mapping = SEED_NAMES,
    ratio_rule: str = "mean_alpha",
    alpha_threshold: float = 0.5,
) -> nlr.RunSet:
    """The RunSet of a tracker store: what nlr.load_runs returns for the same numbers in run
    folders (one tracker run = one run folder; see the module docstring for the mapping).
    Reader warnings and mapping notes come first in ``notes``; left-out runs are in ``skipped``.
    InputError when a required mapping finds nothing or no usable run is left."""
    if ratio_rule not in nlr.RATIO_RULES:
        raise ValueError(f"ratio rule must be one of {list(nlr.RATIO_RULES)}, got {ratio_rule!r}")
    check_templates(m)
    if data.runs.empty:
        raise InputError(f"{data.location}: the store holds no runs")
    notes = list(data.warnings)
    names = display_names(data.runs, notes)
    specs = {
        "approach": (m.approach_from, "approach_from", True),
        "dataset": (m.dataset_from, "dataset_from", m.dataset_from is not None),
        "seed": (m.seed_from, "seed_from", m.seed_from is not None),
        "ratio": (m.ratio_from, "ratio_from", False),
    }
    attrs = {k: _attribute(data, s, p, req) for k, (s, p, req) in specs.items()}
    epochs = {
        f: _series(data, m, p, notes, "the column is left empty") for f, p in EPOCH_FIELDS.items()
    }
    stats = {"alpha_mean": _series(data, m, "alpha_mean_key", notes, "no gate statistics")}
    gate_notes = notes if stats["alpha_mean"] or m.alpha_mean_key is None else []  # said once
    for f, p in list(GATE_FIELDS.items())[1:]:
        stats[f] = _series(data, m, p, gate_notes, "the gate statistic is left empty")
    alphas = _series(data, m, "alphas_key", gate_notes, "no per-neuron gate distributions")
    acts = _series(data, m, "activation_key", notes, "no activation statistics")
    summary = {f: _summary(data, getattr(m, p)) for f, p in SUMMARY_FIELDS.items()}
    labels = {f: getattr(m, p) or f"{p}: None" for f, p in SUMMARY_FIELDS.items()}
    missing = {p: getattr(m, p) for f, p in SUMMARY_FIELDS.items() if not summary[f][1]}
    if missing:
        notes.append(absent_summaries(data, missing))
    used = {attribute_column(data.runs, s) for s, _, _ in specs.values() if s is not None}
    for parameter in SUMMARY_FIELDS.values():  # the mapped names and the seed's: never config
        for spec in {getattr(m, parameter), getattr(SEED_NAMES, parameter)} - {None}:
            used.add(attribute_column(data.runs, spec))
    rows = data.runs.set_index("run")
    parts, skipped = [], []
    for run, name in sorted(names.items(), key=lambda item: item[1]):
        status = rows.at[run, "status"]
        if status in LEFT_OUT:
            skipped.append((name, f"status {status}: not finished, its last epoch is no result"))
            continue
        lacking = [
            f"`{s}` ({p})" for k, (s, p, req) in specs.items() if req and not given(attrs[k][run])
        ]
        if lacking:
            skipped.append((name, f"no {' and no '.join(lacking)} attribute"))
            continue
        try:
            parts.append(
                nlr.RunParts(
                    name,
                    history(name, {f: s.get(run) for f, s in epochs.items()}, m),
                    gates(
                        name, {f: s[run] for f, s in stats.items() if run in s}, alphas.get(run), m
                    ),
                    meta(
                        name,
                        {k: (specs[k][0], attrs[k][run]) for k in specs},
                        {f: (labels[f], v.get(run)) for f, (v, _) in summary.items()},
                        _config(rows.loc[run], used),
                    ),
                    activation(name, acts.get(run)),
                )
            )
        except InputError as exc:
            skipped.append((name, str(exc).removeprefix(f"{name}: ")))
    default = _default_dataset(data.location)
    runset = nlr.assemble(parts, skipped, ratio_rule, alpha_threshold, default, data.location)
    runset.notes = notes + runset.notes
    runset.labels = {
        "mean_latency_s": labels["mean_latency_s"],
        "approx_linear_flops": labels["approx_linear_flops"],
        "alphas": m.alphas_key or "alphas_key: None",
        "activation": m.activation_key or "activation_key: None",
    }
    return runset


def load_any(
    runs_dir: str | None,
    source: str | None,
    m: Mapping = SEED_NAMES,
    ratio_rule: str = "mean_alpha",
    alpha_threshold: float = 0.5,
    use_cache: bool = True,
) -> nlr.RunSet:
    """The runs of the notebook's input: the tracker store *source* (trackers.read, then
    from_tracker) or the folder *runs_dir* of run folders (nlr.load_runs; with neither set, the
    simulated MNIST example). InputError when both are set, naming both."""
    if runs_dir is not None and source is not None:
        raise InputError(
            f"runs_dir ({runs_dir!r}) and source ({source!r}) are both set: set runs_dir for a "
            "folder of run folders, or source for a tracker store, not both"
        )
    if source is not None:
        data = trackers.read(source, use_cache=use_cache)
        return from_tracker(data, m, ratio_rule, alpha_threshold)
    folder = paths.resolve_input(runs_dir or EXAMPLE_RUNS)
    return nlr.load_runs(folder, ratio_rule, alpha_threshold)
