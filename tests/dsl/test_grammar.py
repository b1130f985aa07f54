"""The grammar is conflict-free, and the table of friendly syntax errors stays sound."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import GrammarError, LexError, UnexpectedInput, UnexpectedToken

from dsl.diagnostics import DiagnosticError
from dsl.parser import lark_parser, normalise_full_width, parse_file
from dsl.syntax_errors import (
    FRIENDLY_ERRORS,
    describe_expected,
    hint_for_character,
    hint_for_token,
)


def _needs_interegular() -> None:
    try:
        import interegular  # noqa: F401
    except ImportError:
        pytest.fail(
            "Lark's strict mode needs the interegular package: "
            "add it to the test extras in pyproject.toml"
        )


def test_the_grammar_loads_in_strict_mode():
    """Strict mode refuses shift/reduce conflicts and colliding terminals."""
    _needs_interegular()
    assert lark_parser(strict=True).options.strict


@pytest.mark.parametrize(
    ("grammar", "error"),
    [
        ('start: e\ne: e "+" e | NAME\nNAME: /[a-z]+/\n', GrammarError),  # a shift/reduce conflict
        ("start: A | B\nA: /a+/\nB: /a+b?/\n", LexError),  # two terminals match "a"
    ],
    ids=["conflict", "collision"],
)
def test_strict_mode_would_catch_a_broken_grammar(grammar: str, error: type[Exception]):
    _needs_interegular()
    with pytest.raises(error):
        Lark(grammar, parser="lalr", strict=True)


@pytest.mark.parametrize("label", sorted(FRIENDLY_ERRORS))
def test_each_friendly_example_fails_as_its_own_mistake(label: str):
    code, message_zh, message_en, hint, example = FRIENDLY_ERRORS[label]
    with pytest.raises(DiagnosticError) as caught:
        parse_file("example.rule", example)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.message_zh, diagnostic.hints) == (code, message_zh, (hint,))
    assert message_en


def test_no_two_friendly_examples_stop_in_the_same_place():
    """Two examples failing in the same parser state on the same kind of token: one never wins."""
    seen: dict[tuple[object, str], str] = {}
    for label, (*_, example) in FRIENDLY_ERRORS.items():
        with pytest.raises(UnexpectedToken) as caught:
            lark_parser().parse(example, start="start")
        where = (caught.value.state.position, caught.value.token.type)
        assert where not in seen, f"{label} and {seen[where]} stop at the same place"
        seen[where] = label


def test_expected_tokens_read_as_words_with_the_likely_ones_first():
    after_a_condition = ["AND", "DOMAIN", "EXAMPLE", "FROM", "KEY", "OR", "RBRACE", "WHERE"]
    assert describe_expected(after_a_condition) == (
        "关键字 and、关键字 or、下一个子句（如 where、key、township、message）、「}」",
        "'and', 'or', the next clause (where, key, township, message, …), '}'",
    )
    a_value = ["DATE", "DATETIME", "LPAR", "MINUS", "NAME", "NUMBER", "PARAM", "STRING"]
    assert describe_expected(a_value) == (
        '一个值或列，如 p.status、100、"文字"、2021-04-20、$参数',
        'a value or a column, e.g. p.status, 100, "text", 2021-04-20, $param',
    )
    assert describe_expected(["LPAR"]) == ("「(」", "'('")


@pytest.mark.parametrize(
    ("word", "expected", "hint"),
    [
        ("keys", ["KEY", "WHERE"], "是否要写 key？ / did you mean key?"),
        ("Key", ["KEY", "WHERE"], "关键字要小写：key / keywords are written in lower case: key"),
        ("并且", ["AND", "OR"], "「并且」要写作 and / write 'and' for '并且'"),
        ("或者", ["AND", "OR"], "「或者」要写作 or / write 'or' for '或者'"),
        ("并且", ["RPAR"], None),  # 'and' cannot stand here, so don't suggest it
        ("investment", ["AND", "OR"], None),
    ],
)
def test_a_hint_for_an_unexpected_word(word: str, expected: list[str], hint: str | None):
    assert hint_for_token(word, expected) == hint


def test_a_character_that_cannot_be_read_is_named_and_explained():
    assert hint_for_character("、")[:2] == (
        "无法识别的字符「、」",
        "character '、' is not part of the language",
    )
    assert hint_for_character('"')[0] == "字符串缺少结尾的引号"
    assert hint_for_character("\u00a0")[0] == "这里有一个看不见的特殊空格（不间断空格）"
    assert hint_for_character("～")[2] == (
        "这是全角字符，请改用半角（英文）标点 / a full-width character: use ASCII"
    )
    assert hint_for_character("@")[2] is None


def _outcome(parser: Lark, text: str) -> object:
    """The tree, or where and how the text fails: what a scanner's choice of token decides."""
    try:
        return parser.parse(text, start="start")
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        return (
            type(err).__name__,
            err.line,
            err.column,
            sorted(getattr(err, "allowed", None) or ()),
            sorted(getattr(err, "expected", None) or ()),
            (str(token), token.type) if token is not None else None,
        )


def test_the_lexer_reads_tokens_as_lark_own_scanners_do():
    """Each state's scanner tries the terminals one by one (dsl/parser.py `_TerminalByTerminal`).

    Lark's own compiles one alternation per state; both must read every rule file
    of the pack and of the tests, and the same files broken in a thousand small
    ways, into the same tree or the same error.
    """
    ours = lark_parser()
    assert type(ours.parser.lexer.lexer.root_lexer).__module__ == "dsl.parser"  # swapped
    lark_own = lark_parser(lark_scanners=True)
    root = Path(__file__).resolve().parents[2]
    texts = [
        normalise_full_width(path.read_text(encoding="utf-8"))
        for folder in ("policies", "tests")
        for path in sorted((root / folder).rglob("*.rule"))
    ]
    assert len(texts) > 50
    for text in texts:
        assert _outcome(ours, text) == _outcome(lark_own, text)
    pieces = ["", "(", '"', "in", "1", "-", "$x", "2021-01-01", "#", "model ", "@", " ", "not"]
    chance = random.Random(2026)
    for _ in range(1000):
        text = chance.choice(texts)
        start = chance.randrange(len(text))
        end = min(len(text), start + chance.randrange(1, 6))
        broken = text[:start] + chance.choice(pieces) + text[end:]
        assert _outcome(ours, broken) == _outcome(lark_own, broken), broken
