"""`oversight param list` and `oversight param set`: the thresholds, for policy staff.

Registered on the `oversight` group by engine/cli/
(`cli.add_command(param_group, name="param")`). The work is in engine/policy/params.py;
this only parses arguments and prints. A problem (unknown name, a value that
does not fit, a file that cannot be written) is raised as DiagnosticError,
which engine/cli/'s `main` prints on stderr and ends with exit code 2, as
for every other command.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from dsl import ir
from dsl.check import check_pack
from dsl.pack import Pack, ParamMap, load_pack
from engine import api
from engine.cli.options import FORMAT, POLICIES
from engine.cli.warnings import aligned_table, terminal_width
from engine.policy.deployment import load_deployment
from engine.policy.params import (
    Change,
    ParameterView,
    examples_failing,
    list_parameters,
    range_text,
    set_parameter,
    value_text,
    with_unit,
)


@click.group(name="param")
def param_group() -> None:
    """List and change the thresholds (参数) that models read as $name."""


def _load(policies: Path) -> ir.CheckedPack | Pack:
    """The checked pack (to name the models using each parameter), else pack.yaml alone.

    Thresholds can be listed and changed while a rule file has errors: only
    pack.yaml has to be sound for a value to be validated. The models are
    then not known, and stderr says why.
    """
    checked = check_pack(policies).pack
    if checked is not None:
        return checked
    declared = load_pack(policies)  # E60x when pack.yaml itself has errors
    click.echo(
        "注意 note: 规则文件有错误，无法列出使用参数的模型（运行 oversight check 查看）/ "
        "the rule files have errors, so the models using each parameter are not known "
        "(run `oversight check`)",
        err=True,
    )
    return declared


# ---- list ------------------------------------------------------------------------------------

_MIN_DESCRIPTION = 20
# (field, Chinese header, English header)
_COLUMNS = (
    ("name", "参数", "parameter"),
    ("type", "类型", "type"),
    ("default", "默认值", "default"),
    ("override", "本部署", "override"),
    ("effective", "生效值", "effective"),
    ("range", "范围", "range"),
    ("models", "模型", "models"),
    ("description", "说明", "description"),
)


@param_group.command(name="list")
@POLICIES
@click.option(
    "--deployment",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="show this deployment file's overrides and the values in effect there",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: for people; json: for machines",
)
def list_command(policies: Path | None, deployment: Path | None, output_format: str) -> None:
    """Every parameter: default, this deployment's override, value in effect, models using it."""
    pack = _load(policies or api.default_policies())
    declared = pack.pack if isinstance(pack, ir.CheckedPack) else pack
    views = list_parameters(pack, load_deployment(deployment, declared))
    if output_format == "json":
        click.echo(json.dumps([view_json(v) for v in views], ensure_ascii=False, indent=2))
        return
    click.echo(render_table(views, terminal_width(sys.stdout.isatty())))
    overridden = sum(1 for v in views if v.overridden)
    where = f"，{deployment} 覆盖 {overridden} 个" if deployment else ""
    where_en = f", {overridden} overridden by {deployment}" if deployment else ""
    click.echo(
        f"策略包 pack {declared.version}：共 {len(views)} 个参数{where} / "
        f"{len(views)} parameters{where_en}"
    )


def _json_value(value: Any) -> Any:
    """Decimals as strings (exact, as written), dates ISO; ints and booleans as they are.

    A list is a JSON array, a map a JSON object (its keys in the order written).
    """
    if isinstance(value, Decimal | date):
        return value_text(value)
    if isinstance(value, ParamMap):
        return {key: _json_value(item) for key, item in value}
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def view_json(view: ParameterView) -> dict[str, Any]:
    """One parameter as `param list --format json` writes it."""
    return {
        "name": view.name,
        "type": view.type_name,
        "nullable": view.nullable,
        "unit": view.unit,
        "default": _json_value(view.default),
        "overridden": view.overridden,
        "override": _json_value(view.override),
        "effective": _json_value(view.effective),
        "min": _json_value(view.minimum),
        "max": _json_value(view.maximum),
        "description": view.description,
        "models": list(view.models),
    }


def render_table(views: list[ParameterView], width: int | None = None) -> str:
    """An aligned table (CJK characters count two columns), Chinese and English headers.

    The description, last, is clipped to a terminal's `width`; None (output
    not on a terminal) clips nothing.

    Only ASCII and CJK are used for marks ("-", "..", ">="): characters of
    ambiguous width such as "—" or "≥" take two columns on many Chinese
    terminals and would break the alignment.
    """
    rows = [
        [
            v.name,
            v.type_name + ("|null" if v.nullable else ""),
            with_unit(v.default, v.unit),
            with_unit(v.override, v.unit) if v.overridden else "-",
            with_unit(v.effective, v.unit),
            range_text(v.minimum, v.maximum) or "-",
            ", ".join(v.models) or "-",
            v.description,
        ]
        for v in views
    ]
    headers = [[zh for _, zh, _ in _COLUMNS], [en for _, _, en in _COLUMNS]]
    return aligned_table(headers, rows, width, _MIN_DESCRIPTION)


# ---- set -------------------------------------------------------------------------------------


@param_group.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("value")
@POLICIES
@click.option(
    "--deployment",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="write the override into this deployment file (created when missing) "
    "instead of changing pack.yaml's default",
)
@FORMAT
@click.option(
    "--no-examples",
    is_flag=True,
    help="do not run the examples of the models using it after a new default",
)
def set_command(
    name: str,
    value: str,
    policies: Path | None,
    deployment: Path | None,
    output_format: str,
    no_examples: bool,
) -> None:
    """Set parameter NAME to VALUE: pack.yaml's default, or with --deployment a county's override.

    Only the value changes in the file: every comment, blank line and key
    order stays. A negative VALUE may be written as it is (-1).
    """
    root = policies or api.default_policies()
    pack = _load(root)
    target = deployment if deployment is not None else root / "pack.yaml"
    change = set_parameter(target, name, value, pack, in_deployment=deployment is not None)
    failing: list[str] = []
    if change.policy_changed and not no_examples:
        outcomes = examples_failing(root, name) or []
        failing = [f"{o.model_id}「{o.title}」" for o in outcomes]
    stale = change.policy_changed and api.compiled_dir(root).is_dir()
    if output_format == "json":
        click.echo(json.dumps(change_json(change, failing, stale), ensure_ascii=False))
    else:
        click.echo(change_text(change, stale))
    if failing:
        click.echo(examples_note(change, failing), err=True)


def change_json(change: Change, failing: list[str], stale: bool) -> dict[str, Any]:
    """What `param set --format json` writes: the change and what the person should do next."""
    return {
        "name": change.name,
        "file": change.file,
        "line": change.line,
        "in_deployment": change.in_deployment,
        "old": _json_value(change.old_value),
        "new": _json_value(change.new_value),
        "old_text": change.old_text,
        "new_text": change.new_text,
        "unit": change.unit,
        "default": _json_value(change.default),
        "unchanged": change.unchanged,
        "created_file": change.created_file,
        "created_key": change.created_key,
        "policy_changed": change.policy_changed,
        "pack_version": change.pack_version,
        "models": list(change.models),
        "compiled_stale": stale,
        "examples_failing": failing,
    }


def change_text(change: Change, stale: bool) -> str:
    """`NAME: OLD → NEW UNIT  (FILE:LINE)`, then what it means for the policy."""
    place = f"{change.file}:{change.line}"
    new = with_unit(change.new_value, change.unit)
    if change.unchanged:
        return (
            f"{change.name} 已是 {new}，未修改 / {change.name} is already {new}, nothing written"
            f"  ({place})"
        )
    if change.held:
        old = value_text(change.old_value)
    else:
        old = f"{value_text(change.default)}（策略包默认值 pack default）"
    made = "，新建文件 new file" if change.created_file else ""
    lines = [f"{change.name}: {old} → {new}  ({place}{made})"]
    used = ", ".join(change.models)
    if change.in_deployment:
        if change.new_value == change.default:
            lines.append("与策略包默认值相同 / the same as the pack's default")
        lines.append(
            f"只对本部署生效，策略包默认值仍为 {with_unit(change.default, change.unit)} / "
            f"this deployment only: the pack's default stays "
            f"{with_unit(change.default, change.unit)}"
        )
        return "\n".join(lines)
    lines.append(
        "这改变了策略：未覆盖此参数的部署都将使用新值"
        + (f"（模型 {used}）" if used else "")
        + " / this changes the policy: every deployment without an override now uses it"
        + (f" (models {used})" if used else "")
    )
    lines.append(
        f"  请提升 pack.yaml 的 pack.version（现为 {change.pack_version}）并在 "
        f"policies/CHANGELOG.md 中说明 / bump pack.version (now {change.pack_version}) "
        "and say what changed in policies/CHANGELOG.md"
    )
    if stale:
        lines.append(
            "  compiled/ 已过期，请运行 oversight compile --all / "
            "compiled/ is now stale: run `oversight compile --all`"
        )
    return "\n".join(lines)


def examples_note(change: Change, failing: list[str]) -> str:
    """Which examples the new default breaks: `oversight check` fails until they are updated."""
    old = value_text(change.old_value)
    return "\n".join(
        [
            f"注意 note: 按新的默认值，{len(failing)} 个示例不再成立，oversight check 将失败 / "
            f"with the new default {len(failing)} examples no longer hold: "
            "`oversight check` fails until they are updated",
            *(f"  {item}" for item in failing),
            f"  = 提示 hint: 更新这些示例，或在示例中写明 ${change.name} = {old} / "
            f"update them, or pin ${change.name} = {old} in them",
        ]
    )
