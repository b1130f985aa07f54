"""`oversight warnings`: the ledger with each warning's disposal status, for case handlers.

Registered on the `oversight` group by engine/cli/. It only reads: the
warehouse is opened read-only, and disposal records from `--disposal FILE`
are used for this listing, never written back.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from adapters import connect
from dsl.diagnostics import display_width
from dsl.pack import SEVERITIES, Pack
from dsl.suggest import did_you_mean
from engine import api
from engine.cli.options import POLICIES
from engine.index import disposal
from engine.runs import ledger
from engine.values import parse_date

OUTPUT_COLUMNS = disposal.WARNINGS_EXPORT_COLUMNS

# (column, Chinese header, English header); the message goes last and takes what is left.
# English headers are kept as narrow as the Chinese, so that 80 columns leave room for the message.
_TABLE_COLUMNS = (
    ("issued_on", "预警日期", "issued_on"),
    ("model_id", "模型", "model"),
    ("severity_label", "等级", "level"),
    ("township_label", "乡镇", "town"),
    ("status_label", "状态", "status"),
    ("warning_key", "预警编号", "key"),
    ("message", "预警内容", "message"),
)
_MIN_MESSAGE_WIDTH = 24
NO_LEDGER_NOTE = (
    "该数据仓库还没有预警台账，请先运行 oversight run / "
    "no warnings ledger in this warehouse yet: run `oversight run` first"
)
"""Said on stderr by the commands that read the ledger, when the warehouse has none yet."""
_ELLIPSIS = "..."  # ASCII: "…" is of ambiguous width, two columns on many Chinese terminals


class _Day(click.ParamType):
    """A day on the command line, written as in a disposal file (2021-11-20, 2021/11/20 …)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except ValueError:
            self.fail(f"「{value}」不是日期，应写作 2021-11-20 / not a date", param, ctx)


def _bad_option(err: disposal.FilterError) -> click.BadParameter:
    message = f"{err.message_zh} / {err.message_en}"
    if err.hint:
        message += f"\n  = 提示 hint: {err.hint}"
    return click.BadParameter(message, param_hint=f"--{err.option}")


@click.command(name="warnings")
@POLICIES
@click.option(
    "--deployment",
    type=click.Path(path_type=Path),
    default=None,
    help="a deployment YAML: warehouse URL, table mapping, ledger schema",
)
@click.option(
    "--warehouse",
    default=None,
    help="duckdb:///PATH (default: the deployment's, else $OVERSIGHT_WAREHOUSE, else "
    "duckdb:///oversight.duckdb)",
)
@click.option(
    "--disposal",
    "disposal_file",
    type=click.Path(path_type=Path),
    default=None,
    help="a CSV, Parquet or Excel (.xlsx) file of disposal records, used instead of the "
    "warehouse's sup_disposal",
)
@click.option("--township", multiple=True, help="乡镇 by code or name (分水镇); repeatable")
@click.option("--model", multiple=True, help="model id (ENG01); repeatable")
@click.option("--domain", multiple=True, help="domain by code or name (ENG, 工程管理); repeatable")
@click.option("--severity", multiple=True, help="red, yellow, blue (红色 …); repeatable")
@click.option(
    "--status",
    multiple=True,
    help="pending 待核查, confirmed 属实, partly 部分属实, unfounded 不属实, "
    "rectified 已整改, overdue 逾期未整改; repeatable",
)
@click.option(
    "--as-of",
    "as_of",
    type=_Day(),
    default=None,
    help="the day statuses are judged on: a confirmed warning not rectified within the pack's "
    "rectification_deadline_days of its verification is overdue by then (default: today)",
)
@click.option("--from", "issued_from", type=_Day(), default=None, help="issued on or after DATE")
@click.option("--to", "issued_to", type=_Day(), default=None, help="issued on or before DATE")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["auto", "table", "csv", "json", "jsonl", "xlsx"]),
    default="auto",
    show_default=True,
    help="auto: a table on a terminal, CSV otherwise (`> list.csv` opens in Excel); "
    "jsonl: one JSON object per line; xlsx: an Excel workbook to fill in (needs --output)",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="the file to write (required with --format xlsx; the others go to stdout)",
)
@click.option(
    "--unmask",
    is_flag=True,
    default=False,
    help="xlsx: keep resident id numbers whole in messages and evidence (masked by default)",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="only the N most recently issued"
)
def warnings_command(
    policies: Path | None,
    deployment: Path | None,
    warehouse: str | None,
    disposal_file: Path | None,
    township: tuple[str, ...],
    model: tuple[str, ...],
    domain: tuple[str, ...],
    severity: tuple[str, ...],
    status: tuple[str, ...],
    issued_from: date | None,
    issued_to: date | None,
    as_of: date | None,
    output_format: str,
    output: Path | None,
    unmask: bool,
    limit: int | None,
) -> None:
    """List the warnings (预警台账) with their disposal status, newest first, for case handlers."""
    if output_format == "xlsx" and output is None:
        raise click.UsageError(
            "--format xlsx 需要 --output 指定工作簿文件，如 --output 预警处置.xlsx / "
            "--format xlsx needs --output FILE.xlsx (a workbook is not written to a terminal)"
        )
    if output is not None and output_format != "xlsx":
        raise click.UsageError(
            "--output 只用于 --format xlsx，其他格式请用 > 文件 / "
            "--output is for --format xlsx; redirect the other formats with > FILE"
        )
    if issued_from and issued_to and issued_from > issued_to:
        raise click.BadParameter(
            f"--from {issued_from} 晚于 --to {issued_to} / --from is after --to",
            param_hint="--from",
        )
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    # Resolve names to codes first, so that a typo is reported before the warehouse is opened.
    try:
        filters = {
            "township": disposal.township_codes(pack.pack, township),
            "domain": disposal.domain_codes(pack.pack, domain),
            "severity": disposal.severities(severity),
            "status": disposal.status_ids(status),
        }
    except disposal.FilterError as err:
        raise _bad_option(err) from None
    records = disposal.load_disposal_file(disposal_file, pack.pack) if disposal_file else None
    tables = ledger.Tables(setup.ledger_schema)
    connection = connect(api.warehouse_url(warehouse, setup), read_only=True, must_exist=True)
    try:
        has_ledger = connection.has_table(tables.name(ledger.LEDGER))
        issued = ledger.read(connection, tables)
        if records is None:
            records = disposal.read_disposal(connection, pack.pack, setup.tables)
    finally:
        connection.close()
    known = set(pack.models) | set(issued.column("model_id").to_pylist())
    models = disposal.model_ids(model, known)
    for model_id in sorted(models - known):
        hint = "".join(f"\n  = 提示 hint: {h}" for h in did_you_mean(model_id, sorted(known)))
        raise click.BadParameter(
            f"没有模型「{model_id}」/ unknown model {model_id!r}{hint}", param_hint="--model"
        )

    joined = disposal.with_disposal(
        issued,
        records,
        on=as_of or date.today(),
        deadline_days=disposal.deadline_days(pack.pack, setup.parameters),
    )
    chosen = disposal.filter_warnings(
        joined,
        pack.pack,
        model=models,
        issued_from=issued_from,
        issued_to=issued_to,
        **filters,
    ).sort_by(
        [("issued_on", "descending"), ("model_id", "ascending"), ("warning_key", "ascending")]
    )
    shown = chosen.slice(0, limit) if limit else chosen
    rows = records_for_output(shown, pack.pack)

    on_terminal = sys.stdout.isatty()
    if output_format == "auto":
        output_format = "table" if on_terminal else "csv"
    if output_format == "xlsx" and output is not None:
        if not output.parent.is_dir():
            raise click.BadParameter(
                f"没有文件夹 {output.parent} / no folder {output.parent}", param_hint="--output"
            )
        # Imported here: openpyxl takes a sixth of a second, which no other command should pay.
        from engine.reporting.workbook import write_workbook

        write_workbook(output, rows, unmask=unmask)
        click.echo(f"已写入 {output}（{len(rows)} 条预警）/ wrote {len(rows)} warnings", err=True)
    elif output_format == "csv":
        _write_bytes(render_csv(rows))
    elif output_format == "json":
        click.echo(render_json(rows))
    elif output_format == "jsonl":
        for line in render_jsonl(rows):
            click.echo(line)
    else:
        click.echo(render_table(rows, terminal_width(on_terminal), pack.pack.has_townships))
        click.echo(count_line(chosen, shown.num_rows))

    if not has_ledger:
        click.echo(NO_LEDGER_NOTE, err=True)
        return
    orphans = disposal.unmatched_disposal(issued, records)
    if orphans:
        sample = "; ".join(f"{m} {k}" for m, k in orphans[:5]) + ("; …" if len(orphans) > 5 else "")
        click.echo(
            f"注意：{len(orphans)} 条处置记录没有对应的预警（模型或预警编号有误？）/ "
            f"note: {len(orphans)} disposal records match no warning: {sample}",
            err=True,
        )


# ---------------------------------------------------------------------------------------------
# Output. Nothing is masked here: case handlers need full ids (resident id numbers included)
# to find the people and records behind a warning. The HTML report
# (engine/reporting/report.py) and the Excel workbook (engine/reporting/workbook.py), which
# travel further, mask them (the workbook unless --unmask).


def records_for_output(table: pa.Table, pack: Pack) -> list[dict[str, Any]]:
    """The rows of a ledger-with-disposal table as dicts of OUTPUT_COLUMNS, in table order."""
    names = {t.code: t.name for t in pack.townships}
    out = []
    for row in table.to_pylist():
        row["township_name"] = names.get(row["township"]) if row["township"] else None
        row["domain_name"] = pack.domains.get(row["domain"])
        out.append({column: row.get(column) for column in OUTPUT_COLUMNS})
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_csv(rows: list[dict[str, Any]]) -> bytes:
    """CSV as Excel wants it: UTF-8 with a BOM, CRLF line ends, dates as 2021-11-20.

    Without the BOM, Excel on a Chinese Windows reads a CSV as GBK and shows the
    Chinese as mojibake; with it, Excel knows the file is UTF-8. `--disposal`
    reads the BOM back, so an export filled in by a handler loads as it is.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(OUTPUT_COLUMNS)
    for row in rows:
        writer.writerow([_text(row[column]) for column in OUTPUT_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _json_value(column: str, value: Any) -> Any:
    if column == "evidence" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, date | Decimal):
        # Money as a string keeps its cents exact, as the ledger writes it in messages.
        return _text(value)
    return value


def _json_object(row: dict[str, Any]) -> dict[str, Any]:
    return {column: _json_value(column, row[column]) for column in OUTPUT_COLUMNS}


def render_json(rows: list[dict[str, Any]]) -> str:
    """One JSON array of objects, dates ISO, money as a decimal string, evidence as an object."""
    return json.dumps([_json_object(row) for row in rows], ensure_ascii=False, indent=2)


def render_jsonl(rows: list[dict[str, Any]]) -> list[str]:
    """The objects of render_json, one per line: for tools that read a stream (jq, log shippers)."""
    return [json.dumps(_json_object(row), ensure_ascii=False) for row in rows]


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` columns, ending in "..." when something was cut."""
    if display_width(text) <= width:
        return text
    room = max(width - len(_ELLIPSIS), 0)
    kept, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > room:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + _ELLIPSIS


def pad(text: str, width: int) -> str:
    """`text` and spaces to fill `width` terminal columns (nothing added when it is wider)."""
    return text + " " * (width - display_width(text))


def aligned_table(
    headers: list[list[str]], rows: list[list[str]], width: int | None, min_last: int
) -> str:
    """Header lines, a rule and rows in columns two spaces apart, lined up in terminal columns.

    The last column (a message, a description) is the one that may be long: it is
    clipped so that a line fits `width` (None: never clipped), but kept `min_last`
    columns wide at the least so that it stays readable on a narrow terminal.
    """
    widths = [
        max(display_width(line[i]) for line in [*headers, *rows]) for i in range(len(headers[0]))
    ]
    if width is not None:
        fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = min(widths[-1], max(width - fixed - 1, min_last))
    rule = ["-" * w for w in widths]
    return "\n".join(
        "  ".join(pad(clip(text, w), w) for text, w in zip(line, widths, strict=True)).rstrip()
        for line in [*headers, rule, *rows]
    )


def terminal_width(on_terminal: bool) -> int | None:
    """The terminal's width to clip a table to; None when the output goes to a file or a pipe."""
    return shutil.get_terminal_size((100, 24)).columns if on_terminal else None


def render_table(
    rows: list[dict[str, Any]], width: int | None = None, townships: bool = True
) -> str:
    """An aligned table, a Chinese and an English header line; messages clipped to `width`.

    `width` is the terminal's; None (output not on a terminal) clips nothing. Without
    `townships` (a pack that routes no warning to one) the table has no township column.
    """
    if not rows:
        return "没有符合条件的预警 / no warnings match"
    columns = [c for c in _TABLE_COLUMNS if townships or c[0] != "township_label"]
    cells = []
    for row in rows:
        shown = dict(row)
        shown["severity_label"] = SEVERITIES.get(row["severity"], row["severity"])
        shown["township_label"] = row["township_name"] or row["township"] or ""
        shown["message"] = " ".join(str(row["message"]).split())
        cells.append([_text(shown[column]) for column, _, _ in columns])
    headers = [[zh for _, zh, _ in columns], [en for _, _, en in columns]]
    return aligned_table(headers, cells, width, _MIN_MESSAGE_WIDTH)


def count_line(chosen: pa.Table, shown: int) -> str:
    """How many warnings matched, how many are shown, and how many are in each status."""
    total = chosen.num_rows
    head = f"共 {total} 条预警 / {total} warnings"
    if shown < total:
        head = (
            f"共 {total} 条预警，显示最近 {shown} 条 / {total} warnings, the {shown} latest shown"
        )
    counts = Counter(chosen.column("status").to_pylist()) if total else Counter()
    parts = [f"{label} {counts[sid]}" for sid, label in disposal.STATUSES.items() if counts[sid]]
    return head + (" — " + " · ".join(parts) if parts else "")


def _write_bytes(data: bytes) -> None:
    """Bytes to stdout as they are: the console's encoding must not re-encode the CSV."""
    sys.stdout.flush()
    stream = click.get_binary_stream("stdout")
    stream.write(data)
    stream.flush()
