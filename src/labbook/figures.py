"""Saving figures: PNG + PDF with deterministic bytes (metadata cleared, fixed dates)."""
from pathlib import Path

import matplotlib.pyplot as plt

FORMATS = ("png", "pdf")
_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Date": None, "Creator": None},
}


def save(fig: plt.Figure, directory: Path, name: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write *fig* as directory/name.<fmt> for each format; returns the paths written.

    Byte-identical across runs given the same data, provided SOURCE_DATE_EPOCH is set (the
    runner sets it) and style.paper()'s svg.hashsalt is in effect.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"figure name must be a plain file stem, not {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = directory / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, metadata=_METADATA.get(fmt))
        written.append(path)
    return written
