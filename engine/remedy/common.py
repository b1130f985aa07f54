"""Common problems (面上共性问题): models whose warnings were confirmed widely or again and again.

The county commission issues a 《纪检监察建议书》 when a problem is not one township's slip
but recurs: confirmed (属实 or 部分属实) in at least N townships, or in one township in at
least M quarters. N and M are the pack parameters `common_min_townships` and
`common_min_quarters` (3 and 2 in the county's pack), which a deployment may override.

Quarters are counted within the period: a year has four, a quarter only itself, so a
quarter's problem can be common only by N. A warning counts in the quarter it was first
issued in (the ledger's `issued_on`), as the index counts it in its period.

A warning counts as confirmed by the outcome its disposal record holds now, as the index
counts it; whether it is rectified or overdue is judged on the period's last day: one
rectified later is not rectified yet, one overdue by then is overdue (engine/index/disposal.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from dsl import ir
from dsl.pack import Pack
from dsl.types import Type
from engine.index.disposal import CONFIRMED
from engine.index.score import Period
from engine.policy.deployment import parameter_in_effect
from engine.runs.warnings import AMOUNT_KEY
from engine.schema import ARROW_TYPES, fen

MIN_TOWNSHIPS_PARAMETER = "common_min_townships"
"""The pack parameter N: confirmed in at least this many townships is a common problem."""
MIN_QUARTERS_PARAMETER = "common_min_quarters"
"""The pack parameter M: confirmed in one township in at least this many quarters is one too."""

MONEY = ARROW_TYPES[Type.DECIMAL]

COMMON_PROBLEMS_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("model_title", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("domain_name", pa.string()),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("townships", pa.int64(), nullable=False),
        pa.field("township_names", pa.list_(pa.string()), nullable=False),
        pa.field("confirmed", pa.int64(), nullable=False),
        pa.field("quarters_max", pa.int64(), nullable=False),
        pa.field("recurring_townships", pa.list_(pa.string()), nullable=False),
        pa.field("amount", MONEY),
        pa.field("rectified", pa.int64(), nullable=False),
        pa.field("recovered", MONEY, nullable=False),
        pa.field("overdue", pa.int64(), nullable=False),
        pa.field("common", pa.bool_(), nullable=False),
        pa.field("why", pa.string(), nullable=False),
        pa.field("advice", pa.string()),
        pa.field("basis", pa.string()),
    ]
)
"""One row per model with a confirmed warning in the period; `amount` is null when none of its
confirmed warnings says how much money was involved."""

FACTS_KEY = b"oversight.common_problems"
"""Schema metadata of the table: the period and the N and M it was judged by (JSON)."""


def common_thresholds(pack: Pack, overrides: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """N and M in effect: the deployment's values, else the pack's (3 and 2 when undeclared)."""
    townships = parameter_in_effect(pack, MIN_TOWNSHIPS_PARAMETER, overrides, 3)
    quarters = parameter_in_effect(pack, MIN_QUARTERS_PARAMETER, overrides, 2)
    return int(townships), int(quarters)


def amount_of(evidence: str | None) -> Decimal | None:
    """The amount involved that a warning's evidence names, to the fen; None when it names none.

    The value is written as a decimal string ("88320000"); one that is not a number
    is as good as absent: the amount is unknown, not zero.
    """
    if not evidence:
        return None
    try:
        values = json.loads(evidence)
    except ValueError:
        return None
    value = values.get(AMOUNT_KEY) if isinstance(values, dict) else None
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(value) if isinstance(value, str) else value
        return fen(amount) if Decimal(amount).is_finite() else None
    except (InvalidOperation, ValueError, TypeError):
        return None


def quarter_of(day: date) -> tuple[int, int]:
    """The year and quarter (1–4) a day falls in."""
    return day.year, (day.month - 1) // 3 + 1


@dataclass
class _Tally:
    """What one model's confirmed warnings add up to, gathered row by row."""

    first: dict[str, Any]
    quarters: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    confirmed: int = 0
    amount: Decimal | None = None
    rectified: int = 0
    recovered: Decimal = Decimal("0.00")
    overdue: int = 0


def common_problems(
    pack: ir.CheckedPack,
    warnings: pa.Table,
    period: Period,
    *,
    min_townships: int,
    min_quarters: int,
) -> pa.Table:
    """The period's common problems: one row per model with a confirmed warning in it.

    `warnings` are the ledger's warnings with their disposal, judged on the period's
    last day (`engine.index.disposal.with_disposal(…, on=period.end, …)`); warnings
    issued outside the period are left out. A row is `common` when the model's warnings
    were confirmed in at least `min_townships` townships, or in one township in at least
    `min_quarters` quarters of the period; `why` says which in one Chinese sentence.
    Common problems come first, then the widest spread, the most confirmed, by model id.
    """
    tallies: dict[str, _Tally] = {}
    for row in warnings.to_pylist():
        if row["outcome"] not in CONFIRMED or not period.start <= row["issued_on"] <= period.end:
            continue
        tally = tallies.setdefault(row["model_id"], _Tally(row))
        tally.confirmed += 1
        if row["township"]:
            tally.quarters.setdefault(row["township"], set()).add(quarter_of(row["issued_on"]))
        amount = amount_of(row["evidence"])
        if amount is not None:
            tally.amount = (tally.amount or Decimal("0.00")) + amount
        tally.rectified += row["status"] == "rectified"
        tally.overdue += row["status"] == "overdue"
        if row["funds_recovered"] is not None:
            tally.recovered += fen(row["funds_recovered"])
    order = {t.code: i for i, t in enumerate(pack.pack.townships)}
    names = {t.code: t.name for t in pack.pack.townships}
    rows = [
        _row(pack, model_id, tally, order, names, min_townships, min_quarters)
        for model_id, tally in tallies.items()
    ]
    rows.sort(key=lambda r: (not r["common"], -r["townships"], -r["confirmed"], r["model_id"]))
    table = pa.Table.from_pylist(rows, schema=COMMON_PROBLEMS_SCHEMA)
    return with_facts(
        table,
        period=period.label,
        min_townships=min_townships,
        min_quarters=min_quarters,
    )


def _row(
    pack: ir.CheckedPack,
    model_id: str,
    tally: _Tally,
    order: dict[str, int],
    names: dict[str, str],
    min_townships: int,
    min_quarters: int,
) -> dict[str, Any]:
    """One model's row: its figures, whether it is common and why."""
    model = pack.models.get(model_id)  # None for a model since removed from the pack
    first = tally.first
    towns = sorted(tally.quarters, key=lambda code: (order.get(code, len(order)), code))
    recurring = [
        (code, tally.quarters[code]) for code in towns if len(tally.quarters[code]) >= min_quarters
    ]
    wide = len(towns) >= min_townships
    domain = model.domain if model else first["domain"]
    return {
        "model_id": model_id,
        "model_title": model.title if model else first["model_title"],
        "domain": domain,
        "domain_name": pack.pack.domains.get(domain),
        "severity": model.severity if model else first["severity"],
        "townships": len(towns),
        "township_names": [names.get(code, code) for code in towns],
        "confirmed": tally.confirmed,
        "quarters_max": max((len(q) for q in tally.quarters.values()), default=0),
        "recurring_townships": [names.get(code, code) for code, _ in recurring],
        "amount": tally.amount,
        "rectified": tally.rectified,
        "recovered": tally.recovered,
        "overdue": tally.overdue,
        "common": wide or bool(recurring),
        "why": why(
            len(towns),
            [(names.get(code, code), quarters) for code, quarters in recurring],
            min_townships,
            min_quarters,
        ),
        "advice": model.advice if model else None,
        "basis": model.basis if model else None,
    }


def why(
    townships: int,
    recurring: list[tuple[str, set[tuple[int, int]]]],
    min_townships: int,
    min_quarters: int,
) -> str:
    """One Chinese sentence saying why a problem is common, or how near it came.

    "连续" only when a township's quarters follow one another: 一季度 and 三季度
    are two quarters, not two in a row.
    """
    said = []
    if townships >= min_townships:
        said.append(f"在{townships}个乡镇查实")
    if recurring:
        each = "、".join(
            f"{name}{'连续' if _in_a_row(quarters) else ''}{len(quarters)}个季度"
            for name, quarters in recurring
        )
        said.append(f"在{each}查实")
    if said:
        return "，".join(said)
    if townships == 0:
        return "查实的预警没有派给乡镇，无从判断是否面上共性问题"
    return (
        f"在{townships}个乡镇查实，不足{min_townships}个；"
        f"没有一个乡镇在{min_quarters}个以上季度查实"
    )


def _in_a_row(quarters: set[tuple[int, int]]) -> bool:
    numbers = sorted(year * 4 + quarter for year, quarter in quarters)
    return numbers[-1] - numbers[0] + 1 == len(numbers)


def with_facts(table: pa.Table, **facts: Any) -> pa.Table:
    """`table` with `facts` added to what its schema metadata says about it (FACTS_KEY)."""
    merged = {**facts_of(table), **facts}
    metadata = dict(table.schema.metadata or {})
    metadata[FACTS_KEY] = json.dumps(merged, ensure_ascii=False).encode("utf-8")
    return table.replace_schema_metadata(metadata)


def facts_of(table: pa.Table) -> dict[str, Any]:
    """What a common-problems table's metadata says: period, N and M, whether a ledger exists."""
    raw = (table.schema.metadata or {}).get(FACTS_KEY)
    return json.loads(raw) if raw else {}


def document(table: pa.Table) -> dict[str, Any]:
    """The table as JSON-ready data: the facts, then `problems`, money as decimal strings.

    Money is written as a string ("88320000.00") so that no reader turns it into a
    binary float and loses a fen; `advise --format json` prints this and `--out`
    writes it to 共性问题.json.
    """
    facts = {k: v for k, v in facts_of(table).items() if k != "ledger"}
    problems = [
        {name: format(value, "f") if isinstance(value, Decimal) else value for name, value in row}
        for row in (r.items() for r in table.to_pylist())
    ]
    return {**facts, "problems": problems}
