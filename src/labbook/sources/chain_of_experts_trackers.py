"""Chain-of-experts results from an experiment tracker's store (TensorBoard, MLflow, Aim), read
through the tracker layer (labbook.sources.trackers) into the same ChainOfExpertsResults the JSON
loader returns, with the same field checks (labbook.sources.fields).

What the runs must hold (every name is a notebook parameter; the defaults are the seed's names):

- the runs compared: runs without the sweep attribute (`sweep_from`). Their method (key, as in
  `baseline`) from the attribute `method_from`, their display name from `label_from` (None: the
  key), their seed from `seed_from` (None: the runs of a method are its seeds, ordered by name);
- per run, the last value logged (`scalar_keys`): ``accuracy`` (top-1, %), ``params_m`` and
  ``gflops`` (a scalar key, else a run attribute of that name; optional), ``gate_means``
  (``gate/{block}/{expert}/mean``, in [0, 1]) and ``entropy`` (``gate/{block}/entropy``) at
  `gate_step` (None: each key's last step), averaged over the runs of a method that log them;
- the curves: ``train_loss`` and ``val_acc`` at every step (step = epoch), averaged over the
  runs of a method per epoch;
- the sweeps: runs whose `sweep_from` attribute is `ablation_sweep` (experts per block from
  `experts_from`) or `entropy_sweep` (coefficient from `entropy_coeff_from`), each run one seed
  at one swept value: its last ``accuracy``, ``params_m`` (optional) and ``avg_entropy``.

Runs that did not finish (running, failed, killed) are left out with a warning: their last
values are not final results. TensorBoard keeps no status (``unknown``): those runs are kept.
Runs lacking the method, seed or swept value, or the accuracy, are left out with a warning naming
them; an attribute or key that no run has is an InputError listing what the store holds. A
section whose data no run logged gets a note saying so (`ChainOfExpertsResults.skipped`).
"""

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labbook import paths
from labbook.inputs import InputError
from labbook.sources import chain_of_experts as coe
from labbook.sources import fields, trackers
from labbook.sources.trackers import mapping

KEYS = {  # field -> scalar key template; the seed's field names
    "accuracy": "accuracy",
    "params_m": "params_m",
    "gflops": "gflops",
    "gate_means": "gate/{block}/{expert}/mean",
    "entropy": "gate/{block}/entropy",
    "avg_entropy": "avg_entropy",
    "train_loss": "train_loss",
    "val_acc": "val_acc",
}
FINAL = ("finished", "unknown")  # statuses whose last values are final results
SHOWN = 5  # runs named in one warning


@dataclass(frozen=True)
class Mapping:
    """Which run attribute or scalar key feeds each field (see the module docstring)."""

    method_from: str = "method"
    label_from: str | None = None
    seed_from: str | None = "seed"
    sweep_from: str = "sweep"
    ablation_sweep: str | None = "experts_per_block"
    experts_from: str = "experts_per_block"
    entropy_sweep: str | None = "entropy_coeff"
    entropy_coeff_from: str = "entropy_coeff"
    scalar_keys: dict = field(default_factory=lambda: dict(KEYS))
    gate_step: int | None = None


def keys_of(given: dict) -> dict[str, str]:
    """KEYS with the entries of *given* (the `scalar_keys` parameter) in place of the defaults;
    InputError for a field this analysis does not read, naming the closest."""
    unknown = sorted(set(given) - set(KEYS))
    if unknown:
        near = difflib.get_close_matches(unknown[0], list(KEYS), n=1, cutoff=0.5)
        hint = f" (closest: `{near[0]}`)" if near else ""
        raise InputError(
            f"params `scalar_keys`: unknown field `{unknown[0]}`{hint}; the fields are "
            + ", ".join(f"`{k}`" for k in KEYS)
        )
    return {**KEYS, **given}


# ---------------------------------------------------------------- small helpers


def natural(value) -> tuple:
    """Sort key: numbers by value, text by its digit runs as numbers ("block10" after "block9")."""
    text = str(value)
    try:
        return (0, float(text), ())
    except ValueError:
        parts = re.split(r"(\d+)", text)
        return (1, 0.0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


def text(value) -> str:
    """An attribute value as text; a whole float as an integer (TensorBoard keeps seed 0 as 0.0,
    MLflow as "0": both are "0")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number(value, where: str, attribute: str) -> float:
    """An attribute value (a number, or text holding one) as a finite float; else InputError
    naming the run (*where*) and the attribute."""
    if isinstance(value, bool):
        raise InputError(f"{where}: attribute `{attribute}` must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: attribute `{attribute}` must be a number, got {value!r}"
        ) from None
    if not np.isfinite(x):
        raise InputError(f"{where}: attribute `{attribute}` must be finite, got {value!r}")
    return x


def in_order(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """*frame* sorted by *columns* in natural order (see natural), with a fresh index."""
    keys = [tuple(natural(v) for v in row) for row in zip(*(frame[c] for c in columns))]
    order = sorted(range(len(frame)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)


def named(names: list[str], quoted: bool = True) -> str:
    """'`a`, `b`, … (7 in all)': at most SHOWN run names (in backticks when *quoted*)."""
    shown = ", ".join(f"`{n}`" if quoted else n for n in names[:SHOWN])
    return shown + (f", … ({len(names)} in all)" if len(names) > SHOWN else "")


def final_values(
    scalars: pd.DataFrame,
    template: str,
    parameter: str,
    where: str,
    required: bool,
    step: int | None = None,
) -> pd.DataFrame:
    """The value each run logged for *template* at *step* (None: the last step it logged), one
    row per run and placeholder values: columns run (str), step, value, one per placeholder."""
    rows = mapping.series(scalars, template, parameter, where, required)
    rows = rows.drop(columns="wall_time")
    rows["run"] = rows["run"].astype(str)
    if step is not None:
        rows = rows[rows["step"] == step]
    places = [c for c in rows.columns if c not in ("run", "step", "value")]
    rows = rows.sort_values(["run", *places, "step"], kind="stable")
    return rows.drop_duplicates(["run", *places], keep="last").reset_index(drop=True)


def check_rows(rows: pd.DataFrame, template: str, names: dict, where: str, **limits) -> None:
    """fields.check_range on every row of *rows* (run, value, placeholders); the first value
    outside is an InputError naming the run (*names*: id -> name) and its key."""
    low, high = limits.get("low", -np.inf), limits.get("high", np.inf)
    bad = rows[(rows["value"] < low) | (rows["value"] > high)]
    if bad.empty:
        return
    row = bad.iloc[0]
    places = {c: row[c] for c in rows.columns if c not in ("run", "step", "value")}
    key = template.format(**places) if places else template
    fields.check_range(
        row["value"],  # a number, not a list: the message names no index
        f"{where}, run `{names[row['run']]}`",
        repr(key),
        low,
        high,
        limits.get("what", ""),
    )


def optional_attribute(runs: pd.DataFrame, spec: str, parameter: str, where: str):
    """mapping.attribute, or None when no run has it."""
    try:
        return mapping.attribute(runs, spec, parameter, where)
    except InputError:
        return None


def per_run_numbers(data: trackers.TrackerData, spec: str, parameter: str, where: str) -> dict:
    """{run id: number} for a field given as a scalar key (last step) or, when no run logs that
    key, as a run attribute of that name; {} when neither exists."""
    names = dict(zip(data.runs["run"], data.runs["name"]))
    finals = final_values(data.scalars, spec, parameter, where, required=False)
    if not finals.empty:
        return dict(zip(finals["run"], finals["value"]))
    values = optional_attribute(data.runs, spec, parameter, where)
    if values is None:
        return {}
    return {
        run: number(v, f"{where}, run `{names[run]}`", spec)
        for run, v in values.items()
        if v is not None
    }


# ---------------------------------------------------------------- which runs


def finished_runs(data: trackers.TrackerData, warnings: list[str]) -> pd.DataFrame:
    """The runs whose status is finished or unknown; the others are left out with a warning."""
    runs = data.runs
    left = runs[~runs["status"].isin(FINAL)].sort_values("name", kind="stable")
    if not left.empty:
        listed = [f"`{n}` ({s})" for n, s in zip(left["name"], left["status"])]
        warnings.append(
            f"{len(left)} run(s) that did not finish left out (their last values are not final "
            f"results): {named(listed, quoted=False)}"
        )
    return runs[runs["status"].isin(FINAL)]


def with_attribute(
    runs: pd.DataFrame, spec: str, parameter: str, where: str, what: str, warnings: list[str]
) -> pd.Series:
    """*spec*'s value (as text) for every run of *runs* that has it; the runs lacking it are left
    out with a warning; InputError when none has it. Index: run id."""
    values = mapping.attribute(runs, spec, parameter, where)
    lacking = sorted(runs.loc[runs["run"].isin(values[values.isna()].index), "name"])
    present = values.dropna().map(text)
    if present.empty:
        raise InputError(
            f"{where}: no {what} run has the attribute `{spec}` (set by {parameter}): set "
            f"`{parameter}` to an attribute they have, or to name:<pattern>"
        )
    if lacking:
        warnings.append(
            f"{len(lacking)} {what} run(s) without `{spec}` ({parameter}) left out: "
            f"{named(lacking)}"
        )
    return present


def check_templates(keys: dict[str, str]) -> None:
    """The per-block templates hold {block} (gate_means may add {expert}); no other template
    holds a placeholder. InputError naming the field."""
    allowed = {"gate_means": ({"block"}, {"block", "expert"}), "entropy": ({"block"},)}
    for name, template in keys.items():
        found = set(mapping.key_regex(template)[1])
        ok = allowed.get(name, (set(),))
        if found not in ok:
            want = " or ".join(
                "no placeholder" if not o else " and ".join(f"{{{p}}}" for p in sorted(o))
                for o in ok
            )
            raise InputError(
                f"params `scalar_keys.{name}` = {template!r}: needs {want}, "
                f"has {sorted(found) or 'none'}"
            )


# ---------------------------------------------------------------- the methods compared


def method_runs(runs: pd.DataFrame, m: Mapping, where: str, warnings: list[str]) -> pd.DataFrame:
    """The runs compared: columns run, name, method, label, seed (text), sorted by method, seed
    and name (natural order). InputError when two runs share a method and a seed, or when the
    runs of a method give it two labels."""
    method = with_attribute(runs, m.method_from, "method_from", where, "compared", warnings)
    out = runs.loc[runs["run"].isin(method.index), ["run", "name"]].copy()
    out["method"] = out["run"].map(method)
    if m.seed_from is None:
        out = out.sort_values("name", key=lambda s: s.map(natural), kind="stable")
        out["seed"] = out.groupby("method").cumcount().astype(str)
    else:
        chosen = runs[runs["run"].isin(out["run"])]
        seeds = with_attribute(chosen, m.seed_from, "seed_from", where, "compared", warnings)
        out = out[out["run"].isin(seeds.index)].copy()
        out["seed"] = out["run"].map(seeds)
    out = in_order(out, ["method", "seed", "name"])
    twice = out[out.duplicated(["method", "seed"], keep=False)]
    if not twice.empty:
        first = twice.iloc[0]
        same = twice[(twice["method"] == first["method"]) & (twice["seed"] == first["seed"])]
        raise InputError(
            f"{where}: runs {named(list(same['name']))} are all method `{first['method']}`, "
            f"seed `{first['seed']}` ({m.method_from}, {m.seed_from}): keep one in the store, "
            "or map the seed with `seed_from`"
        )
    out["label"] = method_labels(runs, out, m, where)
    return out


def method_labels(runs: pd.DataFrame, compared: pd.DataFrame, m: Mapping, where: str) -> list:
    """The display name of each compared run's method: the `label_from` attribute its method's
    runs give (the key when none gives one, or when label_from is None). InputError when the
    runs of a method give two names."""
    if m.label_from is None:
        return list(compared["method"])
    given = compared["run"].map(mapping.attribute(runs, m.label_from, "label_from", where))
    labels = {}
    for key, name, label in zip(compared["method"], compared["name"], given):
        if label is None:
            continue
        first = labels.setdefault(key, (text(label), name))
        if first[0] != text(label):
            raise InputError(
                f"{where}: the runs of method `{key}` give it two names ({m.label_from}): "
                f"`{first[0]}` (run `{first[1]}`) and `{text(label)}` (run `{name}`)"
            )
    return [labels.get(key, (key,))[0] for key in compared["method"]]


def run_matrix(rows: pd.DataFrame, template: str, where: str) -> tuple[list, list, np.ndarray]:
    """One run's per-block (per-expert) values: (block labels, expert labels, array(blocks,
    experts)), labels in natural order; a template without {expert} gives one column. rows:
    final_values() of that run. InputError when a block lacks an expert another block has."""
    rows = rows if "expert" in rows.columns else rows.assign(expert="")
    table = rows.pivot(index="block", columns="expert", values="value")
    blocks = sorted(table.index, key=natural)
    experts = sorted(table.columns, key=natural)
    table = table.loc[blocks, experts]
    missing = np.argwhere(table.isna().to_numpy())
    if len(missing):
        b, e = missing[0]
        key = template.format(block=blocks[b], expert=experts[e])
        raise InputError(
            f"{where}: no scalar `{key}`, while the run logs `{template}` for blocks "
            f"{blocks} and experts {experts}: every block needs every expert"
        )
    return blocks, experts, table.to_numpy(dtype=float)


def per_block(
    rows: pd.DataFrame, runs: pd.DataFrame, template: str, where: str
) -> np.ndarray | None:
    """The mean over *runs* (their rows in *rows*, final_values()) of each run's run_matrix:
    array(blocks, experts), or array(blocks) for a template without {expert}; None when none
    of them logs it. InputError when two runs log different blocks or experts."""
    found = []
    for run, name in zip(runs["run"], runs["name"]):
        mine = rows[rows["run"] == run]
        if not mine.empty:
            found.append((name, *run_matrix(mine, template, f"{where}, run `{name}`")))
    if not found:
        return None
    first = found[0]
    for other in found[1:]:
        if other[1:3] != first[1:3]:
            raise InputError(
                f"{where}: run `{first[0]}` logs `{template}` for blocks {first[1]} and experts "
                f"{first[2]}, run `{other[0]}` for blocks {other[1]} and experts {other[2]}"
            )
    mean = np.mean([f[3] for f in found], axis=0)
    return mean if "{expert}" in template else mean[:, 0]


def cost(values: dict, runs: pd.DataFrame, spec: str, limit: float, where: str, warnings: list):
    """A method's parameter count or GFLOPs from its runs' values ({run id: number}, checked
    like the JSON field): None when no run gives it; the mean, with a warning, when they differ."""
    given = [(name, values[run]) for run, name in zip(runs["run"], runs["name"]) if run in values]
    for name, value in given:
        fields.check_range(
            value,
            f"{where}, run `{name}`",
            repr(spec),
            0,
            limit,
            f"not negative, and at most {limit:g}: larger is not a real model",
        )
    if not given:
        return None
    numbers = [v for _, v in given]
    if len(set(numbers)) > 1:
        listed = ", ".join(f"`{n}` {v:g}" for n, v in given[:SHOWN])
        warnings.append(f"{where}: the runs give different `{spec}` ({listed}); the mean is used")
        return float(np.mean(numbers))
    return float(numbers[0])


def method_results(
    data: trackers.TrackerData,
    compared: pd.DataFrame,
    keys: dict[str, str],
    m: Mapping,
    where: str,
    warnings: list[str],
) -> dict[str, coe.MethodResult]:
    """One MethodResult per method of *compared* (method_runs()), in its order: the accuracy
    of every run (one per seed, %), its costs, and the per-block gate means and entropy over
    its runs. Runs without an accuracy are left out with a warning."""
    names = dict(zip(data.runs["run"], data.runs["name"]))
    scalars = data.scalars[data.scalars["run"].isin(compared["run"])]
    acc = final_values(scalars, keys["accuracy"], "scalar_keys.accuracy", where, required=True)
    check_rows(acc, keys["accuracy"], names, where, **LIMITS["accuracy"])
    lacking = sorted(compared.loc[~compared["run"].isin(acc["run"]), "name"])
    if lacking:
        warnings.append(
            f"{len(lacking)} compared run(s) without `{keys['accuracy']}` left out: "
            f"{named(lacking)}"
        )
    compared = compared[compared["run"].isin(acc["run"])]
    accuracy = dict(zip(acc["run"], acc["value"]))
    params = per_run_numbers(data, keys["params_m"], "scalar_keys.params_m", where)
    gflops = per_run_numbers(data, keys["gflops"], "scalar_keys.gflops", where)
    gate_rows = final_values(
        scalars, keys["gate_means"], "scalar_keys.gate_means", where, False, m.gate_step
    )
    check_rows(gate_rows, keys["gate_means"], names, where, low=0, high=1, what=GATE)
    ent_rows = final_values(
        scalars, keys["entropy"], "scalar_keys.entropy", where, False, m.gate_step
    )
    check_rows(ent_rows, keys["entropy"], names, where, low=0)
    methods = {}
    for key, runs in compared.groupby("method", sort=False):
        label = f"{where}, runs of method `{key}`"
        gates = per_block(gate_rows, runs, keys["gate_means"], label)
        ent = per_block(ent_rows, runs, keys["entropy"], label)
        if gates is not None and ent is not None and len(ent) != gates.shape[0]:
            raise InputError(
                f"{label}: `{keys['entropy']}` has {len(ent)} blocks but "
                f"`{keys['gate_means']}` has {gates.shape[0]}"
            )
        methods[key] = coe.MethodResult(
            key=key,
            name=runs["label"].iloc[0],
            accuracy=np.array([accuracy[r] for r in runs["run"]]),
            params_m=cost(params, runs, keys["params_m"], coe.MAX_PARAMS_M, label, warnings),
            gflops=cost(gflops, runs, keys["gflops"], coe.MAX_GFLOPS, label, warnings),
            block_entropy=ent,
            gate_means=gates,
            notes="",
            path=label,
            runs=list(runs["name"]),
        )
    coe.check_methods(methods)
    return methods


GATE = "a gate activation in [0, 1]"


# ---------------------------------------------------------------- the sweeps


@dataclass(frozen=True)
class Sweep:
    """One sweep section: its runs (attribute sweep_from = *value*), the swept value (from the
    attribute *x_from*, set by the parameter *x_parameter*; the table's column *x_name*, at
    least *x_low*: *x_what*), and the fields read per run (field -> required)."""

    title: str
    value_parameter: str
    value: str | None
    x_from: str
    x_parameter: str
    x_name: str
    x_low: float
    x_what: str
    fields: dict


def sweeps(m: Mapping) -> dict[str, Sweep]:
    """The two sweep sections of the report, by their ChainOfExpertsResults attribute."""
    return {
        "ablation": Sweep(
            "experts-per-block ablation",
            "ablation_sweep",
            m.ablation_sweep,
            m.experts_from,
            "experts_from",
            "experts_per_block",
            1,
            "a count of at least 1",
            {"accuracy": True, "params_m": False},
        ),
        "entropy": Sweep(
            "entropy-regularization sweep",
            "entropy_sweep",
            m.entropy_sweep,
            m.entropy_coeff_from,
            "entropy_coeff_from",
            "entropy_coeff",
            0,
            "",
            {"accuracy": True, "avg_entropy": True},
        ),
    }


LIMITS = {  # field -> the checks of its values (fields.check_range arguments)
    "accuracy": {"low": 0, "high": 100, "what": "a percentage in [0, 100]"},
    "avg_entropy": {"low": 0},
    "train_loss": {"low": 0},
    "val_acc": {"low": 0, "high": 100, "what": "a percentage in [0, 100]"},
}


def sweep_points(
    runs: pd.DataFrame, sweep: Sweep, m: Mapping, where: str, warnings: list[str]
) -> pd.DataFrame:
    """Each sweep run's swept value and seed: columns run, name, <x_name> (float), seed_text.
    Runs lacking either are left out with a warning; InputError when none has it."""
    what = f"`{sweep.value}` sweep"
    xs = with_attribute(runs, sweep.x_from, sweep.x_parameter, where, what, warnings)
    points = runs.loc[runs["run"].isin(xs.index), ["run", "name"]].copy()
    points[sweep.x_name] = [
        number(xs[run], f"{where}, run `{name}`", sweep.x_from)
        for run, name in zip(points["run"], points["name"])
    ]
    for name, x in zip(points["name"], points[sweep.x_name]):
        label = f"{where}, run `{name}`"
        fields.check_range(x, label, repr(sweep.x_from), sweep.x_low, what=sweep.x_what)
    if m.seed_from is None:
        points = in_order(points, [sweep.x_name, "name"])
        points["seed_text"] = points.groupby(sweep.x_name).cumcount().astype(str)
        return points
    chosen = runs[runs["run"].isin(points["run"])]
    seeds = with_attribute(chosen, m.seed_from, "seed_from", where, what, warnings)
    points = points[points["run"].isin(seeds.index)].copy()
    points["seed_text"] = points["run"].map(seeds)
    return points


def sweep_table(
    data: trackers.TrackerData,
    runs: pd.DataFrame,
    sweep: Sweep,
    keys: dict[str, str],
    m: Mapping,
    where: str,
    warnings: list[str],
) -> pd.DataFrame | None:
    """The long table the JSON loader gives for a sweep file, from the sweep's *runs* (one run =
    one seed at one swept value): columns x_name, seed (rank of the run's seed among the sweep's
    seeds), then each field read; rows by seed, then swept value. None when no run is left.
    Runs lacking the swept value, the seed or a required field are left out with a warning."""
    names = dict(zip(data.runs["run"], data.runs["name"]))
    table = sweep_points(runs, sweep, m, where, warnings)
    scalars = data.scalars[data.scalars["run"].isin(table["run"])]
    for name, required in sweep.fields.items():
        parameter = f"scalar_keys.{name}"
        if name == "params_m":
            values = per_run_numbers(data, keys[name], parameter, where)
        else:
            rows = final_values(scalars, keys[name], parameter, where, required)
            check_rows(rows, keys[name], names, where, **LIMITS[name])
            values = dict(zip(rows["run"], rows["value"]))
        lacking = sorted(table.loc[~table["run"].isin(values), "name"])
        if required and lacking:
            warnings.append(
                f"{len(lacking)} run(s) of the `{sweep.value}` sweep without `{keys[name]}` "
                f"left out: {named(lacking)}"
            )
            table = table[table["run"].isin(values)].copy()
        if required or len(lacking) < len(table):
            table[name] = table["run"].map(values).astype(float)
    if table.empty:
        return None
    label = f"{where}, runs of the `{sweep.value}` sweep"
    fields.check_percent(table["accuracy"], label, repr(keys["accuracy"]))
    same = table[table.duplicated([sweep.x_name, "seed_text"], keep=False)]
    if not same.empty:
        first = same.iloc[0]
        same = same[
            same[sweep.x_name].eq(first[sweep.x_name]) & same["seed_text"].eq(first["seed_text"])
        ]
        raise InputError(
            f"{label}: runs {named(list(same['name']))} are all at {sweep.x_from} = "
            f"{first[sweep.x_name]:g}, seed `{first['seed_text']}`: keep one in the store"
        )
    ranks = {s: i for i, s in enumerate(sorted(set(table["seed_text"]), key=natural))}
    table["seed"] = table["seed_text"].map(ranks).astype("int64")
    table = in_order(table, ["seed", sweep.x_name])
    return table[[sweep.x_name, "seed", *[f for f in sweep.fields if f in table.columns]]]


def read_sweeps(
    data: trackers.TrackerData,
    runs: pd.DataFrame,
    marks: pd.Series,
    res: coe.ChainOfExpertsResults,
    keys: dict[str, str],
    m: Mapping,
    where: str,
) -> None:
    """Fill res.ablation and res.entropy from the runs marked for each sweep (*marks*: run id ->
    the sweep attribute's value, as text), and res.skipped with what each section says when it
    has no data."""
    found = ", ".join(f"`{v}`" for v in sorted(set(marks), key=natural)) or "none"
    for section, sweep in sweeps(m).items():
        if sweep.value is None:
            res.skipped[section] = (
                f"No {sweep.title} read (`{sweep.value_parameter}` is not set); section skipped."
            )
            continue
        mine = runs[runs["run"].isin(marks[marks == sweep.value].index)]
        if mine.empty:
            res.skipped[section] = (
                f"No {sweep.title} in the store: no run has `{m.sweep_from}` = `{sweep.value}` "
                f"(`sweep_from`, `{sweep.value_parameter}`; values found: {found}); section "
                "skipped."
            )
            continue
        table = sweep_table(data, mine, sweep, keys, m, where, res.warnings)
        setattr(res, section, table)
        res.skipped[section] = (
            f"No {sweep.title}: none of its runs is left (see the warnings); section skipped."
        )


# ---------------------------------------------------------------- the curves


def convergence(
    data: trackers.TrackerData,
    compared: pd.DataFrame,
    keys: dict[str, str],
    where: str,
) -> pd.DataFrame | None:
    """The table the convergence CSV gives (method: display name, seed: the run's seed, epoch:
    step, train_loss, val_acc in %) from the compared runs (method_runs()) that log both keys at
    a step, one curve per run; None when no run logs both."""
    names = dict(zip(data.runs["run"], data.runs["name"]))
    scalars = data.scalars[data.scalars["run"].isin(compared["run"])]
    both = None
    for name in ("train_loss", "val_acc"):
        rows = mapping.series(scalars, keys[name], f"scalar_keys.{name}", where, False)
        rows = rows[["run", "step", "value"]].astype({"run": str})
        check_rows(rows, keys[name], names, where, **LIMITS[name])
        rows = rows.rename(columns={"value": name})
        both = rows if both is None else both.merge(rows, on=["run", "step"])
    if both.empty:
        return None
    fields.check_percent(both["val_acc"], f"{where}, runs compared", repr(keys["val_acc"]))
    methods = list(dict.fromkeys(compared["label"]))
    both["method"] = both["run"].map(dict(zip(compared["run"], compared["label"])))
    both["seed"] = both["run"].map(dict(zip(compared["run"], compared["seed"])))
    both["order"] = both["method"].map({name: i for i, name in enumerate(methods)})
    both["seed_order"] = both["seed"].map(natural)
    curves = both.sort_values(["order", "seed_order", "step"], kind="stable")
    curves = curves.rename(columns={"step": "epoch"}).reset_index(drop=True)
    return curves[["method", "seed", "epoch", "train_loss", "val_acc"]]


# ---------------------------------------------------------------- the whole store


def sweep_marks(runs: pd.DataFrame, m: Mapping, where: str, warnings: list[str]) -> pd.Series:
    """The sweep attribute's value (text) of every run that has it (index: run id); runs of a
    sweep this report does not read are named in a warning."""
    marks = optional_attribute(runs, m.sweep_from, "sweep_from", where)
    marks = pd.Series(dtype=object) if marks is None else marks.dropna().map(text)
    read = [s.value for s in sweeps(m).values() if s.value is not None]
    other = marks[~marks.isin(read)]
    if not other.empty:
        names = runs.set_index("run").loc[other.index, "name"]
        listed = sorted(f"`{n}` ({m.sweep_from} = `{v}`)" for n, v in zip(names, other))
        warnings.append(
            f"{len(other)} run(s) of a sweep this report does not read left out: "
            f"{named(listed, quoted=False)}"
        )
    return marks


def from_tracker(data: trackers.TrackerData, m: Mapping | None = None) -> coe.ChainOfExpertsResults:
    """Everything the report reads, from one store (trackers.read()), by the mapping *m*
    (defaults: the seed's names). The reader's warnings come first in `warnings`."""
    m = m or Mapping()
    keys = keys_of(m.scalar_keys)
    check_templates(keys)
    where = f"{data.tracker} store {paths.relative(data.location)}"
    warnings = list(data.warnings)
    runs = finished_runs(data, warnings)
    if runs.empty:
        raise InputError(f"{where}: no finished run to read")
    marks = sweep_marks(runs, m, where, warnings)
    compared = runs[~runs["run"].isin(marks.index)]
    if compared.empty:
        raise InputError(f"{where}: no run to compare: every run has `{m.sweep_from}` (sweep_from)")
    compared = method_runs(compared, m, where, warnings)
    methods = method_results(data, compared, keys, m, where, warnings)
    compared = compared[compared["method"].isin(methods)]
    res = coe.ChainOfExpertsResults(methods=methods, warnings=warnings, store=where)
    res.field_names = {f: keys[f] for f in coe.FIELD_NAMES}
    read_sweeps(data, runs, marks, res, keys, m, where)
    res.convergence = convergence(data, compared, keys, where)
    res.skipped["convergence"] = (
        f"No convergence data: no compared run logs both `{keys['train_loss']}` and "
        f"`{keys['val_acc']}` at one step; section skipped."
    )
    return res


def load_any(
    source: str | None, json_inputs: dict, m: Mapping | None = None, resolve=paths.resolve_input
) -> coe.ChainOfExpertsResults:
    """The results from the tracker store *source* (trackers.read), or, when *source* is None,
    from the JSON/CSV files *json_inputs* (coe.load's keyword arguments: the notebook's
    method_files, ablation_file, entropy_file, convergence_file). With *source* set, a JSON input
    that differs from the notebook's default (coe.EXAMPLE_INPUTS) is an InputError naming both
    parameters: a report reads one or the other."""
    if source is None:
        return coe.load(**json_inputs, resolve=resolve)
    for name, value in json_inputs.items():
        if value != coe.EXAMPLE_INPUTS[name]:
            raise InputError(
                f"params set both `source` ({source}) and `{name}`: a report reads a tracker "
                f"store or the JSON/CSV files, not both; remove `{name}` or `source`"
            )
    return from_tracker(trackers.read(source), m)
