"""One diagnostic type for every stage, and the two places it is rendered."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Severity(StrEnum):
    """How bad a diagnostic is; `internal` marks a bug in oversight, not in the rules."""

    ERROR = "error"
    WARNING = "warning"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Span:
    """A place in a rule file: 1-based line and column, columns counted in characters."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int, width: int = 1) -> Span:
        return cls(file, line, column, line, column + max(width, 1))


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in policies or data, said in Chinese and in English.

    `code` is stable (tests and the error guide rely on it); `hints` are short
    suggestions such as "did you mean project_id?".
    """

    code: str
    message_zh: str
    message_en: str
    span: Span | None = None
    hints: tuple[str, ...] = ()
    severity: Severity = Severity.ERROR
    # Where in a JSON document sent to oversight (a pre-check's `records[3].amount`),
    # for problems that are not in a file.
    path: str | None = None

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["hints"] = list(self.hints)
        if self.path is None:  # a problem in a file: the JSON it always had
            del data["path"]
        return data


@dataclass
class DiagnosticError(Exception):
    """Raised by a stage that cannot go on; carries every diagnostic found so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    # What the stage could still produce despite the errors (a rule file whose bad date
    # was read as null), so that later stages can report that file's other problems too.
    partial: Any = None

    def __str__(self) -> str:
        return render_human(self.diagnostics)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """Whether any diagnostic is worse than a warning."""
    return any(d.severity is not Severity.WARNING for d in diagnostics)


def display_width(text: str) -> int:
    """Columns a terminal gives `text`: CJK and full-width characters two, combining marks none.

    The one measure for everything that lines text up in a terminal (caret lines here,
    the tables of engine/cli/, the formatter), so that they all agree on a character.
    """
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _caret_line(source_line: str, start: int, end: int) -> str:
    """Spaces and carets that sit under characters `start`..`end` (0-based) of the line.

    Tabs are copied so that the caret lines up whatever the tab width; wide
    characters before the caret count twice.
    """
    prefix = "".join("\t" if ch == "\t" else " " * display_width(ch) for ch in source_line[:start])
    marked = source_line[start:end] or " "
    return prefix + "^" * max(display_width(marked), 1)


def _source_line(span: Span, sources: dict[str, str] | None) -> str | None:
    text = (sources or {}).get(span.file)
    if text is None:
        try:
            text = Path(span.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


def render_one(diagnostic: Diagnostic, sources: dict[str, str] | None = None) -> str:
    """`FILE:LINE:COL: severity[CODE]: message`, the offending line, a caret and the hints."""
    span = diagnostic.span
    where = f"{span.file}:{span.line}:{span.column}: " if span else ""
    if not span and diagnostic.path:
        where = f"{diagnostic.path}: "
    out = [f"{where}{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    if span:
        line = _source_line(span, sources)
        if line is not None:
            gutter = str(span.line)
            start = span.column - 1
            end = span.end_column - 1 if span.end_line == span.line else len(line)
            out.append(f" {gutter} | {line}")
            out.append(f" {' ' * len(gutter)} | {_caret_line(line, start, max(end, start + 1))}")
    out.extend(f"  = 提示 hint: {hint}" for hint in diagnostic.hints)
    return "\n".join(out)


def render_human(diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Every diagnostic for a person, in file order, blank line between them."""
    ordered = sorted(diagnostics, key=_sort_key)
    return "\n\n".join(render_one(d, sources) for d in ordered)


def render_json(diagnostics: list[Diagnostic]) -> str:
    """Every diagnostic for a machine: a JSON list, one object per diagnostic."""
    ordered = sorted(diagnostics, key=_sort_key)
    return json.dumps([d.to_json() for d in ordered], ensure_ascii=False, indent=2)


def _sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    if d.span is None:
        return (d.path or "", 0, 0, d.code)
    return (d.span.file, d.span.line, d.span.column, d.code)
