"""Stepping in from the dashboard over real HTTP: a person's legal moves, and only those, sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from protocols import AgentCard, Chat, Discussion, Envelope
from tests.conftest import AgentFactory, hub_config
from tests.ioa.hub.dashboard.test_dashboard_api import get
from tests.ioa.hub.dashboard.test_dashboard_stream import post


async def seated(hub: Hub, person: HubClient, make_agent: AgentFactory) -> tuple[HubClient, str]:
    """A conversation of `lead` and the person, where it is the person's turn."""
    lead = await make_agent("lead")
    me = person.agent_id or ""
    group = await lead.create_group([me], name="with ada", protocol="ioa")
    await lead.say(group.id, Discussion(text="your turn, ada"), to=[me])
    return lead, group.id


async def test_a_person_sees_their_legal_moves_and_sends_one(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead, group_id = await seated(hub, person, make_agent)
    path = f"/v1/dashboard/groups/{group_id}/moves"
    status, seat = await get(hub, path, person.token)
    assert status == 200
    assert (seat["head"], seat["phase"], seat["speaker"]) == (1, "open", person.agent_id)
    kinds = [m["type"] for m in seat["moves"]]
    assert "discussion" in kinds
    (discussion,) = [m["schema"] for m in seat["moves"] if m["type"] == "discussion"]
    assert discussion["properties"]["next_speaker"] == {"enum": [lead.agent_id]}

    move = {"type": "discussion", "text": "hello lead", "next_speaker": lead.agent_id}
    status, sent = await post(hub, path, person.token, {"move": move})
    assert (status, sent["seq"]) == (201, 2)
    (stored,) = await hub.store.messages_after(group_id, 1, 10)
    envelope = Envelope.model_validate_json(stored.body)
    assert (envelope.sender, envelope.to, envelope.payload) == (
        person.agent_id,
        [lead.agent_id],
        Discussion(text="hello lead"),
    )
    status, seat = await get(hub, path, person.token)  # lead's turn now: no move for ada
    assert (status, seat["moves"], seat["speaker"]) == (200, [], lead.agent_id)


HOSTILE: list[tuple[Any, int, str]] = [
    (b"{nope", 400, "malformed_json"),
    ({"move": "discussion"}, 400, "invalid_request"),
    ({"move": {"type": "discussion", "text": "x"}, "also": 1}, 400, "invalid_request"),
    ({"move": {"type": "teleport"}}, 409, "invalid_move"),
    ({"move": {"type": "discussion", "text": "x", "sender": "lead"}}, 409, "invalid_move"),
    ({"move": {"type": "discussion", "text": "x", "next_speaker": "a-stranger"}}, 409, None),
    ({"move": {"type": "discussion", "text": 7}}, 409, "invalid_move"),
    ({"move": {"type": "task_result", "task_id": "t9", "status": "done", "result": ""}}, 409, None),
    ({"move": {"type": "discussion", "text": "x" * 300_000}}, 413, "frame_too_large"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"), HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))]
)
async def test_a_bad_move_is_a_typed_error_and_changes_nothing(
    hub: Hub, person: HubClient, make_agent: AgentFactory, body: Any, status: int, code: str | None
) -> None:
    _, group_id = await seated(hub, person, make_agent)
    path = f"/v1/dashboard/groups/{group_id}/moves"
    got, answer = await post(hub, path, person.token, body)
    assert got == status, answer
    if code is not None:
        assert answer["error"]["code"] == code
    group = hub.state.registry.groups[group_id]
    assert group.head == 1
    assert len(await hub.store.messages_after(group_id, 0, 10)) == 1
    _, seat = await get(hub, path, person.token)
    assert seat["speaker"] == person.agent_id  # still ada's turn: the refusal moved nothing


async def test_only_a_member_person_has_a_seat(hub: Hub, make_agent: AgentFactory) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    talk = await lead.create_group([coder.agent_id or ""], name="talk", protocol="ioa")
    async with HubClient(hub.url) as bea:
        await bea.register(AgentCard(name="bea", kind="human"))
        cases = [
            (None, talk.id, 401, "unauthorized"),
            ("not-a-token", talk.id, 401, "unauthorized"),
            (lead.token, talk.id, 403, "forbidden"),  # an agent uses its own client, not the page
            (bea.token, talk.id, 403, "not_a_member"),
            (bea.token, "g-nothing", 404, "unknown_group"),
        ]
        for token, group_id, status, code in cases:
            path = f"/v1/dashboard/groups/{group_id}/moves"
            got, answer = await get(hub, path, token)
            assert (got, answer["error"]["code"]) == (status, code)
            got, answer = await post(hub, path, token, {"move": {"type": "pass", "text": ""}})
            assert (got, answer["error"]["code"]) == (status, code)
    assert hub.state.registry.groups[talk.id].head == 0


async def test_the_operator_has_no_seat(db_path: Path) -> None:
    async with (
        Hub(hub_config(db_path, admin_token="op-secret")) as hub,
        HubClient(hub.url) as lead,
    ):
        await lead.register(AgentCard(name="lead"))
        group = await lead.create_group([], name="solo", protocol="ioa")
        got, answer = await get(hub, f"/v1/dashboard/groups/{group.id}/moves", "op-secret")
        assert (got, answer["error"]["code"]) == (403, "forbidden")
        assert "person" in answer["error"]["message"]


async def test_plain_chat_has_no_moves(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead = await make_agent("lead")
    chat = await lead.create_group([person.agent_id or ""], name="chat", protocol="chat")
    await lead.say(chat.id, Chat(text="hi"))
    got, answer = await get(hub, f"/v1/dashboard/groups/{chat.id}/moves", person.token)
    assert (got, answer["error"]["code"]) == (400, "invalid_request")
