"""`python -m engine.cli`: the same command as `oversight` (engine/__main__.py)."""

from engine.__main__ import entry_point

entry_point()
