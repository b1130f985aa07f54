"""Parameters as policy staff see and change them: what `oversight param list` and `set` do.

A threshold lives in two places: its default in `policies/pack.yaml`
(`parameters.NAME.default`, part of the policy, versioned with the pack) and,
for one county, an override in a deployment file (`parameters.NAME`).

Editing keeps the file as people wrote it. A ruamel.yaml round-trip *dump*
does not quite: on the real pack.yaml it re-quotes a string, re-wraps a long
flow mapping and respaces others, some twenty lines in all. So the file is
read in ruamel.yaml's round-trip mode only to learn where the value sits (the
composer gives each node's exact character range), the new value is written
in the old value's style (an int stays an int, 0.10 keeps two places, quotes
stay quotes), and only those characters are replaced. Every comment, blank line,
key order, quoting style and Chinese text around it is untouched by
construction. A list or map is written in brackets (`[a, b]`, `{a: 1}`), or
one item a line where it was so written; a comment between two of its items
goes with the items it stood among. The result is then read back and compared with the old file's
data: anything but the one value differing is refused, never written.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError, Span
from dsl.messages import Wording, diagnostic, message
from dsl.node import dump
from dsl.pack import (
    Pack,
    Parameter,
    ParamMap,
    ValueProblem,
    out_of_range,
    parameter_value,
    repeated_key,
)
from dsl.suggest import did_you_mean
from dsl.types import NUMERIC, Type
from engine.policy.deployment import Deployment
from engine.policy.examples import ExampleOutcome, run_examples
from engine.runs.atomic import replace_file

PACK_FILE = "pack.yaml"
NEW_DEPLOYMENT_HEADER = (
    "# oversight 部署文件：本县与策略包不同之处 / deployment file: what differs in this county\n"
    "# (warehouse:, tables:, parameters: — see `oversight param list`)\n"
)


@dataclass(frozen=True)
class ParameterView:
    """One parameter as `param list` shows it: declared, overridden, and in effect."""

    name: str
    type: Type  # the type of its value, or of its items (a list) or values (a map)
    unit: str | None
    default: Any
    override: Any  # None when the deployment does not override it (or overrides it with null)
    effective: Any
    minimum: Any
    maximum: Any
    description: str
    models: tuple[str, ...]  # the models that read it as $name, sorted
    overridden: bool = False
    type_name: str = ""  # as pack.yaml writes it: int, list<string>, map<string, int>
    nullable: bool = False


@dataclass(frozen=True)
class Change:
    """What `set_parameter` did (or found already so), for the command to report."""

    name: str
    file: str
    line: int  # 1-based line of the value in `file`, after the change
    in_deployment: bool
    old_value: Any  # the value the file held, None when it held none (or held null)
    new_value: Any  # the value the file now holds, as the engine reads it
    old_text: str | None  # the value as it was written, None when there was none
    new_text: str  # the value as it is now written
    default: Any  # the pack's default (before the change, when pack.yaml is what changed)
    unit: str | None
    pack_version: str
    models: tuple[str, ...]
    created_file: bool = False
    created_key: bool = False
    held: bool = False  # the file held a value of the parameter's type (null included)

    @property
    def unchanged(self) -> bool:
        """The file already held this value, so nothing was written."""
        return self.held and self.old_value == self.new_value

    @property
    def policy_changed(self) -> bool:
        """A new default in pack.yaml changes the policy; a deployment override does not."""
        return not self.in_deployment and not self.unchanged


# ---- listing ---------------------------------------------------------------------------------


def _parts(pack: ir.CheckedPack | Pack) -> tuple[Pack, dict[str, ir.Model]]:
    if isinstance(pack, ir.CheckedPack):
        return pack.pack, pack.models
    return pack, {}


def models_using(pack: ir.CheckedPack | Pack, name: str) -> tuple[str, ...]:
    """The ids of the models that read `$name` (none known for an unchecked Pack)."""
    _, models = _parts(pack)
    return tuple(sorted(m.id for m in models.values() if name in m.parameters))


def list_parameters(
    pack: ir.CheckedPack | Pack, deployment: Deployment | None = None
) -> list[ParameterView]:
    """Every parameter in pack.yaml's order, with the deployment's override and the value used.

    The effective value is the override when there is one, else the default —
    the same choice engine/compiler/compile.py makes when it compiles a model.
    """
    declared, _ = _parts(pack)
    overrides = deployment.parameters if deployment else {}
    views = []
    for name, param in declared.parameters.items():
        overridden = name in overrides
        override = overrides.get(name)
        views.append(
            ParameterView(
                name=name,
                type=param.type,
                unit=param.unit,
                default=param.default,
                override=override,
                effective=override if overridden else param.default,
                minimum=param.minimum,
                maximum=param.maximum,
                description=param.description,
                models=models_using(pack, name),
                overridden=overridden,
                type_name=param.type_name,
                nullable=param.nullable,
            )
        )
    return views


def value_text(value: Any) -> str:
    """A parameter value for people: decimals as written (no exponent), dates ISO, null.

    A list is written [a, b] and a map {a: 1, b: 2}, as in pack.yaml.
    """
    if value is None:
        return "null"
    if isinstance(value, ParamMap):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def with_unit(value: Any, unit: str | None) -> str:
    """`4000000 元`: a value and its unit, as the table and `set` show it (null has none)."""
    text = value_text(value)
    return f"{text} {unit}" if unit and value is not None else text


# ---- validation ------------------------------------------------------------------------------


def check_value(
    declared: Pack, name: str, value: str, span: Span | None = None
) -> tuple[Parameter, Any]:
    """The parameter called `name` and `value` read as its type, or E660/E661/E662, E691–E694.

    Checked with what checks pack.yaml and deployment files (`parameter_value`,
    `out_of_range`), so that a value accepted here loads there. A list or map
    is written as in pack.yaml, `[a, b]` or `{a: 1, b: 2}`; `null` is null
    (E693 unless the parameter is nullable; a text parameter that is not
    nullable reads it as the word).
    """
    param = declared.parameters.get(name)
    if param is None:
        raise DiagnosticError(
            [
                diagnostic(
                    "E660.unknown",
                    None,
                    name=name,
                    hints=[
                        *did_you_mean(name, declared.parameters),
                        "oversight param list 列出全部参数 / lists every parameter",
                    ],
                )
            ]
        )
    span = span or param.span
    try:
        coerced = parameter_value(_typed_text(value, param), param)
    except ValueProblem as exc:
        raise DiagnosticError([exc.diagnostic(span)]) from None
    except ValueError as exc:
        raise DiagnosticError(
            [
                diagnostic(
                    "E661",
                    span,
                    name=name,
                    value=value,
                    type_value=param.type.value,
                    type_zh=param.type.zh,
                    exc=exc,
                    hints=[_type_hint(param)],
                )
            ]
        ) from None
    beyond = out_of_range(param, coerced, "E662")
    if beyond is not None:
        raise DiagnosticError([beyond.at(span, [_range_hint(param)])])
    return param, coerced


_NULL_WORDS = ("null", "~")


def _typed_text(text: str, param: Parameter) -> Any:
    """A command line's value before it is checked: null, a list or map read as YAML, or text.

    Raises ValueProblem E694 when a list or map is not written so that it can
    be read, and E692 when a map repeats a key.
    """
    if text.strip().lower() in _NULL_WORDS and (param.nullable or param.type is not Type.STRING):
        return None
    if param.shape == "scalar":
        return text
    example = "[邀请招标, 竞争性谈判]" if param.shape == "list" else "{公开招标: 20, 邀请招标: 15}"
    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError:
        twice = repeated_key(YAML(typ="rt").compose(text))
        key = twice.value if twice is not None else "?"
        raise ValueProblem(
            *message("E692.key_twice", name=param.name, key=key),
            hint="每个键只写一次 / write each key once",
        ) from None
    except YAMLError:
        raise ValueProblem(
            *message("E694", name=param.name, type_name=param.type_name, text=text),
            hint=f"写成 {example}，在命令行中加引号：'{example}' / "
            f"write it as {example}, quoted on the command line",
        ) from None


def _type_hint(param: Parameter) -> str:
    examples = {
        Type.INT: "整数，如 6 / a whole number such as 6",
        Type.DECIMAL: "数值，不带逗号和单位，如 3000000 或 0.15 / a number without commas or unit",
        Type.FLOAT: "数值，如 125 或 0.5 / a number such as 125 or 0.5",
        Type.DATE: "日期，如 2021-11-15 / a date such as 2021-11-15",
        Type.BOOL: "true 或 false / true or false",
    }
    return examples.get(param.type, f"类型 type: {param.type.value}")


def _range_hint(param: Parameter) -> str:
    return f"取值范围 allowed: {range_text(param.minimum, param.maximum)}"


def range_text(minimum: Any, maximum: Any) -> str:
    """`0..1`, `>= 0`, `<= 5` or empty: ASCII, so that it lines up on any terminal."""
    if minimum is not None and maximum is not None:
        return f"{value_text(minimum)}..{value_text(maximum)}"
    if minimum is not None:
        return f">= {value_text(minimum)}"
    if maximum is not None:
        return f"<= {value_text(maximum)}"
    return ""


# ---- reading the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """A YAML file as read: its bytes (to notice a concurrent edit), text, nodes and data."""

    path: Path
    shown: str
    raw: bytes | None  # None: the file does not exist yet
    text: str  # without the byte-order mark
    bom: bool
    root: Node | None = None  # None: no document (a new, empty or comments-only file)
    data: Any = None

    @property
    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"


def _e663(wording: Wording, span: Span | None = None, hint: str = "") -> DiagnosticError:
    """The error that a parameter file cannot be read or changed (an E663 variant)."""
    return DiagnosticError([wording.at(span, [hint])])


_BY_HAND = "请手工编辑该文件 / edit the file by hand"


def _read(path: Path, shown: str, *, missing_ok: bool) -> _Source:
    """Read and compose the file; E663 when it cannot be read or is not YAML.

    It is loaded as well as composed: loading makes ruamel.yaml report
    duplicate keys, which composing alone lets through.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not missing_ok:
            raise _e663(message("E663.no_file", shown=shown)) from None
        return _Source(path, shown, None, "", False)
    except OSError as exc:
        raise _e663(message("E663.unreadable", shown=shown, strerror=exc.strerror)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _e663(
            message("E663.not_utf8", shown=shown), None, "用 UTF-8 另存 / save as UTF-8"
        ) from None
    bom = text.startswith("\ufeff")
    text = text[1:] if bom else text
    try:
        data = YAML(typ="rt").load(text)
        root = YAML(typ="rt").compose(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _e663(message("E663.not_yaml", shown=shown, problem=problem), span) from None
    if root is not None and not isinstance(root, MappingNode):
        raise _e663(message("E663.not_mapping", shown=shown))
    return _Source(path, shown, raw, text, bom, root, data)


def _entry(mapping: Node | None, key: str) -> tuple[Node, Node] | None:
    """The key and value nodes of `key` in a mapping node (None when absent or not a mapping)."""
    if not isinstance(mapping, MappingNode):
        return None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _dig(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _span_of(source: _Source, node: Node) -> Span:
    mark = node.start_mark
    one_line = node.end_mark.line == mark.line
    width = node.end_mark.index - mark.index if one_line else 1
    return Span.point(source.shown, mark.line + 1, mark.column + 1, width)


# ---- writing a value in the old one's style ----------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """How a scalar was written: its text inside the quotes, and the quote (empty: plain)."""

    text: str
    quote: str = ""


def _style_of(source: _Source, node: ScalarNode) -> _Style:
    if node.style in ('"', "'"):
        return _Style(str(node.value), node.style)
    if node.style in ("|", ">"):  # a block scalar is written back double-quoted, on one line
        return _Style(str(node.value), '"')
    return _Style(source.text[node.start_mark.index : node.end_mark.index].strip())


_DECIMAL_PLACES = re.compile(r"[+-]?[\d_]*\.([\d_]+)")


def _number_text(value: Decimal | int, old: _Style | None, integral: bool) -> str:
    """A number with the old one's decimal places (0.10 → 0.15, 0.2 → 0.20) and digit groups.

    More places are written when the new value needs them (0.10 → 0.125),
    never fewer, so nothing is rounded; a whole number written without a
    point (4000000) stays without one.
    """
    if integral:
        text = str(int(value))
    else:
        number = Decimal(value)
        written = _DECIMAL_PLACES.fullmatch(old.text) if old else None
        places = len(written.group(1).replace("_", "")) if written else 0
        needed = max(0, -int(number.normalize().as_tuple().exponent))
        text = format(number, f".{max(places, needed)}f")
    if old and "_" in old.text:  # 4_000_000: keep the digit groups
        sign = "-" if text.startswith("-") else ""
        whole, _, fraction = text.lstrip("-").partition(".")
        text = sign + f"{int(whole):_}" + (f".{fraction}" if fraction else "")
    return text


def _bool_text(value: bool, old: _Style | None) -> str:
    text = "true" if value else "false"
    if old and old.text.isupper():
        return text.upper()
    if old and old.text[:1].isupper():
        return text.capitalize()
    return text


def _reads_as(scalar: str, flow: bool) -> Any:
    """What `scalar` reads as in a block mapping, or inside a flow mapping when `flow`."""
    document = f"{{k: {scalar}}}" if flow else f"k: {scalar}\n"
    try:
        data = YAML(typ="rt").load(document)
    except YAMLError:
        return None
    return data.get("k") if isinstance(data, dict) and len(data) == 1 else None


def _string_text(value: str, old: _Style | None, flow: bool) -> str:
    """Plain when it stays the same string unquoted, else in the old quotes (double by default).

    Double-quoted is written as JSON writes a string, a subset of YAML's syntax.
    """
    quote = old.quote if old else ""
    if quote == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if quote == "" and value and "\n" not in value:
        read = _reads_as(value, flow)
        if isinstance(read, str) and read == value:
            return value
    return json.dumps(value, ensure_ascii=False)


def _render_scalar(type_: Type, value: Any, old: _Style | None = None, flow: bool = False) -> str:
    """`value` as a YAML scalar of `type_`, in the style of the value it replaces (if any)."""
    if value is None:
        return "null"
    if type_ in NUMERIC:
        body = _number_text(value, old, integral=type_ is Type.INT)
    elif type_ is Type.BOOL:
        body = _bool_text(bool(value), old)
    elif type_ is Type.DATE:
        body = value.isoformat()
    else:
        return _string_text(str(value), old, flow)
    quote = old.quote if old else ""
    return f"{quote}{body}{quote}"


# ---- the edit itself -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    """Replace text[start:end] with `insert`, whose last `scalar` is the value's text."""

    start: int
    end: int
    insert: str
    scalar: str

    @property
    def value_at(self) -> int:
        """Where the value's text starts in the edited file."""
        return self.start + self.insert.rindex(self.scalar)

    def apply(self, text: str) -> str:
        return text[: self.start] + self.insert + text[self.end :]


def _after_line(text: str, node: Node) -> int:
    """The start of the line after the one where `node` ends (a block scalar ends at one)."""
    end = node.end_mark.index
    if node.end_mark.column == 0 and end > 0 and text[end - 1] == "\n":
        return end
    found = text.find("\n", end)
    return len(text) if found < 0 else found + 1


def _indent_step(root: MappingNode) -> int:
    """How far the file indents a nested block mapping (2 unless it shows otherwise)."""
    for _, value in root.value:
        if isinstance(value, MappingNode) and not value.flow_style and value.value:
            step = value.value[0][0].start_mark.column - root.start_mark.column
            if step > 0:
                return step
    return 2


def _render(param: Parameter, value: Any, old: _Style | None = None, flow: bool = False) -> str:
    """`value` written on one line: a scalar in the old one's style, a list or map in brackets."""
    if param.shape == "scalar" or value is None:
        return _render_scalar(param.type, value, old, flow)
    if param.shape == "list":
        return "[" + ", ".join(_render_scalar(param.type, v, None, True) for v in value) + "]"
    entries = (f"{_string_text(k, None, True)}: {_render_scalar(param.type, v)}" for k, v in value)
    return "{" + ", ".join(entries) + "}"


def _render_block(param: Parameter, value: Any, indent: int, nl: str) -> str:
    """A list or map in block style, one item a line at `indent`, the first line not indented.

    It replaces a block list or map from its first item on, so the first line
    starts where that item did.
    """
    if param.shape == "list":
        lines = [f"- {_render_scalar(param.type, v)}" for v in value]
    else:
        lines = [
            f"{_string_text(k, None, False)}: {_render_scalar(param.type, v)}" for k, v in value
        ]
    return (nl + " " * indent).join(lines)


def _replace(
    source: _Source, key: Node, node: Node, param: Parameter, value: Any, flow: bool
) -> _Edit:
    """The edit that rewrites an existing value's characters, and only those.

    A list or map written in block style (one item a line) is written back
    so, from its first item to the end of its last (a comment between two of
    its items is replaced with them; one after the last stays); emptied, it
    becomes `[]` or `{}` after its key.
    Any other value is written on one line. A value written as nothing at all
    (`key:`, null) gets a space before it.
    """
    if not isinstance(node, ScalarNode | SequenceNode | MappingNode) or node.anchor is not None:
        raise _e663(
            message("E663.not_scalar", shown=source.shown), _span_of(source, node), _BY_HAND
        )
    start, end = node.start_mark.index, node.end_mark.index
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):  # keep the line breaks that end a block scalar
            end = start + len(source.text[start:end].rstrip("\r\n"))
        scalar = _render(param, value, _style_of(source, node), flow)
        written = f" {scalar}" if start == end and source.text[start - 1 : start] == ":" else scalar
        return _Edit(start, end, written, scalar)
    if node.value and any(n.anchor is not None for n in _items(node)):
        raise _e663(message("E663.anchor", shown=source.shown), _span_of(source, node), _BY_HAND)
    if node.flow_style or not node.value:
        text = _render(param, value, None, flow)
        return _Edit(start, end, text, text)
    end = _items(node)[-1].end_mark.index  # a block list or map ends with its last item
    if not value or param.shape == "scalar":
        text = _render(param, value, None, flow)
        after_key = source.text.index(":", key.end_mark.index) + 1
        return _Edit(after_key, end, f" {text}", text)
    text = _render_block(param, value, node.start_mark.column, source.newline)
    return _Edit(start, end, text, text)


def _items(node: SequenceNode | MappingNode) -> list[Node]:
    """The nodes of a list's items, or of a map's keys and values, in order."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [part for pair in node.value for part in pair]


def _line(at: int, text: str, indent: int, entry: str, nl: str) -> str:
    """`entry` as a line of its own inserted at `at`, after a line break if one is missing."""
    prefix = "" if at == 0 or text[at - 1] == "\n" else nl
    return f"{prefix}{' ' * indent}{entry}{nl}"


def _add(source: _Source, name: str, scalar: str) -> _Edit:
    """The edit that adds `parameters.NAME` to a deployment file without one.

    A block mapping gets a line after its last entry, at its entries'
    indentation; a flow mapping gets `, NAME: VALUE` before its brace; a file
    without `parameters:` gets the mapping at its end.
    """
    text, nl, root = source.text, source.newline, source.root
    entry = f"{name}: {scalar}"
    if root is None:  # a new file, an empty one, or only comments
        header = NEW_DEPLOYMENT_HEADER.replace("\n", nl) if source.raw is None else ""
        block = _line(len(text), text, 0, "parameters:", nl) + _line(0, "", 2, entry, nl)
        return _Edit(len(text), len(text), header + block, scalar)
    assert isinstance(root, MappingNode)
    step = _indent_step(root)
    found = _entry(root, "parameters")
    if found is None:
        if root.flow_style:
            mapping = f"parameters: {{{entry}}}"
            if not root.value:
                return _Edit(root.start_mark.index + 1, root.start_mark.index + 1, mapping, scalar)
            at = root.value[-1][1].end_mark.index
            return _Edit(at, at, f", {mapping}", scalar)
        column = root.start_mark.column
        block = _line(len(text), text, column, "parameters:", nl)
        return _Edit(len(text), len(text), block + _line(0, "", column + step, entry, nl), scalar)
    key_node, mapping = found
    if isinstance(mapping, MappingNode) and mapping.flow_style:
        if not mapping.value:  # {} → {NAME: VALUE}
            return _Edit(mapping.start_mark.index + 1, mapping.start_mark.index + 1, entry, scalar)
        at = mapping.value[-1][1].end_mark.index
        return _Edit(at, at, f", {entry}", scalar)
    if isinstance(mapping, MappingNode):
        column = mapping.value[0][0].start_mark.column
        last_key, last_value = mapping.value[-1]
        # An alias (*name) is the anchored node itself, which sits earlier in the file.
        after_key = last_value.end_mark.index < last_key.end_mark.index
        at = _after_line(text, last_key if after_key else last_value)
        return _Edit(at, at, _line(at, text, column, entry, nl), scalar)
    if isinstance(mapping, ScalarNode) and mapping.tag.endswith(":null"):
        if mapping.start_mark.index == mapping.end_mark.index:  # `parameters:` and nothing
            at = _after_line(text, key_node)
            indent = key_node.start_mark.column + step
            return _Edit(at, at, _line(at, text, indent, entry, nl), scalar)
        start, end = mapping.start_mark.index, mapping.end_mark.index  # `~` or `null`
        return _Edit(start, end, f"{{{entry}}}", scalar)
    raise _e663(
        message("E663.parameters_not_mapping", shown=source.shown),
        _span_of(source, key_node),
        _BY_HAND,
    )


def _ordered(data: Any) -> Any:
    """Mappings as lists of pairs, so that comparing two files compares their key order too."""
    if isinstance(data, dict):
        return [(k, _ordered(v)) for k, v in data.items()]
    if isinstance(data, list):
        return [_ordered(v) for v in data]
    return data


def _verify(
    source: _Source, after: str, keys: tuple[str, ...], param: Parameter, value: Any
) -> None:
    """Refuse unless `after` holds the old data with only `keys` changed, and it reads `value`.

    A guard against what the splice did not foresee (a document end marker,
    an odd flow layout): the file is then left as it was.
    """
    try:
        now = dump(YAML(typ="rt").load(after))
    except YAMLError:
        now = None
    wanted = dump(source.data) if isinstance(source.data, dict) else {}
    ok = isinstance(now, dict)
    if ok:
        got = _dig(now, keys)
        try:
            ok = parameter_value(got, param) == value
        except ValueError:
            ok = False
        holder = wanted
        for key in keys[:-1]:
            if not isinstance(holder.get(key), dict):
                holder[key] = {}
            holder = holder[key]
        holder[keys[-1]] = got
        ok = ok and _ordered(now) == _ordered(wanted)
    if not ok:
        raise _e663(message("E663.cannot_change_value", shown=source.shown), None, _BY_HAND)


def _write(source: _Source, text: str) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace.

    Readers (a scheduled run) see the old file or the new one, never half.
    The file's permissions are kept, a symbolic link stays a link to the
    rewritten file, and a file someone else changed since it was read is
    not overwritten.
    """
    target = Path(os.path.realpath(source.path))
    data = (("\ufeff" if source.bom else "") + text).encode("utf-8")
    if not target.parent.is_dir():
        problem = ("文件夹不存在", "its folder does not exist")
    else:
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError:
            current = source.raw
        problem = None
        if current != source.raw:
            problem = (
                "文件在修改期间被他人改动，请重试",
                "it changed while being edited; try again",
            )
    if problem is None:
        try:
            replace_file(target, lambda out: out.write(data))  # keeps the file's permissions
            return
        except OSError as exc:
            problem = (f"无法写入：{exc.strerror}", f"cannot write it: {exc.strerror}")
    raise _e663(
        message(
            "E663.not_changed", shown=source.shown, problem_zh=problem[0], problem_en=problem[1]
        )
    )


def _default_style(declared: Pack, name: str) -> _Style | None:
    """How pack.yaml writes the default: the model for a new override's number (0.10 → 0.20)."""
    path = declared.root / PACK_FILE
    try:
        source = _read(path, str(path), missing_ok=False)
    except DiagnosticError:
        return None
    found = _entry(source.root, "parameters")
    found = _entry(found[1], name) if found else None
    found = _entry(found[1], "default") if found else None
    if found and isinstance(found[1], ScalarNode) and found[1].style is None:
        return _style_of(source, found[1])
    return None


def set_parameter(
    path: str | Path,
    name: str,
    value_text: str,
    pack: ir.CheckedPack | Pack,
    *,
    in_deployment: bool,
) -> Change:
    """Set `name` to `value_text`: pack.yaml's default, or a deployment file's override.

    `path` is pack.yaml (or the policies folder holding it) when
    `in_deployment` is false, else the deployment file — created, and its
    `parameters:` mapping too, when missing. Only the value's characters
    change; a file that already holds the value is not written. Raises
    DiagnosticError: E660 unknown name, E661 not of the parameter's type, E662
    out of its range, E663 the file cannot be read, edited in place or written.
    """
    declared, _ = _parts(pack)
    path = Path(path)
    if not in_deployment and path.is_dir():
        path = path / PACK_FILE
    shown = str(path)
    source = _read(path, shown, missing_ok=in_deployment)
    keys = ("parameters", name) if in_deployment else ("parameters", name, "default")

    found = _entry(source.root, "parameters")
    params_node = found[1] if found else None
    holder = params_node  # the mapping that holds the value: its style decides the quoting
    entry = _entry(params_node, name)
    if entry and not in_deployment:
        holder = entry[1]
        entry = _entry(holder, "default")
    param, value = check_value(
        declared, name, value_text, _span_of(source, entry[1]) if entry else None
    )
    if entry is None and not in_deployment:
        raise DiagnosticError(
            [
                diagnostic(
                    "E660.no_default",
                    None,
                    shown=shown,
                    name=name,
                    hints=[
                        "--policies 应指向与之相符的策略包 / --policies must name the matching pack"
                    ],
                )
            ]
        )

    flow = isinstance(holder, MappingNode) and bool(holder.flow_style)
    old_value, old_text, held = None, None, False
    if entry is not None:
        try:
            old_value, held = parameter_value(_dig(source.data, keys), param), True
        except ValueError:
            pass  # a value that did not fit its type (only a deployment file can hold one)
        edit = _replace(source, *entry, param, value, flow)
        old_text = source.text[edit.start : edit.end].strip()
    else:
        style = _default_style(declared, name)
        edit = _add(source, name, _render(param, value, style, flow))
    after = edit.apply(source.text)
    change = Change(
        name=name,
        file=shown,
        line=after.count("\n", 0, edit.value_at) + 1,
        in_deployment=in_deployment,
        old_value=old_value,
        new_value=value,
        old_text=old_text,
        new_text=edit.scalar,
        default=param.default,
        unit=param.unit,
        pack_version=declared.version,
        models=models_using(pack, name),
        created_file=source.raw is None,
        created_key=entry is None,
        held=held,
    )
    if not change.unchanged:
        _verify(source, after, keys, param, value)
        _write(source, after)
    return change


# ---- after a new default ---------------------------------------------------------------------


def examples_failing(policies: str | Path, name: str) -> list[ExampleOutcome] | None:
    """The examples of the models reading `$name` that fail with the pack as it now is.

    Examples rely on the pack's defaults unless they pin a value, so a new
    default can turn a near-miss into a warning; `oversight check` then fails
    until the examples are updated. None when the pack does not check at all.
    """
    result = check_pack(policies)
    if result.pack is None:
        return None
    models = sorted(
        (m for m in result.pack.models.values() if name in m.parameters), key=lambda m: m.id
    )
    return [outcome for outcome in run_examples(result.pack, models) if not outcome.passed]
