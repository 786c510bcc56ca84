"""The shipped tool goals: every checker takes its right answer and refuses wrong ones, and the
tool each goal needs answers it correctly (model-free: the tools and the checker alone)."""

from __future__ import annotations

import pytest

from agents.crew import TOOLS
from environments.toolgoals import CITIES, GOALS, PRODUCTS, Kind, ToolGoal, check, goal, numbers_in

BY_NAME = {tool.name: tool for tool in TOOLS}


def test_the_set_is_large_varied_and_unambiguous() -> None:
    assert len(GOALS) >= 20
    assert len({g.id for g in GOALS}) == len(GOALS)
    assert {g.kind for g in GOALS} == set(Kind)
    assert all(sum(g.kind is k for g in GOALS) >= 5 for k in Kind)
    assert goal("add").text == "add 17 and 25 then explain"
    with pytest.raises(KeyError):
        goal("nope")


def _right(g: ToolGoal) -> str:
    if isinstance(g.answer, str):
        return f"It is in {g.answer.upper()}."
    value = float(g.answer)
    return f"The answer is {value:,.4f} (rounded)."


def _wrong(g: ToolGoal) -> list[str]:
    if isinstance(g.answer, str):
        other = "Sweden" if g.answer != "Sweden" else "Norway"
        return [f"It is in {other}.", f"It is in {g.answer}land.", ""]
    value = float(g.answer)
    return [
        f"The answer is {value * 1.05 + 1:.4f}.",
        f"The answer is {value * 10:g}.",  # the right digits inside a larger number
        f"The answer is t{value:g}",
        "I do not know.",
    ]


@pytest.mark.parametrize("g", GOALS, ids=lambda g: g.id)
def test_each_checker_takes_the_right_answer_and_refuses_wrong_ones(g: ToolGoal) -> None:
    assert check(g, _right(g))
    for text in _wrong(g):
        assert not check(g, text), text
    assert not check(g, g.text), "quoting the goal must not count as answering it"


@pytest.mark.parametrize("g", GOALS, ids=lambda g: g.id)
def test_the_needed_tool_answers_each_goal_from_the_spans_of_its_text(g: ToolGoal) -> None:
    usable = [t.name for t in TOOLS if t.arguments(g.text).usable]
    assert usable == [g.tool]  # the goal's spans fit its tool's arguments, and only those
    tool = BY_NAME[g.tool]
    calls = tool.arguments(g.text).options()
    answers = [str(tool.fn(call)) for call in calls]
    assert any(check(g, a) for a in answers), answers
    if g.kind is not Kind.ARITHMETIC:  # the converter and the table also read plain requests
        assert check(g, str(tool.fn(g.text)))


def test_numbers_are_read_as_written() -> None:
    assert numbers_in("17 + 25 = 42; t1 has 522,250 people, -3.5 and 2.") == [
        17,
        25,
        42,
        522250,
        -3.5,
        2,
    ]
    assert numbers_in("1,2 and 12,34") == [1, 2, 12, 34]


def test_the_look_up_table_holds_what_the_goals_ask() -> None:
    named = {w.strip("?.").lower() for g in GOALS if g.kind is Kind.LOOKUP for w in g.text.split()}
    assert named & {c.lower() for c in CITIES}
    assert named & set(PRODUCTS)
