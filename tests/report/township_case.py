"""A small county built by hand for the township sections: three townships, 2021, eleven warnings.

Period 2021 (its last day 2021-12-31), 60 days to rectify from the day of 核查. The
warnings are joined to their disposal as engine/api.py joins them (with_disposal on
the period's last day), so each status below is as it stood on 2021-12-31:

    凤川街道 (A)
      A-P1  issued 2021-12-01, pending                              waited 30 days
      A-P2  issued 2021-11-21, pending                              waited 40 days
      A-P3  issued 2021-10-02, pending                              waited 90 days
      A-OD  属实 verified 2021-10-01, never rectified               overdue from 12-01 (31 days)
      A-NEAR 属实 verified 2021-11-01, not rectified                due by 12-31: not yet overdue
      A-INTIME 部分属实 verified 09-01, rectified 10-31              its last day: rectified
      A-LATE 属实 verified 2021-08-01, rectified 2022-01-10         overdue on 12-31 (92 days)
      A-NO  不属实 verified 2021-04-01                               unfounded
    分水镇 (B)
      B-P   issued 2021-12-31, pending, a resident id in its message waited 0 days
      B-OD  部分属实 verified 2021-10-31, not rectified              overdue from 12-31 (1 day)
      B-NO  不属实                                                    unfounded
    横村镇 (C): no warnings.

    county: pending 4 (30, 40, 90, 0 days: mean 40, median 35, longest 90); overdue 3.

Ranks: the year A 2, B 1, C 3; the fourth quarter A 1, B 2, C 3. A's year and fourth
quarter differ most in 整改率 (10.00 and 20.00 points), B's in 预警核查 (27.00 and 22.00).
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from report_sample import INDICATORS, PARTS

from engine.index.disposal import ENGINE_DISPOSAL, with_disposal
from engine.reporting.report import ReportData
from engine.runs.ledger import LEDGER_SCHEMA
from engine.schema import source_schema

A, B, C = "330122004", "330122102", "330122101"
NAMES = {A: "凤川街道", B: "分水镇", C: "横村镇"}
END = date(2021, 12, 31)
DEADLINE = 60
RESIDENT_ID = "330122198501010015"
MASKED_ID = "330122********0015"

# (total, rank, colour) per period and township; part points where the test reads them.
RANKS = {
    "2021Q1": {A: (80.0, 2, "green"), B: (90.0, 1, "green"), C: (70.0, 3, "yellow")},
    "2021Q2": {A: (75.0, 2, "green"), B: (85.0, 1, "green"), C: (60.0, 3, "red")},
    "2021Q3": {A: (70.0, 3, "yellow"), B: (88.0, 1, "green"), C: (72.0, 2, "green")},
    "2021Q4": {A: (95.0, 1, "green"), B: (85.0, 2, "green"), C: (60.0, 3, "red")},
    "2021": {A: (82.0, 2, "green"), B: (86.0, 1, "green"), C: (64.0, 3, "red")},
}
PART_POINTS = {
    ("2021", A): {"check": 28, "rate": 18, "confirm": 12, "rectify": 10, "dispose": 14},
    ("2021Q4", A): {"check": 29, "rate": 19, "confirm": 13, "rectify": 20, "dispose": 14},
    ("2021", B): {"check": 27, "rate": 17, "confirm": 13, "rectify": 18, "dispose": 11},
    ("2021Q4", B): {"check": 22, "rate": 17, "confirm": 13, "rectify": 18, "dispose": 15},
}
INDICATOR_VALUES = {
    "problems_per_capita": 0.0412,
    "verification_rate": 0.625,
    "warning_rate": 16.0,
    "confirmation_rate": 0.8,
    "rectification_rate": 0.25,
    "disposal_rate": 0.5,
}


def score_table(period: str, ranks: dict[str, tuple[float, int, str]]) -> pa.Table:
    rows = []
    for code, (total, rank, colour) in ranks.items():
        points = PART_POINTS.get((period, code)) or {
            p.id: round(total * p.points / 100, 2) for p in PARTS
        }
        row: dict[str, object] = {"township": code, "name": NAMES[code]}
        row.update(INDICATOR_VALUES)
        row.update({f"part_{p}": float(v) for p, v in points.items()})
        row.update(total=total, rank=rank, colour=colour, consequence=None)
        rows.append(row)
    fields = [pa.field("township", pa.string()), pa.field("name", pa.string())]
    fields += [pa.field(i.name, pa.float64()) for i in INDICATORS]
    fields += [pa.field(f"part_{p.id}", pa.float64()) for p in PARTS]
    fields += [
        pa.field("total", pa.float64()),
        pa.field("rank", pa.int64()),
        pa.field("colour", pa.string()),
        pa.field("consequence", pa.string()),
    ]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


# key, township, issued, verified, outcome, rectified
CASES: list[tuple[str, str, date, date | None, str | None, date | None]] = [
    ("A-P1", A, date(2021, 12, 1), None, None, None),
    ("A-P2", A, date(2021, 11, 21), None, None, None),
    ("A-P3", A, date(2021, 10, 2), None, None, None),
    ("A-OD", A, date(2021, 9, 10), date(2021, 10, 1), "属实", None),
    ("A-NEAR", A, date(2021, 10, 20), date(2021, 11, 1), "属实", None),
    ("A-INTIME", A, date(2021, 8, 5), date(2021, 9, 1), "部分属实", date(2021, 10, 31)),
    ("A-LATE", A, date(2021, 7, 1), date(2021, 8, 1), "属实", date(2022, 1, 10)),
    ("A-NO", A, date(2021, 3, 15), date(2021, 4, 1), "不属实", None),
    ("B-P", B, date(2021, 12, 31), None, None, None),
    ("B-OD", B, date(2021, 10, 20), date(2021, 10, 31), "部分属实", None),
    ("B-NO", B, date(2021, 2, 1), date(2021, 2, 20), "不属实", None),
]


def message(key: str) -> str:
    if key == "B-P":
        return f"报销人{RESIDENT_ID}拆分报销，请核查（{key}）。"
    return f"线索{key}，请核查。"


def ledger_and_disposal() -> tuple[pa.Table, pa.Table]:
    """The period's ledger and the disposal records, as the warehouse would hold them."""
    ledger = pa.Table.from_pylist(
        [
            {
                "model_id": "FIN03",
                "warning_key": key,
                "township": township,
                "severity": "yellow",
                "domain": "FIN",
                "model_title": "化整为零报销",
                "message": message(key),
                "issued_on": issued,
                "last_seen_on": issued,
                "model_revision": "r1",
                "pack_version": "0.6.0",
                "evidence": "{}",
                "run_id": "run1",
            }
            for key, township, issued, *_ in CASES
        ],
        schema=LEDGER_SCHEMA,
    )
    disposal = pa.Table.from_pylist(
        [
            {
                "model_id": "FIN03",
                "warning_key": key,
                "verified_on": verified,
                "outcome": outcome,
                "rectified_on": rectified,
                "persons_disposed": 0,
                "funds_recovered": None,
            }
            for key, _, _, verified, outcome, rectified in CASES
            if verified is not None
        ],
        schema=source_schema(ENGINE_DISPOSAL),
    )
    return ledger, disposal


def county(period: str = "2021", *, judged: bool = True) -> ReportData:
    """The ReportData of `period`; `judged=False` leaves `status` for the page to judge."""
    ledger, disposal = ledger_and_disposal()
    warnings = with_disposal(ledger, disposal, on=END, deadline_days=DEADLINE)
    if not judged:
        warnings = warnings.drop_columns(["status", "status_label"])
    return ReportData(
        period=period,
        county="桐庐县",
        pack_version="0.6.0",
        engine_version="0.1.0",
        generated_at="2022-01-05T09:30:00+08:00",
        townships=sorted(NAMES.items()),
        indicators=list(INDICATORS),
        parts=list(PARTS),
        bands=[("red", "红色"), ("yellow", "黄色"), ("green", "绿色")],
        consequences={},
        scores={p: score_table(p, ranks) for p, ranks in RANKS.items()},
        warnings=warnings,
        models=[],
        domains={"FIN": "财务收支"},
        deadline_days=DEADLINE,
    )
