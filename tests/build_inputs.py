"""What the session's shared build (the `example_build` fixture in conftest.py) builds beyond the
repo's params files, written into its copy of the tree before its one `make -j2 figures`:

- crafted inputs of tests/test_build.py: broken and invalid params, modified data, two Aim
  repositories of the same runs, crafted nonlinearity and credit runs, hostile names;
- the tracker report twins of tests/test_tracker_reports.py: for every analysis the same small,
  float32-exact numbers as the analysis' own input (its JSON twin; for MoE the Aim repository of
  the seed's layout) and as a TensorBoard, an MLflow, an Aim and a W&B store written by the
  trackers' own libraries (labbook.runner.trackerwrite.write_store), each read by one report
  (reports/<analysis>/from_twin, from_tensorboard, from_mlflow, from_aim, from_wandb), plus two
  reports of sections a store may lack (nonlinearity_reduction/from_sparse_store,
  moe_analysis/one_type).

Aim reports need aim (the aim extra, Python 3.11 only), W&B reports wandb (the wandb extra):
without it they are left out.
"""

import importlib.util
import json
import multiprocessing
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import yaml

from labbook.runner import examples
from labbook.runner import trackerwrite as tw
from labbook.runner.tracker_examples import chain_of_experts as coe_example
from labbook.runner.tracker_examples import credit_assignment as ca_example
from labbook.runner.tracker_examples import moe as moe_example
from labbook.runner.tracker_examples import nonlinearity_reduction as nlr_example
from labbook.runner.tracker_examples import sparse_training as st_example

AIM = importlib.util.find_spec("aim") is not None  # aim installed (the aim extra)
WANDB = importlib.util.find_spec("wandb") is not None  # wandb installed (the wandb extra)


def _broken_and_invalid(tree: Path) -> None:
    """A report whose data are broken (the notebook fails) and one with an unknown key (fails
    before a kernel starts)."""
    params = tree / "params" / "chain_of_experts"
    (tree / "userdata" / "broken.json").write_text('{"accuracy": 77.0, "gflops": ')
    (params / "broken.yaml").write_text(
        "method_files:\n  baseline: userdata/broken.json\n"
        "ablation_file: null\nentropy_file: null\nconvergence_file: null\n"
    )
    (params / "invalid.yaml").write_text("method_files: {}\nnot_a_parameter: 3\n")


def _modified_data(tree: Path) -> None:
    """Data where the baseline wins and the experts ablation never plateaus."""
    d = tree / "userdata" / "modified"
    d.mkdir(parents=True)
    src = tree / "examples" / "chain_of_experts"
    for name in ("chain_sequential.json", "chain_parallel.json", "entropy.json"):
        shutil.copy(src / name, d / name)
    (d / "baseline.json").write_text(
        json.dumps({"method": "Base Backbone", "accuracy": 80.5, "params_m": 45.2, "gflops": 8.1})
    )
    (d / "ablation_experts.json").write_text(
        json.dumps({"experts_per_block": [1, 2, 4, 8], "accuracy": [70.0, 72.0, 74.0, 76.0]})
    )
    (tree / "params" / "chain_of_experts" / "modified.yaml").write_text(
        "method_files:\n"
        "  baseline: userdata/modified/baseline.json\n"
        "  chain_seq: userdata/modified/chain_sequential.json\n"
        "  chain_par: userdata/modified/chain_parallel.json\n"
        "ablation_file: userdata/modified/ablation_experts.json\n"
        "entropy_file: userdata/modified/entropy.json\n"
        "convergence_file: null\n"
    )


def _twin_aim_repos(tree: Path) -> None:
    """The same simulated runs written twice into fresh Aim repositories: new random run hashes,
    another listing order. Both reports must come out byte-identical."""
    from labbook.runner import examples

    for twin in ("a", "b"):
        examples.moe_aim(
            tree / "userdata" / f"aim_{twin}",
            datasets=("cifar10",),
            moe_types=("softmoe", "ffn", "roundrobin", "expert_segmentation"),
            seeds=4,
            epochs=6,
        )
        (tree / "params" / "moe_analysis" / f"twin_{twin}.yaml").write_text(
            f"repo_path: userdata/aim_{twin}/repo\ndataset: cifar10\nreps: 300\n"
        )


def _nlr_run(
    folder: Path,
    approach: str,
    seed: int,
    acc: float,
    latency_ms: float,
    ratio=None,
    gates=None,
    extra=None,
) -> None:
    folder.mkdir(parents=True)
    history = []
    for e in (1, 2, 3):
        row = {
            "epoch": e,
            "train_acc": round(acc * e / 3 + 0.01, 4),
            "val_acc": round(acc * e / 3, 4),
            "train_loss": 1.0 / e,
            "val_loss": 1.1 / e,
        }
        if gates is not None:
            row["gating"] = [
                {
                    "layer": f"fc{i + 1}",
                    "alpha_mean": a,
                    "alpha_median": a,
                    "alpha_lt_0.1": 0.1 * (a < 0.5),
                    "alpha_gt_0.9": 0.0,
                }
                for i, a in enumerate(gates)
            ]
        history.append(row)
    config = {"approach": approach, "dataset": "crafted", "seed": seed, **(extra or {})}
    if ratio is not None:
        config["linear_ratio"] = ratio
    meta = {
        "config": config,
        "latency": {"mean_latency_s": latency_ms / 1000},
        "approx_linear_flops": 1000,
        "param_counts": {"trainable_params": 100},
        "memory_mb": 10.0,
    }
    (folder / "history.json").write_text(json.dumps(history))
    (folder / "meta.json").write_text(json.dumps(meta))


def _crafted_nonlinearity(tree: Path) -> None:
    """Runs built so the answers are known: the smallest reduction tested (20%) already costs 3
    points; the fastest run per accuracy is 80% linear, 5 points down; gating runs in two config
    groups, one of them a single run."""
    d = tree / "userdata" / "nlr_crafted"
    for ratio, accs, latency in (
        (0.0, (0.950, 0.952), 1.00),
        (0.2, (0.920, 0.921), 0.95),
        (0.8, (0.900, 0.902), 0.40),
    ):
        for s, acc in enumerate(accs):
            _nlr_run(
                d / f"crafted_fixed_{int(100 * ratio)}_s{s}", "fixed", s, acc, latency, ratio=ratio
            )
    for s in (0, 1):
        _nlr_run(
            d / f"crafted_gating_a_s{s}",
            "gating",
            s,
            0.93 + 0.002 * s,
            0.8,
            gates=[0.2, 0.6, 0.9],
            extra={"sparsity_weight": 0.01},
        )
    _nlr_run(
        d / "crafted_gating_b_s0",
        "gating",
        0,
        0.91,
        0.7,
        gates=[0.1, 0.3, 0.9],
        extra={"sparsity_weight": 0.1},
    )
    (tree / "params" / "nonlinearity_reduction" / "crafted.yaml").write_text(
        "runs_dir: userdata/nlr_crafted\ntolerance: 0.01\nlatency_at: 0.2\n"
    )


def _credit_doc(seed: str, finals: dict) -> dict:
    return {
        seed: {
            m: {"log": {"train_acc": [0.2, 0.5, f + 0.05], "test_acc": [0.2, 0.45, f]}}
            for m, f in finals.items()
        }
    }


def _crafted_credit(tree: Path) -> None:
    """A near tie at the top (Alpha vs. BP, 3 seeds, one task) and a first look with one seed."""
    d = tree / "userdata" / "credit"
    d.mkdir(parents=True)
    finals = {
        "bp": (0.600, 0.610, 0.590),
        "alpha": (0.605, 0.595, 0.612),
        "dfa": (0.450, 0.460, 0.440),
    }
    files = {}
    for i, seed in enumerate(("1", "2", "3")):
        files[seed] = d / f"seed{seed}.json"
        files[seed].write_text(json.dumps(_credit_doc(seed, {m: v[i] for m, v in finals.items()})))
    lines = "".join(f'  "{s}": {p.relative_to(tree)}\n' for s, p in files.items())
    params = tree / "params" / "credit_assignment"
    (params / "near_tie.yaml").write_text(
        f"dataset: Crafted\nseed_files:\n{lines}methods: [bp, alpha, dfa]\n"
        "labels: {bp: BP, alpha: Alpha, dfa: DFA}\nreference: bp\n"
    )
    (d / "one.json").write_text(json.dumps(_credit_doc("7", {"bp": 0.6, "dfa": 0.5})))
    (params / "one_seed.yaml").write_text(
        'dataset: Crafted\nseed_files:\n  "7": userdata/credit/one.json\n'
        "labels: {bp: BP, dfa: DFA}\nreference: bp\n"
    )


HOSTILE = [
    "<img src=x onerror=\"document.title='pwned'\">",
    '<script>document.title="pwned"</script>',
    "R&D_50%_#1 {x}^2 ~a \\b",
    "$x$ costs $5",
    "مرحبا עולם",
    "\u202eevil",
    "Case",
    "case",
    "L" * 500,
]


def _hostile_names(tree: Path, aim: bool) -> None:
    """The same hostile names as method, run, approach and type names in every notebook (the MoE
    one reads an Aim repository: only with *aim*)."""
    d = tree / "userdata" / "hostile"
    d.mkdir(parents=True)
    params = tree / "params"
    files = {}
    for i, n in enumerate(HOSTILE[:4]):  # chain-of-experts: display names from the result files
        files[f"m{i}"] = d / f"coe_{i}.json"
        files[f"m{i}"].write_text(
            json.dumps(
                {
                    "method": n,
                    "accuracy": [70 + i, 71 + i, 70.5 + i],
                    "gflops": 8 + i,
                    "params_m": 40 + i,
                    "gate_means": [[0.5, 0.6], [0.7, 0.2]],
                }
            )
        )
    lines = "".join(f"  {k}: {p.relative_to(tree)}\n" for k, p in files.items())
    (params / "chain_of_experts" / "hostile.yaml").write_text(
        f"method_files:\n{lines}baseline: m0\n"
        "ablation_file: null\nentropy_file: null\nconvergence_file: null\n"
    )
    keys = ["bp", "a", "b", "c", "d"]  # credit assignment: display names from the params file
    for s in ("1", "2"):
        (d / f"credit_{s}.json").write_text(
            json.dumps(
                _credit_doc(s, {k: 0.5 + 0.02 * i + 0.01 * int(s) for i, k in enumerate(keys)})
            )
        )
    labels = {k: n for k, n in zip(keys, HOSTILE[4:])}
    (params / "credit_assignment" / "hostile.yaml").write_text(
        yaml.safe_dump(
            {
                "dataset": HOSTILE[3],
                "seed_files": {s: f"userdata/hostile/credit_{s}.json" for s in ("1", "2")},
                "labels": labels,
                "reference": "bp",
            },
            allow_unicode=True,
        )
    )
    for ratio, acc in (
        (0.0, 0.95),
        (0.5, 0.94),
    ):  # nonlinearity: approach and dataset names from meta.json
        for s in (0, 1):
            _nlr_run(
                d / "nlr" / f"run_{int(ratio * 100)}_{s}",
                "fixed",
                s,
                acc + 0.001 * s,
                1.0 - ratio / 2,
                ratio=ratio,
            )
    _nlr_run(d / "nlr" / "run_h", HOSTILE[0], 0, 0.93, 0.7, ratio=0.3)
    (params / "nonlinearity_reduction" / "hostile.yaml").write_text(
        "runs_dir: userdata/hostile/nlr\n"
    )
    for kind, name in (
        ("gated", HOSTILE[1]),
        ("baseline", HOSTILE[3]),
    ):  # sparse training: run names
        doc = {
            "run": name,
            "kind": kind,
            "config": {"target_activation_rate": 0.06 if kind == "gated" else 1.0},
            "metrics": {
                "train_loss": [2.0, 1.5, 1.2, 1.0],
                "val_accuracy": [30.0, 50.0, 60.0, 65.0],
                "activation_rates": [0.06] * 4 if kind == "gated" else [1.0] * 4,
                "energy_savings": [0.94] * 4 if kind == "gated" else [0.0] * 4,
                "epoch_times": [10.0] * 4 if kind == "gated" else [100.0] * 4,
            },
        }
        (d / f"sparse_{kind}.json").write_text(json.dumps(doc))
    (params / "sparse_training" / "hostile.yaml").write_text(
        "run_file: userdata/hostile/sparse_gated.json\n"
        "baseline_file: userdata/hostile/sparse_baseline.json\n"
        "sample_by_sample_file: null\nwarmup_epochs: 1\ntrend_window: 3\n"
    )
    if not aim:
        return
    (params / "moe_analysis" / "hostile.yaml").write_text(
        yaml.safe_dump(  # MoE: type names from the params
            {
                "repo_path": "userdata/aim_a/repo",
                "dataset": "cifar10",
                "reps": 200,
                "moe_types": {
                    "softmoe": HOSTILE[0],
                    "ffn": HOSTILE[2],
                    "roundrobin": HOSTILE[4],
                    "expert_segmentation": HOSTILE[5],
                },
            },
            allow_unicode=True,
        )
    )


# ---------------------------------------------------------------- tracker reports and their twins

ANALYSES = (
    "chain_of_experts",
    "credit_assignment",
    "moe_analysis",
    "nonlinearity_reduction",
    "sparse_training",
)
TRACKERS = ("tensorboard", "mlflow", "aim", "wandb")
INSTALLED = {"aim": AIM, "wandb": WANDB}  # trackers whose library is an extra
TWIN = "from_twin"  # the variant reading the analysis' own input


def trackers() -> tuple[str, ...]:
    """The trackers whose stores this Python can write: Aim only with aim installed, W&B only
    with wandb installed."""
    return tuple(t for t in TRACKERS if INSTALLED.get(t, True))


def _write_params(tree: Path, analysis: str, variant: str, params: dict) -> None:
    path = tree / "params" / analysis / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))


def _stores(tree: Path, analysis: str, runs: list, base: dict) -> None:
    """*runs* into a store of every tracker under userdata/trackers/<analysis>/, each read by
    params/<analysis>/from_<tracker>.yaml: *base* with `source` (relative to the tree)."""
    for tracker in trackers():
        folder = Path("userdata") / "trackers" / analysis / tracker
        source = tw.write_store(tracker, tree / folder, runs)
        relative = source.replace(f"{tree}/", "", 1)
        _write_params(tree, analysis, f"from_{tracker}", {**base, "source": relative})


def _chain_of_experts(tree: Path) -> None:
    """5 seeds, 6 epochs of the example's numbers; the twin in the seed's JSON/CSV formats. (With
    fewer seeds the ablation figure's legend covers its data: the report warns.)"""
    data = Path("userdata") / "trackers" / "chain_of_experts"
    with tempfile.TemporaryDirectory() as tmp:
        examples.chain_of_experts_seeds(Path(tmp), n_seeds=5, epochs=6)
        coe_example.write_twin(Path(tmp), tree / data / "json")
    given = yaml.safe_load((tree / "params/chain_of_experts/multiseed_mlflow.yaml").read_text())
    base = {k: v for k, v in given.items() if k != "source"}  # label_from, baseline, tolerance
    twin = {k: v for k, v in base.items() if k != "label_from"}
    for name, file in coe_example.TWIN_INPUTS.items():
        twin[name] = (
            {k: f"{data}/{p}" for k, p in file.items()}
            if isinstance(file, dict)
            else f"{data}/{file}"
        )
    _write_params(tree, "chain_of_experts", TWIN, twin)
    _stores(tree, "chain_of_experts", coe_example.runs(coe_example.load_twin(tree / data)), base)


EPOCHS_CA, LAYERS_CA = 20, 4


def credit_docs() -> dict:
    """The CIFAR-10 example's numbers (3 seeds, 4 methods) cut to EPOCHS_CA epochs and LAYERS_CA
    layers and blocks, float32-exact."""
    out = {}
    for seed, methods in ca_example.simulated(examples.credit_assignment).items():
        out[seed] = {}
        for method, result in methods.items():
            diag = result["diagnostics"]
            out[seed][method] = {
                "log": {k: v[:EPOCHS_CA] for k, v in result["log"].items()},
                "diagnostics": {
                    "bp_cosine": diag["bp_cosine"][:LAYERS_CA],
                    "perturbation_rho": diag["perturbation_rho"][:LAYERS_CA],
                    "nudging": {eta: v[:LAYERS_CA] for eta, v in diag["nudging"].items()},
                },
                "drift": dict(list(result["drift"].items())[:LAYERS_CA]),
            }
    return ca_example.float32_docs(out)


def _credit_assignment(tree: Path) -> None:
    data = Path("userdata") / "trackers" / "credit_assignment"
    docs = credit_docs()
    files = ca_example.write_twin(tree / data / "json", docs)
    given = yaml.safe_load((tree / "params/credit_assignment/cifar10_tensorboard.yaml").read_text())
    base = {k: v for k, v in given.items() if k != "source"}
    seed_files = {s: str(p.relative_to(tree)) for s, p in files.items()}
    _write_params(tree, "credit_assignment", TWIN, {**base, "seed_files": seed_files})
    _stores(tree, "credit_assignment", ca_example.runs(docs), base)


MOE_TYPES = ("softmoe", "ffn", "expert_segmentation")
MOE_SEEDS, MOE_EPOCHS, MOE_REPS = 3, 4, 200


def _moe_analysis(tree: Path) -> None:
    """3 MoE types x 3 seeds x 4 epochs; the twin is an Aim repository of the seed's layout (the
    MoE analysis' own input), so without aim there is neither twin nor report here. Beside them
    a report of one type (nothing to compare)."""
    if not AIM:
        return
    data = Path("userdata") / "trackers" / "moe_analysis"
    shape = dict(moe_types=MOE_TYPES, seeds=MOE_SEEDS, epochs=MOE_EPOCHS)
    specs = moe_example.aim_runs(examples.moe_run_values, **shape)
    moe_example.write_aim_twin(tree / data / "twin", specs)
    twin = {"repo_path": str(data / "twin"), "dataset": "cifar10", "reps": MOE_REPS}
    _write_params(tree, "moe_analysis", TWIN, twin)
    given = yaml.safe_load((tree / "params/moe_analysis/cifar10_tensorboard.yaml").read_text())
    base = {**{k: v for k, v in given.items() if k != "source"}, "reps": MOE_REPS}
    _stores(tree, "moe_analysis", moe_example.runs(examples.moe_run_values, **shape), base)
    one = {"source": f"aim:{data / 'twin'}", "moe_types": {"ffn": "FFN"}, "reps": MOE_REPS}
    _write_params(tree, "moe_analysis", "one_type", one)


NLR_KEPT = ("_fixed_0_", "_fixed_50_", "_fixed_100_", "_gating_")  # runs of the shrunk example
NLR_SEEDS = ("_s0", "_s1")
NLR_PARAMS = {"subset_pattern": "mnist_gating"}


def nlr_docs() -> dict:
    """The MNIST example's runs, float32-exact, shrunk to NLR_KEPT x NLR_SEEDS."""
    every = nlr_example.float32_docs(nlr_example.simulated(examples.nonlinearity_reduction))
    return {
        name: doc
        for name, doc in every.items()
        if any(k in name for k in NLR_KEPT) and name.endswith(NLR_SEEDS)
    }


def without(runs: list, *parts: str) -> list:
    """*runs* without the scalar keys holding any of *parts*."""
    return [
        replace(r, scalars={k: v for k, v in r.scalars.items() if not any(p in k for p in parts)})
        for r in runs
    ]


def _nonlinearity_reduction(tree: Path) -> None:
    """The shrunk MNIST example; beside its stores a TensorBoard store of the same runs that
    logged no latency, per-neuron gates or activation statistics (from_sparse_store)."""
    data = Path("userdata") / "trackers" / "nonlinearity_reduction"
    docs = nlr_docs()
    nlr_example.write_json(tree / data / "json", docs)
    _write_params(
        tree, "nonlinearity_reduction", TWIN, {"runs_dir": str(data / "json"), **NLR_PARAMS}
    )
    runs = nlr_example.runs(docs)
    _stores(tree, "nonlinearity_reduction", runs, NLR_PARAMS)
    sparse = tw.write_store(
        "tensorboard", tree / data / "sparse", without(runs, "latency", "/alphas/", "activ")
    )
    _write_params(
        tree,
        "nonlinearity_reduction",
        "from_sparse_store",
        {"source": sparse.replace(f"{tree}/", "", 1), **NLR_PARAMS},
    )


ST_EPOCHS = 8


def _sparse_training(tree: Path) -> None:
    """The example's four runs at ST_EPOCHS epochs, float32-exact; the twin is their metrics
    files."""
    data = Path("userdata") / "trackers" / "sparse_training"
    docs = st_example.example_docs(examples.sparse_training, epochs=ST_EPOCHS)
    (tree / data / "json").mkdir(parents=True)
    for name, doc in docs.items():
        (tree / data / "json" / name).write_text(json.dumps(doc, indent=2) + "\n")
    twin = {
        "run_file": f"{data}/json/gated_good.json",
        "baseline_file": f"{data}/json/baseline.json",
        "sample_by_sample_file": f"{data}/json/sample_by_sample.json",
    }
    _write_params(tree, "sparse_training", TWIN, twin)
    gated = docs["gated_good.json"]["run"]
    runs = [st_example.tracked_run(doc) for doc in docs.values()]
    _stores(tree, "sparse_training", runs, {"run_names": {"gated": gated}})


TRACKER_REPORTS = {  # the slowest to write first
    "moe_analysis": _moe_analysis,
    "chain_of_experts": _chain_of_experts,
    "nonlinearity_reduction": _nonlinearity_reduction,
    "credit_assignment": _credit_assignment,
    "sparse_training": _sparse_training,
}


def prepare(tree: Path, workers: int = 2) -> None:
    """Write every input and params file above into *tree* (a fresh copy_tree): the quick ones
    here, the stores (each written by its tracker's library, Aim's in child processes) by
    *workers* processes side by side."""
    (tree / "userdata").mkdir()
    _broken_and_invalid(tree)
    _modified_data(tree)
    _crafted_nonlinearity(tree)
    _crafted_credit(tree)
    _hostile_names(tree, AIM)
    slow = [*TRACKER_REPORTS.values(), *([_twin_aim_repos] if AIM else [])]
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        for done in [pool.submit(write, tree) for write in slow]:
            done.result()
