"""Tables: one DataFrame -> CSV (always) and a booktabs LaTeX table (where it belongs in a paper)."""
from pathlib import Path

import pandas as pd


def save(df: pd.DataFrame, directory: Path, name: str, latex: bool = True, caption: str | None = None,
         precision: int = 2, index: bool = False) -> list[Path]:
    """Write directory/name.csv and, if *latex*, directory/name.tex; returns the paths written.

    The CSV keeps full precision; the LaTeX table rounds floats to *precision* decimals, escapes
    LaTeX special characters in cells and headers, and uses booktabs rules.
    """
    if not name or "/" in name:
        raise ValueError(f"table name must be a plain file stem, not {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / f"{name}.csv"
    df.to_csv(csv_path, index=index, lineterminator="\n")
    written = [csv_path]
    if latex:
        tex_path = directory / f"{name}.tex"
        tex_path.write_text(to_latex(df, caption=caption, label=f"tab:{name}", precision=precision, index=index))
        written.append(tex_path)
    return written


def to_latex(df: pd.DataFrame, caption: str | None = None, label: str | None = None, precision: int = 2,
             index: bool = False) -> str:
    """A booktabs LaTeX table of *df* (floats to *precision* decimals, special characters escaped)."""
    styler = df.style.format(precision=precision, escape="latex", na_rep="--")
    styler = styler.format_index(escape="latex", axis=1)
    if index:
        styler = styler.format_index(escape="latex", axis=0)
    else:
        styler = styler.hide(axis="index")
    return styler.to_latex(hrules=True, caption=caption, label=label, position_float="centering",
                           column_format=_column_format(df, index))


def _column_format(df: pd.DataFrame, index: bool) -> str:
    cols = "".join("r" if pd.api.types.is_numeric_dtype(t) else "l" for t in df.dtypes)
    return ("l" if index else "") + cols


def friendly(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """A copy of *df* with columns renamed by *names* (columns not named are kept as they are)."""
    return df.rename(columns=names)
