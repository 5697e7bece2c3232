"""The optional extras a test may need and this Python may lack: aim (the aim extra) installs on
Python 3.11 only. `needs_aim` marks a test that reads or writes an Aim repository; a test of a
module that is all Aim skips at its top with pytest.importorskip("aim", reason=WITHOUT_AIM)."""

import importlib.util

import pytest

from labbook.guards.aim import AIM_PYTHONS, EXTRA

AIM = importlib.util.find_spec("aim") is not None
WITHOUT_AIM = f"aim is not installed ({EXTRA}; {AIM_PYTHONS} only)"
needs_aim = pytest.mark.skipif(not AIM, reason=WITHOUT_AIM)
