"""Credit assignment's example tracker store: the simulated CIFAR-10 results of
labbook.runner.examples.credit_assignment (BP, DFA, State Bridge, Credit Bridge; seeds 42, 123,
456; 100 epochs; 12 blocks) as TensorBoard runs, beside a JSON twin of the same numbers.

    examples/generated/credit_assignment_trackers/
        cifar10/tensorboard/<method>_s<seed>/events.out.tfevents.*   one run per method and seed
        cifar10/json/seed<seed>/results_cifar10.json                  the same numbers as JSON

Every number is float32-exact (TensorBoard stores float32), so a report read from the store and
one read from the twin are equal. Each run carries `method` and `seed` and `simulated: true`; its
keys are the notebook's default mapping: per-epoch `train_acc`, `test_acc`, `state_pred_error` at
steps 1..epochs (step e = epoch e, the JSON lists' numbering), and at the last epoch's step
`diag/<layer>/bp_cosine`, `diag/<layer>/perturbation_rho`, `diag/<layer>/nudging/<eta>` and
`drift/<parameter name>`.
"""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labbook.runner import trackerwrite
from labbook.runner.trackerwrite import TrackedRun, float32_exact

DATASET = "cifar10"
SIMULATED = "Simulated example data (labbook.runner.examples) — not experimental results."


def simulated(write_numbers: Callable[[Path], None], dataset: str = DATASET) -> dict[str, dict]:
    """{seed: {method: result}} (seed 004's format) of *dataset* ("cifar10" or "mnist") as the
    example generator *write_numbers* (labbook.runner.examples.credit_assignment) writes it,
    seeds in numeric order."""
    with tempfile.TemporaryDirectory() as tmp:
        write_numbers(Path(tmp))
        docs = {}
        for path in (Path(tmp) / dataset).glob("seed*/results_*.json"):
            docs.update(json.loads(path.read_text()))
    return {s: docs[s] for s in sorted(docs, key=int)}


def _float32(value):
    """*value* (numbers, lists, dicts of them) with every number float32-exact."""
    if isinstance(value, dict):
        return {k: _float32(v) for k, v in value.items()}
    if isinstance(value, list):
        return float32_exact(value).tolist()
    return float(float32_exact([value])[0])


def float32_docs(docs: dict[str, dict]) -> dict[str, dict]:
    """*docs* ({seed: {method: result}}) with every number float32-exact."""
    return {seed: _float32(methods) for seed, methods in docs.items()}


def runs(docs: dict[str, dict]) -> list[TrackedRun]:
    """One TrackedRun per method and seed of *docs* ({seed: {method: result}}), numbers
    float32-exact, named <method>_s<seed>, in seed then method order (keys: module docstring)."""
    out = []
    for seed, methods in docs.items():
        for method, result in methods.items():
            log = result["log"]
            epochs = len(log["train_acc"])
            steps, last = np.arange(1, epochs + 1), np.array([epochs])
            scalars = {key: (steps, float32_exact(values)) for key, values in log.items()}
            diagnostics = result.get("diagnostics", {})
            for name in ("bp_cosine", "perturbation_rho"):
                for layer, v in enumerate(diagnostics.get(name, [])):
                    scalars[f"diag/{layer}/{name}"] = (last, float32_exact([v]))
            for eta, values in diagnostics.get("nudging", {}).items():
                for layer, v in enumerate(values):
                    scalars[f"diag/{layer}/nudging/{eta}"] = (last, float32_exact([v]))
            for parameter, v in result.get("drift", {}).items():
                scalars[f"drift/{parameter}"] = (last, float32_exact([v]))
            out.append(
                TrackedRun(
                    f"{method}_s{seed}",
                    params={"method": method, "seed": int(seed)},
                    tags={"simulated": True},
                    scalars=scalars,
                )
            )
    return out


def write_twin(folder: Path, docs: dict[str, dict], dataset: str = DATASET) -> dict[str, Path]:
    """The JSON twin of *docs*: folder/seed<s>/results_<dataset>.json per seed (the generator's
    layout). Returns {seed: path}."""
    files = {}
    for seed, methods in docs.items():
        path = Path(folder) / f"seed{seed}" / f"results_{dataset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({seed: methods}, indent=2) + "\n")
        files[seed] = path
    return files


def generate(out: Path, write_numbers: Callable[[Path], None]) -> None:
    """Write the TensorBoard store and its JSON twin under *out* (layout: module docstring) from
    the numbers *write_numbers* writes (labbook.runner.examples.credit_assignment, passed in by
    its GENERATORS entry: this module imports nothing from examples, which imports it)."""
    docs = float32_docs(simulated(write_numbers, DATASET))
    trackerwrite.write_tensorboard(Path(out) / DATASET / "tensorboard", runs(docs))
    write_twin(Path(out) / DATASET / "json", docs)
    (Path(out) / "README.md").write_text(
        f"# credit_assignment_trackers\n\n{SIMULATED}\n\nThe {DATASET} results of "
        "`credit_assignment` (float32-exact) as TensorBoard runs (tensorboard/, each run tagged "
        "simulated) and as their JSON twin (json/).\n"
    )
