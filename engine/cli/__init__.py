"""The `oversight` command: thin click commands over engine/api.py.

Payload goes to stdout, diagnostics and progress to stderr. Exit codes are
in engine/exit_codes.py. A problem in the rules or the data is reported in
words, never as a traceback; `--debug` shows the traceback of a bug.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters.base import PermissionDenied, WarehouseError
from adapters.redaction import scrub
from dsl.diagnostics import Diagnostic, DiagnosticError
from engine import __version__, api, signals
from engine.access import Refused, named_refusal
from engine.cli.advise import advise_command
from engine.cli.fmt import fmt_command
from engine.cli.grants import grants_command
from engine.cli.options import (
    DEPLOYMENT,
    DISPOSAL,
    FORMAT,
    PERIOD,
    POLICIES,
    WAREHOUSE,
    emit_diagnostics,
)
from engine.cli.params import param_group
from engine.cli.precheck import precheck_command, serve_command
from engine.cli.sources import sources_command
from engine.cli.warnings import pad, warnings_command
from engine.compiler.compile import DIALECTS
from engine.exit_codes import ExitCode
from engine.index.disposal import load_disposal_file
from engine.index.score import Period
from engine.policy.deployment import DEFAULT_WAREHOUSE, Deployment
from engine.policy.lifecycle import impact
from engine.runs.logs import EventLog
from engine.runs.manifest import model_counts, requested_option, write_unstarted
from engine.runs.run import UnknownSelector, select_models
from engine.sources import models_reading

SELECT = click.option(
    "--select",
    "select",
    multiple=True,
    help="only these models, domains or severities (ENG01, ENG, 工程管理, red); repeatable",
)


class Failure(Exception):
    """Ends a command with an exit code after its output has been written."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__(code.name)
        self.code = code


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"「{value}」不是 YYYY-MM-DD 格式的日期 / not a date") from None


def _on_terminal() -> bool:
    """Whether a person is watching stderr: progress is shown only then (tests set it)."""
    return sys.stderr.isatty()


def _selected(pack: Any, select: tuple[str, ...], include_inactive: bool = False) -> list[Any]:
    """The models --select picks; a name that picks nothing is a usage error, with the closest."""
    try:
        return select_models(pack, select, include_inactive)
    except UnknownSelector as err:
        hints = "".join(f"\n  = 提示 hint: {hint}" for hint in err.hints)
        raise click.BadParameter(f"{err}{hints}", param_hint="--select") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oversight")
@click.option("--debug", is_flag=True, help="show the traceback of an internal error")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """oversight: supervision models (监督模型) as rules, compiled to SQL, run on a warehouse."""
    ctx.obj = {"debug": debug}


@cli.command()
@POLICIES
@FORMAT
@click.option("--no-examples", is_flag=True, help="parse and type-check only")
@click.option(
    "--against",
    default=None,
    metavar="REF",
    help="also require a version bump and a CHANGELOG entry for rules changed since git REF",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="check everything afresh, neither reading nor writing the pack's .oversight/ cache",
)
def check(
    policies: Path | None,
    output_format: str,
    no_examples: bool,
    against: str | None,
    no_cache: bool,
) -> None:
    """Parse, type-check and run every inline example of the pack."""
    progress = _terminal_progress if _on_terminal() else None
    report = api.check(
        policies,
        examples=not no_examples,
        against=against,
        progress=progress,
        cache=not no_cache,
    )
    emit_diagnostics(report.diagnostics, output_format, report.sources)
    models = len(report.pack.models) if report.pack else 0
    passed = sum(1 for e in report.examples if e.passed)
    cached = len(report.from_cache)
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "models": models,
                    "examples": len(report.examples),
                    "examples_passed": passed,
                    "models_from_cache": cached,
                },
                ensure_ascii=False,
            )
        )
    elif report.ok and no_examples:
        click.echo(
            f"✓ {models} 个模型检查通过（未运行示例{_from_cache_zh(cached)}）"
            f"/ {models} models checked, examples not run{_from_cache_en(cached)}"
        )
    elif report.ok:
        click.echo(
            f"✓ {models} 个模型检查通过，{passed}/{len(report.examples)} 个示例通过"
            f"{_from_cache_zh(cached, '（', '）')} "
            f"/ {models} models checked, {passed} examples passed{_from_cache_en(cached)}"
        )
    else:
        errors = sum(1 for d in report.diagnostics if d.severity.value != "warning")
        click.echo(f"✗ 发现 {errors} 个问题 / {errors} problems found", err=True)
    if not report.ok:
        raise Failure(ExitCode.INVALID_POLICY)


def _from_cache_zh(cached: int, before: str = "；", after: str = "") -> str:
    """How many models an earlier check vouched for, said in Chinese (nothing when none)."""
    return f"{before}{cached} 个来自缓存{after}" if cached else ""


def _from_cache_en(cached: int) -> str:
    return f" ({cached} from the cache)" if cached else ""


@cli.command(name="compile")
@POLICIES
@DEPLOYMENT
@SELECT
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="write DIR/MODEL.sql per model instead of printing",
)
@click.option("--as-of", "as_of", default=None, help="fix the day (default: a :as_of placeholder)")
@click.option(
    "--all",
    "every_dialect",
    is_flag=True,
    help="write compiled/DIALECT/MODEL.sql for every dialect (what `check` keeps current)",
)
def compile_command(
    policies: Path | None,
    deployment: Path | None,
    select: tuple[str, ...],
    dialect: str,
    out: Path | None,
    as_of: str | None,
    every_dialect: bool,
) -> None:
    """Print (or write) the SQL of every model for one warehouse dialect."""
    pack = api.load_pack(policies)
    if every_dialect:
        target = out or api.compiled_dir(policies)
        written = api.write_compiled(pack, target)
        click.echo(f"wrote {written} files to {target}", err=True)
        return
    setup = api.deployment_for(pack, deployment)
    _selected(pack, select, include_inactive=True)
    compiled = api.compile_pack(pack, dialect, select, _parse_date(as_of) if as_of else None, setup)
    if out is None:
        for c in compiled:
            click.echo(api.sql_file(c, pack))
        return
    out.mkdir(parents=True, exist_ok=True)
    for c in compiled:
        (out / f"{c.model.id}.sql").write_text(api.sql_file(c, pack), encoding="utf-8")
    click.echo(f"wrote {len(compiled)} files to {out}", err=True)


@cli.command()
@POLICIES
@DEPLOYMENT
@SELECT
@FORMAT
@click.option("--as-of", "as_of", required=True, help="the day to evaluate for, YYYY-MM-DD")
@WAREHOUSE
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="write this run's warnings to FILE.parquet",
)
@click.option(
    "--no-ledger", is_flag=True, help="do not record the warnings in the ledger (a dry run)"
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    default=None,
    help="write the run's manifest (JSON) to FILE, whatever the outcome",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="cancel a model's query after this many seconds (the model fails, the others run)",
)
@click.option(
    "--log-format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="json: one event per line on stderr, with stable codes (OV1xx)",
)
@click.option(
    "--require-fresh",
    is_flag=True,
    help="fail (exit 7, nothing run or recorded) when a selected model reads a stale source",
)
def run(
    policies: Path | None,
    deployment: Path | None,
    select: tuple[str, ...],
    output_format: str,
    as_of: str,
    warehouse: str | None,
    output: Path | None,
    no_ledger: bool,
    manifest: Path | None,
    timeout: float | None,
    log_format: str,
    require_fresh: bool,
) -> None:
    """Evaluate every model as of a day, write its warnings, record new ones in the ledger.

    Exit 0 when every model ran, 1 when one failed, 4 when none failed but
    one was skipped because a source or column it reads is not in the warehouse,
    7 with --require-fresh when a selected model reads a stale source (nothing ran).
    """
    day = _parse_date(as_of)
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    models = _selected(pack, select)
    showing = log_format == "human" and _on_terminal()
    try:
        result = api.run(
            pack,
            day,
            warehouse,
            select,
            setup,
            record=not no_ledger,
            timeout=timeout,
            events=EventLog(
                log_format, titles={m.id: m.title for m in models} if showing else None
            ),
            manifest=manifest,
            output=output,
            require_fresh=require_fresh,
        )
    except api.StaleSources as stale:
        click.echo(f"{stale.message_zh}\n{stale.message_en}", err=True)
        if output_format == "json":  # a scheduler reading stdout learns why from it too
            said = {"as_of": day.isoformat(), "outcome": "stale_sources", "stale": stale.stale}
            click.echo(json.dumps(said, ensure_ascii=False))
        raise Failure(ExitCode.STALE_SOURCES) from None
    counts = model_counts(result)
    reading = models_reading(result.sources, models)
    summary = {
        "as_of": day.isoformat(),
        "run_id": result.run_id,
        "outcome": result.manifest["outcome"] if result.manifest else None,
        "warnings": result.warnings.num_rows,
        "new_in_ledger": result.recorded.new if result.recorded else None,
        **counts,
        "skipped": {o.model_id: list(o.missing_sources) for o in result.skipped},
        "failed": {o.model_id: o.error for o in result.failed},
        "drifted": {
            o.model_id: [c.to_json() for c in o.drifted_columns]
            for o in result.skipped
            if o.drifted_columns
        },
        "unhealthy_sources": {
            h.name: {
                "status": h.status,
                "status_zh": h.status_zh,
                "models": reading[h.name],
                "reasons": list(h.reasons),
            }
            for h in result.sources
            if h.status != "ok"
        },
        "output": str(output) if output else None,
        "manifest": str(manifest) if manifest else None,
        "seconds": result.manifest["seconds"] if result.manifest else None,
    }
    if output_format == "json":
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(_run_text(summary))
    if result.failed:
        raise Failure(ExitCode.MODELS_FAILED)
    if result.skipped:
        raise Failure(ExitCode.MODELS_SKIPPED)


def _run_text(summary: dict[str, Any]) -> str:
    """What a run says to a person: the day and its warnings, then one `Done.` line.

    The `Done.` line keeps one shape (key=value) so that a log can be grepped.
    """
    new = summary["new_in_ledger"]
    first = (
        f"as of {summary['as_of']}: {summary['warnings']} 条预警 warnings from "
        f"{summary['models_run']} models"
        + (
            f", {summary['models_skipped']} 个模型跳过 skipped (缺少来源或列 missing sources "
            "or columns: " + ", ".join(summary["skipped"]) + ")"
            if summary["models_skipped"]
            else ""
        )
        + (
            f", {summary['models_failed']} 个模型失败 failed: " + ", ".join(summary["failed"])
            if summary["models_failed"]
            else ""
        )
        + (f", {new} 条新预警 new in the ledger" if new is not None else "")
        + (f" → {summary['output']}" if summary["output"] else "")
    )
    sources = [
        f"  来源{facts['status_zh']} {facts['status']} {name}: "
        + (", ".join(facts["models"]) or "-")
        + (f" — {'；'.join(facts['reasons'])}" if facts["reasons"] else "")
        for name, facts in summary["unhealthy_sources"].items()
        if facts["models"]  # a source no model of the run reads is `oversight sources`' news
    ]
    done = (
        f"Done. ran={summary['models_run']} failed={summary['models_failed']} "
        f"skipped={summary['models_skipped']} warnings={summary['warnings']} "
        f"new={'-' if new is None else new} in {summary['seconds'] or 0:.1f} s"
    )
    return "\n".join([first, *sources, done])


@cli.command()
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
        _selected(pack, select)
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


@cli.command()
@POLICIES
@DEPLOYMENT
@FORMAT
@PERIOD
@WAREHOUSE
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="write the scores to FILE.parquet",
)
@DISPOSAL
def score(
    policies: Path | None,
    deployment: Path | None,
    output_format: str,
    period: Period,
    warehouse: str | None,
    output: Path | None,
    disposal: Path | None,
) -> None:
    """Score, rank and colour every township for a quarter or a year (廉情指数)."""
    chosen, pack, setup, records = _scoring_inputs(period, policies, deployment, disposal)
    result = api.score(pack, chosen, warehouse, setup, records)
    if output is not None:
        api.write_parquet(result.table, output)
    rows = result.table.to_pylist()
    if output_format == "json":
        click.echo(
            json.dumps(
                {"period": chosen.label, "scores": rows, "left_out": result.left_out},
                ensure_ascii=False,
                default=str,
            )
        )
    else:
        click.echo(_score_text(pack, chosen, rows))
    for code in result.left_out:
        click.echo(
            f"  未参评 left out: {code}（本年度没有在岗人数 no staffing row for {chosen.year}）",
            err=True,
        )


def _score_text(pack: Any, period: Period, rows: list[dict[str, Any]]) -> str:
    index = pack.index
    colours = {"green": "绿", "yellow": "黄", "red": "红"}
    head = ["名次", "乡镇(街道)", "总分", "颜色", *(p.title for p in index.parts)]
    lines = [f"{index.title} {period.label}", "  ".join(head)]
    for row in rows:
        parts = [f"{float(row[f'part_{p.id}']):.2f}" for p in index.parts]
        lines.append(
            "  ".join(
                [
                    f"{row['rank']:>4}",
                    pad(row["name"], 12),
                    f"{float(row['total']):6.2f}",
                    colours.get(row["colour"], row["colour"]),
                    *parts,
                ]
            )
        )
    return "\n".join(lines)


def _scoring_inputs(
    period: Period, policies: Path | None, deployment: Path | None, disposal: Path | None
) -> tuple[Period, Any, Deployment, Any]:
    """What `score` and `report` both start from: period, pack, deployment, --disposal records.

    The records are None without --disposal (the warehouse's sup_disposal is used then).
    """
    pack = api.load_pack(policies)
    records = load_disposal_file(disposal, pack.pack) if disposal else None
    return period, pack, api.deployment_for(pack, deployment), records


@cli.command()
@POLICIES
@DEPLOYMENT
@PERIOD
@WAREHOUSE
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="the HTML file to write (default: 廉情报告-PERIOD.html)",
)
@DISPOSAL
def report(
    policies: Path | None,
    deployment: Path | None,
    period: Period,
    warehouse: str | None,
    output: Path | None,
    disposal: Path | None,
) -> None:
    """Write the 廉情地图 report of a period: one HTML file that needs no network."""
    chosen, pack, setup, records = _scoring_inputs(period, policies, deployment, disposal)
    target = output or Path(f"廉情报告-{chosen.label}.html")
    path = api.report(pack, chosen, target, warehouse, setup, records)
    click.echo(str(path))


@cli.command()
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
    day = _parse_date(as_of) if as_of else None
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


cli.add_command(warnings_command, name="warnings")
cli.add_command(param_group, name="param")
cli.add_command(fmt_command, name="fmt")
cli.add_command(precheck_command, name="precheck")
cli.add_command(serve_command, name="serve")
cli.add_command(advise_command, name="advise")
cli.add_command(sources_command, name="sources")
cli.add_command(grants_command, name="grants")

# The demo builds the default warehouse, so that every command after it works as typed in the
# same folder; it refuses to replace a warehouse there that it did not build itself.
DEMO_WAREHOUSE = DEFAULT_WAREHOUSE
_STEPS = {
    "generate": "生成演示数据 generating the county",
    "load": "写入数据仓库 loading",
    "run": "按月末运行35个模型 running every model at each month end",
    "check": "解析与类型检查 parsing and type-checking",
    "examples": "运行示例 running the examples of each model",
    "against": "与 git 版本比较 comparing with the git revision",
    "compiled": "核对 compiled/ checking compiled/ for each dialect",
}


def _terminal_progress(step: str, done: int, total: int) -> None:
    """One line on stderr, rewritten in place: for people watching a terminal."""
    click.echo(f"\r{_STEPS.get(step, step)} {done}/{total}   ", err=True, nl=done == total)


@cli.command()
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
    callback=lambda ctx, param, value: _parse_date(value) if value is not None else None,
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
    progress = _terminal_progress if _on_terminal() else api.no_progress
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit code instead of raising.

    Signal handlers are installed by the process's entry point
    (engine/__main__.py), not here: a test calling main() keeps its own.
    """
    signals.reset()
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    try:
        outcome = cli.main(args=args, prog_name="oversight", standalone_mode=False)
        if isinstance(outcome, int):  # click returns ctx.exit(code) when not standalone
            return outcome
    except Failure as failure:
        return _finished(failure.code)
    except DiagnosticError as err:
        output_format = "json" if _wants_json(args) else "human"
        emit_diagnostics(err.diagnostics, output_format)
        write_unstarted(args, "invalid_policy", _first_problem(err.diagnostics))
        return ExitCode.INVALID_POLICY
    except PermissionDenied as err:
        click.echo(f"权限不足 permission denied: {_named(err, args)}", err=True)
        return ExitCode.PERMISSION_DENIED
    except WarehouseError as err:
        if signals.received() and not signals.holding():
            return _interrupted(args, err)
        click.echo(f"数据仓库错误 warehouse error: {err}", err=True)
        return ExitCode.WAREHOUSE_UNREACHABLE
    except (KeyboardInterrupt, click.exceptions.Abort) as stop:
        return _interrupted(args, stop)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return ExitCode.USAGE
    except Exception as exc:
        if signals.received():  # a driver's own error for a query a signal cut short
            return _interrupted(args, exc)
        click.echo(scrub(f"内部错误 internal error: {type(exc).__name__}: {exc}"), err=True)
        if debug:
            click.echo(scrub(traceback.format_exc()), err=True, nl=False)
        else:
            click.echo(
                "请用 --debug 重新运行并报告此问题 / rerun with --debug and report it", err=True
            )
        return ExitCode.INTERNAL
    return _finished(ExitCode.OK)


def _named(refused: PermissionDenied, args: list[str]) -> PermissionDenied:
    """The refusal naming what the command lacks, from its own command line (as is if it does).

    Only on this path does the command line's pack and deployment get read again.
    """
    command = next((word for word in args if word in cli.commands), "?")
    try:
        pack = api.load_pack(requested_option(args, "--policies"))
        deployment = api.deployment_for(pack, requested_option(args, "--deployment"))
        url = api.warehouse_url(requested_option(args, "--warehouse"), deployment)
    except (DiagnosticError, OSError):
        return Refused(command, [], refused)
    return named_refusal(refused, command, pack, deployment, url)


def _finished(code: int) -> int:
    """A command that ran to its end, whether or not a signal came while it committed."""
    if signals.received():
        click.echo(
            f"收到 {signals.received()} 时结果已在提交，本次运行照常结束 / "
            f"{signals.received()} came while the results were committing; the run finished",
            err=True,
        )
    return code


def _interrupted(args: list[str], stop: BaseException) -> int:
    """Exit 130 after a signal; a run stopped before it started still leaves its manifest."""
    signals.hold()  # a second signal must not cut this short
    if not isinstance(stop, api.RunInterrupted):
        write_unstarted(args, "interrupted")
    name = signals.received()
    click.echo("已中断 interrupted" + (f" ({name})" if name else ""), err=True)
    return ExitCode.INTERRUPTED


def _first_problem(diagnostics: list[Diagnostic]) -> str:
    first = diagnostics[0] if diagnostics else None
    return f"{first.code}: {first.message_en}" if first else "invalid policy"


def _wants_json(argv: list[str] | None) -> bool:
    args = list(argv if argv is not None else sys.argv[1:])
    pairs = zip(args, [*args[1:], ""], strict=True)
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in pairs)
