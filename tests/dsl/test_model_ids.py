"""Model ids are whatever a pack's domains allow, and a pack may route no warning to a township.

pack.yaml's `domains:` say which ids each domain takes: `ENG: 工程管理` (the county's
pack, ids of the form ENG01), a `prefix`, a `pattern`, or nothing (any identifier,
Chinese ones too). An id of another domain's form is refused (E280), as are ids that
only differ in case (E281) or that name something else a command reads (E282). A pack
that says `townships: none` has models without a `township` clause (E380), examples
that expect none (E381) and no index (E382). pack.yaml mistakes: E695–E698.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError, Severity
from dsl.pack import load_pack

ROOT = Path(__file__).resolve().parents[2]
COUNTY = ROOT / "policies"
PROCUREMENT = ROOT / "tests" / "packs" / "procurement"


def _pack(tmp_path: Path, base: Path, rules: dict[str, str], pack_yaml: str | None = None) -> Path:
    """A copy of the pack at `base` (its pack.yaml and shared/) with `rules` as its models."""
    root = tmp_path / "pack"
    (root / "models").mkdir(parents=True)
    shutil.copytree(base / "shared", root / "shared")
    if pack_yaml is None:
        shutil.copy(base / "pack.yaml", root / "pack.yaml")
    else:
        (root / "pack.yaml").write_text(pack_yaml, encoding="utf-8")
    for name, text in rules.items():
        (root / "models" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _errors(root: Path) -> list[tuple[str, str]]:
    """(code, English message) of every error `oversight check --no-examples` reports."""
    result = check_pack(root, examples=False)
    return [(d.code, d.message_en) for d in result.diagnostics if d.severity is Severity.ERROR]


def _county_model(model_id: str, domain: str = "工程管理") -> str:
    return f"""\
        model {model_id} "测试" {{
          domain   {domain}
          severity red
          from dr_project p
          key      p.project_id
          township p.township
          message  "{{p.name}}"
        }}
        """


def _procurement_model(model_id: str, domain: str, extra: str = "") -> str:
    return f"""\
        model {model_id} "测试" {{
          domain   {domain}
          severity red
          from proc_process p
          key      p.process_id
          message  "{{p.process_id}}"
          {extra}
        }}
        """


# ---- the county's pack: ids of the form ENG01, each of its own domain -----------------------


def test_the_county_pack_keeps_its_35_ids_each_of_its_own_domain():
    result = check_pack(COUNTY, examples=False)
    assert result.pack is not None
    models = result.pack.models
    assert len(models) == 35
    pack = result.pack.pack
    for model_id, model in models.items():
        assert pack.ids_of(model.domain).fits(model_id)
        assert pack.domains_claiming(model_id) == [model.domain], model_id
    assert pack.has_townships


def test_an_id_of_another_domain_is_refused(tmp_path: Path):
    root = _pack(tmp_path, COUNTY, {"x.rule": _county_model("INV09", "工程管理")})
    assert _errors(root) == [("E280", "model id INV09 is of domain INV, but the model is in ENG")]


def test_an_id_of_no_domain_of_the_form_is_as_before(tmp_path: Path):
    # TST01 is of the form ENG01 and no domain's letters: any domain takes it, as before.
    root = _pack(tmp_path, COUNTY, {"x.rule": _county_model("TST01")})
    assert _errors(root) == []


@pytest.mark.parametrize("model_id", ["eng1", "ENG1", "ENGINEER01", "采购01", "eng_01"])
def test_an_id_not_of_the_form_eng01_is_refused_in_the_county_pack(tmp_path: Path, model_id):
    root = _pack(tmp_path, COUNTY, {"x.rule": _county_model(model_id)})
    assert _errors(root) == [("E214", f"model id {model_id!r} is not of the form ENG01")]


# ---- a pack whose domains declare a prefix, a pattern, or nothing ---------------------------


def test_the_procurement_pack_checks_with_a_prefix_a_pattern_and_a_chinese_id():
    result = check_pack(PROCUREMENT, examples=False)
    assert [d for d in result.diagnostics if d.severity is Severity.ERROR] == []
    assert result.pack is not None
    assert {m.id: m.domain for m in result.pack.models.values()} == {
        "C01": "COMP",
        "C02": "COMP",
        "price_below_threshold": "PRICE",
        "price_outlier": "PRICE",
        "常胜供应商": "SUPP",
    }
    assert not result.pack.pack.has_townships


@pytest.mark.parametrize(
    ("model_id", "domain", "error"),
    [
        ("C1", "竞争不足", ("E214", "model id 'C1' is not of the form C01")),
        ("C0001", "COMP", ("E214", "model id 'C0001' is not of the form C01")),
        ("outlier", "PRICE", ("E214", "model id 'outlier' is not of the form price_[a-z_]+")),
        ("price_X", "价格异常", ("E214", "model id 'price_X' is not of the form price_[a-z_]+")),
        ("C05", "SUPP", ("E280", "model id C05 is of domain COMP, but the model is in SUPP")),
        ("price_x", "COMP", ("E214", "model id 'price_x' is not of the form C01")),
        (
            "price_x",
            "SUPP",
            ("E280", "model id price_x is of domain PRICE, but the model is in SUPP"),
        ),
    ],
)
def test_an_id_must_fit_its_own_domain_and_no_other(tmp_path, model_id, domain, error):
    rules = {"x.rule": _procurement_model(model_id, domain)}
    assert _errors(_pack(tmp_path, PROCUREMENT, rules)) == [error]


@pytest.mark.parametrize("model_id", ["常胜", "供应商_2", "a", "_x", "Supplier9", "集中度高于七成"])
def test_a_domain_that_declares_nothing_takes_any_identifier(tmp_path: Path, model_id):
    rules = {"x.rule": _procurement_model(model_id, "SUPP")}
    assert _errors(_pack(tmp_path, PROCUREMENT, rules)) == []


def test_ids_that_differ_only_in_case_are_refused(tmp_path: Path):
    rules = {
        "a.rule": _procurement_model("concentration", "SUPP"),
        "b.rule": _procurement_model("Concentration", "SUPP"),
    }
    assert _errors(_pack(tmp_path, PROCUREMENT, rules)) == [
        ("E281", "model ids concentration and Concentration differ only in letter case")
    ]


@pytest.mark.parametrize(
    ("model_id", "what"),
    [
        ("red", "severity"),
        ("红色", "severity"),
        ("草稿", "status"),
        ("active", "status"),
        ("SUPP", "domain"),
        ("供应商集中", "domain"),
        ("index", "index"),
        ("Index", "index"),
    ],
)
def test_an_id_that_names_something_else_is_refused(tmp_path: Path, model_id, what):
    rules = {"x.rule": _procurement_model(model_id, "SUPP")}
    assert _errors(_pack(tmp_path, PROCUREMENT, rules)) == [
        ("E282", f"model id {model_id} is already the name of a {what}")
    ]


def test_a_diagnostic_says_which_ids_the_domain_takes(tmp_path: Path):
    rules = {"x.rule": _procurement_model("outlier", "PRICE")}
    result = check_pack(_pack(tmp_path, PROCUREMENT, rules), examples=False)
    (diagnostic,) = result.diagnostics
    assert diagnostic.message_zh == "模型编号「outlier」格式不对"
    assert diagnostic.hints == (
        "编号须整体符合正则表达式 price_[a-z_]+ / "
        "an id must match the regular expression price_[a-z_]+ as a whole",
    )
    assert diagnostic.span.file.endswith("pack/models/x.rule")
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 7)


# ---- a pack without townships ----------------------------------------------------------------


def test_a_township_clause_in_a_pack_without_townships_is_refused(tmp_path: Path):
    rules = {"x.rule": _procurement_model("C09", "COMP", 'township "330122001"')}
    assert _errors(_pack(tmp_path, PROCUREMENT, rules)) == [
        (
            "E380",
            "this pack routes no warning to a township (pack.yaml: townships: none): "
            "a model has no 'township'",
        )
    ]


def test_an_example_cannot_expect_a_township_in_a_pack_without_townships(tmp_path: Path):
    example = """example "e" {
            as_of 2022-01-31
            given proc_process { process_id: "P1", buyer_code: "B1", category: "货物",
                                 method: "询价", published_on: 2022-01-01 }
            expect "P1" township "330122001"
          }
          example "n" { as_of 2022-01-31 expect none }"""
    rules = {"x.rule": _procurement_model("C09", "COMP", example)}
    result = check_pack(_pack(tmp_path, PROCUREMENT, rules))
    assert [(d.code, d.message_en) for d in result.diagnostics] == [
        (
            "E381",
            "this pack routes no warning to a township: an example cannot expect township "
            "330122001",
        )
    ]


def test_a_pack_without_townships_has_no_index(tmp_path: Path):
    index = (COUNTY / "index.rule").read_text(encoding="utf-8")
    root = _pack(tmp_path, PROCUREMENT, {})
    (root / "index.rule").write_text(index, encoding="utf-8")
    assert _errors(root) == [
        ("E382", "this pack routes no warning to a township (townships: none): it has no index")
    ]


def test_the_county_pack_still_requires_a_township_clause(tmp_path: Path):
    rule = _county_model("ENG09").replace("          township p.township\n", "")
    assert _errors(_pack(tmp_path, COUNTY, {"x.rule": rule})) == [
        ("E400", "model ENG09 has no 'township'")
    ]


# ---- pack.yaml -------------------------------------------------------------------------------

_HEAD = """\
pack: {name: 测试, version: 1.0.0, engine: ">=0.1"}
parameters: {}
sources:
  proc_process:
    key: [process_id]
    columns:
      process_id: {type: string}
"""


def _pack_problems(tmp_path: Path, extra: str) -> list[tuple[str, str, int]]:
    (tmp_path / "pack.yaml").write_text(_HEAD + extra, encoding="utf-8")
    with pytest.raises(DiagnosticError) as caught:
        load_pack(tmp_path)
    return [(d.code, d.message_en, d.span.line) for d in caught.value.diagnostics]


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        (
            "domains:\n  A: {prefix: A}\n",
            [("E695", "domain A: it has no name", 9)],
        ),
        (
            "domains:\n  A: {name: 甲, prefix: A, ids: A}\n",
            [("E695", "domain A: unknown key ids", 9)],
        ),
        (
            "domains:\n  A:\n",
            [("E695", "domain A needs a name, or a mapping with a name", 9)],
        ),
        (
            "domains:\n  A: {name: 甲, prefix: A, pattern: 'A.*'}\n",
            [("E695", "domain A declares its ids by prefix or by pattern, not both", 9)],
        ),
        (
            "domains:\n  A: {name: 甲, prefix: 'A-'}\n",
            [("E696", "the id prefix 'A-' of domain A is not a plain identifier", 9)],
        ),
        (
            "domains:\n  A: {name: 甲, pattern: 'A[0-9'}\n",
            [
                (
                    "E696",
                    "the id pattern of domain A is not a valid regular expression: "
                    "unterminated character set at position 1",
                    9,
                )
            ],
        ),
        (
            "domains:\n  A: {name: 甲, prefix: X}\n  B: {name: 乙, prefix: X}\n",
            [("E697", "domains A and B have the same id prefix X", 10)],
        ),
        (
            "domains:\n  ENG: 工程管理\n  B: {name: 乙, prefix: ENG}\n",
            [("E697", "domains ENG and B have the same id prefix ENG", 10)],
        ),
        (
            "domains:\n  B: {name: 乙, prefix: ENG}\n  ENG: 工程管理\n",
            [("E697", "domain ENG and the id prefix of domain B are the same: ENG", 10)],
        ),
    ],
)
def test_a_mistake_in_the_domains_is_pointed_at(tmp_path: Path, domains: str, expected):
    assert _pack_problems(tmp_path, domains) == expected


def test_townships_is_a_list_or_none(tmp_path: Path):
    assert _pack_problems(tmp_path, "domains: {A: 甲}\ntownships: no\n") == [
        (
            "E698",
            "'townships' must be a list of townships, or none for a pack whose warnings are "
            "routed to no township",
            9,
        )
    ]


def test_the_three_forms_of_a_domain_read_as_they_say(tmp_path: Path):
    (tmp_path / "pack.yaml").write_text(
        _HEAD
        + "domains:\n  ENG: 工程管理\n  C: {name: 竞争, prefix: C}\n"
        + "  P: {name: 价格, pattern: 'price_[a-z]+'}\n  S: {name: 供应商}\ntownships: none\n",
        encoding="utf-8",
    )
    pack = load_pack(tmp_path)
    assert pack.domains == {"ENG": "工程管理", "C": "竞争", "P": "价格", "S": "供应商"}
    assert not pack.has_townships and pack.townships == ()
    assert [pack.ids_of("ENG").fits(i) for i in ("ENG01", "FIN123", "ENG1")] == [True, True, False]
    assert [pack.ids_of("C").fits(i) for i in ("C01", "C123", "C1", "CX01")] == [
        True,
        True,
        False,
        False,
    ]
    assert [pack.ids_of("P").fits(i) for i in ("price_x", "price_", "xprice_x")] == [
        True,
        False,
        False,
    ]
    assert pack.ids_of("S").fits("任意_名称1")
    assert pack.domains_claiming("ENG01") == ["ENG"]
    assert pack.domains_claiming("FIN01") == []
    assert pack.domains_claiming("C07") == ["C"]
    assert pack.domains_claiming("任意") == []
