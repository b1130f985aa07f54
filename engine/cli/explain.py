"""`oversight explain MODEL`: a model's parameters, the sources it reads, and its SQL.

`oversight explain --run`: the plan of a run, what it computes once for several models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import DEPLOYMENT, FORMAT, POLICIES, SELECT, selected
from engine.compiler.dialects import DIALECTS


@click.command()
@POLICIES
@DEPLOYMENT
@FORMAT
@click.argument("model_id", required=False)
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True)
@click.option(
    "--run",
    "plan",
    is_flag=True,
    help="the plan of a run of the --select models (every active one): what it computes once",
)
@SELECT
def explain(
    policies: Path | None,
    deployment: Path | None,
    output_format: str,
    model_id: str | None,
    dialect: str,
    plan: bool,
    select: tuple[str, ...],
) -> None:
    """Show a model's parameters, the sources it reads, and its SQL; or a run's plan (--run)."""
    if plan == (model_id is not None):
        raise click.UsageError(
            "给出一个模型编号，或 --run（运行计划）/ name one model, or --run for a run's plan"
        )
    if plan:
        pack = api.load_pack(policies)
        selected(pack, select)
        info = api.explain_run(pack, select, dialect, api.deployment_for(pack, deployment))
        text = _plan_text(info)
    else:
        assert model_id is not None
        pack = api.load_pack(policies, examples=True)
        info = api.explain(pack, model_id, dialect, api.deployment_for(pack, deployment))
        text = _explain_text(info)
    click.echo(json.dumps(info, ensure_ascii=False, indent=2) if output_format == "json" else text)


def _plan_text(info: dict[str, Any]) -> str:
    """A run's plan for people: each shared step, the models reading it, and its SQL."""
    lines = [f"运行计划 run plan ({info['dialect']}): {len(info['models'])} 个模型 models"]
    if not info["shared_steps"]:
        why = (
            "没有两个以上模型共读的关系 / no relation is read by two or more of the models"
            if info["how"]
            else "此数据仓库上各模型各自计算关系 / on this warehouse each model computes "
            "the relations it reads"
        )
        lines.append(f"共享步骤 shared steps: 无 none — {why}")
    for step in info["shared_steps"]:
        title = f" {step['title']}" if step["title"] else ""
        lines.append(
            f"共享步骤 shared step: {step['relation']}{title} → {info['how']} {step['table']}"
        )
        lines.append(f"  读取的模型 read by: {', '.join(step['models'])}")
        lines.append("  " + step["sql"].replace("\n", "\n  "))
    return "\n".join(lines)


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
