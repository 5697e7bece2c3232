"""Every number a report's findings quote, as macros a manuscript uses instead of typing them:
``numbers.tex`` (LaTeX ``\\newcommand``) and ``numbers.typ`` (Typst ``#let``), written beside
findings.json by the one write path (labbook.report).

What a macro prints is the sentence's own text. A finding keeps its sentence and the values it
quotes, not how each value was formatted; the sentence was filled by Python's ``format`` (the
templates' ``{mean:.1%}``, findings' ``format(value, spec)``), so each value is formatted again by
``format`` with every spec of the family the findings use (sign, precision, ``f``, ``%``, ``g``,
``e``, none) and the rendering found in the sentence, as a whole number, is the printed form: the
macro is a slice of the sentence (a ``%`` right after the number is part of it), so it prints
exactly as the report does. For each value the findings record:

- ``<name>``: the value as the sentence prints it (a value the sentence does not print, such as
  the p-value of a pair it does not name, with three significant digits, said in the comment: so
  every value has its macro, whatever the numbers);
- ``<name>Raw``: a number's full-precision value (Python's shortest round-trip ``repr``), its
  unit named in the comment above it: ``fraction`` when the sentence prints it ×100 with ``%``,
  ``percent`` when it prints it with ``%`` as it is, else the unit word that follows the number
  in the sentence (UNITS), else ``as printed`` (a count, a p-value, a ratio);
- ``<prefix>Interval``: an interval (fields ``lower``/``upper``, ``lo``/``hi``, or
  ``<x>_lower``/``<x>_upper``) as the sentence prints it, ``96.1%–97.2%`` or ``-3.0 to +1.2``;
  its low and high have their own macros (``…Lower``, ``…Upper`` and their ``Raw``).

Names are letters only (LaTeX allows nothing else): the report name, the finding key, the field
and, for a list, the element's place (from one), in camel case with every run of digits spelled
(``credit_assignment/digits``, ``margin_fa``, ``diff`` → ``creditAssignmentDigitsMarginFaDiff``;
``cifar10`` → ``cifarTen``; the 2nd element of ``p_holm`` → ``…PHolmTwo``). A name depends on
those and nothing else, so new numbers never rename a macro. Two fields of one report that would
share a name are an error naming both.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from labbook import markup

TEX = "numbers.tex"
TYPST = "numbers.typ"
RAW = "Raw"  # suffix of a number's full-precision macro
INTERVAL = "Interval"  # suffix of an interval's printed macro
# (low, high) field names of an interval, and the text between the two in a sentence
INTERVAL_FIELDS = (("lower", "upper"), ("lo", "hi"))
INTERVAL_JOINS = ("–", " – ", " to ", "-", ", ")
# words that name a number's unit when they follow it in a sentence ("-1.8 points")
UNITS = (
    "points",
    "pp",
    "ms",
    "s",
    "seconds",
    "minutes",
    "GFLOPs",
    "MFLOPs",
    "FLOPs",
    "MACs",
    "MB",
    "GB",
    "epochs",
    "steps",
    "seeds",
    "runs",
    "layers",
    "experts",
    "parameters",
    "params",
)
_PRECISIONS = range(7)
UNPRINTED_SPEC = ".3g"  # a value its sentence does not print: three significant digits
UNPRINTED = "three significant digits"

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


# ---------------------------------------------------------------- names


def spell(digits: str) -> str:
    """A run of digits as English words in camel case: "10" → "Ten", "3" → "Three", "123" →
    "OneHundredTwentyThree", up to 999,999; a run with a leading zero or longer than six digits is
    spelled digit by digit ("07" → "ZeroSeven")."""
    if not digits.isdigit():
        raise ValueError(f"{digits!r} is not a run of digits")
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > 6:
        return "".join(_ONES[int(d)].capitalize() for d in digits)
    return _words(int(digits))


def _words(n: int) -> str:
    if n < 20:
        return _ONES[n].capitalize()
    if n < 100:
        return _TENS[n // 10].capitalize() + (_words(n % 10) if n % 10 else "")
    if n < 1000:
        return _words(n // 100) + "Hundred" + (_words(n % 100) if n % 100 else "")
    return _words(n // 1000) + "Thousand" + (_words(n % 1000) if n % 1000 else "")


def camel(*parts: str) -> str:
    """*parts* (report name, finding key, field, ...) as one letters-only name: split into words at
    every character that is not an ASCII letter or digit (accents dropped), each word capitalized,
    digits spelled (spell), the first letter lower case. ValueError when nothing is left."""
    words = []
    for part in parts:
        ascii_ = unicodedata.normalize("NFKD", str(part)).encode("ascii", "ignore").decode()
        for word in re.findall(r"[A-Za-z]+|[0-9]+", ascii_):
            words.append(spell(word) if word.isdigit() else word[0].upper() + word[1:])
    if not words:
        raise ValueError(f"no letters or digits to name a macro in {parts!r}")
    name = "".join(words)
    return name[0].lower() + name[1:]


# ---------------------------------------------------------------- printed forms


def renderings(value) -> set[str]:
    """Every text Python's ``format`` gives *value* (an int, float or str) with the specs the
    findings use: none (``{x}``), sign ``+`` or not, precision 0–6 with ``f``, ``%``, ``e`` and
    ``g``, and plain ``g``; a string is itself."""
    if isinstance(value, str):
        return {value} if value else set()
    out = {str(value), format(value, "g"), format(value, "+g")}
    if isinstance(value, int):
        out.add(format(value, "+d"))
    for sign in ("", "+"):
        for p in _PRECISIONS:
            for kind in "f%e":
                out.add(format(value, f"{sign}.{p}{kind}"))
            if p:
                out.add(format(value, f"{sign}.{p}g"))
    return out


def spans(value, sentence: str) -> list[tuple[int, int]]:
    """Where *sentence* prints *value*: (start, end) of each rendering (renderings) that stands as
    a whole number — no letter, digit, point or sign glued before it, no letter, digit or decimal
    part after it; a ``%`` right after a number belongs to it. Longest first, then in order."""
    found = set()
    text = sentence
    for r in renderings(value):
        start = text.find(r)
        while start >= 0:
            end = start + len(r)
            if _whole(text, start, end, r, isinstance(value, str)):
                if not isinstance(value, str) and text[end : end + 1] == "%" and r[-1] != "%":
                    end += 1
                found.add((start, end))
            start = text.find(r, start + 1)
    return sorted(found, key=lambda s: (s[0] - s[1], s[0]))


def _whole(text: str, start: int, end: int, r: str, is_text: bool) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or after.isalnum():
        return False
    if is_text:
        return True
    if before == "." or (before in "+-−" and r[0] not in "+-"):
        return False
    return not (after == "." and text[end + 1 : end + 2].isdigit())


def _unit(value, sentence: str, span: tuple[int, int] | None) -> str:
    if span is None:
        return "as stored (not printed in the sentence)"
    printed = sentence[span[0] : span[1]]
    if printed.endswith("%"):
        body = printed[:-1]
        as_fraction = any(r == printed for r in renderings(value) if r.endswith("%"))
        return "fraction (printed ×100 with %)" if as_fraction and body else "percent"
    word = re.match(r"\s?([A-Za-z]+)\b", sentence[span[1] :])
    if word and word.group(1) in UNITS:
        return word.group(1)
    return "as printed"


# ---------------------------------------------------------------- macros


@dataclass(frozen=True)
class Macro:
    """One macro: *name* (letters only); *value*, the text it prints (str) or, for a Raw macro,
    the number; *finding* and *field* it comes from (field "lower/upper" for an interval);
    *note*: what it is (printed, or the unit of a raw value)."""

    name: str
    value: str | int | float
    finding: str
    field: str
    note: str


def _scalars(values: dict):
    """(field label, name parts, value) for every scalar value and list element (not bools or
    None), fields in sorted order."""
    for field in sorted(values):
        v = values[field]
        items = [(field, (field,), v)] if not isinstance(v, list) else []
        if isinstance(v, list):
            items = [(f"{field}[{i}]", (field, str(i + 1)), x) for i, x in enumerate(v)]
        for label, parts, x in items:
            if x is None or isinstance(x, bool) or not isinstance(x, (int, float, str)):
                continue
            yield label, parts, x


def _intervals(values: dict):
    """(name parts, low field, high field) of each interval among *values*' fields."""
    for field in sorted(values):
        for low, high in INTERVAL_FIELDS:
            for sep in ("", "_"):
                if field.endswith(sep + low) and (field == low or sep):
                    prefix = field[: len(field) - len(low)]
                    other = prefix + high
                    if other in values and _is_number(values[field]) and _is_number(values[other]):
                        yield (prefix.rstrip("_"),), field, other


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _interval_text(sentence: str, low, high) -> str | None:
    for a0, a1 in sorted(spans(low, sentence), key=lambda s: s[0]):
        for b0, b1 in spans(high, sentence):
            if sentence[a1:b0] in INTERVAL_JOINS:
                return sentence[a0:b1]
    return None


def macros(report: str, findings: dict) -> list[Macro]:
    """The macros of *report* ("notebook/variant") from its findings ({key: {text, values, ...}},
    findings.json): for each finding, in key order, each value's printed and raw macro and each
    interval's printed macro (see the module docstring). ValueError when two would share a name."""
    out: list[Macro] = []
    for key in sorted(findings):
        sentence = findings[key]["text"]
        values = findings[key].get("values") or {}
        for label, parts, value in _scalars(values):
            name = camel(report, key, *parts)
            where = spans(value, sentence)
            if where:
                text, note = sentence[where[0][0] : where[0][1]], "as the sentence prints it"
            else:
                text, note = _unprinted(value), f"not in the sentence; {UNPRINTED} shown"
            out.append(Macro(name, text, key, label, note))
            if _is_number(value):
                unit = _unit(value, sentence, where[0] if where else None)
                out.append(Macro(name + RAW, value, key, label, f"full precision; unit: {unit}"))
        for parts, low, high in _intervals(values):
            text, note = _interval_text(sentence, values[low], values[high]), "interval as printed"
            if text is None:
                lo, hi = (_unprinted(values[k]) for k in (low, high))
                text, note = f"{lo} to {hi}", f"not in the sentence; {UNPRINTED} shown"
            name = camel(report, key, *parts, INTERVAL)
            out.append(Macro(name, text, key, f"{low}/{high}", note))
    seen: dict[str, Macro] = {}
    for m in out:
        if m.name in seen:
            first = seen[m.name]
            raise ValueError(
                f"report {report}: finding {first.finding!r} field {first.field!r} and finding "
                f"{m.finding!r} field {m.field!r} would both be the macro {m.name}; rename one"
            )
        seen[m.name] = m
    return out


def values(report: str, findings: dict) -> dict[str, str]:
    """{macro name: the text it prints} for *report*'s findings (a raw macro as its number's
    repr): what a manuscript sees, for comparing two builds."""
    items = macros(report, findings)
    return {m.name: _raw(m.value) if m.name.endswith(RAW) else m.value for m in items}


def _unprinted(value) -> str:
    """A value its sentence does not print (a p-value of a pair not named, a count): a number
    with UNPRINTED_SPEC, a string as it is."""
    return value if isinstance(value, str) else format(value, UNPRINTED_SPEC)


def _raw(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def latex(report: str, items: list[Macro], findings: dict) -> str:
    """numbers.tex: a ``\\newcommand`` per macro, text escaped for LaTeX (markup.latex), each
    finding's sentence as a comment above its macros."""
    lines = [
        f"% Numbers of report {report}, made from its findings.json: do not edit.",
        "% Each macro prints a number as the finding's sentence prints it; <name>Raw is the",
        "% full-precision value (its unit named above it); <name>Interval an interval as printed.",
    ]
    for key, group in _by_finding(items):
        lines += ["", f"% {key}: {_comment(findings[key]['text'])}"]
        for m in group:
            text = _raw(m.value) if m.name.endswith(RAW) else markup.latex(m.value)
            lines.append(f"% {m.field}: {m.note}")
            lines.append(f"\\newcommand{{\\{m.name}}}{{{text}}}")
    return "\n".join(lines) + "\n"


def typst(report: str, items: list[Macro], findings: dict) -> str:
    """numbers.typ: a ``#let`` per macro, printed forms as Typst strings (markup.typst_string),
    raw values as Typst numbers, each finding's sentence as a comment above its macros."""
    lines = [
        f"// Numbers of report {report}, made from its findings.json: do not edit.",
        "// Each name holds a number as the finding's sentence prints it (a string); <name>Raw is",
        "// the full-precision value (a number, its unit named above it); <name>Interval an",
        '// interval as printed. Import: #import "/reports/<notebook>/<variant>/numbers.typ": *',
    ]
    for key, group in _by_finding(items):
        lines += ["", f"// {key}: {_comment(findings[key]['text'])}"]
        for m in group:
            text = _raw(m.value) if m.name.endswith(RAW) else markup.typst_string(m.value)
            lines.append(f"// {m.field}: {m.note}")
            lines.append(f"#let {m.name} = {text}")
    return "\n".join(lines) + "\n"


def _by_finding(items: list[Macro]):
    keys = list(dict.fromkeys(m.finding for m in items))
    return [(k, [m for m in items if m.finding == k]) for k in keys]


def write(folder: Path, report: str, findings: dict) -> None:
    """Write *folder*/numbers.tex and numbers.typ for *report*'s *findings* (findings.json's
    content)."""
    items = macros(report, findings)
    Path(folder, TEX).write_text(latex(report, items, findings))
    Path(folder, TYPST).write_text(typst(report, items, findings))
