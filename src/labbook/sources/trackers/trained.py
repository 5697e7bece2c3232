"""Runs that say what they trained: the line a report shows instead of the example-data banner.

A store whose every run carries the five TRAINED attributes (any kind: a TensorBoard hparam, an
MLflow param or tag, an Aim param) holds real training runs. Its reports show one line built from
them, e.g. "Real training runs, not simulated: 15 runs of MLP 64-128-10 on scikit-learn digits,
30 epochs each, 41.2 s of training in total (1.9–4.1 s a run) on AMD EPYC (x86_64), 1 thread. The
timings are this machine's, measured while it trained them.", and no example-data banner, even
where the store lies in examples/.
"""

import pandas as pd

# description field -> run attribute name (the experiments in examples/experiments write them)
TRAINED = {
    "model": "trained.model",
    "data": "trained.data",
    "epochs": "trained.epochs",
    "seconds": "trained.seconds",
    "cpu": "trained.cpu",
}
PREFIX = "trained."  # never a run's config (labbook.sources.nonlinearity_reduction_trackers)


def _column(runs: pd.DataFrame, attribute: str) -> pd.Series | None:
    """The attribute's values, one per run, from whichever kind holds it (None: no run has it)."""
    columns = [c for c in runs.columns if ":" in str(c) and str(c).split(":", 1)[1] == attribute]
    if not columns:
        return None
    return runs[columns].bfill(axis=1).iloc[:, 0]


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _span(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return (
        fmt.format(low)
        if fmt.format(low) == fmt.format(high)
        else (f"{fmt.format(low)}–{fmt.format(high)}")
    )


def description(runs: pd.DataFrame) -> str | None:
    """The line saying what the runs trained, on what, for how long and on which CPU, or None when
    a run lacks one of the TRAINED attributes (or its epochs or seconds are not numbers). Runs of
    different models, data or CPUs get one clause each, in first-seen order."""
    if runs.empty:
        return None
    values = {}
    for field, attribute in TRAINED.items():
        column = _column(runs, attribute)
        if column is None or column.isna().any():
            return None
        values[field] = column
    table = pd.DataFrame(values)
    table["epochs"] = table["epochs"].map(_number)
    table["seconds"] = table["seconds"].map(_number)
    if table[["epochs", "seconds"]].isna().any().any():
        return None
    clauses = []
    for (model, data, cpu), group in table.groupby(["model", "data", "cpu"], sort=False):
        n = len(group)
        epochs = _span(group["epochs"].tolist(), "{:.0f}")
        seconds = group["seconds"].tolist()
        each = "" if n == 1 else f" ({_span(seconds, '{:.3g}')} s a run)"
        runs_of = "1 run" if n == 1 else f"{n} runs"
        clauses.append(
            f"{runs_of} of {model} on {data}, {epochs} epochs{' each' if n > 1 else ''}, "
            f"{sum(seconds):.1f} s of training in total{each} on {cpu}"
        )
    return (
        "Real training runs, not simulated: "
        + "; ".join(clauses)
        + ". The timings are this machine's, measured while it trained them."
    )
