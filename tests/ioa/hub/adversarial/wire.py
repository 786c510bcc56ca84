"""Raw wire tools for the attack suite: HTTP and WebSocket spoken byte by byte.

Nothing here goes through `ioa.client`: requests are written by hand with
`asyncio.open_connection`, so a test decides how the bytes are split into TCP writes, how long
it pauses between them and what the bytes are, including bytes no polite client would send.
Every reply is parsed just enough to check its status, its error code and whether the socket
is still open; every HTTP answer is checked to be below 500.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ioa.hub import Hub

READ_TIMEOUT = 10.0
"""Generous: a reply that takes this long is a failure, not a slow machine."""

# WebSocket opcodes (RFC 6455 §5.2)
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def compact(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def pieces(data: bytes, count: int) -> list[bytes]:
    """`data` cut into `count` pieces of near-equal size (none empty unless `data` is short)."""
    step = max(1, -(-len(data) // count))
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


def chunked(data: bytes, chunk: int) -> bytes:
    """`data` in HTTP/1.1 chunked transfer coding, `chunk` bytes per chunk."""
    out = bytearray()
    for i in range(0, len(data), chunk):
        part = data[i : i + chunk]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


# HTTP


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The hub's error code, if the body is a JSON error."""
        try:
            return str(self.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return None


async def read_reply(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> Reply:
    """One HTTP/1.1 response: status line, headers, then a body by length, chunks or EOF."""
    async with asyncio.timeout(timeout):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if status == 101 or status == 204 or status == 304:
            body = b""
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.read()
    assert status < 500, f"the hub answered {status}: {body[:300]!r}"
    return Reply(status, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def request_head(
    method: str,
    path: str,
    *,
    token: str | None = None,
    length: int | None = None,
    is_chunked: bool = False,
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if is_chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    if length is not None or is_chunked:
        lines.append("Content-Type: application/json")
    if not keep_alive:
        lines.append("Connection: close")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HttpConn:
    """One raw, keep-alive HTTP/1.1 connection to the hub: `async with HttpConn(hub) as c:`."""

    def __init__(self, hub: Hub) -> None:
        self.port = hub.port
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def __aenter__(self) -> HttpConn:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await close_writer(self.writer)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        *,
        token: str | None = None,
        split: int = 1,
        pause: float = 0.05,
        is_chunked: bool = False,
        chunk: int = 64,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send the head in one write, then the body (raw, or chunked `chunk` bytes a chunk)
        in `split` writes `pause` seconds apart; the reply is read while the body still goes
        out, so a hub that answers early (413) is heard even if it stops reading."""
        data = body.encode() if isinstance(body, str) else body
        wire = b"" if data is None else chunked(data, chunk) if is_chunked else data
        head = request_head(
            method,
            path,
            token=token,
            length=None if data is None else len(data),
            is_chunked=is_chunked and data is not None,
            headers=headers,
        )
        self.writer.write(head)
        sender = asyncio.create_task(self._send_body(pieces(wire, split) if wire else [], pause))
        try:
            return await read_reply(self.reader)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender

    async def _send_body(self, parts: list[bytes], pause: float) -> None:
        with contextlib.suppress(ConnectionError):
            for i, part in enumerate(parts):
                if i:
                    await asyncio.sleep(pause)
                self.writer.write(part)
                await self.writer.drain()

    async def is_open(self) -> bool:
        """True if the hub still answers on this connection (a health check round trip)."""
        try:
            return (await self.request("GET", "/v1/health")).status == 200
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            return False


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def http(
    hub: Hub, method: str, path: str, body: Any = None, *, token: str | None = None, **kw: Any
) -> Reply:
    """One request on a fresh connection; a non-bytes, non-str `body` is sent as JSON."""
    if body is not None and not isinstance(body, bytes | str):
        body = compact(body)
    async with HttpConn(hub) as conn:
        return await conn.request(method, path, body, token=token, **kw)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> bytes:
    """Everything the peer sends until it closes; TimeoutError if it never does."""
    data = bytearray()
    async with asyncio.timeout(timeout):
        while True:
            try:
                part = await reader.read(65536)
            except ConnectionError:
                return bytes(data)
            if not part:
                return bytes(data)
            data += part


# agents, groups and what the hub holds


@dataclass(frozen=True)
class Agent:
    id: str
    token: str
    name: str


async def register(hub: Hub, name: str, *tags: str) -> Agent:
    card: dict[str, Any] = {"name": name, "description": f"{name}, an attack test agent"}
    if tags:
        card["skills"] = [{"name": t, "tags": [t]} for t in tags]
    reply = await http(hub, "POST", "/v1/agents", card)
    assert reply.status == 201, reply.body
    body = reply.json()
    return Agent(body["agent_id"], body["token"], name)


async def create_group(
    hub: Hub,
    creator: Agent,
    members: Sequence[Agent] = (),
    *,
    protocol: str = "chat",
    meta: dict[str, Any] | None = None,
) -> str:
    body = {"members": [m.id for m in members], "protocol": protocol, "meta": meta or {}}
    reply = await http(hub, "POST", "/v1/groups", body, token=creator.token)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


async def health(hub: Hub) -> dict[str, Any]:
    reply = await http(hub, "GET", "/v1/health")
    assert reply.status == 200
    body: dict[str, Any] = reply.json()
    return body


async def messages(
    hub: Hub, reader: Agent, group: str, conn: HttpConn | None = None
) -> list[dict[str, Any]]:
    """Every stored envelope of `group`, in seq order, read page by page over REST (on `conn`
    if given, a fresh connection per page otherwise)."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        path = f"/v1/groups/{group}/messages?after={after}&limit=5000"
        if conn is None:
            reply = await http(hub, "GET", path, token=reader.token)
        else:
            reply = await conn.request("GET", path, token=reader.token)
        assert reply.status == 200, reply.body
        page = reply.json()["messages"]
        out += page
        if len(page) < 5000:
            return out
        after = page[-1]["seq"]


async def head(hub: Hub, reader: Agent, group: str) -> int:
    reply = await http(hub, "GET", f"/v1/groups/{group}", token=reader.token)
    assert reply.status == 200, reply.body
    return int(reply.json()["head"])


def assert_gap_free(stored: list[dict[str, Any]]) -> None:
    """Seqs are exactly 1..N in order and no message id is stored twice."""
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    ids = [m["id"] for m in stored]
    assert len(set(ids)) == len(ids), "a message id is stored twice"


@dataclass
class Snapshot:
    """What an attack must not change: counts of agents and groups, and stored messages."""

    agents: int
    groups: int
    stored: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


async def snapshot(hub: Hub, reader: Agent | None = None, groups: Iterable[str] = ()) -> Snapshot:
    info = await health(hub)
    snap = Snapshot(info["agents"], info["groups"])
    for group in groups:
        assert reader is not None
        stored = await messages(hub, reader, group)
        assert_gap_free(stored)
        snap.stored[group] = [(m["seq"], m["id"]) for m in stored]
    return snap


async def assert_unchanged(hub: Hub, before: Snapshot, reader: Agent | None = None) -> None:
    after = await snapshot(hub, reader, before.stored)
    assert after == before


# envelopes and frames


def new_id() -> str:
    return uuid.uuid4().hex


def chat(group: str, sender: Agent | str, text: str = "hi", **fields: Any) -> dict[str, Any]:
    """A chat envelope as a plain dict; `fields` override or add any envelope field."""
    sender_id = sender if isinstance(sender, str) else sender.id
    env: dict[str, Any] = {
        "id": new_id(),
        "group": group,
        "sender": sender_id,
        "payload": {"type": "chat", "text": text},
    }
    env.update(fields)
    return env


def move(
    group: str, sender: Agent, payload: dict[str, Any], to: Sequence[Agent] = ()
) -> dict[str, Any]:
    """An envelope carrying a conversation move of an "ioa" group."""
    return {
        "id": new_id(),
        "group": group,
        "sender": sender.id,
        "to": [a.id for a in to],
        "payload": payload,
    }


def send_frame(envelope: dict[str, Any]) -> str:
    return compact({"op": "send", "envelope": envelope})


def hello_frame(cursors: dict[str, Any] | None = None) -> str:
    return compact({"op": "hello", "cursors": cursors or {}})


# WebSocket


class HandshakeRefused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(f"upgrade refused with {reply.status}: {reply.body[:200]!r}")
        self.reply = reply


def _mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    n = len(payload)
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """One client frame (RFC 6455 §5.2), masked with a random key unless told otherwise."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + _mask(payload, key)


class RawWs:
    """A WebSocket client written by hand: any frame can be sent, every frame is seen.

    `recv` answers pings itself and returns text frames; once the hub closes, `recv` returns
    None and `close_code` says how (1006 when the TCP connection ended without a close frame).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.close_code: int | None = None
        self.close_reason = b""

    @classmethod
    async def open(cls, hub: Hub, token: str | None, *, path: str = "/v1/ws") -> RawWs:
        reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
        key = base64.b64encode(os.urandom(16)).decode()
        headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        }
        writer.write(request_head("GET", path, token=token, headers=headers))
        reply = await read_reply(reader)
        if reply.status != 101:
            await close_writer(writer)
            raise HandshakeRefused(reply)
        return cls(reader, writer)

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_frame(self, opcode: int, payload: bytes, **kw: Any) -> None:
        await self.send_raw(ws_frame(opcode, payload, **kw))

    async def send(self, text: str) -> None:
        await self.send_frame(TEXT, text.encode())

    async def recv_frame(self, timeout: float = READ_TIMEOUT) -> tuple[int, bytes]:
        """The next frame from the hub as (opcode, payload); pings are answered, not returned."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    first, second = await self.reader.readexactly(2)
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.close_code = self.close_code or 1006
                    return CLOSE, b""
                if not first & 0x80 or first & 0x70 or second & 0x80:
                    junk = bytes((first, second)) + self.reader._buffer[:200]
                    raise AssertionError(f"the hub sent bytes that are no server frame: {junk!r}")
                size = second & 0x7F
                if size == 126:
                    (size,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif size == 127:
                    (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(size)
                opcode = first & 0x0F
                if opcode == PING:
                    await self.send_frame(PONG, payload)
                    continue
                return opcode, payload

    async def recv(self, timeout: float = READ_TIMEOUT) -> str | None:
        """The next text frame; None once the hub has closed the connection."""
        if self.closed:
            return None
        while True:
            opcode, payload = await self.recv_frame(timeout)
            if opcode == TEXT:
                return payload.decode()
            if opcode == CLOSE:
                if self.close_code is None:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else 1005
                    self.close_reason = payload[2:]
                    with contextlib.suppress(ConnectionError):
                        await self.send_frame(CLOSE, payload[:2])
                await close_writer(self.writer)
                return None
            assert opcode == PONG, f"unexpected frame opcode {opcode}"

    async def recv_json(self, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        text = await self.recv(timeout)
        assert text is not None, f"the hub closed the socket ({self.close_code})"
        frame: dict[str, Any] = json.loads(text)
        return frame

    async def expect(self, op: str, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        frame = await self.recv_json(timeout)
        assert frame["op"] == op, frame
        return frame

    async def expect_error(self, timeout: float = READ_TIMEOUT) -> str:
        """The code of the next frame, which must be an error frame."""
        frame = await self.expect("error", timeout)
        return str(frame["error"]["code"])

    async def hello(
        self, cursors: dict[str, Any] | None = None, timeout: float = READ_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Say hello; return the envelopes replayed before `synced`."""
        await self.send(hello_frame(cursors))
        replayed = []
        while (frame := await self.recv_json(timeout))["op"] != "synced":
            assert frame["op"] == "deliver", frame
            replayed.append(frame["envelope"])
        return replayed

    async def send_and_ack(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send one envelope and return its ack (deliveries arriving first are skipped)."""
        await self.send(send_frame(envelope))
        while True:
            frame = await self.recv_json()
            if frame["op"] == "deliver":
                continue
            assert frame["op"] == "ack", frame
            assert frame["id"] == envelope["id"]
            return frame

    async def pipeline(
        self, frames: Sequence[str], replies: int | None = None
    ) -> list[dict[str, Any]]:
        """Write every frame in one go (one TCP write), then collect `replies` acks and errors
        (one per frame unless told), skipping deliveries."""
        await self.send_raw(b"".join(ws_frame(TEXT, f.encode()) for f in frames))
        out: list[dict[str, Any]] = []
        want = len(frames) if replies is None else replies
        while len(out) < want:
            frame = await self.recv_json()
            if frame["op"] in ("ack", "error"):
                out.append(frame)
        return out

    async def wait_closed(self, timeout: float = READ_TIMEOUT) -> int:
        """Read (and drop) frames until the hub closes; the close code."""
        while await self.recv(timeout) is not None:
            pass
        assert self.close_code is not None
        return self.close_code

    async def close(self) -> None:
        if not self.closed:
            self.close_code = 1000
            with contextlib.suppress(ConnectionError):
                await self.send_frame(CLOSE, struct.pack("!H", 1000))
        await close_writer(self.writer)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self.close_code = self.close_code or 1006
        self.writer.transport.abort()


async def connect(hub: Hub, agent: Agent, cursors: dict[str, Any] | None = None) -> RawWs:
    """A greeted socket: upgraded, welcomed, hello said and replay read up to `synced`."""
    ws = await RawWs.open(hub, agent.token)
    await ws.expect("welcome")
    await ws.hello(cursors)
    return ws
