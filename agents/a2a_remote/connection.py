"""A connection to one remote A2A agent through the official a2a-sdk client.

Opening it reads the remote's agent card (`{url}/.well-known/agent-card.json`, or the card URL
itself) and picks its JSON-RPC or HTTP+JSON interface. `ask` sends one message and follows the
task it opens to a settled state (`answer.SETTLED`): over the stream when the card offers
streaming, else by polling `GetTask`. Everything that can go wrong on the way is one of the
typed errors below, never an SDK or httpx exception, so the caller turns each into a sentence:
a remote that cannot be reached (or dies mid-task), one that refuses the message, one that takes
longer than `timeout` (its task is then canceled, best effort), one that answers garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
from a2a.client import (
    A2ACardResolver,
    A2AClientError,
    A2AClientTimeoutError,
    Client,
    ClientConfig,
    ClientFactory,
)
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
)
from a2a.utils.errors import A2AError

from agents.a2a_remote.answer import Answer, Follow
from agents.errors import AgentError

__all__ = [
    "A2ARemote",
    "A2ARemoteError",
    "A2ARemoteFailed",
    "A2ARemoteInvalid",
    "A2ARemoteTimeout",
    "A2ARemoteUnavailable",
]

DEFAULT_TIMEOUT = 120.0
CONNECT_TIMEOUT = 15.0
CANCEL_TIMEOUT = 5.0
POLL_FIRST, POLL_MAX = 0.1, 2.0
"""Seconds between two `GetTask` polls: doubling from the first to the last."""
BINDINGS = ["JSONRPC", "HTTP+JSON"]
CARD_NAMES = ("agent-card.json", "agent.json")


class A2ARemoteError(AgentError):
    code = "a2a_remote_error"
    default_message = "the remote A2A agent failed"


class A2ARemoteUnavailable(A2ARemoteError):
    code = "a2a_remote_unavailable"
    default_message = "the remote A2A agent could not be reached"


class A2ARemoteTimeout(A2ARemoteError):
    code = "a2a_remote_timeout"
    default_message = "the remote A2A agent did not answer in time"


class A2ARemoteFailed(A2ARemoteError):
    code = "a2a_remote_failed"
    default_message = "the remote A2A agent did not do the task"


class A2ARemoteInvalid(A2ARemoteError):
    code = "a2a_remote_invalid"
    default_message = "the remote A2A agent answered something unreadable"


def card_location(url: str) -> tuple[str, str | None]:
    """`url` as (base, card path): an agent's base URL, or the URL of its card itself."""
    base, _, last = url.rstrip("/").rpartition("/")
    if last in CARD_NAMES:
        base, _, well_known = base.rpartition("/")
        return base, f"{well_known}/{last}"
    return url.rstrip("/"), None


class A2ARemote:
    """One remote A2A agent: `async with A2ARemote(url) as remote: await remote.ask(text)`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise A2ARemoteUnavailable(f"--a2a needs an http(s) URL, not {url!r}")
        self.url = url
        self.timeout = timeout
        """Seconds one message may take, until its task is settled."""
        self._token = token
        self._connect_timeout = connect_timeout
        self._http: httpx.AsyncClient | None = None
        self._client: Client | None = None
        self.card: AgentCard = AgentCard()
        """The remote's card as it was read when the connection opened."""

    async def __aenter__(self) -> A2ARemote:
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _open(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._http = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(self.timeout, connect=self._connect_timeout)
        )
        base, path = card_location(self.url)
        try:
            self.card = await A2ACardResolver(self._http, base).get_agent_card(path)
        except Exception as exc:  # any failure to read the card: the remote is not usable
            raise A2ARemoteUnavailable(f"no A2A agent card at {self.url}: {_reason(exc)}") from None
        streaming = self.card.capabilities.streaming
        config = ClientConfig(
            httpx_client=self._http,
            streaming=streaming,
            polling=not streaming,  # short requests, so a timeout can cancel the task
            supported_protocol_bindings=BINDINGS,
        )
        try:
            self._client = ClientFactory(config).create(self.card)
        except ValueError:
            offered = ", ".join(i.protocol_binding for i in self.card.supported_interfaces)
            raise A2ARemoteUnavailable(
                f"the A2A agent at {self.url} offers no JSON-RPC or HTTP+JSON interface "
                f"(it offers: {offered or 'none'})"
            ) from None

    @property
    def name(self) -> str:
        return self.card.name or self.url

    async def close(self) -> None:
        client, http = self._client, self._http
        self._client = self._http = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        if http is not None:
            await http.aclose()

    async def ask(
        self,
        text: str,
        *,
        context_id: str | None = None,
        task_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Answer:
        """Send `text` and follow its task until it is settled; the answer in any state.

        `context_id` continues a conversation, `task_id` continues a task that asked for input.
        """
        if self._client is None:
            raise A2ARemoteUnavailable("the connection to the remote A2A agent is closed")
        message = Message(
            message_id=uuid.uuid4().hex,
            role=Role.ROLE_USER,
            parts=[Part(text=text)],
            context_id=context_id or "",
            task_id=task_id or "",
        )
        if metadata:
            message.metadata.update(metadata)
        follow = Follow()
        try:
            async with asyncio.timeout(self.timeout):
                await self._follow(self._client, SendMessageRequest(message=message), follow)
        except TimeoutError:
            await self._cancel(self._client, follow)
            raise A2ARemoteTimeout(
                f"the remote A2A agent {self.name} did not finish within {self.timeout:g} s "
                f"(its task was {follow.state})"
            ) from None
        except A2ARemoteError:
            raise
        except A2AClientTimeoutError:
            raise A2ARemoteTimeout(
                f"the remote A2A agent {self.name} did not answer a request in time"
            ) from None
        except (A2AClientError, httpx.HTTPError) as exc:
            if isinstance(exc, httpx.HTTPError) or isinstance(exc.__cause__, httpx.HTTPError):
                raise A2ARemoteUnavailable(
                    f"the remote A2A agent {self.name} could not be reached: {_reason(exc)}"
                ) from None
            raise A2ARemoteInvalid(  # the SDK's own complaint about the answer (not JSON...)
                f"the remote A2A agent {self.name} answered something unreadable: {_reason(exc)}"
            ) from None
        except A2AError as exc:  # an error the remote answered (a JSON-RPC error code)
            raise A2ARemoteFailed(
                f"the remote A2A agent {self.name} refused the message: {_reason(exc)}"
            ) from None
        except Exception as exc:  # whatever else the SDK met reading the answer
            raise A2ARemoteInvalid(
                f"the remote A2A agent {self.name} answered something unreadable: {_reason(exc)}"
            ) from None
        return follow.answer()

    async def _follow(self, client: Client, request: SendMessageRequest, follow: Follow) -> None:
        """Read the answer's events until settled; poll `GetTask` while the task is not."""
        events = client.send_message(request)
        async with contextlib.aclosing(events):  # type: ignore[type-var]
            async for event in events:
                follow.fold(event)
                if follow.settled:
                    return
        pause = POLL_FIRST
        while not follow.settled:
            if follow.task is None or not follow.task.id:
                raise A2ARemoteInvalid(
                    f"the remote A2A agent {self.name} answered with neither a task nor a message"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, POLL_MAX)
            follow.replace(await client.get_task(GetTaskRequest(id=follow.task.id)))

    async def _cancel(self, client: Client, follow: Follow) -> None:
        """Best effort: a task we stop waiting for should not go on working remotely."""
        if follow.task is None or not follow.task.id:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CANCEL_TIMEOUT):
                await client.cancel_task(CancelTaskRequest(id=follow.task.id))


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:300]
