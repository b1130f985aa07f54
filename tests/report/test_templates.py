"""The page's layout lives in templates and files of the package, and cannot skip the escaping.

report.py hands the templates computed figures; every value a template writes
is masked and escaped on its way out, unless it is marked safe. Only report.py
marks anything safe (the inline style and script and the script's JSON), so no
template may: a `|safe` there would let a message's markup into the page.
"""

from __future__ import annotations

import re
from importlib import resources

TEMPLATES = resources.files("engine.reporting").joinpath("templates")
STATIC = resources.files("engine.reporting").joinpath("static")


def test_no_template_marks_a_value_safe() -> None:
    names = sorted(t.name for t in TEMPLATES.iterdir() if t.name.endswith(".j2"))
    assert "report.html.j2" in names and len(names) >= 9
    for name in names:
        text = TEMPLATES.joinpath(name).read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), name


def test_the_style_and_script_are_the_packages_files_inlined(html: str) -> None:
    css = STATIC.joinpath("report.css").read_text(encoding="utf-8")
    js = STATIC.joinpath("report.js").read_text(encoding="utf-8")
    assert f"<style>\n{css}</style>" in html
    assert f"<script>\n{js}</script>" in html
    assert "@media print" in css and "size:A4 landscape" in css
