"""`oversight compile`: print or write each model's SQL for a dialect, or all of compiled/."""

from __future__ import annotations

from pathlib import Path

import click

from engine import api
from engine.cli.options import DEPLOYMENT, POLICIES, SELECT, parse_date, selected
from engine.compiler.dialects import DIALECTS


@click.command(name="compile")
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
    selected(pack, select, include_inactive=True)
    compiled = api.compile_pack(pack, dialect, select, parse_date(as_of) if as_of else None, setup)
    if out is None:
        for c in compiled:
            click.echo(api.sql_file(c, pack))
        return
    out.mkdir(parents=True, exist_ok=True)
    for c in compiled:
        (out / f"{c.model.id}.sql").write_text(api.sql_file(c, pack), encoding="utf-8")
    click.echo(f"wrote {len(compiled)} files to {out}", err=True)
