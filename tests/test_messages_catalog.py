"""The message catalog (dsl/messages.toml) agrees with the source and the error guide.

- Every code the source names (a string literal "E201", or a message key
  "E402.union_names") is in the catalog, every catalog code is still named by
  the source, and every key a site passes to message()/diagnostic() is in it,
  the site filling in exactly the template's fields.
- Every catalog code has a heading `### CODE title` in docs/错误代码.md whose
  title is the catalog's Chinese title, and every heading's code is in the
  catalog; the table of ranges at the top of the guide fits the catalog's codes.
- Every template is a well-formed str.format template of named fields.
- No file writes message text beside a code or constructs a Diagnostic
  itself: every site names its message's key (dsl/diagnostics.py and
  dsl/messages.py, which build a Diagnostic from a catalog message, aside).
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from dsl.diagnostics import Severity, Span, render_one
from dsl.messages import CATALOG, diagnostic, message, template

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "错误代码.md"
PACKAGES = ("dsl", "engine", "adapters")
KEY = re.compile(r"([EW]\d{3})(\.\w+)?")

# Where a Diagnostic is built from a catalog message: the only constructors allowed.
BUILDERS = {"dsl/diagnostics.py", "dsl/messages.py"}


def source_files() -> list[tuple[str, ast.Module]]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            files.append((path.relative_to(ROOT).as_posix(), tree))
    return files


def is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def code_keys() -> dict[str, list[str]]:
    """Every code or message key written as a string literal in the source, with where."""
    found: dict[str, list[str]] = {}
    for name, tree in source_files():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if KEY.fullmatch(node.value):
                    found.setdefault(node.value, []).append(f"{name}:{node.lineno}")
    return found


def guide_headings() -> dict[str, str]:
    """Code → title of each `### CODE title` heading of the error guide."""
    text = GUIDE.read_text(encoding="utf-8")
    return dict(re.findall(r"^### ([EW]\d{3}) (.+)$", text, re.MULTILINE))


def test_every_code_the_source_names_is_in_the_catalog():
    keys = code_keys()
    assert len(keys) > 100
    missing = {k: w for k, w in sorted(keys.items()) if k.partition(".")[0] not in CATALOG}
    assert not missing, f"add these codes to dsl/messages.toml: {missing}"


def test_every_catalog_code_is_still_named_by_the_source():
    named = {key.partition(".")[0] for key in code_keys()}
    gone = sorted(set(CATALOG) - named)
    assert not gone, f"dsl/messages.toml has codes the source no longer names: {gone}"


def test_every_key_a_site_names_is_in_the_catalog_with_the_fields_it_fills_in():
    unknown = []
    sites = 0
    for name, tree in source_files():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("message", "diagnostic")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                sites += 1
                key = node.args[0].value
                code = key.partition(".")[0]
                if code not in CATALOG or key not in CATALOG[code].templates:
                    unknown.append(f"{name}:{node.lineno} {key}")
                    continue
                given = {k.arg for k in node.keywords} - {"hints", "path"}
                if None not in given and given != template(key).fields:
                    unknown.append(f"{name}:{node.lineno} {key} fills in {sorted(given)}")
    assert sites > 50
    assert not unknown, f"no such message in dsl/messages.toml: {unknown}"


def test_the_guide_has_a_heading_with_the_catalog_title_for_every_code():
    headings = guide_headings()
    assert len(headings) > 100
    assert sorted(set(CATALOG) - set(headings)) == [], "give these codes a heading in the guide"
    assert sorted(set(headings) - set(CATALOG)) == [], "these headings have no catalog entry"
    differ = {
        code: (title, CATALOG[code].title_zh)
        for code, title in headings.items()
        if title != CATALOG[code].title_zh
    }
    assert not differ, f"guide heading and catalog title differ: {differ}"


def test_the_range_table_fits_the_catalog():
    text = GUIDE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([EW]\d?x+) \| (.+) \|$", text, re.MULTILINE)
    assert len(rows) > 5
    ranges = {first for first, _ in rows}
    prefixes = {code[:2] + "xx" if code[0] == "E" else "Wxxx" for code in CATALOG}
    assert ranges == prefixes, "the guide's table of ranges and the catalog's codes differ"
    for _, meaning in rows:
        for low, high in re.findall(r"(E\d{3})–(E\d{3})", meaning):
            assert low in CATALOG and high in CATALOG, (low, high)
        for group in re.findall(r"(E\d\d)x\b", meaning):
            assert any(code.startswith(group) for code in CATALOG), group


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_the_entry_is_well_formed(code):
    entry = CATALOG[code]
    assert entry.title_zh and entry.title_en
    assert entry.severity is (Severity.WARNING if code.startswith("W") else Severity.ERROR)
    if entry.wording_of is not None:
        assert not entry.templates and CATALOG[entry.wording_of].templates
    else:
        assert entry.templates, "a code needs a message (or wording_of)"
    for key, wording in entry.templates.items():
        assert key == code or re.fullmatch(rf"{code}\.[a-z][a-z0-9_]*", key)
        assert (key == code) == (len(entry.templates) == 1), "variants are all named"
        for text in (wording.zh, wording.en):
            for _, field, spec, conversion in string.Formatter().parse(text):
                if field is None:
                    continue
                assert field.isidentifier(), f"{key}: {{{field}}} is not a named field"
                assert conversion in (None, "r", "s"), f"{key}: !{conversion}"
                assert "{" not in (spec or ""), f"{key}: nested field in {spec!r}"


def test_a_diagnostic_is_built_from_its_template():
    made = diagnostic("E200.unknown_source", Span.point("a.rule", 3, 5), source="dr_x", hints=["h"])
    assert render_one(made).splitlines()[0] == (
        "a.rule:3:5: error[E200]: 未知数据来源「dr_x」 / unknown source 'dr_x'"
    )
    assert made.hints == ("h",)
    assert diagnostic("W431", None, name="n").severity is Severity.WARNING
    # {{ and }} in a template are braces themselves
    assert template("E106").en == "the '{{…}}' in the message is empty or incomplete"
    assert message("E106").en == "the '{…}' in the message is empty or incomplete"


def test_a_site_must_fill_in_exactly_the_templates_fields():
    with pytest.raises(TypeError, match="missing"):
        message("E200.unknown_source")
    with pytest.raises(TypeError, match="not in the template"):
        message("E200.unknown_source", source="s", sources="t")
    with pytest.raises(KeyError):
        message("E200.no_such_variant")


def inline_text_sites(tree: ast.Module) -> list[int]:
    """Lines that build a Diagnostic, or write message text beside a code literal."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "Diagnostic":
                lines.append(node.lineno)
                continue
            args = node.args
        elif isinstance(node, ast.Tuple):
            args = node.elts
        else:
            continue
        for i, arg in enumerate(args):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if re.fullmatch(r"[EW]\d{3}", arg.value) and any(map(is_text, args[i + 1 :])):
                    lines.append(node.lineno)
    return lines


def test_every_file_takes_its_words_from_the_catalog():
    inline = {
        name: lines
        for name, tree in source_files()
        if name not in BUILDERS and (lines := inline_text_sites(tree))
    }
    assert not inline, f"use dsl.messages: {inline}"
