"""`oversight fmt`: rewrite rule files in their one canonical layout (dsl/format.py).

Registered on the `oversight` group by engine/cli/. Payload (the files that
change, and diffs) goes to stdout; diagnostics and the summary to stderr, as
for every other command. A file with a syntax error is never touched; it is
reported like `oversight check` reports it (FILE:LINE:COL, the line, a caret).

A file is replaced atomically (a temporary file in the same folder, then
os.replace), so an editor, `oversight check` or CI never sees half a file.
"""

from __future__ import annotations

import contextlib
import difflib
from pathlib import Path

import click

from dsl.diagnostics import Diagnostic, DiagnosticError, render_human
from dsl.format import FormatterBug, format_file
from engine import api
from engine.cli.options import policies_option
from engine.exit_codes import ExitCode
from engine.runs.atomic import replace_file


@click.command(name="fmt")
@policies_option(
    help_text="the pack whose rule files to format (default: $OVERSIGHT_POLICIES, else ./policies)"
)
@click.option(
    "--check",
    is_flag=True,
    help="write nothing; list the files that would change and exit 1 if there are any",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="write nothing; show what would change as a unified diff (implies --check)",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def fmt_command(
    ctx: click.Context,
    policies: Path | None,
    check: bool,
    show_diff: bool,
    files: tuple[Path, ...],
) -> None:
    """Lay out rule files canonically: FILES (or folders), else every .rule file of the pack."""
    check = check or show_diff
    paths = _rule_files(files, policies)
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    changed: list[Path] = []
    invalid = bugs = 0
    for path in paths:
        try:
            differs, formatted = format_file(path)
        except DiagnosticError as err:
            diagnostics.extend(err.diagnostics)
            invalid += 1
            with contextlib.suppress(OSError, UnicodeDecodeError):
                sources[str(path)] = path.read_text(encoding="utf-8")
            continue
        except FormatterBug as bug:
            bugs += 1
            click.echo(f"内部错误，未改动 internal error, left unchanged: {bug}", err=True)
            continue
        if not differs:
            continue
        changed.append(path)
        if check:
            click.echo(str(path))
            if show_diff:
                click.echo(_diff(path, formatted), nl=False)
        else:
            _write_atomically(path, formatted)
            click.echo(str(path))
    if diagnostics:
        click.echo(render_human(diagnostics, sources), err=True)
    click.echo(_summary(len(paths), len(changed), check, invalid, bugs), err=True)
    if bugs:
        ctx.exit(ExitCode.INTERNAL)
    if diagnostics:
        ctx.exit(ExitCode.INVALID_POLICY)
    if check and changed:
        ctx.exit(ExitCode.NOT_FORMATTED)
    ctx.exit(ExitCode.OK)


def _rule_files(files: tuple[Path, ...], policies: Path | None) -> list[Path]:
    """The files named (a folder stands for its .rule files), else the pack's .rule files."""
    roots = list(files) or [policies or api.default_policies()]
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            found.extend(sorted(root.rglob("*.rule")))
        elif root.exists():
            found.append(root)
        else:
            raise click.BadParameter(f"{root} 不存在 / does not exist", param_hint="--policies")
    return list(dict.fromkeys(found))


def _diff(path: Path, formatted: str) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        original = handle.read()
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        formatted.splitlines(keepends=True),
        f"{path} (当前 current)",
        f"{path} (格式化后 formatted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, keeping its permissions."""
    replace_file(path, lambda out: out.write(text.encode("utf-8")))


def _summary(total: int, changed: int, check: bool, invalid: int, bugs: int) -> str:
    if check:
        text = (
            f"{changed} 个文件需要格式化，共 {total} 个 / {changed} of {total} files would change"
        )
    else:
        text = f"已格式化 {changed} 个文件，共 {total} 个 / reformatted {changed} of {total} files"
    if invalid or bugs:
        text += f"；{invalid + bugs} 个文件未改动 / {invalid + bugs} files left untouched"
    return text
