"""`oversight report`: one self-contained HTML page — the 廉情地图, ranking, warnings, trend.

The page needs no network: styles, script and data are inline, and a
Content-Security-Policy forbids every fetch, so a page that tried one would
fail loudly in the browser instead of quietly reaching out. Resident id
numbers are masked wherever they appear. Every warning links to the text of
the model that raised it, and says when the ledger recorded another revision.

The page is built for the commission's cockpit (驾驶舱) and for paper: the
map, ranking, trend, charts and lists are static HTML and inline SVG; the
script only filters and expands, so the page still means everything when
printed or opened with scripts off.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class IndicatorInfo:
    """One indicator of the index: its column in a score table, and how it is read."""

    name: str  # column name in the score tables, e.g. "warning_rate"
    title: str  # 预警率
    part: str  # the id of the part it belongs to
    points: float  # the most points it can earn
    higher_is_better: bool
    percent: bool = False  # a ratio in [0, 1], shown as a percentage (核实率 0.857 → 85.7%)


@dataclass(frozen=True)
class PartInfo:
    """A part of the score (预警核查 …): its column `part_<id>` in a score table."""

    id: str
    title: str
    points: float  # the most points the part can earn (sum of its indicators' points)


@dataclass(frozen=True)
class ModelInfo:
    """A supervision model as the pack holds it now, so a warning can be traced to its rule."""

    id: str
    title: str
    domain: str  # Chinese name of the domain, e.g. 工程管理
    severity: str  # red | yellow | blue
    revision: str
    file: str
    rule_text: str  # the whole rule file as written


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows; engine/api.py fills it from the warehouse and the pack.

    `scores` maps a period label ("2021Q1" … "2021Q4", "2021") to a score
    table with columns: township, name, one column per indicator (float),
    one `part_<id>` column per part (float points), total (float, 2 places),
    rank (int), colour (green|yellow|red), consequence (string or null).
    `warnings` is the ledger (engine.runs.ledger.LEDGER_SCHEMA) of the period,
    with four disposal columns added: verified_on, outcome, rectified_on,
    persons_disposed (null where no disposal record exists).
    `domains` names the codes the ledger's `domain` column holds (ENG → 工程管理),
    in the pack's order; a code it lacks is shown as it is.
    """

    period: str  # the period the page is about, e.g. "2021" or "2021Q4"
    county: str  # 桐庐县 …
    pack_version: str
    engine_version: str
    generated_at: str  # ISO timestamp, shown in the footer
    townships: list[tuple[str, str]]  # (code, name), in code order
    indicators: list[IndicatorInfo]
    parts: list[PartInfo]
    bands: list[tuple[str, str]]  # (colour, Chinese title), from the bottom of the ranking up
    consequences: dict[str, str]  # colour -> what follows from it
    scores: dict[str, pa.Table]
    warnings: pa.Table
    models: list[ModelInfo] = field(default_factory=list)
    domains: dict[str, str] = field(default_factory=dict)  # domain code -> Chinese name


# ---- resident id numbers ---------------------------------------------------------------------

_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12]\d|3[01])"
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])"  # not the tail of a longer number or of a code with letters
    r"[1-9]\d{5}"  # the region of registration
    rf"(?:(?:18|19|20)\d{{2}}{_MONTH}{_DAY}\d{{3}}[0-9Xx]"  # 18: yyyymmdd, sequence, check
    rf"|\d{{2}}{_MONTH}{_DAY}\d{{3}})"  # 15 (before 1999): yymmdd, sequence
    r"(?![0-9A-Za-z])"
)
"""A resident id number (GB 11643) standing on its own in text: 18 or 15 characters.

The birth date must look like one, and neither side may touch a letter or
digit, so a unified social credit code (letters, or 18 characters whose
middle is no date), a voucher number like TX0000012345678 or a longer
account number is left alone. Chinese text, punctuation and the `|` that
joins a composite key are fine neighbours.
"""

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _resident_check_ok(value: str) -> bool:
    total = sum(int(c) * w for c, w in zip(value[:17], _RESIDENT_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17].upper()


def _credit_code_ok(value: str) -> bool:
    """Both check characters of a unified social credit code (GB 32100, GB 11714) are right."""
    if any(c not in _USCC_CHARSET for c in value):
        return False
    org = 11 - sum(int(c) * w for c, w in zip(value[8:16], _ORG_WEIGHTS, strict=True)) % 11
    if value[16] != ("X" if org == 10 else "0" if org == 11 else str(org)):
        return False
    total = sum(_USCC_CHARSET.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31] == value[17]


def _mask_one(match: re.Match[str]) -> str:
    value = match.group()
    # An all-digit credit code can look like an id with a date inside; its check characters
    # tell it apart. An id with a wrong check character is still masked: it is still a person.
    if len(value) == 18 and _credit_code_ok(value) and not _resident_check_ok(value):
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_ids(text: str) -> str:
    """Mask every resident id number in a text, keeping the region and the last four.

    330122198501010015 → 330122********0015; 330122850101123 → 330122*****0123.
    """
    return RESIDENT_ID.sub(_mask_one, text)


# ---- vocabulary ------------------------------------------------------------------------------

SEVERITY_TITLES = {"red": "红色预警", "yellow": "黄色预警", "blue": "蓝色预警"}
SEVERITY_ORDER = {"red": 0, "yellow": 1, "blue": 2}
BAND_COLOURS = ("green", "yellow", "red")
DEFAULT_BAND_TITLES = {"green": "绿色", "yellow": "黄色", "red": "红色"}
CONFIRMED_OUTCOMES = frozenset({"属实", "部分属实"})
STATUS_TITLES = {
    "pending": "待核实",
    "unfounded": "已核实·不属实",
    "confirmed": "属实·待整改",
    "rectified": "属实·已整改",
}
QUARTER_TITLES = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}

# The schematic 廉情地图 of Tonglu: (column, row) on a 5 × 4 grid, north up. The Fuchun river
# runs from the south-west to the north-east between rows 3 and 4, the four 街道 along it; the
# Fenshui river comes down from 分水 past 横村 to meet it at 桐君. A township not listed here
# (another county) is placed in rows below, in code order.
TILE_LAYOUT: dict[str, tuple[int, int]] = {
    "合村乡": (1, 1),
    "百江镇": (2, 1),
    "新合乡": (3, 1),
    "分水镇": (1, 2),
    "瑶琳镇": (2, 2),
    "莪山畲族乡": (4, 2),
    "钟山乡": (1, 3),
    "横村镇": (2, 3),
    "桐君街道": (3, 3),
    "旧县街道": (4, 3),
    "凤川街道": (5, 3),
    "富春江镇": (2, 4),
    "城南街道": (3, 4),
    "江南镇": (4, 4),
}
_MAP_COLUMNS, _MAP_ROWS = 5, 4


# ---- small helpers ---------------------------------------------------------------------------


def _e(value: object) -> str:
    """Data as HTML text or attribute value: ids masked, then escaped (quotes too)."""
    if value is None:
        return ""
    return escape(mask_ids(str(value)), quote=True)


def _slug(value: object) -> str:
    """A fragment-safe form of a code, for element ids: ASCII letters, digits and - kept.

    Anything else, `_` too, is written `_HEX_`, so two codes never share a slug: a model
    id may be any identifier (采购01 is model-_91c7__8d2d_01, and _91c7_ stays apart).
    """
    return re.sub(r"[^A-Za-z0-9-]", lambda m: f"_{ord(m.group()):x}_", str(value))


def _band(colour: object) -> str:
    return colour if colour in BAND_COLOURS else "none"


def _severity(value: object) -> str:
    return value if value in SEVERITY_TITLES else "other"


def _day(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def _number(value: Any, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{float(value):.{places}f}"


def _percent(numerator: int, denominator: int) -> str:
    return "—" if denominator == 0 else f"{100 * numerator / denominator:.1f}%"


def _indicator_value(indicator: IndicatorInfo, value: Any) -> str:
    if value is None:
        return "—"
    number = float(value)
    if indicator.percent:
        return f"{100 * number:.1f}%"
    return f"{number:.3f}" if 0 < abs(number) < 1 else f"{number:.2f}"


def _period_title(period: str) -> str:
    """2021 → 2021年度, 2021Q4 → 2021年第四季度; anything else as it is."""
    if re.fullmatch(r"\d{4}", period):
        return f"{period}年度"
    found = re.fullmatch(r"(\d{4})Q([1-4])", period)
    if found:
        return f"{found.group(1)}年{QUARTER_TITLES[found.group(2)]}"
    return period


def _short_period(period: str) -> str:
    found = re.fullmatch(r"(\d{4})Q([1-4])", period)
    return f"Q{found.group(2)}" if found else ("全年" if re.fullmatch(r"\d{4}", period) else period)


def _previous_period(period: str) -> str | None:
    if re.fullmatch(r"\d{4}", period):
        return str(int(period) - 1)
    found = re.fullmatch(r"(\d{4})Q([1-4])", period)
    if not found:
        return None
    year, quarter = int(found.group(1)), int(found.group(2))
    return f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"


def _script_json(value: object) -> str:
    """JSON that cannot end its <script> element early: <, > and & are written as escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else table.to_pylist()


# ---- what the page is computed from ----------------------------------------------------------


@dataclass
class _Warning:
    index: int
    model_id: str
    key: str
    township: str | None
    severity: str
    domain: str  # Chinese name
    model_title: str
    message: str
    issued_on: object
    last_seen_on: object
    model_revision: str
    pack_version: str
    evidence: str
    verified_on: object
    outcome: str | None
    rectified_on: object
    persons_disposed: int

    @property
    def status(self) -> str:
        if self.verified_on is None:
            return "pending"
        if self.outcome not in CONFIRMED_OUTCOMES:
            return "unfounded"
        return "confirmed" if self.rectified_on is None else "rectified"


class _Page:
    """The figures every section shares, computed once from the ReportData."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.names = dict(data.townships)
        self.codes = [code for code, _ in data.townships]
        self.band_titles = {**DEFAULT_BAND_TITLES, **dict(data.bands)}
        self.models = {m.id: m for m in data.models}
        self.current = {r["township"]: r for r in _rows(data.scores.get(data.period))}
        previous = _previous_period(data.period)
        self.previous = {r["township"]: r for r in _rows(data.scores.get(previous or ""))}
        self.domain_order = self._domain_order()
        self.warnings = self._warnings()
        self.by_township = Counter(w.township for w in self.warnings)
        self.by_model = Counter(w.model_id for w in self.warnings)
        # The year's quarters up to the period's own: a Q3 page shows no Q4, even when known.
        year = data.period[:4] if re.match(r"\d{4}", data.period) else ""
        quarter = re.fullmatch(r"\d{4}Q([1-4])", data.period)
        last = int(quarter.group(1)) if quarter else 4
        self.trend_periods = [f"{year}Q{q}" for q in range(1, last + 1)] if year else []
        self.year = year
        self.annual = year if data.period == year and year in data.scores else None

    def domain_name(self, code: str | None) -> str:
        if not code:
            return "未分类"
        return self.data.domains.get(code, code)

    def _domain_order(self) -> list[str]:
        order = list(self.data.domains.values())
        for model in self.data.models:
            name = self.domain_name(model.domain)
            if name not in order:
                order.append(name)
        return order

    def _warnings(self) -> list[_Warning]:
        result = []
        for i, row in enumerate(_rows(self.data.warnings)):
            model = self.models.get(str(row.get("model_id")))
            code = row.get("domain")
            domain = self.domain_name(code) if code else ""
            if not domain and model is not None:
                domain = self.domain_name(model.domain)
            if domain not in self.domain_order:
                self.domain_order.append(domain or "未分类")
            result.append(
                _Warning(
                    index=i,
                    model_id=str(row.get("model_id") or ""),
                    key=str(row.get("warning_key") or ""),
                    township=row.get("township"),
                    severity=str(row.get("severity") or ""),
                    domain=domain or "未分类",
                    model_title=str(row.get("model_title") or (model.title if model else "")),
                    message=str(row.get("message") or ""),
                    issued_on=row.get("issued_on"),
                    last_seen_on=row.get("last_seen_on"),
                    model_revision=str(row.get("model_revision") or ""),
                    pack_version=str(row.get("pack_version") or ""),
                    evidence=str(row.get("evidence") or ""),
                    verified_on=row.get("verified_on"),
                    outcome=row.get("outcome"),
                    rectified_on=row.get("rectified_on"),
                    persons_disposed=int(row.get("persons_disposed") or 0),
                )
            )
        result.sort(
            key=lambda w: (
                -_ordinal(w.issued_on),
                SEVERITY_ORDER.get(w.severity, 9),
                w.model_id,
                w.key,
            )
        )
        return result

    def township_name(self, code: str | None) -> str:
        if code is None:
            return "（未归属乡镇）"
        return self.names.get(code) or str(self.current.get(code, {}).get("name") or code)

    def stale(self, warning: _Warning) -> bool:
        """The ledger recorded another revision of the model than the pack holds now."""
        model = self.models.get(warning.model_id)
        return (
            model is not None
            and bool(warning.model_revision)
            and (warning.model_revision != model.revision)
        )

    def model_anchor(self, model_id: str) -> str:
        return f"model-{_slug(model_id)}"

    def all_model_ids(self) -> list[str]:
        """Models of the pack in domain order, then those only the ledger still names."""
        domain_rank = {name: i for i, name in enumerate(self.domain_order)}
        known = sorted(
            self.data.models,
            key=lambda m: (domain_rank.get(self.domain_name(m.domain), 99), m.id),
        )
        ids = [m.id for m in known]
        ids += sorted({w.model_id for w in self.warnings} - set(ids))
        return ids


def _ordinal(value: object) -> int:
    if isinstance(value, datetime | date):
        return value.toordinal()
    try:
        return date.fromisoformat(str(value)[:10]).toordinal()
    except ValueError:
        return 0


# ---- sections --------------------------------------------------------------------------------


def render(data: ReportData) -> str:
    """The whole page as one HTML string.

    Every piece of data goes through `_e` (ids masked, then escaped); the page
    is masked once more as a whole, so an id can't slip through a section that
    forgot.
    """
    page = _Page(data)
    title = f"{data.county}乡镇（街道）廉情驾驶舱 · {_period_title(data.period)}"
    body = "\n".join(
        [
            _header(page),
            '<main class="wrap">',
            _kpis(page),
            _map_section(page),
            _ranking_section(page),
            _trend_section(page),
            _distribution_section(page),
            _warning_list_section(page),
            _models_section(page),
            "</main>",
            _footer(page),
            f'<script type="application/json" id="report-data">{_script_json(_blob(page))}'
            "</script>",
            f"<script>{_SCRIPT}</script>",
        ]
    )
    html = (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
    return mask_ids(html)


_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _header(page: _Page) -> str:
    data = page.data
    return (
        '<header class="top">'
        '<div class="brand"><div class="emblem" aria-hidden="true">廉</div><div>'
        f"<h1>{_e(data.county)}乡镇（街道）公权力大数据监督 · 廉情驾驶舱</h1>"
        f'<p class="sub">{_e(_period_title(data.period))} 廉情指数与预警通报</p>'
        "</div></div>"
        '<dl class="stamp">'
        f"<div><dt>评价期</dt><dd>{_e(data.period)}</dd></div>"
        f"<div><dt>规则包</dt><dd>{_e(data.pack_version)}</dd></div>"
        f"<div><dt>生成时间</dt><dd>{_e(data.generated_at)}</dd></div>"
        "</dl></header>"
    )


def _kpis(page: _Page) -> str:
    warnings = page.warnings
    total = len(warnings)
    severities = Counter(w.severity for w in warnings)
    verified = sum(1 for w in warnings if w.verified_on is not None)
    confirmed = [w for w in warnings if w.status in ("confirmed", "rectified")]
    rectified = sum(1 for w in confirmed if w.status == "rectified")
    persons = sum(w.persons_disposed for w in warnings)
    bands = Counter(_band(r.get("colour")) for r in page.current.values())
    sev = " ".join(
        f'<span class="dot sev-{s}"></span>{_e(SEVERITY_TITLES[s][:2])} {severities.get(s, 0)}'
        for s in SEVERITY_TITLES
    )
    band_line = " ".join(
        f'<span class="dot band-{c}"></span>{_e(page.band_titles[c])} {bands.get(c, 0)}'
        for c in BAND_COLOURS
    )
    cards = [
        ("本期预警", f"{total}", "条", sev),
        ("核实率", _percent(verified, total), "", f"已核实 {verified} 条"),
        (
            "查实",
            f"{len(confirmed)}",
            "条",
            f"查实率 {_percent(len(confirmed), verified)}",
        ),
        ("整改率", _percent(rectified, len(confirmed)), "", f"已整改 {rectified} 条"),
        ("人员处置", f"{persons}", "人", "由预警线索处置"),
        ("评价乡镇", f"{len(page.current)}", "个", band_line),
    ]
    items = "".join(
        f'<div class="kpi"><div class="kpi-label">{_e(label)}</div>'
        f'<div class="kpi-value">{value}<small>{_e(unit)}</small></div>'
        f'<div class="kpi-note">{note}</div></div>'
        for label, value, unit, note in cards
    )
    return f'<section class="kpis" id="overview" aria-label="概览">{items}</section>'


def _map_section(page: _Page) -> str:
    data = page.data
    extra = [c for c in page.codes if page.names[c] not in TILE_LAYOUT]
    rows = _MAP_ROWS + (len(extra) + _MAP_COLUMNS - 1) // _MAP_COLUMNS
    tiles = []
    for code in page.codes:
        name = page.names[code]
        if name in TILE_LAYOUT:
            column, row = TILE_LAYOUT[name]
        else:
            position = extra.index(code)
            column, row = position % _MAP_COLUMNS + 1, _MAP_ROWS + 1 + position // _MAP_COLUMNS
        score = page.current.get(code)
        colour = _band(score.get("colour")) if score else "none"
        if score:
            rank = f"第{_e(score.get('rank'))}名"
            total = _number(score.get("total"))
            band = page.band_titles.get(colour, "未评价")
            tip = f"{name}：{band}，第{score.get('rank')}名，{total}分"
        else:
            rank, total, tip = "未评价", "—", f"{name}：本期未评价"
        tiles.append(
            f'<a class="tile band-{colour}" id="tile-{_slug(code)}" href="#rank-{_slug(code)}" '
            f'data-township="{_e(code)}" data-colour="{colour}" '
            f'style="grid-column:{column};grid-row:{row}" title="{_e(tip)}">'
            f'<span class="tile-rank">{rank}</span>'
            f'<span class="tile-name">{_e(name)}</span>'
            f'<span class="tile-total">{total}</span>'
            f'<span class="tile-meta">预警 {page.by_township.get(code, 0)} 条</span></a>'
        )
    # The rivers only where the tiles are Tonglu's own: on another county's grid they'd lie.
    river = (
        (
            '<svg class="river" viewBox="0 0 5 4" preserveAspectRatio="none" aria-hidden="true">'
            '<path d="M0.3 4 C0.9 3.5 1.3 3.02 2.1 3.02 L5 3.02"/>'
            '<path class="branch" '
            'd="M0.5 1.5 C0.9 2.0 1.5 2.0 1.75 2.5 C1.9 2.8 1.95 2.95 2.1 3.02"/>'
            "</svg>"
        )
        if not extra
        else ""
    )
    compass = (
        '<div class="compass" style="grid-column:5;grid-row:1" aria-hidden="true">'
        "<b>北</b><span>▲</span></div>"
    )
    grid = (
        f'<div class="tilemap" style="grid-template-rows:repeat({rows},minmax(92px,auto))" '
        f'aria-label="廉情地图">{river}{compass}{"".join(tiles)}</div>'
    )
    legend = _legend(page)
    note = "示意图：按乡镇（街道）大致方位排布，非实际边界" + (
        "；蓝线示意富春江、分水江。" if not extra else "。"
    )
    return (
        '<section class="panel map-panel" id="map"><div class="panel-head">'
        f'<h2>廉情地图</h2><span class="hint">{_e(_period_title(data.period))}'
        " · 点击乡镇查看得分明细</span></div>"
        f'<div class="map-body"><div class="map-frame">{grid}'
        f'<p class="caption">{_e(note)}</p></div>{legend}</div></section>'
    )


def _legend(page: _Page) -> str:
    data = page.data
    ranks: dict[str, list[int]] = defaultdict(list)
    for row in page.current.values():
        if row.get("rank") is not None:
            ranks[_band(row.get("colour"))].append(int(row["rank"]))
    items = []
    for colour in BAND_COLOURS:
        found = ranks.get(colour)
        if found:
            low, high = min(found), max(found)
            span = f"第{low}名" if low == high else f"第{low}–{high}名"
            span += f"（{len(found)}个）"
        else:
            span = "本期无"
        consequence = data.consequences.get(colour) or "—"
        items.append(
            f'<li class="legend-item band-{colour}"><span class="swatch"></span>'
            f'<div><b>{_e(page.band_titles[colour])}</b> <span class="legend-ranks">{span}</span>'
            f'<p class="consequence">{_e(consequence)}</p></div></li>'
        )
    annual = re.fullmatch(r"\d{4}", data.period) is not None
    note = (
        "年度评定结果纳入党风廉政建设考核。"
        if annual
        else "季度结果用于通报预警；上述运用以年度评定结果为准。"
    )
    return (
        '<aside class="legend"><h3>图例与结果运用</h3>'
        f'<ul>{"".join(items)}</ul><p class="legend-note">{_e(note)}</p>'
        '<p class="legend-note">排名按总分由高到低，总分相同名次并列。</p></aside>'
    )


def _ranking_section(page: _Page) -> str:
    data = page.data
    rows = sorted(page.current.values(), key=lambda r: (r.get("rank") or 10**6, r["township"]))
    by_part = {p.id: [i for i in data.indicators if i.part == p.id] for p in data.parts}
    has_previous = bool(page.previous)
    head1 = ['<th rowspan="2">排名</th>', '<th rowspan="2">乡镇（街道）</th>']
    head1.append('<th rowspan="2">总分</th>')
    head2 = []
    for part in data.parts:
        span = 1 + len(by_part[part.id])
        head1.append(
            f'<th colspan="{span}" class="part-head">{_e(part.title)}'
            f"<small>（{_number(part.points, 0)}分）</small></th>"
        )
        head2.append('<th class="pts">得分</th>')
        for indicator in by_part[part.id]:
            arrow = "↑" if indicator.higher_is_better else "↓"
            better = "越高越好" if indicator.higher_is_better else "越低越好"
            tip = f"{indicator.title}：{better}，满分{_number(indicator.points, 0)}分"
            head2.append(f'<th class="ind" title="{_e(tip)}">{_e(indicator.title)}{arrow}</th>')
    head1.append('<th rowspan="2">颜色</th>')
    if has_previous:
        head1.append('<th rowspan="2">较上期</th>')
    head1.append('<th rowspan="2">预警</th>')
    body = []
    for row in rows:
        code = row["township"]
        colour = _band(row.get("colour"))
        total = row.get("total")
        width = max(0.0, min(100.0, float(total or 0)))
        cells = [
            f'<td class="rank">{_e(row.get("rank"))}</td>',
            f'<th scope="row" class="name"><a href="#tile-{_slug(code)}">'
            f"{_e(page.township_name(code))}</a></th>",
            f'<td class="total"><span class="bar"><i class="band-{colour}" '
            f'style="width:{width:.1f}%"></i></span><b>{_number(total)}</b></td>',
        ]
        for part in data.parts:
            cells.append(f'<td class="pts">{_number(row.get(f"part_{part.id}"))}</td>')
            for indicator in by_part[part.id]:
                cells.append(
                    f'<td class="ind">{_indicator_value(indicator, row.get(indicator.name))}</td>'
                )
        consequence = row.get("consequence")
        cells.append(
            f'<td class="colour"><span class="badge band-{colour}">'
            f"{_e(page.band_titles.get(colour, '—'))}</span>"
            + (f'<small class="conseq">{_e(consequence)}</small>' if consequence else "")
            + "</td>"
        )
        if has_previous:
            cells.append(f'<td class="delta">{_delta(row, page.previous.get(code))}</td>')
        count = page.by_township.get(code, 0)
        cells.append(
            f'<td class="count"><a href="#warnings" data-filter-township="{_e(code)}">'
            f"{count}</a></td>"
        )
        body.append(
            f'<tr id="rank-{_slug(code)}" class="rank-row band-{colour}" '
            f'data-township="{_e(code)}" data-rank="{_e(row.get("rank"))}">{"".join(cells)}</tr>'
        )
    missing = [c for c in page.codes if c not in page.current]
    note = ""
    if missing:
        names = "、".join(page.township_name(c) for c in missing)
        note = f'<p class="note">本期未参与评价（缺少当年编制数据）：{_e(names)}</p>'
    if not rows:
        table = f'<p class="empty">本期（{_e(data.period)}）没有评分结果。</p>'
    else:
        table = (
            '<div class="table-scroll"><table class="ranking">'
            f"<thead><tr>{''.join(head1)}</tr><tr>{''.join(head2)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
    return (
        '<section class="panel" id="ranking"><div class="panel-head"><h2>廉情指数排名</h2>'
        '<span class="hint">各部分得分及指标值；↑ 越高越好，↓ 越低越好</span></div>'
        f"{table}{note}</section>"
    )


def _delta(row: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
    if not before or before.get("rank") is None or row.get("rank") is None:
        return '<span class="flat">—</span>'
    change = int(before["rank"]) - int(row["rank"])
    if change > 0:
        return f'<span class="up" title="名次上升{change}位">▲{change}</span>'
    if change < 0:
        return f'<span class="down" title="名次下降{-change}位">▼{-change}</span>'
    return '<span class="flat" title="名次不变">＝</span>'


def _trend_section(page: _Page) -> str:
    data = page.data
    periods = page.trend_periods
    if not periods:
        return ""
    annual = page.annual
    annual_rows = {r["township"]: r for r in _rows(data.scores.get(annual or ""))}
    tables = {p: {r["township"]: r for r in _rows(data.scores.get(p))} for p in periods}
    totals = [
        float(r["total"]) for t in tables.values() for r in t.values() if r.get("total") is not None
    ]
    low, high = (min(totals), max(totals)) if totals else (0.0, 100.0)
    order_source = page.current or tables.get(periods[-1], {})
    order = sorted(
        page.codes,
        key=lambda c: (
            (order_source.get(c) or {}).get("rank") or 10**6,
            c,
        ),
    )
    head = "".join(f"<th>{_e(_short_period(p))}</th>" for p in periods)
    if annual:
        head += f"<th>{_e(page.year)}年度</th>"
    body = []
    for code in order:
        cells = [f'<th scope="row">{_e(page.township_name(code))}</th>']
        points = []
        for p in periods:
            row = tables[p].get(code)
            cells.append(_trend_cell(page, row))
            if row and row.get("total") is not None:
                points.append((periods.index(p), float(row["total"]), _band(row.get("colour"))))
        if annual:
            cells.append(_trend_cell(page, annual_rows.get(code)))
        # Four slots always: a quarter sits at the same place on every page of the year.
        cells.append(f'<td class="spark">{_sparkline(points, 4, low, high)}</td>')
        body.append(f'<tr data-township="{_e(code)}">{"".join(cells)}</tr>')
    table = (
        '<table class="trend"><thead><tr><th>乡镇（街道）</th>'
        f"{head}<th>总分走势</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return (
        '<section class="panel" id="trend"><div class="panel-head">'
        f"<h2>{_e(page.year)}年各季度走势</h2>"
        '<span class="hint">单元格：总分 / 名次，底色为当季颜色</span></div>'
        f'<div class="trend-body"><div class="trend-table">{table}</div>'
        f'<div class="bump">{_bump_chart(page, tables)}</div></div></section>'
    )


def _trend_cell(page: _Page, row: Mapping[str, Any] | None) -> str:
    if not row:
        return '<td class="cell band-none">—</td>'
    colour = _band(row.get("colour"))
    return (
        f'<td class="cell band-{colour}" title="{_e(page.band_titles.get(colour, ""))}">'
        f"<b>{_number(row.get('total'))}</b><small>第{_e(row.get('rank'))}名</small></td>"
    )


def _sparkline(
    points: Sequence[tuple[int, float, str]], slots: int, low: float, high: float
) -> str:
    width, height, pad = 150, 36, 5
    if not points:
        return ""
    span = (high - low) or 1.0

    def xy(slot: int, value: float) -> tuple[float, float]:
        x = pad + slot * (width - 2 * pad) / max(1, slots - 1)
        y = pad + (high - value) * (height - 2 * pad) / span
        return x, y

    coords = [xy(slot, value) for slot, value, _ in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" class="band-{colour}"/>'
        for (x, y), (_, _, colour) in zip(coords, points, strict=True)
    )
    return (
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="各季度总分"><polyline points="{line}"/>{dots}</svg>'
    )


def _bump_chart(page: _Page, tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Ranks across the quarters, one line per township, labelled at the last quarter."""
    periods = page.trend_periods
    ranks = [int(r["rank"]) for t in tables.values() for r in t.values() if r.get("rank")]
    if not ranks:
        return '<p class="empty">各季度尚无评分。</p>'
    worst = max(max(ranks), len(page.codes))
    width, height = 470, 40 + 26 * worst
    left, right, top = 44, 150, 30
    step = (width - left - right) / max(1, len(periods) - 1)

    def y(rank: int) -> float:
        return top + (rank - 1) * (height - top - 14) / max(1, worst - 1)

    parts = [
        f'<svg class="bump-chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="各季度名次走势">'
    ]
    for i, p in enumerate(periods):
        x = left + i * step
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 8}"/>'
            f'<text class="axis" x="{x:.1f}" y="{top - 14}" text-anchor="middle">'
            f"{_e(_short_period(p))}</text>"
        )
    for rank in range(1, worst + 1):
        parts.append(
            f'<text class="axis" x="{left - 14}" y="{y(rank) + 4:.1f}" text-anchor="end">'
            f"{rank}</text>"
        )
    label_used: Counter[int] = Counter()
    lines, labels = [], []
    for code in page.codes:
        seen = [
            (i, int(tables[p][code]["rank"]), _band(tables[p][code].get("colour")))
            for i, p in enumerate(periods)
            if code in tables[p] and tables[p][code].get("rank")
        ]
        if not seen:
            continue
        final = seen[-1][2]  # the colour where the line ends, so label and dot agree
        coords = [(left + i * step, y(rank)) for i, rank, _ in seen]
        name = page.township_name(code)
        points = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        dots = "".join(
            f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3.5" class="band-{colour}"/>'
            for (x, yy), (_, _, colour) in zip(coords, seen, strict=True)
        )
        lines.append(
            f'<g class="bump-line band-{final}" data-township="{_e(code)}">'
            f"<title>{_e(name)}</title>"
            f'<polyline points="{points}"/>{dots}</g>'
        )
        last_x, last_y = coords[-1]
        offset = label_used[seen[-1][1]]
        label_used[seen[-1][1]] += 1
        labels.append(
            f'<text class="bump-label band-{final}" x="{last_x + 10 + offset * 62:.1f}" '
            f'y="{last_y + 4:.1f}">{_e(name)}</text>'
        )
    parts.extend(sorted(lines, key=lambda s: "band-green" not in s))
    parts.extend(labels)
    parts.append("</svg>")
    return "<h3>名次走势</h3>" + "".join(parts)


def _bar_chart(
    rows: Sequence[tuple[str, str | None, Counter[str]]], label_width: int, unit: str
) -> str:
    """Horizontal bars stacked by severity: (label, link or None, counts by severity)."""
    if not rows:
        return '<p class="empty">本期无预警。</p>'
    most = max(sum(c.values()) for _, _, c in rows) or 1
    bar_room, row_height = 330, 24
    width = label_width + bar_room + 50
    height = row_height * len(rows) + 6
    out = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(unit)}">'
    ]
    for i, (label, link, counts) in enumerate(rows):
        y = 3 + i * row_height
        text = (
            f'<text class="bar-label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{_e(label)}</text>"
        )
        out.append(f'<a href="#{_e(link)}">{text}</a>' if link else text)
        x = float(label_width)
        for severity in (*SEVERITY_TITLES, "other"):
            n = counts.get(severity, 0)
            if not n:
                continue
            w = bar_room * n / most
            out.append(
                f'<rect class="sev-{severity}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row_height - 7}" rx="2"><title>{_e(label)}：'
                f"{_e(SEVERITY_TITLES.get(severity, '其他'))} {n} 条</title></rect>"
            )
            x += w
        out.append(
            f'<text class="bar-value" x="{x + 6:.1f}" y="{y + 16}">{sum(counts.values())}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _distribution_section(page: _Page) -> str:
    by_domain: dict[str, Counter[str]] = {d: Counter() for d in page.domain_order}
    by_model: dict[str, Counter[str]] = defaultdict(Counter)
    matrix: dict[tuple[str | None, str], int] = Counter()
    for w in page.warnings:
        by_domain.setdefault(w.domain, Counter())[_severity(w.severity)] += 1
        by_model[w.model_id][_severity(w.severity)] += 1
        matrix[(w.township, w.domain)] += 1
    domains = [d for d in page.domain_order if d in by_domain]
    domain_rows = [(d, None, by_domain[d]) for d in domains]
    model_rows = [
        (
            f"{m} {page.models[m].title if m in page.models else _title_of(page, m)}",
            page.model_anchor(m),
            by_model[m],
        )
        for m in page.all_model_ids()
        if by_model.get(m)
    ]
    most = max(matrix.values(), default=0) or 1
    head = "".join(f"<th>{_e(d)}</th>" for d in domains)
    body = []
    for code in [*page.codes, *([None] if any(w.township is None for w in page.warnings) else [])]:
        cells = []
        for d in domains:
            n = matrix.get((code, d), 0)
            alpha = 0.08 + 0.72 * n / most if n else 0
            style = f' style="background:rgba(200,16,46,{alpha:.2f})"' if n else ""
            dark = " dark" if n and alpha > 0.45 else ""
            cells.append(f'<td class="heat{dark}"{style}>{n or ""}</td>')
        total = sum(matrix.get((code, d), 0) for d in domains)
        body.append(
            f'<tr><th scope="row">{_e(page.township_name(code))}</th>{"".join(cells)}'
            f'<td class="sum">{total}</td></tr>'
        )
    severity_legend = "".join(
        f'<span class="key"><span class="dot sev-{s}"></span>{_e(t)}</span>'
        for s, t in SEVERITY_TITLES.items()
    )
    return (
        '<section class="panel" id="distribution"><div class="panel-head"><h2>预警分布</h2>'
        f'<span class="hint">{severity_legend}</span></div>'
        '<div class="dist-grid">'
        f"<div><h3>按领域</h3>{_bar_chart(domain_rows, 90, '按领域的预警数')}"
        '<h3>乡镇 × 领域</h3><table class="matrix"><thead><tr><th>乡镇（街道）</th>'
        f"{head}<th>合计</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"<div><h3>按模型</h3>{_bar_chart(model_rows, 190, '按模型的预警数')}</div>"
        "</div></section>"
    )


def _title_of(page: _Page, model_id: str) -> str:
    for w in page.warnings:
        if w.model_id == model_id and w.model_title:
            return w.model_title
    return ""


def _options(values: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<option value="{_e(v)}">{_e(label)}</option>' for v, label in values)


def _warning_list_section(page: _Page) -> str:
    warnings = page.warnings
    townships = [(c, page.township_name(c)) for c in page.codes if page.by_township.get(c)]
    if any(w.township is None for w in warnings):
        townships.append(("", page.township_name(None)))
    domains = [(d, d) for d in page.domain_order if any(w.domain == d for w in warnings)]
    models = [
        (m, f"{m} {page.models[m].title if m in page.models else _title_of(page, m)}")
        for m in page.all_model_ids()
        if page.by_model.get(m)
    ]
    statuses = Counter(w.status for w in warnings)
    status_options = [(s, f"{t}（{statuses.get(s, 0)}）") for s, t in STATUS_TITLES.items()]
    filters = (
        '<form class="filters" id="filters" hidden>'
        f'<label>乡镇<select id="f-township"><option value="*">全部</option>{_options(townships)}'
        "</select></label>"
        f'<label>领域<select id="f-domain"><option value="*">全部</option>{_options(domains)}'
        "</select></label>"
        f'<label>模型<select id="f-model"><option value="*">全部</option>{_options(models)}'
        "</select></label>"
        '<label>等级<select id="f-severity"><option value="*">全部</option>'
        f"{_options(SEVERITY_TITLES.items())}</select></label>"
        '<label>处置<select id="f-status"><option value="*">全部</option>'
        f"{_options(status_options)}</select></label>"
        '<label class="grow">搜索<input id="f-text" type="search" '
        'placeholder="预警内容、预警键"></label>'
        '<button type="button" id="f-reset">重置</button>'
        '<button type="button" id="f-expand">展开详情</button>'
        '<output id="f-count" aria-live="polite"></output></form>'
    )
    rows = [_warning_row(page, w) for w in warnings]
    table = (
        '<table class="warnings"><thead><tr><th>下发日期</th><th>等级</th><th>模型</th>'
        "<th>乡镇（街道）</th><th>处置</th><th>预警内容</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="empty">本期无预警。</p>'
    )
    return (
        '<section class="panel" id="warnings"><div class="panel-head">'
        f'<h2>预警清单</h2><span class="hint">共 {len(warnings)} 条，按下发日期倒序；'
        "点击模型编号查看规则原文</span></div>"
        f"{filters}{table}</section>"
    )


def _warning_row(page: _Page, w: _Warning) -> str:
    severity = _severity(w.severity)
    model = page.models.get(w.model_id)
    title = model.title if model else w.model_title
    stale = page.stale(w)
    stale_badge = (
        f'<span class="stale" title="预警按模型版本 {_e(w.model_revision)} 发出，'
        f'当前版本为 {_e(model.revision if model else "")}">规则已修订</span>'
        if stale
        else ""
    )
    status = w.status
    status_text = {
        "pending": STATUS_TITLES["pending"],
        "unfounded": f"已核实·{w.outcome or '不属实'}",
        "confirmed": f"{w.outcome}·待整改",
        "rectified": f"{w.outcome}·已整改",
    }[status]
    details = [
        ("预警键", f"<code>{_e(w.key)}</code>"),
        ("证据", _evidence(w.evidence)),
        (
            "模型版本",
            f"<code>{_e(w.model_revision)}</code>"
            + (f"（当前 <code>{_e(model.revision)}</code>）" if stale and model else ""),
        ),
        ("规则包版本", _e(w.pack_version)),
        ("最近命中", _e(_day(w.last_seen_on))),
        ("核实日期", _e(_day(w.verified_on))),
        ("核实结论", _e(w.outcome or "—")),
        ("整改日期", _e(_day(w.rectified_on))),
        ("处置人数", f"{w.persons_disposed}"),
    ]
    wide = {"预警键", "证据", "模型版本"}
    detail_html = "".join(
        ('<div class="wide">' if k in wide else "<div>") + f"<dt>{k}</dt><dd>{v}</dd></div>"
        for k, v in details
    )
    return (
        f'<tr id="w-{w.index}" class="warning sev-{severity}" '
        f'data-township="{_e(w.township or "")}" '
        f'data-domain="{_e(w.domain)}" data-model="{_e(w.model_id)}" '
        f'data-severity="{_e(w.severity)}" data-status="{status}">'
        f'<td class="date">{_e(_day(w.issued_on))}</td>'
        f'<td><span class="sev sev-{severity}">{_e(SEVERITY_TITLES.get(w.severity, w.severity))}'
        "</span></td>"
        f'<td class="model"><a class="model-link" href="#{page.model_anchor(w.model_id)}">'
        f'{_e(w.model_id)}</a><span class="model-title">{_e(title)}</span>{stale_badge}</td>'
        f"<td>{_e(page.township_name(w.township))}</td>"
        f'<td><span class="status st-{status}">{_e(status_text)}</span></td>'
        f'<td class="message"><p>{_e(w.message)}</p>'
        f'<details><summary>详情</summary><dl class="facts">{detail_html}</dl></details></td>'
        "</tr>"
    )


def _evidence(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return f"<code>{_e(text)}</code>" if text else "—"
    if isinstance(value, dict):
        if not value:
            return "—"
        items = "".join(
            f"<li><code>{_e(k)}</code> = {_e(json.dumps(v, ensure_ascii=False))}</li>"
            for k, v in value.items()
        )
        return f'<ul class="evidence">{items}</ul>'
    return f"<code>{_e(json.dumps(value, ensure_ascii=False))}</code>"


def _models_section(page: _Page) -> str:
    sections = []
    for model_id in page.all_model_ids():
        model = page.models.get(model_id)
        mine = [w for w in page.warnings if w.model_id == model_id]
        anchor = page.model_anchor(model_id)
        if model is None:
            sections.append(
                f'<article class="model missing" id="{anchor}"><h3>{_e(model_id)} '
                f"{_e(_title_of(page, model_id))}</h3>"
                f'<p class="note">该模型已不在当前规则包中；本期仍有 {len(mine)} 条预警由它发出，'
                "规则原文请查阅当时版本的规则包。</p></article>"
            )
            continue
        old = Counter(w.model_revision for w in mine if page.stale(w))
        notice = "".join(
            f'<p class="stale-note">本期有 {n} 条预警按旧版本 <code>{_e(rev)}</code> 发出，'
            "与下列现行规则不同。</p>"
            for rev, n in sorted(old.items())
        )
        severity = _severity(model.severity)
        sections.append(
            f'<article class="model" id="{anchor}">'
            f'<h3><span class="sev sev-{severity}">'
            f"{_e(SEVERITY_TITLES.get(model.severity, model.severity))}</span> "
            f"{_e(model.id)} {_e(model.title)}</h3>"
            '<dl class="model-meta">'
            f"<div><dt>领域</dt><dd>{_e(page.domain_name(model.domain))}</dd></div>"
            f"<div><dt>版本</dt><dd><code>{_e(model.revision)}</code></dd></div>"
            f"<div><dt>文件</dt><dd><code>{_e(model.file)}</code></dd></div>"
            f"<div><dt>本期预警</dt><dd>{len(mine)} 条</dd></div></dl>"
            f'{notice}<pre class="rule"><code>{_e(model.rule_text)}</code></pre>'
            '<p class="back"><a href="#warnings">↩ 返回预警清单</a></p></article>'
        )
    return (
        '<section class="panel" id="models"><div class="panel-head"><h2>附：监督模型规则原文</h2>'
        '<span class="hint">每条预警可追溯至发出它的模型及其版本</span></div>'
        f"{''.join(sections) or _NO_MODELS}</section>"
    )


_NO_MODELS = '<p class="empty">没有模型信息。</p>'


def _footer(page: _Page) -> str:
    data = page.data
    return (
        '<footer class="foot">'
        f"<span>{_e(data.county)}纪委监委 · 乡镇（街道）公权力大数据监督</span>"
        f"<span>规则包 {_e(data.pack_version)} · 引擎 oversight {_e(data.engine_version)}"
        f" · 生成于 {_e(data.generated_at)}</span>"
        "<span>本页离线可用；居民身份证号已脱敏显示。</span></footer>"
    )


def _blob(page: _Page) -> dict[str, Any]:
    """What the script filters on, one entry per warning row; texts masked like the page."""
    return {
        "period": page.data.period,
        "warnings": [
            {
                "row": f"w-{w.index}",
                "township": w.township or "",
                "domain": w.domain,
                "model": w.model_id,
                "severity": w.severity,
                "status": w.status,
                "text": mask_ids(
                    " ".join(
                        [
                            w.model_id,
                            w.model_title,
                            w.key,
                            w.message,
                            page.township_name(w.township),
                        ]
                    )
                ).lower(),
            }
            for w in page.warnings
        ],
    }


# ---- style and script ------------------------------------------------------------------------

_CSS = """
:root{--green:#1e9e5a;--yellow:#e5a50a;--red:#d42d2d;--blue:#2f6fc4;--none:#b8c0cc;
--ink:#18212f;--muted:#5d6878;--line:#dfe3ea;--bg:#eef1f5;--panel:#fff;--navy:#0f1f3a;
--accent:#c8102e}
*{box-sizing:border-box}
html{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC",
"Microsoft YaHei",sans-serif;color:var(--ink);background:var(--bg);font-size:14px;
line-height:1.5;-webkit-text-size-adjust:100%}
body{margin:0}
a{color:#1b4f9c;text-decoration:none}a:hover{text-decoration:underline}
code,pre{font-family:"Noto Sans Mono CJK SC","DejaVu Sans Mono",monospace;font-size:12.5px}
.top{background:linear-gradient(100deg,#0b1830 0%,#1a3461 70%,#23407a 100%);color:#fff;
padding:18px 32px 16px;border-bottom:4px solid var(--accent);display:flex;
justify-content:space-between;align-items:center;gap:24px}
.brand{display:flex;align-items:center;gap:16px}
.emblem{width:52px;height:52px;border-radius:50%;background:var(--accent);display:grid;
place-items:center;font-size:26px;font-weight:700;box-shadow:0 0 0 3px rgba(255,255,255,.25)}
.top h1{margin:0;font-size:24px;letter-spacing:1px;font-weight:700}
.top .sub{margin:2px 0 0;color:#c9d5ea;font-size:15px}
.stamp{display:flex;gap:22px;margin:0}.stamp div{text-align:right}
.stamp dt{font-size:12px;color:#9fb0cc}.stamp dd{margin:0;font-size:14px;font-weight:600}
.wrap{max-width:1360px;margin:0 auto;padding:18px 20px 8px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:16px}
.kpi{background:var(--panel);border-radius:8px;padding:12px 16px;border-top:3px solid var(--navy);
box-shadow:0 1px 2px rgba(15,31,58,.08)}
.kpi-label{color:var(--muted);font-size:13px}
.kpi-value{font-size:30px;font-weight:700;line-height:1.2;font-variant-numeric:tabular-nums}
.kpi-value small{font-size:14px;font-weight:400;margin-left:3px;color:var(--muted)}
.kpi-note{font-size:12px;color:var(--muted)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 3px 0 6px;
vertical-align:0}
.panel{background:var(--panel);border-radius:8px;padding:14px 20px 18px;margin-bottom:16px;
box-shadow:0 1px 2px rgba(15,31,58,.08)}
.panel-head{display:flex;align-items:baseline;gap:14px;border-bottom:1px solid var(--line);
margin-bottom:12px;padding-bottom:6px}
.panel-head h2{margin:0;font-size:19px;border-left:5px solid var(--accent);padding-left:10px}
.hint{color:var(--muted);font-size:12.5px}
h3{font-size:15px;margin:10px 0 8px}
.band-green{--c:var(--green)}.band-yellow{--c:var(--yellow)}.band-red{--c:var(--red)}
.band-none{--c:var(--none)}
.sev-red{--s:var(--red)}.sev-yellow{--s:var(--yellow)}.sev-blue{--s:var(--blue)}
.sev-other{--s:var(--none)}
.dot.band-green,.dot.band-yellow,.dot.band-red{background:var(--c)}
.dot.sev-red,.dot.sev-yellow,.dot.sev-blue{background:var(--s)}
.map-body{display:grid;grid-template-columns:1fr 330px;gap:20px;align-items:start}
.tilemap{position:relative;display:grid;grid-template-columns:repeat(5,1fr);gap:12px;
padding:6px}
.river{position:absolute;inset:6px;width:calc(100% - 12px);height:calc(100% - 12px);
overflow:visible;pointer-events:none}
.river path{fill:none;stroke:#7fb2e5;stroke-width:9;stroke-linecap:round;
vector-effect:non-scaling-stroke;opacity:.85}
.river path.branch{stroke-width:6}
.compass{display:flex;flex-direction:column;align-items:center;justify-content:center;
color:var(--muted);font-size:13px}.compass span{font-size:20px;color:var(--navy)}
.tile{position:relative;z-index:1;display:flex;flex-direction:column;justify-content:center;
align-items:center;border-radius:10px;padding:8px 6px;color:#fff;background:var(--c);
min-height:92px;box-shadow:inset 0 -4px 0 rgba(0,0,0,.15),0 2px 4px rgba(0,0,0,.12);
text-decoration:none}
.tile:hover{text-decoration:none;outline:3px solid var(--navy);outline-offset:1px}
.tile.band-yellow{color:#2b2100}
.tile-rank{position:absolute;top:5px;left:8px;font-size:12px;opacity:.9}
.tile-name{font-size:17px;font-weight:700;letter-spacing:1px;margin-top:8px}
.tile-total{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums;line-height:1.1}
.tile-meta{font-size:11.5px;opacity:.9}
.caption{color:var(--muted);font-size:12px;margin:6px 0 0}
.legend{border-left:1px solid var(--line);padding-left:18px}
.legend ul{list-style:none;margin:0;padding:0}
.legend-item{display:flex;gap:10px;margin-bottom:12px}
.swatch{flex:none;width:26px;height:26px;border-radius:6px;background:var(--c)}
.legend-ranks{color:var(--muted);font-size:13px}
.consequence{margin:2px 0 0;font-size:13px}
.legend-note{color:var(--muted);font-size:12px;margin:6px 0 0}
.table-scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f4f6f9;font-weight:600;font-size:13px;white-space:nowrap}
.ranking td,.ranking th{text-align:center;vertical-align:middle;font-variant-numeric:tabular-nums}
.ranking th.name{text-align:left;white-space:nowrap}
.ranking .part-head{border-left:2px solid #fff;background:#e8edf4}
.ranking .part-head small{font-weight:400;color:var(--muted)}
.ranking td.pts{font-weight:600;background:#fafbfd}
.ranking th.ind,.ranking td.ind{color:var(--muted);font-size:12px;font-weight:400}
.ranking td.rank{font-size:18px;font-weight:700;width:46px}
.rank-row.band-red td.rank{color:var(--red)}.rank-row.band-yellow td.rank{color:#b27c00}
.ranking td.total{min-width:150px;text-align:left}
.ranking td.total b{font-size:15px;margin-left:6px}
.bar{display:inline-block;width:84px;height:9px;background:#edf0f4;border-radius:5px;
overflow:hidden;vertical-align:1px}
.bar i{display:block;height:100%;background:var(--c)}
.badge{display:inline-block;padding:1px 10px;border-radius:10px;background:var(--c);color:#fff;
font-size:12.5px;white-space:nowrap}
.badge.band-yellow{color:#2b2100}
.conseq{display:block;color:var(--muted);font-size:11px;max-width:170px;margin:2px auto 0}
.delta .up{color:var(--green)}.delta .down{color:var(--red)}.delta .flat{color:var(--muted)}
.rank-row:target{outline:2px solid var(--navy)}
.note,.empty{color:var(--muted);font-size:13px}
.trend-body{display:grid;grid-template-columns:1fr 480px;gap:20px;align-items:start}
.trend td,.trend th{text-align:center;vertical-align:middle;padding:3px 6px}
.trend tbody th{text-align:left;white-space:nowrap}
.trend td.cell{color:#fff;background:var(--c);border:2px solid #fff;border-radius:4px;
font-variant-numeric:tabular-nums;line-height:1.15}
.trend td.cell.band-yellow{color:#2b2100}.trend td.cell.band-none{background:#f1f3f6;
color:var(--muted)}
.trend td.cell b{display:block;font-size:13.5px}.trend td.cell small{font-size:11px}
.sparkline polyline{fill:none;stroke:#51627a;stroke-width:1.6}
.sparkline circle,.bump-chart circle{fill:var(--c);stroke:#fff;stroke-width:1}
.bump-chart .grid{stroke:var(--line)}
.bump-chart .axis{fill:var(--muted);font-size:12px}
.bump-line polyline{fill:none;stroke:var(--c);stroke-width:2.2;opacity:.75}
.bump-line.band-green polyline{opacity:.35}
.bump-label{font-size:12px;fill:var(--ink)}.bump-label.band-red{fill:var(--red);font-weight:700}
.bump-label.band-yellow{fill:#a36f00;font-weight:700}
.dist-grid{display:grid;grid-template-columns:1fr 1fr;gap:26px}
.bars .bar-label{font-size:12.5px;fill:var(--ink)}
.bars a .bar-label{fill:#1b4f9c}
.bars .bar-value{font-size:12px;fill:var(--muted)}
.bars rect{fill:var(--s)}
.key{margin-right:10px;white-space:nowrap}
.matrix td,.matrix th{text-align:center;padding:3px 6px;font-size:12.5px}
.matrix tbody th{text-align:left;white-space:nowrap;font-weight:400}
.matrix td.heat.dark{color:#fff}.matrix td.sum{font-weight:600}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end;background:#f4f6f9;
padding:10px 12px;border-radius:6px;margin-bottom:10px}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
.filters label.grow{flex:1;min-width:180px}
.filters select,.filters input,.filters button{font:inherit;font-size:13px;padding:4px 6px;
border:1px solid #c5ccd6;border-radius:4px;background:#fff;color:var(--ink)}
.filters button{cursor:pointer;background:var(--navy);color:#fff;border-color:var(--navy)}
#f-count{font-size:13px;color:var(--muted);margin-left:auto;align-self:center}
.warnings td{font-size:13px}
.warnings td.date{white-space:nowrap;font-variant-numeric:tabular-nums}
.warnings tr.warning td:first-child{border-left:4px solid var(--s)}
.sev{display:inline-block;padding:0 7px;border-radius:3px;background:var(--s);color:#fff;
font-size:12px;white-space:nowrap}
.sev.sev-yellow{color:#2b2100}
.model a.model-link{font-weight:700;font-family:"DejaVu Sans Mono",monospace}
.model-title{display:block;font-size:12px;color:var(--muted);white-space:nowrap}
.stale{display:inline-block;font-size:11px;color:#8a4b00;background:#fff1d6;border:1px solid
#f0c36d;border-radius:3px;padding:0 4px;margin-top:2px}
.status{white-space:nowrap;font-size:12px;padding:0 6px;border-radius:3px}
.st-pending{background:#fde8e8;color:#a61b1b}.st-unfounded{background:#eef0f3;color:#4d5766}
.st-confirmed{background:#fff1d6;color:#8a4b00}.st-rectified{background:#e2f5ea;color:#17683c}
.message p{margin:0 0 2px}
.message details summary{cursor:pointer;color:#1b4f9c;font-size:12px}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:2px 14px;
margin:4px 0;font-size:12px;background:#f7f8fa;padding:6px 10px;border-radius:4px}
.facts div{display:flex;gap:8px}.facts div.wide{grid-column:1/-1}
.facts dt{color:var(--muted);flex:none;width:64px}.facts dd{margin:0;word-break:break-all}
.evidence{margin:0;padding-left:16px}
.model{border-top:1px solid var(--line);padding:8px 0 4px}
.model:target{background:#fffbea;outline:2px solid #f0c36d;outline-offset:4px}
.model h3{margin:4px 0}
.model-meta{display:flex;flex-wrap:wrap;gap:4px 22px;margin:0 0 6px;font-size:12.5px}
.model-meta div{display:flex;gap:6px}.model-meta dt{color:var(--muted)}.model-meta dd{margin:0}
.stale-note{background:#fff1d6;border-left:4px solid #f0a500;padding:4px 10px;margin:4px 0;
font-size:13px}
pre.rule{background:#0f1a2b;color:#e6edf6;padding:12px 14px;border-radius:6px;
max-height:360px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0;
line-height:1.45}
.back{margin:2px 0 6px;font-size:12.5px}
.foot{max-width:1360px;margin:0 auto 20px;padding:10px 20px;display:flex;flex-wrap:wrap;
gap:6px 24px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
[hidden]{display:none !important}
@media (max-width:1100px){.kpis{grid-template-columns:repeat(3,1fr)}
.map-body,.trend-body,.dist-grid{grid-template-columns:1fr}.legend{border:0;padding:0}}
@page{size:A4 landscape;margin:10mm}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
html{background:#fff;font-size:12px}.wrap{max-width:none;padding:0}
.panel{box-shadow:none;border:1px solid var(--line);break-inside:auto}
.kpi{box-shadow:none;border:1px solid var(--line)}
.filters,.back,.message details summary{display:none !important}
.panel-head,.tile,.legend-item,tr,.kpi{break-inside:avoid}
pre.rule{max-height:none;overflow:visible;background:#f6f7f9;color:#000;border:1px solid #ccc}
#map,#ranking{break-after:page}}
"""

_SCRIPT = """
(function () {
  "use strict";
  var blob = JSON.parse(document.getElementById("report-data").textContent);
  var form = document.getElementById("filters");
  var controls = {
    township: document.getElementById("f-township"),
    domain: document.getElementById("f-domain"),
    model: document.getElementById("f-model"),
    severity: document.getElementById("f-severity"),
    status: document.getElementById("f-status")
  };
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var rows = blob.warnings.map(function (w) {
    return { w: w, el: document.getElementById(w.row) };
  });

  function apply() {
    var needle = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = r.el !== null;
      Object.keys(controls).forEach(function (k) {
        var v = controls[k].value;
        if (v !== "*" && r.w[k] !== v) { ok = false; }
      });
      if (needle && r.w.text.indexOf(needle) < 0) { ok = false; }
      if (r.el) { r.el.hidden = !ok; }
      if (ok) { shown += 1; }
    });
    count.textContent = "显示 " + shown + " / " + rows.length + " 条";
    count.dataset.shown = String(shown);
  }

  Object.keys(controls).forEach(function (k) {
    controls[k].addEventListener("change", apply);
  });
  text.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", function () {
    Object.keys(controls).forEach(function (k) { controls[k].value = "*"; });
    text.value = "";
    apply();
  });

  var details = Array.prototype.slice.call(document.querySelectorAll(".warnings details"));
  var expand = document.getElementById("f-expand");
  expand.addEventListener("click", function () {
    var open = expand.dataset.open !== "1";
    details.forEach(function (d) { d.open = open; });
    expand.dataset.open = open ? "1" : "0";
    expand.textContent = open ? "收起详情" : "展开详情";
  });

  Array.prototype.forEach.call(
    document.querySelectorAll("[data-filter-township]"),
    function (a) {
      a.addEventListener("click", function () {
        controls.township.value = a.getAttribute("data-filter-township");
        apply();
      });
    }
  );

  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = details.filter(function (d) { return !d.open; });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
  document.documentElement.dataset.ready = "1";
})();
"""
