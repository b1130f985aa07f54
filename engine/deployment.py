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
from ruamel.yaml.error import MarkedYAMLError

from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.pack import Pack, coerce_value, range_problem

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


def load_deployment(path: str | Path | None, pack: Pack) -> Deployment:
    """Read and check a deployment file against the pack; no file means all defaults."""
    if path is None:
        return Deployment()
    shown = str(path)
    try:
        data = YAML(typ="rt").load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise DiagnosticError(
            [Diagnostic("E620", f"找不到部署文件 {shown}", f"no deployment file at {shown}")]
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
        raise DiagnosticError(
            [
                Diagnostic(
                    "E620",
                    "部署文件不是有效的 YAML",
                    f"the deployment file is not valid YAML: {exc.problem}",
                    span,
                )
            ]
        ) from None
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
                )
            )
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
            parameters[str(name)] = coerce_value(value, param.type)
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
    if problems:
        raise DiagnosticError(problems)
    warehouse = data.get("warehouse")
    schema = data.get("ledger_schema")
    return Deployment(
        str(warehouse) if warehouse else None,
        tables,
        parameters,
        shown,
        str(schema) if schema else None,
    )
