"""The soak's normal agents: members of small chat groups who send when the pacer says so.

Each agent times its own messages (send → ack, by message id) and the messages of its peers
(send → arrival, the send time travels in the text as `<ns>:<phase>:filler`). It also checks
what a resuming agent relies on: in its group, the seqs it sees (deliveries and the acks of its
own new messages) go up by exactly one, across reconnects too. Resends are sent with the same id
and, when they repeat an acked message, the text `r:`: such a text must never be delivered,
and the resend's ack must name the first seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from _hub.hub_load import greet, open_socket
from _hub.ledger import EXAMPLES, Ledger
from _hub.phases import Clock, Phase

RESEND_TEXT = "r:"
PACE_TICK = 0.01
CLOSE_TIMEOUT = 5.0
"""Seconds a client-side close may wait for the hub's answer before the socket is cut."""


@dataclass(slots=True)
class Faults:
    """What the normal agents saw go wrong, counted, with a few examples each."""

    errors: int = 0
    """Error frames from the hub."""
    skipped: int = 0
    """Seqs of an agent's group it never saw (neither delivered nor acked), by the end."""
    repeated: int = 0
    """A seq seen again (a delivery that came twice)."""
    redelivered: int = 0
    """A resend of an acked message was delivered to peers: it was stored again."""
    resend_wrong_seq: int = 0
    """A resend acked with another seq than the first ack."""
    dropped_by_hub: int = 0
    """Sockets of normal agents the hub closed on its own."""
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 4 * EXAMPLES:
            self.examples.append(text)


@dataclass(slots=True)
class Outgoing:
    """A message sent and not acked yet."""

    sent_ns: int
    phase: Phase
    frame: str
    resend: bool = False


class ChatAgent:
    """One agent of a chat group, on a raw aiohttp WebSocket."""

    def __init__(
        self,
        agent_id: str,
        token: str,
        index: int,
        clock: Clock,
        ledger: Ledger,
        faults: Faults,
        payload_bytes: int,
    ) -> None:
        self.agent_id = agent_id
        self.token = token
        self.index = index
        self.clock = clock
        self.ledger = ledger
        self.faults = faults
        self.group_id = ""
        self.live = False
        """Connected and synced: the pacer may send."""
        self.timed = True
        """Whether this agent's round trips are the normal agents' figures."""
        self.last_seq = 0
        """Highest seq seen in the group: the resume cursor."""
        self.holes: set[int] = set()
        """Seqs jumped over, not seen yet."""
        self._last_how = ""
        self.own: list[str] = []
        """Ids of this agent's messages, in the order their first ack came."""
        self.outgoing: dict[str, Outgoing] = {}
        self.expected: dict[str, int] = {}
        """Resent id → the seq its first ack named."""
        self._filler = "x" * payload_bytes
        self._head = ""
        self._count = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._hanging_up = False

    def join_group(self, group_id: str) -> None:
        """Pre-build the part of every frame that never changes."""
        self.group_id = group_id
        self._head = (
            '","group":"' + group_id + '","sender":"' + self.agent_id + '","to":[],'
            '"payload":{"type":"chat","text":"'
        )

    def _frame(self, message_id: str, text: str) -> str:
        return '{"op":"send","envelope":{"v":"1","id":"' + message_id + self._head + text + '"}}}'

    # connecting
    async def connect(self, session: aiohttp.ClientSession, url: str) -> None:
        """Open the socket and resume from `last_seq`; the replay moves the cursor on."""
        ws = await open_socket(session, url, self.token)
        cursors = {self.group_id: self.last_seq} if self.group_id else {}
        for frame in await greet(ws, cursors):
            self._on_deliver(json.loads(frame)["envelope"], replayed=True)
        self._ws = ws
        self._hanging_up = False
        self._reader = asyncio.create_task(self._read(ws))
        self.live = True

    async def hang_up(self) -> None:
        """Close the socket from this side, as a client going away does."""
        self.live = False
        self._hanging_up = True
        ws, reader = self._ws, self._reader
        self._ws = self._reader = None
        if ws is not None:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def bounce(self, session: aiohttp.ClientSession, url: str) -> float:
        """A reconnect: hang up, come back with the cursor, resend what was never acked.
        Returns the milliseconds from reconnecting to `synced`."""
        await self.hang_up()
        started = time.perf_counter()
        await self.connect(session, url)
        took = (time.perf_counter() - started) * 1e3
        for message_id, out in list(self.outgoing.items()):
            out.resend = True
            await self._send(message_id, out.frame)
        return took

    # sending
    async def send_chat(self) -> None:
        """A new message, timed."""
        self._count += 1
        message_id = f"c{self.index}-{self._count}"
        phase = self.clock.phase
        now = time.perf_counter_ns()
        frame = self._frame(message_id, f"{now}:{phase.value}:{self._filler}")
        self.outgoing[message_id] = Outgoing(now, phase, frame)
        if self.timed:
            self.clock.samples[phase].sent += 1
        await self._send(message_id, frame)

    async def resend(self, message_id: str) -> bool:
        """Send an acked message's id again; its ack must name its first seq."""
        first = self.ledger.first_seq(self.group_id, message_id)
        if first is None or not self.live:
            return False
        self.expected[message_id] = first
        frame = self._frame(message_id, RESEND_TEXT + self._filler)
        self.outgoing[message_id] = Outgoing(time.perf_counter_ns(), self.clock.phase, frame, True)
        await self._send(message_id, frame)
        return True

    async def _send(self, message_id: str, frame: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return  # stays outgoing: resent after the next reconnect
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await ws.send_str(frame)

    # receiving
    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            while True:
                msg = await ws.receive()
                if msg.type is not WSMsgType.TEXT:
                    break
                self._on_frame(msg.data)
        except Exception as exc:  # a reader must not die silently: the figures would lie
            self.faults.errors += 1
            self.faults.note(f"{self.agent_id}: reader failed: {exc!r}")
        self.live = False
        if not self._hanging_up:
            self.faults.dropped_by_hub += 1
            self.faults.note(f"{self.agent_id}: socket closed by the hub, code {ws.close_code}")

    def _on_frame(self, data: str) -> None:
        op = data[7] if data[6] == '"' else data[8]  # first letter of the op's name
        if op == "d":
            self._on_deliver(json.loads(data)["envelope"], replayed=False)
        elif op == "a":
            self._on_ack(json.loads(data))
        else:
            self.faults.errors += 1
            self.faults.note(f"{self.agent_id}: {data[:200]}")

    def _on_ack(self, frame: dict[str, Any]) -> None:
        message_id, seq = str(frame["id"]), int(frame["seq"])
        out = self.outgoing.pop(message_id, None)
        self.ledger.ack(self.group_id, message_id, seq)
        expected = self.expected.pop(message_id, None)
        if expected is not None and expected != seq:
            self.faults.resend_wrong_seq += 1
            self.faults.note(f"{message_id} resent: acked as {seq}, first ack said {expected}")
        if out is None or out.resend:
            self._settle_own(seq, message_id)
            return
        self.own.append(message_id)
        self._advance(seq, message_id, "its ack")
        if self.timed:
            samples = self.clock.samples[out.phase]
            samples.acked += 1
            samples.ack_ns.append(time.perf_counter_ns() - out.sent_ns)

    def _on_deliver(self, envelope: dict[str, Any], *, replayed: bool) -> None:
        seq = int(envelope["seq"])
        message_id = str(envelope["id"])
        if replayed and seq <= self.last_seq:
            return
        self._advance(seq, message_id, "replay" if replayed else "live")
        text = str(envelope["payload"]["text"])
        if text.startswith(RESEND_TEXT):
            self.faults.redelivered += 1
            self.faults.note(f"{message_id} delivered again as seq {seq} after a resend")
            return
        if replayed or not self.timed:
            return
        sent_ns, phase, _ = text.split(":", 2)
        self.clock.samples[Phase(int(phase))].delivery_ns.append(
            time.perf_counter_ns() - int(sent_ns)
        )

    def _settle_own(self, seq: int, message_id: str) -> None:
        """The ack of a resend. It may fill a hole: an own message whose first ack went to a
        socket since closed, committed too late for the replay, so the peers' next messages
        came first. A resend the hub had never stored moves the cursor on like a new one."""
        if seq in self.holes:
            self.holes.discard(seq)
        elif seq > self.last_seq:
            self._advance(seq, message_id, "a resend's ack")

    def _advance(self, seq: int, message_id: str, how: str) -> None:
        """Seqs must come up by one; a jump leaves holes, which only this agent's own
        resent messages may fill later."""
        if seq == self.last_seq + 1:
            self.last_seq, self._last_how = seq, how
        elif seq <= self.last_seq:
            self.faults.repeated += 1
            self.faults.note(
                f"{self.agent_id}: seq {seq} ({message_id}) seen again by {how};"
                f" seq {self.last_seq} had come by {self._last_how}"
            )
        else:
            self.holes.update(range(self.last_seq + 1, seq))
            self.last_seq, self._last_how = seq, how

    def finish(self) -> None:
        """At the end: holes never filled are skipped seqs; what never got an ack goes to the
        ledger as such."""
        if self.holes:
            self.faults.skipped += len(self.holes)
            first = sorted(self.holes)[:5]
            self.faults.note(f"{self.agent_id}: {len(self.holes)} seqs never seen, first {first}")
        for message_id in self.outgoing:
            self.ledger.unacked[self.group_id].add(message_id)


@dataclass(frozen=True, slots=True)
class Pacing:
    sent: int
    skipped: int
    """Messages the schedule wanted but could not send: no live agent, or the pacer was more
    than a second behind (the load process itself stalled)."""


async def pace(agents: list[ChatAgent], rate: float, stop: asyncio.Event) -> Pacing:
    """Open loop: `rate` new messages a second in all, round robin over the live agents, so a
    slow hub meets the same demand, not a politely smaller one."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = skipped = turn = 0
    while not stop.is_set():
        await asyncio.sleep(PACE_TICK)
        due = int((loop.time() - start) * rate) - sent - skipped
        if due > rate:
            skipped += due - int(rate)
            due = int(rate)
        for _ in range(due):
            for _ in range(len(agents)):
                agent = agents[turn % len(agents)]
                turn += 1
                if agent.live:
                    await agent.send_chat()
                    sent += 1
                    break
            else:
                skipped += 1
    return Pacing(sent, skipped)
