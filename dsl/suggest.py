"""Suggestions for a mistyped name: the closest known one, "did you mean …?".

One scoring for every place a name can be misspelt — a column in a rule, a
parameter, a model on the command line — so that the same typo gets the
same suggestion wherever it is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from dsl.limits import MAX_NAME_CHARS


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name`, if one is close enough to be worth suggesting.

    Similarity of the whole name, with a bonus for a shared beginning: people
    misremember how a name ends (tender_limit for tender_threshold) more often
    than how it starts. A name longer than any name may be (a domain is a
    string, and strings may be long) gets no suggestion: comparing costs the
    product of the two lengths.
    """
    if len(name) > MAX_NAME_CHARS:
        return None

    def score(candidate: str) -> float:
        shared = next(
            (i for i, (a, b) in enumerate(zip(name, candidate, strict=False)) if a != b),
            min(len(name), len(candidate)),
        )
        ratio = difflib.SequenceMatcher(None, name, candidate).ratio()
        return ratio + 0.4 * shared / max(len(name), 1)

    best = max(candidates, key=score, default=None)
    if best is not None and score(best) >= 0.6:
        return best
    return None


def did_you_mean(name: str, candidates: Iterable[str], prefix: str = "") -> tuple[str, ...]:
    """A "did you mean …?" hint (Chinese and English) for the closest candidate, or none."""
    best = closest(name, candidates)
    if best is None:
        return ()
    return (f"是否要写 {prefix}{best}？ / did you mean {prefix}{best}?",)
