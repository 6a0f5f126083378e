"""A small, safe evaluator for TSP formulas such as ``"TCC * 2.5 + 104"``.

Only numbers, the variable ``TCC``, ``+ - * /``, unary minus and parentheses are allowed; the
formula is parsed with :mod:`ast` and walked by hand, never passed to ``eval``. Length, depth and
magnitude are bounded so that hostile input cannot exhaust memory or time.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from decimal import Decimal, InvalidOperation, localcontext

__all__ = ["FormulaError", "TspFormula"]

MAX_LENGTH = 200
MAX_DEPTH = 20
MAX_MAGNITUDE = Decimal("1e15")

_OPS: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class FormulaError(ValueError):
    """The formula is not a safe arithmetic expression of TCC."""


class TspFormula:
    """A parsed formula; ``formula(tcc)`` evaluates it with :class:`~decimal.Decimal`."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise FormulaError("the formula is empty")
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"the formula is longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError):
            raise FormulaError(f"not an arithmetic expression: {text[:40]!r}") from None
        self.text = text.strip()
        self._tree = tree.body
        self._check(self._tree, 0)
        self(Decimal(1))  # constants such as 1/0 fail now, not on every product

    def _check(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            self._check(node.left, depth + 1)
            self._check(node.right, depth + 1)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self._check(node.operand, depth + 1)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if abs(Decimal(str(node.value))) > MAX_MAGNITUDE:
                raise FormulaError("a number in the formula is too large")
        elif isinstance(node, ast.Name) and node.id == "TCC":
            pass
        else:
            raise FormulaError(
                f"only numbers, TCC, + - * / and parentheses are allowed, not {ast.dump(node)[:40]}"
            )

    def __call__(self, tcc: Decimal) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 28
            try:
                value = self._eval(self._tree, tcc)
            except (InvalidOperation, ZeroDivisionError):
                raise FormulaError("the formula divides by zero") from None
        if abs(value) > MAX_MAGNITUDE:
            raise FormulaError("the formula's result is too large")
        return value.quantize(Decimal("0.01"))

    def _eval(self, node: ast.AST, tcc: Decimal) -> Decimal:
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, tcc), self._eval(node.right, tcc)
            result: Decimal = _OPS[type(node.op)](left, right)
            if abs(result) > MAX_MAGNITUDE * MAX_MAGNITUDE:
                raise FormulaError("the formula's result is too large")
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, tcc)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return Decimal(str(node.value))
        return tcc

    def __repr__(self) -> str:
        return f"TspFormula({self.text!r})"
