"""The REST surface: auth, registry records, presence, errors as typed JSON."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, Envelope
from tests.conftest import AgentFactory, card, hub_config


async def test_requests_without_a_valid_token_are_unauthorized(hub: Hub) -> None:
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
            async with session.get(hub.url + "/v1/agents", headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["error"]["code"] == "unauthorized"
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(hub.url + "/v1/ws", headers={"Authorization": "Bearer x"})
        assert err.value.status == 401


async def test_bad_bodies_and_routes_get_typed_errors(hub: Hub, make_agent: AgentFactory) -> None:
    alice = await make_agent("alice", connect=False)
    headers = {"Authorization": f"Bearer {alice.token}"}
    cases = [
        ("POST", "/v1/agents", "{not json", 400, "malformed_json"),
        ("POST", "/v1/agents", '{"name": ""}', 400, "invalid_request"),
        ("POST", "/v1/groups", '{"members": ["a-ghost"]}', 404, "unknown_agent"),
        ("POST", "/v1/groups", '{"protocol": "martian"}', 400, "invalid_request"),
        ("GET", "/v1/groups/g-none", None, 404, "unknown_group"),
        ("GET", "/v1/nowhere", None, 404, "not_found"),
        ("PATCH", "/v1/agents", None, 405, "method_not_allowed"),
        ("POST", "/v1/agents", '{"name": "' + "x" * 300_000 + '"}', 413, "frame_too_large"),
    ]
    async with aiohttp.ClientSession() as session:
        for method, path, body, status, code in cases:
            async with session.request(method, hub.url + path, data=body, headers=headers) as r:
                assert r.status == status, (method, path)
                assert (await r.json())["error"]["code"] == code


async def test_agent_records_update_delete_and_only_by_self(
    hub: Hub, make_agent: AgentFactory
) -> None:
    alice, bob = await make_agent("alice", "python"), await make_agent("bob", connect=False)
    record = await bob.agent(alice.agent_id)  # type: ignore[arg-type]
    assert record.card.skills[0].name == "python"
    assert record.online is True

    with pytest.raises(ClientError) as err:
        await bob.request("PUT", f"/v1/agents/{alice.agent_id}", card("evil").model_dump())
    assert err.value.code == "forbidden"
    updated = await alice.update_card(card("alice", "python", "rust"))
    assert [s.name for s in updated.card.skills] == ["python", "rust"]
    assert updated.card.id == alice.agent_id

    await alice.deregister()
    with pytest.raises(ClientError) as gone:
        await bob.agent(alice.agent_id)  # type: ignore[arg-type]
    assert gone.value.code == "unknown_agent"
    with pytest.raises(ClientError) as revoked:
        await alice.agents()
    assert revoked.value.code == "unauthorized"


async def test_presence_follows_socket_and_heartbeats(db_path: object) -> None:
    config = hub_config(db_path, heartbeat_timeout=0.3)  # type: ignore[arg-type]
    async with Hub(config) as hub, HubClient(hub.url) as a, HubClient(hub.url) as b:
        await a.register(card("a"))
        await b.register(card("b"))

        async def online(agent_id: str) -> bool:
            return (await a.agent(agent_id)).online

        assert not await online(b.agent_id)  # type: ignore[arg-type]
        await b.heartbeat()
        assert await online(b.agent_id)  # type: ignore[arg-type]
        await asyncio.sleep(0.4)
        assert not await online(b.agent_id)  # type: ignore[arg-type]
        await b.connect()
        assert await online(b.agent_id)  # type: ignore[arg-type]
        assert [x.card.name for x in await a.agents(online=True)] == ["b"]
        await b.close()
        await asyncio.sleep(0.4)
        assert not await online(b.agent_id)  # type: ignore[arg-type]


async def test_registration_token_guards_registration(db_path: object) -> None:
    config = hub_config(db_path, registration_token="let-me-in")  # type: ignore[arg-type]
    async with Hub(config) as hub, HubClient(hub.url) as client:
        with pytest.raises(ClientError) as err:
            await client.register(card("x"))
        assert err.value.code == "unauthorized"
        assert (await client.register(card("x"), registration_token="let-me-in")).startswith("a-")


async def test_message_over_http_is_stored_and_delivered(make_agent: AgentFactory) -> None:
    alice, bob = await make_agent("alice", connect=False), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    env = Envelope(group=group.id, sender=alice.agent_id, payload=Chat(text="via http"))  # type: ignore[arg-type]
    ack = await alice.request("POST", f"/v1/groups/{group.id}/messages", env.model_dump())
    assert ack["seq"] == 1
    got = await bob.receive(timeout=5)
    assert got.id == env.id
    assert got.seq == 1
    assert got.ts == ack["ts"]
