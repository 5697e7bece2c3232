"""The figure check: deliberately bad figures give the problem a reader would mark;
clean ones none."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from labbook import figures, statplots, style


@pytest.fixture(autouse=True)
def paper_style():
    with plt.rc_context(style.paper("full")):
        yield
    plt.close("all")


def kinds(fig) -> list[str]:
    return sorted({p.kind for p in figures.check(fig)})


def test_clean_figure_has_no_problems():
    fig, ax = plt.subplots()
    x = np.arange(1, 11)
    ax.plot(x, x**0.5, marker="o", label="a")
    ax.plot(x, 0.5 * x**0.5, marker="s", label="b")
    ax.set(xlabel="Epoch", ylabel="Score", title="Clean")
    statplots.legend_above(fig, [ax])
    assert figures.check(fig) == []


def test_overlapping_tick_labels():
    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.bar(range(12), np.arange(12) + 1)
    ax.set_xticks(range(12), [f"a long category name {i}" for i in range(12)])
    problems = figures.check(fig, print_width=6.75)
    assert "overlap" in {p.kind for p in problems}
    assert any("long category name" in p.detail for p in problems)


def test_rotated_labels_that_do_not_touch_are_clean():
    fig, ax = plt.subplots()
    ax.bar(range(4), [1, 2, 3, 4])
    ax.set_xticks(range(4), ["alpha", "beta", "gamma", "delta"], rotation=45, ha="right")
    assert "overlap" not in kinds(fig)


def test_overlapping_annotations():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.text(0.5, 0.9, "first label here", transform=ax.transAxes)
    ax.text(0.52, 0.9, "second label here", transform=ax.transAxes)
    assert "overlap" in kinds(fig)


def test_text_cut_off_by_the_figure_edge():
    with plt.rc_context({"savefig.bbox": "standard"}):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        fig.text(0.98, 0.5, "this text runs off the page")
        assert "cut_off" in kinds(fig)


def test_value_label_beyond_the_axes():
    fig, ax = plt.subplots()
    ax.bar([0, 1], [10, 20])
    ax.set_ylim(0, 20)
    ax.text(1, 20.5, "20.0", ha="center", va="bottom")  # data label above the axes top
    assert "cut_off" in kinds(fig)


def test_tiny_text():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=4)
    problems = figures.check(fig)
    assert [p.kind for p in problems] == ["tiny_text"]
    assert "4 pt" in problems[0].detail


def test_figure_wider_than_its_column_shrinks_its_text():
    fig, ax = plt.subplots(figsize=(6.75, 2.5))
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=6)
    assert figures.check(fig) == []
    assert "tiny_text" in {
        p.kind for p in figures.check(fig, print_width=3.25)
    }  # printed at half width


def test_squashed_axes():
    fig, axes = plt.subplots(4, 1, figsize=(6.75, 2.0))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    problems = figures.check(fig)
    assert {p.kind for p in problems} == {"small_axes"}
    assert len(problems) == 4


def test_bars_that_do_not_start_at_zero():
    fig, (a, b) = plt.subplots(1, 2)
    a.bar([0, 1, 2], [76, 78, 77])
    a.set_ylim(75, 79)
    b.barh([0, 1], [5, 6])
    assert [p.kind for p in figures.check(fig)] == ["bars_not_from_zero"]


def test_floating_bars_are_not_magnitudes():
    fig, ax = plt.subplots()
    ax.barh([0, 1], [0.1, 0.2], left=[0.6, 0.7])  # interval bars: no zero needed
    ax.set_xlim(0.5, 1)
    assert figures.check(fig) == []


def test_legend_over_data():
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 50)
    ax.plot(x, np.ones_like(x), label="flat at the top")
    ax.plot(x, x, label="rising")
    ax.legend(loc="upper left")
    assert "legend_over_data" in kinds(fig)


def test_legend_over_a_reference_line():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [20, 16, 24], label="measured")
    ax.axhline(3, ls="--", label="target")
    ax.set_ylim(0, 25)
    ax.legend(loc="lower left")
    assert "legend_over_data" in kinds(fig)


def test_legend_in_empty_space_is_clean():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 0.2], label="low line")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    assert figures.check(fig) == []


def test_value_label_through_an_error_bar():
    fig, ax = plt.subplots()
    ax.bar([0, 1], [10, 20], yerr=[4, 4])
    ax.set_ylim(0, 30)
    ax.text(0, 10.5, "10.0", ha="center", va="bottom")  # sits on the whisker
    assert "text_over_data" in kinds(fig)


def test_statplots_bars_keep_labels_clear_of_whiskers():
    fig, ax = plt.subplots()
    statplots.bars(
        ax, ["a", "b", "c"], [10, 20, 15], ["C0", "C1", "C2"], lower=[8, 17, 14], upper=[12, 23, 16]
    )
    assert figures.check(fig) == []
    assert ax.get_ylim()[0] == 0


def test_interval_and_improvement_plots_grow_with_rows_and_stay_clean():
    import pandas as pd

    methods = [f"method {i}" for i in range(7)]
    frame = pd.DataFrame(
        [
            {
                "method": m,
                "metric": k,
                "estimate": 0.5 + 0.01 * i,
                "lower": 0.49 + 0.01 * i,
                "upper": 0.51 + 0.01 * i,
            }
            for i, m in enumerate(methods)
            for k in ("iqm", "mean")
        ]
    )
    colors = style.method_colors(methods)
    axes = statplots.interval_estimates(frame, colors)
    fig = axes[0].figure
    assert fig.get_figheight() >= 7 * 0.24
    assert figures.check(fig) == []
    probs = {f"method 0:{m}": 1.0 for m in methods[1:]}
    cis = {k: np.array([1.0, 1.0]) for k in probs}  # degenerate: zero-width intervals
    ax = statplots.probability_of_improvement(probs, cis, "method 0", colors)
    assert figures.check(ax.figure) == []
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 6  # every estimate drawn as a point, even at P = 1 with no width


def test_print_size_follows_the_tight_box():
    fig, ax = plt.subplots(figsize=(3.25, 2.0))
    ax.plot([0, 1], [0, 1])
    w, h = figures.print_size(fig)
    assert 3.0 < w < 3.4 and 1.8 < h < 2.2


def test_bars_label_each_bar_with_its_text_above_its_whisker():
    with plt.rc_context(style.paper()):
        fig, ax = plt.subplots()
        statplots.bars(
            ax,
            ["a", "b"],
            [1.0, 2.0],
            ["C0", "C1"],
            lower=[0.5, np.nan],
            upper=[1.5, np.nan],
            texts=["1.0", "2.0 (+1.0)"],
        )
        labels = {t.get_text(): t.xy for t in ax.texts}
        plt.close(fig)
    assert labels == {"1.0": (0, 1.5), "2.0 (+1.0)": (1, 2.0)}  # whisker top, or the bar top


def test_runs_and_mean_panels_legend_and_unused_panels():
    with plt.rc_context(style.paper()):
        fig, axes = plt.subplots(1, 3, squeeze=False)
        runs = np.array([[1.0, 2.0, 3.0], [2.0, 3.0, np.nan]])
        statplots.runs_and_mean(axes[0, 0], [1, 2, 3], runs, [1.5, 2.5, 3.0], "C3", "SoftMoE")
        statplots.runs_and_mean(axes[0, 1], [1, 2, 3], runs, [1.5, 2.5, 3.0], "C4", "Top-k")
        statplots.hide_unused(axes, 2)
        legend = statplots.runs_and_mean_legend(fig, "mean of the type", ls="--")
        ax = axes[0, 0]
        assert [len(s) for s in ax.collections[0].get_segments()] == [3, 2]  # NaN gap dropped
        assert ax.lines[0].get_color() == "C3" and ax.get_title() == "SoftMoE"
        assert [a.get_visible() for a in axes.flat] == [True, True, False]
        assert [t.get_text() for t in legend.get_texts()] == ["one run", "mean of the type"]
        assert legend.legend_handles[1].get_linestyle() == "--"
        assert figures.check(fig) == []
        plt.close(fig)


def test_log_axes_show_plain_powers_not_mathtext_source():
    """With mathtext off (names from data shown as written), matplotlib's log formatter would
    print '$\\mathdefault{10^{-3}}$': the check flags it and plain_log_ticks writes 10⁻³."""
    with plt.rc_context(style.paper()):
        fig, ax = plt.subplots()
        ax.plot(np.arange(1, 50), np.logspace(-5, -1, 49))
        ax.set_yscale("log")
        assert [p.kind for p in figures.check(fig)] == ["raw_markup"]
        figures.plain_log_ticks(fig)
        assert figures.check(fig) == []
        labels = [t.get_text() for t in ax.get_yticklabels()]
        plt.close(fig)
    assert "10⁻³" in labels and not any("$" in s for s in labels)


def _repaired(fig) -> tuple[list, list]:
    """What Report.figure does: check, mend, check again (at most three rounds); returns the
    problems left and the repairs made."""
    problems, made = figures.check(fig), []
    for _ in range(3):
        step = figures.repair(fig, problems) if problems else []
        if not step:
            break
        made += step
        problems = figures.check(fig)
    return problems, made


def test_repair_leaves_a_clean_figure_exactly_as_drawn():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9])
    ax.set(title="Clean", xlabel="Epoch")
    size = tuple(fig.get_size_inches())
    assert figures.repair(fig, figures.check(fig)) == []
    assert tuple(fig.get_size_inches()) == size and ax.get_title() == "Clean"


def test_repair_mends_what_a_narrow_column_breaks():
    """A layout that fits at ICML, drawn at NeurIPS (narrower, larger type): long panel titles
    collide, category labels collide, a figure title is wider than the figure; once mended the
    check finds nothing and every word is still there."""
    titles = ["Offline cosine with BP gradient", "Local perturbation correlation", "Nudging"]
    with plt.rc_context(style.paper("full", venue="neurips", ncols=3)):
        fig, axes = plt.subplots(1, 3)
        for ax, title in zip(axes, titles):
            ax.plot([0, 1, 2], [0.2, 0.5, 0.4])
            ax.set_title(title)
        axes[2].bar(["Baseline run", "Sample-by-\nsample", "Batched\n(gated)"], [3, 4, 1])
        fig.suptitle("A figure title much longer than any figure in a narrow column is wide " * 2)
        before = {p.kind for p in figures.check(fig)}
        assert {"overlap", "tiny_text"} <= before
        left, made = _repaired(fig)
        assert left == []
    details = [r.detail for r in made]
    assert "the title of panel 1 of 3 wrapped to fit its width" in details
    assert "the x tick labels of panel 3 of 3 turned 30° to fit" in details
    assert any(d.startswith("a figure title wrapped to fit the 5.50 in width") for d in details)
    assert " ".join(axes[0].get_title().split()) == titles[0] and "\n" in axes[0].get_title()
    assert {t.get_rotation() for t in axes[2].get_xticklabels()} == {30.0}
    assert "Sample-by-sample" in [t.get_text() for t in axes[2].get_xticklabels()]


def test_repair_gives_short_panels_height_and_legends_headroom():
    with plt.rc_context(style.paper("full", venue="neurips", ncols=3)):
        fig, axes = plt.subplots(1, 3, figsize=(5.5, 1.2))
        for ax in axes:
            ax.set(title="Panel", xlabel="Epoch")
            ax.plot(np.arange(10), np.linspace(1, 10, 10), marker="o", label="a long label")
            ax.plot(np.arange(10), np.linspace(1, 9, 10), label="another one")
            ax.legend(loc="upper left")
        before = {p.kind for p in figures.check(fig)}
        assert {"small_axes", "legend_over_data"} <= before
        left, made = _repaired(fig)
        assert left == []
    kinds = {r.kind for r in made}
    assert kinds == {"taller_figure", "legend_headroom"}
    assert any(r.detail.endswith("% upward so the legend clears the data") for r in made)
    assert fig.get_figheight() > 1.2 and fig.get_figwidth() == 5.5
    assert axes[0].get_ylim()[1] > 10


def test_fit_in_boxes_shrinks_box_texts_to_their_boxes_only_when_needed():
    fig, ax = plt.subplots(figsize=(3, 1))
    ax.set_axis_off()
    ax.set(xlim=(0, 10), ylim=(0, 1))
    short = [ax.text(1, 0.5, "In", ha="center"), ax.text(4, 0.5, "Out", ha="center")]
    statplots.fit_in_boxes(ax, short, 2.0)
    assert {t.get_fontsize() for t in short} == {plt.rcParams["font.size"]}
    long = [ax.text(1, 0.5, "Gating (adaptive threshold)", ha="center"), ax.text(4, 0.5, "In")]
    statplots.fit_in_boxes(ax, long, 2.0)
    sizes = {t.get_fontsize() for t in long}
    assert len(sizes) == 1 and sizes.pop() < plt.rcParams["font.size"]
    fig.draw_without_rendering()
    box = long[0].get_window_extent()
    room = ax.transData.transform((2, 0))[0] - ax.transData.transform((0, 0))[0]
    assert box.width <= room or long[0].get_fontsize() == 6.0
