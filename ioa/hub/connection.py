"""One agent's live WebSocket as the hub writes to it: straight to the socket while it keeps up,
else through an outbox bounded in bytes; a reader too far behind is cut and resumes later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import sys
from collections import deque

from aiohttp import web

from ioa.hub.memory import TRIMMER
from protocols.frames import SYNCED_TEXT

log = logging.getLogger("ioa.hub")

TOO_FAR_BEHIND = b"too far behind; resume"
CORK_BYTES = 64 * 1024
"""At most this much of a batch waits in a connection's cork: past it the cork is written out
and later frames take the usual way (the outbox and its budget once the socket is full)."""
CLOSE_GRACE = 10.0
"""Seconds a dropped reader has to take its buffered frames and the close before it is cut."""


def close_frame(code: int, reason: bytes) -> bytes:
    """An unmasked close frame (RFC 6455 §5.5.1): status code, then a short reason."""
    body = struct.pack("!H", code) + reason[:123]
    return bytes((0x88, len(body))) + body


def text_frame(text: str) -> bytes:
    """An unmasked, uncompressed WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class Connection:
    """One agent's live WebSocket: frames written at once while the socket keeps up, else an
    outbox and the task that drains it in order.

    Most frames go straight to the transport: going through a task per connection cost two
    event-loop turns per message (ack and delivery), a fifth of the hub's CPU with one message in
    flight. The socket must be opened with `compress=False` so that raw text frames are valid.
    What waits in the outbox is counted in bytes of memory held; past `budget` the connection is
    dropped (it resumes from its cursors), so a member that never reads costs a bounded amount.
    """

    def __init__(
        self,
        agent_id: str,
        ws: web.WebSocketResponse,
        budget: int,
        max_inflight: int,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.ws = ws
        self.budget = budget
        self.max_inflight = max_inflight
        self.transport = transport
        self.replaying = True
        self.queued_bytes = 0
        """Memory held by frames in the outbox and held back during replay."""
        self.inflight = 0
        """Messages of this connection admitted and not yet acked (or refused)."""
        self._credit = asyncio.Event()
        self._credit.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._pending: list[tuple[str, int, str]] = []
        self._replayed_to: dict[str, int] = {}
        """group id → last seq the replay sent; a live delivery at or below it is a repeat."""
        self._outbox: deque[str] = deque()
        self._corked: list[bytes] = []
        """Encoded frames kept back by `push(corked=...)` until `flush`."""
        self._corked_bytes = 0
        self._wake = asyncio.Event()
        self._pump = asyncio.create_task(self._drain())
        self.gone = False
        """Dropped by the hub or its socket failed: nothing more is queued."""
        self._closer: asyncio.Future[bool] | None = None

    def push(
        self,
        frame: str,
        group_id: str | None = None,
        seq: int = 0,
        corked: list[Connection] | None = None,
    ) -> None:
        """Queue a frame. While replaying, frames of a group (`seq` > 0 marks a delivery, which
        replay may already have sent) wait, so that order and dedupe hold; errors go at once.

        With `corked`, a frame that would be written at once is kept until `flush` (the
        connection adds itself to the list once), so a batch's frames for one connection
        leave in one write: one system call, where each costs as much as a frame's whole
        handling by the hub.
        """
        if self.gone:
            return
        if self.replaying and group_id is not None:
            self._pending.append((group_id, seq, frame))
            self._hold(frame)
            return
        if seq and seq <= self._replayed_to.get(group_id or "", 0):
            return  # committed before the replay read it, dispatched after: sent already
        # once a batch's first frames wait in the cork, every later one goes after them
        if self._corked or (corked is not None and self._writable()):
            if not self._corked and corked is not None:
                corked.append(self)
            data = text_frame(frame)
            self._corked.append(data)
            self._corked_bytes += len(data)
            if self._corked_bytes >= CORK_BYTES:
                self.flush()
            return
        if self._write_now(frame):
            return
        self._outbox.append(frame)
        self._hold(frame)
        self._wake.set()

    def _hold(self, frame: str) -> None:
        self.queued_bytes += sys.getsizeof(frame)
        if self.queued_bytes > self.budget:
            self.drop(f"more than {self.budget} bytes queued")

    def drop(self, why: str) -> None:
        """Forget everything queued and close with 1013: the client resumes from its cursors."""
        if self.gone:
            return
        self.gone = True
        log.warning("dropping the connection of %s: %s", self.agent_id, why)
        self._outbox.clear()
        self._pending.clear()
        self._corked.clear()
        self._corked_bytes = 0
        self.queued_bytes = 0
        self._drained.set()
        self._pump.cancel()
        TRIMMER.want()  # what it held is freed: give it back once the hub is quiet
        transport = self.transport
        if transport is None or transport.is_closing():
            self._closer = asyncio.ensure_future(self.ws.close(code=1013, message=TOO_FAR_BEHIND))
            return
        # The socket is full, so a polite close would wait on the reader for ever: queue the
        # close frame behind what is buffered, let the transport flush what it can, and cut the
        # connection if the reader still takes nothing.
        transport.write(close_frame(1013, TOO_FAR_BEHIND))
        transport.close()
        asyncio.get_running_loop().call_later(CLOSE_GRACE, transport.abort)

    def _writable(self) -> bool:
        """Nothing is queued before a new frame and the socket's buffer is empty."""
        transport = self.transport
        return not (
            transport is None
            or self._outbox
            or self.ws.closed
            or transport.is_closing()
            or transport.get_write_buffer_size()
        )

    def _write_now(self, frame: str) -> bool:
        """Write the frame if nothing is queued before it and the socket's buffer is empty."""
        if self.transport is None or not self._writable():
            return False
        self.transport.write(text_frame(frame))
        return True

    def flush(self) -> None:
        """Write what `push` kept back for the batch, in one piece."""
        frames, self._corked, self._corked_bytes = self._corked, [], 0
        if frames and not self.gone and self.transport is not None:
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def push_replayed(self, frame: str) -> None:
        """Queue a replayed frame; the replay itself waits on `drained` between pages."""
        if self.gone:
            return
        self._outbox.append(frame)
        self.queued_bytes += sys.getsizeof(frame)
        self._drained.clear()
        self._wake.set()

    async def drained(self) -> None:
        """Until at most half the budget is queued (or the connection is gone)."""
        while self.queued_bytes > self.budget // 2 and not self.gone:
            self._drained.clear()
            await self._drained.wait()

    def finish_replay(self, last_seq: dict[str, int]) -> None:
        self.replaying = False
        self._replayed_to = last_seq
        for group_id, seq, frame in self._pending:
            if seq == 0 or seq > last_seq.get(group_id, 0):
                self._outbox.append(frame)
            else:
                self.queued_bytes -= sys.getsizeof(frame)
        self._pending.clear()
        self._outbox.append(SYNCED_TEXT)
        self.queued_bytes += sys.getsizeof(SYNCED_TEXT)
        self._wake.set()

    def admitted(self) -> None:
        self.inflight += 1
        if self.inflight >= self.max_inflight:
            self._credit.clear()

    def settled(self) -> None:
        self.inflight -= 1
        if self.inflight < self.max_inflight:
            self._credit.set()

    @property
    def has_credit(self) -> bool:
        """True while one more message may be in flight (no need to await `credit`)."""
        return self.inflight < self.max_inflight

    async def credit(self) -> None:
        """Until this connection may have one more message in flight."""
        await self._credit.wait()

    async def _drain(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    if self._write_batch():
                        if self._outbox:
                            await asyncio.sleep(0)  # more than a cork's worth: let others run
                        continue
                    frame = self._take()
                    await self.ws.send_str(frame)  # the socket is full: aiohttp's flow control
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.gone = True
            self._outbox.clear()
            self._drained.set()

    def _take(self) -> str:
        frame = self._outbox.popleft()
        self.queued_bytes -= sys.getsizeof(frame)
        if self.queued_bytes <= self.budget // 2:
            self._drained.set()
        return frame

    def _write_batch(self) -> bool:
        """While the socket's buffer is empty, write what waits in the outbox (up to
        `CORK_BYTES`) in one piece: a resume's replayed frames and its `synced` leave in one
        system call, not one each (each costs about what the hub spends on a frame)."""
        transport = self.transport
        if transport is None or self.ws.closed or transport.is_closing():
            return False
        if transport.get_write_buffer_size():
            return False
        frames: list[bytes] = []
        size = 0
        while self._outbox and size < CORK_BYTES:
            data = text_frame(self._take())
            frames.append(data)
            size += len(data)
        transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        return True

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
