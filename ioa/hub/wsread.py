"""The hub's WebSocket read path: text frames handled inside the socket's read callback.

aiohttp's reader parses each frame (masking, lengths, fragments, UTF-8, close codes: all of
RFC 6455's rules, in C) and puts it in a queue; `receive()` then wakes the connection's task
through a future, one event-loop turn per frame. Measured with one message in flight per
agent, that queue, the wake-up and `receive()` cost ~10 k instructions of the hub's ~180 k a
message. Here the same parser feeds `FrameQueue`, which hands a text frame straight to its
connection (`FrameTaker.take`) when nothing waits before it and the connection is idle, and
queues it as aiohttp does otherwise (behind another frame, while a frame is being handled,
past `FRAMES_PER_TURN` in one read, or once closing), so frames are handled one at a time and
in order. Control frames always take the queue: `receive()` answers pings and does the close
handshake, as before.

`WebSocketResponse`'s per-frame heartbeat timer is not used either (~7 k instructions a
message): `Liveness` pings the sockets that were silent and cuts those that do not answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Generator
from typing import Any, Protocol

from aiohttp import WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
from aiohttp.http_websocket import WebSocketWriter
from aiohttp.web_request import BaseRequest

log = logging.getLogger("ioa.hub")

FRAMES_PER_TURN = 16
"""Frames one connection handles before it lets the event loop serve the others: without this
a client that writes thousands of frames at once held the loop for all of them (other clients'
p99 went from ~10 ms to ~400 ms)."""

_QUEUE_LIMIT = 2**16
"""aiohttp's own (`DEFAULT_CHUNK_SIZE`): bytes queued before the socket stops being read."""
_TEXT = WSMsgType.TEXT


class FrameTaker(Protocol):
    def take(self, text: str) -> bool:
        """Handle a text frame now (True), or leave it to the queue (False)."""


class FrameQueue(WebSocketDataQueue):
    """aiohttp's frame queue, with a bypass for text frames: see the module's docstring."""

    def __init__(self, protocol: Any, limit: int, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(protocol, limit, loop=loop)
        self.taker: FrameTaker | None = None
        self.frames = 0
        """Frames received, of every kind: what `Liveness` watches."""
        self.burst = 0
        """Text frames taken at once since the socket's last read."""

    def feed_data(self, data: Any, size: int) -> None:
        self.frames += 1
        if (
            data[0] is _TEXT
            and self.burst < FRAMES_PER_TURN
            and not self._buffer
            and self.taker is not None
            and self.taker.take(data[1])
        ):
            self.burst += 1
            return
        super().feed_data(data, size)


class _FrameReader(WebSocketReader):
    """aiohttp's parser; each read of the socket starts a new `FRAMES_PER_TURN` budget."""

    def __init__(self, queue: FrameQueue, max_msg_size: int) -> None:
        try:
            super().__init__(queue, max_msg_size, False, True)
        except TypeError:  # an older aiohttp has no `decode_text`: it always decodes
            super().__init__(queue, max_msg_size, False)  # type: ignore[call-arg]
        self.frame_queue = queue

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        self.frame_queue.burst = 0
        return super().feed_data(data)


class HubWebSocket(web.WebSocketResponse):
    """A server WebSocket whose frames go through `FrameQueue`; no per-frame heartbeat timer
    (`Liveness` does its job), no compression (the hub writes raw frames to the transport)."""

    def __init__(self, *, max_msg_size: int) -> None:
        super().__init__(heartbeat=None, max_msg_size=max_msg_size, compress=False)
        self.frames: FrameQueue | None = None

    def _post_start(
        self, request: BaseRequest, protocol: str | None, writer: WebSocketWriter
    ) -> None:
        # aiohttp's own `_post_start`, with the queue and parser above in place of its own
        self._ws_protocol = protocol
        self._writer = writer
        loop = self._loop
        if loop is None:
            raise RuntimeError("the WebSocket was not prepared")
        self.frames = FrameQueue(request._protocol, _QUEUE_LIMIT, loop=loop)
        self._reader = self.frames
        self._parser = _FrameReader(self.frames, self._max_msg_size)
        request.protocol.set_parser(self._parser)
        request.protocol.keep_alive(False)


class Started:
    """A coroutine already run up to its first suspension (by `run_now`), for a task to finish:
    it hands on what the coroutine waits for and sends back what the task gets."""

    __slots__ = ("_coro", "_waiting")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coro = coro
        self._waiting = waiting

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting = self._coro, self._waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a task's cancellation, passed on
                try:
                    waiting = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration:
                    return


async def finish(started: Started) -> None:
    await started


def run_now(coro: Coroutine[Any, Any, None]) -> Started | None:
    """Run `coro` at once, in the caller's turn of the loop, not one turn later in a task: None
    if it finished without waiting, else what a task must await to finish it. An exception it
    raises before it waits is raised here."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return Started(coro, waiting)
