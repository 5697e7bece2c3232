"""Every number a report's findings quote, as macros a manuscript uses instead of typing them:
``numbers.tex`` (LaTeX ``\\newcommand``) and ``numbers.typ`` (Typst ``#let``), written beside
findings.json by the one write path (labbook.report).

What a macro prints is the sentence's own text. A finding keeps its sentence and the values it
quotes, not how each value was formatted; the sentence was filled by Python's ``format`` (the
templates' ``{mean:.1%}``, findings' ``format(value, spec)``), so each value is formatted again by
``format`` with every spec of the family the findings use (sign, precision, ``f``, ``%``, ``g``,
``e``, none; a count only as an integer) and matched to the numbers the sentence prints (tokens):
an interval's ends first to two numbers printed as an interval, then each value to the printed
number closest to it, each number once while it can be. The printed form is that slice of the
sentence (a ``%`` or ``×`` right after the number is part of it), so the macro prints exactly as
the report does. Where two values print alike (a count beside another count) the match can name
either: the text is right, the quantity is the author's to check. For each value the findings
record:

- ``<name>``: the value as the sentence prints it (a value the sentence does not print, such as
  the p-value of a pair it does not name, with three significant digits, said in the comment: so
  every value has its macro, whatever the numbers);
- ``<name>Raw``: a number's full-precision value (Python's shortest round-trip ``repr``), its
  unit named in the comment above it: ``fraction`` when the sentence prints it ×100 with ``%``,
  ``percent`` when it prints it with ``%`` as it is, ``times`` with ``×``, else the unit word
  that follows the number in the sentence (UNITS), else ``as printed`` (a count, a p-value);
- ``<prefix>Interval``: an interval (fields ``lower``/``upper``, ``lo``/``hi``, or
  ``<x>_lower``/``<x>_upper``) as the sentence prints it, ``96.1%–97.2%`` or ``-3.0 to +1.2``;
  its low and high have their own macros (``…Lower``, ``…Upper`` and their ``Raw``); one the
  sentence does not print as an interval reads "<low> to <high>", as their macros print.

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
INTERVAL_JOINS = ("–", " – ", " to ")
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
    """Every text Python's ``format`` gives *value* with the specs the findings use. A float: none
    (``{x}``), sign ``+`` or not, precision 0–6 with ``f``, ``%``, ``e`` and ``g``, and plain
    ``g``; an int (a count) only as an integer (``{n}``, ``{n:+d}``); a string is itself."""
    if isinstance(value, str):
        return {value} if value else set()
    if isinstance(value, int):
        return {str(value), format(value, "+d")}
    out = {str(value), format(value, "g"), format(value, "+g")}
    for sign in ("", "+"):
        for p in _PRECISIONS:
            for kind in "f%e":
                out.add(format(value, f"{sign}.{p}{kind}"))
            if p:
                out.add(format(value, f"{sign}.{p}g"))
    return out


# a number as a sentence prints it: sign, digits, decimals, exponent, and a % or × belonging to it
_NUMBER = re.compile(r"(?<![\w.+\-−])[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?[%×]?(?![\w]|\.\d)")


def tokens(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of every number *sentence* prints (a sign, decimals, an exponent and a ``%``
    or ``×`` right after it are part of it; a number glued to a letter, as in "layer3", is none)."""
    return [m.span() for m in _NUMBER.finditer(sentence)]


def distance(value, text: str) -> float | None:
    """How far the printed *text* is from *value* (in *value*'s unit: 0 when exact), or None when
    no rendering of *value* (renderings) is *text*. A ``%`` is a percentage of a fraction when
    ``format(value, "…%")`` gives it, else a unit written after the number (as ``×`` is)."""
    if text in renderings(value):
        number, scale = (text[:-1], 100.0) if text.endswith("%") else (text, 1.0)
    elif text[-1:] in ("%", "×") and text[:-1] in renderings(value):
        number, scale = text[:-1], 1.0
    else:
        return None
    return abs(float(number) / scale - value)


def assign(
    values: dict, sentence: str, intervals: list[tuple[str, str]] = ()
) -> dict[str, tuple[int, int]]:
    """Which printed number of *sentence* is each numeric value's: {label: (start, end)}.
    *values*: {label: number}; *intervals*: (low label, high label) pairs. An interval's ends take
    first the closest two numbers printed as an interval (joined by INTERVAL_JOINS). Then pairs of
    a value and a number that prints it (distance) are taken closest first (a number printed with
    more digits is closer), each value and each number once; a value left over (the sentence
    prints two values as one number) shares the closest number that prints it."""
    found = tokens(sentence)
    out: dict[str, tuple[int, int]] = {}
    taken = set()

    def far(label, span):
        return distance(values[label], sentence[span[0] : span[1]])

    for low, high in intervals:
        joined = [
            (far(low, a) + far(high, b), a, b)
            for a, b in zip(found, found[1:])
            if sentence[a[1] : b[0]] in INTERVAL_JOINS
            and far(low, a) is not None
            and far(high, b) is not None
            and a not in taken
            and b not in taken
        ]
        if joined and low not in out and high not in out:
            _, a, b = min(joined)
            out.update({low: a, high: b})
            taken.update((a, b))
    pairs = sorted(
        (d, span, label)
        for label in values
        for span in found
        if (d := far(label, span)) is not None
    )
    for _, span, label in pairs:
        if label not in out and span not in taken:
            out[label] = span
            taken.add(span)
    for _, span, label in pairs:
        out.setdefault(label, span)
    return out


def spans(text: str, sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each place *sentence* quotes the string *text* as a whole: no letter or
    digit glued to it on either side ("FA" is not in "DFA")."""
    out = []
    start = sentence.find(text) if text else -1
    while start >= 0:
        end = start + len(text)
        before = sentence[start - 1] if start else " "
        after = sentence[end] if end < len(sentence) else " "
        if not (before.isalnum() or after.isalnum()):
            out.append((start, end))
        start = sentence.find(text, start + 1)
    return out


def _unit(value, sentence: str, span: tuple[int, int] | None) -> str:
    if span is None:
        return "as stored (not printed in the sentence)"
    printed = sentence[span[0] : span[1]]
    if printed.endswith("%"):
        as_fraction = printed in renderings(value)
        return "fraction (printed ×100 with %)" if as_fraction else "percent"
    if printed.endswith("×"):
        return "times (a ratio)"
    word = re.match(r"\s?([A-Za-z]+)\b", sentence[span[1] :])
    if word and word.group(1) in UNITS:
        return word.group(1)
    return "as printed"


# ---------------------------------------------------------------- macros


@dataclass(frozen=True)
class Macro:
    """One macro: *name* (letters only); *value*, the text it prints (str) or, for a Raw macro,
    the number; *finding* and *field* it comes from (field "lower/upper" for an interval);
    *note*: what it is (printed, or the unit of a raw value); *span*: (start, end) of the text in
    the finding's sentence, None when the sentence does not print it (and for a Raw macro)."""

    name: str
    value: str | int | float
    finding: str
    field: str
    note: str
    span: tuple[int, int] | None = None


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


def _interval_text(sentence: str, low: tuple | None, high: tuple | None) -> str | None:
    """The interval from the printed low to the printed high, when one joins the other."""
    if low and high and sentence[low[1] : high[0]] in INTERVAL_JOINS:
        return sentence[low[0] : high[1]]
    return None


def macros(report: str, findings: dict) -> list[Macro]:
    """The macros of *report* ("notebook/variant") from its findings ({key: {text, values, ...}},
    findings.json): for each finding, in key order, each value's printed and raw macro and each
    interval's printed macro (see the module docstring). ValueError when two would share a name."""
    out: list[Macro] = []
    for key in sorted(findings):
        sentence = findings[key]["text"]
        values = findings[key].get("values") or {}
        scalars = list(_scalars(values))
        shown = {}  # label -> the text of its macro
        pairs = [(low, high) for _, low, high in _intervals(values)]
        where = assign({k: v for k, _, v in scalars if _is_number(v)}, sentence, pairs)
        for label, parts, value in scalars:
            name = camel(report, key, *parts)
            span = (
                where.get(label) if _is_number(value) else next(iter(spans(value, sentence)), None)
            )
            if span:
                text, note = sentence[span[0] : span[1]], "as the sentence prints it"
            else:
                text, note = _unprinted(value), f"not in the sentence; {UNPRINTED} shown"
            out.append(Macro(name, text, key, label, note, span))
            shown[label] = text
            if _is_number(value):
                unit = _unit(value, sentence, span)
                out.append(Macro(name + RAW, value, key, label, f"full precision; unit: {unit}"))
        for parts, low, high in _intervals(values):
            lo_hi = (where.get(low), where.get(high))
            text, note = _interval_text(sentence, *lo_hi), "as printed"
            span = (lo_hi[0][0], lo_hi[1][1]) if text is not None else None
            if text is None:  # its ends as their own macros print them
                lo, hi = (shown[k] for k in (low, high))
                text, note = f"{lo} to {hi}", "not in the sentence: its ends as their macros print"
            name = camel(report, key, *parts, INTERVAL)
            out.append(Macro(name, text, key, f"{low}/{high}", f"interval {note}", span))
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


def sentence(text: str, items: list[Macro]) -> list[str | Macro]:
    """A finding's sentence *text* as pieces: plain text, and in place of each number it prints
    the macro that prints it (*items*: that finding's macros; an interval's macro before its
    ends; a number two values share goes to the first) — what a paper can write instead."""
    chosen, end = [], 0
    for m in sorted((m for m in items if m.span), key=lambda m: (m.span[0], -m.span[1])):
        if m.span[0] >= end:
            chosen.append(m)
            end = m.span[1]
    out: list[str | Macro] = []
    pos = 0
    for m in chosen:
        out += [text[pos : m.span[0]], m] if m.span[0] > pos else [m]
        pos = m.span[1]
    return out + ([text[pos:]] if pos < len(text) else [])


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
    return _lines(
        lines,
        "%",
        markup.latex,
        lambda name, text: f"\\newcommand{{\\{name}}}{{{text}}}",
        items,
        findings,
    )


def typst(report: str, items: list[Macro], findings: dict) -> str:
    """numbers.typ: a ``#let`` per macro, printed forms as Typst strings (markup.typst_string),
    raw values as Typst numbers, each finding's sentence as a comment above its macros."""
    lines = [
        f"// Numbers of report {report}, made from its findings.json: do not edit.",
        "// Each name holds a number as the finding's sentence prints it (a string); <name>Raw is",
        "// the full-precision value (a number, its unit named above it); <name>Interval an",
        '// interval as printed. Import: #import "/reports/<notebook>/<variant>/numbers.typ": *',
    ]
    return _lines(
        lines,
        "//",
        markup.typst_string,
        lambda name, text: f"#let {name} = {text}",
        items,
        findings,
    )


def _lines(header: list[str], comment: str, escape, define, items: list[Macro], findings) -> str:
    """A numbers file: *header*, then per finding its sentence as a *comment* line and, per
    macro, its note and *define*(name, text) (text: the raw value, else *escape*d)."""
    lines = list(header)
    for key, group in _by_finding(items):
        lines += ["", f"{comment} {key}: {_comment(findings[key]['text'])}"]
        for m in group:
            text = _raw(m.value) if m.name.endswith(RAW) else escape(m.value)
            lines.append(f"{comment} {m.field}: {m.note}")
            lines.append(define(m.name, text))
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
