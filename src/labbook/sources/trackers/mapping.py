"""From a tracker's runs and scalars to the fields an analysis needs, by the notebook's mapping
parameters: which run attribute (or which pattern over the run name) gives the method, seed,
dataset or type, and which scalar key feeds each field.

Attribute specs:
- ``"param:method"``: that attribute column exactly (kinds: tag, param, hparam, config, summary);
- ``"method"``: the first kind that has an attribute of that name (tag, param, hparam, config,
  summary, in that order);
- ``"name"``: the run's name; ``"name:<regex>"``: the first group of the regex searched in the name
  (``"name:_s(\\d+)$"`` takes 3 from ``fixed_50_s3``).

Key templates: a scalar key with ``{placeholder}`` parts, e.g. ``"diag/{layer}/bp_cosine"``; each
placeholder matches one or more characters other than ``/`` and comes back as a column.

A spec or key that matches nothing is an InputError that lists what the store does hold and the
closest names, and names the parameter to set; when the reader left runs out, it says that first
("2 of 5 runs could not be read: …; no run attribute `seed` …": trackers.check_runs attaches the
reader's diagnosis to the tables).
"""

import difflib
import re

import pandas as pd

from labbook.inputs import InputError
from labbook.sources.trackers import base as trackers

SHOWN = 8  # names listed in an error message


def _closest(wanted: str, names, n: int = 3) -> list[str]:
    return difflib.get_close_matches(wanted, list(names), n=n, cutoff=0.5)


def _listing(names) -> str:
    names = sorted(names)
    shown = ", ".join(f"`{n}`" for n in names[:SHOWN])
    return shown + (f", … ({len(names)} in all)" if len(names) > SHOWN else "")


def check_keys(given: dict, allowed, parameter: str) -> None:
    """InputError when the mapping dict *given* (the notebook parameter *parameter*, e.g.
    metric_names) has a key that is none of *allowed*, naming the closest: a key that is not read
    would leave the default in place without a word (`activation_rates` for `activation_rate`)."""
    allowed = list(allowed)
    unknown = [k for k in given if k not in allowed]
    if not unknown:
        return
    near = {k: _closest(str(k), allowed, n=1) for k in unknown}
    hint = "; ".join(f"did you mean {n[0]!r} for {k!r}?" for k, n in near.items() if n)
    raise InputError(
        f"{parameter}: unknown key(s) {', '.join(map(repr, unknown))}; the keys are "
        f"{', '.join(allowed)}" + (f" ({hint})" if hint else "")
    )


def said_first(frame: pd.DataFrame) -> str:
    """The reader's diagnosis carried by *frame* (trackers.check_runs), as the first words of an
    error ("2 of 5 runs could not be read: …; "), or ""."""
    said = frame.attrs.get(trackers.DIAGNOSIS, "")
    return f"{said}; " if said else ""


def attribute_names(runs: pd.DataFrame) -> list[str]:
    """The attribute columns of a runs table ("param:lr", "tag:dataset", ...)."""
    return [c for c in runs.columns if ":" in c]


def attribute(runs: pd.DataFrame, spec: str, parameter: str, location: str) -> pd.Series:
    """The value of *spec* for every run (index: run id; None where a run lacks it).
    *parameter* names the notebook parameter that set *spec* (for the error message)."""
    by_run = runs.set_index("run")
    if spec == "name":
        return by_run["name"].astype(object)
    if spec.startswith("name:"):
        try:
            pattern = re.compile(spec[5:])
        except re.error as exc:
            raise InputError(f"{parameter}: {spec!r} is not a valid pattern ({exc})") from None
        if pattern.groups < 1:
            raise InputError(f"{parameter}: {spec!r} needs one (group) to take from the run name")

        def take(name):
            m = pattern.search(str(name))
            return m.group(1) if m else None

        values = by_run["name"].map(take).astype(object)
        if values.isna().all():
            raise InputError(
                f"{location}: {said_first(runs)}{parameter} = {spec!r} matches no run name (names: "
                f"{_listing(by_run['name'].astype(str).unique())})"
            )
        return values
    names = attribute_names(runs)
    if ":" in spec:
        column = spec if spec in names else None
    else:
        column = next(
            (f"{k}:{spec}" for k in trackers.ATTRIBUTE_KINDS if f"{k}:{spec}" in names), None
        )
    if column is None:
        bare = {n.split(":", 1)[1]: n for n in names}
        near = _closest(spec, names) or [bare[b] for b in _closest(spec.split(":")[-1], bare)]
        hint = f"; closest: {', '.join(f'`{c}`' for c in near)}" if near else ""
        held = _listing(names) if names else "none"
        raise InputError(
            f"{location}: {said_first(runs)}no run attribute `{spec}` (set by {parameter}); the "
            "runs have "
            f"{held}{hint}: set `{parameter}` to one of them, or to name:<pattern> to take it "
            "from the run name"
        )
    return by_run[column].astype(object).where(by_run[column].notna(), None)


def key_regex(template: str) -> tuple[re.Pattern, list[str]]:
    """The regex matching the keys of *template* and its placeholder names, in order."""
    names = re.findall(r"\{(\w+)\}", template)
    parts = re.split(r"\{\w+\}", template)
    body = "".join(
        re.escape(part) + (f"(?P<{names[i]}>[^/]+?)" if i < len(names) else "")
        for i, part in enumerate(parts)
    )
    return re.compile(f"^{body}$"), names


def series(
    scalars: pd.DataFrame, template: str, parameter: str, location: str, required: bool = True
) -> pd.DataFrame:
    """The scalars whose key matches *template*: columns run, step, value, wall_time and one per
    placeholder (str). An empty frame when nothing matches and not *required*; else an
    InputError listing the keys the runs do log and the closest ones."""
    regex, names = key_regex(template)
    keys = pd.Series(scalars["key"].unique(), dtype=object)
    matched = keys[keys.map(lambda k: bool(regex.match(k)))]
    if matched.empty:
        if not required:
            return pd.DataFrame(columns=["run", "step", "value", "wall_time", *names])
        raise missing_key(template, parameter, location, keys, said_first(scalars))
    rows = scalars[scalars["key"].isin(set(matched))]
    out = rows[["run", "step", "value", "wall_time"]].copy()
    if names:
        parts = rows["key"].str.extract(regex)
        for n in names:
            out[n] = parts[n].to_numpy()
    return out.reset_index(drop=True)


def missing_key(template: str, parameter: str, location: str, keys, said: str = "") -> InputError:
    """'no scalar `test_acc`; the runs log `eval/accuracy`, `train/loss`, …: set `keys.test_acc`',
    after *said* (said_first: the reader's diagnosis, when it left runs out)."""
    keys = [str(k) for k in keys]
    near = _closest(template, keys)
    hint = f" (closest: {', '.join(f'`{k}`' for k in near)})" if near else ""
    logged = _listing(keys) if keys else "nothing"
    return InputError(
        f"{location}: {said}no scalar `{template}`; the runs log {logged}{hint}: set `{parameter}`"
    )
