"""Tool-requiring goals: arithmetic, unit conversion and table look-ups, with a pure checker.

`GOALS` is the shipped set; `check(goal, conclusion)` says whether a team's conclusion states the
expected value; `tables` holds what the look-up tool knows. Pure Python, no I/O; nothing here
imports `ioa` or `agents`.
"""

from .check import check, numbers_in
from .goals import GOALS, TOOL_OF_KIND, Kind, ToolGoal, goal
from .tables import CITIES, CITY_FIELDS, PRODUCT_FIELDS, PRODUCTS, City, Product

__all__ = [
    "CITIES",
    "CITY_FIELDS",
    "GOALS",
    "PRODUCTS",
    "PRODUCT_FIELDS",
    "TOOL_OF_KIND",
    "City",
    "Kind",
    "Product",
    "ToolGoal",
    "check",
    "goal",
    "numbers_in",
]
