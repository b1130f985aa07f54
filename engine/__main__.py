"""The `oversight` command (and `python -m engine`): signal handlers first, then the CLI.

Importing the command line takes a moment (sqlglot, pyarrow, the drivers);
a scheduler's SIGTERM or a person's Ctrl-C in that moment must end the
command as any other interrupted one does — exit 130, and the manifest a run
asked for — so the handlers are installed before anything heavy is imported.
Only a signal in the interpreter's own start, before this module runs, ends
the process the operating system's way (README, "Signals"); once the command
has ended, signals are ignored until the process is gone.
"""

from __future__ import annotations

import sys

from engine import signals


def entry_point() -> None:
    """The console script: exit with the command's code.

    The handlers are installed inside the `try`: a signal that lands while
    `install()` is still running (one handler in place, the next not yet) raises
    where it is caught, not above it. A signal that lands inside the import
    machinery may reach us wrapped in another exception (CPython 3.11 turns
    what a class attribute's `__set_name__` raises into a RuntimeError, as when
    a dataclass is being built): once a signal has been received, whatever
    the import raised is that signal.
    """
    args = sys.argv[1:]
    try:
        signals.install()
        signals.point("start")
        from engine.cli import main
    except BaseException as stop:
        if not isinstance(stop, KeyboardInterrupt) and signals.received() is None:
            raise
        signals.hold()
        from engine.runs.manifest import write_unstarted

        write_unstarted(args, "interrupted")
        print(f"已中断 interrupted ({signals.received()})", file=sys.stderr)
        signals.ended()
        sys.exit(130)
    try:
        code = main(args)
    except KeyboardInterrupt:  # a signal after main() had answered, before it returned
        code = 130
    signals.ended()  # a signal now changes neither how the command ended nor its exit code
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
