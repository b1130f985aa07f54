"""Full-width punctuation reads as ASCII outside strings and comments, and nothing moves.

Chinese input methods type （，＝ and “…” quotes; the parser reads them as ASCII, but a
string or a comment keeps what was written. Every character stays one character at its
place, so that a diagnostic's line and column point into the text as written.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.parser import normalise_full_width

CASES = {
    "punctuation outside strings": ("where p.a ＝ １，b（c）", "where p.a = 1,b(c)"),
    "a string keeps its text": ('"（不变），"（', '"（不变），"('),
    "so does one in single quotes": ("'（不变）'（", "'（不变）'("),
    "Chinese quotes become ASCII": ("“中文（不变）”（", '"中文（不变）"('),
    "a Chinese quote closed by an ASCII one": ('“中文（不变）"（', '"中文（不变）"('),
    "a comment keeps its text": ("＃ 注释（不变）\nx（", "# 注释（不变）\nx("),
    "a comment inside a string is text": ('"#（"（', '"#（"('),
    "an unclosed string ends at its line": ('"abc（\n（', '"abc（\n('),
    "an escaped quote stays in the string": ('"a\\"（"（', '"a\\"（"('),
    "an escaped line break continues it": ('"a\\\n（"（', '"a\\\n（"('),
    "a backslash at the end": ('"a\\', '"a\\'),
    "an unclosed Chinese quote": ("“ab（", '"ab（'),
}


@pytest.mark.parametrize("case", list(CASES))
def test_full_width_read_as_ascii_outside_strings_and_comments(case: str):
    written, read = CASES[case]
    assert normalise_full_width(written) == read


@given(st.text(alphabet="ab \"'\\\n#＃“”，（）：＝！１x\t", max_size=40))
def test_every_character_keeps_its_place(text: str):
    read = normalise_full_width(text)
    assert len(read) == len(text)
    assert [i for i, c in enumerate(read) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"
    ]
    assert normalise_full_width(read) == read
