"""The caret sits under the right character, whatever comes before it on the line.

Chinese characters and full-width punctuation take two columns on screen, so
the caret line counts them twice. Read each expected block in a monospace
font that shows Chinese at double width (any terminal or editor in a Chinese
locale): the carets sit right under the marked text.
"""

from __future__ import annotations

from dsl.diagnostics import Diagnostic, Span, render_one


def caret_at(line: str, marked: str, occurrence: int = 1) -> str:
    """The source and caret lines shown for `marked`, the n-th time it appears on `line`."""
    start = -1
    for _ in range(occurrence):
        start = line.index(marked, start + 1)
    span = Span.point("x.rule", 3, start + 1, len(marked))
    shown = render_one(Diagnostic("E201", "列", "column", span), {"x.rule": f"\n\n{line}\n"})
    return "\n".join(shown.splitlines()[1:3])


def test_after_chinese_text():
    assert caret_at('  where p.category = "房建" and p.stauts != "终止"', "stauts") == (
        ' 3 |   where p.category = "房建" and p.stauts != "终止"\n'
        "   |                                   ^^^^^^"
    )


def test_in_a_message_after_chinese_text():
    line = '  message "投资额为{wan(p.investment)}万元的{p.nmae}尚未招标。"'
    # '  message "' is 11 columns, 投资额为 8, '{wan(p.investment)}' 19, 万元的 6, '{p.' 3
    assert caret_at(line, "nmae") == f" 3 | {line}\n   | {' ' * (11 + 8 + 19 + 6 + 3)}^^^^"


def test_after_full_width_punctuation_and_digits():
    line = "  where p.status not in （“终止”，“完工”） and p.x ＞＝ ４００"
    # （ ， ） and Chinese take two columns; “ and ” are narrow ("ambiguous" width)
    before = len("  where p.status not in ") + (2 + 1 + 4 + 1) + 2 + (1 + 4 + 1 + 2) + len(" and ")
    assert caret_at(line, "p.x") == f" 3 | {line}\n   | {' ' * before}^^^"


def test_under_a_wide_character_itself():
    line = "  where p.a > 1、p.b > 2"
    assert caret_at(line, "、") == f" 3 | {line}\n   |                ^^"


def test_after_a_tab():
    line = "\twhere p.stauts = 1"
    assert caret_at(line, "stauts") == f" 3 | {line}\n   | \t        ^^^^^^"


def test_at_the_end_of_a_line():
    line = '  message "项目"'
    span = Span.point("x.rule", 1, len(line) + 1)  # where a missing '}' was due
    shown = render_one(Diagnostic("E103", "文件意外结束", "ends early", span), {"x.rule": line})
    before = len('  message "') + 4 + len('"')  # 项目 takes four columns
    assert shown.splitlines()[2] == "   | " + " " * before + "^"


def test_the_column_is_counted_in_characters_the_caret_in_screen_columns():
    line = "  where 房建 = p.stauts"
    span = Span.point("x.rule", 1, 16, 6)  # 房 and 建 are one character each
    assert line[15:21] == "stauts"
    shown = render_one(Diagnostic("E201", "列", "column", span), {"x.rule": line})
    assert shown.splitlines()[0] == "x.rule:1:16: error[E201]: 列 / column"
    assert shown.splitlines()[2] == f"   | {' ' * (len('  where ') + 4 + len(' = p.'))}^^^^^^"
