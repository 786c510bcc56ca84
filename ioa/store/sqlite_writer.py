"""`SqliteWriter`: the hub's message batches into a SQLite file, one thread hop per batch.

The hub commits messages in batches (group commit). Through aiosqlite (the store's driver then),
a batch crossed to the driver's thread four times (cursor, executemany, close, commit), each
crossing a future, a wake-up of the event loop and a GIL hand-off: a fixed cost that dominated
the small batches of a hub with one message in flight per agent. Here the whole batch — insert,
commit or rollback — is one function run on a dedicated thread that owns the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ioa.store.base import DuplicateMessage, StoreError
from ioa.store.records import StoredMessage

INSERT_MESSAGE = (
    "INSERT INTO messages (group_id, seq, id, sender, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000")
"""Every SQLite connection of the store: WAL, commits durable against a crash of the process
(not of the machine), and 10 s of waiting for another connection's transaction."""

Row = tuple[str, int, str, str, str, float, str]


class SqliteWriter:
    """One SQLite connection, used only by its own thread; `append` awaits a committed batch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ioa-sqlite-writer")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> SqliteWriter:
        await self._run(self._open)
        return self

    async def append(self, batch: Sequence[StoredMessage]) -> None:
        rows = [(m.group_id, m.seq, m.id, m.sender, m.type, m.ts, m.body) for m in batch]
        await self._run(self._insert, rows)

    async def close(self) -> None:
        try:
            await self._run(self._close)
        finally:
            self._thread.shutdown(wait=True)

    async def _run(self, fn: Callable[..., None], *args: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    # on the writer thread

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit
        for pragma in PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        self._conn = conn

    def _insert(self, rows: list[Row]) -> None:
        conn = self._conn
        if conn is None:
            raise StoreError("the message writer is closed")
        try:
            conn.execute("BEGIN")
            conn.executemany(INSERT_MESSAGE, rows)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK")
            raise DuplicateMessage(f"batch rejected: {exc}") from exc
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"database write failed: {exc}") from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
