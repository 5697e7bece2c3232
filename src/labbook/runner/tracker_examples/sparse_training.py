"""The adaptive-sparse-training example as a tracker store: the simulated runs of
labbook.runner.examples.sparse_training (a well-behaved and a misbehaving gated run, a baseline
and a sample-by-sample timing run), every per-epoch value made float32-exact, written as an MLflow
store and as offline W&B runs beside a JSON twin of the same numbers (metrics files in the
analysis' format).

How a metrics document becomes a tracked run (what sources.sparse_training_trackers reads back
with its default mapping): the run name is `run`; `kind` and every `config` field are params; each
per-epoch list is one scalar key with step = epoch (1, 2, ...; the seed's numbering); the tag
`simulated: true` marks the run as simulated example data (its reports show the banner). In the
W&B runs the params are the run's config and `simulated` a W&B tag (labbook.runner.trackerwrite).

    examples/generated/sparse_training_trackers/
        mlflow/mlflow.db        the four runs, written by MlflowClient
        wandb/wandb/offline-run-*   the four runs, written by wandb (offline mode)
        json/*.json             the same numbers as metrics files
"""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labbook.runner.trackerwrite import TrackedRun, float32_exact, write_mlflow, write_wandb

SIMULATED = "Simulated example data (labbook.runner.examples) — not experimental results."


def twin(doc: dict) -> dict:
    """*doc* (a metrics document) with every per-epoch value float32-exact (what every tracker can
    hold: TensorBoard stores float32); the config is kept as it is (trackers keep it exactly)."""
    metrics = {k: float32_exact(v).tolist() for k, v in doc["metrics"].items()}
    return {**doc, "metrics": metrics}


def tracked_run(doc: dict, simulated: bool = True) -> TrackedRun:
    """The TrackedRun holding *doc*'s numbers: name `run`, params `kind` + `config`, one scalar key
    per metric with steps 1..epochs, and the tag `simulated` when *simulated*."""
    scalars = {
        key: (np.arange(1, len(values) + 1), np.asarray(values, dtype=float))
        for key, values in doc["metrics"].items()
    }
    params = {"kind": doc.get("kind", "gated"), **doc.get("config", {})}
    tags = {"simulated": True} if simulated else {}
    return TrackedRun(doc["run"], params=params, tags=tags, scalars=scalars)


def example_docs(
    write_numbers: Callable[..., None], seed: int = 0, epochs: int = 12
) -> dict[str, dict]:
    """The example metrics documents (file name -> document) that *write_numbers*
    (labbook.runner.examples.sparse_training, passed in: this module imports nothing from examples,
    which imports it) writes for *seed* and *epochs*, made float32-exact."""
    with tempfile.TemporaryDirectory() as tmp:
        write_numbers(Path(tmp), seed, epochs)
        docs = {p.name: json.loads(p.read_text()) for p in sorted(Path(tmp).glob("*.json"))}
    return {name: twin(doc) for name, doc in docs.items()}


def runs(write_numbers: Callable[..., None], seed: int = 0, epochs: int = 12) -> list[TrackedRun]:
    """The example runs as TrackedRuns (float32-exact, steps = epochs 1..*epochs*), tagged
    simulated, in file-name order."""
    return [tracked_run(doc) for doc in example_docs(write_numbers, seed, epochs).values()]


def generate(out: Path, write_numbers: Callable[..., None]) -> None:
    """Write *out*/mlflow/mlflow.db (the example runs, by MLflow's own client), *out*/wandb/
    (the same runs as offline W&B runs, by wandb) and *out*/json/ (the float32-exact JSON twin),
    with a README saying the numbers are simulated."""
    docs = example_docs(write_numbers)
    (out / "json").mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (out / "json" / name).write_text(json.dumps(doc, indent=2) + "\n")
    write_mlflow(out / "mlflow" / "mlflow.db", [tracked_run(doc) for doc in docs.values()])
    write_wandb(out / "wandb", [tracked_run(doc) for doc in docs.values()])
    (out / "README.md").write_text(
        f"# sparse_training_trackers\n\n{SIMULATED}\n\nThe sparse_training example runs (seed 0, "
        "12 epochs), float32-exact: `mlflow/mlflow.db` (MLflow), `wandb/` (offline W&B runs) and "
        "`json/` (the same numbers as metrics files).\n"
    )
