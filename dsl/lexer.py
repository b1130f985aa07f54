"""The tokens of rule text, for the scans that read it without parsing it.

Lark tokenizes for the parser, from dsl/grammar.lark. Three jobs read rule
text without the parser, and all three must see strings and comments as the
parser does (a `{` or `#` inside a string is text, an `example` inside a
comment is not a block):

- dsl/limits.py measures names, numbers and strings and counts brackets
  before Lark runs, on text that may not even parse;
- dsl/parser.py blanks out `example` blocks for commands that don't run them;
- dsl/format.py reads literals back as written and places the comments.

They read the same tokens, from `tokens`. Each token kind is written exactly
as the grammar's terminal of that name (tests/dsl/test_lexer.py compares
them with grammar.lark and with what Lark reads in every rule file), and
where two match at one place the grammar's priorities decide: a datetime
before a date before a number. Beyond the grammar, `unclosed` is a string
whose closing quote is missing (up to the end of its line), which only text
that does not parse has. All text is normalised first (dsl/parser.py
`normalise_full_width`: full-width punctuation read as ASCII).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["KINDS", "NUMBER", "TERMINALS", "Token", "tokens"]

# A number as the grammar's NUMBER terminal reads it (digits, `_` separators, a fraction).
NUMBER = r"\d[\d_]*(\.\d+)?"

# Each kind that is a terminal of dsl/grammar.lark, with the grammar's pattern for it.
TERMINALS: dict[str, tuple[str, str]] = {
    "comment": ("COMMENT", r"#[^\n]*"),
    "string": ("STRING", r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""),
    "datetime": ("DATETIME", r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?"),
    "date": ("DATE", r"\d{4}-\d{2}-\d{2}"),
    "number": ("NUMBER", NUMBER),
    "param": ("PARAM", r"\$[A-Za-z_][A-Za-z0-9_]*"),
    "name": ("NAME", r"[A-Za-z_\u3400-\u4dbf\u4e00-\u9fff][A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff]*"),
}

# Every kind, in the order they are tried: `space` is a run of white space (line
# breaks too), `punct` one character of anything else, or a two-character operator.
_PATTERNS = {
    "space": r"\s+",
    "comment": TERMINALS["comment"][1],
    "string": TERMINALS["string"][1],
    "unclosed": r""""(?:[^"\\\n]|\\.)*|'(?:[^'\\\n]|\\.)*""",
    **{
        kind: pattern
        for kind, (_, pattern) in TERMINALS.items()
        if kind not in ("comment", "string")
    },
    "punct": r"!=|<>|<=|>=|.",
}
KINDS = tuple(_PATTERNS)

_TOKEN = "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items())
"""One alternative per kind, compiled where first used (`re` keeps it): NAME's class over
the CJK blocks takes milliseconds to compile, and a check may lex nothing."""


@dataclass(frozen=True)
class Token:
    """A piece of rule text: its kind (one of KINDS), its text and its offsets in the text."""

    kind: str
    text: str
    start: int
    end: int


def tokens(text: str) -> Iterator[Token]:
    """Every token of `text` in order, spaces and comments included: joined, they are `text`."""
    for match in token_matches(text):
        kind = match.lastgroup
        assert kind is not None  # every alternative is a named group
        yield Token(kind, match.group(), match.start(), match.end())


def token_matches(text: str) -> Iterator[re.Match[str]]:
    """`tokens` as matches, each kind its `lastgroup`: for a pass over every token of a file.

    A frozen Token per token is a third of such a pass (dsl/limits.py's over the demo pack:
    45 ms with them, 31 without).
    """
    return re.finditer(_TOKEN, text)
