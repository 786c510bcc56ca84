"""A write the store refuses leaves no trace: not in the store, the seq head or the conversation.

The failure is real: a SQLite trigger aborts any insert of a message whose id starts with
"poison", so the hub's batch write fails inside the database exactly as a full disk would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, Discussion, Envelope
from tests.conftest import card, hub_config

POISON = """
CREATE TRIGGER IF NOT EXISTS poison BEFORE INSERT ON messages
WHEN NEW.id LIKE 'poison%'
BEGIN SELECT RAISE(ABORT, 'poisoned message'); END;
"""


def poison(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.executescript(POISON)


async def two_agents(hub: Hub) -> tuple[HubClient, HubClient]:
    alice, bob = HubClient(hub.url), HubClient(hub.url)
    for client, name in ((alice, "alice"), (bob, "bob")):
        await client.__aenter__()
        await client.register(card(name))
        await client.connect()
    return alice, bob


async def test_a_refused_write_leaves_the_sequence_gap_free(db_path: Path) -> None:
    async with Hub(hub_config(db_path)) as hub:
        poison(db_path)
        alice, bob = await two_agents(hub)
        group = (await alice.create_group([bob.agent_id])).id
        assert isinstance(group, str)
        first = await alice.say(group, Chat(text="one"))
        with pytest.raises(ClientError) as refused:
            await alice.send(
                Envelope(id="poison-1", group=group, sender=alice.agent_id, payload=Chat(text="x"))
            )
        assert refused.value.code == "unavailable"
        third = await alice.say(group, Chat(text="three"))
        assert (first.seq, third.seq) == (1, 2)
        assert hub.state.registry.group(group).head == 2
        assert [e.seq for e in await alice.history(group)] == [1, 2]
        got = [await bob.receive(timeout=5) for _ in range(2)]
        assert [e.payload.text for e in got] == ["one", "three"]  # type: ignore[attr-defined]
        await alice.close()
        await bob.close()


async def test_a_refused_move_does_not_advance_the_conversation(db_path: Path) -> None:
    async with Hub(hub_config(db_path)) as hub:
        poison(db_path)
        alice, bob = await two_agents(hub)
        group = (await alice.create_group([bob.agent_id], protocol="ioa")).id
        assert isinstance(group, str)
        move = Discussion(text="I propose we start")
        with pytest.raises(ClientError) as refused:
            await alice.send(
                Envelope(id="poison-2", group=group, sender=alice.agent_id, payload=move)
            )
        assert refused.value.code == "unavailable"
        # Had the refused move counted, the turn would be bob's and alice's next move illegal.
        again = await alice.send(Envelope(group=group, sender=alice.agent_id, payload=move))
        assert again.seq == 1
        reply = await bob.send(
            Envelope(group=group, sender=bob.agent_id, payload=Discussion(text="agreed"))
        )
        assert reply.seq == 2
        await alice.close()
        await bob.close()
