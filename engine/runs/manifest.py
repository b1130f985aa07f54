"""The manifest of a run: what ran, on what, with which rules, and how it went.

A scheduler reads it to know what a night's run did; an auditor reads it to
trace a warning to the rule text that raised it (model revisions). Its keys
are documented in README and only ever added to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.redaction import redact, scrub_value
from engine import __version__, signals
from engine.runs.atomic import replace_file

if TYPE_CHECKING:  # this module is imported at start-up, before the language is
    from dsl import ir

OUTCOMES = (
    "ok",
    "models_failed",
    "models_skipped",
    "warehouse_unreachable",
    "warehouse_lost",
    "permission_denied",
    "interrupted",
    "invalid_policy",
    "stale_sources",
)
"""Every outcome a manifest can state; README lists them."""


def model_counts(result: Any) -> dict[str, int]:
    """How many models ran, failed (or timed out) and were skipped; zeros before any ran."""
    outcomes = result.outcomes if result is not None else []
    return {
        "models_run": sum(1 for o in outcomes if o.status == "ran"),
        "models_failed": sum(1 for o in outcomes if o.status in ("failed", "timed_out")),
        "models_skipped": sum(1 for o in outcomes if o.status == "skipped"),
    }


@dataclass(frozen=True)
class RunFacts:
    """What is known of a run before it starts."""

    pack: ir.CheckedPack
    as_of: date
    warehouse: str
    run_id: str
    started_at: datetime

    def counts(self, result: Any) -> dict[str, Any]:
        """The counts the runs table keeps beside the manifest."""
        return {
            "started_at": self.started_at,
            "pack_version": self.pack.pack.version,
            **model_counts(result),
        }

    def manifest(
        self,
        result: Any,
        outcome: str,
        error: str | None = None,
        signal: str | None = None,
        sources: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """The manifest as JSON-able data; `result` is None when the run never got going.

        `signal` names a signal that came while the results were being committed:
        the run finished all the same (see engine/signals.py). `sources` is the
        sources' health (engine.sources.SourceHealth) the run stood on, when the run
        never got going after checking them; else the result's. The next run reads
        the rows each source had from here (engine.sources.previous_rows).
        """
        assert outcome in OUTCOMES, outcome
        finished = datetime.now(UTC).replace(tzinfo=None)
        outcomes = result.outcomes if result is not None else []
        recorded = getattr(result, "recorded", None)
        if sources is None:
            sources = getattr(result, "sources", None) or ()
        return scrub_value(
            {
                "run_id": self.run_id,
                "outcome": outcome,
                "error": error,
                "as_of": self.as_of.isoformat(),
                "warehouse": redact(self.warehouse),
                "engine_version": __version__,
                "pack": {"name": self.pack.pack.name, "version": self.pack.pack.version},
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "finished_at": finished.isoformat(timespec="seconds"),
                "seconds": round((finished - self.started_at).total_seconds(), 3),
                "warnings": {
                    "raised": result.warnings.num_rows if result is not None else 0,
                    "new_in_ledger": recorded.new if recorded is not None else None,
                },
                **model_counts(result),
                "models": [o.to_json() for o in outcomes],
                # The relations the run computed once for several models, with rows and seconds.
                "shared_steps": [s.to_json() for s in getattr(result, "shared", None) or ()],
                "sources": [h.to_json() for h in sources],
                "signal": signal,
            }
        )


def requested_path(argv: Sequence[str]) -> Path | None:
    """The `--manifest FILE` of an `oversight run` command line, read before click parses it.

    A signal can come while oversight is still starting (importing the
    language and the drivers takes a moment) or while the pack loads; the
    scheduler that asked for a manifest gets one then too.
    """
    words = [w for w in argv if w != "--debug"]
    if not words or words[0] != "run":
        return None
    for i, word in enumerate(words):
        if word == "--manifest" and i + 1 < len(words):
            return Path(words[i + 1])
        if word.startswith("--manifest="):
            return Path(word.split("=", 1)[1])
    return None


def requested_option(argv: Sequence[str], name: str) -> str | None:
    """The value of option `name` on a command line (`--name VALUE` or `--name=VALUE`)."""
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def write_unstarted(argv: Sequence[str], outcome: str, error: str | None = None) -> Path | None:
    """Write the manifest of a run that ended before it started, if its command line asks.

    Nothing ran and nothing was recorded; the pack and run id are unknown.
    Returns the file written, or None when no manifest was asked for.
    """
    path = requested_path(argv)
    if path is None:
        return None
    assert outcome in OUTCOMES, outcome
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    warehouse = requested_option(argv, "--warehouse")
    document = {
        "run_id": None,
        "outcome": outcome,
        "error": error,
        "as_of": requested_option(argv, "--as-of"),
        "warehouse": redact(warehouse) if warehouse else None,
        "engine_version": __version__,
        "pack": None,
        "started_at": now,
        "finished_at": now,
        "seconds": 0.0,
        "warnings": {"raised": 0, "new_in_ledger": None},
        "models": [],
        "shared_steps": [],
        "sources": [],
        "signal": signals.received(),
    }
    write_document(path, document)
    return path


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write a manifest so that a reader sees the old file or the whole new one.

    What it says is scrubbed of passwords (adapters/redaction.py) once more here:
    an error's text comes from a driver.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(scrub_value(document), ensure_ascii=False, indent=2, default=str) + "\n"
    replace_file(path, lambda out: out.write(text.encode("utf-8")))
