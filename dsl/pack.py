"""The policy pack's own file, pack.yaml: version, domains, parameters and source catalog.

Read with ruamel.yaml so that every problem can be pointed at by line and
column, like a problem in a rule file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsl.diagnostics import Diagnostic, DiagnosticError, Span
from dsl.messages import Wording, diagnostic, message
from dsl.suggest import did_you_mean
from dsl.types import Type, parse_type_name, storage_problem

if TYPE_CHECKING:  # ruamel.yaml is imported where YAML is read: a check with pack.yaml cached
    from ruamel.yaml.error import MarkedYAMLError  # (engine/policy/check_cache.py) reads none
    from ruamel.yaml.nodes import Node, ScalarNode

SEVERITIES = {"red": "红色", "yellow": "黄色", "blue": "蓝色"}
SEVERITY_ALIASES = {**{v: k for k, v in SEVERITIES.items()}, **{k: k for k in SEVERITIES}}

# A plain identifier: what a rule file can write as a name (NAME in dsl/grammar.lark) —
# ASCII letters, digits and underscores, and the CJK ideographs of a Chinese table or column
# name (项目表), not starting with a digit. Names of tables, schemas and columns must be
# plain so that every dialect reads them the same way; quotes, semicolons, spaces and dashes
# are refused where the name is written (E605, E624) rather than reaching a warehouse.
# Compiled where first matched (`re` keeps it): a class over the CJK blocks takes
# milliseconds to compile, and a check that finds pack.yaml in its cache matches none.
_NAME_START = "A-Za-z_\u3400-\u4dbf\u4e00-\u9fff"
IDENTIFIER = f"[{_NAME_START}][{_NAME_START}0-9]*"
IDENTIFIER_HINT = (
    "名称只能由字母、数字、下划线和汉字组成，且不以数字开头 / "
    "a name is letters, digits, underscores and Chinese characters, not starting with a digit"
)


def is_identifier(text: object) -> bool:
    """Whether `text` is a plain identifier (see IDENTIFIER)."""
    return isinstance(text, str) and re.fullmatch(IDENTIFIER, text) is not None


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
    # What `oversight sources` expects of it (pack.yaml's `loaded_at`, `freshness`, `growth`):
    # a load-time column to measure freshness over instead of event_date; its own freshness
    # (None: not written, so its department's default or the built-in one holds); how many
    # rows it normally gains.
    loaded_at: str | None = None
    freshness: Freshness | None = None
    growth: Growth | None = None

    @property
    def measured_by(self) -> str | None:
        """The date column its freshness is measured over: loaded_at, else event_date."""
        return self.loaded_at or self.event_date


# ---- what a source is expected to deliver (`oversight sources`, engine/sources.py) -----------

# A duration as pack.yaml writes it: a whole number and a unit, in English or Chinese
# ("3 days", "2 weeks", "1 month", "3天", "2周", "1个月", "1年"). A month counts 30 days and a
# year 365: the thresholds say roughly how late a feed may be, not a calendar sum.
DURATION_UNITS = {
    "day": 1,
    "days": 1,
    "天": 1,
    "日": 1,
    "week": 7,
    "weeks": 7,
    "周": 7,
    "星期": 7,
    "month": 30,
    "months": 30,
    "月": 30,
    "个月": 30,
    "year": 365,
    "years": 365,
    "年": 365,
}
DURATION = re.compile(r"\s*(\d+)\s*([A-Za-z]+|[天日周月年]|星期|个月)\s*")
DURATION_HINT = (
    "写成 数字 + 单位，如 3 days、2 weeks、1 month、1 year，或 3天、2周、1个月、1年"
    "（一个月按 30 天、一年按 365 天计） / write a number and a unit: "
    "3 days, 2 weeks, 1 month, 1 year (a month is 30 days, a year 365)"
)


@dataclass(frozen=True)
class Duration:
    """A length of time in whole days, with the words pack.yaml wrote it in (shown back)."""

    days: int
    text: str

    @classmethod
    def parse(cls, written: object) -> Duration:
        """`3 days`, `2 weeks`, `1个月` …; ValueError (in Chinese) for anything else."""
        match = DURATION.fullmatch(written) if isinstance(written, str) else None
        if match is None or match.group(2).lower() not in DURATION_UNITS:
            raise ValueError("应为 数字 + 单位")
        count = int(match.group(1))
        if count <= 0:
            raise ValueError("应大于 0")
        return cls(count * DURATION_UNITS[match.group(2).lower()], written.strip())


@dataclass(frozen=True)
class Freshness:
    """When a source is late (past `warn_after`) and stale (past `error_after`).

    Both None: `freshness: none`, the source is not judged by its dates at all (a
    reference table such as the work calendar, which is right however old it is).
    A lag equal to a threshold is still within it: late means lag > warn_after.
    """

    warn_after: Duration | None
    error_after: Duration | None

    @property
    def judged(self) -> bool:
        """Whether the source's dates are judged at all (not `freshness: none`)."""
        return self.error_after is not None


NOT_JUDGED = Freshness(None, None)
# What holds for a source when neither it nor its department says: a monthly feed, late after
# a month and a few days, stale after two.
BUILT_IN_FRESHNESS = Freshness(Duration(35, "35 days"), Duration(70, "70 days"))
FRESHNESS_KEYS = ("warn_after", "error_after")
GROWTH_PERIODS = {"day": 1, "week": 7, "month": 30, "year": 365}
GROWTH_KEYS = ("min_rows", "per")


@dataclass(frozen=True)
class Growth:
    """How many rows a source normally gains: at least `min_rows` dated within each `per`.

    Judged over the `per_days` days up to as_of: fewer rows dated in them makes the
    source late (delivered in part), not stale.
    """

    min_rows: int
    per: str  # day, week, month or year

    @property
    def per_days(self) -> int:
        """The days of the window the rows are counted in."""
        return GROWTH_PERIODS[self.per]


# The parameter types that hold several values: (shape, type of the items or map values).
# A list is read with `x in $name`, a map (keys are text) with `value_of($name, key, default)`.
COLLECTION_TYPES = {
    "list<string>": ("list", Type.STRING),
    "list<int>": ("list", Type.INT),
    "map<string,int>": ("map", Type.INT),
}
COLLECTION_HINT = (
    "可为 list<string>（文本列表）、list<int>（整数列表）、map<string, int>（文本到整数的映射）/ "
    "a list or map parameter is list<string>, list<int> or map<string, int>"
)


class ParamMap(tuple):  # type: ignore[type-arg]
    """A map parameter's value: its (key, value) pairs in the order written.

    A tuple, so that it is hashable like every other parameter value (a
    pre-check keys its cache of compiled queries on the values) and compares
    by content; `dict(value)` reads it as a mapping.
    """

    __slots__ = ()


@dataclass(frozen=True)
class Parameter:
    """A threshold policy staff may change; models read it as `$name`.

    `shape` is "scalar" (one value of `type`), "list" (a tuple of items of
    `type`) or "map" (a ParamMap from text to values of `type`). A `nullable`
    scalar may be null, which a rule reads as "no threshold" (`$name is null`).
    """

    name: str
    type: Type
    default: Any
    unit: str | None
    description: str
    minimum: Any = None
    maximum: Any = None
    span: Span | None = field(default=None, compare=False)
    shape: str = "scalar"
    nullable: bool = False

    @property
    def type_name(self) -> str:
        """Its type as pack.yaml writes it: int, list<string>, map<string, int>."""
        if self.shape == "list":
            return f"list<{self.type.value}>"
        if self.shape == "map":
            return f"map<string, {self.type.value}>"
        return self.type.value

    @property
    def type_zh(self) -> str:
        """Its type in Chinese: 整数, 文本列表, 文本到整数的映射."""
        if self.shape == "list":
            return f"{self.type.zh}列表"
        if self.shape == "map":
            return f"文本到{self.type.zh}的映射"
        return self.type.zh


@dataclass(frozen=True)
class Township:
    """One of the county's townships (乡镇/街道) from the reference list."""

    code: str
    name: str
    kind: str | None


# Model ids as the first packs wrote them, and as a domain written `ENG: 工程管理` still takes
# them: 2–6 capital letters, then 2–3 digits (ENG01, FIN105).
CLASSIC_MODEL_ID = re.compile(r"([A-Z]{2,6})\d{2,3}")
PREFIXED_DIGITS = r"\d{2,3}"  # what follows a domain's `prefix:` in its ids (ENG → ENG01)
NO_TOWNSHIPS = "none"  # `townships: none`: the pack routes no warning to a township


@dataclass(frozen=True)
class ModelIds:
    """Which model ids a domain takes, as pack.yaml declares them (`domains:`).

    `kind` is "classic" (`ENG: 工程管理`: ids of today's form, ENG01; those whose
    letters are the code, ENG…, are this domain's), "prefix" (the prefix then 2–3
    digits), "pattern" (a regular expression the whole id matches) or "any" (a
    domain that declares nothing: any identifier, claiming none). A domain "claims"
    the ids that are recognisably its own, so that an id claimed by one domain is
    not written in another (E280).
    """

    kind: str
    text: str = ""  # the domain code (classic), the prefix, or the pattern

    def fits(self, model_id: str) -> bool:
        """Whether a model of this domain may have `model_id`."""
        if self.kind == "classic":
            return CLASSIC_MODEL_ID.fullmatch(model_id) is not None
        return self.kind == "any" or self.claims(model_id)

    def claims(self, model_id: str) -> bool:
        """Whether `model_id` is recognisably this domain's (ENG01 is ENG's)."""
        if self.kind == "classic":
            match = CLASSIC_MODEL_ID.fullmatch(model_id)
            return match is not None and match.group(1) == self.text
        if self.kind == "prefix":
            rest = model_id[len(self.text) :]
            return (
                model_id.startswith(self.text) and re.fullmatch(PREFIXED_DIGITS, rest) is not None
            )
        if self.kind == "pattern":
            return re.fullmatch(self.text, model_id) is not None
        return False

    @property
    def example(self) -> str:
        """A model id of this form, for messages ("not of the form ENG01")."""
        if self.kind == "classic":
            return f"{self.text}01" if re.fullmatch(r"[A-Z]{2,6}", self.text) else "ENG01"
        if self.kind == "prefix":
            return f"{self.text}01"
        return self.text

    @property
    def described(self) -> tuple[str, str]:
        """The form in Chinese and English, for hints."""
        if self.kind == "classic":
            return (
                f"编号由 2–6 个大写字母加 2–3 位数字组成，例如 {self.example}",
                f"an id is 2–6 capital letters and 2–3 digits, such as {self.example}",
            )
        if self.kind == "prefix":
            return (
                f"编号由前缀 {self.text} 加 2–3 位数字组成，例如 {self.example}",
                f"an id is the prefix {self.text} and 2–3 digits, such as {self.example}",
            )
        if self.kind == "pattern":
            return (
                f"编号须整体符合正则表达式 {self.text}",
                f"an id must match the regular expression {self.text} as a whole",
            )
        return ("编号可为任意标识符", "an id may be any identifier")


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
    # What a message writes for a value that is null when neither the hole (`{x ?? '…'}`)
    # nor the model (`missing "…"`) says: `messages: {missing: "不详"}`; None writes 空.
    missing_text: str | None = None
    # Domain code -> which model ids it takes; a code missing here takes any identifier.
    model_ids: dict[str, ModelIds] = field(default_factory=dict)
    # False for a pack that says `townships: none`: its warnings are routed to no
    # township, its models have no `township` clause, and it has no index or report.
    has_townships: bool = True
    # The lookup that names a township from its code (`township_names:`), which a message's
    # `{township}` calls; None when the pack names none. Checked against the rule files.
    township_names: str | None = None
    township_names_span: Span | None = field(default=None, compare=False)
    # `freshness_defaults:` department -> the freshness of its sources that say none.
    freshness_defaults: dict[str, Freshness] = field(default_factory=dict)

    def freshness_of(self, source: str) -> tuple[Freshness, str]:
        """The freshness that holds for a source, and where it comes from.

        The source's own (`source`), else its department's default (`department`),
        else the built-in monthly one (`built-in`). A source with no date column to
        measure it over is not judged by date (`no date`).
        """
        declared = self.sources[source]
        if declared.measured_by is None:
            return NOT_JUDGED, "no date"
        if declared.freshness is not None:
            return declared.freshness, "source"
        if declared.department in self.freshness_defaults:
            return self.freshness_defaults[declared.department], "department"
        return BUILT_IN_FRESHNESS, "built-in"

    def domain_code(self, text: str) -> str | None:
        """The code of a domain given by code (ENG) or by name (工程管理)."""
        if text in self.domains:
            return text
        return next((code for code, name in self.domains.items() if name == text), None)

    def ids_of(self, code: str) -> ModelIds:
        """Which model ids the domain `code` takes."""
        return self.model_ids.get(code, ModelIds("any"))

    def domains_claiming(self, model_id: str) -> list[str]:
        """The codes of the domains whose ids `model_id` recognisably is (ENG01: ENG)."""
        return [code for code in self.domains if self.ids_of(code).claims(model_id)]


# The top-level sections pack.yaml may have; a misspelt one (`mesages:`) is an error, not
# a section silently ignored. `catalog_version` records the data contract's version.
PACK_SECTIONS = (
    "pack",
    "domains",
    "parameters",
    "sources",
    "catalog_version",
    "townships",
    "township_names",
    "messages",
    "freshness_defaults",
)

# The run's day: rules write it `as_of`, and compiled SQL binds it as the placeholder of
# that name beside the parameters' own, so no parameter may be called so.
RUN_DAY = "as_of"
_SECTIONS_HINT = "pack.yaml 的部分有 / the sections are: " + "、".join(PACK_SECTIONS)


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


def parse_parameter_type(text: Any) -> tuple[str, Type]:
    """A parameter's `type:` as (shape, type): ("scalar", INT), ("list", STRING), ("map", INT).

    Raises ValueProblem E690 for a list or map type the language does not have
    (list<date>, map<int, int>), ValueError for an unknown scalar type.
    """
    written = str(text).strip()
    compact = re.sub(r"\s+", "", written.lower())
    if compact.startswith(("list<", "map<")):
        inner = compact[compact.index("<") + 1 : -1] if compact.endswith(">") else ""
        parts = inner.split(",")
        try:
            named = [parse_type_name(part).value for part in parts]
        except ValueError:
            named = parts
        found = COLLECTION_TYPES.get(compact[: compact.index("<")] + f"<{','.join(named)}>")
        if found is None:
            raise ValueProblem(
                *message("E690.unsupported_type", written=written),
                hint=COLLECTION_HINT,
            )
        return found
    return "scalar", parse_type_name(written)


class ValueProblem(ValueError):
    """Why a value does not fit its parameter, with a code of its own (E690–E693).

    `at` is the index of the list item, or the key of the map entry, at fault
    (None: the value as a whole), so that a file's caret can point at it.
    """

    def __init__(
        self,
        code: str,
        zh: str,
        en: str,
        at: int | str | None = None,
        hint: str = "",
        *,
        on_key: bool = False,
    ) -> None:
        super().__init__(zh)
        self.code, self.zh, self.en, self.at, self.hint = code, zh, en, at, hint
        self.on_key = on_key  # the fault is the map's key at `at`, not its value

    def diagnostic(self, span: Span | None) -> Diagnostic:
        """The problem as a diagnostic at `span`."""
        return Wording(self.code, self.zh, self.en).at(span, (self.hint,))


def parameter_value(value: Any, param: Parameter) -> Any:
    """`value` (read from YAML, a command line or an example) as a value of `param`.

    None is null, allowed only where the parameter is `nullable` (E693). A
    list becomes a tuple and a map a ParamMap, each item checked (E691) and
    none repeated (E692); an empty list or map is a value (nothing is on the
    list). A scalar that does not fit raises a plain ValueError, as
    `coerce_value` always has, so that each door keeps its own code for it.
    """
    if value is None:
        if param.nullable:
            return None
        raise ValueProblem(
            *message("E693", name=param.name),
            hint=(
                "写一个值；若要表示“不设阈值”，在 pack.yaml 中给它加 nullable: true，"
                f"并在规则中写 ${param.name} is null or … / give a value, or declare it "
                "nullable in pack.yaml and say in the rules what null means"
            ),
        )
    if param.shape == "list":
        return _list_value(value, param)
    if param.shape == "map":
        return _map_value(value, param)
    return coerce_value(value, param.type)


def _list_value(value: Any, param: Parameter) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueProblem(
            *message("E691.not_list", name=param.name, type_name=param.type_name),
            hint="列表写在方括号里，如 [邀请招标, 竞争性谈判]；没有项时写 [] / "
            "write a list in brackets; [] for none",
        )
    items: list[Any] = []
    for i, item in enumerate(value):
        where = (f"的第 {i + 1} 项", f"item {i + 1} of")
        read = _item(item, param, i, where)
        if read in items:
            raise ValueProblem(
                *message(
                    "E692.item_twice",
                    name=param.name,
                    item=read,
                    first=items.index(read) + 1,
                    second=i + 1,
                ),
                i,
                "每一项只写一次 / write each item once",
            )
        items.append(read)
    return tuple(items)


def _map_value(value: Any, param: Parameter) -> ParamMap:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, ParamMap):
        pairs = list(value)  # an example's pairs, a repeated key not yet refused
    else:
        raise ValueProblem(
            *message("E691.not_mapping", name=param.name, type_name=param.type_name),
            hint="映射写在花括号里，如 {公开招标: 20, 邀请招标: 15}；没有项时写 {} / "
            "write a mapping in braces; {} for none",
        )
    read: dict[str, Any] = {}
    for key, item in pairs:
        if not isinstance(key, str):
            raise ValueProblem(
                *message("E691.keys_text", name=param.name, key=key),
                key,
                f'给键加引号，如 "{key}": … / quote the key',
                on_key=True,
            )
        if key in read:
            raise ValueProblem(
                *message("E692.key_twice", name=param.name, key=key),
                key,
                "每个键只写一次 / write each key once",
            )
        read[key] = _item(item, param, key, (f"中「{key}」的值", f"the value of {key!r} in"))
    return ParamMap(read.items())


def _item(value: Any, param: Parameter, at: int | str, where: tuple[str, str]) -> Any:
    """One item of a list, or one value of a map, as the parameter's item type (E691)."""
    kind = param.type
    problem: tuple[str, str, str] | None = None
    if value is None:
        problem = ("不能为空", "cannot be null", "删去这一项，或写上它的值 / leave it out")
    elif kind is Type.STRING and not isinstance(value, str):
        problem = ("应为文本", "must be text", f'文本可加引号，如 "{value}" / quote it')
    elif kind is Type.INT and (isinstance(value, bool | str) or not isinstance(value, int)):
        problem = ("应为整数", "must be a whole number", "写整数，如 20 / a number such as 20")
    elif kind is Type.INT:
        too_large = storage_problem(value, Type.INT)
        if too_large is not None:
            problem = (*too_large, "")
    if problem is not None:
        zh, en, hint = problem
        shown = "null" if value is None else value
        raise ValueProblem(
            *message(
                "E691.item_type",
                name=param.name,
                where_zh=where[0],
                shown=shown,
                wanted_zh=zh,
                type_name=param.type_name,
                where_en=where[1],
                wanted_en=en,
            ),
            at,
            hint,
        )
    return str(value) if kind is Type.STRING else int(value)


def repeated_key(node: Node | None) -> ScalarNode | None:
    """The second occurrence of the first key written twice in a YAML mapping node, if any.

    ruamel.yaml refuses a document with a repeated key as a whole; composing
    it keeps both, so that a repeated key of a map parameter can be named
    where it is (E692) rather than as a file that is not YAML.
    """
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    if not isinstance(node, MappingNode):
        return None
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, ScalarNode):
            if key.value in seen:
                return key
            seen.add(key.value)
    return None


def repeated_map_key(
    text: str, shown: str, holders: list[tuple[str, ...]], what: str
) -> Diagnostic | None:
    """E692 for a key written twice in a map parameter's value, found by composing `text`.

    `holders` are the paths of mappings whose entries are parameters
    (`("parameters",)` in a deployment file); `what` is the key under each
    parameter that holds its value ("default" in pack.yaml, "" for the entry itself).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.nodes import MappingNode

    try:
        root = YAML(typ="rt").compose(text)
    except MarkedYAMLError:
        return None
    for path in holders:
        holder: Node | None = root
        for key in path:
            holder = _child(holder, key)
        if not isinstance(holder, MappingNode):
            continue
        for name_node, spec in holder.value:
            value = _child(spec, what) if what else spec
            twice = repeated_key(value)
            if twice is not None:
                mark = twice.start_mark
                return diagnostic(
                    "E692.key_twice_in_file",
                    Span.point(shown, mark.line + 1, mark.column + 1, len(str(twice.value))),
                    hints=("每个键只写一次 / write each key once",),
                    name=name_node.value,
                    key=twice.value,
                )
    return None


def _child(node: Node | None, key: str) -> Node | None:
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value
    return None


def item_span(
    path: str, container: Any, problem: ValueProblem, fallback: Span | None
) -> Span | None:
    """Where the item at fault in a YAML list or mapping read by ruamel.yaml sits, else `fallback`.

    A map's key when the key is at fault, else the item or the map's value.
    """
    at = problem.at
    if at is None:
        return fallback
    try:
        if isinstance(container, Mapping) and problem.on_key:
            line, col = container.lc.key(at)
            width = len(str(at))
        elif isinstance(container, Mapping):
            line, col = container.lc.value(at)
            width = len(str(container[at]))
        else:
            line, col = container.lc.item(at)
            width = len(str(container[at]))
        return Span.point(path, line + 1, col + 1, width)
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


def load_pack(root: str | Path, engine_version: str | None = None) -> Pack:
    """Read and check `root/pack.yaml`; raise DiagnosticError listing every problem.

    With `engine_version`, a pack whose `engine:` range excludes it is refused:
    a pack written for another engine may mean something else here.

    Read by libyaml first (dsl/yaml_reading.py); a pack.yaml with a problem is read
    again the round-trip way, so that every problem is placed where it always was.
    """
    try:
        return read_pack(Path(root), engine_version, quick=True)
    except DiagnosticError:
        return read_pack(Path(root), engine_version, quick=False)


def read_pack(root: Path, engine_version: str | None, quick: bool) -> Pack:
    """`load_pack` with one reading of the text: by libyaml where `quick`, else round-trip."""
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError

    from dsl.yaml_reading import read_yaml

    path = root / "pack.yaml"
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = read_yaml(text, quick)
    except DuplicateKeyError as exc:
        twice = repeated_map_key(text, shown, [("parameters",)], "default")
        if twice is None:
            raise _not_yaml(shown, exc) from None
        raise DiagnosticError([twice]) from None
    except FileNotFoundError:
        raise DiagnosticError(
            [
                diagnostic(
                    "E600.no_file",
                    None,
                    hints=("用 --policies 指向含有 pack.yaml 的目录",),
                    shown=shown,
                )
            ]
        ) from None
    except MarkedYAMLError as exc:
        raise _not_yaml(shown, exc) from None

    problems: list[Diagnostic] = []

    def problem(wording: Wording, node: Any, key: Any = None, hint: str = "") -> None:
        problems.append(wording.at(_span(shown, node, key), (hint,)))

    if not isinstance(data, dict):
        raise DiagnosticError([diagnostic("E600.not_mapping", Span.point(shown, 1, 1))])
    for section in ("pack", "domains", "parameters", "sources"):
        if not isinstance(data.get(section), dict):
            problem(message("E601.section", section=section), data)
    for section in data:
        if section not in PACK_SECTIONS:
            problem(
                message("E606", section=section, section_text=str(section)),
                data,
                section,
                (did_you_mean(str(section), PACK_SECTIONS) or (_SECTIONS_HINT,))[0],
            )
    if problems:
        raise DiagnosticError(problems)

    meta = data["pack"]
    version = str(meta.get("version", ""))
    engine_spec = str(meta.get("engine", ""))
    if engine_version is not None and engine_spec:
        why = engine_problem(engine_spec, engine_version)
        if why:
            problem(
                message("E604", why=why, engine_spec=engine_spec, engine_version=engine_version),
                meta,
                "engine",
                "升级或降级 oversight 到策略包要求的版本，或由维护者确认后修改 pack.yaml 的 engine",
            )
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        problem(
            message("E601.version"),
            meta,
            "version" if "version" in meta else None,
        )

    parameters: dict[str, Parameter] = {}
    for name, spec in data["parameters"].items():
        if not isinstance(spec, dict):
            problem(
                message("E602.not_mapping", name=name),
                data["parameters"],
                name,
            )
            continue
        if name == RUN_DAY:
            problem(
                message("E602.run_day", name=name),
                data["parameters"],
                name,
                "运行日在规则中直接写作 as_of；请给参数另起一个名字，例如 as_of_months",
            )
            continue
        try:
            shape, type_ = parse_parameter_type(spec.get("type"))
        except ValueProblem as exc:
            problems.append(exc.diagnostic(_span(shown, spec, "type" if "type" in spec else None)))
            continue
        except ValueError:
            problem(
                message("E602.unknown_type", name=name, type_written=spec.get("type")),
                spec,
                "type" if "type" in spec else None,
                "类型可为 int、decimal、float、string、date、bool，"
                "或 list<string>、list<int>、map<string, int>",
            )
            continue
        if "description" not in spec or "default" not in spec:
            problem(
                message("E602.no_default", name=name),
                data["parameters"],
                name,
            )
            continue
        declared = _declaration_problem(str(name), shape, type_, spec)
        if declared is not None:
            problems.append(declared.diagnostic(_span(shown, spec, declared.at)))
            continue
        try:
            minimum = coerce_value(spec["min"], type_) if "min" in spec else None
            maximum = coerce_value(spec["max"], type_) if "max" in spec else None
        except ValueError as exc:
            problem(
                message("E602.default_type", name=name, type_name=type_.value, exc=exc),
                spec,
            )
            continue
        param = Parameter(
            str(name),
            type_,
            None,
            spec.get("unit"),
            str(spec["description"]),
            minimum,
            maximum,
            _span(shown, data["parameters"], name),
            shape,
            spec.get("nullable") is True,
        )
        default_span = _span(shown, spec, "default")
        try:
            default = parameter_value(spec["default"], param)
        except ValueProblem as exc:
            problems.append(exc.diagnostic(item_span(shown, spec["default"], exc, default_span)))
            continue
        except ValueError as exc:
            problem(
                message("E602.default_type", name=name, type_name=type_.value, exc=exc),
                spec,
            )
            continue
        parameters[str(name)] = param = dataclasses.replace(param, default=default)
        _check_range(param, default, problems, default_span)

    sources: dict[str, Source] = {}
    for name, spec in data["sources"].items():
        if not is_identifier(name):
            problem(
                message("E605.source_name_plain", name=name, name_text=str(name)),
                data["sources"],
                name,
                IDENTIFIER_HINT,
            )
        columns: dict[str, Column] = {}
        for col_name, col in (spec.get("columns") or {}).items():
            if not is_identifier(col_name):
                problem(
                    message(
                        "E605.column_name_plain",
                        name=name,
                        column=col_name,
                        column_text=str(col_name),
                    ),
                    spec["columns"],
                    col_name,
                    IDENTIFIER_HINT,
                )
                continue
            try:
                col_type = parse_type_name(str(col.get("type")))
            except ValueError:
                problem(
                    message(
                        "E603.unknown_type",
                        name=name,
                        col_name=col_name,
                        type_written=col.get("type"),
                    ),
                    col,
                )
                continue
            columns[str(col_name)] = Column(
                str(col_name), col_type, bool(col.get("required", False)), col.get("label")
            )
        for key_column in spec.get("key", []):
            if key_column not in columns:
                problem(
                    message(
                        "E603.key_columns",
                        name=name,
                        key_column=key_column,
                        key_column_text=str(key_column),
                    ),
                    spec,
                    "key",
                )
        event_date = spec.get("event_date")
        if event_date is not None and event_date not in columns:
            problem(
                message("E603.event_date_columns", name=name, event_date=event_date),
                spec,
                "event_date",
            )
            event_date = None
        loaded_at = _loaded_at(str(name), spec, columns, problem)
        measured = loaded_at or event_date
        freshness = None
        if "freshness" in spec:
            freshness = _freshness(spec["freshness"], spec, "freshness", str(name), problem)
            if freshness is not None and freshness.judged and measured is None:
                problem(
                    message("E610.nothing_to_measure", name=name),
                    spec,
                    "freshness",
                    "给它写 event_date 或 loaded_at（日期列），或写 freshness: none / "
                    "name a date column with event_date or loaded_at, or write freshness: none",
                )
        growth = _growth(str(name), spec, measured, problem) if "growth" in spec else None
        sources[str(name)] = Source(
            str(name),
            str(spec.get("label", name)),
            str(spec.get("department", "")),
            tuple(str(k) for k in spec.get("key", [])),
            event_date,
            columns,
            _span(shown, data["sources"], name),
            loaded_at,
            freshness,
            growth,
        )
    freshness_defaults = _freshness_defaults(data, sources, problem)

    domains, model_ids = _domains(data["domains"], problem)
    listed = data.get("townships")
    has_townships = listed != NO_TOWNSHIPS
    if listed is not None and has_townships and not isinstance(listed, list):
        problem(
            message("E698", no_townships=NO_TOWNSHIPS),
            data,
            "townships",
            f"例如 townships: {NO_TOWNSHIPS}",
        )
    townships = tuple(
        Township(str(t["township"]), str(t["name"]), t.get("kind"))
        for t in (listed if isinstance(listed, list) else [])
    )
    missing_text = _messages(data, problem)
    township_names = data.get("township_names")
    if township_names is not None and not is_identifier(township_names):
        problem(
            message("E684", written=township_names, written_text=str(township_names)),
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
        domains=domains,
        parameters=parameters,
        sources=sources,
        townships=townships,
        county=str(meta.get("county", "")),
        missing_text=missing_text,
        model_ids=model_ids,
        has_townships=has_townships,
        township_names=str(township_names) if township_names is not None else None,
        township_names_span=_span(shown, data, "township_names")
        if township_names is not None
        else None,
        freshness_defaults=freshness_defaults,
    )


_FRESHNESS_HINT = (
    "写成 freshness: {warn_after: 3 days, error_after: 10 days}，或不按日期判断时写 "
    "freshness: none / write freshness: {warn_after: 3 days, error_after: 10 days}, or "
    "freshness: none"
)
_GROWTH_HINT = (
    "写成 growth: {min_rows: 50, per: month}（per 可为 day、week、month、year） / "
    "write growth: {min_rows: 50, per: month} (per is day, week, month or year)"
)


def _freshness(
    written: Any, holder: Any, key: Any, owner: str, problem: Callable[..., None]
) -> Freshness | None:
    """A `freshness:` as written for a source or a department; None after reporting E607–E609."""
    if isinstance(written, str) and written.strip().lower() == "none":
        return NOT_JUDGED
    if not isinstance(written, dict):
        problem(message("E607.not_mapping", owner=owner), holder, key, _FRESHNESS_HINT)
        return None
    unknown = [k for k in written if k not in FRESHNESS_KEYS]
    for name in unknown:
        problem(
            message("E607.unknown_key", owner=owner, key=name, key_text=str(name)),
            written,
            name,
            (did_you_mean(str(name), FRESHNESS_KEYS) or (_FRESHNESS_HINT,))[0],
        )
    lacking = [k for k in FRESHNESS_KEYS if k not in written]
    for name in lacking:
        problem(message("E607.missing_key", owner=owner, key=name), holder, key, _FRESHNESS_HINT)
    if unknown or lacking:
        return None
    read: dict[str, Duration] = {}
    for name in FRESHNESS_KEYS:
        try:
            read[name] = Duration.parse(written[name])
        except ValueError as exc:
            problem(
                message("E608", owner=owner, key=name, written=written[name], why=str(exc)),
                written,
                name,
                DURATION_HINT,
            )
    if len(read) < len(FRESHNESS_KEYS):
        return None
    warn, error = read["warn_after"], read["error_after"]
    if warn.days >= error.days:
        problem(
            message(
                "E609",
                owner=owner,
                warn=warn.text,
                warn_days=warn.days,
                error=error.text,
                error_days=error.days,
            ),
            written,
            "warn_after",
            "warn_after（迟到）应短于 error_after（停滞），如 {warn_after: 3 days, error_after: "
            "10 days} / warn_after must be shorter than error_after",
        )
        return None
    return Freshness(warn, error)


def _loaded_at(
    name: str, spec: Mapping[str, Any], columns: Mapping[str, Column], problem: Callable[..., None]
) -> str | None:
    """The source's `loaded_at:` column (a date or timestamp of it), or None (E610)."""
    if "loaded_at" not in spec:
        return None
    column = spec["loaded_at"]
    if column not in columns:
        problem(
            message("E610.no_column", name=name, column=column, column_text=str(column)),
            spec,
            "loaded_at",
            (did_you_mean(str(column), list(columns)) or ("loaded_at 写它的一个日期列的名字",))[0],
        )
        return None
    found = columns[column].type
    if found not in (Type.DATE, Type.TIMESTAMP):
        problem(
            message("E610.not_a_date", name=name, column=column, type_name=found.value),
            spec,
            "loaded_at",
            "loaded_at 应为 date 或 timestamp 类型的列（数据装入仓库的日期） / loaded_at names "
            "a date or timestamp column: when the row was loaded",
        )
        return None
    return str(column)


def _growth(
    name: str, spec: Mapping[str, Any], measured: str | None, problem: Callable[..., None]
) -> Growth | None:
    """The source's `growth:` (rows dated within each period), or None after reporting E611."""
    written = spec["growth"]
    if not isinstance(written, dict):
        problem(message("E611.not_mapping", name=name), spec, "growth", _GROWTH_HINT)
        return None
    unknown = [k for k in written if k not in GROWTH_KEYS]
    for key in unknown:
        problem(
            message("E611.unknown_key", name=name, key=key, key_text=str(key)),
            written,
            key,
            (did_you_mean(str(key), GROWTH_KEYS) or (_GROWTH_HINT,))[0],
        )
    min_rows, per = written.get("min_rows"), written.get("per")
    bad: str | None = None
    if unknown:
        return None
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows <= 0:
        bad = "min_rows"
        problem(
            message("E611.min_rows", name=name, written=min_rows),
            written if "min_rows" in written else spec,
            "min_rows" if "min_rows" in written else "growth",
            _GROWTH_HINT,
        )
    if per not in GROWTH_PERIODS:
        bad = "per"
        problem(
            message("E611.per", name=name, written=per),
            written if "per" in written else spec,
            "per" if "per" in written else "growth",
            _GROWTH_HINT,
        )
    if bad is not None:
        return None
    if measured is None:
        problem(
            message("E611.no_date", name=name),
            spec,
            "growth",
            "按日期统计新增行数：给它写 event_date 或 loaded_at / rows are counted by date: "
            "name one with event_date or loaded_at",
        )
        return None
    return Growth(min_rows, str(per))


def _freshness_defaults(
    data: Mapping[str, Any], sources: Mapping[str, Source], problem: Callable[..., None]
) -> dict[str, Freshness]:
    """`freshness_defaults:` by department (E612 for a department no source has)."""
    if "freshness_defaults" not in data:
        return {}
    section = data["freshness_defaults"]
    if not isinstance(section, dict):
        problem(
            message("E612.not_mapping"),
            data,
            "freshness_defaults",
            "例如 freshness_defaults: {财政局: {warn_after: 7 days, error_after: 30 days}} / "
            "a department and its freshness",
        )
        return {}
    departments = sorted({s.department for s in sources.values() if s.department})
    defaults: dict[str, Freshness] = {}
    for department, written in section.items():
        if department not in departments:
            problem(
                message(
                    "E612.unknown_department",
                    department=department,
                    department_text=str(department),
                ),
                section,
                department,
                (
                    did_you_mean(str(department), departments)
                    or ("部门为来源的 department：" + "、".join(departments),)
                )[0],
            )
            continue
        freshness = _freshness(
            written, section, department, f"freshness_defaults.{department}", problem
        )
        if freshness is not None:
            defaults[str(department)] = freshness
    return defaults


def _not_yaml(shown: str, exc: MarkedYAMLError) -> DiagnosticError:
    """E600: pack.yaml is not YAML, with where the reader stopped."""
    mark = exc.problem_mark
    span = Span.point(shown, mark.line + 1, mark.column + 1) if mark else None
    return DiagnosticError([diagnostic("E600.not_yaml", span, problem=exc.problem)])


def _declaration_problem(
    name: str, shape: str, type_: Type, spec: Mapping[str, Any]
) -> ValueProblem | None:
    """E690: `nullable` that is not true or false, or on a list or map; a range on text items.

    A list or map says "none" with [] or {}, so it is never null; `min` and
    `max` bound each item of a list<int> or value of a map, and mean nothing
    for text. `at` is the key of the declaration at fault.
    """
    nullable = spec.get("nullable", False)
    if not isinstance(nullable, bool):
        return ValueProblem(
            *message("E690.nullable_not_bool", name=name),
            "nullable",
        )
    if nullable and shape != "scalar":
        return ValueProblem(
            *message("E690.nullable_collection", name=name),
            "nullable",
            "没有项时写 [] 或 {}，规则中 x in $名称 对空列表不成立 / "
            "an empty list [] or map {} says 'none'",
        )
    bounded = next((key for key in ("min", "max") if key in spec), None)
    if bounded is not None and shape != "scalar" and type_ is not Type.INT:
        return ValueProblem(
            *message("E690.text_range", name=name, bounded=bounded),
            bounded,
            "min、max 只用于数值：list<int> 的每一项、map 的每个值 / "
            "min and max bound the numbers of a list<int> or a map",
        )
    return None


# The settings of the `messages:` section of pack.yaml.
MESSAGE_SETTINGS = ("missing",)
_ONLY_SETTING = "messages 下只能写 missing / the one setting under messages is missing"


def missing_text_hint(example: str) -> str:
    """How to write a default for nulls, `example` showing it where it was written."""
    return (
        f"写一段文字，如 {example}；某一处要什么也不写，在消息中写 {{x ?? ''}} / "
        f"write a text such as {example}; to write nothing for one hole, write {{x ?? ''}}"
    )


def missing_text_problem(text: str) -> tuple[str, str] | None:
    """Why `text` cannot be what messages write for a null (Chinese, English), or None.

    One rule for pack.yaml's `messages: missing` and a model's `missing "…"`: a
    text on one line (a message is one line) that shows something — a default
    that writes nothing leaves the gap in the sentence that it is there to fill.
    """
    if not text.strip():
        return "不能是空文字", "must not be empty"
    if "\n" in text or "\r" in text:
        return "只能写在一行内", "must be on one line"
    return None


def _messages(data: dict[str, Any], problem: Callable[..., None]) -> str | None:
    """The pack's default for null message values (`messages: {missing: …}`), if it has one."""
    if "messages" not in data:
        return None
    section = data["messages"]
    if not isinstance(section, dict):
        problem(
            message("E687.not_mapping"),
            data,
            "messages",
        )
        return None
    for name in section:
        if name not in MESSAGE_SETTINGS:
            problem(
                message("E687.unknown_setting", name=name, name_text=str(name)),
                section,
                name,
                (did_you_mean(str(name), MESSAGE_SETTINGS) or (_ONLY_SETTING,))[0],
            )
    if "missing" not in section:
        return None
    text = section["missing"]
    if text is None:
        problem(
            message("E688.no_text"),
            section,
            "missing",
            missing_text_hint('missing: "不详"'),
        )
        return None
    if not isinstance(text, str):
        problem(
            message(
                "E688.not_text",
                kind_zh=_yaml_kind(text),
                kind_en=_yaml_kind(text, english=True),
            ),
            section,
            "missing",
            '数字、是否、日期也要加引号：missing: "0" / quote it: missing: "0"',
        )
        return None
    why = missing_text_problem(text)
    if why is not None:
        problem(
            message("E689", why_zh=why[0], why_en=why[1]),
            section,
            "missing",
            missing_text_hint('missing: "不详"'),
        )
        return None
    return text


def _yaml_kind(value: object, english: bool = False) -> str:
    """What a YAML value that is not a text is, in words (数字 / a number)."""
    if isinstance(value, bool):
        return "true/false" if english else "是/否"
    if isinstance(value, int | float):
        return "a number" if english else "数字"
    if isinstance(value, date):
        return "a date" if english else "日期"
    if isinstance(value, dict):
        return "a mapping" if english else "映射"
    if isinstance(value, list):
        return "a list" if english else "列表"
    return type(value).__name__


_DOMAIN_KEYS = ("name", "prefix", "pattern")
_PREFIX_HINT = (
    "编号要能说明模型属于哪个领域：换一个前缀 / an id must say which domain its model is in: "
    "choose another prefix"
)
_DOMAIN_HINT = (
    "写成 ENG: 工程管理，或 ENG: {name: 工程管理, prefix: ENG}（或 pattern: 正则表达式；"
    "都不写则编号可为任意标识符） / write ENG: 工程管理, or ENG: {name: 工程管理, prefix: ENG} "
    "(or pattern: a regular expression; with neither, an id may be any identifier)"
)


def _domains(declared: dict[Any, Any], problem: Any) -> tuple[dict[str, str], dict[str, ModelIds]]:
    """The domains' names and the model ids each takes, from pack.yaml's `domains:`.

    `ENG: 工程管理` is the short form of the first packs (ids of the form ENG01);
    `PRC: {name: 采购, prefix: PRC}` or `{name: …, pattern: "…"}` declare the ids;
    `{name: …}` alone takes any identifier.
    """
    names: dict[str, str] = {}
    ids: dict[str, ModelIds] = {}
    claimed: dict[str, str] = {}  # prefix (or short-form code) -> the domain that has it
    for code, spec in declared.items():
        code = str(code)
        if not isinstance(spec, dict):
            if spec is None or isinstance(spec, list):
                problem(
                    message("E695.no_name", code=code),
                    declared,
                    code,
                    _DOMAIN_HINT,
                )
                continue
            names[code] = str(spec)
            ids[code] = ModelIds("classic", code)
            claimed.setdefault(code, code)
            continue
        unknown = [str(k) for k in spec if k not in _DOMAIN_KEYS]
        if unknown or not isinstance(spec.get("name"), str) or not spec["name"]:
            problem(
                message(
                    "E695.unknown_keys",
                    code=code,
                    keys_zh="、".join(unknown),
                    keys=", ".join(unknown),
                )
                if unknown
                else message("E695.no_name_given", code=code),
                spec if unknown else declared,
                unknown[0] if unknown else code,
                _DOMAIN_HINT,
            )
            continue
        names[code] = str(spec["name"])
        if "prefix" in spec and "pattern" in spec:
            problem(
                message("E695.prefix_and_pattern", code=code),
                spec,
                "pattern",
                _DOMAIN_HINT,
            )
            continue
        if "prefix" in spec:
            prefix = spec["prefix"]
            if not is_identifier(prefix):
                problem(
                    message("E696.bad_prefix", code=code, prefix=prefix, prefix_text=str(prefix)),
                    spec,
                    "prefix",
                    IDENTIFIER_HINT,
                )
                continue
            if prefix in claimed:
                problem(
                    message("E697.same_prefix", code=code, claimed=claimed[prefix], prefix=prefix),
                    spec,
                    "prefix",
                    _PREFIX_HINT,
                )
                continue
            claimed[prefix] = code
            ids[code] = ModelIds("prefix", prefix)
        elif "pattern" in spec:
            pattern = spec["pattern"]
            why = _pattern_problem(pattern)
            if why:
                problem(
                    message("E696.bad_pattern", code=code, why=why),
                    spec,
                    "pattern",
                    '例如 pattern: "PRC_[a-z_]+"（整个编号须与之相符） / '
                    'such as pattern: "PRC_[a-z_]+" (the whole id must match it)',
                )
                continue
            ids[code] = ModelIds("pattern", pattern)
    for code, rule in ids.items():
        if rule.kind == "classic" and claimed.get(code, code) != code:
            other = claimed[code]
            problem(
                message("E697.prefix_is_domain", code=code, other=other),
                declared,
                code,
                _PREFIX_HINT,
            )
    return names, ids


def _pattern_problem(pattern: Any) -> str | None:
    """Why `pattern` cannot say which ids a domain takes, or None."""
    if not isinstance(pattern, str) or not pattern:
        return "应为非空文本"
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


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
    wording = out_of_range(param, value, "E602")
    if wording:
        problems.append(wording.at(span))


def out_of_range(param: Parameter, value: Any, code: str) -> Wording | None:
    """Why `value` is out of the parameter's range, if it is, said as `code`.

    Each door that takes a value has its own code for this (pack.yaml E602, a
    deployment file E623, `oversight params` E662), with the same wording.
    Null is in range (it is no threshold at all); each item of a list, and
    each value of a map, must be within it.
    """
    if value is None:
        return None
    if param.shape == "list":
        items = [("item", {"position": i + 1}, v) for i, v in enumerate(value)]
    elif param.shape == "map":
        items = [("entry", {"key": k}, v) for k, v in value]
    else:
        items = [("value", {}, value)]
    for shape, where, item in items:
        if param.minimum is not None and item < param.minimum:
            return message(
                f"{code}.{shape}_below_minimum",
                name=param.name,
                value=item,
                minimum=param.minimum,
                **where,
            )
        if param.maximum is not None and item > param.maximum:
            return message(
                f"{code}.{shape}_above_maximum",
                name=param.name,
                value=item,
                maximum=param.maximum,
                **where,
            )
    return None
