"""MoE example tracker store: the simulated MoE runs of labbook.runner.examples (moe_run_values),
rounded to float32, written as TensorBoard runs by tensorboardX, beside their twin: an Aim
repository of the same numbers in the seed's layout, written by aim's SDK (the MoE analysis'
native input, as the JSON files are the other analyses').

    examples/generated/moe_trackers/
        tensorboard/<type>-<dataset>-s<seed>/   one run per MoE type and seed: hparams seed,
                                                moe_type, dataset and simulated (true); scalars
                                                val/accuracy, val/loss,
                                                val/profiling_total_cpu_time,
                                                val/profiling_memory_usage, val/expert_<i>
                                                (running counts) at steps 1..epochs (step =
                                                epoch), train/macs at step 1
        aim/repo/                               the twin: tags <dataset> and <type>, run["hparams"]
                                                = {seed, moe_type, dataset}, the same metrics in
                                                contexts subset val / train, epoch = step

params/moe_analysis/cifar10_tensorboard.yaml reads the TensorBoard store with the mapping
TENSORBOARD_MAPPING; the twin is read with the notebook's defaults. The numbers come from
`values_of` (labbook.runner.examples.moe_run_values, passed in by its GENERATORS entry: this
module imports nothing from examples, which imports it).
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labbook.guards import aim as aim_guard
from labbook.guards.aim import AimMissing
from labbook.runner import trackerwrite as tw
from labbook.runner.aimwrite import AimRun, AimSeries, write_aim_runs
from labbook.sources.aim_repo import DEFAULT_MOE_TYPES

SIMULATED = "Simulated example data (labbook.runner.examples) — not experimental results."

DATASET = "cifar10"
SEEDS = 5
EPOCHS = 12
VAL = ("accuracy", "loss", "profiling_total_cpu_time", "profiling_memory_usage")
TENSORBOARD_MAPPING = {  # the notebook's mapping parameters for the TensorBoard store
    "dataset_from": "dataset",
    "type_from": "moe_type",
    "seed_from": "seed",
    "metric_keys": {
        **{m: f"val/{m}" for m in VAL},
        "macs": "train/macs",
        "expert": "val/expert_{expert}",
    },
}


def run_numbers(values_of: Callable, dataset: str, moe: str, run_seed: int, epochs: int) -> dict:
    """One run's numbers (*values_of*: labbook.runner.examples.moe_run_values), every value
    float32-exact: metric -> array(epochs) for the validation metrics and expert_<i> (running
    counts, as the example repository logs them), macs -> float."""
    v = values_of(dataset, moe, run_seed, epochs)
    out = {m: tw.float32_exact(v[m]) for m in VAL}
    out["macs"] = float(tw.float32_exact([v["macs"]])[0])
    if v["experts"] is not None:
        counts = np.cumsum(v["experts"], axis=0)
        out.update({f"expert_{j}": tw.float32_exact(counts[:, j]) for j in range(counts.shape[1])})
    return out


def _specs(values_of: Callable, dataset: str, moe_types, seeds: int, epochs: int):
    """(name, moe type, run seed, numbers) of every run, types in the seed's order."""
    for moe in moe_types or tuple(DEFAULT_MOE_TYPES):
        for s in range(seeds):
            yield f"{moe}-{dataset}-s{s}", moe, s, run_numbers(values_of, dataset, moe, s, epochs)


def runs(
    values_of: Callable,
    dataset: str = DATASET,
    moe_types=None,
    seeds: int = SEEDS,
    epochs: int = EPOCHS,
) -> list[tw.TrackedRun]:
    """The example runs as TrackedRuns (TensorBoard and MLflow): params seed, moe_type, dataset,
    tag simulated; scalars val/<metric> and val/expert_<i> at steps 1..epochs, train/macs at 1."""
    e = np.arange(1, epochs + 1)
    out = []
    for name, moe, s, v in _specs(values_of, dataset, moe_types, seeds, epochs):
        scalars = {f"val/{m}": (e, v[m]) for m in v if m != "macs"}
        scalars["train/macs"] = (e[:1], np.array([v["macs"]]))
        params = {"seed": s, "moe_type": moe, "dataset": dataset}
        out.append(tw.TrackedRun(name, params, {"simulated": True}, scalars))
    return out


def aim_runs(
    values_of: Callable,
    dataset: str = DATASET,
    moe_types=None,
    seeds: int = SEEDS,
    epochs: int = EPOCHS,
) -> list[AimRun]:
    """The same runs as the seed's Aim repository holds them: tags <dataset> and <type>,
    run["hparams"] = {seed, moe_type, dataset}, run["simulated"] = True, the metrics in contexts
    subset val and train (macs), epoch = step."""
    e = np.arange(1, epochs + 1)
    out = []
    for name, moe, s, v in _specs(values_of, dataset, moe_types, seeds, epochs):
        val = {m: v[m] for m in v if m != "macs"}
        hparams = {"seed": s, "moe_type": moe, "dataset": dataset}
        out.append(
            AimRun(
                name=name,
                experiment=f"moe-{dataset}",
                tags=(dataset, moe),
                attrs={"hparams": hparams, "simulated": True},
                series=(
                    AimSeries({"subset": "val"}, e, e, val),
                    AimSeries({"subset": "train"}, e[:1], e[:1], {"macs": np.array([v["macs"]])}),
                ),
            )
        )
    return out


def write_aim_twin(root: Path, specs: list[AimRun]) -> Path:
    """*specs* (aim_runs) into a new Aim repository at *root* (the folder to hold .aim), by aim's
    SDK in a bounded child process, indexed. Returns *root*."""
    root.mkdir(parents=True, exist_ok=True)
    write_aim_runs(root, specs, init=True, index=True)
    return root


def generate(out: Path, values_of: Callable) -> None:
    """examples/generated/moe_trackers/: the TensorBoard store and its Aim twin (see above) of
    the numbers *values_of* gives (labbook.runner.examples.moe_run_values). Without aim (the aim
    extra) the twin is left out, saying so: the TensorBoard store is written all the same."""
    tw.write_tensorboard(out / "tensorboard", runs(values_of))
    twin = "in the Aim repository aim/repo (the twin)"
    try:
        write_aim_twin(out / "aim" / "repo", aim_runs(values_of))
    except AimMissing:
        shutil.rmtree(out / "aim")
        twin = "not in an Aim twin: aim was not installed when this was written"
        missing = f"aim is not installed ({aim_guard.EXTRA}; {aim_guard.AIM_PYTHONS} only)"
        print(f"examples moe_trackers: the Aim twin is left out: {missing}", flush=True)
    (out / "README.md").write_text(
        f"# moe_trackers\n\n{SIMULATED}\n\n{DATASET}: {len(DEFAULT_MOE_TYPES)} MoE types x "
        f"{SEEDS} seeds x {EPOCHS} epochs, float32-exact, in tensorboard/ (read by "
        f"params/moe_analysis/cifar10_tensorboard.yaml) and {twin}.\n"
    )
