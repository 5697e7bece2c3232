"""The report a notebook is writing: its output folder, figures, tables, findings and warnings.

A notebook makes one ``Report(output_dir)`` after its parameters and writes only through it.
"""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from labbook import figures, inputs, paths, tables
from labbook.findings import Findings

def _show_markdown(text: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:
        pass
    print(text)


class Report:
    """Output folder of one report: reports/<notebook>/<variant>/ when built by the runner."""

    def __init__(self, output_dir: str | Path, notebook: str):
        self.dir = Path(output_dir) if output_dir else paths.REPORTS / "_interactive" / notebook
        self.dir.mkdir(parents=True, exist_ok=True)
        self.figures_dir = self.dir / "figures"
        self.tables_dir = self.dir / "tables"
        self.findings = Findings()
        self.warnings: list[str] = []
        inputs.clear()

    def figure(self, fig: plt.Figure, name: str) -> None:
        """Save *fig* as figures/<name>.png and .pdf (it is still shown inline by the notebook)."""
        figures.save(fig, self.figures_dir, name)

    def table(self, df: pd.DataFrame, name: str, latex: bool = True, caption: str | None = None,
              precision: int = 2) -> pd.DataFrame:
        """Save *df* as tables/<name>.csv (+ .tex); returns *df* so a cell can display it."""
        tables.save(df, self.tables_dir, name, latex=latex, caption=caption, precision=precision)
        return df

    def finding(self, key: str, template: str, **values) -> None:
        """Record one computed finding (see findings.Findings.add)."""
        self.findings.add(key, template, **values)

    def warn(self, message: str) -> None:
        """A visible warning in the report (and in provenance.json): for input left out or absent."""
        self.warnings.append(message)
        _show_markdown(f"> **Warning:** {message}")

    def note(self, message: str) -> None:
        """A visible note in the report, e.g. an optional section without data."""
        _show_markdown(f"> **Note:** {message}")

    def show_findings(self) -> None:
        _show_markdown(self.findings.markdown() or "_No findings could be computed from these data._")

    def uses_example_data(self) -> bool:
        return any(paths.is_example_input(Path(i["path"])) for i in inputs.recorded())

    def finish(self) -> None:
        """Write findings.json and inputs.json (inputs read, warnings); call once, at the end."""
        self.findings.write(self.dir / "findings.json")
        record = {"inputs": inputs.recorded(), "warnings": self.warnings,
                  "example_data": self.uses_example_data()}
        (self.dir / "inputs.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
