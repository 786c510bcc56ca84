"""A calculator tool: arithmetic from text, evaluated over a syntax tree (never `eval`)."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

from agents.spans import Arguments, numbers_in

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
}
_NOT_ARITHMETIC = re.compile(r"[^-+*/%().\d\s^,a-z_]")
_WORD = re.compile(r"[a-z_]+")
MAX_POWER = 10_000


class CalculatorError(ValueError):
    pass


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_POWER:
            raise CalculatorError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_value(a) for a in node.args))
    raise CalculatorError(f"not arithmetic: {ast.dump(node)[:60]}")


def evaluate(expression: str) -> float:
    try:
        tree = ast.parse(expression.replace("^", "**").strip(), mode="eval")
        return _value(tree.body)
    except (SyntaxError, ZeroDivisionError, OverflowError, TypeError, ValueError) as exc:
        raise CalculatorError(str(exc) or type(exc).__name__) from None


def calculate(text: str) -> str:
    """Evaluates arithmetic expressions such as (17 + 5) * 3 or sqrt(2).

    Give it a task that contains an expression; it answers with the value.
    """
    marked = _NOT_ARITHMETIC.sub("|", text.lower())
    marked = _WORD.sub(lambda m: m.group(0) if m.group(0) in _FUNCTIONS else "|", marked)
    pieces = [p.strip(" ,") for p in marked.split("|") if any(c.isdigit() for c in p)]
    for candidate in sorted(pieces, key=len, reverse=True):
        try:
            value = evaluate(candidate)
        except CalculatorError:
            continue
        shown = int(value) if float(value).is_integer() else round(value, 10)
        return f"{candidate.strip()} = {shown}"
    return "no arithmetic expression found in the task"


OPERATORS = ["+", "-", "*", "/"]


def calculator_arguments(goal: str) -> Arguments:
    """Two numbers of the goal and an operator: "17 + 25" (unusable without two numbers)."""
    numbers = numbers_in(goal)
    operands = numbers if len(numbers) >= 2 else []
    return Arguments(
        {"a": operands, "op": OPERATORS, "b": operands}, "{a} {op} {b}", distinct=("a", "b")
    )
