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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.messages import diagnostic
from dsl.pack import (
    IDENTIFIER_HINT,
    Pack,
    ValueProblem,
    is_identifier,
    is_table_name,
    item_span,
    out_of_range,
    parameter_value,
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


def parameter_in_effect(
    pack: Pack, name: str, overrides: Mapping[str, Any] | None, fallback: Any
) -> Any:
    """A pack parameter's value in effect: the deployment's override, else the pack's default.

    The engine reads a few parameters itself, not through a rule (the days to rectify,
    the thresholds of a common problem). A pack that does not declare one gives
    `fallback`, the county's own default, so that any pack can be followed up and advised.
    """
    if overrides and name in overrides:
        return overrides[name]
    declared = pack.parameters.get(name)
    return declared.default if declared is not None else fallback


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
        return diagnostic("E624.ledger_schema_plain", span, hints=(IDENTIFIER_HINT,), text=text)
    return diagnostic(
        "E624.table_name_plain",
        span,
        hints=(
            IDENTIFIER_HINT,
            "表名写作 表 或 模式.表，如 ods.fgw_xmlx / write TABLE or SCHEMA.TABLE",
        ),
        source=source,
        text=text,
    )


def _not_yaml(shown: str, exc: MarkedYAMLError) -> Diagnostic:
    """E620: the deployment file is not YAML, with where the reader stopped."""
    mark = exc.problem_mark
    span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
    return diagnostic("E620.not_yaml", span, problem=exc.problem)


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
        raise DiagnosticError([diagnostic("E620.no_file", None, shown=shown)]) from None
    except MarkedYAMLError as exc:
        raise DiagnosticError([_not_yaml(shown, exc)]) from None
    if not isinstance(data, dict):
        raise DiagnosticError([diagnostic("E620.not_mapping", None)])
    for section in ("tables", "parameters"):
        if not isinstance(data.get(section) or {}, dict):
            raise DiagnosticError(
                [
                    diagnostic(
                        "E620.section_not_mapping", _span(shown, data, section), section=section
                    )
                ]
            )
    problems: list[Diagnostic] = []
    tables: dict[str, str] = {}
    for logical, physical in (data.get("tables") or {}).items():
        if logical not in pack.sources:
            problems.append(
                diagnostic(
                    "E621",
                    _span(shown, data["tables"], logical),
                    hints=did_you_mean(str(logical), pack.sources),
                    logical=logical,
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
            problems.append(diagnostic("E622", span, name=name))
            continue
        try:
            parameters[str(name)] = parameter_value(value, param)
        except ValueProblem as exc:
            problems.append(exc.diagnostic(item_span(shown, value, exc, span)))
            continue
        except ValueError as exc:
            problems.append(
                diagnostic(
                    "E623.not_the_type", span, name=name, type_name=param.type.value, exc=exc
                )
            )
            continue
        wording = out_of_range(param, parameters[str(name)], "E623")
        if wording:
            problems.append(wording.at(span))
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
