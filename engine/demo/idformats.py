"""Row identifiers of every source: one format per table, background and planted ranges apart.

Background rows are numbered from 1; planted rows from 9 followed by zeros in
the same width, a range the background never reaches (it would need more than
eight hundred million rows in a table), so planted keys are the same at every
size and seed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.demo.arrowkit import numbered

# table -> (prefix, digits)
ID_FORMATS: dict[str, tuple[str, int]] = {
    "tender": ("TLZB", 9),
    "bid": ("TLTB", 10),
    "contract": ("TLHT", 9),
    "change": ("BG", 10),
    "acceptance": ("YS", 10),
    "settlement": ("JS", 10),
    "payment": ("ZF", 12),
    "subsidy": ("BT", 12),
    "fund": ("ZJ", 9),
    "agreement": ("ZSXY", 9),
    "incentive": ("ZSJL", 9),
    "application": ("NF", 10),
    "parcel": ("ZJD", 10),
    "case": ("JZ", 10),
    "asset": ("ZC", 10),
    "lease": ("ZL", 10),
    "receipt": ("SK", 11),
    "txn": ("TX", 13),
    "voucher": ("BX", 11),
    "reception": ("JD", 10),
    "decision": ("JC", 10),
}


def background_ids(kind: str, count: int) -> pa.Array:
    """Ids 1..count of a table's background rows."""
    prefix, width = ID_FORMATS[kind]
    return numbered(prefix, np.arange(1, count + 1), width)


def planted_id(kind: str, k: int) -> str:
    """The k-th planted id (k >= 1) of a table."""
    prefix, width = ID_FORMATS[kind]
    return f"{prefix}9{k:0{width - 1}d}"
