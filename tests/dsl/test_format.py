"""`oversight fmt`: one canonical layout, idempotent, same meaning, every comment kept.

The repository's own rule files are the reference: they are in the canonical
layout (`fmt --check` passes), and however they are re-spaced, re-punctuated
with a Chinese input method or sprinkled with comments, formatting gives back
the canonical text (or, with comments added, a text that formats to itself,
means the same and carries the same comments). A file with a syntax error is
never touched.
"""

from __future__ import annotations

import json
import os
import random
import re
import stat
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ast
from dsl.diagnostics import DiagnosticError
from dsl.format import WIDTH, comments_of, format_file, format_text, meaning_of
from dsl.lexer import tokens
from dsl.node import dump
from dsl.parser import normalise_full_width, parse_file
from dsl.revision import revision_of
from engine.cli import main
from engine.cli.warnings import display_width

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILES = sorted((ROOT / "policies").rglob("*.rule"))
BAD_RULES = sorted((ROOT / "tests" / "dsl" / "bad_rules").glob("*.rule"))


def _parses(path: Path) -> bool:
    try:
        parse_file(path)
    except DiagnosticError:
        return False
    return True


PARSING_BAD_RULES = [p for p in BAD_RULES if _parses(p)]
BROKEN_BAD_RULES = [p for p in BAD_RULES if not _parses(p)]
ALL_PARSING = POLICY_FILES + PARSING_BAD_RULES
TEXTS = {p: p.read_text(encoding="utf-8") for p in ALL_PARSING}
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _revisions(rule_file: ast.RuleFile) -> list[str]:
    return [revision_of(item) for item in rule_file.items]


def _assert_same_rules(before: str, after: str, name: str = "x.rule") -> None:
    """Same meaning (AST without positions, revisions) and the same comments."""
    old, new = parse_file(name, before), parse_file(name, after)
    assert meaning_of(new) == meaning_of(old)
    assert dump(new.items, spans=False) == dump(old.items, spans=False)
    assert _revisions(new) == _revisions(old)
    assert Counter(comments_of(after)) == Counter(comments_of(before))


def _pieces(text: str) -> list[tuple[str, str]]:
    """(kind, text) of every token, comment and run of spaces: joined, they are `text`.

    Tokens are found as the parser reads them (full-width punctuation as ASCII),
    but each piece is the text as written.
    """
    read = normalise_full_width(text)
    return [(t.kind, text[t.start : t.end]) for t in tokens(read)]


# ---- the repository ----------------------------------------------------------------


def test_there_are_35_models_to_format():
    assert len(list((ROOT / "policies" / "models").rglob("*.rule"))) == 35


@pytest.mark.parametrize("path", POLICY_FILES, ids=_id)
def test_every_policy_file_is_in_the_canonical_layout(path: Path):
    assert format_text(TEXTS[path], str(path)) == TEXTS[path]


def test_fmt_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]):
    code = main(["fmt", "--policies", str(ROOT / "policies"), "--check"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out == ""
    assert f"0 of {len(POLICY_FILES)} files would change" in err


@pytest.mark.parametrize("path", ALL_PARSING, ids=_id)
def test_formatting_twice_changes_nothing_the_second_time(path: Path):
    once = format_text(TEXTS[path], str(path))
    assert format_text(once, str(path)) == once


@pytest.mark.parametrize("path", ALL_PARSING, ids=_id)
def test_formatting_keeps_the_meaning_and_every_comment(path: Path):
    text = TEXTS[path]
    once = format_text(text, str(path))
    _assert_same_rules(text, once, str(path))


def test_comments_are_found_in_the_repository():
    """The comment test above is not vacuous: files carry both kinds of comment."""
    index = TEXTS[ROOT / "policies" / "index.rule"]
    found = comments_of(index)
    assert "# 预警数" in found and "# 已整改" in found  # trailing
    assert found[0].startswith("# 廉情指数")  # on lines of their own
    assert sum(len(comments_of(TEXTS[p])) for p in POLICY_FILES) > 100


@pytest.mark.parametrize("path", POLICY_FILES, ids=_id)
def test_code_stays_within_100_columns(path: Path):
    """Only what cannot be broken is wider: messages, advice, basis, example titles, comments."""
    unbreakable = ("message", "advice", "basis", "example", "#")
    for line in TEXTS[path].splitlines():
        if display_width(line) > WIDTH:
            assert line.lstrip().startswith(unbreakable), line


@pytest.mark.parametrize("path", BROKEN_BAD_RULES, ids=_id)
def test_a_file_with_a_syntax_error_is_reported_as_the_parser_reports_it(path: Path):
    text = path.read_text(encoding="utf-8")
    with pytest.raises(DiagnosticError) as parsing:
        parse_file(str(path), text)
    with pytest.raises(DiagnosticError) as formatting:
        format_text(text, str(path))
    assert formatting.value.diagnostics == parsing.value.diagnostics


# ---- layout does not matter ------------------------------------------------------------

SPACES = [" ", "  ", "\n", "\n\n", " \t ", "\n      ", "\r\n"]


def _respace(text: str, rng: random.Random) -> str:
    """The same tokens with other spacing, leaving the spacing next to comments alone."""
    pieces = _pieces(text)
    out: list[str] = []
    for i, (kind, piece) in enumerate(pieces):
        before = pieces[i - 1][0] if i else None
        after = pieces[i + 1][0] if i + 1 < len(pieces) else None
        between_code = before not in (None, "comment") and after not in (None, "comment")
        if kind == "space" and between_code:
            out.append(rng.choice(SPACES))
        elif kind != "space" and before not in (None, "space", "comment") and rng.random() < 0.1:
            out.append(" " + piece)  # space where there was none: `p . id`, `count( * )`
        else:
            out.append(piece)
    return "".join(out)


@SLOW
@given(path=st.sampled_from(POLICY_FILES), seed=st.integers(0, 2**32))
def test_any_spacing_formats_to_the_canonical_text(path: Path, seed: int):
    messy = _respace(TEXTS[path], random.Random(seed))
    assert format_text(messy, str(path)) == TEXTS[path]


def test_one_line_model_is_laid_out():
    messy = (
        'model ENG01 "应招未招" { domain 工程管理 severity red from dr_project p '
        'where p.investment >= $tender_threshold and p.status != "终止" '
        "and add_months(p.approved_on, $tender_grace_months) < as_of "
        "and not exists(trade_tender t where t.project_id = p.project_id) "
        'key p.project_id township p.township message "{p.name}，请核查。" '
        'example "e" { as_of 2021-11-15 given ref_township { township: "330122102", '
        'name: "分水镇" } given dr_project { project_id: "P1", township: "330122102", '
        'name: "农村自来水工程", investment: 88320000, approved_on: 2021-04-20, status: "在建", } '
        'expect "P1" township "330122102" } }'
    )
    assert format_text(messy) == (
        'model ENG01 "应招未招" {\n'
        "  domain   工程管理\n"
        "  severity red\n"
        "\n"
        "  from dr_project p\n"
        "  where p.investment >= $tender_threshold\n"
        '    and p.status != "终止"\n'
        "    and add_months(p.approved_on, $tender_grace_months) < as_of\n"
        "    and not exists(trade_tender t where t.project_id = p.project_id)\n"
        "\n"
        "  key      p.project_id\n"
        "  township p.township\n"
        '  message  "{p.name}，请核查。"\n'
        "\n"
        '  example "e" {\n'
        "    as_of 2021-11-15\n"
        '    given ref_township { township: "330122102", name: "分水镇" }\n'
        '    given dr_project { project_id: "P1", township: "330122102", name: "农村自来水工程",\n'
        '                       investment: 88320000, approved_on: 2021-04-20, status: "在建" }\n'
        '    expect "P1" township "330122102"\n'
        "  }\n"
        "}\n"
    )


def test_long_expressions_wrap_after_their_parenthesis():
    text = (
        "model M { from trade_tender t where exists(trade_bid a join trade_bid b on "
        "b.tender_id = a.tender_id and b.bidder_code != a.bidder_code where a.tender_id = "
        "t.tender_id and ((not blank(a.contact_phone) and a.contact_phone = b.contact_phone) "
        "or (not blank(a.ip_address) and a.ip_address = b.ip_address))) "
        "let n = coalesce((from mkt_enterprise e where e.enterprise_code = t.code "
        "select min(e.name)), t.code) key t.tender_id }"
    )
    assert format_text(text) == (
        "model M {\n"
        "  from trade_tender t\n"
        "  where exists(trade_bid a\n"
        "               join trade_bid b on b.tender_id = a.tender_id"
        " and b.bidder_code != a.bidder_code\n"
        "               where a.tender_id = t.tender_id\n"
        "                 and ((not blank(a.contact_phone) and a.contact_phone = b.contact_phone)\n"
        "                      or (not blank(a.ip_address) and a.ip_address = b.ip_address)))\n"
        "  let n = coalesce((from mkt_enterprise e where e.enterprise_code = t.code"
        " select min(e.name)),\n"
        "                   t.code)\n"
        "\n"
        "  key      t.tender_id\n"
        "}\n"
    )


def test_parentheses_are_the_ones_the_meaning_needs():
    text = (
        "define f(a: int, b: int) = ((a + b)) * (a - (b - 1)) > -(a) and not a = b "
        "or a in (1, 2) and (a or b) and (a and b) and - (a * b) < 0"
    )
    assert format_text(text) == (
        "define f(a: int, b: int) =\n"
        "  ((a + b) * (a - (b - 1)) > -a and not (a = b))\n"
        "  or (a in (1, 2) and (a or b) and (a and b) and -(a * b) < 0)\n"
    )


def test_literals_are_written_as_typed():
    text = (
        "model M {\n  from p x\n  where x.a = 0.10 or x.b = 1_000 or x.c = 'it\\'s' "
        'or x.d = "\\"q\\"" or x.e = - 0.50 or x.f > 2021-05-20T09:00 or x.g = 007\n'
        '  example "e" { given p { a: -0.0, b: -1_5, c: 2021-05-20 09:00:00, d: null, '
        "e: true, f: '单' } $rate = 0.80 expect none }\n}\n"
    )
    out = format_text(text)
    for written in ("0.10", "1_000", "'it\\'s'", '"\\"q\\""', "-0.50", "2021-05-20T09:00", "007"):
        assert written in out
    assert "given p { a: -0.0, b: -1_5, c: 2021-05-20 09:00:00, d: null, e: true, f: '单' }" in out
    assert "$rate = 0.80" in out
    _assert_same_rules(text, out)


def test_full_width_punctuation_becomes_ascii_outside_strings_and_comments():
    text = (
        "model M｛ from p x # 注释：（不动）\n where x.a ＝ “终止” and x.b ＞＝ ４００ "
        "and x.c in （“甲，乙”，“丙”） key x.id ｝"
    )
    assert format_text(text) == (
        "model M {\n"
        "  from p x  # 注释：（不动）\n"
        '  where x.a = "终止"\n'
        "    and x.b >= 400\n"
        '    and x.c in ("甲，乙", "丙")\n'
        "\n"
        "  key      x.id\n"
        "}\n"
    )


FULL_WIDTH = {
    ",": "，",
    "(": "（",
    ")": "）",
    ":": "：",
    "=": "＝",
    "{": "｛",
    "}": "｝",
    "<": "＜",
    ">": "＞",
    "+": "＋",
    "*": "＊",
    ".": "．",
}


def _full_width(text: str, rng: random.Random) -> str:
    """Some punctuation, digits and quotes as a Chinese input method types them."""
    out: list[str] = []
    for kind, piece in _pieces(text):
        if kind == "punct" and piece in FULL_WIDTH and rng.random() < 0.5:
            piece = FULL_WIDTH[piece]
        elif kind == "number" and rng.random() < 0.5:
            piece = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in piece)
        elif kind == "string" and piece[0] == '"' and not re.search(r'[\\“”"]', piece[1:-1]):
            piece = "“" + piece[1:-1] + "”" if rng.random() < 0.5 else piece
        out.append(piece)
    return "".join(out)


@SLOW
@given(path=st.sampled_from(POLICY_FILES), seed=st.integers(0, 2**32))
def test_a_chinese_input_method_formats_to_the_canonical_text(path: Path, seed: int):
    typed = _full_width(TEXTS[path], random.Random(seed))
    assert format_text(typed, str(path)) == TEXTS[path]


# ---- comments --------------------------------------------------------------------------


def test_comments_stay_where_they_were():
    text = (
        "# 文件说明\n\n"
        "# 模型说明\n"
        'model M "t" {  # 标题后\n'
        "  # 领域之前\n"
        "  domain 工程管理\n"
        "  from p x  # 来源\n"
        "  where x.a = 1  # 第一个条件\n"
        "    # 第二个条件之前\n"
        "    and x.b = 2\n"
        "  key x.id, # 键\n"
        "    x.no\n"
        '  example "e" {\n'
        "    # 数据\n"
        '    given p { id: "1", # 编号\n'
        "              # 金额\n"
        "              a: 1 }\n"
        "    expect none\n"
        "    # 结束之前\n"
        "  }\n"
        "  # 模型结束之前\n"
        "}\n"
        "# 文件末尾\n"
    )
    out = format_text(text)
    assert out == (
        "# 文件说明\n"
        "\n"
        "# 模型说明\n"
        'model M "t" {  # 标题后\n'
        "  # 领域之前\n"
        "  domain   工程管理\n"
        "\n"
        "  from p x       # 来源\n"
        "  where x.a = 1  # 第一个条件\n"
        "    # 第二个条件之前\n"
        "    and x.b = 2\n"
        "\n"
        "  key      x.id,  # 键\n"
        "           x.no\n"
        "\n"
        '  example "e" {\n'
        "    # 数据\n"
        '    given p { id: "1",  # 编号\n'
        "              # 金额\n"
        "              a: 1 }\n"
        "    expect none\n"
        "    # 结束之前\n"
        "  }\n"
        "  # 模型结束之前\n"
        "}\n"
        "# 文件末尾\n"
    )
    assert format_text(out) == out
    _assert_same_rules(text, out)


def test_trailing_comments_of_a_paragraph_line_up():
    text = "index I {\n  from warnings w\n  let W = count(*) # 预警数\n  let V = sum(w.x)   # 和\n}"
    assert format_text(text) == (
        "index I {\n"
        "  from warnings w\n"
        "\n"
        "  let W = count(*)  # 预警数\n"
        "  let V = sum(w.x)  # 和\n"
        "}\n"
    )


def _with_comments(text: str, rng: random.Random, count: int) -> str:
    """`text` with comments after random tokens: at the end of a line or on lines of their own."""
    pieces = _pieces(text)
    after = [i for i, (kind, _) in enumerate(pieces) if kind not in ("space", "comment")]
    chosen = set(rng.sample(after, min(count, len(after))))
    out: list[str] = []
    for i, (_, piece) in enumerate(pieces):
        out.append(piece)
        if i in chosen:
            shape = rng.choice(["  # 尾注{}\n", "\n# 独行{}\n", "\n\n    # 空行{}\n\n", " #{}\n"])
            out.append(shape.format(i))
    return "".join(out)


@SLOW
@given(path=st.sampled_from(ALL_PARSING), seed=st.integers(0, 2**32), count=st.integers(1, 30))
def test_comments_anywhere_are_kept_and_formatting_settles(path: Path, seed: int, count: int):
    text = _with_comments(TEXTS[path], random.Random(seed), count)
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    _assert_same_rules(text, once, str(path))


def test_a_comment_after_every_token_is_kept():
    path = ROOT / "policies" / "models" / "engineering" / "ENG04.rule"
    pieces = _pieces(TEXTS[path])
    for shape in ("  # c\n", "\n# c\n"):
        text = "".join(p + (shape if k not in ("space", "comment") else "") for k, p in pieces)
        once = format_text(text, str(path))
        assert format_text(once, str(path)) == once
        _assert_same_rules(text, once, str(path))


# ---- whatever a file says --------------------------------------------------------------

EDITS = [
    *"abp_09 \n\t\"'{}().,:=<>!+-*/$#",
    *"，（）：＝“”＃",
    " and ",
    " or not ",
    " exists(fin_payment f where f.a = 1)",
    " (from fin_payment f select sum(f.amount)) ",
    "count(* where p.a > 1)",
    " # 注释\n",
    "\n# 注释\n",
    "first(p.name order by p.name desc)",
    " in (1, 2) ",
    " between 1 and 2 ",
    "\n  let x = -1.50\n",
    "\n  left join official_circle c on c.person_id = p.project_id\n",
    "\ndefine f(x: int) = x + 1\n",
    "\nrelation r { from dr_project p select p.name as n union from a b select b.c as n }\n",
    "\n  given dr_project { project_id: -1, name: null, investment: true, }",
]


@st.composite
def mutants(draw: st.DrawFn) -> tuple[Path, str]:
    path = draw(st.sampled_from(ALL_PARSING))
    text = TEXTS[path]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(EDITS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 3)) :]
    return path, text


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutants())
def test_whatever_a_file_says_it_formats_safely_or_is_refused(mutant: tuple[Path, str]):
    path, text = mutant
    try:
        parse_file(str(path), text)
    except DiagnosticError as parsing:
        with pytest.raises(DiagnosticError) as formatting:
            format_text(text, str(path))
        assert formatting.value.diagnostics == parsing.diagnostics
        return
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    _assert_same_rules(text, once, str(path))


# ---- format_file and the command -------------------------------------------------------


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    (pack / "models").mkdir(parents=True)
    for path in POLICY_FILES[:4]:
        (pack / "models" / path.name).write_text(TEXTS[path], encoding="utf-8")
    return pack


def test_format_file_reports_without_writing(tmp_path: Path):
    path = _pack(tmp_path) / "models" / POLICY_FILES[1].name
    assert format_file(path) == (False, TEXTS[POLICY_FILES[1]])
    messy = _respace(TEXTS[POLICY_FILES[1]], random.Random(1))
    path.write_text(messy, encoding="utf-8")
    assert format_file(path) == (True, TEXTS[POLICY_FILES[1]])
    assert path.read_bytes() == messy.encode("utf-8")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "latin.rule"
    path.write_bytes('model M { note "é" }'.encode("latin-1"))
    with pytest.raises(DiagnosticError) as caught:
        format_file(path)
    assert caught.value.diagnostics[0].code == "E100"


def test_check_lists_what_would_change_and_diff_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    pack = _pack(tmp_path)
    target = pack / "models" / POLICY_FILES[2].name
    messy = _respace(TEXTS[POLICY_FILES[2]], random.Random(2))
    target.write_text(messy, encoding="utf-8")

    assert main(["fmt", "--policies", str(pack), "--check"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [str(target)]
    assert "1 of 4 files would change" in err

    assert main(["fmt", "--diff", str(target)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == str(target)
    assert out.splitlines()[1].startswith(f"--- {target}")
    assert any(line.startswith("+  key") for line in out.splitlines())
    assert target.read_bytes() == messy.encode("utf-8")  # --check and --diff write nothing


def test_fmt_rewrites_in_place_then_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    pack = _pack(tmp_path)
    target = pack / "models" / POLICY_FILES[3].name
    target.write_text(_respace(TEXTS[POLICY_FILES[3]], random.Random(3)), encoding="utf-8")
    target.chmod(0o640)
    untouched = {p: p.stat().st_mtime_ns for p in (pack / "models").iterdir() if p != target}

    assert main(["fmt", "--policies", str(pack)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [str(target)]
    assert "reformatted 1 of 4 files" in err
    assert target.read_text(encoding="utf-8") == TEXTS[POLICY_FILES[3]]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(pack / "models")) == sorted(p.name for p in POLICY_FILES[:4])
    assert all(p.stat().st_mtime_ns == t for p, t in untouched.items())  # only changes are written

    assert main(["fmt", "--policies", str(pack), "--check"]) == 0


def test_the_default_pack_is_the_one_other_commands_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    pack = _pack(tmp_path)
    monkeypatch.setenv("OVERSIGHT_POLICIES", str(pack))
    assert main(["fmt", "--check"]) == 0
    assert "0 of 4 files would change" in capsys.readouterr().err


def test_a_syntax_error_is_reported_like_check_and_the_file_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    pack = _pack(tmp_path)
    broken = pack / "models" / "BROKEN.rule"
    text = "model X {\n  from p x\n  where x.a == 1\n  key x.id\n}\n"
    broken.write_text(text, encoding="utf-8")
    messy = pack / "models" / POLICY_FILES[0].name
    messy.write_text(_respace(TEXTS[POLICY_FILES[0]], random.Random(4)), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert main(["fmt", "--policies", "pack"]) == 2
    _, err = capsys.readouterr()
    shown = os.path.join("pack", "models", "BROKEN.rule")
    assert f"{shown}:3:14: error[E111]" in err
    assert " 3 |   where x.a == 1\n   |              ^\n" in err
    assert broken.read_text(encoding="utf-8") == text
    assert messy.read_text(encoding="utf-8") == TEXTS[POLICY_FILES[0]]  # the others are done

    assert main(["fmt", "--policies", "pack", "--check"]) == 2


def test_meaning_of_sees_what_a_revision_leaves_out():
    """Message text is part of the meaning (a revision drops a file's and a hole's `text`)."""
    one = parse_file("a.rule", 'model M { message "甲{x}" }')
    other = parse_file("a.rule", 'model M { message "乙{x}" }')
    assert meaning_of(one) != meaning_of(other)
    assert json.dumps(meaning_of(one), ensure_ascii=False, default=str)
