"""Connected agents spread over worker processes, each agent a real `HubClient`.

A worker connects its share of the agents (each replays its group's history on the way), says
`connected`, and waits. Told `lost` (the hub was killed), it waits until every client has seen
its socket close, answers, and then — while the clients reconnect by themselves, with their own
backoff — collects the monotonic time at which each one finished its resume (`wait_synced`), and
sends those up. `stop` closes everything. If the parent goes away the pipe reaches EOF and the
worker ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from _hub.history import Member
from _hub.hub_load import bounded
from _hub.servers import BenchError, raise_fd_limit
from ioa.client import HubClient

CONNECT_CONCURRENCY = 16
NOTICE_TIMEOUT = 10.0
RESUME_TIMEOUT = 120.0
REPLY_TIMEOUT = 180.0


@dataclass(frozen=True, slots=True)
class Resumed:
    times: list[float]
    """`time.monotonic()` at which each client had resumed."""
    missing: int
    """Clients that had not resumed within `RESUME_TIMEOUT`."""


def has_lost_its_socket(client: HubClient) -> bool:
    # HubClient has no public "connected" flag; `_synced` is cleared the moment its reader sees
    # the socket close, and set again at the end of the next resume (what `wait_synced` awaits).
    return not client._synced.is_set()


def new_client(url: str, member: Member, max_backoff: float | None) -> HubClient:
    """A client for `member`; `max_backoff` None keeps the client's own default."""
    if max_backoff is None:
        return HubClient(url, token=member.token, agent_id=member.agent_id)
    return HubClient(url, token=member.token, agent_id=member.agent_id, max_backoff=max_backoff)


async def _worker(
    pipe: Connection, url: str, members: Sequence[Member], max_backoff: float | None
) -> None:
    clients = [new_client(url, m, max_backoff) for m in members]
    for client in clients:
        await client.__aenter__()
    try:
        await bounded(CONNECT_CONCURRENCY, [c.connect() for c in clients])
        pipe.send(("connected", len(clients)))
        while (command := await asyncio.to_thread(_receive, pipe)) == "lost":
            await until_lost(clients)
            pipe.send(("noticed", sum(map(has_lost_its_socket, clients))))
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(c.wait_synced()) for c in clients], timeout=RESUME_TIMEOUT
            )
            times = [t.result() for t in done]
            pipe.send(("resumed", Resumed(times, len(clients) - len(times))))
        del command  # "stop" or EOF
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def until_lost(clients: Sequence[HubClient], timeout: float = NOTICE_TIMEOUT) -> None:
    """Until every client has seen its socket close (a few ms after a SIGKILL of the hub)."""
    for _ in range(int(timeout / 0.005)):
        if all(map(has_lost_its_socket, clients)):
            return
        await asyncio.sleep(0.005)


def _receive(pipe: Connection) -> str:
    try:
        return str(pipe.recv())
    except EOFError:
        return "stop"


def run_worker(
    pipe: Connection, url: str, members: Sequence[Member], max_backoff: float | None, fds: int
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_fd_limit(fds)
    asyncio.run(_worker(pipe, url, members, max_backoff))


class Crowd:
    """The parent's handle on the workers."""

    def __init__(
        self, url: str, members: Sequence[Member], workers: int, max_backoff: float | None
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        share = max(1, -(-len(members) // workers))
        for w in range(0, len(members), share):
            mine, theirs = ctx.Pipe()
            fds = 4 * share + 256
            args = (theirs, url, list(members[w : w + share]), max_backoff, fds)
            self.processes.append(ctx.Process(target=run_worker, args=args, daemon=True))
            self.pipes.append(mine)

    def _gather(self, expect: str) -> list[object]:
        out = []
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            if not pipe.poll(REPLY_TIMEOUT):
                raise BenchError(f"worker {process.pid} did not answer {expect!r} in time")
            kind, value = pipe.recv()
            if kind != expect:
                raise BenchError(f"worker {process.pid} said {kind!r}, expected {expect!r}")
            out.append(value)
        return out

    async def connect(self) -> int:
        for process in self.processes:
            process.start()
        return sum(int(str(n)) for n in await asyncio.to_thread(self._gather, "connected"))

    async def lost(self) -> int:
        """Tell the workers the hub is gone; how many clients have noticed."""
        for pipe in self.pipes:
            pipe.send("lost")
        return sum(int(str(n)) for n in await asyncio.to_thread(self._gather, "noticed"))

    async def resumed(self) -> Resumed:
        answers = await asyncio.to_thread(self._gather, "resumed")
        times: list[float] = []
        missing = 0
        for answer in answers:
            if not isinstance(answer, Resumed):
                raise BenchError(f"a worker answered {answer!r}")
            times += answer.times
            missing += answer.missing
        return Resumed(sorted(times), missing)

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        for process in self.processes:
            process.join(20)
            if process.is_alive():
                process.kill()
                process.join(5)
