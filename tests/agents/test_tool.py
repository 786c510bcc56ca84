"""Plain functions as agents, and the calculator tool."""

from __future__ import annotations

import pytest

from agents.brain import ScriptedBrain
from agents.calculator import CalculatorError, calculate, evaluate
from agents.runtime import Agent
from agents.tool import ToolBrain, tool_card
from ioa.hub import Hub
from tests.agents.scripts import delegate_then_conclude
from tests.conftest import card


def test_calculator_evaluates_arithmetic_only() -> None:
    assert evaluate("(17 + 5) * 3") == 66
    assert evaluate("2^10") == 1024
    assert evaluate("sqrt(16) + abs(-2)") == 6
    assert calculate("please compute (17 + 5) * 3 for me") == "(17 + 5) * 3 = 66"
    assert calculate("nothing here") == "no arithmetic expression found in the task"
    for bad in ["__import__('os')", "1/0", "9**999999", "x + 1", "open('f')"]:
        with pytest.raises(CalculatorError):
            evaluate(bad)


def test_tool_card_comes_from_the_function() -> None:
    made = tool_card(calculate, tags=["math"])
    assert made.name == "calculate"
    assert made.kind == "tool"
    assert made.description.startswith("Evaluates arithmetic")
    assert made.skills[0].tags == ["math"]


async def test_function_agent_does_assigned_work(hub: Hub) -> None:
    async with (
        Agent(tool_card(calculate), ToolBrain(calculate), hub.url) as calc,
        Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
    ):
        group = await lead.launch("what is 12 * 12?", roster=[calc.id])
        assert await lead.conclusion(group, timeout=30) == "12 * 12 = 144"
