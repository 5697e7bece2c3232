"""Adaptive sparse training on digits: a tanh MLP trained on every sample (baseline), and trained
only on the samples whose significance passes a threshold that a controller moves toward a target
activation rate: batched (one forward pass over the batch, the backward pass over its active
samples) and sample by sample (each sample alone: a forward pass for its significance, a second
forward and a backward pass when it is active). Written to an MLflow SQLite store (MlflowClient).

Significance of a sample: 1 - the probability the network gives its label (0: learned, 1: wrong
with certainty). After each batch the threshold moves by `adapt_rate` x (batch activation rate -
target), clipped to [0, 1]: too many active samples raise it, too few lower it.

Per run (params kind, seed, the config fields of the report's runs table, and the trained.*
description), at steps 1..epochs (step = epoch), the dashboard's series in the trainer's names:
train_loss (mean cross-entropy over the epoch's samples, nats), val_accuracy (% on the test split),
epoch_times (seconds of the epoch's training loop, measured), and for gated runs
activation_rates, energy_savings (1 - rate: the share of samples skipped) and thresholds (at the
epoch's end). The sample-by-sample run trains for a few epochs only: it is there for the timing.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments import common
from labbook.runner import trackerwrite
from labbook.runner.trackerwrite import TrackedRun

HIDDEN = 512


@dataclass(frozen=True)
class Scale:
    epochs: int
    sample_epochs: int  # epochs of the sample-by-sample run
    target: float = 0.10
    threshold: float = 0.4  # initial
    adapt_rate: float = 0.5
    lr: float = 0.1
    batch: int = 64
    seed: int = 0


SCALES = {"full": Scale(epochs=25, sample_epochs=5), "quick": Scale(epochs=6, sample_epochs=2)}


def model_name(s: Scale) -> str:
    return f"MLP 64-{HIDDEN}-10 (tanh, numpy)"


def forward(layers, x):
    """(hidden activations, class probabilities) of x (n, 64)."""
    (w1, b1), (w2, b2) = layers
    h = np.tanh(x @ w1 + b1)
    return h, common.softmax(h @ w2 + b2)


def step(layers, x, h, p, y, lr: float) -> None:
    """One SGD step on the mean cross-entropy of (x, y), from its forward pass (h, p)."""
    (w1, b1), (w2, b2) = layers
    d2 = (p - common.one_hot(y)) / len(y)
    d1 = (d2 @ w2.T) * (1.0 - h**2)
    w2 -= lr * (h.T @ d2)
    b2 -= lr * d2.sum(axis=0)
    w1 -= lr * (x.T @ d1)
    b1 -= lr * d1.sum(axis=0)


def significance(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 - p(label) per sample, in [0, 1]."""
    return 1.0 - p[np.arange(len(y)), y]


class Gate:
    """The threshold and its controller; counts the samples seen and made active."""

    def __init__(self, s: Scale):
        self.s, self.threshold, self.seen, self.active = s, s.threshold, 0, 0

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        mask = scores > self.threshold
        self.seen += len(scores)
        self.active += int(mask.sum())
        move = self.s.adapt_rate * (mask.mean() - self.s.target) * len(scores) / self.s.batch
        self.threshold = float(np.clip(self.threshold + move, 0.0, 1.0))
        return mask


def train(kind: str, data: common.Digits, s: Scale, epochs: int) -> dict:
    """One run of *kind* (baseline, gated, sample_by_sample): {metric: [value per epoch]}."""
    rng = np.random.default_rng(s.seed)
    layers = common.init_layers((data.x_train.shape[1], HIDDEN, common.CLASSES), rng)
    order = np.random.default_rng(s.seed + 1000)
    gate = Gate(s)
    keys = ["train_loss", "val_accuracy", "epoch_times"]
    if kind != "baseline":
        keys += ["activation_rates", "energy_savings", "thresholds"]
    out = {k: [] for k in keys}
    for _ in range(epochs):
        losses = []
        gate.seen = gate.active = 0
        start = time.perf_counter()
        if kind == "sample_by_sample":
            for i in order.permutation(len(data.y_train)):
                x, y = data.x_train[i : i + 1], data.y_train[i : i + 1]
                h, p = forward(layers, x)
                losses.append(common.cross_entropy(p, y)[0])
                if gate(significance(p, y))[0]:
                    h, p = forward(layers, x)  # the second pass of sample-by-sample training
                    step(layers, x, h, p, y, s.lr)
        else:
            for idx in common.batches(len(data.y_train), s.batch, order):
                x, y = data.x_train[idx], data.y_train[idx]
                h, p = forward(layers, x)
                losses.extend(common.cross_entropy(p, y))
                if kind == "baseline":
                    step(layers, x, h, p, y, s.lr)
                    continue
                mask = gate(significance(p, y))
                if mask.any():  # the active samples' backward pass, from the one forward pass
                    step(layers, x[mask], h[mask], p[mask], y[mask], s.lr)
        out["epoch_times"].append(time.perf_counter() - start)
        out["train_loss"].append(float(np.mean(losses)))
        _, p = forward(layers, data.x_test)
        out["val_accuracy"].append(100.0 * float((p.argmax(axis=1) == data.y_test).mean()))
        if kind != "baseline":
            rate = gate.active / gate.seen
            out["activation_rates"].append(rate)
            out["energy_savings"].append(1.0 - rate)
            out["thresholds"].append(gate.threshold)
    return out


def runs(s: Scale, data: common.Digits) -> list[TrackedRun]:
    """The baseline, the batched gated run and the sample-by-sample gated run of scale *s*."""
    out = []
    for kind, name, epochs in (
        ("baseline", "digits-baseline", s.epochs),
        ("gated", "digits-gated", s.epochs),
        ("sample_by_sample", "digits-sample-by-sample", s.sample_epochs),
    ):
        start = time.time()
        metrics = train(kind, data, s, epochs)
        config = {"kind": kind, "seed": s.seed, "lr": s.lr, "epochs": epochs}
        config["samples_per_epoch"] = len(data.y_train)
        config["batch_size"] = 1 if kind == "sample_by_sample" else s.batch
        if kind != "baseline":
            config.update(target_activation_rate=s.target, activation_threshold=s.threshold)
            config["adapt_rate"] = s.adapt_rate
        seconds = float(np.sum(metrics["epoch_times"]))
        config.update(common.trained(model_name(s), data.describe(), epochs, seconds))
        steps = np.arange(1, epochs + 1)
        scalars = {k: (steps, np.asarray(v, dtype=float)) for k, v in metrics.items()}
        out.append(TrackedRun(name, params=config, scalars=scalars, wall_time=float(int(start))))
    return out


def generate(out: Path, scale: str | None = None) -> None:
    """Train the three runs at *scale* (None: $LABBOOK_EXPERIMENTS) on one thread and write them
    into out/mlflow/mlflow.db (experiment "digits"), with a README saying what they are."""
    s = SCALES[scale or common.scale()]
    with common.one_thread():
        tracked = runs(s, common.load())
    trackerwrite.write_mlflow(Path(out) / "mlflow" / "mlflow.db", tracked, experiment="digits")
    (Path(out) / "README.md").write_text(
        "# sparse_training_digits\n\nReal training runs (examples/experiments/"
        f"sparse_training.py), not simulated: {model_name(s)} on {common.DATA}: a baseline and a "
        f"batched gated run ({s.epochs} epochs, target activation rate {s.target:.0%}) and a "
        f"sample-by-sample gated run ({s.sample_epochs} epochs) on {common.cpu()}.\n"
    )
