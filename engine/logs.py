"""What a run tells its scheduler as it goes: events with stable codes, for people or as JSON.

`--log-format json` writes one JSON object per line on stderr:
{"ts": "...", "code": "OV110", "event": "model.finished", ...facts}. The codes
are part of the interface: add new ones, never renumber.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

EVENT_CODES: dict[str, str] = {
    "run.started": "OV100",
    "model.finished": "OV110",
    "model.skipped": "OV111",
    "model.failed": "OV112",
    "model.timed_out": "OV113",
    "ledger.recorded": "OV120",
    "output.written": "OV121",
    "manifest.written": "OV122",
    "run.finished": "OV190",
    "run.interrupted": "OV191",
    "warehouse.lost": "OV192",
}


class EventLog:
    """Receives the events of a run and writes them as the user asked.

    Human mode says only what a person must act on (skipped, failed and timed
    out models); the summary comes from the command. JSON mode writes every
    event.
    """

    def __init__(self, log_format: str = "human", stream: TextIO | None = None) -> None:
        self.log_format = log_format
        self.stream = stream or sys.stderr

    def __call__(self, event: str, facts: dict[str, Any]) -> None:
        if self.log_format == "json":
            line = {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "code": EVENT_CODES[event],
                "event": event,
                **facts,
            }
            print(json.dumps(line, ensure_ascii=False, default=str), file=self.stream, flush=True)
            return
        if event == "model.skipped":
            missing = ", ".join(facts.get("missing_sources", []))
            self._say(f"  跳过 skipped {facts['id']}: 数据仓库中缺少来源 missing sources {missing}")
        elif event in ("model.failed", "model.timed_out"):
            self._say(f"  失败 failed {facts['id']}: {facts.get('error')}")
        elif event == "warehouse.lost":
            self._say(f"  数据仓库连接中断，本次运行未记录 warehouse lost: {facts.get('error')}")

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
