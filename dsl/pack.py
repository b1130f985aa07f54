"""The policy pack's own file, pack.yaml: version, domains, parameters and source catalog.

Read with ruamel.yaml so that every problem can be pointed at by line and
column, like a problem in a rule file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.types import Type, parse_type_name

SEVERITIES = {"red": "红色", "yellow": "黄色", "blue": "蓝色"}
SEVERITY_ALIASES = {**{v: k for k, v in SEVERITIES.items()}, **{k: k for k in SEVERITIES}}

# A plain identifier: what a rule file can write as a name (NAME in dsl/grammar.lark) —
# ASCII letters, digits and underscores, and the CJK ideographs of a Chinese table or column
# name (项目表), not starting with a digit. Names of tables, schemas and columns must be
# plain so that every dialect reads them the same way; quotes, semicolons, spaces and dashes
# are refused where the name is written (E605, E624) rather than reaching a warehouse.
_NAME_START = "A-Za-z_\u3400-\u4dbf\u4e00-\u9fff"
IDENTIFIER = re.compile(f"[{_NAME_START}][{_NAME_START}0-9]*")
IDENTIFIER_HINT = (
    "名称只能由字母、数字、下划线和汉字组成，且不以数字开头 / "
    "a name is letters, digits, underscores and Chinese characters, not starting with a digit"
)


def is_identifier(text: object) -> bool:
    """Whether `text` is a plain identifier (see IDENTIFIER)."""
    return isinstance(text, str) and IDENTIFIER.fullmatch(text) is not None


def is_table_name(text: object) -> bool:
    """Whether `text` is a plain identifier or `schema.table` of two of them."""
    return isinstance(text, str) and all(is_identifier(part) for part in text.split(".", 1))


@dataclass(frozen=True)
class Column:
    """A column of a source: its type, whether the contract requires it, its label."""

    name: str
    type: Type
    required: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Source:
    """A logical source of the data contract."""

    name: str
    label: str
    department: str
    key: tuple[str, ...]
    event_date: str | None
    columns: dict[str, Column]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Parameter:
    """A threshold policy staff may change; models read it as `$name`."""

    name: str
    type: Type
    default: Any
    unit: str | None
    description: str
    minimum: Any = None
    maximum: Any = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Township:
    """One of the county's townships (乡镇/街道) from the reference list."""

    code: str
    name: str
    kind: str | None


@dataclass(frozen=True)
class Pack:
    """Everything in pack.yaml, checked."""

    root: Path
    name: str
    version: str
    engine: str
    domains: dict[str, str]  # code -> Chinese name
    parameters: dict[str, Parameter]
    sources: dict[str, Source]
    townships: tuple[Township, ...]
    county: str = ""
    # The lookup that names a township from its code (`township_names:`), which a message's
    # `{township}` calls; None when the pack names none. Checked against the rule files.
    township_names: str | None = None
    township_names_span: Span | None = field(default=None, compare=False)

    def domain_code(self, text: str) -> str | None:
        """The code of a domain given by code (ENG) or by name (工程管理)."""
        if text in self.domains:
            return text
        return next((code for code, name in self.domains.items() if name == text), None)


def _span(path: str, node: Any, key: Any = None) -> Span:
    """Where a mapping key (or the node itself) sits in pack.yaml."""
    try:
        if key is not None:
            line, col = node.lc.key(key)
        else:
            line, col = node.lc.line, node.lc.col
        return Span.point(path, line + 1, col + 1, len(str(key)) if key is not None else 1)
    except (AttributeError, KeyError, TypeError):
        return Span.point(path, 1, 1)


def coerce_value(value: Any, type_: Type) -> Any:
    """A YAML (or command-line) value as a Python value of the parameter's type.

    Raises ValueError with a short explanation when it does not fit.
    """
    if isinstance(value, str):
        text = value.strip()
    else:
        text = value
    if type_ is Type.BOOL:
        if isinstance(text, bool):
            return text
        if str(text).lower() in ("true", "false"):
            return str(text).lower() == "true"
        raise ValueError("应为 true 或 false")
    if type_ is Type.INT:
        if isinstance(text, bool):
            raise ValueError("应为整数")
        try:
            number = Decimal(str(text).replace("_", ""))
        except InvalidOperation:
            raise ValueError("应为整数") from None
        if number != number.to_integral_value():
            raise ValueError("应为整数")
        return int(number)
    if type_ in (Type.DECIMAL, Type.FLOAT):
        if isinstance(text, bool):
            raise ValueError("应为数值")
        try:
            number = Decimal(str(text).replace("_", ""))
        except InvalidOperation:
            raise ValueError("应为数值") from None
        if not number.is_finite():
            raise ValueError("应为有限数值")
        return number
    if type_ is Type.DATE:
        if isinstance(text, date):
            return text
        try:
            return date.fromisoformat(str(text))
        except ValueError:
            raise ValueError("应为日期 YYYY-MM-DD") from None
    return str(value)


def load_pack(root: str | Path, engine_version: str | None = None) -> Pack:
    """Read and check `root/pack.yaml`; raise DiagnosticError listing every problem.

    With `engine_version`, a pack whose `engine:` range excludes it is refused:
    a pack written for another engine may mean something else here.
    """
    root = Path(root)
    path = root / "pack.yaml"
    shown = str(path)
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E600",
                    f"找不到策略包文件 {shown}",
                    f"no pack file at {shown}",
                    None,
                    ("用 --policies 指向含有 pack.yaml 的目录",),
                )
            ]
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
        raise DiagnosticError(
            [
                Diagnostic(
                    "E600",
                    "pack.yaml 不是有效的 YAML",
                    f"pack.yaml is not valid YAML: {exc.problem}",
                    span,
                )
            ]
        ) from None

    problems: list[Diagnostic] = []

    def problem(code: str, zh: str, en: str, node: Any, key: Any = None, hint: str = "") -> None:
        problems.append(Diagnostic(code, zh, en, _span(shown, node, key), (hint,) if hint else ()))

    if not isinstance(data, dict):
        raise DiagnosticError(
            [
                Diagnostic(
                    "E600",
                    "pack.yaml 应为映射",
                    "pack.yaml must be a mapping",
                    Span.point(shown, 1, 1),
                )
            ]
        )
    for section in ("pack", "domains", "parameters", "sources"):
        if not isinstance(data.get(section), dict):
            problem("E601", f"pack.yaml 缺少 {section} 部分", f"pack.yaml lacks '{section}'", data)
    if problems:
        raise DiagnosticError(problems)

    meta = data["pack"]
    version = str(meta.get("version", ""))
    engine_spec = str(meta.get("engine", ""))
    if engine_version is not None and engine_spec:
        why = engine_problem(engine_spec, engine_version)
        if why:
            problem(
                "E604",
                f"策略包不适用于本引擎：{why}",
                f"this pack needs engine {engine_spec}; this is oversight {engine_version}",
                meta,
                "engine",
                "升级或降级 oversight 到策略包要求的版本，或由维护者确认后修改 pack.yaml 的 engine",
            )
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        problem(
            "E601",
            "pack.version 应为 主.次.修订 形式，如 1.2.0",
            "pack.version must look like 1.2.0",
            meta,
            "version" if "version" in meta else None,
        )

    parameters: dict[str, Parameter] = {}
    for name, spec in data["parameters"].items():
        if not isinstance(spec, dict):
            problem(
                "E602",
                f"参数 {name} 的声明应为映射",
                f"parameter {name} must be a mapping",
                data["parameters"],
                name,
            )
            continue
        try:
            type_ = parse_type_name(str(spec.get("type")))
        except ValueError:
            problem(
                "E602",
                f"参数 {name} 的类型「{spec.get('type')}」未知",
                f"parameter {name} has unknown type {spec.get('type')!r}",
                spec,
                "type" if "type" in spec else None,
                "类型可为 int、decimal、float、string、date、bool",
            )
            continue
        if "description" not in spec or "default" not in spec:
            problem(
                "E602",
                f"参数 {name} 需要 default 和 description",
                f"parameter {name} needs a default and a description",
                data["parameters"],
                name,
            )
            continue
        try:
            default = coerce_value(spec["default"], type_)
            minimum = coerce_value(spec["min"], type_) if "min" in spec else None
            maximum = coerce_value(spec["max"], type_) if "max" in spec else None
        except ValueError as exc:
            problem(
                "E602",
                f"参数 {name} 的取值不符合类型 {type_.value}：{exc}",
                f"parameter {name}: a value does not fit type {type_.value}",
                spec,
            )
            continue
        parameters[str(name)] = Parameter(
            str(name),
            type_,
            default,
            spec.get("unit"),
            str(spec["description"]),
            minimum,
            maximum,
            _span(shown, data["parameters"], name),
        )
        _check_range(parameters[str(name)], default, problems, _span(shown, spec, "default"))

    sources: dict[str, Source] = {}
    for name, spec in data["sources"].items():
        if not is_identifier(name):
            problem(
                "E605",
                f"来源名「{name}」不是普通标识符",
                f"source name {str(name)!r} is not a plain identifier",
                data["sources"],
                name,
                IDENTIFIER_HINT,
            )
        columns: dict[str, Column] = {}
        for col_name, col in (spec.get("columns") or {}).items():
            if not is_identifier(col_name):
                problem(
                    "E605",
                    f"{name} 的列名「{col_name}」不是普通标识符",
                    f"column name {str(col_name)!r} of {name} is not a plain identifier",
                    spec["columns"],
                    col_name,
                    IDENTIFIER_HINT,
                )
                continue
            try:
                col_type = parse_type_name(str(col.get("type")))
            except ValueError:
                problem(
                    "E603",
                    f"{name}.{col_name} 的类型「{col.get('type')}」未知",
                    f"{name}.{col_name} has unknown type {col.get('type')!r}",
                    col,
                )
                continue
            columns[str(col_name)] = Column(
                str(col_name), col_type, bool(col.get("required", False)), col.get("label")
            )
        for key_column in spec.get("key", []):
            if key_column not in columns:
                problem(
                    "E603",
                    f"{name} 的键「{key_column}」不是它的列",
                    f"key {str(key_column)!r} of {name} is not one of its columns",
                    spec,
                    "key",
                )
        event_date = spec.get("event_date")
        if event_date is not None and event_date not in columns:
            problem(
                "E603",
                f"{name} 的 event_date「{event_date}」不是它的列",
                f"event_date {event_date!r} of {name} is not one of its columns",
                spec,
                "event_date",
            )
            event_date = None
        sources[str(name)] = Source(
            str(name),
            str(spec.get("label", name)),
            str(spec.get("department", "")),
            tuple(str(k) for k in spec.get("key", [])),
            event_date,
            columns,
            _span(shown, data["sources"], name),
        )

    townships = tuple(
        Township(str(t["township"]), str(t["name"]), t.get("kind"))
        for t in data.get("townships") or []
    )
    township_names = data.get("township_names")
    if township_names is not None and not is_identifier(township_names):
        problem(
            "E684",
            f"township_names 应为一个 lookup 的名称，这里是「{township_names}」",
            f"township_names names a lookup; {str(township_names)!r} is not a name",
            data,
            "township_names",
            "例如 township_names: township_name（policies/shared/common.rule 中的 lookup）/ "
            "e.g. township_names: township_name",
        )
    if problems:
        raise DiagnosticError(problems)
    return Pack(
        root=root,
        name=str(meta.get("name", root.name)),
        version=version,
        engine=str(meta.get("engine", "")),
        domains={str(k): str(v) for k, v in data["domains"].items()},
        parameters=parameters,
        sources=sources,
        townships=townships,
        county=str(meta.get("county", "")),
        township_names=str(township_names) if township_names is not None else None,
        township_names_span=_span(shown, data, "township_names")
        if township_names is not None
        else None,
    )


def version_tuple(text: str) -> tuple[int, ...]:
    """1.2.0 -> (1, 2, 0); a part that is not a number counts as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in text.strip().split("."))


def engine_problem(spec: str, engine_version: str) -> str | None:
    """Why `engine_version` does not satisfy the pack's `engine:` spec (">=0.1,<1"), or None."""
    operators = {
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
    }
    have = version_tuple(engine_version)
    for clause in (c.strip() for c in spec.split(",") if c.strip()):
        match = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)", clause)
        if match is None:
            return f"无法理解的版本要求「{clause}」"
        op, wanted = match.groups()
        width = max(len(have), len(version_tuple(wanted)))
        left = have + (0,) * (width - len(have))
        right = version_tuple(wanted) + (0,) * (width - len(version_tuple(wanted)))
        if not operators[op](left, right):
            return f"引擎版本 {engine_version} 不满足 {clause}"
    return None


def _check_range(param: Parameter, value: Any, problems: list[Diagnostic], span: Span) -> None:
    message = range_problem(param, value)
    if message:
        problems.append(Diagnostic("E602", message[0], message[1], span))


def range_problem(param: Parameter, value: Any) -> tuple[str, str] | None:
    """Chinese and English text saying why `value` is out of the parameter's range, if it is."""
    if param.minimum is not None and value < param.minimum:
        return (
            f"参数 {param.name} 的值 {value} 小于下限 {param.minimum}",
            f"{param.name} = {value} is below its minimum {param.minimum}",
        )
    if param.maximum is not None and value > param.maximum:
        return (
            f"参数 {param.name} 的值 {value} 大于上限 {param.maximum}",
            f"{param.name} = {value} is above its maximum {param.maximum}",
        )
    return None
