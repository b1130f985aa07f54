"""How values read in a message sent to a township: wan() amounts, and what a null writes.

Reproducers of issue 13 ("messages fit to send"): "9.999999万元" and
"超出0.00005万元" (wan wrote six decimals), "每月空元" (a null hole wrote 空).
The rule-file side of each — FUN03 no longer writes "临时救助救助" or a monthly
amount, ENG06 writes its excess in 元 — is pinned by those models' examples,
and tests/demo/test_messages_fit_to_send.py reads every message of the demo.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.types import Type
from engine import api
from engine.compiler.compile import hole_columns, key_columns
from engine.runs.warnings import to_warnings, wan

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("yuan", "written"),
    [
        (88320000, "8832"),  # the contract's ENG01 message
        (Decimal("99999.99"), "10"),  # was 9.999999
        (Decimal("0.5"), "0"),  # was 0.00005: under 50 yuan reads 0
        (12345, "1.23"),
        (12355, "1.24"),  # halves up
        (500, "0.05"),
        (50, "0.01"),
        (49, "0"),
        (Decimal("3999999.99"), "400"),
        (1234500, "123.45"),
        (0, "0"),
        (-50000, "-5"),
        (Decimal("-12355"), "-1.24"),  # halves away from zero, as round() does
        (Decimal("-0.5"), "0"),  # not "-0"
        (125.5, "0.01"),  # a float from a warehouse reads as its decimal
    ],
)
def test_wan_writes_at_most_two_decimals_rounded_half_up(yuan, written):
    assert wan(yuan, Type.DECIMAL) == written


def test_wan_of_a_null_is_written_as_null():
    assert wan(None, Type.DECIMAL) == "空"


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_wan_is_within_fifty_yuan_and_never_has_more_than_two_decimals(yuan: Decimal):
    written = wan(yuan, Type.DECIMAL)
    assert abs(Decimal(written) * 10000 - yuan) <= 50
    assert "." not in written or 1 <= len(written.split(".")[1]) <= 2
    assert not written.endswith("0") or "." not in written  # no trailing zeros
    assert written != "-0"


def test_a_null_hole_writes_the_models_default_and_the_evidence_keeps_the_null():
    pack = api.load_pack(ROOT / "policies")
    model = pack.models["INV01"]  # …协议签订日期：{g.signed_on ?? '无'}）…
    holes = ["横村镇", date(2021, 5, 1), "91330122MA2H0000E2", Decimal(200000), "JL2"]
    holes += ["未找到对应的招商引资协议", "未填写", None]
    names = [*key_columns(model), "township", *hole_columns(model)]
    rows = pa.Table.from_pylist([dict(zip(names, ["JL2", "330122101", *holes], strict=True))])
    warnings, dropped = to_warnings(model, rows, pack.pack, date(2021, 12, 31))
    [message] = warnings.column("message").to_pylist()
    assert "协议签订日期：无）" in message and "空" not in message
    assert json.loads(warnings.column("evidence")[0].as_py())["g.signed_on"] is None
    assert dropped == 0
