"""Agents register, form groups and exchange messages through a real hub on loopback."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, Envelope
from tests.conftest import AgentFactory, card, hub_config


async def test_three_agents_exchange_messages_in_order(make_agent: AgentFactory) -> None:
    alice, bob, carol = [await make_agent(n) for n in ("alice", "bob", "carol")]
    group = await alice.create_group([bob.agent_id, carol.agent_id], name="trio")  # type: ignore[list-item]
    assert group.members == [alice.agent_id, bob.agent_id, carol.agent_id]

    sent = []
    for i in range(5):
        sent.append(await alice.say(group.id, Chat(text=f"a{i}")))
        sent.append(await bob.say(group.id, Chat(text=f"b{i}"), to=[carol.agent_id]))  # type: ignore[list-item]
    assert [e.seq for e in sent] == list(range(1, 11))

    got = [await carol.receive(timeout=5) for _ in range(10)]
    assert [e.payload.text for e in got] == [e.payload.text for e in sent]  # type: ignore[attr-defined]
    assert [e.seq for e in got] == list(range(1, 11))
    assert got[1].to == [carol.agent_id]
    # a sender does not get its own messages back; it has the ack
    bob_got = [await bob.receive(timeout=5) for _ in range(5)]
    assert {e.sender for e in bob_got} == {alice.agent_id}

    history = await carol.history(group.id, after=4)
    assert [e.seq for e in history] == list(range(5, 11))


async def test_non_member_can_neither_read_nor_post(make_agent: AgentFactory) -> None:
    alice, bob, mallory = [await make_agent(n) for n in ("alice", "bob", "mallory")]
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    await alice.say(group.id, Chat(text="secret"))

    with pytest.raises(ClientError) as read:
        await mallory.history(group.id)
    assert read.value.code == "not_a_member"
    with pytest.raises(ClientError) as get:
        await mallory.group(group.id)
    assert get.value.code == "not_a_member"
    with pytest.raises(ClientError) as post:
        await mallory.say(group.id, Chat(text="let me in"))
    assert post.value.code == "not_a_member"
    with pytest.raises(asyncio.TimeoutError):
        await mallory.receive(timeout=0.3)
    assert len(await alice.history(group.id)) == 1


async def test_addressees_must_be_members(make_agent: AgentFactory) -> None:
    alice, bob, outsider = [await make_agent(n) for n in ("alice", "bob", "outsider")]
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    with pytest.raises(ClientError) as err:
        await alice.say(group.id, Chat(text="hi"), to=[outsider.agent_id])  # type: ignore[list-item]
    assert err.value.code == "invalid_addressee"


async def _raw_socket(
    session: aiohttp.ClientSession, hub: Hub, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(hub.url + "/v1/ws", headers={"Authorization": f"Bearer {token}"})
    assert json.loads((await ws.receive()).data)["op"] == "welcome"
    await ws.send_str('{"op":"hello","cursors":{}}')
    assert json.loads((await ws.receive()).data)["op"] == "synced"
    return ws


async def test_bad_frames_rejected_with_codes_and_socket_survives(
    hub: Hub, make_agent: AgentFactory
) -> None:
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    good = Envelope(group=group.id, sender=alice.agent_id, payload=Chat(text="ok"))  # type: ignore[arg-type]

    def frame(env: Envelope) -> str:
        return '{"op":"send","envelope":' + env.model_dump_json() + "}"

    spoofed = good.model_copy(update={"sender": bob.agent_id, "id": "spoof1"})
    unknown = good.model_copy(update={"group": "g-nope", "id": "unknown1"})
    huge = good.model_copy(update={"payload": Chat(text="x" * 30_000), "id": "huge1"})
    cases = [
        (frame(spoofed), "sender_mismatch"),
        ('{"op":"send","envelope":{', "malformed_json"),
        ('{"op":"send","envelope":{"group":"g"}}', "invalid_envelope"),
        ('{"op":"shout"}', "invalid_envelope"),
        (frame(unknown), "unknown_group"),
        (frame(huge) + " " * (hub.config.max_frame_bytes), "frame_too_large"),
    ]
    async with aiohttp.ClientSession() as session:
        ws = await _raw_socket(session, hub, alice.token)  # type: ignore[arg-type]
        for raw, code in cases:
            await ws.send_str(raw)
            reply = json.loads((await ws.receive(timeout=5)).data)
            assert reply["op"] == "error", raw[:80]
            assert reply["error"]["code"] == code
            assert reply["error"]["message"]
        await ws.send_str(frame(good))
        ack = json.loads((await ws.receive(timeout=5)).data)
        assert ack == {"op": "ack", "id": good.id, "group": group.id, "seq": 1, "ts": ack["ts"]}
        await ws.close()
    stored = await bob.history(group.id)
    assert [e.id for e in stored] == [good.id]
    health = await alice.request("GET", "/v1/health")
    assert health["rejections"]["sender_mismatch"] == 1


async def test_send_before_hello_is_refused(hub: Hub, make_agent: AgentFactory) -> None:
    alice = await make_agent("alice", connect=False)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            hub.url + "/v1/ws", headers={"Authorization": f"Bearer {alice.token}"}
        )
        await ws.receive()
        env = Envelope(group="g-x", sender=alice.agent_id, payload=Chat(text="early"))  # type: ignore[arg-type]
        await ws.send_str('{"op":"send","envelope":' + env.model_dump_json() + "}")
        reply = json.loads((await ws.receive(timeout=5)).data)
        assert reply["error"]["code"] == "hello_required"
        await ws.close()


async def test_resent_message_is_stored_once(make_agent: AgentFactory) -> None:
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    env = Envelope(group=group.id, sender=alice.agent_id, payload=Chat(text="once"))  # type: ignore[arg-type]
    first = await alice.send(env)
    again = await alice.send(env)
    assert first.seq == again.seq == 1
    assert len(await alice.history(group.id)) == 1
    assert (await bob.receive(timeout=5)).id == env.id
    with pytest.raises(asyncio.TimeoutError):
        await bob.receive(timeout=0.3)


async def test_disconnected_client_resumes_without_loss_or_duplicates(
    make_agent: AgentFactory,
) -> None:
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    received: list[int] = []

    async def reader() -> None:
        while len(received) < 200:
            env = await bob.receive(timeout=10)
            received.append(env.seq or 0)

    task = asyncio.create_task(reader())
    for i in range(200):
        await alice.say(group.id, Chat(text=str(i)))
        if i in (50, 120):
            await bob.drop_connection()
        if i == 170:
            await alice.drop_connection()  # the sender drops too; unacked sends are resent
    await asyncio.wait_for(task, 20)
    assert received == list(range(1, 201))


async def test_offline_member_catches_up_on_connect(hub: Hub, make_agent: AgentFactory) -> None:
    alice = await make_agent("alice")
    bob = await make_agent("bob", connect=False)
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    for i in range(30):
        await alice.say(group.id, Chat(text=str(i)))
    await bob.connect()
    got = [await bob.receive(timeout=5) for _ in range(30)]
    assert [e.payload.text for e in got] == [str(i) for i in range(30)]  # type: ignore[attr-defined]


async def test_restarted_hub_keeps_agents_groups_and_messages(db_path: object) -> None:
    config = hub_config(db_path)  # type: ignore[arg-type]
    async with Hub(config) as hub, HubClient(hub.url) as alice, HubClient(hub.url) as bob:
        await alice.register(card("alice", "python"))
        await bob.register(card("bob", "review"))
        await alice.connect()
        group = await alice.create_group([bob.agent_id], name="pair")  # type: ignore[list-item]
        for i in range(25):
            await alice.say(group.id, Chat(text=str(i)))
        tokens = (alice.agent_id, alice.token, bob.agent_id, bob.token)

    async with Hub(config) as hub:
        a_id, a_token, b_id, b_token = tokens
        async with HubClient(hub.url, token=b_token, agent_id=b_id) as bob2:
            agents = await bob2.agents()
            assert {a.card.name for a in agents} == {"alice", "bob"}
            assert (await bob2.group(group.id)).members == [a_id, b_id]
            await bob2.connect()
            got = [await bob2.receive(timeout=5) for _ in range(25)]
            assert [e.seq for e in got] == list(range(1, 26))
        async with HubClient(hub.url, token=a_token, agent_id=a_id) as alice2:
            await alice2.connect()
            sent = await alice2.say(group.id, Chat(text="after restart"))
            assert sent.seq == 26


@pytest.mark.parametrize("text", ["hi", "é" * 30_000, "€" * 32_000])
async def test_messages_of_every_frame_length_arrive_whole(
    make_agent: AgentFactory, text: str
) -> None:
    """The hub writes its frames itself: acks use the 7-bit length, these deliveries the 16-bit
    (up to 64 KiB) and the 64-bit one (96 KB of UTF-8); every byte must arrive."""
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
    sent = await alice.say(group.id, Chat(text=text))
    got = await bob.receive(timeout=5)
    assert got.payload.text == text  # type: ignore[attr-defined]
    assert (got.id, got.seq) == (sent.id, sent.seq)


@pytest.mark.parametrize("text", ["hi", "x" * 3_000])
async def test_a_burst_comes_back_whole_and_in_order(
    hub: Hub, make_agent: AgentFactory, text: str
) -> None:
    """Frames one batch owes one connection leave in one write (up to a cap, then the usual
    way): 200 messages sent at once must come back as 200 whole acks and 200 whole deliveries,
    in seq order, however they were cut into writes."""
    alice, bob = await make_agent("alice"), await make_agent("bob")
    group = (await alice.create_group([bob.agent_id])).id  # type: ignore[list-item]
    await alice.close()  # its frames are sent raw below
    ws_url = hub.url.replace("http", "ws", 1) + "/v1/ws"
    async with aiohttp.ClientSession() as session:
        raw = await session.ws_connect(
            ws_url, headers={"Authorization": f"Bearer {alice.token}"}, max_msg_size=0
        )
        await raw.send_str(json.dumps({"op": "hello", "cursors": {}}))
        envelopes = [
            Envelope(group=group, sender=alice.agent_id, payload=Chat(text=f"{i} {text}"))  # type: ignore[arg-type]
            for i in range(200)
        ]
        for envelope in envelopes:  # all at once: the hub batches them
            await raw.send_str(json.dumps({"op": "send", "envelope": envelope.model_dump()}))
        acks = []
        while len(acks) < 200:
            frame = json.loads(await raw.receive_str(timeout=10))
            if frame["op"] == "ack":
                acks.append(frame)
        await raw.close()
    assert [a["id"] for a in acks] == [e.id for e in envelopes]
    assert [a["seq"] for a in acks] == list(range(1, 201))
    got = [await bob.receive(timeout=10) for _ in range(200)]
    assert [e.seq for e in got] == list(range(1, 201))
    assert [e.payload.text for e in got] == [e.payload.text for e in envelopes]  # type: ignore[attr-defined]
