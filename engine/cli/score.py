"""`oversight score` and `oversight report`: the 廉情指数 of a period, as a table or a page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine import api
from engine.cli.options import DEPLOYMENT, DISPOSAL, FORMAT, PERIOD, POLICIES, WAREHOUSE
from engine.cli.warnings import pad
from engine.index.disposal import load_disposal_file
from engine.index.score import Period
from engine.policy.deployment import Deployment


@click.command()
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


@click.command()
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
