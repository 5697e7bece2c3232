"""Nonlinearity reduction on digits: a ReLU MLP 64-128-128-10 with a fixed share of each hidden
layer's units made linear (identity instead of ReLU; 0 to 100 %, from several seeds), and the same
MLP with a learned gate per hidden unit (act = a relu(z) + (1 - a) z, a = sigmoid(g / T), a penalty
on the mean a pushing units linear, the temperature T annealed so the gates end near 0 or 1).
Written to an Aim repository through labbook.runner.trackerwrite.write_aim (aim's own SDK).

Inference latency is measured on the network the run would deploy: linear units fold into the
layers around them (a chain of linear maps is one matrix), so a network with more linear units
does fewer multiply-adds; a gating run is hardened first (a > 0.5: ReLU, else linear). Latency is
the wall-clock time of one forward pass over the 450 test images (one thread), repeated.

Per run (`digits_fixed_<percent>_s<seed>`, `digits_gating_s<seed>`; params approach, dataset,
seed, linear_ratio (fixed runs), gate_penalty (gating runs), mean/p50/p90_latency_s,
trainable_params, approx_linear_flops (multiply-adds x 2 per image of the folded network),
memory_mb (its weights) and the trained.* description), at steps 1..epochs: train_acc, val_acc
(fractions), train_loss, val_loss, and for gating runs gating/<layer>/alpha_mean, alpha_median,
alpha_lt_0.1, alpha_gt_0.9 and, at the last step, gating/<layer>/alphas/<neuron>.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments import common
from labbook.runner import trackerwrite
from labbook.runner.trackerwrite import TrackedRun

HIDDEN = (128, 128)
LAYERS = ("fc1", "fc2")  # the hidden layers' names in the gating keys
GATE_STATS = ("alpha_mean", "alpha_median", "alpha_lt_0.1", "alpha_gt_0.9")


@dataclass(frozen=True)
class Scale:
    seeds: tuple[int, ...]
    ratios: tuple[float, ...]
    epochs: int
    gate_seeds: tuple[int, ...]
    lr: float = 0.05
    batch: int = 32
    gate_penalty: float = 1e-3  # weight of the sum of the gates in the loss
    gate_lr: float = 5.0
    repeats: int = 200  # latency measurements per run


SCALES = {
    "full": Scale(
        seeds=(0, 1, 2), ratios=(0.0, 0.25, 0.5, 0.75, 1.0), epochs=20, gate_seeds=(0, 1, 2)
    ),
    "quick": Scale(seeds=(0,), ratios=(0.0, 1.0), epochs=3, gate_seeds=(0,), repeats=20),
}


def model_name(s: Scale) -> str:
    return f"MLP 64-{'-'.join(map(str, HIDDEN))}-10 (ReLU, numpy)"


def forward(layers, alphas, x):
    """(pre-activations z per hidden layer, hidden outputs per layer, logits); alphas: per hidden
    layer an array (width,) of gates in [0, 1] (1: ReLU, 0: identity)."""
    zs, hs, h = [], [], x
    for (w, b), a in zip(layers[:-1], alphas):
        z = h @ w + b
        h = a * np.maximum(z, 0.0) + (1.0 - a) * z
        zs.append(z)
        hs.append(h)
    w, b = layers[-1]
    return zs, hs, h @ w + b


def backward(layers, alphas, x, y, zs, hs, logits):
    """(weight gradients [(dW, db)], gate gradients [d loss / d a per unit]) of the mean
    cross-entropy."""
    d = (common.softmax(logits) - common.one_hot(y)) / len(y)
    grads, gate_grads = [None] * len(layers), [None] * len(alphas)
    inputs = [x, *hs]
    for i in range(len(layers) - 1, -1, -1):
        w = layers[i][0]
        grads[i] = (inputs[i].T @ d, d.sum(axis=0))
        if i == 0:
            break
        up = d @ w.T  # d loss / d h of hidden layer i-1
        z, a = zs[i - 1], alphas[i - 1]
        gate_grads[i - 1] = (up * (np.maximum(z, 0.0) - z)).sum(axis=0)
        d = up * (a * (z > 0) + (1.0 - a))
    return grads, gate_grads


def accuracy_loss(layers, alphas, x, y) -> tuple[float, float]:
    logits = forward(layers, alphas, x)[2]
    p = common.softmax(logits)
    return float((logits.argmax(axis=1) == y).mean()), float(common.cross_entropy(p, y).mean())


def folded(layers, nonlinear) -> list:
    """The inference network of an MLP whose hidden units are ReLU where *nonlinear* (a bool
    array per hidden layer) is True and identity elsewhere, every linear unit folded away:
    [(maps, bias)] per layer of ReLU units and last the logits, where a layer's pre-activation is
    bias + the sum over k of input_k @ maps[k]; input 0 is the image, input j the ReLU units of
    the j-th entry. All-zero maps are left out. Exact: the unfolded network's outputs."""
    maps, bias = {0: None}, None  # each unit of the layer below as inputs -> unit (None: x itself)
    net = []
    for i, (w, b) in enumerate(layers):
        pre = {k: w if m is None else m @ w for k, m in maps.items()}
        pre_b = b if bias is None else bias @ w + b
        if i == len(layers) - 1:
            net.append((pre, pre_b))
            break
        keep = nonlinear[i]
        net.append(({k: m[:, keep] for k, m in pre.items()}, pre_b[keep]))
        maps = {k: np.where(keep, 0.0, m) for k, m in pre.items()}  # linear units: as they were
        select = np.zeros((int(keep.sum()), len(keep)))
        select[np.arange(int(keep.sum())), np.flatnonzero(keep)] = 1.0
        maps[len(net)] = select  # ReLU units: their own input
        bias = np.where(keep, 0.0, pre_b)
    return [({k: m for k, m in pre.items() if m.size and np.any(m)}, b) for pre, b in net]


def run_folded(net, x):
    """Logits of the folded network *net* (folded()) for images x (n, 64)."""
    inputs = {0: x}
    for j, (pre, b) in enumerate(net[:-1], start=1):
        if b.size:  # a layer left with no ReLU unit computes nothing
            inputs[j] = np.maximum(sum(inputs[k] @ m for k, m in pre.items()) + b, 0.0)
    pre, b = net[-1]
    return sum((inputs[k] @ m for k, m in pre.items()), np.zeros((len(x), b.size))) + b


def cost(net) -> tuple[int, float]:
    """(FLOPs per image: 2 x multiply-adds, MB of the weights and biases as float64)."""
    macs = sum(m.size for pre, _ in net for m in pre.values())
    numbers = macs + sum(b.size for _, b in net)
    return 2 * macs, numbers * 8 / 1e6


def latency(net, x, repeats: int) -> np.ndarray:
    """Seconds of each of *repeats* forward passes over x (after 10 unmeasured ones)."""
    for _ in range(10):
        run_folded(net, x)
    out = np.empty(repeats)
    for r in range(repeats):
        start = time.perf_counter()
        run_folded(net, x)
        out[r] = time.perf_counter() - start
    return out


def gate_stats(alphas) -> dict:
    """{layer name: (mean, median, share < 0.1, share > 0.9)} of the gates."""
    return {
        name: (a.mean(), np.median(a), (a < 0.1).mean(), (a > 0.9).mean())
        for name, a in zip(LAYERS, alphas)
    }


def train(data: common.Digits, s: Scale, seed: int, ratio: float | None) -> tuple[dict, dict]:
    """One run: fixed (*ratio*: the share of each hidden layer's units made linear, chosen at
    random by the seed) or gating (*ratio* None). Returns (scalars, params)."""
    rng = np.random.default_rng(seed)
    layers = common.init_layers((data.x_train.shape[1], *HIDDEN, common.CLASSES), rng)
    gating = ratio is None
    if gating:
        logits_g = [np.full(n, 1.0) for n in HIDDEN]
    else:
        linear = [rng.permutation(n) < round(ratio * n) for n in HIDDEN]
        alphas = [np.where(lin, 0.0, 1.0) for lin in linear]
    order = np.random.default_rng(seed + 1000)
    keys = ["train_acc", "val_acc", "train_loss", "val_loss"]
    series = {k: [] for k in keys}
    gates = {name: [] for name in LAYERS}
    seconds = 0.0
    for epoch in range(s.epochs):
        temperature = 0.05 ** (epoch / max(s.epochs - 1, 1)) if gating else 1.0
        start = time.perf_counter()
        for idx in common.batches(len(data.y_train), s.batch, order):
            if gating:
                alphas = [1.0 / (1.0 + np.exp(-g / temperature)) for g in logits_g]
            x, y = data.x_train[idx], data.y_train[idx]
            zs, hs, logits = forward(layers, alphas, x)
            grads, gate_grads = backward(layers, alphas, x, y, zs, hs, logits)
            for (w, b), (dw, db) in zip(layers, grads):
                w -= s.lr * dw
                b -= s.lr * db
            if gating:
                for g, a, gg in zip(logits_g, alphas, gate_grads):
                    slope = a * (1.0 - a) / temperature
                    g -= s.gate_lr * (gg + s.gate_penalty) * slope
        seconds += time.perf_counter() - start
        if gating:
            alphas = [1.0 / (1.0 + np.exp(-g / temperature)) for g in logits_g]
            for name, stat in gate_stats(alphas).items():
                gates[name].append(stat)
        for part, x, y in (
            ("train", data.x_train, data.y_train),
            ("val", data.x_test, data.y_test),
        ):
            acc, loss = accuracy_loss(layers, alphas, x, y)
            series[f"{part}_acc"].append(acc)
            series[f"{part}_loss"].append(loss)
    steps = np.arange(1, s.epochs + 1)
    scalars = {k: (steps, np.array(v)) for k, v in series.items()}
    nonlinear = [a > 0.5 for a in alphas]
    if gating:
        for name, stats in gates.items():
            stats = np.array(stats)
            for c, stat in enumerate(
                ("alpha_mean", "alpha_median", "alpha_lt_0.1", "alpha_gt_0.9")
            ):
                scalars[f"gating/{name}/{stat}"] = (steps, stats[:, c])
        for name, a in zip(LAYERS, alphas):
            for n, value in enumerate(a):
                scalars[f"gating/{name}/alphas/{n}"] = (steps[-1:], np.array([value]))
    net = folded(layers, nonlinear)
    flops, memory = cost(net)
    times = latency(net, data.x_test, s.repeats)
    trainable = sum(w.size + b.size for w, b in layers) + (sum(HIDDEN) if gating else 0)
    params = {
        "approach": "gating" if gating else "fixed",
        "dataset": "digits",
        "seed": seed,
        "mean_latency_s": float(times.mean()),
        "p50_latency_s": float(np.median(times)),
        "p90_latency_s": float(np.quantile(times, 0.9)),
        "trainable_params": int(trainable),
        "approx_linear_flops": int(flops),
        "memory_mb": round(memory, 4),
    }
    if gating:
        params["gate_penalty"] = s.gate_penalty
    else:
        params["linear_ratio"] = ratio
    params.update(common.trained(model_name(s), data.describe(), s.epochs, seconds))
    return scalars, params


def runs(s: Scale, data: common.Digits) -> list[TrackedRun]:
    """Every fixed run (ratio, then seed) and every gating run of scale *s*."""
    out = []
    todo = [(r, seed) for r in s.ratios for seed in s.seeds] + [(None, g) for g in s.gate_seeds]
    for ratio, seed in todo:
        start = time.time()
        scalars, params = train(data, s, seed, ratio)
        kind = "gating" if ratio is None else f"fixed_{round(100 * ratio)}"
        out.append(
            TrackedRun(
                f"digits_{kind}_s{seed}",
                params=params,
                scalars=scalars,
                wall_time=float(int(start)),
            )
        )
    return out


def generate(out: Path, scale: str | None = None) -> None:
    """Train every run at *scale* (None: $LABBOOK_EXPERIMENTS) on one thread and write them into
    a new Aim repository at out/aim/ (through labbook.runner.trackerwrite.write_aim), with a README
    saying what they are. Without aim installed (the aim extra, Python 3.11 only) it stops before
    training, with labbook.guards.aim's AimMissing naming the extra."""
    from labbook.guards.aim import require

    require("aim")
    s = SCALES[scale or common.scale()]
    with common.one_thread():
        tracked = runs(s, common.load())
    trackerwrite.write_aim(Path(out) / "aim", tracked, experiment="digits")
    (Path(out) / "README.md").write_text(
        "# nonlinearity_reduction_digits\n\nReal training runs (examples/experiments/"
        f"nonlinearity_reduction.py), not simulated: {model_name(s)} on {common.DATA}, linear "
        f"shares {list(s.ratios)} from seeds {list(s.seeds)} and gating runs from seeds "
        f"{list(s.gate_seeds)}, {s.epochs} epochs, on {common.cpu()}.\n"
    )
