"""`oversight param`: thresholds listed, and set in pack.yaml or a deployment file.

A change must leave every other byte of the file as it was (comments, blank
lines, key order, quoting, Chinese text), refuse values that do not fit, and
be what the next `oversight run` uses.
"""

from __future__ import annotations

import json
import shutil
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dsl.diagnostics import DiagnosticError
from dsl.pack import Pack, load_pack
from engine import api
from engine.cli import cli, main
from engine.cli.params import param_group, render_table
from engine.exit_codes import ExitCode
from engine.policy.deployment import load_deployment
from engine.policy.params import list_parameters, set_parameter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the repository's policies/ alone: no compiled/ beside it to go stale."""
    target = tmp_path / "work" / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


@pytest.fixture
def declared(policies: Path) -> Pack:
    return load_pack(policies)


@pytest.fixture
def registered(monkeypatch):
    """`oversight param` as engine/cli/ will register it, for exit codes through `main`."""
    monkeypatch.setitem(cli.commands, "param", param_group)


def param(args: list[str]) -> object:
    return param_group.main(args, prog_name="oversight param", standalone_mode=False)


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) for every line that differs; the texts must have as many lines."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


# ---- pack.yaml -------------------------------------------------------------------------------


def test_a_new_default_changes_that_line_only_in_the_real_pack(policies: Path, declared: Pack):
    pack_file = policies / "pack.yaml"
    before = pack_file.read_bytes().decode("utf-8")
    change = set_parameter(pack_file, "tender_threshold", "3000000", declared, in_deployment=False)
    after = pack_file.read_bytes().decode("utf-8")

    line = before.splitlines().index("    default: 4000000") + 1
    assert after == before.replace("    default: 4000000\n", "    default: 3000000\n", 1)
    assert changed_lines(before, after) == [("    default: 4000000\n", "    default: 3000000\n")]
    assert (change.line, change.old_text, change.new_text) == (line, "4000000", "3000000")
    assert (change.old_value, change.new_value) == (Decimal(4000000), Decimal(3000000))
    assert change.policy_changed and not change.in_deployment
    assert load_pack(policies).parameters["tender_threshold"].default == Decimal(3000000)
    assert not [p for p in pack_file.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("name", "given", "old", "written"),
    [
        ("change_ratio_limit", "0.15", "0.10", "0.15"),  # two places stay two places
        ("change_ratio_limit", "0.2", "0.10", "0.20"),
        ("change_ratio_limit", "0.125", "0.10", "0.125"),  # never rounded
        ("incentive_tax_ratio", "2", "1.0", "2.0"),
        ("tender_threshold", "3000000.00", "4000000", "3000000"),  # an int stays an int
        ("tender_grace_months", "7", "6", "7"),
        ("max_homestead_area", "130.5", "125", "130.5"),
    ],
)
def test_the_value_keeps_its_style(policies, declared, name, given, old, written):
    pack_file = policies / "pack.yaml"
    before = pack_file.read_text(encoding="utf-8")
    change = set_parameter(policies, name, given, declared, in_deployment=False)
    after = pack_file.read_text(encoding="utf-8")
    [(was, now)] = changed_lines(before, after)
    assert was == f"    default: {old}\n" and now == f"    default: {written}\n"
    assert change.new_text == written


def test_setting_the_value_it_already_has_writes_nothing(policies: Path, declared: Pack):
    pack_file = policies / "pack.yaml"
    before = pack_file.stat()
    change = set_parameter(
        pack_file, "tender_threshold", "4000000.0", declared, in_deployment=False
    )
    assert change.unchanged and not change.policy_changed
    after = pack_file.stat()  # a write replaces the file: a new inode
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_permissions_are_kept(policies: Path, declared: Pack):
    pack_file = policies / "pack.yaml"
    pack_file.chmod(0o640)
    set_parameter(pack_file, "cash_limit", "40000", declared, in_deployment=False)
    assert stat.S_IMODE(pack_file.stat().st_mode) == 0o640


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("tender_threshold", "abc", "E661"),
        ("tender_threshold", "3,000,000", "E661"),
        ("tender_grace_months", "1.5", "E661"),
        ("tender_threshold", "-1", "E662"),
        ("prepay_ratio", "1.5", "E662"),
        ("shared_account_min", "1", "E662"),
    ],
)
def test_values_that_do_not_fit_are_refused_and_nothing_is_written(
    policies, declared, name, value, code
):
    pack_file = policies / "pack.yaml"
    before = pack_file.read_bytes()
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(pack_file, name, value, declared, in_deployment=False)
    [problem] = raised.value.diagnostics
    assert problem.code == code
    lines = before.decode("utf-8").splitlines()
    declared_at = lines.index(f"  {name}:") + 1
    assert problem.span is not None and problem.span.file == str(pack_file)
    assert declared_at < problem.span.line < declared_at + 8  # the line of its default
    assert lines[problem.span.line - 1].strip().startswith("default:")
    assert pack_file.read_bytes() == before


def test_an_unknown_name_gets_a_suggestion(policies: Path, declared: Pack):
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(policies, "tender_treshold", "1", declared, in_deployment=False)
    [problem] = raised.value.diagnostics
    assert problem.code == "E660"
    assert any("did you mean tender_threshold?" in hint for hint in problem.hints)


def test_a_deployment_value_out_of_range_points_at_the_override(tmp_path, declared):
    county = tmp_path / "county.yaml"
    county.write_text("parameters:\n  prepay_ratio: 0.9\n", encoding="utf-8")
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(county, "prepay_ratio", "2", declared, in_deployment=True)
    [problem] = raised.value.diagnostics
    assert (problem.code, problem.span.file, problem.span.line) == ("E662", str(county), 2)


def test_a_file_that_is_not_yaml_is_reported(tmp_path: Path, declared: Pack):
    county = tmp_path / "county.yaml"
    county.write_text("parameters: [\n", encoding="utf-8")
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(county, "cash_limit", "1", declared, in_deployment=True)
    assert [d.code for d in raised.value.diagnostics] == ["E663"]
    assert county.read_text(encoding="utf-8") == "parameters: [\n"


# ---- deployment files ------------------------------------------------------------------------

COUNTY = """\
# 桐庐县的部署文件 —— 由县纪委监委信息科维护
warehouse: "duckdb:///county.duckdb"   # 县数据仓库

tables:
  dr_project: ods.fgw_xmlx      # 发改局项目库
  trade_tender: 'ods.ggzy_zbgg'

# 本县的阈值，与策略包默认值不同
parameters:
  tender_threshold: 3500000     # 县政府2021年第3号文
  change_ratio_limit: 0.08

  # cash_limit: 30000   （暂不启用）
ledger_schema: oversight
"""


def test_an_override_changes_that_line_only(tmp_path: Path, declared: Pack):
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY, encoding="utf-8")
    change = set_parameter(county, "tender_threshold", "3000000", declared, in_deployment=True)
    after = county.read_text(encoding="utf-8")
    assert after == COUNTY.replace("3500000     #", "3000000     #")
    assert (change.old_value, change.new_value, change.line) == (3500000, 3000000, 10)
    assert not change.policy_changed

    set_parameter(county, "change_ratio_limit", "0.1", declared, in_deployment=True)
    assert county.read_text(encoding="utf-8") == after.replace("0.08", "0.10")


def test_a_new_override_is_one_line_after_the_last(tmp_path: Path, declared: Pack):
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY, encoding="utf-8")
    change = set_parameter(county, "prepay_ratio", "0.9", declared, in_deployment=True)
    lines = COUNTY.splitlines(keepends=True)
    at = lines.index("  change_ratio_limit: 0.08\n") + 1
    expected = "".join([*lines[:at], "  prepay_ratio: 0.90\n", *lines[at:]])
    assert county.read_text(encoding="utf-8") == expected
    assert change.created_key and change.line == at + 1 and change.old_value is None
    setup = load_deployment(county, declared)
    assert setup.parameters["prepay_ratio"] == Decimal("0.9")
    assert setup.tables == {"dr_project": "ods.fgw_xmlx", "trade_tender": "ods.ggzy_zbgg"}


def test_a_missing_deployment_file_is_created(tmp_path: Path, declared: Pack):
    county = tmp_path / "county.yaml"
    change = set_parameter(county, "tender_threshold", "3000000", declared, in_deployment=True)
    assert change.created_file and change.created_key
    text = county.read_text(encoding="utf-8")
    assert text.endswith("parameters:\n  tender_threshold: 3000000\n")
    assert text.startswith("# ")  # says what the file is
    assert load_deployment(county, declared).parameters == {"tender_threshold": 3000000}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "warehouse: duckdb:///x.duckdb\ntables:\n    dr_project: ods.x\n",
            "warehouse: duckdb:///x.duckdb\ntables:\n    dr_project: ods.x\n"
            "parameters:\n    cash_limit: 40000\n",
        ),
        ("warehouse: x  # 无换行", "warehouse: x  # 无换行\nparameters:\n  cash_limit: 40000\n"),
        ("# 只有注释\n", "# 只有注释\nparameters:\n  cash_limit: 40000\n"),
        (
            "parameters:\n# 以后再填\nledger_schema: s\n",
            "parameters:\n  cash_limit: 40000\n# 以后再填\nledger_schema: s\n",
        ),
        ("parameters: {}  # 空\n", "parameters: {cash_limit: 40000}  # 空\n"),
        (
            "parameters: {tender_threshold: 3000000}\n",
            "parameters: {tender_threshold: 3000000, cash_limit: 40000}\n",
        ),
        ("parameters: {cash_limit: '30000'}\n", "parameters: {cash_limit: '40000'}\n"),
        (
            "\ufeffparameters:\r\n  cash_limit: 30000 # 元\r\n",
            "\ufeffparameters:\r\n  cash_limit: 40000 # 元\r\n",
        ),
        (
            "parameters:\r\n  tender_threshold: 1\r\n",
            "parameters:\r\n  tender_threshold: 1\r\n  cash_limit: 40000\r\n",
        ),
    ],
    ids=[
        "no-parameters",
        "no-final-newline",
        "comments-only",
        "empty",
        "flow-empty",
        "flow",
        "quoted",
        "bom-crlf",
        "crlf-new-key",
    ],
)
def test_deployment_layouts(tmp_path: Path, declared: Pack, before: str, after: str):
    county = tmp_path / "county.yaml"
    county.write_bytes(before.encode("utf-8"))
    set_parameter(county, "cash_limit", "40000", declared, in_deployment=True)
    assert county.read_bytes().decode("utf-8") == after


def test_an_aliased_value_is_not_edited_in_place(tmp_path: Path, declared: Pack):
    county = tmp_path / "county.yaml"
    text = "parameters:\n  cash_limit: &limit 30000\n  approval_limit: *limit\n"
    county.write_text(text, encoding="utf-8")
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(county, "cash_limit", "40000", declared, in_deployment=True)
    assert [d.code for d in raised.value.diagnostics] == ["E663"]
    assert county.read_text(encoding="utf-8") == text


def test_a_deployment_in_a_missing_folder_is_refused(tmp_path: Path, declared: Pack):
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(tmp_path / "nope" / "c.yaml", "cash_limit", "1", declared, in_deployment=True)
    assert [d.code for d in raised.value.diagnostics] == ["E663"]


# ---- listing ---------------------------------------------------------------------------------


def test_list_shows_default_override_effective_and_models(pack, tmp_path: Path):
    county = tmp_path / "county.yaml"
    county.write_text("parameters:\n  tender_threshold: 3000000\n", encoding="utf-8")
    views = {v.name: v for v in list_parameters(pack, api.deployment_for(pack, county))}
    assert list(views) == list(pack.pack.parameters)
    threshold = views["tender_threshold"]
    assert (threshold.default, threshold.override, threshold.effective) == (
        4000000,
        3000000,
        3000000,
    )
    assert threshold.models == ("ENG01", "ENG02") and threshold.unit == "元"
    grace = views["tender_grace_months"]
    assert (grace.override, grace.effective, grace.minimum) == (None, 6, 0)


def test_the_table_lines_up_chinese_text():
    from engine.cli.warnings import display_width

    pack = load_pack(ROOT / "policies")
    table = render_table(list_parameters(pack)).splitlines()
    header = table[0]
    column = display_width(header[: header.index("说明")])
    for line in table[3:]:
        description = pack.parameters[line.split()[0]].description
        assert display_width(line[: line.index(description)]) == column


def test_param_list_json(policies: Path, tmp_path: Path, capsys):
    county = tmp_path / "county.yaml"
    county.write_text("parameters:\n  change_ratio_limit: 0.2\n", encoding="utf-8")
    param(["list", "--policies", str(policies), "--deployment", str(county), "--format", "json"])
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["change_ratio_limit"] == {
        "name": "change_ratio_limit",
        "type": "decimal",
        "nullable": False,
        "unit": "比例",
        "default": "0.1",
        "overridden": True,
        "override": "0.2",
        "effective": "0.2",
        "min": "0",
        "max": None,
        "description": "工程变更净额占合同金额的上限",
        "models": ["ENG05"],
    }
    assert rows["tender_grace_months"]["default"] == 6


def test_param_list_table(policies: Path, capsys):
    param(["list", "--policies", str(policies)])
    out = capsys.readouterr().out
    line = next(t for t in out.splitlines() if t.startswith("tender_threshold "))
    assert "4000000 元" in line and "ENG01, ENG02" in line and "必须招标" in line
    assert "25 parameters" in out


# ---- the command -----------------------------------------------------------------------------


def test_param_set_says_a_new_default_changes_the_policy(policies: Path, capsys):
    param(["set", "tender_grace_months", "7", "--policies", str(policies), "--no-examples"])
    out = capsys.readouterr().out
    assert "tender_grace_months: 6 → 7 月" in out
    version = load_pack(ROOT / "policies").version
    assert "this changes the policy" in out and "CHANGELOG.md" in out and version in out
    assert f"version: {version}" in (policies / "pack.yaml").read_text(encoding="utf-8")  # kept
    assert (policies / "CHANGELOG.md").read_bytes() == (ROOT / "policies/CHANGELOG.md").read_bytes()


def test_param_set_in_a_deployment_leaves_the_pack(policies: Path, tmp_path: Path, capsys):
    pack_before = (policies / "pack.yaml").read_bytes()
    county = tmp_path / "county.yaml"
    param(["set", "tender_threshold", "3000000", "--policies", str(policies),
           "--deployment", str(county), "--format", "json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["old"] is None and result["new"] == "3000000" and result["default"] == "4000000"
    assert result["created_file"] and not result["policy_changed"]
    assert (policies / "pack.yaml").read_bytes() == pack_before
    param(["set", "tender_threshold", "3200000", "--policies", str(policies),
           "--deployment", str(county)])  # fmt: skip
    out = capsys.readouterr().out
    assert "tender_threshold: 3000000 → 3200000 元" in out and "this deployment only" in out


def test_exit_codes(policies: Path, registered, capsys):
    base = ["param", "set", "--policies", str(policies)]
    assert main([*base, "tender_threshold", "-1"]) == ExitCode.INVALID_POLICY
    assert "error[E662]" in capsys.readouterr().err
    assert main([*base, "tender_treshold", "1", "--format", "json"]) == ExitCode.INVALID_POLICY
    [problem] = json.loads(capsys.readouterr().err)
    assert problem["code"] == "E660"
    assert main([*base, "tender_threshold"]) == ExitCode.USAGE
    assert main([*base, "tender_threshold", "1", "2"]) == ExitCode.USAGE
    assert main(["param", "list", "--policies", str(policies), "--format", "csv"]) == ExitCode.USAGE
    assert main([*base, "tender_grace_months", "8", "--no-examples"]) == ExitCode.OK


# ---- the next run uses it --------------------------------------------------------------------

PROJECT = {
    "project_id": "P1",
    "township": "330122102",
    "name": "农村自来水工程",
    "investment": Decimal("3500000"),
    "approved_on": date(2021, 4, 20),
    "status": "在建",
}


def eng01_keys(policies: Path, url: str, out: Path, *extra: str) -> list[str]:
    code = main(
        ["run", "--policies", str(policies), "--as-of", "2021-11-15", "--warehouse", url,
         "--select", "ENG01", "--output", str(out), *extra]
    )  # fmt: skip
    assert code == ExitCode.OK
    return [w["warning_key"] for w in pq.read_table(out).to_pylist() if w["model_id"] == "ENG01"]


def test_the_next_run_uses_the_new_default(
    policies: Path, duckdb_warehouse, townships, tmp_path: Path, capsys
):
    url = duckdb_warehouse({"dr_project": [PROJECT], "trade_tender": [], "ref_township": townships})
    assert eng01_keys(policies, url, tmp_path / "before.parquet") == []

    text = (policies / "pack.yaml").read_text(encoding="utf-8")
    assert param(["set", "tender_threshold", "3000000", "--policies", str(policies)]) is None
    captured = capsys.readouterr()
    assert "tender_threshold: 4000000 → 3000000 元" in captured.out
    # The pack's own examples assumed 4,000,000: the person is told before CI finds out.
    assert "oversight check" in captured.err and "ENG01「投资额恰为400万元预警" in captured.err
    [(was, now)] = changed_lines(text, (policies / "pack.yaml").read_text(encoding="utf-8"))
    assert (was.strip(), now.strip()) == ("default: 4000000", "default: 3000000")

    assert eng01_keys(policies, url, tmp_path / "after.parquet") == ["P1"]
    message = pq.read_table(tmp_path / "after.parquet").to_pylist()[0]["message"]
    assert message.startswith("投资额为350万元的分水镇农村自来水工程")


def test_the_next_run_uses_the_override(
    policies: Path, duckdb_warehouse, townships, tmp_path: Path
):
    url = duckdb_warehouse({"dr_project": [PROJECT], "trade_tender": [], "ref_township": townships})
    county = tmp_path / "county.yaml"
    county.write_text(f"warehouse: {url}  # 本县\n", encoding="utf-8")
    deployment = ["--deployment", str(county)]
    assert eng01_keys(policies, url, tmp_path / "before.parquet", *deployment) == []
    param(["set", "tender_threshold", "3000000", "--policies", str(policies), *deployment])
    assert eng01_keys(policies, url, tmp_path / "after.parquet", *deployment) == ["P1"]
    assert eng01_keys(policies, url, tmp_path / "pack.parquet") == []  # the pack is as it was


def test_a_negative_value_is_an_argument_not_an_option(policies: Path):
    with pytest.raises(DiagnosticError) as raised:
        param(["set", "tender_threshold", "-5", "--policies", str(policies)])
    assert [d.code for d in raised.value.diagnostics] == ["E662"]


def test_no_temporary_file_is_left_when_the_write_fails(tmp_path, declared, monkeypatch):
    (tmp_path / "county").mkdir()
    county = tmp_path / "county" / "county.yaml"
    county.write_text("parameters:\n  cash_limit: 1\n", encoding="utf-8")

    def refuse(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("engine.policy.params.os.replace", refuse)
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(county, "cash_limit", "2", declared, in_deployment=True)
    [problem] = raised.value.diagnostics
    assert problem.code == "E663" and "Permission denied" in problem.message_en
    assert [p.name for p in county.parent.iterdir()] == ["county.yaml"]
    assert county.read_text(encoding="utf-8") == "parameters:\n  cash_limit: 1\n"


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path, declared, monkeypatch):
    county = tmp_path / "county.yaml"
    county.write_text("parameters:\n  cash_limit: 1\n", encoding="utf-8")
    import engine.policy.params as params

    check_value = params.check_value

    def someone_else_writes(*args: object, **kwargs: object) -> object:
        """The file changes after set_parameter read it, while it checks the new value."""
        checked = check_value(*args, **kwargs)
        county.write_text("parameters:\n  cash_limit: 5\n", encoding="utf-8")
        return checked

    monkeypatch.setattr(params, "check_value", someone_else_writes)
    with pytest.raises(DiagnosticError) as raised:
        set_parameter(county, "cash_limit", "2", declared, in_deployment=True)
    assert "changed while being edited" in raised.value.diagnostics[0].message_en
    assert county.read_text(encoding="utf-8") == "parameters:\n  cash_limit: 5\n"


def test_thresholds_can_be_listed_and_set_while_a_rule_file_has_errors(policies: Path, capsys):
    rule = policies / "models" / "engineering" / "ENG01.rule"
    rule.write_text(
        rule.read_text(encoding="utf-8").replace("$tender_threshold", "$tender_treshold"),
        encoding="utf-8",
    )
    param(["list", "--policies", str(policies)])
    captured = capsys.readouterr()
    assert "tender_threshold " in captured.out and "rule files have errors" in captured.err
    param(["set", "tender_threshold", "3000000", "--policies", str(policies)])
    assert "tender_threshold: 4000000 → 3000000 元" in capsys.readouterr().out
