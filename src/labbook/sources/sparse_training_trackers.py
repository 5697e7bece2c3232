"""Adaptive sparse training runs read from an experiment tracker (TensorBoard, MLflow, Aim), and
the choice between a tracker store and the metrics JSON files (`load_any`).

A tracker run is mapped onto the metrics file's fields by the notebook's mapping parameters, whose
defaults are the seed's names:

- kind: the run attribute `kind_from` (default ``kind``, found under any attribute kind: MLflow
  ``param:kind``, TensorBoard ``hparam:kind``, ...; or ``name:<regex>`` over the run name; None:
  every run is gated) gives gated, baseline or sample_by_sample. A store may hold several runs of
  a kind: `run_names` picks one by name ({"gated": "vit-gated-2"}; "" reads none of that kind).
- config: each field of CONFIG_FIELDS from the run attribute of that name (`config_from` maps a
  field to another attribute spec). Text values (MLflow keeps params as text) are read as numbers.
- per-epoch series: the scalar key `names[field]` (metric_names; defaults DEFAULT_NAMES, the
  trainer's metrics names), one value per step, the step being the epoch (epoch = step +
  `step_offset`; the seed numbers epochs from 1). Every key of a run must be logged at the same
  steps.

Each chosen run is then rebuilt as a metrics document and checked by the code that checks a
metrics file (sources.sparse_training.run_from_doc): the same errors, naming the store and the run
("<store> (run 'vit-gated')") and the key ("field 'scalars.train_loss'[3]": the 4th step logged).
Runs that are not finished (running, failed, killed) are kept, with a warning. Runs lacking the kind
attribute, or whose kind is none of KINDS, are left out with a warning naming them. The reader's
own warnings are passed on, but for those naming only runs that are not read.
"""

import difflib

import numpy as np
import pandas as pd

from labbook import paths
from labbook.inputs import InputError
from labbook.sources import trackers
from labbook.sources.sparse_training import (
    CONFIG_FIELDS,
    DEFAULT_NAMES,
    GATED_REQUIRED,
    KINDS,
    Runs,
    check_names,
    load_files,
    run_from_doc,
)
from labbook.sources.trackers import TrackerData, mapping

# statuses warned of ("unknown" is not: TensorBoard and Aim often keep no status)
UNFINISHED = ("running", "failed", "killed")
SHOWN = 5  # runs named in a warning


def store_label(data: TrackerData) -> str:
    """The store as messages name it: relative to the repo root when it lies inside it."""
    return paths.relative(data.location)


def _some(names) -> str:
    names = [repr(str(n)) for n in names]
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def run_kinds(data: TrackerData, kind_from: str | None, warnings: list[str]) -> dict[str, str]:
    """{run id: kind} of the runs with a kind in KINDS. Runs lacking the attribute, or with
    another value, are left out with a warning appended to *warnings*; InputError when no run has
    the attribute (listing the attributes the runs have and the closest)."""
    runs, where = data.runs, store_label(data)
    if kind_from is None:
        return dict.fromkeys(runs["run"], "gated")
    values = mapping.attribute(runs, kind_from, "kind_from", where)
    names = dict(zip(runs["run"], runs["name"]))
    if values.isna().all():
        raise InputError(f"{where}: no run has a value for `{kind_from}` (set by kind_from)")
    lacking = [names[r] for r, v in values.items() if v is None]
    if lacking:
        warnings.append(
            f"{where}: {len(lacking)} run(s) have no `{kind_from}` attribute (kind_from) "
            f"and are left out: {_some(lacking)}"
        )
    kinds = {r: str(v).strip() for r, v in values.items() if v is not None}
    other = [f"{names[r]!r} ({k!r})" for r, k in kinds.items() if k not in KINDS]
    if other:
        warnings.append(
            f"{where}: {len(other)} run(s) whose `{kind_from}` is none of "
            f"{', '.join(KINDS)} are left out: {', '.join(other[:SHOWN])}"
            + (f" and {len(other) - SHOWN} more" if len(other) > SHOWN else "")
        )
    return {r: k for r, k in kinds.items() if k in KINDS}


def choose(data: TrackerData, kinds: dict[str, str], kind: str, wanted: str | None) -> str | None:
    """The id of the run of *kind* to read: the one named *wanted* (run_names[kind]), else the
    store's only run of that kind; None when there is none (or *wanted* is ""). InputError for a
    name no run has, a run of another kind, or several candidates (naming them)."""
    names, where = dict(zip(data.runs["run"], data.runs["name"])), store_label(data)
    of_kind = sorted((names[r], r) for r, k in kinds.items() if k == kind)
    if wanted == "":
        return None
    if wanted is not None:
        ids = [r for r, n in names.items() if n == wanted]
        if not ids:
            pool = [n for n, _ in of_kind] or [str(n) for n in names.values()]
            near = difflib.get_close_matches(wanted, pool, n=3, cutoff=0.5)
            hint = f"; closest: {_some(near)}" if near else ""
            raise InputError(
                f"{where}: no run is named {wanted!r} (run_names.{kind}); the {kind} runs: "
                f"{_some(n for n, _ in of_kind) or 'none'}{hint}"
            )
        if len(ids) > 1:
            raise InputError(
                f"{where}: {len(ids)} runs are named {wanted!r} (run_names.{kind}), ids "
                f"{', '.join(sorted(ids))}: give each run its own name"
            )
        if kinds.get(ids[0]) != kind:
            raise InputError(
                f"{where}: run {wanted!r} is of kind {kinds.get(ids[0])!r}, but "
                f"run_names.{kind} names it as the {kind} run"
            )
        return ids[0]
    if len(of_kind) > 1:
        raise InputError(
            f"{where}: the store holds {len(of_kind)} {kind} runs "
            f"({_some(n for n, _ in of_kind)}): name the one to read in run_names, e.g. "
            f'{{"{kind}": "{of_kind[0][0]}"}}'
        )
    return of_kind[0][1] if of_kind else None


def about(warnings: list[str], runs: pd.DataFrame, read: list[str]) -> list[str]:
    """The reader's *warnings* that concern this report: those naming one of the runs *read* (by
    id or quoted name) and those naming no run of *runs* at all (about the store); a warning that
    names only runs the report leaves out is dropped."""

    def marks(table):  # quoted ids and names; long ids (MLflow's uuids) also bare
        ids = [str(r) for r in table["run"]]
        names = [str(n) for n in table["name"]]
        return [repr(t) for t in ids + names] + [r for r in ids if len(r) >= 16]

    ours, all_runs = marks(runs[runs["run"].isin(read)]), marks(runs)
    return [w for w in warnings if any(m in w for m in ours) or not any(m in w for m in all_runs)]


def _number(value):
    """A run attribute as the metrics file would hold it: text that reads as a number becomes
    that number (MLflow keeps params as text); anything else is left for the field checks."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, (np.integer, np.floating)):
        return float(value)
    return value


def configs(data: TrackerData, chosen: list[str], config_from: dict[str, str]) -> dict[str, dict]:
    """{run id: config} for the *chosen* runs: CONFIG_FIELDS from their attributes. A field set in
    *config_from*, and the target activation rate (the gated run needs it), must be an attribute
    some run has (InputError listing the attributes and the closest); other fields may be
    absent."""
    out, where = {r: {} for r in chosen}, store_label(data)
    for name in CONFIG_FIELDS:
        spec = config_from.get(name, name)
        parameter = f"config_from.{name}"
        try:
            values = mapping.attribute(data.runs, spec, parameter, where)
        except InputError:
            if name in config_from or name == "target_activation_rate":
                raise
            continue
        for r in chosen:
            if values.get(r) is not None:
                out[r][name] = _number(values[r])
    return out


def _steps_text(steps: np.ndarray) -> str:
    if len(steps) > 4 and np.array_equal(steps, np.arange(steps[0], steps[0] + len(steps))):
        return f"{len(steps)} steps {steps[0]}–{steps[-1]}"
    return "steps " + ", ".join(str(s) for s in steps[:8]) + (", …" if len(steps) > 8 else "")


def series(
    scalars: pd.DataFrame, where: str, step_offset: int
) -> tuple[dict[str, list], np.ndarray | None]:
    """One run's scalars (columns key, step, value; the mapped keys only) as {key: values in step
    order} and the epochs (step + step_offset, array(epochs) of int). InputError naming the run
    when its keys are logged at different steps, or an epoch would be below 1."""
    by_key = {
        str(k): g.sort_values("step") for k, g in scalars.groupby("key", observed=True, sort=True)
    }
    if not by_key:
        return {}, None
    steps = {k: g["step"].to_numpy(np.int64) for k, g in by_key.items()}
    first = next(iter(steps))
    for key, s in steps.items():
        if not np.array_equal(s, steps[first]):
            raise InputError(
                f"{where}: its scalars are logged at different steps: `{first}` at "
                f"{_steps_text(steps[first])}, `{key}` at {_steps_text(s)} (one value per epoch "
                "is read from each, at the same steps)"
            )
    epochs = steps[first] + step_offset
    if epochs[0] < 1:
        raise InputError(
            f"{where}: scalar `{first}` is logged at step {steps[first][0]}, epoch "
            f"{epochs[0]} with step_offset {step_offset}: epochs are numbered from 1 (set "
            f"step_offset to {1 - steps[first][0]} if the trainer logs its first epoch at step "
            f"{steps[first][0]})"
        )
    return {k: g["value"].tolist() for k, g in by_key.items()}, epochs


def from_tracker(
    data: TrackerData,
    names: dict[str, str] | None = None,
    kind_from: str | None = "kind",
    run_names: dict[str, str] | None = None,
    config_from: dict[str, str] | None = None,
    step_offset: int = 0,
) -> Runs:
    """The gated run and the optional baseline and sample-by-sample runs of a tracker store, as
    load_files gives them from metrics files (see the module docstring for the mapping)."""
    mapping.check_keys(names or {}, DEFAULT_NAMES, "metric_names")
    names = {**DEFAULT_NAMES, **(names or {})}
    run_names, config_from = dict(run_names or {}), dict(config_from or {})
    mapping.check_keys(run_names, KINDS, "run_names")
    mapping.check_keys(config_from, CONFIG_FIELDS, "config_from")
    store, warnings = store_label(data), []
    kinds = run_kinds(data, kind_from, warnings)
    chosen = {k: choose(data, kinds, k, run_names.get(k)) for k in KINDS}
    if chosen["gated"] is None:
        found = sorted(set(kinds.values())) or ["none"]
        raise InputError(f"{store}: no gated run (kinds by `{kind_from}`: {', '.join(found)})")
    ids = [r for r in chosen.values() if r is not None]
    runs = data.runs.set_index("run").loc[ids]
    unfinished = [f"{n!r} is {s}" for n, s in zip(runs["name"], runs["status"]) if s in UNFINISHED]
    if unfinished:
        warnings.append(
            f"{store}: run(s) not finished, kept (their series may be incomplete): "
            + ", ".join(unfinished)
        )
    config = configs(data, ids, config_from)
    scalars = data.scalars[data.scalars["run"].isin(ids)]
    keyed = scalars[scalars["key"].isin(set(names.values()))]
    for ours, key in names.items():
        parameter = f"metric_names.{ours}"
        mapping.series(scalars, key, parameter, store, required=ours in GATED_REQUIRED)
    read = {}
    for kind, r in chosen.items():
        if r is None:
            continue
        name = str(runs.loc[r, "name"])
        where = f"{store} (run {name!r})"
        found = trackers.faults_said(data.warnings, r, name)
        values, epochs = series(keyed[keyed["run"] == r], where + found, step_offset)
        doc = {"run": name, "kind": kind, "config": config[r], "scalars": values}
        read[kind] = run_from_doc(doc, where, names, kind, name, "scalars", epochs)
    warnings = about(data.warnings, data.runs, ids) + warnings
    out = Runs(read["gated"], read.get("baseline"), read.get("sample_by_sample"), warnings)
    check_names(out.all())
    return out


def load_any(
    source: str | None,
    run_file: str | None,
    baseline_file: str | None,
    sample_by_sample_file: str | None,
    names: dict[str, str] | None = None,
    kind_from: str | None = "kind",
    run_names: dict[str, str] | None = None,
    config_from: dict[str, str] | None = None,
    step_offset: int = 0,
) -> Runs:
    """The report's runs from the tracker store *source* (trackers.read: a folder, a file or a
    URI, or a tensorboard:/mlflow:/aim: prefix) or from the metrics JSON files, whichever the
    params set; InputError naming both parameters when both are set, or saying what to set when
    neither is."""
    files = {
        "run_file": run_file,
        "baseline_file": baseline_file,
        "sample_by_sample_file": sample_by_sample_file,
    }
    given = [k for k, v in files.items() if v]
    if source and given:
        raise InputError(
            f"`source` ({source!r}) and `{'`, `'.join(given)}` are both set: the runs come "
            "either from a tracker store (`source`) or from metrics JSON files (`run_file`, "
            "`baseline_file`, `sample_by_sample_file`); set the other to null"
        )
    if source:
        data = trackers.read(source)
        return from_tracker(data, names, kind_from, run_names, config_from, step_offset)
    if not run_file:
        raise InputError(
            "neither `run_file` (the gated run's metrics JSON) nor `source` (a tracker store) is "
            "set: set one (the simulated example: run_file: "
            "examples/generated/sparse_training/gated_good.json, after `make examples`)"
        )
    return load_files(
        paths.resolve_input(run_file),
        paths.resolve_input(baseline_file) if baseline_file else None,
        paths.resolve_input(sample_by_sample_file) if sample_by_sample_file else None,
        names,
    )
