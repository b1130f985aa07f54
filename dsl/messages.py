"""The wording of every diagnostic, read from one catalog (dsl/messages.toml).

A site that finds a problem names the message by its key and fills in the
fields: `diagnostic("E210", span, name=text, hints=...)`. The key is the
code, or `CODE.variant` for a code with several wordings. Keeping the words in
one file lets the error guide (docs/错误代码.md) be checked against them
(tests/test_messages_catalog.py) and lets a reviewer read every message of
oversight in one place, in both languages.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from dsl.diagnostics import Diagnostic, Severity, Span

CATALOG_FILE = Path(__file__).with_name("messages.toml")


@dataclass(frozen=True)
class Template:
    """One wording of a code: str.format templates in Chinese and in English."""

    zh: str
    en: str

    @property
    def fields(self) -> frozenset[str]:
        """The names the two templates fill in, which a site must give (no more, no fewer)."""
        return frozenset(template_fields(self.zh) | template_fields(self.en))


@dataclass(frozen=True)
class Entry:
    """A code as the error guide lists it: its titles and its wordings by variant.

    `templates` maps the message key (`E210`, or `E402.union_names`) to its
    wording. `wording_of` names the code whose diagnostic this code re-labels
    (E461 says what E306 said, of a grouped relation), so it has no wording of its own.
    """

    code: str
    title_zh: str
    title_en: str
    templates: dict[str, Template]
    wording_of: str | None = None

    @property
    def severity(self) -> Severity:
        """W codes are warnings (a check still passes); every other code is an error."""
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR


class Wording(NamedTuple):
    """A message with its fields filled in: the code and the Chinese and English text.

    A tuple so that helpers which take (code, zh, en) can be handed `*message(...)`.
    """

    code: str
    zh: str
    en: str

    def at(
        self, span: Span | None = None, hints: Iterable[str] = (), path: str | None = None
    ) -> Diagnostic:
        """The diagnostic that says this message at `span`, its severity from the code.

        Empty hints are left out, so that a site can pass one it may not have.
        """
        severity = _catalog()[self.code].severity
        return Diagnostic(
            self.code, self.zh, self.en, span, tuple(h for h in hints if h), severity, path
        )


def template_fields(template: str) -> set[str]:
    """The field names of a str.format template (`{name!r}` → name)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _load(path: Path) -> dict[str, Entry]:
    import tomllib  # with the catalog: a check that finds nothing to say never reads it

    with path.open("rb") as handle:
        data = tomllib.load(handle)
    catalog = {}
    for code, table in data.items():
        templates = {
            f"{code}.{variant}": Template(value["zh"], value["en"])
            for variant, value in table.items()
            if isinstance(value, dict)
        }
        if "zh" in table:
            templates[code] = Template(table["zh"], table["en"])
        catalog[code] = Entry(
            code, table["title"], table["title_en"], templates, table.get("wording_of")
        )
    return catalog


@cache
def _catalog() -> dict[str, Entry]:
    """messages.toml, read where the first message is said (a tenth of a fresh check's start)."""
    return _load(CATALOG_FILE)


def __getattr__(name: str) -> Any:
    """`CATALOG`, every code's entry by code: read on first use (PEP 562)."""
    if name == "CATALOG":
        return _catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def template(key: str) -> Template:
    """The wording a message key names; KeyError for a key the catalog lacks."""
    return _catalog()[key.partition(".")[0]].templates[key]


def message(key: str, /, **fields: Any) -> Wording:
    """The message `key` names with `fields` filled in.

    Every field of the templates must be given and no other, so that a site
    and the catalog cannot drift apart unnoticed.
    """
    wording = template(key)
    expected = wording.fields
    if set(fields) != expected:
        missing = sorted(expected - set(fields))
        extra = sorted(set(fields) - expected)
        raise TypeError(f"message {key}: fields missing {missing}, not in the template {extra}")
    return Wording(key.partition(".")[0], wording.zh.format(**fields), wording.en.format(**fields))


def diagnostic(
    key: str,
    span: Span | None = None,
    /,
    *,
    hints: Iterable[str] = (),
    path: str | None = None,
    **fields: Any,
) -> Diagnostic:
    """The diagnostic for message `key` at `span` (see `Wording.at`)."""
    return message(key, **fields).at(span, hints, path)
