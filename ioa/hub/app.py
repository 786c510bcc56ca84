"""Assemble and run a hub: the aiohttp application, its store and its background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ioa.config import HubConfig
from ioa.hub import admin, dashboard, goals, rest, ws
from ioa.hub.state import STATE, HubState
from ioa.lifecycle import Service
from ioa.store import SqlStore, Store
from ioa.store.shared import SharedStore

if TYPE_CHECKING:
    from ioa.hub.a2a import A2AServer
    from ioa.hub.cluster import Cluster
    from ioa.llm.embedder import Embedder


class _MalformedRequests(logging.Filter):
    """aiohttp logs a client's malformed request (an overlong request line, bad headers) as an
    error with a traceback; for a hub facing the network that is an ordinary event: one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            why = str(exc.message or exc)[:120].replace("%", "%%")
            record.msg = f"{record.msg}: refused a malformed request ({why})"
            record.exc_info = record.exc_text = None
        return True


log = logging.getLogger("ioa.hub")
http_log = logging.getLogger("ioa.hub.http")
http_log.addFilter(_MalformedRequests())


A2A_ROUTES = (
    ("GET", "/.well-known/agent-card.json", "hub_card"),
    ("GET", "/a2a/.well-known/agent-card.json", "hub_card"),
    ("GET", "/a2a/agents/{agent_id}/.well-known/agent-card.json", "agent_card"),
    *(
        (method, path + slash, handler)  # a client may join a card's URL and "/" as base and path
        for slash in ("", "/")
        for method, path, handler in (
            ("POST", "/a2a", "hub_call"),
            ("POST", "/a2a/agents/{agent_id}", "agent_call"),
        )
    ),
)
"""The A2A server's routes: method, path and the `A2AServer` method that answers."""


def create_app(
    state: HubState,
    goal_book: goals.Goals,
    a2a_server: Callable[[], A2AServer] | None = None,
) -> web.Application:
    """The hub's application. `a2a_server` gives the A2A server when a request first needs it
    (`Hub.a2a`); by default one made then."""
    app = web.Application(
        middlewares=[rest.errors_middleware], client_max_size=state.config.max_frame_bytes * 4
    )
    app[STATE] = state
    rest.add_routes(app)
    admin.add_routes(app)
    goals.add_routes(app, goal_book)
    _add_a2a_routes(app, a2a_server or _first_use(state, goal_book))
    app.router.add_get("/v1/ws", ws.websocket)
    dashboard.add_routes(app)
    return app


def _first_use(state: HubState, goal_book: goals.Goals) -> Callable[[], A2AServer]:
    made: list[A2AServer] = []

    def server() -> A2AServer:
        if not made:
            from ioa.hub.a2a import A2AServer

            made.append(A2AServer(state, goal_book))
        return made[0]

    return server


def _add_a2a_routes(app: web.Application, server: Callable[[], A2AServer]) -> None:
    """Routes whose handlers import the A2A server (its wire models, task book, JSON-RPC) with
    the first A2A request: ≈ 10 ms of a hub's start that only A2A clients need."""

    def answer(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            method: Callable[[web.Request], Awaitable[web.StreamResponse]]
            method = getattr(server(), name)
            return await method(request)

        return handler

    for method, path, name in A2A_ROUTES:
        if method == "GET":
            app.router.add_get(path, answer(name))  # and HEAD
        else:
            app.router.add_route(method, path, answer(name))


class Hub(Service):
    """A running hub; `async with Hub(config) as hub:` serves on `hub.url` until the block ends.

    Pass a `store` to share one (tests do, to restart a hub on the same database); otherwise
    the hub opens `config.database_url` and closes it when it stops. Pass an `embedder` (a
    `ScriptedEmbedder` in tests) to use it instead of the model `config.embeddings` names; the
    caller keeps ownership of it.
    """

    def __init__(
        self,
        config: HubConfig | None = None,
        store: Store | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config or HubConfig.from_env()
        self._own_store = store is None
        broker = self.config.broker_url
        if store is None:
            store = (SharedStore if broker else SqlStore)(self.config.database_url)
        self.store = store
        self.state = HubState(self.config, self.store, embedder)
        self.goals = goals.Goals(self.state)
        self.cluster: Cluster | None = None
        if broker:
            from ioa.hub.cluster import Cluster  # Redis's client, imported by clustered hubs only

            self.cluster = Cluster(self.state, self.goals, broker)
        self._a2a: A2AServer | None = None
        self._runner: web.AppRunner | None = None
        self.port = self.config.port

    @property
    def a2a(self) -> A2AServer:
        """The A2A server, made (its modules imported) when the first A2A request comes."""
        if self._a2a is None:
            from ioa.hub.a2a import A2AServer

            self._a2a = A2AServer(self.state, self.goals)
        return self._a2a

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> Hub:
        await self.store.start()
        try:
            await self.state.start()
            await self.goals.load()
            self._runner = web.AppRunner(
                create_app(self.state, self.goals, lambda: self.a2a),
                access_log=None,
                keepalive_timeout=self.config.header_timeout,
                logger=http_log,
            )
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.host, self.config.port)
            await site.start()
            self.state.listening()
        except BaseException as exc:
            await self._release_after(exc)
            raise
        if self.config.port == 0:
            self.port = self._runner.addresses[0][1]
        return self

    async def _release_after(self, cause: BaseException) -> None:
        """Undo a start that failed, without letting a second error hide the first."""
        try:
            await self.stop()
        except Exception as exc:
            log.warning("releasing a hub whose start failed (%s) also failed: %s", cause, exc)

    async def stop(self) -> None:
        await self.state.stop()
        await self.goals.flush()
        if self._a2a is not None:
            self._a2a.book.close()
        closing = [
            conn.ws.close(code=1001, message=b"hub shutting down")
            for conn in self.state.router.connections.values()
        ]
        await asyncio.gather(*closing, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_store:
            await self.store.close()

    async def serve_forever(self) -> None:
        async with self:
            await asyncio.Event().wait()
