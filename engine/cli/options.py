"""Command-line options that several commands share, written once.

The command group (engine/cli/__init__.py) and the commands in their own
modules (params, warnings, fmt, precheck) take them from here: the group
imports those modules, so they cannot import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dsl.diagnostics import Diagnostic, render_human, render_json
from engine.api import POLICIES_ENV, WAREHOUSE_ENV


def policies_option(
    help_text: str = f"the policy pack directory (default: ${POLICIES_ENV} or ./policies)",
) -> Any:
    """--policies DIR: the pack to read, else $OVERSIGHT_POLICIES, else ./policies."""
    return click.option("--policies", type=click.Path(path_type=Path), default=None, help=help_text)


POLICIES = policies_option()

FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="human: for people; json: for machines",
)

DEPLOYMENT = click.option(
    "--deployment",
    type=click.Path(path_type=Path),
    default=None,
    help="a deployment YAML: warehouse URL, table mapping, parameter overrides",
)
WAREHOUSE = click.option(
    "--warehouse",
    default=None,
    help=f"duckdb:///PATH, sqlite:///PATH, postgresql://…, spark:///DIR (default: "
    f"${WAREHOUSE_ENV} or the deployment's, else duckdb:///oversight.duckdb)",
)


def emit_diagnostics(
    diagnostics: list[Diagnostic], output_format: str, sources: dict[str, str] | None = None
) -> None:
    """Diagnostics on stderr, for people (`human`) or machines (`json`)."""
    if not diagnostics:
        return
    if output_format == "json":
        click.echo(render_json(diagnostics), err=True)
    else:
        click.echo(render_human(diagnostics, sources), err=True)
