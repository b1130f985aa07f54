"""`oversight fmt`: one canonical layout for rule files, comments kept.

Policy staff review each other's rules as diffs; a diff that is half
re-indentation hides the one condition that changed. So every rule file has
exactly one layout, the one the hand-written files already follow, and the
formatter writes it:

- 2-space indentation; `domain`, `severity`, `status`, `precheck`, `note`,
  `key`, `township`, `amount`, `message`, `missing`, `advice` and `basis` are
  padded so their values line up (`key      p.id`).
- A blank line between clause groups: the header (domain … note), the query
  (from, join, let, where, group by, having), the output (key, township,
  amount, message, missing), the prose for people (advice, basis: after the message,
  what the model raises coming first), and before each example. Top-level
  items are one blank line apart.
- The `where`/`having` of a model, the `where` of a relation branch and of an
  aggregate (`count(* where …)`) are broken at every top-level `and`/`or`; the
  operators hang so that the conditions line up under the first one
  (`where a` / `    and b`). Anywhere else an expression stays on
  one line when it fits in 100 columns (CJK characters count two) and is broken
  otherwise: conditions at `and`/`or` (hanging after `where`, `having`, `on`;
  operator first inside parentheses), `exists(…)` and `(from … select …)` before
  each `join`, `where` and `select`, lined up after the parenthesis; call
  arguments, keys and `given` fields fill lines up to 100 columns, continuation
  lines lined up after the `(` or `{ `.
- Strings, numbers and dates are written exactly as typed (`0.10`, `1_000`,
  'single quotes', escapes); parentheses are the ones the meaning needs, plus
  around an `and` inside an `or` and around a comparison after `not`.
- Full-width punctuation outside strings and comments becomes ASCII.
- Every comment is kept: a comment on a line of its own stays above the token
  that followed it, a comment after code stays at the end of the line of the
  token before it; trailing comments of one paragraph line up two columns after
  its longest commented line. A blank line next to a comment is kept.

The layout engine is a small Wadler/Prettier-style printer (groups that are
flat when they fit, alignment to the current column, fills). The formatter
works from the AST and reads back from the source what the AST does not keep
(the text of literals and strings, the positions of keywords for comments).
Before anything is returned, the result is parsed again and must mean exactly
the same and carry the same comments: a formatter bug raises, it never
rewrites a rule into something else.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dsl import ast
from dsl.diagnostics import Span, display_width
from dsl.lexer import NUMBER, Token, tokens
from dsl.node import dump
from dsl.parser import normalise_full_width, parse_file

WIDTH = 100
INDENT = 2

__all__ = ["WIDTH", "FormatterBug", "comments_of", "format_file", "format_text", "meaning_of"]


class FormatterBug(RuntimeError):
    """The formatted text would not mean the same as the original: never written anywhere."""


# ---- public functions ------------------------------------------------------------


def format_text(text: str, path: str = "<rule>") -> str:
    """The canonical layout of a whole rule file.

    Raises DiagnosticError (from the parser, located like `oversight check`
    reports it) when the file has a syntax error, and FormatterBug if the
    result would not parse to the same rules with the same comments.
    """
    source = text.lstrip("\ufeff")
    rule_file = parse_file(path, source)
    normalised = normalise_full_width(source)
    code, comments = _scan(normalised, source)
    builder = _Builder(normalised, code)
    doc = builder.rule_file(rule_file)
    _attach(comments, builder.toks, builder.eof)
    renderer = _Renderer()
    renderer.render(doc)
    missing = [c for c in comments if c.printed != 1]
    if missing:  # pragma: no cover - a bug in the printer
        raise FormatterBug(f"{path}: comment {missing[0].text!r} was not written exactly once")
    result = _join_lines(renderer.finish())
    _verify(path, rule_file, comments, result)
    return result


def format_file(path: str | Path) -> tuple[bool, str]:
    """(whether the file's layout changes, the formatted text); the file is not written.

    A file that is not UTF-8 raises the same DiagnosticError (E100) as parsing it does.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:  # CRLF is a change too
            text = handle.read()
    except UnicodeDecodeError:
        parse_file(path)  # raises E100 with the byte that could not be decoded
        raise
    formatted = format_text(text, str(path))
    return formatted != text, formatted


def comments_of(text: str) -> list[str]:
    """The text of every comment in a rule file, in order ('#' and trailing spaces normalised)."""
    source = text.lstrip("\ufeff")
    _, comments = _scan(normalise_full_width(source), source)
    return [c.text for c in comments]


def meaning_of(node: Any) -> Any:
    """Plain data for an AST without positions (unlike a revision, a hole's text is kept).

    Two files with equal meaning_of say exactly the same thing, however laid out.
    """
    if isinstance(node, ast.RuleFile):
        node = node.items
    return dump(node, spans=False, as_written=True)


def _verify(path: str, before: ast.RuleFile, comments: list[_Comment], result: str) -> None:
    """The formatted text must parse, mean the same and carry the same comments."""
    try:
        after = parse_file(path, result)
    except Exception as exc:  # pragma: no cover - a bug in the printer
        raise FormatterBug(f"{path}: the formatted text does not parse: {exc}") from exc
    if meaning_of(after) != meaning_of(before):  # pragma: no cover - a bug in the printer
        raise FormatterBug(f"{path}: the formatted text means something else")
    if Counter(comments_of(result)) != Counter(c.text for c in comments):  # pragma: no cover
        raise FormatterBug(f"{path}: the formatted text lost or repeated a comment")


def _join_lines(lines: list[_Out]) -> str:
    lines = _align_trailing(lines)
    text = "\n".join(lines).strip("\n")
    return text + "\n" if text else ""


# ---- reading the source back -------------------------------------------------------

# A number at the end of a literal's text (a negative number's sign may be apart from it).
_NUMBER_AT_END = re.compile(f"(?:{NUMBER})$")


@dataclass(eq=False)
class _Comment:
    """A comment as written, and where it sits relative to the code around it."""

    text: str
    start: int
    own_line: bool  # nothing but spaces before it on its line
    blank_before: bool  # an empty line between it and what comes before
    blank_after: bool  # an empty line between it and what comes after
    printed: int = 0


def _scan(normalised: str, original: str) -> tuple[list[Token], list[_Comment]]:
    """Tokens (strings and comments whole) and comments of the normalised source.

    Normalising moves no character, so a comment's text is read from the
    original: full-width characters inside comments stay as written; only a
    full-width '＃' that opens the comment becomes '#'.
    """
    code: list[Token] = []
    comments: list[_Comment] = []
    for token in tokens(normalised):
        if token.kind == "space":
            continue
        start, end = token.start, token.end
        if token.kind == "comment":
            line_start = normalised.rfind("\n", 0, start) + 1
            before = normalised[:start].rstrip()
            after_end = len(normalised) - len(normalised[end:].lstrip())
            comments.append(
                _Comment(
                    text="#" + original[start + 1 : end].rstrip(),
                    start=start,
                    own_line=not normalised[line_start:start].strip(),
                    blank_before=bool(before) and normalised.count("\n", len(before), start) >= 2,
                    blank_after=after_end < len(normalised)
                    and normalised.count("\n", end, after_end) >= 2,
                )
            )
            continue
        code.append(token)
    return code, comments


# ---- documents ---------------------------------------------------------------------


@dataclass(eq=False)
class _Tok:
    """A piece of text that stands for a token of the source (offset), so comments can stick."""

    text: str
    offset: int | None = None
    closing: bool = False  # a closing brace: comments before it are indented like the body
    leading: list[_Comment] = field(default_factory=list)
    trailing: list[_Comment] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class _Line:
    """A line break when its group is broken; `flat` when it is not (hard: always a break).

    `offset` moves the next line left of the alignment column: hanging operators.
    """

    flat: str = " "
    offset: int = 0
    hard: bool = False


@dataclass(eq=False)
class _Group:
    """Flat if it fits on the line, broken otherwise (or always, with force)."""

    doc: Doc
    force: bool = False


@dataclass(eq=False)
class _Align:
    """Continuation lines inside start at the column where this begins."""

    doc: Doc


@dataclass(eq=False)
class _Nest:
    """Continuation lines inside are indented `n` more."""

    n: int
    doc: Doc


@dataclass(eq=False)
class _Fill:
    """content, separator, content, …: each separator breaks only if the next content won't fit."""

    parts: list[Doc]


@dataclass(eq=False)
class _FillRest:
    """What is left of a fill: separator, content, …; only made while rendering."""

    parts: list[Doc]


Doc = str | _Tok | _Line | _Group | _Align | _Nest | _Fill | _FillRest | list["Doc"]
HARD = _Line(hard=True)
SOFT = _Line()


def _fill(items: Sequence[Doc], last_tail: Sequence[Doc] = ()) -> _Fill:
    """Items separated by ', ' that wrap as a paragraph; `last_tail` sticks to the last item."""
    parts: list[Doc] = []
    for i, item in enumerate(items):
        if i:
            parts.append(SOFT)
        parts.append([item, ","] if i < len(items) - 1 else [item, *last_tail])
    return _Fill(parts)


# ---- rendering ---------------------------------------------------------------------

_BREAK, _FLAT = True, False


@dataclass
class _Out:
    code: str
    comment: str | None = None


class _Renderer:
    """Lays a document out in lines of at most WIDTH columns (where it can)."""

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self.lines: list[_Out] = []
        self.buf = ""
        self.col = 0
        self.suffix: list[_Comment] = []
        self.carried: list[_Comment] = []  # trailing comments that could not stay trailing
        self._breaks: dict[int, bool] = {}

    # -- output

    def _text(self, text: str) -> None:
        self.buf += text
        self.col += display_width(text)

    def _newline(self, indent: int) -> None:
        code = self.buf.rstrip()
        pending, self.suffix = self.suffix, []
        self.lines.append(_Out(code, pending[0].text if pending else None))
        if pending:
            pending[0].printed += 1
        for extra in pending[1:]:
            # Two comments never share a line (they would read back as one): the
            # others go above the next token, where reading the result back puts them.
            extra.blank_before = extra.blank_after = False
            self.carried.append(extra)
        self.buf = " " * max(indent, 0)
        self.col = max(indent, 0)

    def _at_line_start(self) -> bool:
        return not self.buf.strip()

    def finish(self) -> list[_Out]:
        if self.buf.strip() or self.suffix:
            self._newline(0)
        for comment in self.carried:
            self.lines.append(_Out(comment.text))
            comment.printed += 1
        return self.lines

    def _tok(self, tok: _Tok, indent: int) -> None:
        if self.carried:
            tok.leading[:0], self.carried = self.carried, []
        if tok.leading:
            if not self._at_line_start():
                self._newline(indent)
            here = self.col
            at = here + (INDENT if tok.closing else 0)
            for i, comment in enumerate(tok.leading):
                blank_above = comment.blank_before if i == 0 else tok.leading[i - 1].blank_after
                if blank_above and self.lines and self.lines[-1].code:
                    self.lines.append(_Out(""))
                self.buf, self.col = " " * at, at
                self._text(comment.text)
                comment.printed += 1
                self._newline(here)
            if tok.leading[-1].blank_after:
                self.lines.append(_Out(""))
        self._text(tok.text)
        self.suffix.extend(tok.trailing)

    # -- layout

    def _forced(self, doc: Doc) -> bool:
        """Whether `doc` can never be flat: a hard line or a comment on a line of its own."""
        if isinstance(doc, str):
            return False
        key = id(doc)
        if key in self._breaks:
            return self._breaks[key]
        if isinstance(doc, _Tok):
            result = bool(doc.leading)
        elif isinstance(doc, _Line):
            result = doc.hard
        elif isinstance(doc, _Group):
            result = doc.force or self._forced(doc.doc)
        elif isinstance(doc, _Align | _Nest):
            result = self._forced(doc.doc)
        elif isinstance(doc, _Fill | _FillRest):
            result = any(self._forced(p) for p in doc.parts)
        else:
            result = any(self._forced(p) for p in doc)
        self._breaks[key] = result
        return result

    def render(self, doc: Doc) -> None:
        stack: list[tuple[int, bool, Doc]] = [(0, _BREAK, doc)]
        while stack:
            indent, mode, item = stack.pop()
            if isinstance(item, str):
                self._text(item)
            elif isinstance(item, list):
                stack.extend((indent, mode, d) for d in reversed(item))
            elif isinstance(item, _Tok):
                self._tok(item, indent)
            elif isinstance(item, _Line):
                if mode is _BREAK or item.hard or self.suffix:
                    self._newline(indent + item.offset)
                else:
                    self._text(item.flat)
            elif isinstance(item, _Group):
                if self._forced(item):
                    stack.append((indent, _BREAK, item.doc))
                elif mode is _FLAT:
                    stack.append((indent, _FLAT, item.doc))
                else:
                    flat = self._fits([(indent, _FLAT, item.doc)], stack)
                    stack.append((indent, _FLAT if flat else _BREAK, item.doc))
            elif isinstance(item, _Align):
                stack.append((self.col, mode, item.doc))
            elif isinstance(item, _Nest):
                stack.append((indent + item.n, mode, item.doc))
            elif isinstance(item, _Fill):
                self._render_fill(item, indent, mode, stack)
            else:
                self._render_fill_rest(item, indent, mode, stack)

    def _render_fill(
        self, fill: _Fill, indent: int, mode: bool, stack: list[tuple[int, bool, Doc]]
    ) -> None:
        """Fill a line with contents: each separator breaks only when what follows won't fit.

        Unlike Prettier's fill, a separator is decided when it is reached, from
        the column the contents before it really ended at.
        """
        parts = fill.parts
        if not parts:
            return
        content = parts[0]
        after = [(indent, _BREAK, parts[1])] if len(parts) > 1 else stack
        content_fits = self._fits([(indent, _FLAT, content)], after, must_be_flat=True)
        if len(parts) > 1:
            stack.append((indent, mode, _FillRest(parts[1:])))
        stack.append((indent, _FLAT if content_fits else _BREAK, content))

    def _render_fill_rest(
        self, rest: _FillRest, indent: int, mode: bool, stack: list[tuple[int, bool, Doc]]
    ) -> None:
        separator, content = rest.parts[0], rest.parts[1]
        after = [(indent, _BREAK, rest.parts[2])] if len(rest.parts) > 2 else stack
        if len(rest.parts) > 2:
            stack.append((indent, mode, _FillRest(rest.parts[2:])))
        if self._fits([(indent, _FLAT, [separator, content])], after, must_be_flat=True):
            stack.append((indent, _FLAT, content))
            stack.append((indent, _FLAT, separator))
            return
        offset = separator.offset if isinstance(separator, _Line) else 0
        fits = self._fits([(indent, _FLAT, content)], after, True, column=indent + offset)
        stack.append((indent, _FLAT if fits else _BREAK, content))
        stack.append((indent, _BREAK, separator))

    def _fits(
        self,
        first: list[tuple[int, bool, Doc]],
        rest: list[tuple[int, bool, Doc]],
        must_be_flat: bool = False,
        column: int | None = None,
    ) -> bool:
        """Whether `first` (then `rest`, up to its next line break) fits on the current line.

        With `column`, on a new line starting there instead.
        """
        room = self.width - (self.col if column is None else column)
        suffix = bool(self.suffix) and column is None
        todo: list[tuple[bool, bool, Doc]] = [(mode, must_be_flat, d) for _, mode, d in first]
        rest_at = len(rest)
        while room >= 0:
            if not todo:
                if rest_at == 0:
                    return True
                rest_at -= 1
                _, mode, d = rest[rest_at]
                todo.append((mode, False, d))
                continue
            mode, strict, item = todo.pop()
            if isinstance(item, str):
                room -= display_width(item)
            elif isinstance(item, list):
                todo.extend((mode, strict, d) for d in reversed(item))
            elif isinstance(item, _Tok):
                if item.leading:
                    return mode is _BREAK and not strict
                room -= display_width(item.text)
                suffix = suffix or bool(item.trailing)
            elif isinstance(item, _Line):
                if mode is _BREAK or item.hard:
                    return not (strict and item.hard)  # the line ends here, unless it must not
                if suffix:
                    return False
                room -= display_width(item.flat)
            elif isinstance(item, _Group):
                forced = self._forced(item)
                if strict and forced:
                    return False
                todo.append((_BREAK if forced else mode, strict, item.doc))
            elif isinstance(item, _Align | _Nest):
                todo.append((mode, strict, item.doc))
            else:  # a fill, or the rest of one
                todo.extend((mode, strict, d) for d in reversed(item.parts))
        return False


def _align_trailing(lines: list[_Out]) -> list[str]:
    """Trailing comments of a paragraph (lines between blank lines) line up."""
    out: list[str] = []
    paragraph: list[_Out] = []

    def flush() -> None:
        commented = [line for line in paragraph if line.comment is not None]
        column = max((display_width(line.code) for line in commented), default=0) + 2
        for line in paragraph:
            if line.comment is None:
                out.append(line.code)
            else:
                out.append(line.code + " " * (column - display_width(line.code)) + line.comment)
        paragraph.clear()

    for line in lines:
        if not line.code and line.comment is None:
            flush()
            out.append("")
        else:
            paragraph.append(line)
    flush()
    return out


# ---- attaching comments --------------------------------------------------------------


def _attach(comments: list[_Comment], toks: list[_Tok], eof: _Tok) -> None:
    """A comment on its own line leads the next token written; one after code trails the last.

    Only tokens that are written and came from the source count, so a comment
    next to something the layout drops (a trailing comma, redundant
    parentheses, `asc`) moves to its nearest neighbour instead of vanishing.
    """
    placed = sorted((t for t in toks if t.offset is not None), key=lambda t: t.offset or 0)
    offsets = [t.offset for t in placed]
    for comment in comments:
        if not comment.own_line:
            at = bisect.bisect_left(offsets, comment.start) - 1
            if at >= 0:
                placed[at].trailing.append(comment)
                continue
        at = bisect.bisect_right(offsets, comment.start)
        (placed[at] if at < len(placed) else eof).leading.append(comment)


# ---- building the document ------------------------------------------------------------

_HEADER = ("domain", "severity", "status", "precheck", "note")
_QUERY = ("from", "join", "let", "where", "group_by", "having")
_OUTPUT = ("key", "township", "amount", "message", "missing")
_PROSE = ("advice", "basis")  # for people and the recommendation drafts, after what is raised
_SCORING = ("scale", "rounding", "ties")
_PADDED = 9  # `township ` : the clause keywords whose values line up
_AND_OR = ("and", "or")
_COMPARISON = ("=", "!=", "<", "<=", ">", ">=")
_PRECEDENCE = {"or": 1, "and": 2, **dict.fromkeys(_COMPARISON, 4), "+": 5, "-": 5, "*": 6, "/": 6}
_ATOM = 8


def _group_of(kind: str, in_index: bool = False) -> str:
    if in_index and kind in ("from", "let"):
        return kind  # the index's rows, then its measures
    for name, kinds in (
        ("header", _HEADER),
        ("query", _QUERY),
        ("output", _OUTPUT),
        ("prose", _PROSE),
        ("scoring", _SCORING),
    ):
        if kind in kinds:
            return name
    return kind  # example, indicator, part, band, consequence: a group of their own kind


class _Builder:
    """Turns the AST into a document, reading from the source what the AST does not keep."""

    def __init__(self, normalised: str, code: list[Token]) -> None:
        self.text = normalised
        self.tokens = code  # the tokens of the source, without spaces and comments
        self.starts = [t.start for t in code]
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(normalised) if ch == "\n"]
        self.toks: list[_Tok] = []
        self.eof = _Tok("")

    # -- the source

    def off(self, span: Span) -> int:
        return self.line_starts[span.line - 1] + span.column - 1

    def end(self, span: Span) -> int:
        return self.line_starts[span.end_line - 1] + span.end_column - 1

    def raw(self, span: Span) -> str:
        return self.text[self.off(span) : self.end(span)]

    def find(self, text: str, start: int, end: int | None = None, kind: str | None = None) -> int:
        """The offset of the first token `text` (or of kind `kind`) in [start, end); -1 if none."""
        at = bisect.bisect_left(self.starts, start)
        while at < len(self.tokens):
            token = self.tokens[at]
            if end is not None and token.start >= end:
                break
            if (kind is None and token.text == text) or (kind is not None and token.kind == kind):
                return token.start
            at += 1
        return -1

    def token_at(self, offset: int) -> Token:
        return self.tokens[bisect.bisect_left(self.starts, offset)]

    def tok(self, text: str, offset: int | None = None, closing: bool = False) -> _Tok:
        made = _Tok(text, offset if offset is None or offset >= 0 else None, closing)
        self.toks.append(made)
        return made

    def kw(self, word: str, start: int, end: int | None = None) -> _Tok:
        """A keyword, tied to where it was written between start and end when it can be found."""
        return self.tok(word, self.find(word, start, end))

    def string(self, start: int, end: int | None = None) -> _Tok:
        """The first string written in [start, end), exactly as typed."""
        at = self.find("", start, end, kind="string")
        return self.tok(self.token_at(at).text, at)

    # -- the file

    def rule_file(self, rule_file: ast.RuleFile) -> Doc:
        parts: list[Doc] = []
        for item in rule_file.items:
            if parts:
                parts += [HARD, HARD]
            parts.append(self.item(item))
        parts += [HARD, self.eof]
        return parts

    def item(self, item: ast.Item) -> Doc:
        if isinstance(item, ast.Model):
            return self.model(item)
        if isinstance(item, ast.Define):
            return self.define(item)
        if isinstance(item, ast.Relation):
            return self.relation(item)
        if isinstance(item, ast.Lookup):
            return self.lookup(item)
        return self.index(item)

    def _block(self, head: list[Doc], body: list[Doc], close: _Tok) -> Doc:
        if not body:
            return [*head, close]
        return [*head, _Nest(INDENT, [HARD, *body]), HARD, close]

    def _clauses(self, clauses: Iterable[ast.Clause], in_index: bool = False) -> list[Doc]:
        body: list[Doc] = []
        previous: str | None = None
        for clause in clauses:
            group = _group_of(clause.kind, in_index)
            if previous is not None:
                body += [HARD, HARD] if group != previous or group == "example" else [HARD]
            previous = group
            body.append(self.clause(clause))
        return body

    # -- models

    def model(self, model: ast.Model) -> Doc:
        start, end = self.off(model.span), self.end(model.span)
        head: list[Doc] = [
            self.tok("model", start),
            " ",
            self.tok(model.id, self.off(model.id_span)),
        ]
        after = self.end(model.id_span)
        if model.title is not None:
            title = self.string(after)
            head += [" ", title]
            after = title.offset or after
        head += [" ", self.kw("{", after)]
        body = self._clauses(model.clauses)
        return self._block(head, body, self.tok("}", end - 1, closing=True))

    def _padded(self, keyword: str, clause: ast.Clause) -> list[Doc]:
        return [self.tok(keyword, self.off(clause.span)), " " * (_PADDED - len(keyword))]

    def clause(self, clause: ast.Clause) -> Doc:
        kind, value, start = clause.kind, clause.value, self.off(clause.span)
        if kind in ("domain", "severity", "status", "precheck"):
            _, span = value
            return [*self._padded(kind, clause), self.tok(self.raw(span), self.off(span))]
        if kind == "note":
            return [*self._padded(kind, clause), self.string(start)]
        if kind == "from":
            return [self.tok("from", start), " ", self.source(value)]
        if kind == "join":
            return self.join(value)
        if kind == "let":
            return [
                self.tok("let", start),
                " ",
                self.tok(value.name, self.off(value.span)),
                " = ",
                _Align(self.expr(value.expr)),
            ]
        if kind in ("where", "having"):
            return [self.tok(kind, start), " ", self.condition(value, hang=True, force=True)]
        if kind == "group_by":
            return [
                self.tok("group", start),
                " ",
                self.kw("by", start),
                " ",
                _Align(_fill([self.expr(e) for e in value])),
            ]
        if kind == "key":
            return [*self._padded(kind, clause), _Align(_fill([self.expr(e) for e in value]))]
        if kind in ("township", "amount"):
            return [*self._padded(kind, clause), _Align(self.expr(value))]
        if kind == "message":
            return [
                *self._padded(kind, clause),
                self.tok(self.raw(value.span), self.off(value.span)),
            ]
        if kind in ("missing", "advice", "basis"):
            _, span = value
            return [*self._padded(kind, clause), self.tok(self.raw(span), self.off(span))]
        if kind == "example":
            return self.example(value, clause.span)
        return self.index_clause(clause)

    # -- examples

    def example(self, example: ast.Example, clause_span: Span) -> Doc:
        start, end = self.off(clause_span), self.end(clause_span)
        title = self.string(start)
        head: list[Doc] = [self.tok("example", start), " ", title, " "]
        head.append(self.kw("{", (title.offset or start) + 1))
        items: list[tuple[int, Doc]] = []
        if example.as_of is not None:
            literal_at = self.off(example.as_of.span)
            keyword = self._last_before("as_of", start, literal_at)
            items.append((keyword, [self.tok("as_of", keyword), " ", self.value(example.as_of)]))
        for row in example.given:
            items.append((self.off(row.span), self.given(row)))
        for row in example.pending:
            items.append((self.off(row.span), self.given(row, "pending")))
        for name, value, span in example.params:
            at = self.off(span)
            items.append((at, [self.tok("$" + name, at), " = ", self.param_value(value)]))
        for expectation in example.expect:
            items.append((self.off(expectation.span), self.expectation(expectation)))
        if example.expect_none:
            at = self._expect_none(start, end)
            items.append((at, [self.tok("expect", at), " ", self.kw("none", at + 1, end)]))
        body: list[Doc] = []
        for _, doc in sorted(items, key=lambda pair: pair[0]):
            if body:
                body.append(HARD)
            body.append(doc)
        return self._block(head, body, self.tok("}", end - 1, closing=True))

    def _last_before(self, text: str, start: int, end: int) -> int:
        at = bisect.bisect_left(self.starts, end) - 1
        while at >= 0 and self.tokens[at].start >= start:
            if self.tokens[at].text == text:
                return self.tokens[at].start
            at -= 1
        return -1

    def _expect_none(self, start: int, end: int) -> int:
        at = bisect.bisect_left(self.starts, start)
        while at + 1 < len(self.tokens) and self.tokens[at].start < end:
            if self.tokens[at].text == "expect" and self.tokens[at + 1].text == "none":
                return self.tokens[at].start
            at += 1
        return -1

    def given(self, row: ast.GivenRow, keyword: str = "given") -> Doc:
        """A `given` row, or with `keyword` "pending" a pending one (written alike)."""
        start, end = self.off(row.span), self.end(row.span)
        head: list[Doc] = [
            self.tok(keyword, start),
            " ",
            self.tok(row.source, self.off(row.source_span)),
            " ",
            self.kw("{", self.end(row.source_span)),
        ]
        close = self.tok("}", end - 1, closing=True)
        if not row.fields:
            return [*head, close]
        fields_ = [
            [self.tok(name, self.off(span)), ": ", self.value(value)]
            for name, value, span in row.fields
        ]
        return [*head, " ", _Align(_fill(fields_, [" ", close]))]

    def param_value(self, value: ast.ParamValue) -> Doc:
        """An example's parameter value: a literal, `[a, b]` or `{key: value, …}` on one line."""
        if isinstance(value, ast.Literal):
            return self.value(value)
        start, end = self.off(value.span), self.end(value.span)
        if isinstance(value, ast.ListValue):
            opening, closing = self.tok("[", start), self.tok("]", end - 1, closing=True)
            items: list[Doc] = [self.value(item) for item in value.items]
        else:
            opening, closing = self.tok("{", start), self.tok("}", end - 1, closing=True)
            items = [
                [self.tok(self.raw(key_span), self.off(key_span)), ": ", self.value(item)]
                for _, key_span, item in value.entries
            ]
        if not items:
            return [opening, closing]
        return [opening, _Align(_fill(items, [closing]))]

    def expectation(self, expectation: ast.Expectation) -> Doc:
        start, end = self.off(expectation.span), self.end(expectation.span)
        strings = [t for t in self._tokens_in(start, end) if t.kind == "string"]
        words = {t.text: t.start for t in self._tokens_in(start, end) if t.kind == "name"}
        doc: list[Doc] = [
            self.tok("expect", start),
            " ",
            self.tok(strings[0].text, strings[0].start),
        ]
        rest = strings[1:]
        if expectation.changed:
            doc += [" ", self.tok("changed", words.get("changed", -1))]
        if expectation.township is not None:
            string = rest.pop(0)
            township = self.tok("township", words.get("township", -1))
            doc += [" ", township, " ", self.tok(string.text, string.start)]
        if expectation.message is not None:
            string = rest.pop(0)
            message = self.tok("message", words.get("message", -1))
            doc.append(_Nest(INDENT, [HARD, message, " ", self.tok(string.text, string.start)]))
        return doc

    def _tokens_in(self, start: int, end: int) -> list[Token]:
        return self.tokens[
            bisect.bisect_left(self.starts, start) : bisect.bisect_left(self.starts, end)
        ]

    def value(self, literal: ast.Literal) -> _Tok:
        """A literal exactly as typed (a negative number's sign is outside its span in `given`)."""
        return self.tok(self._literal_text(literal), self.off(literal.span))

    def _literal_text(self, literal: ast.Literal) -> str:
        if literal.kind in ("int", "decimal"):
            digits = _NUMBER_AT_END.search(self.raw(literal.span))
            value = literal.value
            negative = value.is_signed() if isinstance(value, Decimal) else value < 0  # type: ignore[operator]
            return ("-" if negative else "") + (digits.group() if digits else str(abs(value)))  # type: ignore[arg-type]
        if literal.kind == "bool":
            return "true" if literal.value else "false"
        if literal.kind == "null":
            return "null"
        return self.raw(literal.span)  # strings, dates and timestamps as typed

    # -- queries

    def source(self, source: ast.SourceRef) -> Doc:
        name = self.tok(source.source, self.off(source.source_span))
        if source.alias == source.source:
            return name
        alias_at = self.find(source.alias, self.end(source.source_span), self.end(source.span))
        return [name, " ", self.tok(source.alias, alias_at)]

    def join(self, join: ast.Join) -> Doc:
        start = self.off(join.span)
        doc: list[Doc] = []
        if join.left:
            doc += [self.tok("left", start), " "]
        doc += [self.kw("join", start), " ", self.source(join.source), " "]
        doc += [self.kw("on", self.end(join.source.span)), " "]
        doc.append(self.condition(join.on, hang=True))
        return doc

    def _query_tail(self, query: ast.Query, force: bool = False) -> list[Doc]:
        """The joins and `where` of a query, each on a line of its own when broken."""
        line: Doc = HARD if force else SOFT
        doc: list[Doc] = []
        last = self.end(query.source.span)
        for join in query.joins:
            doc += [line, self.join(join)]
            last = self.end(join.span)
        if query.where is not None:
            where = self.kw("where", last, self.off(query.where.span))
            doc += [line, where, " ", self.condition(query.where, hang=True, force=force)]
        return doc

    def exists(self, exists: ast.Exists) -> Doc:
        start, end = self.off(exists.span), self.end(exists.span)
        query = exists.query
        body = [self.source(query.source), *self._query_tail(query)]
        return _Group([self.tok("exists", start), "(", _Align(body), self.tok(")", end - 1)])

    def subquery(self, subquery: ast.Subquery) -> Doc:
        start, end = self.off(subquery.span), self.end(subquery.span)
        query = subquery.query
        select_at = self.find(
            "select",
            self.end(query.where.span if query.where else query.span),
            self.off(subquery.select.span),
        )
        body: list[Doc] = [
            self.kw("from", start),
            " ",
            self.source(query.source),
            *self._query_tail(query),
            SOFT,
            self.tok("select", select_at),
            " ",
            _Align(self.expr(subquery.select)),
        ]
        return _Group([self.tok("(", start), _Align(body), self.tok(")", end - 1)])

    def first_row(self, row: ast.FirstRow) -> Doc:
        """`first(from … order by … select …)`: broken like a subquery, before each part."""
        start, end = self.off(row.span), self.end(row.span)
        query = row.query
        body: list[Doc] = [
            self.kw("from", self.end(row.name_span)),
            " ",
            self.source(query.source),
            *self._query_tail(query),
        ]
        after = self.end(query.span)
        if row.order_by:
            order_at = self.find("order", after, end)
            body += [SOFT, self.tok("order", order_at), " ", self.kw("by", order_at), " "]
            body.append(_Align(_fill([self._order_item(item, end) for item in row.order_by])))
            after = self.end(row.order_by[-1].span)
        if row.select:
            select_at = self.find("select", after, self.off(row.select[0].span))
            items = [self._select_item(item) for item in row.select]
            body += [SOFT, self.tok("select", select_at), " ", _Align(_fill(items))]
        name = self.tok(row.name, start)
        return _Group([name, "(", _Align(body), self.tok(")", end - 1)])

    def _order_item(self, item: ast.OrderItem, end: int) -> Doc:
        doc: Doc = self.expr(item.expr)
        if item.descending:
            doc = [doc, " ", self.kw("desc", self.end(item.expr.span), end)]
        return doc

    def _select_item(self, item: ast.SelectItem) -> Doc:
        """`expr as name`, as a relation branch or a `first(…)` selects it."""
        return [
            self.expr(item.expr),
            " ",
            self.kw("as", self.end(item.expr.span)),
            " ",
            self.tok(item.name, self.find(item.name, self.end(item.expr.span) + 1)),
        ]

    # -- expressions

    def condition(self, expr: ast.Expr, hang: bool, force: bool = False) -> Doc:
        """A condition after a keyword: `and`/`or` hang left of it so operands line up."""
        if isinstance(expr, ast.Binary) and expr.op in _AND_OR:
            return _Group(_Align(self._chain(expr, hang)), force=force)
        return _Align(self.expr(expr))

    def _chain(self, expr: ast.Binary, hang: bool) -> list[Doc]:
        op = expr.op
        operands: list[ast.Expr] = []
        ops: list[Span] = []
        node: ast.Expr = expr
        while isinstance(node, ast.Binary) and node.op == op:
            operands.append(node.right)
            ops.append(node.op_span)
            node = node.left
        operands.append(node)
        operands.reverse()
        ops.reverse()
        doc: list[Doc] = [self.operand(operands[0], 3)]
        for operand, op_span in zip(operands[1:], ops, strict=True):
            offset = -(len(op) + 1) if hang else 0
            doc += [_Line(" ", offset), self.tok(op, self.off(op_span)), " "]
            doc.append(self.operand(operand, 3))
        return doc

    def operand(self, expr: ast.Expr, least: int) -> Doc:
        """`expr`, in parentheses unless it binds at least as tightly as `least`."""
        inner = self.expr(expr)
        if _precedence(expr) >= least:
            return inner
        return _Group(["(", _Align(inner), ")"])

    def expr(self, expr: ast.Expr) -> Doc:
        if isinstance(expr, ast.Literal):
            return self.tok(self._literal_text(expr), self.off(expr.span))
        if isinstance(expr, ast.Name):
            return self.tok(expr.name, self.off(expr.span))
        if isinstance(expr, ast.ColumnRef):
            return self.tok(f"{expr.alias}.{expr.column}", self.off(expr.span))
        if isinstance(expr, ast.ParamRef):
            return self.tok("$" + expr.name, self.off(expr.span))
        if isinstance(expr, ast.AsOf):
            return self.tok("as_of", self.off(expr.span))
        if isinstance(expr, ast.Call):
            return self.call(expr)
        if isinstance(expr, ast.Unary):
            return self.unary(expr)
        if isinstance(expr, ast.Binary):
            if expr.op in _AND_OR:
                return _Group(_Align(self._chain(expr, hang=False)))
            return self.binary(expr)
        if isinstance(expr, ast.IsNull):
            start = self.end(expr.operand.span)
            words: list[Doc] = [" ", self.kw("is", start), " "]
            if expr.negated:
                words += [self.kw("not", start), " "]
            return [self.operand(expr.operand, 5), *words, self.kw("null", start)]
        if isinstance(expr, ast.InList):
            return self.in_list(expr)
        if isinstance(expr, ast.InParam):
            return self.in_param(expr)
        if isinstance(expr, ast.Between):
            return [
                self.operand(expr.operand, 5),
                " ",
                self.kw("between", self.end(expr.operand.span)),
                " ",
                self.operand(expr.low, 5),
                " ",
                self.kw("and", self.end(expr.low.span)),
                " ",
                self.operand(expr.high, 5),
            ]
        if isinstance(expr, ast.Exists):
            return self.exists(expr)
        if isinstance(expr, ast.Case):
            return self.case(expr)
        if isinstance(expr, ast.FirstRow):
            return self.first_row(expr)
        return self.subquery(expr)

    def case(self, case: ast.Case) -> Doc:
        """`case when … then … else … end` on one line, or each `when` and `else` on its own.

        Broken, the `when`s and the `else` line up after `case `, and `end`
        stands under `case`.
        """
        start, end = self.off(case.span), self.end(case.span)
        body: list[Doc] = []
        after = start + len("case")
        if case.operand is not None:  # refused by the checker, kept as written
            body += [self.expr(case.operand), " "]
            after = self.end(case.operand.span)
        for i, (condition, value) in enumerate(case.branches):
            when_at = self.find("when", after, self.off(condition.span))
            then_at = self.find("then", self.end(condition.span), self.off(value.span))
            if i:
                body.append(SOFT)
            body += [self.tok("when", when_at), " ", _Align(self.expr(condition)), " "]
            body += [self.tok("then", then_at), " ", _Align(self.expr(value))]
            after = self.end(value.span)
        if case.otherwise is not None:
            else_at = self.find("else", after, self.off(case.otherwise.span))
            body += [SOFT, self.tok("else", else_at), " ", _Align(self.expr(case.otherwise))]
        body += [_Line(" ", -len("case ")), self.tok("end", end - len("end"))]
        return _Group([self.tok("case", start), " ", _Align(body)])

    def unary(self, expr: ast.Unary) -> Doc:
        start = self.off(expr.span)
        if expr.op == "not":
            # `not (a < b)` reads as meant; `not a < b` is the same rule but misleads.
            operand = expr.operand
            simple = _precedence(operand) >= 7 or (
                isinstance(operand, ast.Unary) and operand.op == "not"
            )
            inner = self.expr(operand) if simple else self.operand(operand, _ATOM + 1)
            return [self.kw("not", start), " ", inner]
        return [self.kw("-", start), self.operand(expr.operand, _ATOM)]

    def binary(self, expr: ast.Binary) -> Doc:
        level = _PRECEDENCE[expr.op]
        if expr.op in _COMPARISON:
            left, right = self.operand(expr.left, 5), self.operand(expr.right, 5)
        else:
            left, right = self.operand(expr.left, level), self.operand(expr.right, level + 1)
        return [left, " ", self.tok(expr.op, self.off(expr.op_span)), " ", right]

    def in_list(self, expr: ast.InList) -> Doc:
        start = self.end(expr.operand.span)
        words: list[Doc] = [" "]
        if expr.negated:
            words += [self.kw("not", start), " "]
        words += [self.kw("in", start), " "]
        close = self.tok(")", self.end(expr.span) - 1)
        items = _fill([self.expr(item) for item in expr.items], [close])
        return [self.operand(expr.operand, 5), *words, "(", _Align(items)]

    def in_param(self, expr: ast.InParam) -> Doc:
        start = self.end(expr.operand.span)
        words: list[Doc] = [" "]
        if expr.negated:
            words += [self.kw("not", start), " "]
        words += [self.kw("in", start), " "]
        return [self.operand(expr.operand, 5), *words, self.expr(expr.param)]

    def call(self, call: ast.Call) -> Doc:
        name = self.tok(call.name, self.off(call.name_span))
        end = self.end(call.span)
        close = self.tok(")", end - 1)
        start = self.end(call.name_span)
        tail: list[Doc] = []
        if call.order_by:
            order_at = self.find("order", start, end)
            items = [self._order_item(item, end) for item in call.order_by]
            tail += [" ", self.tok("order", order_at), " ", self.kw("by", order_at), " "]
            tail.append(_Align(_fill(items)))
        if call.filter is not None:
            where_at = self._last_before("where", start, self.off(call.filter.span))
            tail += [" ", self.tok("where", where_at), " "]
            tail.append(self.condition(call.filter, hang=True, force=True))
        if call.star:
            args: list[Doc] = [self.kw("*", start, end)]
        elif call.distinct:
            distinct = self.kw("distinct", start, end)
            args = [[distinct, " ", self.expr(call.args[0])]]
        else:
            args = [self.expr(arg) for arg in call.args]
        if not args:
            return [name, "(", *tail, close]
        return [name, "(", _Align(_fill(args, [*tail, close]))]

    # -- shared definitions

    def define(self, define: ast.Define) -> Doc:
        start = self.off(define.span)
        head: list[Doc] = [
            self.tok("define", start),
            " ",
            self.tok(define.name, self.off(define.name_span)),
            "(",
        ]
        params = [
            [
                self.tok(p.name, self.off(p.span)),
                ": ",
                self.tok(p.type_name, self.off(p.type_span)),
            ]
            for p in define.params
        ]
        after = self.end(define.params[-1].span) if define.params else self.end(define.name_span)
        close = self.kw(")", after)
        head.append(_Align(_fill(params, [close])) if params else close)
        body_at = self.off(define.body.span)
        if define.title is not None:
            head += [" ", self.string(after, body_at)]
        head += [" ", self.tok("=", self._last_before("=", start, body_at))]
        return [*head, _Nest(INDENT, [HARD, self.expr(define.body)])]

    def lookup(self, lookup: ast.Lookup) -> Doc:
        """One line, `lookup name(params) "说明" = source.column by key default …`.

        Too long for a line, it breaks before `by` and before `default`, indented.
        """
        start, end = self.off(lookup.span), self.end(lookup.span)
        params = [self.tok(name, self.off(span)) for name, span in lookup.params]
        after = self.end(lookup.params[-1][1])
        head: list[Doc] = [
            self.tok("lookup", start),
            " ",
            self.tok(lookup.name, self.off(lookup.name_span)),
            "(",
            _Align(_fill(params, [self.kw(")", after)])),
        ]
        read_at = self.off(lookup.source_span)
        if lookup.title is not None:
            head += [" ", self.string(after, read_at)]
        head += [" ", self.tok("=", self._last_before("=", start, read_at)), " "]
        read = self.tok(f"{lookup.source}.{lookup.column}", read_at)
        by_at = self.find("by", self.end(lookup.column_span), end)
        keys = [self.tok(name, self.off(span)) for name, span in lookup.by]
        tail: list[Doc] = [SOFT, self.tok("by", by_at), " ", _Align(_fill(keys))]
        if lookup.default is not None:
            default_at = self._last_before("default", by_at, self.off(lookup.default.span))
            tail += [SOFT, self.tok("default", default_at), " ", _Align(self.expr(lookup.default))]
        return [*head, read, _Group(_Nest(INDENT, tail))]

    def relation(self, relation: ast.Relation) -> Doc:
        start, end = self.off(relation.span), self.end(relation.span)
        head: list[Doc] = [
            self.tok("relation", start),
            " ",
            self.tok(relation.name, self.off(relation.name_span)),
        ]
        after = self.end(relation.name_span)
        if relation.title is not None:
            title = self.string(after)
            head += [" ", title]
            after = title.offset or after
        head += [" ", self.kw("{", after)]
        body: list[Doc] = []
        previous_end = after
        for branch in relation.branches:
            if body:
                union = self.kw("union", previous_end, self.off(branch.span))
                body += [HARD, union, HARD]
            body.append(self.branch(branch))
            previous_end = self.end(branch.span)
        return self._block(head, body, self.tok("}", end - 1, closing=True))

    def branch(self, branch: ast.Branch) -> Doc:
        query = branch.query
        first = branch.select[0].span if branch.select else branch.span
        select_at = self._last_before("select", self.off(branch.span), self.off(first))
        items = [self._select_item(item) for item in branch.select]
        groups: list[Doc] = []
        if branch.group_by:
            group_at = self.find("group", self.end(query.span), self.off(branch.group_by[0].span))
            groups += [HARD, self.tok("group", group_at), " ", self.kw("by", group_at), " "]
            groups.append(_Align(_fill([self.expr(e) for e in branch.group_by])))
        if branch.having is not None:
            having_at = self._last_before(
                "having", self.off(branch.span), self.off(branch.having.span)
            )
            groups += [HARD, self.tok("having", having_at), " "]
            groups.append(self.condition(branch.having, hang=True, force=True))
        select: list[Doc] = [self.tok("select", select_at), " "]
        if branch.distinct:
            select += [self.kw("distinct", select_at, self.off(first)), " "]
        return [
            self.kw("from", self.off(branch.span)),
            " ",
            self.source(query.source),
            *self._query_tail(query, force=True),
            *groups,
            HARD,
            *select,
            _Align(_fill(items)),
        ]

    # -- the index

    def index(self, index: ast.Index) -> Doc:
        start, end = self.off(index.span), self.end(index.span)
        head: list[Doc] = [
            self.tok("index", start),
            " ",
            self.tok(index.name, self.off(index.name_span)),
        ]
        after = self.end(index.name_span)
        if index.title is not None:
            title = self.string(after)
            head += [" ", title]
            after = title.offset or after
        head += [" ", self.kw("{", after)]
        self._widths = _run_widths(index.clauses, self)
        body = self._clauses(index.clauses, in_index=True)
        return self._block(head, body, self.tok("}", end - 1, closing=True))

    def index_clause(self, clause: ast.Clause) -> Doc:
        kind, value, start = clause.kind, clause.value, self.off(clause.span)
        end = self.end(clause.span)
        widths = self._widths.get(id(clause), (0, 0))
        if kind == "indicator":
            title = self.string(start)
            doc: list[Doc] = [
                self.tok("indicator", start),
                " ",
                self.tok(value.name, self.off(value.span)),
                " " * (widths[0] - display_width(value.name) + 1),
                title,
                " " * (widths[1] - display_width(title.text) + 1),
            ]
            if value.unit is not None and value.unit_span is not None:
                doc += [self.tok(value.unit, self.off(value.unit_span)), " "]
            expr_at = self.off(value.expr.span)
            doc += [self.tok("=", self._last_before("=", start, expr_at)), " "]
            doc.append(_Align(self.expr(value.expr)))
            cases: list[Doc] = []
            for condition, result in value.cases:
                when = self._last_before("when", start, self.off(condition.span))
                then = self._last_before("then", start, self.off(result.span))
                cases += [
                    _Line("  "),
                    self.tok("when", when),
                    " ",
                    self.condition(condition, hang=True),
                    " ",
                    self.tok("then", then),
                    " ",
                    _Align(self.expr(result)),
                ]
            if cases:
                doc.append(_Group(_Nest(INDENT, cases)))
            return doc
        if kind == "part":
            title = self.string(start)
            inline = len(value.items) == 1
            doc = [
                self.tok("part", start),
                " ",
                self.tok(value.id, self.off(value.span)),
                " " * (widths[0] - display_width(value.id) + 1),
                title,
                " " * ((widths[1] - display_width(title.text) if inline else 0) + 1),
                self.kw("{", title.offset or start),
            ]
            close = self.tok("}", end - 1, closing=True)
            items = [self.part_item(item) for item in value.items]
            if inline:
                return [*doc, " ", items[0], " ", close]
            body: list[Doc] = []
            for item in items:
                body += [HARD, item]
            return [*doc, _Nest(INDENT, body), HARD, close]
        if kind in ("scale", "rounding", "ties"):
            _, span = value
            return [self.tok(kind, start), " ", self.tok(self.raw(span), self.off(span))]
        if kind == "band":
            title = self.string(start)
            doc = [
                self.tok("band", start),
                " ",
                self.tok(value.colour, self.off(value.span)),
                " " * (widths[0] - display_width(value.colour) + 1),
                title,
            ]
            if value.condition is not None:
                when = self._last_before("when", start, self.off(value.condition.span))
                doc += [
                    " " * (widths[1] - display_width(title.text) + 1),
                    self.tok("when", when),
                    " ",
                ]
                doc.append(self.condition(value.condition, hang=True))
            return doc
        if kind == "consequence":
            colour, span, _ = value
            return [
                self.tok("consequence", start),
                " ",
                self.tok(colour, self.off(span)),
                " " * (widths[0] - display_width(colour) + 1),
                self.string(self.end(span)),
            ]
        raise AssertionError(f"unknown clause {kind}")  # pragma: no cover

    def part_item(self, item: ast.PartItem) -> Doc:
        start = self.off(item.span)
        points = self.token_at(start)
        return [
            self.tok(points.text, points.start),
            " ",
            self.kw("points", points.end),
            " ",
            self.tok(item.indicator, self.off(item.indicator_span)),
            " ",
            self.kw("higher" if item.higher_is_better else "lower", self.end(item.indicator_span)),
        ]


def _run_widths(clauses: Sequence[ast.Clause], builder: _Builder) -> dict[int, tuple[int, int]]:
    """For each indicator, part, band and consequence: the name and title widths of its run.

    A run is consecutive clauses of the same kind; their names and titles line up.
    """
    widths: dict[int, tuple[int, int]] = {}
    run: list[tuple[ast.Clause, int, int]] = []

    def close() -> None:
        names = max((n for _, n, _ in run), default=0)
        titles = max((t for _, _, t in run), default=0)
        for clause, _, _ in run:
            widths[id(clause)] = (names, titles)
        run.clear()

    for clause in clauses:
        if run and run[-1][0].kind != clause.kind:
            close()
        value = clause.value
        start = builder.off(clause.span)
        if clause.kind == "indicator":
            run.append(
                (clause, display_width(value.name), display_width(_first_string(builder, start)))
            )
        elif clause.kind == "part":
            title = display_width(_first_string(builder, start)) if len(value.items) == 1 else 0
            run.append((clause, display_width(value.id), title))
        elif clause.kind == "band":
            title = (
                display_width(_first_string(builder, start)) if value.condition is not None else 0
            )
            run.append((clause, display_width(value.colour), title))
        elif clause.kind == "consequence":
            run.append((clause, display_width(value[0]), 0))
        else:
            close()
    close()
    return widths


def _first_string(builder: _Builder, start: int) -> str:
    return builder.token_at(builder.find("", start, kind="string")).text


def _precedence(expr: ast.Expr) -> int:
    """How tightly `expr` binds, as in dsl/grammar.lark: or 1 … unary minus 7, atoms 8."""
    if isinstance(expr, ast.Binary):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, ast.Unary):
        return 3 if expr.op == "not" else 7
    if isinstance(expr, ast.IsNull | ast.InList | ast.InParam | ast.Between):
        return 4
    if isinstance(expr, ast.Literal) and expr.kind in ("int", "decimal"):
        value = expr.value
        negative = value.is_signed() if isinstance(value, Decimal) else value < 0  # type: ignore[operator]
        return 7 if negative else _ATOM
    return _ATOM
