"""MoE metrics: per-run wide tables, grouped summaries, expert-activation weights and entropy,
and the score matrices for the bootstrap. Input: sources.aim_repo.Selection.table (long)."""
import numpy as np
import pandas as pd

from labbook import stats

VAL = {"accuracy": "accuracy", "loss": "loss", "profiling_total_cpu_time": "cpu_time",
       "profiling_memory_usage": "memory"}
SUMMARY = {"accuracy": ["mean", "min", "max"], "memory": ["mean", "min", "max"], "cpu_time": ["mean", "min", "max"],
           "macs": ["max"], "loss": ["mean", "min", "max"]}


def per_epoch(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run and epoch: method, run, epoch, accuracy, loss, cpu_time (s), memory (MB),
    macs (the run's MACs: tracked once, at the first epoch, and carried to every epoch of that run)."""
    val = table[(table["subset"] == "val") & table["metric"].isin(VAL)]
    wide = val.pivot_table(index=["method", "run", "epoch"], columns="metric", values="value", aggfunc="last")
    wide = wide.rename(columns=VAL).reset_index()
    wide.columns.name = None
    macs = table[(table["subset"] == "train") & (table["metric"] == "macs")].groupby("run")["value"].max()
    wide["macs"] = wide["run"].map(macs)
    return wide.sort_values(["method", "run", "epoch"], kind="stable").reset_index(drop=True)


def summary(wide: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """mean/min/max of accuracy, memory, CPU time and loss and max MACs grouped by *by*; flat
    columns "<metric> <stat>"."""
    cols = {k: v for k, v in SUMMARY.items() if k in wide}
    g = wide.groupby(by).agg(cols)
    g.columns = [f"{m} {s}" for m, s in g.columns]
    return g.reset_index()


def expert_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Activation counts: method, run, epoch, expert (int), count. Runs without experts have no rows."""
    e = table[(table["subset"] == "train") & table["metric"].str.startswith("expert_")]
    out = e[["method", "run", "epoch"]].copy()
    out["expert"] = e["metric"].str.removeprefix("expert_").astype(int)
    out["count"] = e["value"].to_numpy()
    return out.reset_index(drop=True)


def expert_weights(counts: pd.DataFrame) -> pd.DataFrame:
    """Per method and expert: activations summed over epochs per run, then averaged over runs
    (total), and its share of the method's total (relative_weight)."""
    per_run = counts.groupby(["method", "run", "expert"])["count"].sum().reset_index()
    w = per_run.groupby(["method", "expert"])["count"].mean().rename("total").reset_index()
    w["relative_weight"] = w["total"] / w.groupby("method")["total"].transform("sum")
    return w


def entropy_table(weights: pd.DataFrame) -> pd.DataFrame:
    """Per method: normalized Shannon entropy of the expert totals, total activations (mean run),
    active experts (total > 0) and experts."""
    rows = [{"method": m, "entropy": stats.normalized_entropy(g["total"]), "total": float(g["total"].sum()),
             "active_experts": int((g["total"] > 0).sum()), "experts": len(g)}
            for m, g in weights.groupby("method", sort=False)]
    return pd.DataFrame(rows, columns=["method", "entropy", "total", "active_experts", "experts"])


def run_entropy(counts: pd.DataFrame) -> pd.DataFrame:
    """Normalized entropy of each run's expert counts per epoch (stats.normalized_entropy, vectorized
    over rows): method, run, epoch, entropy."""
    wide = counts.pivot_table(index=["method", "run", "epoch"], columns="expert", values="count", aggfunc="sum",
                              fill_value=0)
    c = wide.to_numpy(dtype=float)
    total = c.sum(axis=1, keepdims=True)
    p = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0.0)
    active = (c > 0).sum(axis=1)
    h = np.divide(-plogp.sum(axis=1), np.log2(np.maximum(active, 2)))
    out = wide.index.to_frame(index=False)
    out["entropy"] = np.where(active > 1, h, 0.0)
    return out


def common_last_epoch(wide: pd.DataFrame) -> int:
    """The last epoch every run reached."""
    return int(wide.groupby("run")["epoch"].max().min())


def score_matrices(wide: pd.DataFrame, epochs: int, last_runs: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """{method: array(runs, epochs)} of accuracy over epochs 1..*epochs* for complete runs only
    (the seed's runs x tasks matrix), optionally the last *last_runs* runs per method (so methods
    have equal counts). Also {method: runs left out as incomplete}."""
    scores, incomplete = {}, {}
    for method, g in wide.groupby("method", sort=False):
        m = g[g["epoch"].between(1, epochs)].pivot_table(index="run", columns="epoch", values="accuracy")
        complete = m.dropna()
        complete = complete[[c for c in range(1, epochs + 1) if c in complete.columns]]
        if complete.shape[1] != epochs:
            complete = complete.iloc[0:0]
        incomplete[method] = len(g["run"].unique()) - len(complete)
        if last_runs:
            complete = complete.iloc[-last_runs:]
        if len(complete):
            scores[method] = complete.to_numpy()
    return scores, incomplete


def final_epoch(wide: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Rows of *epoch* (one per run): for the hardware comparison and the entropy correlation."""
    return wide[wide["epoch"] == epoch].reset_index(drop=True)
