"""How every part of the check reports: into one list of diagnostics for the whole pack.

The pack's check is split among several checkers (the modules of dsl/check/);
each says what it finds with `error` or `warn`, into the one list that
`check_pack` returns, so that the diagnostics keep the order the pack is read in.
"""

from __future__ import annotations

from dsl.diagnostics import Diagnostic, Severity, Span
from dsl.types import Type


class Reporter:
    """Base of every checker: appends the problems it finds to the pack's diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics

    def error(self, code: str, span: Span | None, zh: str, en: str, *hints: str) -> None:
        self.diagnostics.append(Diagnostic(code, zh, en, span, tuple(h for h in hints if h)))

    def warn(self, code: str, span: Span | None, zh: str, en: str, *hints: str) -> None:
        self.diagnostics.append(
            Diagnostic(code, zh, en, span, tuple(h for h in hints if h), Severity.WARNING)
        )


def article(type_: Type) -> str:
    """A type's name with its English article: "an int", "a string" (for messages)."""
    return ("an " if type_.value[0] in "aeiou" else "a ") + type_.value
