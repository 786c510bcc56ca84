"""An agent process and the hub, each restarted mid-conversation, or the hub replaced by the
next one of the agents' list: the conversation finishes, nothing lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents.brain import Job, ScriptedBrain
from agents.runtime import Agent, AgentOptions
from ioa.hub import Hub
from ioa.store import SqlStore
from tests.agents.scripts import delegate_then_conclude
from tests.conftest import card, hub_config
from tests.redis_server import free_port


async def test_agent_restarted_from_its_checkpoint_finishes_the_task(
    hub: Hub, tmp_path: Path
) -> None:
    started = asyncio.Event()

    async def stuck(job: Job) -> str:
        started.set()
        await asyncio.Event().wait()  # never finishes: the process "dies" while working
        return "unreachable"

    options = AgentOptions(state_dir=tmp_path / "worker")
    async with Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead:
        worker = await Agent(
            card("worker"), ScriptedBrain(work=stuck), hub.url, options=options
        ).start()
        worker_id = worker.id
        group = await lead.launch("count to three", roster=[worker_id])
        await asyncio.wait_for(started.wait(), 30)
        await worker.stop()

        revived = Agent(
            card("worker"), ScriptedBrain(work=lambda j: "1 2 3"), hub.url, options=options
        )
        async with revived:
            assert revived.id == worker_id  # same identity, from the saved credentials
            assert await lead.conclusion(group, timeout=30) == "1 2 3"
        history = await lead.client.history(group)
        assert [e.type for e in history] == [
            "sync_task_assign",
            "task_result",
            "conclude",
            "conclusion",
        ]


async def test_hub_restarted_mid_conversation(db_path: Path) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(job: Job) -> str:
        started.set()
        await release.wait()
        return "survived"

    first = Hub(hub_config(db_path))
    await first.start()
    port = first.port
    lead = await Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), first.url).start()
    worker = await Agent(card("worker"), ScriptedBrain(work=slow), first.url).start()
    try:
        group = await lead.launch("survive a restart", roster=[worker.id])
        await asyncio.wait_for(started.wait(), 30)
        await first.stop()
        async with Hub(hub_config(db_path, port=port)):
            release.set()  # the worker reports to the new hub once its client has reconnected
            assert await lead.conclusion(group, timeout=30) == "survived"
            history = await lead.client.history(group)
            assert [e.seq for e in history] == [1, 2, 3, 4]
            assert lead.rejections == worker.rejections == 0
    finally:
        await lead.stop()
        await worker.stop()


async def test_agents_whose_hub_dies_finish_on_the_next_hub_of_their_list(db_path: Path) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(job: Job) -> str:
        started.set()
        await release.wait()
        return "failed over"

    async with SqlStore(str(db_path)) as store:
        first = await Hub(hub_config(db_path), store=store).start()
        second_port = free_port()
        hubs = f"{first.url},http://127.0.0.1:{second_port}"
        lead = await Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hubs).start()
        worker = await Agent(card("worker"), ScriptedBrain(work=slow), hubs).start()
        try:
            group = await lead.launch("survive a dead hub", roster=[worker.id])
            await asyncio.wait_for(started.wait(), 30)
            await first.stop()
            async with Hub(hub_config(db_path, port=second_port), store=store) as second:
                release.set()  # the worker reports to the second hub once it has failed over
                assert await lead.conclusion(group, timeout=30) == "failed over"
                assert lead.client.url == worker.client.url == second.url
                history = await lead.client.history(group)
                assert [e.seq for e in history] == [1, 2, 3, 4]
                assert lead.rejections == worker.rejections == 0
        finally:
            await lead.stop()
            await worker.stop()
