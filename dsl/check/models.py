"""A supervision model, checked: its clauses, lets, bound rows, grouping, message and examples.

One `ModelCheck` per model: what belongs to that model's check (its scope, with
the lets and bound rows it declares) lives and dies with it. Expressions are
checked by the shared core (dsl/check/expressions.py), the message by
dsl/check/messages.py and the examples by dsl/check/examples.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dsl import ast, ir
from dsl.check.examples import ExampleChecker
from dsl.check.expressions import Context, ExpressionChecker, Scope
from dsl.check.messages import MessageChecker, with_missing
from dsl.check.report import Reporter
from dsl.check.shared import SharedDefinitions
from dsl.diagnostics import Severity, Span
from dsl.node import walk
from dsl.pack import (
    SEVERITY_ALIASES,
    ModelIds,
    missing_text_hint,
    missing_text_problem,
)
from dsl.revision import revision_of
from dsl.suggest import did_you_mean
from dsl.types import NUMERIC, Type

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
    "amount",
    "advice",
    "basis",
}
# What an `advice` and a `basis` look like, for the hint of an empty one (E470).
EXAMPLE_PROSE = {
    "advice": "建立工程项目招标台账，立项满6个月未招标的由分管领导督办",
    "basis": "《中华人民共和国招标投标法》",
}
PRECHECK = {"yes": True, "no": False}  # `precheck no`: the pre-check leaves the model out
KEY_TYPES = frozenset({Type.STRING, Type.INT, Type.DATE, Type.NULL})
# What an `amount` may be: a number of 元 (a null literal is no mistake, just no amount).
AMOUNT_TYPES = NUMERIC | {Type.NULL, Type.ERROR}


class ModelCheck(Reporter):
    """Checks one model (`check`); make one per model, as it keeps that model's state.

    `examples` says whether the files were parsed with their examples (E420 asks
    for examples only then).
    """

    def __init__(self, shared: SharedDefinitions, examples: bool = True) -> None:
        super().__init__(shared.diagnostics)
        self.shared = shared
        self.pack = shared.pack
        self.examples = examples
        self.expressions = ExpressionChecker(shared)
        # Where each of its expressions starts from: in a model (dsl.check.expressions.Context).
        self.model_context = Context(unit="model")
        # How large each let of the model is written out in place (dsl.ir.extent).
        self._let_extents: dict[str, ir.Extent] = {}

    def check(self, node: ast.Model) -> ir.Model | None:
        """The model, checked; None when it has a mistake (reported, with every other)."""
        start = len(self.diagnostics)
        clauses: dict[str, list[ast.Clause]] = {}
        for clause in node.clauses:
            clauses.setdefault(clause.kind, []).append(clause)
        for kind, found in clauses.items():
            if kind in SINGLE_CLAUSES and len(found) > 1:
                self.error("E401.model_clause", found[1].span, kind=kind)
        for kind, (zh, en) in REQUIRED_CLAUSES.items():
            if kind == "township" and not self.pack.has_townships:
                self._no_township_clause(clauses.get(kind, []))
            elif kind not in clauses:
                self.error(
                    "E400.model_clause",
                    node.id_span,
                    id=node.id,
                    kind=kind,
                    hints=[f"加上一行：{zh} / add: {en}"],
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
            written = ast.Query(from_ref.span, from_ref, joins, None)
            query = self.expressions.query(written, scope, self.model_context)

        grouped = "group_by" in clauses
        bound: list[ir.BoundRow] = []
        for clause in clauses.get("let", []):
            let: ast.Let = clause.value
            bound_names = {row.name for row in bound}
            if let.name in scope.lets or let.name in bound_names:
                self.error("E208.let_defined_twice", let.span, name=let.name)
            if let.name in scope.bindings and let.name not in bound_names:
                self.error("E208.let_name_alias", let.span, name=let.name)
            if isinstance(let.expr, ast.FirstRow):
                row = self.bound_row(let, let.expr, scope)
                bound.append(row)
                scope.rows[row.binding.uid] = row
                scope.bindings.setdefault(let.name, row.binding)  # an alias keeps its name
                continue
            value = self.expressions.check(
                let.expr,
                scope,
                self.model_context.at("let", aggregates=True, first_allowed=grouped),
            )
            scope.lets[let.name] = value
            self._let_extents[let.name] = self.shared.extent(value, self._let_extents)

        where = None
        if "where" in clauses:
            where = self.expressions.condition(one("where"), scope, self.model_context.at("where"))
            self._no_aggregate_lets(where, scope, "where")
            query = ir.Query(query.sources, where)
        group_by = None
        if grouped:
            group_by = tuple(
                self.expressions.check(e, scope, self.model_context.at("group by"))
                for e in one("group_by")
            )
            for g in group_by:
                self._no_aggregate_lets(g, scope, "group by")
        output_ctx = self.model_context.at("output", aggregates=grouped, first_allowed=grouped)
        having = None
        if "having" in clauses:
            if not grouped:
                self.error(
                    "E305.having_needs_group",
                    clauses["having"][0].span,
                    hints=[
                        "having 是分组之后的条件：加上 group by（例如 group by r.claimant_id）；"
                        "不分组的条件写在 where 中"
                    ],
                )
            # Without group by the having is reported above: check its names and
            # types here, but don't report its aggregates a second time.
            having_ctx = output_ctx if grouped else self.model_context.at("having", aggregates=True)
            having = self.expressions.condition(one("having"), scope, having_ctx)
        key: tuple[ir.Expr, ...] = ()
        if "key" in clauses:
            key = tuple(self.expressions.check(e, scope, output_ctx) for e in one("key"))
            for part, part_ast in zip(key, one("key"), strict=True):
                if part.type not in KEY_TYPES | {Type.ERROR}:
                    self.error(
                        "E308",
                        part_ast.span,
                        zh=part.type.zh,
                        value=part.type.value,
                        hints=["键由编号、年份、年月(year_month)等文本、整数或日期组成"],
                    )
        township: ir.Expr | None = ir.Lit(None, Type.NULL) if self.pack.has_townships else None
        if "township" in clauses and self.pack.has_townships:
            township = self.expressions.check(one("township"), scope, output_ctx)
            if township.type not in (Type.STRING, Type.NULL, Type.ERROR):
                self.error(
                    "E309", one("township").span, zh=township.type.zh, value=township.type.value
                )
        # What a message hole reads in: `{township}` names the model's township there.
        hole_ctx = replace(output_ctx, township=township)
        amount = self._amount(one("amount"), scope, hole_ctx)
        message: tuple[str | ir.Hole | ir.KeyHole, ...] = ()
        if "message" in clauses:
            messages = MessageChecker(self.expressions)
            message = messages.check(one("message"), scope, hole_ctx)
            message = with_missing(message, self._missing(one("missing")))

        if grouped and group_by is not None:
            groups = set(group_by)
            top = set(scope.bindings.values())
            for expr in [
                having,
                *key,
                township,
                amount,
                *[h.expr for h in message if isinstance(h, ir.Hole)],
            ]:
                if expr is not None:
                    self.expressions.grouping(expr, groups, top, scope)
        else:
            outputs = [*key, township, amount, *[h.expr for h in message if isinstance(h, ir.Hole)]]
            for expr in outputs:
                if expr is not None:
                    self._no_aggregate_lets(expr, scope, "key/township/amount/message")

        holes = [h.expr for h in message if isinstance(h, ir.Hole)]
        self.shared.nullable_parameters(
            [*(src.on for src in query.sources), where, having],
            [*(group_by or ()), *key, township, amount, *holes],
            scope.lets,
        )
        parts = [*scope.lets.values(), *bound, where, *(group_by or ()), having, *key, township]
        parts += [amount, *holes]
        parts += [src.on for src in query.sources]
        measured = [(e, getattr(e, "span", None)) for e in parts]
        beside = self.shared.relations_read(query)
        self.shared.measure(measured, node.id_span, beside, self._let_extents)

        lets = tuple(scope.lets.items())
        body = (query, lets, group_by, having, key, township, amount, message, tuple(bound))
        sources = self.shared.sources_of(body)
        # A model with a mistake may not know all it reads: don't say an example's
        # pending rows are of a source it doesn't read.
        judged = not any(d.severity is not Severity.WARNING for d in self.diagnostics[start:])
        written: list[ast.Example] = [c.value for c in clauses.get("example", [])]
        example_checker = ExampleChecker(self.pack, self.diagnostics)
        examples = tuple(
            e
            for e in (
                example_checker.check(x, sources if judged else None, precheck) for x in written
            )
            if e
        )
        if status == "active" and not written and self.examples:
            self.error(
                "E420.no_examples",
                node.id_span,
                id=node.id,
                hints=[
                    '至少写一个必须预警的示例(expect "键")和一个不应预警的近似示例(expect none)'
                ],
            )
        elif status == "active" and self.examples:
            # Judged on what the examples say, checked or not: an example with a
            # mistake is reported for its mistake, not as missing.
            if not any(e.expect for e in written):
                self.error(
                    "E420.no_raising_example",
                    node.id_span,
                    id=node.id,
                    hints=['加一个 expect "键" 的示例'],
                )
            if not any(not e.expect for e in written):
                self.error(
                    "E420.no_near_miss",
                    node.id_span,
                    id=node.id,
                    hints=["加一个恰在阈值另一侧、不应预警的示例，写 expect none"],
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
            parameters=frozenset(n.name for n in walk(body) if isinstance(n, ir.Param)),
            revision=revision_of(node),
            file=node.span.file,
            precheck=precheck,
            span=node.span,
            bound=tuple(bound),
            advice=self._prose("advice", one("advice")),
            basis=self._prose("basis", one("basis")),
            amount=amount,
        )
        self.diagnostics.extend(self.shared.nullability().warnings(checked))
        return checked

    def _missing(self, value: tuple[str, Span] | None) -> str | None:
        """What the model's message writes for a null: its `missing "…"`, else the pack's."""
        if value is None:
            return self.pack.missing_text
        text, span = value
        why = missing_text_problem(text)
        if why is not None:
            hint = missing_text_hint('missing "不详"')
            self.error("E361", span, why_zh=why[0], why_en=why[1], hints=[hint])
            return self.pack.missing_text
        return text

    def _amount(self, written: ast.Expr | None, scope: Scope, ctx: Context) -> ir.Expr | None:
        """The model's `amount` (涉及金额, in 元), checked as a message hole is; None without one.

        It is written into every warning's evidence as a number of 元, which the
        figures of issue 16 add up: a date or a name there would be summed as
        nonsense, so anything but a number is refused (E475).
        """
        if written is None:
            return None
        value = self.expressions.check(written, scope, ctx)
        if value.type not in AMOUNT_TYPES:
            self.error(
                "E475",
                written.span,
                zh=value.type.zh,
                value=value.type.value,
                hints=[
                    "amount 写涉及的金额（元），例如 amount p.investment 或 "
                    "amount sum(f.amount) / amount is the money involved, in yuan, "
                    "e.g. amount p.investment or amount sum(f.amount)"
                ],
            )
        return value

    def _prose(self, kind: str, value: tuple[str, Span] | None) -> str | None:
        """The text of an `advice` or `basis`, trimmed; an empty one is reported (E470).

        Both end up in a recommendation draft that a leader signs: an empty one would
        print as a heading with nothing under it, so it is refused rather than dropped.
        """
        if value is None:
            return None
        text, span = value
        if not text.strip():
            example = EXAMPLE_PROSE[kind]
            self.error("E470", span, kind=kind, hints=[f'例如 / e.g. {kind} "{example}"'])
            return None
        return text.strip()

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
                text=text,
                hints=[
                    *did_you_mean(text, names),
                    "领域可为 " + "、".join(f"{v}({k})" for k, v in self.pack.domains.items()),
                ],
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
                id=node.id,
                pack_domains=self.pack.domains[owner],
                owner=owner,
                self_pack_domains=self.pack.domains[domain],
                domain=domain,
                hints=[
                    f"编号表明模型所属的领域：改写 domain，"
                    f"或改用 {domain} 的编号（{ids.described[0]}）"
                    f" / an id says which domain a model is in: change the domain, or give it an "
                    f"id of {domain} ({ids.described[1]})"
                ],
            )

    def _unfit_id(self, node: ast.Model, ids: ModelIds) -> None:
        zh, en = ids.described
        self.error(
            "E214",
            node.id_span,
            id=node.id,
            example=ids.example,
            hints=[zh if ids.kind == "classic" else f"{zh} / {en}"],
        )

    def _no_township_clause(self, found: list[ast.Clause]) -> None:
        """A pack with `townships: none` routes no warning to a township (E380)."""
        for clause in found:
            self.error(
                "E380",
                clause.span,
                hints=[
                    "删去 township 这一行；要按乡镇分派，在 pack.yaml 中列出乡镇 / "
                    "delete the line; "
                    "to route warnings to townships, list them in pack.yaml"
                ],
            )

    def _severity(self, value: tuple[str, Span] | None) -> str | None:
        if value is None:
            return None
        text, span = value
        if text not in SEVERITY_ALIASES:
            self.error("E211", span, text=text, hints=["可为 red(红色)、yellow(黄色)、blue(蓝色)"])
            return None
        return SEVERITY_ALIASES[text]

    def _status(self, value: tuple[str, Span] | None) -> str:
        if value is None:
            return "active"
        text, span = value
        if text not in STATUSES:
            self.error(
                "E212", span, text=text, hints=["可为 draft(草稿)、active(启用)、deprecated(停用)"]
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
                text=text,
                hints=[
                    "可为 yes(参加预检，不写时即为 yes)、no(不参加预检)",
                    "只因时间推移才会触发、审批一条记录时无从判断的模型（如“立项超过6个月仍未招标”）"
                    "写 precheck no / write 'precheck no' "
                    "for a model that only time passing can trip",
                ],
            )
            return True
        return PRECHECK[text]

    def _no_aggregate_lets(self, expr: ir.Expr, scope: Scope, clause: str) -> None:
        aggregating = ir.aggregate_lets(list(scope.lets.items()))
        for node in walk(expr):
            if isinstance(node, ir.LetRef):
                if node.name in aggregating:
                    self.error("E305.let_holds_aggregate", node.span, name=node.name, clause=clause)

    def bound_row(self, let: ast.Let, node: ast.FirstRow, scope: Scope) -> ir.BoundRow:
        """The row `let m = first(…)` binds, checked; mistakes are reported, never raised.

        The query sees the model's row (its aliases) but reads it only in links,
        `its value = the model's value` in its where, so that it can be computed
        once for every row of the model (engine/compiler/compile.py joins it on the links).
        """
        if node.name != "first":
            self.error(
                "E252",
                node.name_span,
                name=node.name,
                hints=[
                    "要取最后一行，把 order by 反过来：order by f.paid_on desc / "
                    "for the last row, reverse the order: order by f.paid_on desc"
                ],
            )
        inner = Scope(parent=scope)
        query = self.expressions.query(node.query, inner, self.model_context)
        # Aggregates are reported below (E350): a row's values are each of one row.
        values = self.model_context.at("select", aggregates=True, first_allowed=True)
        order = tuple(
            (self.expressions.check(item.expr, inner, values), item.descending)
            for item in node.order_by
        )
        if node.select:
            columns = [
                (item.name, self.expressions.check(item.expr, inner, values))
                for item in node.select
            ]
            seen: set[str] = set()
            for item in node.select:
                if item.name.lower() in seen:
                    self.error(
                        "E253",
                        item.span,
                        name=item.name,
                        hints=[
                            "每一列起一个不同的名字（不分大小写） / give each column its own name "
                            "(case does not count)"
                        ],
                    )
                seen.add(item.name.lower())
        else:
            first = query.sources[0].binding
            columns = [
                (c, ir.Col(first, c, t)) for c, t in (self.shared.columns_of(first) or {}).items()
            ]
        for expr in [*(e for e, _ in order), *(e for _, e in columns)]:
            aggregate = ir.own_aggregate(expr)
            if aggregate is not None:
                self.error(
                    "E350",
                    aggregate.span,
                    name=aggregate.name,
                    hints=[
                        "要对多行求和、计数，另写一个子查询："
                        "let paid = (from fin_payment f where … "
                        "select sum(f.amount)) / to sum or count rows, write a subquery"
                    ],
                )
        if not node.order_by:
            self.error(
                "E451",
                node.span,
                hints=[
                    "写明按什么排序取第一行，例如 order by f.paid_on desc（最近的一笔） / "
                    "say which row comes first, e.g. order by f.paid_on desc (the latest)"
                ],
            )
        model_uids = {b.uid for b in scope.bindings.values()}  # a model's scope has no parent
        links, where = self._links(query, scope, model_uids, order, columns)
        binding = ir.Binding(self.shared.new_uid(), let.name, "", False)
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
        scope: Scope,
        model_uids: set[int],
        order: tuple[tuple[ir.Expr, bool], ...],
        columns: list[tuple[str, ir.Expr]],
    ) -> tuple[tuple[tuple[ir.Expr, ir.Expr], ...], ir.Expr | None]:
        """The (query value, model value) pairs a bound row's where links it by, and the rest.

        Reports E452 for any other way the query reads the model's row, and
        E453 for a let or another bound row read inside it.
        """

        def reads_model(expr: ir.Expr) -> bool:
            return any(isinstance(n, ir.Col) and n.binding.uid in model_uids for n in walk(expr))

        def only_model(expr: ir.Expr) -> bool:
            nodes = list(walk(expr))
            return not any(isinstance(n, ir.Exists | ir.Scalar) for n in nodes) and all(
                n.binding.uid in model_uids for n in nodes if isinstance(n, ir.Col)
            )

        parts = [src.on for src in query.sources if src.on is not None]
        parts += [query.where, *(e for e, _ in order), *(e for _, e in columns)]
        for node in walk(parts):
            if isinstance(node, ir.LetRef) or (
                isinstance(node, ir.Col | ir.RowFound)
                and scope.find_row(node.binding.uid) is not None
            ):
                shown = node.name if isinstance(node, ir.LetRef) else node.binding.alias
                self.error(
                    "E453",
                    node.span,
                    shown=shown,
                    hints=[
                        "把这个条件写在模型的 where 中，first(…) 只取要比较的那一行 / put the "
                        "condition in the model's where, and let first(…) take the row to compare"
                    ],
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
                hints=[
                    "例如 where f.contract_id = c.contract_id；其余的条件、order by 和 select 只写"
                    "查询自己的列，模型的值直接在模型中读 / "
                    "e.g. where f.contract_id = c.contract_id; "
                    "other conditions, order by and select read the query's own columns"
                ],
            )
        return tuple(links), ir.and_all(kept)
