"""`HubClient`: how an agent talks to a hub — REST for the registry, one WebSocket for messages.

The client remembers the last sequence number it has seen in each group. When the connection
drops it reconnects by itself, asks the hub to replay from those cursors, and resends every
message that was not yet acked (the same ids, so the hub stores each message once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from ioa.backoff import Backoff
from ioa.errors import IoAError
from ioa.lifecycle import Closeable
from protocols import AgentCard, Envelope, ErrorCode, Payload
from protocols.frames import (
    HUB_FRAME,
    Ack,
    Deliver,
    ErrorFrame,
    GroupInfo,
    Hello,
    Joined,
    Synced,
    Welcome,
    send_text,
)
from protocols.views import (
    AgentInfo,
    DiscoveryHit,
    GoalDone,
    GoalMessage,
    GoalStatus,
    Registration,
)

log = logging.getLogger("ioa.client")


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """The hub's `Retry-After` in seconds, if it sent a usable one."""
    try:
        value = float((headers or {}).get("Retry-After", ""))
    except ValueError:
        return None
    return value if 0 < value <= 3600 else None


class ClientError(IoAError):
    """The hub refused a request or a message; `code` is the hub's error code."""

    code = "client_error"
    default_message = "the hub refused the request"

    def __init__(self, message: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class HubClient(Closeable):
    """One agent's connection to a hub. Use as `async with HubClient(url, ...) as client:`."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        agent_id: str | None = None,
        cursors: dict[str, int] | None = None,
        reconnect: bool = True,
        max_backoff: float = 2.0,
        echo: bool = False,
        on_joined: Callable[[GroupInfo], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.agent_id = agent_id
        self.cursors: dict[str, int] = dict(cursors or {})
        """group id → highest seq seen; persist it to resume across restarts of the agent."""
        self.groups: list[str] = []
        self.reconnect = reconnect
        self.backoff = Backoff(cap=max_backoff)
        """Reconnect delays: full jitter up to `max_backoff` seconds."""
        self._retry_after: float | None = None
        self.echo = echo
        """Also yield this agent's own messages (once acked), in sequence order with the rest:
        what an agent needs that keeps its own copy of each conversation's state."""
        self.on_joined = on_joined
        """Called when the hub makes this agent a member of a new group."""
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Envelope | None] = asyncio.Queue()
        self._unacked: dict[str, tuple[Envelope, asyncio.Future[Envelope]]] = {}
        self._synced = asyncio.Event()
        self._closing = False
        self._resends: set[asyncio.Task[None]] = set()

    # lifecycle
    async def __aenter__(self) -> HubClient:
        self._http()
        return self

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        for _, future in self._unacked.values():
            if not future.done():
                future.set_exception(ClientError("client closed before the hub acked", "closed"))
        self._inbox.put_nowait(None)

    # REST
    async def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Any:
        """One REST call; raises `ClientError` with the hub's code on any error answer."""
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._http().request(
                method, self.url + path, data=data, headers=headers
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    try:
                        err = json.loads(text)["error"]
                        raise ClientError(err["message"], err["code"])
                    except (ValueError, KeyError, TypeError):
                        raise ClientError(
                            f"HTTP {resp.status}: {text[:200]}", "http_error"
                        ) from None
                return json.loads(text) if text else None
        except aiohttp.ClientConnectionError as exc:
            raise ClientError(f"cannot reach the hub at {self.url}: {exc}", "unreachable") from exc

    async def register(self, card: AgentCard, registration_token: str | None = None) -> str:
        """Register `card`; the client keeps the returned id and token."""
        body = await self.request(
            "POST", "/v1/agents", card.model_dump(mode="json"), token=registration_token
        )
        registration = Registration.model_validate(body)
        self.agent_id, self.token = registration.agent_id, registration.token
        return registration.agent_id

    async def agents(self, online: bool = False) -> list[AgentInfo]:
        body = await self.request("GET", "/v1/agents" + ("?online=true" if online else ""))
        return [AgentInfo.model_validate(a) for a in body["agents"]]

    async def agent(self, agent_id: str) -> AgentInfo:
        return AgentInfo.model_validate(await self.request("GET", f"/v1/agents/{agent_id}"))

    async def update_card(self, card: AgentCard) -> AgentInfo:
        body = await self.request(
            "PUT", f"/v1/agents/{self.agent_id}", card.model_dump(mode="json")
        )
        return AgentInfo.model_validate(body)

    async def deregister(self) -> None:
        await self.request("DELETE", f"/v1/agents/{self.agent_id}")

    async def heartbeat(self) -> None:
        await self.request("POST", f"/v1/agents/{self.agent_id}/heartbeat")

    async def create_group(
        self,
        members: list[str],
        name: str = "",
        protocol: str = "chat",
        meta: dict[str, Any] | None = None,
    ) -> GroupInfo:
        body = {"name": name, "members": members, "protocol": protocol, "meta": meta or {}}
        return GroupInfo.model_validate(await self.request("POST", "/v1/groups", body))

    async def discover(
        self,
        query: str,
        *,
        k: int = 5,
        tags: list[str] | None = None,
        online: bool = False,
        mode: str | None = None,
    ) -> list[DiscoveryHit]:
        """Agents ranked by how well their card matches `query`, best first. `mode` is `bm25`,
        `vector` or `hybrid`; by default the hub's (hybrid when its embedding model is ready)."""
        params = {"q": query, "k": str(k), "online": "true" if online else "false"}
        if tags:
            params["tags"] = ",".join(tags)
        if mode is not None:
            params["mode"] = mode
        body = await self.request("GET", "/v1/discover?" + urlencode(params))
        return [DiscoveryHit.model_validate(hit) for hit in body["hits"]]

    async def group(self, group_id: str) -> GroupInfo:
        return GroupInfo.model_validate(await self.request("GET", f"/v1/groups/{group_id}"))

    async def history(self, group_id: str, after: int = 0, limit: int = 500) -> list[Envelope]:
        body = await self.request(
            "GET", f"/v1/groups/{group_id}/messages?after={after}&limit={limit}"
        )
        return [Envelope.model_validate(m) for m in body["messages"]]

    async def history_pages(
        self, group_id: str, after: int = 0, limit: int = 500
    ) -> AsyncIterator[list[Envelope]]:
        """The group's stored messages after `after`, page by page in sequence order, to the end."""
        while page := await self.history(group_id, after=after, limit=limit):
            yield page
            after = page[-1].seq or after

    async def post_goal(
        self, goal: str, *, max_turns: int | None = None, roster: list[str] | None = None
    ) -> GoalStatus:
        """Give the hub a goal for a team (`roster`, or one the hub's leader forms)."""
        body: dict[str, Any] = {"goal": goal}
        if max_turns is not None:
            body["max_turns"] = max_turns
        if roster:
            body["roster"] = roster
        return GoalStatus.model_validate(await self.request("POST", "/v1/goals", body))

    async def goal(self, goal_id: str) -> GoalStatus:
        return GoalStatus.model_validate(await self.request("GET", f"/v1/goals/{goal_id}"))

    async def goal_events(self, goal_id: str) -> AsyncIterator[GoalMessage | GoalDone]:
        """Stream a goal's progress: a `GoalMessage` per message of its groups, then `GoalDone`."""
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.url}/v1/goals/{goal_id}/events"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self._http().get(url, headers=headers, timeout=timeout) as resp:
            if resp.status >= 400:
                raise ClientError(f"HTTP {resp.status} streaming goal {goal_id}", "http_error")
            kind = "message"
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                    if kind == "done":
                        yield GoalDone(goal=GoalStatus.model_validate_json(data))
                    else:
                        yield GoalMessage(envelope=Envelope.model_validate_json(data))

    # WebSocket
    async def connect(self) -> None:
        """Open the WebSocket and wait until everything missed has been replayed."""
        if self.token is None:
            raise ClientError("register or pass a token before connecting", "unauthorized")
        self._closing = False
        while True:
            try:
                await self._open()
                break
            except ClientError as exc:
                if exc.code != ErrorCode.BUSY:
                    raise
            hint, self._retry_after = self._retry_after, None
            await asyncio.sleep(self.backoff.next(hint))
        self.backoff.reset()
        self._reader = asyncio.create_task(self._read_loop())
        await self._synced.wait()

    async def wait_synced(self) -> float:
        """Until the (re)connection has replayed what was missed; the monotonic time then."""
        await self._synced.wait()
        return time.monotonic()

    async def _open(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/v1/ws"
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            self._ws = await self._http().ws_connect(ws_url, headers=headers, heartbeat=20.0)
        except aiohttp.WSServerHandshakeError as exc:
            self._retry_after = _retry_after(exc.headers)
            codes = {401: ErrorCode.UNAUTHORIZED, 503: ErrorCode.BUSY}
            code = codes.get(exc.status, "handshake_failed")
            raise ClientError(f"the hub refused the WebSocket: HTTP {exc.status}", code) from exc
        except aiohttp.ClientConnectionError as exc:
            raise ClientError(f"cannot reach the hub at {self.url}: {exc}", "unreachable") from exc
        self._synced.clear()
        await self._ws.send_str(Hello(cursors=self.cursors).model_dump_json())

    async def _read_loop(self) -> None:
        while True:
            ws = self._ws
            if ws is not None:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        self._handle(msg.data)
                        self.backoff.reset()
            if self._closing or not self.reconnect:
                self._inbox.put_nowait(None)
                return
            self._synced.clear()
            hint, self._retry_after = self._retry_after, None
            await asyncio.sleep(self.backoff.next(hint))
            with contextlib.suppress(ClientError):
                await self._open()

    def _handle(self, raw: str) -> None:
        frame = HUB_FRAME.validate_json(raw)
        if isinstance(frame, Deliver):
            env = frame.envelope
            seq = env.seq or 0
            if seq > self.cursors.get(env.group, 0):
                self.cursors[env.group] = seq
                self._inbox.put_nowait(env)
        elif isinstance(frame, Ack):
            entry = self._unacked.pop(frame.id, None)
            if entry is None:
                return
            stamped = entry[0].model_copy(update={"seq": frame.seq, "ts": frame.ts})
            if frame.seq > self.cursors.get(frame.group, 0):
                self.cursors[frame.group] = frame.seq
                if self.echo:
                    self._inbox.put_nowait(stamped)
            if not entry[1].done():
                entry[1].set_result(stamped)
        elif isinstance(frame, ErrorFrame):
            entry = self._unacked.pop(frame.id, None) if frame.id else None
            error = ClientError(frame.error.message, frame.error.code)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(error)
            else:
                log.warning("hub error: %s: %s", frame.error.code, frame.error.message)
        elif isinstance(frame, Welcome):
            self.agent_id, self.groups = frame.agent_id, frame.groups
        elif isinstance(frame, Joined):
            self.groups.append(frame.group.id)
            if self.on_joined is not None:
                self.on_joined(frame.group)
        elif isinstance(frame, Synced):
            self._synced.set()
            for envelope, _ in list(self._unacked.values()):
                task = asyncio.ensure_future(self._transmit(envelope))
                self._resends.add(task)
                task.add_done_callback(self._resends.discard)

    async def _transmit(self, envelope: Envelope) -> None:
        ws = self._ws
        if ws is None or ws.closed or not self._synced.is_set():
            return  # resent after the next resume
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(send_text(envelope.model_dump_json()))

    async def send(self, envelope: Envelope, timeout: float | None = 30.0) -> Envelope:
        """Send and wait for the hub's ack; returns the envelope with its seq and ts."""
        if self.agent_id is None:
            raise ClientError("not registered", "unauthorized")
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._unacked[envelope.id] = (envelope, future)
        await self._transmit(envelope)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._unacked.pop(envelope.id, None)
            raise ClientError(
                f"no ack for message {envelope.id} in {timeout}s", "timeout"
            ) from None

    async def say(
        self,
        group: str,
        payload: Payload,
        to: list[str] | None = None,
        reply_to: str | None = None,
    ) -> Envelope:
        """Build an envelope from this agent and send it."""
        if self.agent_id is None:
            raise ClientError("not registered", "unauthorized")
        envelope = Envelope(
            group=group, sender=self.agent_id, to=to or [], reply_to=reply_to, payload=payload
        )
        return await self.send(envelope)

    async def receive(self, timeout: float | None = None) -> Envelope:
        """The next envelope delivered to this agent, in per-group sequence order."""
        item = await asyncio.wait_for(self._inbox.get(), timeout)
        if item is None:
            self._inbox.put_nowait(None)
            raise ClientError("the connection is closed", "closed")
        return item

    async def messages(self) -> AsyncIterator[Envelope]:
        """Iterate over delivered envelopes until the client closes."""
        while True:
            try:
                yield await self.receive()
            except ClientError:
                return

    async def drop_connection(self) -> None:
        """Close the socket without closing the client, as a network failure would."""
        if self._ws is not None:
            await self._ws.close()
