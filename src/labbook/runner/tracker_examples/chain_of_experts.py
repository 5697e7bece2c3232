"""Chain-of-experts example tracker store: the simulated numbers of
labbook.runner.examples.chain_of_experts_seeds, rounded to float32, written as MLflow runs by
MlflowClient and as offline W&B runs by wandb, beside the JSON/CSV twin of the same numbers (the
seed's formats).

    examples/generated/chain_of_experts_trackers/
        mlflow/mlflow.db     one run per method and seed, per ablation point and seed, per
                             entropy coefficient and seed; every run tagged simulated
        wandb/wandb/         the same runs, offline W&B run folders written by wandb (tags and
                             params in each run's config, `simulated` a W&B tag)
        json/                baseline.json, chain_sequential.json, chain_parallel.json,
                             ablation_experts.json, entropy.json, convergence.csv

The runs hold what the chain-of-experts notebook's tracker mapping reads by default
(labbook.sources.chain_of_experts_trackers): a `seed` param on every run (so MLflow's reader
finds no param missing from some runs); tags `method` and `method_name` on the runs compared,
`sweep` with `experts_per_block` or `entropy_coeff` on the sweep runs; scalars `accuracy`,
`params_m`, `gflops` at the final step; the first seed's run of a method also logs
`gate/{block}/{expert}/mean` and `gate/{block}/entropy` at the final step; every run of a method
logs its seed's curves `train_loss` and `val_acc` at steps 1..epochs (step = epoch, as in the
CSV).

The twin lists methods, and the CSV its curves, in the tracker loader's order (method keys in
natural order), so a report from either is the same report.
"""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from labbook.runner import trackerwrite as tw
from labbook.sources import chain_of_experts as coe
from labbook.sources.chain_of_experts_trackers import natural

FILE_NAMES = {  # method key -> twin file (labbook.runner.examples.FILE_NAMES)
    "baseline": "baseline.json",
    "chain_par": "chain_parallel.json",
    "chain_seq": "chain_sequential.json",
}
TWIN_INPUTS = {  # the twin's files, as the notebook's JSON input parameters name them
    "method_files": {key: f"json/{name}" for key, name in FILE_NAMES.items()},
    "ablation_file": "json/ablation_experts.json",
    "entropy_file": "json/entropy.json",
    "convergence_file": "json/convergence.csv",
}


def _f32(values) -> list:
    """*values* (a number or nested lists) rounded to float32, as JSON-ready floats."""
    return tw.float32_exact(values).tolist()


def _write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")


def write_twin(seeds: Path, out: Path) -> None:
    """The float32-exact JSON/CSV twin, in *out* (created), of chain_of_experts_seeds' files in
    *seeds*: every measured number rounded to float32; swept values and counts as given."""
    out.mkdir(parents=True, exist_ok=True)
    for name in FILE_NAMES.values():
        doc = json.loads((seeds / name).read_text())
        for field in ("accuracy", "params_m", "gflops", "entropy", "gate_means"):
            if field in doc:
                doc[field] = _f32(doc[field])
        _write_json(out / name, doc)
    ablation = json.loads((seeds / "ablation_experts.json").read_text())
    ablation.update(accuracy=_f32(ablation["accuracy"]), params_m=_f32(ablation["params_m"]))
    _write_json(out / "ablation_experts.json", ablation)
    entropy = json.loads((seeds / "entropy.json").read_text())
    entropy.update(accuracy=_f32(entropy["accuracy"]), avg_entropy=_f32(entropy["avg_entropy"]))
    _write_json(out / "entropy.json", entropy)
    curves = pd.read_csv(seeds / "convergence.csv")
    names = {json.loads((seeds / f).read_text())["method"]: k for k, f in FILE_NAMES.items()}
    curves["order"] = curves["method"].map(lambda n: natural(names[n]))
    curves = curves.sort_values(["order", "seed", "epoch"], kind="stable")
    lines = ["method,seed,epoch,train_loss,val_acc"]
    for method, seed, epoch, loss, acc in zip(
        curves["method"],
        curves["seed"],
        curves["epoch"],
        _f32(curves["train_loss"]),
        _f32(curves["val_acc"]),
    ):
        lines.append(f"{method},{seed},{epoch},{loss!r},{acc!r}")
    (out / "convergence.csv").write_text("\n".join(lines) + "\n")


def _series(step: int, **values) -> dict:
    """{key: (steps, values)} of single values logged at *step*."""
    return {k: (np.array([step]), np.array([v], dtype=float)) for k, v in values.items()}


def _method_runs(res: coe.ChainOfExpertsResults, step: int) -> list[tw.TrackedRun]:
    """One run per method and seed: accuracy and costs at *step* and that seed's curves; the
    first seed's run also the per-block gate means and entropy at *step*."""
    out = []
    for key, m in res.methods.items():
        for seed, acc in enumerate(m.accuracy):
            scalars = _series(step, accuracy=acc, params_m=m.params_m, gflops=m.gflops)
            if seed == 0 and m.gate_means is not None:
                for (b, e), g in np.ndenumerate(m.gate_means):
                    scalars.update(_series(step, **{f"gate/{b}/{e}/mean": g}))
            if seed == 0 and m.block_entropy is not None:
                for b, h in enumerate(m.block_entropy):
                    scalars.update(_series(step, **{f"gate/{b}/entropy": h}))
            curve = res.convergence[
                (res.convergence["method"] == m.name) & (res.convergence["seed"] == str(seed))
            ]
            if not curve.empty:
                steps = curve["epoch"].to_numpy()
                scalars["train_loss"] = (steps, curve["train_loss"].to_numpy())
                scalars["val_acc"] = (steps, curve["val_acc"].to_numpy())
            tags = {"method": key, "method_name": m.name, "simulated": True}
            out.append(tw.TrackedRun(f"{key}_s{seed}", {"seed": seed}, tags, scalars))
    return out


def _sweep_runs(table: pd.DataFrame, x: str, name: str, step: int) -> list[tw.TrackedRun]:
    """One run per row of a sweep's long table (x, seed, fields): tags sweep = *x* and the
    swept value, its fields logged at *step*."""
    out = []
    for row in table.to_dict("records"):
        values = {k: v for k, v in row.items() if k not in (x, "seed")}
        tags = {"sweep": x, x: row[x], "simulated": True}
        run_name = f"{name}{row[x]:g}_s{row['seed']}"
        out.append(tw.TrackedRun(run_name, {"seed": row["seed"]}, tags, _series(step, **values)))
    return out


def runs(res: coe.ChainOfExpertsResults) -> list[tw.TrackedRun]:
    """The tracked runs holding the numbers of *res* (loaded from the twin; every measured
    number float32-exact): final values at the last epoch of the convergence curves."""
    step = int(res.convergence["epoch"].max())
    return [
        *_method_runs(res, step),
        *_sweep_runs(res.ablation, "experts_per_block", "ablation_e", step),
        *_sweep_runs(res.entropy, "entropy_coeff", "entropy_c", step),
    ]


def load_twin(folder: Path) -> coe.ChainOfExpertsResults:
    """The twin in *folder* read by the JSON loader."""
    return coe.load(**TWIN_INPUTS, resolve=lambda p: folder / p)


SIMULATED = "Simulated example data (labbook.runner.examples) — not experimental results."


def generate(out: Path, write_numbers: Callable[[Path], None]) -> None:
    """examples/generated/chain_of_experts_trackers/: the twin (json/), the MLflow store
    (mlflow/mlflow.db) and the W&B runs (wandb/) of the numbers *write_numbers* writes in the
    seed's formats (labbook.runner.examples.chain_of_experts_seeds, passed in by its GENERATORS
    entry: this module imports nothing from examples, which imports it)."""
    with tempfile.TemporaryDirectory() as tmp:
        write_numbers(Path(tmp))
        write_twin(Path(tmp), out / "json")
    tracked = runs(load_twin(out))
    tw.write_mlflow(out / "mlflow" / "mlflow.db", tracked)
    tw.write_wandb(out / "wandb", tracked)
    (out / "README.md").write_text(
        f"# chain_of_experts_trackers\n\n{SIMULATED}\n\n"
        "mlflow/: the runs, written by MlflowClient; wandb/: the same runs, written by wandb "
        "offline; json/: the same numbers (float32-exact) in the seed's JSON/CSV formats.\n"
    )
