"""What the digits experiments share: the data split, the pieces of a small numpy MLP, the scale
knob (LABBOOK_EXPERIMENTS), one BLAS thread, and the attributes that say what was trained where."""

import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labbook.sources.trackers.trained import TRAINED

SCALE_VARIABLE = "LABBOOK_EXPERIMENTS"
SCALES = ("full", "quick")
DATA = "scikit-learn digits (1,797 8×8 images, 10 classes)"
CLASSES = 10


def scale() -> str:
    """The scale the experiments run at: $LABBOOK_EXPERIMENTS, "full" (default) or "quick" (a few
    seconds each: the tests' builds). Anything else is an error naming the variable."""
    value = os.environ.get(SCALE_VARIABLE, "full") or "full"
    if value not in SCALES:
        raise SystemExit(f"{SCALE_VARIABLE}={value!r}: choose one of {', '.join(SCALES)}")
    return value


@dataclass(frozen=True)
class Digits:
    """The split: x (n, 64) pixel intensities in [0, 1], y (n,) class labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def describe(self) -> str:
        return (
            f"scikit-learn digits (8×8 images: {len(self.y_train):,} train, "
            f"{len(self.y_test):,} test)"
        )


def load(seed: int = 0, test_fraction: float = 0.25) -> Digits:
    """scikit-learn's bundled digits, scaled to [0, 1], split at random (seeded) into train and
    test, stratified by nothing: a permutation of the 1,797 images."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return Digits(x[train], y[train], x[test], y[test])


def init_layers(sizes: tuple[int, ...], rng: np.random.Generator) -> list[list[np.ndarray]]:
    """[[W (fan_in, fan_out), b (fan_out,)] per layer], W ~ N(0, 1/fan_in) (LeCun), b = 0."""
    return [
        [rng.normal(0.0, 1.0 / np.sqrt(a), (a, b)), np.zeros(b)]
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (n, classes)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def one_hot(y: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    return np.eye(classes)[y]


def cross_entropy(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy (nats) of probabilities p (n, classes) at labels y (n,)."""
    return -np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))


def batches(n: int, size: int, rng: np.random.Generator):
    """Index arrays of a random permutation of range(n) in chunks of *size*."""
    order = rng.permutation(n)
    for i in range(0, n, size):
        yield order[i : i + size]


def cpu() -> str:
    """The processor's model name (from /proc/cpuinfo, else platform), its architecture, and the
    one BLAS thread the experiments use."""
    name = ""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    name = name or platform.processor() or "unknown CPU"
    return f"{name} ({platform.machine()}), 1 thread"


@contextmanager
def one_thread():
    """Numpy's BLAS (and OpenMP) limited to one thread: each experiment runs on one core."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


class Stopwatch:
    """Wall-clock seconds of a block: `with Stopwatch() as sw: ...; sw.seconds`."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def trained(model: str, data: str, epochs: int, seconds: float) -> dict:
    """The attributes that say what a run trained, on what, for how long and on which CPU
    (labbook.sources.trackers.base.TRAINED): its reports show them in one line instead of the
    example-data banner."""
    values = {"model": model, "data": data, "epochs": int(epochs), "seconds": round(seconds, 3)}
    values["cpu"] = cpu()
    return {TRAINED[k]: v for k, v in values.items()}
