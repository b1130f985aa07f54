"""`oversight grants`: what a DBA runs for a least-privilege role, and whether the role has it.

Registered on the `oversight` group by engine/cli/. Without --check it only prints
(the dialect comes from the URL's scheme: no connection); with --check it connects as
the deployment's role and asks the catalog what the role lacks (engine/access.py,
adapters/privileges.py). Exit 0 when everything needed is held, 8 (PERMISSION_DENIED)
when anything is missing, 3 when the warehouse cannot be reached.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from adapters import connect
from engine import access, api
from engine.cli.options import DEPLOYMENT, POLICIES, WAREHOUSE
from engine.cli.warnings import aligned_table, terminal_width
from engine.exit_codes import ExitCode
from engine.runs.manifest import redact


@click.command(name="grants")
@POLICIES
@DEPLOYMENT
@WAREHOUSE
@click.option(
    "--role",
    default=None,
    metavar="NAME",
    help="the role to grant to (default: the warehouse URL's user)",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["sql", "table", "json"]),
    default=None,
    help="sql: the script (the default); json: the same for machines; with --check, table "
    "(the default) or json",
)
@click.option(
    "--check",
    is_flag=True,
    help="connect as the configured role and report what it can and cannot do; exit 8 when "
    "anything needed is missing",
)
def grants_command(
    policies: Path | None,
    deployment: Path | None,
    warehouse: str | None,
    role: str | None,
    output_format: str | None,
    check: bool,
) -> None:
    """Print the statements a DBA runs for a least-privilege role, or check the role's.

    PostgreSQL: the engine's schema and tables (made ahead: the role needs no CREATE)
    and one GRANT per object, each with why; DuckDB and SQLite: what the account must
    be let do with the file. --check connects with the deployment's URL and reports,
    per model, per source table and for the engine's tables, what the role lacks.
    """
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    url = api.warehouse_url(warehouse, setup, opening=check)  # the script needs no password
    if check:
        if output_format == "sql":
            raise click.BadParameter(
                "--check 的结果用 table 或 json / --check reports as table or json",
                param_hint="--format",
            )
        _check(pack, setup, url, output_format or "table")
        return
    dialect = access.dialect_of(url)
    who = role or access.role_of(url)
    if who is None and dialect == "postgres":
        raise click.BadParameter(
            "数据仓库地址中没有用户名，请用 --role 指定角色 / the warehouse URL names no user: "
            "name the role with --role",
            param_hint="--role",
        )
    needs = access.needs(pack, setup, dialect, url)
    if output_format == "json":
        document = access.document(needs, who or "", dialect, setup, url)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(access.grant_script(needs, who or "", dialect, setup, url), nl=False)


def _check(pack: Any, setup: Any, url: str, output_format: str) -> None:
    # A login refused for want of CONNECT comes back from the PostgreSQL driver without a
    # SQLSTATE (an IO status): it is said as an unreachable warehouse (3), in the server's
    # own words, which name the privilege.
    connection = connect(url, read_only=True, must_exist=True)
    try:
        found = access.inspect(connection, pack, setup, url)
    finally:
        connection.close()
    if output_format == "json":
        click.echo(json.dumps(found.to_json(pack), ensure_ascii=False, indent=2))
    else:
        click.echo(render(found, pack, terminal_width(sys.stdout.isatty())))
    if not found.ok:
        click.get_current_context().exit(ExitCode.PERMISSION_DENIED)


def _mark(held: bool | None) -> str:
    return "-" if held is None else "✓" if held else "✗"


def render(found: access.Inspection, pack: Any, width: int | None = None) -> str:
    """The check for people: what is missing, then models, source tables, engine tables."""
    role = found.role or "?"
    lines = [f"{redact(found.url)}（角色 role {role}）"]
    if found.missing is None:
        lines.append(
            f"{found.dialect} 无法回答角色持有哪些权限 / this warehouse cannot tell which "
            "privileges the role holds"
        )
        return "\n".join(lines)
    models = found.models(pack)
    blocked = [m for m in models if not m["can_run"]]
    lines.append(
        f"模型 models: {len(models) - len(blocked)} 个能运行 can run, {len(blocked)} 个不能 cannot"
    )
    if blocked:
        rows = [
            [
                m["model"],
                "；".join(
                    [p["text"] for p in m["missing"]]
                    + [f"表不存在 no table {t}" for t in m["absent_tables"]]
                ),
            ]
            for m in blocked
        ]
        lines.append(aligned_table([["模型", "缺少"], ["model", "missing"]], rows, width, 20))
    lines += ["", "来源表 source tables:"]
    rows = [
        [
            s["table"],
            ", ".join(s["sources"]),
            _mark(s["exists"]),
            _mark(s["read"]),
            ", ".join(s["models"]) or "-",
        ]
        for s in found.sources()
    ]
    headers = [
        ["表", "来源", "存在", "可读", "读取它的模型"],
        ["table", "source", "exists", "read", "models"],
    ]
    lines.append(aligned_table(headers, rows, width, 20))
    lines += ["", "引擎的表 the engine's tables:"]
    rows = [
        [t["table"], t["name"], _mark(t["exists"]), _mark(t["read"]), _mark(t["insert"]),
         _mark(t["update"])]
        for t in found.engine_tables()
    ]  # fmt: skip
    headers = [
        ["表", "名称", "存在", "读", "写入", "更新"],
        ["table", "name", "exists", "read", "insert", "update"],
    ]
    lines.append(aligned_table(headers, rows, width, 6))
    if found.missing:
        lines += ["", f"缺少的权限 missing privileges ({len(found.missing)}):"]
        by_privilege = {n.privilege: n for n in found.needs}
        for privilege in found.missing:
            need = by_privilege[privilege]
            lines.append(f"  ✗ {privilege.text()}（{', '.join(need.commands)}）")
            lines.append(f"      {need.why}")
        lines.append(
            "请 DBA 执行 oversight grants 打印的语句 / have a DBA run what `oversight grants` "
            "prints"
        )
    else:
        lines += ["", "✓ 所需权限均已具备 / every privilege needed is held"]
    return "\n".join(lines)
