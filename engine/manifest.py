"""The manifest of a run: what ran, on what, with which rules, and how it went.

A scheduler reads it to know what a night's run did; an auditor reads it to
trace a warning to the rule text that raised it (model revisions). Its keys
are documented in README and only ever added to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse, urlunparse

from dsl import ir
from engine import __version__


def redact(url: str) -> str:
    """A warehouse URL without its password."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


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

    def manifest(self, result: Any, outcome: str, error: str | None = None) -> dict[str, Any]:
        """The manifest as JSON-able data; `result` is None when the run never got going."""
        finished = datetime.now(UTC).replace(tzinfo=None)
        outcomes = result.outcomes if result is not None else []
        recorded = getattr(result, "recorded", None)
        return {
            "run_id": self.run_id,
            # ok | models_failed | models_skipped | warehouse_unreachable | warehouse_lost
            # | interrupted
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
        }
