"""`SqlStore` against a real SQLite file and a real PostgreSQL server, with the same tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.store import (
    AgentRecord,
    DuplicateMessage,
    GoalRecord,
    GroupRecord,
    SqlStore,
    StoredMessage,
    StoreError,
    normalize_url,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    async with SqlStore(store_url) as opened:
        yield opened


def uid(prefix: str) -> str:
    """Unique ids, so tests sharing one PostgreSQL database never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def msg(group: str, seq: int, sender: str = "a", mid: str | None = None) -> StoredMessage:
    return StoredMessage(group, seq, mid or uid("m"), sender, "chat", 1.0 + seq, f'{{"n":{seq}}}')


async def test_agents_roundtrip_update_touch_delete(store: SqlStore) -> None:
    a, b = uid("a"), uid("a")
    await store.add_agent(AgentRecord(a, '{"name":"a"}', uid("h"), 1.0))
    await store.add_agent(AgentRecord(b, '{"name":"b"}', uid("h"), 2.0))
    await store.update_agent_card(a, '{"name":"a2"}')
    await store.touch_agent(b, 9.5)
    agents = {r.id: r for r in await store.list_agents()}
    assert agents[a].card_json == '{"name":"a2"}'
    assert agents[b].last_seen == 9.5
    group = uid("g")
    await store.add_group(GroupRecord(group, "g", a, 3.0, [a, b], "chat", "{}"))
    await store.append_messages([msg(group, 1, sender=a)])
    await store.delete_agent(a)
    assert a not in {r.id for r in await store.list_agents()}
    stored = next(g for g in await store.list_groups() if g.id == group)
    assert stored.members == [b]
    assert [m.sender for m in await store.messages_after(group, 0)] == [a]


async def test_groups_keep_member_order_protocol_and_meta(store: SqlStore) -> None:
    group = uid("g")
    members = [uid("a") for _ in range(5)]
    await store.add_group(GroupRecord(group, "team", members[2], 1.0, members, "ioa", '{"k":1}'))
    stored = next(g for g in await store.list_groups() if g.id == group)
    assert stored.members == members
    assert (stored.protocol, stored.meta_json, stored.name) == ("ioa", '{"k":1}', "team")


async def test_messages_are_ordered_paged_and_batches_atomic(store: SqlStore) -> None:
    group = uid("g")
    await store.append_messages([msg(group, s) for s in range(1, 8)])
    assert [m.seq for m in await store.messages_after(group, 2, limit=3)] == [3, 4, 5]
    keys = await store.message_keys(group)
    assert [seq for _, seq, _ in keys] == list(range(1, 8))
    assert [mid for mid, _, _ in keys] == [m.id for m in await store.messages_after(group, 0)]
    assert (await store.group_heads())[group] == 7

    existing = (await store.messages_after(group, 0, limit=1))[0]
    with pytest.raises(DuplicateMessage):
        await store.append_messages([msg(group, 8), msg(group, 9, mid=existing.id)])
    assert (await store.group_heads())[group] == 7  # nothing of the failed batch was kept
    found = await store.find_message(group, existing.id)
    assert found is not None
    assert found.seq == 1
    assert found.body == '{"n":1}'
    assert await store.find_message(group, "absent") is None


async def test_a_large_batch_is_stored_whole_or_not_at_all(store: SqlStore) -> None:
    """SQLite writes a batch as several multi-row statements (64, 32, ... rows): a batch of
    203 spans four sizes; every field of every row comes back, and a duplicate in its last
    statement undoes the statements before it."""
    groups = [uid("g") for _ in range(3)]
    batch = [msg(groups[i % 3], i // 3 + 1, sender=f"a{i}") for i in range(203)]
    await store.append_messages(batch)
    for group in groups:
        stored = await store.messages_after(group, 0)
        assert stored == [m for m in batch if m.group_id == group]
    heads = await store.group_heads()
    assert [heads[g] for g in groups] == [68, 68, 67]
    again = [msg(groups[0], 69 + i) for i in range(202)] + [batch[0]]
    with pytest.raises(DuplicateMessage):
        await store.append_messages(again)
    assert (await store.group_heads())[groups[0]] == 68


async def test_reopened_store_keeps_everything(store_url: str) -> None:
    group, agent = uid("g"), uid("a")
    async with SqlStore(store_url) as first:
        await first.add_agent(AgentRecord(agent, "{}", uid("h"), 1.0))
        await first.add_group(GroupRecord(group, "g", agent, 1.0, [agent], "chat", "{}"))
        await first.append_messages([msg(group, s, sender=agent) for s in range(1, 4)])
    async with SqlStore(store_url) as second:
        assert agent in {r.id for r in await second.list_agents()}
        assert group in {g.id for g in await second.list_groups()}
        assert [m.seq for m in await second.messages_after(group, 0)] == [1, 2, 3]


async def test_unusable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        await SqlStore(str(tmp_path / "missing-dir" / "x.db")).start()
    with pytest.raises(StoreError, match="cannot open database"):
        await SqlStore("mysql+nodriver://x/y").start()


def test_urls_are_normalized_to_the_drivers_shipped(tmp_path: Path) -> None:
    assert normalize_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"  # older configurations
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_goals_are_stored_and_updated(store: SqlStore) -> None:
    goal = uid("goal")
    await store.add_goal(GoalRecord(goal, "plan a trip", uid("a"), uid("g"), 5.0))
    await store.update_goal(goal, "done", "go to the sea", 6.0)
    stored = next(g for g in await store.list_goals() if g.id == goal)
    assert (stored.status, stored.conclusion, stored.updated_at) == ("done", "go to the sea", 6.0)


async def test_a_cards_vector_is_stored_only_for_that_card_and_an_update_drops_it(
    store: SqlStore,
) -> None:
    agent = uid("a")
    await store.add_agent(AgentRecord(agent, '{"name":"v1"}', uid("h"), 1.0))
    vector = bytes(range(16))
    assert await store.set_agent_embedding(agent, "minilm", vector, '{"name":"v1"}')
    stored = next(r for r in await store.list_agents() if r.id == agent)
    assert (stored.embedding, stored.embedding_model) == (vector, "minilm")
    await store.update_agent_card(agent, '{"name":"v2"}')
    stored = next(r for r in await store.list_agents() if r.id == agent)
    assert (stored.embedding, stored.embedding_model) == (None, None)
    # a vector computed for the old card arrives late: refused, nothing written
    assert not await store.set_agent_embedding(agent, "minilm", vector, '{"name":"v1"}')
    stored = next(r for r in await store.list_agents() if r.id == agent)
    assert stored.embedding is None
    assert not await store.set_agent_embedding(uid("gone"), "minilm", vector, "{}")


async def test_an_older_database_gains_the_vector_columns_at_start(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE agents (id VARCHAR(64) PRIMARY KEY, card TEXT NOT NULL, "
            "token_hash VARCHAR(64) NOT NULL UNIQUE, created_at FLOAT NOT NULL, last_seen FLOAT)"
        )
        conn.execute("INSERT INTO agents VALUES ('a-old', '{\"name\":\"old\"}', 'h', 1.0, NULL)")
    async with SqlStore(str(path)) as store:
        (old,) = await store.list_agents()
        assert (old.id, old.embedding, old.embedding_model) == ("a-old", None, None)
        assert await store.set_agent_embedding("a-old", "m", b"\x00" * 8, '{"name":"old"}')
    async with SqlStore(str(path)) as store:  # a second start finds the columns there
        (old,) = await store.list_agents()
        assert old.embedding == b"\x00" * 8
