"""`make params NB=... S=... NAME=...` and the analysis part of `make inspect S=...`: for each
analysis, whether a tracker store can feed it and with which mapping, and the params file that
says so.

Each notebook's mapping parameters and their defaults are read from its `parameters` cell
(labbook.runner.params.notebook_params, papermill's inspector): a parameter named `*_from` names a
run attribute, `*_key` a scalar key (template); the dict parameters of KEY_DICTS name one key per
field (their defaults: the notebook's, else the analysis' own names). What an analysis cannot do
without is REQUIRED (the other sections of a report say when their data are not logged). Each
parameter's value is chosen from the store by labbook.sources.inspect.choose; a parameter whose
default is not found and whose type admits None is set to null (the analysis then does without it,
or reads it another way, as its help says), one whose type does not keeps its default (its section
says it has no data). The file written holds `source` and every choice, each commented with why;
it is checked against the notebook's parameters (labbook.runner.params.validate) before it is
kept. A store lacking a required field gets no file: the error names the field and what the store
holds instead.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labbook import paths
from labbook.runner import params as nb_params
from labbook.sources import inspect as store_inspect
from labbook.sources import trackers

ANALYSES = (
    "credit_assignment",
    "sparse_training",
    "chain_of_experts",
    "nonlinearity_reduction",
    "moe_analysis",
)
REQUIRED = {  # the mapping parameters each analysis cannot do without
    "credit_assignment": {"method_from", "seed_from", "train_acc_key", "test_acc_key"},
    "sparse_training": {
        "metric_names.train_loss",
        "metric_names.val_accuracy",
        "metric_names.activation_rate",
        "metric_names.energy_savings",
        "metric_names.epoch_time",
    },
    "chain_of_experts": {"method_from", "scalar_keys.accuracy"},
    "nonlinearity_reduction": {"approach_from", "train_acc_key", "val_acc_key"},
    "moe_analysis": {"metric_keys.accuracy", "metric_keys.loss"},
}
KEY_DICTS = ("metric_names", "scalar_keys", "metric_keys")  # dict parameters: field -> scalar key
# `*_from` parameters whose help says they may name a scalar key too (their last value)
EITHER = ("run attribute or scalar key",)


def _dict_defaults(notebook: str, name: str, default: dict) -> dict:
    """The fields of a KEY_DICTS parameter and their default keys: the notebook's default, or
    (for sparse training's metric_names, empty by default) the analysis' own names."""
    if default:
        return dict(default)
    if notebook == "sparse_training" and name == "metric_names":
        from labbook.sources.sparse_training import DEFAULT_NAMES

        return dict(DEFAULT_NAMES)
    return {}


@dataclass(frozen=True)
class Slot:
    """One mapping parameter of a notebook: the Want, and whether its type admits None."""

    want: store_inspect.Want
    optional: bool
    either: bool = False  # a `*_from` that may name a scalar key as well


def slots(notebook: str, declared: dict) -> list[Slot]:
    """The mapping parameters of *notebook*, in the order of its parameters cell (*declared*:
    nb_params.notebook_params of the notebook)."""
    required = REQUIRED.get(notebook, set())
    out = []
    for name, p in declared.items():
        if name.endswith("_from") and (p.default is None or isinstance(p.default, str)):
            want = store_inspect.Want(name, "attribute", p.default, name in required)
            out.append(Slot(want, p.optional, any(e in p.help for e in EITHER)))
        elif name.endswith("_key") and (p.default is None or isinstance(p.default, str)):
            want = store_inspect.Want(name, "key", p.default, name in required)
            out.append(Slot(want, p.optional))
        elif name in KEY_DICTS:
            for field, key in _dict_defaults(notebook, name, p.default or {}).items():
                parameter = f"{name}.{field}"
                want = store_inspect.Want(parameter, "key", key, parameter in required, field)
                out.append(Slot(want, False))
    return out


@dataclass
class Proposal:
    """The mapping of one notebook for one store: the choices, and the required fields the
    store lacks (empty: the store can feed the analysis)."""

    notebook: str
    source: str
    choices: list[tuple[Slot, store_inspect.Choice]]
    extra: list[tuple[str, str, str]] = field(default_factory=list)  # (dotted name, value, why)

    @property
    def lacking(self) -> list[store_inspect.Choice]:
        return [c for _, c in self.choices if not c.found]

    @property
    def changed(self) -> list[tuple[Slot, store_inspect.Choice]]:
        """The choices that differ from the parameter's default."""
        return [(s, c) for s, c in self.choices if c.value != s.want.default]


def _choose(data, slot: Slot, per_key: dict[str, int]) -> store_inspect.Choice:
    choice = store_inspect.choose(data, slot.want, per_key)
    if slot.either and choice.value is None:  # not an attribute: perhaps a scalar key
        key = store_inspect.Want(slot.want.parameter, "key", slot.want.default, False)
        by_key = store_inspect.choose(data, key, per_key)
        if by_key.value is not None:
            return by_key
    if choice.found and choice.value is None and not slot.optional:
        return store_inspect.Choice(
            choice.parameter,
            slot.want.default,
            True,
            choice.why.replace(": left out", "") + ": kept (its section says it has no data)",
        )
    return choice


def _moe_type(data, choices: list, declared: dict) -> None:
    """MoE: a run's type comes from `type_from` or, when None, from its tags named in the
    notebook's `moe_types`; without either the store cannot feed the analysis (in *choices*,
    type_from's choice is replaced by one saying which)."""
    known = list(declared["moe_types"].default)
    for i, (slot, c) in enumerate(choices):
        if slot.want.parameter != "type_from" or c.value is not None:
            continue
        tags = [t for t in known if f"tag:{t}" in data.runs.columns]
        why = (
            f"None: each run's type is its tag named in moe_types ({', '.join(tags)})"
            if tags
            else "no run attribute like `type` and no run tag named in moe_types "
            f"({', '.join(known)})"
        )
        choices[i] = (slot, store_inspect.Choice("type_from", None, bool(tags), why))


# Attributes that name the experiment a run belongs to, one per tracker: a store without a dataset
# attribute reads its runs' dataset from the experiment when every run shares one.
EXPERIMENT_TAGS = ("tag:mlflow.experimentName", "tag:wandb.project", "tag:aim.experiment")


def _moe_mapping(data, choices: list, declared: dict) -> list[tuple[str, object, str]]:
    """MoE selects runs by `dataset` and names types by `moe_types`: with a type attribute
    chosen, moe_types maps each of its values to itself (so every run has a type); without a
    dataset attribute or tag, the dataset is the experiment every run shares (said), else the
    store cannot feed the analysis (dataset_from's choice says why)."""
    from labbook.sources.trackers import mapping

    extra = []
    chosen = {s.want.parameter: (i, s, c) for i, (s, c) in enumerate(choices)}
    _, _, type_choice = chosen["type_from"]
    if type_choice.value is not None:
        values = mapping.attribute(data.runs, type_choice.value, "type_from", data.location)
        found = sorted({str(v) for v in values.dropna()})
        extra += [
            (f"moe_types.{v}", v, f"a value of `{type_choice.value}`, named as it is")
            for v in found
        ]
    i, slot, dataset_choice = chosen["dataset_from"]
    dataset = declared["dataset"].default
    if dataset_choice.value is None and f"tag:{dataset}" not in data.runs.columns:
        shared = [
            (c, data.runs[c].dropna().unique())
            for c in EXPERIMENT_TAGS
            if c in data.runs.columns and data.runs[c].notna().all()
        ]
        shared = [(c, v[0]) for c, v in shared if len(v) == 1]
        if shared:
            column, value = shared[0]
            why = (
                f"no run attribute like `dataset` and no tag `{dataset}`: every run shares "
                f"`{column}` = {value!r}, read as the dataset"
            )
            choices[i] = (slot, store_inspect.Choice("dataset_from", column, True, why))
            extra.append(("dataset", str(value), f"the value of `{column}` every run shares"))
        else:
            why = (
                f"no run attribute like `dataset`, no tag `{dataset}` and no experiment every "
                "run shares: set dataset_from to the attribute naming the dataset"
            )
            choices[i] = (slot, store_inspect.Choice("dataset_from", None, False, why))
    return extra


def _sparse_runs(data, choices: list) -> list[tuple[str, str, str]]:
    """Sparse training reads one run of each kind: where the store holds several gated runs,
    run_names.gated names the first by name (said, with the others)."""
    kind = next((c for s, c in choices if s.want.parameter == "kind_from"), None)
    if kind is None or kind.value is None:
        return []
    from labbook.sources.trackers import mapping

    kinds = mapping.attribute(data.runs, kind.value, "kind_from", data.location)
    names = sorted(str(n) for n, k in zip(data.runs["name"], kinds) if str(k).strip() == "gated")
    if len(names) < 2:
        return []
    why = (
        f"{len(names)} gated runs ({', '.join(names)}): the first by name; name another to read it"
    )
    return [("run_names.gated", names[0], why)]


def propose(data, notebook: str, source: str, per_key: dict | None = None) -> Proposal:
    """The mapping of *notebook* for the store *data* (read from *source*); *per_key*:
    labbook.sources.inspect.key_runs(data), when already computed."""
    per_key = store_inspect.key_runs(data) if per_key is None else per_key
    declared = nb_params.notebook_params(paths.notebook_path(notebook))  # read once
    choices = [(s, _choose(data, s, per_key)) for s in slots(notebook, declared)]
    extra = []
    if notebook == "moe_analysis":
        _moe_type(data, choices, declared)
        extra = _moe_mapping(data, choices, declared)
    if notebook == "sparse_training":
        extra = _sparse_runs(data, choices)
    return Proposal(notebook, source, choices, extra)


def verdict(p: Proposal) -> str:
    """One line: whether the store can feed the analysis, and with which parameters set."""
    if p.lacking:
        told = "; ".join(f"`{c.parameter}`: {c.why}" for c in p.lacking)
        return f"{p.notebook}: cannot be fed — {told}"
    changed = [(c.parameter, c.value) for _, c in p.changed] + [(n, v) for n, v, _ in p.extra]
    set_ = ", ".join(f"{n}={v!r}" for n, v in changed) or "every default"
    return f"{p.notebook}: can be fed (make params NB={p.notebook} S=...): {set_}"


def _yaml_value(value) -> str:
    """A scalar as YAML (JSON is YAML): null, a quoted string where plain text would misread."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def params_text(p: Proposal, store: str) -> str:
    """The params file of *p*: `source`, then each choice, commented (module docstring)."""
    lines = [
        f"# {p.notebook} read from the {store}",
        "# Written by `make params` (labbook.runner.proposeparams) from what the store holds",
        "# (`make inspect S=...`). Each mapping parameter says what was chosen and why; a line",
        "# commented out keeps the notebook's default. Check the choices, then: make report",
        "# R=<nb>/<name>.",
        f"source: {_yaml_value(p.source)}",
    ]
    dicts: dict[str, list[str]] = {}
    for dotted, value, why in p.extra:
        name, _, field_ = dotted.partition(".")
        if not field_:  # a parameter of its own
            lines.append(f"{name}: {_yaml_value(value)}  # {why}")
            continue
        dicts.setdefault(name, []).append(f"  {field_}: {_yaml_value(value)}  # {why}")
    for slot, c in p.choices:
        name, _, field = c.parameter.partition(".")
        if field:
            line = f"  {field}: {_yaml_value(c.value)}  # {c.why}"
            dicts.setdefault(name, []).append(line if c.value != slot.want.default else f"#{line}")
        elif c.value == slot.want.default:
            lines.append(f"# {name}: {_yaml_value(c.value)}  # {c.why}")
        else:
            lines.append(f"{name}: {_yaml_value(c.value)}  # {c.why}")
    for name, entries in dicts.items():
        if any(not e.startswith("#") for e in entries):
            lines.append(f"{name}:")
        else:
            lines.append(f"# {name}: every field keeps its default key")
        lines += entries
    return "\n".join(lines) + "\n"


def write(notebook: str, source: str, name: str) -> Path:
    """Write params/<notebook>/<name>.yaml for the store *source* and return its path.
    SystemExit with the reason when the analysis is unknown, the file exists, the store lacks a
    required field, or the written file does not fit the notebook's parameters."""
    if notebook not in ANALYSES:
        raise SystemExit(f"no analysis {notebook!r}; analyses: {', '.join(ANALYSES)}")
    target = paths.params_path(notebook, name)
    if target.exists():
        raise SystemExit(f"{paths.relative(target)} exists; choose another NAME or remove it")
    data = trackers.read(source)
    p = propose(data, notebook, source)
    if p.lacking:
        raise SystemExit(f"no params file written: {verdict(p)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(params_text(p, f"{data.tracker} store {paths.relative(data.location)}"))
    try:
        nb_params.validate(target, paths.notebook_path(notebook))
    except nb_params.ParamsError as exc:
        target.unlink()
        raise SystemExit(f"the params file did not fit the notebook (removed): {exc}") from None
    return target


def inspect_text(source: str) -> str:
    """What `make inspect S=...` prints: the store (labbook.sources.inspect), then each
    analysis' verdict."""
    data = trackers.read_store(source)
    lines = [store_inspect.text(store_inspect.describe(data)), "analyses:"]
    if data.runs.empty:
        lines.append(f"  none can be fed: {trackers.diagnosis(data)}")
    else:
        per_key = store_inspect.key_runs(data)
        lines += [f"  {verdict(propose(data, nb, source, per_key))}" for nb in ANALYSES]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """python -m labbook.runner.proposeparams inspect SOURCE
    python -m labbook.runner.proposeparams params NOTEBOOK SOURCE NAME
    (what `python -m labbook` runs; see labbook.__main__)"""
    from labbook.inputs import InputError

    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) == 2 and args[0] == "inspect":
            print(inspect_text(args[1]))
            return 0
        if len(args) == 4 and args[0] == "params":
            written = write(*args[1:])
            print(f"wrote {paths.relative(written)}:")
            print(written.read_text(), end="")
            return 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
