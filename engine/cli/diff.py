"""`oversight diff --against REF`: what a change of the pack changes, before it is merged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import DEPLOYMENT, FORMAT, POLICIES, parse_date
from engine.policy.lifecycle import impact


@click.command()
@POLICIES
@DEPLOYMENT
@FORMAT
@click.option("--against", required=True, metavar="REF", help="the git revision to compare with")
@click.option("--as-of", "as_of", default=None, help="run both versions as of this day")
@click.option("--warehouse", default=None, help="the data to run on (read only; nothing recorded)")
def diff(
    policies: Path | None,
    deployment: Path | None,
    output_format: str,
    against: str,
    as_of: str | None,
    warehouse: str | None,
) -> None:
    """Preview a change of the pack: what changed, the SQL diff, warnings that would come and go."""
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    day = parse_date(as_of) if as_of else None
    url = api.warehouse_url(warehouse, setup) if day else None
    preview = impact(against, pack, day, url, setup.parameters, setup.tables)
    if output_format == "json":
        click.echo(json.dumps(preview.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(_impact_text(preview))


def _impact_text(preview: Any) -> str:
    changes = preview.changes
    lines = [
        f"与 {preview.ref} 相比 compared with {preview.ref}: 策略包版本 pack version "
        f"{changes.old_version or '（无）'} → {changes.new_version}"
        + ("" if changes.changelog_changed else "（CHANGELOG 未更新）"),
    ]
    for label, names in (
        ("新增模型 added", changes.models_added),
        ("删除模型 removed", changes.models_removed),
        ("修改模型 changed", changes.models_changed),
        ("修改共享定义 shared definitions", changes.shared_changed),
    ):
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    if changes.index_changed:
        lines.append("廉情指数已修改 the index changed")
    for name, old, new in changes.parameters_changed:
        lines.append(f"参数 parameter ${name}: {old} → {new}")
    if changes.missing_text_changed:
        old, new = (text or "空" for text in changes.missing_text_changed)
        lines.append(f"消息的空值写法 messages.missing: {old} → {new}")
    if not changes.rules_changed:
        lines.append("规则没有变化 no rule changed")
    for model_id, text in preview.sql_diff.items():
        lines += ["", f"SQL {model_id}:", text.rstrip()]
    if preview.as_of is not None:
        lines.append("")
        lines.append(
            f"as of {preview.as_of}: 新出现 {len(preview.appear)} 条预警 appear, "
            f"消失 {len(preview.disappear)} 条 disappear, "
            f"内容变化 {len(preview.reworded)} 条 reworded"
        )
        for sign, items in (("+", preview.appear), ("-", preview.disappear)):
            lines += [
                f"  {sign} {w['model_id']} {w['warning_key']} {w['township'] or ''} {w['message']}"
                for w in items
            ]
    return "\n".join(lines)
