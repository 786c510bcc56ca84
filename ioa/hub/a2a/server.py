"""The hub's A2A endpoints: agent cards and the JSON-RPC methods, over aiohttp.

`POST /a2a` speaks for the hub (a message becomes a goal with a team), `POST /a2a/agents/{id}`
for one agent (a message opens a conversation with it). Every call answers a JSON-RPC object,
or an SSE stream whose `data:` lines are JSON-RPC responses wrapping a `StreamResponse`; an error
before a stream starts is a plain JSON-RPC error. A message answered by a direct reply (see
`tasks`) gets a `Message`: `SendMessage`'s result, or a stream's one event.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from email.utils import formatdate

from aiohttp import web

from ioa.hub.a2a import cards
from ioa.hub.a2a.errors import (
    A2AError,
    AgentNotFound,
    ExtendedAgentCardNotConfigured,
    InternalError,
    InvalidParams,
    MethodNotFound,
    PushNotificationNotSupported,
    Unauthenticated,
    UnsupportedOperation,
)
from ioa.hub.a2a.jsonrpc import (
    Call,
    RequestId,
    check_version,
    error_response,
    params_of,
    read_call,
    result_body,
)
from ioa.hub.a2a.listing import tasks_page
from ioa.hub.a2a.record import A2ATask, Shape, Watcher
from ioa.hub.a2a.tasks import TaskBook
from ioa.hub.a2a.wire import (
    INTERRUPTED_STATES,
    TERMINAL_STATES,
    ListTasksRequest,
    SendMessageRequest,
    StreamResponse,
    TaskIdRequest,
    TaskState,
)
from ioa.hub.errors import Busy, HubError, Unavailable
from ioa.hub.goals import Goals
from ioa.hub.rest import bearer_token
from ioa.hub.state import HubState
from protocols import AgentCard, ProtocolError

log = logging.getLogger("ioa.hub.a2a")
Method = Callable[[web.Request, Call, str, str | None], Awaitable[web.StreamResponse]]
"""A JSON-RPC method: the request, the call, the caller's agent id, the agent addressed."""

SEND_WAIT = 600.0
"""Seconds a blocking `SendMessage` waits for its task to settle before answering it as is."""
KEEPALIVE = 15.0
"""Seconds between SSE comments on a quiet stream, and between checks that a blocked caller is
still there: a client that left stops costing the hub a waiting handler."""
PUSH_METHODS = frozenset(
    {
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
    }
)


def guest_card() -> AgentCard:
    """The card of the agent that stands for A2A clients without a token (made when the first
    one calls: a card made at import built `AgentCard`'s validator before the hub's first
    answer)."""
    return AgentCard(
        name="A2A guest",
        description="Stands for A2A clients that called the hub without a token.",
        kind="remote",
    )


class A2AServer:
    """Cards and calls, for the hub and for each of its agents."""

    def __init__(self, state: HubState, goals: Goals) -> None:
        self.state = state
        self.book = TaskBook(goals)
        self._guest: str | None = None
        self._guest_lock = asyncio.Lock()
        self.started = state.started_at
        """Cards say they changed then (`Last-Modified`); their `ETag` tells any change."""

    # cards

    async def hub_card(self, request: web.Request) -> web.Response:
        agents = self.state.registry.agents
        listed = {a.id: a.card for a in agents.values() if a.id != self._guest}
        card = cards.hub_card(listed, _base(request), self.state.config.a2a_guests)
        body = card.model_dump_json(by_alias=True, exclude_none=True)
        return _card_response(request, body, self.started)

    async def agent_card(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["agent_id"]
        agent = self.state.registry.agents.get(agent_id)
        if agent is None or agent_id == self._guest:
            error = AgentNotFound(f"no agent {agent_id[:64]!r} on this hub")
            return error_response(None, error)
        card = cards.agent_card(agent.card, agent.id, _base(request), self.state.config.a2a_guests)
        body = card.model_dump_json(by_alias=True, exclude_none=True)
        return _card_response(request, body, self.started)

    # calls

    async def hub_call(self, request: web.Request) -> web.StreamResponse:
        return await self._call(request, None)

    async def agent_call(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        if agent_id not in self.state.registry.agents or agent_id == self._guest:
            return error_response(None, AgentNotFound(f"no agent {agent_id[:64]!r} on this hub"))
        return await self._call(request, agent_id)

    async def _call(self, request: web.Request, agent: str | None) -> web.StreamResponse:
        parsed = await read_call(request, self.state.config.max_frame_bytes)
        if parsed.call is None:
            error = parsed.error or InternalError()
            self.state.count_rejection(f"a2a{error.rpc_code}")
            return error_response(parsed.request_id, error)
        call = parsed.call
        try:
            check_version(request)
            owner = await self._caller(request)
            method = self._methods().get(call.method)
            if method is None:
                raise MethodNotFound(f"no method {call.method[:100]!r}")
            return await method(request, call, owner, agent)
        except A2AError as exc:
            self.state.count_rejection(f"a2a{exc.rpc_code}")
            return error_response(call.id, exc)
        except (Unavailable, Busy) as exc:
            return error_response(call.id, InternalError(exc.message))
        except (HubError, ProtocolError) as exc:
            return error_response(call.id, InvalidParams(exc.message))
        except Exception:
            log.exception("A2A call %s failed", call.method)
            return error_response(call.id, InternalError())

    async def _caller(self, request: web.Request) -> str:
        token = bearer_token(request)
        if token is not None:
            try:
                return (await self.state.registry.find_by_token(token)).id
            except HubError:
                raise Unauthenticated(
                    "the bearer token is not an agent token of this hub"
                ) from None
        if not self.state.config.a2a_guests:
            raise Unauthenticated()
        async with self._guest_lock:
            if self._guest is None:
                agent, _ = await self.state.registry.register(guest_card())
                self._guest = agent.id
        return self._guest

    def _methods(self) -> Mapping[str, Method]:
        return {
            "SendMessage": self.send_message,
            "SendStreamingMessage": self.send_streaming_message,
            "GetTask": self.get_task,
            "ListTasks": self.list_tasks,
            "CancelTask": self.cancel_task,
            "SubscribeToTask": self.subscribe,
            "GetExtendedAgentCard": self.extended_card,
        } | dict.fromkeys(PUSH_METHODS, self.push_config)

    async def send_message(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        params = _send_params(call)
        config = params.configuration
        watchers: list[Watcher] = []
        task = await self.book.send(
            owner, agent, params.message, lambda t: watchers.append(self.book.watch(t))
        )
        try:
            if config is not None and config.return_immediately:
                await self._shaped(request, task, None)
            else:
                await self._settled(request, task, watchers[0])
        finally:
            for queue in watchers:
                task.watchers.discard(queue)
        self.book.reveal(task)
        if task.reply is not None:
            return _result(call.id, {"message": task.reply.dump()})
        history = config.history_length if config is not None else None
        return _result(call.id, {"task": task.snapshot(history).dump()})

    async def _settled(self, request: web.Request, task: A2ATask, queue: Watcher) -> None:
        """Until the task settles, `SEND_WAIT` passes, the hub stops or the caller leaves."""
        deadline = time.monotonic() + SEND_WAIT
        while not task.settled and time.monotonic() < deadline:
            try:
                if await asyncio.wait_for(queue.get(), KEEPALIVE) is None:
                    return
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return

    async def _shaped(
        self, request: web.Request, task: A2ATask, stream: web.StreamResponse | None
    ) -> None:
        """Until the answer's shape is known (an agent that may reply directly has moved),
        `SEND_WAIT` passes, the hub stops or the caller leaves; a stream hears keep-alives."""
        deadline = time.monotonic() + SEND_WAIT
        while task.shape is Shape.PENDING and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(task.shaped.wait(), KEEPALIVE)
            except TimeoutError:
                if stream is not None:
                    await stream.write(b": keep-alive\n\n")  # fails once the client left
                elif request.transport is None or request.transport.is_closing():
                    return

    async def send_streaming_message(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        params = _send_params(call)
        started: list[tuple[Watcher, StreamResponse]] = []

        def start(task: A2ATask) -> None:
            started.append((self.book.watch(task), StreamResponse(task=task.snapshot())))

        task = await self.book.send(owner, agent, params.message, start)
        queue, first = started[0]
        return await self._stream(request, call.id, task, queue, first, interrupted_ends=True)

    async def subscribe(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        task = self.book.owned(owner, params_of(call, TaskIdRequest).id)
        if task.done:
            raise UnsupportedOperation(f"task {task.id} is {task.state.value}; nothing will follow")
        queue = self.book.watch(task)
        first = StreamResponse(task=task.snapshot())
        return await self._stream(request, call.id, task, queue, first, interrupted_ends=False)

    async def _stream(
        self,
        request: web.Request,
        request_id: RequestId,
        task: A2ATask,
        queue: Watcher,
        first: StreamResponse,
        interrupted_ends: bool,
    ) -> web.StreamResponse:
        """Events in order, until the task ends (or asks for input, for a new message's
        stream), the client leaves or the hub stops; or a direct reply, alone."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        try:
            await response.prepare(request)
            await self._shaped(request, task, response)
            self.book.reveal(task)
            if task.reply is not None:  # a direct reply: the stream's one event
                first = StreamResponse(message=task.reply)
            data = result_body(request_id, first.dump())
            await response.write(f"data: {data}\n\n".encode())
            ends = TERMINAL_STATES | (INTERRUPTED_STATES if interrupted_ends else frozenset())
            done = task.reply is not None or _state_of(first) in TERMINAL_STATES
            while not done:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")  # fails once the client left
                    continue
                if event is None:
                    break
                data = result_body(request_id, event.dump())
                await response.write(f"data: {data}\n\n".encode())
                done = _state_of(event) in ends
            await response.write_eof()
        except ConnectionError:
            pass
        finally:
            task.watchers.discard(queue)
        return response

    async def get_task(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        params = params_of(call, TaskIdRequest)
        task = self.book.owned(owner, params.id)
        return _result(call.id, task.snapshot(params.history_length).dump())

    async def cancel_task(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        task = await self.book.cancel(owner, params_of(call, TaskIdRequest).id)
        return _result(call.id, task.snapshot().dump())

    async def list_tasks(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        page = tasks_page(self.book.tasks.values(), owner, params_of(call, ListTasksRequest))
        return _result(call.id, page.dump())

    async def push_config(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        raise PushNotificationNotSupported()

    async def extended_card(
        self, request: web.Request, call: Call, owner: str, agent: str | None
    ) -> web.StreamResponse:
        raise ExtendedAgentCardNotConfigured()


def _send_params(call: Call) -> SendMessageRequest:
    params = params_of(call, SendMessageRequest)
    config = params.configuration
    if config is not None and config.task_push_notification_config is not None:
        raise PushNotificationNotSupported()
    return params


def _state_of(event: StreamResponse) -> TaskState | None:
    if event.task is not None:
        return event.task.status.state
    if event.status_update is not None:
        return event.status_update.status.state
    return None


def _result(request_id: RequestId, result: object) -> web.Response:
    return web.Response(text=result_body(request_id, result), content_type="application/json")


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _card_response(request: web.Request, body: str, since: float) -> web.Response:
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    modified = formatdate(since, usegmt=True)
    headers = {"Cache-Control": "public, max-age=60", "ETag": etag, "Last-Modified": modified}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(text=body, content_type="application/json", headers=headers)


__all__ = ["A2AServer"]
