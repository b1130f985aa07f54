"""`oversight report`: one self-contained HTML page — the 廉情地图, ranking, warnings, trend.

The page needs no network: styles, script and data are inline, and a
Content-Security-Policy forbids every fetch, so a page that tried one would
fail loudly in the browser instead of quietly reaching out.

This module computes what the page shows; Jinja2 templates (templates/, with
autoescape) lay it out, and the style and script are files of the package
(static/) written into the page as it is rendered, so it stays one file. Resident id
numbers are masked wherever they appear. Every warning links to the text of
the model that raised it, and says when the ledger recorded another revision.

Each township has a section of its own (#town-<code>, linked from its tile and its
ranking row): its standing, parts, quarters, and its cases as they stood on the
period's last day — open, overdue (逾期未整改), and how long the pending ones have
waited for 核查. An annual page says, for a township ranked otherwise in the fourth
quarter, why, in that township's own figures.

The page is built for the commission's cockpit (驾驶舱) and for paper: the
map, ranking, trend, charts and lists are static HTML and inline SVG; the
script only filters and expands, so the page still means everything when
printed or opened with scripts off.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from importlib import resources
from typing import Any

import pyarrow as pa
from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from engine.index.disposal import STATUSES, overdue_from, status_of
from engine.index.score import Period
from engine.runs.warnings import AMOUNT_KEY
from engine.sources import STATUS_ZH, SourceHealth, StaleMark


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
    `warnings` is the ledger (engine.runs.ledger.LEDGER_SCHEMA) of the period
    joined to its disposal by engine.index.disposal.with_disposal: the columns
    verified_on, outcome, rectified_on, persons_disposed (null where no disposal
    record exists), funds_recovered, and `status`, `status_label` judged on the
    period's last day with `deadline_days` (so 逾期未整改 is as it stood then). A table
    without `status` (one built by hand) has it judged here the same way from the
    disposal columns; without `deadline_days` nothing is judged overdue.
    `domains` names the codes the ledger's `domain` column holds (ENG → 工程管理),
    in the pack's order; a code it lacks is shown as it is.
    `sources` is every source's health on the period's last day (engine.sources
    check_sources), in the catalog's order, for the 数据接口 panel (none: no panel);
    `stale` maps a period label of `scores` to the townships whose score stood on a
    source stale at that period's end, and those sources (engine.sources.stale_marks).
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
    deadline_days: int | None = None  # days to rectify a confirmed warning (pack parameter)
    sources: list[SourceHealth] = field(default_factory=list)
    stale: dict[str, dict[str, tuple[StaleMark, ...]]] = field(default_factory=dict)


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
STATUS_TITLES = dict(STATUSES)
"""The page names a warning's status as `oversight warnings` and the workbook do (待核查 …)."""
OPEN_STATUSES = ("pending", "confirmed", "partly")  # 未结: not verified, or confirmed and due
CONFIRMED_STATUSES = frozenset({"confirmed", "partly", "rectified", "overdue"})
QUARTER_TITLES = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}
# A source's freshness light: a shape as well as a colour (static/report.css), so a page
# printed in greyscale still tells them apart, and the status in words beside it.
SOURCE_LIGHTS = {"ok": "●", "late": "▲", "stale": "■", "missing": "○", "drifted": "◆"}
STALE_MARK = "⚠ 数据停滞"

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


def _period_end(period: str) -> date | None:
    """The last day of a period label (2021 → 2021-12-31); None for a label that is no period."""
    try:
        return Period.parse(period).end
    except ValueError:
        return None


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


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
    status: str  # an id of engine.index.disposal.STATUSES, as it stood on the period's last day


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
        self.end = _period_end(data.period)
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
        # Every period whose scores the page shows: the quarters, then the year on its page.
        self.shown_periods = [*self.trend_periods, *([self.annual] if self.annual else [])] or [
            data.period
        ]
        self.by_status = Counter(w.status for w in self.warnings)

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
                    status=self._status(row),
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

    def _status(self, row: Mapping[str, Any]) -> str:
        """The row's `status` as the api judged it, else judged here the same way (status_of)."""
        given = row.get("status")
        if given in STATUSES:
            return str(given)
        return status_of(
            _as_date(row.get("verified_on")),
            row.get("outcome"),
            _as_date(row.get("rectified_on")),
            on=self.end,
            deadline_days=self.data.deadline_days if self.end is not None else None,
        )

    def waited(self, warning: _Warning) -> int | None:
        """Days a pending warning has waited for 核查, from its issue to the period's last day."""
        issued = _as_date(warning.issued_on)
        if warning.status != "pending" or issued is None or self.end is None:
            return None
        return (self.end - issued).days

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


# ---- the page: Python computes what it shows, the templates lay it out ----------------------

_PACKAGE = "engine.reporting"


class _JoinLines(Extension):
    """Drop each line break of a template with the indentation after it.

    The templates are laid out on many lines to be read; the page is not (a line
    break between two inline elements would show as a space). So a space the page
    needs is written inside a line, and a line break it needs is written `{{ nl }}`.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\n[ \t]*", "", source)


def _finalize(value: object) -> object:
    """Every value a template writes: ids masked, then escaped, as `_e` does.

    Autoescape would escape it too, with other entities; done here, the page is
    written as it always was, and no value can skip the masking. What a template
    or this module marked safe (the inline style and script, the script's JSON)
    passes as it is.
    """
    if isinstance(value, Markup):
        return value
    return Markup(_e(value))


@functools.cache
def _environment() -> Environment:
    """One for the process, so each template is compiled once.

    Undefined names fail: a misspelt field would otherwise print nothing, and a
    figure would quietly go missing from the page.
    """
    return Environment(
        loader=PackageLoader(_PACKAGE, "templates"),
        autoescape=True,
        finalize=_finalize,
        extensions=[_JoinLines],
        undefined=StrictUndefined,
    )


@functools.cache
def _static(name: str) -> Markup:
    """A file of static/ (the page's style or script), to be inlined: the page needs no network."""
    return Markup(resources.files(_PACKAGE).joinpath("static", name).read_text(encoding="utf-8"))


def render(data: ReportData) -> str:
    """The whole page as one HTML string.

    Every value a template writes is masked and escaped (`_finalize`); the page
    is masked once more as a whole, so an id can't slip through a section that
    forgot.
    """
    page = _Page(data)
    why = _annual_versus_q4(page)
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=f"{data.county}乡镇（街道）廉情驾驶舱 · {_period_title(data.period)}",
            css=_static("report.css"),
            script=_static("report.js"),
            blob=Markup(_script_json(_blob(page))),
            stamp=_stamp(page),
            kpis=_kpis(page),
            map=_map_section(page),
            ranking=_ranking_section(page),
            sources=_sources_section(page),
            why=why,
            trend=_trend_section(page),
            distribution=_distribution_section(page),
            townships=_township_sections(page, why),
            warnings=_warning_list_section(page),
            models=_models_section(page),
        )
    )
    return mask_ids(html)


def _stamp(page: _Page) -> dict[str, Any]:
    """What the header and the footer say the page is: county, period, versions, time."""
    data = page.data
    return {
        "county": data.county,
        "period": data.period,
        "period_title": _period_title(data.period),
        "pack_version": data.pack_version,
        "engine_version": data.engine_version,
        "generated_at": data.generated_at,
    }


def _kpis(page: _Page) -> list[dict[str, Any]]:
    warnings = page.warnings
    total = len(warnings)
    severities = Counter(w.severity for w in warnings)
    verified = sum(1 for w in warnings if w.verified_on is not None)
    confirmed = [w for w in warnings if w.status in CONFIRMED_STATUSES]
    rectified = sum(1 for w in confirmed if w.status == "rectified")
    overdue = page.by_status.get("overdue", 0)
    waits = _waits(page, warnings)
    persons = sum(w.persons_disposed for w in warnings)
    bands = Counter(_band(r.get("colour")) for r in page.current.values())
    sev = [(f"sev-{s}", SEVERITY_TITLES[s][:2], severities.get(s, 0)) for s in SEVERITY_TITLES]
    band_keys = [(f"band-{c}", page.band_titles[c], bands.get(c, 0)) for c in BAND_COLOURS]

    def card(label: str, value: str, unit: str, note: str | list, css: str = "") -> dict[str, Any]:
        dots = note if isinstance(note, list) else []
        return {
            "label": label,
            "value": value,
            "unit": unit,
            "dots": dots,
            "note": "" if dots else note,
            "css": css,
        }

    deadline = page.data.deadline_days
    overdue_note = (
        f"核查属实后{deadline}天内未整改，截至{_day(page.end)}"
        if deadline is not None and page.end is not None
        else "未设整改期限，不判逾期"
    )
    return [
        card("本期预警", f"{total}", "条", sev),
        card("核实率", _percent(verified, total), "", f"已核实 {verified} 条"),
        card("查实", f"{len(confirmed)}", "条", f"查实率 {_percent(len(confirmed), verified)}"),
        card("整改率", _percent(rectified, len(confirmed)), "", f"已整改 {rectified} 条"),
        card("逾期未整改", f"{overdue}", "条", overdue_note, "kpi-overdue" if overdue else ""),
        card(
            "待核查平均等待",
            waits["mean"] if waits else "—",
            "天" if waits else "",
            f"{waits['count']} 条待核查，最长 {waits['longest']} 天" if waits else "无待核查预警",
            "kpi-wait",
        ),
        card("人员处置", f"{persons}", "人", "由预警线索处置"),
        card("评价乡镇", f"{len(page.current)}", "个", band_keys),
    ]


def _waits(page: _Page, warnings: Sequence[_Warning]) -> dict[str, Any] | None:
    """How long the pending of `warnings` have waited for 核查: count, mean, median, longest."""
    days = [d for d in (page.waited(w) for w in warnings) if d is not None]
    if not days:
        return None
    return {
        "count": len(days),
        "mean": _days(statistics.mean(days)),
        "median": _days(statistics.median(days)),
        "longest": max(days),
    }


def _days(value: float) -> str:
    """A count of days as people say it: 40, 40.5, 53.3 (one place, none when whole)."""
    rounded = round(float(value), 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def _map_section(page: _Page) -> dict[str, Any]:
    extra = [c for c in page.codes if page.names[c] not in TILE_LAYOUT]
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
        mark = _stale_mark(page, page.data.period, code) if score else None
        if score:
            rank = f"第{score.get('rank')}名"
            total = _number(score.get("total"))
            band = page.band_titles.get(colour, "未评价")
            tip = f"{name}：{band}，第{score.get('rank')}名，{total}分"
            if mark:
                tip += f"。{mark['tip']}"
        else:
            rank, total, tip = "未评价", "—", f"{name}：本期未评价"
        tiles.append(
            {
                "code": code,
                "slug": _slug(code),
                "colour": colour,
                "column": column,
                "row": row,
                "tip": tip,
                "rank": rank,
                "name": name,
                "total": total,
                "mark": mark,
                "warnings": page.by_township.get(code, 0),
            }
        )
    return {
        "period_title": _period_title(page.data.period),
        "rows": _MAP_ROWS + (len(extra) + _MAP_COLUMNS - 1) // _MAP_COLUMNS,
        # The rivers only where the tiles are Tonglu's own: on another county's grid they'd lie.
        "rivers": not extra,
        "tiles": tiles,
        "note": "示意图：按乡镇（街道）大致方位排布，非实际边界"
        + ("；蓝线示意富春江、分水江。" if not extra else "。"),
        "legend": _legend(page),
    }


def _legend(page: _Page) -> dict[str, Any]:
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
        items.append(
            {
                "colour": colour,
                "title": page.band_titles[colour],
                "ranks": span,
                "consequence": data.consequences.get(colour) or "—",
            }
        )
    annual = re.fullmatch(r"\d{4}", data.period) is not None
    note = (
        "年度评定结果纳入党风廉政建设考核。"
        if annual
        else "季度结果用于通报预警；上述运用以年度评定结果为准。"
    )
    return {"entries": items, "note": note}


def _ranking_section(page: _Page) -> dict[str, Any]:
    data = page.data
    rows = sorted(page.current.values(), key=lambda r: (r.get("rank") or 10**6, r["township"]))
    by_part = {p.id: [i for i in data.indicators if i.part == p.id] for p in data.parts}
    has_previous = bool(page.previous)
    parts = []
    for part in data.parts:
        indicators = []
        for indicator in by_part[part.id]:
            better = "越高越好" if indicator.higher_is_better else "越低越好"
            indicators.append(
                {
                    "title": indicator.title,
                    "arrow": "↑" if indicator.higher_is_better else "↓",
                    "tip": f"{indicator.title}：{better}，满分{_number(indicator.points, 0)}分",
                }
            )
        parts.append(
            {
                "title": part.title,
                "points": _number(part.points, 0),
                "span": 1 + len(indicators),
                "indicators": indicators,
            }
        )
    body = []
    for row in rows:
        code = row["township"]
        colour = _band(row.get("colour"))
        total = row.get("total")
        body.append(
            {
                "code": code,
                "slug": _slug(code),
                "rank": row.get("rank"),
                "colour": colour,
                "name": page.township_name(code),
                "width": f"{max(0.0, min(100.0, float(total or 0))):.1f}",
                "total": _number(total),
                "mark": _stale_mark(page, data.period, code),
                "parts": [
                    {
                        "points": _number(row.get(f"part_{part.id}")),
                        "indicators": [
                            _indicator_value(indicator, row.get(indicator.name))
                            for indicator in by_part[part.id]
                        ],
                    }
                    for part in data.parts
                ],
                "band": page.band_titles.get(colour, "—"),
                "consequence": row.get("consequence"),
                "delta": _delta(row, page.previous.get(code)) if has_previous else None,
                "warnings": page.by_township.get(code, 0),
            }
        )
    missing = [c for c in page.codes if c not in page.current]
    return {
        "period": data.period,
        "parts": parts,
        "has_previous": has_previous,
        "rows": body,
        "missing": "、".join(page.township_name(c) for c in missing),
    }


def _delta(row: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, str]:
    """The change of rank against the period before: its class, arrow and tooltip."""
    if not before or before.get("rank") is None or row.get("rank") is None:
        return {"kind": "flat", "text": "—", "tip": ""}
    change = int(before["rank"]) - int(row["rank"])
    if change > 0:
        return {"kind": "up", "text": f"▲{change}", "tip": f"名次上升{change}位"}
    if change < 0:
        return {"kind": "down", "text": f"▼{-change}", "tip": f"名次下降{-change}位"}
    return {"kind": "flat", "text": "＝", "tip": "名次不变"}


def _trend_section(page: _Page) -> dict[str, Any] | None:
    data = page.data
    periods = page.trend_periods
    if not periods:
        return None
    annual = page.annual
    annual_rows = {r["township"]: r for r in _rows(data.scores.get(annual or ""))}
    tables = _quarter_tables(page)
    low, high = _total_range(tables)
    order_source = page.current or tables.get(periods[-1], {})
    order = sorted(
        page.codes,
        key=lambda c: (
            (order_source.get(c) or {}).get("rank") or 10**6,
            c,
        ),
    )
    head = [_short_period(p) for p in periods]
    if annual:
        head.append(f"{page.year}年度")
    body = []
    for code in order:
        cells = []
        points = []
        for p in periods:
            row = tables[p].get(code)
            cells.append(_trend_cell(page, row, p))
            if row and row.get("total") is not None:
                points.append((periods.index(p), float(row["total"]), _band(row.get("colour"))))
        if annual:
            cells.append(_trend_cell(page, annual_rows.get(code), annual))
        # Four slots always: a quarter sits at the same place on every page of the year.
        body.append(
            {
                "code": code,
                "name": page.township_name(code),
                "cells": cells,
                "spark": _sparkline(points, 4, low, high),
            }
        )
    return {"year": page.year, "head": head, "rows": body, "bump": _bump_chart(page, tables)}


def _quarter_tables(page: _Page) -> dict[str, dict[str, Mapping[str, Any]]]:
    """The score rows of each quarter the page shows, by township."""
    return {
        period: {r["township"]: r for r in _rows(page.data.scores.get(period))}
        for period in page.trend_periods
    }


def _total_range(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> tuple[float, float]:
    """The lowest and highest total of the quarters: every sparkline is drawn on this one scale."""
    totals = [
        float(r["total"]) for t in tables.values() for r in t.values() if r.get("total") is not None
    ]
    return (min(totals), max(totals)) if totals else (0.0, 100.0)


def _trend_cell(page: _Page, row: Mapping[str, Any] | None, period: str) -> dict[str, Any] | None:
    """A score of `period` in a cell: its colour, total, rank, and its stale mark if any."""
    if not row:
        return None
    colour = _band(row.get("colour"))
    return {
        "colour": colour,
        "title": page.band_titles.get(colour, ""),
        "total": _number(row.get("total")),
        "rank": row.get("rank"),
        "mark": _stale_mark(page, period, row.get("township")),
    }


def _sparkline(
    points: Sequence[tuple[int, float, str]], slots: int, low: float, high: float
) -> dict[str, Any] | None:
    width, height, pad = 150, 36, 5
    if not points:
        return None
    span = (high - low) or 1.0

    def xy(slot: int, value: float) -> tuple[float, float]:
        x = pad + slot * (width - 2 * pad) / max(1, slots - 1)
        y = pad + (high - value) * (height - 2 * pad) / span
        return x, y

    coords = [xy(slot, value) for slot, value, _ in points]
    line, dots = _polyline(coords, [colour for _, _, colour in points])
    return {"width": width, "height": height, "line": line, "dots": dots}


def _polyline(
    coords: Sequence[tuple[float, float]], colours: Sequence[str]
) -> tuple[str, list[dict[str, str]]]:
    """An SVG polyline's points and a coloured dot at each: the trend and bump charts both."""
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = [
        {"x": f"{x:.1f}", "y": f"{y:.1f}", "colour": colour}
        for (x, y), colour in zip(coords, colours, strict=True)
    ]
    return line, dots


def _bump_chart(
    page: _Page, tables: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> dict[str, Any] | None:
    """Ranks across the quarters, one line per township, labelled at the last quarter."""
    periods = page.trend_periods
    ranks = [int(r["rank"]) for t in tables.values() for r in t.values() if r.get("rank")]
    if not ranks:
        return None
    worst = max(max(ranks), len(page.codes))
    width, height = 470, 40 + 26 * worst
    left, right, top = 44, 150, 30
    step = (width - left - right) / max(1, len(periods) - 1)

    def y(rank: int) -> float:
        return top + (rank - 1) * (height - top - 14) / max(1, worst - 1)

    columns = [
        {"x": f"{left + i * step:.1f}", "label": _short_period(p)} for i, p in enumerate(periods)
    ]
    rank_labels = [{"y": f"{y(rank) + 4:.1f}", "rank": rank} for rank in range(1, worst + 1)]
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
        points, dots = _polyline(coords, [colour for _, _, colour in seen])
        lines.append({"colour": final, "code": code, "name": name, "points": points, "dots": dots})
        last_x, last_y = coords[-1]
        offset = label_used[seen[-1][1]]
        label_used[seen[-1][1]] += 1
        labels.append(
            {
                "colour": final,
                "x": f"{last_x + 10 + offset * 62:.1f}",
                "y": f"{last_y + 4:.1f}",
                "name": name,
            }
        )
    return {
        "width": width,
        "height": height,
        "grid_y1": top - 8,
        "grid_y2": height - 8,
        "axis_y": top - 14,
        "rank_x": left - 14,
        "columns": columns,
        "ranks": rank_labels,
        # Lines green anywhere first, so the yellow and red ones are drawn over them.
        "lines": sorted(lines, key=lambda line: not _touches_green(line)),
        "labels": labels,
    }


def _touches_green(line: Mapping[str, Any]) -> bool:
    return line["colour"] == "green" or any(dot["colour"] == "green" for dot in line["dots"])


def _bar_chart(
    rows: Sequence[tuple[str, str | None, Counter[str]]], label_width: int, unit: str
) -> dict[str, Any] | None:
    """Horizontal bars stacked by severity: (label, link or None, counts by severity)."""
    if not rows:
        return None
    most = max(sum(c.values()) for _, _, c in rows) or 1
    bar_room, row_height = 330, 24
    bars = []
    for i, (label, link, counts) in enumerate(rows):
        y = 3 + i * row_height
        x = float(label_width)
        pieces = []
        for severity in (*SEVERITY_TITLES, "other"):
            n = counts.get(severity, 0)
            if not n:
                continue
            w = bar_room * n / most
            pieces.append(
                {
                    "severity": severity,
                    "x": f"{x:.1f}",
                    "width": f"{w:.1f}",
                    "title": SEVERITY_TITLES.get(severity, "其他"),
                    "count": n,
                }
            )
            x += w
        bars.append(
            {
                "label": label,
                "link": link,
                "text_y": y + 16,
                "rect_y": y + 3,
                "pieces": pieces,
                "value_x": f"{x + 6:.1f}",
                "total": sum(counts.values()),
            }
        )
    return {
        "unit": unit,
        "width": label_width + bar_room + 50,
        "height": row_height * len(rows) + 6,
        "label_x": label_width - 8,
        "bar_height": row_height - 7,
        "bars": bars,
    }


def _stale_mark(page: _Page, period: str, code: object) -> dict[str, str] | None:
    """The mark beside a township's score of `period` when a source it stood on was stale.

    Its tooltip names each source and how long the township's data (or the source's,
    for a source without a township column) had been silent at the period's end.
    """
    marks = page.data.stale.get(period, {}).get(str(code)) if code is not None else None
    if not marks:
        return None
    end = _period_end(period)
    silent = [
        f"{m.label}（{m.source}）"
        + (f"已{m.lag_days}天无新数据" if m.lag_days is not None else "没有数据")
        for m in marks
    ]
    on = f"截至{_day(end)}" if end is not None else "期末"
    return {
        "text": STALE_MARK,
        "tip": f"{_period_title(period)}得分所依据的数据停滞，{on}：" + "；".join(silent),
    }


def _sources_section(page: _Page) -> dict[str, Any] | None:
    """The 数据接口 panel: each department's interfaces with their lights, and the marks.

    None when the data carries no source health (a ReportData built without it).
    """
    data = page.data
    if not data.sources:
        return None
    departments: dict[str, list[dict[str, Any]]] = {}
    for health in data.sources:
        departments.setdefault(health.department, []).append(_source_row(health))
    counts = Counter(h.status for h in data.sources)
    return {
        "end": _day(page.end),
        "total": len(data.sources),
        "departments": [{"name": name, "rows": rows} for name, rows in departments.items()],
        "counts": [
            {"status": s, "light": SOURCE_LIGHTS[s], "title": STATUS_ZH[s], "count": counts[s]}
            for s in SOURCE_LIGHTS
            if counts.get(s)
        ],
        "marked": _marked_periods(page),
        "mark": STALE_MARK,
    }


def _source_row(health: SourceHealth) -> dict[str, Any]:
    return {
        "name": health.name,
        "label": health.label,
        "table": health.physical_table if health.physical_table != health.name else None,
        "status": health.status,
        "light": SOURCE_LIGHTS.get(health.status, "?"),
        "status_title": health.status_zh,
        "rows": "—" if health.rows is None else f"{health.rows:,}",
        "latest": _day(health.latest),
        "lag": "—" if health.lag_days is None else f"{health.lag_days}天",
        # Each reason is "中文 / English": the page is in Chinese.
        "reasons": [reason.split(" / ")[0] for reason in health.reasons],
    }


def _marked_periods(page: _Page) -> list[dict[str, Any]]:
    """The periods shown whose scores carry a stale mark: which townships, which sources."""
    marked = []
    for period in page.shown_periods:
        found = page.data.stale.get(period) or {}
        codes = [c for c in page.codes if found.get(c)] + sorted(set(found) - set(page.codes))
        if not codes:
            continue
        labels = dict.fromkeys(m.label for c in codes for m in found[c])
        marked.append(
            {
                "title": _period_title(period),
                "townships": [
                    {"slug": _slug(c), "name": page.township_name(c), "linked": c in page.names}
                    for c in codes
                ],
                "sources": "、".join(labels),
            }
        )
    return marked


def _distribution_section(page: _Page) -> dict[str, Any]:
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
    body = []
    for code in [*page.codes, *([None] if any(w.township is None for w in page.warnings) else [])]:
        cells = []
        for d in domains:
            n = matrix.get((code, d), 0)
            alpha = 0.08 + 0.72 * n / most if n else 0
            cells.append({"count": n, "alpha": f"{alpha:.2f}", "dark": bool(n and alpha > 0.45)})
        total = sum(matrix.get((code, d), 0) for d in domains)
        body.append({"name": page.township_name(code), "cells": cells, "total": total})
    return {
        "severities": list(SEVERITY_TITLES.items()),
        "domains": domains,
        "by_domain": _bar_chart(domain_rows, 90, "按领域的预警数"),
        "by_model": _bar_chart(model_rows, 190, "按模型的预警数"),
        "matrix": body,
    }


def _annual_versus_q4(page: _Page) -> dict[str, Any] | None:
    """On an annual page: the townships whose year's rank is not their fourth quarter's, and why.

    The year is scored on the whole year's warnings, the fourth quarter on its own, so
    the why is told in the township's own figures: its warnings before and in the fourth
    quarter, and the part whose points differ most between the two score rows.
    """
    if page.annual is None or not page.current:
        return None
    q4_label = f"{page.year}Q4"
    q4 = {r["township"]: r for r in _rows(page.data.scores.get(q4_label))}
    if not q4:
        return None
    by_township: dict[str | None, Counter[int | None]] = defaultdict(Counter)
    for w in page.warnings:
        by_township[w.township][_quarter_of(w.issued_on)] += 1
    differ = []
    for code in page.codes:
        year_row, q4_row = page.current.get(code), q4.get(code)
        if not year_row or not q4_row or year_row.get("rank") is None or q4_row.get("rank") is None:
            continue
        if int(year_row["rank"]) == int(q4_row["rank"]):
            continue
        differ.append(
            {
                "code": code,
                "slug": _slug(code),
                "name": page.township_name(code),
                "year_rank": int(year_row["rank"]),
                "q4_rank": int(q4_row["rank"]),
                "sentence": _why_sentence(page, code, year_row, q4_row, by_township[code]),
            }
        )
    return {"differ": differ}


def _quarter_of(value: object) -> int | None:
    day = _as_date(value)
    return None if day is None else (day.month - 1) // 3 + 1


def _why_sentence(
    page: _Page,
    code: str,
    year_row: Mapping[str, Any],
    q4_row: Mapping[str, Any],
    quarters: Counter[int | None],
) -> str:
    """Why a township's year and fourth quarter rank apart, in its own figures.

    The two rows are scored on different warnings, so the sentence names what each
    counted (the township's warnings by quarter) and the part whose points differ most.
    """
    name = page.township_name(code)
    counts = "、".join(f"{QUARTER_TITLES[str(q)]}{quarters.get(q, 0)}条" for q in (1, 2, 3, 4))
    sentence = (
        f"{name}年度排名第{year_row['rank']}（{_number(year_row.get('total'))}分），"
        f"第四季度排名第{q4_row['rank']}（{_number(q4_row.get('total'))}分）："
        f"年度按全年预警计分（全年{sum(quarters.values())}条：{counts}），"
        f"第四季度只计本季度的{quarters.get(4, 0)}条"
    )
    gaps = []
    for part in page.data.parts:
        key = f"part_{part.id}"
        if year_row.get(key) is not None and q4_row.get(key) is not None:
            gaps.append((abs(float(year_row[key]) - float(q4_row[key])), part))
    gap, widest = max(gaps, key=lambda g: g[0], default=(0.0, None))
    if widest is not None and gap >= 0.005:
        key = f"part_{widest.id}"
        sentence += (
            f"；两者得分相差最多的是「{widest.title}」"
            f"（年度{_number(year_row[key])}分，第四季度{_number(q4_row[key])}分）"
        )
    return sentence + "。"


def _township_sections(page: _Page, why: dict[str, Any] | None) -> dict[str, Any]:
    """One section per township, in code order, and the county's wait for 核查 above them."""
    data = page.data
    sentences = {d["code"]: d["sentence"] for d in (why or {}).get("differ", [])}
    tables = _quarter_tables(page)
    scale = _total_range(tables)
    return {
        "period_title": _period_title(data.period),
        "end": _day(page.end),
        "deadline": data.deadline_days,
        "waits": _waits(page, page.warnings),
        "sections": [
            _township_section(page, code, tables, scale, sentences.get(code)) for code in page.codes
        ],
    }


def _township_section(
    page: _Page,
    code: str,
    tables: Mapping[str, Mapping[str, Mapping[str, Any]]],
    scale: tuple[float, float],
    why: str | None,
) -> dict[str, Any]:
    """Where a township stands, its figures, its quarters and its cases at the period's end."""
    row = page.current.get(code)
    mine = [w for w in page.warnings if w.township == code]
    colour = _band(row.get("colour")) if row else "none"
    statuses = Counter(w.status for w in mine)
    cells, points = [], []
    for slot, period in enumerate(page.trend_periods):
        score = tables[period].get(code)
        cells.append(
            {"label": QUARTER_TITLES[period[-1]], "cell": _trend_cell(page, score, period)}
        )
        if score and score.get("total") is not None:
            points.append((slot, float(score["total"]), _band(score.get("colour"))))
    if page.annual and cells:
        cells.append({"label": "全年", "cell": _trend_cell(page, row, page.annual)})
    # Said in words too, for paper (a tooltip does not print): each period it was scored in.
    scored = {**{p: tables[p].get(code) for p in page.trend_periods}, page.data.period: row}
    marks = [
        mark["tip"]
        for p in page.shown_periods
        if scored.get(p) and (mark := _stale_mark(page, p, code))
    ]
    return {
        "code": code,
        "slug": _slug(code),
        "name": page.township_name(code),
        "colour": colour,
        "band": page.band_titles.get(colour, "未评价") if row else "未评价",
        "rank": row.get("rank") if row else None,
        "total": _number(row.get("total")) if row else "—",
        "mark": _stale_mark(page, page.data.period, code) if row else None,
        "marks": marks,
        "consequence": row.get("consequence") if row else None,
        "delta": _delta(row, page.previous.get(code)) if row and page.previous else None,
        "parts": _township_parts(page, row),
        "quarters": cells,
        "spark": _sparkline(points, 4, *scale),
        "why": why,
        "count": len(mine),
        "statuses": [(s, title, statuses.get(s, 0)) for s, title in STATUS_TITLES.items()],
        "waits": _waits(page, mine),
        "open": [_case_row(page, w) for w in mine if w.status in OPEN_STATUSES],
        "overdue": [_case_row(page, w) for w in mine if w.status == "overdue"],
    }


def _township_parts(page: _Page, row: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A township's points in each part, with the indicators the part is scored on."""
    parts = []
    for part in page.data.parts:
        indicators = [
            {
                "title": indicator.title,
                "arrow": "↑" if indicator.higher_is_better else "↓",
                "value": _indicator_value(indicator, row.get(indicator.name)) if row else "—",
            }
            for indicator in page.data.indicators
            if indicator.part == part.id
        ]
        parts.append(
            {
                "title": part.title,
                "points": _number(row.get(f"part_{part.id}")) if row else "—",
                "full": _number(part.points, 0),
                "indicators": indicators,
            }
        )
    return parts


def _case_row(page: _Page, w: _Warning) -> dict[str, Any]:
    """A case of a township section: the warning, and how long it has stood at the period's end."""
    model = page.models.get(w.model_id)
    deadline = page.data.deadline_days
    due = overdue_from(_as_date(w.verified_on), w.outcome, deadline) if deadline else None
    if w.status == "pending":
        standing = f"已等待核查{page.waited(w)}天" if page.waited(w) is not None else "待核查"
    elif due is not None and page.end is not None:
        last = due - timedelta(days=1)
        if w.status == "overdue":
            standing = f"整改期限{_day(last)}，已逾期{(page.end - last).days}天"
        else:
            standing = f"整改期限{_day(last)}"
    else:
        standing = ""
    return {
        "index": w.index,
        "css": _severity(w.severity),
        "issued_on": _day(w.issued_on),
        "severity_title": SEVERITY_TITLES.get(w.severity, w.severity),
        "model_id": w.model_id,
        "anchor": page.model_anchor(w.model_id),
        "model_title": model.title if model else w.model_title,
        "status": w.status,
        "status_text": _status_text(w),
        "verified_on": _day(w.verified_on),
        "standing": standing,
        "message": w.message,
    }


def _title_of(page: _Page, model_id: str) -> str:
    for w in page.warnings:
        if w.model_id == model_id and w.model_title:
            return w.model_title
    return ""


def _warning_list_section(page: _Page) -> dict[str, Any]:
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
    statuses = page.by_status
    return {
        "filters": [
            ("乡镇", "f-township", townships),
            ("领域", "f-domain", domains),
            ("模型", "f-model", models),
            ("等级", "f-severity", list(SEVERITY_TITLES.items())),
            (
                "处置",
                "f-status",
                [(s, f"{t}（{statuses.get(s, 0)}）") for s, t in STATUS_TITLES.items()],
            ),
        ],
        "count": len(warnings),
        "rows": [_warning_row(page, w) for w in warnings],
    }


def _warning_row(page: _Page, w: _Warning) -> dict[str, Any]:
    model = page.models.get(w.model_id)
    stale = page.stale(w)
    status = w.status
    status_text = _status_text(w)
    return {
        "index": w.index,
        "css": _severity(w.severity),
        "township": w.township or "",
        "township_name": page.township_name(w.township),
        "domain": w.domain,
        "model_id": w.model_id,
        "anchor": page.model_anchor(w.model_id),
        "model_title": model.title if model else w.model_title,
        "severity": w.severity,
        "severity_title": SEVERITY_TITLES.get(w.severity, w.severity),
        "status": status,
        "status_text": status_text,
        "issued_on": _day(w.issued_on),
        "message": w.message,
        # The revision the ledger recorded, and the pack's own where it is another.
        "revision": w.model_revision,
        "current_revision": model.revision if stale and model else None,
        "key": w.key,
        "evidence": _evidence(w.evidence),
        "pack_version": w.pack_version,
        "facts": [
            ("最近命中", _day(w.last_seen_on)),
            ("核实日期", _day(w.verified_on)),
            ("核实结论", w.outcome or "—"),
            ("整改日期", _day(w.rectified_on)),
            ("处置人数", f"{w.persons_disposed}"),
        ],
    }


def _status_text(w: _Warning) -> str:
    """The status as a row says it: the outcome, and what stands of its rectification."""
    return {
        "pending": STATUS_TITLES["pending"],
        "unfounded": f"已核实·{w.outcome or '不属实'}",
        "confirmed": f"{w.outcome}·待整改",
        "partly": f"{w.outcome}·待整改",
        "rectified": f"{w.outcome}·已整改",
        "overdue": f"{w.outcome}·{STATUS_TITLES['overdue']}",
    }.get(w.status, STATUS_TITLES.get(w.status, w.status))


_EVIDENCE_LABELS = {AMOUNT_KEY: "涉及金额（元）"}
"""Evidence keys that are not an expression of the rule, named as a reader says them."""


def _evidence(text: str) -> dict[str, Any]:
    """A warning's evidence as the page lists it: its fields, else one code, else a dash."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"fields": [], "code": text or None}
    if isinstance(value, dict):
        fields = [
            (_EVIDENCE_LABELS.get(k, k), json.dumps(v, ensure_ascii=False))
            for k, v in value.items()
        ]
        return {"fields": fields, "code": None}
    return {"fields": [], "code": json.dumps(value, ensure_ascii=False)}


def _models_section(page: _Page) -> list[dict[str, Any]]:
    articles = []
    for model_id in page.all_model_ids():
        model = page.models.get(model_id)
        mine = [w for w in page.warnings if w.model_id == model_id]
        article: dict[str, Any] = {
            "id": model_id,
            "anchor": page.model_anchor(model_id),
            "warnings": len(mine),
            "model": model,
        }
        if model is None:
            article["title"] = _title_of(page, model_id)
        else:
            old = Counter(w.model_revision for w in mine if page.stale(w))
            article.update(
                css=_severity(model.severity),
                severity_title=SEVERITY_TITLES.get(model.severity, model.severity),
                title=model.title,
                domain=page.domain_name(model.domain),
                old_revisions=sorted(old.items()),
            )
        articles.append(article)
    return articles


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
