"""What a run tells its scheduler as it goes: events with stable codes, for people or as JSON.

`--log-format json` writes one JSON object per line on stderr:
{"ts": "...", "code": "OV110", "event": "model.finished", ...facts}. The codes
are part of the interface: add new ones, never renumber.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from adapters.redaction import scrub_value

EVENT_CODES: dict[str, str] = {
    "run.started": "OV100",
    "source.checked": "OV101",
    "shared.made": "OV102",
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
    "warehouse.refused": "OV193",
}


Progress = Callable[[str, int, int], None]
"""(step, done, total): how far a long command is, for a person watching a terminal."""


def no_progress(step: str, done: int, total: int) -> None:
    """Progress that says nothing: for callers with no one watching (off a terminal, a test)."""


class EventLog:
    """Receives the events of a run and writes them as the user asked.

    Human mode says what a person must act on (skipped, failed and timed out
    models); given `titles` (model id -> title, the models of the run: on a
    terminal), it shows every model as it finishes, numbered. The summary
    comes from the command. JSON mode writes every event.
    """

    def __init__(
        self,
        log_format: str = "human",
        stream: TextIO | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        self.log_format = log_format
        self.stream = stream or sys.stderr
        self.titles = titles
        self.finished = 0

    def __call__(self, event: str, facts: dict[str, Any]) -> None:
        facts = scrub_value(facts)  # a driver's error text may echo a password
        if self.log_format == "json":
            line = {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "code": EVENT_CODES[event],
                "event": event,
                **facts,
            }
            print(json.dumps(line, ensure_ascii=False, default=str), file=self.stream, flush=True)
            return
        if event == "model.skipped" and facts.get("drifted_columns"):
            self._model(facts, "跳过 skipped", str(facts.get("error")))
        elif event == "model.skipped":
            missing = ", ".join(facts.get("missing_sources", []))
            self._model(facts, "跳过 skipped", f"数据仓库中缺少来源 missing sources {missing}")
        elif event in ("model.failed", "model.timed_out"):
            self._model(facts, "失败 failed", str(facts.get("error")))
        elif event == "model.finished" and self.titles is not None:
            self._model(facts, "", f"{facts['warnings']} 条预警 warnings  {facts['seconds']:.2f} s")
        elif event == "shared.made" and facts.get("status") == "refused":
            # The run goes on, each model reading the relation inline: slower, same warnings.
            # A step that failed otherwise (a source missing) is told by its models' outcomes.
            self._say(
                f"  共享关系 {facts['relation']} 未能建为临时表，读取它的模型各自计算 / "
                f"shared relation {facts['relation']} was not made a temporary table, the "
                f"models reading it compute it themselves: {facts.get('error')}"
            )
        elif event == "warehouse.lost" and facts.get("outcome") == "warehouse_lost":
            # What was lost is said once, by the command's error; this says what it means.
            self._say(
                "  数据仓库连接中断，本次运行未记录，可直接重新运行 / "
                "the warehouse was lost midway: nothing was recorded, run again"
            )

    def _model(self, facts: dict[str, Any], label: str, detail: str) -> None:
        """One line for a model; numbered and with its title when showing progress."""
        if self.titles is None:
            self._say(f"  {label} {facts['id']}: {detail}")
            return
        self.finished += 1
        total = len(self.titles)
        title = self.titles.get(facts["id"], "")
        said = f"{label}: {detail}" if label else detail
        self._say(f"  [{self.finished:>{len(str(total))}}/{total}] {facts['id']} {title}  {said}")

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
