"""`SharedStore`: the store several hubs use at once, on one PostgreSQL database.

A lone hub answers everything from memory because it wrote everything itself. Hubs that share
a database each miss what the others wrote, so they also need point reads (a token, an agent, a
group created elsewhere) and, above all, a checked append: a batch is stored only for the
groups whose stored head is still the one the hub assumed when it numbered the messages. Each
group's check and insert run under that group's transaction-scoped advisory lock, so two hubs
committing to one group are serialised by PostgreSQL and the loser learns it was behind (it
catches up and numbers its messages again) — one gap-free sequence per group, whoever sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ioa.store.base import DuplicateMessage, StoreError
from ioa.store.records import AgentRecord, GoalRecord, GroupRecord, StoredMessage
from ioa.store.sql import (
    SqlStore,
    agent_record,
    agents,
    goal_record,
    goals,
    groups,
    memberships,
    message_row,
    messages,
)

LOCK_GROUPS = text(
    "SELECT pg_advisory_xact_lock(hashtext(g)) "
    "FROM unnest(CAST(:groups AS text[])) WITH ORDINALITY AS t(g, n) ORDER BY n"
)
"""Take each group's lock in the order given (sorted by the caller, so two hubs never wait on
each other crosswise); held until the transaction ends."""

HEADS = text(
    "SELECT g, (SELECT max(seq) FROM messages WHERE group_id = g) "
    "FROM unnest(CAST(:groups AS text[])) AS g"
)
"""Each named group's stored head. A scalar `max` per group is one step down the primary key
from its end; `max(seq) ... GROUP BY group_id` read every row of every group (a batch's check
grew with the transcripts: PostgreSQL's CPU per message doubled in a minute of benchmark)."""


GROUP_IDS_OF = select(memberships.c.group_id).where(memberships.c.agent_id == bindparam("agent_id"))
"""Read on every WebSocket connect (groups another hub created may be unheard): built once."""


class SharedStore(SqlStore):
    async def start(self) -> SharedStore:
        if not self.url.startswith("postgresql"):
            raise StoreError(
                "hubs that share a store need PostgreSQL (--db postgresql://...), "
                f"not {self.url.split(':', 1)[0]}"
            )
        await super().start()
        return self

    async def append_checked(
        self, batch: Sequence[StoredMessage], expected: dict[str, int]
    ) -> set[str]:
        """Store the batch's messages of every group whose stored head equals `expected[group]`
        (atomically, all of them or none); return the groups that were behind, whose messages
        were not stored."""
        if not batch:
            return set()
        names = sorted(expected)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(LOCK_GROUPS, {"groups": names})
                rows = await conn.execute(HEADS, {"groups": names})
                heads: dict[str, int] = {g: seq or 0 for g, seq in rows.all()}
                stale = {g for g in names if heads[g] != expected[g]}
                fresh = [message_row(m) for m in batch if m.group_id not in stale]
                if fresh:
                    await conn.execute(insert(messages), fresh)
        except IntegrityError as exc:
            raise DuplicateMessage(f"batch rejected: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc}") from exc
        return stale

    async def heads_of(self, group_ids: Iterable[str]) -> dict[str, int]:
        """The stored head of each named group that has messages."""
        names = list(group_ids)
        if not names:
            return {}
        rows = await self._read(HEADS.bindparams(groups=names))
        return {group_id: seq for group_id, seq in rows if seq is not None}

    async def agent_by_token(self, token_hash: str) -> AgentRecord | None:
        rows = await self._read(select(agents).where(agents.c.token_hash == token_hash))
        return agent_record(rows[0]) if rows else None

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        rows = await self._read(select(agents).where(agents.c.id == agent_id))
        return agent_record(rows[0]) if rows else None

    async def get_group(self, group_id: str) -> GroupRecord | None:
        rows = await self._read(select(groups).where(groups.c.id == group_id))
        if not rows:
            return None
        members = await self._read(
            select(memberships.c.agent_id)
            .where(memberships.c.group_id == group_id)
            .order_by(memberships.c.position)
        )
        r = rows[0]
        return GroupRecord(
            r.id, r.name, r.created_by, r.created_at, [m[0] for m in members], r.protocol, r.meta
        )

    async def group_ids_of(self, agent_id: str) -> list[str]:
        rows = await self._read(GROUP_IDS_OF, {"agent_id": agent_id})
        return [r[0] for r in rows]

    async def get_goal(self, goal_id: str) -> GoalRecord | None:
        rows = await self._read(select(goals).where(goals.c.id == goal_id))
        return goal_record(rows[0]) if rows else None
