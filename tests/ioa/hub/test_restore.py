"""Rebuilding groups after a start shares the event loop: a long transcript is replayed in slices,
and the background rebuild waits while clients resume (a group they use is rebuilt on demand)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ioa.hub.entries import hash_token, new_agent_id, new_group_id
from ioa.hub.registry import REPLAY_SLICE, Registry
from ioa.store import AgentRecord, GroupRecord, SqlStore, StoredMessage
from protocols import Chat, Discussion, Envelope
from protocols.conversation import apply
from protocols.conversation.settings import conversation_for_group
from tests.conftest import card

TURNS = 10 * REPLAY_SLICE


def transcript(group_id: str, members: list[str], protocol: str, count: int) -> list[StoredMessage]:
    """`count` legal stored moves: discussion turns in an "ioa" group, chat otherwise."""
    start = time.time() - 60
    state = conversation_for_group(group_id, members, {"max_turns": 10_000}, start)
    out = []
    for seq in range(1, count + 1):
        ts = start + seq * 0.001
        if protocol == "ioa":
            sender = state.speaker or members[0]
            env = Envelope(group=group_id, sender=sender, payload=Discussion(text="t"), ts=ts)
            state = apply(state, env)
        else:
            sender = members[seq % 2]
            env = Envelope(group=group_id, sender=sender, payload=Chat(text="t"), ts=ts)
        body = env.model_copy(update={"seq": seq}).model_dump_json()
        out.append(StoredMessage(group_id, seq, env.id, sender, env.type, ts, body))
    return out


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlStore]:
    opened = await SqlStore(str(db_path)).start()
    try:
        yield opened
    finally:
        await opened.close()


async def stored_groups(store: SqlStore, protocols: list[str], count: int) -> None:
    members = [new_agent_id(), new_agent_id()]
    for agent_id in members:
        record = AgentRecord(agent_id, card(agent_id).model_dump_json(), hash_token(agent_id), 0.0)
        await store.add_agent(record)
    for protocol in protocols:
        group_id = new_group_id()
        meta = '{"max_turns": 10000}' if protocol == "ioa" else "{}"
        await store.add_group(GroupRecord(group_id, "g", members[0], 0.0, members, protocol, meta))
        await store.append_messages(transcript(group_id, members, protocol, count))


async def loaded(store: SqlStore) -> Registry:
    registry = Registry(store)
    await registry.load()
    assert registry.restoring == len(registry.groups)
    return registry


async def test_a_long_transcript_is_replayed_in_slices_between_other_work(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stored_groups(store, ["ioa"], TURNS)
    registry = await loaded(store)
    group = next(iter(registry.groups.values()))
    turns_of_the_loop = 0
    folds: list[tuple[int, int]] = []
    """(messages folded, turns of the loop so far) per call of the group's real `fold`."""
    fold = group.policy.fold

    def watched(messages: Sequence[StoredMessage]) -> None:
        folds.append((len(messages), turns_of_the_loop))
        fold(messages)

    monkeypatch.setattr(group.policy, "fold", watched)
    rebuilt = asyncio.ensure_future(registry.ready(group))
    while not rebuilt.done():
        turns_of_the_loop += 1
        await asyncio.sleep(0)
    await rebuilt
    assert group.restored
    assert group.head == TURNS
    for message_id, seq, ts in await store.message_keys(group.id):
        assert group.seen.recent(message_id) == (seq, ts)  # every stored id is known again
    assert sum(n for n, _ in folds) == TURNS
    assert max(n for n, _ in folds) <= REPLAY_SLICE
    turns = [t for _, t in folds]
    assert all(b > a for a, b in itertools.pairwise(turns)), "the loop ran between two slices"


async def test_the_background_rebuild_waits_while_clients_resume(store: SqlStore) -> None:
    await stored_groups(store, ["chat", "chat", "ioa"], 5)
    registry = await loaded(store)
    quiet = asyncio.Event()
    background = asyncio.ensure_future(registry.restore_all(quiet.wait))
    for _ in range(50):
        await asyncio.sleep(0)
    assert registry.restoring == 3  # nothing rebuilt while a client resumes

    used = next(g for g in registry.groups.values() if g.protocol == "ioa")
    await registry.ready(used)  # a group used meanwhile is rebuilt on its first use
    assert used.restored
    assert used.head == 5
    assert registry.restoring == 2

    quiet.set()
    await background
    assert registry.restoring == 0
    assert all(g.head == 5 for g in registry.groups.values())
