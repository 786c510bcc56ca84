"""The IoA mode end to end through a real hub: robots as agents, one group per plan attempt."""

from __future__ import annotations

import re
from typing import Any

from agents.robots import EpisodeOptions, IoAPlanner, run_episode
from agents.robots.brain import NO_PLAN
from agents.robots.planner import Said
from environments.rocobench import RocoEnv, make_env
from ioa.hub import Hub
from ioa.llm import ScriptedEngine
from ioa.llm.engine import Request
from protocols import HUB_SENDER, Conclusion, Envelope
from tests.agents.robots.kit import offered, oracle_json, schema_of

TEAM = re.compile(r"Team \(name: id\): (.*)")


class Script:
    """Robots that talk round robin, conclude when allowed, and conclude with a chosen plan."""

    def __init__(self, env: RocoEnv, plans: list[Any] | None = None) -> None:
        self.env = env
        self.plans = plans or []
        self.offers: list[tuple[str, set[str]]] = []

    def __call__(self, request: Request) -> Any:
        schema = schema_of(request) or {}
        robot = request.agent.removeprefix("ioa:")
        if "type" not in schema.get("properties", {}) and "oneOf" not in schema:
            return self.plans.pop(0) if self.plans else oracle_json(self.env)
        types = offered(schema)
        self.offers.append((robot, types))
        if "conclude" in types:
            return {"type": "conclude", "text": "we agree"}
        return {"type": "discussion", "text": f"{robot} here", "next_speaker": self._next(request)}

    def _next(self, request: Request) -> str:
        match = TEAM.search(request.messages[-1]["content"])
        assert match is not None
        ids = dict(pair.split(": ") for pair in match.group(1).split(", "))
        robots = self.env.robots
        me = robots.index(request.agent.removeprefix("ioa:"))
        return ids[robots[(me + 1) % len(robots)]]


def _engine(env: RocoEnv, script: Script) -> ScriptedEngine:
    return ScriptedEngine({f"ioa:{robot}": [script] * 60 for robot in env.robots})


async def test_robots_agree_through_the_hub_and_the_conclusion_is_executed(hub: Hub) -> None:
    env = make_env("sort", seed=0)
    script = Script(env)
    planner = IoAPlanner(_engine(env, script), hub.url)
    record = await run_episode(env, planner)
    assert record.success
    assert record.attempts == [1] * record.steps
    assert record.unparseable == 0
    assert len(planner.groups) == record.steps  # one group per plan attempt
    first_turns = [types for robot, types in script.offers[::3]]
    assert all(robot == "Alice" for robot, _ in script.offers[::3])
    assert all(types == {"discussion"} for types in first_turns)  # not everyone has spoken
    assert {"discussion", "conclude"} in [types for _, types in script.offers]
    executed = [e.text for e in record.events if e.kind == "plan" and e.data["executed"]]
    assert [h.plan for h in env.history] == executed


async def test_a_conclusion_without_a_plan_is_unparseable_and_the_next_group_hears_why(
    hub: Hub,
) -> None:
    env = make_env("sort", seed=0)
    script = Script(env, plans=["garbage", "garbage again"])
    planner = IoAPlanner(_engine(env, script), hub.url)
    record = await run_episode(env, planner, EpisodeOptions(max_steps=1))
    assert record.unparseable == 1
    assert record.attempts == [2]
    conclusions = [e for e in record.events if e.kind == "say" and e.data["type"] == "conclusion"]
    assert conclusions[0].data["plan"].startswith(NO_PLAN.split("{")[0])
    goals = [e.text for e in record.events if e.kind == "say" and e.data["type"] == "goal"]
    assert "could not be parsed" in goals[1]
    assert "attempt 2 of 5" in goals[1]


def test_a_conclusion_from_the_hub_is_a_reason_not_a_plan() -> None:
    planner = IoAPlanner(ScriptedEngine({}), "http://127.0.0.1:9")
    reason = "ended by the hub: no member spoke for 3 turns"
    ended = Envelope(group="g", sender=HUB_SENDER, payload=Conclusion(text=reason))
    assert planner._said(ended) == Said("hub", "conclusion", reason, None)
