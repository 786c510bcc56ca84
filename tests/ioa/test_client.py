"""`HubClient` on its own: typed answers, typed errors, resend after a lost connection."""

from __future__ import annotations

import pytest

from ioa.backoff import retry_after
from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, Envelope, ErrorCode
from protocols.frames import GroupInfo
from protocols.views import AgentInfo
from tests.conftest import AgentFactory, card


async def test_answers_are_models_not_dicts(hub: Hub, make_agent: AgentFactory) -> None:
    alice, bob = await make_agent("alice", "python"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    assert isinstance(group, GroupInfo)
    assert group.members == [alice.agent_id, bob.agent_id]
    listed = await alice.agents()
    assert all(isinstance(a, AgentInfo) for a in listed)
    assert {a.card.name for a in listed} == {"alice", "bob"}
    sent = await alice.say(group.id, Chat(text="hi"))
    assert (sent.seq, sent.sender) == (1, alice.agent_id)
    assert [e.id for e in await bob.history(group.id)] == [sent.id]


async def test_a_refusal_carries_the_hubs_error_code(hub: Hub, make_agent: AgentFactory) -> None:
    alice, mallory = await make_agent("alice"), await make_agent("mallory")
    group = await alice.create_group([])
    with pytest.raises(ClientError) as refused:
        await mallory.say(group.id, Chat(text="let me in"))
    assert refused.value.code == ErrorCode.NOT_A_MEMBER
    with pytest.raises(ClientError) as unknown:
        await alice.group("g-nowhere")
    assert unknown.value.code == ErrorCode.UNKNOWN_GROUP


async def test_a_message_sent_while_the_socket_is_gone_is_resent_once(
    hub: Hub, make_agent: AgentFactory
) -> None:
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    await alice.drop_connection()
    sent = await alice.send(Envelope(group=group.id, sender=alice.agent_id, payload=Chat(text="x")))
    await alice.wait_synced()
    assert sent.seq == 1
    got = await bob.receive(timeout=5)
    assert got.id == sent.id
    assert [e.seq for e in await bob.history(group.id)] == [1]


async def test_connecting_without_a_token_is_a_typed_error(hub: Hub) -> None:
    async with HubClient(hub.url) as nobody:
        with pytest.raises(ClientError) as refused:
            await nobody.connect()
        assert refused.value.code == "unauthorized"
        await nobody.register(card("late"))
        await nobody.connect()
        assert nobody.agent_id is not None


def test_only_a_sane_retry_after_is_taken() -> None:
    assert retry_after({"Retry-After": "2"}) == 2.0
    for bad in ("", "soon", "-1", "0", "1e9", "nan"):
        assert retry_after({"Retry-After": bad}) is None
    assert retry_after(None) is None
