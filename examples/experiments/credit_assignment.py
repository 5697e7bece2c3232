"""Credit assignment on digits: one tanh MLP trained by backpropagation (BP), feedback alignment
(FA: the backward pass through fixed random matrices instead of the transposed weights) and direct
feedback alignment (DFA: the output error sent to every hidden layer through a fixed random
matrix), from several seeds, written to TensorBoard (tensorboardX).

Per run (`<method>_s<seed>`; attributes method, seed, dataset and the trained.* description), at
steps 1..epochs (step = epoch):

    train_acc, test_acc                     accuracy (fraction) after the epoch
    diag/<layer>/bp_cosine                  mean over the epoch's batches of the cosine between the
                                            rule's weight update of that layer and BP's gradient
                                            on the same batch (BP: 1)
and at the last epoch's step:
    diag/<layer>/perturbation_rho           Pearson correlation, over random perturbations of the
                                            layer's weights, between the loss change and the
                                            change the rule's gradient predicts
    diag/<layer>/nudging/0.01               loss change after moving the layer 1% of its weight
                                            norm along the rule's update (negative is good)
    drift/layers.<layer>.weight             ||W_final - W_init|| / ||W_init||

Layer 0 is the input layer; the last layer (the readout) gets the same update under every rule.
No rule here predicts the network's state: there is no state_pred_error.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments import common
from labbook.runner import trackerwrite
from labbook.runner.trackerwrite import TrackedRun

METHODS = ("bp", "fa", "dfa")
NUDGE = "0.01"  # relative step of the nudging test


@dataclass(frozen=True)
class Scale:
    seeds: tuple[int, ...]
    epochs: int
    hidden: tuple[int, ...] = (128, 128, 128)
    batch: int = 32
    lr: float = 0.05
    perturbations: int = 48


SCALES = {
    "full": Scale(seeds=(0, 1, 2, 3, 4), epochs=30),
    "quick": Scale(seeds=(0, 1), epochs=4, hidden=(64, 64), perturbations=16),
}


def model_name(s: Scale) -> str:
    sizes = "-".join(str(n) for n in (64, *s.hidden, common.CLASSES))
    return f"MLP {sizes} (tanh, numpy)"


def forward(layers, x):
    """Activations [x, h1, ..., logits]: tanh hidden layers, linear readout."""
    hs = [x]
    for i, (w, b) in enumerate(layers):
        a = hs[-1] @ w + b
        hs.append(a if i == len(layers) - 1 else np.tanh(a))
    return hs


def loss(layers, x, y) -> float:
    return float(common.cross_entropy(common.softmax(forward(layers, x)[-1]), y).mean())


def gradients(method: str, layers, feedback, x, y):
    """[(dW, db)] per layer: the rule's estimate of the mean loss gradient on the batch (x, y).
    feedback: FA, a matrix (fan_out, fan_in) per layer standing in for W.T; DFA, a matrix
    (classes, width) per hidden layer carrying the output error there."""
    hs = forward(layers, x)
    error = (common.softmax(hs[-1]) - common.one_hot(y)) / len(y)  # dL/dlogits
    deltas = [error]
    for i in range(len(layers) - 1, 0, -1):  # the hidden layer below layer i
        if method == "bp":
            back = deltas[0] @ layers[i][0].T
        elif method == "fa":
            back = deltas[0] @ feedback[i]
        else:  # dfa
            back = error @ feedback[i - 1]
        deltas.insert(0, back * (1.0 - hs[i] ** 2))
    return [(hs[i].T @ d, d.sum(axis=0)) for i, d in enumerate(deltas)]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float((a * b).sum() / (na * nb)) if na > 0 and nb > 0 else 0.0


def accuracy(layers, x, y) -> float:
    return float((forward(layers, x)[-1].argmax(axis=1) == y).mean())


def perturbation_rho(method, layers, feedback, x, y, rng, count: int) -> list[float]:
    """Per layer: Pearson correlation between the loss change under `count` random perturbations
    of the layer's weights (size 1e-3 of its norm) and the change the rule's gradient predicts."""
    grads = gradients(method, layers, feedback, x, y)
    base = loss(layers, x, y)
    out = []
    for i, (w, _b) in enumerate(layers):
        actual, predicted = [], []
        for _ in range(count):
            d = rng.normal(size=w.shape)
            d *= 1e-3 * np.linalg.norm(w) / np.linalg.norm(d)
            layers[i][0] = w + d
            actual.append(loss(layers, x, y) - base)
            layers[i][0] = w
            predicted.append(float((grads[i][0] * d).sum()))
        out.append(float(np.corrcoef(actual, predicted)[0, 1]))
    return out


def nudging(method, layers, feedback, x, y, step: float) -> list[float]:
    """Per layer: the loss change after moving its weights by `step` times their norm against the
    rule's gradient estimate (negative: the rule's update lowers the loss)."""
    grads = gradients(method, layers, feedback, x, y)
    base = loss(layers, x, y)
    out = []
    for i, (w, _b) in enumerate(layers):
        g = grads[i][0]
        layers[i][0] = w - step * np.linalg.norm(w) * g / max(np.linalg.norm(g), 1e-300)
        out.append(loss(layers, x, y) - base)
        layers[i][0] = w
    return out


def train(method: str, seed: int, data: common.Digits, s: Scale) -> tuple[dict, float]:
    """One run: its scalars {key: (steps, values)} and its training seconds (evaluation and
    diagnostics excluded). The initial weights and feedback matrices depend on the seed only, so
    the three rules start from the same network."""
    rng = np.random.default_rng(seed)
    sizes = (data.x_train.shape[1], *s.hidden, common.CLASSES)
    layers = common.init_layers(sizes, rng)
    init = [w.copy() for w, _ in layers]
    if method == "fa":
        feedback = {
            i: rng.normal(0, 1 / np.sqrt(sizes[i]), (sizes[i + 1], sizes[i]))
            for i in range(1, len(layers))
        }
    elif method == "dfa":
        feedback = [
            rng.normal(0, 1 / np.sqrt(common.CLASSES), (common.CLASSES, n)) for n in s.hidden
        ]
    else:
        feedback = None
    order = np.random.default_rng(seed + 1000)
    series = {k: [] for k in ("train_acc", "test_acc")}
    cosines = np.zeros((s.epochs, len(layers)))
    seconds = 0.0
    for epoch in range(s.epochs):
        sums, count = np.zeros(len(layers)), 0
        for idx in common.batches(len(data.y_train), s.batch, order):
            x, y = data.x_train[idx], data.y_train[idx]
            true = None if method == "bp" else gradients("bp", layers, None, x, y)  # untimed
            with common.Stopwatch() as sw:
                grads = gradients(method, layers, feedback, x, y)
                for (w, b), (dw, db) in zip(layers, grads):
                    w -= s.lr * dw
                    b -= s.lr * db
            seconds += sw.seconds
            sums += [cosine(g[0], t[0]) for g, t in zip(grads, true or grads)]
            count += 1
        cosines[epoch] = sums / count
        series["train_acc"].append(accuracy(layers, data.x_train, data.y_train))
        series["test_acc"].append(accuracy(layers, data.x_test, data.y_test))
    steps = np.arange(1, s.epochs + 1)
    last = np.array([s.epochs])
    scalars = {k: (steps, np.array(v)) for k, v in series.items()}
    for i in range(len(layers)):
        scalars[f"diag/{i}/bp_cosine"] = (steps, cosines[:, i])
    probe = np.random.default_rng(seed + 2000)
    sample = probe.choice(len(data.y_train), 256, replace=False)
    x, y = data.x_train[sample], data.y_train[sample]
    rho = perturbation_rho(method, layers, feedback, x, y, probe, s.perturbations)
    nudge = nudging(method, layers, feedback, x, y, float(NUDGE))
    for i, (w, _) in enumerate(layers):
        scalars[f"diag/{i}/perturbation_rho"] = (last, np.array([rho[i]]))
        scalars[f"diag/{i}/nudging/{NUDGE}"] = (last, np.array([nudge[i]]))
        drift = np.linalg.norm(w - init[i]) / np.linalg.norm(init[i])
        scalars[f"drift/layers.{i}.weight"] = (last, np.array([drift]))
    return scalars, seconds


def runs(s: Scale, data: common.Digits) -> list[TrackedRun]:
    """Every method from every seed of scale *s*, as TrackedRuns (seed, then method order)."""
    out = []
    for seed in s.seeds:
        for method in METHODS:
            start = time.time()
            scalars, seconds = train(method, seed, data, s)
            attrs = {"method": method, "seed": seed, "dataset": "digits"}
            attrs.update(common.trained(model_name(s), data.describe(), s.epochs, seconds))
            out.append(
                TrackedRun(
                    f"{method}_s{seed}", params=attrs, scalars=scalars, wall_time=float(int(start))
                )
            )
    return out


def generate(out: Path, scale: str | None = None) -> None:
    """Train every run at *scale* (None: $LABBOOK_EXPERIMENTS) on one thread and write them as
    TensorBoard runs into out/tensorboard/, with a README saying what they are."""
    s = SCALES[scale or common.scale()]
    with common.one_thread():
        tracked = runs(s, common.load())
    trackerwrite.write_tensorboard(Path(out) / "tensorboard", tracked)
    total = sum(r.params[common.TRAINED["seconds"]] for r in tracked)
    (Path(out) / "README.md").write_text(
        "# credit_assignment_digits\n\nReal training runs (examples/experiments/"
        f"credit_assignment.py), not simulated: {model_name(s)} trained by "
        f"{', '.join(METHODS)} on {common.DATA}, seeds {list(s.seeds)}, {s.epochs} epochs; "
        f"{total:.1f} s of training on {common.cpu()}.\n"
    )
