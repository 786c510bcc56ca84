"""The two servers under test, each in a process of its own: the IoA hub and an a2a-sdk echo agent.

A child binds a free loopback port, sends the port up a pipe and serves until the pipe becomes
readable: the parent writes to it to stop the child, and if the parent dies the pipe reaches EOF,
so no server outlives the benchmark. The a2a-sdk agent is the stock set-up (1.x server API,
Starlette JSON-RPC routes, `DefaultRequestHandler`, `InMemoryTaskStore`, uvicorn with its default
HTTP parser), answering each `SendMessage` with a message that echoes the text. Each server runs
on the event loop `loop` names (`ioa.eventloop`: `auto` is uvloop when installed, as `ioa hub`
and uvicorn's own `run` choose), so the hub, the floor and a2a-sdk run on the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import logging
import multiprocessing
import resource
import signal
import socket
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import psutil
import uvicorn
from a2a.helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

from _hub.vitals import Board, Vitals, new_board, read, reset, watch_gc, watch_loop
from ioa import eventloop
from ioa.commands.hub import tune_gc_for_serving
from ioa.config import HubConfig
from ioa.hub import Hub

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
A2A_RPC_PATH = "/"


class BenchError(Exception):
    """The benchmark could not run as set up (a server did not start, a check failed)."""


def raise_fd_limit(want: int) -> int:
    """Lift the soft limit on open files towards `want` (each WebSocket is one descriptor)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def child_setup(fd_limit: int) -> None:
    """Ctrl-C reaches the whole process group; the parent alone decides when children stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_fd_limit(fd_limit)
    logging.basicConfig(level=logging.WARNING, format="%(processName)s %(name)s: %(message)s")


def stop_on_pipe(pipe: Connection, stop: Callable[[], None]) -> None:
    """Call `stop` once the parent writes to the pipe or goes away (EOF)."""
    loop = asyncio.get_running_loop()

    def readable() -> None:
        loop.remove_reader(pipe.fileno())
        stop()

    loop.add_reader(pipe.fileno(), readable)


# the hub
def run_hub(
    pipe: Connection,
    database: str,
    fd_limit: int,
    profile_path: str | None,
    board: Board,
    settings: dict[str, Any] | None = None,
    loop: str = "auto",
) -> None:
    """Serve a hub on a free loopback port; `settings` are further `HubConfig` fields."""
    child_setup(fd_limit)
    watch_gc(board)
    eventloop.run(_serve_hub(pipe, database, profile_path, board, settings or {}), loop)


async def _serve_hub(
    pipe: Connection,
    database: str,
    profile_path: str | None,
    board: Board,
    settings: dict[str, Any],
) -> None:
    stopped = asyncio.Event()
    probe = asyncio.create_task(watch_loop(board))
    # messaging is measured here; discovery by meaning has `benchmarks/discovery.py`
    settings = {"embeddings": "off", **settings}
    config = HubConfig(host="127.0.0.1", port=0, database_url=database, **settings)
    async with Hub(config) as hub:
        tune_gc_for_serving()  # as `ioa hub` does: this process is a hub and nothing else
        stop_on_pipe(pipe, stopped.set)
        profiler = cProfile.Profile() if profile_path else None
        pipe.send(hub.port)
        if profiler is not None:
            profiler.enable()
        await stopped.wait()
        if profiler is not None and profile_path is not None:
            profiler.disable()
            profiler.dump_stats(profile_path)
    probe.cancel()


# the a2a-sdk echo agent
class EchoExecutor(AgentExecutor):
    """Answers every message at once with one agent message carrying the same text."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        reply = new_text_message(
            context.get_user_input(), context_id=context.context_id, task_id=context.task_id
        )
        await event_queue.enqueue_event(reply)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


def echo_app(url: str) -> Starlette:
    card = AgentCard(
        name="echo",
        description="Echoes every message; the baseline of the hub benchmark.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echo text", tags=["echo"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = [*create_agent_card_routes(card), *create_jsonrpc_routes(handler, A2A_RPC_PATH)]
    return Starlette(routes=routes)


def run_a2a(pipe: Connection, fd_limit: int, board: Board, loop: str = "auto") -> None:
    child_setup(fd_limit)
    watch_gc(board)
    eventloop.run(_serve_a2a(pipe, board), loop)


async def _serve_a2a(pipe: Connection, board: Board) -> None:
    probe = asyncio.create_task(watch_loop(board))
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it every keep-alive request stalls 40 ms on delayed ACKs (a2a would look 3x slower)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = echo_app(f"http://127.0.0.1:{port}{A2A_RPC_PATH}")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))

    def stop() -> None:
        server.should_exit = True

    stop_on_pipe(pipe, stop)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(int(START_TIMEOUT / 0.02)):  # uvicorn offers a flag, not an event
        if server.started or serving.done():
            break
        await asyncio.sleep(0.02)
    pipe.send(port)
    await serving
    probe.cancel()


class ServerProcess:
    """One server in a spawned child; `port` is known once `start()` returns."""

    def __init__(self, name: str, target: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child_end = ctx.Pipe()
        self.name = name
        self.board = new_board()
        self.process = ctx.Process(
            target=target,
            args=(child_end, *args, self.board),
            kwargs=kwargs,
            name=name,
            daemon=True,
        )
        self.port = 0
        self._ps: psutil.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.process.start()
        if not self._pipe.poll(START_TIMEOUT):
            self.stop()
            raise BenchError(f"{self.name} did not start within {START_TIMEOUT:.0f} s")
        self.port = int(self._pipe.recv())
        self._ps = psutil.Process(self.process.pid)
        return self

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far, all its threads included."""
        if self._ps is None:
            return 0.0
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def vitals_reset(self) -> None:
        reset(self.board)

    def vitals(self) -> Vitals:
        """Full collections and loop stalls in the server since the last reset."""
        return read(self.board)

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # the child may be gone already
                self._pipe.send("stop")
            self.process.join(STOP_TIMEOUT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_TIMEOUT)
