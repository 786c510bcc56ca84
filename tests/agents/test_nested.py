"""A member handed a task forms a sub-team; nesting goes two levels deep and concludes."""

from __future__ import annotations

from agents.brain import ScriptedBrain
from agents.runtime import Agent, AgentOptions
from ioa.hub import Hub
from tests.agents.scripts import Pick, delegate_then_conclude, teamwork
from tests.conftest import card


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
