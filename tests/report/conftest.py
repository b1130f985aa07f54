"""Fixtures of the report tests: the hand-made ReportData and its page, built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report_dom import Node, parse  # noqa: E402
from report_sample import sample  # noqa: E402

from engine.reporting.report import ReportData, render  # noqa: E402


@pytest.fixture(scope="session")
def data() -> ReportData:
    return sample("2021")


@pytest.fixture(scope="session")
def html(data: ReportData) -> str:
    return render(data)


@pytest.fixture(scope="session")
def dom(html: str) -> Node:
    return parse(html)
