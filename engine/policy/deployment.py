"""A county's deployment file: what differs per county, kept out of the policy pack.

```yaml
warehouse: duckdb:///county.duckdb
tables:            # logical source -> physical table (default: the same name)
  dr_project: ods.fgj_project_approval
parameters:        # overrides of pack.yaml defaults
  tender_threshold: 3000000
ledger_schema: oversight   # where the engine keeps its own tables (default: the warehouse itself)
password_env: OVERSIGHT_PG_PASSWORD   # or password_file: PATH; never the password itself
```

The file goes into git, so a warehouse's password is not written in it: it names
the environment variable or the file (relative to the deployment file) that holds
it. How they are written is checked here, with the line that names them
(E625–E627), and whether they give a password just before a command opens the
warehouse (`password_ready`, E626); the Deployment keeps the place, and
adapters.connect reads the password when it opens the warehouse
(adapters/passwords.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from adapters.passwords import PasswordSource, PasswordUnavailable, takes_password
from adapters.redaction import password_in
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
    password: PasswordSource | None = None  # where the password is, not the password
    password_at: Span | None = None  # the key that names it, for E626


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


PASSWORD_KEYS = ("password_env", "password_file")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PASSWORD_HINT = (
    "在运行 oversight 的环境中设置它，或改用 password_file 或 libpq 的 .pgpass / "
    "set it where oversight runs, or use password_file or libpq's .pgpass"
)


def _password_source(
    shown: str, data: Any, warehouse: str | None
) -> tuple[PasswordSource, Span | None] | Diagnostic:
    """Where the deployment says the warehouse's password is, and the key's place (E625–E627).

    The caret points at the key that names the place, never at the warehouse's
    line: that line may hold a password, and a rendered diagnostic quotes its line.
    Whether the variable or file gives a password is asked only when a command is
    about to open the warehouse (`password_ready`): `compile`, `explain` and
    `param list` read the deployment where the password is not, such as a policy
    repository's CI.
    """
    given = [key for key in PASSWORD_KEYS if data.get(key) is not None]
    key = given[-1]
    span = _span(shown, data, key)
    if len(given) > 1:
        return diagnostic("E625.both", span, hints=("只留其中一个 / keep one of them",))
    if warehouse and not takes_password(warehouse):
        return diagnostic(
            "E627",
            span,
            hints=(f"删去 {key} / remove {key}",),
            key=key,
            scheme=warehouse.partition(":")[0],
        )
    if warehouse and password_in(warehouse) is not None:
        return diagnostic(
            "E625.in_url",
            span,
            hints=(
                "把密码从 warehouse: 地址中删去：部署文件会进入 git / "
                "take the password out of the warehouse URL: the deployment file goes into git",
            ),
            key=key,
        )
    value = data[key]
    if key == "password_env":
        if not isinstance(value, str) or not ENV_NAME.fullmatch(value):
            return diagnostic("E626.env_not_a_name", span, text=str(value))
        source = PasswordSource(env=value)
    else:
        if not isinstance(value, str) or not value.strip():
            return diagnostic("E626.file_not_a_path", span, text=str(value))
        source = PasswordSource(file=Path(shown).parent / Path(value).expanduser())
    return source, span


def password_ready(deployment: Deployment, url: str) -> None:
    """E626 before the warehouse at `url` is opened, when the password it needs is not there.

    Only a warehouse that takes a password and whose URL gives none reads the
    deployment's; the password read is not kept (adapters.connect reads it again).
    """
    if deployment.password is None or not takes_password(url) or password_in(url) is not None:
        return
    try:
        deployment.password.read()
    except PasswordUnavailable as missing:
        raise DiagnosticError([_unavailable(deployment.password_at, missing)]) from None


def _unavailable(span: Span | None, missing: PasswordUnavailable) -> Diagnostic:
    """E626: the variable or file the deployment names gives no password now."""
    where = missing.where
    if missing.reason == "env_unset":
        return diagnostic("E626.env_unset", span, hints=(PASSWORD_HINT,), name=where)
    if missing.reason == "env_empty":
        return diagnostic("E626.env_empty", span, hints=(PASSWORD_HINT,), name=where)
    if missing.reason == "file_missing":
        return diagnostic("E626.file_missing", span, file=where)
    if missing.reason == "file_empty":
        return diagnostic("E626.file_empty", span, file=where)
    return diagnostic("E626.file_unreadable", span, file=where, detail=missing.detail)


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
    warehouse = str(data["warehouse"]) if data.get("warehouse") else None
    password: PasswordSource | None = None
    password_at: Span | None = None
    if any(data.get(key) is not None for key in PASSWORD_KEYS):
        named = _password_source(shown, data, warehouse)
        if isinstance(named, Diagnostic):
            problems.append(named)
        else:
            password, password_at = named
    if problems:
        raise DiagnosticError(problems)
    return Deployment(
        warehouse,
        tables,
        parameters,
        shown,
        str(schema) if schema else None,
        password,
        password_at,
    )
