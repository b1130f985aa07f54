"""Keyed lookups in the language: `lookup`, its calls, `{township}`, and their near-misses.

`lookup township_name(code) "乡镇名称" = ref_township.name by township default code`
declares a function that reads one column of a catalog source by the source's
key. Each near-miss below is a rule a policy writer could plausibly write, and
gets exactly one diagnostic, at the place that is wrong. How lookups compile
and run is in tests/engine/test_lookups.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsl import ast, ir
from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, Severity, render_human
from dsl.format import format_text, meaning_of
from dsl.parser import parse_file
from dsl.types import Type

ROOT = Path(__file__).resolve().parents[2]

MODEL = """model TST01 "测试" {{
  domain   工程管理
  severity blue
  status   草稿

  {body}

  key      {key}
  township {township}
  message  "{message}"
}}
"""


def make_pack(
    tmp_path: Path,
    rules: dict[str, str],
    pack_yaml: str | None = None,
    index: bool = False,
) -> Path:
    """The repository's pack.yaml (or `pack_yaml`) and shared definitions, plus `rules`."""
    pack = tmp_path / "pack"
    (pack / "models").mkdir(parents=True)
    shutil.copytree(ROOT / "policies" / "shared", pack / "shared")
    text = pack_yaml or (ROOT / "policies" / "pack.yaml").read_text(encoding="utf-8")
    (pack / "pack.yaml").write_text(text, encoding="utf-8")
    if index:
        shutil.copy(ROOT / "policies" / "index.rule", pack / "index.rule")
    for name, rule in rules.items():
        (pack / name).write_text(rule, encoding="utf-8")
    return pack


def model(body: str, message: str, key: str = "p.project_id", township: str = "p.township"):
    return MODEL.format(body=body, key=key, township=township, message=message)


def problems(result) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is not Severity.WARNING]


def only(result, code: str) -> Diagnostic:
    found = problems(result)
    assert [d.code for d in found] == [code], render_human(result.diagnostics, result.sources)
    return found[0]


# ---- the declaration --------------------------------------------------------------------------


def test_a_lookup_parses_into_its_parts():
    text = (
        'lookup tax_paid(code, year) "年度纳税额" = tax_annual.tax_paid\n'
        "  by enterprise_code, year default 0\n"
    )
    (lookup,) = parse_file("x.rule", text).items
    assert isinstance(lookup, ast.Lookup)
    assert lookup.name == "tax_paid" and lookup.title == "年度纳税额"
    assert [p for p, _ in lookup.params] == ["code", "year"]
    assert (lookup.source, lookup.column) == ("tax_annual", "tax_paid")
    assert [b for b, _ in lookup.by] == ["enterprise_code", "year"]
    assert isinstance(lookup.default, ast.Literal) and lookup.default.value == 0
    # `lookup`, `by` and `default` are words only where a lookup is declared.
    parse_file("y.rule", 'model X { from ref_township lookup where lookup.default = "x" }')


def test_the_formatter_writes_a_lookup_on_one_line_when_it_fits():
    messy = (
        'lookup  township_name( code )"乡镇名称"＝ref_township.name  by township default  code\n'
    )
    tidy = 'lookup township_name(code) "乡镇名称" = ref_township.name by township default code\n'
    assert format_text(messy) == tidy
    long = (
        'lookup enterprise_tax_paid(enterprise_code, year_of_the_award) "纳税额" = '
        "tax_annual.tax_paid by enterprise_code, year default 0\n"
    )
    formatted = format_text(long)
    assert formatted.splitlines()[1:] == ["  by enterprise_code, year", "  default 0"]
    assert meaning_of(parse_file("a", formatted)) == meaning_of(parse_file("a", long))


def test_the_pack_declares_township_name_as_a_lookup_that_names_townships():
    result = check_pack(ROOT / "policies")
    assert result.pack is not None
    lookup = result.pack.lookups["township_name"]
    assert (lookup.source, lookup.column, lookup.by) == ("ref_township", "name", ("township",))
    assert lookup.params == (("code", Type.STRING),) and lookup.type is Type.STRING
    assert lookup.default == ir.Arg("code", Type.STRING)
    assert result.pack.pack.township_names == "township_name"
    assert "township_name" not in result.pack.defines


# ---- {township} ---------------------------------------------------------------------------------


def test_township_in_a_message_is_the_township_clause_named_by_the_packs_lookup(tmp_path):
    rule = model("from dr_project p", "{township}的{p.name}")
    result = check_pack(make_pack(tmp_path, {"models/TST01.rule": rule}))
    checked = result.pack.models["TST01"]
    hole = next(p for p in checked.message if isinstance(p, ir.Hole))
    assert hole.expr == ir.LookupCall("township_name", (checked.township,), Type.STRING)
    assert not [d for d in result.diagnostics if d.code == "W320"]


def test_township_in_a_grouped_message_names_the_aggregate_the_township_clause_gives(tmp_path):
    rule = model(
        "from com_incentive i\n  group by i.enterprise_code",
        "{township}等{count(*)}笔",
        key="i.enterprise_code",
        township="first(i.township order by i.paid_on, i.township)",
    )
    result = check_pack(make_pack(tmp_path, {"models/TST01.rule": rule}))
    checked = result.pack.models["TST01"]
    assert isinstance(checked.township, ir.Agg) and checked.township.name == "first"
    assert checked.message[0].expr == ir.LookupCall(
        "township_name", (checked.township,), Type.STRING
    )


def test_a_let_called_township_is_still_the_let(tmp_path):
    rule = model('from dr_project p\n  let township = "x"', "{township}")
    result = check_pack(make_pack(tmp_path, {"models/TST01.rule": rule}))
    assert result.pack.models["TST01"].message[0].expr == ir.LetRef("township", Type.STRING)


def test_township_outside_a_message_is_an_unknown_name_with_a_hint(tmp_path):
    rule = model('from dr_project p\n  where township = "330122001"', "{p.name}")
    found = only(check_pack(make_pack(tmp_path, {"models/TST01.rule": rule})), "E205")
    assert any("{township}" in hint for hint in found.hints)


def test_township_inside_an_aggregate_when_the_township_is_one(tmp_path):
    rule = model(
        "from com_incentive i\n  group by i.enterprise_code",
        "{count(distinct township)}",
        key="i.enterprise_code",
        township="min(i.township)",
    )
    only(check_pack(make_pack(tmp_path, {"models/TST01.rule": rule})), "E305")


# ---- near-misses ------------------------------------------------------------------------------

PACK_YAML = (ROOT / "policies" / "pack.yaml").read_text(encoding="utf-8")

# (what is wrong, the shared rule file written beside common.rule, a model's query and
# message, the code, and the text the diagnostic's span covers)
NEAR_MISSES = [
    (
        "a relation has no declared key",
        "lookup circle_town(person) = official_circle.township by person_id",
        None,
        "E256",
        "official_circle",
    ),
    (
        "an unknown source",
        "lookup village_of(code) = ref_villages.name by village",
        None,
        "E200",
        "ref_villages",
    ),
    (
        "a column the source lacks",
        "lookup town_kind(code) = ref_township.kinds by township",
        None,
        "E201",
        "kinds",
    ),
    (
        "a parameter named twice",
        "lookup tax_of(code, code) = tax_annual.tax_paid by enterprise_code, year",
        None,
        "E257",
        "code",
    ),
    (
        "a default of another type than the column",
        "lookup town_kind(code) = ref_township.kind by township default 0",
        None,
        "E355",
        "0",
    ),
    (
        "by a column that is not the key: two rows may share a name",
        "lookup township_code(name) = ref_township.township by name",
        None,
        "E455",
        "name",
    ),
    (
        "by part of the key: a company has many shareholders",
        "lookup shareholder(code) = mkt_shareholder.person_id by enterprise_code",
        None,
        "E455",
        "enterprise_code",
    ),
    (
        "fewer parameters than key columns",
        "lookup tax_of(code) = tax_annual.tax_paid by enterprise_code, year",
        None,
        "E456",
        "tax_of",
    ),
    (
        "a lookup named like a shared definition",
        "lookup in_official_circle(code) = ref_township.name by township",
        None,
        "E209",
        "in_official_circle",
    ),
    (
        "a lookup whose default calls itself",
        "lookup town_kind(code) = ref_township.kind by township default town_kind(code)",
        None,
        "E213",
        "town_kind",
    ),
    (
        "a lookup in a join's on: read before the lookup's join is made",
        "",
        (
            'from trade_contract c\n  join dr_project p on township_name(p.township) = "桐君街道"',
            "{p.name}",
        ),
        "E457",
        "township_name",
    ),
    (
        "a shared definition that calls a lookup, in a join's on",
        'define named(code: string) "有名称" = township_name(code) != code',
        ("from trade_contract c\n  join dr_project p on named(p.township)", "{p.name}"),
        "E457",
        "named",
    ),
    (
        "a key reading rows inside and outside a subquery",
        "",
        (
            "from dr_project p\n"
            "  where exists(trade_tender t where township_name(if(t.budget > 0, p.township, "
            't.project_id)) = "x")',
            "{p.name}",
        ),
        "E459",
        "if(t.budget > 0, p.township, t.project_id)",
    ),
    (
        "an aggregate of a subquery's rows as the key",
        "",
        (
            "from dr_project p\n"
            "  let name = (from trade_contract c where c.project_id = p.project_id\n"
            "              select township_name(min(c.township)))",
            "{p.name}{name ?? '无'}",
        ),
        "E459",
        "min(c.township)",
    ),
    (
        "a key holding a subquery, inside a subquery",
        "",
        (
            "from dr_project p\n"
            "  where exists(trade_tender t where t.project_id = p.project_id and\n"
            "    township_name((from dr_project q where q.project_id = t.project_id\n"
            '                   select min(q.township))) = "x")',
            "{p.name}",
        ),
        "E459",
        "(from dr_project q where q.project_id = t.project_id\n"
        "                   select min(q.township))",
    ),
    (
        "a key holding a subquery, in a shared definition",
        'define project_town(id: string) "项目乡镇名称" =\n'
        "  township_name((from dr_project q where q.project_id = id select min(q.township)))",
        None,
        "E459",
        "(from dr_project q where q.project_id = id select min(q.township))",
    ),
    (
        "a lookup called with too many arguments",
        "",
        ("from dr_project p", "{township_name(p.township, p.name)}"),
        "E302",
        "township_name(p.township, p.name)",
    ),
    (
        "a lookup called with a number for a code",
        "",
        ("from dr_project p", "{township_name(p.investment)}"),
        "E301",
        "p.investment",
    ),
]


def _covered(result, diagnostic: Diagnostic) -> str:
    span = diagnostic.span
    lines = result.sources[span.file].splitlines()
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    middle = lines[span.line : span.end_line - 1]
    return "\n".join(
        [
            lines[span.line - 1][span.column - 1 :],
            *middle,
            lines[span.end_line - 1][: span.end_column - 1],
        ]
    )


@pytest.mark.parametrize(
    ("shared", "query", "code", "covered"),
    [pytest.param(s, q, c, t, id=why) for why, s, q, c, t in NEAR_MISSES],
)
def test_a_near_miss_gets_one_diagnostic_where_it_is_wrong(
    tmp_path, monkeypatch, shared: str, query, code: str, covered: str
):
    rules = {}
    if shared:
        rules["shared/more.rule"] = shared + "\n"
    if query is not None:
        rules["models/TST01.rule"] = model(*query)
    make_pack(tmp_path, rules)
    monkeypatch.chdir(tmp_path)
    result = check_pack(Path("pack"))
    found = only(result, code)
    assert _covered(result, found) == covered
    assert found.message_zh and found.message_en


def test_the_index_cannot_read_a_lookup(tmp_path):
    pack = make_pack(tmp_path, {}, index=True)
    index = pack / "index.rule"
    text = index.read_text(encoding="utf-8")
    index.write_text(
        text.replace(
            "let W = count(*)",
            'let W = count(* where township_name(w.township) != "")',
        ),
        encoding="utf-8",
    )
    found = only(check_pack(pack), "E458")
    assert found.span.line == 9


def test_township_without_a_lookup_named_in_pack_yaml(tmp_path):
    pack_yaml = PACK_YAML.replace("township_names: township_name\n", "")
    rule = model("from dr_project p", "{township}的{p.name}")
    found = only(check_pack(make_pack(tmp_path, {"models/TST01.rule": rule}, pack_yaml)), "E255")
    assert any("township_names" in hint for hint in found.hints)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ('"township name"', "E684"),
        ("[township_name]", "E684"),
        ("townshp_name", "E685"),
        ("in_official_circle", "E685"),
        ("tax_of", "E686"),
        ("registered_on", "E686"),
    ],
)
def test_township_names_must_name_a_lookup_from_a_code_to_a_text(tmp_path, value: str, code: str):
    # Checked where a message writes {township}: a pack may copy pack.yaml without the
    # shared rules (test_a_pack_without_the_lookup_is_fine_until_township_is_written).
    pack_yaml = PACK_YAML.replace("township_names: township_name", f"township_names: {value}")
    shared = (
        "lookup tax_of(code, year) = tax_annual.tax_paid by enterprise_code, year\n"
        "lookup registered_on(code) = mkt_enterprise.registered_on by enterprise_code\n"
    )
    rule = model("from dr_project p", "{township}的{p.name}")
    rules = {"shared/more.rule": shared, "models/TST01.rule": rule}
    result = check_pack(make_pack(tmp_path, rules, pack_yaml))
    found = only(result, code)
    assert found.span is not None and found.span.file.endswith("pack.yaml")
    if value == "townshp_name":
        assert any("township_name" in hint for hint in found.hints)


def test_a_lookup_without_a_default_may_be_null_in_a_message(tmp_path):
    shared = 'lookup town_kind(code) "乡镇类别" = ref_township.kind by township\n'
    rule = model(
        "from dr_project p",
        "{town_kind(p.township)}{township_name(p.township)}{town_kind(p.township) ?? '类别不详'}",
    )
    result = check_pack(
        make_pack(tmp_path, {"shared/more.rule": shared, "models/TST01.rule": rule})
    )
    assert problems(result) == []
    # Only the first hole: township_name writes the code (never null here) when it finds none.
    assert [d.message_en for d in result.diagnostics if d.code == "W320"] == [
        "the message hole {town_kind(p.township)} may be null, and would then read 空"
    ]


def test_an_unknown_function_suggests_a_lookup(tmp_path):
    rule = model("from dr_project p", "{township_nam(p.township)}")
    found = only(check_pack(make_pack(tmp_path, {"models/TST01.rule": rule})), "E204")
    assert any("township_name" in hint for hint in found.hints)


def test_a_pack_without_the_lookup_is_fine_until_township_is_written(tmp_path):
    pack = make_pack(tmp_path, {"models/TST01.rule": model("from dr_project p", "{p.name}")})
    (pack / "shared" / "common.rule").unlink()
    assert problems(check_pack(pack)) == []
    rule = pack / "models" / "TST01.rule"
    rule.write_text(model("from dr_project p", "{township}{p.name}"), encoding="utf-8")
    assert only(check_pack(pack), "E685").span.file.endswith("pack.yaml")
