"""Credit-assignment results from an experiment tracker's runs (TensorBoard, MLflow, Aim): the same
`Results` the JSON files give, mapped by the notebook's parameters (defaults: the seed's names).

One run is one method trained from one seed:

    method, seed      run attributes `method`, `seed` (method_from, seed_from: any spec of
                      trackers.mapping.attribute: kind:key, a bare name, name, name:<regex>)
    train_acc         scalar `train_acc` (train_acc_key), one value per epoch, a fraction; None:
                      not read (a store logging only a test metric)
    test_acc          scalar `test_acc` (test_acc_key), one value per epoch, a fraction
    state_pred_error  scalar `state_pred_error` (state_error_key), per epoch; optional
    bp_cosine         `diag/{layer}/bp_cosine` (cosine_key), one key per layer; optional
    perturbation_rho  `diag/{layer}/perturbation_rho` (rho_key); optional
    nudging           `diag/{layer}/nudging/{eta}` (nudging_key), per layer and step size; optional
    drift             `drift/blocks.{block}.w1.weight` (drift_key), per block; optional

Every key but test_acc_key may be None: that field is not read. Per-epoch series: the k-th value
in step order is value k, and its step is kept (`step_unit` says what a step counts: "epoch"
numbers the values 1..n as the JSON lists do, and steps that skip are noted; any other unit
draws the store's own steps); a run logs its per-epoch keys at the same steps. A run that stops
early is kept whole. A fraction or a cosine one float32 rounding step outside its domain is
clipped to it, and noted. Per-layer diagnostics are read at `diagnostics_step` (None: each key's
last step); drift, the distance from the initial weights, at each key's last step. {layer} is a
whole number (else an error); a key under drift_key's folder (`drift/`) that does not match it
with a whole {block} is left over, as the JSON reader leaves drift keys that do not match
drift_pattern.

What the JSON reader rejects is rejected here, by the same field checks, naming the run and the
key; what it leaves out with a note is left out with the same note. Besides: runs lacking the
method or seed attribute are left out with a note (an error when no run has both); runs that did
not finish are kept with a note; two runs of one method and seed are an error naming both.

`load_any` is the notebook's load: the JSON files or the store, an error naming both when both
are set.
"""

import re

import numpy as np
import pandas as pd

from labbook import paths
from labbook.inputs import InputError
from labbook.sources import fields, trackers
from labbook.sources.credit_assignment import (
    EXAMPLE_SEED_FILES,
    FRACTIONS,
    LAYER_DIAGNOSTICS,
    LOG_METRICS,
    Results,
    SeedResult,
    clip_and_record,
    collect,
    load,
)
from labbook.sources.trackers import TrackerData, mapping

# field -> (notebook parameter naming its key, the placeholders its key template must have)
KEY_PARAMETERS = {
    "train_acc": ("train_acc_key", ()),
    "test_acc": ("test_acc_key", ()),
    "state_pred_error": ("state_error_key", ()),
    "bp_cosine": ("cosine_key", ("layer",)),
    "perturbation_rho": ("rho_key", ("layer",)),
    "nudging": ("nudging_key", ("layer", "eta")),
    "drift": ("drift_key", ("block",)),
}
UNFINISHED = ("running", "failed", "killed")  # statuses noted ("unknown": the tracker keeps none)


def seed_text(value) -> str | None:
    """A seed attribute as the seed's name: 42, 42.0 and "42.0" (TensorBoard keeps numbers as
    floats, MLflow as strings) are all "42"; other values as written; None stays None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value)
    return text.split(".")[0] if re.fullmatch(r"-?\d+\.0+", text) else text


def _seed_order(seeds) -> list[str]:
    """Seeds in numeric order when every one is a whole number, else in text order."""
    seeds = sorted(set(seeds))
    if all(re.fullmatch(r"-?\d+", s) for s in seeds):
        return sorted(seeds, key=int)
    return seeds


def check_templates(keys: dict[str, str]) -> None:
    """Each field's key template has exactly the placeholders KEY_PARAMETERS asks for; else an
    InputError naming the parameter."""
    for name, template in keys.items():
        if template is None:
            continue
        parameter, wanted = KEY_PARAMETERS[name]
        found = re.findall(r"\{(\w+)\}", template)
        if sorted(found) != sorted(wanted):
            need = " and ".join(f"{{{w}}}" for w in wanted) or "no placeholder"
            raise InputError(
                f"parameter {parameter} = {template!r}: the key of {name!r} needs {need} "
                f"(it has {', '.join(f'{{{f}}}' for f in found) or 'none'})"
            )


def _whole(frame: pd.DataFrame, column: str, template: str, parameter: str, where: str) -> None:
    """Replace *column* (the {layer} values, str) by ints; InputError naming the key when one is
    not a whole number."""
    bad = ~frame[column].str.fullmatch(r"\d+")
    if bad.any():
        value = frame.loc[bad, column].iloc[0]
        raise InputError(
            f"{where}: key `{template.replace('{' + column + '}', value)}` gives {{{column}}} = "
            f"{value!r}, not a whole number ({parameter} = {template!r})"
        )
    frame[column] = frame[column].astype(int)


def _at_step(rows: pd.DataFrame, by: list[str], step: int | None) -> pd.DataFrame:
    """One row per *by* group: the one at *step*, or each group's last step (step None)."""
    if step is not None:
        return rows[rows["step"] == step]
    return rows.sort_values("step", kind="stable").groupby(by, sort=False).tail(1)


def _check_each(rows: pd.DataFrame, where: str, key, low: float, high: float, what: str) -> None:
    """Every value of *rows* (one per key) in [low, high], by fields.check_range on the first
    one outside: the error names the key (key(row)) and its step."""
    outside = rows[(rows["value"] < low) | (rows["value"] > high)]
    if not outside.empty:
        row = outside.iloc[0]
        label = f"`{key(row)}` at step {int(row['step'])}"
        fields.check_range(float(row["value"]), where, label, low, high, what)


class _Reader:
    """The checked SeedResult of each (seed, method) from one store's series."""

    def __init__(self, data: TrackerData, keys: dict[str, str], step: int | None, where: str):
        self.keys, self.step, self.where = keys, step, where
        self.reader_warnings = data.warnings
        self.names = dict(zip(data.runs["run"].astype(str), data.runs["name"].astype(str)))
        self.series = {}
        for name, template in keys.items():
            if template is None:  # switched off
                self.series[name] = {}
                continue
            parameter = KEY_PARAMETERS[name][0]
            try:
                rows = mapping.series(
                    data.scalars, template, parameter, where, required=name in FRACTIONS
                )
            except InputError as exc:
                if name != "train_acc":
                    raise
                raise InputError(f"{exc} (or `{parameter}: null`: no train curves)") from None
            rows["run"] = rows["run"].astype(str)
            if name == "drift":  # as in the JSON files: a key without a block number is left over
                rows = rows[rows["block"].str.fullmatch(r"\d+")].astype({"block": int})
            elif "layer" in rows and not rows.empty:
                _whole(rows, "layer", template, parameter, where)
            self.series[name] = dict(tuple(rows.groupby("run", sort=False)))
        scalars = data.scalars
        self.run_keys = {
            str(r): set(map(str, k))
            for r, k in scalars.groupby("run", observed=True)["key"].unique().items()
        }
        self.off_step: dict[str, list[str]] = {}  # diagnostic -> runs without diagnostics_step
        self.gaps: dict[str, list[int]] = {}  # run -> its per-epoch steps, where not consecutive
        self.clipped: dict[str, list[tuple[str, float]]] = {}  # run -> (key, value as logged)

    def read(self, run: str) -> SeedResult:
        where = f"{self.where}: run `{self.names[run]}`"
        clipped = self.clipped.setdefault(run, [])
        layers, missing = self._layers(run, where, clipped)
        drift, unmatched = self._drift(run, where)
        log, steps = self._log(run, where, clipped)
        label = f"run `{self.names[run]}`"
        clipped = [(f"{key} of {label}", v) for key, v in clipped]
        return SeedResult(log, layers, drift, missing, unmatched, steps, clipped)

    def _log(
        self, run: str, where: str, clipped: list[tuple[str, float]]
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The run's per-epoch series by field, and their steps."""
        out, steps = {}, {}
        for name in LOG_METRICS:
            rows = self.series[name].get(run)
            template = self.keys[name]
            if rows is None:
                if name in FRACTIONS and template is not None:
                    raise InputError(
                        f"{where}: required key `{template}` is not logged "
                        f"(set by {KEY_PARAMETERS[name][0]})"
                    )
                continue
            rows = rows.sort_values("step", kind="stable")
            values, at = rows["value"].to_numpy(), rows["step"].to_numpy()
            label = f"`{template}` (steps {at[0]}–{at[-1]})"
            if name in FRACTIONS:
                values = clip_and_record(values, 0, 1, f"`{template}`", clipped)
                fields.check_fractions(values, where, label)
            else:
                fields.check_range(values, where, label, 0, what="an error, not negative")
            out[name], steps[name] = values, at
        first = next(iter(steps.values()))
        if (np.diff(first) != 1).any():
            self.gaps[run] = first.tolist()
        odd = [n for n, at in steps.items() if not np.array_equal(at, first)]
        if odd:
            told = "; ".join(
                f"`{self.keys[n]}`: {len(a)} steps {a[0]}–{a[-1]}" for n, a in steps.items()
            )
            raise InputError(
                f"{where}: the per-epoch keys are logged at different steps ({told}); each needs "
                "one value per epoch, at the same steps"
                + trackers.faults_said(self.reader_warnings, run, self.names[run])
            )
        return out, first

    def _layers(
        self, run: str, where: str, clipped: list[tuple[str, float]]
    ) -> tuple[list[tuple], list]:
        rows_out, missing, logged = [], [], False
        read = [n for n in (*LAYER_DIAGNOSTICS, "nudging") if self.keys[n] is not None]
        if not read:  # every diagnostic switched off: none is missing
            return [], []
        for name in read:
            rows = self.series[name].get(run)
            if rows is None:
                missing.append(name)
                continue
            logged = True
            by = ["layer", "eta"] if name == "nudging" else ["layer"]
            picked = _at_step(rows, by, self.step)
            if picked.empty:  # logged, but not at diagnostics_step: its own note, not `missing`
                self.off_step.setdefault(name, []).append(run)
                continue
            template = self.keys[name]
            if name != "nudging":
                values, n = fields.clip_rounding(picked["value"].to_numpy(), -1, 1)
                if n:
                    changed = picked["value"].to_numpy() != values
                    clipped.append((f"`{template}`", float(picked["value"].to_numpy()[changed][0])))
                    picked = picked.assign(value=values)
                _check_each(
                    picked,
                    where,
                    lambda r, t=template: t.replace("{layer}", str(r["layer"])),
                    -1,
                    1,
                    "a cosine or correlation in [-1, 1]",
                )
            picked = picked.sort_values(by[::-1], kind="stable")
            etas = picked["eta"] if name == "nudging" else [None] * len(picked)
            rows_out += [
                (name, eta, int(layer), float(v))
                for eta, layer, v in zip(etas, picked["layer"], picked["value"])
            ]
        return rows_out, (missing if logged else [None])

    def _drift(self, run: str, where: str) -> tuple[list[tuple], set]:
        template = self.keys["drift"]
        if template is None:  # switched off
            return [], set()
        head = template.split("{")[0]
        prefix = head[: head.rfind("/") + 1] or head
        rows = self.series["drift"].get(run)
        matched = set()
        out = []
        if rows is not None:
            picked = _at_step(rows, ["block"], None).sort_values("block", kind="stable")
            _check_each(
                picked,
                where,
                lambda r: template.replace("{block}", str(r["block"])),
                0,
                np.inf,
                "a relative drift, not negative",
            )
            out = [(int(b), float(v)) for b, v in zip(picked["block"], picked["value"])]
            matched = {template.replace("{block}", str(b)) for b in picked["block"]}
        under = {k for k in self.run_keys.get(run, ()) if k.startswith(prefix)}
        return out, under - matched


def from_tracker(
    data: TrackerData,
    methods: list[str] | None = None,
    method_from: str = "method",
    seed_from: str = "seed",
    train_acc_key: str | None = "train_acc",
    test_acc_key: str = "test_acc",
    state_error_key: str | None = "state_pred_error",
    cosine_key: str | None = "diag/{layer}/bp_cosine",
    rho_key: str | None = "diag/{layer}/perturbation_rho",
    nudging_key: str | None = "diag/{layer}/nudging/{eta}",
    drift_key: str | None = "drift/blocks.{block}.w1.weight",
    diagnostics_step: int | None = None,
    step_unit: str = "step",
) -> Results:
    """The Results of the runs in *data* (see the module docstring for the mapping).

    methods: the ones to analyse, in this order (None or empty: every method the runs have, in
    text order); step_unit: what one logged step counts ("epoch" when the runs log one value per
    epoch; the Results' unit). The notes start with the reader's warnings about the store."""
    if test_acc_key is None:
        raise InputError("parameter test_acc_key is null: the final scores need the test metric")
    keys = {
        "train_acc": train_acc_key,
        "test_acc": test_acc_key,
        "state_pred_error": state_error_key,
        "bp_cosine": cosine_key,
        "perturbation_rho": rho_key,
        "nudging": nudging_key,
        "drift": drift_key,
    }
    check_templates(keys)
    where = f"{data.tracker}:{paths.relative(data.location)}"
    notes = list(data.warnings)
    runs = data.runs.assign(run=data.runs["run"].astype(str))
    if runs.empty:
        raise InputError(f"{where}: the store holds no runs")
    method = mapping.attribute(runs, method_from, "method_from", where).map(
        lambda v: None if v is None else str(v)
    )
    seed = mapping.attribute(runs, seed_from, "seed_from", where).map(seed_text)
    names = dict(zip(runs["run"], runs["name"].astype(str)))
    lacking = [r for r in runs["run"] if method[r] is None or seed[r] is None]
    if len(lacking) == len(runs):
        raise InputError(
            f"{where}: no run has both a method (method_from = {method_from!r}) and a seed "
            f"(seed_from = {seed_from!r})"
        )
    if lacking:
        notes.append(
            f"{len(lacking)} run(s) lack the method ({method_from!r}) or the seed "
            f"({seed_from!r}) and are left out: {_names(lacking, names)}."
        )
    kept = runs[~runs["run"].isin(lacking)]
    found = sorted(set(method[kept["run"]]))
    wanted = list(methods) if methods else found
    kept = kept[kept["run"].map(method).isin(wanted)]
    run_of = _run_of(kept, method, seed, names, where)
    unfinished = kept[kept["status"].isin(UNFINISHED)]
    if not unfinished.empty:
        told = ", ".join(f"`{n}` ({s})" for n, s in zip(unfinished["name"], unfinished["status"]))
        notes.append(f"Run(s) that did not finish, kept with the values they logged: {told}.")
    seeds = _seed_order(s for _, s in run_of)
    reader = _Reader(data, keys, diagnostics_step, where)

    def have(m: str) -> list[str]:
        holding = [s for s in seeds if (m, s) in run_of]
        if not holding:
            raise InputError(
                f"{where}: method {m!r} has no run (methods of the runs, by method_from = "
                f"{method_from!r}: {', '.join(repr(f) for f in found)})"
            )
        return holding

    def absent(m: str, lacking_seeds: list[str]) -> str:
        return f"no run in {where}"

    present, curves, diagnostics, drift, collected = collect(
        seeds, wanted, have, lambda s, m: reader.read(run_of[(m, s)]), absent, drift_key, step_unit
    )
    if reader.gaps and step_unit == "epoch":
        run, at = next(iter(reader.gaps.items()))
        shown = ", ".join(map(str, at[:4])) + (", …" if len(at) > 4 else "")
        collected.append(
            f"Run(s) {_names(reader.gaps, names)} log their per-epoch keys at steps that do not "
            f"follow one another (`{names[run]}`: {shown}): epoch k is the k-th value logged."
        )
    for name in [n for n in (*LAYER_DIAGNOSTICS, "nudging") if n in reader.off_step]:
        collected.append(
            f"Run(s) {_names(reader.off_step[name], names)} do not log `{keys[name]}` at step "
            f"{diagnostics_step} (diagnostics_step): {name!r} left out for them."
        )
    return Results(
        seeds=seeds,
        methods=present,
        curves=curves,
        diagnostics=diagnostics,
        drift=drift,
        files={},
        notes=notes + collected,
        keys=keys,
        runs={s: [names[run_of[(m, s)]] for m in present if (m, s) in run_of] for s in seeds},
        store=where,
        unit=step_unit,
    )


def _names(runs, names: dict[str, str], shown: int = 5) -> str:
    """'`a`, `b`, … (7 in all)' for run ids *runs*, by name, in name order."""
    told = sorted(names[r] for r in runs)
    text = ", ".join(f"`{n}`" for n in told[:shown])
    return text + (f", … ({len(told)} in all)" if len(told) > shown else "")


def _run_of(
    kept: pd.DataFrame, method: pd.Series, seed: pd.Series, names: dict[str, str], where: str
) -> dict[tuple[str, str], str]:
    """(method, seed) -> run id; InputError naming the runs when two share a method and seed."""
    out: dict[tuple[str, str], str] = {}
    for run in sorted(kept["run"], key=lambda r: names[r]):
        pair = (method[run], seed[run])
        if pair in out:
            raise InputError(
                f"{where}: runs `{names[out[pair]]}` and `{names[run]}` are both method "
                f"{pair[0]!r}, seed {pair[1]!r}: keep one (or map method_from / seed_from so "
                "they differ)"
            )
        out[pair] = run
    return out


def load_any(
    source: str | None,
    seed_files: dict | None,
    methods: list[str] | None = None,
    drift_pattern: str = "blocks.{i}.w1.weight",
    step_unit: str | None = None,
    **mapping,
) -> Results:
    """Results from the notebook's inputs: the tracker store *source* (read with
    trackers.read, mapped by *mapping*: the keyword parameters of from_tracker), or the JSON
    files *seed_files* ({seed: path, relative to the repo root}; None:
    credit_assignment.EXAMPLE_SEED_FILES). step_unit: what one logged value counts (None:
    "epoch" for the JSON files, whose lists hold one value per epoch; "step" for a store).
    InputError naming both parameters when both are given."""
    if source is not None and seed_files is not None:
        raise InputError(
            f"parameters `source` ({source!r}) and `seed_files` are both set: read either a "
            "tracker store (source) or the results JSON files (seed_files); remove one of them"
        )
    if source is None:
        files = EXAMPLE_SEED_FILES if seed_files is None else seed_files
        results = load(
            {s: paths.resolve_input(p) for s, p in files.items()}, methods, drift_pattern
        )
        results.unit = step_unit or "epoch"
        return results
    return from_tracker(trackers.read(source), methods, **mapping, step_unit=step_unit or "step")
