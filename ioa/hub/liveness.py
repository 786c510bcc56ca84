"""`Liveness`: the hub finds the WebSockets whose peer is gone, without a timer per frame.

aiohttp's `heartbeat=` moves a timer on every frame received (~7 k instructions of the hub's
~180 k a message); what it guarantees is that a dead peer is found: a socket silent for the
heartbeat interval is pinged, and cut if nothing comes back within half of it. Here one sweep
every half interval does that for all sockets: a socket that received no frame (a pong counts)
for two sweeps in a row is pinged, and one still silent at the next sweep is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from ioa.hub.wsread import FrameQueue

log = logging.getLogger("ioa.hub")

PING = b"\x89\x00"
"""An unmasked ping with no payload (RFC 6455 §5.5.2), as a server sends it."""


@dataclass(slots=True)
class _Watched:
    frames: FrameQueue
    transport: asyncio.Transport
    agent_id: str
    seen: int = 0
    """`frames.frames` at the last sweep."""
    silent: int = 0
    """Sweeps in a row that found no new frame."""
    pinged: bool = False


class Liveness:
    """Pings silent sockets and cuts the ones that stay silent; `interval` is aiohttp's
    `heartbeat`: a dead peer is cut within 1.5 to 2 intervals of its last frame."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watched: dict[FrameQueue, _Watched] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, frames: FrameQueue, transport: asyncio.Transport, agent_id: str) -> None:
        self._watched[frames] = _Watched(frames, transport, agent_id, frames.frames)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sweeps())

    def forget(self, frames: FrameQueue) -> None:
        self._watched.pop(frames, None)

    @property
    def watching(self) -> int:
        """Sockets watched now."""
        return len(self._watched)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweeps(self) -> None:
        while self._watched:
            await asyncio.sleep(self.interval / 2)
            self.sweep()

    def sweep(self) -> None:
        for frames, watched in list(self._watched.items()):
            if watched.transport.is_closing():
                continue
            if frames.frames != watched.seen:
                watched.seen = frames.frames
                watched.silent = 0
                watched.pinged = False
            elif watched.pinged:
                log.warning("cutting the connection of %s: no pong", watched.agent_id)
                del self._watched[frames]
                watched.transport.abort()
            else:
                watched.silent += 1
                if watched.silent >= 2:
                    watched.transport.write(PING)
                    watched.pinged = True
