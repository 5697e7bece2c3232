"""Plot style as plain rcParams dicts (no hidden state): apply with ``plt.rcParams.update`` or
``plt.rc_context``. Figure sizes and font sizes come from tueplots' bundle for a venue (ICML by
default: 3.25 in half, 6.75 in full column) with golden-ratio heights and constrained layout.
"""

from collections.abc import Iterable, Sequence

import seaborn as sns
from tueplots import figsizes, fontsizes

# Colour-blind-safe qualitative palette (seaborn "colorblind", Wong 2011 order), hex strings.
PALETTE: tuple[str, ...] = tuple(sns.color_palette("colorblind", 10).as_hex())
NEUTRAL = "#8c8c8c"  # individual runs, grid-like guides
SINGLE_FULL_HEIGHT = 0.62  # height factor of a single full-width panel (2.6 in instead of 4.2 in)
REFERENCE = "#222222"  # targets, thresholds, reference lines: never a method's colour

_BASE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: same glyphs on every machine
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "labbook",
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linestyle": "--",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
    "text.parse_math": False,  # a "$" in a name from data is a dollar sign, never mathtext
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "errorbar.capsize": 2.5,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.3,
}


def _one_column(size_fn):
    """A single-column venue's sizes: "full" is the text width, "half" half of it."""
    return (lambda **kw: size_fn(rel_width=0.5, **kw)), (lambda **kw: size_fn(rel_width=1.0, **kw))


# venue -> (half-width figsize, full-width figsize, font sizes), tueplots' bundles
VENUES = {
    "icml": (figsizes.icml2024_half, figsizes.icml2024_full, fontsizes.icml2024),
    "aistats": (figsizes.aistats2025_half, figsizes.aistats2025_full, fontsizes.aistats2025),
    "neurips": (*_one_column(figsizes.neurips2024), fontsizes.neurips2024),
    "iclr": (*_one_column(figsizes.iclr2024), fontsizes.iclr2024),
    "jmlr": (*_one_column(figsizes.jmlr2001), fontsizes.jmlr2001),
    "tmlr": (*_one_column(figsizes.tmlr2023), fontsizes.tmlr2023),
}


def paper(
    column: str = "half",
    nrows: int = 1,
    ncols: int = 1,
    height_scale: float = 1.0,
    height: float | None = None,
    venue: str = "icml",
) -> dict:
    """rcParams for a figure of *nrows* x *ncols* panels at a paper's column width.

    column: "half" or "full" — for two-column venues (ICML: 3.25 in / 6.75 in, AISTATS) one
    column or the page; for one-column venues (NeurIPS, ICLR, JMLR, TMLR) half or all of the text
    width. venue: a key of VENUES (its widths and font sizes). height_scale multiplies the
    golden-ratio height; *height* (inches) replaces it, for figures whose height follows their
    content (e.g. one row per method). A figure is never shorter than the same layout at ICML:
    narrower venues set larger type, and a golden-ratio height from their width alone would leave
    the panels too short to read. Returns a new dict; nothing global is touched.
    """
    if column not in ("half", "full"):
        raise ValueError(f"column must be 'half' or 'full', not {column!r}")
    if venue not in VENUES:
        raise ValueError(f"venue must be one of {sorted(VENUES)}, not {venue!r}")
    half, full, fonts = VENUES[venue]
    rc = dict(_BASE)
    rc.update(fonts())
    rc.update((half if column == "half" else full)(nrows=nrows, ncols=ncols))
    icml_half, icml_full, _ = VENUES["icml"]
    icml = (icml_half if column == "half" else icml_full)(nrows=nrows, ncols=ncols)
    w, h = rc["figure.figsize"]
    h = max(h, icml["figure.figsize"][1])
    if column == "full" and nrows == ncols == 1:
        h *= SINGLE_FULL_HEIGHT  # one panel across the page: golden ratio would fill half of it
    rc["figure.figsize"] = (w, height if height is not None else h * height_scale)
    rc["axes.prop_cycle"] = _cycler(PALETTE)
    return rc


def panel_columns(column: str, venue: str, min_width: float, most: int) -> int:
    """How many panels at least *min_width* inches wide (labels included) fit side by side in the
    figure width of *column* at *venue*: between 1 and *most*. Grids of one panel per method use
    it so a narrower venue gets more rows instead of panels too small to read."""
    width = paper(column, venue=venue)["figure.figsize"][0]
    return max(1, min(most, int(width // min_width)))


def sequence_colors(n: int) -> list[str]:
    """*n* colours for ordered things that are not methods (layers, blocks, depths): a sequential
    map, so they never read as methods of the report's palette."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    cmap = plt.get_cmap("cividis")
    return [
        to_hex(cmap(x))
        for x in ([0.45] if n == 1 else [0.05 + 0.8 * i / (n - 1) for i in range(n)])
    ]


def rows_height(
    rows: int, per_row: float = 0.24, base: float = 0.8, minimum: float = 0.85
) -> float:
    """Figure height (inches) for panels that draw one row per item (methods, pairs): *per_row*
    inches per row plus *base* for titles and tick labels, never less than *minimum* + base."""
    return base + max(minimum, rows * per_row)


def _cycler(colors: Sequence[str]):
    from cycler import cycler

    return cycler(color=list(colors))


def method_colors(methods: Iterable[str]) -> dict[str, str]:
    """A fixed method -> colour map for one report: the i-th distinct method gets PALETTE[i].

    Pass every method of the report once, in the report's order, and use the map in every figure
    so a method keeps its colour throughout. More than 10 methods reuse colours with a warning-free
    cycle of seaborn's "husl" palette instead.
    """
    unique = list(dict.fromkeys(methods))
    colors = (
        list(PALETTE)
        if len(unique) <= len(PALETTE)
        else sns.color_palette("husl", len(unique)).as_hex()
    )
    return {m: colors[i] for i, m in enumerate(unique)}
