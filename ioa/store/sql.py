"""`SqlStore`: the store on SQLAlchemy 2 Core, a SQLite file or PostgreSQL by URL.

On PostgreSQL it runs on SQLAlchemy's asyncio extension (asyncpg), imported only then; on SQLite
on Core's own engine, its statements on a few threads (`SqliteEngine`).

SQLite runs in WAL mode with synchronous=NORMAL: a committed batch survives a crash of the hub
process. The hub batches messages (group commit), so one transaction usually carries many. On a
SQLite file, message batches skip the pool and go through `SqliteWriter` (one thread hop per
batch): through the pool each batch crossed to the driver's thread about six times, a fixed
~350 µs of CPU that dominated small batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ioa.store.base import DuplicateMessage, Store, StoreError
from ioa.store.records import AgentRecord, GoalRecord, GroupRecord, StoredMessage
from ioa.store.sqlite_engine import SqliteEngine, is_sqlite
from ioa.store.sqlite_writer import SqliteWriter

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

agents = Table(
    "agents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("card", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float),
    Column("embedding", LargeBinary),
    Column("embedding_model", String(128)),
)

SCHEMA_LOCK = 0x10A_5C4E
"""PostgreSQL advisory lock held while a store creates missing tables: hubs that start at once
on one database would otherwise race in `CREATE TABLE` (a duplicate key in `pg_type`)."""

LOCK_SCHEMA = text("SELECT pg_advisory_xact_lock(:key)")

PG_POOL_SIZE = 10
"""Connections a PostgreSQL store keeps open. SQLAlchemy's 5 made a reconnect wave (64 resumes
at once, each with its reads) open and close a new server connection every ~15 resumes."""
PG_POOL_OVERFLOW = 10


ADDED_COLUMNS = {"agents": ("embedding", "embedding_model")}
"""Columns added after the first release; `start` adds them to an older database."""

groups = Table(
    "groups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("protocol", String(32), nullable=False),
    Column("meta", Text, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_id", String(64), ForeignKey("groups.id"), primary_key=True),
    Column("agent_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
)

goals = Table(
    "goals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("creator", String(64), nullable=False),
    Column("group_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("conclusion", Text),
    Column("updated_at", Float),
)

messages = Table(
    "messages",
    metadata,
    Column("group_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("id", String(64), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_messages_group_msgid", "group_id", "id", unique=True),
)


MESSAGES_AFTER = (
    select(messages)
    .where(messages.c.group_id == bindparam("group_id"), messages.c.seq > bindparam("after"))
    .order_by(messages.c.seq)
    .limit(bindparam("limit"))
)
"""A page of a group's messages: built once, so a read (every resume, every catch-up) skips
building the statement and its cache key, which cost as much as the rest of the read."""


SQLITE_MESSAGES_AFTER = (
    "SELECT group_id, seq, id, sender, type, ts, body FROM messages"
    " WHERE group_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)
"""`MESSAGES_AFTER` for SQLite's driver itself (`SqliteEngine.fetch`), in `StoredMessage`'s
field order."""

GROUP_HEADS = text(
    "WITH RECURSIVE g(id) AS (SELECT min(group_id) FROM messages UNION ALL"
    " SELECT (SELECT min(group_id) FROM messages WHERE group_id > g.id) FROM g"
    " WHERE g.id IS NOT NULL)"
    " SELECT id, (SELECT max(seq) FROM messages WHERE group_id = g.id) FROM g"
    " WHERE id IS NOT NULL"
)
"""Each group's last seq, read at every start: a walk down the primary key, one step to each
next group and one to its last message. `max(seq) ... GROUP BY group_id` read every stored
message (100,000 on SQLite: 16 ms warm, this way 3 ms)."""


def normalize_url(url: str) -> str:
    """Accept a plain path or a driver-less URL and name the driver we ship (SQLite: Python's
    own `sqlite3`, whatever driver the URL named; PostgreSQL: asyncpg)."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    scheme, rest = url.split("://", 1)
    if scheme.split("+", 1)[0] == "sqlite":
        return f"sqlite://{rest}"
    drivers = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
    return f"{drivers.get(scheme, scheme)}://{rest}"


def _create_schema(conn: Connection) -> None:
    metadata.create_all(conn)
    _add_missing_columns(conn)


def _run_statements(conn: Connection, statements: Sequence[Any]) -> int:
    """Execute `statements` (a statement, or a (statement, parameters) pair) in order; the
    number of rows the last one matched."""
    rowcount = 0
    for stmt in statements:
        result = conn.execute(*stmt) if isinstance(stmt, tuple) else conn.execute(stmt)
        rowcount = result.rowcount
    return rowcount


def _add_missing_columns(conn: Any) -> None:
    """Bring a database made by an older hub up to date: `create_all` makes missing tables but
    never alters an existing one. Added columns are nullable, so old rows stay valid."""
    for table_name, names in ADDED_COLUMNS.items():
        present = {c["name"] for c in inspect(conn).get_columns(table_name)}
        for name in names:
            if name in present:
                continue
            column = metadata.tables[table_name].c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN {name} {kind}")


def _message(row: Any) -> StoredMessage:
    return StoredMessage(row.group_id, row.seq, row.id, row.sender, row.type, row.ts, row.body)


def message_row(m: StoredMessage) -> dict[str, Any]:
    return {
        "group_id": m.group_id,
        "seq": m.seq,
        "id": m.id,
        "sender": m.sender,
        "type": m.type,
        "ts": m.ts,
        "body": m.body,
    }


def agent_record(r: Any) -> AgentRecord:
    return AgentRecord(
        r.id, r.card, r.token_hash, r.created_at, r.last_seen, r.embedding, r.embedding_model
    )


def goal_record(r: Any) -> GoalRecord:
    return GoalRecord(
        r.id, r.text, r.creator, r.group_id, r.created_at, r.status, r.conclusion, r.updated_at
    )


class SqlStore(Store):
    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self._sqlite: SqliteEngine | None = None
        self._engine: AsyncEngine | None = None
        """PostgreSQL's (asyncio) engine; None on SQLite."""
        self._reader: AsyncEngine | None = None
        """The engine for one-statement reads: on PostgreSQL in autocommit, so a read is one
        round trip, not three (BEGIN, the query, ROLLBACK); each read is one statement on a
        connection of its own anyway, so it sees what it saw before."""
        self._writer: SqliteWriter | None = None
        self._queries: set[asyncio.Future[list[Any]]] = set()
        """Reads under way; `close` lets them finish so their connections go back first."""

    @property
    def engine(self) -> AsyncEngine:
        """PostgreSQL's engine (`SharedStore`'s transactions)."""
        if self._engine is None:
            raise StoreError("the store is not started, or is not on PostgreSQL")
        return self._engine

    @property
    def started(self) -> bool:
        return self._engine is not None or self._sqlite is not None

    async def start(self) -> SqlStore:
        if self.started:
            return self
        try:
            sqlite = is_sqlite(self.url)
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"cannot open database {self.url!r}: {exc}") from exc
        if sqlite:
            await self._start_sqlite()
        else:
            await self._start_async()
        return self

    async def _start_sqlite(self) -> None:
        try:
            engine = SqliteEngine(self.url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open database {self.url!r}: {exc}") from exc
        try:
            await engine.transaction(_create_schema)
        except (SQLAlchemyError, OSError) as exc:
            await engine.close()
            raise StoreError(f"cannot open database {self.url!r}: {exc}") from exc
        self._sqlite = engine
        if engine.database and engine.database != ":memory:":
            self._writer = await SqliteWriter(engine.database).open()

    async def _start_async(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine  # imports the ORM: not on SQLite

        options: dict[str, int] = {}
        if self.url.startswith("postgresql"):
            options = {"pool_size": PG_POOL_SIZE, "max_overflow": PG_POOL_OVERFLOW}
        try:
            engine = create_async_engine(self.url, **options)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open database {self.url!r}: {exc}") from exc
        try:
            async with engine.begin() as conn:
                if engine.dialect.name == "postgresql":  # hubs starting together on one database
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK}
                    )
                await conn.run_sync(_create_schema)
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StoreError(f"cannot open database {self.url!r}: {exc}") from exc
        self._engine = engine
        self._reader = engine
        if engine.dialect.name == "postgresql":
            self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def close(self) -> None:
        if self._queries:
            await asyncio.wait(self._queries, timeout=10)
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._reader = None

    async def _write(self, *statements: Any) -> int:
        """Run `statements` in one transaction; the number of rows the last one matched."""
        work = partial(_run_statements, statements=statements)
        try:
            if self._sqlite is not None:
                return await self._sqlite.transaction(work)
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc}") from exc

    async def _read(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Run a query to its end even if the caller is cancelled (a request handler whose
        client left, a hub stopping): a query cancelled midway leaves its connection neither
        in the pool nor closed. `params` bind a statement built once (`MESSAGES_AFTER`)."""
        query = asyncio.ensure_future(self._query(stmt, params))
        self._queries.add(query)
        query.add_done_callback(self._queries.discard)
        return await asyncio.shield(query)

    async def _query(self, stmt: Any, params: dict[str, Any] | None) -> list[Any]:
        try:
            if self._sqlite is not None:
                return await self._sqlite.read(stmt, params)
            async with (self._reader or self.engine).connect() as conn:
                return list((await conn.execute(stmt, params)).all())
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    # agents
    async def add_agent(self, agent: AgentRecord) -> None:
        await self._write(
            insert(agents).values(
                id=agent.id,
                card=agent.card_json,
                token_hash=agent.token_hash,
                created_at=agent.created_at,
                last_seen=agent.last_seen,
            )
        )

    async def update_agent_card(self, agent_id: str, card_json: str) -> None:
        await self._write(
            update(agents)
            .where(agents.c.id == agent_id)
            .values(card=card_json, embedding=None, embedding_model=None)
        )

    async def touch_agent(self, agent_id: str, last_seen: float) -> None:
        await self._write(update(agents).where(agents.c.id == agent_id).values(last_seen=last_seen))

    async def delete_agent(self, agent_id: str) -> None:
        await self._write(
            delete(memberships).where(memberships.c.agent_id == agent_id),
            delete(agents).where(agents.c.id == agent_id),
        )

    async def list_agents(self) -> list[AgentRecord]:
        rows = await self._read(select(agents).order_by(agents.c.created_at, agents.c.id))
        return [agent_record(r) for r in rows]

    async def set_agent_embedding(
        self, agent_id: str, model: str, embedding: bytes, card_json: str
    ) -> bool:
        matched = await self._write(
            update(agents)
            .where(agents.c.id == agent_id, agents.c.card == card_json)
            .values(embedding=embedding, embedding_model=model)
        )
        return bool(matched)

    # groups
    async def add_group(self, group: GroupRecord) -> None:
        rows = [
            {"group_id": group.id, "agent_id": member, "position": i}
            for i, member in enumerate(group.members)
        ]
        await self._write(
            insert(groups).values(
                id=group.id,
                name=group.name,
                created_by=group.created_by,
                created_at=group.created_at,
                protocol=group.protocol,
                meta=group.meta_json,
            ),
            (insert(memberships), rows),
        )

    async def list_groups(self) -> list[GroupRecord]:
        group_rows = await self._read(select(groups).order_by(groups.c.created_at, groups.c.id))
        member_rows = await self._read(
            select(memberships).order_by(memberships.c.group_id, memberships.c.position)
        )
        members: dict[str, list[str]] = {}
        for row in member_rows:
            members.setdefault(row.group_id, []).append(row.agent_id)
        return [
            GroupRecord(
                r.id, r.name, r.created_by, r.created_at, members.get(r.id, []), r.protocol, r.meta
            )
            for r in group_rows
        ]

    # goals
    async def add_goal(self, goal: GoalRecord) -> None:
        await self._write(
            insert(goals).values(
                id=goal.id,
                text=goal.text,
                creator=goal.creator,
                group_id=goal.group_id,
                created_at=goal.created_at,
                status=goal.status,
                conclusion=goal.conclusion,
                updated_at=goal.updated_at,
            )
        )

    async def update_goal(
        self, goal_id: str, status: str, conclusion: str | None, updated_at: float
    ) -> None:
        await self._write(
            update(goals)
            .where(goals.c.id == goal_id)
            .values(status=status, conclusion=conclusion, updated_at=updated_at)
        )

    async def list_goals(self) -> list[GoalRecord]:
        rows = await self._read(select(goals).order_by(goals.c.created_at, goals.c.id))
        return [goal_record(r) for r in rows]

    # messages
    async def append_messages(self, batch: Sequence[StoredMessage]) -> None:
        if not batch:
            return
        if self._writer is not None:
            await self._writer.append(batch)
            return
        try:
            await self._write((insert(messages), [message_row(m) for m in batch]))
        except IntegrityError as exc:
            raise DuplicateMessage(f"batch rejected: {exc.orig}") from exc

    async def messages_after(
        self, group_id: str, after: int, limit: int = 1000
    ) -> list[StoredMessage]:
        if self._sqlite is not None:
            rows = await self._sqlite.fetch(SQLITE_MESSAGES_AFTER, (group_id, after, limit))
            return [StoredMessage(*row) for row in rows]
        page = {"group_id": group_id, "after": after, "limit": limit}
        return [_message(r) for r in await self._read(MESSAGES_AFTER, page)]

    async def message_keys(self, group_id: str) -> list[tuple[str, int, float]]:
        stmt = (
            select(messages.c.id, messages.c.seq, messages.c.ts)
            .where(messages.c.group_id == group_id)
            .order_by(messages.c.seq)
        )
        return [(r.id, r.seq, r.ts) for r in await self._read(stmt)]

    async def group_heads(self) -> dict[str, int]:
        return {group_id: seq for group_id, seq in await self._read(GROUP_HEADS)}

    async def find_message(self, group_id: str, message_id: str) -> StoredMessage | None:
        stmt = select(messages).where(messages.c.group_id == group_id, messages.c.id == message_id)
        rows = await self._read(stmt)
        return _message(rows[0]) if rows else None
