"""A results CSV of final scores, one row per method and seed -> a tidy table.

    method,seed,score
    baseline,0,76.4
    ours,0,78.1

`method` (text) and `score` (a finite number) are required; `seed` (an integer) is optional (one
row per method then). A method may not list the same seed twice. The scaffold of `make new` reads
this format; it is also the simplest way to bring any per-seed results into a report.
"""

import io
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs
from labbook.inputs import InputError

COLUMNS = ("method", "seed", "score")


def load(path: Path) -> pd.DataFrame:
    """The CSV at *path* as columns method (str), seed (int), score (float), in file order."""
    raw = inputs.read_bytes(path)
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype={"method": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("method", "score") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    if df.empty:
        raise InputError(f"{path}: no rows")
    if "seed" not in df.columns:
        df["seed"] = 0
    for col in ("score", "seed"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if col == "seed":
            bad |= values.fillna(0.5).to_numpy() % 1 != 0
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{path}: column {col!r} row {row + 2} is not "
                f"a{'n integer' if col == 'seed' else ' finite number'}: {df[col].iloc[row]!r}"
            )
        df[col] = values
    if df["method"].isna().any():
        row = int(np.flatnonzero(df["method"].isna())[0])
        raise InputError(f"{path}: column 'method' row {row + 2} is empty")
    twice = df.duplicated(["method", "seed"])
    if twice.any():
        row = int(np.flatnonzero(twice)[0])
        raise InputError(
            f"{path}: row {row + 2} repeats method {df['method'].iloc[row]!r} seed "
            f"{int(df['seed'].iloc[row])}"
        )
    return df[list(COLUMNS)].astype({"seed": int, "score": float}).reset_index(drop=True)
