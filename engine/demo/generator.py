"""The demo county: every catalog source as an Arrow table, with planted ground truth.

``generate(size, seed)`` returns all tables in memory; ``generate_to_parquet``
writes them one at a time (the background of a table is dropped once written),
which keeps memory reasonable at size 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.demo.background import Background, Core
from engine.demo.background.frames import to_table
from engine.demo.calendar import MONTH_ENDS, Workdays, calendar_table
from engine.demo.catalog import Catalog, Source, load_catalog
from engine.demo.disposal import disposal_rows
from engine.demo.plants import Planter, plant_all

__all__ = [
    "MONTH_ENDS",  # the demo's runs, for its callers (defined with the calendar)
    "NEAR_MISS_SCHEMA",
    "TRUTH_SCHEMA",
    "DemoCounty",
    "generate",
    "generate_to_parquet",
]

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("warning_key", pa.string(), nullable=False),
        pa.field("township", pa.string(), nullable=False),
        pa.field("first_as_of", pa.date32(), nullable=False),
    ]
)
NEAR_MISS_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("township", pa.string(), nullable=False),
    ]
)


@dataclass
class DemoCounty:
    """The generated county: its tables, and what was planted in them."""

    tables: dict[str, pa.Table]
    truth: pa.Table
    near_misses: pa.Table

    @property
    def total_rows(self) -> int:
        """Rows over all sources."""
        return sum(t.num_rows for t in self.tables.values())


class _Build:
    """One generation run: catalog, background, planted cases, assembled table by table."""

    def __init__(self, size: float, seed: int, catalog_path: str | Path | None) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self.catalog: Catalog = load_catalog(catalog_path)
        self.workdays = Workdays.build()
        self.core = Core(self.catalog, float(size), int(seed), self.workdays)
        self.background = Background(self.core)
        self.planter: Planter = plant_all(self.workdays)
        self.seed = int(seed)

    def truth(self) -> pa.Table:
        rows = sorted(self.planter.truth, key=lambda t: (t.model, t.key))
        return pa.table(
            {
                "model_id": [r.model for r in rows],
                "warning_key": [r.key for r in rows],
                "township": [r.township for r in rows],
                "first_as_of": pa.array([r.first_as_of for r in rows], pa.date32()),
            },
            schema=TRUTH_SCHEMA,
        )

    def near_misses(self) -> pa.Table:
        rows = self.planter.near_misses
        return pa.table(
            {
                "model_id": [r.model for r in rows],
                "description": [r.description for r in rows],
                "township": [r.township for r in rows],
            },
            schema=NEAR_MISS_SCHEMA,
        )

    def table(self, name: str) -> pa.Table:
        source = self.catalog.sources[name]
        parts: list[pa.Table] = []
        if name == "ref_township":
            rows = [
                {"township": t.code, "name": t.name, "kind": t.kind} for t in self.catalog.townships
            ]
            parts.append(_from_rows(source, rows))
        elif name == "ref_calendar":
            parts.append(calendar_table(_nullable(source.schema)))
        elif name == "sup_disposal":
            parts.append(_from_rows(source, disposal_rows(self.planter.truth, self.seed)))
        else:
            frame = self.background.frame(name)
            if frame is not None:
                parts.append(to_table(source, frame).cast(_nullable(source.schema)))
        planted = self.planter.rows.get(name)
        if planted:
            parts.append(_from_rows(source, planted))
        if not parts:
            return source.schema.empty_table()
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        return table.cast(source.schema)

    def tables(self) -> Iterator[tuple[str, pa.Table]]:
        for name in self.catalog.sources:
            table = self.table(name)
            self.background.done(name)
            yield name, table


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema])


def _from_rows(source: Source, rows: list[dict]) -> pa.Table:
    schema = _nullable(source.schema)
    unknown = {k for r in rows for k in r} - set(schema.names)
    if unknown:
        raise KeyError(f"{source.name}: planted rows name unknown columns {sorted(unknown)}")
    return pa.Table.from_pylist(rows, schema=schema)


def generate(
    size: float = 1.0, seed: int = 2021, catalog_path: str | Path | None = None
) -> DemoCounty:
    """Generate the demo county in memory.

    The same (size, seed, catalog) gives identical tables; the planted cases and
    the truth do not depend on size or seed, only the background does.
    """
    build = _Build(size, seed, catalog_path)
    tables = dict(build.tables())
    return DemoCounty(tables=tables, truth=build.truth(), near_misses=build.near_misses())


def generate_to_parquet(
    directory: str | Path,
    size: float = 1.0,
    seed: int = 2021,
    catalog_path: str | Path | None = None,
) -> dict[str, int]:
    """Write one Parquet file per source (plus _truth and _near_misses); return row counts.

    Tables are produced and written one at a time, so only the shared pools
    (people, enterprises) and the table in hand are in memory.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    build = _Build(size, seed, catalog_path)
    counts: dict[str, int] = {}
    for name, table in build.tables():
        pq.write_table(table, out / f"{name}.parquet")
        counts[name] = table.num_rows
        del table
    pq.write_table(build.truth(), out / "_truth.parquet")
    pq.write_table(build.near_misses(), out / "_near_misses.parquet")
    return counts
