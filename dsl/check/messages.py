"""A model's message template, checked: its text, holes, formatters and what a null writes."""

from __future__ import annotations

from dataclasses import replace

from dsl import ast, ir
from dsl.check.expressions import KEY_HOLE, Context, ExpressionChecker, Scope
from dsl.check.report import Reporter
from dsl.functions import FORMATTERS, PCT_DIGITS, PCT_MAX_DIGITS, SIGNATURES, check_arguments
from dsl.types import Type


class MessageChecker(Reporter):
    """Checks a message template (`check`); its holes are checked by `expressions`."""

    def __init__(self, expressions: ExpressionChecker) -> None:
        super().__init__(expressions.diagnostics)
        self.expressions = expressions

    def check(
        self, node: ast.Template, scope: Scope, ctx: Context
    ) -> tuple[str | ir.Hole | ir.KeyHole, ...]:
        """The message's text and holes; `ctx.township` is what `{township}` names."""
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
                        hints=["删去花括号后面的 % / remove the % after the braces"],
                    )
            else:
                value = self.expressions.check(expr, scope, ctx)
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
                self.error("E311.takes_one", call.span, name=call.name)
            else:
                self.error("E311.takes_between", call.span, name=call.name, least=least, most=most)
            return None
        value = self.expressions.check(call.args[0], scope, ctx)
        result = check_arguments(sig, [value.type])
        if not isinstance(result, Type):
            self.error(result.key("E311"), call.span, **result.fields)
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
            pct_max_digits=PCT_MAX_DIGITS,
            hints=[
                "例如比例为 0.125 时，{pct(x, 1)} 写作 12.5%，{pct(x, 0)} 写作 13% / "
                "e.g. for 0.125, {pct(x, 1)} reads 12.5% and {pct(x, 0)} reads 13%"
            ],
        )
        return PCT_DIGITS


def with_missing(
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
