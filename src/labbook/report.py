"""The report a notebook is writing: its output folder, figures, tables, findings and warnings.

A notebook makes one ``Report(output_dir)`` after its parameters and writes only through it. The
report shows what it saves, once, explicitly: nothing depends on matplotlib's auto-display state.
Each shown item carries a machine-readable twin in the output's metadata (``labbook``), which the
PDF is typeset from.
"""

import base64
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from labbook import contract, figures, inputs, markup, numbers, paths, tables
from labbook.findings import Claim, Finding, Findings

SCREEN_PX_PER_IN = 130  # CSS pixels per inch of print size: a full-width figure is ~880 px wide


def _display(bundle: dict, metadata: dict | None = None) -> None:
    """Show a MIME bundle in the notebook (plain text outside a kernel)."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(bundle, raw=True, metadata=metadata or {})
            return
    except ImportError:
        pass
    print(bundle.get("text/plain", ""))


def _show_message(kind: str, message: str) -> None:
    message = paths.shorten(message)
    md = f"> **{kind}:** {markup.message_markdown(message)}"
    _display(
        {"text/markdown": md, "text/plain": f"{kind}: {message}"},
        {contract.META_KEY: {"message": kind.lower()}},
    )


def _stop_cleanly_on_input_errors() -> bool:
    """In an interactive session, an InputError (bad or missing input) shows its message, which
    names the file and field and says what to do, instead of a traceback. Returns whether the
    handler was installed (Report.finish removes it)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        _show_message("Error", f"{value} (the notebook stops here; fix the input and run it again)")
        return []

    ip.set_custom_exc((inputs.InputError,), handler)
    return True


def _restore_exceptions() -> None:
    """Remove the handler _stop_cleanly_on_input_errors installed."""
    from IPython import get_ipython

    ip = get_ipython()
    if ip is not None:
        ip.set_custom_exc((), None)


def row_keys(df: pd.DataFrame, name: str, keys: Sequence[str] | None = None) -> list[str] | None:
    """The columns that identify each row of table *name* (the change report matches the rows of
    two builds by them). *keys* when given: each a column of *df*, together naming every row once
    (else ValueError naming the table). Otherwise the shortest run of leading columns whose values
    are unique per row (["Method"], ["MoE type", "Epoch"]), or None when no run is (rows are then
    matched by position)."""
    if keys is not None:
        keys = [str(k) for k in keys]
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ValueError(
                f"table {name!r}: key column(s) {missing} not among {list(df.columns)}"
            )
        if df.duplicated(subset=keys).any():
            raise ValueError(f"table {name!r}: key columns {keys} name some rows more than once")
        return keys
    columns = [str(c) for c in df.columns]
    for n in range(1, len(columns) + 1):
        if not df.duplicated(subset=list(df.columns[:n])).any():
            return columns[:n]
    return None


class Report:
    """Output folder of one report: reports/<notebook>/<variant>/ when built by the runner."""

    def __init__(self, output_dir: str | Path, notebook: str):
        self.dir = Path(output_dir) if output_dir else paths.REPORTS / "_interactive" / notebook
        self.name = contract.report_name(self.dir, notebook)  # "notebook/variant": numbers' names
        self.dir.mkdir(parents=True, exist_ok=True)
        self.figures_dir = self.dir / "figures"
        self.tables_dir = self.dir / "tables"
        self.findings = Findings()
        self.warnings: list[str] = []
        self.figure_problems: list[dict] = []
        self.figure_repairs: list[dict] = []
        self.table_keys: dict[str, list[str] | None] = {}  # table name -> its row keys
        inputs.clear()
        # Python warnings raised while the report runs become report warnings; finish() puts the
        # previous handler back (nothing process-wide outlives the report)
        self._previous_showwarning = warnings.showwarning
        warnings.showwarning = self._python_warning
        self._custom_exc = not output_dir and _stop_cleanly_on_input_errors()

    def _python_warning(self, message, category, filename, lineno, file=None, line=None) -> None:
        """A Python warning raised while the report runs becomes a report warning (no paths)."""
        self.warn(f"{category.__name__}: {message}")

    def figure(self, fig: plt.Figure, name: str, alt: str | None = None) -> None:
        """Save *fig* as figures/<name>.png and .pdf, check it, show it once and close it.

        Each problem the figure check finds becomes a visible warning naming the figure, and is
        recorded for provenance.json (and in ``figure_problems``)."""
        figures.plain_log_ticks(fig)  # mathtext is off: log ticks as 10⁻³, not $\mathdefault...$
        problems = figures.check(fig)  # draws the figure: its layout is final for saving
        repairs: list[figures.Repair] = []
        for _ in range(3):  # a mend can uncover another (turned labels take height)
            made = figures.repair(fig, problems) if problems else []
            if not made:
                break
            repairs += made
            problems = figures.check(fig)  # what a narrow column broke, mended: measured again
        png_path = figures.save(fig, self.figures_dir, name, drawn=True)[0]
        repaired = list(dict.fromkeys(r.detail for r in repairs))  # in order, each once
        for r in dict.fromkeys(repairs):
            self.figure_repairs.append({"figure": name, "kind": r.kind, "detail": r.detail})
        for p in problems:
            self.figure_problems.append({"figure": name, "kind": p.kind, "detail": p.detail})
            self.warn(f"Figure `{name}`: {p}")
        column = fig.get_figwidth()  # inches: the width the figure was laid out for
        dpi = plt.rcParams["savefig.dpi"]
        dpi = fig.dpi if dpi == "figure" else dpi
        plt.close(fig)
        png = png_path.read_bytes()  # shown as saved: no third rendering
        width, height = (px / dpi for px in figures.png_size(png))
        _display(
            {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<figure {name}>"},
            {
                "image/png": {"width": round(width * SCREEN_PX_PER_IN), "alt": alt or name},
                contract.META_KEY: {
                    "figure": name,
                    "width_in": round(width, 3),
                    "height_in": round(height, 3),
                    **({"repairs": repaired} if repaired else {}),
                },
            },
        )
        if repaired:  # said under the figure: what was changed to fit, neutrally
            self.note(
                f"Figure `{name}` fitted to its {column:.2f} in width: " + "; ".join(repaired)
            )

    def table(
        self,
        df: pd.DataFrame,
        name: str,
        caption: str,
        latex: bool = True,
        show: bool = True,
        digits: Mapping[str, int] | None = None,
        intervals: Mapping[str, tables.Interval] | None = None,
        keys: Sequence[str] | None = None,
    ) -> None:
        """Save *df* as tables/<name>.csv (full precision) and .tex (if *latex*), and show it
        formatted for reading (see tables.present) with its caption, unless *show* is False.
        *keys*: the columns that identify a row (see row_keys; recorded for the change report)."""
        self.table_keys[name] = row_keys(df, name, keys)
        tables.save(
            df,
            self.tables_dir,
            name,
            caption=caption,
            latex=latex,
            digits=digits,
            intervals=intervals,
        )
        if show:
            self.show_table(df, caption, digits=digits, intervals=intervals, name=name)

    def show_table(
        self,
        df: pd.DataFrame,
        caption: str | None = None,
        digits: Mapping[str, int] | None = None,
        intervals: Mapping[str, tables.Interval] | None = None,
        name: str | None = None,
    ) -> None:
        """Show *df* formatted for reading, without writing a file."""
        shown = tables.present(df, digits, intervals)
        cap = f'<p class="labbook-caption">{markup.html(caption)}</p>' if caption else ""
        _display(
            {
                "text/html": cap + shown.to_html(),
                "text/plain": (caption + "\n" if caption else "") + shown.to_text(),
                contract.TABLE_MIME: dict(shown.to_json(), caption=caption, name=name),
            }
        )

    def finding(self, key: str, template: str, **values) -> None:
        """Record one computed finding (see findings.Findings.add)."""
        self.findings.add(key, template, **values)

    def claim(self, key: str, claim: Claim) -> None:
        """Record a finding written by the claim policy (findings.ranking_claim, versus_claim)."""
        self.findings.add_claim(key, claim)

    def add_findings(self, items: list[Finding]) -> None:
        """Record the findings an analysis computed (its `findings(...)` function), in order."""
        for item in items:
            self.findings.append(item)

    def warn(self, message: str) -> None:
        """A visible warning in the report (and in provenance.json): for input left out or absent.
        *message* is plain text; `backticks` mark code."""
        self.warnings.append(paths.shorten(message))
        _show_message("Warning", message)

    def note(self, message: str) -> None:
        """A visible note in the report, e.g. an optional section without data (plain text)."""
        _show_message("Note", message)

    def show_findings(self) -> None:
        items = self.findings.items
        md = "\n".join(f"- {markup.message_markdown(f.text)}" for f in items)
        text = "\n".join(f"- {f.text}" for f in items)
        if not items:
            md = text = "No findings could be computed from these data."
        _display({"text/markdown": md, "text/plain": text}, {contract.META_KEY: {"findings": True}})

    def uses_example_data(self) -> bool:
        """True when an input is simulated, or lies in examples/ without being real training runs
        (inputs.mark_trained)."""
        return any(
            (paths.is_example_input(Path(i["path"])) and not i.get("trained")) or i.get("simulated")
            for i in inputs.recorded()
        )

    def trained(self) -> list[str]:
        """The lines saying what the real training runs read were (inputs.mark_trained), once
        each, in input order."""
        return list(dict.fromkeys(i["trained"] for i in inputs.recorded() if i.get("trained")))

    def finish(self) -> None:
        """Write findings.json, the numbers its sentences quote as LaTeX and Typst macros
        (numbers.tex, numbers.typ: labbook.numbers) and inputs.json (inputs read, warnings, figure
        problems); call once, at the end."""
        self.findings.write(self.dir / "findings.json")
        numbers.write(self.dir, self.name, self.findings.as_dict())
        record = {
            "inputs": inputs.recorded(),
            "warnings": self.warnings,
            "figure_problems": self.figure_problems,
            "figure_repairs": self.figure_repairs,
            "example_data": self.uses_example_data(),
            "trained": self.trained(),
            "tables": {name: {"keys": keys} for name, keys in self.table_keys.items()},
        }
        (self.dir / contract.RECORD_FILE).write_text(
            json.dumps(record, indent=2, sort_keys=True) + "\n"
        )
        if warnings.showwarning == self._python_warning:
            warnings.showwarning = self._previous_showwarning
        if self._custom_exc:
            _restore_exceptions()
            self._custom_exc = False
