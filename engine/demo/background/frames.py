"""Column dictionaries ("frames") the background builds before they become Arrow tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.demo.catalog import Source

Frame = dict[str, pa.Array]


def take(frame: Frame, idx: np.ndarray) -> Frame:
    """Rows of a frame by position."""
    ix = pa.array(np.asarray(idx, dtype=np.int64))
    return {k: v.take(ix) for k, v in frame.items()}


def where(frame: Frame, mask: np.ndarray) -> Frame:
    """Rows of a frame where mask holds."""
    m = pa.array(np.asarray(mask, dtype=bool))
    return {k: pc.filter(v, m) for k, v in frame.items()}


def concat(frames: list[Frame]) -> Frame:
    """Stack frames with the same columns."""
    keys = list(frames[0])
    return {k: pa.concat_arrays([f[k] for f in frames]) for k in keys}


def to_table(source: Source, frame: Frame, n: int | None = None) -> pa.Table:
    """A catalog-shaped table: missing columns become null, types cast to the catalog's."""
    schema = source.schema
    if n is None:
        n = len(next(iter(frame.values()))) if frame else 0
    cols = []
    for field in schema:
        arr = frame.get(field.name)
        if arr is None:
            arr = pa.nulls(n, field.type)
        elif arr.type != field.type:
            arr = arr.cast(field.type)
        cols.append(arr)
    return pa.Table.from_arrays(cols, schema=schema)
