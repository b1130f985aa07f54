"""`oversight sources`: is every interface there, with its columns, and fed recently enough.

Registered on the `oversight` group by engine/cli/. It only reads the warehouse (a
read-only connection): the library is engine/sources.py. Exit 0 when every source is
ok, 6 (SOURCES_UNHEALTHY) when any is late, stale, missing or drifted, so that a
scheduler can hold a run back, or page someone, on the exit code alone.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters import connect
from engine import api
from engine.cli.options import DEPLOYMENT, POLICIES, TABLE_OR_JSON, WAREHOUSE
from engine.cli.warnings import aligned_table, terminal_width
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.sources import SourceHealth, check_sources, healthy, previous_rows

# (Chinese header, English header); the reasons go last and take what is left.
_HEADERS = (
    ("来源", "source"),
    ("名称", "label"),
    ("行数", "rows"),
    ("最新日期", "latest"),
    ("滞后", "lag"),
    ("新增", "added"),
    ("状态", "status"),
    ("说明", "reasons"),
)
_MIN_REASON_WIDTH = 20


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"「{value}」不是 YYYY-MM-DD 格式的日期 / not a date") from None


@click.command(name="sources")
@POLICIES
@DEPLOYMENT
@WAREHOUSE
@click.option(
    "--as-of",
    "as_of",
    default=None,
    callback=_as_of,
    help="the day to judge the sources on, YYYY-MM-DD (default: today); rows dated after it "
    "are not counted, as a run as of that day does not see them",
)
@TABLE_OR_JSON
def sources_command(
    policies: Path | None,
    deployment: Path | None,
    warehouse: str | None,
    as_of: date,
    output_format: str | None,
) -> None:
    """Check every source of the catalog: rows, latest date, lag, columns, status.

    A source is late (迟到) past its warn_after, stale (停滞) past its error_after or
    when it has no rows, missing (缺失) when its table is not there, drifted (结构变化)
    when a catalog column is missing or of another type. Exit 6 when any is not ok.
    """
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    connection = connect(api.warehouse_url(warehouse, setup), read_only=True, must_exist=True)
    try:
        previous = previous_rows(connection, ledger.Tables(setup.ledger_schema), as_of)
        report = check_sources(connection, pack.pack, setup.tables, as_of, previous)
    finally:
        connection.close()
    on_terminal = sys.stdout.isatty()
    if (output_format or ("table" if on_terminal else "json")) == "json":
        click.echo(json.dumps(document(report, as_of), ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(report, as_of, terminal_width(on_terminal)))
    if not healthy(report):
        click.get_current_context().exit(ExitCode.SOURCES_UNHEALTHY)


def document(report: list[SourceHealth], as_of: date) -> dict[str, Any]:
    """The JSON answer: the day, whether all is well, and each source."""
    return {
        "as_of": as_of.isoformat(),
        "healthy": healthy(report),
        "sources": [h.to_json() for h in report],
    }


def _cells(health: SourceHealth) -> list[str]:
    added = health.added_since_previous
    return [
        health.name,
        health.label,
        "-" if health.rows is None else str(health.rows),
        health.latest.isoformat() if health.latest else "-",
        "-" if health.lag_days is None else f"{health.lag_days} 天",
        "-" if added is None else f"{added:+d}",
        f"{health.status_zh} {health.status}",
        "；".join(health.reasons),
    ]


def render_table(report: list[SourceHealth], as_of: date, width: int | None = None) -> str:
    """Sources grouped by department, each group an aligned table, then a one-line count."""
    headers = [[zh for zh, _ in _HEADERS], [en for _, en in _HEADERS]]
    departments: dict[str, list[SourceHealth]] = {}
    for health in report:
        departments.setdefault(health.department or "-", []).append(health)
    rows: list[list[str]] = []
    for department, members in departments.items():
        rows.append([f"【{department}】", "", "", "", "", "", "", ""])
        rows.extend(_cells(h) for h in members)
    unhealthy = [h for h in report if h.status != "ok"]
    summary = (
        f"截至 {as_of}：{len(report)} 个来源，{len(unhealthy)} 个不正常 / "
        f"as of {as_of}: {len(report)} sources, {len(unhealthy)} not ok"
    )
    return aligned_table(headers, rows, width, _MIN_REASON_WIDTH) + "\n" + summary
