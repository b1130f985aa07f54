"""How big a rule file may be, checked before anything that recurses reads it.

Everything after the parser walks the syntax tree recursively — building the
AST, the checker, the formatter, the compiler, sqlglot writing SQL for twelve
dialects — and Python stops a recursion at about a thousand frames. A rule
nested deeply enough (`not not not …`, `- - - …`, `exists` inside `exists`,
hundreds of `and` terms) would end in a RecursionError and exit 70, as would
a 4,301-digit number (Python's limit for turning digits into an int); a
100,000-character name makes the "did you mean …?" search take minutes.

So two cheap scans that never recurse come first, each with its own code:
`check_text` reads the text (file size E130, names E131, literals E132,
brackets E133) before Lark does, and `check_tree` measures how deeply the
parse tree nests and how many subqueries sit inside one another (E133)
before the AST builder walks it. Then the checker, which checks shared
definitions in an order that needs no recursion from one to the next,
measures each model as the compiler will write it, definitions and lets
written out in place (`written_out_problem`: E133, and E134 for size).

The limits are far beyond what the pack's rules use (names of at most 21
characters, nesting of at most 21 levels counted from the file's top, 18
levels, 4 subqueries and 500 nodes written out) and well within what every
later stage can take: tests/dsl/test_limits.py runs a rule at each limit
through check, compile for every dialect, fmt and its examples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsl.diagnostics import Diagnostic, Span
from dsl.lexer import token_matches
from dsl.messages import diagnostic, message

if TYPE_CHECKING:  # Lark is imported where a file is parsed: a cached tree needs none of it
    from lark import Token, Tree

# The pack's largest rule file has about 4,500 characters.
MAX_FILE_CHARS = 200_000
# The pack's longest name (a source, column, parameter, let or model id) has 21.
MAX_NAME_CHARS = 64
# DECIMAL(38) is the widest exact number a warehouse holds.
MAX_NUMBER_DIGITS = 38
# The pack's longest string (a message) has about 250 characters.
MAX_STRING_CHARS = 10_000
# Levels of the parse tree from the top of the file: a model and its clause take
# three, each operator, call, `not`, `-`, `exists`, subquery and each further
# `and`/`or` term one more. The pack's deepest rule has 21; also the most brackets
# open at once.
MAX_NESTING = 64
# Subqueries (`exists(…)`, `(from … select …)`) inside one another. The pack's rules
# nest one; DuckDB takes twice as long to plan for each further level of correlated
# subqueries past ten or so, seconds at fourteen, minutes at twenty.
MAX_SUBQUERY_NESTING = 8

# Nodes of a model's expressions once shared definitions and lets are written out in
# place, as the compiler writes them: a definition that calls another twice, and that
# one the next twice, doubles the SQL at every step. The pack's largest model has about
# 500 (ENG04, 18 levels deep and 4 subqueries written out).
MAX_WRITTEN_OUT_SIZE = 20_000


class _Place:
    """Turns offsets of a text into spans, shifted like the parser shifts a message hole."""

    def __init__(self, text: str, file: str, line_shift: int, column_shift: int) -> None:
        self.text = text
        self.file = file
        self.line_shift = line_shift
        self.column_shift = column_shift

    def span(self, start: int, end: int) -> Span:
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        if line == 1:
            column += self.column_shift
        # A long token is marked on its first line, at most to the end of that line.
        line_end = self.text.find("\n", start)
        end = min(end, line_end if line_end >= 0 else len(self.text))
        return Span(
            self.file,
            line + self.line_shift,
            column,
            line + self.line_shift,
            column + max(end - start, 1),
        )


def check_text(
    text: str, file: str, line_shift: int = 0, column_shift: int = 0
) -> Diagnostic | None:
    """The first limit the normalised `text` goes beyond, or None.

    One pass over its tokens (dsl/lexer.py: one regular expression, no
    recursion), safe on any text: names and `$parameters` are measured,
    numbers and strings (closed or not), and brackets counted; a bracket or
    `#` inside a string is text.
    """
    place = _Place(text, file, line_shift, column_shift)
    if len(text) > MAX_FILE_CHARS:
        return file_too_large(file, len(text))
    depth = 0
    for lexeme in token_matches(text):
        kind, token = lexeme.lastgroup, lexeme.group()
        if kind in ("name", "param") and len(token.lstrip("$")) > MAX_NAME_CHARS:
            return diagnostic(
                "E131",
                place.span(lexeme.start(), lexeme.end()),
                length=len(token.lstrip("$")),
                max_name_chars=MAX_NAME_CHARS,
                hints=[
                    f"名称以「{token[:20]}」开头；请缩短，或检查是否漏了空格、运算符 / "
                    "shorten it, or look for a missing space or operator"
                ],
            )
        if kind == "number":
            digits = sum(ch.isdigit() for ch in token)
            if digits > MAX_NUMBER_DIGITS:
                return diagnostic(
                    "E132.number",
                    place.span(lexeme.start(), lexeme.end()),
                    digits=digits,
                    max_number_digits=MAX_NUMBER_DIGITS,
                    hints=[
                        "金额以元计，最多 38 位数字；检查是否多打了数字或漏了运算符 / "
                        "look for extra digits or a missing operator"
                    ],
                )
        elif kind in ("string", "unclosed") and len(token) - 2 > MAX_STRING_CHARS:
            return diagnostic(
                "E132.string",
                place.span(lexeme.start(), lexeme.end()),
                length=len(token) - 2,
                max_string_chars=MAX_STRING_CHARS,
                hints=[
                    "检查前面的字符串是否少了结尾的引号 / "
                    "did an earlier string lose its closing quote?"
                ],
            )
        elif token in ("(", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return too_deep(place.span(lexeme.start(), lexeme.end()), "brackets")
        elif token in (")", "}"):
            depth = max(depth - 1, 0)
    return None


def file_too_large(file: str, size: int) -> Diagnostic:
    """E130 for a rule file of `size` characters."""
    return diagnostic(
        "E130",
        Span.point(file, 1, 1),
        size=size,
        max_file_chars=MAX_FILE_CHARS,
        hints=["一个文件写一个模型；共享的定义放在 shared/ 下 / one model per file"],
    )


def too_deep(span: Span, what: str = "expression", terms: int = 0) -> Diagnostic:
    """E133: brackets, an expression, subqueries or a chain of `terms` and/or nested too deeply."""
    if what == "brackets":
        wording = message("E133.brackets", max_nesting=MAX_NESTING)
        hint = "括号只在需要时写；把一部分写成 let / write only the brackets the meaning needs"
    elif what == "subquery":
        wording = message("E133.subqueries", max_subquery_nesting=MAX_SUBQUERY_NESTING)
        hint = (
            "子查询一般一层就够：用 join 把要一起看的来源连起来 / "
            "one level of subquery is usually enough: join the sources instead"
        )
    elif what == "chain":
        wording = message("E133.chain", terms=terms, max_nesting=MAX_NESTING)
        hint = (
            "and/or 连接的每个条件算一层：一长串 or 改写成 in (…)，或把一部分写成 let / "
            "each and/or term is a level: write a long chain of or as in (…), or use lets"
        )
    else:
        wording = message("E133.expression", max_nesting=MAX_NESTING)
        hint = (
            "每个 not、负号、运算、函数和子查询都算一层；把一部分写成 let / "
            "each not, minus, operator, call and subquery is a level: move parts into lets"
        )
    return wording.at(span, [hint])


def written_out_problem(span: Span, depth: int, size: int, subqueries: int) -> Diagnostic | None:
    """E133 or E134 for an expression that is too deep or too large written out, or None.

    `depth`, `size` and `subqueries` measure it with the shared definitions it
    calls and the lets it reads written out in place (dsl.ir.extent), as the
    compiler writes it; each definition may be within the limits on its own.
    """
    hint = (
        "共享定义在调用处原样展开，let 在使用处展开；让定义少调用其他定义，或直接写出条件 / "
        "a shared definition is written out where it is called, a let where it is read: "
        "call fewer definitions from definitions, or write the condition out"
    )
    if size > MAX_WRITTEN_OUT_SIZE:
        return diagnostic(
            "E134", span, size=size, max_written_out_size=MAX_WRITTEN_OUT_SIZE, hints=[hint]
        )
    if depth > MAX_NESTING:
        return diagnostic(
            "E133.written_out_depth", span, depth=depth, max_nesting=MAX_NESTING, hints=[hint]
        )
    if subqueries > MAX_SUBQUERY_NESTING:
        return diagnostic(
            "E133.written_out_subqueries",
            span,
            subqueries=subqueries,
            max_subquery_nesting=MAX_SUBQUERY_NESTING,
            hints=[hint],
        )
    return None


# Parse-tree rules whose children are the terms of a chain (`a and b and c`): the AST
# nests each further term one level deeper, and so does every stage after it.
_CHAINS = frozenset({"or_expr", "and_expr"})
# Parse-tree rules that open a subquery.
_SUBQUERIES = frozenset({"exists", "subquery", "first_row"})


def check_tree(
    tree: Tree, file: str, line_shift: int = 0, column_shift: int = 0
) -> Diagnostic | None:
    """E133 at the first node of `tree` nested more than MAX_NESTING levels deep, or None.

    An explicit stack, so that a tree of any depth is measured safely.
    """
    from lark import Tree

    pending: list[tuple[Tree, int, int]] = [(tree, 1, 0)]
    while pending:
        node, depth, subqueries = pending.pop()
        if depth > MAX_NESTING:
            return too_deep(_tree_span(node, file, line_shift, column_shift))
        if node.data in _SUBQUERIES:
            subqueries += 1
            if subqueries > MAX_SUBQUERY_NESTING:
                return too_deep(_tree_span(node, file, line_shift, column_shift), "subquery")
        children = [c for c in node.children if isinstance(c, Tree)]
        extra = len(children) - 1 if node.data in _CHAINS else 0
        if extra and depth + 1 + extra > MAX_NESTING:
            span = _tree_span(node, file, line_shift, column_shift)
            return too_deep(span, "chain", len(children))
        # Reversed, so that the first node too deep in reading order is the one reported.
        pending.extend((child, depth + 1 + extra, subqueries) for child in reversed(children))
    return None


def _tree_span(node: Tree, file: str, line_shift: int, column_shift: int) -> Span:
    """Where `node` is written: its own position, or that of the first token under it."""
    meta = node.meta
    if getattr(meta, "empty", True):
        token = _first_token(node)
        if token is None:
            return Span.point(file, 1 + line_shift, 1 + column_shift)
        line, column = token.line or 1, token.column or 1
        end_line, end_column = token.end_line or line, token.end_column or column + 1
    else:
        line, column = meta.line, meta.column
        end_line, end_column = meta.end_line, meta.end_column
    return Span(
        file,
        line + line_shift,
        column + (column_shift if line == 1 else 0),
        end_line + line_shift,
        end_column + (column_shift if end_line == 1 else 0),
    )


def _first_token(node: Tree) -> Token | None:
    """The first token under `node`, found without recursion (Lark's scan_values recurses)."""
    from lark import Token, Tree

    pending: list[Tree | Token] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Token):
            return item
        if isinstance(item, Tree):
            pending.extend(reversed(item.children))
    return None
