"""MoE experiment runs (seed 001) from an experiment tracker -> the shared long metrics table.

    selection = aim_repo.load_any(source, repo_path, dataset="cifar10", moe_types=...)

Where from: `source`, any store the tracker layer reads (an Aim repository, a TensorBoard log
folder, an MLflow store; labbook.sources.trackers), or `repo_path`, an Aim repository (the
parameter `source` replaced; both set is an error). Aim is read by labbook.sources.trackers.aim
with aim's epoch as the step (`aim_epochs`), the other trackers' steps are the epochs.

What is read, by the mapping parameters (defaults: the seed's names, as the seed's Aim runs hold
them). Per run: its dataset (`dataset_from`: an attribute spec as labbook.sources.trackers.mapping
reads them; None: the dataset is one of the run's tags, the seed's way), its MoE type
(`type_from`; None: the first tag found in the `moe_types` table), its seed (`seed_from`,
default `seed`: Aim's run["hparams"]["seed"], TensorBoard's hparam, MLflow's param). A run's tags
are its `tag:<t>` attributes that are not false (tracker system tags, `aim.*` and `mlflow.*`,
aside). Per value: the scalar key of each field in `metric_keys`: `accuracy`, `loss`,
`profiling_total_cpu_time`, `profiling_memory_usage` (the validation subset), `macs` (train) and
`expert` (`expert_{expert}[subset:{subset}]`: one series per expert, `{expert}` its number; the
`{subset}` part, when the key has one, says which subset the counts were logged in, else they
are the `activation_subset`'s).

Faults. Errors (InputError, naming the parameter, and listing what the store holds and the
closest names): `source` and `repo_path` both set; a dataset, type or accuracy mapping that finds
nothing; a dataset no run has (with the closest datasets: case or a typo); every run left out.
Warnings, each run named: runs without a type, runs whose values cannot be right (implausible_runs)
or that log no validation accuracy (left out); runs without a seed (kept, ordered by name); two
runs of one type with one seed (kept); include/exclude tags or MoE types that no run carries (with
the closest names); and every warning of the tracker's reader (unreadable, unfinished, unindexed
runs, NaN values...). A field other than accuracy that no run logs is a note (its sections say so).

Runs are ordered by stable keys — MoE type, seed (numeric when it is a number), run name, then the
tracker's id only to break a tie — and numbered in that order ("run" = r0001, r0002, ...), so the
same data give the same tables whatever ids a tracker drew or the order it lists runs in.
"""

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.guards.aim import AimMissing
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, trackers, validate_metrics_table
from labbook.sources.trackers import mapping

VAL_METRICS = ("loss", "accuracy", "profiling_total_cpu_time", "profiling_memory_usage")
TRAIN_METRICS = ("macs",)
EXPERT_PREFIX = "expert_"
DEFAULT_MOE_TYPES = {
    "softmoe": "SoftMoE",
    "noisytopk": "Top-k",
    "expert_choice": "Expert Choice",
    "ffn": "FFN",
    "roundrobin": "Round Robin",
    "expert_segmentation": "Expert Segmentation",
    "switch_transformer": "Switch Transformer",
}
# field -> scalar key: the seed's metrics as the tracker layer names Aim's (name[context])
DEFAULT_METRIC_KEYS = {
    "accuracy": "accuracy[subset:val]",
    "loss": "loss[subset:val]",
    "profiling_total_cpu_time": "profiling_total_cpu_time[subset:val]",
    "profiling_memory_usage": "profiling_memory_usage[subset:val]",
    "macs": "macs[subset:train]",
    "expert": "expert_{expert}[subset:{subset}]",
}
FIELD_SUBSET = {**{m: "val" for m in VAL_METRICS}, "macs": "train"}  # the subset of each field
EXAMPLE_REPO = "examples/generated/moe_aim/repo"  # read when neither source nor repo_path is set
AIM_EPOCHS = ("epoch", "step")  # what an Aim value's epoch is: aim's epoch, or its step
SYSTEM_TAGS = ("aim.", "mlflow.")  # tag prefixes of trackers' own bookkeeping, not user tags
FALSE = ("", "false", "0", "no", "none", "nan")


@dataclass
class RepoLoad:
    """Every run of a store, mapped (before selecting runs). runs: run (the tracker's id), name,
    experiment, tags (sorted list), seed, dataset and type (the mapped values; None where taken
    from the tags, see dataset_from / type_from). metrics: run, subset, metric, step, epoch,
    value (the seed's metric names; expert counts as expert_<i>)."""

    metrics: pd.DataFrame
    runs: pd.DataFrame
    skipped: list[tuple[str, str]]  # (run, error): runs that could not be read
    total_runs: int  # runs in the store
    reindexed: int = 0  # runs that were missing from an Aim index and were reindexed on request
    from_cache: bool = False
    source: str = ""
    warnings: list[str] = field(default_factory=list)  # the reader's and the mapping's
    notes: list[str] = field(default_factory=list)  # fields no run logs
    dataset_from: str | None = None
    type_from: str | None = None


@dataclass
class Selection:
    table: pd.DataFrame  # METRICS_COLUMNS: method = MoE type key; run = stable run id (r0001, ...)
    runs: pd.DataFrame  # run (stable id), hash (the tracker's id), name, method, seed
    notes: list[str] = field(default_factory=list)  # runs of other datasets / filtered out by tags
    warnings: list[str] = field(default_factory=list)  # runs that could not be used


# ---------------------------------------------------------------- where the runs come from


def load_any(
    source: str | None,
    repo_path: str | None,
    *,
    dataset: str,
    moe_types: dict[str, str],
    include_tags=(),
    exclude_tags=(),
    reindex_missing: bool = False,
    aim_epochs: str = "epoch",
    **mapped,
) -> tuple[Selection, RepoLoad]:
    """The runs of *dataset* from the store named by *source* (any tracker) or *repo_path* (an Aim
    repository, or aim://host:port); neither: the example repository. Both: an InputError naming
    both parameters. *mapped*: to_load's mapping parameters. Returns (selection, what was read)."""
    if source is not None and repo_path is not None:
        raise InputError(
            f"both `source` ({source!r}) and `repo_path` ({repo_path!r}) are set: set one of them "
            "(`source` reads any tracker; `repo_path` is the Aim repository parameter it replaces)"
        )
    if source is None and repo_path is None:
        source = f"aim:{EXAMPLE_REPO}"
    if repo_path is not None:
        data, reindexed = read_aim(repo_path, "repo_path", reindex_missing, aim_epochs)
    else:
        tracker, location = trackers.resolve(source)
        if tracker == "aim":
            data, reindexed = read_aim(location, "source", reindex_missing, aim_epochs)
        else:
            data, reindexed = trackers.read(source), 0
    loaded = to_load(data, **mapped)
    loaded.reindexed = reindexed
    return select(loaded, dataset, moe_types, include_tags, exclude_tags), loaded


def read_aim(
    location: str,
    parameter: str,
    reindex_missing: bool = False,
    aim_epochs: str = "epoch",
    use_cache: bool = True,
) -> tuple[trackers.TrackerData, int]:
    """(the Aim store at *location*, number of runs reindexed): read by the tracker layer's Aim
    reader, aim's epoch (or step: *aim_epochs*) as the step; with *reindex_missing*, runs the
    repository's index lacks are indexed first (`aim storage reindex`, which rewrites the index
    only). *parameter* names the notebook parameter in errors; without aim installed (the aim
    extra), AimMissing names it and the extra."""
    try:
        from labbook.sources.trackers import aim
    except AimMissing as exc:
        raise AimMissing(f"{parameter} {location}: {exc}") from None

    if aim_epochs not in AIM_EPOCHS:
        raise InputError(f"aim_epochs must be one of {AIM_EPOCHS}, got {aim_epochs!r}")
    reindexed = 0
    if not aim.is_remote(location):
        root = paths.resolve_input(location).resolve()
        aim.check_local_repo(root, parameter)
        if reindex_missing:
            missing = aim.unindexed(root)
            if missing:
                aim.reindex(root)
                reindexed = len(missing)
        location = str(root)
    data = aim.read(location, use_cache=use_cache, step_from=aim_epochs)
    if trackers.is_simulated(data.runs):
        inputs.mark_simulated(data.digest)
    return data, reindexed


def load(
    repo_path: str, reindex_missing: bool = False, cache: bool = True, dataset: str | None = None
) -> RepoLoad:
    """Every run of the Aim repository at *repo_path* (a folder holding .aim, or aim://host:port),
    mapped with the seed's names (to_load's defaults). *dataset* is accepted for callers of the
    reader this replaces: every run is read (and cached) once for all datasets."""
    data, reindexed = read_aim(repo_path, "repo_path", reindex_missing, use_cache=cache)
    loaded = to_load(data)
    loaded.reindexed = reindexed
    return loaded


# ---------------------------------------------------------------- from the tracker's tables


def to_load(
    data: trackers.TrackerData,
    *,
    seed_from: str | None = "seed",
    dataset_from: str | None = None,
    type_from: str | None = None,
    metric_keys: dict[str, str] | None = None,
    activation_subset: str = "val",
) -> RepoLoad:
    """Map a tracker's runs and scalars to the MoE runs and metrics (see the module docstring).
    metric_keys: field -> scalar key (DEFAULT_METRIC_KEYS when None); a field left out is not
    read. Each value's step is its epoch (float in the epoch column)."""
    keys = DEFAULT_METRIC_KEYS if metric_keys is None else metric_keys
    unknown = sorted(set(keys) - set(DEFAULT_METRIC_KEYS))
    if unknown:
        raise InputError(
            f"metric_keys: unknown field(s) {unknown}; the fields are {list(DEFAULT_METRIC_KEYS)}"
        )
    if "accuracy" not in keys:
        raise InputError("metric_keys: `accuracy` (the validation accuracy) is required")
    location = data.location
    warnings, notes = list(data.warnings), []
    runs = _mapped_runs(data, seed_from, dataset_from, type_from, warnings)
    frames = []
    for name, template in keys.items():
        rows = _field_rows(data, name, template, activation_subset)
        if rows is None:
            notes.append(_not_logged(data, name, template))
        else:
            frames.append(rows)
    metrics = pd.concat(frames, ignore_index=True)
    return RepoLoad(
        metrics=metrics,
        runs=runs,
        skipped=[],
        total_runs=len(data.runs),
        from_cache=data.from_cache,
        source=location,
        warnings=warnings,
        notes=notes,
        dataset_from=dataset_from,
        type_from=type_from,
    )


def _truthy(value) -> bool:
    return value is not None and value is not False and str(value).strip().lower() not in FALSE


def run_tags(runs: pd.DataFrame) -> list[list[str]]:
    """Each run's tags: its `tag:<t>` attributes that are not false, system tags aside."""
    columns = [
        c
        for c in mapping.attribute_names(runs)
        if c.startswith("tag:") and not c[4:].startswith(SYSTEM_TAGS)
    ]
    flags = {c[4:]: runs[c].map(_truthy).to_numpy() for c in columns}
    return [sorted(t for t, f in flags.items() if f[i]) for i in range(len(runs))]


def _seed_value(value):
    """A seed as a number where it is one (TensorBoard stores 0 as 0.0, MLflow as "0")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _mapped_runs(data, seed_from, dataset_from, type_from, warnings) -> pd.DataFrame:
    """RepoLoad.runs of the tracker's runs table."""
    runs = data.runs
    where = data.location
    experiment = next(
        (c for c in ("tag:aim.experiment", "tag:mlflow.experimentName") if c in runs), None
    )
    out = pd.DataFrame(
        {
            "run": runs["run"].astype(str).to_numpy(),
            "name": runs["name"].astype(str).to_numpy(),
            "experiment": runs[experiment].fillna("").to_numpy() if experiment else "",
        }
    )
    out["tags"] = run_tags(runs)
    out["seed"] = None
    if seed_from is not None and len(runs):
        try:
            seeds = mapping.attribute(runs, seed_from, "seed_from", where)
        except InputError as exc:  # seeds only order the runs: missing is not fatal
            warnings.append(f"{exc}. Runs are ordered by name.")
            seeds = pd.Series([None] * len(runs), index=runs["run"])
        out["seed"] = [_seed_value(v) for v in seeds.to_numpy()]
        lacking = out[out["seed"].isna()]
        if 0 < len(lacking) < len(out):
            warnings.append(
                f"{len(lacking)} run(s) have no seed (`{seed_from}`, parameter seed_from; kept, "
                f"ordered by name): {', '.join(map(repr, lacking['name'][:5]))}"
            )
    for column, spec, parameter in (
        ("dataset", dataset_from, "dataset_from"),
        ("type", type_from, "type_from"),
    ):
        values = mapping.attribute(runs, spec, parameter, where) if spec else None
        out[column] = None if values is None else [None if v is None else str(v) for v in values]
    return out


def _key_series(data, template: str, parameter: str, required: bool):
    """(rows of the scalars whose key matches *template*, {placeholder: its value in each row}),
    as mapping.series gives them, the template matched once per distinct key rather than once
    per row (a million rows share a few hundred keys). None when nothing matches and not
    *required*; else mapping's error listing the keys and the closest."""
    regex, names = mapping.key_regex(template)
    keys = pd.Categorical(data.scalars["key"])
    codes = keys.codes
    present = keys.categories[np.unique(codes[codes >= 0])]
    found = {keys.categories.get_loc(k): m.groupdict() for k in present if (m := regex.match(k))}
    if not found:
        if required:
            raise mapping.missing_key(template, parameter, data.location, present)
        return None
    hit = np.isin(codes, list(found))
    rows = data.scalars[hit]
    table = {
        n: np.array([found.get(c, {}).get(n) for c in range(len(keys.categories))], object)
        for n in names
    }  # each placeholder's value per key
    return rows, {n: values[codes[hit]] for n, values in table.items()}


def _text(column: pd.Series) -> np.ndarray:
    """A column of str (a categorical's categories taken by code: no per-row conversion)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.categories.astype(str), dtype=object)[column.cat.codes]
    return column.astype(str).to_numpy()


def _field_rows(data, name: str, template: str, activation_subset: str) -> pd.DataFrame | None:
    """RepoLoad.metrics rows of one field (None when no run logs its key; an InputError for the
    accuracy, which every report needs)."""
    parameter = f"metric_keys.{name}"
    placeholders = mapping.key_regex(template)[1]
    allowed = {"expert", "subset"} if name == "expert" else set()
    if set(placeholders) - allowed or (name == "expert" and "expert" not in placeholders):
        raise InputError(
            f"{parameter} = {template!r}: only metric_keys.expert has placeholders, "
            "`{expert}` (required: the expert's number) and `{subset}`"
        )
    matched = _key_series(data, template, parameter, name == "accuracy")
    if matched is None:
        return None
    rows, parts = matched
    if name == "expert":
        names = {e: None for e in parts["expert"]}  # each expert's metric, once per expert
        for e in names:
            if not (str(e).isascii() and str(e).isdigit()):
                first = int(np.flatnonzero(parts["expert"] == e)[0])
                run = data.runs.set_index("run").loc[str(rows["run"].iloc[first]), "name"]
                raise InputError(
                    f"{data.location}: run {run!r}: {parameter} = {template!r} reads expert "
                    f"{e!r}, not a number (the {{expert}} part must be one)"
                )
            names[e] = f"{EXPERT_PREFIX}{int(e)}"
        metric = np.array([names[e] for e in parts["expert"]], dtype=object)
        subset = parts["subset"] if "subset" in parts else activation_subset
    else:
        metric, subset = name, FIELD_SUBSET[name]
    step = rows["step"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "run": _text(rows["run"]),
            "subset": subset,
            "metric": metric,
            "step": step,
            "epoch": step.astype(float),
            "value": rows["value"].to_numpy(dtype=float),
        }
    )


def _not_logged(data, name: str, template: str) -> str:
    """The note for a field no run logs: the key, the parameter and the closest keys."""
    keys = [str(k) for k in pd.unique(data.scalars["key"])]
    near = difflib.get_close_matches(template, keys, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(f'`{k}`' for k in near)})" if near else ""
    return (
        f"No run logs `{template}` (metric_keys.{name}){hint}: the sections that need "
        f"{name} say so."
    )


# ---------------------------------------------------------------- selecting the runs


def closest(wanted: str, names) -> list[str]:
    """The names that *wanted* may have meant: the same but for case, else near by spelling."""
    names = sorted({str(n) for n in names})
    same = [n for n in names if n.lower() == wanted.lower() and n != wanted]
    return same or difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)


def _did_you_mean(wanted: str, names) -> str:
    near = closest(wanted, names)
    return f" (did you mean {', '.join(map(repr, near))}?)" if near else ""


def _unknown_names(loaded: RepoLoad, include_tags, exclude_tags, moe_types) -> list[str]:
    """Warnings for include/exclude tags no run carries and MoE types no run has."""
    tags = {t for ts in loaded.runs["tags"] for t in ts}
    out = []
    for parameter, wanted in (("include_tags", include_tags), ("exclude_tags", exclude_tags)):
        for tag in wanted:
            if tag not in tags:
                out.append(
                    f"{parameter}: no run carries the tag {tag!r}{_did_you_mean(tag, tags)}."
                )
    types = tags if loaded.type_from is None else set(loaded.runs["type"].dropna())
    missing = [t for t in moe_types if t not in types]
    for t in missing:
        hint = _did_you_mean(t, types - set(moe_types))
        if hint:
            out.append(f"moe_types: no run has the MoE type {t!r}{hint}.")
    return out


def select(
    loaded: RepoLoad,
    dataset: str,
    moe_types: dict[str, str],
    include_tags: list[str] = (),
    exclude_tags: list[str] = (),
) -> Selection:
    """Runs of *dataset* (a tag, or the mapped dataset), having every include tag and no exclude
    tag, whose MoE type is in *moe_types* (type -> display name; the first of its tags found
    there, or the mapped type). Every run left out is counted in a note or named in a warning."""
    notes = list(loaded.notes)
    rows = []
    no_dataset, excluded, no_type = [], [], []
    by_tag = loaded.dataset_from is None
    for r in loaded.runs.itertuples():
        tags = set(r.tags)
        if (dataset not in tags) if by_tag else (r.dataset != dataset):
            no_dataset.append(r)
            continue
        if not set(include_tags) <= tags or tags & set(exclude_tags):
            excluded.append(r)
            continue
        if loaded.type_from is None:
            moe = next((t for t in moe_types if t in tags), None)
        else:
            moe = r.type if r.type in moe_types else None
        if moe is None:
            no_type.append(r)
            continue
        rows.append({"hash": r.run, "name": r.name, "method": moe, "seed": r.seed})
    what = "dataset tag" if by_tag else f"dataset (`{loaded.dataset_from}`)"
    if no_dataset:
        notes.append(
            f"{len(no_dataset)} of the repository's runs lack the {what} {dataset!r} (other "
            f"datasets) and are not part of this report (e.g. {_describe(no_dataset[:2])})."
        )
    if excluded:
        notes.append(
            f"{len(excluded)} {dataset} run(s) left out by include_tags={list(include_tags)} / "
            f"exclude_tags={list(exclude_tags)}."
        )
    warnings = list(loaded.warnings)
    warnings += _unknown_names(loaded, include_tags, exclude_tags, moe_types)
    if no_type:
        source = (
            "tag from the name table"
            if loaded.type_from is None
            else (f"type (`{loaded.type_from}`) in moe_types")
        )
        warnings.append(
            f"{len(no_type)} {dataset} run(s) have no MoE-type {source} and are left out: "
            f"{_describe(no_type[:5])}. Add their type to moe_types to include them."
        )
    for run_hash, error in loaded.skipped:
        warnings.append(f"Run {run_hash} could not be read and is skipped: {error}")
    if not rows:
        raise InputError(_nothing_matches(loaded, dataset, moe_types, include_tags, exclude_tags))
    runs = pd.DataFrame(rows)
    bad = implausible_runs(loaded.metrics[loaded.metrics["run"].isin(set(runs["hash"]))])
    for run_hash, reason in bad.items():
        r = runs[runs["hash"] == run_hash].iloc[0]
        warnings.append(f"Run {run_hash[:8]} {r['name']!r} ({r['method']}) is left out: {reason}.")
    runs = runs[~runs["hash"].isin(set(bad))]
    if runs.empty:
        raise InputError(
            f"{loaded.source}: every {dataset!r} run was left out: " + "; ".join(bad.values())
        )
    dup = runs[runs["seed"].notna()].groupby(["method", "seed"])["name"].agg(list)
    for (method, seed), names in dup[dup.str.len() > 1].items():
        warnings.append(
            f"{len(names)} {method} runs have seed {seed} ({', '.join(map(repr, names))}): all are "
            "kept as separate runs; check for a run logged twice."
        )
    order = [list(moe_types).index(m) for m in runs["method"]]
    runs = (
        runs.assign(_type=order, _seed=[_seed_key(x) for x in runs["seed"]])
        .sort_values(["_type", "_seed", "name", "hash"], kind="stable")
        .drop(columns=["_type", "_seed"])
        .reset_index(drop=True)
    )
    runs.insert(0, "run", [f"r{i + 1:04d}" for i in range(len(runs))])
    t = loaded.metrics[loaded.metrics["run"].isin(set(runs["hash"]))].copy()
    info = runs.set_index("hash")
    t["method"] = t["run"].map(info["method"])
    t["seed"] = t["run"].map(info["seed"])
    t["run"] = t["run"].map(info["run"])
    t["dataset"] = dataset
    t = t.sort_values(["run", "subset", "metric", "step"], kind="stable")
    table = validate_metrics_table(t[METRICS_COLUMNS].reset_index(drop=True), loaded.source)
    return Selection(table=table, runs=runs, notes=notes, warnings=warnings)


def _nothing_matches(loaded, dataset, moe_types, include_tags, exclude_tags) -> str:
    """The error when no run is left: what was asked, and what the runs have that is close."""
    if loaded.dataset_from is None:
        datasets, what = {t for ts in loaded.runs["tags"] for t in ts}, "tags"
    else:
        datasets, what = set(loaded.runs["dataset"].dropna()), f"`{loaded.dataset_from}` values"
    hint = _did_you_mean(dataset, datasets)
    for tag in include_tags:
        hint += (
            ""
            if tag in datasets
            else _did_you_mean(tag, datasets).replace(
                " (did you mean", f" (include tag {tag!r}: did you mean"
            )
        )
    listed = ", ".join(map(repr, sorted(datasets)[:12])) or "none"
    return (
        f"{loaded.source}: no run matches dataset {dataset!r}{hint} with the MoE types "
        f"{sorted(moe_types)} (include {list(include_tags)}, exclude {list(exclude_tags)}); "
        f"the runs' {what}: {listed}"
    )


DOMAINS = {  # metric: (low, high, what) — a run with a value outside is left out with a warning
    "accuracy": (0.0, 1.0, "a fraction in [0, 1]; percentages must be divided by 100"),
    "loss": (0.0, np.inf, "not negative"),
    "profiling_total_cpu_time": (0.0, np.inf, "seconds, not negative"),
    "profiling_memory_usage": (0.0, np.inf, "MB, not negative"),
    "macs": (0.0, np.inf, "not negative"),
}


def implausible_runs(metrics: pd.DataFrame) -> dict[str, str]:
    """{run hash: reason} for runs with a value outside its metric's domain (DOMAINS; expert counts
    not negative) or without any validation accuracy. One grouped pass over the table."""
    out = {}
    has_acc = set(
        metrics.loc[(metrics["metric"] == "accuracy") & (metrics["subset"] == "val"), "run"]
    )
    for run_hash in sorted(set(metrics["run"]) - has_acc):
        out[run_hash] = "it logs no validation accuracy"
    names = pd.Categorical(
        metrics["metric"]
    )  # a few metric names over a million rows: work per name
    cats = pd.Index(names.categories)
    low = np.array(
        [0.0 if c.startswith(EXPERT_PREFIX) else DOMAINS.get(c, (-np.inf,))[0] for c in cats]
    )[names.codes]
    high = np.array(
        [np.inf if c.startswith(EXPERT_PREFIX) else DOMAINS.get(c, (0, np.inf))[1] for c in cats]
    )[names.codes]
    value = metrics["value"].to_numpy()
    bad = metrics[(value < low) | (value > high)]
    for run_hash, g in bad.sort_values(["run", "step"], kind="stable").groupby("run", sort=True):
        if run_hash in out:
            continue
        first = g.iloc[0]
        if first["metric"].startswith(EXPERT_PREFIX):
            out[run_hash] = (
                f"{first['metric']} = {first['value']:g} (an activation count, not negative)"
            )
        else:
            out[run_hash] = (
                f"{first['metric']} = {first['value']:g} at step {int(first['step'])} "
                f"({DOMAINS[first['metric']][2]})"
            )
    return out


def _seed_key(seed) -> tuple:
    """Sort key for a run's seed: numbers in numeric order before anything else."""
    try:
        return (0, float(seed), "")
    except (TypeError, ValueError):
        return (1, 0.0, "" if seed is None else str(seed))


def _describe(runs) -> str:
    return ", ".join(f"{r.run[:8]} {r.name!r} tags {sorted(r.tags)}" for r in runs)
