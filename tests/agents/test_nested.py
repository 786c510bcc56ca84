"""A member handed a task forms a sub-team; nesting goes two levels deep and concludes."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.brain import ScriptedBrain, Turn
from agents.runtime import Agent, AgentOptions
from ioa.hub import Hub
from protocols import TaskResult
from tests.agents.scripts import Pick, delegate_then_conclude, teamwork
from tests.conftest import AgentFactory, card


async def test_depth_two_nested_teams_conclude(hub: Hub) -> None:
    options = AgentOptions(max_depth=2)
    mid_brain = Pick(["leaf"], moves=delegate_then_conclude("leaf"), team=teamwork)
    mid2_brain = Pick(["leafmost"], moves=delegate_then_conclude("leafmost"), team=teamwork)
    async with (
        Agent(card("leafmost", "carving"), ScriptedBrain(work=lambda j: "carved"), hub.url),
        Agent(card("leaf", "carving"), mid2_brain, hub.url, options=options) as leaf,
        Agent(card("mid", "woodwork"), mid_brain, hub.url, options=options) as mid,
        Agent(card("top"), ScriptedBrain(delegate_then_conclude("mid")), hub.url) as top,
    ):
        group = await top.launch("carve a spoon", roster=[mid.id])
        assert await top.conclusion(group, timeout=20) == "carved"
        depths = {}
        for gid in leaf.client.groups:
            info = await leaf.client.group(gid)
            depths[info.meta["depth"]] = info.meta["parent"]
        assert sorted(depths) == [1, 2]  # leaf sits in mid's sub-team and leads its own
        assert depths[1]["group"] == group


async def test_a_sub_team_the_hub_ended_fails_the_task_it_was_formed_for(
    hub: Hub, make_agent: AgentFactory
) -> None:
    """The sub-team runs on its parent's clock; it falls silent, the hub ends it, and the task
    it was formed for fails with the hub's reason."""
    lead_sub_team = delegate_then_conclude("leaf")

    async def silent_in_the_sub_team(turn: Turn) -> dict[str, Any]:
        if turn.depth > 0:
            await asyncio.sleep(1.5)  # longer than the sub-team's three lapsed turns
        return dict(lead_sub_team(turn))

    await make_agent("leaf", "carving")
    mid_brain = Pick(["leaf"], moves=silent_in_the_sub_team, team=teamwork)
    async with (
        Agent(card("mid", "woodwork"), mid_brain, hub.url) as mid,
        Agent(card("top"), ScriptedBrain(delegate_then_conclude("mid")), hub.url) as top,
    ):
        clock = {"turn_timeout": 0.3, "task_timeout": 30}
        group = await top.launch("carve a spoon", roster=[mid.id], meta=clock)
        reason = "ended by the hub: no member spoke for 3 turns"
        assert await top.conclusion(group, timeout=20) == reason
        reports = [e.payload for e in await top.client.history(group) if e.type == "task_result"]
        assert reports == [TaskResult(task_id="t1", status="failed", result=reason)]
