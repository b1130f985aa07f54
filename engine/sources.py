"""The health of every source: there, with the catalog's columns, and fed recently enough.

A department whose export job breaks delivers nothing, and every model reading its
source quietly finds nothing: its townships look cleaner than ever. `check_sources`
says so before anyone trusts a run: per source, its rows and latest date as of a
day (rows dated after as_of are invisible, as they are to a run), how far that lags,
how many rows it gained since the previous run, which catalog columns are missing or
of another type, and one status:

- `missing`: the table is not in the warehouse;
- `drifted`: a catalog column is missing or of another type;
- `stale`: the lag is past error_after, or no row is visible as of the day;
- `late`: the lag is past warn_after, or fewer rows are dated within the growth
  period than pack.yaml's `growth: {min_rows, per}` expects;
- `ok`: none of these.

A lag equal to a threshold is within it (late means lag > warn_after). A source
without a date column (no event_date, no loaded_at), or with `freshness: none`, is not
judged by date. One query per source at most, built as a sqlglot tree; the columns are
read from the warehouse's catalog (`Warehouse.table_schema`).

`stale_marks` says, for the report, which townships' scores stood on a stale source as
of a period's last day: every township when the source as a whole is stale, and one
township alone when the source has a `township` column, is fed continuously (`growth:`)
and that township's own rows stopped (`township_lags`: one grouped query per source).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters.base import Warehouse
from adapters.names import statement, table_named
from dsl.pack import Freshness, Pack, Source
from dsl.types import Type
from engine.compiler.functions import date_literal, timestamp_literal
from engine.runs import ledger
from engine.runs.warnings import normalise

STATUSES = ("ok", "late", "stale", "missing", "drifted")
TOWNSHIP_COLUMN = "township"  # the column a source names the township of its rows in
STATUS_ZH = {
    "ok": "正常",
    "late": "迟到",
    "stale": "停滞",
    "missing": "缺失",
    "drifted": "结构变化",
}
# Worst first: the status a source gets when several things are wrong with it.
_SEVERITY = ("missing", "drifted", "stale", "late", "ok")


@dataclass(frozen=True)
class SourceHealth:
    """What `oversight sources` says of one source as of a day.

    `rows` counts the rows visible as of the day (None when the table is missing or
    a column the count needs is); `latest` is the newest date of the column its
    freshness is measured over, up to as_of; `lag_days` is as_of − latest.
    `retyped_columns` are (column, catalog type, type found). `reasons` say in Chinese
    and English why the status is not ok.
    """

    name: str
    label: str
    department: str
    physical_table: str
    rows: int | None
    latest: date | None
    lag_days: int | None
    added_since_previous: int | None
    missing_columns: tuple[str, ...]
    retyped_columns: tuple[tuple[str, str, str], ...]
    status: str
    reasons: tuple[str, ...]

    @property
    def status_zh(self) -> str:
        """The status in Chinese: 正常, 迟到, 停滞, 缺失, 结构变化."""
        return STATUS_ZH[self.status]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: dates as ISO text, pairs as lists."""
        data = asdict(self)
        data["latest"] = self.latest.isoformat() if self.latest else None
        data["missing_columns"] = list(self.missing_columns)
        data["retyped_columns"] = [list(c) for c in self.retyped_columns]
        data["reasons"] = list(self.reasons)
        data["status_zh"] = self.status_zh
        return data


def healthy(report: list[SourceHealth]) -> bool:
    """Whether every source is ok (`oversight sources` exits 0 then, else 6)."""
    return all(h.status == "ok" for h in report)


LAGGING = ("late", "stale")
"""The statuses a run names beside each model reading such a source: it ran, on old data."""


def lagging(read: Iterable[str], report: Iterable[SourceHealth]) -> dict[str, str]:
    """The sources among `read` that are late or stale, name → status, in name order."""
    wanted = set(read)
    return {
        h.name: h.status
        for h in sorted(report, key=lambda h: h.name)
        if h.name in wanted and h.status in LAGGING
    }


@dataclass(frozen=True)
class DriftedColumn:
    """A catalog column a model reads that the warehouse lacks (found: None) or holds as another.

    The model is skipped and this says why, rather than its query failing inside SQL.
    """

    source: str
    column: str
    expected: str  # the catalog's type
    found: str | None  # the warehouse's type in the catalog's words; None: no such column

    @property
    def reason(self) -> str:
        """Why, in Chinese and English."""
        if self.found is None:
            return (
                f"来源 {self.source} 缺少列 {self.column}（应为 {self.expected}）/ "
                f"source {self.source} has no column {self.column} ({self.expected} expected)"
            )
        return (
            f"来源 {self.source} 的列 {self.column} 应为 {self.expected}，实为 {self.found} / "
            f"column {self.source}.{self.column} is {self.found}, {self.expected} expected"
        )

    def to_json(self) -> dict[str, str | None]:
        """The four facts, for the manifest and the log."""
        return asdict(self)


def drifted_columns(
    columns_read: Mapping[str, Iterable[str]], report: Iterable[SourceHealth], pack: Pack
) -> tuple[DriftedColumn, ...]:
    """The columns of `columns_read` (source → columns a model reads) the warehouse lost or retyped.

    Names are compared as the warehouse's catalog compares them, without case.
    """
    health = {h.name: h for h in report}
    found: list[DriftedColumn] = []
    for source, columns in sorted(columns_read.items()):
        checked = health.get(source)
        if checked is None or checked.status != "drifted":
            continue
        wanted = {c.lower() for c in columns}
        catalog = pack.sources[source].columns
        found += [
            DriftedColumn(source, c, catalog[c].type.value, None)
            for c in checked.missing_columns
            if c.lower() in wanted
        ]
        found += [
            DriftedColumn(source, c, expected, got)
            for c, expected, got in checked.retyped_columns
            if c.lower() in wanted
        ]
    return tuple(found)


def models_reading(report: Iterable[SourceHealth], models: Iterable[Any]) -> dict[str, list[str]]:
    """Per source that is not ok, the ids of `models` (ir.Model) that read it, in id order."""
    chosen = sorted(models, key=lambda m: m.id)
    return {
        h.name: [m.id for m in chosen if h.name in m.sources] for h in report if h.status != "ok"
    }


def check_sources(
    warehouse: Warehouse,
    pack: Pack,
    tables: Mapping[str, str],
    as_of: date,
    previous: Mapping[str, int] | None = None,
) -> list[SourceHealth]:
    """The health of each source of `pack`'s catalog in `warehouse` as of `as_of`, in order.

    `tables` maps a source to its table where a deployment names another; `previous`
    holds the rows per source that the previous run recorded, for `added_since_previous`.
    """
    return [
        _health(warehouse, pack, source, tables.get(name, name), as_of, previous or {})
        for name, source in pack.sources.items()
    ]


def _health(
    warehouse: Warehouse,
    pack: Pack,
    source: Source,
    table: str,
    as_of: date,
    previous: Mapping[str, int],
) -> SourceHealth:
    schema = warehouse.table_schema(table)
    if schema is None:
        return SourceHealth(
            source.name,
            source.label,
            source.department,
            table,
            None,
            None,
            None,
            None,
            (),
            (),
            "missing",
            (f"数据仓库中没有表 {table} / table {table} is not in the warehouse",),
        )
    found = {f.name.lower(): f.type for f in schema}
    missing = tuple(c for c in source.columns if c.lower() not in found)
    retyped = tuple(
        (c.name, c.type.value, type_name(found[c.name.lower()]))
        for c in source.columns.values()
        if c.name.lower() in found and not fits(found[c.name.lower()], c.type, warehouse.dialect)
    )
    reasons: list[str] = []
    statuses: list[str] = []
    if missing:
        statuses.append("drifted")
        reasons.append(f"缺少列 {'、'.join(missing)} / missing columns: {', '.join(missing)}")
    if retyped:
        statuses.append("drifted")
        shown = ", ".join(f"{c} {want}→{got}" for c, want, got in retyped)
        reasons.append(f"列类型改变 {shown} / columns of another type: {shown}")

    unusable = set(missing) | {c for c, _, _ in retyped}
    freshness, _ = pack.freshness_of(source.name)
    measured = source.measured_by
    needed = {c for c in (source.event_date, measured) if c is not None}
    rows = latest = lag = recent = None
    if not needed & unusable:
        rows, latest, recent = _counts(warehouse, source, table, as_of)
    if rows is not None:
        if rows == 0:
            statuses.append("stale")
            reasons.append(
                f"截至 {as_of} 没有任何数据 / no rows up to {as_of}"
                if source.event_date
                else "表中没有数据 / the table is empty"
            )
        elif latest is not None:
            lag = (as_of - latest).days
        elif measured is not None and freshness.judged:
            statuses.append("stale")
            reasons.append(
                f"截至 {as_of} 没有带日期（{measured}）的数据 / no row dated ({measured}) "
                f"up to {as_of}"
            )
        if lag is not None:
            judged = _lag_judged(lag, freshness)
            if judged is not None:
                statuses.append(judged[0])
                reasons.append(judged[1])
        growth = source.growth
        if growth is not None and recent is not None and rows and recent < growth.min_rows:
            statuses.append("late")
            reasons.append(
                f"近 {growth.per_days} 天新增 {recent} 行，少于 {growth.min_rows} 行 / "
                f"{recent} rows in the last {growth.per_days} days, fewer than {growth.min_rows}"
            )
    status = next(s for s in _SEVERITY if s in statuses or s == "ok")
    before = previous.get(source.name)
    return SourceHealth(
        source.name,
        source.label,
        source.department,
        table,
        rows,
        latest,
        lag,
        rows - before if rows is not None and before is not None else None,
        missing,
        retyped,
        status,
        tuple(reasons),
    )


def _lag_judged(lag: int, freshness: Freshness) -> tuple[str, str] | None:
    """`stale` past error_after, `late` past warn_after (with why), None within both or unjudged."""
    for status, limit, key in (
        ("stale", freshness.error_after, "error_after"),
        ("late", freshness.warn_after, "warn_after"),
    ):
        if limit is not None and lag > limit.days:
            return status, (
                f"最新数据已 {lag} 天，超过 {limit.text} / "
                f"latest {lag} days ago, past {key} {limit.text}"
            )
    return None


def counts_query(source: Source, table: str, as_of: date, dialect: str) -> exp.Select:
    """The one query of a source: its visible rows, latest measured date, rows within growth.

    Visible as a run sees them: event_date on or before as_of, or null. The latest
    date and the recent rows are of the measured column (loaded_at, else event_date),
    up to as_of. Columns: rows, latest, recent (recent only with `growth:`).
    """
    rows = exp.alias_(exp.Count(this=exp.Star()), "row_count")
    query = exp.select(rows).from_(table_named(table))
    if source.event_date is not None:
        column = exp.column(source.event_date)
        query = query.where(
            exp.or_(
                _on_or_before(column, source, source.event_date, as_of, dialect),
                exp.Is(this=column.copy(), expression=exp.null()),
            )
        )
    measured = source.measured_by
    if measured is not None:
        column = exp.column(measured)
        up_to = _on_or_before(column, source, measured, as_of, dialect)
        latest = exp.Max(this=exp.Case(ifs=[exp.If(this=up_to, true=column.copy())]))
        query = query.select(exp.alias_(latest, "latest"))
        if source.growth is not None:
            since = as_of - timedelta(days=source.growth.per_days)
            within = exp.and_(
                up_to.copy(),
                exp.not_(_on_or_before(column.copy(), source, measured, since, dialect)),
            )
            one = exp.Case(ifs=[exp.If(this=within, true=exp.Literal.number(1))])
            query = query.select(
                exp.alias_(
                    exp.Coalesce(
                        this=exp.Sum(this=one.else_(exp.Literal.number(0))),
                        expressions=[exp.Literal.number(0)],
                    ),
                    "recent",
                )
            )
    return query


def _on_or_before(
    column: exp.Expression, source: Source, name: str, day: date, dialect: str
) -> exp.Expression:
    """`column` is on or before `day`: a timestamp before the next day's midnight."""
    if source.columns[name].type is Type.TIMESTAMP:
        midnight = f"{(day + timedelta(days=1)).isoformat()} 00:00:00"
        return exp.LT(this=column, expression=timestamp_literal(midnight, dialect))
    return exp.LTE(this=column, expression=date_literal(day.isoformat(), dialect))


def _counts(
    warehouse: Warehouse, source: Source, table: str, as_of: date
) -> tuple[int, date | None, int | None]:
    query = counts_query(source, table, as_of, warehouse.dialect)
    result = warehouse.query(statement(query, warehouse.dialect)).to_pylist()[0]
    recent = result.get("recent")
    return (
        int(result["row_count"]),
        normalise(result.get("latest"), Type.DATE),
        int(recent) if recent is not None else None,
    )


# ---- which townships' data is stale -----------------------------------------------------------


def township_lags(
    warehouse: Warehouse,
    pack: Pack,
    tables: Mapping[str, str],
    as_of: date,
    names: Iterable[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Per source with a township column, each township's lag as of `as_of`: as_of − its latest.

    The latest is of the column freshness is measured over (loaded_at, else event_date), up
    to as_of, as `check_sources` reads it. A township with no dated row visible as of the
    day is absent. Sources without a township column or a date column, and those whose table
    or either column the warehouse lacks, are absent; `names` limits the sources asked about.
    One grouped query per source.
    """
    wanted = set(pack.sources) if names is None else set(names)
    lags: dict[str, dict[str, int]] = {}
    for name, source in pack.sources.items():
        measured = source.measured_by
        if name not in wanted or measured is None or TOWNSHIP_COLUMN not in source.columns:
            continue
        table = tables.get(name, name)
        schema = warehouse.table_schema(table)
        found = {f.name.lower() for f in schema} if schema is not None else set()
        if not {TOWNSHIP_COLUMN, measured.lower()} <= found:
            continue
        query = township_lags_query(source, table, as_of, warehouse.dialect)
        rows = warehouse.query(statement(query, warehouse.dialect)).to_pylist()
        latest = {str(r[TOWNSHIP_COLUMN]): normalise(r["latest"], Type.DATE) for r in rows}
        lags[name] = {t: (as_of - day).days for t, day in latest.items() if day is not None}
    return lags


def township_lags_query(source: Source, table: str, as_of: date, dialect: str) -> exp.Select:
    """Each township's latest measured date up to as_of: columns township, latest."""
    measured = source.measured_by
    assert measured is not None, "township_lags asks only of sources with a date column"
    column = exp.column(measured)
    up_to = _on_or_before(column, source, measured, as_of, dialect)
    latest = exp.Max(this=exp.Case(ifs=[exp.If(this=up_to, true=column.copy())]))
    township = exp.column(TOWNSHIP_COLUMN)
    return (
        exp.select(township, exp.alias_(latest, "latest"))
        .from_(table_named(table))
        .where(exp.not_(exp.Is(this=township.copy(), expression=exp.null())))
        .group_by(township.copy())
    )


@dataclass(frozen=True)
class StaleMark:
    """A source a township's score stood on whose data was stale as of the period's last day.

    `lag_days` is the township's own lag where the source has a township column, else the
    source's; None when no dated row of it was visible then.
    """

    source: str
    label: str
    lag_days: int | None


def stale_marks(
    warehouse: Warehouse,
    pack: Pack,
    tables: Mapping[str, str],
    as_of: date,
    townships: Collection[str],
    read: Collection[str],
    health: Sequence[SourceHealth] | None = None,
) -> dict[str, tuple[StaleMark, ...]]:
    """Township → the sources among `read` whose data of it was stale as of `as_of`.

    `read` are the sources the scores stand on (what the counted models read, the staffing,
    the disposal records). A source not judged by date (`freshness: none`, or no date
    column) never marks. A source `check_sources` finds stale marks every township, each
    with its own lag where the source has a township column. A source that is not stale as
    a whole marks one township only when it has a township column and says it is fed
    continuously (`growth:`), and that township's newest row is older than error_after:
    its own feed stopped while the others' went on. A sparse source (tenders, contracts)
    may rightly have nothing of a township for months, so its silence there marks nothing.
    `health` is `check_sources` as of the same day, when the caller has it already.
    """
    health = check_sources(warehouse, pack, tables, as_of) if health is None else health
    judged = {
        h.name: (h, freshness.error_after.days)
        for h in health
        if h.name in read
        and (freshness := pack.freshness_of(h.name)[0]).judged
        and freshness.error_after is not None
    }
    with_townships = [
        name
        for name, (h, _) in judged.items()
        if TOWNSHIP_COLUMN in pack.sources[name].columns
        and (h.status == "stale" or pack.sources[name].growth is not None)
    ]
    lags = township_lags(warehouse, pack, tables, as_of, with_townships) if with_townships else {}
    marks: dict[str, list[StaleMark]] = {}
    for name, (h, error_after) in judged.items():
        label = pack.sources[name].label
        stale = h.status == "stale"
        own = lags.get(name)
        for township in townships:
            if own is None:
                if stale:
                    marks.setdefault(township, []).append(StaleMark(name, label, h.lag_days))
                continue
            lag = own.get(township)
            if (lag is None and stale) or (lag is not None and lag > error_after):
                marks.setdefault(township, []).append(StaleMark(name, label, lag))
    return {t: tuple(m) for t, m in marks.items()}


# ---- the catalog's types and the warehouse's, leniently -------------------------------------


def type_name(found: pa.DataType) -> str:
    """A warehouse column's type in the catalog's words where it has one (int, not int64)."""
    if pa.types.is_string(found) or pa.types.is_large_string(found):
        return "string"
    if pa.types.is_boolean(found):
        return "bool"
    if pa.types.is_integer(found):
        return "int"
    if pa.types.is_floating(found):
        return "float"
    if pa.types.is_decimal(found):
        return "decimal"
    if pa.types.is_date(found):
        return "date"
    if pa.types.is_timestamp(found):
        return "timestamp"
    return str(found)


# What each catalog type may be found as, in the catalog's words. Numbers hold numbers (a
# decimal kept as double or integer is still an amount), dates and timestamps each other.
_HOLDS: dict[Type, frozenset[str]] = {
    Type.STRING: frozenset({"string"}),
    Type.INT: frozenset({"int"}),
    Type.DECIMAL: frozenset({"decimal", "float", "int"}),
    Type.FLOAT: frozenset({"float", "decimal", "int"}),
    Type.DATE: frozenset({"date", "timestamp"}),
    Type.TIMESTAMP: frozenset({"timestamp", "date"}),
    Type.BOOL: frozenset({"bool"}),
}
# SQLite declares what a column was created with, and keeps dates as ISO text (the adapter
# writes them so), booleans as integers; a column declared DATE has numeric affinity.
_SQLITE_HOLDS: dict[Type, frozenset[str]] = {
    **_HOLDS,
    Type.DATE: frozenset({"date", "timestamp", "string", "int"}),
    Type.TIMESTAMP: frozenset({"date", "timestamp", "string", "int"}),
    Type.BOOL: frozenset({"bool", "int"}),
}


def fits(found: pa.DataType, wanted: Type, dialect: str) -> bool:
    """Whether a column found as `found` holds the catalog's `wanted` type on `dialect`."""
    if pa.types.is_null(found):
        return True  # a column of nulls only (a driver that cannot tell): nothing to judge
    holds = _SQLITE_HOLDS if dialect == "sqlite" else _HOLDS
    return type_name(found) in holds.get(wanted, frozenset({wanted.value}))


# ---- rows the previous run recorded ---------------------------------------------------------


def previous_rows(
    warehouse: Warehouse, tables: ledger.Tables, as_of: date
) -> dict[str, int] | None:
    """Rows per source the latest recorded run as of `as_of` or before saw, from its manifest.

    A run's manifest (the runs table's `manifest` JSON) carries them as `sources`: a list
    of `SourceHealth.to_json()` objects, or a mapping source → {rows: n}. None when no
    run was recorded, or the latest one's manifest does not say (runs before sources were
    checked).
    """
    if not warehouse.has_table(tables.name(ledger.RUNS)):
        return None
    query = (
        exp.select(exp.column("manifest"))
        .from_(tables.table(ledger.RUNS))
        .where(
            exp.LTE(
                this=exp.column("as_of"),
                expression=date_literal(as_of.isoformat(), warehouse.dialect),
            )
        )
        .order_by(exp.column("finished_at").desc())
        .limit(1)
    )
    found = warehouse.query(statement(query, warehouse.dialect)).to_pylist()
    if not found or not found[0]["manifest"]:
        return None
    return rows_in_manifest(json.loads(found[0]["manifest"]))


def rows_in_manifest(manifest: Mapping[str, Any]) -> dict[str, int] | None:
    """The rows per source a manifest recorded (see `previous_rows`), or None."""
    recorded = manifest.get("sources")
    if isinstance(recorded, Mapping):
        entries = [
            {"name": name, **dict(value)}
            for name, value in recorded.items()
            if isinstance(value, Mapping)
        ]
    elif isinstance(recorded, list):
        entries = [e for e in recorded if isinstance(e, Mapping)]
    else:
        return None
    rows = {
        str(e["name"]): int(e["rows"])
        for e in entries
        if "name" in e and isinstance(e.get("rows"), int) and not isinstance(e["rows"], bool)
    }
    return rows or None
