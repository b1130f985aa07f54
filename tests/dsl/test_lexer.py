"""dsl/lexer.py reads rule text as the grammar does, for limits, example skipping and fmt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Token as LarkToken

from dsl.lexer import KINDS, TERMINALS, tokens
from dsl.parser import lark_parser, normalise_full_width

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = (ROOT / "dsl" / "grammar.lark").read_text(encoding="utf-8")
POLICY_FILES = sorted((ROOT / "policies").rglob("*.rule"))


def _grammar_pattern(terminal: str) -> str:
    """The regular expression grammar.lark gives `terminal` (alternatives joined by |)."""
    line = re.search(rf"^{terminal}(?:\.\d+)?: (.*)$", GRAMMAR, re.MULTILINE)
    assert line is not None, terminal
    return "|".join(re.findall(r"/((?:[^/\\]|\\.)*)/", line.group(1)))


@pytest.mark.parametrize("kind", sorted(TERMINALS))
def test_each_kind_is_written_as_the_grammar_writes_its_terminal(kind: str):
    terminal, pattern = TERMINALS[kind]
    assert pattern == _grammar_pattern(terminal)


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_every_token_lark_reads_in_the_pack_is_read_alike(path: Path):
    text = normalise_full_width(path.read_text(encoding="utf-8"))
    ours = {t.start: t for t in tokens(text)}
    theirs = [
        t
        for t in lark_parser().parse(text, "start").scan_values(lambda v: isinstance(v, LarkToken))
        if t.type in {terminal for terminal, _ in TERMINALS.values()}
    ]
    assert len(theirs) > 20
    for token in theirs:
        read = ours[token.start_pos]
        assert (TERMINALS[read.kind][0], read.end) == (token.type, token.end_pos), token


@given(st.text(alphabet=st.sampled_from("ab中1_-:T .$#\"'\\{}()<>=!\n\t"), max_size=60))
def test_the_tokens_of_any_text_are_the_text(text: str):
    found = list(tokens(text))
    assert "".join(t.text for t in found) == text
    assert all(t.kind in KINDS and text[t.start : t.end] == t.text for t in found)


def test_strings_and_comments_are_read_whole():
    text = "f('{', \"#\") # a } comment\nx"
    assert [(t.kind, t.text) for t in tokens(text) if t.kind != "space"] == [
        ("name", "f"),
        ("punct", "("),
        ("string", "'{'"),
        ("punct", ","),
        ("string", '"#"'),
        ("punct", ")"),
        ("comment", "# a } comment"),
        ("name", "x"),
    ]


def test_a_string_without_its_closing_quote_runs_to_the_end_of_its_line():
    found = [(t.kind, t.text) for t in tokens('message "a { b\n}')]
    assert found == [
        ("name", "message"),
        ("space", " "),
        ("unclosed", '"a { b'),
        ("space", "\n"),
        ("punct", "}"),
    ]


def test_dates_and_timestamps_before_numbers_as_the_grammar_ranks_them():
    found = [(t.kind, t.text) for t in tokens("2021-04-20 2021-04-20 10:30 1_000.50 $p <= a.b")]
    assert [f for f in found if f[0] != "space"] == [
        ("date", "2021-04-20"),
        ("datetime", "2021-04-20 10:30"),
        ("number", "1_000.50"),
        ("param", "$p"),
        ("punct", "<="),
        ("name", "a"),
        ("punct", "."),
        ("name", "b"),
    ]
