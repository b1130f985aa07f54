"""How every part of the check reports: into one list of diagnostics for the whole pack.

The pack's check is split among several checkers (the modules of dsl/check/);
each says what it finds with `error` or `warn`, into the one list that
`check_pack` returns, so that the diagnostics keep the order the pack is read in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from dsl.diagnostics import Diagnostic, Span
from dsl.messages import diagnostic
from dsl.types import Type


class Reporter:
    """Base of every checker: appends the problems it finds to the pack's diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics

    def error(
        self, key: str, span: Span | None, /, *, hints: Iterable[str] = (), **fields: Any
    ) -> None:
        """Report the error that message `key` of dsl/messages.toml says, its fields filled in.

        Empty hints are left out, so that a site can pass one it may not have.
        """
        self.diagnostics.append(diagnostic(key, span, hints=hints, **fields))

    def warn(
        self, key: str, span: Span | None, /, *, hints: Iterable[str] = (), **fields: Any
    ) -> None:
        """Report a warning: the same as `error`, the severity following from the W code."""
        self.error(key, span, hints=hints, **fields)

    def relabel(self, since: int, code: str, /, *, hint: str, only: str | None = None) -> None:
        """Report the diagnostics found since index `since` (of code `only`, or all) as `code`.

        A check that reuses another's (the subquery's select checked as grouping
        is, E307; a grouped relation's columns, E461) keeps that check's wording
        but says the problem with its own code and hint (see `wording_of` in the catalog).
        """
        for i in range(since, len(self.diagnostics)):
            found = self.diagnostics[i]
            if only is None or found.code == only:
                self.diagnostics[i] = replace(found, code=code, hints=(hint,))


def article(type_: Type) -> str:
    """A type's name with its English article: "an int", "a string" (for messages)."""
    return ("an " if type_.value[0] in "aeiou" else "a ") + type_.value
