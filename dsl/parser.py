"""Stage 1, parse: rule-file text to a `RuleFile` of AST nodes, or diagnostics.

Lark trees stay in this module. Full-width punctuation that Chinese input
methods produce (，（）：＝ and “…”) is read as its ASCII twin before lexing,
without moving any character, so positions in diagnostics stay exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import BasicLexer, CallChain, PatternStr, TerminalDef, UnlessCallback

from dsl import ast, lexer, limits
from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.messages import Wording, diagnostic

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

# Full-width characters read as their ASCII twin outside strings and comments.
# Each maps one character to one character, so no column moves.
FULL_WIDTH = str.maketrans(
    {
        "，": ",",
        "（": "(",
        "）": ")",
        "：": ":",
        "＝": "=",
        "＜": "<",
        "＞": ">",
        "！": "!",
        "＋": "+",
        "－": "-",
        "＊": "*",
        "／": "/",
        "＄": "$",
        "｛": "{",
        "｝": "}",
        "．": ".",
        "　": " ",
        "＃": "#",
        **{chr(0xFF10 + d): str(d) for d in range(10)},
    }
)


class _WholeWords:
    """Keeps NAME in every state of Lark's contextual lexer.

    Where no name may follow (after `p` in `where p investment`, after a
    complete condition), a lexer without NAME reads a keyword at the start of
    a longer word: "in" + "vestment", "key" + "s". With NAME always there, a
    word is read whole, and a keyword only when it is the whole word.
    """

    always_accept = ("NAME",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


@cache
def _pattern(regexp: str, flags: int) -> re.Pattern[str]:
    """One terminal's regular expression, compiled once per process whatever the state."""
    return re.compile(regexp, flags)


class _TerminalByTerminal:
    """Lark's `Scanner` (lark/lexer.py), trying each terminal's own compiled pattern in turn.

    Lark compiles, for each state of its contextual lexer, one alternation of the
    terminals that state accepts. NAME's class spans the CJK blocks, and Python's
    `re` walks every code point of a class range when it compiles one: the 30-odd
    states one rule file visits cost 40 ms of a fresh `oversight check`, three times
    the parse itself. An alternation matched at one position takes its first
    alternative that matches, so trying the same terminals in the same order, each
    compiled once, finds the same token. Keywords (what `fullmatch` serves: a NAME
    that is a whole keyword of the state) are plain strings, so a dict finds them.
    """

    def __init__(self, terminals: list[TerminalDef], flags: int) -> None:
        self.allowed_types = {t.name for t in terminals}
        # A plain string is compared as it is (its pattern is the string escaped); any
        # other terminal is matched by its pattern.
        self._tries = [
            (t.name, t.pattern.value if _plain(t, flags) else None, t.pattern.to_regexp(), flags)
            for t in terminals
        ]
        self._words: dict[str, str] | None = None
        if all(_plain(t, flags) for t in terminals):
            self._words = {}
            for t in reversed(terminals):  # the first of equal strings wins, as in the alternation
                self._words[t.pattern.value] = t.name

    def match(self, text: Any, pos: int) -> tuple[str, str] | None:
        """The first terminal that matches at `pos`, as (text, name); `text`: a str or a slice."""
        whole, end = (text, len(text)) if isinstance(text, str) else (text.text, text.end)
        for name, plain, regexp, flags in self._tries:
            if plain is not None:
                if whole.startswith(plain, pos, end):
                    return plain, name
                continue
            found = _pattern(regexp, flags).match(whole, pos, end)
            if found:
                return found.group(0), name
        return None

    def fullmatch(self, text: str) -> str | None:
        """The first terminal that matches the whole of `text` (a keyword for a NAME)."""
        if self._words is not None:
            return self._words.get(text)
        for name, plain, regexp, flags in self._tries:
            if text == plain or (plain is None and _pattern(regexp, flags).fullmatch(text)):
                return name
        return None


def _plain(terminal: TerminalDef, flags: int) -> bool:
    """Whether a terminal is a string matched as it is (no flag of its own or of the lexer)."""
    return isinstance(terminal.pattern, PatternStr) and not terminal.pattern.flags and not flags


class _SharedPatternsLexer(BasicLexer):
    """Lark's lexer of one parser state, its scanner a `_TerminalByTerminal`.

    `_build_scanner` is lark's own (lark/lexer.py: `BasicLexer._build_scanner` and
    `_create_unless`), with the scanners made here: a keyword that NAME would also
    read is taken out of the state's terminals and given back by a callback on NAME
    when the name is that whole keyword.
    """

    def _build_scanner(self) -> _TerminalByTerminal:  # type: ignore[override]
        flags = self.g_regex_flags
        words = [t for t in self.terminals if isinstance(t.pattern, PatternStr)]
        embedded: set[TerminalDef] = set()
        self.callback = {}
        for named in self.terminals:
            if isinstance(named.pattern, PatternStr):
                continue
            unless = []
            for word in words:
                if word.priority != named.priority:
                    continue
                found = _pattern(named.pattern.to_regexp(), flags).match(word.pattern.value)
                if found and found.group(0) == word.pattern.value:
                    unless.append(word)
                    if word.pattern.flags <= named.pattern.flags:
                        embedded.add(word)
            if unless:
                self.callback[named.name] = UnlessCallback(_TerminalByTerminal(unless, flags))
        for kind, call in self.user_callbacks.items():  # none: as lark chains them
            known = self.callback.get(kind)
            self.callback[kind] = (
                call if known is None else CallChain(known, call, lambda t, k=kind: t.type == k)
            )
        kept = [t for t in self.terminals if t not in embedded]
        return _TerminalByTerminal(kept, flags)


def _share_patterns(parser: Lark) -> Lark:
    """Give every state of `parser`'s contextual lexer the scanner of `_SharedPatternsLexer`.

    Reaches into Lark's lexer objects (lark 1.2 and 1.3 lay them out alike); a Lark
    that lays them out otherwise keeps its own scanners, as correct and slower.
    """
    contextual = getattr(getattr(parser.parser, "lexer", None), "lexer", None)
    lexers = getattr(contextual, "lexers", None)
    root = getattr(contextual, "root_lexer", None)
    if not isinstance(lexers, dict) or not isinstance(root, BasicLexer):
        return parser
    for state in {*lexers.values(), root}:
        if type(state) is BasicLexer and getattr(state, "_scanner", False) is None:
            state.__class__ = _SharedPatternsLexer
    return parser


@cache
def lark_parser(strict: bool = False, lark_scanners: bool = False) -> Lark:
    """The Lark parser, built once per process (and cached on disk by Lark between processes).

    Everything else reads rule files through parse_file and parse_expression;
    the raw parser is public for the grammar's own checks (tests/dsl): that
    it loads in Lark's strict mode (no conflicts), in which parser state
    each friendly syntax error stops, that dsl/lexer.py reads tokens as it
    does, and (`lark_scanners`: Lark's lexer untouched) that `_TerminalByTerminal`
    reads them as Lark's own scanners do.
    """
    parser = Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        start=["start", "expr"],
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_WholeWords(),
        strict=strict,
        cache=not strict,
    )
    return parser if lark_scanners else _share_patterns(parser)


# What normalise_full_width reads in one step: a comment (to the end of its line), a
# string quoted with ", ' or “ (a backslash takes the next character, even a line break, as
# text; an unescaped line break ends an unclosed string), or a run of anything else.
_FULL_WIDTH_SEGMENT = re.compile(
    r"(?P<comment>[#＃][^\n]*)"
    r"|(?P<plain>\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?)"
    r"|“(?P<curly>(?:[^”\"\\\n]|\\.)*)(?P<closed>[”\"]?)"
    r"|(?P<code>[^\"'“#＃]+)",
    re.DOTALL,
)


def normalise_full_width(text: str) -> str:
    """Read full-width punctuation and digits as ASCII outside strings and comments.

    A string may also be quoted with “ and ”, as Chinese input methods type them.
    """
    out: list[str] = []
    for segment in _FULL_WIDTH_SEGMENT.finditer(text):
        code, comment, curly = segment.group("code", "comment", "curly")
        if code is not None:
            out.append(code.translate(FULL_WIDTH))
        elif comment is not None:
            out.append("#" + comment[1:])
        elif curly is not None:
            out.append('"' + curly + ('"' if segment.group("closed") else ""))
        else:
            out.append(segment.group())
    return "".join(out)


# The word `example` opens a block where a title string follows it, and where it is not the
# end of a longer word or a column (`t.example`).
_TITLE_AFTER = re.compile(r'\s+"')
_JOINED_BEFORE = re.compile(r"[\w.$]")


def without_examples(normalised: str) -> str:
    """The text with every model's and the index's `example "…" { … }` blocks blanked out.

    Commands that don't run examples need not parse them, and they are most of
    a rule file. Each character of a block becomes a space (line breaks stay),
    so that every line and column of what is left is where it was. A block
    whose braces don't close is left in; parse_file then reports any syntax
    error from the whole text, as `check` does.
    """
    blanks: list[tuple[int, int]] = []
    depth = 0
    start: int | None = None
    for token in lexer.tokens(normalised):  # strings and comments whole: a brace in them is text
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
            if start is not None and depth == 1:
                blanks.append((start, token.end))
                start = None
        elif (
            token.kind == "name"
            and token.text == "example"
            and depth == 1
            and start is None
            and _TITLE_AFTER.match(normalised, token.end)
            and not _JOINED_BEFORE.match(normalised[token.start - 1 : token.start])
        ):
            start = token.start
    if not blanks:
        return normalised
    out: list[str] = []
    done = 0
    for begin, end in blanks:
        out.append(normalised[done:begin])
        out.append(re.sub(r"[^\n]", " ", normalised[begin:end]))
        done = end
    out.append(normalised[done:])
    return "".join(out)


def parse_file(path: str | Path, text: str | None = None, examples: bool = True) -> ast.RuleFile:
    """Parse one rule file; raise DiagnosticError with every syntax error located.

    With `examples` false the file's inline examples are skipped, not parsed.
    """
    path = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DiagnosticError(
                [
                    diagnostic(
                        "E100",
                        Span.point(path, 1, 1),
                        hints=[f"第 {exc.start} 字节无法按 UTF-8 解码；请用 UTF-8 保存文件"],
                    )
                ]
            ) from None
    if len(text) > limits.MAX_FILE_CHARS:  # before even the full-width pass reads it
        raise DiagnosticError([limits.file_too_large(path, len(text))])
    normalised = normalise_full_width(text.lstrip("\ufeff"))
    beyond = limits.check_text(normalised, path)
    if beyond is not None:
        raise DiagnosticError([beyond])
    try:
        read = normalised if examples else without_examples(normalised)
        tree = lark_parser().parse(read, "start")
    except UnexpectedInput as exc:
        if not examples:  # a file that doesn't parse is reported as `check` reports it
            return parse_file(path, text)
        raise DiagnosticError([_syntax_diagnostic(exc, path, normalised, text)]) from None
    beyond = limits.check_tree(tree, path)
    if beyond is not None:
        raise DiagnosticError([beyond])
    builder = _AstBuilder(path)
    items = tuple(builder.transform(tree).children)
    rule_file = ast.RuleFile(path=path, text=text, items=items)
    if builder.diagnostics:
        # A bad date (read as null) or a bad message brace leaves a whole tree:
        # hand it on, so that the checker reports this file's other problems too.
        raise DiagnosticError(builder.diagnostics, partial=rule_file)
    return rule_file


def parse_expression(text: str, file: str = "<expr>", line: int = 1, column: int = 1) -> ast.Expr:
    """Parse a lone expression, as if it started at `line`:`column` of `file`."""
    normalised = normalise_full_width(text)
    beyond = limits.check_text(normalised, file, line - 1, column - 1)
    if beyond is not None:
        raise DiagnosticError([beyond])
    try:
        tree = lark_parser().parse(normalised, start="expr")
    except UnexpectedInput as exc:
        raise DiagnosticError(
            [_syntax_diagnostic(exc, file, normalised, text, line - 1, column - 1)]
        ) from None
    beyond = limits.check_tree(tree, file, line - 1, column - 1)
    if beyond is not None:
        raise DiagnosticError([beyond])
    builder = _AstBuilder(file, line - 1, column - 1)
    result = builder.transform(tree)
    if builder.diagnostics:
        raise DiagnosticError(builder.diagnostics)
    return result


# ---- syntax errors -----------------------------------------------------------


def _syntax_diagnostic(
    exc: UnexpectedInput,
    path: str,
    normalised: str,
    original: str,
    line_shift: int = 0,
    column_shift: int = 0,
) -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = normalised.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    width = 1
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        width = len(str(exc.token))
    col = column + (column_shift if line == 1 else 0)
    span = Span.point(path, line + line_shift, col, width)
    # The wording of syntax errors is built from the catalog: read only for a file that has one.
    from dsl.syntax_errors import (
        FRIENDLY_ERRORS,
        describe_expected,
        hint_for_character,
        hint_for_token,
    )

    label = _match_friendly(exc)
    if label is not None:
        code, zh, en, hint, _ = FRIENDLY_ERRORS[label]
        return Wording(code, zh, en).at(span, [hint])

    if isinstance(exc, UnexpectedCharacters):
        bad = original[exc.pos_in_stream] if exc.pos_in_stream < len(original) else "?"
        zh, en, hint = hint_for_character(bad)
        return Wording("E101", zh, en).at(span, [hint] if hint else [])

    expected = sorted(
        getattr(exc, "accepts", None)  # what the parser would really take here
        or getattr(exc, "expected", None)
        or getattr(exc, "allowed", None)
        or []
    )
    expected_text_zh, expected_text_en = describe_expected(expected)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        got = str(exc.token)
        hints = (
            hint_for_token(got, expected),
            f"此处应为 {expected_text_zh} / expected {expected_text_en}",
        )
        return diagnostic("E102", span, hints=hints, got=got)
    return diagnostic(
        "E103", span, hints=[f"此处应为 {expected_text_zh} / expected {expected_text_en}"]
    )


def _match_friendly(exc: UnexpectedInput) -> str | None:
    """The label of a known mistake that fails in the same parser state on the same kind of token.

    Like Lark's `match_examples`, but a label is only taken when the offending
    token is of the same type, so an unrelated error in a shared state keeps the
    generic wording.
    """
    if not isinstance(exc, UnexpectedToken):
        return None
    from dsl.syntax_errors import FRIENDLY_ERRORS

    for label, (*_, example) in FRIENDLY_ERRORS.items():
        try:
            lark_parser().parse(example, start="start")
        except UnexpectedToken as known:
            if _state(known) == _state(exc) and known.token.type == exc.token.type:
                return label
        except UnexpectedInput:
            continue
    return None


def _state(exc: UnexpectedToken) -> object:
    """The LALR state the parser stopped in.

    Not `exc.state` itself: two ParserStates are equal only when their stacks
    are equally deep too, so `p.a == 1` right after `where` and after `and`
    would be different mistakes.
    """
    return getattr(exc.state, "position", exc.state)


# ---- tree to AST -------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


@v_args(tree=True)
class _AstBuilder(Transformer):
    """Shapes Lark's tree into AST dataclasses; judges nothing (that is the checker's job)."""

    def __init__(self, file: str, line_shift: int = 0, column_shift: int = 0) -> None:
        super().__init__()
        self.file = file
        self.line_shift = line_shift
        self.column_shift = column_shift
        self.diagnostics: list[Diagnostic] = []

    # -- positions

    def _col(self, line: int, column: int) -> int:
        return column + (self.column_shift if line == 1 else 0)

    def span(self, node: Tree | Token) -> Span:
        if isinstance(node, Token):
            line, col, end_line, end_col = node.line, node.column, node.end_line, node.end_column
        else:
            meta = node.meta
            if getattr(meta, "empty", True):
                return Span.point(self.file, 1, 1)
            line, col, end_line, end_col = meta.line, meta.column, meta.end_line, meta.end_column
        return Span(
            self.file,
            line + self.line_shift,
            self._col(line, col),
            end_line + self.line_shift,
            self._col(end_line, end_col),
        )

    # -- literals

    def _literal(self, token: Token, negative: bool = False) -> ast.Literal:
        span = self.span(token)
        kind = token.type
        text = str(token)
        if kind == "STRING":
            return ast.Literal(span, "string", _unquote(text))
        if kind == "NUMBER":
            digits = ("-" if negative else "") + text.replace("_", "")
            if "." in digits:
                return ast.Literal(span, "decimal", Decimal(digits))
            return ast.Literal(span, "int", int(digits))
        if kind == "DATE":
            try:
                return ast.Literal(span, "date", date.fromisoformat(text))
            except ValueError:
                return self._bad_date(span, text)
        if kind == "DATETIME":
            try:
                return ast.Literal(span, "timestamp", datetime.fromisoformat(text))
            except ValueError:
                return self._bad_date(span, text)
        if kind in ("TRUE", "FALSE"):
            return ast.Literal(span, "bool", kind == "TRUE")
        return ast.Literal(span, "null", None)

    def _bad_date(self, span: Span, text: str) -> ast.Literal:
        self.diagnostics.append(
            diagnostic("E104", span, hints=["日期写成 YYYY-MM-DD，例如 2021-04-20"], text=text)
        )
        return ast.Literal(span, "null", None)

    def literal(self, tree: Tree) -> ast.Literal:
        return self._literal(tree.children[0])

    def value(self, tree: Tree) -> ast.Literal:
        if len(tree.children) == 2:  # MINUS NUMBER
            return self._literal(tree.children[1], negative=True)
        return self._literal(tree.children[0])

    # -- expressions

    def param_ref(self, tree: Tree) -> ast.ParamRef:
        token = tree.children[0]
        return ast.ParamRef(self.span(token), str(token)[1:])

    def as_of(self, tree: Tree) -> ast.AsOf:
        return ast.AsOf(self.span(tree))

    def column(self, tree: Tree) -> ast.ColumnRef:
        alias, column = tree.children
        return ast.ColumnRef(self.span(tree), str(alias), str(column), self.span(column))

    def name(self, tree: Tree) -> ast.Name:
        return ast.Name(self.span(tree), str(tree.children[0]))

    def call(self, tree: Tree) -> ast.Call:
        name, args = tree.children
        span, name_span = self.span(tree), self.span(name)
        if args is None:
            return ast.Call(span, str(name), name_span, ())
        parts = [c for c in args.children if c is not None and not isinstance(c, Token)]
        condition = next((c.value for c in parts if isinstance(c, _Filter)), None)
        exprs = tuple(c for c in parts if not isinstance(c, tuple | _Filter))
        if args.data == "star_arg":
            return ast.Call(span, str(name), name_span, (), star=True, filter=condition)
        if args.data == "distinct_arg":
            return ast.Call(span, str(name), name_span, exprs, distinct=True, filter=condition)
        order = next((c for c in parts if isinstance(c, tuple)), ())
        return ast.Call(span, str(name), name_span, exprs, order_by=order, filter=condition)

    def agg_filter(self, tree: Tree) -> _Filter:
        return _Filter(tree.children[1])

    def order_by(self, tree: Tree) -> tuple[ast.OrderItem, ...]:
        return tuple(c for c in tree.children if isinstance(c, ast.OrderItem))

    def order_item(self, tree: Tree) -> ast.OrderItem:
        expr, direction = tree.children
        descending = direction is not None and direction.type == "DESC"
        return ast.OrderItem(self.span(tree), expr, descending)

    def not_(self, tree: Tree) -> ast.Unary:
        return ast.Unary(self.span(tree), "not", tree.children[1])

    def neg(self, tree: Tree) -> ast.Expr:
        operand = tree.children[1]
        if isinstance(operand, ast.Literal) and operand.kind in ("int", "decimal"):
            return ast.Literal(self.span(tree), operand.kind, -operand.value)  # type: ignore[operator]
        return ast.Unary(self.span(tree), "-", operand)

    def _chain(self, tree: Tree, op_name: str) -> ast.Expr:
        children = [c for c in tree.children if not isinstance(c, Token)]
        ops = [c for c in tree.children if isinstance(c, Token)]
        result = children[0]
        for op, right in zip(ops, children[1:], strict=True):
            span = _join_spans(result.span, right.span)
            result = ast.Binary(span, op_name, result, right, self.span(op))
        return result

    def or_expr(self, tree: Tree) -> ast.Expr:
        return self._chain(tree, "or")

    def and_expr(self, tree: Tree) -> ast.Expr:
        return self._chain(tree, "and")

    def arith(self, tree: Tree) -> ast.Binary:
        left, op, right = tree.children
        return ast.Binary(self.span(tree), str(op), left, right, self.span(op))

    def compare(self, tree: Tree) -> ast.Binary:
        left, op, right = tree.children
        text = "!=" if str(op) == "<>" else str(op)
        return ast.Binary(self.span(tree), text, left, right, self.span(op))

    def is_null(self, tree: Tree) -> ast.IsNull:
        return ast.IsNull(self.span(tree), tree.children[0], negated=False)

    def is_not_null(self, tree: Tree) -> ast.IsNull:
        return ast.IsNull(self.span(tree), tree.children[0], negated=True)

    def _in(self, tree: Tree, negated: bool) -> ast.InList:
        exprs = [c for c in tree.children if not isinstance(c, Token)]
        return ast.InList(self.span(tree), exprs[0], tuple(exprs[1:]), negated)

    def in_list(self, tree: Tree) -> ast.InList:
        return self._in(tree, negated=False)

    def not_in_list(self, tree: Tree) -> ast.InList:
        return self._in(tree, negated=True)

    def _in_param(self, tree: Tree, negated: bool) -> ast.InParam:
        operand, token = tree.children[0], tree.children[-1]
        return ast.InParam(
            self.span(tree), operand, self.param_ref(Tree("param_ref", [token])), negated
        )

    def in_param(self, tree: Tree) -> ast.InParam:
        return self._in_param(tree, negated=False)

    def not_in_param(self, tree: Tree) -> ast.InParam:
        return self._in_param(tree, negated=True)

    def between(self, tree: Tree) -> ast.Between:
        exprs = [c for c in tree.children if not isinstance(c, Token)]
        return ast.Between(self.span(tree), exprs[0], exprs[1], exprs[2])

    def exists(self, tree: Tree) -> ast.Exists:
        return ast.Exists(self.span(tree), tree.children[1])

    def case_expr(self, tree: Tree) -> ast.Case:
        _, operand, *rest = tree.children
        branches = tuple(c for c in rest if isinstance(c, tuple))
        otherwise = rest[-2]  # [ELSE expr] END: the expression, or None when left out
        return ast.Case(self.span(tree), branches, otherwise, operand)

    def case_branch(self, tree: Tree) -> tuple[ast.Expr, ast.Expr]:
        return (tree.children[1], tree.children[3])

    def _query_parts(self, children: list) -> ast.Query:
        source = next(c for c in children if isinstance(c, ast.SourceRef))
        joins = tuple(c for c in children if isinstance(c, ast.Join))
        where = None
        for i, c in enumerate(children):
            if isinstance(c, Token) and c.type == "WHERE":
                where = children[i + 1]
        first = children[0] if not isinstance(children[0], Token) else source
        last = where or (joins[-1] if joins else source)
        return ast.Query(_join_spans(first.span, last.span), source, joins, where)

    def query(self, tree: Tree) -> ast.Query:
        return self._query_parts([c for c in tree.children if c is not None])

    def subquery(self, tree: Tree) -> ast.Subquery:
        children = [c for c in tree.children if c is not None]
        select_at = next(
            i for i, c in enumerate(children) if isinstance(c, Token) and c.type == "SELECT"
        )
        query = self._query_parts(children[1:select_at])
        return ast.Subquery(self.span(tree), query, children[select_at + 1])

    def first_row(self, tree: Tree) -> ast.FirstRow:
        name, *rest = tree.children
        order_by, select = rest[-2], rest[-1]
        query = self._query_parts([c for c in rest[:-2] if c is not None])
        return ast.FirstRow(
            self.span(tree),
            str(name),
            self.span(name),
            query,
            order_by or (),
            select.items if select is not None else (),
        )

    def row_select(self, tree: Tree) -> _RowSelect:
        return _RowSelect(tuple(c for c in tree.children if isinstance(c, ast.SelectItem)))

    def source(self, tree: Tree) -> ast.SourceRef:
        name, alias = tree.children
        return ast.SourceRef(
            self.span(tree),
            str(name),
            str(alias) if alias is not None else str(name),
            self.span(name),
        )

    row_source = source  # the source of a `first(from …)`, a rule of its own (grammar.lark)

    def join(self, tree: Tree) -> ast.Join:
        left_kw, _, source, _, on = tree.children
        return ast.Join(self.span(tree), left_kw is not None, source, on)

    # -- model clauses

    def _clause(self, tree: Tree, kind: str, value: object) -> ast.Clause:
        return ast.Clause(self.span(tree), kind, value)

    def domain(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        text = _unquote(str(token)) if token.type == "STRING" else str(token)
        return self._clause(tree, "domain", (text, self.span(token)))

    def severity(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "severity", (str(token), self.span(token)))

    def status(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "status", (str(token), self.span(token)))

    def note(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "note", _unquote(str(tree.children[1])))

    def precheck(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "precheck", (str(token), self.span(token)))

    def from_clause(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "from", tree.children[1])

    def let(self, tree: Tree) -> ast.Clause:
        name, expr = tree.children[1], tree.children[2]
        return self._clause(tree, "let", ast.Let(self.span(name), str(name), expr))

    def where(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "where", tree.children[1])

    def group_by(self, tree: Tree) -> ast.Clause:
        exprs = tuple(c for c in tree.children if not isinstance(c, Token))
        return self._clause(tree, "group_by", exprs)

    def having(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "having", tree.children[1])

    def key(self, tree: Tree) -> ast.Clause:
        exprs = tuple(c for c in tree.children if not isinstance(c, Token))
        return self._clause(tree, "key", exprs)

    def township(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "township", tree.children[1])

    def amount(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "amount", tree.children[1])

    def message(self, tree: Tree) -> ast.Clause:
        return self._clause(tree, "message", self._template(tree.children[1]))

    def missing(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "missing", (_unquote(str(token)), self.span(token)))

    def advice(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "advice", (_unquote(str(token)), self.span(token)))

    def basis(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "basis", (_unquote(str(token)), self.span(token)))

    def _template(self, token: Token) -> ast.Template:
        """Split a message string into text and `{expr}` holes, each hole parsed in place."""
        raw = str(token)[1:-1]
        parts: list[ast.TemplateText | ast.TemplateHole] = []
        text: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                text.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
                i += 2
            elif raw.startswith("{{", i) or raw.startswith("}}", i):
                text.append(ch)
                i += 2
            elif ch == "{":
                end = raw.find("}", i)
                hole_column = token.column + 1 + i + 1
                if end < 0:
                    self.diagnostics.append(
                        diagnostic(
                            "E105",
                            Span.point(
                                self.file,
                                token.line + self.line_shift,
                                self._col(token.line, hole_column - 1),
                            ),
                            hints=["要在消息中写花括号本身，请写成 {{ 或 }}"],
                        )
                    )
                    break
                if text:
                    parts.append(ast.TemplateText("".join(text)))
                    text = []
                hole = raw[i + 1 : end]
                line = token.line + self.line_shift
                column = self._col(token.line, hole_column)
                try:
                    value, default = _hole_default(hole)
                    expr = parse_expression(value, self.file, line, column)
                    when_null = None
                    if default is not None:
                        when_null = self._default_text(hole[default:], line, column + default)
                    span = Span(self.file, line, column - 1, line, column + len(hole) + 1)
                    parts.append(ast.TemplateHole(span, expr, value.strip(), when_null))
                except DiagnosticError as err:
                    self.diagnostics.extend(_in_hole(d) for d in err.diagnostics)
                i = end + 1
            else:
                text.append(ch)
                i += 1
        if text:
            parts.append(ast.TemplateText("".join(text)))
        return ast.Template(self.span(token), tuple(parts))

    def _default_text(self, written: str, line: int, column: int) -> str:
        """The text after `??` in a message hole: a quoted text, written when the value is null."""
        literal = parse_expression(written, self.file, line, column)
        if not (isinstance(literal, ast.Literal) and literal.kind == "string"):
            raise DiagnosticError(
                [
                    diagnostic(
                        "E107",
                        literal.span,
                        hints=[
                            "值为空时写这段文字，例如 {g.signed_on ?? '无'} / "
                            "the text written when the value is null, e.g. {g.signed_on ?? '无'}"
                        ],
                    )
                ]
            )
        return str(literal.value)

    # -- examples

    def example(self, tree: Tree) -> ast.Clause:
        title = _unquote(str(tree.children[1]))
        as_of = None
        given: list[ast.GivenRow] = []
        pending: list[ast.GivenRow] = []
        params: list[tuple[str, ast.Literal, Span]] = []
        expect: list[ast.Expectation] = []
        expect_none = False
        for item in tree.children[2:]:
            if isinstance(item, ast.Literal):
                as_of = item
            elif isinstance(item, ast.GivenRow):
                given.append(item)
            elif isinstance(item, _Pending):
                pending.append(item.row)
            elif isinstance(item, ast.Expectation):
                expect.append(item)
            elif item == "expect_none":
                expect_none = True
            elif isinstance(item, tuple):
                params.append(item)
        example = ast.Example(
            self.span(tree),
            title,
            as_of,
            tuple(given),
            tuple(params),
            tuple(expect),
            expect_none,
            tuple(pending),
        )
        return self._clause(tree, "example", example)

    def as_of_line(self, tree: Tree) -> ast.Literal:
        return self._literal(tree.children[1])

    def param_line(self, tree: Tree) -> tuple[str, ast.ParamValue, Span]:
        token, value = tree.children
        return (str(token)[1:], value, self.span(token))

    def value_list(self, tree: Tree) -> ast.ListValue:
        items = tuple(c for c in tree.children if isinstance(c, ast.Literal))
        return ast.ListValue(self.span(tree), items)

    def value_map(self, tree: Tree) -> ast.MapValue:
        entries = tuple(c for c in tree.children if isinstance(c, tuple))
        return ast.MapValue(self.span(tree), entries)

    def map_entry(self, tree: Tree) -> tuple[str, Span, ast.Literal]:
        key, value = tree.children
        text = _unquote(str(key)) if key.type == "STRING" else str(key)
        return (text, self.span(key), value)

    def given(self, tree: Tree) -> ast.GivenRow:
        name = tree.children[1]
        fields = tuple(c for c in tree.children[2:] if isinstance(c, tuple))
        return ast.GivenRow(self.span(tree), str(name), self.span(name), fields)

    def pending(self, tree: Tree) -> _Pending:
        return _Pending(self.given(tree))

    def field(self, tree: Tree) -> tuple[str, ast.Literal, Span]:
        name, value = tree.children
        return (str(name), value, self.span(name))

    def expect(self, tree: Tree) -> ast.Expectation:
        children = list(tree.children)
        key = _unquote(str(children[1]))
        township = message = None
        changed = False
        for i, c in enumerate(children):
            if isinstance(c, Token) and c.type == "CHANGED":
                changed = True
            if isinstance(c, Token) and c.type == "TOWNSHIP":
                township = _unquote(str(children[i + 1]))
            if isinstance(c, Token) and c.type == "MESSAGE":
                message = _unquote(str(children[i + 1]))
        return ast.Expectation(self.span(tree), key, township, message, changed)

    def expect_none(self, tree: Tree) -> str:
        return "expect_none"

    # -- items

    def model(self, tree: Tree) -> ast.Model:
        name = tree.children[1]
        title = tree.children[2]
        clauses = tuple(
            ast.Clause(c.span, "join", c) if isinstance(c, ast.Join) else c
            for c in tree.children[3:]
            if isinstance(c, ast.Clause | ast.Join)
        )
        return ast.Model(
            self.span(tree),
            str(name),
            self.span(name),
            _unquote(str(title)) if title is not None else None,
            clauses,
        )

    def param(self, tree: Tree) -> ast.Param:
        name, type_name = tree.children
        return ast.Param(self.span(tree), str(name), str(type_name), self.span(type_name))

    def define(self, tree: Tree) -> ast.Define:
        children = list(tree.children)
        name = children[1]
        params = tuple(c for c in children if isinstance(c, ast.Param))
        title_token = next(
            (c for c in children[2:] if isinstance(c, Token) and c.type == "STRING"), None
        )
        body = children[-1]
        return ast.Define(
            self.span(tree),
            str(name),
            self.span(name),
            _unquote(str(title_token)) if title_token else None,
            params,
            body,
        )

    def lookup(self, tree: Tree) -> ast.Lookup:
        children = list(tree.children)
        by_at = next(i for i, c in enumerate(children) if isinstance(c, Token) and c.type == "BY")
        name, *params, title, source, column = children[1:by_at]
        *by, default_kw, default = children[by_at + 1 :]
        return ast.Lookup(
            self.span(tree),
            str(name),
            self.span(name),
            _unquote(str(title)) if title is not None else None,
            tuple((str(p), self.span(p)) for p in params),
            str(source),
            self.span(source),
            str(column),
            self.span(column),
            tuple((str(b), self.span(b)) for b in by),
            default if default_kw is not None else None,
        )

    def select_item(self, tree: Tree) -> ast.SelectItem:
        expr, _, name = tree.children
        return ast.SelectItem(self.span(tree), expr, str(name))

    def branch(self, tree: Tree) -> ast.Branch:
        children = [c for c in tree.children if c is not None]
        select_at = next(
            i for i, c in enumerate(children) if isinstance(c, Token) and c.type == "SELECT"
        )
        groups = next((c for c in children if isinstance(c, _Groups)), _Groups((), None))
        query = self._query_parts([c for c in children[:select_at] if c is not groups])
        after = children[select_at + 1 :]
        distinct = any(isinstance(c, Token) and c.type == "DISTINCT" for c in after)
        items = tuple(c for c in after if isinstance(c, ast.SelectItem))
        return ast.Branch(self.span(tree), query, items, distinct, groups.group_by, groups.having)

    def branch_groups(self, tree: Tree) -> _Groups:
        exprs = [c for c in tree.children if c is not None and not isinstance(c, Token)]
        having = any(isinstance(c, Token) and c.type == "HAVING" for c in tree.children)
        if having:
            return _Groups(tuple(exprs[:-1]), exprs[-1])
        return _Groups(tuple(exprs), None)

    # -- the index

    def index(self, tree: Tree) -> ast.Index:
        children = list(tree.children)
        name, title = children[1], children[2]
        clauses = tuple(c for c in children[3:] if isinstance(c, ast.Clause))
        return ast.Index(
            self.span(tree),
            str(name),
            self.span(name),
            _unquote(str(title)) if title is not None else None,
            clauses,
        )

    def indicator(self, tree: Tree) -> ast.Clause:
        _, name, title, unit, expr, *cases = tree.children
        value = ast.Indicator(
            self.span(name),
            str(name),
            _unquote(str(title)),
            expr,
            tuple(cases),
            str(unit) if unit is not None else None,
            self.span(unit) if unit is not None else None,
        )
        return self._clause(tree, "indicator", value)

    def empty_case(self, tree: Tree) -> tuple[ast.Expr, ast.Expr]:
        return (tree.children[1], tree.children[3])

    def part(self, tree: Tree) -> ast.Clause:
        _, name, title, *items = tree.children
        value = ast.Part(self.span(name), str(name), _unquote(str(title)), tuple(items))
        return self._clause(tree, "part", value)

    def part_item(self, tree: Tree) -> ast.PartItem:
        points, _, name, direction = tree.children
        return ast.PartItem(
            self.span(tree),
            Decimal(str(points).replace("_", "")),
            str(name),
            self.span(name),
            direction.type == "HIGHER",
        )

    def scale(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "scale", (str(token), self.span(token)))

    def rounding(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "rounding", (str(token), self.span(token)))

    def ties(self, tree: Tree) -> ast.Clause:
        token = tree.children[1]
        return self._clause(tree, "ties", (str(token), self.span(token)))

    def band(self, tree: Tree) -> ast.Clause:
        _, colour, title, _, condition = tree.children
        value = ast.Band(self.span(colour), str(colour), _unquote(str(title)), condition)
        return self._clause(tree, "band", value)

    def consequence(self, tree: Tree) -> ast.Clause:
        _, colour, text = tree.children
        return self._clause(
            tree, "consequence", (str(colour), self.span(colour), _unquote(str(text)))
        )

    def relation(self, tree: Tree) -> ast.Relation:
        children = list(tree.children)
        name, title = children[1], children[2]
        branches = tuple(c for c in children if isinstance(c, ast.Branch))
        return ast.Relation(
            self.span(tree),
            str(name),
            self.span(name),
            _unquote(str(title)) if title is not None else None,
            branches,
        )


def _hole_default(hole: str) -> tuple[str, int | None]:
    """A message hole split at its `??`: the value, and where the default text starts (or None).

    A `??` inside quotes is text, not the split.
    """
    quote = None
    for i, ch in enumerate(hole):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"“‘":
            quote = {"“": "”", "‘": "’"}.get(ch, ch)
        elif hole.startswith("??", i):
            return hole[:i], i + 2
    return hole, None


def _in_hole(found: Diagnostic) -> Diagnostic:
    """A message hole that ends too early: say so, not that the file ends too early."""
    if found.code != "E103":
        return found
    from dsl.syntax_errors import INCOMPLETE_HOLE

    code, zh, en, hint = INCOMPLETE_HOLE
    return Wording(code, zh, en).at(found.span, [hint, *found.hints])


class _Pending:
    """A `pending` row of an example, on its way into ast.Example (a `given` row otherwise)."""

    def __init__(self, row: ast.GivenRow) -> None:
        self.row = row


class _Groups:
    """The `group by … having …` of a relation branch, on its way into ast.Branch."""

    def __init__(self, group_by: tuple[ast.Expr, ...], having: ast.Expr | None) -> None:
        self.group_by = group_by
        self.having = having


class _Filter:
    """The `where …` of an aggregate, on its way into ast.Call."""

    def __init__(self, value: ast.Expr) -> None:
        self.value = value


class _RowSelect:
    """The `select x as name, …` of a `first(from …)`, on its way into ast.FirstRow."""

    def __init__(self, items: tuple[ast.SelectItem, ...]) -> None:
        self.items = items


def _join_spans(first: Span, last: Span) -> Span:
    return Span(first.file, first.line, first.column, last.end_line, last.end_column)
