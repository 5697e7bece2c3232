"""labbook: the shared module behind the analysis notebooks.

Each submodule has one job; notebooks import what they use, e.g.
``from labbook import stats, style`` and ``from labbook.report import Report``.
"""
