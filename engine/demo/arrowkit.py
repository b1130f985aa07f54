"""Small vectorised builders of Arrow columns (money, dates, picked and joined strings).

The background is millions of rows at large sizes, so columns are built from
numpy arrays in one go: money as integer cents, dates as days since 1970,
strings by taking from a vocabulary and joining element-wise in Arrow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.demo.ids import ascii_matrix_to_strings, digits_matrix

EPOCH = dt.date(1970, 1, 1)
DECIMAL = pa.decimal128(18, 2)


def day(value: dt.date | str) -> int:
    """A date as days since 1970."""
    d = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return (d - EPOCH).days


def to_date(n: int) -> dt.date:
    """Days since 1970 back to a date."""
    return EPOCH + dt.timedelta(days=int(n))


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Decimal(18, 2) yuan from integer cents, built straight into the 128-bit buffer."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((cents.shape[0], 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension to 128 bits
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.array(~mask).buffers()[1]
        null_count = int(mask.sum())
    return pa.Array.from_buffers(
        DECIMAL, cents.shape[0], [validity, pa.py_buffer(words.tobytes())], null_count
    )


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A date32 array from days since 1970."""
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32(), mask=mask).cast(pa.date32())


def timestamps(micros: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A timestamp[us] array from microseconds since 1970."""
    return pa.array(np.asarray(micros, dtype=np.int64), pa.int64(), mask=mask).cast(
        pa.timestamp("us")
    )


def ints(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """An int64 array."""
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=mask)


def floats(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A float64 array."""
    return pa.array(np.asarray(values, dtype=np.float64), pa.float64(), mask=mask)


def bools(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A bool array."""
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=mask)


def pick(
    vocab: Sequence[str] | pa.Array, idx: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    """Strings taken from a vocabulary by index; masked positions become null."""
    arr = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab), pa.string())
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64), pa.int64(), mask=mask))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constants (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """ASCII ``prefix`` + zero-padded numbers, e.g. ``HT2021`` + ``000123``."""
    digits = digits_matrix(np.asarray(numbers), width)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    mat = np.empty((digits.shape[0], len(head) + width), dtype=np.uint8)
    mat[:, : len(head)] = head
    mat[:, len(head) :] = digits
    return ascii_matrix_to_strings(mat)


def null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """The array with masked positions set to null."""
    if not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def stray_spaces(arr: pa.Array, rng: np.random.Generator, share: float) -> pa.Array:
    """Pad a share of free-text values with the blanks that hand-typed exports carry."""
    n = len(arr)
    where = rng.random(n) < share
    lead = rng.random(n) < 0.5
    lead_mask = pa.array(where & lead)
    trail_mask = pa.array(where & ~lead)
    out = pc.if_else(lead_mask, join(" ", arr), arr)
    return pc.if_else(trail_mask, join(out, "  "), out)


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of days since 1970."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    dom = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, dom


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Days since 1970 as integers yyyymmdd."""
    y, m, d = ymd_parts(days)
    return y * 10000 + m * 100 + d


def year_month(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Days since 1970 as ``YYYY-MM`` strings."""
    y, m, _ = ymd_parts(days)
    mat = np.empty((len(y), 7), dtype=np.uint8)
    mat[:, :4] = digits_matrix(y, 4)
    mat[:, 4] = ord("-")
    mat[:, 5:] = digits_matrix(m, 2)
    out = ascii_matrix_to_strings(mat)
    return out if mask is None else null_where(out, mask)


def add_months(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """The contract's add_months: same day n months later, clamped to the month's last day."""
    y, m, dom = ymd_parts(days)
    total = (y - 1970) * 12 + (m - 1) + np.asarray(n, dtype=np.int64)
    first = total.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    nxt = (total + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    last_dom = nxt - first
    return first + np.minimum(dom, last_dom) - 1


def add_months_date(d: dt.date, n: int) -> dt.date:
    """Scalar ``add_months`` on a date."""
    return to_date(int(add_months(np.array([day(d)]), n)[0]))
