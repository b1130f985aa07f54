"""One inline example's verdict, apart from engine/policy/check.py.

The examples' second process (engine/policy/workers.py) sends these back; it is
forked before the language's checker is imported, and never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.diagnostics import Diagnostic


@dataclass(frozen=True)
class ExampleOutcome:
    """One example's verdict, with the diagnostics that explain a failure."""

    model_id: str
    title: str
    passed: bool
    problems: tuple[Diagnostic, ...] = ()
