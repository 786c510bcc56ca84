"""`SqliteEngine`: SQLAlchemy Core's own (synchronous) engine on a SQLite file, run on threads.

SQLite's driver blocks, so the store runs each statement batch on a small thread pool: one
hop to a thread and back per read or transaction. The alternative, SQLAlchemy's asyncio
extension over aiosqlite, imported the ORM with it (≈ 0.27 G instructions, a tenth of a hub's
whole start on a 2-vCPU EPYC) and crossed to the driver's thread several times per statement.
PostgreSQL keeps the asyncio extension (`SqlStore`): asyncpg is asynchronous itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ioa.store.sqlite_writer import PRAGMAS

T = TypeVar("T")

THREADS = 4
"""Statements of the store at once (its reads run side by side in WAL mode; one writer at a
time, the others wait on SQLite's lock up to `busy_timeout`)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in (*PRAGMAS, "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class SqliteEngine:
    """A sync `Engine` on SQLite (pysqlite, whatever driver the URL names) and its threads."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="sqlite")
        self.database = parsed.database
        memory = not self.database or self.database == ":memory:"
        threads = 1 if memory else THREADS
        options: dict[str, Any] = {"pool_size": threads, "max_overflow": 0}
        if memory:  # one connection, or each would see a database of its own
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine: Engine = create_engine(parsed, **options)
        event.listen(self.engine, "connect", _pragmas)
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ioa-sqlite")

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in one transaction on a store thread: committed if it returns."""
        return await self._run(partial(_in_transaction, self.engine, work))

    async def read(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """All rows of one statement, on its own connection."""
        return await self._run(partial(_read, self.engine, stmt, params))

    async def fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """All rows of one SQL statement, straight through the driver: the thread runs C (the
        query and its rows) and next to no Python. Through Core, each page's row handling ran
        on the threads too, holding the GIL the event loop waits for: with 32 resumes reading
        pages of 100 messages, the loop's p99 lag was 64 ms (13 ms through aiosqlite, 11 ms this
        way). For the hot reads."""
        return await self._run(partial(_fetch, self.engine, sql, params))

    async def close(self) -> None:
        try:
            await self._run(self.engine.dispose)
        finally:
            self._threads.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn)


def _in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return work(conn)


def _read(engine: Engine, stmt: Any, params: dict[str, Any] | None) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(stmt, params).all())


def _fetch(engine: Engine, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            return list(cursor.execute(sql, params).fetchall())
        finally:
            cursor.close()
    finally:
        conn.close()
