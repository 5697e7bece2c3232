"""Tables for people and for machines, from one DataFrame.

``present`` turns a numeric table into the strings a reader sees: no index, each numeric column
rounded to the digits that mean something at its magnitude, integers as integers, intervals as
``est [lo, hi]``. The report shows that, the LaTeX table (booktabs, caption and label; ``longtable``
when it cannot fit a page) is typeset from it, and the CSV keeps every column at full precision.

A table wider than the page is shown in column groups, one under the other, each repeating the
columns that name a row (``Presented.groups``): report.html and report.pdf use that one rule, each
with its own width.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import markup

SIGNIFICANT = 3  # significant digits at a column's typical magnitude
MAX_DECIMALS = 6
PAGE_ROWS = 40  # a LaTeX table with more rows than this is a longtable
MISSING = "–"
Interval = tuple[str, str, str]  # (estimate, lower, upper) column names


# The width model of a shown table, in em of its font: a character's advance (a digit's, the widest
# common glyph; bold header text a little wider), a cell's padding, the narrowest a text column is
# counted (in characters: prose wraps to it, a longer word keeps its length), and report.html's
# table box (970 px at 13 px in JupyterLab's page at a 1,200 px window, measured in Chromium; a
# margin left for other fonts).
CHAR_EM = 0.64
HEAD_CHAR_EM = 0.7
CELL_PAD_EM = 1.1
TEXT_WRAP_CHARS = 16
HTML_ROOM_EM = 70.0


def _words(text: str) -> list[str]:
    return text.split() or [""]


@dataclass(frozen=True)
class Presented:
    """A table as shown: header and cells as strings, numeric columns right-aligned."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]

    def to_json(self) -> dict:
        return {"columns": self.columns, "rows": self.rows, "numeric": self.numeric}

    @classmethod
    def from_json(cls, data: Mapping) -> "Presented":
        """The table to_json wrote (extra keys, such as a caption, ignored)."""
        return cls(
            list(data["columns"]),
            [list(r) for r in data["rows"]],
            list(data["numeric"]),
        )

    def widths(self) -> list[float]:
        """Each column's width in em (CHAR_EM a character, padding included) when every header
        wraps between words, a number never wraps, and text wraps at TEXT_WRAP_CHARS characters
        (never inside a word)."""
        out = []
        for i, (head, numeric) in enumerate(zip(self.columns, self.numeric)):
            cells = [r[i] for r in self.rows]
            if numeric:
                chars = max((len(c) for c in cells), default=0)
            else:
                chars = max(
                    (max(min(len(c), TEXT_WRAP_CHARS), *map(len, _words(c))) for c in cells),
                    default=0,
                )
            header = max(len(w) for w in _words(head)) * HEAD_CHAR_EM
            out.append(max(chars * CHAR_EM, header) + CELL_PAD_EM)
        return out

    def keys(self) -> int:
        """How many leading columns name a row: the shortest run of them whose cells are unique
        per row (at least the first column; all text columns before the first number when no
        run is unique)."""
        for n in range(1, len(self.columns) + 1):
            if len({tuple(r[:n]) for r in self.rows}) == len(self.rows):
                return n
        text = next((i for i, n in enumerate(self.numeric) if n), len(self.columns))
        return max(1, text)

    def groups(self, room: float) -> list["Presented"]:
        """The table as column groups that are each at most *room* em wide (see widths), in
        column order, each repeating the leading columns that name a row (keys; no more of them
        than fit half the room): [self] when the whole table fits. A column wider than the room
        alone still gets a group of its own."""
        widths = self.widths()
        if sum(widths) <= room or len(self.columns) <= 1:
            return [self]
        keys = min(self.keys(), len(self.columns) - 1)
        while keys > 1 and sum(widths[:keys]) > room / 2:
            keys -= 1
        key_width = sum(widths[:keys])
        groups: list[list[int]] = []
        for i in range(keys, len(self.columns)):
            if groups and key_width + sum(widths[j] for j in groups[-1]) + widths[i] <= room:
                groups[-1].append(i)
            else:
                groups.append([i])
        return [self.select([*range(keys), *g]) for g in groups]

    def select(self, columns: Sequence[int]) -> "Presented":
        """The table with only the columns at the positions *columns*, in that order."""
        return Presented(
            [self.columns[i] for i in columns],
            [[r[i] for i in columns] for r in self.rows],
            [self.numeric[i] for i in columns],
        )

    def to_html(self, room: float = HTML_ROOM_EM) -> str:
        """HTML tables with every cell escaped (names from data are never markup): one, or the
        column groups (see groups) of a table wider than *room* em, one under the other, each
        after the first said to continue it."""
        parts = self.groups(room)

        def cell(tag, text, num):
            return f'<{tag} class="{"num" if num else "txt"}">{markup.html(text)}</{tag}>'

        out = []
        for k, part in enumerate(parts, 1):
            head = "".join(cell("th", c, n) for c, n in zip(part.columns, part.numeric))
            body = "".join(
                "<tr>" + "".join(cell("td", v, n) for v, n in zip(r, part.numeric)) + "</tr>"
                for r in part.rows
            )
            said = (
                f'<p class="labbook-table-part">Continued ({k} of {len(parts)})</p>'
                if k > 1
                else ""
            )
            out.append(
                f'{said}<div class="labbook-table-wrap"><table class="labbook-table">'
                f"<thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table></div>"
            )
        return "".join(out)

    def to_text(self) -> str:
        widths = [
            max(len(c), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
            for i, c in enumerate(self.columns)
        ]

        def line(cells):
            return "  ".join(
                v.rjust(w) if n else v.ljust(w) for v, w, n in zip(cells, widths, self.numeric)
            )

        return "\n".join([line(self.columns)] + [line(r) for r in self.rows])


def decimals(values, significant: int = SIGNIFICANT) -> int:
    """Decimals that give *significant* digits at the typical (median absolute) magnitude of
    *values*; 0 for whole numbers. values: 1-D numbers, NaN ignored."""
    x = np.asarray(values, dtype=float)
    x = np.abs(x[np.isfinite(x)])
    if x.size == 0 or np.all(x == np.round(x)):
        return 0
    nonzero = x[x > 0]
    typical = float(np.median(nonzero)) if nonzero.size else 1.0
    auto = min(MAX_DECIMALS, max(0, significant - 1 - math.floor(math.log10(typical))))
    return int(min(auto, max(_exact_decimals(v) for v in x)))


def _exact_decimals(value: float) -> int:
    """Decimals of the shortest exact decimal form of *value* (0.06 -> 2,
    2.1999999999999886 -> 16)."""
    text = np.format_float_positional(value, unique=True, trim="-")
    return len(text.split(".", 1)[1]) if "." in text else 0


def interval_decimals(est, lower, upper, significant: int = SIGNIFICANT) -> int:
    """Decimals for intervals: enough for the estimate and the first digit of the interval width."""
    width = np.abs(np.asarray(upper, float) - np.asarray(lower, float))
    width = width[np.isfinite(width) & (width > 0)]
    by_width = -math.floor(math.log10(float(np.median(width)))) if width.size else 0
    return int(min(MAX_DECIMALS, max(decimals(est, significant), by_width, 0)))


def format_number(value, places: int) -> str:
    """*value* with *places* decimals and thousands separators; NaN/None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return f"{float(value):,.{places}f}"


def format_interval(est, lo, hi, places: int) -> str:
    """'est [lo, hi]'; the estimate alone when the interval is missing."""
    if pd.isna(lo) or pd.isna(hi):
        return format_number(est, places)
    return (
        f"{format_number(est, places)} [{format_number(lo, places)}, {format_number(hi, places)}]"
    )


def present(
    df: pd.DataFrame,
    digits: Mapping[str, int | str] | None = None,
    intervals: Mapping[str, Interval] | None = None,
) -> Presented:
    """The table a reader sees: every cell a string, no index.

    digits: column -> decimals, overriding the automatic choice (``decimals``), or "g" to write each
    value in its shortest form (for settings that span orders of magnitude, e.g. 0, 0.0001, 0.1).
    intervals: new column -> (estimate, lower, upper) columns of *df*, shown as ``est [lo, hi]``
    in place of the estimate column (the lower and upper columns are not shown).
    """
    digits = dict(digits or {})
    intervals = dict(intervals or {})
    for name, cols in intervals.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"interval {name!r}: no column(s) {missing} in {list(df.columns)}")
    hidden = {c for cols in intervals.values() for c in cols[1:]}
    shown = {cols[0]: name for name, cols in intervals.items()}
    columns, cells, numeric = [], [], []
    for col in df.columns:
        if col in hidden:
            continue
        s = df[col]
        if col in shown:
            est, lo, hi = intervals[shown[col]]
            places = digits.get(shown[col], interval_decimals(df[est], df[lo], df[hi]))
            values = [format_interval(e, a, b, places) for e, a, b in zip(df[est], df[lo], df[hi])]
            columns.append(shown[col])
            numeric.append(True)
        elif pd.api.types.is_bool_dtype(s):
            values = [format_number(v, 0) for v in s]
            columns.append(str(col))
            numeric.append(False)
        elif pd.api.types.is_numeric_dtype(s) and digits.get(col) == "g":
            values = [MISSING if pd.isna(v) else f"{v:g}" for v in s]
            columns.append(str(col))
            numeric.append(True)
        elif pd.api.types.is_numeric_dtype(s):
            places = digits.get(col, decimals(s))
            values = [format_number(v, places) for v in s]
            columns.append(str(col))
            numeric.append(True)
        else:
            values = [
                MISSING if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v)
                for v in s
            ]
            columns.append(str(col))
            numeric.append(False)
        cells.append(values)
    rows = [list(r) for r in zip(*cells)] if cells else []
    return Presented(columns, rows, numeric)


# ---------------------------------------------------------------- files


def save(
    df: pd.DataFrame,
    directory: Path,
    name: str,
    caption: str | None = None,
    latex: bool = True,
    digits: Mapping[str, int] | None = None,
    intervals: Mapping[str, Interval] | None = None,
) -> list[Path]:
    """Write directory/name.csv (full precision) and, if *latex*, directory/name.tex; returns the
    paths written. A LaTeX table needs a *caption*."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"table name must be a plain file stem, not {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / f"{name}.csv"
    df.to_csv(csv_path, index=False, lineterminator="\n")
    written = [csv_path]
    if latex:
        if not caption:
            raise ValueError(f"table {name!r}: a LaTeX table needs a caption")
        tex_path = directory / f"{name}.tex"
        tex_path.write_text(to_latex(present(df, digits, intervals), caption, f"tab:{name}"))
        written.append(tex_path)
    return written


def to_latex(table: Presented, caption: str, label: str) -> str:
    """A booktabs table (``longtable`` beyond PAGE_ROWS rows) with caption and label.

    Needs ``\\usepackage{booktabs}`` (and ``longtable`` for long tables) in the paper's preamble."""
    spec = "".join("r" if n else "l" for n in table.numeric)
    head = " & ".join(markup.latex(c) for c in table.columns) + r" \\"
    body = [" & ".join(markup.latex(v) for v in r) + r" \\" for r in table.rows]
    cap = rf"\caption{{{markup.latex(caption)}}}\label{{{label}}}"
    if len(table.rows) > PAGE_ROWS:
        lines = [
            rf"\begin{{longtable}}{{{spec}}}",
            cap + r" \\",
            r"\toprule",
            head,
            r"\midrule",
            r"\endfirsthead",
            r"\toprule",
            head,
            r"\midrule",
            r"\endhead",
            r"\bottomrule",
            r"\endlastfoot",
            *body,
            r"\end{longtable}",
        ]
    else:
        lines = [
            r"\begin{table}",
            r"\centering",
            cap,
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            head,
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
        ]
    return "\n".join(lines) + "\n"


def interval_wide(
    frame: pd.DataFrame,
    row: str,
    col: str,
    labels: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Interval]]:
    """A long table of interval estimates (row, col, estimate, lower, upper) in wide form.

    Returns the wide DataFrame (one row per *row* value, columns ``<col> estimate/lower/upper`` at
    full precision, for the CSV) and the ``intervals`` spec that shows each *col* value as one
    ``est [lo, hi]`` column. labels: col value -> column title; order / columns: the row / column
    values in the order wanted (default: first appearance).
    """
    labels = dict(labels or {})
    cols = list(columns) if columns is not None else list(dict.fromkeys(frame[col]))
    rows = list(order) if order is not None else list(dict.fromkeys(frame[row]))
    wide = pd.DataFrame({row: rows})
    spec = {}
    for c in cols:
        sub = frame[frame[col] == c].set_index(row).reindex(rows)
        title = labels.get(c, str(c))
        names = (f"{title} estimate", f"{title} lower", f"{title} upper")
        for n, source in zip(names, ("estimate", "lower", "upper")):
            wide[n] = sub[source].to_numpy()
        spec[title] = names
    return wide, spec
