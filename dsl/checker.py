"""Stage 2, check: parsed rule files and pack.yaml to a typed `CheckedPack`, or diagnostics.

Resolves every name against the source catalog, parameters, shared
definitions and relations; types every expression; enforces the rules of
grouping and of inline examples. Collects every problem in every file
before giving up, and never raises for a problem in the rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dsl import ast, ir
from dsl.diagnostics import Diagnostic, DiagnosticError, Severity, Span
from dsl.functions import FORMATTERS, PCT_DIGITS, PCT_MAX_DIGITS, SIGNATURES, check_arguments
from dsl.limits import written_out_problem
from dsl.nullability import Nullability
from dsl.pack import (
    SEVERITY_ALIASES,
    ModelIds,
    Pack,
    Parameter,
    ParamMap,
    ValueProblem,
    load_pack,
    missing_text_hint,
    missing_text_problem,
    parameter_value,
)
from dsl.param_nulls import unguarded
from dsl.parser import parse_file
from dsl.suggest import did_you_mean
from dsl.types import CENTS, NUMERIC, Type, parse_type_name, storage_problem, unify

STATUSES = {
    "draft": "draft",
    "active": "active",
    "deprecated": "deprecated",
    "草稿": "draft",
    "启用": "active",
    "停用": "deprecated",
}
REQUIRED_CLAUSES = {
    "from": ("from 来源 别名", "from SOURCE ALIAS"),
    "key": ("key 预警键", "key EXPR"),
    "township": ("township 乡镇", "township EXPR"),
    "severity": ("severity red|yellow|blue", "severity red|yellow|blue"),
    "domain": ("domain 领域", "domain NAME"),
    "message": ('message "预警内容"', 'message "TEXT"'),
}
SINGLE_CLAUSES = set(REQUIRED_CLAUSES) | {
    "where",
    "group_by",
    "having",
    "status",
    "note",
    "precheck",
    "missing",
}
# `{key}` in a message: the warning's key as the ledger writes it (ir.KeyHole).
KEY_HOLE = "key"
PRECHECK = {"yes": True, "no": False}  # `precheck no`: the pre-check leaves the model out
KEY_TYPES = frozenset({Type.STRING, Type.INT, Type.DATE, Type.NULL})
BAND_COLOURS = ("red", "yellow", "green")

# What an index counts: the warnings of one township first issued in the period (from
# the ledger), each with the columns of its disposal record (null when it has none).
PERIOD_WARNINGS = "warnings"
PERIOD_WARNING_COLUMNS: dict[str, Type] = {
    "model_id": Type.STRING,
    "warning_key": Type.STRING,
    "township": Type.STRING,
    "severity": Type.STRING,
    "domain": Type.STRING,
    "issued_on": Type.DATE,
    "last_seen_on": Type.DATE,
    "verified_on": Type.DATE,
    "outcome": Type.STRING,
    "rectified_on": Type.DATE,
    "persons_disposed": Type.INT,
    "funds_recovered": Type.DECIMAL,
}


@dataclass
class CheckResult:
    """What `check_pack` found: the checked pack (None when there are errors) and diagnostics."""

    pack: ir.CheckedPack | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)  # file -> text, for rendering
    files: list[str] = field(default_factory=list)


def rule_files(root: Path) -> list[Path]:
    """The pack's rule files, in a stable order."""
    return sorted(root.rglob("*.rule"), key=lambda p: p.relative_to(root).as_posix())


def check_pack(
    root: str | Path, engine_version: str | None = None, examples: bool = True
) -> CheckResult:
    """Parse and check every rule file of the pack at `root` against its pack.yaml.

    With `engine_version`, a pack made for another engine is refused (E604).
    With `examples` false, inline examples are neither parsed nor required:
    for commands that only compile or run the models.
    """
    root = Path(root)
    try:
        pack = load_pack(root, engine_version)
    except DiagnosticError as err:
        return CheckResult(None, err.diagnostics)
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    parsed: list[ast.RuleFile] = []
    files = rule_files(root)
    for path in files:
        shown = _shown_path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            texts[shown] = text
        try:
            parsed.append(parse_file(shown, text, examples))
        except DiagnosticError as err:
            diagnostics.extend(err.diagnostics)
            if err.partial is not None:  # a bad date or message brace: check the rest as well
                parsed.append(err.partial)
    if not files:
        diagnostics.append(
            Diagnostic(
                "E600", f"{root} 下没有任何 .rule 规则文件", f"no .rule files under {root}", None
            )
        )
    checker = Checker(pack, diagnostics, examples)
    checked = checker.check(parsed)
    errors = [d for d in diagnostics if d.severity is not Severity.WARNING]
    return CheckResult(
        None if errors else checked, diagnostics, texts, [_shown_path(p) for p in files]
    )


def _shown_path(path: Path) -> str:
    """A path as diagnostics show it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Scope:
    """Names visible in one query level; `parent` is the enclosing query (correlation)."""

    bindings: dict[str, ir.Binding] = field(default_factory=dict)
    parent: Scope | None = None
    lets: dict[str, ir.Expr] = field(default_factory=dict)
    args: dict[str, Type] = field(default_factory=dict)

    def find_alias(self, alias: str) -> ir.Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if alias in scope.bindings:
                return scope.bindings[alias]
            scope = scope.parent
        return None

    def all_aliases(self) -> list[str]:
        names: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            names.extend(scope.bindings)
            scope = scope.parent
        return names

    def find_let(self, name: str) -> ir.Expr | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.lets:
                return scope.lets[name]
            scope = scope.parent
        return None

    def find_arg(self, name: str) -> Type | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.args:
                return scope.args[name]
            scope = scope.parent
        return None


@dataclass(frozen=True)
class Context:
    """Where an expression stands: may it hold aggregates, is it inside one."""

    aggregates: bool = False
    inside_aggregate: bool = False
    first_allowed: bool = False
    clause: str = "where"


class Checker:
    """Checks one pack's parsed files; appends problems to `diagnostics`."""

    def __init__(self, pack: Pack, diagnostics: list[Diagnostic], examples: bool = True) -> None:
        self.pack = pack
        self.diagnostics = diagnostics
        self.examples = examples  # whether the files were parsed with their examples
        self._uid = 0
        self.define_asts: dict[str, ast.Define] = {}
        self.relation_asts: dict[str, ast.Relation] = {}
        self.defines: dict[str, ir.Define | None] = {}
        self.relations: dict[str, ir.Relation | None] = {}
        self._in_progress: list[str] = []
        self.builtin_bindings: set[int] = set()
        self._nulls: Nullability | None = None
        # References that close a cycle of shared definitions (caller, callee): reported
        # (E213) before checking, and not followed, so that no check recurses in a circle.
        self._cut: set[tuple[str, str]] = set()
        # How large each shared definition and relation, and each let of the model being
        # checked, is written out in place (dsl.ir.extent).
        self.extents: dict[tuple[str, str], ir.Extent] = {}
        self._let_extents: dict[str, ir.Extent] = {}
        # Definitions too large written out (reported once): a definition calling one is
        # left out too, without a second report.
        self._oversized: set[str] = set()
        self._calls_oversized = False
        # The rows bound by the lets of the model being checked (`let m = first(from …)`),
        # by the uid of the binding their name stands for.
        self._bound_rows: dict[int, ir.BoundRow] = {}
        # Keyed lookups (`lookup`), the shared definitions that call one (directly or through
        # another definition), and what a lookup call is checked against where it stands.
        self.lookup_asts: dict[str, ast.Lookup] = {}
        self.lookups: dict[str, ir.Lookup | None] = {}
        self._lookup_defines: set[str] = set()
        self._in_on = 0  # inside a join's `on` (however deep)
        self._in_index = False
        self._in_model = False  # at a model's own level or below, not a definition's body
        # The lookup that names townships (pack.yaml township_names), checked where a message
        # first writes `{township}`; and, while a model's message is checked, its township.
        self._township_lookup: ir.Lookup | None = None
        self._township_checked = False
        self._message_township: ir.Expr | None = None

    # ---- reporting

    def error(self, code: str, span: Span | None, zh: str, en: str, *hints: str) -> None:
        self.diagnostics.append(Diagnostic(code, zh, en, span, tuple(h for h in hints if h)))

    def warn(self, code: str, span: Span | None, zh: str, en: str, *hints: str) -> None:
        self.diagnostics.append(
            Diagnostic(code, zh, en, span, tuple(h for h in hints if h), Severity.WARNING)
        )

    # ---- the pack

    def check(self, files: list[ast.RuleFile]) -> ir.CheckedPack:
        model_asts: dict[str, ast.Model] = {}
        index_asts: list[ast.Index] = []
        for rule_file in files:
            for item in rule_file.items:
                if isinstance(item, ast.Index):
                    index_asts.append(item)
                elif isinstance(item, ast.Model):
                    if item.id in model_asts:
                        first = model_asts[item.id].id_span
                        self.error(
                            "E207",
                            item.id_span,
                            f"模型编号 {item.id} 重复",
                            f"model id {item.id} is used twice",
                            f"首次定义于 {first.file}:{first.line} / first defined at "
                            f"{first.file}:{first.line}",
                        )
                    else:
                        self._id_apart(item, model_asts)
                        model_asts[item.id] = item
                else:
                    table = (
                        self.define_asts
                        if isinstance(item, ast.Define)
                        else self.lookup_asts
                        if isinstance(item, ast.Lookup)
                        else self.relation_asts
                    )
                    earlier = self._shared_ast(item.name)
                    if earlier is not None:
                        first = earlier.name_span
                        self.error(
                            "E209",
                            item.name_span,
                            f"共享定义 {item.name} 重复",
                            f"shared definition {item.name} is defined twice",
                            f"首次定义于 {first.file}:{first.line} / first defined at "
                            f"{first.file}:{first.line}",
                        )
                    elif item.name in SIGNATURES or item.name in self.pack.sources:
                        self.error(
                            "E209",
                            item.name_span,
                            f"共享定义不能与内置函数或来源同名：{item.name}",
                            f"{item.name} is already a built-in function or a source",
                        )
                    else:
                        table[item.name] = item  # type: ignore[assignment]
        for name in self._definition_order():
            if name in self.relation_asts:
                self.relation(name)
            elif name in self.lookup_asts:
                self.lookup(name)
            else:
                self.define(name)
        models = {}
        self._in_model = True
        for model_id, model_ast in model_asts.items():
            checked = self.model(model_ast)
            if checked is not None:
                models[model_id] = checked
        self._in_model = False
        for extra in index_asts[1:]:
            first = index_asts[0].name_span
            self.error(
                "E440",
                extra.name_span,
                "一个策略包只能有一个指数",
                "a pack has one index",
                f"首个指数定义于 {first.file}:{first.line} / the first is at "
                f"{first.file}:{first.line}",
            )
        if index_asts and not self.pack.has_townships:
            self.error(
                "E382",
                index_asts[0].name_span,
                "本策略包不按乡镇分派预警（townships: none），不能有指数",
                "this pack routes no warning to a township (townships: none): it has no index",
                "廉情指数给各乡镇打分排名；删去 index，或在 pack.yaml 中列出乡镇 / the index "
                "ranks townships: delete it, or list the townships in pack.yaml",
            )
            index_asts = []
        self._in_index = True
        index = self.index(index_asts[0]) if index_asts else None
        self._in_index = False
        return ir.CheckedPack(
            self.pack,
            models,
            {k: v for k, v in self.defines.items() if v is not None},
            {k: v for k, v in self.relations.items() if v is not None},
            index,
            {k: v for k, v in self.lookups.items() if v is not None},
        )

    def _shared_ast(self, name: str) -> ast.Define | ast.Relation | ast.Lookup | None:
        """The shared definition, relation or lookup already named `name`, if any."""
        return (
            self.define_asts.get(name) or self.relation_asts.get(name) or self.lookup_asts.get(name)
        )

    def _id_apart(self, node: ast.Model, earlier: dict[str, ast.Model]) -> None:
        """An id must name its model alone wherever it is written (E281, E282).

        compiled/DIALECT/ID.sql is a file, and on a disk that ignores case ENG01 and
        eng01 are one file (as index.sql is the index's); `--select` reads a word
        as a model id first, so a model called red or 工程管理 would hide that
        severity or domain.
        """
        same = next((m for m in earlier.values() if m.id.casefold() == node.id.casefold()), None)
        if same is not None:
            self.error(
                "E281",
                node.id_span,
                f"模型编号 {node.id} 与 {same.id} 只差字母大小写",
                f"model ids {same.id} and {node.id} differ only in letter case",
                f"{same.id} 定义于 {same.id_span.file}:{same.id_span.line}；"
                "两者的 SQL 文件在不区分大小写的磁盘上是同一个文件，换一个编号 / their SQL "
                "files are one file on a disk that ignores case: choose another id",
            )
        taken = {
            **{code: "领域 domain" for code in self.pack.domains},
            **{name: "领域 domain" for name in self.pack.domains.values()},
            **{word: "预警等级 severity" for word in SEVERITY_ALIASES},
            **{word: "模型状态 status" for word in STATUSES},
        }
        what = taken.get(node.id) or ("指数 index" if node.id.casefold() == "index" else None)
        if what is None:
            return
        zh, en = what.split()
        hint = (
            "compiled/方言/index.sql 是指数的 SQL 文件：换一个编号 / "
            "compiled/DIALECT/index.sql is the index's SQL: choose another id"
            if en == "index"
            else f"--select {node.id} 会选中这个模型，而不是这个{zh}：换一个编号 / "
            f"--select {node.id} would pick this model, not the {en}: choose another id"
        )
        self.error(
            "E282",
            node.id_span,
            f"模型编号 {node.id} 已是{zh}的名称",
            f"model id {node.id} is already the name of a {en}",
            hint,
        )

    def _definition_order(self) -> list[str]:
        """Relations and shared definitions, each after everything it reads.

        Checked in this order, a definition that calls another finds it checked
        already, so a chain of definitions costs no recursion however long it is.
        A reference that closes a cycle is reported here (E213) and cut. Depth
        first over an explicit stack.
        """
        reads = {
            name: _references(node)
            for name, node in [
                *self.relation_asts.items(),
                *self.lookup_asts.items(),
                *self.define_asts.items(),
            ]
        }
        order: list[str] = []
        state: dict[str, str] = {}  # "open" while its reads are being followed, then "done"
        for start in reads:
            if start in state:
                continue
            state[start] = "open"
            path: list[tuple[str, Iterator[tuple[str, Span]]]] = [(start, iter(reads[start]))]
            while path:
                name, pending = path[-1]
                step = next(pending, None)
                if step is None:
                    path.pop()
                    state[name] = "done"
                    order.append(name)
                    continue
                target, span = step
                if target not in reads or (name, target) in self._cut:
                    continue
                if state.get(target) == "open":
                    names = [n for n, _ in path]
                    chain = " → ".join([*names[names.index(target) :], target])
                    self.error(
                        "E213",
                        span,
                        f"共享定义循环引用：{chain}",
                        f"shared definitions refer to each other in a cycle: {chain}",
                    )
                    self._cut.add((name, target))
                elif target not in state:
                    state[target] = "open"
                    path.append((target, iter(reads[target])))
        return order

    def _cut_off(self, name: str) -> bool:
        """Whether reading `name` here closes a cycle already reported."""
        return bool(self._in_progress) and (self._in_progress[-1], name) in self._cut

    def _written_out(self, node: Any) -> ir.Extent | None:
        """What a node stands for in the compiled query: a definition's body, a let, relations."""
        if isinstance(node, ir.DefCall):
            return self.extents.get(("define", node.name))
        if isinstance(node, ir.LookupCall):
            return self.extents.get(("lookup", node.name))
        if isinstance(node, ir.LetRef):
            return self._let_extents.get(node.name)
        if isinstance(node, ir.Exists | ir.Scalar):
            return self._relations_read(node.query)
        return None

    def _relations_read(self, query: ir.Query) -> ir.Extent | None:
        """How deep the relations `query` reads are (each is one WITH, so not their size)."""
        read = [
            self.extents[("relation", f.binding.source)]
            for f in query.sources
            if f.binding.is_relation and ("relation", f.binding.source) in self.extents
        ]
        if not read:
            return None
        return ir.Extent(max(e.depth for e in read), 0, max(e.subqueries for e in read), 0)

    def _measure(
        self,
        parts: list[tuple[Any, Span | None]],
        whole: Span | None,
        beside: ir.Extent | None = None,
    ) -> ir.Extent:
        """The extent of `parts` together (and `beside`, the relations a model reads).

        Reports E133/E134 for the first part over a limit, or for all of them.
        """
        total = beside or ir.Extent()
        for expr, span in parts:
            if expr is None:
                continue
            part = ir.extent(expr, self._written_out)
            where = span if span is not None and span.line else whole
            problem = written_out_problem(where, part.depth, part.size, part.subqueries)
            if problem is not None:
                self.diagnostics.append(problem)
                return part
            total = ir.Extent(
                max(total.depth, part.depth),
                total.size + part.size,
                max(total.subqueries, part.subqueries),
                total.uses + part.uses,
            )
        problem = written_out_problem(whole, total.depth, total.size, total.subqueries)
        if problem is not None:
            self.diagnostics.append(problem)
        return total

    def _cycle(self, name: str, span: Span) -> bool:
        if name in self._in_progress:
            chain = " → ".join([*self._in_progress[self._in_progress.index(name) :], name])
            self.error(
                "E213",
                span,
                f"共享定义循环引用：{chain}",
                f"shared definitions refer to each other in a cycle: {chain}",
            )
            return True
        return False

    def relation(self, name: str, span: Span | None = None) -> ir.Relation | None:
        if name in self.relations:
            return self.relations[name]
        node = self.relation_asts[name]
        if self._cut_off(name) or self._cycle(name, span or node.name_span):
            return None
        self._in_progress.append(name)
        branches = []
        columns: list[tuple[str, Type]] | None = None
        for branch in node.branches:
            checked_branch = self._relation_branch(name, branch)
            items = checked_branch.items
            names = [n for n, _ in items]
            if len(set(names)) != len(names):
                self.error(
                    "E402", branch.span, "关系的列名重复", "a relation column is named twice"
                )
            if columns is None:
                columns = [(n, e.type) for n, e in items]
            elif [n for n, _ in columns] != names:
                self.error(
                    "E402",
                    branch.span,
                    f"union 的各部分列名须一致：{', '.join(n for n, _ in columns)}",
                    "every part of a union must select the same column names in order",
                )
            else:
                merged = []
                for (n, t), (_, e) in zip(columns, items, strict=True):
                    joined = unify(t, e.type)
                    if joined is None:
                        self.error(
                            "E402",
                            branch.span,
                            f"列 {n} 在各部分中类型不一致",
                            f"column {n} has different types in the union's parts",
                        )
                        joined = Type.ERROR
                    merged.append((n, joined))
                columns = merged
            branches.append(checked_branch)
            query = checked_branch.query
            self._nullable_parameters(
                [*(src.on for src in query.sources), query.where, checked_branch.having],
                [*(e for _, e in items), *(checked_branch.group_by or ())],
            )
        self._in_progress.pop()
        self.extents[("relation", name)] = self._measure(
            [
                (e, getattr(e, "span", None))
                for b in branches
                for e in [
                    *(src.on for src in b.query.sources),
                    b.query.where,
                    *(b.group_by or ()),
                    b.having,
                    *(x for _, x in b.items),
                ]
            ],
            node.name_span,
        )
        sources = frozenset().union(*(self.sources_of(b) for b in branches))
        checked = ir.Relation(
            name,
            node.title,
            tuple(columns or ()),
            tuple(branches),
            sources,
            revision_of(node),
            node.span,
        )
        self.relations[name] = checked
        return checked

    def _relation_branch(self, relation: str, node: ast.Branch) -> ir.Branch:
        """One part of a relation, checked: its rows, groups and the values it selects.

        With `group by`, it gives one row per group: what it selects and `having`
        may read the group values and aggregate the rows, as a grouped model's
        message does (E461 for a column that is neither). Without, an aggregate
        has no group to run over (E460).
        """
        scope = Scope()
        query = self.query(node.query, scope)
        grouped = bool(node.group_by)
        group_by = None
        if grouped:
            group_by = tuple(self.expr(e, scope, Context(clause="group by")) for e in node.group_by)
        over_groups = Context(aggregates=True, clause="select")
        items = tuple((i.name, self.expr(i.expr, scope, over_groups)) for i in node.select)
        having = self.condition(node.having, scope, over_groups) if node.having else None
        if group_by is not None:
            before = len(self.diagnostics)
            groups, top = set(group_by), set(scope.bindings.values())
            for value in [*(v for _, v in items), having]:
                if value is not None:
                    self.grouping(value, groups, top, scope)
            for i in range(before, len(self.diagnostics)):
                if self.diagnostics[i].code == "E306":
                    d = self.diagnostics[i]
                    self.diagnostics[i] = Diagnostic(
                        "E461",
                        d.message_zh,
                        d.message_en,
                        d.span,
                        (
                            "分组的关系每组只有一行：把它加进 group by，或放进 count()、sum()、"
                            "min()、max() 等聚合函数 / a grouped relation has one row per group: "
                            "group by it, or aggregate it",
                        ),
                    )
        else:
            for item, (column, value) in zip(node.select, items, strict=True):
                if ir.has_aggregate(value):
                    self.error(
                        "E460",
                        item.expr.span,
                        f"关系 {relation} 的列 {column} 是聚合值，这一部分却没有 group by",
                        f"column {column} of relation {relation} aggregates, "
                        "but this part has no 'group by'",
                        "按组统计时在 select 之前写 group by，例如 "
                        "from sup_kinship k group by k.official_id "
                        "select k.official_id as official_id, count(*) as relatives；"
                        "只是去掉重复的行，写 select distinct / to count per group, write "
                        "'group by' before 'select'; to drop repeated rows, 'select distinct'",
                    )
        return ir.Branch(query, items, node.distinct, group_by, having)

    def define(self, name: str, span: Span | None = None) -> ir.Define | None:
        if name in self.defines:
            return self.defines[name]
        node = self.define_asts[name]
        if self._cut_off(name) or self._cycle(name, span or node.name_span):
            return None
        self._in_progress.append(name)
        params: list[tuple[str, Type]] = []
        for p in node.params:
            try:
                params.append((p.name, parse_type_name(p.type_name)))
            except ValueError:
                self.error(
                    "E301",
                    p.type_span,
                    f"未知类型「{p.type_name}」",
                    f"unknown type {p.type_name!r}",
                    "类型可为 string、int、decimal、float、date、timestamp、bool",
                )
                params.append((p.name, Type.ERROR))
        scope = Scope(args=dict(params))
        self._calls_oversized = False
        body = self.expr(node.body, scope, Context(clause="define"))
        self._in_progress.pop()
        condition = body.type is Type.BOOL
        self._nullable_parameters([body] if condition else [], [] if condition else [body])
        if self._calls_lookups(body):
            self._lookup_defines.add(name)
        before = len(self.diagnostics)
        if not self._calls_oversized:
            self.extents[("define", name)] = self._measure([(body, node.name_span)], node.name_span)
        if self._calls_oversized or len(self.diagnostics) > before:
            # Too large written out, said once: its callers are left out without a word.
            self._oversized.add(name)
            self.defines[name] = None
            return None
        checked = ir.Define(
            name,
            node.title,
            tuple(params),
            body,
            body.type,
            self.sources_of(body),
            revision_of(node),
            node.span,
        )
        self.defines[name] = checked
        return checked

    def lookup(self, name: str, span: Span | None = None) -> ir.Lookup | None:
        """A keyed lookup, checked: a column of a catalog source, found by its whole key."""
        if name in self.lookups:
            return self.lookups[name]
        node = self.lookup_asts[name]
        if self._cut_off(name) or self._cycle(name, span or node.name_span):
            return None
        self._in_progress.append(name)
        start = len(self.diagnostics)
        columns = self._lookup_columns(node)
        names = [p for p, _ in node.params]
        for i, (param, param_span) in enumerate(node.params):
            if param in names[:i]:
                self.error(
                    "E257",
                    param_span,
                    f"lookup {name} 的参数 {param} 写了两次",
                    f"lookup {name} names its parameter {param} twice",
                    "每个参数对应 by 后的一个键列，名称各不相同 / "
                    "each parameter stands for one key column after 'by'",
                )
        if len(node.params) != len(node.by):
            self.error(
                "E456",
                node.name_span,
                f"lookup {name} 有 {len(node.params)} 个参数，by 后却有 {len(node.by)} 个键列",
                f"lookup {name} takes {len(node.params)} parameters but 'by' names "
                f"{len(node.by)} key columns",
                "参数按顺序对应 by 后的键列，例如 lookup tax(code, year) = "
                "tax_annual.tax_paid by enterprise_code, year / parameters match the key "
                "columns in order",
            )
        keys = [k for k, _ in node.by]
        params = tuple(
            (param, columns.get(keys[i], Type.ERROR) if i < len(keys) else Type.ERROR)
            for i, (param, _) in enumerate(node.params)
        )
        found = columns.get(node.column, Type.ERROR)
        default = None
        self._calls_oversized = False
        if node.default is not None:
            default = self.expr(node.default, Scope(args=dict(params)), Context(clause="define"))
            joined = unify(found, default.type)
            if joined is None and Type.ERROR not in (found, default.type):
                self.error(
                    "E355",
                    node.default.span,
                    f"lookup {name} 查的是{found.zh}（{node.source}.{node.column}），"
                    f"default 却是{default.type.zh}",
                    f"lookup {name} gives {_a(found)} ({node.source}.{node.column}); "
                    f"its default is {_a(default.type)}",
                    "default 的值与所查的列同一类型，例如乡镇名称查不到时写代码本身："
                    "default code / the default has the looked-up column's type",
                )
            found = joined or found
        self._in_progress.pop()
        before = len(self.diagnostics)
        if default is not None and not self._calls_oversized:
            self.extents[("lookup", name)] = self._measure(
                [(default, node.name_span)], node.name_span
            )
        if self._calls_oversized or len(self.diagnostics) > before:
            self._oversized.add(name)  # too large written out: its callers are left out quietly
        if self._calls_oversized or len(self.diagnostics) > start:
            self.lookups[name] = None
            return None
        checked = ir.Lookup(
            name,
            node.title,
            params,
            node.source,
            node.column,
            tuple(k for k, _ in node.by),
            default,
            found,
            frozenset({node.source}) | (self.sources_of(default) if default else frozenset()),
            revision_of(node),
            node.span,
        )
        self.lookups[name] = checked
        return checked

    def _lookup_columns(self, node: ast.Lookup) -> dict[str, Type]:
        """The columns of a lookup's source (reporting a source, column or key that is wrong)."""
        source = self.pack.sources.get(node.source)
        if source is None:
            if node.source in self.relation_asts:
                self.error(
                    "E256",
                    node.source_span,
                    f"lookup 只能查 pack.yaml 中的来源，{node.source} 是共享关系",
                    f"a lookup reads a source of the catalog; {node.source} is a relation",
                    "关系没有声明的键，查到的行可能不止一行；请查 sources 下的来源 / "
                    "a relation has no declared key, so more than one row could match",
                )
            else:
                self.error(
                    "E200",
                    node.source_span,
                    f"未知数据来源「{node.source}」",
                    f"unknown source {node.source!r}",
                    *did_you_mean(node.source, self.pack.sources),
                    "lookup 查的来源须是 pack.yaml 中 sources 下的名称",
                )
            return {}
        columns = {n: c.type for n, c in source.columns.items()}
        for column, span in [(node.column, node.column_span), *node.by]:
            if column not in columns:
                self.error(
                    "E201",
                    span,
                    f"{node.source} 没有列「{column}」",
                    f"{node.source} has no column {column!r}",
                    *(
                        did_you_mean(column, columns)
                        or (f"{node.source} 的列：{', '.join(list(columns)[:12])}",)
                    ),
                )
        by = [k for k, _ in node.by]
        key = "、".join(source.key) or "（没有声明）"
        if len(set(by)) != len(by) or not source.key or not set(source.key) <= set(by):
            self.error(
                "E455",
                node.by[0][1],
                f"lookup {node.name} 须按 {node.source} 的键查找，by 后写的是 {', '.join(by)}",
                f"lookup {node.name} must find {node.source} rows by their key, "
                f"not by {', '.join(by)}",
                f"{node.source} 的键 key：{key}；按键查找，每个键值至多一行，结果才唯一 / "
                "by the key, at most one row matches, so the value found is the one",
            )
        return columns

    def _calls_lookups(self, expr: Any) -> bool:
        """Whether `expr` calls a lookup, directly or through a shared definition."""
        return any(
            isinstance(n, ir.LookupCall)
            or (isinstance(n, ir.DefCall) and n.name in self._lookup_defines)
            for n in ir.walk(expr)
        )

    def _township_names(self) -> ir.Lookup | None:
        """The lookup pack.yaml names under township_names, checked (None: none, or wrong).

        Checked where a message first writes `{township}`, not before: a pack (a
        test's, a draft's) may copy the county's pack.yaml without its shared rules.
        """
        name, span = self.pack.township_names, self.pack.township_names_span
        if name is None:
            return None
        if name not in self.lookup_asts:
            self.error(
                "E685",
                span,
                f"township_names 写的 lookup「{name}」不存在",
                f"township_names names no lookup: {name!r}",
                *did_you_mean(name, self.lookup_asts),
                '在规则文件中声明它，例如 lookup township_name(code) "乡镇名称" = '
                "ref_township.name by township default code / declare it in a rule file",
            )
            return None
        lookup = self.lookups.get(name)
        if lookup is None:  # its own mistakes are reported where it is declared
            return None
        takes = [t for _, t in lookup.params]
        if takes != [Type.STRING] or lookup.type is not Type.STRING:
            shown = ", ".join(t.value for t in takes)
            self.error(
                "E686",
                span,
                f"township_names 的 lookup {name} 应接受一个乡镇代码（文本）并给出文本，"
                f"这里接受 ({shown})、给出{lookup.type.zh}",
                f"the township_names lookup {name} must take one township code (a string) "
                f"and give a string; it takes ({shown}) and gives {_a(lookup.type)}",
                "消息中的 {township} 用它把预警的乡镇代码写成名称 / "
                "{township} in a message writes the warning's township code with it",
            )
            return None
        return lookup

    def sources_of(self, node: Any) -> frozenset[str]:
        """Every catalog source that `node` reads, through relations and definitions too."""
        found: set[str] = set()
        for n in ir.walk(node):
            if isinstance(n, ir.From):
                if n.binding.is_relation:
                    rel = self.relations.get(n.binding.source)
                    found |= rel.sources if rel else set()
                else:
                    found.add(n.binding.source)
            elif isinstance(n, ir.DefCall):
                d = self.defines.get(n.name)
                found |= d.sources if d else set()
            elif isinstance(n, ir.LookupCall):
                lookup = self.lookups.get(n.name)
                found |= lookup.sources if lookup else set()
            elif isinstance(n, ir.Func) and n.name == "workdays":
                found.add("ref_calendar")
        return frozenset(found)

    # ---- models

    def model(self, node: ast.Model) -> ir.Model | None:
        start = len(self.diagnostics)
        clauses: dict[str, list[ast.Clause]] = {}
        for clause in node.clauses:
            clauses.setdefault(clause.kind, []).append(clause)
        for kind, found in clauses.items():
            if kind in SINGLE_CLAUSES and len(found) > 1:
                self.error(
                    "E401",
                    found[1].span,
                    f"模型中 {kind} 只能写一次",
                    f"a model has at most one '{kind}'",
                )
        for kind, (zh, en) in REQUIRED_CLAUSES.items():
            if kind == "township" and not self.pack.has_townships:
                self._no_township_clause(clauses.get(kind, []))
            elif kind not in clauses:
                self.error(
                    "E400",
                    node.id_span,
                    f"模型 {node.id} 缺少 {kind}",
                    f"model {node.id} has no '{kind}'",
                    f"加上一行：{zh} / add: {en}",
                )

        def one(kind: str) -> Any:
            return clauses[kind][0].value if kind in clauses else None

        domain = self._domain(one("domain"))
        self._model_id(node, domain if "domain" in clauses else None)
        severity = self._severity(one("severity"))
        status = self._status(one("status"))
        precheck = self._precheck(one("precheck"))

        scope = Scope()
        from_ref = one("from")
        query = ir.Query((), None)
        if from_ref is not None:
            joins = tuple(c.value for c in clauses.get("join", []))
            query = self.query(ast.Query(from_ref.span, from_ref, joins, None), scope)

        grouped = "group_by" in clauses
        self._let_extents = {}
        self._bound_rows = {}
        bound: list[ir.BoundRow] = []
        for clause in clauses.get("let", []):
            let: ast.Let = clause.value
            bound_names = {row.name for row in bound}
            if let.name in scope.lets or let.name in bound_names:
                self.error(
                    "E208", let.span, f"let {let.name} 重复定义", f"let {let.name} is defined twice"
                )
            if let.name in scope.bindings and let.name not in bound_names:
                self.error(
                    "E208",
                    let.span,
                    f"let {let.name} 与来源别名同名",
                    f"let {let.name} has the name of an alias",
                )
            if isinstance(let.expr, ast.FirstRow):
                row = self.bound_row(let, let.expr, scope)
                bound.append(row)
                self._bound_rows[row.binding.uid] = row
                scope.bindings.setdefault(let.name, row.binding)  # an alias keeps its name
                continue
            value = self.expr(
                let.expr, scope, Context(aggregates=True, first_allowed=grouped, clause="let")
            )
            scope.lets[let.name] = value
            self._let_extents[let.name] = ir.extent(value, self._written_out)

        where = None
        if "where" in clauses:
            where = self.condition(one("where"), scope, Context(clause="where"))
            self._no_aggregate_lets(where, scope, "where")
            query = ir.Query(query.sources, where)
        group_by = None
        if grouped:
            group_by = tuple(
                self.expr(e, scope, Context(clause="group by")) for e in one("group_by")
            )
            for g in group_by:
                self._no_aggregate_lets(g, scope, "group by")
        output_ctx = Context(aggregates=grouped, first_allowed=grouped, clause="output")
        having = None
        if "having" in clauses:
            if not grouped:
                self.error(
                    "E305",
                    clauses["having"][0].span,
                    "having 只能与 group by 一起使用",
                    "'having' needs a 'group by'",
                    "having 是分组之后的条件：加上 group by（例如 group by r.claimant_id）；"
                    "不分组的条件写在 where 中",
                )
            # Without group by the having is reported above: check its names and
            # types here, but don't report its aggregates a second time.
            having_ctx = output_ctx if grouped else Context(aggregates=True, clause="having")
            having = self.condition(one("having"), scope, having_ctx)
        key: tuple[ir.Expr, ...] = ()
        if "key" in clauses:
            key = tuple(self.expr(e, scope, output_ctx) for e in one("key"))
            for part, part_ast in zip(key, one("key"), strict=True):
                if part.type not in KEY_TYPES | {Type.ERROR}:
                    self.error(
                        "E308",
                        part_ast.span,
                        f"预警键的组成部分不能是{part.type.zh}",
                        f"a key part cannot be of type {part.type.value}",
                        "键由编号、年份、年月(year_month)等文本、整数或日期组成",
                    )
        township: ir.Expr | None = ir.Lit(None, Type.NULL) if self.pack.has_townships else None
        if "township" in clauses and self.pack.has_townships:
            township = self.expr(one("township"), scope, output_ctx)
            if township.type not in (Type.STRING, Type.NULL, Type.ERROR):
                self.error(
                    "E309",
                    one("township").span,
                    f"township 应为乡镇代码（文本），这里是{township.type.zh}",
                    f"township must be a township code (string), not {township.type.value}",
                )
        message: tuple[str | ir.Hole | ir.KeyHole, ...] = ()
        if "message" in clauses:
            self._message_township = township  # what `{township}` names
            message = self.template(one("message"), scope, output_ctx)
            message = _with_missing(message, self._missing(one("missing")))
            self._message_township = None

        if grouped and group_by is not None:
            groups = set(group_by)
            top = set(scope.bindings.values())
            for expr in [
                having,
                *key,
                township,
                *[h.expr for h in message if isinstance(h, ir.Hole)],
            ]:
                if expr is not None:
                    self.grouping(expr, groups, top, scope)
        else:
            for expr in [*key, township, *[h.expr for h in message if isinstance(h, ir.Hole)]]:
                if expr is not None:
                    self._no_aggregate_lets(expr, scope, "key/township/message")

        holes = [h.expr for h in message if isinstance(h, ir.Hole)]
        self._nullable_parameters(
            [*(src.on for src in query.sources), where, having],
            [*(group_by or ()), *key, township, *holes],
            scope.lets,
        )
        parts = [*scope.lets.values(), *bound, where, *(group_by or ()), having, *key, township]
        parts += holes
        parts += [src.on for src in query.sources]
        measured = [(e, getattr(e, "span", None)) for e in parts]
        self._measure(measured, node.id_span, self._relations_read(query))

        lets = tuple(scope.lets.items())
        body = (query, lets, group_by, having, key, township, message, tuple(bound))
        sources = self.sources_of(body)
        # A model with a mistake may not know all it reads: don't say an example's
        # pending rows are of a source it doesn't read.
        judged = not any(d.severity is not Severity.WARNING for d in self.diagnostics[start:])
        written: list[ast.Example] = [c.value for c in clauses.get("example", [])]
        examples = tuple(
            e
            for e in (self.example(x, sources if judged else None, precheck) for x in written)
            if e
        )
        if status == "active" and not written and self.examples:
            self.error(
                "E420",
                node.id_span,
                f"模型 {node.id} 没有示例",
                f"model {node.id} has no examples",
                '至少写一个必须预警的示例(expect "键")和一个不应预警的近似示例(expect none)',
            )
        elif status == "active" and self.examples:
            # Judged on what the examples say, checked or not: an example with a
            # mistake is reported for its mistake, not as missing.
            if not any(e.expect for e in written):
                self.error(
                    "E420",
                    node.id_span,
                    f"模型 {node.id} 没有必须预警的示例",
                    f"model {node.id} has no example that must raise a warning",
                    '加一个 expect "键" 的示例',
                )
            if not any(not e.expect for e in written):
                self.error(
                    "E420",
                    node.id_span,
                    f"模型 {node.id} 没有不应预警的近似示例",
                    f"model {node.id} has no near-miss example (expect none)",
                    "加一个恰在阈值另一侧、不应预警的示例，写 expect none",
                )

        if len(self.diagnostics) > start and any(
            d.severity is not Severity.WARNING for d in self.diagnostics[start:]
        ):
            return None
        checked = ir.Model(
            id=node.id,
            title=node.title or node.id,
            domain=domain or "",
            severity=severity or "",
            status=status,
            query=query,
            lets=lets,
            group_by=group_by,
            having=having,
            key=key,
            township=township,
            message=message,
            examples=examples,
            note=one("note"),
            sources=sources,
            parameters=frozenset(n.name for n in ir.walk(body) if isinstance(n, ir.Param)),
            revision=revision_of(node),
            file=node.span.file,
            precheck=precheck,
            span=node.span,
            bound=tuple(bound),
        )
        self.diagnostics.extend(self._nullability().warnings(checked))
        return checked

    def _nullable_parameters(
        self,
        conditions: list[ir.Expr | None],
        values: list[ir.Expr | None],
        lets: dict[str, ir.Expr] | None = None,
    ) -> None:
        """E372 for each use of a nullable parameter whose null would decide a condition unasked.

        See dsl/param_nulls.py: the rule must say what "no threshold" means.
        """
        for param in unguarded(conditions, values, lets):
            name = param.name
            self.error(
                "E372",
                param.span,
                f"${name} 可以为空（不设阈值），为空时这里的比较不成立（!= 则总成立），"
                "规则却没有说明不设阈值时怎样",
                f"${name} is nullable: with no threshold this comparison is false "
                "(with !=, true), and the rule does not say what no threshold means",
                f"写明为空时的意思：${name} is null or …（不设阈值时条件成立），"
                f"或 ${name} is not null and …（不设阈值时不成立）/ say it: "
                f"${name} is null or … (no threshold: it holds), "
                f"${name} is not null and … (it does not)",
            )

    def _nullability(self) -> Nullability:
        """The null analysis of message holes (W320), once the shared definitions are checked."""
        if self._nulls is None:
            defines = {k: v for k, v in self.defines.items() if v is not None}
            relations = {k: v for k, v in self.relations.items() if v is not None}
            lookups = {k: v for k, v in self.lookups.items() if v is not None}
            self._nulls = Nullability(self.pack, defines, relations, lookups)
        return self._nulls

    def _missing(self, value: tuple[str, Span] | None) -> str | None:
        """What the model's message writes for a null: its `missing "…"`, else the pack's."""
        if value is None:
            return self.pack.missing_text
        text, span = value
        why = missing_text_problem(text)
        if why is not None:
            hint = missing_text_hint('missing "不详"')
            self.error("E361", span, f"missing {why[0]}", f"missing {why[1]}", hint)
            return self.pack.missing_text
        return text

    def _domain(self, value: tuple[str, Span] | None) -> str | None:
        if value is None:
            return None
        text, span = value
        code = self.pack.domain_code(text)
        if code is None:
            names = [*self.pack.domains, *self.pack.domains.values()]
            self.error(
                "E210",
                span,
                f"未知领域「{text}」",
                f"unknown domain {text!r}",
                *did_you_mean(text, names),
                "领域可为 " + "、".join(f"{v}({k})" for k, v in self.pack.domains.items()),
            )
        return code

    def _model_id(self, node: ast.Model, domain: str | None) -> None:
        """Whether the model's id is one its domain takes, and no other domain's (E214, E280).

        `domain` is the model's domain code, None when it has none or an unknown one
        (reported already): then the id need only fit some domain of the pack.
        """
        claimed = self.pack.domains_claiming(node.id)
        if domain is None:
            if self.pack.domains and not any(
                self.pack.ids_of(code).fits(node.id) for code in self.pack.domains
            ):
                self._unfit_id(node, self.pack.ids_of(next(iter(self.pack.domains))))
            return
        ids = self.pack.ids_of(domain)
        if not ids.fits(node.id):
            self._unfit_id(node, ids)
        elif claimed and domain not in claimed:
            owner = claimed[0]
            self.error(
                "E280",
                node.id_span,
                f"模型编号 {node.id} 属于领域 {self.pack.domains[owner]}({owner})，"
                f"而模型写的是 {self.pack.domains[domain]}({domain})",
                f"model id {node.id} is of domain {owner}, but the model is in {domain}",
                f"编号表明模型所属的领域：改写 domain，或改用 {domain} 的编号（{ids.described[0]}）"
                f" / an id says which domain a model is in: change the domain, or give it an "
                f"id of {domain} ({ids.described[1]})",
            )

    def _unfit_id(self, node: ast.Model, ids: ModelIds) -> None:
        zh, en = ids.described
        self.error(
            "E214",
            node.id_span,
            f"模型编号「{node.id}」格式不对",
            f"model id {node.id!r} is not of the form {ids.example}",
            zh if ids.kind == "classic" else f"{zh} / {en}",
        )

    def _no_township_clause(self, found: list[ast.Clause]) -> None:
        """A pack with `townships: none` routes no warning to a township (E380)."""
        for clause in found:
            self.error(
                "E380",
                clause.span,
                "本策略包不按乡镇分派预警（pack.yaml：townships: none），模型不写 township",
                "this pack routes no warning to a township (pack.yaml: townships: none): "
                "a model has no 'township'",
                "删去 township 这一行；要按乡镇分派，在 pack.yaml 中列出乡镇 / delete the line; "
                "to route warnings to townships, list them in pack.yaml",
            )

    def _severity(self, value: tuple[str, Span] | None) -> str | None:
        if value is None:
            return None
        text, span = value
        if text not in SEVERITY_ALIASES:
            self.error(
                "E211",
                span,
                f"未知预警等级「{text}」",
                f"unknown severity {text!r}",
                "可为 red(红色)、yellow(黄色)、blue(蓝色)",
            )
            return None
        return SEVERITY_ALIASES[text]

    def _status(self, value: tuple[str, Span] | None) -> str:
        if value is None:
            return "active"
        text, span = value
        if text not in STATUSES:
            self.error(
                "E212",
                span,
                f"未知模型状态「{text}」",
                f"unknown status {text!r}",
                "可为 draft(草稿)、active(启用)、deprecated(停用)",
            )
            return "active"
        return STATUSES[text]

    def _precheck(self, value: tuple[str, Span] | None) -> bool:
        """Whether the pre-check runs the model: `precheck yes` or no clause, else `precheck no`."""
        if value is None:
            return True
        text, span = value
        if text not in PRECHECK:
            self.error(
                "E410",
                span,
                f"precheck 只能写 yes 或 no，这里写的是「{text}」",
                f"precheck is yes or no, not {text!r}",
                "可为 yes(参加预检，不写时即为 yes)、no(不参加预检)",
                "只因时间推移才会触发、审批一条记录时无从判断的模型（如“立项超过6个月仍未招标”）"
                "写 precheck no / write 'precheck no' for a model that only time passing can trip",
            )
            return True
        return PRECHECK[text]

    def _no_aggregate_lets(self, expr: ir.Expr, scope: Scope, clause: str) -> None:
        aggregating = ir.aggregate_lets(list(scope.lets.items()))
        for node in ir.walk(expr):
            if isinstance(node, ir.LetRef):
                if node.name in aggregating:
                    self.error(
                        "E305",
                        node.span,
                        f"let {node.name} 含有聚合函数，不能用在 {clause} 中",
                        f"let {node.name} holds an aggregate and cannot be used in {clause}",
                    )

    def grouping(
        self, expr: ir.Expr, groups: set[ir.Expr], top: set[ir.Binding], scope: Scope
    ) -> None:
        """Report columns of the model's rows used outside `group by` and outside aggregates."""
        if expr in groups or isinstance(expr, ir.Agg):
            return
        if isinstance(expr, ir.Col | ir.RowFound) and expr.binding.uid in self._bound_rows:
            if expr.binding in top:
                self._bound_row_ungrouped(expr)
            return
        if isinstance(expr, ir.Col):
            if expr.binding in top:
                self.error(
                    "E306",
                    expr.span,
                    f"{expr.binding.alias}.{expr.column} 既不在 group by 中，也不在聚合函数内",
                    f"{expr.binding.alias}.{expr.column} is neither grouped nor aggregated",
                    "把它加进 group by，或放进 min()、max()、first(… order by …) 等聚合函数",
                )
            return
        if isinstance(expr, ir.LetRef):
            value = scope.find_let(expr.name)
            if value is not None:
                self.grouping(value, groups, top, scope)
            return
        for child in ir.children(expr):
            self.grouping(child, groups, top, scope)

    # ---- the integrity index

    def index(self, node: ast.Index) -> ir.Index | None:
        start = len(self.diagnostics)
        clauses: dict[str, list[ast.Clause]] = {}
        for clause in node.clauses:
            clauses.setdefault(clause.kind, []).append(clause)
        for kind in ("from", "scale", "rounding", "ties", "note"):
            for extra in clauses.get(kind, [])[1:]:
                self.error(
                    "E401",
                    extra.span,
                    f"指数中 {kind} 只能写一次",
                    f"an index has at most one '{kind}'",
                )

        # The rows: the period's warnings of one township, each with its disposal record.
        self._uid += 1
        warnings = ir.Binding(self._uid, "w", PERIOD_WARNINGS, False)
        self.builtin_bindings.add(warnings.uid)
        from_ref = clauses["from"][0].value if "from" in clauses else None
        if from_ref is None:
            self.error(
                "E400",
                node.name_span,
                "指数缺少 from warnings w",
                "the index needs 'from warnings w'",
                "指数按乡镇统计本期预警：写 from warnings w",
            )
        elif from_ref.source != PERIOD_WARNINGS:
            self.error(
                "E200",
                from_ref.source_span,
                f"指数只能统计 {PERIOD_WARNINGS}",
                f"an index reads '{PERIOD_WARNINGS}' only",
                "warnings：本期内首次发出的预警，每条带有其核查处置记录",
            )
        else:
            warnings = ir.Binding(warnings.uid, from_ref.alias, PERIOD_WARNINGS, False)
        measures_scope = Scope(bindings={warnings.alias: warnings}, args={"staff": Type.INT})
        measures: dict[str, ir.Expr] = {}
        for clause in clauses.get("let", []):
            let: ast.Let = clause.value
            if let.name in measures:
                self.error(
                    "E208", let.span, f"let {let.name} 重复定义", f"let {let.name} is defined twice"
                )
            value = self.expr(let.expr, measures_scope, Context(aggregates=True, clause="let"))
            self.grouping(value, set(), {warnings}, measures_scope)
            self._no_quantiles_in_index(value)
            measures[let.name] = value
            measures_scope.lets[let.name] = value

        base = Scope(lets=dict(measures), args={"staff": Type.INT})
        indicators: list[ir.Indicator] = []
        for clause in clauses.get("indicator", []):
            indicator = self._indicator(clause.value, base, measures)
            if any(i.name == indicator.name for i in indicators):
                self.error(
                    "E208",
                    clause.value.span,
                    f"指标 {indicator.name} 重复定义",
                    f"indicator {indicator.name} is defined twice",
                )
            indicators.append(indicator)

        parts = self._parts(clauses.get("part", []), {i.name: i.span for i in indicators})
        bands = self._bands(clauses.get("band", []), node)
        consequences: dict[str, str] = {}
        for clause in clauses.get("consequence", []):
            colour, span, text = clause.value
            if colour not in {b.colour for b in bands}:
                self.error(
                    "E435",
                    span,
                    f"后果所指的颜色「{colour}」没有对应的 band",
                    f"no band has the colour {colour!r}",
                    *did_you_mean(colour, [b.colour for b in bands]),
                )
            consequences[colour] = text
        scale = self._index_word(clauses, "scale", "minmax", {"minmax"})
        ties = self._index_word(clauses, "ties", "shared", {"shared", "dense"})
        rounding = 2
        if "rounding" in clauses:
            text, span = clauses["rounding"][0].value
            if not text.isdigit() or int(text) > 6:
                self.error(
                    "E433", span, "rounding 取 0 到 6 位小数", "rounding takes 0 to 6 decimals"
                )
            else:
                rounding = int(text)
        # Measures are read by indicators as lets: measured the same way as a model's.
        self._let_extents = {}
        for name, value in measures.items():  # in order: a measure may read those before it
            self._let_extents[name] = ir.extent(value, self._written_out)
        measured = [(i.expr, i.span) for i in indicators]
        measured += [(e, i.span) for i in indicators for case in i.cases for e in case]
        measured += [(b.condition, None) for b in bands]
        self._measure(measured, node.name_span)
        self._nullable_parameters(
            [*(c for i in indicators for c, _ in i.cases), *(b.condition for b in bands)],
            [*(i.expr for i in indicators), *(v for i in indicators for _, v in i.cases)],
            measures,
        )
        if len(self.diagnostics) > start and any(
            d.severity is not Severity.WARNING for d in self.diagnostics[start:]
        ):
            return None
        return ir.Index(
            name=node.name,
            title=node.title or node.name,
            warnings=warnings,
            measures=tuple(measures.items()),
            indicators=tuple(indicators),
            parts=parts,
            scale=scale,
            rounding=rounding,
            ties=ties,
            bands=bands,
            consequences=consequences,
            revision=revision_of(node),
            file=node.span.file,
            span=node.span,
        )

    def _indicator(
        self, node: ast.Indicator, scope: Scope, measures: dict[str, ir.Expr]
    ) -> ir.Indicator:
        value = self.expr(node.expr, scope, Context(clause="indicator"))
        if value.type not in NUMERIC | {Type.ERROR}:
            self.error(
                "E303",
                node.expr.span,
                f"指标 {node.name} 应为数值",
                f"indicator {node.name} must be a number",
            )
        cases = []
        for condition, result in node.cases:
            checked = self.condition(condition, scope, Context(clause="indicator"))
            outcome = self.expr(result, scope, Context(clause="indicator"))
            if outcome.type not in NUMERIC | {Type.ERROR}:
                self.error(
                    "E303",
                    result.span,
                    "空情形的取值应为数值",
                    "the value of an empty case must be a number",
                )
            cases.append((checked, outcome))
        for division in (n for n in ir.walk(value) if isinstance(n, ir.Arith) and n.op == "/"):
            divisor = division.right
            declared = any(
                isinstance(c, ir.Compare)
                and c.op == "="
                and c.left == divisor
                and isinstance(c.right, ir.Lit)
                and c.right.value == 0
                for c, _ in cases
            )
            if not declared and not _never_zero(divisor, measures):
                shown = _divisor_name(division)
                self.error(
                    "E432",
                    division.span,
                    f"指标 {node.name} 中的除法没有声明除数为 0 时的取值",
                    f"indicator {node.name} divides without saying what it is "
                    "when the divisor is 0",
                    f"在指标后加上 when {shown} = 0 then 取值，例如 when W = 0 then 1",
                )
        if node.unit not in (None, "percent"):
            self.error(
                "E433",
                node.unit_span,
                f"未知的指标单位「{node.unit}」",
                f"unknown indicator unit {node.unit!r}",
                "可写 percent（比率，按百分比显示），或不写",
            )
        return ir.Indicator(
            node.name, node.title, value, tuple(cases), node.unit == "percent", node.span
        )

    def _parts(self, clauses: list[ast.Clause], indicators: dict[str, Span]) -> tuple[ir.Part, ...]:
        parts: list[ir.Part] = []
        used: dict[str, Span] = {}
        total = Decimal(0)
        for clause in clauses:
            part: ast.Part = clause.value
            items = []
            for item in part.items:
                if item.indicator not in indicators:
                    self.error(
                        "E431",
                        item.indicator_span,
                        f"未知指标「{item.indicator}」",
                        f"unknown indicator {item.indicator!r}",
                        *did_you_mean(item.indicator, indicators),
                    )
                elif item.indicator in used:
                    self.error(
                        "E434",
                        item.indicator_span,
                        f"指标 {item.indicator} 已计入别的部分",
                        f"indicator {item.indicator} already earns points elsewhere",
                    )
                used[item.indicator] = item.indicator_span
                if item.points <= 0:
                    self.error("E430", item.span, "分值应为正数", "points must be positive")
                total += item.points
                items.append(ir.PartItem(item.indicator, item.points, item.higher_is_better))
            if any(p.id == part.id for p in parts):
                self.error(
                    "E208",
                    part.span,
                    f"部分 {part.id} 重复定义",
                    f"part {part.id} is defined twice",
                )
            parts.append(ir.Part(part.id, part.title, tuple(items)))
        if not clauses:
            self.error("E430", None, "指数没有任何计分部分", "the index has no parts")
        elif total != 100:
            self.error(
                "E430",
                clauses[0].span,
                f"各部分分值合计应为 100，这里是 {total}",
                f"the points of all parts must add up to 100, not {total}",
            )
        for name in sorted(set(indicators) - set(used)):
            self.warn(
                "W431",
                indicators[name],
                f"指标 {name} 没有计入任何部分",
                f"indicator {name} earns no points",
                "在某个 part 中给它分值，或删去这个指标",
            )
        return tuple(parts)

    def _bands(self, clauses: list[ast.Clause], node: ast.Index) -> tuple[ir.Band, ...]:
        scope = Scope(args={"rank": Type.INT, "townships": Type.INT})
        bands: list[ir.Band] = []
        for i, clause in enumerate(clauses):
            band: ast.Band = clause.value
            if band.colour not in BAND_COLOURS:
                self.error(
                    "E435",
                    band.span,
                    f"未知颜色「{band.colour}」",
                    f"unknown colour {band.colour!r}",
                    "颜色可为 red、yellow、green",
                )
            last = i == len(clauses) - 1
            if last and band.condition is not None:
                self.error(
                    "E436",
                    band.span,
                    "最后一个 band 不写条件，表示其余的乡镇",
                    "the last band takes no condition: it is every township left",
                )
            if not last and band.condition is None:
                self.error(
                    "E436",
                    band.span,
                    "除最后一个外，每个 band 都要写 when 条件",
                    "every band but the last needs a 'when'",
                    '例如 band red "红色" when rank > townships - 2',
                )
            condition = (
                self.condition(band.condition, scope, Context(clause="band"))
                if band.condition is not None
                else None
            )
            bands.append(ir.Band(band.colour, band.title, condition))
        if not clauses:
            self.error("E436", node.name_span, "指数没有颜色分档 band", "the index has no bands")
        return tuple(bands)

    def _index_word(
        self, clauses: dict[str, list[ast.Clause]], kind: str, default: str, allowed: set[str]
    ) -> str:
        if kind not in clauses:
            return default
        text, span = clauses[kind][0].value
        if text not in allowed:
            self.error(
                "E433",
                span,
                f"{kind} 不支持「{text}」",
                f"{kind} cannot be {text!r}",
                f"可为 {'、'.join(sorted(allowed))}",
            )
            return default
        return text

    # ---- queries

    def query(self, node: ast.Query, scope: Scope) -> ir.Query:
        froms = [ir.From(self.bind(node.source, scope), None, None)]
        for join in node.joins:
            binding = self.bind(join.source, scope)
            self._in_on += 1
            on = self.condition(join.on, scope, Context(clause="on"))
            self._in_on -= 1
            froms.append(ir.From(binding, "left" if join.left else "inner", on))
        where = self.condition(node.where, scope, Context(clause="where")) if node.where else None
        return ir.Query(tuple(froms), where)

    def bind(self, ref: ast.SourceRef, scope: Scope) -> ir.Binding:
        self._uid += 1
        is_relation = ref.source in self.relation_asts
        if not is_relation and ref.source not in self.pack.sources:
            options = [*self.pack.sources, *self.relation_asts]
            self.error(
                "E200",
                ref.source_span,
                f"未知数据来源「{ref.source}」",
                f"unknown source {ref.source!r}",
                *did_you_mean(ref.source, options),
                "来源须是 pack.yaml 中 sources 下的名称或共享的 relation",
            )
        elif is_relation:
            self.relation(ref.source, ref.source_span)
        if ref.alias in scope.bindings:
            self.error(
                "E206",
                ref.span,
                f"别名 {ref.alias} 在同一查询中用了两次",
                f"alias {ref.alias} is used twice in one query",
                "给第二个来源换一个别名",
            )
        binding = ir.Binding(self._uid, ref.alias, ref.source, is_relation)
        scope.bindings[ref.alias] = binding
        return binding

    def columns_of(self, binding: ir.Binding) -> dict[str, Type] | None:
        if binding.source == PERIOD_WARNINGS and binding.uid in self.builtin_bindings:
            return dict(PERIOD_WARNING_COLUMNS)
        if binding.is_relation:
            rel = self.relations.get(binding.source)
            return dict(rel.columns) if rel else None
        source = self.pack.sources.get(binding.source)
        return {n: c.type for n, c in source.columns.items()} if source else None

    # ---- bound rows: `let m = first(from … order by …)`

    def bound_row(self, let: ast.Let, node: ast.FirstRow, scope: Scope) -> ir.BoundRow:
        """The row `let m = first(…)` binds, checked; mistakes are reported, never raised.

        The query sees the model's row (its aliases) but reads it only in links,
        `its value = the model's value` in its where, so that it can be computed
        once for every row of the model (engine/compile.py joins it on the links).
        """
        if node.name != "first":
            self.error(
                "E252",
                node.name_span,
                f"只有 first(from …) 能取一行，不能写 {node.name}(from …)",
                f"only first(from …) binds a row, not {node.name}(from …)",
                "要取最后一行，把 order by 反过来：order by f.paid_on desc / "
                "for the last row, reverse the order: order by f.paid_on desc",
            )
        inner = Scope(parent=scope)
        query = self.query(node.query, inner)
        # Aggregates are reported below (E350): a row's values are each of one row.
        values = Context(aggregates=True, first_allowed=True, clause="select")
        order = tuple(
            (self.expr(item.expr, inner, values), item.descending) for item in node.order_by
        )
        if node.select:
            columns = [(item.name, self.expr(item.expr, inner, values)) for item in node.select]
            seen: set[str] = set()
            for item in node.select:
                if item.name.lower() in seen:
                    self.error(
                        "E253",
                        item.span,
                        f"first(…) 的 select 中列名 {item.name} 重复",
                        f"the select of first(…) names {item.name} twice",
                        "每一列起一个不同的名字（不分大小写） / give each column its own name "
                        "(case does not count)",
                    )
                seen.add(item.name.lower())
        else:
            first = query.sources[0].binding
            columns = [(c, ir.Col(first, c, t)) for c, t in (self.columns_of(first) or {}).items()]
        for expr in [*(e for e, _ in order), *(e for _, e in columns)]:
            aggregate = ir.own_aggregate(expr)
            if aggregate is not None:
                self.error(
                    "E350",
                    aggregate.span,
                    f"first(…) 取的是一行，其 select、order by 中不能用聚合函数 {aggregate.name}()",
                    f"first(…) takes one row: no aggregate {aggregate.name}() in its select "
                    "or order by",
                    "要对多行求和、计数，另写一个子查询：let paid = (from fin_payment f where … "
                    "select sum(f.amount)) / to sum or count rows, write a subquery",
                )
        if not node.order_by:
            self.error(
                "E451",
                node.span,
                "first(…) 没有 order by：哪一行在前由数据仓库随意决定，每次运行、每个仓库的结果"
                "都可能不同",
                "first(…) has no 'order by': which row comes first would be up to the "
                "warehouse, and could differ between runs and warehouses",
                "写明按什么排序取第一行，例如 order by f.paid_on desc（最近的一笔） / "
                "say which row comes first, e.g. order by f.paid_on desc (the latest)",
            )
        model_uids = {b.uid for b in scope.bindings.values()}  # a model's scope has no parent
        links, where = self._links(query, model_uids, order, columns)
        self._uid += 1
        binding = ir.Binding(self._uid, let.name, "", False)
        return ir.BoundRow(
            let.name,
            binding,
            ir.Query(query.sources, where),
            links,
            order,
            tuple(columns),
            node.span,
        )

    def _links(
        self,
        query: ir.Query,
        model_uids: set[int],
        order: tuple[tuple[ir.Expr, bool], ...],
        columns: list[tuple[str, ir.Expr]],
    ) -> tuple[tuple[tuple[ir.Expr, ir.Expr], ...], ir.Expr | None]:
        """The (query value, model value) pairs a bound row's where links it by, and the rest.

        Reports E452 for any other way the query reads the model's row, and
        E453 for a let or another bound row read inside it.
        """

        def reads_model(expr: ir.Expr) -> bool:
            return any(isinstance(n, ir.Col) and n.binding.uid in model_uids for n in ir.walk(expr))

        def only_model(expr: ir.Expr) -> bool:
            nodes = list(ir.walk(expr))
            return not any(isinstance(n, ir.Exists | ir.Scalar) for n in nodes) and all(
                n.binding.uid in model_uids for n in nodes if isinstance(n, ir.Col)
            )

        parts = [src.on for src in query.sources if src.on is not None]
        parts += [query.where, *(e for e, _ in order), *(e for _, e in columns)]
        for node in ir.walk(parts):
            if isinstance(node, ir.LetRef) or (
                isinstance(node, ir.Col | ir.RowFound) and node.binding.uid in self._bound_rows
            ):
                shown = node.name if isinstance(node, ir.LetRef) else node.binding.alias
                self.error(
                    "E453",
                    node.span,
                    f"first(…) 的查询中不能读 let {shown}",
                    f"the query of first(…) cannot read the let {shown}",
                    "把这个条件写在模型的 where 中，first(…) 只取要比较的那一行 / put the "
                    "condition in the model's where, and let first(…) take the row to compare",
                )
                return (), query.where
        wrong: list[ir.Expr] = []
        for src in query.sources:
            if src.on is not None and reads_model(src.on):
                wrong.append(src.on)
        links: list[tuple[ir.Expr, ir.Expr]] = []
        kept: list[ir.Expr] = []
        for conjunct in ir.conjuncts(query.where):
            if not reads_model(conjunct):
                kept.append(conjunct)
                continue
            if isinstance(conjunct, ir.Compare) and conjunct.op == "=":
                left, right = conjunct.left, conjunct.right
                if only_model(right) and not reads_model(left):
                    links.append((left, right))
                    continue
                if only_model(left) and not reads_model(right):
                    links.append((right, left))
                    continue
            wrong.append(conjunct)
        wrong += [e for e in [*(e for e, _ in order), *(e for _, e in columns)] if reads_model(e)]
        for expr in wrong:
            self.error(
                "E452",
                expr.span,
                "first(…) 的查询只能在 where 中以「查询的值 = 模型这一行的值」与模型的行相连",
                "the query of first(…) can read the model's row only in its where, as "
                "'its value = the model's value'",
                "例如 where f.contract_id = c.contract_id；其余的条件、order by 和 select 只写"
                "查询自己的列，模型的值直接在模型中读 / e.g. where f.contract_id = c.contract_id; "
                "other conditions, order by and select read the query's own columns",
            )
        return tuple(links), ir.and_all(kept)

    def _bound_column(self, node: ast.ColumnRef, row: ir.BoundRow) -> ir.Expr:
        """`m.name`: a value of the bound row `m` (E250 when it has none of that name)."""
        columns = dict(row.columns)
        if node.column in columns:
            return ir.Col(row.binding, node.column, columns[node.column].type, node.span)
        hints = list(did_you_mean(node.column, columns))
        owners = [
            src.binding.alias
            for src in row.query.sources
            if node.column in (self.columns_of(src.binding) or {})
        ]
        if owners:
            hints.append(
                f"在 first(…) 末尾写 select {owners[0]}.{node.column} as {node.column}，"
                f"再读 {row.name}.{node.column} / add 'select {owners[0]}.{node.column} as "
                f"{node.column}' to first(…)"
            )
        elif not hints:
            hints.append(f"{row.name} 的列 its columns: {', '.join(list(columns)[:12])}")
        self.error(
            "E250",
            node.column_span,
            f"{row.name} 取的这一行没有「{node.column}」",
            f"the row {row.name} has no value {node.column!r}",
            *hints,
        )
        return ir.Col(row.binding, node.column, Type.ERROR, node.span)

    def _bound_row_named(self, name: str, scope: Scope) -> ir.BoundRow | None:
        """The bound row `name` stands for in `scope`, if it is one."""
        binding = scope.find_alias(name)
        return self._bound_rows.get(binding.uid) if binding is not None else None

    def _bound_row_ungrouped(self, expr: ir.Col | ir.RowFound) -> None:
        """E351: a bound row read outside aggregates and `group by` in a grouped model."""
        shown = (
            f"{expr.binding.alias}.{expr.column}"
            if isinstance(expr, ir.Col)
            else f"exists({expr.binding.alias})"
        )
        self.error(
            "E351",
            expr.span,
            f"分组模型中，{shown} 是每一行各自取的值，既不在 group by 中，也不在聚合函数内",
            f"in a grouped model {shown} is a value of each row: it is neither grouped nor "
            "aggregated",
            "把它加进 group by，或放进 min()、max()、count(* where …) 等聚合函数 / group by it "
            "or aggregate it",
        )

    # ---- expressions

    def condition(self, node: ast.Expr, scope: Scope, ctx: Context) -> ir.Expr:
        value = self.expr(node, scope, ctx)
        if value.type not in (Type.BOOL, Type.ERROR, Type.NULL):
            self.error(
                "E303",
                node.span,
                f"这里需要一个条件（是/否），而不是{value.type.zh}",
                f"a condition is needed here, not {_a(value.type)}",
                "例如 p.investment >= $tender_threshold",
            )
        return value

    def expr(self, node: ast.Expr, scope: Scope, ctx: Context) -> ir.Expr:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, scope, ctx)

    def _literal(self, node: ast.Literal, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.Lit(node.value, Type(node.kind), node.span)

    def _asof(self, node: ast.AsOf, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.AsOf(span=node.span)

    def _paramref(self, node: ast.ParamRef, scope: Scope, ctx: Context) -> ir.Expr:
        param = self._declared(node)
        if param is None:
            return ir.Param(node.name, Type.ERROR, node.span)
        if param.shape != "scalar":
            self.error(
                "E370",
                node.span,
                f"${node.name} 是{param.type_zh}（{param.type_name}），不是一个值",
                f"${node.name} is a {param.type_name}, not one value",
                _collection_hint(node.name, param.shape),
            )
            return ir.Param(node.name, Type.ERROR, node.span)
        return ir.Param(node.name, param.type, node.span, nullable=param.nullable)

    def _declared(self, node: ast.ParamRef) -> Parameter | None:
        """The parameter `node` names, or None after E203."""
        param = self.pack.parameters.get(node.name)
        if param is None:
            self.error(
                "E203",
                node.span,
                f"未知参数 ${node.name}",
                f"unknown parameter ${node.name}",
                *did_you_mean(node.name, self.pack.parameters, "$"),
                "参数须先在 pack.yaml 的 parameters 下声明（类型、默认值、单位、说明）",
            )
        return param

    def _collection(self, node: ast.ParamRef, shape: str, used: str) -> ir.Param:
        """A list or map parameter as read by `in` or `value_of`: typed by its items (E270/E271)."""
        param = self._declared(node)
        if param is None:
            return ir.Param(node.name, Type.ERROR, node.span)
        if param.shape != shape:
            wanted = ("列表", "a list") if shape == "list" else ("映射", "a map")
            code = "E270" if shape == "list" else "E271"
            hint = (
                f"与一个值比较写 x = ${node.name} / compare with one value: x = ${node.name}"
                if param.shape == "scalar"
                else _collection_hint(node.name, param.shape)
            )
            self.error(
                code,
                node.span,
                f"{used} 需要{wanted[0]}参数，${node.name} 是{param.type_zh}（{param.type_name}）",
                f"{used} needs {wanted[1]} parameter; ${node.name} is a {param.type_name}",
                hint,
            )
            return ir.Param(node.name, Type.ERROR, node.span)
        return ir.Param(node.name, param.type, node.span)

    def _columnref(self, node: ast.ColumnRef, scope: Scope, ctx: Context) -> ir.Expr:
        binding = scope.find_alias(node.alias)
        if binding is None:
            hints = list(did_you_mean(node.alias, scope.all_aliases()))
            named = [a for a in scope.all_aliases() if scope.find_alias(a).source == node.alias]
            if named:
                hints = [
                    f"{node.alias} 在这里的别名是 {named[0]}，写成 {named[0]}.{node.column} / "
                    f"{node.alias} is called {named[0]} here: write {named[0]}.{node.column}"
                ]
            elif node.alias in self.pack.sources:
                hints.append(f"来源 {node.alias} 须先在 from 或 join 中引入并起别名")
            self.error(
                "E202",
                Span(
                    node.span.file,
                    node.span.line,
                    node.span.column,
                    node.span.line,
                    node.span.column + len(node.alias),
                ),
                f"未知别名「{node.alias}」",
                f"unknown alias {node.alias!r}",
                *hints,
            )
            return ir.Col(ir.Binding(0, node.alias, "", False), node.column, Type.ERROR, node.span)
        if binding.uid in self._bound_rows:
            return self._bound_column(node, self._bound_rows[binding.uid])
        columns = self.columns_of(binding)
        if columns is None:
            return ir.Col(binding, node.column, Type.ERROR, node.span)
        if node.column not in columns:
            self.error(
                "E201",
                node.column_span,
                f"{binding.source} 没有列「{node.column}」",
                f"{binding.source} has no column {node.column!r}",
                *(
                    did_you_mean(node.column, columns)
                    or (f"{binding.source} 的列：{', '.join(list(columns)[:12])}",)
                ),
            )
            return ir.Col(binding, node.column, Type.ERROR, node.span)
        return ir.Col(binding, node.column, columns[node.column], node.span)

    def _name(self, node: ast.Name, scope: Scope, ctx: Context) -> ir.Expr:
        let = scope.find_let(node.name)
        if let is not None:
            return ir.LetRef(node.name, let.type, node.span)
        arg = scope.find_arg(node.name)
        if arg is not None:
            return ir.Arg(node.name, arg, node.span)
        if node.name == KEY_HOLE:
            self.error(
                "E261",
                node.span,
                "key（预警键）只能单独写在消息的花括号中：{key}",
                "key (the warning's key) can only be written alone in a message: {key}",
                "要用键的值计算或比较，写键的表达式，例如 p.project_id / "
                "to compute with the key, write its expression, e.g. p.project_id",
            )
            return ir.Lit(None, Type.ERROR, node.span)
        row = self._bound_row_named(node.name, scope)
        if row is not None:
            first = row.columns[0][0] if row.columns else "列名"
            self.error(
                "E251",
                node.span,
                f"{node.name} 是 first(…) 取的一行，不是一个值",
                f"{node.name} is a row bound by first(…), not a value",
                f"读它的一列写 {node.name}.{first}；问有没有这一行写 exists({node.name}) / "
                f"read a value as {node.name}.{first}; ask whether there is one with "
                f"exists({node.name})",
            )
            return ir.Lit(None, Type.ERROR, node.span)
        if node.name == "township" and self._message_township is not None:
            if ctx.inside_aggregate and ir.has_aggregate(self._message_township):
                self.error(
                    "E305",
                    node.span,
                    "township 是聚合值，{township} 不能写在聚合函数内",
                    "the township is an aggregate: {township} cannot stand inside an aggregate",
                )
            return self._township_name(node)
        hints = list(did_you_mean(node.name, [*scope.lets, *scope.args]))
        if node.name == "township":
            hints.append(
                "{township} 只在消息的花括号中表示预警乡镇的名称；条件中请写乡镇代码列，"
                "例如 p.township / {township} names the warning's township in a message only"
            )
        if scope.find_alias(node.name):
            hints.append(f"{node.name} 是来源的别名；列写成 {node.name}.列名")
        else:
            owners = [
                a
                for a in scope.all_aliases()
                if node.name in (self.columns_of(scope.find_alias(a)) or {})
            ]
            if owners:
                hints.append(f"列名前要写别名，例如 {owners[0]}.{node.name}")
        self.error(
            "E205", node.span, f"未知名称「{node.name}」", f"unknown name {node.name!r}", *hints
        )
        return ir.Lit(None, Type.ERROR, node.span)

    def _unary(self, node: ast.Unary, scope: Scope, ctx: Context) -> ir.Expr:
        if node.op == "not":
            return ir.Not(self.condition(node.operand, scope, ctx), span=node.span)
        operand = self.expr(node.operand, scope, ctx)
        if operand.type not in NUMERIC | {Type.ERROR, Type.NULL}:
            self.error(
                "E304",
                node.span,
                f"负号只能用于数值，这里是{operand.type.zh}",
                f"'-' needs a number, not {_a(operand.type)}",
            )
        return ir.Neg(operand, operand.type, node.span)

    def _binary(self, node: ast.Binary, scope: Scope, ctx: Context) -> ir.Expr:
        if node.op in ("and", "or"):
            items: list[ir.Expr] = []
            for side in (node.left, node.right):
                value = self.condition(side, scope, ctx)
                if isinstance(value, ir.Logic) and value.op == node.op:
                    items.extend(value.items)
                else:
                    items.append(value)
            return ir.Logic(node.op, tuple(items), span=node.span)
        left = self.expr(node.left, scope, ctx)
        right = self.expr(node.right, scope, ctx)
        if node.op in ("=", "!=", "<", "<=", ">", ">="):
            self._comparable(left, right, node.op_span, node.op)
            return ir.Compare(node.op, left, right, span=node.span)
        return self._arith(node, left, right)

    def _comparable(self, left: ir.Expr, right: ir.Expr, span: Span, op: str) -> None:
        if unify(left.type, right.type) is not None:
            if op not in ("=", "!=") and left.type is Type.BOOL:
                self.error("E300", span, "是/否的值不能比较大小", "booleans have no order")
            return
        hints = []
        pair = {left.type, right.type}
        if pair == {Type.DATE, Type.TIMESTAMP}:
            hints.append("用 date(x) 取时间戳的日期再比较 / compare date(x) with the date")
        elif Type.STRING in pair and pair & NUMERIC:
            hints.append("文本与数字不能直接比较；数字不加引号，编号要加引号")
        elif Type.STRING in pair and Type.DATE in pair:
            hints.append("日期直接写作 2021-04-20，不加引号")
        elif Type.DATE in pair and pair & NUMERIC and (_date_typo(left) or _date_typo(right)):
            hints.append("日期写成 YYYY-MM-DD（月、日各两位，不加引号），例如 2021-01-01")
        elif Type.DATE in pair and pair & NUMERIC:
            hints.append("日期与数字不能比较；求天数用 days_between(a, b)")
        self.error(
            "E300",
            span,
            f"不能比较{left.type.zh}和{right.type.zh}",
            f"cannot compare {left.type.value} with {right.type.value}",
            *hints,
        )

    def _arith(self, node: ast.Binary, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        op, lt, rt = node.op, left.type, right.type
        if Type.ERROR in (lt, rt):
            return ir.Arith(op, left, right, Type.ERROR, node.span)
        if op in ("+", "-") and lt is Type.DATE and rt in (Type.INT, Type.NULL):
            return ir.Arith(op, left, right, Type.DATE, node.span)
        if op == "+" and rt is Type.DATE and lt is Type.INT:
            return ir.Arith(op, right, left, Type.DATE, node.span)
        if lt in NUMERIC | {Type.NULL} and rt in NUMERIC | {Type.NULL}:
            if op == "/":
                result = Type.FLOAT
            else:
                result = unify(lt, rt) or Type.DECIMAL
                if result is Type.NULL:
                    result = Type.INT
            return ir.Arith(op, left, right, result, node.span)
        hints = []
        if lt is Type.DATE and rt is Type.DATE and op == "-":
            hints.append("两个日期相差的天数用 days_between(a, b)")
        elif lt is Type.DATE:
            hints.append("日期只能加减整数天数，月份用 add_months(d, n)")
        elif Type.STRING in (lt, rt):
            hints.append('文字拼接用 concat(a, b)；消息中直接写 "{p.name}工程"')
        self.error(
            "E304",
            node.op_span,
            f"不能对{lt.zh}和{rt.zh}做「{op}」运算",
            f"cannot apply '{op}' to {lt.value} and {rt.value}",
            *hints,
        )
        return ir.Arith(op, left, right, Type.ERROR, node.span)

    def _isnull(self, node: ast.IsNull, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.IsNull(self.expr(node.operand, scope, ctx), node.negated, span=node.span)

    def _inlist(self, node: ast.InList, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.expr(node.operand, scope, ctx)
        items = tuple(self.expr(i, scope, ctx) for i in node.items)
        for item, item_ast in zip(items, node.items, strict=True):
            if unify(operand.type, item.type) is None:
                self.error(
                    "E310",
                    item_ast.span,
                    f"列表中的{item.type.zh}不能与{operand.type.zh}比较",
                    f"{_a(item.type)} in the list cannot match {_a(operand.type)}",
                )
        return ir.In(operand, items, node.negated, span=node.span)

    def _inparam(self, node: ast.InParam, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.expr(node.operand, scope, ctx)
        items = self._collection(node.param, "list", "not in" if node.negated else "in")
        if unify(operand.type, items.type) is None:
            self.error(
                "E371",
                node.span,
                f"${items.name} 的项是{items.type.zh}，不能与{operand.type.zh}比较",
                f"the items of ${items.name} are {items.type.value}s; "
                f"they cannot match {_a(operand.type)}",
            )
        return ir.InParam(operand, items, node.negated, span=node.span)

    def _value_of(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        """`value_of($map, key, default)`: a map parameter's value for a key (E271, E371)."""
        usage = f"用法 usage: {SIGNATURES[node.name].example}"
        if node.star or node.distinct or node.order_by or node.filter or len(node.args) != 3:
            self.error(
                "E302",
                node.span,
                f"{node.name} 需要 3 个参数：映射参数、键、默认值",
                f"{node.name} takes 3 arguments: a map parameter, a key and a default",
                usage,
            )
            return ir.Lit(None, Type.ERROR, node.span)
        written, key_ast, default_ast = node.args
        key = self.expr(key_ast, scope, ctx)
        default = self.expr(default_ast, scope, ctx)
        if not isinstance(written, ast.ParamRef):
            self.error(
                "E271",
                written.span,
                f"{node.name} 的第 1 个参数须是映射参数 $名称",
                f"the first argument of {node.name} must be a map parameter ($name)",
                usage,
            )
            return ir.Lit(None, Type.ERROR, node.span)
        values = self._collection(written, "map", node.name)
        if unify(key.type, Type.STRING) is None:
            self.error(
                "E371",
                key_ast.span,
                f"${values.name} 的键是文本，这里是{key.type.zh}",
                f"the keys of ${values.name} are text, not {_a(key.type)}",
            )
        result = unify(values.type, default.type)
        if result is None:
            self.error(
                "E371",
                default_ast.span,
                f"默认值应与 ${values.name} 的值同为{values.type.zh}，这里是{default.type.zh}",
                f"the default must be {_a(values.type)}, as the values of ${values.name} are; "
                f"not {_a(default.type)}",
            )
            result = Type.ERROR
        return ir.ValueOf(values, key, default, result, node.span)

    def _between(self, node: ast.Between, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.expr(node.operand, scope, ctx)
        low = self.expr(node.low, scope, ctx)
        high = self.expr(node.high, scope, ctx)
        self._comparable(operand, low, node.low.span, "between")
        self._comparable(operand, high, node.high.span, "between")
        return ir.Between(operand, low, high, span=node.span)

    def _case(self, node: ast.Case, scope: Scope, ctx: Context) -> ir.Expr:
        """`case when … then … else … end`: conditions, and values of one type (E365)."""
        if node.operand is not None:
            return self._case_with_operand(node, scope, ctx)
        branches: list[tuple[ir.Expr, ir.Expr]] = []
        result = Type.NULL
        seen: list[tuple[Type, Span]] = []  # the type of each value so far, and where

        def joined(value: ir.Expr, written: ast.Expr) -> None:
            nonlocal result
            shared = unify(result, value.type)
            if shared is None:
                first = next(span for t, span in seen if t is not Type.NULL)
                self._case_types_differ(result, value.type, written.span, first)
                shared = Type.ERROR
            seen.append((value.type, written.span))
            result = shared

        for condition_ast, value_ast in node.branches:
            condition = self.condition(condition_ast, scope, ctx)
            value = self.expr(value_ast, scope, ctx)
            joined(value, value_ast)
            branches.append((condition, value))
        otherwise = None
        if node.otherwise is not None:
            otherwise = self.expr(node.otherwise, scope, ctx)
            joined(otherwise, node.otherwise)
        return ir.Case(tuple(branches), otherwise, result, node.span)

    def _case_types_differ(self, before: Type, here: Type, span: Span, first: Span) -> None:
        """E365: a `then` or `else` value of a type the values before it don't share."""
        pair = {before, here}
        hints = []
        if pair == {Type.DATE, Type.TIMESTAMP}:
            hints.append("用 date(x) 取时间戳的日期 / take a timestamp's date with date(x)")
        elif Type.STRING in pair and pair & NUMERIC:
            hints.append(
                "数字不加引号；要写成文字，用 concat(…) 或在消息中写 {…} / numbers take no "
                "quotes; to write one as text, use concat(…) or a message hole"
            )
        elif Type.BOOL in pair:
            hints.append(
                "条件本身就是是/否：case 的取值写成 true、false，或写成数值、文字 / "
                "a condition is a yes/no: give true/false, or numbers or texts throughout"
            )
        self.error(
            "E365",
            span,
            f"case 的各个取值类型须一致：前面是{before.zh}，这里是{here.zh}",
            f"the values of a case must be of one type: {before.value} before, {here.value} here",
            *hints,
            f"第一个取值在第 {first.line} 行第 {first.column} 列；整数、金额、浮点数之间可以混用 / "
            f"the first value is at {first.line}:{first.column}; int, decimal and float mix",
        )

    def _case_with_operand(self, node: ast.Case, scope: Scope, ctx: Context) -> ir.Expr:
        """E366: SQL's `case x when 1 then …`, which the language writes `case when x = 1 …`."""
        assert node.operand is not None
        self.expr(node.operand, scope, ctx)  # its own mistakes are reported too
        for written, value in node.branches:
            self.expr(written, scope, ctx)
            self.expr(value, scope, ctx)
        if node.otherwise is not None:
            self.expr(node.otherwise, scope, ctx)
        operand = _written(node.operand)
        first = _written(node.branches[0][0])
        self.error(
            "E366",
            node.operand.span,
            "case 之后直接写 when 和条件，不写被比较的值",
            "'case' is followed by 'when' and a condition, not by the value compared",
            f"写成 case when {operand} = {first} then … end / "
            f"write case when {operand} = {first} then … end",
        )
        return ir.Lit(None, Type.ERROR, node.span)

    def _exists(self, node: ast.Exists, scope: Scope, ctx: Context) -> ir.Expr:
        written = node.query
        name = written.source.source
        row = self._bound_row_named(name, scope)
        alone = written.source.alias == name and not written.joins and written.where is None
        a_source = name in self.pack.sources or name in self.relation_asts
        if row is not None and (alone or not a_source):
            if not alone:
                self.error(
                    "E251",
                    node.span,
                    f"exists({row.name}) 只写 first(…) 所取行的名字",
                    f"exists({row.name}) takes the bound row's name alone",
                    f"条件写在 first(…) 的 where 中，或写 exists({row.name}) and "
                    f"{row.name}.列 > … / put conditions in first(…)'s where, or write "
                    f"exists({row.name}) and a condition on its values",
                )
            return ir.RowFound(row.binding, span=node.span)
        inner = Scope(parent=scope)
        return ir.Exists(self.query(node.query, inner), span=node.span)

    def _subquery(self, node: ast.Subquery, scope: Scope, ctx: Context) -> ir.Expr:
        inner = Scope(parent=scope)
        query = self.query(node.query, inner)
        select = self.expr(node.select, inner, Context(aggregates=True, clause="select"))
        own = set(inner.bindings.values())
        if not any(isinstance(n, ir.Agg) for n in ir.walk(select)):
            self.error(
                "E307",
                node.select.span,
                "子查询的 select 须是聚合值",
                "the select of a subquery must be an aggregate",
                "例如 select sum(f.amount)、select min(a.accepted_on)、select count(*)",
            )
        else:
            before = len(self.diagnostics)
            self.grouping(select, set(), own, inner)
            for i in range(before, len(self.diagnostics)):
                d = self.diagnostics[i]
                self.diagnostics[i] = Diagnostic(
                    "E307",
                    d.message_zh,
                    d.message_en,
                    d.span,
                    ("子查询只返回一个值：把列放进 sum()、min()、max()、count() 等聚合函数",),
                )
        return ir.Scalar(query, select, select.type, node.span)

    def _firstrow(self, node: ast.FirstRow, scope: Scope, ctx: Context) -> ir.Expr:
        """`first(from …)` anywhere but as a model let's whole value: E450."""
        self.error(
            "E450",
            node.span,
            f"{node.name}(from …) 取一行，只能作为模型中一个 let 的全部取值",
            f"{node.name}(from …) binds a row: it can only be the whole value of a model's let",
            "写成 let m = first(from … order by …)，再读 m.列名、用 exists(m) / write "
            "let m = first(from … order by …), then read m.name and exists(m)",
        )
        return ir.Lit(None, Type.ERROR, node.span)

    def _call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        sig = SIGNATURES.get(node.name)
        if sig is None and node.name in self.define_asts:
            return self._define_call(node, scope, ctx)
        if sig is None and node.name in self.lookup_asts:
            return self._lookup_call(node, scope, ctx)
        if sig is None:
            options = [*SIGNATURES, *self.define_asts, *self.lookup_asts]
            self.error(
                "E204",
                node.name_span,
                f"未知函数「{node.name}」",
                f"unknown function {node.name!r}",
                *did_you_mean(node.name, options),
                "函数须是内置函数或 policies 中的 define 共享定义",
            )
            return ir.Lit(None, Type.ERROR, node.span)
        if sig.kind == "parameter":
            return self._value_of(node, scope, ctx)
        if sig.kind == "formatter":
            self.error(
                "E311",
                node.name_span,
                f"{node.name}() 只能直接用在消息模板的花括号里",
                f"{node.name}() formats a message hole and is only allowed as {{{node.name}(…)}}",
            )
            return ir.Lit(None, Type.ERROR, node.span)
        if sig.kind == "aggregate":
            return self._aggregate(node, sig, scope, ctx)
        if node.star or node.distinct or node.order_by or node.filter:
            self.error(
                "E302",
                node.span,
                f"{node.name} 不接受 *、distinct 或 order by",
                f"{node.name} takes no '*', 'distinct' or 'order by'",
            )
        args = tuple(self.expr(a, scope, ctx) for a in node.args)
        result = check_arguments(sig, [a.type for a in args])
        if not isinstance(result, Type):
            zh, _, en = result.partition(" / ")
            self.error("E302", node.span, zh, en, f"用法 usage: {sig.example}", sig.argument_hint)
            result = Type.ERROR
        if node.name == "if":
            args = (args[0], *args[1:])
        return ir.Func(node.name, args, result, node.span)

    def _aggregate(self, node: ast.Call, sig: Any, scope: Scope, ctx: Context) -> ir.Expr:
        if not ctx.aggregates:
            where_zh, where_en = (
                (" where、on、group by ", ctx.clause)
                if ctx.clause != "output"
                else ("没有 group by 的模型", "a model without 'group by'")
            )
            self.error(
                "E305",
                node.name_span,
                f"聚合函数 {node.name}() 不能用在{where_zh}中",
                f"aggregate {node.name}() is not allowed in {where_en}",
                "聚合只能用于 group by 模型的 having/key/township/message，"
                "或子查询的 select，例如 (from fin_payment f where … select sum(f.amount))",
            )
        if ctx.inside_aggregate:
            self.error("E305", node.name_span, "聚合函数不能嵌套", "aggregates cannot be nested")
        inner = Context(aggregates=False, inside_aggregate=True, clause=ctx.clause)
        args = tuple(self.expr(a, scope, inner) for a in node.args)
        order = tuple((self.expr(o.expr, scope, inner), o.descending) for o in node.order_by)
        if node.star and node.name != "count":
            self.error("E302", node.span, "只有 count 可以写 (*)", "only count takes (*)")
        if node.name == "first":
            if not order:
                self.error(
                    "E302",
                    node.span,
                    "first() 需要 order by 指明哪一行在前",
                    "first() needs 'order by' to say which row comes first",
                    f"例如 {sig.example}",
                )
            if not ctx.first_allowed:
                self.error(
                    "E305",
                    node.name_span,
                    "first() 只能用在 group by 模型中",
                    "first() is only allowed in a grouped model",
                    "子查询中请用 min() 或 max()",
                )
        elif order:
            self.error(
                "E302",
                node.span,
                f"{node.name}() 不接受 order by",
                f"{node.name}() takes no 'order by'",
            )
        condition = self.condition(node.filter, scope, inner) if node.filter else None
        if node.star:
            return ir.Agg("count", (), Type.INT, star=True, filter=condition, span=node.span)
        result = check_arguments(sig, [a.type for a in args])
        if not isinstance(result, Type):
            zh, _, en = result.partition(" / ")
            self.error("E302", node.span, zh, en, f"用法 usage: {sig.example}")
            result = Type.ERROR
        elif node.name in ir.QUANTILES:
            self._quantile(node, args)
        return ir.Agg(node.name, args, result, node.distinct, False, order, condition, node.span)

    def _quantile(self, node: ast.Call, args: tuple[ir.Expr, ...]) -> None:
        """quantile(x, p) and median(x): no distinct; p a number from 0 to 1 known before a run.

        Every warehouse's ordered aggregate wants p as a constant. A parameter
        qualifies when pack.yaml bounds it within [0, 1]: `param set` and
        deployment files then keep it there.
        """
        if node.distinct:
            self.error(
                "E377",
                node.span,
                f"{node.name}() 不接受 distinct：分位数按每一行的值计算",
                f"{node.name}() takes no 'distinct': a quantile counts every row's value",
                f"去掉 distinct，写 {node.name}(…)；"
                "要按不同的值计算，先用 group by 把相同的值归为一组",
            )
        if node.name != "quantile":
            return
        fraction, span = args[1], node.args[1].span
        if isinstance(fraction, ir.Param):
            param = self.pack.parameters.get(fraction.name)
            if param is not None and not (
                param.minimum is not None
                and param.maximum is not None
                and 0 <= param.minimum
                and param.maximum <= 1
            ):
                self.error(
                    "E376",
                    span,
                    f"参数 ${param.name} 用作分位数的 p，须在 pack.yaml 中限定在 0 到 1 之间",
                    f"${param.name} is the p of a quantile: pack.yaml must bound it within 0 and 1",
                    f"在 pack.yaml 中给 {param.name} 写上 min: 0 与 max: 1",
                )
            return
        value = ir.number_written(fraction)
        if value is None:
            self.error(
                "E375",
                span,
                "quantile 的 p 须是直接写出的数或参数，在运行前就确定",
                "the p of quantile() must be a number written out or a parameter",
                "例如 quantile(r.amount, 0.75) 或 quantile(r.amount, $upper_quartile)",
            )
        elif not 0 <= value <= 1:
            self.error(
                "E376",
                span,
                f"quantile 的 p 须在 0 到 1 之间，这里是 {value}",
                f"the p of quantile() must lie between 0 and 1, not {value}",
                "p 是比例：上四分位数写 0.75，不写 75；中位数写 median(…)",
            )

    def _no_quantiles_in_index(self, measure: ir.Expr) -> None:
        """A quantile in an index's measures is refused, on every warehouse alike.

        The measures are one grouped query over townships left-joined to their
        warnings (engine/score.py). SQLite has no ordered aggregate: a model's
        quantile is computed there from ranked rows (engine/compile.py), which
        that query does not build; a measure that ran on some warehouses only
        would make the index depend on where it is scored.
        """
        for node in ir.walk(measure):
            if isinstance(node, ir.Agg) and node.name in ir.QUANTILES:
                self.error(
                    "E465",
                    node.span,
                    f"廉情指数的度量中不能用 {node.name}()",
                    f"{node.name}() is not available in an index's measures",
                    "度量按乡镇统计本期预警：用 count、sum、min、max、avg；"
                    "需要分位数的比较写成监督模型（group by 乡镇，having 中用子查询算分位数）",
                )

    def _define_call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        target = self.define(node.name, node.name_span)
        args = tuple(self.expr(a, scope, ctx) for a in node.args)
        if target is None:
            self._calls_oversized |= node.name in self._oversized
            return ir.Lit(None, Type.ERROR, node.span)
        declared = f"{node.name}(" + ", ".join(f"{n}: {t.value}" for n, t in target.params) + ")"
        if not self._arity(node, len(target.params), len(args), declared):
            return ir.Lit(None, Type.ERROR, node.span)
        for (pname, ptype), arg, arg_ast in zip(target.params, args, node.args, strict=True):
            if arg.type in (Type.ERROR, Type.NULL, ptype) or (
                ptype in NUMERIC and arg.type in NUMERIC
            ):
                continue
            self.error(
                "E301",
                arg_ast.span,
                f"{node.name} 的参数 {pname} 应为{ptype.zh}，这里是{arg.type.zh}",
                f"argument {pname} of {node.name} must be {ptype.value}, not {arg.type.value}",
            )
        if node.name in self._lookup_defines:
            self._lookup_placement(node, args, scope)
        return ir.DefCall(node.name, args, target.type, node.span)

    def _arity(self, node: ast.Call, wanted: int, given: int, declared: str) -> bool:
        """Whether a call of a shared definition or lookup has as many arguments as declared.

        If not, E302 says how many, with the declaration (`declared`) as the hint.
        """
        if wanted == given:
            return True
        self.error(
            "E302",
            node.span,
            f"{node.name} 需要 {wanted} 个参数，这里有 {given} 个",
            f"{node.name} takes {wanted} arguments, got {given}",
            f"定义：{declared}",
        )
        return False

    def _lookup_call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        """A call of a keyed lookup: its arguments are the key's values, in the `by` order."""
        target = self.lookup(node.name, node.name_span)
        args = tuple(self.expr(a, scope, ctx) for a in node.args)
        if node.star or node.distinct or node.order_by or node.filter:
            self.error(
                "E302",
                node.span,
                f"{node.name} 不接受 *、distinct 或 order by",
                f"{node.name} takes no '*', 'distinct' or 'order by'",
            )
        if target is None:
            self._calls_oversized |= node.name in self._oversized
            return ir.Lit(None, Type.ERROR, node.span)
        declared = (
            f"lookup {node.name}({', '.join(n for n, _ in target.params)}) = "
            f"{target.source}.{target.column} by {', '.join(target.by)}"
        )
        if not self._arity(node, len(target.params), len(args), declared):
            return ir.Lit(None, Type.ERROR, node.span)
        for (pname, ptype), key, arg, arg_ast in zip(
            target.params, target.by, args, node.args, strict=True
        ):
            if arg.type in (Type.ERROR, Type.NULL) or unify(arg.type, ptype) is not None:
                continue
            self.error(
                "E301",
                arg_ast.span,
                f"{node.name} 的参数 {pname}（{target.source}.{key}）应为{ptype.zh}，"
                f"这里是{arg.type.zh}",
                f"argument {pname} of {node.name} ({target.source}.{key}) must be "
                f"{ptype.value}, not {arg.type.value}",
            )
        self._lookup_placement(node, args, scope)
        return ir.LookupCall(node.name, args, target.type, node.span)

    def _township_name(self, node: ast.Name) -> ir.Expr:
        """`{township}` in a message: the model's township, named by pack.yaml's township_names."""
        if not self._township_checked:
            self._township_checked = True
            self._township_lookup = self._township_names()
        lookup = self._township_lookup
        if lookup is None:
            if self.pack.township_names is None:
                self.error(
                    "E255",
                    node.span,
                    "消息中的 {township} 需要在 pack.yaml 中用 township_names "
                    "指明乡镇名称的 lookup",
                    "{township} in a message needs pack.yaml to name the township lookup "
                    "(township_names)",
                    "在 pack.yaml 中写 township_names: township_name / "
                    "add 'township_names: township_name' to pack.yaml",
                )
            return ir.Lit(None, Type.ERROR, node.span)
        township = self._message_township
        assert township is not None
        return ir.LookupCall(lookup.name, (township,), lookup.type, node.span)

    def _lookup_placement(self, node: ast.Call, args: tuple[ir.Expr, ...], scope: Scope) -> None:
        """Report a lookup (or a definition calling one) where it cannot be one left join.

        The compiler reads a lookup with a left join of its source on the key: at
        a model's own level, once per model (a key holding a subquery is computed
        first, as a let); inside a subquery, in that subquery's FROM, or in the FROM
        of the level whose rows the key reads. So a key must read the rows of one
        level, and inside a subquery it can be neither an aggregate of the
        subquery's rows nor hold a subquery of its own; and no lookup stands in a
        join's `on`, which is read before the left join is made.
        """
        if self._in_on:
            self.error(
                "E457",
                node.name_span,
                f"join 的 on 条件中不能使用 lookup（{node.name}）",
                f"a lookup ({node.name}) cannot be used in a join's 'on'",
                "把这个条件写在 where 中 / write this condition in 'where'",
            )
            return
        if self._in_index:
            self.error(
                "E458",
                node.name_span,
                f"廉情指数中不能使用 lookup（{node.name}）",
                f"the index cannot use a lookup ({node.name})",
                "指数按乡镇代码统计预警，乡镇名称由报告写出 / "
                "the index counts warnings by township code; the report writes the names",
            )
            return
        chain: list[Scope] = []
        level: Scope | None = scope
        while level is not None:
            chain.append(level)
            level = level.parent
        top = len(chain) - 1
        for arg, arg_ast in zip(args, node.args, strict=False):
            levels: set[int] = set()
            for n in ir.walk(arg):
                if isinstance(n, ir.Col):
                    levels |= {
                        i
                        for i, s in enumerate(chain)
                        if any(b.uid == n.binding.uid for b in s.bindings.values())
                    }
                elif isinstance(n, ir.LetRef | ir.Arg):
                    levels.add(top)
            nested = any(isinstance(n, ir.Exists | ir.Scalar) for n in ir.walk(arg))
            reason = None
            if len(levels) > 1:
                reason = (
                    "它同时读取子查询内外的行",
                    "it reads rows both inside and outside a subquery",
                )
            elif top > 0 and ir.has_aggregate(arg):
                reason = ("它是子查询中的聚合值", "it is an aggregate of a subquery's rows")
            elif nested and not (self._in_model and levels <= {top}):
                reason = ("它本身含有子查询", "it holds a subquery of its own")
            if reason is not None:
                self.error(
                    "E459",
                    arg_ast.span,
                    f"{node.name} 的这个参数无法作为键连接查找：{reason[0]}",
                    f"this argument of {node.name} cannot key a lookup's join: {reason[1]}",
                    "先在模型中用 let 算出这个值，再把 let 传给它；子查询中的聚合值，"
                    "把查找写在子查询之外 / compute the value in a let of the model first "
                    "and pass the let; for a subquery's aggregate, call it outside the subquery",
                )

    # ---- messages

    def template(
        self, node: ast.Template, scope: Scope, ctx: Context
    ) -> tuple[str | ir.Hole | ir.KeyHole, ...]:
        parts: list[str | ir.Hole | ir.KeyHole] = []
        for index, part in enumerate(node.parts):
            if isinstance(part, ast.TemplateText):
                parts.append(part.text)
                continue
            expr = part.expr
            # A model's own `let key` is what `{key}` writes there, as a let called township
            # is `{township}`: rules written before `{key}` existed keep their meaning.
            if (
                isinstance(expr, ast.Name)
                and expr.name == KEY_HOLE
                and scope.find_let(KEY_HOLE) is None
            ):
                parts.append(ir.KeyHole(part.text, part.span))
            elif isinstance(expr, ast.Call) and expr.name in FORMATTERS:
                hole = self._formatted_hole(part, expr, scope, ctx)
                if hole is not None:
                    parts.append(hole)
                following = node.parts[index + 1] if index + 1 < len(node.parts) else None
                if (
                    expr.name == "pct"
                    and isinstance(following, ast.TemplateText)
                    and following.text.startswith(("%", "％"))
                ):
                    self.warn(
                        "W321",
                        part.span,
                        "pct() 已写出 % 号，后面又写了一个，消息中会是“80%%”",
                        "pct() writes the % sign itself: the message would read 80%%",
                        "删去花括号后面的 % / remove the % after the braces",
                    )
            else:
                value = self.expr(expr, scope, ctx)
                parts.append(ir.Hole(value, None, part.text, part.default, part.span))
        return tuple(parts)

    def _formatted_hole(
        self, part: ast.TemplateHole, call: ast.Call, scope: Scope, ctx: Context
    ) -> ir.Hole | None:
        """`{wan(x)}`, `{pct(x, 1)}`: the value, and the formatter's literal arguments after it."""
        sig = SIGNATURES[call.name]
        most = len(sig.args)
        least = most - sig.optional
        if not least <= len(call.args) <= most:
            if most == 1:
                zh, en = "一个", "one argument"
            else:
                zh, en = f" {least} 或 {most} 个", f"{least} or {most} arguments"
            name = call.name
            self.error("E311", call.span, f"{name}() 只接受{zh}参数", f"{name}() takes {en}")
            return None
        value = self.expr(call.args[0], scope, ctx)
        result = check_arguments(sig, [value.type])
        if not isinstance(result, Type):
            zh, _, en = result.partition(" / ")
            self.error("E311", call.span, zh, en)
        digits = tuple(self._pct_digits(arg) for arg in call.args[1:])
        return ir.Hole(value, call.name, part.text, part.default, part.span, digits)

    def _pct_digits(self, arg: ast.Expr) -> int:
        """The decimals of `{pct(x, n)}`: a whole number written out, 0 to PCT_MAX_DIGITS."""
        value = arg.value if isinstance(arg, ast.Literal) and arg.kind == "int" else None
        if isinstance(value, int) and 0 <= value <= PCT_MAX_DIGITS:
            return value
        self.error(
            "E360",
            arg.span,
            f"pct 的第二个参数是小数位数，应写 0 到 {PCT_MAX_DIGITS} 的整数",
            f"the second argument of pct is how many decimals: a whole number from 0 to "
            f"{PCT_MAX_DIGITS}",
            "例如比例为 0.125 时，{pct(x, 1)} 写作 12.5%，{pct(x, 0)} 写作 13% / "
            "e.g. for 0.125, {pct(x, 1)} reads 12.5% and {pct(x, 0)} reads 13%",
        )
        return PCT_DIGITS

    # ---- examples

    def example(
        self, node: ast.Example, sources: frozenset[str] | None, precheck: bool
    ) -> ir.Example | None:
        """An example, checked; None when it has a mistake (reported).

        `sources` are what its model reads (None: not known, the model has a
        mistake) and `precheck` whether the model takes part in pre-checks: an
        example with pending rows must be a pre-check the model could be asked.
        """
        ok = True
        if node.as_of is None:
            self.error(
                "E503",
                node.span,
                f"示例「{node.title}」缺少 as_of 日期",
                f"example {node.title!r} has no as_of date",
                "例如 as_of 2021-11-15",
            )
            ok = False
        if not node.expect and not node.expect_none:
            self.error(
                "E504",
                node.span,
                f"示例「{node.title}」没有写期望结果",
                f"example {node.title!r} says nothing about what it expects",
                '写 expect "预警键"（必须预警）或 expect none（不应预警）',
            )
            ok = False
        if node.expect and node.expect_none:
            self.error(
                "E504",
                node.span,
                f"示例「{node.title}」同时写了 expect 和 expect none",
                f"example {node.title!r} expects both warnings and none",
            )
            ok = False
        keys = [e.key for e in node.expect]
        for e in node.expect:
            if keys.count(e.key) > 1:
                self.error(
                    "E507", e.span, f"期望的预警键 {e.key} 重复", f"key {e.key} expected twice"
                )
                ok = False
                break
        if not self.pack.has_townships:
            for e in node.expect:
                if e.township is not None:
                    self.error(
                        "E381",
                        e.span,
                        f"本策略包不按乡镇分派预警，示例不能期望乡镇 {e.township}",
                        f"this pack routes no warning to a township: an example cannot "
                        f"expect township {e.township}",
                        f'写 expect "{e.key}"，不写 township / write expect "{e.key}" '
                        "without a township",
                    )
                    ok = False
        ok = self._pending(node, sources, precheck) and ok
        rows, rows_ok = self._example_rows(node.given)
        pending, pending_ok = self._example_rows(node.pending)
        ok = ok and rows_ok and pending_ok
        params: list[tuple[str, Any]] = []
        for name, written, span in node.params:
            param = self.pack.parameters.get(name)
            if param is None:
                self.error(
                    "E506",
                    span,
                    f"示例中的未知参数 ${name}",
                    f"unknown parameter ${name}",
                    *did_you_mean(name, self.pack.parameters, "$"),
                )
                ok = False
                continue
            value = self._example_param(param, written)
            if value is _BAD:
                ok = False
            else:
                params.append((name, value))
        if not ok or node.as_of is None:
            return None
        as_of = node.as_of.value
        as_of = as_of.date() if isinstance(as_of, datetime) else as_of
        expectations = tuple(
            ir.Expectation(e.key, e.township, e.message, e.changed, e.span) for e in node.expect
        )
        return ir.Example(node.title, as_of, rows, tuple(params), expectations, pending, node.span)

    def _example_param(self, param: Parameter, written: ast.ParamValue) -> Any:
        """The value an example gives a parameter (`$x = 5`, `[…]`, `{…}`, null), or _BAD.

        Read as pack.yaml's values are (dsl.pack.parameter_value): a list or map
        item that does not fit is E691, a repeated one E692, null where the
        parameter is not nullable E693; a scalar that does not fit is E502.
        """
        if isinstance(written, ast.ListValue):
            given: Any = [item.value for item in written.items]
        elif isinstance(written, ast.MapValue):
            given = ParamMap((key, item.value) for key, _, item in written.entries)
        else:
            given = written.value
        try:
            value = parameter_value(given, param)
        except ValueProblem as exc:
            self.diagnostics.append(exc.diagnostic(_written_at(written, exc)))
            return _BAD
        except ValueError as exc:
            self.error(
                "E502",
                written.span,
                f"参数 ${param.name} 的值不符合类型：{exc}",
                f"the value of ${param.name} does not fit its type {param.type.value}",
            )
            return _BAD
        if param.shape == "scalar" and param.type is Type.INT and value is not None:
            problem = storage_problem(value, param.type)
            if problem is not None and isinstance(written, ast.Literal):
                self._too_large(written, f"${param.name}", problem)
                return _BAD
        return value

    def _pending(self, node: ast.Example, sources: frozenset[str] | None, precheck: bool) -> bool:
        """Whether the example's pending rows (and `changed`) make a pre-check (else reported)."""
        ok = True
        if not node.pending:
            for e in node.expect:
                if e.changed:
                    self.error(
                        "E508",
                        e.span,
                        f"示例「{node.title}」没有待审记录（pending），不能写 changed",
                        f"example {node.title!r} has no pending rows: 'changed' means nothing",
                        "changed 只用于预检示例：given 是已入库的数据，pending 是待审的记录，"
                        "changed 表示预警已存在、待审记录使其消息改变 / 'changed' belongs to "
                        "an example with pending rows",
                    )
                    ok = False
            return ok
        first = node.pending[0]
        for row in node.pending[1:]:
            if row.source != first.source:
                self.error(
                    "E508",
                    row.source_span,
                    f"示例「{node.title}」的待审记录来自多个来源：{first.source}、{row.source}",
                    f"the pending rows of example {node.title!r} name several sources: "
                    f"{first.source}, {row.source}",
                    "一次预检只预检一个来源的记录：其他来源的数据写成 given（已入库） / "
                    "a pre-check is of one source's records: write the others as given rows",
                )
                return False
        if not precheck:
            self.error(
                "E411",
                Span.point(first.span.file, first.span.line, first.span.column, len("pending")),
                f"模型写了 precheck no，不参加预检，示例「{node.title}」却是预检示例",
                f"the model says 'precheck no', yet example {node.title!r} pre-checks pending rows",
                "要么去掉 precheck no，要么把 pending 改为 given / drop 'precheck no', "
                "or make the pending rows given ones",
            )
            ok = False
        if sources is not None and first.source in self.pack.sources:
            if first.source not in sources:
                self.error(
                    "E509",
                    first.source_span,
                    f"模型不读取 {first.source}，预检 {first.source} 的记录不会运行它",
                    f"the model does not read {first.source}: a pre-check of "
                    f"{first.source} records does not run it",
                    f"模型读取 the model reads: {'、'.join(sorted(sources))}",
                    "待审记录应是模型所读来源的记录；其他来源的数据写成 given / "
                    "pending rows are of a source the model reads; write others as given rows",
                )
                ok = False
        return ok

    def _example_rows(self, written: tuple[ast.GivenRow, ...]) -> tuple[ir.Rows, bool]:
        """The `given` (or `pending`) rows of an example, typed; whether all were right."""
        ok = True
        rows: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
        for row in written:
            source = self.pack.sources.get(row.source)
            if source is None:
                self.error(
                    "E500",
                    row.source_span,
                    f"示例中的未知来源「{row.source}」",
                    f"unknown source {row.source!r} in an example",
                    *did_you_mean(row.source, self.pack.sources),
                )
                ok = False
                continue
            values: list[tuple[str, Any]] = []
            seen: set[str] = set()
            for col_name, literal, span in row.fields:
                column = source.columns.get(col_name)
                if column is None:
                    self.error(
                        "E501",
                        span,
                        f"{row.source} 没有列「{col_name}」",
                        f"{row.source} has no column {col_name!r}",
                        *did_you_mean(col_name, source.columns),
                    )
                    ok = False
                    continue
                if col_name in seen:
                    self.error("E501", span, f"列 {col_name} 写了两次", f"{col_name} given twice")
                    ok = False
                seen.add(col_name)
                value = self._example_value(literal, column.type, f"{row.source}.{col_name}")
                if value is _BAD:
                    ok = False
                    continue
                values.append((col_name, value))
            rows.append((row.source, tuple(values)))
        return tuple(rows), ok

    def _example_value(self, literal: ast.Literal, wanted: Type, column: str) -> Any:
        kind = Type(literal.kind)
        if kind is Type.NULL:
            return None
        fits = (
            kind is wanted
            or (wanted in (Type.DECIMAL, Type.FLOAT) and kind in (Type.INT, Type.DECIMAL))
            or (wanted is Type.TIMESTAMP and kind is Type.DATE)
        )
        if fits:
            value = literal.value
            if (
                wanted is Type.TIMESTAMP
                and isinstance(value, date)
                and not isinstance(value, datetime)
            ):
                value = datetime(value.year, value.month, value.day)
            if wanted in (Type.INT, Type.DECIMAL):
                problem = storage_problem(value, wanted)  # type: ignore[arg-type]
                if problem is not None:
                    self._too_large(literal, column, problem)
                    return _BAD
            if wanted is Type.DECIMAL:
                value = Decimal(value).quantize(CENTS)  # type: ignore[arg-type]
            elif wanted is Type.FLOAT:
                value = float(value)  # type: ignore[arg-type]
            return value
        hint = ""
        if kind is Type.STRING and wanted in (Type.DATE, Type.TIMESTAMP):
            hint = "日期不加引号，例如 2021-04-20"
        elif kind is Type.STRING and wanted in NUMERIC:
            hint = "数字不加引号"
        elif kind in NUMERIC and wanted is Type.STRING:
            hint = '编号等文本要加引号，例如 "P1"'
        self.error(
            "E502",
            literal.span,
            f"{column} 应为{wanted.zh}，这里写的是{kind.zh}",
            f"{column} is {wanted.value}; the example gives {_a(kind)}",
            hint,
        )
        return _BAD

    def _too_large(self, literal: ast.Literal, what: str, problem: tuple[str, str]) -> None:
        """E505: an example's number that its column or parameter cannot hold."""
        self.error(
            "E505",
            literal.span,
            f"{what} 的值 {literal.value} {problem[0]}",
            f"the value {literal.value} of {what} {problem[1]}",
            "示例中的整数须在 64 位整数范围内，金额整数部分最多 16 位、最多两位小数 / "
            "ints are 64-bit; amounts have at most 16 digits before the point and 2 after",
        )


_BAD = object()


def _references(node: Any) -> list[tuple[str, Span]]:
    """Every name `node` calls or reads from, with where: calls and sources, in order."""
    found: list[tuple[str, Span]] = []
    pending: list[Any] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, ast.Call):
            found.append((item.name, item.name_span))
        elif isinstance(item, ast.SourceRef):
            found.append((item.source, item.source_span))
        if isinstance(item, tuple | list):
            pending.extend(reversed(item))
        elif is_dataclass(item) and not isinstance(item, Span | type):
            pending.extend(reversed([getattr(item, f.name) for f in fields(item)]))
    return found


def _never_zero(divisor: ir.Expr, measures: dict[str, ir.Expr]) -> bool:
    """Whether a divisor is a township's staff count, which the engine keeps above zero."""
    if isinstance(divisor, ir.LetRef) and divisor.name in measures:
        return _never_zero(measures[divisor.name], measures)
    return isinstance(divisor, ir.Arg) and divisor.name == "staff"


def _divisor_name(division: ir.Arith) -> str:
    """A short way to name a divisor in a hint."""
    right = division.right
    return right.name if isinstance(right, ir.LetRef | ir.Arg) else "除数"


def _written(expr: ast.Expr) -> str:
    """An expression as a hint may show it: as written when short, else `…`."""
    text = {
        ast.ColumnRef: lambda e: f"{e.alias}.{e.column}",
        ast.Name: lambda e: e.name,
        ast.ParamRef: lambda e: f"${e.name}",
    }.get(type(expr))
    if text is not None:
        return text(expr)
    if isinstance(expr, ast.Literal) and expr.kind == "string":
        return json.dumps(expr.value, ensure_ascii=False)
    if isinstance(expr, ast.Literal) and expr.kind in ("int", "decimal"):
        return str(expr.value)
    return "…"


def _date_typo(expr: ir.Expr) -> bool:
    """Whether `expr` divides or subtracts whole numbers as if writing a date (2021/1/1)."""
    if not isinstance(expr, ir.Arith) or expr.op not in ("/", "-"):
        return False
    return all(
        _date_typo(part) or (isinstance(part, ir.Lit) and part.type is Type.INT)
        for part in (expr.left, expr.right)
    )


def _strip_spans(data: Any) -> Any:
    """AST data without positions: where something is written is not what it says."""
    if isinstance(data, dict):
        if data.get("node") == "Span":
            return None
        return {k: _strip_spans(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_strip_spans(v) for v in data]
    return data


def _written_at(written: ast.ParamValue, problem: ValueProblem) -> Span:
    """Where an example's list item or map entry at fault is written, else the whole value."""
    if isinstance(written, ast.ListValue) and isinstance(problem.at, int):
        return written.items[problem.at].span
    if isinstance(written, ast.MapValue) and problem.at is not None:
        found = [(k, s, v) for k, s, v in written.entries if k == problem.at]
        if found:
            # A repeated key is the second one written; a value at fault is the first's value.
            _, key_span, item = found[-1] if problem.code == "E692" else found[0]
            return key_span if problem.code == "E692" or problem.on_key else item.span
    return written.span


def _collection_hint(name: str, shape: str) -> str:
    """How a list or map parameter is read."""
    if shape == "list":
        return f"列表参数写在 in 之后：x in ${name} / a list is read as x in ${name}"
    return (
        f"映射参数按键取值：value_of(${name}, 键, 默认值) / "
        f"a map is read as value_of(${name}, key, default)"
    )


def _a(type_: Type) -> str:
    """A type's name with its English article: "an int", "a string"."""
    return ("an " if type_.value[0] in "aeiou" else "a ") + type_.value


def _with_missing(
    message: tuple[str | ir.Hole | ir.KeyHole, ...], missing: str | None
) -> tuple[str | ir.Hole | ir.KeyHole, ...]:
    """The message with `missing` as the default of every hole that has none of its own."""
    if missing is None:
        return message
    return tuple(
        replace(part, default=missing)
        if isinstance(part, ir.Hole) and part.default is None
        else part
        for part in message
    )


def revision_of(node: ast.Item) -> str:
    """A rule's revision: a hash of what it says, not of how it is laid out.

    Comments, spacing and examples don't change it (examples don't change
    what a model raises); any change to the rule itself does. Models, the
    index, shared definitions and relations all have one.
    """
    if isinstance(node, ast.Model | ast.Index):
        body = tuple(c for c in node.clauses if c.kind != "example")
        name = node.id if isinstance(node, ast.Model) else node.name
        content = _strip_spans({"name": name, "title": node.title, "clauses": ast.to_json(body)})
    else:
        content = _strip_spans(ast.to_json(node))
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    )
    return digest.hexdigest()[:12]
