"""`oversight explain MODEL`: a model's parameters, the sources it reads, and its SQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import DEPLOYMENT, FORMAT, POLICIES
from engine.compiler.dialects import DIALECTS


@click.command()
@POLICIES
@DEPLOYMENT
@FORMAT
@click.argument("model_id")
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True)
def explain(
    policies: Path | None,
    deployment: Path | None,
    output_format: str,
    model_id: str,
    dialect: str,
) -> None:
    """Show a model's parameters, the sources it reads, and its SQL."""
    pack = api.load_pack(policies, examples=True)
    info = api.explain(pack, model_id, dialect, api.deployment_for(pack, deployment))
    if output_format == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    click.echo(_explain_text(info))


def _explain_text(info: dict[str, Any]) -> str:
    lines = [
        f"{info['id']} {info['title']}",
        f"  领域 domain: {info['domain']}   等级 severity: {info['severity']}   "
        f"状态 status: {info['status']}   "
        f"预检 precheck: {'参加 yes' if info['precheck'] else '不参加 no'}",
        f"  修订 revision: {info['revision']}   文件 file: {info['file']}",
    ]
    if info["note"]:
        lines.append(f"  说明 note: {info['note']}")
    if info["advice"]:
        lines.append(f"  整改建议 advice: {info['advice']}")
    if info["basis"]:
        lines.append(f"  依据 basis: {info['basis']}")
    lines.append("参数 parameters:")
    for p in info["parameters"] or [{"name": "（无）", "value": "", "unit": "", "description": ""}]:
        unit = f" {p['unit']}" if p.get("unit") else ""
        lines.append(f"  ${p['name']} = {p['value']}{unit}  {p['description']}".rstrip())
    lines.append("数据来源 sources:")
    for s in info["sources"]:
        event = f", event_date {s['event_date']}" if s["event_date"] else ""
        lines.append(f"  {s['name']} ({s['label']}, {s['department']}{event}) → {s['table']}")
    if info["lets"]:
        lines.append("计算项 lets: " + ", ".join(info["lets"]))
    lines.append(f"示例 examples: {len(info['examples'])}")
    lines.append(f"SQL ({info['dialect']}):")
    lines.append(info["sql"])
    return "\n".join(lines)
