"""Input adapters: one module per input format, each returning tidy pandas tables.

Every adapter reads files through ``labbook.inputs`` (so each file read is recorded with its
sha256), never writes next to the input, and raises ``InputError`` naming the file and the field.
The shared long **metrics table** has the columns in ``METRICS_COLUMNS``.
"""

import pandas as pd

from labbook.inputs import InputError

METRICS_COLUMNS = ["run", "method", "seed", "dataset", "epoch", "step", "subset", "metric", "value"]


def validate_metrics_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check the long metrics table contract; returns *df*. InputError names *source* and the
    column."""
    missing = [c for c in METRICS_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: metrics table lacks column(s) {missing}")
    if not pd.api.types.is_numeric_dtype(df["value"]):
        raise InputError(f"{source}: column 'value' must be numeric")
    if df["metric"].isna().any() or df["method"].isna().any():
        raise InputError(f"{source}: columns 'metric' and 'method' may not be empty")
    return df
