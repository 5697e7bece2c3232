"""Validate a params YAML file against a notebook's ``parameters`` cell, before any kernel starts.

Every parameter in a notebook is annotated: ``name: TYPE = default  # help``. TYPE is one of
str, int, float, bool, list, dict (optionally subscripted, e.g. list[str]) or ``Optional[TYPE]``
(papermill's inspector does not read ``TYPE | None``).
A parameter whose default is None and whose type does not admit None is required.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

RESERVED = ("output_dir",)  # passed by the runner, never by a params file
_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "list": (list,),
          "dict": (dict,)}


class ParamsError(ValueError):
    """A params file does not fit its notebook; the message names the file and the key."""


@dataclass(frozen=True)
class Param:
    name: str
    types: tuple[type, ...]
    type_name: str
    optional: bool
    default: object
    help: str

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional


def _parse_type(annotation: str, where: str) -> tuple[tuple[type, ...], bool]:
    annotation = annotation.strip()
    optional = annotation.startswith("Optional[") and annotation.endswith("]")
    inner = annotation[len("Optional["):-1] if optional else annotation
    base = inner.split("[", 1)[0].strip()
    if base not in _TYPES:
        raise ParamsError(f"{where}: unsupported parameter type {annotation!r}; use one of {sorted(_TYPES)}")
    return _TYPES[base], optional


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
    unread = [n for n in assigned if n not in declared]
    if unread:  # papermill skips such lines with only a log warning; injection would silently miss them
        raise ParamsError(f"{notebook}: parameter(s) {unread} in the parameters cell cannot be read by papermill "
                          "(one assignment per line, `name: type = value  # help`, no '=' in the comment)")
    out = {}
    for name, p in declared.items():
        where = f"{notebook}: parameter {name!r}"
        annotation = p["inferred_type_name"]
        if annotation in ("None", ""):
            raise ParamsError(f"{where} has no type annotation")
        types, optional = _parse_type(annotation, where)
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            raise ParamsError(f"{where}: default {p['default']!r} is not a literal") from None
        out[name] = Param(name, types, annotation, optional, default, p.get("help", ""))
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


def validate(params_file: Path, notebook: Path) -> dict:
    """Load *params_file* and check it against *notebook*; returns the params. Raises ParamsError
    naming the file and the key for an unknown key, a missing required value or a wrong type."""
    declared = notebook_params(notebook)
    values = load_params(params_file)
    errors = []
    for key, value in values.items():
        if key in RESERVED:
            errors.append(f"{params_file}: key {key!r} is set by the runner and may not appear in a params file")
        elif key not in declared:
            errors.append(f"{params_file}: unknown key {key!r} (the notebook {notebook.name} declares: "
                          f"{', '.join(sorted(k for k in declared if k not in RESERVED))})")
        else:
            p = declared[key]
            ok = (value is None and p.optional) or (
                isinstance(value, p.types) and not (isinstance(value, bool) and bool not in p.types))
            if not ok:
                errors.append(f"{params_file}: key {key!r} must be {p.type_name}, got "
                              f"{type(value).__name__} {value!r}")
    for name, p in declared.items():
        if p.required and name not in values and name not in RESERVED:
            errors.append(f"{params_file}: missing required key {name!r} ({p.type_name}: {p.help})")
    if errors:
        raise ParamsError("\n".join(errors))
    return values
