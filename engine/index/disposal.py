"""Disposal records (预警核查处置): read them from a file or the warehouse, join them to the ledger.

Case handlers keep `sup_disposal` in Excel as often as in the warehouse, so a
file is read as offices write it: UTF-8 with or without BOM, GBK, dates as
2021-11-20, 2021/11/20 or 2021年11月20日, amounts with thousands separators.
A file is loaded whole or not at all: every bad row is reported with its
line and column, and nothing is returned, because a half-loaded file would
quietly change the integrity index (contract/index.md) that ranks townships.
"""

from __future__ import annotations

import codecs
import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from adapters.base import Warehouse
from adapters.names import statement, table_named
from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.messages import Wording, diagnostic, message
from dsl.pack import SEVERITY_ALIASES, Column, Pack, Source
from dsl.types import Type
from engine.policy.deployment import parameter_in_effect
from engine.schema import ARROW_TYPES, source_schema
from engine.values import convert, value_hints

DISPOSAL = "sup_disposal"
# The disposal records of a pack whose catalog does not declare them (a pack other than the
# county's): the columns of the contract's sup_disposal, which the statuses below are read from.
ENGINE_DISPOSAL = Source(
    DISPOSAL,
    "预警核查处置",
    "",
    ("model_id", "warning_key"),
    None,
    {
        "model_id": Column("model_id", Type.STRING, True),
        "warning_key": Column("warning_key", Type.STRING, True),
        "verified_on": Column("verified_on", Type.DATE),
        "outcome": Column("outcome", Type.STRING, label="属实/部分属实/不属实"),
        "rectified_on": Column("rectified_on", Type.DATE),
        "persons_disposed": Column("persons_disposed", Type.INT),
        "funds_recovered": Column("funds_recovered", Type.DECIMAL),
    },
)
OUTCOMES = ("属实", "部分属实", "不属实")
CONFIRMED = frozenset({"属实", "部分属实"})
DISPOSAL_COLUMNS = ("verified_on", "outcome", "rectified_on", "persons_disposed", "funds_recovered")

STATUSES: dict[str, str] = {
    "pending": "待核查",
    "confirmed": "属实",
    "partly": "部分属实",
    "unfounded": "不属实",
    "rectified": "已整改",
    "overdue": "逾期未整改",
}
"""Status id → the label case handlers read; ids are for options and machines."""

DEADLINE_PARAMETER = "rectification_deadline_days"
"""The pack parameter that gives the days a confirmed warning has to be rectified in."""

_STATUS_BY_OUTCOME = {"属实": "confirmed", "部分属实": "partly", "不属实": "unfounded"}

# Headers as Chinese offices type them; matched after trimming and NFKC.
HEADER_ALIASES: dict[str, str] = {
    "模型": "model_id",
    "模型编号": "model_id",
    "预警编号": "warning_key",
    "预警键": "warning_key",
    "预警标识": "warning_key",
    "核查日期": "verified_on",
    "核实日期": "verified_on",
    "核查结果": "outcome",
    "核实结果": "outcome",
    "核查结论": "outcome",
    "整改日期": "rectified_on",
    "整改完成日期": "rectified_on",
    "处置人数": "persons_disposed",
    "处理人数": "persons_disposed",
    "追缴金额": "funds_recovered",
    "挽回资金": "funds_recovered",
    "追回资金": "funds_recovered",
}

WARNINGS_EXPORT_COLUMNS = (
    "model_id",
    "warning_key",
    "township",
    "township_name",
    "severity",
    "domain",
    "domain_name",
    "model_title",
    "message",
    "issued_on",
    "last_seen_on",
    "status",
    "status_label",
    *DISPOSAL_COLUMNS,
    "model_revision",
    "pack_version",
    "run_id",
    "evidence",
)
"""Columns of `oversight warnings --format csv|json`. A handler fills in the disposal columns of
that export and loads it back with --disposal, so the names are the ones read here."""

EXPORT_HEADERS: dict[str, str] = {
    "model_id": "模型编号",
    "warning_key": "预警编号",
    "township": "乡镇代码",
    "township_name": "乡镇",
    "severity": "预警等级",
    "domain": "领域代码",
    "domain_name": "领域",
    "model_title": "模型名称",
    "message": "预警内容",
    "issued_on": "预警日期",
    "last_seen_on": "最近发现日期",
    "status": "状态代码",
    "status_label": "处置状态",
    "verified_on": "核查日期",
    "outcome": "核查结果",
    "rectified_on": "整改日期",
    "persons_disposed": "处置人数",
    "funds_recovered": "追缴金额",
    "model_revision": "模型版本",
    "pack_version": "策略包版本",
    "run_id": "运行编号",
    "evidence": "证据",
}
"""The Chinese header of each export column, as the Excel workbook of `oversight warnings` writes
them; read back as the column they name, so that a filled-in workbook loads as it is."""
_COLUMN_BY_EXPORT_HEADER = {zh: column for column, zh in EXPORT_HEADERS.items()}

XLSX_SHEET = "处置"
"""The sheet of the warnings workbook that holds the warnings and their disposal columns."""

# The export's other columns are skipped without a word when a filled-in export is read back.
EXPORT_COLUMNS = frozenset(WARNINGS_EXPORT_COLUMNS) - {"model_id", "warning_key", *DISPOSAL_COLUMNS}

MAX_PROBLEMS = 100
"""More than this many problems means the wrong file or format: list these and count the rest."""

_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")


# ---------------------------------------------------------------------------------------------
# Reading cells


@dataclass(frozen=True)
class _Cell:
    """One value of a file with where it sits: 1-based line (or row) and column, width."""

    value: Any
    line: int
    column: int
    width: int = 1


@dataclass(frozen=True)
class _Row:
    """One record: its line (CSV) or row (Parquet, warehouse), and its cells by column name."""

    line: int
    cells: dict[str, _Cell]


class _Unclosed(Exception):
    """A quoted CSV field runs to the end of the file; args are its line and column."""


class _Problems:
    """Collects diagnostics for one input, up to MAX_PROBLEMS, then only counts.

    An input without a file (a warehouse table) has no place to point at: its
    problems name the table, and the record by its key (`labels`, by row).
    """

    def __init__(self, file: str | None, where: str | None = None, row: str = "line") -> None:
        self.file = file
        self.where = where
        self.row = row  # what a position's number counts, in English: a CSV line, a table row
        self.sheet: str | None = None  # an Excel workbook's sheet: positions are its cells
        self.labels: dict[int, str] = {}
        self.found: list[Diagnostic] = []
        self.more = 0

    def add(
        self,
        wording: Wording,
        at: _Cell | _Row | None = None,
        hints: Iterable[str] = (),
    ) -> None:
        if len(self.found) >= MAX_PROBLEMS:
            self.more += 1
            return
        span = None
        if self.sheet is not None and at is not None:
            self.found.append(_in_sheet(wording, self.file or "", self.sheet, at, hints))
            return
        if self.file is None:
            label = self.labels.get(at.line) if at is not None else None
            label = label or self.where
            if label:
                wording = wording._replace(zh=f"{label}：{wording.zh}", en=f"{label}: {wording.en}")
        elif isinstance(at, _Row):
            span = Span.point(self.file, at.line, 1)
        elif isinstance(at, _Cell):
            span = Span.point(self.file, at.line, at.column, at.width)
        self.found.append(wording.at(span, hints))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        if self.more:
            self.found.append(
                diagnostic(
                    "E649",
                    Span.point(self.file, 1, 1) if self.file else None,
                    hints=(
                        "问题这么多，多半是选错了文件或格式 / so many usually means the wrong file",
                    ),
                    more=self.more,
                )
            )
        raise DiagnosticError(self.found)


def column_letters(index: int) -> str:
    """Excel's name of the 1-based column `index`: 1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _in_sheet(
    wording: Wording, file: str, sheet: str, at: _Cell | _Row, hints: Iterable[str]
) -> Diagnostic:
    """A problem of a workbook cell, named as Excel names it (处置记录.xlsx!处置!E7) and in words.

    A workbook has no text lines to show under a caret: the place is the
    diagnostic's path, and the message says sheet, row and column for a reader
    who does not know Excel's notation.
    """
    if isinstance(at, _Cell):
        letters = column_letters(at.column)
        ref = f"{file}!{sheet}!{letters}{at.line}"
        zh = f"工作表「{sheet}」第 {at.line} 行 {letters} 列："
        en = f"sheet {sheet} row {at.line} column {letters}: "
    else:
        ref = f"{file}!{sheet}!{at.line}:{at.line}"
        zh = f"工作表「{sheet}」第 {at.line} 行："
        en = f"sheet {sheet} row {at.line}: "
    said = wording._replace(zh=zh + wording.zh, en=en + wording.en)
    return said.at(None, hints, path=ref)


def _unreadable(file: str, wording: Wording, hint: str = "") -> DiagnosticError:
    return DiagnosticError([wording.at(Span.point(file, 1, 1), (hint,))])


def _decode(data: bytes, file: str) -> str:
    """The text of a CSV file: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (GBK's superset).

    Excel on a Chinese Windows saves "CSV" in the ANSI code page, GBK; "CSV UTF-8" with
    a BOM; "Unicode text" as UTF-16. GB18030 is tried only when UTF-8 fails: Chinese
    text in GBK is practically never valid UTF-8, so the order decides nothing else.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                line = data[: len(bom) + exc.start].count(b"\n") + 1
                raise _unreadable(
                    file,
                    message(
                        "E640.bom_undecodable",
                        encoding_upper=encoding.upper(),
                        line=line,
                        encoding=encoding,
                    ),
                    "在 Excel 中另存为「CSV UTF-8」后重试 / save as CSV UTF-8 and retry",
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _unreadable(
            file,
            message("E640.undecodable", line=line),
            "在 Excel 中另存为「CSV UTF-8」后重试 / save as CSV UTF-8 and retry",
        ) from None


def _csv_records(text: str, delimiter: str) -> Iterator[list[_Cell]]:
    """The records of CSV text, each field with the line and character column it starts at.

    Python's csv module does not say where a field starts, and a diagnostic must put its
    caret under the bad value; quoting follows RFC 4180 ("" inside quotes, newlines
    allowed), and text after a closing quote is kept, as Excel does.
    """
    i, n = 0, len(text)
    line, column = 1, 1
    stops = (delimiter, "\r", "\n")
    while i < n:
        record: list[_Cell] = []
        while True:
            start_line, start_column = line, column
            if i < n and text[i] == '"':
                i, column = i + 1, column + 1
                parts: list[str] = []
                while True:
                    if i >= n:
                        raise _Unclosed(start_line, start_column)
                    ch = text[i]
                    if ch == '"' and i + 1 < n and text[i + 1] == '"':
                        parts.append('"')
                        i, column = i + 2, column + 2
                    elif ch == '"':
                        i, column = i + 1, column + 1
                        break
                    elif ch in "\r\n":
                        step = 2 if text.startswith("\r\n", i) else 1
                        parts.append("\n")
                        i, line, column = i + step, line + 1, 1
                    else:
                        parts.append(ch)
                        i, column = i + 1, column + 1
                while i < n and text[i] not in stops:
                    parts.append(text[i])
                    i, column = i + 1, column + 1
                value = "".join(parts)
                width = column - start_column if line == start_line else 1
            else:
                j = i
                while j < n and text[j] not in stops:
                    j += 1
                value = text[i:j]
                column += j - i
                i = j
                width = len(value)
            record.append(_Cell(value, start_line, start_column, width))
            if i < n and text[i] == delimiter:
                i, column = i + 1, column + 1
                continue
            if i < n:
                i += 2 if text.startswith("\r\n", i) else 1
                line, column = line + 1, 1
            break
        yield record


def _header_name(text: str) -> str:
    name = unicodedata.normalize("NFKC", str(text)).strip().strip("\ufeff").strip()
    return HEADER_ALIASES.get(name) or _COLUMN_BY_EXPORT_HEADER.get(name) or name.lower()


def _columns(header: Sequence[_Cell], source: Source, problems: _Problems) -> dict[str, int] | None:
    """Which position holds which catalog column; None after a header problem (E643)."""
    known = list(source.columns)
    positions: dict[str, int] = {}
    bad = False
    for index, cell in enumerate(header):
        name = _header_name(cell.value)
        if name in source.columns:
            if name in positions:
                first = positions[name] + 1
                problems.add(
                    message("E643.column_twice", name=name),
                    cell,
                    (f"第一次在第 {first} 列 / first as column {first}",),
                )
                bad = True
            else:
                positions[name] = index
            continue
        if not name or name in EXPORT_COLUMNS:
            continue
        # Chinese headers are close to a Chinese alias (整改日起 for 整改日期), English ones to a
        # column name: either way the column would be dropped in silence, so name it.
        aliases = [a for a, target in HEADER_ALIASES.items() if target in source.columns]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8) or [
            HEADER_ALIASES[a] for a in difflib.get_close_matches(name, aliases, n=1, cutoff=0.6)
        ]
        if close:
            problems.add(
                message("E643.unknown_column", column=cell.value),
                cell,
                (f"是否应为 {close[0]}？/ did you mean {close[0]}?",),
            )
            bad = True
    required = [c.name for c in source.columns.values() if c.required]
    missing = [name for name in required if name not in positions]
    if missing:
        where = header[0] if header else None
        problems.add(
            message(
                "E643.missing_columns", missing_zh="、".join(missing), missing=", ".join(missing)
            ),
            where,
            ("第一行应为列名：" + ", ".join(known) + " / the first line names the columns",),
        )
        bad = True
    return None if bad else positions


def _csv_rows(path: Path, shown: str, source: Source, problems: _Problems) -> list[_Row]:
    data = path.read_bytes()
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls (OLE2); .xlsx is read above
        raise _unreadable(
            shown,
            message("E640.xls_workbook"),
            "在 Excel 中「另存为」→「Excel 工作簿（*.xlsx）」或「CSV UTF-8」/ "
            "save it as .xlsx or CSV UTF-8",
        )
    text = _decode(data, shown)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        records = list(_csv_records(text, delimiter))
    except _Unclosed as exc:
        line, column = exc.args
        raise DiagnosticError(
            [
                diagnostic(
                    "E640.quote_not_closed",
                    Span.point(shown, line, column),
                    hints=('引号内的 " 应写作 "" / write " inside quotes as ""',),
                )
            ]
        ) from None
    records = [r for r in records if any(str(c.value).strip() for c in r)]
    if not records:
        raise _unreadable(
            shown,
            message("E640.empty"),
            "第一行应为列名：" + ", ".join(source.columns),
        )
    header, *body = records
    positions = _columns(header, source, problems)
    if positions is None:
        problems.raise_if_any()
        return []
    rows = []
    for record in body:
        extra = [c for c in record[len(header) :] if str(c.value).strip()]
        if extra:
            problems.add(
                message("E641.value_count", record_count=len(record), header_count=len(header)),
                extra[0],
                ("值中含逗号时请加引号 / quote values that contain commas",),
            )
        cells = {name: record[i] for name, i in positions.items() if i < len(record)}
        rows.append(_Row(record[0].line, cells))
    return rows


def _xlsx_value(value: Any) -> Any:
    """A cell's value as the CSV reader would hand it on, from what Excel typed it as.

    Whole numbers come back as int (a count, a project number typed as a number);
    a number of 16 digits or more has lost digits in Excel and reads in scientific
    notation, which the checks report (E641) instead of matching a wrong key.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 1e15 else f"{value:.15g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"{float(value):.15g}"
    return value


def _xlsx_rows(path: Path, shown: str, source: Source, problems: _Problems) -> list[_Row]:
    """Rows of an Excel workbook: the sheet 处置 (else the first), first row the header.

    Cells keep their Excel type (dates as datetime, numbers as int or float), which
    the converters read as such; a cell's line is its row and its column its index.
    """
    import openpyxl  # only a workbook needs it; CSV and Parquet readers start without it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a broken zip, a foreign format: openpyxl raises many kinds
        raise _unreadable(
            shown,
            message("E640.workbook_unreadable", reason=str(exc) or type(exc).__name__),
            "在 Excel 中打开并另存为「Excel 工作簿（*.xlsx）」/ open and save it as .xlsx",
        ) from None
    try:
        sheet = book[XLSX_SHEET] if XLSX_SHEET in book.sheetnames else book.worksheets[0]
        problems.sheet = sheet.title
        problems.row = "row"
        records = [
            [_Cell(_xlsx_value(c.value), c.row, c.column) for c in row if c.value is not None]
            for row in sheet.iter_rows()
        ]
    finally:
        book.close()
    records = [r for r in records if any(not _is_blank(c.value) for c in r)]
    if not records:
        raise _unreadable(
            shown, message("E640.empty"), "第一行应为列名：" + ", ".join(source.columns)
        )
    header, *body = records
    positions = _columns(header, source, problems)
    if positions is None:
        problems.raise_if_any()
        return []
    column_of = {name: header[i].column for name, i in positions.items()}
    rows = []
    for record in body:
        by_column = {cell.column: cell for cell in record}
        cells = {
            name: by_column.get(column) or _Cell(None, record[0].line, column)
            for name, column in column_of.items()
        }
        rows.append(_Row(record[0].line, cells))
    return rows


def _table_rows(table: pa.Table, source: Source, problems: _Problems) -> list[_Row]:
    """Rows of an Arrow table (a Parquet file or a warehouse query) as cells.

    The line of a cell is its 1-based row number and the column its 1-based field index.
    """
    header = [_Cell(name, 1, i + 1, 1) for i, name in enumerate(table.column_names)]
    positions = _columns(header, source, problems)
    if positions is None:
        problems.raise_if_any()
        return []
    values = {name: table.column(i).to_pylist() for name, i in positions.items()}
    rows = []
    for r in range(table.num_rows):
        cells = {name: _Cell(values[name][r], r + 1, i + 1) for name, i in positions.items()}
        if problems.file is None:
            key = ", ".join(str(cells[k].value) for k in source.key if k in cells)
            problems.labels[r + 1] = f"{problems.where} ({key})"
        rows.append(_Row(r + 1, cells))
    return rows


# ---------------------------------------------------------------------------------------------
# Values


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _bad_value(problems: _Problems, cell: _Cell, name: str, type_: Type) -> None:
    shown = str(cell.value)
    problems.add(
        message("E641.not_a_type", name=name, shown=shown, type_zh=type_.zh, type_name=type_.value),
        cell,
        list(value_hints(cell.value, type_)),
    )


def _validated(rows: list[_Row], source: Source, problems: _Problems) -> pa.Table:
    """The rows as a table of the catalog schema, or DiagnosticError with every problem."""
    schema = source_schema(source)
    data: dict[str, list[Any]] = {name: [] for name in schema.names}
    first_seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for column in source.columns.values():
            cell = row.cells.get(column.name)
            raw = None if cell is None else cell.value
            if column.name == "model_id" and isinstance(raw, str):
                raw = raw.strip()
            if column.name == "outcome" and isinstance(raw, str):
                raw = unicodedata.normalize("NFKC", raw).strip()
            if _is_blank(raw):
                values[column.name] = None
                if column.required:
                    problems.add(
                        message("E641.missing", name=column.name),
                        cell or row,
                        ("每条处置记录都要有模型编号和预警编号 / every record needs both keys",),
                    )
                continue
            try:
                values[column.name] = convert(raw, column.type)
            except (ValueError, TypeError, OverflowError):
                values[column.name] = None
                failed.add(column.name)
                _bad_value(problems, cell or _Cell(raw, row.line, 1), column.name, column.type)
        _check_record(row, values, failed, problems)
        key = tuple(values.get(k) for k in source.key)
        if all(part is not None for part in key):
            if key in first_seen:
                problems.add(
                    message(
                        "E642",
                        key=" ".join(map(str, key)),
                        first_seen=first_seen[key],
                        row=problems.row,
                    ),
                    row.cells.get(source.key[-1]) or row,
                    ("每条预警只保留一条处置记录 / keep one record per warning",),
                )
            else:
                first_seen[key] = row.line
        for name in schema.names:
            data[name].append(values.get(name))
    problems.raise_if_any()
    return pa.table(data, schema=schema)


def _check_record(row: _Row, values: dict[str, Any], failed: set[str], problems: _Problems) -> None:
    """What one record must say to be counted right by the integrity index.

    The index counts V (verified) and C (confirmed) and divides C by V; an
    outcome without a verification day would make C larger than V. Checks
    across columns are left out when a value of the row is already wrong, so
    that one typo is one problem.
    """
    key = values.get("warning_key")
    if isinstance(key, str) and _SCIENTIFIC.fullmatch(key.strip()):
        problems.add(
            message("E641.scientific_notation", key=key),
            row.cells.get("warning_key"),
            (
                "在 Excel 中把该列设为「文本」后从导出文件重新填写 / "
                "format the column as text and fill in a fresh export",
            ),
        )
    outcome = values.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        close = difflib.get_close_matches(outcome, OUTCOMES, n=1, cutoff=0.5)
        problems.add(
            message("E641.outcome", outcome=outcome),
            row.cells.get("outcome"),
            (f"是否应为 {close[0]}？/ did you mean {close[0]}?",) if close else (),
        )
        failed.add("outcome")
    for name in ("persons_disposed", "funds_recovered"):
        number = values.get(name)
        if number is not None and number < 0:
            problems.add(
                message("E641.negative", name=name, number=number),
                row.cells.get(name) or row,
            )
    if failed:
        return
    verified = values.get("verified_on")
    if outcome is not None and verified is None and "verified_on" in values:
        problems.add(
            message("E644.outcome_without_verified"),
            row.cells.get("verified_on") or row.cells.get("outcome") or row,
            ("核实率与查实率要求两者同时填写 / the index needs both",),
        )
    if verified is not None and outcome is None and "outcome" in values:
        problems.add(
            message("E644.verified_day_without"),
            row.cells.get("outcome") or row.cells.get("verified_on") or row,
            ("结果应为 属实、部分属实 或 不属实 / outcome is 属实, 部分属实 or 不属实",),
        )
    if values.get("rectified_on") is not None and outcome is not None and outcome not in CONFIRMED:
        problems.add(
            message("E644.rectified_day_outcome", outcome=outcome),
            row.cells.get("rectified_on") or row,
            ("只有属实或部分属实的问题需要整改 / only confirmed problems are rectified",),
        )


# ---------------------------------------------------------------------------------------------
# Public API


def load_disposal_file(path: str | Path, pack: Pack) -> pa.Table:
    """Disposal records from a CSV or Parquet file, in the catalog schema of `sup_disposal`.

    Raises DiagnosticError listing every problem (E640 unreadable file, E641 bad
    value, E642 duplicate key, E643 header, E644 inconsistent record); nothing is
    returned then. Columns the catalog does not know are ignored (an export of
    `oversight warnings` loads back as it is); known ones missing from the file are
    null. A CSV line is its line in the file; a Parquet line is its row number.
    """
    path = Path(path)
    shown = str(path)
    source = disposal_source(pack)
    problems = _Problems(shown)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise _unreadable(shown, message("E640.no_file", shown=shown)) from None
    except OSError as exc:
        raise _unreadable(
            shown, message("E640.unreadable", shown=shown, strerror=exc.strerror)
        ) from None
    if magic == b"PK\x03\x04":
        rows = _xlsx_rows(path, shown, source, problems)
    elif magic == b"PAR1":
        problems.row = "row"
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(shown, message("E640.parquet_unreadable", exc=exc)) from None
        rows = _table_rows(table, source, problems)
    else:
        rows = _csv_rows(path, shown, source, problems)
    return _validated(rows, source, problems)


def disposal_source(pack: Pack) -> Source:
    """What disposal records hold: the pack's `sup_disposal`, else the engine's own columns."""
    return pack.sources.get(DISPOSAL, ENGINE_DISPOSAL)


def read_disposal(warehouse: Warehouse, pack: Pack, tables: Mapping[str, str]) -> pa.Table:
    """The warehouse's disposal records in the catalog schema; none when it has no such table.

    `tables` is the deployment's logical → physical mapping. The records are
    checked as a file would be, and problems name the record by its key.
    """
    source = disposal_source(pack)
    physical = tables.get(DISPOSAL, DISPOSAL)
    if not warehouse.has_table(physical):
        return source_schema(source).empty_table()
    query = exp.select(exp.Star()).from_(table_named(physical))
    table = warehouse.query(statement(query, warehouse.dialect))
    if all(k in table.column_names for k in source.key):
        table = table.sort_by([(k, "ascending") for k in source.key])
    problems = _Problems(None, f"数据仓库表 {physical}", "row")
    rows = _table_rows(table, source, problems)
    return _validated(rows, source, problems)


def overdue_from(verified_on: date | None, outcome: str | None, deadline_days: int) -> date | None:
    """The first day a confirmed warning is 逾期未整改 unless rectified: None for the others.

    The deadline counts from the day of verification (核查之日): a warning
    verified on 2021-03-01 with 60 days to rectify is overdue from 2021-05-01.
    """
    if verified_on is None or outcome not in CONFIRMED:
        return None
    return verified_on + timedelta(days=deadline_days + 1)


def status_of(
    verified_on: date | None,
    outcome: str | None,
    rectified_on: date | None,
    *,
    on: date | None = None,
    deadline_days: int | None = None,
) -> str:
    """The status id of a warning from its disposal record (all None when it has none).

    A record with a day but no known outcome is still pending: nothing was concluded.
    Judged on a day `on`, a warning verified after it was still pending, and one
    rectified after it not yet rectified; given the days to rectify too, a confirmed
    warning not rectified by then is overdue. Without `on` nothing is judged by day.
    """
    if verified_on is None or outcome not in _STATUS_BY_OUTCOME:
        return "pending"
    if on is not None and verified_on > on:
        return "pending"  # judged on a day before it was verified: it was waiting then
    if outcome in CONFIRMED and rectified_on is not None and (on is None or rectified_on <= on):
        return "rectified"
    if on is not None and deadline_days is not None:
        overdue = overdue_from(verified_on, outcome, deadline_days)
        if overdue is not None and overdue <= on:
            return "overdue"
    return _STATUS_BY_OUTCOME[outcome]


def deadline_days(pack: Pack, overrides: Mapping[str, Any] | None = None) -> int:
    """The days to rectify a confirmed warning: the deployment's value, else the pack's default.

    A pack that does not declare the parameter gives 60, the county's own default.
    """
    return int(parameter_in_effect(pack, DEADLINE_PARAMETER, overrides, 60))


def with_disposal(
    ledger: pa.Table,
    disposal: pa.Table,
    *,
    on: date | None = None,
    deadline_days: int | None = None,
) -> pa.Table:
    """The ledger, in its order, with each warning's disposal columns, `status` and `status_label`.

    `status` is an id of STATUSES (pending, confirmed, partly, unfounded,
    rectified, overdue: see status_of for `on` and `deadline_days`);
    `status_label` the Chinese a case handler reads. Disposal records must be
    unique by (model_id, warning_key): the loaders see to it.
    """
    index: dict[tuple[str, str], int] = {}
    for i, key in enumerate(
        zip(
            disposal.column("model_id").to_pylist(),
            disposal.column("warning_key").to_pylist(),
            strict=True,
        )
    ):
        if key in index:
            raise ValueError(f"duplicate disposal record {key}")
        index[key] = i
    positions = [
        index.get(key)
        for key in zip(
            ledger.column("model_id").to_pylist(),
            ledger.column("warning_key").to_pylist(),
            strict=True,
        )
    ]
    picked = disposal.take(pa.array(positions, pa.int64()))
    result = ledger
    defaults = {
        "verified_on": pa.date32(),
        "outcome": pa.string(),
        "rectified_on": pa.date32(),
        "persons_disposed": ARROW_TYPES[Type.INT],
        "funds_recovered": ARROW_TYPES[Type.DECIMAL],
    }
    for name in DISPOSAL_COLUMNS:
        column = (
            picked.column(name)
            if name in picked.column_names
            else pa.nulls(ledger.num_rows, defaults[name])
        )
        result = result.append_column(pa.field(name, column.type), column)
    statuses = [
        status_of(v, o, r, on=on, deadline_days=deadline_days)
        for v, o, r in zip(
            result.column("verified_on").to_pylist(),
            result.column("outcome").to_pylist(),
            result.column("rectified_on").to_pylist(),
            strict=True,
        )
    ]
    result = result.append_column(pa.field("status", pa.string()), pa.array(statuses, pa.string()))
    return result.append_column(
        pa.field("status_label", pa.string()),
        pa.array([STATUSES[s] for s in statuses], pa.string()),
    )


def unmatched_disposal(ledger: pa.Table, disposal: pa.Table) -> list[tuple[str, str]]:
    """Disposal records that match no warning of the ledger: usually a mistyped key."""
    issued = set(
        zip(
            ledger.column("model_id").to_pylist(),
            ledger.column("warning_key").to_pylist(),
            strict=True,
        )
    )
    return [
        key
        for key in zip(
            disposal.column("model_id").to_pylist(),
            disposal.column("warning_key").to_pylist(),
            strict=True,
        )
        if key not in issued
    ]


# ---------------------------------------------------------------------------------------------
# Filters


class FilterError(ValueError):
    """A filter value that names nothing (a mistyped township, domain …); says so in Chinese too."""

    def __init__(self, option: str, zh: str, en: str, hint: str = "") -> None:
        super().__init__(f"{zh} / {en}" + (f" ({hint})" if hint else ""))
        self.option = option
        self.message_zh = zh
        self.message_en = en
        self.hint = hint


def _split(values: Iterable[str]) -> list[str]:
    """Values of a repeatable option; each may also be a list: 分水镇,横村镇 or 分水镇，横村镇."""
    out = []
    for value in values:
        for part in re.split(r"[,，、]", unicodedata.normalize("NFKC", str(value))):
            if part.strip():
                out.append(part.strip())
    return out


def _unknown(option: str, what_zh: str, value: str, choices: Iterable[str]) -> FilterError:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    hint = f"是否应为 {close[0]}？/ did you mean {close[0]}?" if close else ""
    return FilterError(option, f"没有{what_zh}「{value}」", f"unknown {option} {value!r}", hint)


def township_codes(pack: Pack, values: Iterable[str]) -> set[str]:
    """Township codes from codes or names (330122102, 分水镇, or 分水 when only one name fits).

    Raises FilterError on a value that names no township, or several, and on any value
    for a pack that routes no warning to a township.
    """
    if not pack.has_townships and _split(values):
        raise FilterError(
            "township",
            f"策略包「{pack.name}」不按乡镇分派预警（townships: none），不能按乡镇筛选",
            f"pack {pack.name!r} routes no warning to a township: there is no township to "
            "filter by",
        )
    by_name = {t.name: t.code for t in pack.townships}
    codes = {t.code for t in pack.townships}
    out = set()
    for value in _split(values):
        fits = [name for name in by_name if name.startswith(value)]
        if value in codes:
            out.add(value)
        elif value in by_name:
            out.add(by_name[value])
        elif len(fits) == 1:
            out.add(by_name[fits[0]])
        elif fits:
            raise FilterError(
                "township",
                f"「{value}」可指 {'、'.join(fits)}",
                f"{value!r} could be any of {', '.join(fits)}",
            )
        else:
            raise _unknown("township", "乡镇", value, [*by_name, *codes])
    return out


def domain_codes(pack: Pack, values: Iterable[str]) -> set[str]:
    """Domain codes from codes or names (ENG, eng, 工程管理)."""
    out = set()
    for value in _split(values):
        code = pack.domain_code(value) or pack.domain_code(value.upper())
        if code is None:
            raise _unknown("domain", "领域", value, [*pack.domains, *pack.domains.values()])
        out.add(code)
    return out


def severities(values: Iterable[str]) -> set[str]:
    """Severities from red/yellow/blue or 红色/黄色/蓝色 (红/黄/蓝 too)."""
    out = set()
    for value in _split(values):
        text = value.lower()
        found = SEVERITY_ALIASES.get(text) or SEVERITY_ALIASES.get(text + "色")
        if found is None:
            raise _unknown("severity", "预警等级", value, SEVERITY_ALIASES)
        out.add(found)
    return out


def status_ids(values: Iterable[str]) -> set[str]:
    """Status ids from ids or labels (pending, 待核查)."""
    by_label = {label: sid for sid, label in STATUSES.items()}
    out = set()
    for value in _split(values):
        found = value.lower() if value.lower() in STATUSES else by_label.get(value)
        if found is None:
            raise _unknown("status", "处置状态", value, [*STATUSES, *by_label])
        out.add(found)
    return out


def model_ids(values: Iterable[str], known: Iterable[str] = ()) -> set[str]:
    """Model ids as the pack and the ledger write them, whatever the case typed.

    `known` are the ids there are (eng01 → ENG01, PRICE_OUTLIER → price_outlier: no two
    ids of a pack differ only in case, E281); one known nowhere is upper-cased, as the
    first packs wrote every id.
    """
    by_fold = {str(k).casefold(): str(k) for k in known}
    return {by_fold.get(value.casefold(), value.upper()) for value in _split(values)}


def filter_warnings(
    table: pa.Table,
    pack: Pack,
    *,
    township: Iterable[str] = (),
    model: Iterable[str] = (),
    domain: Iterable[str] = (),
    severity: Iterable[str] = (),
    status: Iterable[str] = (),
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> pa.Table:
    """The warnings that pass every given filter; several values of one filter mean any of them.

    `table` is the ledger with disposal (`with_disposal`) when `status` is used,
    else the ledger alone. Dates bound `issued_on`, both ends included. Raises
    FilterError for a township, domain, severity or status that names nothing;
    an unknown model id is not an error here (a retired model's warnings stay).
    """
    wanted: list[tuple[str, set[str]]] = [
        ("township", township_codes(pack, township)),
        ("model_id", model_ids(model, set(table.column("model_id").to_pylist()))),
        ("domain", domain_codes(pack, domain)),
        ("severity", severities(severity)),
        ("status", status_ids(status)),
    ]
    mask = pa.array([True] * table.num_rows, pa.bool_())
    for column, values in wanted:
        if values:
            chosen = pc.is_in(table.column(column), value_set=pa.array(sorted(values), pa.string()))
            mask = pc.and_kleene(mask, pc.fill_null(chosen, False))
    issued = table.column("issued_on")
    if issued_from is not None:
        mask = pc.and_kleene(mask, pc.greater_equal(issued, pa.scalar(issued_from, pa.date32())))
    if issued_to is not None:
        mask = pc.and_kleene(mask, pc.less_equal(issued, pa.scalar(issued_to, pa.date32())))
    return table.filter(mask)
