"""The checker: a conclusion answers a goal when the expected value appears in it."""

from __future__ import annotations

import math
import re

from environments.toolgoals.goals import ToolGoal

_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\w.])-?\d+(?:\.\d+)?")
"""A number as written in text: `42`, `-3.5`, `522,250` or `522250` (digits inside words such
as `t1` are not numbers)."""


def numbers_in(text: str) -> list[float]:
    """Every number written in `text`, in order."""
    return [float(m.group(0).replace(",", "")) for m in _NUMBER.finditer(text)]


def check(goal: ToolGoal, conclusion: str) -> bool:
    """Whether `conclusion` states `goal`'s answer (a number within its tolerance, or the word)."""
    if isinstance(goal.answer, str):
        return re.search(rf"\b{re.escape(goal.answer)}\b", conclusion, re.IGNORECASE) is not None
    expected = float(goal.answer)
    return any(
        math.isclose(value, expected, rel_tol=goal.tolerance, abs_tol=1e-9)
        for value in numbers_in(conclusion)
    )
