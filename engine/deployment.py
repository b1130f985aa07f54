"""A county's deployment file: what differs per county, kept out of the policy pack.

```yaml
warehouse: duckdb:///county.duckdb
tables:            # logical source -> physical table (default: the same name)
  dr_project: ods.fgj_project_approval
parameters:        # overrides of pack.yaml defaults
  tender_threshold: 3000000
ledger_schema: oversight   # where the engine keeps its own tables (default: the warehouse itself)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.pack import (
    IDENTIFIER_HINT,
    Pack,
    ValueProblem,
    is_identifier,
    is_table_name,
    item_span,
    parameter_value,
    range_problem,
    repeated_map_key,
)
from dsl.suggest import did_you_mean

DEFAULT_WAREHOUSE = "duckdb:///oversight.duckdb"


@dataclass(frozen=True)
class Deployment:
    """What one county sets: its warehouse, its table names, its parameter values."""

    warehouse: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    ledger_schema: str | None = None


def _span(path: str, node: Any, key: Any) -> Span | None:
    try:
        line, col = node.lc.key(key)
        return Span.point(path, line + 1, col + 1, len(str(key)))
    except (AttributeError, KeyError, TypeError):
        return None


def _not_a_name(path: str, node: Any, key: Any, value: Any, source: str | None) -> Diagnostic:
    """E624: the table name of `source` (or, with None, the ledger schema) is not plain.

    Such a name would reach the warehouse as SQL text (`t; DROP TABLE y`), so it
    is refused here, before anything is opened; the caret points at the value.
    """
    text = "" if value is None else str(value)
    span = _span(path, node, key)  # an empty value has no place of its own: point at its key
    if text:
        try:
            line, col = node.lc.value(key)
            span = Span.point(path, line + 1, col + 1, len(text))
        except (AttributeError, KeyError, TypeError):
            pass
    if source is None:
        return Diagnostic(
            "E624",
            f"ledger_schema 的模式名「{text}」不是普通标识符",
            f"ledger_schema {text!r} is not a plain identifier",
            span,
            (IDENTIFIER_HINT,),
        )
    return Diagnostic(
        "E624",
        f"{source} 的表名「{text}」不是普通标识符",
        f"the table name {text!r} of {source} is not a plain identifier",
        span,
        (IDENTIFIER_HINT, "表名写作 表 或 模式.表，如 ods.fgw_xmlx / write TABLE or SCHEMA.TABLE"),
    )


def _not_yaml(shown: str, exc: MarkedYAMLError) -> Diagnostic:
    """E620: the deployment file is not YAML, with where the reader stopped."""
    mark = exc.problem_mark
    span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
    return Diagnostic(
        "E620",
        "部署文件不是有效的 YAML",
        f"the deployment file is not valid YAML: {exc.problem}",
        span,
    )


def load_deployment(path: str | Path | None, pack: Pack) -> Deployment:
    """Read and check a deployment file against the pack; no file means all defaults."""
    if path is None:
        return Deployment()
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = YAML(typ="rt").load(text) or {}
    except DuplicateKeyError as exc:
        twice = repeated_map_key(text, shown, [("parameters",)], "")
        raise DiagnosticError([twice or _not_yaml(shown, exc)]) from None
    except FileNotFoundError:
        raise DiagnosticError(
            [Diagnostic("E620", f"找不到部署文件 {shown}", f"no deployment file at {shown}")]
        ) from None
    except MarkedYAMLError as exc:
        raise DiagnosticError([_not_yaml(shown, exc)]) from None
    if not isinstance(data, dict):
        raise DiagnosticError(
            [Diagnostic("E620", "部署文件应为映射", "the deployment file must be a mapping")]
        )
    for section in ("tables", "parameters"):
        if not isinstance(data.get(section) or {}, dict):
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E620",
                        f"部署文件的 {section} 应为映射（名称: 值）",
                        f"'{section}' of the deployment file must be a mapping (name: value)",
                        _span(shown, data, section),
                    )
                ]
            )
    problems: list[Diagnostic] = []
    tables: dict[str, str] = {}
    for logical, physical in (data.get("tables") or {}).items():
        if logical not in pack.sources:
            problems.append(
                Diagnostic(
                    "E621",
                    f"部署文件映射了未知来源 {logical}",
                    f"the deployment maps unknown source {logical}",
                    _span(shown, data["tables"], logical),
                    did_you_mean(str(logical), pack.sources),
                )
            )
        elif not is_table_name(physical):
            problems.append(_not_a_name(shown, data["tables"], logical, physical, str(logical)))
        else:
            tables[str(logical)] = str(physical)
    parameters: dict[str, Any] = {}
    for name, value in (data.get("parameters") or {}).items():
        param = pack.parameters.get(name)
        span = _span(shown, data["parameters"], name)
        if param is None:
            problems.append(
                Diagnostic(
                    "E622",
                    f"部署文件覆盖了未知参数 {name}",
                    f"the deployment overrides unknown parameter {name}",
                    span,
                )
            )
            continue
        try:
            parameters[str(name)] = parameter_value(value, param)
        except ValueProblem as exc:
            problems.append(exc.diagnostic(item_span(shown, value, exc, span)))
            continue
        except ValueError as exc:
            problems.append(
                Diagnostic(
                    "E623",
                    f"参数 {name} 的值不符合类型 {param.type.value}：{exc}",
                    f"{name} must be a {param.type.value}",
                    span,
                )
            )
            continue
        out_of_range = range_problem(param, parameters[str(name)])
        if out_of_range:
            problems.append(Diagnostic("E623", out_of_range[0], out_of_range[1], span))
    schema = data.get("ledger_schema")
    if schema is not None and not is_identifier(schema):
        problems.append(_not_a_name(shown, data, "ledger_schema", schema, None))
    if problems:
        raise DiagnosticError(problems)
    warehouse = data.get("warehouse")
    return Deployment(
        str(warehouse) if warehouse else None,
        tables,
        parameters,
        shown,
        str(schema) if schema else None,
    )
