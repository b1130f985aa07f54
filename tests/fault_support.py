"""Holding a command at a fault point (`OVERSIGHT_FAULT=pause@POINT`) without polling.

The engine, at the point, writes its pid into `OVERSIGHT_FAULT_DIR/paused` and waits there
until the file is removed (engine/signals.py). Made a FIFO before the command starts, that
write wakes the test; the command's pidfd wakes it if the command ends first. No clock:
the test waits as long as the machine needs, and learns at once when the point is missed.
"""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

import pytest


class PausePoint:
    """The `paused` flag of one fault folder, armed before the command starts."""

    def __init__(self, folder: Path) -> None:
        self.flag = folder / "paused"
        os.mkfifo(self.flag)
        # Non-blocking: opening waits for no writer, and reading waits in select() instead.
        self._reader = os.open(self.flag, os.O_RDONLY | os.O_NONBLOCK)

    def reached(self, process: subprocess.Popen) -> int:
        """Wait until `process` stops at the point; the pid the engine wrote (its own).

        Fails the test, with the command's stderr, when the command ends without reaching it.
        """
        ended = os.pidfd_open(process.pid)
        try:
            ready, _, _ = select.select([self._reader, ended], [], [])
            written = os.read(self._reader, 64) if self._reader in ready else b""
        finally:
            os.close(ended)
            os.close(self._reader)  # one pause per flag: the engine writes it once
        if not written:
            _, err = process.communicate()
            pytest.fail(f"the command ended (exit {process.returncode}) before the point: {err}")
        return int(written)

    def release(self) -> None:
        """Let the paused command go on (the engine waits for the flag to disappear)."""
        self.flag.unlink()
