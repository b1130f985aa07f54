"""A hand-made ReportData: 14 townships, four quarters and the year, a few dozen warnings.

The warnings include the cases the page must get right: resident ids in a
message, a composite key and the evidence (18 and 15 characters, check X),
a credit code that must stay, a hostile message, a rule text that tries to
close its <pre>, a warning raised by an older revision of its model, one by a
model the pack no longer has, and one without a township.

Run as a script it writes the page to a file, to look at it:
    python tests/report/report_sample.py out.html
"""

from __future__ import annotations

import random
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.reporting.report import IndicatorInfo, ModelInfo, PartInfo, ReportData  # noqa: E402
from engine.runs.ledger import LEDGER_SCHEMA  # noqa: E402

TOWNSHIPS = [
    ("330122001", "桐君街道"),
    ("330122002", "旧县街道"),
    ("330122003", "城南街道"),
    ("330122004", "凤川街道"),
    ("330122100", "富春江镇"),
    ("330122101", "横村镇"),
    ("330122102", "分水镇"),
    ("330122103", "瑶琳镇"),
    ("330122104", "百江镇"),
    ("330122105", "江南镇"),
    ("330122200", "莪山畲族乡"),
    ("330122201", "钟山乡"),
    ("330122202", "新合乡"),
    ("330122203", "合村乡"),
]

PARTS = [
    PartInfo("check", "预警核查", 30),
    PartInfo("rate", "预警率", 20),
    PartInfo("confirm", "查实率", 15),
    PartInfo("rectify", "整改率", 20),
    PartInfo("dispose", "人员处置率", 15),
]

INDICATORS = [
    IndicatorInfo("problems_per_capita", "人均问题数", "check", 15, False),
    IndicatorInfo("verification_rate", "核实率", "check", 15, True, percent=True),
    IndicatorInfo("warning_rate", "预警率", "rate", 20, False),
    IndicatorInfo("confirmation_rate", "查实率", "confirm", 15, False, percent=True),
    IndicatorInfo("rectification_rate", "整改率", "rectify", 20, True, percent=True),
    IndicatorInfo("disposal_rate", "人员处置率", "dispose", 15, False),
]

DOMAINS = {
    "ENG": "工程管理",
    "INV": "招商引资",
    "HOU": "农房审批",
    "AST": "资产资源",
    "FUN": "专项资金",
    "FIN": "财务收支",
}

CONSEQUENCES = {
    "red": "党风廉政建设考核酌情扣分，约谈乡镇（街道）主要领导",
    "yellow": "约谈乡镇（街道）纪（工）委书记",
}

MODEL_IDS = ["ENG01", "ENG02", "INV01", "HOU01", "AST01", "FUN01", "FIN01", "FIN03"]
GONE_MODEL = "ENG99"  # raised a warning, no longer in the pack
STALE_REVISION = "0ld0ld0ld0ld"

# What must never show unmasked, and what they must look like instead.
RESIDENT_IDS = {
    "330122198501010015": "330122********0015",
    "11010519491231002X": "110105********002X",
    "330122850101123": "330122*****1123",
    "33012219900215002x": "330122********002x",
}
CREDIT_CODE = "91330122MA2H0000C1"
HOSTILE = (
    '</script><script>document.title="pwned"</script><!-- <img src=x onerror="alert(1)"> '
    "& \"double\" 'single' </td></tr></table>"
)
RULE_ATTACK = "# </code></pre><script>alert('rule')</script>"

PERIODS = ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2021"]


def models() -> list[ModelInfo]:
    """Real rule files of the pack, each with a made-up revision."""
    found = []
    for i, model_id in enumerate(MODEL_IDS):
        path = next((ROOT / "policies" / "models").rglob(f"{model_id}.rule"))
        text = path.read_text(encoding="utf-8")
        head = re.search(r'model\s+(\w+)\s+"([^"]*)"', text)
        domain = re.search(r"domain\s+(\S+)", text)
        severity = re.search(r"severity\s+(\w+)", text)
        assert head and domain and severity
        if model_id == "ENG02":
            text += "\n" + RULE_ATTACK + "\n"
        found.append(
            ModelInfo(
                id=head.group(1),
                title=head.group(2),
                domain=domain.group(1),
                severity=severity.group(1),
                revision=f"{i:x}{'a1b2c3d4e5f6'[1:]}",
                file=str(path.relative_to(ROOT)),
                rule_text=text,
            )
        )
    return found


def _ranks(totals: dict[str, float]) -> dict[str, int]:
    ordered = sorted(totals.values(), reverse=True)
    return {code: ordered.index(total) + 1 for code, total in totals.items()}


def _colour(rank: int, n: int) -> str:
    return "red" if rank > n - 2 else "yellow" if rank > n - 4 else "green"


def score_table(period: str, rng: random.Random, skip: set[str] = frozenset()) -> pa.Table:
    """A plausible score table: indicators, part points, ranks with a tie, colours."""
    rows = []
    codes = [c for c, _ in TOWNSHIPS if c not in skip]
    for code, name in TOWNSHIPS:
        if code in skip:
            continue
        row: dict[str, object] = {"township": code, "name": name}
        row["problems_per_capita"] = round(rng.uniform(0, 0.08), 4)
        row["verification_rate"] = round(rng.uniform(0.5, 1), 4)
        row["warning_rate"] = round(rng.uniform(0, 12), 4)
        row["confirmation_rate"] = round(rng.uniform(0, 0.8), 4)
        row["rectification_rate"] = round(rng.uniform(0.3, 1), 4)
        row["disposal_rate"] = round(rng.uniform(0, 3), 4)
        for part in PARTS:
            row[f"part_{part.id}"] = round(rng.uniform(0.35, 1) * part.points, 2)
        row["total"] = round(sum(float(row[f"part_{p.id}"]) for p in PARTS), 2)
        rows.append(row)
    # A tie: the third and fourth township share a total, so they share a rank.
    rows[3]["total"] = rows[2]["total"]
    ranks = _ranks({r["township"]: float(r["total"]) for r in rows})
    for row in rows:
        row["rank"] = ranks[str(row["township"])]
        row["colour"] = _colour(int(row["rank"]), len(codes))
        row["consequence"] = CONSEQUENCES.get(str(row["colour"])) if len(period) == 4 else None
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


WARNINGS_SCHEMA = pa.schema(
    [
        *LEDGER_SCHEMA,
        pa.field("verified_on", pa.date32()),
        pa.field("outcome", pa.string()),
        pa.field("rectified_on", pa.date32()),
        pa.field("persons_disposed", pa.int64()),
    ]
)


def warnings(rng: random.Random, known: list[ModelInfo]) -> pa.Table:
    """Three dozen ordinary warnings and the special cases."""
    rows = []
    codes = [c for c, _ in TOWNSHIPS]
    domain_code = {v: k for k, v in DOMAINS.items()}

    def add(model: ModelInfo | None, key: str, township: str | None, message: str, **extra):
        issued = date(2021, 1, 31) + timedelta(days=rng.randrange(0, 330))
        status = extra.pop("status", rng.choice(["pending", "unfounded", "confirmed", "rectified"]))
        verified = issued + timedelta(days=12) if status != "pending" else None
        outcome = {
            "pending": None,
            "unfounded": "不属实",
            "confirmed": rng.choice(["属实", "部分属实"]),
            "rectified": "属实",
        }[status]
        row = {
            "model_id": model.id if model else GONE_MODEL,
            "warning_key": key,
            "township": township,
            "severity": model.severity if model else "blue",
            "domain": domain_code.get(model.domain, "ENG") if model else "ENG",
            "model_title": model.title if model else "已停用的模型",
            "message": message,
            "issued_on": issued,
            "last_seen_on": issued + timedelta(days=30),
            "model_revision": model.revision if model else "feedfacecafe",
            "pack_version": "0.1.0",
            "evidence": '{"@amount": "88320000", "p.name": "示例项目"}',
            "run_id": f"run{len(rows):04d}",
            "verified_on": verified,
            "outcome": outcome,
            "rectified_on": verified + timedelta(days=20) if status == "rectified" else None,
            "persons_disposed": rng.choice([0, 0, 1, 2]) if outcome else None,
        }
        row.update(extra)
        rows.append(row)

    for i in range(36):
        model = known[i % len(known)]
        township = rng.choice(codes)
        add(model, f"K{i:03d}", township, f"{model.title}：第{i}号线索，请核查。")
    fin03 = next(m for m in known if m.id == "FIN03")
    add(
        fin03,
        "330122198501010015|富春饭店|2021-03",
        "330122001",
        "2021-03，报销人330122198501010015在“富春饭店”报销3张单据，每张均低于5000元，"
        "合计5000元，是否存在“化整为零”规避审批？请核查。",
        evidence='{"r.claimant_id": "330122198501010015", "count(*)": 3}',
        status="confirmed",
    )
    add(
        fin03,
        "11010519491231002X|江南超市|2021-05",
        "330122105",
        "报销人11010519491231002X（旧证330122850101123）与供应商91330122MA2H0000C1存在关联，"
        "经办人33012219900215002x，请核查。",
        evidence='{"r.claimant_id": "11010519491231002X", "old": "330122850101123"}',
    )
    eng01 = next(m for m in known if m.id == "ENG01")
    add(eng01, "P-HOSTILE", "330122102", HOSTILE, evidence='{"note": "<b>bold</b>"}')
    add(eng01, "P-OLD", "330122104", "按旧版本规则发出的预警。", model_revision=STALE_REVISION)
    add(None, "X1", "330122203", "已停用模型发出的预警。", status="pending")
    add(known[2], "NO-TOWN", None, "无法归属乡镇的预警。", status="pending")
    return pa.Table.from_pylist(rows, schema=WARNINGS_SCHEMA)


def sample(period: str = "2021", seed: int = 2021) -> ReportData:
    """The sample page data for a period (the year or a quarter of 2021)."""
    rng = random.Random(seed)
    known = models()
    scores = {
        p: score_table(p, rng, skip={"330122203"} if p == "2021Q1" else set()) for p in PERIODS
    }
    return ReportData(
        period=period,
        county="桐庐县",
        pack_version="0.1.0",
        engine_version="0.1.0",
        generated_at="2022-01-05T09:30:00+08:00",
        townships=list(TOWNSHIPS),
        indicators=list(INDICATORS),
        parts=list(PARTS),
        bands=[("red", "红色"), ("yellow", "黄色"), ("green", "绿色")],
        consequences=dict(CONSEQUENCES),
        scores=scores,
        warnings=warnings(rng, known),
        models=known,
        domains=dict(DOMAINS),
    )


if __name__ == "__main__":
    from engine.reporting.report import render

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "report-sample.html")
    target.write_text(render(sample(sys.argv[2] if len(sys.argv) > 2 else "2021")), "utf-8")
    print(target)
