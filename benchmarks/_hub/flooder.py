"""The flooder: one agent in a process of its own, writing frames as fast as its socket takes them.

It never waits for an ack before the next frame (only TCP's own back-pressure holds it), but it
does read its socket, to collect every ack for the final check. It lives in its own process so
that its bursts cannot stall the event loop that times the normal agents: whatever they see
comes from the hub. The parent commands it over a pipe: `("burst", n)`, then `("stop", seconds)`
after which it waits that long at most for the acks still due, writes them to a JSON file and
answers `"done"`. If the parent dies, the pipe's EOF stops it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from _hub.hub_load import greet, open_socket
from _hub.measure import POLL
from _hub.servers import START_TIMEOUT, STOP_TIMEOUT, BenchError, child_setup


@dataclass(slots=True)
class FloodReport:
    sent: int = 0
    acked: dict[str, int] = field(default_factory=dict)
    """Message id → seq, every ack the flooder got."""
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    bursts: list[tuple[int, float, float]] = field(default_factory=list)
    """(frames written, seconds the writing took, seconds until the last of them was acked
    or NaN) per burst: the socket takes a burst long before the hub has worked it off."""
    closed: int | None = None
    """Close code, if the hub closed the flooder's socket."""

    @property
    def frames(self) -> int:
        return sum(n for n, _, _ in self.bursts)

    @property
    def acked_per_s(self) -> float:
        """Frames acked per second of bursts being worked off: the hub's pace under flood."""
        seconds = sum(a for _, _, a in self.bursts if not math.isnan(a))
        return len(self.acked) / seconds if seconds else 0.0

    @property
    def absorb_max_s(self) -> float:
        return max((a for _, _, a in self.bursts if not math.isnan(a)), default=math.nan)


# the child
class _Flood:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, agent_id: str, group_id: str) -> None:
        self.ws = ws
        self.report = FloodReport()
        self.stopping = False
        self._due: list[tuple[int, float, int]] = []
        """Bursts not yet worked off: (index in report.bursts, start, frames sent by its end)."""
        self._head = '{"op":"send","envelope":{"v":"1","id":"f-'
        self._tail = (
            '","group":"' + group_id + '","sender":"' + agent_id + '","to":[],'
            '"payload":{"type":"chat","text":"'
        )

    async def burst(self, count: int, filler: str) -> None:
        started = time.perf_counter()
        written = 0
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            for _ in range(count):
                if self.stopping or self.ws.closed:
                    break
                self.report.sent += 1
                number = str(self.report.sent)
                await self.ws.send_str(self._head + number + self._tail + filler + '"}}}')
                written += 1
        self.report.bursts.append((written, time.perf_counter() - started, math.nan))
        self._due.append((len(self.report.bursts) - 1, started, self.report.sent))
        self._worked_off()

    def _worked_off(self) -> None:
        """Note the bursts whose every frame is now acked or refused."""
        answered = len(self.report.acked) + self.report.errors
        while self._due and answered >= self._due[0][2]:
            index, started, _ = self._due.pop(0)
            written, writing, _ = self.report.bursts[index]
            self.report.bursts[index] = (written, writing, time.perf_counter() - started)

    async def read(self) -> None:
        report = self.report
        while True:
            msg = await self.ws.receive()
            if msg.type is not WSMsgType.TEXT:
                report.closed = self.ws.close_code
                return
            frame = json.loads(msg.data)
            if frame["op"] == "ack":
                report.acked[frame["id"]] = frame["seq"]
            elif frame["op"] != "deliver":
                report.errors += 1
                if len(report.error_examples) < 5:
                    report.error_examples.append(msg.data[:200])
            if self._due:
                self._worked_off()

    async def settle(self, timeout: float) -> None:
        """Wait until every frame written is acked or refused, `timeout` seconds at most."""
        for _ in range(int(timeout / POLL)):
            if self.ws.closed or len(self.report.acked) + self.report.errors >= self.report.sent:
                return
            await asyncio.sleep(POLL)


def run_flooder(
    pipe: Connection,
    url: str,
    agent_id: str,
    token: str,
    group_id: str,
    payload_bytes: int,
    result_path: str,
    fd_limit: int,
) -> None:
    child_setup(fd_limit)
    report = asyncio.run(_serve(pipe, url, agent_id, token, group_id, "y" * payload_bytes))
    Path(result_path).write_text(json.dumps(_to_json(report)))
    with contextlib.suppress(OSError):
        pipe.send("done")


async def _serve(
    pipe: Connection,
    url: str,
    agent_id: str,
    token: str,
    group_id: str,
    filler: str,
) -> FloodReport:
    commands: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, url, token)
        await greet(ws, {})
        flood = _Flood(ws, agent_id, group_id)
        reader = asyncio.create_task(flood.read())

        def readable() -> None:
            try:
                command = pipe.recv()
            except EOFError:  # the parent is gone
                command = ("stop", 0.0)
            if command[0] == "stop":
                flood.stopping = True
                loop.remove_reader(pipe.fileno())
            commands.put_nowait(command)

        loop.add_reader(pipe.fileno(), readable)
        pipe.send("ready")
        while True:
            kind, value = await commands.get()
            if kind == "burst":
                await flood.burst(int(value), filler)
                continue
            await flood.settle(value)
            break
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()
    return flood.report


def _to_json(report: FloodReport) -> dict[str, Any]:
    return {
        "sent": report.sent,
        "acked": report.acked,
        "errors": report.errors,
        "error_examples": report.error_examples,
        "bursts": report.bursts,
        "closed": report.closed,
    }


# the parent's handle
class Flooder:
    """The flooder process, seen from the soak."""

    def __init__(
        self,
        url: str,
        agent_id: str,
        token: str,
        group_id: str,
        payload_bytes: int,
        result_path: Path,
        fd_limit: int,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child_end = ctx.Pipe()
        self._result_path = result_path
        args = (child_end, url, agent_id, token, group_id, payload_bytes, str(result_path))
        self.process = ctx.Process(
            target=run_flooder, args=(*args, fd_limit), name="flooder", daemon=True
        )

    def start(self) -> None:
        self.process.start()
        if not self._pipe.poll(START_TIMEOUT) or self._pipe.recv() != "ready":
            self.kill()
            raise BenchError(f"the flooder did not connect within {START_TIMEOUT:.0f} s")

    def burst(self, count: int) -> None:
        self._pipe.send(("burst", float(count)))

    async def finish(self, timeout: float) -> FloodReport:
        """Stop flooding, give the acks still due `timeout` seconds, and collect the report."""
        self._pipe.send(("stop", timeout))
        answered = await asyncio.to_thread(self._pipe.poll, timeout + STOP_TIMEOUT)
        await asyncio.to_thread(self.process.join, STOP_TIMEOUT)
        self.kill()
        if not answered or not self._result_path.exists():
            raise BenchError("the flooder did not report back")
        return await asyncio.to_thread(self._load_report)

    def _load_report(self) -> FloodReport:
        data = json.loads(self._result_path.read_text())
        return FloodReport(
            sent=int(data["sent"]),
            acked={str(k): int(v) for k, v in data["acked"].items()},
            errors=int(data["errors"]),
            error_examples=list(data["error_examples"]),
            bursts=[(int(n), float(w), float(a)) for n, w, a in data["bursts"]],
            closed=data["closed"],
        )

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_TIMEOUT)
