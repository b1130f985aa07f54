"""Debian's headless Chromium for the report tests, and what a page wrote to its console."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]

CONSOLE_LINE = re.compile(r':CONSOLE(?::\d+|\(\d+\))\] "(?P<message>.*)", source: (?P<source>\S*)')


def chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a file with a fresh profile; stdout and stderr as text."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def console_messages(stderr: str) -> list[str]:
    """Everything a page wrote to the console (or had written for it: errors, CSP refusals)."""
    found = [m.group("message") for m in CONSOLE_LINE.finditer(stderr)]
    found += [line for line in stderr.splitlines() if "Uncaught" in line and ":CONSOLE" not in line]
    return found
