"""The demo county: every catalog source as an Arrow table, with planted ground truth.

``generate(size, seed)`` returns all tables in memory; ``generate_to_parquet``
writes them one at a time (the background of a table is dropped once written),
which keeps memory reasonable at size 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsl.suggest import did_you_mean
from engine.demo.background import Background, Core
from engine.demo.background.frames import to_table
from engine.demo.calendar import MONTH_ENDS, Workdays, calendar_table
from engine.demo.catalog import Catalog, Source, load_catalog
from engine.demo.disposal import disposal_rows
from engine.demo.plants import Planter, plant_all

__all__ = [
    "MONTH_ENDS",  # the demo's runs, for its callers (defined with the calendar)
    "NEAR_MISS_SCHEMA",
    "STOPPED_FROM",
    "TRUTH_SCHEMA",
    "CannotStop",
    "DemoCounty",
    "StoppedInterface",
    "check_stoppable",
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


STOPPED_FROM = date(2021, 10, 1)
"""The day a stopped interface delivers nothing from: a bureau's export job breaks in October."""


@dataclass(frozen=True)
class StoppedInterface:
    """One source that stopped delivering on `since`, as if its export job broke that day.

    Its rows with an event date on or after `since` are left out of the county
    (rows without an event date stay: nothing says they came late); every other
    source is as the same size and seed make it.
    """

    source: str
    since: date
    rows_dropped: int


class CannotStop(ValueError):
    """A name given to stop that is no source, or a source without an event date.

    A source without one (a reference table such as ref_township, a register
    such as sup_official) has no day its rows happened on, so it cannot stop
    delivering "in October". The message is for people (Chinese and English);
    `hints` say what they may have meant.
    """

    def __init__(self, message: str, hints: tuple[str, ...]) -> None:
        super().__init__(message)
        self.hints = hints


def check_stoppable(name: str, catalog: Catalog | None = None) -> Source:
    """The catalog source `name`, when it can stop delivering; CannotStop otherwise.

    Checked before anything is built, so a mistyped name costs nothing and a
    warehouse is not replaced for a demo that cannot run.
    """
    catalog = catalog or load_catalog()
    source = catalog.sources.get(name)
    if source is None:
        raise CannotStop(
            f"没有数据接口「{name}」/ no source named {name!r}",
            did_you_mean(name, sorted(catalog.sources)),
        )
    if source.event_date is None:
        dated = ", ".join(n for n, s in catalog.sources.items() if s.event_date is not None)
        raise CannotStop(
            f"「{name}」没有事件日期（event_date），不能从某天起停止供数 / "
            f"{name} has no event_date (a reference table or register): it cannot stop on a day",
            (f"有事件日期的来源才能停止 sources that can stop: {dated}",),
        )
    return source


@dataclass
class DemoCounty:
    """The generated county: its tables, and what was planted in them.

    With a stopped interface (`stopped`), `truth` still lists what was planted,
    but the month-end runs no longer find exactly that: plants whose rows came
    after the stop are not found, and near misses whose sparing row came after
    it turn into warnings. Compare against the truth only a county with
    `stopped` None.
    """

    tables: dict[str, pa.Table]
    truth: pa.Table
    near_misses: pa.Table
    stopped: StoppedInterface | None = None

    @property
    def total_rows(self) -> int:
        """Rows over all sources."""
        return sum(t.num_rows for t in self.tables.values())


class _Build:
    """One generation run: catalog, background, planted cases, assembled table by table."""

    def __init__(
        self,
        size: float,
        seed: int,
        catalog_path: str | Path | None,
        stopped: str | None = None,
        stopped_from: date = STOPPED_FROM,
    ) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self.catalog: Catalog = load_catalog(catalog_path)
        self.stopped_source = check_stoppable(stopped, self.catalog) if stopped else None
        self.stopped_from = stopped_from
        self.rows_dropped = 0
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
        if self.stopped_source is not None and name == self.stopped_source.name:
            table = self.stop(source, table)
        return table.cast(source.schema)

    def stop(self, source: Source, table: pa.Table) -> pa.Table:
        """The rows the source delivered before it stopped: event date before the day, or none."""
        column = table[source.event_date]
        cut = pa.scalar(self.stopped_from, pa.date32()).cast(column.type)
        kept = table.filter(pc.fill_null(pc.less(column, cut), True))
        self.rows_dropped = table.num_rows - kept.num_rows
        return kept

    def stopped(self) -> StoppedInterface | None:
        """The stopped interface, once its table has been built."""
        if self.stopped_source is None:
            return None
        return StoppedInterface(self.stopped_source.name, self.stopped_from, self.rows_dropped)

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
    size: float = 1.0,
    seed: int = 2021,
    catalog_path: str | Path | None = None,
    stopped: str | None = None,
    stopped_from: date = STOPPED_FROM,
) -> DemoCounty:
    """Generate the demo county in memory.

    The same (size, seed, catalog) gives identical tables; the planted cases and
    the truth do not depend on size or seed, only the background does. With
    `stopped` (a source with an event date; CannotStop otherwise), that source
    keeps only its rows from before `stopped_from`: the county of issue 18, whose
    models read a silent interface and find nothing there.
    """
    build = _Build(size, seed, catalog_path, stopped, stopped_from)
    tables = dict(build.tables())
    return DemoCounty(
        tables=tables,
        truth=build.truth(),
        near_misses=build.near_misses(),
        stopped=build.stopped(),
    )


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
