"""The second pack (tests/packs/procurement) and a small city's procurement data for it.

No township anywhere: buyers, their processes, the bids and the awards. The rows are
made so that each model of the pack fires once by the end of 2022 and each has a near
miss beside its warning (a 20-day tender period, an award 1 fen under the margin, an
open procedure, an award just outside the window, awards exactly at the fence).
`WARNINGS` is what the month ends 2022-06-30 and 2022-12-31 leave in the ledger,
worked out by hand from the rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from county_fixture import fill_county

from dsl import ir
from engine import api

PACK = Path(__file__).resolve().parent / "packs" / "procurement"
RUNS = (date(2022, 6, 30), date(2022, 12, 31))


def _process(process_id, buyer, category, method, published, deadline=None, title=None):
    return {
        "process_id": process_id,
        "buyer_code": buyer,
        "title": title,
        "category": category,
        "method": method,
        "estimated_value": None,
        "published_on": published,
        "bid_deadline_on": deadline,
    }


def _bid(bid_id, process_id, bidder, submitted):
    return {
        "bid_id": bid_id,
        "process_id": process_id,
        "bidder_code": bidder,
        "bidder_name": None,
        "amount": None,
        "submitted_on": submitted,
    }


def _award(award_id, process_id, supplier, amount, awarded, name=None):
    return {
        "award_id": award_id,
        "process_id": process_id,
        "supplier_code": supplier,
        "supplier_name": name,
        "amount": amount,
        "awarded_on": awarded,
    }


D = date
ROWS: dict[str, list[dict]] = {
    "proc_buyer": [
        {"buyer_code": "B1", "name": "市教育局"},
        {"buyer_code": "B2", "name": "市卫健委"},
        {"buyer_code": "B3", "name": "市水务局"},
    ],
    "proc_process": [
        # C01 and C02: one bidder (twice), 14 days; P2 two bidders and exactly 20 days.
        _process("P1", "B1", "货物", "公开招标", D(2022, 3, 1), D(2022, 3, 15), "实验室设备"),
        _process("P2", "B1", "货物", "公开招标", D(2022, 4, 1), D(2022, 4, 21), "课桌椅"),
        # price_below_threshold: an enquiry awarded 998,000 (and 949,999.99: 1 fen under).
        _process("P3", "B2", "服务", "询价", D(2022, 5, 1)),
        _process("P4", "B2", "服务", "公开招标", D(2022, 5, 1), D(2022, 6, 1)),
        # 常胜供应商: B3's four awards in the window, three to S9; a fifth just outside it.
        _process("P5", "B3", "工程", "邀请招标", D(2022, 1, 10)),
        _process("P7", "B3", "工程", "邀请招标", D(2021, 11, 1)),
        # price_outlier: goods. By 2022-06-30 seven awards, 110,000 exactly at their fence
        # (Q3 102,500 + 1.5 × 5,000); by the year end nine: 125,000 exactly at the fence
        # (110,000 + 1.5 × 10,000) and 900,000 far above it.
        _process("P6", "B1", "货物", "询价", D(2022, 1, 20)),
    ],
    "proc_bid": [
        _bid("BD1", "P1", "S1", D(2022, 3, 10)),
        _bid("BD2", "P1", "S1", D(2022, 3, 14)),
        _bid("BD3", "P2", "S1", D(2022, 4, 10)),
        _bid("BD4", "P2", "S2", D(2022, 4, 11)),
        _bid("BD5", "P4", "S3", D(2022, 5, 20)),
        _bid("BD6", "P4", "S4", D(2022, 5, 21)),
    ],
    "proc_award": [
        _award("A1", "P3", "S3", Decimal("998000"), D(2022, 6, 10), "某物业管理公司"),
        _award("A2", "P3", "S3", Decimal("949999.99"), D(2022, 6, 10), "某物业管理公司"),
        _award("A3", "P4", "S4", Decimal("990000"), D(2022, 6, 15)),
        _award("A10", "P5", "S9", Decimal("300000"), D(2022, 2, 1), "某水利工程公司"),
        _award("A11", "P5", "S9", Decimal("320000"), D(2022, 4, 1), "某水利工程公司"),
        _award("A12", "P5", "S9", Decimal("310000.5"), D(2022, 8, 1)),
        _award("A13", "P5", "S10", Decimal("290000"), D(2022, 9, 1)),
        _award("A14", "P7", "S10", Decimal("305000"), D(2021, 12, 31)),
        _award("A20", "P6", "S20", Decimal("100000"), D(2022, 2, 1)),
        _award("A21", "P6", "S21", Decimal("110000"), D(2022, 2, 15)),
        _award("A22", "P6", "S22", Decimal("90000"), D(2022, 3, 1)),
        _award("A23", "P6", "S23", Decimal("105000"), D(2022, 3, 15)),
        _award("A24", "P6", "S24", Decimal("95000"), D(2022, 4, 1)),
        _award("A26", "P6", "S26", Decimal("100000"), D(2022, 5, 1)),
        _award("A27", "P6", "S27", Decimal("100000"), D(2022, 5, 15)),
        _award("A28", "P6", "S28", Decimal("125000"), D(2022, 9, 15)),
        _award("A25", "P6", "S25", Decimal("900000"), D(2022, 10, 1), "某仪器公司"),
    ],
}

C01_P1 = (
    "市教育局的公开招标项目P1（实验室设备）截止时只有1家供应商投标，"
    "是否存在量身定制条件、排斥潜在投标人？请核查。"
)
C02_P1 = (
    "市教育局的公开招标项目P1自2022-03-01发布至2022-03-15截止仅14天，少于20天，"
    "潜在供应商可能来不及投标，请核查。"
)
BELOW_A1 = (
    "市卫健委以询价方式授予某物业管理公司的合同A1金额998000元，比公开招标限额1000000元"
    "仅低2000元，是否存在压价规避公开招标？请核查。"
)
CONCENTRATION_B3 = (
    "市水务局近12个月的4次授标中，有3次授予某水利工程公司，合计930000.5元，"
    "是否存在指定供应商、排斥竞争？请核查。"
)
OUTLIER_A25 = (
    "市教育局授予某仪器公司的货物合同A25金额900000元，高于同类9笔授标的上限125000元"
    "（上四分位数110000元加1.5倍四分位距），价格是否虚高？请核查。"
)

FIRST, LAST = RUNS
WARNINGS = [
    # (model_id, warning_key, township, severity, message, issued_on, last_seen_on)
    ("C01", "P1", None, "yellow", C01_P1, FIRST, LAST),
    ("C02", "P1", None, "blue", C02_P1, FIRST, LAST),
    ("price_below_threshold", "A1", None, "red", BELOW_A1, FIRST, LAST),
    ("price_outlier", "A25", None, "yellow", OUTLIER_A25, LAST, LAST),
    ("常胜供应商", "B3|S9", None, "yellow", CONCENTRATION_B3, LAST, LAST),
]
"""The ledger after the runs of RUNS, sorted."""


def procurement_pack(examples: bool = False) -> ir.CheckedPack:
    """The second pack, checked."""
    return api.load_pack(PACK, examples=examples)


def fill_procurement(url: str, pack: ir.CheckedPack) -> str:
    """Every source of the second pack in the warehouse at `url`, with ROWS. Returns `url`."""
    return fill_county(url, pack, [], ROWS)
