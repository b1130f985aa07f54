"""Check digits of resident id numbers (GB 11643) and unified social credit codes (GB 32100).

The demo data must survive the validation a real warehouse applies on load, so
every person id and credit code it writes carries a correct check character.
Scalar functions serve the planted cases and the tests; the ``*_array``
functions build millions of ids at once for the background.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# GB 11643-1999: weights 2^(17-i) mod 11 and the check character for sum mod 11.
RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_CHECK = "10X98765432"

# GB 32100-2015: 31 characters (no I, O, Z, S, V), weights 3^i mod 31.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}

# GB 11714-1997 organization code (characters 9-17 of a credit code): letters count 10..35.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def resident_check_char(body17: str) -> str:
    """Return the GB 11643 check character of the first 17 digits of a resident id."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError(f"resident id body must be 17 digits: {body17!r}")
    s = sum(int(c) * w for c, w in zip(body17, RESIDENT_WEIGHTS, strict=True))
    return RESIDENT_CHECK[s % 11]


def resident_id(region: str, birth: dt.date, seq: int) -> str:
    """Build a resident id from a 6-digit region, a birth date and a 3-digit sequence."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + resident_check_char(body)


def is_valid_resident_id(value: str | None) -> bool:
    """Tell whether a string is an 18-character resident id with a real birth date and check."""
    if value is None or len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return resident_check_char(value[:17]) == value[17]


def org_code_check_char(body8: str) -> str:
    """Return the GB 11714 check character of an 8-character organization code body."""
    s = sum(_org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(body17: str) -> str:
    """Return the GB 32100 check character of the first 17 characters of a credit code."""
    if len(body17) != 17 or any(c not in _USCC_VALUE for c in body17):
        raise ValueError(f"credit code body must be 17 characters of the charset: {body17!r}")
    s = sum(_USCC_VALUE[c] * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - s % 31) % 31]


def uscc(authority_kind: str, region: str, org_body8: str) -> str:
    """Build a credit code: 2 characters of authority and kind, region, organization code, check."""
    org = org_body8 + org_code_check_char(org_body8)
    body = f"{authority_kind}{region}{org}"
    return body + uscc_check_char(body)


def is_valid_uscc(value: str | None) -> bool:
    """Tell whether a string is an 18-character credit code with both check characters right."""
    if value is None or len(value) != 18 or any(c not in _USCC_VALUE for c in value):
        return False
    if org_code_check_char(value[8:16]) != value[16]:
        return False
    return uscc_check_char(value[:17]) == value[17]


# ---- vectorised ------------------------------------------------------------------------------


def ascii_matrix_to_strings(mat: np.ndarray) -> pa.StringArray:
    """Turn an (n, w) uint8 matrix of ASCII codes into an Arrow string array without a loop."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, w = mat.shape
    offsets = np.arange(0, n * w + 1, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes()))


def resident_id_array(region: np.ndarray, yyyymmdd: np.ndarray, seq: np.ndarray) -> pa.StringArray:
    """Build resident ids for arrays of 6-digit regions, birth dates as yyyymmdd and sequences."""
    body = (
        region.astype(np.int64) * 10**11 + yyyymmdd.astype(np.int64) * 1000 + seq.astype(np.int64)
    )
    n = body.shape[0]
    digits = np.empty((n, 17), dtype=np.int64)
    rest = body.copy()
    for k in range(16, -1, -1):
        digits[:, k] = rest % 10
        rest //= 10
    s = digits @ np.asarray(RESIDENT_WEIGHTS, dtype=np.int64)
    check_codes = np.frombuffer(RESIDENT_CHECK.encode(), dtype=np.uint8)[s % 11]
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :17] = digits + ord("0")
    mat[:, 17] = check_codes
    return ascii_matrix_to_strings(mat)


_ORG_LOOKUP = np.zeros(256, dtype=np.int64)
_USCC_LOOKUP = np.full(256, -1, dtype=np.int64)
for _i in range(10):
    _ORG_LOOKUP[ord("0") + _i] = _i
for _i in range(26):
    _ORG_LOOKUP[ord("A") + _i] = 10 + _i
for _i, _c in enumerate(USCC_CHARSET):
    _USCC_LOOKUP[ord(_c)] = _i
_USCC_CODES = np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)


def uscc_array(prefix10: np.ndarray, org_body8: np.ndarray) -> pa.StringArray:
    """Build credit codes from (n, 8) ASCII matrices of authority+kind+region and org bodies.

    ``prefix10`` holds the first 8 characters (authority, kind, region) as ASCII
    codes, shape (n, 8); ``org_body8`` the 8 characters before the organization
    code's own check, shape (n, 8). Both check characters are computed here.
    """
    n = prefix10.shape[0]
    org_vals = _ORG_LOOKUP[org_body8]
    s = org_vals @ np.asarray(ORG_WEIGHTS, dtype=np.int64)
    c = 11 - s % 11
    org_check = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), ord("0") + c))
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :8] = prefix10
    mat[:, 8:16] = org_body8
    mat[:, 16] = org_check
    vals = _USCC_LOOKUP[mat[:, :17]]
    if (vals < 0).any():
        raise ValueError("credit code body outside the GB 32100 charset")
    s2 = vals @ np.asarray(USCC_WEIGHTS, dtype=np.int64)
    mat[:, 17] = _USCC_CODES[(31 - s2 % 31) % 31]
    return ascii_matrix_to_strings(mat)


def _ascii18(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(n, 18) uint8 matrix of the values that are 18 ASCII characters, and that mask."""
    values = values.cast(pa.string())
    ok = pc.and_(pc.equal(pc.utf8_length(values), 18), pc.string_is_ascii(values))
    ok = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
    picked = values.filter(pa.array(ok)).to_numpy(zero_copy_only=False).astype("S18")
    mat = picked.view(np.uint8).reshape(-1, 18) if picked.size else np.zeros((0, 18), np.uint8)
    return mat, ok


def valid_resident_id_mask(values: pa.Array) -> np.ndarray:
    """Per value, whether it is a resident id with a correct check character (dates unchecked)."""
    mat, ok = _ascii18(values)
    out = np.zeros(len(values), dtype=bool)
    body = mat[:, :17].astype(np.int64) - ord("0")
    digits_ok = ((body >= 0) & (body <= 9)).all(axis=1)
    s = np.where(digits_ok[:, None], body, 0) @ np.asarray(RESIDENT_WEIGHTS, dtype=np.int64)
    expected = np.frombuffer(RESIDENT_CHECK.encode(), dtype=np.uint8)[s % 11]
    out[ok] = digits_ok & (mat[:, 17] == expected)
    return out


def valid_uscc_mask(values: pa.Array) -> np.ndarray:
    """Per value, whether it is a credit code with both check characters right."""
    mat, ok = _ascii18(values)
    out = np.zeros(len(values), dtype=bool)
    vals = _USCC_LOOKUP[mat]
    charset_ok = (vals >= 0).all(axis=1)
    org = _ORG_LOOKUP[mat[:, 8:16]] @ np.asarray(ORG_WEIGHTS, dtype=np.int64)
    c = 11 - org % 11
    org_check = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), ord("0") + c))
    s = np.where(charset_ok[:, None], vals[:, :17], 0) @ np.asarray(USCC_WEIGHTS, dtype=np.int64)
    out[ok] = (
        charset_ok & (mat[:, 16] == org_check) & (mat[:, 17] == _USCC_CODES[(31 - s % 31) % 31])
    )
    return out


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Write non-negative integers as zero-padded ASCII digits, shape (n, width)."""
    rest = values.astype(np.int64).copy()
    mat = np.empty((values.shape[0], width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        mat[:, k] = rest % 10 + ord("0")
        rest //= 10
    return mat
