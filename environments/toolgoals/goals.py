"""The shipped tool-requiring goals: phrased as a person would, each with its expected answer.

Every goal needs one tool call (the calculator, the unit converter or the table look-up) and
names the tool that answers it, so discovery and tool choice can be measured too. No expected
value appears in its goal's text, so quoting the goal back never counts as an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ARITHMETIC = "arithmetic"
    UNITS = "units"
    LOOKUP = "lookup"


TOOL_OF_KIND = {Kind.ARITHMETIC: "calculate", Kind.UNITS: "convert units", Kind.LOOKUP: "look up"}
"""The display name of the tool agent each kind of goal needs (see `agents.crew`)."""


@dataclass(frozen=True)
class ToolGoal:
    id: str
    text: str
    kind: Kind
    answer: float | str
    """A number (matched within `tolerance`) or a word (matched as a whole word, any case)."""
    tolerance: float = 1e-6
    """Relative tolerance for a numeric answer: 1 % for unit conversions (rounded factors and
    rounded outputs are fine), exact otherwise."""

    @property
    def tool(self) -> str:
        return TOOL_OF_KIND[self.kind]


_A, _U, _L = Kind.ARITHMETIC, Kind.UNITS, Kind.LOOKUP
_PC = 0.01

GOALS: tuple[ToolGoal, ...] = (
    ToolGoal("add", "add 17 and 25 then explain", _A, 42),
    ToolGoal("divide", "What is 156 divided by 12?", _A, 13),
    ToolGoal("multiply", "Multiply 23 by 19.", _A, 437),
    ToolGoal("minus", "What is 1000 minus 387?", _A, 613),
    ToolGoal("eggs", "I bought 3 boxes of 24 eggs. How many eggs is that?", _A, 72),
    ToolGoal("sum", "What is the sum of 348 and 279?", _A, 627),
    ToolGoal("times", "What is 84 times 7?", _A, 588),
    ToolGoal("subtract-from", "Subtract 58 from 203.", _A, 145),
    ToolGoal("share", "Split 96 apples equally among 8 people: how many does each get?", _A, 12),
    ToolGoal("decimals", "What is 12.5 plus 7.25?", _A, 19.75),
    ToolGoal("marathon", "How many kilometres is 26.2 miles?", _U, 42.1648, _PC),
    ToolGoal("kg-lb", "Convert 5 kg to pounds.", _U, 11.0231, _PC),
    ToolGoal("fever", "What is 100 degrees Fahrenheit in Celsius?", _U, 37.7778, _PC),
    ToolGoal("feet", "How many feet are in 3 metres?", _U, 9.84252, _PC),
    ToolGoal("litres", "Convert 2.5 litres to millilitres.", _U, 2500, _PC),
    ToolGoal("hours", "How many minutes are in 7.5 hours?", _U, 450, _PC),
    ToolGoal("warm", "Convert 30 degrees Celsius to Fahrenheit.", _U, 86, _PC),
    ToolGoal("inches", "How many inches is 45 cm?", _U, 17.7165, _PC),
    ToolGoal("ounces", "Convert 12 ounces to grams.", _U, 340.194, _PC),
    ToolGoal("days", "How many seconds are in 3 days?", _U, 259_200, _PC),
    ToolGoal("lyon", "What is the population of Lyon?", _L, 522_250),
    ToolGoal("porto", "How many people live in Porto?", _L, 231_800),
    ToolGoal("leipzig", "Tell me the population of Leipzig.", _L, 601_866),
    ToolGoal("turin", "How many inhabitants does Turin have?", _L, 848_885),
    ToolGoal("bergen", "Which country is Bergen in?", _L, "Norway"),
    ToolGoal("graz", "In which country is Graz?", _L, "Austria"),
    ToolGoal("kettle", "How much does the kettle cost?", _L, 24.50),
    ToolGoal("backpack", "What is the price of the backpack?", _L, 59),
    ToolGoal("headphones", "Look up the price of the headphones.", _L, 79.99),
    ToolGoal("umbrella", "How much is an umbrella?", _L, 12.75),
)


def goal(goal_id: str) -> ToolGoal:
    for candidate in GOALS:
        if candidate.id == goal_id:
            return candidate
    raise KeyError(f"no tool goal {goal_id!r}")
