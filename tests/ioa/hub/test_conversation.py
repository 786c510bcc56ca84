"""The hub enforces the conversation protocol of "ioa" groups on every frame."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import (
    Conclude,
    Conclusion,
    Discussion,
    Envelope,
    ErrorCode,
    SyncTaskAssignment,
    TaskResult,
)
from tests.conftest import AgentFactory, card, hub_config


async def test_turns_tasks_and_conclusion_are_enforced(make_agent: AgentFactory) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    coder.echo = True
    group = await lead.create_group([coder.agent_id], protocol="ioa", meta={"goal": "g"})  # type: ignore[list-item]
    gid = group.id

    with pytest.raises(ClientError) as early:
        await coder.say(gid, Discussion(text="me first"))
    assert early.value.code == "not_your_turn"

    await lead.say(gid, Discussion(text="plan"), to=[coder.agent_id])  # type: ignore[list-item]
    with pytest.raises(ClientError) as wrong:
        await coder.say(gid, TaskResult(task_id="t9", result="?"))
    assert wrong.value.code == "unknown_task"
    await coder.say(
        gid, SyncTaskAssignment(task_id="t1", description="write it"), to=[lead.agent_id]
    )  # type: ignore[list-item]

    with pytest.raises(ClientError) as waiting:
        await coder.say(gid, Discussion(text="still me?"))
    assert waiting.value.code == "not_your_turn"
    await lead.say(gid, TaskResult(task_id="t1", result="done: 42"))
    await coder.say(gid, Conclude(text="enough"))
    await coder.say(gid, Conclusion(text="the answer is 42"))
    with pytest.raises(ClientError) as over:
        await lead.say(gid, Discussion(text="wait"))
    assert over.value.code == "conversation_over"

    expected = ["discussion", "sync_task_assign", "task_result", "conclude", "conclusion"]
    seen = [await coder.receive(timeout=5) for _ in expected]  # own messages echo, in order
    assert [e.type for e in seen] == expected
    assert [e.seq for e in seen] == [1, 2, 3, 4, 5]
    assert [e.type for e in await lead.history(gid)] == expected


async def test_chat_groups_refuse_protocol_messages(make_agent: AgentFactory) -> None:
    a, b = await make_agent("a"), await make_agent("b")
    group = await a.create_group([b.agent_id])  # type: ignore[list-item]
    with pytest.raises(ClientError) as err:
        await a.say(group.id, Discussion(text="x"))
    assert err.value.code == ErrorCode.UNSUPPORTED_MESSAGE_TYPE


async def test_bad_conversation_settings_are_refused(make_agent: AgentFactory) -> None:
    a = await make_agent("a")
    with pytest.raises(ClientError) as err:
        await a.create_group([], protocol="ioa", meta={"max_turns": 0})
    assert err.value.code == "invalid_request"
    with pytest.raises(ClientError) as err2:
        await a.create_group([], protocol="ioa", meta={"initiator": "a-stranger"})
    assert err2.value.code == "invalid_request"
    for patience in (0, 101, "forever"):
        with pytest.raises(ClientError) as err3:
            await a.create_group([], protocol="ioa", meta={"max_silent_turns": patience})
        assert err3.value.code == "invalid_request"
        assert "max_silent_turns" in err3.value.message


async def test_hub_clock_passes_a_lapsed_turn(make_agent: AgentFactory) -> None:
    a, b = await make_agent("a"), await make_agent("b")
    group = await a.create_group([b.agent_id], protocol="ioa", meta={"turn_timeout": 0.3})  # type: ignore[list-item]
    timeout = await b.receive(timeout=5)
    assert timeout.type == "timeout"
    assert timeout.sender == "hub"
    assert timeout.payload.agent == a.agent_id  # type: ignore[attr-defined]
    await b.say(group.id, Discussion(text="my turn now"))  # round robin gave b the turn


async def test_restarted_hub_rebuilds_conversation_state(db_path: object) -> None:
    config = hub_config(db_path)  # type: ignore[arg-type]
    async with Hub(config) as hub, HubClient(hub.url) as a, HubClient(hub.url) as b:
        await a.register(card("a"))
        await b.register(card("b"))
        await a.connect()
        group = await a.create_group([b.agent_id], protocol="ioa")  # type: ignore[list-item]
        await a.say(group.id, Discussion(text="over to b"), to=[b.agent_id])  # type: ignore[list-item]
        creds = (a.token, a.agent_id, b.token, b.agent_id)

    async with Hub(config) as hub:
        async with HubClient(hub.url, token=creds[0], agent_id=creds[1]) as a2:
            await a2.connect()
            with pytest.raises(ClientError) as err:
                await a2.say(group.id, Discussion(text="again"))
            assert err.value.code == "not_your_turn"
        async with HubClient(hub.url, token=creds[2], agent_id=creds[3]) as b2:
            await b2.connect()
            sent = await b2.say(group.id, Discussion(text="b speaks"))
            assert sent.seq == 2


async def test_new_group_is_announced_to_connected_members(make_agent: AgentFactory) -> None:
    a, b = await make_agent("a"), await make_agent("b")
    joined: asyncio.Queue[str] = asyncio.Queue()
    b.on_joined = lambda info: joined.put_nowait(info.id)
    group = await a.create_group([b.agent_id], name="new")  # type: ignore[list-item]
    assert await asyncio.wait_for(joined.get(), 5) == group.id


async def _post(client: HubClient, group_id: str, text: str) -> None:
    """Say something over HTTP, so the answer is the hub's verdict (no socket needed)."""
    sender = str(client.agent_id)
    envelope = Envelope(group=group_id, sender=sender, payload=Discussion(text=text))
    await client.request("POST", f"/v1/groups/{group_id}/messages", envelope.model_dump())


async def _settled(client: HubClient, goal_id: str, within: float) -> dict[str, Any]:
    """The goal's view once it is no longer running, or as it is after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        view = await client.request("GET", f"/v1/goals/{goal_id}")
        if view["status"] != "running" or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.05)


async def test_a_goal_nobody_speaks_in_fails_after_a_bounded_silence(db_path: Path) -> None:
    period = 0.2
    config = hub_config(db_path)
    async with Hub(config) as hub, HubClient(hub.url) as a, HubClient(hub.url) as b:
        await a.register(card("a"))
        await b.register(card("b"))
        body = {"goal": "anyone?", "roster": [a.agent_id, b.agent_id], "turn_timeout": period}
        goal = await a.request("POST", "/v1/goals", body)
        view = await _settled(a, goal["id"], within=25 * period)
        transcript = await a.history(goal["group"])
        assert [(e.sender, e.type) for e in transcript] == [("hub", "timeout")] * 3 + [
            ("hub", "conclusion")
        ]
        reason = "ended by the hub: no member spoke for 3 turns"
        assert (view["status"], view["conclusion"]) == ("failed", reason)
        await asyncio.sleep(5 * period)
        assert len(await a.history(goal["group"])) == len(transcript)
        with pytest.raises(ClientError) as over:
            await _post(b, goal["group"], "too late")
        assert over.value.code == "conversation_over"
        creds = (b.token, b.agent_id)

    async with Hub(config) as hub, HubClient(hub.url, token=creds[0], agent_id=creds[1]) as b2:
        await asyncio.sleep(5 * period)
        assert len(await b2.history(goal["group"])) == len(transcript)
        with pytest.raises(ClientError) as still_over:
            await _post(b2, goal["group"], "after a restart")
        assert still_over.value.code == "conversation_over"
