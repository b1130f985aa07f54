"""SIGINT and SIGTERM for the command line, and the fault-injection points that test them.

A scheduler stops a run with SIGTERM, a person with Ctrl-C; either must end
the run truthfully. Until a run starts committing its results, a signal
unwinds it (KeyboardInterrupt): nothing is recorded and the command exits
130. From the commit on, a signal is only noted: the commit finishes, the
command ends as the finished run it is, and its manifest says which signal
came. Stopping there instead would leave a ledger that was written by a run
that says it was interrupted.

A query running inside a driver does not see a signal at all: Python runs
handlers in the main thread, which is busy in the driver's C code until the
query ends — minutes or hours for a query gone wrong. So the handlers also
wake a watcher thread (`signal.set_wakeup_fd`), which cancels what the main
thread registered with `cancelling` (the warehouse's `interrupt`). The
driver then fails the query with its own error, and `received()` tells the
engine that the error is really the signal. (DuckDB also checks for signals
itself in some operators, answering "Query interrupted".)

This module imports nothing heavy: `engine/__main__.py` installs the
handlers before the rest of oversight is imported, so that a signal during
start-up is handled too.

Fault-injection points (`point(name)`) sit at the instants the tests need:
`OVERSIGHT_FAULT=SIGTERM@ledger.staged` makes the process send itself
SIGTERM there (also SIGINT, SIGKILL); `OVERSIGHT_FAULT=pause@model.query`
makes it wait at that instant until a test lets it go (see `point`).
Without the variable a point does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

FAULT_ENV = "OVERSIGHT_FAULT"
PAUSE_DIR_ENV = "OVERSIGHT_FAULT_DIR"
HANDLED = (signal.SIGINT, signal.SIGTERM)

_received: int | None = None
_held = False
_cancellers: list[Callable[[], None]] = []
_watching = False


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM before its commit; its manifest is written.

    Here rather than in engine/api.py, which raises it, so that the command line can
    tell it apart without importing the engine behind every command.
    """


def _handle(signum: int, frame: FrameType | None) -> None:
    """Note the signal; unwind the command unless its results are being committed."""
    global _received
    if _received is None:
        _received = signum
    if not _held:
        raise KeyboardInterrupt(signal.Signals(signum).name)


def install() -> None:
    """Handle SIGINT and SIGTERM in this process (only the main thread may do so)."""
    global _watching
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        signal.signal(signum, _handle)
    if not _watching:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        watcher = threading.Thread(target=_watch, args=(read_end,), daemon=True)
        watcher.start()
        _watching = True


def _watch(read_end: int) -> None:
    """Cancel the running query when a handled signal comes (the main thread may be in C)."""
    while data := os.read(read_end, 64):
        if _held or not any(byte in HANDLED for byte in data):
            continue
        for cancel in list(_cancellers):
            with suppress(Exception):  # a connection already closed has nothing to cancel
                cancel()


@contextmanager
def cancelling(cancel: Callable[[], None]) -> Iterator[None]:
    """While the block runs, a signal also calls `cancel` (from the watcher thread)."""
    _cancellers.append(cancel)
    try:
        yield
    finally:
        _cancellers.remove(cancel)


def reset() -> None:
    """Forget earlier signals and release the hold: a new command starts."""
    global _received, _held
    _received, _held = None, False


def received() -> str | None:
    """The name of the first signal received since `reset` (SIGTERM, SIGINT), if any."""
    return signal.Signals(_received).name if _received is not None else None


def hold() -> None:
    """From now on until `reset`, a signal is noted and not raised: the results are committing.

    Called where a run begins to commit; the command then ends as finished.
    """
    global _held
    _held = True


def ended() -> None:
    """The command has ended: from now on a signal is ignored, until the process is gone.

    Holding is not enough: as the interpreter shuts down, CPython puts the
    default handler back in place of a Python one (not in place of "ignore"), so a
    SIGTERM in those last milliseconds would end a finished command with status
    −15, its results committed. Only the main thread may change handlers.
    """
    hold()
    if threading.current_thread() is threading.main_thread():
        for signum in HANDLED:
            signal.signal(signum, signal.SIG_IGN)


def holding() -> bool:
    """Whether signals are being held (a run is committing)."""
    return _held


def raise_if_received() -> None:
    """Raise KeyboardInterrupt when a signal arrived and was turned into a driver's error."""
    if _received is not None and not _held:
        raise KeyboardInterrupt(received())


def point(name: str) -> None:
    """A named instant where a test can make a signal arrive, or make the process wait.

    `OVERSIGHT_FAULT=SIGNAL@NAME` sends SIGNAL to this process at the first
    point called NAME; `SIGNAL@NAME~` sends it from another thread a moment
    later, so that it lands in whatever comes next (a query running in the
    driver, say). `pause@NAME` creates the file `paused` in
    $OVERSIGHT_FAULT_DIR and waits until that file is removed — a test
    then acts (ends the database session, sends a real signal) at a known
    instant, without guessing how long anything takes.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec or "@" not in spec:
        return
    action, _, where = spec.partition("@")
    later = where.endswith("~")
    if where.rstrip("~") != name or _fired(name):
        return
    if action == "pause":
        _pause(Path(os.environ.get(PAUSE_DIR_ENV, ".")))
        return
    signum = signal.Signals[action.upper()]
    if later:
        threading.Thread(target=os.kill, args=(os.getpid(), signum), daemon=True).start()
    else:
        signal.raise_signal(signum)  # the handler runs before this returns


_fired_points: set[str] = set()


def _fired(name: str) -> bool:
    """Whether the point already fired in this process (each fires once)."""
    if name in _fired_points:
        return True
    _fired_points.add(name)
    return False


def _pause(folder: Path) -> None:
    flag = folder / "paused"
    flag.write_text(str(os.getpid()), encoding="utf-8")
    while flag.exists():
        time.sleep(0.01)
