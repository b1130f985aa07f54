"""`oversight precheck`: which warnings a pending matter would raise, before it is approved.

Registered on the `oversight` group by engine/cli/. The records come from
a JSON file or standard input: one object, or a list of them (a subsidy
list). The exit code says the answer, for a township system's script:
0 no warning would be raised, 5 some would (listed), 65 the records are not
records of the source (each problem with its JSON path).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from dsl.diagnostics import DiagnosticError, Span
from dsl.messages import diagnostic
from engine import api
from engine.cli.options import DEPLOYMENT, FORMAT, POLICIES, WAREHOUSE, emit_diagnostics
from engine.exit_codes import ExitCode
from engine.service import precheck as prechecks

CHANGE_LABELS = {"new": "新增 new", "changed": "变化 changed"}


def read_records(path: str) -> Any:
    """The JSON in `path` ('-' for standard input); E671 with line and column if it is not JSON."""
    shown = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiagnosticError([diagnostic("E671.unreadable", None, shown=shown, exc=exc)]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        span = Span.point(shown, exc.lineno, exc.colno)
        raise DiagnosticError(
            [
                diagnostic(
                    "E671.not_json",
                    span,
                    hints=(
                        '一条记录写作 {"列": 值}，多条写作 [{…}, {…}] / '
                        'one record is {"column": value}, several are [{…}, {…}]',
                    ),
                    msg=exc.msg,
                )
            ]
        ) from None


@click.command()
@POLICIES
@DEPLOYMENT
@WAREHOUSE
@FORMAT
@click.option("--source", required=True, help="the source the records belong to (fin_payment …)")
@click.option(
    "--record",
    "record_path",
    required=True,
    metavar="FILE.json|-",
    help="the pending records: one JSON object or a list of them; - reads standard input",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="check as of this day (default: the records' latest event date, else today)",
)
@click.option("--caller", default="cli", show_default=True, help="who asks, for the audit row")
def precheck_command(
    policies: Path | None,
    deployment: Path | None,
    warehouse: str | None,
    output_format: str,
    source: str,
    record_path: str,
    as_of: Any,
    caller: str,
) -> None:
    """Which warnings pending records would raise if approved (运行端 pre-check).

    Exit 0: none; 5: some (listed); 65: the records are bad (E67x).
    """
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    day: date | None = as_of.date() if as_of else None
    try:
        records = read_records(record_path)
        answer = api.precheck(pack, source, records, day, warehouse, setup, caller)
    except DiagnosticError as err:
        emit_diagnostics(err.diagnostics, output_format)
        raise click.exceptions.Exit(ExitCode.BAD_RECORDS) from None
    if output_format == "json":
        click.echo(json.dumps(prechecks.document(answer), ensure_ascii=False))
    else:
        click.echo(answer_text(answer))
    if answer.num_rows:
        raise click.exceptions.Exit(ExitCode.WOULD_WARN)


def answer_text(answer: pa.Table) -> str:
    """The answer for a person: one line of what was checked, then each warning and its message."""
    checked = prechecks.facts(answer)
    models = [m for m in checked.get("models", "").split(",") if m]
    changes = answer.column("change").to_pylist()
    new, changed = changes.count("new"), changes.count("changed")
    head = (
        f"预检 {checked.get('source')} {checked.get('records')} 条记录，"
        f"截至 {checked.get('as_of')}，{len(models)} 个模型：新增 {new} 条、"
        f"变化 {changed} 条预警 / {new} new and {changed} changed warnings"
    )
    lines = [head]
    skipped = checked.get("skipped")
    if skipped:
        lines.append(f"未评估 not evaluated（数据仓库缺少其数据源 a source is missing）: {skipped}")
    for row in answer.to_pylist():
        lines.append(
            f"[{CHANGE_LABELS[row['change']]}] {row['model_id']} {row['model_title']} "
            f"({row['severity']}) {row['warning_key']}"
        )
        if row["change"] == "changed":
            lines.append(f"  现在 now:  {row['message_now']}")
            lines.append(f"  批准后 then: {row['message']}")
        else:
            lines.append(f"  {row['message']}")
    return "\n".join(lines)


@click.command()
@POLICIES
@DEPLOYMENT
@WAREHOUSE
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--tokens",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="a file of `name: token` lines; required to listen beyond loopback",
)
@click.option(
    "--connections",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="warehouse connections: pre-checks answered at once",
)
@click.option(
    "--remember",
    "remember_seconds",
    default=prechecks.REMEMBER_SECONDS,
    show_default=True,
    type=click.FloatRange(0),
    help="seconds the warnings of models checked in full are remembered as they stand (0: never)",
)
def serve_command(
    policies: Path | None,
    deployment: Path | None,
    warehouse: str | None,
    host: str,
    port: int,
    tokens: Path | None,
    connections: int,
    remember_seconds: float,
) -> None:
    """Serve pre-checks over HTTP for the townships' systems (POST /v1/precheck)."""
    from engine.service import server

    directory = Path(policies or api.default_policies())
    pack = api.load_pack(directory)
    setup = api.deployment_for(pack, deployment)
    try:
        service = server.Service(
            directory,
            api.warehouse_url(warehouse, setup),
            setup,
            server.read_tokens(tokens) if tokens else None,
            pool_size=connections,
            remember_seconds=remember_seconds,
        )
        server.serve(service, host, port)
    except server.ServeError as err:
        raise click.UsageError(str(err)) from None
