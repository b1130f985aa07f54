"""`oversight advise`: the period's common problems (面上共性问题), for the commission's advice.

Registered on the `oversight` group by engine/cli/. It only reads the warehouse: the
ledger and the disposal records, as `warnings` and `report` do. With `--out DIR` it
writes what the recommendation drafts are made from into DIR.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from engine import api
from engine.cli.options import (
    DEPLOYMENT,
    DISPOSAL,
    POLICIES,
    TABLE_OR_JSON,
    WAREHOUSE,
    period_option,
)
from engine.cli.warnings import NO_LEDGER_NOTE, aligned_table, terminal_width
from engine.index.disposal import load_disposal_file
from engine.index.score import Period
from engine.remedy.common import document, facts_of

# (column, Chinese header, English header); the reason goes last and takes what is left.
# English headers are kept as narrow as the Chinese, so that the reason has room; the severity
# and the township names are in the JSON.
_TABLE_COLUMNS = (
    ("model_id", "模型", "model"),
    ("model_title", "名称", "title"),
    ("townships", "乡镇数", "towns"),
    ("confirmed", "查实", "conf"),
    ("quarters_max", "最多季度", "quarters"),
    ("amount", "涉及金额", "amount"),
    ("rectified", "已整改", "fixed"),
    ("recovered", "追缴金额", "recovered"),
    ("overdue", "逾期", "late"),
    ("common", "共性", "common"),
    ("why", "说明", "why"),
)
_MIN_WHY_WIDTH = 20


@click.command(name="advise")
@POLICIES
@DEPLOYMENT
@period_option(
    "a year (2021) or a quarter (2021Q4). Recurrence is counted in the quarters within "
    "the period: in a year's four, so a quarter's problem is common only by its townships"
)
@WAREHOUSE
@DISPOSAL
@TABLE_OR_JSON
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"also write {api.COMMON_PROBLEMS_FILE} and the recommendation drafts into DIR (made "
    "if missing): a 纪检监察建议书 (.docx and .md) for each township with a confirmed common "
    "problem or a yellow or red colour, and the county's 通报",
)
def advise_command(
    policies: Path | None,
    deployment: Path | None,
    period: Period,
    warehouse: str | None,
    disposal: Path | None,
    output_format: str | None,
    out: Path | None,
) -> None:
    """List the common problems (面上共性问题) of a period, per model.

    A model's problem is common when its warnings were confirmed (属实/部分属实) in at
    least N townships, or in one township in at least M quarters: the pack parameters
    common_min_townships and common_min_quarters (3 and 2), a deployment may set its
    own. Disposal is judged on the period's last day.
    """
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    records = load_disposal_file(disposal, pack.pack) if disposal else None
    table = api.advise(pack, period, warehouse, setup, records)
    on_terminal = sys.stdout.isatty()
    if (output_format or ("table" if on_terminal else "json")) == "json":
        click.echo(json.dumps(document(table), ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(table, terminal_width(on_terminal)))
    if out is not None:
        written = api.write_advice(pack, period, out, warehouse, setup, records)
        click.echo(written_line(out, written.paths), err=True)
        if not written.scored and facts_of(table).get("ledger", True):
            click.echo(
                "注意：本期无法计算廉情指数（没有乡镇在岗人数或廉情指数），只为面上共性问题起草"
                "建议书 / note: the period could not be scored, so drafts were written for the "
                "common problems alone, not for yellow or red townships",
                err=True,
            )
    if not facts_of(table).get("ledger", True):
        click.echo(NO_LEDGER_NOTE, err=True)


def written_line(folder: Path, paths: list[Path]) -> str:
    """One line for what `--out` wrote: the folder, and how many drafts of each kind."""
    docx = [p.name for p in paths if p.suffix == ".docx"]
    letters = sum(1 for name in docx if name.startswith("纪检监察建议书"))
    circulars = len(docx) - letters
    return (
        f"已写入 {folder}：{api.COMMON_PROBLEMS_FILE}，纪检监察建议书 {letters} 份，"
        f"通报 {circulars} 份（各有 .docx 和 .md）/ wrote {len(paths)} files to {folder}: "
        f"the common problems, {letters} recommendation drafts and {circulars} circular "
        "(Word and Markdown)"
    )


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "common":
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_table(table: pa.Table, width: int | None = None) -> str:
    """An aligned table, a Chinese and an English header line, then what it adds up to.

    `width` is the terminal's; None (output not on a terminal) clips nothing.
    """
    facts = facts_of(table)
    label = facts.get("period", "")
    if table.num_rows == 0:
        return f"{label} 没有查实的预警 / no confirmed warnings in {label}"
    headers = [[zh for _, zh, _ in _TABLE_COLUMNS], [en for _, _, en in _TABLE_COLUMNS]]
    cells = [
        [_cell(column, row[column]) for column, _, _ in _TABLE_COLUMNS] for row in table.to_pylist()
    ]
    common = sum(table.column("common").to_pylist())
    towns, quarters = facts.get("min_townships"), facts.get("min_quarters")
    summary = (
        f"{label}：{table.num_rows} 个模型有查实的预警，其中 {common} 个是面上共性问题"
        f"（至少 {towns} 个乡镇查实，或一个乡镇至少 {quarters} 个季度查实）/ "
        f"{table.num_rows} models with confirmed warnings, {common} common "
        f"(N={towns} townships, M={quarters} quarters)"
    )
    return aligned_table(headers, cells, width, _MIN_WHY_WIDTH) + "\n" + summary
