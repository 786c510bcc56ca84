"""Load on the hub: many agents on raw aiohttp WebSockets, frames built from pre-made strings.

Agents are registered and grouped over REST (with `HubClient`), then each opens `/v1/ws`, says
hello and waits for `synced`. From then on one reader task per socket handles everything that
socket receives: an `ack` frees a slot of the sender's window (a closed-loop sender sends its next
message right there), a `deliver` has the send time read back out of its text to give the
delivery latency. The load process does no JSON parsing and no pydantic on the hot path, so what
is measured is the hub, not the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from aiohttp import WSMsgType

from _hub.measure import Run
from ioa.client import HubClient
from protocols import AgentCard

TEXT_KEY = '"text":"'
SETUP_CONCURRENCY = 8
CONNECT_CONCURRENCY = 32
IDLE = Run(sending=False)
T = TypeVar("T")


def _quote(value: str) -> str:
    """Ids and group names here are hub-made, `[A-Za-z0-9_.:-]`: nothing to escape."""
    return '"' + value + '"'


class Peer:
    """One agent's WebSocket. It sends only what it was aimed at, and records what it gets."""

    def __init__(self, agent_id: str, token: str, index: int) -> None:
        self.agent_id = agent_id
        self.token = token
        self.index = index
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.run = IDLE
        self.closed_loop = False
        self._count = 0
        self._head = ""
        self._mid = ""
        self._tail = ""
        self._reader: asyncio.Task[None] | None = None

    def aim(self, group_id: str, to: list[str], payload_bytes: int) -> None:
        """Pre-build the frame around the two parts that change: message number and send time."""
        addressees = ",".join(_quote(a) for a in to)
        self._head = '{"op":"send","envelope":{"v":"1","id":"m' + str(self.index) + "-"
        self._mid = (
            '","group":'
            + _quote(group_id)
            + ',"sender":'
            + _quote(self.agent_id)
            + ',"to":['
            + addressees
            + '],"payload":{"type":"chat","text":"'
        )
        self._tail = ":" + "x" * payload_bytes + '"}}}'

    async def send(self) -> None:
        if self.ws is None:
            return
        self._count += 1
        self.run.sent += 1
        frame = self._head + str(self._count) + self._mid + str(time.perf_counter_ns()) + self._tail
        await self.ws.send_str(frame)

    async def connect(self, session: aiohttp.ClientSession, url: str) -> None:
        headers = {"Authorization": "Bearer " + self.token}
        ws = await session.ws_connect(url + "/v1/ws", headers=headers, max_msg_size=0)
        first = await ws.receive_str()
        if '"welcome"' not in first[:20]:
            raise RuntimeError(f"expected welcome, got {first[:200]}")
        await ws.send_str('{"op":"hello","cursors":{}}')
        while '"synced"' not in (frame := await ws.receive_str())[:20]:
            if '"deliver"' not in frame[:20]:
                raise RuntimeError(f"expected replay or synced, got {frame[:200]}")
        self.ws = ws
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        ws = self.ws
        if ws is None:
            return
        while True:
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                return
            data: str = msg.data
            run = self.run
            op = data[7] if data[6] == '"' else data[8]  # first letter of the op's name
            if op == "d":
                now = time.perf_counter_ns()
                start = data.rfind(TEXT_KEY) + len(TEXT_KEY)
                sent = int(data[start : data.index(":", start)])
                run.delivered += 1
                if run.t0 <= now < run.t1:
                    run.latencies.append(now - sent)
            elif op == "a":
                run.acked += 1
                if self.closed_loop and run.sending:
                    await self.send()
            else:
                run.errors.append(data[:300])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


@dataclass(slots=True)
class Population:
    """Every agent of the benchmark, connected for the whole run."""

    session: aiohttp.ClientSession
    pairs: list[tuple[Peer, Peer]]
    """(sender, receiver), each pair alone in a 2-member group."""
    team: list[Peer]
    """Members of the fan-out group."""

    @property
    def connected(self) -> int:
        return 2 * len(self.pairs) + len(self.team)

    async def close(self) -> None:
        peers = [p for pair in self.pairs for p in pair] + self.team
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        await self.session.close()


async def bounded(limit: int, jobs: list[Awaitable[T]]) -> list[T]:
    """Await `jobs` with at most `limit` at a time (SQLite takes one writer at a time anyway)."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def populate(url: str, n_pairs: int, team_size: int, payload_bytes: int) -> Population:
    """Register 2·n_pairs + team_size agents, make their groups, connect them all."""
    async with HubClient(url, reconnect=False) as rest:

        async def register(i: int) -> Peer:
            card = AgentCard(name=f"bench-{i}", description="hub benchmark agent", kind="tool")
            body = await rest.request("POST", "/v1/agents", card.model_dump(mode="json"))
            return Peer(body["agent_id"], body["token"], i)

        async def group(creator: Peer, others: list[Peer]) -> str:
            body = {"name": "bench", "members": [p.agent_id for p in others]}
            made = await rest.request("POST", "/v1/groups", body, token=creator.token)
            return str(made["id"])

        total = 2 * n_pairs + team_size
        peers = await bounded(SETUP_CONCURRENCY, [register(i) for i in range(total)])
        pairs = [(peers[2 * i], peers[2 * i + 1]) for i in range(n_pairs)]
        team = peers[2 * n_pairs :]
        pair_groups = [group(s, [r]) for s, r in pairs]
        team_group = [group(team[0], team[1:])] if team else []
        group_ids = await bounded(SETUP_CONCURRENCY, [*pair_groups, *team_group])
    for (sender, receiver), group_id in zip(pairs, group_ids[:n_pairs], strict=True):
        sender.aim(group_id, [receiver.agent_id], payload_bytes)
    for member in team:
        member.aim(group_ids[-1], [], payload_bytes)

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    population = Population(session, pairs, team)
    try:
        await bounded(CONNECT_CONCURRENCY, [p.connect(session, url) for p in peers])
    except BaseException:
        await population.close()
        raise
    return population


def _enlist(run: Run, peers: list[Peer], senders: list[Peer], closed_loop: bool) -> None:
    for peer in peers:
        peer.run = run
        peer.closed_loop = False
    for sender in senders:
        sender.closed_loop = closed_loop


async def start_closed_loop(
    run: Run, senders: list[Peer], members: list[Peer], window: int
) -> None:
    """Each sender keeps `window` messages in flight, sending the next when an ack comes back."""
    _enlist(run, members, senders, closed_loop=True)
    for _ in range(window):
        for sender in senders:
            await sender.send()


def start_paced(
    run: Run, senders: list[Peer], members: list[Peer], rate: float
) -> list[asyncio.Task[None]]:
    """Each sender sends `rate` messages a second on a fixed schedule (open loop), phases spread
    evenly, so the hub sees a steady stream from every agent at once."""
    _enlist(run, members, senders, closed_loop=False)
    period = 1.0 / rate
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def pace(sender: Peer, phase: float) -> None:
        due = start + phase
        while run.sending:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not run.sending:
                return
            await sender.send()
            due += period

    count = len(senders)
    return [asyncio.create_task(pace(s, period * i / count)) for i, s in enumerate(senders)]
