"""Two hubs on one PostgreSQL and one Redis answer as one: whoever registered where, whoever
sends where, every group keeps one gap-free sequence and every id is stored once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, Envelope
from tests.conftest import card
from tests.ioa.cluster.conftest import eventually, joined


async def test_an_agent_registered_on_one_hub_is_known_on_the_other(two_hubs: list[Hub]) -> None:
    a, b = two_hubs
    alice = await joined(a.url, "alice")
    try:
        on_b = HubClient(b.url, token=alice.token, agent_id=alice.agent_id)
        async with on_b:
            assert (await on_b.agent(alice.agent_id)).card.name == "alice"  # type: ignore[arg-type]
            await on_b.update_card(card("alice", "chemistry"))
        await eventually(lambda: "chemistry" in str(a.state.registry.agents[alice.agent_id].card))
        intruder = HubClient(b.url, token="not-a-token", agent_id=alice.agent_id)
        async with intruder:
            with pytest.raises(ClientError) as refused:
                await intruder.agent(alice.agent_id)  # type: ignore[arg-type]
            assert refused.value.code == "unauthorized"
    finally:
        await alice.close()


async def test_members_on_two_hubs_share_one_gap_free_sequence(two_hubs: list[Hub]) -> None:
    a, b = two_hubs
    alice, bob = await joined(a.url, "alice"), await joined(b.url, "bob")
    try:
        group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
        sends = [alice.say(group.id, Chat(text=f"a{i}")) for i in range(40)]
        sends += [bob.say(group.id, Chat(text=f"b{i}")) for i in range(40)]
        acked = await asyncio.gather(*sends)
        assert sorted(e.seq for e in acked) == list(range(1, 81))  # type: ignore[type-var]
        got_by_bob = [await bob.receive(timeout=10) for _ in range(40)]
        got_by_alice = [await alice.receive(timeout=10) for _ in range(40)]
        assert [e.payload.text for e in got_by_bob] == [f"a{i}" for i in range(40)]  # type: ignore[attr-defined]
        assert [e.payload.text for e in got_by_alice] == [f"b{i}" for i in range(40)]  # type: ignore[attr-defined]
        for got in (got_by_bob, got_by_alice):
            assert [e.seq for e in got] == sorted(e.seq for e in got)  # type: ignore[type-var]
        stored = await a.store.messages_after(group.id, 0)
        assert [m.seq for m in stored] == list(range(1, 81))
        assert len({m.id for m in stored}) == 80
    finally:
        await alice.close()
        await bob.close()


async def test_a_resend_to_the_other_hub_is_stored_once(two_hubs: list[Hub]) -> None:
    a, b = two_hubs
    alice, bob = await joined(a.url, "alice"), await joined(b.url, "bob")
    try:
        group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
        envelope = Envelope(
            id=uuid.uuid4().hex, group=group.id, sender=alice.agent_id, payload=Chat(text="once")
        )  # type: ignore[arg-type]
        first = await alice.send(envelope)
        await bob.say(group.id, Chat(text="meanwhile"))
        alice_on_b = HubClient(b.url, token=alice.token, agent_id=alice.agent_id)
        async with alice_on_b:
            await alice_on_b.connect()
            again = await alice_on_b.send(envelope)
        assert again.seq == first.seq == 1
        stored = await b.store.messages_after(group.id, 0)
        assert (stored[0].seq, stored[0].id) == (1, envelope.id)
        assert len(stored) == 2
    finally:
        await alice.close()
        await bob.close()


async def test_presence_and_discovery_answer_the_same_on_every_hub(two_hubs: list[Hub]) -> None:
    a, b = two_hubs
    carol = await joined(a.url, "carol")
    await carol.update_card(card("carol", "crystallography"))
    watcher = await joined(b.url, "watcher")
    try:

        async def found_on_b() -> list[str]:
            return [hit.agent_id for hit in await watcher.discover("crystallography", online=True)]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while carol.agent_id not in await found_on_b():
            assert loop.time() < deadline, "carol never showed online on the other hub"
            await asyncio.sleep(0.05)
        await carol.close()
        while carol.agent_id in await found_on_b():
            assert loop.time() < deadline + 10, "carol still online after she left"
            await asyncio.sleep(0.05)
    finally:
        await carol.close()
        await watcher.close()


async def test_a_heartbeat_on_one_hub_shows_online_on_the_other(two_hubs: list[Hub]) -> None:
    a, b = two_hubs
    poller = HubClient(a.url)  # REST only: online by heartbeat, no socket anywhere
    watcher = await joined(b.url, "watcher")
    try:
        async with poller:
            await poller.register(card("poller", "seismology"))

            async def online_on_b() -> bool:
                hits = await watcher.discover("seismology", online=True)
                return poller.agent_id in [hit.agent_id for hit in hits]

            assert not await online_on_b()
            await poller.heartbeat()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not await online_on_b():
                assert loop.time() < deadline, "a heartbeat on one hub never counted on the other"
                await asyncio.sleep(0.05)
    finally:
        await watcher.close()
