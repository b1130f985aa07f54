"""Check digits of resident ids (GB 11643) and unified social credit codes (GB 32100)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from engine.demo.ids import (
    is_valid_resident_id,
    is_valid_uscc,
    org_code_check_char,
    resident_check_char,
    resident_id,
    resident_id_array,
    uscc,
    uscc_array,
    uscc_check_char,
    valid_resident_id_mask,
    valid_uscc_mask,
)

# The example of GB 11643-1999 itself, and published codes of well-known companies.
KNOWN_RESIDENT = ["11010519491231002X", "440524188001010014"]
KNOWN_USCC = ["91330100716105852F", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("value", KNOWN_RESIDENT)
def test_known_resident_ids_are_valid(value: str) -> None:
    assert resident_check_char(value[:17]) == value[17]
    assert is_valid_resident_id(value)


@pytest.mark.parametrize("value", KNOWN_USCC)
def test_known_credit_codes_are_valid(value: str) -> None:
    assert org_code_check_char(value[8:16]) == value[16]
    assert uscc_check_char(value[:17]) == value[17]
    assert is_valid_uscc(value)


def test_check_character_x() -> None:
    assert resident_check_char("11010519491231002") == "X"
    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id("110105194912310020")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "11010519491231002",
        "11010519491331002X",
        "1101051949123100AX",
        "91330100716105852G",
    ],
)
def test_invalid_resident_ids(value: str | None) -> None:
    assert not is_valid_resident_id(value)


@pytest.mark.parametrize(
    "value", [None, "91330100716105852G", "91330100716105862F", "9133010071610585IF", "913301"]
)
def test_invalid_credit_codes(value: str | None) -> None:
    assert not is_valid_uscc(value)


def test_any_single_character_change_breaks_a_resident_id() -> None:
    good = resident_id("330122", dt.date(1985, 7, 14), 951)
    for i in range(17):
        for d in "0123456789":
            if d != good[i]:
                bad = good[:i] + d + good[i + 1 :]
                assert resident_check_char(bad[:17]) != good[17]


def test_built_credit_codes_validate() -> None:
    for k, body in enumerate(["12345678", "MA2AB3CD", "MA7000XY", "00000001"]):
        code = uscc("91" if k % 2 else "93", "330122", body)
        assert is_valid_uscc(code), code
        assert code[8:16] == body


def test_vectorised_resident_ids_match_the_scalar_ones() -> None:
    rng = np.random.default_rng(1)
    births = [dt.date(1930, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 30000, 300)]
    seqs = rng.integers(0, 1000, 300)
    arr = resident_id_array(
        np.full(300, 330122),
        np.array([int(b.strftime("%Y%m%d")) for b in births]),
        seqs,
    )
    expected = [resident_id("330122", b, int(s)) for b, s in zip(births, seqs, strict=True)]
    assert arr.to_pylist() == expected
    assert valid_resident_id_mask(arr).all()


def test_vectorised_credit_codes_match_the_scalar_ones() -> None:
    bodies = ["12345678", "MA2AB3CD", "MA7000XY", "00000001", "87654321"]
    prefix = np.frombuffer(b"91330122" * len(bodies), dtype=np.uint8).reshape(-1, 8)
    body = np.frombuffer("".join(bodies).encode(), dtype=np.uint8).reshape(-1, 8)
    arr = uscc_array(prefix, body)
    assert arr.to_pylist() == [uscc("91", "330122", b) for b in bodies]
    assert valid_uscc_mask(arr).all()


def test_masks_reject_what_is_not_an_id() -> None:
    values = pa.array(["11010519491231002X", "91330100716105852F", None, "张三", "x" * 18])
    assert valid_resident_id_mask(values).tolist() == [True, False, False, False, False]
    assert valid_uscc_mask(values).tolist() == [False, True, False, False, False]
