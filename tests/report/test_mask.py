"""Resident id numbers are masked on the page; credit codes and other numbers are not."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.demo.ids import is_valid_resident_id, is_valid_uscc, resident_id, uscc
from engine.reporting.report import RESIDENT_ID, mask_ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("330122198501010015", "330122********0015"),
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002x"),
        ("330122850101123", "330122*****1123"),  # 15 characters, issued before 1999
        (
            "2021-03，报销人330122198501010015在“富春饭店”报销3张单据",
            "2021-03，报销人330122********0015在“富春饭店”报销3张单据",
        ),
        ("330122198501010015|富春饭店|2021-03", "330122********0015|富春饭店|2021-03"),
        ("富春饭店|330122198501010015", "富春饭店|330122********0015"),
        ("A|330122198501010015|11010519491231002X", "A|330122********0015|110105********002X"),
        ('{"r.claimant_id": "330122198501010015"}', '{"r.claimant_id": "330122********0015"}'),
        ("（身份证：330122198501010015）", "（身份证：330122********0015）"),
        (
            "户主330122198501010015，配偶330122850101123。",
            "户主330122********0015，配偶330122*****1123。",
        ),
    ],
)
def test_ids_are_masked(text: str, expected: str) -> None:
    assert mask_ids(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "91330122MA2H0000C1",  # a credit code with letters
        "91330100716105852F",
        "供应商91110000802100433B与",
        "111101197012150206",  # all digits, a date inside, but a credit code by its checks
        "3301221985010100150",  # 19 digits: no id
        "33012219850101001",  # 17 digits
        "TX0330122198501010015",  # a voucher number with letters before it
        "330122198501010015A",  # letters after it
        "330122198513010015",  # month 13
        "330122198501320015",  # day 32
        "330122170001010015",  # year 1700
        "030122198501010015",  # no region starts with 0
        "330122851301123",  # 15 characters, month 13
        "2021-03-15 金额 4000000 元",
        "ZF900000000001",
    ],
)
def test_other_numbers_stay(text: str) -> None:
    assert mask_ids(text) == text


def test_the_credit_code_exception_is_real() -> None:
    """The all-digit credit code above does look like an id to the regex; its checks save it."""
    code = "111101197012150206"
    assert RESIDENT_ID.fullmatch(code)
    assert is_valid_uscc(code) and not is_valid_resident_id(code)


def test_an_id_with_a_wrong_check_is_still_masked() -> None:
    assert not is_valid_resident_id("330122198501010011")
    assert mask_ids("330122198501010011") == "330122********0011"


regions = st.integers(110000, 829999).map(str)
births = st.dates(dt.date(1900, 1, 1), dt.date(2021, 12, 31))


@given(
    region=regions,
    birth=births,
    seq=st.integers(0, 999),
    before=st.sampled_from(["", "报销人", "|", "（", " "]),
)
def test_every_valid_id_is_masked(region: str, birth: dt.date, seq: int, before: str) -> None:
    value = resident_id(region, birth, seq)
    masked = mask_ids(f"{before}{value}在")
    assert value not in masked
    assert masked == f"{before}{value[:6]}{'*' * 8}{value[-4:]}在"


org_chars = st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)


@given(
    kind=st.sampled_from(["91", "92", "93", "11", "12", "51", "52"]), region=regions, org=org_chars
)
def test_no_credit_code_is_masked(kind: str, region: str, org: str) -> None:
    try:
        code = uscc(kind, region, org)
    except ValueError:  # an organization check character outside the credit-code charset
        return
    assert mask_ids(f"企业{code}|") == f"企业{code}|"
