"""Field checks shared by the JSON adapters: each raises InputError naming the file
and the field."""

import math
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from labbook.inputs import InputError


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _present(doc: dict, field: str, path: Path, required: bool, label: str | None = None) -> bool:
    """True when doc has a non-null *field*; InputError when it has not and it is required."""
    if field in doc and doc[field] is not None:
        return True
    if required:
        raise InputError(f"{path}: required field {label or repr(field)} is missing")
    return False


def _check_numbers(values: list, path: Path, label: str) -> None:
    """Every entry of *values* a finite number; else InputError naming label[index]."""
    for i, x in enumerate(values):
        if not _is_number(x):
            raise InputError(f"{path}: field {label}[{i}] must be a finite number, got {x!r}")


def number(doc: dict, field: str, path: Path, required: bool = True) -> float | None:
    """doc[field] as a finite float; None when absent and not required."""
    if not _present(doc, field, path, required):
        return None
    v = doc[field]
    if not _is_number(v):
        raise InputError(f"{path}: field {field!r} must be a finite number, got {v!r}")
    return float(v)


def samples(doc: dict, field: str, path: Path, required: bool = True) -> np.ndarray | None:
    """doc[field] as array(seeds): a number (one seed) or a non-empty list of numbers (per seed)."""
    if not _present(doc, field, path, required):
        return None
    v = doc[field]
    if not isinstance(v, list):
        return np.asarray([number(doc, field, path)])
    if not v:
        raise InputError(f"{path}: field {field!r} is an empty list")
    _check_numbers(v, path, repr(field))
    return np.asarray(v, dtype=float)


def vector(
    doc: dict,
    field: str,
    path: Path,
    required: bool = True,
    length: int | None = None,
    where: str | None = None,
) -> np.ndarray | None:
    """doc[field] as array(n) of finite numbers (optionally of a given length). Errors name the
    field as *where* (e.g. "42.bp.log.test_acc" for a nested field) when given."""
    label = repr(where or field)
    if not _present(doc, field, path, required, label):
        return None
    v = doc[field]
    if not isinstance(v, list) or not v:
        raise InputError(f"{path}: field {label} must be a non-empty list of numbers, got {v!r}")
    _check_numbers(v, path, label)
    if length is not None and len(v) != length:
        raise InputError(f"{path}: field {label} has {len(v)} entries, expected {length}")
    return np.asarray(v, dtype=float)


def per_epoch_vectors(
    doc: dict,
    names: Mapping[str, str],
    path: Path,
    required: Collection[str],
    fractions: Collection[str],
    where: str,
) -> dict[str, np.ndarray]:
    """The per-epoch lists of *doc* (the object at field *where*), read and checked together.

    names: our name -> the field's name in *doc*, in reading order; required: our names that must
    be present (others are left out when absent); fractions: our names whose values must lie in
    [0, 1]. Returns {our name: array(epochs)}, every list of the same length; InputError naming
    the file and the field ("where.field") otherwise.
    """
    out = {}
    for ours, theirs in names.items():
        label = f"{where}.{theirs}"
        values = vector(doc, theirs, path, required=ours in required, where=label)
        if values is None:
            continue
        if ours in fractions:
            check_fractions(values, path, repr(label))
        out[ours] = values
    lengths = {names[k]: len(v) for k, v in out.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{path}: field '{where}' has lists of different lengths {lengths}")
    return out


def check_fractions(values: np.ndarray, path: Path, label: str) -> None:
    """Every entry of *values* in [0, 1]; else InputError naming label[index] (with a hint when
    the values look like percentages)."""
    outside = (values < 0) | (values > 1)
    if outside.any():
        bad = int(np.nonzero(outside)[0][0])
        raise InputError(
            f"{path}: field {label}[{bad}] = {values[bad]} is not a fraction in [0, 1]"
            + (" (percentages? divide by 100)" if 0 <= values.min() and values.max() <= 100 else "")
        )


FLOAT32_STEP = float(np.finfo(np.float32).eps)  # one float32 rounding step at 1: 1.19e-07


def clip_rounding(values, low: float, high: float) -> tuple[np.ndarray, int]:
    """*values* (any shape, as floats) with every entry outside [low, high] by at most one float32
    rounding step of that bound (FLOAT32_STEP × max(1, |bound|): a cosine of 1.0000001 logged in
    float32) set to the bound, and how many were; entries further out are left as they are, for
    check_range to reject. The caller says what it clipped."""
    v = np.array(values, dtype=float)
    clipped = 0
    for bound, outside in ((low, v < low), (high, v > high)):
        if math.isinf(bound):
            continue
        near = outside & (np.abs(v - bound) <= FLOAT32_STEP * max(1.0, abs(bound)))
        v[near] = bound
        clipped += int(near.sum())
    return v, clipped


def check_range(
    values, path: Path, label: str, low: float = -math.inf, high: float = math.inf, what: str = ""
) -> None:
    """Every entry of *values* (any shape) in [low, high]; else InputError naming label and the
    first index outside, with *what* the domain is (e.g. "a percentage in [0, 100]")."""
    v = np.asarray(values, dtype=float)
    outside = (v < low) | (v > high)
    if outside.any():
        idx = tuple(int(i) for i in np.argwhere(outside)[0])
        where = "".join(f"[{i}]" for i in idx) if v.ndim else ""
        domain = what or (f"at least {low:g}" if math.isinf(high) else f"in [{low:g}, {high:g}]")
        raise InputError(
            f"{path}: field {label}{where} = {float(v[idx]):g} is outside its domain ({domain})"
        )


def check_percent(values, path: Path, label: str) -> None:
    """Accuracies in %: in [0, 100], and not every value at most 1 (fractions given as percent)."""
    check_range(values, path, label, 0, 100, "a percentage in [0, 100]")
    v = np.asarray(values, dtype=float)
    if v.size and v.max() <= 1.0:
        raise InputError(
            f"{path}: field {label} has every value in [0, 1] (largest {v.max():g}): it looks like "
            "fractions, but this format's accuracy is in % (multiply by 100)"
        )


def per_seed_vector(
    doc: dict, field: str, path: Path, length: int, required: bool = True
) -> np.ndarray | None:
    """doc[field] as array(seeds, length): a list of numbers (one seed) or a list of per-point
    lists of per-seed numbers ([[s1, s2, s3], ...]) — one entry per x value."""
    if not _present(doc, field, path, required):
        return None
    v = doc[field]
    if not isinstance(v, list) or len(v) != length:
        n = len(v) if isinstance(v, list) else "no"
        raise InputError(f"{path}: field {field!r} must be a list of {length} entries, got {n}")
    if all(_is_number(x) for x in v):
        return np.asarray(v, dtype=float)[None, :]
    if all(isinstance(x, list) for x in v):
        seeds = {len(x) for x in v}
        if len(seeds) != 1 or 0 in seeds:
            raise InputError(
                f"{path}: field {field!r} has per-seed lists of different lengths {sorted(seeds)}"
            )
        for i, row in enumerate(v):
            _check_numbers(row, path, f"{field!r}[{i}]")
        return np.asarray(v, dtype=float).T
    raise InputError(f"{path}: field {field!r} mixes numbers and lists")


def matrix(doc: dict, field: str, path: Path, required: bool = True) -> np.ndarray | None:
    """doc[field] as a rectangular array(rows, cols) of finite numbers; ragged rows are an error."""
    if not _present(doc, field, path, required):
        return None
    v = doc[field]
    if not isinstance(v, list) or not v or not all(isinstance(r, list) and r for r in v):
        raise InputError(f"{path}: field {field!r} must be a non-empty list of non-empty lists")
    widths = [len(r) for r in v]
    if len(set(widths)) != 1:
        bad = next(i for i, w in enumerate(widths) if w != widths[0])
        raise InputError(
            f"{path}: field {field!r} is ragged: row {bad} has {widths[bad]} entries, "
            f"row 0 has {widths[0]}"
        )
    for i, row in enumerate(v):
        _check_numbers(row, path, f"{field!r}[{i}]")
    return np.asarray(v, dtype=float)


def text(doc: dict, field: str, path: Path, default: str = "") -> str:
    v = doc.get(field, default)
    if v is None:
        return default
    if not isinstance(v, str):
        raise InputError(f"{path}: field {field!r} must be a string, got {v!r}")
    return v


def mapping(doc, path: Path) -> dict:
    if not isinstance(doc, dict):
        raise InputError(f"{path}: top level must be a JSON object, got {type(doc).__name__}")
    return doc
