"""Three `ioa hub` processes on one PostgreSQL and one Redis: one is killed -9 mid-conversation
(two members on it, a task in flight, a turn deadline pending); its agents resume on another
hub, the conversation goes on, the deadline fires once, and the store shows nothing lost,
duplicated or reordered."""

from __future__ import annotations

import asyncio
import itertools
import time

from ioa.client import ClientError, HubClient
from ioa.store import SqlStore
from protocols import Discussion, Envelope, SyncTaskAssignment, TaskResult
from tests.ioa.cluster.conftest import HubProcess, joined

TURN = 2.0


async def resumed(old: HubClient, url: str) -> HubClient:
    """The same agent, connected to another hub from where it was."""
    client = HubClient(url, token=old.token, agent_id=old.agent_id, cursors=old.cursors)
    await client.__aenter__()
    await client.connect()
    await client.wait_synced()
    return client


async def until_concluded(client: HubClient, within: float) -> list[Envelope]:
    got: list[Envelope] = []
    while not got or got[-1].type != "conclusion":
        got.append(await client.receive(timeout=within))
    return got


async def test_killing_a_hub_loses_nothing_and_fires_its_deadline_once(
    hub_processes: list[HubProcess], fresh_postgres_url: str
) -> None:
    doomed, other, third = hub_processes
    lead, coder = await joined(doomed.url, "lead"), await joined(doomed.url, "coder")
    reviewer = await joined(other.url, "reviewer")
    clients = [lead, coder, reviewer]
    try:
        group = await lead.create_group(
            [coder.agent_id, reviewer.agent_id],  # type: ignore[list-item]
            protocol="ioa",
            meta={"goal": "g", "turn_timeout": TURN, "max_silent_turns": 2},
        )
        await lead.say(group.id, Discussion(text="plan"), to=[coder.agent_id])  # type: ignore[list-item]
        await coder.say(
            group.id, SyncTaskAssignment(task_id="t1", description="do it"), to=[lead.agent_id]
        )  # type: ignore[list-item]
        await asyncio.sleep(0.3)  # let the lead's copy catch up with the assignment
        killed_at = time.monotonic()
        doomed.kill()

        lead2, coder2 = await asyncio.gather(resumed(lead, third.url), resumed(coder, third.url))
        clients += [lead2, coder2]
        failover = time.monotonic() - killed_at
        assert failover < 5.0, f"failover took {failover:.1f} s"
        try:
            await lead2.say(group.id, TaskResult(task_id="t1", result="done"))
        except ClientError as refused:  # the deadline passed first: the hub moved on
            code = refused.code
        else:
            code = "accepted"
        assert code in {"accepted", "not_your_turn", "unknown_task"}

        reviewer_got = await until_concluded(reviewer, within=TURN * 4)
        assert any(e.type == "timeout" for e in reviewer_got), "no hub fired the deadline"
    finally:
        for client in clients:
            await client.close()

    store = SqlStore(fresh_postgres_url)
    await store.start()
    try:
        stored = await store.messages_after(group.id, 0)
    finally:
        await store.close()
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert len({m.id for m in stored}) == len(stored)
    for before, msg in itertools.pairwise(stored):
        if msg.type == "timeout":  # a second firing of one deadline would come at once
            assert msg.ts - before.ts >= TURN - 0.05, (before, msg)
    assert stored[-1].type == "conclusion"
    assert [e.seq for e in reviewer_got] == [m.seq for m in stored if m.sender != reviewer.agent_id]
