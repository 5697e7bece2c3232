"""fontTools' private default list of dropped tables (``subset.Options._drop_tables_default``).

matplotlib embeds a subset of each font in a PDF figure, made by fontTools with its default
options. The layout tables (GSUB, GPOS, GDEF, kern: ligatures and kerning) are useless there:
matplotlib has placed every glyph itself and writes their widths into the PDF, so no viewer reads
them, and subsetting them took a third of the time of saving a PDF. fontTools keeps the list of
tables to drop on the Options class (read by every new Options), not in a public setting, so
`lean_pdf_fonts()` extends it for the duration of a ``with`` block and restores it after: nothing
changes outside the block, for this process or anyone else's code.
"""

from contextlib import contextmanager

LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "kern")


class GuardError(RuntimeError):
    """fontTools changed the private part labbook relies on."""


def _default_list() -> list:
    from fontTools import subset

    dropped = getattr(subset.Options, "_drop_tables_default", None)
    if not isinstance(dropped, list):
        raise GuardError(
            "fontTools.subset.Options._drop_tables_default is no longer a list (fontTools "
            f"{_version()}): labbook.guards.fonttools must be updated to the new way of choosing "
            "the tables a font subset drops"
        )
    return dropped


def _version() -> str:
    import fontTools

    return getattr(fontTools, "version", "?")


@contextmanager
def lean_pdf_fonts():
    """Within the block, font subsets (as matplotlib's PDF backend makes them) leave out the
    layout tables; the class default is restored on exit, also after an exception."""
    dropped = _default_list()
    saved = dropped[:]
    dropped += [t for t in LAYOUT_TABLES if t not in dropped]
    try:
        yield
    finally:
        dropped[:] = saved
