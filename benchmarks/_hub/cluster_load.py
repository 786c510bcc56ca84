"""Load on a hub cluster: agents in pairs on raw aiohttp WebSockets, in worker processes.

Each agent is alone with its partner in a 2-member group; the first of a pair sends, the
other receives, and each is connected to a hub of its own (the same one, or another: a
"cross-hub" pair, whose messages reach the receiver through the store and the broker's hint).
Frames are pre-built strings and nothing on the hot path parses JSON, so the load costs little
of the 2 cores the hubs, PostgreSQL and Redis share with it.

An agent resumes as `HubClient` does (same protocol, same `Backoff` and cap, a hub's
`Retry-After` taken as the next delay's hint): when its socket closes it moves to the next hub
of its list, waits its jittered delay, says hello with its group's cursor, takes the replay, and
after `synced` resends every message not yet acked under the same id. Every ack, refusal and
delivery is kept, so the parent can check each promise against the store. Pairs stay in one
worker, so each drain can wait for its own receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from _hub.servers import BenchError, raise_fd_limit
from ioa.backoff import Backoff, retry_after

TEXT_KEY = '"text":"'
MAX_BACKOFF = 2.0
"""`HubClient`'s default reconnect cap."""
CONNECT_CONCURRENCY = 32
DRAIN_TIMEOUT = 30.0
REPLY_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    token: str
    index: int
    group: str
    partner: str
    sends: bool
    hubs: tuple[str, ...]
    """Its own hub first, then the others in the order it fails over to them."""
    cross: bool
    """Its pair's members are on different hubs."""


@dataclass(slots=True)
class Phase:
    """What the agents of one worker saw during one timed phase."""

    mode: str = "idle"
    rate: float = 0.0
    t0: int = 0
    t1: int = 0
    sent: int = 0
    acked: int = 0
    """Acks that arrived inside [t0, t1)."""
    delivered: int = 0
    same_ns: list[int] = field(default_factory=list)
    cross_ns: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resumed: list[tuple[float, float]] = field(default_factory=list)
    """(socket lost, synced again) in `time.monotonic()` seconds, per resume."""
    upgraded: list[tuple[float, float]] = field(default_factory=list)
    """(began, upgraded) of each reconnect attempt the hub took (it may have waited in line)."""
    busy: list[tuple[float, float]] = field(default_factory=list)
    """(began, refused) of each reconnect attempt a live hub refused (503), monotonic s."""
    unreachable: list[tuple[float, float]] = field(default_factory=list)
    """(began, failed) of each reconnect attempt that found no hub listening (the dead one)."""
    undrained: int = 0


class Peer:
    def __init__(self, agent: Agent, worker: Worker) -> None:
        self.a = agent
        self.w = worker
        self.hub = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.cursor = 0
        self.count = 0
        self.unacked: dict[str, str] = {}
        self.acked: dict[str, int] = {}
        self.refused: set[str] = set()
        self.conflicts = 0
        self.duplicates = 0
        self.gaps = 0
        self.synced = asyncio.Event()
        self.lost_at = 0.0
        self.backoff = Backoff(cap=MAX_BACKOFF)
        self._task: asyncio.Task[None] | None = None
        self._head = '{"op":"send","envelope":{"v":"1","id":"m' + str(agent.index) + "-"
        self._mid = (
            f'","group":"{agent.group}","sender":"{agent.agent_id}","to":["{agent.partner}"],'
            '"payload":{"type":"chat","text":"'
        )
        self._tail = ":" + "x" * 64 + '"}}}'

    async def connect(self) -> None:
        await self._open()
        self._task = asyncio.create_task(self._run())
        await self.synced.wait()

    async def _open(self) -> None:
        url = self.a.hubs[self.hub].replace("http", "ws", 1) + "/v1/ws"
        headers = {"Authorization": "Bearer " + self.a.token}
        self.synced.clear()
        self.ws = await self.w.session.ws_connect(url, headers=headers, max_msg_size=0)

    async def _run(self) -> None:
        while not self.w.stopping:
            ws = self.ws
            if ws is not None:
                with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                    async for msg in ws:
                        if msg.type is WSMsgType.TEXT:
                            await self._handle(msg.data)
            self.ws = None
            if self.w.stopping:
                return
            self.lost_at = time.monotonic()
            self.synced.clear()
            hint: float | None = None
            while not self.w.stopping:  # as HubClient._reconnect: next hub, jittered wait
                self.hub = (self.hub + 1) % len(self.a.hubs)
                await asyncio.sleep(self.backoff.next(hint))
                began = time.monotonic()
                try:
                    await self._open()
                    self.w.phase.upgraded.append((began, time.monotonic()))
                    break
                except aiohttp.WSServerHandshakeError as exc:
                    hint = retry_after(exc.headers)
                    self.w.phase.busy.append((began, time.monotonic()))
                except (aiohttp.ClientError, OSError):
                    hint = None
                    self.w.phase.unreachable.append((began, time.monotonic()))

    async def _handle(self, data: str) -> None:
        op = data[7] if data[6] == '"' else data[8]
        phase = self.w.phase
        if op == "d":
            start = data.index('"seq":') + 6
            seq = int(data[start : data.index(",", start)])
            if seq <= self.cursor:
                self.duplicates += not self.a.sends
                return
            self.gaps += seq - self.cursor - 1
            self.cursor = seq
            if self.a.sends:
                return  # its own message, replayed after a resume
            now = time.monotonic_ns()
            if phase.t0 <= now < phase.t1:
                begin = data.rfind(TEXT_KEY) + len(TEXT_KEY)
                sent = int(data[begin : data.index(":", begin)])
                phase.delivered += 1
                (phase.cross_ns if self.a.cross else phase.same_ns).append(now - sent)
        elif op == "a":
            start = data.index('"id":"') + 6
            message_id = data[start : data.index('"', start)]
            start = data.index('"seq":', start) + 6
            seq = int(data[start : data.index(",", start)])
            self.unacked.pop(message_id, None)
            if self.acked.setdefault(message_id, seq) != seq:
                self.conflicts += 1
            self.cursor = max(self.cursor, seq)
            self.backoff.reset()
            now = time.monotonic_ns()
            if phase.t0 <= now < phase.t1:
                phase.acked += 1
            if phase.mode == "closed" and now < phase.t1:
                await self.send()
        elif op == "w":
            hello = {"op": "hello", "cursors": {self.a.group: self.cursor}}
            await self._send_text(json.dumps(hello, separators=(",", ":")))
        elif op == "s":
            self.backoff.reset()
            if self.lost_at:
                phase.resumed.append((self.lost_at, time.monotonic()))
                self.lost_at = 0.0
            self.synced.set()
            for frame in list(self.unacked.values()):
                await self._send_text(frame)
        elif op == "e":
            err = json.loads(data)
            if (message_id := err.get("id")) and self.unacked.pop(message_id, None):
                self.refused.add(message_id)
            phase.errors.append(data[:300])

    async def send(self) -> None:
        self.count += 1
        message_id = f"m{self.a.index}-{self.count}"
        frame = self._head + str(self.count) + self._mid + str(time.monotonic_ns()) + self._tail
        self.unacked[message_id] = frame
        self.w.phase.sent += 1
        if self.synced.is_set():
            await self._send_text(frame)

    async def _send_text(self, frame: str) -> None:
        ws = self.ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                await ws.send_str(frame)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Worker:
    def __init__(self, agents: Sequence[Agent]) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.peers = [Peer(a, self) for a in agents]
        self.partner = {p.a.agent_id: p for p in self.peers}
        self.phase = Phase()
        self.stopping = False

    async def connect(self) -> int:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(peer: Peer) -> None:
            async with gate:
                await peer.connect()

        await asyncio.gather(*(one(p) for p in self.peers))
        return len(self.peers)

    async def run_phase(self, mode: str, rate: float, t0: int, t1: int) -> Phase:
        """Send from now until t1 (closed loop with `rate` in flight, or `rate` a second each);
        count what arrives in [t0, t1); then drain."""
        phase = self.phase = Phase(mode, rate, t0, t1)
        senders = [p for p in self.peers if p.a.sends]
        if mode == "closed":
            for _ in range(int(rate)):
                for sender in senders:
                    await sender.send()
        else:
            await asyncio.gather(*(self._pace(p, i / len(senders)) for i, p in enumerate(senders)))
        await asyncio.sleep(max(0.0, (t1 - time.monotonic_ns()) / 1e9))
        phase.undrained = await self._drain()
        phase.mode = "idle"
        return phase

    async def _pace(self, sender: Peer, phase_shift: float) -> None:
        period = 1.0 / self.phase.rate
        due = time.monotonic() + phase_shift * period
        end = self.phase.t1 / 1e9
        while due < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await sender.send()
            due += period

    async def _drain(self) -> int:
        """Until every message is acked and delivered; how many pairs were still not."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            behind = [
                p
                for p in self.peers
                if p.a.sends and (p.unacked or p.cursor > self.partner[p.a.partner].cursor)
            ]
            if not behind or time.monotonic() > deadline:
                return len(behind)
            await asyncio.sleep(0.02)

    def audit(self) -> dict[str, Any]:
        senders = [p for p in self.peers if p.a.sends]
        return {
            "acked": {p.a.group: p.acked for p in senders},
            "unacked": {p.a.group: sorted(p.unacked) for p in senders},
            "refused": {p.a.group: sorted(p.refused) for p in senders},
            "received": {p.a.group: self.partner[p.a.partner].cursor for p in senders},
            "conflicts": sum(p.conflicts for p in senders),
            "duplicates_delivered": sum(p.duplicates for p in self.peers),
            "gaps_delivered": sum(p.gaps for p in self.peers if not p.a.sends),
        }

    async def close(self) -> None:
        self.stopping = True
        await asyncio.gather(*(p.close() for p in self.peers), return_exceptions=True)
        await self.session.close()


async def _serve(pipe: Connection, agents: Sequence[Agent]) -> None:
    worker = Worker(agents)
    try:
        while True:
            try:
                command = await asyncio.to_thread(pipe.recv)
            except EOFError:
                return
            kind = command[0]
            if kind == "connect":
                pipe.send(await worker.connect())
            elif kind == "phase":
                pipe.send(await worker.run_phase(*command[1:]))
            elif kind == "audit":
                pipe.send(worker.audit())
            else:
                return
    finally:
        await worker.close()


def _main(pipe: Connection, agents: Sequence[Agent], fds: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_fd_limit(fds)
    asyncio.run(_serve(pipe, agents))


class Load:
    """The parent's handle on the worker processes; every call goes to all of them at once."""

    def __init__(self, agents: Sequence[Agent], workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        pairs = [agents[i : i + 2] for i in range(0, len(agents), 2)]
        share = -(-len(pairs) // workers)
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for w in range(0, len(pairs), share):
            mine = [a for pair in pairs[w : w + share] for a in pair]
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_main, args=(child, mine, 2 * len(mine) + 256), daemon=True)
            self.pipes.append(parent)
            self.processes.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    async def _all(self, command: tuple[Any, ...]) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return await asyncio.to_thread(self._gather)

    def _gather(self) -> list[Any]:
        out = []
        for pipe, proc in zip(self.pipes, self.processes, strict=True):
            if not pipe.poll(REPLY_TIMEOUT):
                raise BenchError(f"load worker {proc.pid} did not answer in time")
            out.append(pipe.recv())
        return out

    async def connect(self) -> int:
        for proc in self.processes:
            proc.start()
        return sum(await self._all(("connect",)))

    async def phase(self, mode: str, rate: float, t0: int, t1: int) -> list[Phase]:
        return await self._all(("phase", mode, rate, t0, t1))

    async def audit(self) -> list[dict[str, Any]]:
        return await self._all(("audit",))

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        for proc in self.processes:
            proc.join(20)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
