"""The `oversight` command: thin click commands over engine/api.py.

Payload goes to stdout, diagnostics and progress to stderr. Exit codes are
in engine/exit_codes.py. A problem in the rules or the data is reported in
words, never as a traceback; `--debug` shows the traceback of a bug.

Each command has its own module, imported only when that command runs (or
--help lists it): `oversight check` in the edit loop must not pay for importing
what `run`, `report` or `serve` need (pyarrow, the warehouses' drivers, Jinja2,
python-docx). This module imports nothing heavy.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from adapters.base import PermissionDenied, WarehouseError
from adapters.redaction import scrub
from dsl.diagnostics import Diagnostic, DiagnosticError
from engine import __version__, signals
from engine.cli.options import Failure, emit_diagnostics
from engine.exit_codes import ExitCode
from engine.runs.manifest import requested_option, write_unstarted

COMMANDS: dict[str, str] = {
    "advise": "engine.cli.advise:advise_command",
    "check": "engine.cli.check:check",
    "compile": "engine.cli.compile:compile_command",
    "demo": "engine.cli.demo:demo",
    "diff": "engine.cli.diff:diff",
    "explain": "engine.cli.explain:explain",
    "fmt": "engine.cli.fmt:fmt_command",
    "grants": "engine.cli.grants:grants_command",
    "param": "engine.cli.params:param_group",
    "precheck": "engine.cli.precheck:precheck_command",
    "report": "engine.cli.score:report",
    "run": "engine.cli.run:run",
    "score": "engine.cli.score:score",
    "serve": "engine.cli.precheck:serve_command",
    "sources": "engine.cli.sources:sources_command",
    "warnings": "engine.cli.warnings:warnings_command",
}
"""Command name -> "module:object" of its click command, imported when it is asked for."""


class LazyGroup(click.Group):
    """A command group that imports a command's module only when that command is wanted.

    (https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands)
    A command added with `add_command` (a test's) is found first, as in any group.
    """

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        module, _, name = self.lazy[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="oversight")
@click.option("--debug", is_flag=True, help="show the traceback of an internal error")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """oversight: supervision models (监督模型) as rules, compiled to SQL, run on a warehouse."""
    ctx.obj = {"debug": debug}


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
    from engine import api
    from engine.access import Refused, named_refusal

    command = next((word for word in args if word in COMMANDS), "?")
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
    if not isinstance(stop, signals.RunInterrupted):
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
