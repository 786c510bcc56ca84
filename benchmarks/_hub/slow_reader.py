"""The slow reader: a group member that says hello and then never reads its socket again.

A plain blocking socket, never handed to the event loop, with a small receive buffer: once the
kernel's buffers on both sides are full, everything the hub wants to send it stays in the hub's
memory, which is what the soak watches. It cannot answer the hub's pings either (a frozen
client). Whether (and when) the hub gives up on it is read from the hub's own presence view
(`GET /v1/agents/{id}`), since this socket cannot be asked; once the hub has let go, what the
socket still holds is read out, to tell how the hub let go (a close frame and its code, or none).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
import time
from dataclasses import dataclass

from _hub.servers import BenchError
from ioa.client import ClientError, HubClient

RECEIVE_BUFFER = 16 * 1024
HANDSHAKE_TIMEOUT = 10.0
PRESENCE_PERIOD = 1.0
READ_OUT_IDLE = 2.0
"""Seconds without a byte after which the socket counts as read out."""
READ_OUT_MAX_BYTES = 512 * 1024 * 1024
DELIVER_PREFIX = b'{"op":"deliver"'


def masked_text_frame(text: str) -> bytes:
    """A client's text frame (RFC 6455 §5.2): clients must mask what they send."""
    data = text.encode()
    mask = os.urandom(4)
    size = len(data)
    if size < 126:
        header = bytes((0x81, 0x80 | size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return header + mask + masked


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What reached the slow reader's socket in all, read once the hub had let go of it."""

    bytes: int
    deliveries: int
    close_code: int | None
    """The code of the hub's close frame; None if the hub closed without one."""
    ended: bool
    """Whether the hub closed the TCP connection too (else the read stopped when idle)."""


def parse_server_frames(data: bytes) -> tuple[int, int | None]:
    """Deliveries and the close code in a stream of a server's (unmasked) frames."""
    deliveries, code, i = 0, None, 0
    while i + 2 <= len(data):
        opcode, size = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if size == 126:
            size, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif size == 127:
            size, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        if i + size > len(data):
            break  # cut short: the rest never arrived
        payload = data[i : i + size]
        i += size
        if opcode == 0x1 and payload.startswith(DELIVER_PREFIX):
            deliveries += 1
        elif opcode == 0x8 and size >= 2:
            code = int.from_bytes(payload[:2], "big")
    return deliveries, code


class SlowReader:
    def __init__(self, host: str, port: int, agent_id: str, token: str) -> None:
        self.host = host
        self.port = port
        self.agent_id = agent_id
        self.token = token
        self._sock: socket.socket | None = None
        self._early = b""
        """Bytes after the handshake's answer, read with it."""
        self.dropped_after: float | None = None
        """Seconds from the flood's start until the hub no longer counted it connected."""

    async def connect(self) -> None:
        self._sock = await asyncio.to_thread(self._handshake)

    def _handshake(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.settimeout(HANDSHAKE_TIMEOUT)
        sock.connect((self.host, self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /v1/ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        )
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer and len(answer) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        if not answer.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise BenchError(f"slow reader: the hub refused the upgrade: {answer[:200]!r}")
        self._early = answer.split(b"\r\n\r\n", 1)[1]
        sock.sendall(masked_text_frame('{"op":"hello","cursors":{}}'))
        return sock  # never read again

    async def read_out(self) -> Leftovers:
        """Read what the socket holds, now that the hub has let go of it, and close it."""
        leftovers = await asyncio.to_thread(self._read_out)
        self.cut()
        return leftovers

    def _read_out(self) -> Leftovers:
        sock = self._sock
        if sock is None:
            return Leftovers(0, 0, None, ended=False)
        data = bytearray(self._early)
        ended = False
        sock.settimeout(READ_OUT_IDLE)
        with contextlib.suppress(OSError):
            while len(data) < READ_OUT_MAX_BYTES:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    ended = True
                    break
                data += chunk
        deliveries, code = parse_server_frames(bytes(data))
        return Leftovers(len(data), deliveries, code, ended)

    def cut(self) -> None:
        """Reset the connection at once (SO_LINGER 0): nothing left to flush on either side."""
        if self._sock is None:
            return
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._sock.close()
        self._sock = None

    async def online(self, rest: HubClient, token: str) -> bool | None:
        """Whether the hub counts it connected; None when the hub did not answer."""
        try:
            async with asyncio.timeout(PRESENCE_PERIOD * 5):
                view = await rest.request("GET", f"/v1/agents/{self.agent_id}", token=token)
        except (TimeoutError, ClientError):
            return None
        return bool(view["online"])

    async def watch(self, rest: HubClient, token: str, stop: asyncio.Event) -> None:
        """Note when the hub drops it: poll its presence until then or until `stop`."""
        started = time.monotonic()
        while not stop.is_set() and self.dropped_after is None:
            if await self.online(rest, token) is False:
                self.dropped_after = time.monotonic() - started
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PRESENCE_PERIOD):
                    await stop.wait()
