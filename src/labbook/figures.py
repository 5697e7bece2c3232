"""Saving figures (PNG + PDF with deterministic bytes) and the figure check that keeps them
paper-ready: overlapping or cut-off text, text too small to print, squashed axes, bars whose value
axis leaves out zero, and legends drawn over data. Every measure is taken from the renderer's real
extents after the layout engine ran, in points at print size.
"""

import itertools
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
from matplotlib.container import BarContainer
from matplotlib.path import Path as MPath
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation
from matplotlib.transforms import Bbox

from labbook.guards import fonttools as fonttools_guard
from labbook.guards import matplotlib as mpl_guard

FORMATS = ("png", "pdf")


_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Date": None, "Creator": None},
}

MIN_FONT_PT = 5.0  # smallest legible text at print size
MIN_AXES_IN = 0.8  # smallest readable axes box (height and width) at print size
OVERLAP_PT = 1.0  # text boxes that share more than this (in both directions) overlap


def saved_box(fig: plt.Figure, drawn: bool = False):
    """The tight bounding box (inches, padded) savefig would compute, once for every format;
    *drawn*: the figure was just drawn (e.g. by check), so its layout is final."""
    if not drawn:
        fig.draw_without_rendering()
    return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])


def save(
    fig: plt.Figure,
    directory: Path,
    name: str,
    formats: tuple[str, ...] = FORMATS,
    drawn: bool = False,
) -> list[Path]:
    """Write *fig* as directory/name.<fmt> for each format; returns the paths written. *drawn*:
    the figure was drawn just before (its layout is final), so the bounding box is not redrawn.

    Byte-identical across runs given the same data, provided SOURCE_DATE_EPOCH is set (the
    runner sets it) and style.paper()'s svg.hashsalt is in effect.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"figure name must be a plain file stem, not {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bbox = saved_box(fig, drawn) if plt.rcParams["savefig.bbox"] == "tight" else None
    engine = fig.get_layout_engine()
    fig.set_layout_engine("none")  # laid out just above: each format draws that layout as it is
    written = []
    try:
        with fonttools_guard.lean_pdf_fonts():  # PDF font subsets without layout tables
            for fmt in formats:
                path = directory / f"{name}.{fmt}"
                fig.savefig(path, format=fmt, metadata=_METADATA.get(fmt), bbox_inches=bbox)
                written.append(path)
    finally:
        fig.set_layout_engine(engine)
    return written


_SUPERSCRIPT = str.maketrans("0123456789-−+.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻⁺·")


class PlainLogFormatter(LogFormatterSciNotation):
    """Log-axis tick labels as plain Unicode text (10⁻³, 2×10⁻³), for figures drawn with mathtext
    off (style.paper sets text.parse_math False): matplotlib's own log formatter writes
    mathtext, which would then be shown as source."""

    def __call__(self, x, pos=None):
        text = super().__call__(x, pos)
        m = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", text)
        if not m:
            return text
        body = m.group(1).replace("\\times", "×").replace("\\,", "")
        return re.sub(r"\^\{([^}]*)\}", lambda e: e.group(1).translate(_SUPERSCRIPT), body)


def plain_log_ticks(fig: plt.Figure) -> None:
    """Give every log axis of *fig* that uses matplotlib's default (mathtext) log formatter a
    PlainLogFormatter with the same settings; other formatters are left alone."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, set_ in (
                (axis.get_major_formatter, axis.set_major_formatter),
                (axis.get_minor_formatter, axis.set_minor_formatter),
            ):
                f = get()
                if type(f) is LogFormatterSciNotation:
                    set_(PlainLogFormatter(**mpl_guard.log_formatter_settings(f)))


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes (from the IHDR chunk)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def print_size(fig: plt.Figure) -> tuple[float, float]:
    """(width, height) in inches of the figure as saved (the tight box when
    savefig.bbox is tight)."""
    fig.draw_without_rendering()
    box = _saved_box(fig, fig.canvas.get_renderer())
    return box.width / fig.dpi, box.height / fig.dpi


# ---------------------------------------------------------------- the figure check


@dataclass(frozen=True)
class Problem:
    """One thing a reader would mark in a figure."""

    # overlap, cut_off, tiny_text, small_axes, bars_not_from_zero, legend_over_data, text_over_data
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.replace('_', ' ')}: {self.detail}"


def check(fig: plt.Figure, print_width: float | None = None) -> list[Problem]:
    """What a reader would mark in *fig*, measured after layout at print size.

    print_width: the width (inches) the figure is printed at; default the figure's own width (its
    paper column). A saved figure wider than that (labels pushing the tight box out) is scaled
    down to it, and its text with it. Returns the problems, an empty list for a clean figure.
    """
    fig.draw_without_rendering()  # runs the layout engine; extents below are final
    renderer = fig.canvas.get_renderer()
    saved = _saved_box(fig, renderer)
    scale = _print_scale(fig, saved, print_width)
    pt = 72.0 / fig.dpi * scale  # points at print size per display pixel
    texts = _visible_texts(fig, renderer)
    problems = []
    problems += _overlaps(texts, renderer, pt)
    problems += _cut_off(fig, texts, renderer, saved, pt)
    problems += _tiny_text(texts, scale)
    problems += _raw_markup(texts)
    problems += _small_axes(fig, renderer, pt)
    problems += _bars_from_zero(fig)
    problems += _legends_over_data(fig, renderer, pt)
    problems += _texts_over_data(fig, renderer, pt)
    return problems


def _print_scale(fig, saved: Bbox, print_width: float | None) -> float:
    """Display pixels -> print size, as a factor (at most 1): a saved box wider than the print
    width is scaled down to it."""
    width = print_width or fig.get_figwidth()
    return min(1.0, width * fig.dpi / saved.width)


def _print_pt(fig, renderer, print_width: float | None) -> float:
    """Points at print size per display pixel."""
    return 72.0 / fig.dpi * _print_scale(fig, _saved_box(fig, renderer), print_width)


def _saved_box(fig, renderer) -> Bbox:
    if plt.rcParams["savefig.bbox"] == "tight":
        box = fig.get_tightbbox(renderer)  # inches
        return Bbox.from_extents(*(np.asarray(box.extents) * fig.dpi))
    return fig.bbox


def _label(t: Text) -> str:
    s = " ".join(t.get_text().split())
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _axes_visible(ax) -> bool:
    return ax.get_visible() and ax.figure is not None


def _visible_texts(fig, renderer) -> list[Text]:
    """Every text drawn in *fig*: figure texts, titles, axis labels, drawn tick labels, legend
    entries, annotations (ticks outside the view and invisible artists left out)."""
    out: list[Text] = list(fig.texts)
    for legend in fig.legends:
        out += [legend.get_title(), *legend.get_texts()]
    for ax in fig.axes:
        if not _axes_visible(ax):
            continue
        out += [*mpl_guard.title_texts(ax), *ax.texts]
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                if not axis.get_visible():
                    continue
                out += [axis.label, axis.get_offset_text()]
                for tick in mpl_guard.drawn_ticks(axis):  # inside the view: the ones drawn
                    out += [tick.label1, tick.label2]
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            out += [legend.get_title(), *legend.get_texts()]
    seen, texts = set(), []
    for t in out:
        if id(t) in seen or not t.get_visible() or not t.get_text().strip() or t.get_alpha() == 0:
            continue
        if _text_box(t, renderer).width <= 0:
            continue
        seen.add(id(t))
        texts.append(t)
    return texts


def _text_box(t: Text, renderer) -> Bbox:
    """The box of *t*'s text in display pixels; for an annotation the text alone, not its arrow
    (an arrow pointing at a bar is meant to reach it)."""
    return Text.get_window_extent(t, renderer)


def _corners(t: Text, renderer) -> np.ndarray:
    """The four corners (display pixels) of *t*'s rotated text box, array(4, 2)."""
    box = _text_box(t, renderer)
    angle = np.deg2rad(t.get_rotation() % 180)
    if np.isclose(np.sin(2 * angle), 0):  # 0 or 90 degrees: the axis-aligned box is exact
        return box.corners()
    flat = Text(text=t.get_text())
    flat.update_from(t)
    flat.set_rotation(0)
    flat.set_figure(t.figure)
    w, h = flat.get_window_extent(renderer).size
    c = np.array(
        [box.x0 + box.width / 2, box.y0 + box.height / 2]
    )  # a rotated box keeps its centre
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return c + half @ rot.T


def _polygons_overlap(a: np.ndarray, b: np.ndarray, margin: float) -> bool:
    """Separating-axis test for two convex quadrilaterals; they overlap by more than *margin*."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            normal = np.array([-edge[1], edge[0]])
            norm = np.hypot(*normal)
            if norm == 0:
                continue
            normal /= norm
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= margin:
                return False
    return True


def _overlapping_pairs(texts: list[Text], renderer, pt: float):
    """Yield the pairs (a, b) of *texts* that overlap by more than OVERLAP_PT at print size."""
    margin = OVERLAP_PT / pt  # in display pixels
    boxes = [_text_box(t, renderer) for t in texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(texts), 2):
        ba, bb = boxes[i], boxes[j]
        if (
            min(ba.x1, bb.x1) - max(ba.x0, bb.x0) <= margin
            or min(ba.y1, bb.y1) - max(ba.y0, bb.y0) <= margin
        ):
            continue
        if _polygons_overlap(_corners(a, renderer), _corners(b, renderer), margin):
            yield a, b


def _overlaps(texts: list[Text], renderer, pt: float) -> list[Problem]:
    return [
        Problem("overlap", f"text {_label(a)} overlaps {_label(b)}")
        for a, b in _overlapping_pairs(texts, renderer, pt)
    ]


@dataclass(frozen=True)
class Repair:
    """One change figures.repair made to a figure: *kind* (wrapped_text, turned_labels,
    taller_figure, legend_headroom) and *detail*, a neutral sentence a reader is shown."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def repair(fig: plt.Figure, problems: list[Problem]) -> list[Repair]:
    """Mend what a narrow column (NeurIPS, ICLR, JMLR: less width, larger type) breaks in a figure
    laid out for ICML, the way an author would: text wider than its room is wrapped (titles and
    x labels to their panel, figure titles to the figure), colliding x tick labels are turned,
    panels shorter than MIN_AXES_IN get the figure taller, and an upper legend over data gets
    headroom. Only figures with *problems* (figures.check) are touched, and only for those kinds:
    a clean figure is left exactly as drawn. Returns what was changed, one Repair per change
    (empty: nothing changed; else check again)."""
    kinds = {p.kind for p in problems}
    made: list[Repair] = []
    if kinds & {"overlap", "cut_off", "tiny_text"}:
        made += _fit_texts(fig)
    if "legend_over_data" in kinds:
        made += _legend_headroom(fig)
    if "small_axes" in kinds or made:
        made += _grow_short_panels(fig)
    return made


def _panel(fig, ax) -> str:
    """'panel 2 of 4' (axes in the figure's order), or 'the panel' when there is one."""
    shown = [a for a in fig.axes if _axes_visible(a)]
    return "the panel" if len(shown) <= 1 else f"panel {shown.index(ax) + 1} of {len(shown)}"


def _wrap_to(t: Text, width: float, room: float) -> float:
    """Wrap *t* (drawn *width* pixels wide) at word boundaries to about *room* pixels; returns
    the inches of height the added lines take."""
    before = t.get_text().count("\n")
    text = " ".join(t.get_text().split())
    wrapped = textwrap.fill(text, max(8, int(len(text) * room / width)))
    t.set_text(wrapped)
    return max(0, wrapped.count("\n") - before) * t.get_fontsize() * 1.2 / 72


def _fit_texts(fig) -> list[Repair]:
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    width_in = fig.get_figwidth()
    made: list[Repair] = []
    added = {"figure": 0.0, "title": 0.0, "xlabel": 0.0}  # inches of height the wraps add
    figure_texts = list(fig.texts) + [lg.get_title() for lg in fig.legends]
    for t in figure_texts:
        width = _text_box(t, renderer).width if t.get_text().strip() else 0
        if width > fig.bbox.width:
            added["figure"] += _wrap_to(t, width, fig.bbox.width * 0.95)
            made.append(
                Repair("wrapped_text", f"a figure title wrapped to fit the {width_in:.2f} in width")
            )
    pt = _print_pt(fig, renderer, None)
    owners = {}
    for ax in fig.axes:
        if _axes_visible(ax):
            owners[id(ax.title)] = owners[id(ax.xaxis.label)] = ax
    ticks = {}
    for ax in _data_axes(fig):
        for tick in mpl_guard.drawn_ticks(ax.xaxis):
            ticks[id(tick.label1)] = ax
    colliding = {}
    tangled_axes = []
    for a, b in _overlapping_pairs(_visible_texts(fig, renderer), renderer, pt):
        colliding[id(a)], colliding[id(b)] = a, b
        if id(a) in ticks and ticks[id(a)] is ticks.get(id(b)):
            tangled_axes.append(ticks[id(a)])
    for key, t in colliding.items():
        ax = owners.get(key)
        if ax is None:
            continue
        width, room = _text_box(t, renderer).width, ax.bbox.width
        if width > room:
            where = "title" if t is ax.title else "xlabel"
            added[where] = max(added[where], _wrap_to(t, width, room))
            what = "title" if where == "title" else "x-axis label"
            made.append(
                Repair("wrapped_text", f"the {what} of {_panel(fig, ax)} wrapped to fit its width")
            )
    for ax in dict.fromkeys(tangled_axes):
        _turn_tick_labels(ax)
        made.append(
            Repair("turned_labels", f"the x tick labels of {_panel(fig, ax)} turned 30° to fit")
        )
    if any(added.values()):
        fig.set_figheight(fig.get_figheight() + sum(added.values()))
    return made


def _turn_tick_labels(ax) -> None:
    """Turn the x tick labels of *ax* by 30 degrees, each on one line (a label broken over lines
    would collide again once turned)."""
    shown = ax.xaxis.get_major_formatter()

    def one_line(x, pos=None):
        lines = str(shown(x, pos)).split("\n")
        return "".join(a if a.endswith("-") else a + " " for a in lines[:-1]) + lines[-1]

    ax.xaxis.set_major_formatter(FuncFormatter(one_line))
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set(ha="right", rotation_mode="anchor")


def _legend_headroom(fig, most: int = 4) -> list[Repair]:
    """Raise the top of the y axis of panels whose upper legend covers data, by 20 % of the
    range at a time (at most *most* times), until the legend clears the data; where that does not
    clear it (a line across the whole height), the axis is left as it was."""
    made: list[Repair] = []
    for ax in _data_axes(fig):
        legend = ax.get_legend()
        if (
            legend is None
            or mpl_guard.legend_location(legend) not in (1, 2, 9)
            or ax.get_yscale() != "linear"
        ):
            continue  # upper right, upper left, upper center
        limits = ax.get_ylim()
        for i in range(most + 1):
            fig.draw_without_rendering()
            renderer = fig.canvas.get_renderer()
            margin = OVERLAP_PT / _print_pt(fig, renderer, None)
            if not _legend_covers_data(fig, legend, renderer, margin):
                if i > 0:
                    made.append(
                        Repair(
                            "legend_headroom",
                            f"the y axis of {_panel(fig, ax)} extended {20 * i}% upward so the "
                            "legend clears the data",
                        )
                    )
                break
            if i == most:
                ax.set_ylim(*limits)
                break
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, lo + (hi - lo) * 1.2)
    return made


def _cut_off(fig, texts, renderer, saved: Bbox, pt: float) -> list[Problem]:
    tol = OVERLAP_PT / pt
    problems = []
    for t in texts:
        box = _text_box(t, renderer)
        if (
            box.x0 < saved.x0 - tol
            or box.y0 < saved.y0 - tol
            or box.x1 > saved.x1 + tol
            or box.y1 > saved.y1 + tol
        ):
            problems.append(Problem("cut_off", f"text {_label(t)} is cut off by the figure edge"))
            continue
        ax = t.axes
        if ax is None or t not in ax.texts or t.get_transform() != ax.transData:
            continue
        frame = ax.bbox
        if (
            box.x0 < frame.x0 - tol
            or box.y0 < frame.y0 - tol
            or box.x1 > frame.x1 + tol
            or box.y1 > frame.y1 + tol
        ):
            where = "cut off by" if t.get_clip_on() else "drawn over"
            problems.append(
                Problem("cut_off", f"data label {_label(t)} is {where} the edge of its axes")
            )
    return problems


def _raw_markup(texts: list[Text]) -> list[Problem]:
    """Tick labels written in mathtext by a matplotlib formatter but shown as source, because the
    style turns mathtext off (names from data are shown as written)."""
    raw = [t for t in texts if "\\mathdefault" in t.get_text()]
    if not raw:
        return []
    return [
        Problem("raw_markup", f"{len(raw)} text(s) show mathtext source, e.g. {_label(raw[0])}")
    ]


def _tiny_text(texts: list[Text], scale: float) -> list[Problem]:
    small = [t for t in texts if t.get_fontsize() * scale < MIN_FONT_PT - 1e-9]
    if not small:
        return []
    sizes = sorted({round(t.get_fontsize() * scale, 1) for t in small})
    return [
        Problem(
            "tiny_text",
            f"{len(small)} text(s) below {MIN_FONT_PT:g} pt at print size "
            f"({', '.join(f'{s:g}' for s in sizes)} pt), e.g. {_label(small[0])}",
        )
    ]


def _data_axes(fig):
    """Visible axes that hold data (colour bars and axes drawn without a frame excluded)."""
    return [
        ax
        for ax in fig.axes
        if _axes_visible(ax) and ax.axison and not mpl_guard.is_colorbar_axes(ax)
    ]


def _small_axes(fig, renderer, pt: float) -> list[Problem]:
    problems = []
    for ax in _data_axes(fig):
        w, h = ax.bbox.width * pt / 72, ax.bbox.height * pt / 72
        if h < MIN_AXES_IN or w < MIN_AXES_IN:
            name = (
                ax.get_title() or ax.get_ylabel() or ax.get_xlabel() or f"axes {fig.axes.index(ax)}"
            )
            problems.append(
                Problem(
                    "small_axes",
                    f"axes {name!r} is {w:.2f} x {h:.2f} in at print size "
                    f"(under {MIN_AXES_IN:g} in)",
                )
            )
    return problems


def _grow_short_panels(fig: plt.Figure) -> list[Repair]:
    """Make *fig* taller until every data axes is at least MIN_AXES_IN high at print size (a
    narrow column's larger type leaves less of a fixed height to the panels). The width is the
    column's and is never changed. Returns the change made (none, or one Repair)."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    saved = _saved_box(fig, renderer)
    scale = _print_scale(fig, saved, None)
    grow = 0.0  # inches of figure height
    for ax in _data_axes(fig):
        short = MIN_AXES_IN + 0.05 - ax.bbox.height / fig.dpi * scale  # print inches missing
        if short > 0:
            spec = ax.get_subplotspec()
            rows = spec.get_gridspec().nrows if spec is not None else 1
            grow = max(grow, short / scale * rows)
    if grow == 0:
        return []
    fig.set_figheight(fig.get_figheight() + grow)
    detail = f"the figure made {grow:.2f} in taller so each panel is at least {MIN_AXES_IN} in high"
    return [Repair("taller_figure", detail)]


def _bars_from_zero(fig) -> list[Problem]:
    problems = []
    for ax in _data_axes(fig):
        for container in ax.containers:
            if not isinstance(container, BarContainer) or not container.patches:
                continue
            vertical = container.orientation == "vertical"
            bases = [p.get_y() if vertical else p.get_x() for p in container.patches]
            if not np.allclose(bases, 0):  # floating bars (intervals, stacks): not magnitudes
                continue
            if (ax.get_yscale() if vertical else ax.get_xscale()) != "linear":
                continue
            lo, hi = sorted(ax.get_ylim() if vertical else ax.get_xlim())
            if lo > 0 or hi < 0:
                name = ax.get_title() or (ax.get_ylabel() if vertical else ax.get_xlabel())
                problems.append(
                    Problem(
                        "bars_not_from_zero",
                        f"bars in {name!r} are drawn on an axis from "
                        f"{lo:.3g} to {hi:.3g}, which leaves out zero",
                    )
                )
                break
    return problems


def _data_paths(ax, renderer, under_text: bool = False):
    """(path in display pixels, filled, marker radius px) of everything plotted in *ax*: lines
    (reference lines too), markers, bands, error bars and, unless *under_text*, bars, wedges and
    heatmap cells (which value labels are meant to sit on)."""
    px_per_pt = ax.figure.dpi / 72
    for line in ax.lines:
        if not line.get_visible():
            continue
        path = line.get_transform().transform_path(line.get_path())
        if line.get_linestyle() not in ("None", "", " ") and len(path.vertices) > 1:
            yield path, False, 0.0
        if line.get_marker() not in (None, "None", "", " "):
            yield path, None, line.get_markersize() * px_per_pt / 2
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            offsets = coll.get_offset_transform().transform(coll.get_offsets())
            sizes = coll.get_sizes() if len(coll.get_sizes()) else np.array([36.0])
            yield MPath(offsets), None, float(np.sqrt(sizes.max())) * px_per_pt / 2
        elif isinstance(coll, QuadMesh):
            if not under_text:
                yield MPath(coll.get_window_extent(renderer).corners()[[0, 1, 3, 2, 0]]), True, 0.0
        else:
            filled = isinstance(coll, PolyCollection)
            for p in coll.get_paths():
                yield coll.get_transform().transform_path(p), filled, 0.0
    if not under_text:
        for patch in ax.patches:
            if patch.get_visible():
                yield patch.get_transform().transform_path(patch.get_path()), True, 0.0


def _texts_over_data(fig, renderer, pt: float) -> list[Problem]:
    """Annotations and value labels drawn across lines, markers, bands or error bars."""
    margin = OVERLAP_PT / pt
    problems = []
    for ax in _data_axes(fig):
        paths = None
        for t in ax.texts:
            if not t.get_visible() or not t.get_text().strip():
                continue
            box = _text_box(t, renderer)
            if box.width <= 2 * margin or box.height <= 2 * margin:
                continue
            region = Bbox.from_extents(
                box.x0 + margin, box.y0 + margin, box.x1 - margin, box.y1 - margin
            )
            paths = paths if paths is not None else list(_data_paths(ax, renderer, under_text=True))
            if any(_path_hits(path, filled, radius, region) for path, filled, radius in paths):
                problems.append(
                    Problem("text_over_data", f"text {_label(t)} is drawn over plotted data")
                )
    return problems


def _legends_over_data(fig, renderer, pt: float) -> list[Problem]:
    margin = OVERLAP_PT / pt
    legends = [(lg, "figure legend") for lg in fig.legends]
    legends += [
        (ax.get_legend(), f"legend of {ax.get_title() or 'an axes'!r}")
        for ax in fig.axes
        if _axes_visible(ax) and ax.get_legend() is not None
    ]
    return [
        Problem("legend_over_data", f"the {name} covers plotted data")
        for legend, name in legends
        if legend.get_visible() and _legend_covers_data(fig, legend, renderer, margin)
    ]


def _legend_covers_data(fig, legend, renderer, margin: float) -> bool:
    lbox = legend.get_window_extent(renderer)
    for ax in _data_axes(fig):
        region = Bbox.intersection(lbox, ax.bbox)
        if region is None or region.width <= 2 * margin or region.height <= 2 * margin:
            continue
        region = Bbox.from_extents(
            region.x0 + margin, region.y0 + margin, region.x1 - margin, region.y1 - margin
        )
        if any(
            _path_hits(path, filled, radius, region)
            for path, filled, radius in _data_paths(ax, renderer)
        ):
            return True
    return False


def _path_hits(path, filled, radius: float, region: Bbox) -> bool:
    if filled is None:  # markers: any point (with its radius) inside the region
        v = path.vertices
        return bool(
            np.any(
                (v[:, 0] >= region.x0 - radius)
                & (v[:, 0] <= region.x1 + radius)
                & (v[:, 1] >= region.y0 - radius)
                & (v[:, 1] <= region.y1 + radius)
            )
        )
    return bool(path.intersects_bbox(region, filled=filled))
