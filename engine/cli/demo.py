"""`oversight demo`: build the demo county and run the whole chain on it."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import (
    POLICIES,
    Failure,
    on_terminal,
    parse_date,
    terminal_progress,
)
from engine.exit_codes import ExitCode
from engine.policy.deployment import DEFAULT_WAREHOUSE

# The demo builds the default warehouse, so that every command after it works as typed in the
# same folder; it refuses to replace a warehouse there that it did not build itself.
DEMO_WAREHOUSE = DEFAULT_WAREHOUSE


@click.command()
@POLICIES
@click.option(
    "--warehouse",
    default=DEMO_WAREHOUSE,
    show_default=True,
    help="where to build the demo warehouse (its tables, ledger included, are replaced; "
    "a warehouse the demo did not build is refused)",
)
@click.option(
    "--size",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="1 ≈ 607,000 rows; 10 ≈ 6 million",
)
@click.option("--seed", type=int, default=2021, show_default=True)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    default=Path("oversight-demo-report.html"),
    show_default=True,
    help="where to write the year's 廉情地图 report",
)
@click.option(
    "--advice",
    "advice_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("oversight-demo-advice"),
    show_default=True,
    help="the folder for the year's common problems (共性问题.json) and recommendation drafts "
    "(纪检监察建议书 per township, the county's 通报; .docx and .md)",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["auto", "human", "json"]),
    default="auto",
    show_default=True,
    help="auto: human on a terminal, JSON otherwise",
)
@click.option(
    "--stale-interface",
    "stale_interface",
    default=None,
    metavar="SOURCE",
    callback=lambda ctx, param, value: _stoppable(value),
    help="stop one interface (a source with an event date, e.g. fin_payment): its rows from "
    "--stale-from on are left out, as if its export job broke that day",
)
@click.option(
    "--stale-from",
    "stale_from",
    default=None,
    metavar="YYYY-MM-DD",
    callback=lambda ctx, param, value: parse_date(value) if value is not None else None,
    help="the day the stopped interface delivers nothing from (default 2021-10-01)",
)
def demo(
    policies: Path | None,
    warehouse: str,
    size: float,
    seed: int,
    report_path: Path,
    advice_dir: Path,
    output_format: str,
    stale_interface: str | None,
    stale_from: date | None,
) -> None:
    """Build the demo county (14 townships, every source) and run the whole chain on it."""
    from engine.demo import demo_run

    stopped: dict[str, Any] = {}
    if stale_interface is not None:
        stopped["stopped"] = stale_interface
        if stale_from is not None:
            stopped["stopped_from"] = stale_from
    elif stale_from is not None:
        raise click.BadParameter(
            "只能与 --stale-interface 一起用 / only with --stale-interface",
            param_hint="--stale-from",
        )
    pack = api.load_pack(policies)
    progress = terminal_progress if on_terminal() else api.no_progress
    try:
        result = demo_run.demo(
            pack, warehouse, size, seed, progress, report_path, advice_dir, **stopped
        )
    except demo_run.NotADemoWarehouse as err:
        raise click.UsageError(str(err)) from None
    facts = demo_run.summary(result, pack)
    if output_format == "json" or (output_format == "auto" and not sys.stdout.isatty()):
        click.echo(json.dumps(facts, ensure_ascii=False))
    else:
        click.echo(_demo_text(facts))
    if result.failures:
        raise Failure(ExitCode.MODELS_FAILED)


def _stoppable(name: str | None) -> str | None:
    """--stale-interface: a source with an event date, else a usage error with the closest name."""
    if name is None:
        return None
    from engine.demo.generator import CannotStop, check_stoppable

    try:
        check_stoppable(name)
    except CannotStop as err:
        hints = "".join(f"\n  = 提示 hint: {hint}" for hint in err.hints)
        raise click.BadParameter(f"{err}{hints}", param_hint="--stale-interface") from None
    return name


def _demo_text(facts: dict[str, Any]) -> str:
    def bars(counts: dict[str, int]) -> list[str]:
        widest = max(counts.values(), default=1) or 1
        return [
            f"  {name:<10} {n:>5} {'█' * max(1, round(24 * n / widest)) if n else ''}"
            for name, n in counts.items()
        ]

    severity = {"red": "红色 red", "yellow": "黄色 yellow", "blue": "蓝色 blue"}
    lines = [
        f"演示县 demo county: {facts['rows']:,} 行数据 rows in {facts['sources']} 个来源 sources "
        f"→ {facts['warehouse']}",
        f"{facts['models']} 个模型 × {len(facts['runs'])} 个月末 month ends "
        f"({facts['runs'][0]} … {facts['runs'][-1]}): {facts['warnings']} 条预警 warnings",
        "",
        "按领域 by domain:",
        *bars(facts["by_domain"]),
        "按等级 by severity:",
        *bars({severity[k]: v for k, v in facts["by_severity"].items()}),
        "按乡镇 by township:",
        *bars(facts["by_township"]),
        "",
        "预警示例 sample warnings:",
    ]
    stopped = facts["stopped_interface"]
    if stopped:  # said next to the rows it took away, before any figure that lacks them
        lines.insert(
            1,
            f"停止的接口 stopped interface: {stopped['source']} 自 {stopped['from']} 起不再供数"
            f"（少 {stopped['rows_dropped']:,} 行）/ delivers nothing from {stopped['from']} "
            f"({stopped['rows_dropped']:,} rows left out)",
        )
    for at, (name, health) in enumerate(facts["unhealthy_sources"].items(), 2 if stopped else 1):
        lines.insert(
            at,
            f"年末运行的来源 year-end run's source {name}: {health['status_zh']} "
            f"{health['status']}，读取它的模型 read by {', '.join(health['models']) or '-'}",
        )
    lines += [f"  [{s['model_id']} {s['township']}] {s['message']}" for s in facts["samples"]]
    colour_names = {"green": "绿", "yellow": "黄", "red": "红"}
    for label, rows in facts["scores"].items():
        by_colour = {c: [r["township"] for r in rows if r["colour"] == c] for c in colour_names}
        lines.append(
            f"廉情指数 {label}: "
            + "；".join(
                f"{colour_names[c]} {len(t)}" + (f"（{'、'.join(t)}）" if c != "green" else "")
                for c, t in by_colour.items()
            )
        )
    if facts["failed_models"]:
        lines.append("失败的模型 failed models: " + ", ".join(facts["failed_models"]))
    timing = ", ".join(f"{k} {v}s" for k, v in facts["seconds"].items())
    lines.append(f"用时 time: {timing}")
    if facts["report"]:
        lines.append(f"廉情地图报告 report: {Path(facts['report']).resolve()}")
    drafts = [Path(p) for p in facts["advice"] if Path(p).suffix == ".docx"]
    if drafts:
        lines.append(
            f"建议书草稿 advice drafts: {len(drafts)} 份 Word drafts (and Markdown) in "
            f"{drafts[0].parent.resolve()}"
        )
        lines += [f"  {path.name}" for path in drafts]
    return "\n".join(lines)
