"""What a tracker store holds, and which of its attributes and keys fit an analysis' mapping.

    data = trackers.read_store("runs/")
    print(text(describe(data)))          # runs by status, attributes, scalar keys, warnings
    choice = choose(data, Want("method_from", "attribute", "method", required=True))

`describe` summarises a store read by the tracker layer (labbook.sources.trackers): the tracker,
the runs counted by status, every run attribute with its number of distinct values and the first
few, every scalar key with the number of runs logging it, its steps (first and last over all runs;
each run's last step: min, median, max) and its value range, and the reader's warnings (runs it
left out first). `choose` picks the value of one mapping parameter for a store: the parameter's
default when it finds something there (through trackers.mapping, as the analyses resolve it), else
the closest attribute or key by name, else nothing, each with the reason in words. Read-only: it
looks at the two tables, never at the store.
"""

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labbook.inputs import InputError
from labbook.sources.trackers import base, mapping
from labbook.sources.trackers.base import ATTRIBUTE_KINDS, STATUSES, TrackerData, diagnosis

FIRST = 4  # values shown per attribute
CUTOFF = 0.85  # difflib ratio from which a name counts as close (after the word rules)


@dataclass(frozen=True)
class Attribute:
    """One run attribute: its column (`param:lr`), the runs that have it, its distinct values
    (count) and the first FIRST of them in sorted order (as text)."""

    column: str
    runs: int
    distinct: int
    first: tuple[str, ...]


@dataclass(frozen=True)
class Key:
    """One scalar key: the runs logging it, values logged, first and last step over all runs,
    each run's last step (min, median, max over the runs) and the value range."""

    key: str
    runs: int
    values: int
    step_min: int
    step_max: int
    last_min: int
    last_median: float
    last_max: int
    value_min: float
    value_max: float


@dataclass
class Description:
    """What one store holds (see describe)."""

    tracker: str
    location: str
    runs: int
    statuses: dict[str, int]
    attributes: list[Attribute]
    keys: list[Key]
    warnings: list[str] = field(default_factory=list)
    diagnosis: str = ""


def _shown(value) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:29] + "…"


def describe(data: TrackerData) -> Description:
    """The summary of *data* (module docstring); a store without runs gives empty lists."""
    runs, scalars = data.runs, data.scalars
    statuses = {s: int((runs["status"] == s).sum()) for s in STATUSES}
    attributes = []
    for column in mapping.attribute_names(runs):
        present = runs[column].dropna()
        values = sorted({_shown(v) for v in present})
        attributes.append(Attribute(column, len(present), len(values), tuple(values[:FIRST])))
    keys = []
    if not scalars.empty:
        # grouped on the categorical columns as they are (a million-row store: no str copies)
        frame = scalars.astype({"run": "category", "key": "category"})
        last = frame.groupby(["key", "run"], sort=True, observed=True)["step"].max()
        whole = frame.groupby("key", sort=True, observed=True).agg(
            runs=("run", "nunique"),
            values=("value", "size"),
            step_min=("step", "min"),
            step_max=("step", "max"),
            value_min=("value", "min"),
            value_max=("value", "max"),
        )
        ends_of = {k: g.to_numpy() for k, g in last.groupby(level=0, observed=True)}
        for key, row in whole.iterrows():
            ends = ends_of[key]
            keys.append(
                Key(
                    str(key),
                    int(row["runs"]),
                    int(row["values"]),
                    int(row["step_min"]),
                    int(row["step_max"]),
                    int(ends.min()),
                    float(np.median(ends)),
                    int(ends.max()),
                    float(row["value_min"]),
                    float(row["value_max"]),
                )
            )
    return Description(
        data.tracker,
        data.location,
        len(runs),
        {s: n for s, n in statuses.items() if n},
        attributes,
        keys,
        list(data.warnings),
        diagnosis(data),
    )


def _number(x: float) -> str:
    return f"{x:.4g}"


GROUP_FROM = 3  # keys that differ only in their numbers, from which they are shown as one line


def grouped(keys: list[Key]) -> list[tuple[str, Key]]:
    """(shown name, Key) for the lines of `text`: keys that differ only in their numbers
    (`diag/0/bp_cosine`, `diag/1/bp_cosine`, ...), GROUP_FROM or more, as one line named with
    `{n}` and the count (`diag/{n}/bp_cosine (12 keys)`), its numbers over them all: the most
    runs, the widest steps and values, the min, median and max of every run's last step."""
    groups: dict[str, list[Key]] = {}
    for k in keys:
        groups.setdefault(re.sub(r"\d+(\.\d+)?", "{n}", k.key), []).append(k)
    out = []
    for k in keys:
        pattern = re.sub(r"\d+(\.\d+)?", "{n}", k.key)
        members = groups.get(pattern, [])
        if len(members) < GROUP_FROM:
            out.append((k.key, k))
        elif members[0] is k:
            merged = Key(
                pattern,
                max(m.runs for m in members),
                sum(m.values for m in members),
                min(m.step_min for m in members),
                max(m.step_max for m in members),
                min(m.last_min for m in members),
                float(np.median([m.last_median for m in members])),
                max(m.last_max for m in members),
                min(m.value_min for m in members),
                max(m.value_max for m in members),
            )
            out.append((f"{pattern} ({len(members)} keys)", merged))
    return out


def text(d: Description) -> str:
    """*d* as lines for a terminal: the store, runs, attributes, keys, then the warnings."""
    by_status = ", ".join(f"{n} {s}" for s, n in d.statuses.items()) or "none"
    lines = [f"{d.tracker} store {d.location}", f"runs: {d.runs} ({by_status})"]
    if d.diagnosis and d.diagnosis != "the store holds no run":
        lines.append(f"  {d.diagnosis}")
    lines.append(f"run attributes: {len(d.attributes)}" + ("" if d.attributes else " (none)"))
    width = max((len(a.column) for a in d.attributes), default=0)
    for a in d.attributes:
        more = ", …" if a.distinct > len(a.first) else ""
        lines.append(
            f"  {a.column:<{width}}  {a.runs} run(s), {a.distinct} value(s): "
            f"{', '.join(a.first)}{more}"
        )
    lines.append(f"scalar keys: {len(d.keys)}" + ("" if d.keys else " (none)"))
    shown = grouped(d.keys)
    width = max((len(name) for name, _ in shown), default=0)
    for name, k in shown:
        lines.append(
            f"  {name:<{width}}  {k.runs} run(s), steps {k.step_min}–{k.step_max}, last step "
            f"per run {k.last_min}/{k.last_median:g}/{k.last_max} (min/median/max), values "
            f"{_number(k.value_min)} to {_number(k.value_max)}"
        )
    lines.append(f"warnings of the reader: {len(d.warnings)}" + ("" if d.warnings else " (none)"))
    lines += [f"  - {w}" for w in d.warnings]
    return "\n".join(lines)


# ---------------------------------------------------------------- fitting a mapping parameter


@dataclass(frozen=True)
class Want:
    """One mapping parameter of an analysis: its name (`method_from`, `metric_names.epoch_time`),
    whether it names a run attribute or a scalar key (template), its default, whether the
    analysis cannot do without it, and the word it stands for (to find a close name; the
    default's own name when empty)."""

    parameter: str
    kind: str  # "attribute" or "key"
    default: str | None
    required: bool
    role: str = ""


@dataclass(frozen=True)
class Choice:
    """The value chosen for a Want (None: nothing fits), whether it was found in the store, and
    why, in words (the comment the params writer puts beside it)."""

    parameter: str
    value: str | None
    found: bool
    why: str


def _tail(name: str) -> str:
    """The last part of a key or attribute name: `eval/test_acc[subset:val]` -> `test_acc`."""
    name = re.sub(r"\[.*\]$", "", name)  # an Aim context: `loss[subset:val]`
    kind, sep, rest = name.partition(":")
    if sep and kind in ATTRIBUTE_KINDS:  # an attribute column: `param:lr`
        name = rest
    return re.split(r"[/.]", name)[-1]


def _close(wanted: str, name: str) -> float:
    """How close *name* is to *wanted* (0 to 1): 1 for the same last part (`test_acc`,
    `eval/test_acc`), 0.9 when one last part holds the other as words (`accuracy`,
    `val_accuracy`), else difflib's ratio of the last parts when at least CUTOFF (plurals,
    typos: `activation_rates`), else 0. Names that only share a prefix (`train_loss`,
    `train_acc`) are not close."""
    a, b = _tail(wanted).lower(), _tail(name).lower()
    if a == b:
        return 1.0
    words_a, words_b = set(re.split(r"[_\-\s]+", a)), set(re.split(r"[_\-\s]+", b))
    if words_a <= words_b or words_b <= words_a:
        return 0.9
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= CUTOFF else 0.0


def _closest(wanted: str, names: list[str]) -> list[str]:
    """*names* close to *wanted* (_close), best first."""
    scored = [(-_close(wanted, n), n) for n in names]
    return [n for score, n in sorted(scored) if score < 0]


def _values_said(values: pd.Series) -> str:
    """'3 value(s): bp, dfa, fa' (the first FIRST, sorted)."""
    found = sorted({_shown(v) for v in values.dropna()})
    more = ", …" if len(found) > FIRST else ""
    return f"{len(found)} value(s): {', '.join(found[:FIRST])}{more}"


# The trackers' own bookkeeping (`tag:mlflow.source.type`, `tag:wandb.project`, ...): never what a
# mapping parameter means by its name (a method, a type, a seed), so never chosen by name.
TRACKER_OWN = tuple(f"tag:{prefix}" for prefix in base.TRACKER_OWN)


def _attribute_choice(data: TrackerData, want: Want) -> Choice:
    runs = data.runs
    spec = want.default
    if spec is not None:
        try:
            values = mapping.attribute(runs, spec, want.parameter, data.location)
        except InputError:
            values = None
        if values is not None and values.notna().any():
            return Choice(
                want.parameter,
                spec,
                True,
                f"the default, found in {int(values.notna().sum())} of {len(runs)} run(s): "
                + _values_said(values),
            )
    role = want.role or (spec or want.parameter.removesuffix("_from"))
    columns = [c for c in mapping.attribute_names(runs) if not c.startswith(TRACKER_OWN)]
    near = _closest(role, columns)
    if near:
        best = max(near, key=lambda c: (runs[c].notna().sum(), -near.index(c)))
        return Choice(
            want.parameter,
            best,
            True,
            (f"no attribute `{spec}`; " if spec is not None else "")
            + f"`{best}` is the closest name to `{role}` "
            f"({int(runs[best].notna().sum())} of {len(runs)} run(s), "
            + _values_said(runs[best])
            + ")",
        )
    if want.required:
        return Choice(want.parameter, spec, False, f"the store has no run attribute like `{role}`")
    return Choice(want.parameter, None, True, f"no run attribute like `{role}`: left out")


def key_runs(data: TrackerData) -> dict[str, int]:
    """{scalar key: number of runs logging it} (computed once per store, for choose)."""
    if data.scalars.empty:
        return {}
    frame = data.scalars.astype({"run": "category", "key": "category"})
    counts = frame.groupby("key", observed=True)["run"].nunique()
    return {str(k): int(n) for k, n in counts.items()}


def _key_choice(data: TrackerData, want: Want, per_key: dict[str, int]) -> Choice:
    keys = sorted(per_key)
    template = want.default
    if template is not None:
        regex, _ = mapping.key_regex(template)
        matched = [k for k in keys if regex.match(k)]
        if matched:
            runs = max(per_key[k] for k in matched)
            what = f"`{matched[0]}`" if len(matched) == 1 else f"{len(matched)} keys"
            by = f"{runs} run(s)" if len(matched) == 1 else f"up to {runs} run(s) each"
            return Choice(want.parameter, template, True, f"the default: {what} logged by {by}")
    role = want.role or (template or want.parameter)
    near = [] if template is not None and "{" in template else _closest(role, keys)
    if near:
        best = max(near, key=lambda k: (per_key[k], -near.index(k)))
        return Choice(
            want.parameter,
            best,
            True,
            f"no key `{template}`; `{best}` is the closest name to `{role}` "
            f"(logged by {per_key[best]} run(s))",
        )
    if want.required:
        return Choice(want.parameter, template, False, f"the runs log no key like `{role}`")
    return Choice(want.parameter, None, True, f"no key like `{role}`: left out")


def choose(data: TrackerData, want: Want, per_key: dict[str, int] | None = None) -> Choice:
    """The value of one mapping parameter for the store *data* (module docstring); *per_key*:
    key_runs(data), when already computed."""
    if want.kind == "attribute":
        return _attribute_choice(data, want)
    if want.kind == "key":
        return _key_choice(data, want, key_runs(data) if per_key is None else per_key)
    raise ValueError(f"a Want's kind is 'attribute' or 'key', got {want.kind!r}")
