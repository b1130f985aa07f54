"""Drafts people can sign: 《纪检监察建议书》 per township and one county-wide 通报.

The county commission ends the chain (风险预警 → 监督处置 → 廉情分析 → 生态修复) with
letters, not tables: a 纪检监察建议书 to each township that has a confirmed common
problem (面上共性问题) or a yellow or red colour in the index, and one 通报 to all of
them. Staff write those in Word, so each draft is a .docx laid out after GB/T 9704-2012
(党政机关公文格式), and the same text as Markdown for review and version control.

A draft is built once as plain data (`Draft`: head, 主送, sections of paragraphs) and
rendered twice, so the Word file and the Markdown cannot say different things. Every
figure is counted from the warnings table the caller passes (the ledger joined with the
disposal records): nothing is estimated, and an amount no warning states is left out
rather than guessed. What only people can write (the causes, the number, the date, the
seal) is left as a visible placeholder.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import docx
import pyarrow as pa
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph
from lxml import etree

from dsl import ir
from engine.index.disposal import CONFIRMED
from engine.index.score import Period
from engine.remedy.common import amount_of
from engine.reporting.report import DEFAULT_BAND_TITLES, QUARTER_TITLES, mask_ids
from engine.runs.atomic import replace_file

CASES_PER_PROBLEM = 3
"""Cases a 建议书 quotes per problem: enough to show what was found, short enough to sign."""

COLOUR_ORDER = {"red": 0, "yellow": 1, "green": 2}
DRAFT_COLOURS = frozenset({"yellow", "red"})
"""Colours of the index that earn a township a 建议书 whatever its problems."""

PLACEHOLDER_CAUSES = (
    "【请起草人填写：结合核查情况，从制度建设、监督管理、责任落实等方面分析问题产生的原因。】"
)
PLACEHOLDER_ADVICE = "【请起草人填写该问题的整改建议。】"
PLACEHOLDER_REQUIREMENTS = "【请起草人补充其他工作要求。】"
NUMBER_BLANK = "〔　　〕　号"
DATE_BLANK = "○○○○年○○月○○日"
SEAL_BLANK = "（印章）"
COMMISSION = "县纪委县监委"  # how a township's letter names the county commission


# ---- the document, as plain data ------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of running text; `kind` is a key of STYLES and says how it is laid out."""

    text: str
    kind: str = "body"


@dataclass(frozen=True)
class Table:
    """A small table of figures (the 通报's townships); every cell is already text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Paragraph | Table


@dataclass(frozen=True)
class Section:
    """A numbered part of the body: its heading (一、…) and what follows it."""

    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Draft:
    """A letter as GB/T 9704 orders it: 版头 (issuer, number), title, 主送, body, 署名, date."""

    stem: str  # the file name without its suffix
    issuer: tuple[str, ...]  # 发文机关标志, one line per commission
    number: str  # 发文字号, with blanks for the drafter
    title: str
    addressee: str  # 主送机关, ending with "："
    opening: tuple[Block, ...]
    sections: tuple[Section, ...]
    signature: tuple[str, ...]
    date: str

    def blocks(self) -> Iterator[Block]:
        """Everything on the pages, in order, each paragraph with the kind it is laid out as."""
        for line in self.issuer:
            yield Paragraph(line, "issuer")
        yield Paragraph(self.number, "number")
        yield Paragraph(self.title, "title")
        yield Paragraph(self.addressee, "addressee")
        yield from self.opening
        for section in self.sections:
            yield Paragraph(section.heading, "heading")
            yield from section.blocks
        for i, line in enumerate(self.signature):
            yield Paragraph(line, "signature" if i == 0 else "signature_next")
        yield Paragraph(self.date, "date")


# ---- the layout: GB/T 9704-2012, in one table -----------------------------------------------

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297  # A4
MARGIN_TOP_MM, MARGIN_BOTTOM_MM, MARGIN_LEFT_MM, MARGIN_RIGHT_MM = 37, 35, 28, 26
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28
TEXT_HEIGHT_MM = PAGE_HEIGHT_MM - MARGIN_TOP_MM - MARGIN_BOTTOM_MM  # 225 mm, the 版心
LINE_PITCH_PT = int(TEXT_HEIGHT_MM / 25.4 * 1440 / LINES_PER_PAGE) / 20
"""The fixed line height that puts 22 lines on the 225 mm 版心 (GB/T 9704 7.1): 28.95 pt.

Word counts in twentieths of a point; rounding 28.99 up to 580 of them would leave room for
only 21 lines, so the pitch is rounded down (579).
"""
BODY_PT = 16  # 3号: 28 of them fill the 156 mm line
PAGE_NUMBER_PT = 14  # 4号
# The page number sits 7 mm below the 版心 (GB/T 9704 7.5): the footer's bottom edge is the
# bottom margin less those 7 mm and one line of the number.
FOOTER_DISTANCE_MM = MARGIN_BOTTOM_MM - 7 - round(PAGE_NUMBER_PT / 72 * 25.4)

FONT_FALLBACKS = {
    "仿宋_GB2312": "仿宋",
    "楷体_GB2312": "楷体",
    "方正小标宋简体": "宋体",
}
"""Fonts the standard names → the font Word uses where they are not installed (current Windows
ships 仿宋 and 楷体 but not the GB2312 cuts, nor 方正小标宋): written into the font table."""


@dataclass(frozen=True)
class Style:
    """How one kind of paragraph is set: font, size, weight, alignment and spacing."""

    font: str
    size_pt: float
    align: str = "justify"  # left | centre | right | justify
    bold: bool = False
    first_line_chars: float = 0  # first-line indent, in characters of this size
    right_chars: float = 0  # right indent, in characters of this size
    lines_before: float = 0  # space before, in lines of the grid
    colour: str | None = None  # RGB hex
    highlight: bool = False  # what the drafter must fill in stands out
    rule_below: str | None = None  # RGB hex of a line under the paragraph, across the 版心
    line_pt: float = LINE_PITCH_PT


STYLES: dict[str, Style] = {
    # 版头: the issuing commissions in red 小标宋, then the number (GB/T 9704 7.2).
    "issuer": Style("方正小标宋简体", 22, "centre", colour="C00000"),
    "number": Style("仿宋_GB2312", BODY_PT, "centre", lines_before=1, rule_below="C00000"),
    # 主体: title 2号 小标宋 two lines below; 主送 one line below the title, no indent (7.3).
    "title": Style("方正小标宋简体", 22, "centre", lines_before=2),
    "addressee": Style("仿宋_GB2312", BODY_PT, "left", lines_before=1),
    "body": Style("仿宋_GB2312", BODY_PT, first_line_chars=2),
    "placeholder": Style("仿宋_GB2312", BODY_PT, first_line_chars=2, highlight=True),
    # The levels of headings: 一、 黑体, （一） 楷体, 1. 仿宋 (7.3.3).
    "heading": Style("黑体", BODY_PT, first_line_chars=2),
    "subheading": Style("楷体_GB2312", BODY_PT, first_line_chars=2),
    "item": Style("仿宋_GB2312", BODY_PT, first_line_chars=2),
    "table": Style("仿宋_GB2312", 14, "centre", line_pt=22),
    # 署名 and date, right, four characters in (7.3.5); the seal two lines below the text.
    "signature": Style("仿宋_GB2312", BODY_PT, "right", right_chars=4, lines_before=2),
    "signature_next": Style("仿宋_GB2312", BODY_PT, "right", right_chars=4),
    "date": Style("仿宋_GB2312", BODY_PT, "right", right_chars=4),
    # 页码: 4号 半角宋体, "— 1 —", odd pages right and even pages left, one character in (7.5).
    "page_number": Style("宋体", PAGE_NUMBER_PT, "right", right_chars=1, line_pt=PAGE_NUMBER_PT),
}

_ALIGNMENTS = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "centre": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


# ---- figures from the warnings --------------------------------------------------------------


@dataclass(frozen=True)
class WarningRow:
    """The fields of one warning (a ledger row with its disposal) that a draft reads."""

    model_id: str
    warning_key: str
    township: str | None
    title: str
    message: str
    issued_on: Any
    outcome: str | None
    status: str | None
    amount: Decimal | None  # 涉及金额 in 元; None when the warning does not state it

    @property
    def confirmed(self) -> bool:
        return self.outcome in CONFIRMED


@dataclass(frozen=True)
class Finding:
    """One model's confirmed warnings in a township (or the county): what a draft says of it."""

    model_id: str
    title: str
    common: bool
    confirmed: tuple[WarningRow, ...]

    @property
    def amounts_known(self) -> int:
        return sum(1 for w in self.confirmed if w.amount is not None)

    @property
    def amount(self) -> Decimal:
        """The sum of the amounts the confirmed warnings state, in 元."""
        return sum((w.amount for w in self.confirmed if w.amount is not None), Decimal(0))


def money(amount: Decimal) -> str:
    """An amount as a letter writes it, never a small sum as 0.00万元.

    万元 with two decimals from 10,000 元 (rounded half up as accounts are: 88320000 →
    8832.00万元), else 元 to the fen (600 → 600.00元).
    """
    if abs(amount) >= 10000:
        wan = (amount / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"{format(wan, 'f')}万元"
    return f"{format(amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP), 'f')}元"


def read_warnings(table: pa.Table) -> list[WarningRow]:
    """The warnings of the table, in issue order (then model and key) so cases quote stably."""
    rows = []
    for row in table.to_pylist():
        rows.append(
            WarningRow(
                model_id=row["model_id"],
                warning_key=row["warning_key"],
                township=row.get("township"),
                title=row["model_title"],
                message=row["message"],
                issued_on=row["issued_on"],
                outcome=row.get("outcome"),
                status=row.get("status"),
                amount=amount_of(row.get("evidence")),
            )
        )
    rows.sort(key=lambda w: (w.issued_on, w.model_id, w.warning_key))
    return rows


def findings(
    warnings: Iterable[WarningRow], common: frozenset[str], *, only_common: bool = False
) -> list[Finding]:
    """The models with confirmed warnings among these: common problems first, then the most."""
    by_model: dict[str, list[WarningRow]] = defaultdict(list)
    for w in warnings:
        if w.confirmed and (w.model_id in common or not only_common):
            by_model[w.model_id].append(w)
    found = [
        Finding(model_id, rows[0].title, model_id in common, tuple(rows))
        for model_id, rows in by_model.items()
    ]
    found.sort(key=lambda f: (not f.common, -len(f.confirmed), f.model_id))
    return found


@dataclass(frozen=True)
class Tally:
    """A township's (or the county's) warnings by what became of them."""

    warnings: int = 0
    confirmed: int = 0
    rectified: int = 0
    overdue: int = 0


def tally(warnings: Iterable[WarningRow]) -> Tally:
    """Count the warnings by what became of them (rectified and overdue read from `status`)."""
    rows = list(warnings)
    return Tally(
        warnings=len(rows),
        confirmed=sum(1 for w in rows if w.confirmed),
        rectified=sum(1 for w in rows if w.status == "rectified"),
        overdue=sum(1 for w in rows if w.status == "overdue"),
    )


def common_problems(problems: pa.Table) -> tuple[frozenset[str], dict[str, str]]:
    """The models the problems table calls common, and each model's `why` where it gives one."""
    ids = problems.column("model_id").to_pylist()
    common = frozenset(
        m for m, c in zip(ids, problems.column("common").to_pylist(), strict=True) if c
    )
    why: dict[str, str] = {}
    if "why" in problems.column_names:
        for model_id, text in zip(ids, problems.column("why").to_pylist(), strict=True):
            if text:
                why[model_id] = str(text)
    return common, why


def townships_to_advise(
    warnings: Sequence[WarningRow], common: frozenset[str], colours: Mapping[str, str]
) -> list[str]:
    """Townships that get a 建议书: a confirmed common problem, or a yellow or red colour.

    Ordered red, yellow, green, then by code, as the 通报 lists them.
    """
    chosen = {w.township for w in warnings if w.township and w.confirmed and w.model_id in common}
    chosen |= {code for code, colour in colours.items() if colour in DRAFT_COLOURS}
    return sorted(chosen, key=lambda c: (COLOUR_ORDER.get(colours.get(c, ""), 3), c))


# ---- words ----------------------------------------------------------------------------------


def period_words(period: Period) -> str:
    """2021 → 2021年; 2021Q4 → 2021年第四季度."""
    if period.quarter is None:
        return f"{period.year}年"
    return f"{period.year}年{QUARTER_TITLES[str(period.quarter)]}"


def unit_words(name: str) -> tuple[str, str]:
    """How a letter addresses a township: (主送, the "you" of the text).

    A 镇 or 乡 has a party committee and a people's government; a 街道 a working committee
    and an office.
    """
    if name.endswith("街道"):
        return f"中共{name}工作委员会、{name}办事处：", "你街道"
    if name.endswith("镇"):
        return f"中共{name}委员会、{name}人民政府：", "你镇"
    if name.endswith("乡"):
        return f"中共{name}委员会、{name}人民政府：", "你乡"
    return f"{name}党委、政府：", "你单位"


def issuer(county: str) -> tuple[str, ...]:
    """The 发文机关: the county's discipline commission and supervisory commission, jointly."""
    return (f"中共{county}纪律检查委员会", f"{county}监察委员会")


def amount_words(finding: Finding) -> str:
    """The amount phrase of a problem; an amount is never made up.

    "，涉及金额合计X万元" (X元 below 10,000 元) when every confirmed warning states its
    amount; when only some do, it says how many; nothing when none does.
    """
    known = finding.amounts_known
    if known == 0:
        return ""
    if known == len(finding.confirmed):
        return f"，涉及金额合计{money(finding.amount)}"
    return f"，其中{known}条涉及金额合计{money(finding.amount)}"


def figures_words(finding: Finding) -> str:
    """The figures of a problem: its confirmed warnings and the amount they involve."""
    return f"经核查属实（含部分属实）{len(finding.confirmed)}条{amount_words(finding)}。"


def why_words(why: str | None) -> str:
    """Why a problem counts as common, in the words of the problems table when it gives them."""
    if not why:
        return "此为全县面上共性问题。"
    return f"此为全县面上共性问题（{why.rstrip('。；; ')}）。"


_ASKS = re.compile(r"请核查。?\s*$")


def case_words(warning: WarningRow) -> str:
    """A warning quoted as a case: its message with id numbers masked, "请核查" dropped (it was)."""
    text = _ASKS.sub("", mask_ids(warning.message)).rstrip().rstrip("，,；;")
    return f"{text}（核查结论：{warning.outcome}）"


def advice_words(model: ir.Model | None) -> tuple[str, str]:
    """(advice, basis sentence) of a model; a placeholder when the rule gives no advice."""
    advice = model.advice if model is not None and model.advice else PLACEHOLDER_ADVICE
    basis = f"依据：{model.basis.rstrip('。')}。" if model is not None and model.basis else ""
    return advice, basis


def colour_words(colour: str | None, titles: Mapping[str, str]) -> str | None:
    """A colour as the index names its band (红色 …), or None for a township without one."""
    return titles.get(colour) if colour else None


def band_titles(pack: ir.CheckedPack) -> dict[str, str]:
    """Colour → the title the pack's index gives its band, so a draft says what the map says."""
    titles = dict(DEFAULT_BAND_TITLES)
    if pack.index is not None:
        titles.update({band.colour: band.title for band in pack.index.bands})
    return titles


# ---- the two kinds of draft ------------------------------------------------------------------


def recommendation(
    code: str,
    warnings: Sequence[WarningRow],
    *,
    pack: ir.CheckedPack,
    period: Period,
    common: frozenset[str],
    why: Mapping[str, str],
    colour: str | None,
    name: str,
    deadline_days: int,
    county: str,
) -> Draft:
    """The 纪检监察建议书 to one township, from its warnings of the period.

    A yellow or red township is told of every confirmed problem (its colour is the reason
    for the letter); a green one only of its common problems (the rest are cases, handled one
    by one).
    """
    mine = [w for w in warnings if w.township == code]
    only_common = colour not in DRAFT_COLOURS
    found = findings(mine, common, only_common=only_common)
    addressee, you = unit_words(name)
    counts = tally(mine)
    opening = (
        f"{period_words(period)}，{COMMISSION}大数据监督平台向{you}发出预警{counts.warnings}条，"
        f"经核查属实（含部分属实）{counts.confirmed}条，已整改{counts.rectified}条，"
        f"逾期未整改{counts.overdue}条。"
    )
    titled = colour_words(colour, band_titles(pack))
    if titled:
        opening += f"{you}本期廉情指数评价为{titled}。"
    opening += (
        "根据《中华人民共和国监察法》《中国共产党纪律检查机关监督执纪工作规则》等有关规定，"
        "现将发现的主要问题及整改建议通报如下："
    )

    problems: list[Block] = []
    advice: list[Block] = []
    for number, finding in enumerate(found, start=1):
        mark = "（面上共性问题）" if finding.common else ""
        heading = f"（{chinese_number(number)}）{finding.title}{mark}"
        problems.append(Paragraph(heading, "subheading"))
        text = figures_words(finding)
        if finding.common:
            text += why_words(why.get(finding.model_id))
        problems.append(Paragraph(text))
        cases = finding.confirmed[:CASES_PER_PROBLEM]
        problems.append(Paragraph("典型情况：" if len(cases) > 1 else "具体情况："))
        for i, warning in enumerate(cases, start=1):
            problems.append(Paragraph(f"{i}. {case_words(warning)}", "item"))
        if len(finding.confirmed) > len(cases):
            problems.append(
                Paragraph(f"其余{len(finding.confirmed) - len(cases)}条见预警核查台账。")
            )
        model_advice, basis = advice_words(pack.models.get(finding.model_id))
        advice.append(Paragraph(f"（{chinese_number(number)}）{finding.title}", "subheading"))
        advice.append(
            Paragraph(model_advice, "placeholder" if model_advice == PLACEHOLDER_ADVICE else "body")
        )
        if basis:
            advice.append(Paragraph(basis))
    if not found:
        problems.append(Paragraph("本期暂无核查属实的问题。"))
        advice.append(Paragraph(PLACEHOLDER_ADVICE, "placeholder"))

    requirements = (
        Paragraph(
            f"请{you}党委、政府高度重视，认真研究，逐项整改，建立健全相关制度，举一反三堵塞漏洞。"
        ),
        Paragraph(
            f"请于收到本建议书之日起{deadline_days}日内，书面报告整改情况，报送{COMMISSION}。"
            f"逾期未整改的，{COMMISSION}将依规依纪依法处理。"
        ),
    )
    return Draft(
        stem=f"纪检监察建议书_{name}",
        issuer=issuer(county),
        number=f"{county[:1]}纪建{NUMBER_BLANK}",
        title=f"关于{name}{period_words(period)}大数据监督发现问题的纪检监察建议书",
        addressee=addressee,
        opening=(Paragraph(opening),),
        sections=(
            Section("一、发现的主要问题", tuple(problems)),
            Section("二、原因分析", (Paragraph(PLACEHOLDER_CAUSES, "placeholder"),)),
            Section("三、纪检监察建议", tuple(advice)),
            Section("四、整改要求", requirements),
        ),
        signature=(*issuer(county), SEAL_BLANK),
        date=DATE_BLANK,
    )


def circular(
    warnings: Sequence[WarningRow],
    *,
    pack: ir.CheckedPack,
    period: Period,
    common: frozenset[str],
    why: Mapping[str, str],
    colours: Mapping[str, str],
    names: Mapping[str, str],
    advised: Sequence[str],
    deadline_days: int,
    county: str,
) -> Draft:
    """The county-wide 通报: the common problems with their townships, each township's figures."""

    def name_of(code: str) -> str:
        return names.get(code, code)

    titles = band_titles(pack)
    counts = tally(warnings)
    codes = sorted(
        set(colours) | {w.township for w in warnings if w.township},
        key=lambda c: (COLOUR_ORDER.get(colours.get(c, ""), 3), c),
    )
    opening = (
        f"{period_words(period)}，{COMMISSION}大数据监督平台共发出预警{counts.warnings}条，"
        f"经核查属实（含部分属实）{counts.confirmed}条，已整改{counts.rectified}条，"
        f"逾期未整改{counts.overdue}条。现将有关情况通报如下。"
    )

    common_blocks: list[Block] = []
    for number, finding in enumerate(findings(warnings, common, only_common=True), start=1):
        common_blocks.append(
            Paragraph(f"（{chinese_number(number)}）{finding.title}", "subheading")
        )
        per_township = Counter(w.township for w in finding.confirmed if w.township)
        listed = "、".join(
            f"{name_of(c)}{n}条"
            for c, n in sorted(per_township.items(), key=lambda item: (-item[1], item[0]))
        )
        text = (
            f"全县{figures_words(finding).removesuffix('。')}，涉及{len(per_township)}个乡镇（街道）"
            f"：{listed}。"
        )
        if why.get(finding.model_id):
            text += why_words(why[finding.model_id])
        common_blocks.append(Paragraph(text))
        model_advice, basis = advice_words(pack.models.get(finding.model_id))
        if model_advice != PLACEHOLDER_ADVICE:
            common_blocks.append(Paragraph(f"整改建议：{model_advice}{basis}"))
    if not common_blocks:
        common_blocks.append(Paragraph("本期未发现面上共性问题。"))

    by_township: dict[str, list[WarningRow]] = defaultdict(list)
    for w in warnings:
        if w.township:
            by_township[w.township].append(w)
    rows = []
    for code in codes:
        t = tally(by_township.get(code, ()))
        colour = colour_words(colours.get(code), titles) or "—"
        rows.append(
            (name_of(code), str(t.warnings), str(t.confirmed), str(t.rectified), str(t.overdue),
             colour)
        )  # fmt: skip
    header = ("乡镇（街道）", "预警", "属实", "已整改", "逾期未整改", "廉情指数")
    ranking = []
    for colour in ("red", "yellow"):
        named = [name_of(c) for c in codes if colours.get(c) == colour]
        if named:
            ranking.append(f"评价为{titles[colour]}的{len(named)}个：{'、'.join(named)}")
    green = sum(1 for c in codes if colours.get(c) == "green")
    if green:
        ranking.append(f"评价为{titles['green']}的{green}个")
    township_blocks: list[Block] = [
        Paragraph("各乡镇（街道）预警核查及廉情指数评价情况如下（属实含部分属实）："),
        Table(header, tuple(rows)),
    ]
    if ranking:
        township_blocks.append(Paragraph(f"本期廉情指数{'；'.join(ranking)}。"))

    requirements: list[Block] = [
        Paragraph(
            "各乡镇（街道）要对照本通报指出的问题，举一反三、自查自纠，"
            "从制度建设、监督管理、责任落实等方面堵塞漏洞。"
        )
    ]
    if advised:
        requirements.append(
            Paragraph(
                f"{'、'.join(name_of(c) for c in advised)}要按照纪检监察建议书的要求抓好整改，"
                f"于收到建议书之日起{deadline_days}日内书面报告整改情况，报送{COMMISSION}。"
            )
        )
    requirements.append(Paragraph(PLACEHOLDER_REQUIREMENTS, "placeholder"))
    return Draft(
        stem=f"通报_{period.label}",
        issuer=issuer(county),
        number=f"{county[:1]}纪通{NUMBER_BLANK}",
        title=f"关于{period_words(period)}大数据监督发现问题情况的通报",
        addressee="各乡镇党委、政府，各街道党工委、办事处：",
        opening=(Paragraph(opening),),
        sections=(
            Section("一、面上共性问题", tuple(common_blocks)),
            Section("二、各乡镇（街道）预警核查情况", tuple(township_blocks)),
            Section("三、工作要求", tuple(requirements)),
        ),
        signature=(*issuer(county), SEAL_BLANK),
        date=DATE_BLANK,
    )


_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三: the numbering of 公文 headings (up to 99)."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else _DIGITS[tens]}十{_DIGITS[ones] if ones else ''}"


# ---- rendering: Word --------------------------------------------------------------------------


def _set_font(run: Any, style: Style) -> None:
    """Set the run's font for Latin and East Asian text alike (Word keeps them apart)."""
    run.font.name = style.font
    run.font.size = Pt(style.size_pt)
    run.font.bold = style.bold
    run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), style.font)
    if style.colour:
        run.font.color.rgb = RGBColor.from_string(style.colour)
    if style.highlight:
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _lay_out(paragraph: DocxParagraph, style: Style) -> None:
    fmt = paragraph.paragraph_format
    fmt.alignment = _ALIGNMENTS[style.align]
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(style.line_pt)
    fmt.space_before = Pt(style.lines_before * style.line_pt)
    fmt.space_after = Pt(0)
    fmt.first_line_indent = Pt(style.first_line_chars * style.size_pt)
    fmt.right_indent = Pt(style.right_chars * style.size_pt)
    if style.rule_below:  # the 版头's red separator (GB/T 9704 7.2.6), 4 mm under the number
        border = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for name, value in (("val", "single"), ("sz", "12"), ("space", "11")):
            bottom.set(qn(f"w:{name}"), value)
        bottom.set(qn("w:color"), style.rule_below)
        border.append(bottom)
        paragraph.paragraph_format.element.get_or_add_pPr().insert_element_before(
            border, *_AFTER_BORDER
        )


# What follows <w:pBdr> in a paragraph's properties (ECMA-376 CT_PPr): Word refuses a file
# whose elements are out of this order.
_AFTER_BORDER = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


def _write(paragraph: DocxParagraph, text: str, kind: str) -> None:
    style = STYLES[kind]
    _lay_out(paragraph, style)
    _set_font(paragraph.add_run(text), style)


def _page_number(paragraph: DocxParagraph, odd: bool) -> None:
    """The footer "— N —", N a PAGE field: right on odd pages, left on even, one character in."""
    style = STYLES["page_number"]
    _lay_out(paragraph, style)
    fmt = paragraph.paragraph_format
    if not odd:
        fmt.alignment = WD_ALIGN_PARAGRAPH.LEFT
        fmt.right_indent = Pt(0)
        fmt.left_indent = Pt(style.right_chars * style.size_pt)
    _set_font(paragraph.add_run("— "), style)
    for part, value in (("begin", None), ("instr", " PAGE "), ("separate", None), ("end", None)):
        run = paragraph.add_run()
        _set_font(run, style)
        if part == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = value
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), part)
        run.element.append(element)
        if part == "separate":
            _set_font(paragraph.add_run("1"), style)  # shown until the field is updated
    _set_font(paragraph.add_run(" —"), style)


def to_docx(draft: Draft) -> bytes:
    """The draft as a Word document laid out after GB/T 9704-2012."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP_MM), Mm(MARGIN_BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT_MM), Mm(MARGIN_RIGHT_MM)
    section.footer_distance = Mm(FOOTER_DISTANCE_MM)
    grid = document.element.body.sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        document.element.body.sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH_PT * 20)))  # twentieths of a point

    normal = document.styles["Normal"]
    body = STYLES["body"]
    normal.font.name, normal.font.size = body.font, Pt(body.size_pt)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), body.font)

    document.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], odd=True)
    _page_number(section.even_page_footer.paragraphs[0], odd=False)

    for block in draft.blocks():
        if isinstance(block, Paragraph):
            _write(document.add_paragraph(), block.text, block.kind)
            continue
        table = document.add_table(rows=1 + len(block.rows), cols=len(block.header))
        table.style = document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for row, values in zip(table.rows, (block.header, *block.rows), strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                _write(cell.paragraphs[0], value, "table")

    properties = document.core_properties
    properties.title = draft.title
    properties.author = properties.last_modified_by = "oversight"
    properties.comments = "草稿：由 oversight 依预警台账生成，须经起草人修改、审核后印发。"
    out = io.BytesIO()
    document.save(out)
    return with_font_fallbacks(out.getvalue())


def with_font_fallbacks(package: bytes) -> bytes:
    """The .docx with FONT_FALLBACKS declared in its font table, and fixed zip timestamps.

    Word reads a font's altName when the font itself is missing, so a machine without
    仿宋_GB2312 sets the body in 仿宋 instead of a Latin default. The timestamps make the
    same draft the same bytes, so a rerun shows no change where nothing changed.
    """
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/fontTable.xml":
                fonts = etree.fromstring(data)
                for name, alternative in FONT_FALLBACKS.items():
                    font = etree.SubElement(fonts, f"{{{w}}}font", {f"{{{w}}}name": name})
                    etree.SubElement(font, f"{{{w}}}altName", {f"{{{w}}}val": alternative})
                    etree.SubElement(font, f"{{{w}}}charset", {f"{{{w}}}val": "86"})  # GB2312
                data = etree.tostring(
                    fonts, xml_declaration=True, encoding="UTF-8", standalone=True
                )
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


# ---- rendering: Markdown ------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape_markdown(text: str) -> str:
    """Text as Markdown shows it verbatim: a masked id's asterisks are not emphasis."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def to_markdown(draft: Draft) -> str:
    """The draft as Markdown: the same paragraphs in the same order as the Word document."""
    lines: list[str] = []
    prefixes = {"title": "# ", "heading": "## ", "subheading": "### "}
    for block in draft.blocks():
        if isinstance(block, Table):
            lines.append("| " + " | ".join(escape_markdown(c) for c in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            lines.extend(
                "| " + " | ".join(escape_markdown(c) for c in row) + " |" for row in block.rows
            )
            lines.append("")
            continue
        text = escape_markdown(block.text)
        if block.kind == "item":  # "1. …" stays a numbered item: only the number is unescaped
            text = block.text.split(" ", 1)[0] + " " + escape_markdown(block.text.split(" ", 1)[1])
        lines.extend([prefixes.get(block.kind, "") + text, ""])
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- the entry point ---------------------------------------------------------------------------


def write_drafts(
    out_dir: Path,
    *,
    pack: ir.CheckedPack,
    period: Period,
    warnings: pa.Table,
    problems: pa.Table,
    colours: Mapping[str, str],
    names: Mapping[str, str],
    deadline_days: int,
    county: str,
) -> list[Path]:
    """Write the period's drafts to `out_dir` (made if missing) and return their paths.

    `warnings` are the ledger rows issued in the period with their disposal (the columns of
    engine.runs.ledger.LEDGER_SCHEMA and of engine.index.disposal.with_disposal); `problems`
    has a row per model with `model_id`, `common` and, if known, `why`; `colours` and `names`
    map a township's code to its colour in the period's score and to its Chinese name.
    Writes 纪检监察建议书_{乡镇}.docx/.md for each township with a confirmed common problem or
    a yellow or red colour, and 通报_{period}.docx/.md. Every draft is built before any file
    is written, and each file replaces its old self in one step.
    """
    rows = read_warnings(warnings)
    common, why = common_problems(problems)
    advised = townships_to_advise(rows, common, colours)
    drafts = [
        recommendation(
            code,
            rows,
            pack=pack,
            period=period,
            common=common,
            why=why,
            colour=colours.get(code),
            name=names.get(code, code),
            deadline_days=deadline_days,
            county=county,
        )
        for code in advised
    ]
    drafts.append(
        circular(
            rows,
            pack=pack,
            period=period,
            common=common,
            why=why,
            colours=colours,
            names=names,
            advised=advised,
            deadline_days=deadline_days,
            county=county,
        )
    )
    files = [
        (out_dir / f"{safe_stem(d.stem)}{suffix}", content)
        for d in drafts
        for suffix, content in ((".docx", to_docx(d)), (".md", to_markdown(d).encode("utf-8")))
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, content in files:
        replace_file(path, lambda out, content=content: out.write(content))
    return [path for path, _ in files]


def safe_stem(stem: str) -> str:
    """A file name from a draft's stem: path separators and characters Windows refuses become _."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", stem)
