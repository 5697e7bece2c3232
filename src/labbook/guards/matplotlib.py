"""The private parts of matplotlib the figure check and its repairs read (matplotlib 3.9–3.11):

- ``Axes._left_title`` and ``Axes._right_title``: the left and right titles (``set_title(loc=)``)
  have no public getter for their Text artists;
- ``Axis._update_ticks()``: the ticks inside the view, i.e. the ones drawn (``get_major_ticks``
  also returns ticks outside the view limits, which are never drawn);
- ``Legend._loc``: the location code a legend was placed with (``get_loc`` does not exist);
- ``LogFormatter._base`` and ``._linthresh``: a log formatter's settings, to make an equal one;
- ``Axes._colorbar``: the Colorbar drawn in an axes (``Colorbar.__init__`` sets it on its axes;
  there is no public way to tell a colour bar's axes from a data axes).

Each function here is the only place labbook touches one of them; tests/test_guards.py exercises
each against the installed matplotlib and fails with the message below when it moves.
"""

from matplotlib.text import Text


class GuardError(RuntimeError):
    """matplotlib changed a private part labbook relies on."""


def _moved(what: str, exc: Exception) -> GuardError:
    import matplotlib

    return GuardError(
        f"matplotlib {matplotlib.__version__} no longer has {what} ({type(exc).__name__}: {exc}); "
        "labbook.guards.matplotlib must be updated"
    )


def title_texts(ax) -> list[Text]:
    """The centre, left and right title artists of *ax* (empty ones included)."""
    try:
        texts = [ax.title, ax._left_title, ax._right_title]
    except AttributeError as exc:
        raise _moved("Axes._left_title / Axes._right_title", exc) from None
    if not all(isinstance(t, Text) for t in texts):
        raise _moved("Text artists for Axes._left_title / _right_title", TypeError("not Text"))
    return texts


def drawn_ticks(axis) -> list:
    """The ticks of *axis* (an XAxis or YAxis) that are drawn: those inside the view limits."""
    try:
        return list(axis._update_ticks())
    except AttributeError as exc:
        raise _moved("Axis._update_ticks()", exc) from None


def legend_location(legend) -> int:
    """The location code *legend* was placed with (1 upper right, 2 upper left, 9 upper center,
    0 best, ...; matplotlib.legend.Legend.codes)."""
    try:
        loc = legend._loc
    except AttributeError as exc:
        raise _moved("Legend._loc", exc) from None
    return loc if isinstance(loc, int) else -1  # a bbox tuple: placed by coordinates


def log_formatter_settings(formatter) -> dict:
    """The keyword arguments that make a LogFormatter equal to *formatter*."""
    try:
        return {
            "base": formatter._base,
            "labelOnlyBase": formatter.labelOnlyBase,
            "minor_thresholds": formatter.minor_thresholds,
            "linthresh": formatter._linthresh,
        }
    except AttributeError as exc:
        raise _moved("LogFormatter._base / ._linthresh", exc) from None


def is_colorbar_axes(ax) -> bool:
    """Whether *ax* is the axes of a colour bar (``fig.colorbar``, or a Colorbar given ``cax``).

    A plain axes has no ``_colorbar``, so a matplotlib that stopped setting it could not be told
    from here: colour bars would be taken for data axes. tests/test_guards.py draws a colour bar
    and fails naming this guard when matplotlib moves it."""
    return getattr(ax, "_colorbar", None) is not None
