"""The pack's shared definitions, relations and lookups: declared, ordered and checked.

Every model and the index may call a shared definition or lookup, or read a
relation, so these are checked first, each after everything it reads (a chain
costs no recursion; a cycle is reported once and cut). What is found here is
the pack-wide knowledge the expression checker (dsl/check/expressions.py)
resolves names against: what each definition takes and gives, the columns of
every source, relation and of the index's period warnings, which sources a
checked expression reads, and how large each definition is written out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from dsl import ast, ir
from dsl.check.expressions import Context, ExpressionChecker, Scope
from dsl.check.report import Reporter
from dsl.check.report import article as _a
from dsl.diagnostics import Diagnostic, Span
from dsl.functions import SIGNATURES
from dsl.limits import written_out_problem
from dsl.node import walk
from dsl.nullability import Nullability
from dsl.pack import Pack
from dsl.param_nulls import unguarded
from dsl.revision import revision_of
from dsl.suggest import did_you_mean
from dsl.types import Type, parse_type_name, unify

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


class SharedDefinitions(Reporter):
    """The shared items of one pack: declared (`declare`), then checked in order (`check_all`).

    Also what every check of the pack shares: the uids of query bindings
    (`new_uid`), the columns a binding reads (`columns_of`), what a checked
    expression reads (`sources_of`) and costs written out (`measure`).
    """

    def __init__(self, pack: Pack, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.pack = pack
        self._uid = 0
        self.define_asts: dict[str, ast.Define] = {}
        self.relation_asts: dict[str, ast.Relation] = {}
        self.lookup_asts: dict[str, ast.Lookup] = {}
        self.defines: dict[str, ir.Define | None] = {}
        self.relations: dict[str, ir.Relation | None] = {}
        self.lookups: dict[str, ir.Lookup | None] = {}
        self._in_progress: list[str] = []
        # The bindings of the index's period warnings (`from warnings w`), by uid.
        self._period_bindings: set[int] = set()
        self._nulls: Nullability | None = None
        # References that close a cycle of shared definitions (caller, callee): reported
        # (E213) before checking, and not followed, so that no check recurses in a circle.
        self._cut: set[tuple[str, str]] = set()
        # How large each shared definition and relation is written out in place
        # (dsl.ir.extent).
        self.extents: dict[tuple[str, str], ir.Extent] = {}
        # Definitions too large written out (reported once): a definition calling one is
        # left out too, without a second report.
        self.oversized: set[str] = set()
        # The shared definitions that call a lookup (directly or through another definition).
        self.lookup_defines: set[str] = set()
        # The lookup that names townships (pack.yaml township_names), checked where a message
        # first writes `{township}`.
        self._township_lookup: ir.Lookup | None = None
        self._township_checked = False

    def new_uid(self) -> int:
        """A uid for a new query binding, unique in the pack (bound rows are found by it)."""
        self._uid += 1
        return self._uid

    @property
    def uids_given(self) -> int:
        """How many uids `new_uid` has given so far (the last one given)."""
        return self._uid

    def skip_uids(self, count: int) -> None:
        """Pass over `count` uids: those a model checked before holds (its outcome reused).

        Each model draws its uids in one run, after the shared items' own; skipping a
        reused model's run gives every model and the index checked after it the uids a
        check of the whole pack would.
        """
        self._uid += count

    def period_warnings(self) -> ir.Binding:
        """A new binding of the index's period warnings, `w` until the index names it."""
        binding = ir.Binding(self.new_uid(), "w", PERIOD_WARNINGS, False)
        self._period_bindings.add(binding.uid)
        return binding

    def declare(self, item: ast.Define | ast.Relation | ast.Lookup) -> None:
        """Take in a shared item as written; a name taken already is E209."""
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
                "E209.defined_twice",
                item.name_span,
                name=item.name,
                hints=[
                    f"首次定义于 {first.file}:{first.line} / first defined at "
                    f"{first.file}:{first.line}"
                ],
            )
        elif item.name in SIGNATURES or item.name in self.pack.sources:
            self.error("E209.builtin_name", item.name_span, name=item.name)
        else:
            table[item.name] = item  # type: ignore[assignment]

    def check_all(self) -> None:
        """Check every declared item, each after what it reads."""
        for name in self._definition_order():
            if name in self.relation_asts:
                self.relation(name)
            elif name in self.lookup_asts:
                self.lookup(name)
            else:
                self.define(name)

    def checked(
        self,
    ) -> tuple[dict[str, ir.Define], dict[str, ir.Relation], dict[str, ir.Lookup]]:
        """The definitions, relations and lookups checked without a mistake."""
        return (
            {k: v for k, v in self.defines.items() if v is not None},
            {k: v for k, v in self.relations.items() if v is not None},
            {k: v for k, v in self.lookups.items() if v is not None},
        )

    def township_lookup(self) -> ir.Lookup | None:
        """The township_names lookup of pack.yaml, checked once, where first needed."""
        if not self._township_checked:
            self._township_checked = True
            self._township_lookup = self._township_names()
        return self._township_lookup

    def _shared_ast(self, name: str) -> ast.Define | ast.Relation | ast.Lookup | None:
        """The shared definition, relation or lookup already named `name`, if any."""
        return (
            self.define_asts.get(name) or self.relation_asts.get(name) or self.lookup_asts.get(name)
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
                    self.error("E213", span, chain=chain)
                    self._cut.add((name, target))
                elif target not in state:
                    state[target] = "open"
                    path.append((target, iter(reads[target])))
        return order

    def _cut_off(self, name: str) -> bool:
        """Whether reading `name` here closes a cycle already reported."""
        return bool(self._in_progress) and (self._in_progress[-1], name) in self._cut

    def _cycle(self, name: str, span: Span) -> bool:
        if name in self._in_progress:
            chain = " → ".join([*self._in_progress[self._in_progress.index(name) :], name])
            self.error("E213", span, chain=chain)
            return True
        return False

    def relation(self, name: str, span: Span | None = None) -> ir.Relation | None:
        if name in self.relations:
            return self.relations[name]
        node = self.relation_asts[name]
        if self._cut_off(name) or self._cycle(name, span or node.name_span):
            return None
        self._in_progress.append(name)
        expressions = ExpressionChecker(self)
        branches = []
        columns: list[tuple[str, Type]] | None = None
        for branch in node.branches:
            checked_branch = self._relation_branch(name, branch, expressions)
            items = checked_branch.items
            names = [n for n, _ in items]
            if len(set(names)) != len(names):
                self.error("E402.column_twice", branch.span)
            if columns is None:
                columns = [(n, e.type) for n, e in items]
            elif [n for n, _ in columns] != names:
                self.error(
                    "E402.union_names", branch.span, columns=", ".join(n for n, _ in columns)
                )
            else:
                merged = []
                for (n, t), (_, e) in zip(columns, items, strict=True):
                    joined = unify(t, e.type)
                    if joined is None:
                        self.error("E402.union_types", branch.span, n=n)
                        joined = Type.ERROR
                    merged.append((n, joined))
                columns = merged
            branches.append(checked_branch)
            query = checked_branch.query
            self.nullable_parameters(
                [*(src.on for src in query.sources), query.where, checked_branch.having],
                [*(e for _, e in items), *(checked_branch.group_by or ())],
            )
        self._in_progress.pop()
        self.extents[("relation", name)] = self.measure(
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

    def _relation_branch(
        self, relation: str, node: ast.Branch, expressions: ExpressionChecker
    ) -> ir.Branch:
        """One part of a relation, checked: its rows, groups and the values it selects.

        With `group by`, it gives one row per group: what it selects and `having`
        may read the group values and aggregate the rows, as a grouped model's
        message does (E461 for a column that is neither). Without, an aggregate
        has no group to run over (E460).
        """
        scope = Scope()
        top = Context()
        query = expressions.query(node.query, scope, top)
        grouped = bool(node.group_by)
        group_by = None
        if grouped:
            group_by = tuple(expressions.check(e, scope, top.at("group by")) for e in node.group_by)
        over_groups = top.at("select", aggregates=True)
        items = tuple((i.name, expressions.check(i.expr, scope, over_groups)) for i in node.select)
        having = expressions.condition(node.having, scope, over_groups) if node.having else None
        if group_by is not None:
            before = len(self.diagnostics)
            groups, own = set(group_by), set(scope.bindings.values())
            for value in [*(v for _, v in items), having]:
                if value is not None:
                    expressions.grouping(value, groups, own, scope)
            self.relabel(
                before,
                "E461",
                hint="分组的关系每组只有一行：把它加进 group by，或放进 count()、sum()、"
                "min()、max() 等聚合函数 / a grouped relation has one row per group: "
                "group by it, or aggregate it",
                only="E306",
            )
        else:
            for item, (column, value) in zip(node.select, items, strict=True):
                if ir.has_aggregate(value):
                    self.error(
                        "E460",
                        item.expr.span,
                        relation=relation,
                        column=column,
                        hints=[
                            "按组统计时在 select 之前写 group by，例如 "
                            "from sup_kinship k group by k.official_id "
                            "select k.official_id as official_id, count(*) as relatives；"
                            "只是去掉重复的行，写 select distinct / to count per group, write "
                            "'group by' before 'select'; to drop repeated rows, 'select distinct'"
                        ],
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
                    "E301.unknown_type",
                    p.type_span,
                    type_name=p.type_name,
                    hints=["类型可为 string、int、decimal、float、date、timestamp、bool"],
                )
                params.append((p.name, Type.ERROR))
        scope = Scope(args=dict(params))
        expressions = ExpressionChecker(self)
        body = expressions.check(node.body, scope, Context(clause="define"))
        self._in_progress.pop()
        condition = body.type is Type.BOOL
        self.nullable_parameters([body] if condition else [], [] if condition else [body])
        if self._calls_lookups(body):
            self.lookup_defines.add(name)
        before = len(self.diagnostics)
        if not expressions.left_out:
            self.extents[("define", name)] = self.measure([(body, node.name_span)], node.name_span)
        if expressions.left_out or len(self.diagnostics) > before:
            # Too large written out, said once: its callers are left out without a word.
            self.oversized.add(name)
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
                    name=name,
                    param=param,
                    hints=[
                        "每个参数对应 by 后的一个键列，名称各不相同 / "
                        "each parameter stands for one key column after 'by'"
                    ],
                )
        if len(node.params) != len(node.by):
            self.error(
                "E456",
                node.name_span,
                name=name,
                params_count=len(node.params),
                by_count=len(node.by),
                hints=[
                    "参数按顺序对应 by 后的键列，例如 lookup tax(code, year) = "
                    "tax_annual.tax_paid by enterprise_code, year / parameters match the key "
                    "columns in order"
                ],
            )
        keys = [k for k, _ in node.by]
        params = tuple(
            (param, columns.get(keys[i], Type.ERROR) if i < len(keys) else Type.ERROR)
            for i, (param, _) in enumerate(node.params)
        )
        found = columns.get(node.column, Type.ERROR)
        default = None
        expressions = ExpressionChecker(self)
        if node.default is not None:
            default = expressions.check(
                node.default, Scope(args=dict(params)), Context(clause="define")
            )
            joined = unify(found, default.type)
            if joined is None and Type.ERROR not in (found, default.type):
                self.error(
                    "E355",
                    node.default.span,
                    name=name,
                    found_zh=found.zh,
                    source=node.source,
                    column=node.column,
                    type_zh=default.type.zh,
                    a_found=_a(found),
                    a_type=_a(default.type),
                    hints=[
                        "default 的值与所查的列同一类型，例如乡镇名称查不到时写代码本身："
                        "default code / the default has the looked-up column's type"
                    ],
                )
            found = joined or found
        self._in_progress.pop()
        before = len(self.diagnostics)
        if default is not None and not expressions.left_out:
            self.extents[("lookup", name)] = self.measure(
                [(default, node.name_span)], node.name_span
            )
        if expressions.left_out or len(self.diagnostics) > before:
            self.oversized.add(name)  # too large written out: its callers are left out quietly
        if expressions.left_out or len(self.diagnostics) > start:
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
                    source=node.source,
                    hints=[
                        "关系没有声明的键，查到的行可能不止一行；请查 sources 下的来源 / "
                        "a relation has no declared key, so more than one row could match"
                    ],
                )
            else:
                self.error(
                    "E200.unknown_source",
                    node.source_span,
                    source=node.source,
                    hints=[
                        *did_you_mean(node.source, self.pack.sources),
                        "lookup 查的来源须是 pack.yaml 中 sources 下的名称",
                    ],
                )
            return {}
        columns = {n: c.type for n, c in source.columns.items()}
        for column, span in [(node.column, node.column_span), *node.by]:
            if column not in columns:
                self.error(
                    "E201",
                    span,
                    source=node.source,
                    column=column,
                    hints=did_you_mean(column, columns)
                    or (f"{node.source} 的列：{', '.join(list(columns)[:12])}",),
                )
        by = [k for k, _ in node.by]
        key = "、".join(source.key) or "（没有声明）"
        if len(set(by)) != len(by) or not source.key or not set(source.key) <= set(by):
            self.error(
                "E455",
                node.by[0][1],
                name=node.name,
                source=node.source,
                by=", ".join(by),
                hints=[
                    f"{node.source} 的键 key：{key}；按键查找，每个键值至多一行，结果才唯一 / "
                    "by the key, at most one row matches, so the value found is the one"
                ],
            )
        return columns

    def _calls_lookups(self, expr: Any) -> bool:
        """Whether `expr` calls a lookup, directly or through a shared definition."""
        return any(
            isinstance(n, ir.LookupCall)
            or (isinstance(n, ir.DefCall) and n.name in self.lookup_defines)
            for n in walk(expr)
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
                name=name,
                hints=[
                    *did_you_mean(name, self.lookup_asts),
                    '在规则文件中声明它，例如 lookup township_name(code) "乡镇名称" = '
                    "ref_township.name by township default code / declare it in a rule file",
                ],
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
                name=name,
                shown=shown,
                zh=lookup.type.zh,
                a_type=_a(lookup.type),
                hints=[
                    "消息中的 {township} 用它把预警的乡镇代码写成名称 / "
                    "{township} in a message writes the warning's township code with it"
                ],
            )
            return None
        return lookup

    def sources_of(self, node: Any) -> frozenset[str]:
        """Every catalog source that `node` reads, through relations and definitions too."""
        found: set[str] = set()
        for n in walk(node):
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

    def columns_of(self, binding: ir.Binding) -> dict[str, Type] | None:
        """The columns a query binding reads, by name (None: its source is unknown)."""
        if binding.source == PERIOD_WARNINGS and binding.uid in self._period_bindings:
            return dict(PERIOD_WARNING_COLUMNS)
        if binding.is_relation:
            rel = self.relations.get(binding.source)
            return dict(rel.columns) if rel else None
        source = self.pack.sources.get(binding.source)
        return {n: c.type for n, c in source.columns.items()} if source else None

    def extent(self, expr: Any, lets: dict[str, ir.Extent]) -> ir.Extent:
        """How large `expr` is written out in place; `lets` are those of the lets it reads."""
        return ir.extent(expr, self._written_out(lets))

    def _written_out(self, lets: dict[str, ir.Extent]) -> Callable[[Any], ir.Extent | None]:
        """What a node stands for in the compiled query: a definition's body, a let, relations."""

        def written_out(node: Any) -> ir.Extent | None:
            if isinstance(node, ir.DefCall):
                return self.extents.get(("define", node.name))
            if isinstance(node, ir.LookupCall):
                return self.extents.get(("lookup", node.name))
            if isinstance(node, ir.LetRef):
                return lets.get(node.name)
            if isinstance(node, ir.Exists | ir.Scalar):
                return self.relations_read(node.query)
            return None

        return written_out

    def relations_read(self, query: ir.Query) -> ir.Extent | None:
        """How deep the relations `query` reads are (each is one WITH, so not their size)."""
        read = [
            self.extents[("relation", f.binding.source)]
            for f in query.sources
            if f.binding.is_relation and ("relation", f.binding.source) in self.extents
        ]
        if not read:
            return None
        return ir.Extent(max(e.depth for e in read), 0, max(e.subqueries for e in read), 0)

    def measure(
        self,
        parts: list[tuple[Any, Span | None]],
        whole: Span | None,
        beside: ir.Extent | None = None,
        lets: dict[str, ir.Extent] | None = None,
    ) -> ir.Extent:
        """The extent of `parts` together (and `beside`, the relations a model reads).

        `lets` are the extents of the lets the parts read. Reports E133/E134 for the
        first part over a limit, or for all of them.
        """
        written_out = self._written_out(lets or {})
        total = beside or ir.Extent()
        for expr, span in parts:
            if expr is None:
                continue
            part = ir.extent(expr, written_out)
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

    def nullable_parameters(
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
                name=name,
                hints=[
                    f"写明为空时的意思：${name} is null or …（不设阈值时条件成立），"
                    f"或 ${name} is not null and …（不设阈值时不成立）/ say it: "
                    f"${name} is null or … (no threshold: it holds), "
                    f"${name} is not null and … (it does not)"
                ],
            )

    def nullability(self) -> Nullability:
        """The null analysis of message holes (W320), once the shared definitions are checked."""
        if self._nulls is None:
            self._nulls = Nullability(self.pack, *self.checked())
        return self._nulls


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
