"""The integrity index, checked: measures over the period's warnings, indicators, parts, bands.

Its expressions are checked by the shared core (dsl/check/expressions.py) in
contexts whose unit is "index" (no lookups there: E458).
"""

from __future__ import annotations

from decimal import Decimal

from dsl import ast, ir
from dsl.check.expressions import Context, ExpressionChecker, Scope
from dsl.check.report import Reporter
from dsl.check.shared import PERIOD_WARNINGS, SharedDefinitions
from dsl.diagnostics import Severity, Span
from dsl.node import walk
from dsl.revision import revision_of
from dsl.suggest import did_you_mean
from dsl.types import NUMERIC, Type

BAND_COLOURS = ("red", "yellow", "green")


class IndexCheck(Reporter):
    """Checks the pack's index (`check`): its expressions in contexts whose unit is "index"."""

    def __init__(self, shared: SharedDefinitions) -> None:
        super().__init__(shared.diagnostics)
        self.shared = shared
        self.pack = shared.pack
        self.expressions = ExpressionChecker(shared)
        self.index_context = Context(unit="index")

    def check(self, node: ast.Index) -> ir.Index | None:
        """The index, checked; None when it has a mistake (reported, with every other)."""
        start = len(self.diagnostics)
        clauses: dict[str, list[ast.Clause]] = {}
        for clause in node.clauses:
            clauses.setdefault(clause.kind, []).append(clause)
        for kind in ("from", "scale", "rounding", "ties", "note"):
            for extra in clauses.get(kind, [])[1:]:
                self.error("E401.index_clause", extra.span, kind=kind)

        # The rows: the period's warnings of one township, each with its disposal record.
        warnings = self.shared.period_warnings()
        from_ref = clauses["from"][0].value if "from" in clauses else None
        if from_ref is None:
            self.error(
                "E400.index_needs_warnings",
                node.name_span,
                hints=["指数按乡镇统计本期预警：写 from warnings w"],
            )
        elif from_ref.source != PERIOD_WARNINGS:
            self.error(
                "E200.index_source",
                from_ref.source_span,
                period_warnings=PERIOD_WARNINGS,
                hints=["warnings：本期内首次发出的预警，每条带有其核查处置记录"],
            )
        else:
            warnings = ir.Binding(warnings.uid, from_ref.alias, PERIOD_WARNINGS, False)
        measures_scope = Scope(bindings={warnings.alias: warnings}, args={"staff": Type.INT})
        measures: dict[str, ir.Expr] = {}
        for clause in clauses.get("let", []):
            let: ast.Let = clause.value
            if let.name in measures:
                self.error("E208.let_defined_twice", let.span, name=let.name)
            value = self.expressions.check(
                let.expr, measures_scope, self.index_context.at("let", aggregates=True)
            )
            self.expressions.grouping(value, set(), {warnings}, measures_scope)
            self._no_quantiles_in_index(value)
            measures[let.name] = value
            measures_scope.lets[let.name] = value

        base = Scope(lets=dict(measures), args={"staff": Type.INT})
        indicators: list[ir.Indicator] = []
        for clause in clauses.get("indicator", []):
            indicator = self._indicator(clause.value, base, measures)
            if any(i.name == indicator.name for i in indicators):
                self.error("E208.indicator_defined_twice", clause.value.span, name=indicator.name)
            indicators.append(indicator)

        parts = self._parts(clauses.get("part", []), {i.name: i.span for i in indicators})
        bands = self._bands(clauses.get("band", []), node)
        consequences: dict[str, str] = {}
        for clause in clauses.get("consequence", []):
            colour, span, text = clause.value
            if colour not in {b.colour for b in bands}:
                self.error(
                    "E435.no_band",
                    span,
                    colour=colour,
                    hints=did_you_mean(colour, [b.colour for b in bands]),
                )
            consequences[colour] = text
        scale = self._index_word(clauses, "scale", "minmax", {"minmax"})
        ties = self._index_word(clauses, "ties", "shared", {"shared", "dense"})
        rounding = 2
        if "rounding" in clauses:
            text, span = clauses["rounding"][0].value
            if not text.isdigit() or int(text) > 6:
                self.error("E433.rounding", span)
            else:
                rounding = int(text)
        # Measures are read by indicators as lets: measured the same way as a model's.
        lets: dict[str, ir.Extent] = {}
        for name, value in measures.items():  # in order: a measure may read those before it
            lets[name] = self.shared.extent(value, lets)
        measured = [(i.expr, i.span) for i in indicators]
        measured += [(e, i.span) for i in indicators for case in i.cases for e in case]
        measured += [(b.condition, None) for b in bands]
        self.shared.measure(measured, node.name_span, lets=lets)
        self.shared.nullable_parameters(
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
        value = self.expressions.check(node.expr, scope, self.index_context.at("indicator"))
        if value.type not in NUMERIC | {Type.ERROR}:
            self.error("E303.indicator_number", node.expr.span, name=node.name)
        cases = []
        for condition, result in node.cases:
            checked = self.expressions.condition(
                condition, scope, self.index_context.at("indicator")
            )
            outcome = self.expressions.check(result, scope, self.index_context.at("indicator"))
            if outcome.type not in NUMERIC | {Type.ERROR}:
                self.error("E303.value_empty_case", result.span)
            cases.append((checked, outcome))
        for division in (n for n in walk(value) if isinstance(n, ir.Arith) and n.op == "/"):
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
                    name=node.name,
                    hints=[f"在指标后加上 when {shown} = 0 then 取值，例如 when W = 0 then 1"],
                )
        if node.unit not in (None, "percent"):
            self.error(
                "E433.unknown_unit",
                node.unit_span,
                unit=node.unit,
                hints=["可写 percent（比率，按百分比显示），或不写"],
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
                        indicator=item.indicator,
                        hints=did_you_mean(item.indicator, indicators),
                    )
                elif item.indicator in used:
                    self.error("E434", item.indicator_span, indicator=item.indicator)
                used[item.indicator] = item.indicator_span
                if item.points <= 0:
                    self.error("E430.points_positive", item.span)
                total += item.points
                items.append(ir.PartItem(item.indicator, item.points, item.higher_is_better))
            if any(p.id == part.id for p in parts):
                self.error("E208.part_defined_twice", part.span, id=part.id)
            parts.append(ir.Part(part.id, part.title, tuple(items)))
        if not clauses:
            self.error("E430.no_parts", None)
        elif total != 100:
            self.error("E430.total", clauses[0].span, total=total)
        for name in sorted(set(indicators) - set(used)):
            self.warn(
                "W431",
                indicators[name],
                name=name,
                hints=["在某个 part 中给它分值，或删去这个指标"],
            )
        return tuple(parts)

    def _bands(self, clauses: list[ast.Clause], node: ast.Index) -> tuple[ir.Band, ...]:
        scope = Scope(args={"rank": Type.INT, "townships": Type.INT})
        bands: list[ir.Band] = []
        for i, clause in enumerate(clauses):
            band: ast.Band = clause.value
            if band.colour not in BAND_COLOURS:
                self.error(
                    "E435.unknown_colour",
                    band.span,
                    colour=band.colour,
                    hints=["颜色可为 red、yellow、green"],
                )
            last = i == len(clauses) - 1
            if last and band.condition is not None:
                self.error("E436.last_band_condition", band.span)
            if not last and band.condition is None:
                self.error(
                    "E436.band_without_when",
                    band.span,
                    hints=['例如 band red "红色" when rank > townships - 2'],
                )
            condition = (
                self.expressions.condition(band.condition, scope, self.index_context.at("band"))
                if band.condition is not None
                else None
            )
            bands.append(ir.Band(band.colour, band.title, condition))
        if not clauses:
            self.error("E436.no_bands", node.name_span)
        return tuple(bands)

    def _index_word(
        self, clauses: dict[str, list[ast.Clause]], kind: str, default: str, allowed: set[str]
    ) -> str:
        if kind not in clauses:
            return default
        text, span = clauses[kind][0].value
        if text not in allowed:
            self.error(
                "E433.bad_value",
                span,
                kind=kind,
                text=text,
                hints=[f"可为 {'、'.join(sorted(allowed))}"],
            )
            return default
        return text

    def _no_quantiles_in_index(self, measure: ir.Expr) -> None:
        """A quantile in an index's measures is refused, on every warehouse alike.

        The measures are one grouped query over townships left-joined to their
        warnings (engine/index/score.py). SQLite has no ordered aggregate: a model's
        quantile is computed there from ranked rows (engine/compiler/compile.py), which
        that query does not build; a measure that ran on some warehouses only
        would make the index depend on where it is scored.
        """
        for node in walk(measure):
            if isinstance(node, ir.Agg) and node.name in ir.QUANTILES:
                self.error(
                    "E465",
                    node.span,
                    name=node.name,
                    hints=[
                        "度量按乡镇统计本期预警：用 count、sum、min、max、avg；"
                        "需要分位数的比较写成监督模型（group by 乡镇，having 中用子查询算分位数）"
                    ],
                )


def _never_zero(divisor: ir.Expr, measures: dict[str, ir.Expr]) -> bool:
    """Whether a divisor is a township's staff count, which the engine keeps above zero."""
    if isinstance(divisor, ir.LetRef) and divisor.name in measures:
        return _never_zero(measures[divisor.name], measures)
    return isinstance(divisor, ir.Arg) and divisor.name == "staff"


def _divisor_name(division: ir.Arith) -> str:
    """A short way to name a divisor in a hint."""
    right = division.right
    return right.name if isinstance(right, ir.LetRef | ir.Arg) else "除数"
