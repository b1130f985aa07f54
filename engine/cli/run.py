"""`oversight run`: evaluate the models as of a day, record their warnings, say how it went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import (
    DEPLOYMENT,
    FORMAT,
    POLICIES,
    SELECT,
    WAREHOUSE,
    Failure,
    on_terminal,
    parse_date,
    selected,
)
from engine.exit_codes import ExitCode
from engine.runs.logs import EventLog
from engine.runs.manifest import model_counts
from engine.sources import models_reading


@click.command()
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
    day = parse_date(as_of)
    pack = api.load_pack(policies)
    setup = api.deployment_for(pack, deployment)
    models = selected(pack, select)
    showing = log_format == "human" and on_terminal()
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
