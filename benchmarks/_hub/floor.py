"""The floor: the simplest relay that does the hub's durable work, to measure the hub against.

A bare aiohttp WebSocket relay, no auth beyond a token lookup, no validation, no rules, no
fan-out limits. It speaks just enough of the hub's wire for the benchmark's load client
(`hub_load`): `POST /v1/agents`, `POST /v1/groups`, and `/v1/ws` (welcome, hello, synced, then
`send` frames). Each message is parsed once, given its group's next seq and the time, and
persisted in a SQLite group commit (at most `BATCH_MAX` messages or `BATCH_WAIT` seconds per
transaction, one writer thread, WAL with synchronous=NORMAL, the hub's `messages` table and its
unique index); only after its commit is it acked to the sender and delivered to its addressees
(every other member when `to` is empty). What the hub does beyond this (authentication,
validation with pydantic, membership and conversation rules, resends, fairness and memory
limits) is what the hub's extra microseconds per message buy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import WSMsgType, web

from _hub.servers import child_setup, stop_on_pipe
from _hub.vitals import Board, watch_gc, watch_loop
from ioa import eventloop
from ioa.commands.hub import tune_gc_for_serving

BATCH_MAX = 100
BATCH_WAIT = 0.002
"""Seconds a transaction waits for more messages after its first."""
SCHEMA = (
    "CREATE TABLE messages (group_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL,"
    " id VARCHAR(64) NOT NULL, sender VARCHAR(64) NOT NULL, type VARCHAR(64) NOT NULL,"
    " ts FLOAT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (group_id, seq))",
    "CREATE UNIQUE INDEX ix_messages_group_msgid ON messages (group_id, id)",
)
INSERT = "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)"

Row = tuple[str, int, str, str, str, float, str]


@dataclass(slots=True)
class _Pending:
    row: Row
    sender: str
    addressees: list[str]


class Floor:
    """The relay's state: tokens, groups and the open sockets, all in memory; messages on disk."""

    def __init__(self, database: str) -> None:
        self.tokens: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.heads: dict[str, int] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self._pending: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floor-writer")
        self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in SCHEMA:
            self._db.execute(statement)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/agents", self.register)
        app.router.add_post("/v1/groups", self.create_group)
        app.router.add_get("/v1/ws", self.websocket)
        return app

    async def register(self, request: web.Request) -> web.Response:
        await request.read()
        agent_id, token = "a-" + secrets.token_hex(8), secrets.token_urlsafe(16)
        self.tokens[token] = agent_id
        return web.json_response({"agent_id": agent_id, "token": token})

    async def create_group(self, request: web.Request) -> web.Response:
        creator = self.tokens[request.headers["Authorization"].removeprefix("Bearer ")]
        body = await request.json()
        group_id = "g-" + secrets.token_hex(8)
        self.members[group_id] = list(dict.fromkeys([creator, *body["members"]]))
        self.heads[group_id] = 0
        return web.json_response({"id": group_id})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        agent_id = self.tokens[request.headers["Authorization"].removeprefix("Bearer ")]
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": "welcome", "agent_id": agent_id, "groups": []}))
        self.sockets[agent_id] = ws
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._accept(agent_id, msg.data)
                    if '"hello"' in msg.data[:16]:
                        await ws.send_str('{"op":"synced"}')
        finally:
            self.sockets.pop(agent_id, None)
        return ws

    def _accept(self, agent_id: str, data: str) -> None:
        frame: dict[str, Any] = json.loads(data)
        if frame.get("op") != "send":
            return
        envelope = frame["envelope"]
        group = envelope["group"]
        seq = self.heads[group] = self.heads[group] + 1
        envelope["seq"], envelope["ts"] = seq, time.time()
        body = json.dumps(envelope, separators=(",", ":"))
        row = (
            group,
            seq,
            envelope["id"],
            agent_id,
            envelope["payload"]["type"],
            envelope["ts"],
            body,
        )
        to = envelope.get("to") or [m for m in self.members[group] if m != agent_id]
        self._pending.append(_Pending(row, agent_id, to))
        self._arrived.set()
        if len(self._pending) >= BATCH_MAX:
            self._full.set()

    async def write(self) -> None:
        """The group commit: wait for a first message, then up to `BATCH_WAIT` for more."""
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            if len(self._pending) < BATCH_MAX:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), BATCH_WAIT)
            batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
            if not self._pending:
                self._arrived.clear()
            await loop.run_in_executor(self._thread, self._insert, [p.row for p in batch])
            for p in batch:
                group, seq, message_id, _, _, ts, body = p.row
                ack = (
                    f'{{"op":"ack","id":"{message_id}","group":"{group}","seq":{seq},"ts":{ts!r}}}'
                )
                sender = self.sockets.get(p.sender)
                if sender is not None:
                    await sender.send_str(ack)
                deliver = '{"op":"deliver","envelope":' + body + "}"
                for member in p.addressees:
                    ws = self.sockets.get(member)
                    if ws is not None:
                        await ws.send_str(deliver)

    def _insert(self, rows: list[Row]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(INSERT, rows)
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self._db.close()


def run_floor(
    pipe: Connection, database: str, fd_limit: int, board: Board, loop: str = "auto"
) -> None:
    """Serve the floor relay on a free loopback port (a `ServerProcess` target), on the event
    loop `loop` names, as the hub."""
    child_setup(fd_limit)
    watch_gc(board)
    eventloop.run(_serve_floor(pipe, database, board), loop)


async def _serve_floor(pipe: Connection, database: str, board: Board) -> None:
    probe = asyncio.create_task(watch_loop(board))
    floor = Floor(database)
    writer = asyncio.create_task(floor.write())
    runner = web.AppRunner(floor.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    tune_gc_for_serving()  # as the hub's process does
    stopped = asyncio.Event()
    stop_on_pipe(pipe, stopped.set)
    pipe.send(runner.addresses[0][1])
    await stopped.wait()
    writer.cancel()
    await runner.cleanup()
    floor.close()
    probe.cancel()
