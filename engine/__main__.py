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

import os
import sys
from contextlib import suppress
from typing import NoReturn

from engine import signals
from engine.exit_codes import ExitCode


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
        _exit_interrupted()
    try:
        code = main(args)
    except KeyboardInterrupt:  # a signal after main() had answered, before it returned
        code = ExitCode.INTERRUPTED
    signals.ended()  # a signal now changes neither how the command ended nor its exit code
    if code == ExitCode.INTERRUPTED and signals.received() is not None:
        _exit_interrupted()
    sys.exit(code)


def _exit_interrupted() -> NoReturn:
    """End a command a signal stopped with 130, skipping the interpreter's shutdown.

    The KeyboardInterrupt was caught and the command has done all it must (its
    manifest written, nothing half-written left, the warehouse closed), but
    CPython 3.11 can still end the process otherwise:

    - raised inside `exec` of a string (dataclasses and namedtuple build their
      methods that way, so any import may be in one), it leaves the
      interpreter's "unhandled KeyboardInterrupt" flag set, and at exit the
      interpreter kills itself with SIGINT: status −2, not 130 (CI met it at
      one SIGTERM in five, 0.3–0.6 s into a run);
    - raised in the middle of an import, it can leave an extension module half
      made, and the interpreter's shutdown then crashed with SIGSEGV (once in
      some hundreds).

    So the standard streams are flushed and the process ends at once.
    """
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):  # a closed pipe has nothing left to flush
            stream.flush()
    os._exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    entry_point()
