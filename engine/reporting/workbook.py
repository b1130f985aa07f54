"""The warnings as an Excel workbook (`oversight warnings --format xlsx`) for case handlers.

Handlers live in Excel: they open the listing, fill in the disposal columns
(核查日期, 核查结果 …) and hand it back with `--disposal FILE.xlsx`, which
engine/index/disposal.py reads. So the workbook is made to be filled in and
read back without loss: ids are text cells (Excel would turn 330122199001011234
into 3.30122E+17 and 0012 into 12), dates are real dates, the enumerated
columns offer their values in a list, and the headers are the ones the reader
maps back to columns (disposal.EXPORT_HEADERS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from dsl.diagnostics import display_width
from engine.index import disposal
from engine.reporting.report import mask_ids
from engine.runs.atomic import replace_file

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"
MAX_WIDTH = 60
"""Widest a column is made, in Excel character units; longer messages wrap instead."""

# Columns that hold names and ids, never numbers: written (and formatted) as text.
_TEXT_COLUMNS = frozenset(
    {"model_id", "warning_key", "township", "domain", "run_id", "model_revision", "pack_version"}
)
# Columns that can carry a resident id number in free text: masked unless unmasked.
# The warning key is left whole: it is how a filled-in record finds its warning again.
_MASKED_COLUMNS = frozenset({"message", "evidence", "model_title"})
_DISPOSAL_FILL = PatternFill("solid", fgColor="FFF2CC")  # the columns a handler fills in


def _cell_value(column: str, value: Any, unmask: bool) -> Any:
    """What goes in the cell: dates and numbers typed, everything else text."""
    if value is None:
        return None
    if isinstance(value, date | int | Decimal) and column not in _TEXT_COLUMNS:
        return value
    if column == "evidence" and not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if unmask or column not in _MASKED_COLUMNS else mask_ids(text)


def _validations(last_row: int, letters: dict[str, str]) -> list[DataValidation]:
    """Drop-down and range checks on the disposal columns, from row 2 to `last_row`."""
    checks = {
        "outcome": DataValidation(
            type="list", formula1='"' + ",".join(disposal.OUTCOMES) + '"', allow_blank=True
        ),
        "verified_on": DataValidation(
            type="date", operator="greaterThan", formula1="1", allow_blank=True
        ),
        "rectified_on": DataValidation(
            type="date", operator="greaterThan", formula1="1", allow_blank=True
        ),
        "persons_disposed": DataValidation(
            type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True
        ),
        "funds_recovered": DataValidation(
            type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True
        ),
    }
    out = []
    for column, check in checks.items():
        if column not in letters:
            continue
        check.error = "请按列名填写：日期、属实/部分属实/不属实、非负数 / see the column's header"
        check.errorTitle = disposal.EXPORT_HEADERS[column]
        check.add(f"{letters[column]}2:{letters[column]}{last_row}")
        out.append(check)
    return out


def build_workbook(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] = disposal.WARNINGS_EXPORT_COLUMNS,
    unmask: bool = False,
) -> Workbook:
    """One sheet (disposal.XLSX_SHEET) of `rows` under Chinese headers, ready to fill in.

    Resident id numbers in messages and evidence are masked unless `unmask`
    (a workbook is mailed around, as the HTML report is).
    """
    book = Workbook()
    sheet = book.active
    sheet.title = disposal.XLSX_SHEET
    headers = [disposal.EXPORT_HEADERS.get(c, c) for c in columns]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [display_width(h) for h in headers]
    for row_number, row in enumerate(rows, start=2):
        for index, column in enumerate(columns, start=1):
            value = _cell_value(column, row.get(column), unmask)
            cell = sheet.cell(row=row_number, column=index, value=value)
            if column in _TEXT_COLUMNS:
                cell.number_format = TEXT_FORMAT
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            if value is not None:
                shown = value.isoformat() if isinstance(value, date) else str(value)
                widths[index - 1] = max(widths[index - 1], display_width(shown))
    letters = {column: get_column_letter(i) for i, column in enumerate(columns, start=1)}
    last_row = max(len(rows) + 1, 2)
    for index, column in enumerate(columns, start=1):
        dimension = sheet.column_dimensions[letters[column]]
        dimension.width = min(
            max(widths[index - 1], 10 if column in disposal.DISPOSAL_COLUMNS else 4) + 2, MAX_WIDTH
        )
        if column in disposal.DISPOSAL_COLUMNS:
            for (cell,) in sheet.iter_rows(
                min_row=1, max_row=last_row, min_col=index, max_col=index
            ):
                cell.fill = _DISPOSAL_FILL
                if column in ("verified_on", "rectified_on") and cell.row > 1:
                    cell.number_format = DATE_FORMAT
        if column == "message":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for check in _validations(last_row, letters):
        sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 1)}"
    return book


def write_workbook(
    path: Path,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] = disposal.WARNINGS_EXPORT_COLUMNS,
    unmask: bool = False,
) -> None:
    """Write the workbook of `rows` to `path` in one step: no half-written file on failure."""
    book = build_workbook(rows, columns, unmask)

    def save(out: BinaryIO) -> None:
        book.save(out)

    replace_file(path, save)
