"""Nonlinearity reduction's example tracker store: the simulated MNIST runs of
labbook.runner.examples.nonlinearity_reduction (fixed linear ratios 0-100% x 3 seeds, gating runs
at two sparsity weights x 3 seeds, 15 epochs, layers fc1-fc3) as TensorBoard runs, beside a JSON
twin of the same numbers.

    examples/generated/nonlinearity_reduction_trackers/
        mnist/tensorboard/<run>/events.out.tfevents.*   one run per run folder
        mnist/json/<run>/history.json, meta.json, activation_stats.json   the same numbers

Every number a tracker keeps as a scalar is float32-exact (TensorBoard stores float32), so a report
read from the store and one read from the twin are equal. Each run is named as its folder and
carries its config (approach, seed, epochs, sparsity_weight, linear_ratio where set) and
trainable_params and approx_linear_flops as params, dataset and `simulated: true` as tags. Its keys
are the notebook's default mapping, the step being the epoch (the JSON's numbering, 1..15):
`train_acc`, `val_acc`, `train_loss`, `val_loss` and `gating/<layer>/<statistic>` every epoch; at
the last epoch `gating/<layer>/alphas/<neuron>` (per-neuron gates), `activation/<layer>/<stat>`,
`mean_latency_s`, `p50_latency_s`, `p90_latency_s` and `memory_mb`.
"""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from labbook.runner import trackerwrite
from labbook.runner.trackerwrite import TrackedRun, float32_exact

DATASET = "mnist"
SIMULATED = "Simulated example data (labbook.runner.examples) — not experimental results."
EPOCH_KEYS = ("train_acc", "val_acc", "train_loss", "val_loss")
GATE_STATS = ("alpha_mean", "alpha_median", "alpha_lt_0.1", "alpha_gt_0.9")
LATENCY_KEYS = ("mean_latency_s", "p50_latency_s", "p90_latency_s")
ATTRIBUTE_META = ("approx_linear_flops",)  # top-level meta fields written as params


def _f32(value: float) -> float:
    return float(float32_exact([value])[0])


def _float32_gate(gate: dict) -> dict:
    """One layer's gate entry with its statistics and per-neuron gates float32-exact."""
    out = {}
    for key, value in gate.items():
        if key == "layer":
            out[key] = value
        elif key == "alphas":
            out[key] = float32_exact(value).tolist()
        else:
            out[key] = _f32(value)
    return out


def simulated(write_numbers: Callable[[Path], None], dataset: str = DATASET) -> dict[str, dict]:
    """{run name: {"history": [...], "meta": {...}, "activation": {...} or None}} of the run
    folders *write_numbers* writes for *dataset* ("mnist" or "cifar10"; the example generator
    labbook.runner.examples.nonlinearity_reduction), by name; folders without both history.json
    and meta.json (the crashed cifar10 run) are left out."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_numbers(Path(tmp))
        for folder in sorted((Path(tmp) / dataset).iterdir()):
            if not ((folder / "history.json").is_file() and (folder / "meta.json").is_file()):
                continue
            act = folder / "activation_stats.json"
            out[folder.name] = {
                "history": json.loads((folder / "history.json").read_text()),
                "meta": json.loads((folder / "meta.json").read_text()),
                "activation": json.loads(act.read_text()) if act.is_file() else None,
            }
    return out


def float32_docs(docs: dict[str, dict]) -> dict[str, dict]:
    """*docs* (simulated's form) with every number a tracker keeps as a scalar float32-exact:
    per-epoch metrics, gate statistics and per-neuron gates, latency, memory and activation
    statistics. Config values, parameter and FLOP counts (attributes) are kept as they are."""
    out = {}
    for name, doc in docs.items():
        history = []
        for epoch in doc["history"]:
            row = {k: _f32(v) if k in EPOCH_KEYS else v for k, v in epoch.items() if k != "gating"}
            if "gating" in epoch:
                row["gating"] = [_float32_gate(g) for g in epoch["gating"]]
            history.append(row)
        meta = dict(doc["meta"])
        meta["latency"] = {k: _f32(v) for k, v in meta["latency"].items()}
        meta["memory_mb"] = _f32(meta["memory_mb"])
        act = doc["activation"]
        if act is not None:
            act = {layer: {k: _f32(v) for k, v in st.items()} for layer, st in act.items()}
        out[name] = {"history": history, "meta": meta, "activation": act}
    return out


def tracked_run(name: str, doc: dict) -> TrackedRun:
    """One run folder's numbers (*doc*, float32_docs' form) as a TrackedRun (keys: module
    docstring); the step of every value is its epoch."""
    history, meta = doc["history"], doc["meta"]
    epochs = [int(e["epoch"]) for e in history]
    last = epochs[-1]
    scalars = {
        k: (epochs, [e[k] for e in history]) for k in EPOCH_KEYS if all(k in e for e in history)
    }
    for e in history:
        for g in e.get("gating", []):
            for stat in GATE_STATS:
                steps, values = scalars.setdefault(f"gating/{g['layer']}/{stat}", ([], []))
                steps.append(int(e["epoch"]))
                values.append(g[stat])
            for i, alpha in enumerate(g.get("alphas", [])):
                scalars[f"gating/{g['layer']}/alphas/{i}"] = ([int(e["epoch"])], [alpha])
    for layer, stats in (doc["activation"] or {}).items():
        for stat, value in stats.items():
            scalars[f"activation/{layer}/{stat}"] = ([last], [value])
    for key in LATENCY_KEYS:
        scalars[key] = ([last], [meta["latency"][key]])
    scalars["memory_mb"] = ([last], [meta["memory_mb"]])
    config = {k: v for k, v in meta["config"].items() if k != "dataset"}
    params = {
        **config,
        "trainable_params": meta["param_counts"]["trainable_params"],
        **{k: meta[k] for k in ATTRIBUTE_META},
    }
    tags = {"dataset": meta["config"]["dataset"], "simulated": True}
    return TrackedRun(name, params=params, tags=tags, scalars=scalars)


def runs(docs: dict[str, dict]) -> list[TrackedRun]:
    """One TrackedRun per run of *docs* (float32_docs' form), in name order."""
    return [tracked_run(name, docs[name]) for name in sorted(docs)]


def write_json(folder: Path, docs: dict[str, dict]) -> None:
    """The run folders of *docs* under *folder* (created): history.json, meta.json and, where
    the run has them, activation_stats.json."""
    for name, doc in docs.items():
        run = folder / name
        run.mkdir(parents=True)
        (run / "history.json").write_text(json.dumps(doc["history"], indent=2) + "\n")
        (run / "meta.json").write_text(json.dumps(doc["meta"], indent=2) + "\n")
        if doc["activation"] is not None:
            text = json.dumps(doc["activation"], indent=2) + "\n"
            (run / "activation_stats.json").write_text(text)


def generate(out: Path, write_numbers: Callable[[Path], None]) -> None:
    """examples/generated/nonlinearity_reduction_trackers/: the MNIST runs as a TensorBoard store
    and as their JSON twin (module docstring), with a README saying they are simulated. The runs
    are those *write_numbers* writes (labbook.runner.examples.nonlinearity_reduction, passed in by
    its GENERATORS entry: this module imports nothing from examples, which imports it)."""
    docs = float32_docs(simulated(write_numbers, DATASET))
    write_json(out / DATASET / "json", docs)
    trackerwrite.write_tensorboard(out / DATASET / "tensorboard", runs(docs))
    (out / "README.md").write_text(
        f"# nonlinearity_reduction_trackers\n\n{SIMULATED}\n\nThe simulated MNIST runs of "
        "examples/generated/nonlinearity_reduction as a TensorBoard store (mnist/tensorboard, one "
        "run per run folder) and their JSON twin (mnist/json), every scalar float32-exact.\n"
    )
