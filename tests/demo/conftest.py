"""Fixtures of the demo-county tests: generated counties shared by the whole session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from engine.demo.generator import DemoCounty, generate  # noqa: E402


@pytest.fixture(scope="session")
def small_county() -> DemoCounty:
    """The county at size 0.05 (about 34,000 rows), seed 2021."""
    return generate(size=0.05, seed=2021)


@pytest.fixture(scope="session")
def full_county() -> DemoCounty:
    """The county at size 1 (about 607,000 rows), seed 2021."""
    return generate(size=1.0, seed=2021)
