"""The private parts of matplotlib and fontTools that labbook.guards touches: each test exercises
the behaviour relied on against the installed library, so an upgrade that moves it fails here with
the guard's message, not as a wrong figure later."""

import io

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text
from matplotlib.ticker import LogFormatterSciNotation

from labbook.guards import fonttools as fonttools_guard
from labbook.guards import matplotlib as mpl_guard


def test_title_texts_are_the_three_drawn_titles():
    fig, ax = plt.subplots()
    ax.set_title("centre")
    ax.set_title("left", loc="left")
    ax.set_title("right", loc="right")
    texts = mpl_guard.title_texts(ax)
    assert [t.get_text() for t in texts] == ["centre", "left", "right"]
    assert all(isinstance(t, Text) for t in texts)
    plt.close(fig)


def test_drawn_ticks_are_only_those_inside_the_view():
    fig, ax = plt.subplots()
    ax.plot([0, 10], [0, 1])
    ax.set_xticks([-5, 0, 5, 10, 15])
    ax.set_xlim(0, 10)
    fig.draw_without_rendering()
    shown = sorted(t.get_loc() for t in mpl_guard.drawn_ticks(ax.xaxis))
    assert shown == [0, 5, 10]  # -5 and 15 lie outside the view: never drawn
    assert len(ax.xaxis.get_major_ticks()) == 5
    plt.close(fig)


@pytest.mark.parametrize("loc,code", [("upper right", 1), ("upper left", 2), ("upper center", 9)])
def test_legend_location_is_the_code_it_was_placed_with(loc, code):
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="a")
    assert mpl_guard.legend_location(ax.legend(loc=loc)) == code
    plt.close(fig)


def test_log_formatter_settings_make_an_equal_formatter():
    original = LogFormatterSciNotation(base=2, labelOnlyBase=True, linthresh=0.5)
    copy = LogFormatterSciNotation(**mpl_guard.log_formatter_settings(original))
    for x in (0.25, 1, 2, 8, 1024):
        assert copy(x) == original(x)


def test_colorbar_axes_are_told_from_data_axes():
    fig, (ax, own) = plt.subplots(1, 2)
    image = ax.imshow([[0, 1], [2, 3]])
    made = fig.colorbar(image, ax=ax)  # matplotlib makes the axes
    given = fig.colorbar(image, cax=own)  # an axes the caller made
    for bar in (made, given):
        assert mpl_guard.is_colorbar_axes(bar.ax), (
            f"matplotlib {matplotlib.__version__} no longer sets Axes._colorbar on a colour bar's "
            "axes: labbook.guards.matplotlib.is_colorbar_axes must be updated (the figure check "
            "would take colour bars for data axes)"
        )
    assert not mpl_guard.is_colorbar_axes(ax)
    assert [a for a in fig.axes if not mpl_guard.is_colorbar_axes(a)] == [ax]
    plt.close(fig)


def test_guard_names_what_moved():
    class Moved:  # an Axes of a future matplotlib without the private titles
        title = Text()

    with pytest.raises(mpl_guard.GuardError, match="Axes._left_title.*labbook.guards.matplotlib"):
        mpl_guard.title_texts(Moved())


def _pdf_with_text() -> bytes:
    with plt.rc_context({"pdf.fonttype": 42}):  # TrueType subsets, as style.paper embeds them
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.set_title("Office affinity")  # "ffi": a ligature the layout tables would carry
        buf = io.BytesIO()
        fig.savefig(buf, format="pdf")
    plt.close(fig)
    return buf.getvalue()


def test_lean_pdf_fonts_drops_layout_tables_only_inside_the_block():
    from fontTools import subset

    before = subset.Options().drop_tables
    with fonttools_guard.lean_pdf_fonts():
        inside = subset.Options().drop_tables
        lean = _pdf_with_text()
    assert set(fonttools_guard.LAYOUT_TABLES) <= set(inside)
    assert subset.Options().drop_tables == before  # restored: nothing outlives the block
    full = _pdf_with_text()
    assert len(lean) < len(full)  # the embedded subset lost its layout tables


def test_lean_pdf_fonts_restores_after_an_error():
    from fontTools import subset

    before = subset.Options().drop_tables
    with pytest.raises(ZeroDivisionError), fonttools_guard.lean_pdf_fonts():
        raise ZeroDivisionError
    assert subset.Options().drop_tables == before
