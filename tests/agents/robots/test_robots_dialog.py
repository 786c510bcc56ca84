"""RoCo's dialog rules, deterministically: the pure `DialogRound` and the planner on a script."""

from __future__ import annotations

from typing import Any

import pytest

from agents.robots import DialogPlanner, DialogRound, PlanContext, RobotTeamError, Said
from agents.robots.record import Event
from environments.rocobench import make_env
from ioa.llm import ScriptedEngine
from ioa.llm.engine import Request
from tests.agents.robots.kit import all_wait, offered, oracle_json, schema_of

ROBOTS = ("Alice", "Bob", "Chad")
PLAN = "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"


def proceed(robot: str) -> Said:
    return Said(robot, "proceed", "let us talk")


def execute(robot: str, plan: str = PLAN) -> Said:
    return Said(robot, "execute", "go", plan)


def test_an_execute_before_everyone_spoke_does_not_count() -> None:
    dialog = DialogRound(ROBOTS)
    assert not dialog.may_execute()
    assert dialog.add(execute("Alice", "EXECUTE early")) is False
    assert dialog.plan is None
    assert not dialog.over
    assert dialog.add(proceed("Bob")) is False
    assert dialog.may_execute()  # Chad is the last robot to speak for the first time
    assert dialog.add(execute("Chad")) is True
    assert dialog.plan == PLAN
    assert dialog.over
    assert dialog.calls == 3


def test_on_a_replan_attempt_any_execute_counts() -> None:
    dialog = DialogRound(ROBOTS, open_execute=True)
    assert dialog.add(execute("Alice")) is True
    assert dialog.calls == 1


def test_the_call_cap_ends_the_dialog_and_the_last_call_may_execute() -> None:
    dialog = DialogRound(ROBOTS, max_calls=10)
    for _ in range(9):
        assert not dialog.last_call
        dialog.add(proceed(dialog.speaker))
    assert dialog.last_call
    assert dialog.may_execute()
    assert dialog.speaker == "Alice"
    dialog.add(proceed("Alice"))
    assert dialog.over
    assert dialog.plan is None
    assert dialog.calls == 10
    with pytest.raises(RobotTeamError):
        dialog.add(proceed("Bob"))


def test_robots_speak_round_robin_in_the_task_order() -> None:
    dialog = DialogRound(ROBOTS)
    with pytest.raises(RobotTeamError, match="Alice's turn"):
        dialog.add(proceed("Bob"))
    spoken = []
    for _ in range(5):
        spoken.append(dialog.speaker)
        dialog.add(proceed(dialog.speaker))
    assert spoken == ["Alice", "Bob", "Chad", "Alice", "Bob"]


def _context(env: Any, attempt: int = 1) -> PlanContext:
    return PlanContext(env=env, step=1, attempt=attempt, attempts=5)


async def test_the_schema_offers_execute_only_when_it_counts_and_forces_it_at_the_cap() -> None:
    env = make_env("sort", seed=0)
    seen: list[set[str]] = []

    def reply(request: Request) -> dict[str, Any]:
        types = offered(schema_of(request))
        seen.append(types)
        if types == {"execute"}:
            return {"type": "execute", "text": "last call", "plan": oracle_json(env)}
        return {"type": "proceed", "text": "thinking"}

    engine = ScriptedEngine([reply] * 10)
    events: list[Event] = []
    proposal = await DialogPlanner(engine, max_calls=10).propose(_context(env), events.append)
    assert seen[0] == {"proceed"}
    assert seen[1] == {"proceed"}
    assert seen[2] == {"proceed", "execute"}  # Chad speaks last: an EXECUTE would count
    assert seen[9] == {"execute"}  # the 10th call must EXECUTE
    assert proposal.calls == 10
    assert proposal.plan is not None
    assert proposal.plan.startswith("EXECUTE\nNAME Alice")
    assert env.check(proposal.plan).passed
    assert [e.robot for e in events] == [ROBOTS[i % 3] for i in range(10)]
    assert [call.agent for call in engine.calls][:3] == [
        "dialog:Alice",
        "dialog:Bob",
        "dialog:Chad",
    ]


async def test_each_robot_is_prompted_with_its_own_observation_and_the_chat() -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine(
        [
            {"type": "proceed", "text": "Bob, please hand me blue_square"},
            {"type": "proceed", "text": "ok"},
            {"type": "execute", "text": "done", "plan": all_wait(env)},
        ]
    )
    proposal = await DialogPlanner(engine).propose(_context(env), lambda e: None)
    assert proposal.plan is not None
    assert proposal.calls == 3
    alice, bob, _ = engine.calls
    assert env.observation("Alice") in alice.messages[0]["content"]
    assert env.observation("Bob") in bob.messages[0]["content"]
    assert env.observation("Alice") not in bob.messages[0]["content"]
    assert "Alice: Bob, please hand me blue_square" in bob.messages[-1]["content"]
    assert bob.messages[-1]["content"].endswith("You are Bob, your response is:")


async def test_on_a_replan_attempt_the_first_speaker_may_execute() -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine([{"type": "execute", "text": "retry", "plan": all_wait(env)}])
    proposal = await DialogPlanner(engine).propose(_context(env, attempt=2), lambda e: None)
    assert proposal.calls == 1
    assert proposal.plan is not None
    assert "execute" in offered(engine.calls[0].schema)


async def test_a_reply_that_fails_its_schema_twice_is_a_wasted_turn_not_a_crash() -> None:
    env = make_env("sort", seed=0)
    garbage = ["not json", "still not json"]
    engine = ScriptedEngine([*garbage, {"type": "proceed", "text": "b"}, *garbage])
    proposal = await DialogPlanner(engine, max_calls=3).propose(_context(env), lambda e: None)
    assert proposal.plan is None
    assert proposal.calls == 3
    assert proposal.chat[0].kind == "invalid"
    assert "no EXECUTE" in proposal.reason
