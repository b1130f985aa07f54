"""A model's inline examples, checked: as_of, expectations, given and pending rows, parameters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dsl import ast, ir
from dsl.check.report import Reporter
from dsl.check.report import article as _a
from dsl.diagnostics import Diagnostic, Span
from dsl.pack import Pack, Parameter, ParamMap, ValueProblem, parameter_value
from dsl.suggest import did_you_mean
from dsl.types import CENTS, NUMERIC, Type, storage_problem

_BAD = object()


class ExampleChecker(Reporter):
    """Checks inline examples (`check`) against the pack's sources and parameters."""

    def __init__(self, pack: Pack, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.pack = pack

    def check(
        self, node: ast.Example, sources: frozenset[str] | None, precheck: bool
    ) -> ir.Example | None:
        """An example, checked; None when it has a mistake (reported).

        `sources` are what its model reads (None: not known, the model has a
        mistake) and `precheck` whether the model takes part in pre-checks: an
        example with pending rows must be a pre-check the model could be asked.
        """
        ok = True
        if node.as_of is None:
            self.error("E503", node.span, title=node.title, hints=["例如 as_of 2021-11-15"])
            ok = False
        if not node.expect and not node.expect_none:
            self.error(
                "E504.nothing_expected",
                node.span,
                title=node.title,
                hints=['写 expect "预警键"（必须预警）或 expect none（不应预警）'],
            )
            ok = False
        if node.expect and node.expect_none:
            self.error("E504.both_expected", node.span, title=node.title)
            ok = False
        keys = [e.key for e in node.expect]
        for e in node.expect:
            if keys.count(e.key) > 1:
                self.error("E507", e.span, key=e.key)
                ok = False
                break
        if not self.pack.has_townships:
            for e in node.expect:
                if e.township is not None:
                    self.error(
                        "E381",
                        e.span,
                        township=e.township,
                        hints=[
                            f'写 expect "{e.key}"，不写 township / write expect "{e.key}" '
                            "without a township"
                        ],
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
                    "E506", span, name=name, hints=did_you_mean(name, self.pack.parameters, "$")
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
                "E502.parameter_type",
                written.span,
                name=param.name,
                exc=exc,
                value=param.type.value,
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
                        "E508.no_pending_rows",
                        e.span,
                        title=node.title,
                        hints=[
                            "changed 只用于预检示例：given 是已入库的数据，pending 是待审的记录，"
                            "changed 表示预警已存在、待审记录使其消息改变 / 'changed' belongs to "
                            "an example with pending rows"
                        ],
                    )
                    ok = False
            return ok
        first = node.pending[0]
        for row in node.pending[1:]:
            if row.source != first.source:
                self.error(
                    "E508.several_sources",
                    row.source_span,
                    title=node.title,
                    first_source=first.source,
                    row_source=row.source,
                    hints=[
                        "一次预检只预检一个来源的记录：其他来源的数据写成 given（已入库） / "
                        "a pre-check is of one source's records: write the others as given rows"
                    ],
                )
                return False
        if not precheck:
            self.error(
                "E411",
                Span.point(first.span.file, first.span.line, first.span.column, len("pending")),
                title=node.title,
                hints=[
                    "要么去掉 precheck no，要么把 pending 改为 given / drop 'precheck no', "
                    "or make the pending rows given ones"
                ],
            )
            ok = False
        if sources is not None and first.source in self.pack.sources:
            if first.source not in sources:
                self.error(
                    "E509",
                    first.source_span,
                    source=first.source,
                    hints=[
                        f"模型读取 the model reads: {'、'.join(sorted(sources))}",
                        "待审记录应是模型所读来源的记录；其他来源的数据写成 given / "
                        "pending rows are of a source the model reads; write others as given rows",
                    ],
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
                    source=row.source,
                    hints=did_you_mean(row.source, self.pack.sources),
                )
                ok = False
                continue
            values: list[tuple[str, Any]] = []
            seen: set[str] = set()
            for col_name, literal, span in row.fields:
                column = source.columns.get(col_name)
                if column is None:
                    self.error(
                        "E501.unknown_column",
                        span,
                        source=row.source,
                        col_name=col_name,
                        hints=did_you_mean(col_name, source.columns),
                    )
                    ok = False
                    continue
                if col_name in seen:
                    self.error("E501.given_twice", span, col_name=col_name)
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
            "E502.column_type",
            literal.span,
            column=column,
            wanted_zh=wanted.zh,
            kind_zh=kind.zh,
            value=wanted.value,
            a_kind=_a(kind),
            hints=[hint],
        )
        return _BAD

    def _too_large(self, literal: ast.Literal, what: str, problem: tuple[str, str]) -> None:
        """E505: an example's number that its column or parameter cannot hold."""
        self.error(
            "E505",
            literal.span,
            what=what,
            value=literal.value,
            problem_zh=problem[0],
            problem_en=problem[1],
            hints=[
                "示例中的整数须在 64 位整数范围内，金额整数部分最多 16 位、最多两位小数 / "
                "ints are 64-bit; amounts have at most 16 digits before the point and 2 after"
            ],
        )


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
