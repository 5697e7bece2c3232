"""Validate a params YAML file against a notebook's ``parameters`` cell, before any kernel starts.

Every parameter in a notebook is annotated and explained, the help in the comment lines right above
it (or, when it fits, at the end of its line)::

    # figure width (paper column), one of "half", "full"
    column: str = "full"

TYPE is str, int, float, bool, list or dict, subscripted for their items (``list[str]``,
``dict[str, str]``), or ``Optional[TYPE]`` (papermill's inspector does not read ``TYPE | None``).
Values are checked with pydantic in strict mode, nested items included. A parameter whose default
is None and whose type does not admit None is required.

A parameter with a domain says so at the end of its help: ``in (0, 1)``, ``in [0, 1]`` (brackets
include the bound, parentheses exclude it) or ``at least N``. Every problem of a file is reported
at once, each naming the file and the key, with a close match for an unknown key.
"""

import ast
import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RESERVED = ("output_dir",)  # passed by the runner, never by a params file
_NAMES = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}
_INTERVAL = re.compile(
    r"\bin ([\[(])\s*(-?[\d.]+(?:e-?\d+)?)\s*,\s*(-?[\d.]+(?:e-?\d+)?|inf)\s*([\])])"
)
_AT_LEAST = re.compile(r"\bat least (-?[\d.]+)")
_ONE_OF = re.compile(r'\bone of ("[^"]*"(?:\s*,\s*"[^"]*")*)')


class ParamsError(ValueError):
    """A params file does not fit its notebook; the message names the file and the key."""


@dataclass(frozen=True)
class Domain:
    """Allowed numeric range of a parameter, read from its help text."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool

    def contains(self, x: float) -> bool:
        return ((x >= self.low) if self.low_closed else (x > self.low)) and (
            (x <= self.high) if self.high_closed else (x < self.high)
        )

    def __str__(self) -> str:
        if math.isinf(self.high):
            return f"at least {self.low:g}" if self.low_closed else f"more than {self.low:g}"
        return (
            f"{'[' if self.low_closed else '('}{self.low:g}, "
            f"{self.high:g}{']' if self.high_closed else ')'}"
        )


def parse_choices(help_text: str) -> tuple[str, ...] | None:
    """The values a help text allows ('one of "half", "full"'), or None."""
    m = _ONE_OF.search(help_text)
    return tuple(re.findall(r'"([^"]*)"', m.group(1))) if m else None


def parse_domain(help_text: str) -> Domain | None:
    """The domain a help text declares ("in (0, 1)", "in [0, 1]", "at least 1"), or None."""
    m = _INTERVAL.search(help_text)
    if m:
        return Domain(float(m.group(2)), float(m.group(3)), m.group(1) == "[", m.group(4) == "]")
    m = _AT_LEAST.search(help_text)
    if m:
        return Domain(float(m.group(1)), math.inf, True, False)
    return None


@dataclass(frozen=True)
class Param:
    name: str
    type: Any  # a Python type for pydantic, e.g. dict[str, str] or Optional[int]
    type_name: str
    optional: bool
    default: object
    help: str
    domain: Domain | None = None
    choices: tuple[str, ...] | None = None

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional


def _build_type(node: ast.expr, where: str):
    """A type from an annotation's syntax tree: names from _NAMES, subscripts, Optional[...]."""
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        inner = tuple(_build_type(a, where) for a in args)
        if node.value.id == "Optional" and len(inner) == 1:
            return inner[0] | None
        if node.value.id in ("list", "dict") and len(inner) == (
            1 if node.value.id == "list" else 2
        ):
            return _NAMES[node.value.id][inner if len(inner) > 1 else inner[0]]
    raise ParamsError(
        f"{where}: unsupported parameter type {ast.unparse(node)!r}; use str, int, float, bool, "
        "list[...], dict[..., ...] or Optional[...]"
    )


def _parse_type(annotation: str, where: str) -> tuple[Any, bool]:
    try:
        node = ast.parse(annotation.strip(), mode="eval").body
    except SyntaxError:
        raise ParamsError(f"{where}: annotation {annotation!r} is not a type") from None
    optional = (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Optional"
    )
    return _build_type(node, where), optional


def notebook_params(notebook: Path) -> dict[str, Param]:
    """The parameters declared in *notebook*'s cell tagged `parameters`, by name."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ParamsError(f"{notebook}: no cell tagged 'parameters'")
    # papermill's own parser (what --help-notebook shows), independent of the stored kernel name
    declared = {p.name: p._asdict() for p in PythonTranslator.inspect(cells[0])}
    assigned = _assigned_names(cells[0].source, notebook)
    above = _comments_above(cells[0].source)
    unread = [n for n in assigned if n not in declared]
    if (
        unread
    ):  # papermill skips such lines with only a log warning; injection would silently miss them
        raise ParamsError(
            f"{notebook}: parameter(s) {unread} in the parameters cell cannot be read by papermill "
            "(one assignment per line, `name: type = value`, help in the comment above it)"
        )
    out = {}
    for name, p in declared.items():
        where = f"{notebook}: parameter {name!r}"
        annotation = p["inferred_type_name"]
        if annotation in ("None", ""):
            raise ParamsError(f"{where} has no type annotation")
        type_, optional = _parse_type(annotation, where)
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            raise ParamsError(f"{where}: default {p['default']!r} is not a literal") from None
        help_text = " ".join(t for t in (above.get(name, ""), p.get("help", "")) if t)
        out[name] = Param(
            name,
            type_,
            annotation,
            optional,
            default,
            help_text,
            parse_domain(help_text),
            parse_choices(help_text),
        )
    return out


def _comments_above(source: str) -> dict[str, str]:
    """For each name assigned at the top level of *source*, the comment lines directly above its
    assignment, joined with spaces ('' when there are none)."""
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if not isinstance(target, ast.Name):
            continue
        block, i = [], node.lineno - 2
        while i >= 0 and lines[i].lstrip().startswith("#"):
            block.insert(0, lines[i].lstrip().lstrip("#").strip())
            i -= 1
        out[target.id] = " ".join(t for t in block if t)
    return out


def _assigned_names(source: str, notebook: Path) -> list[str]:
    """Names assigned at the top level of the parameters cell, by Python's own parser."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParamsError(f"{notebook}: the parameters cell is not valid Python ({exc})") from None
    names = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def load_params(params_file: Path) -> dict:
    """The mapping in a params YAML file (empty file → {})."""
    try:
        data = yaml.safe_load(Path(params_file).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{params_file}: params file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{params_file}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{params_file}: must be a mapping of parameter names to values")
    return data


def check_value(p: Param, value) -> list[str]:
    """What is wrong with *value* for parameter *p* (type, nested items, domain); [] when valid."""
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(p.type).validate_python(value, strict=True)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            where = "".join(
                f"[{k!r}]" for k in err["loc"] if k not in ("function-after", "nullable")
            )
            got = err.get("input")
            out.append(
                f"must be {p.type_name}"
                + (
                    f"; at {where}: {err['msg'].lower()}, got {got!r}"
                    if where
                    else f", got {type(value).__name__} {value!r}"
                )
            )
        return out[:3]
    if (
        p.domain is not None
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not p.domain.contains(value)
    ):
        return [f"= {value!r} is outside its allowed range {p.domain}"]
    if p.choices is not None and isinstance(value, str) and value not in p.choices:
        close = difflib.get_close_matches(value, p.choices, n=1, cutoff=0.5)
        return [
            f"= {value!r} is not one of {', '.join(map(repr, p.choices))}"
            + (f"; did you mean {close[0]!r}?" if close else "")
        ]
    return []


def validate(params_file: Path, notebook: Path) -> dict:
    """Load *params_file* and check it against *notebook*; returns the params. Raises ParamsError
    listing every problem of the file (an unknown key with the closest declared one, a missing
    required value, a wrong type at any depth, a value outside its domain), each naming the file
    and the key."""
    declared = notebook_params(notebook)
    values = load_params(params_file)
    known = sorted(k for k in declared if k not in RESERVED)
    errors = []
    for key, value in values.items():
        if key in RESERVED:
            errors.append(
                f"{params_file}: key {key!r} is set by the runner and may not appear in a params "
                "file"
            )
        elif key not in declared:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f" (the notebook {notebook.name} declares: {', '.join(known)})"
            )
            errors.append(f"{params_file}: unknown key {key!r}{hint}")
        else:
            errors += [
                f"{params_file}: key {key!r} {problem}"
                for problem in check_value(declared[key], value)
            ]
    for name, p in declared.items():
        if p.required and name not in values and name not in RESERVED:
            errors.append(f"{params_file}: missing required key {name!r} ({p.type_name}: {p.help})")
    if errors:
        raise ParamsError("\n".join(errors))
    return values
