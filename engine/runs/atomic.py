"""Replacing a file in one step, so that no reader ever sees half of it.

Reports, warnings files, formatted rule files and edited YAML are all read by
someone else while we write them (a browser, a scheduler, an editor, CI): the
new content goes to a temporary file in the same folder, reaches the disk,
and is renamed over the old one. A failure or a signal midway leaves the old
file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def replace_file(path: Path, write: Callable[[BinaryIO], object], mode: int | None = None) -> None:
    """Replace `path` with what `write` writes to the binary file it is given.

    `mode` sets the new file's permissions; by default a file replaced keeps its
    own and a new one gets what creating it would give (0666 less the umask), so
    that a report or draft others open is not left at the temporary file's 0600.
    The folder must exist.
    """
    with replacing_file(path, write, mode):
        pass


@contextmanager
def replacing_file(
    path: Path, write: Callable[[BinaryIO], object], mode: int | None = None
) -> Iterator[None]:
    """Write the new content now; put it in place only when the block ends without error.

    A run writes its warnings file this way around the ledger's commit: the
    file appears only once the ledger holds the same run, and a run that
    fails before that leaves neither.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode if mode is not None else _mode_for(path))
        yield
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permissions `path` has, or those a file created there now would get."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # the only way to read it; set back at once
        os.umask(umask)
        return 0o666 & ~umask
