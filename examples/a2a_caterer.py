"""A stock a2a-sdk agent, written without IoA: a caterer that says what to order for a group.

It stands for an agent from another framework: an `AgentExecutor` behind the SDK's own
Starlette app, served by uvicorn. IoA meets it only over A2A, through `ioa agent --a2a URL` (or
`agents.a2a_remote` from Python, as `examples/mixed_team.py` does).

    python examples/a2a_caterer.py --port 9999        # then, with a hub running:
    ioa agent --a2a http://127.0.0.1:9999 --hub http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

__all__ = ["CatererExecutor", "caterer_app", "order_for", "serve_app", "serve_caterer"]

_PEOPLE = re.compile(r"(\d+)\s*(?:people|persons|guests)", re.IGNORECASE)


def order_for(text: str) -> str:
    """What to order for the number of people `text` names (4 when it names none)."""
    found = _PEOPLE.search(text)
    people = max(1, min(int(found.group(1)), 500)) if found else 4
    pizzas, salads = -(-people // 2), -(-people // 3)
    return f"For {people} people: {pizzas} large pizzas, {salads} salads, {people} drinks."


class CatererExecutor(AgentExecutor):
    """Answers every message with an order, as a task: working, an artifact, completed."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        if context.current_task is None and context.message is not None:
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.start_work()
        order = order_for(context.get_user_input())
        await updater.add_artifact([new_text_part(order)], name="order")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


def caterer_app(url: str) -> Starlette:
    card = AgentCard(
        name="Caterer",
        description="Says what to order for a team meal.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id="catering",
                name="catering",
                description="Food and drinks to order for a number of people.",
                tags=["lunch", "menu", "order"],
                examples=["What to order for 6 people?"],
            )
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=CatererExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])


@asynccontextmanager
async def serve_app(make: Callable[[str], Starlette], port: int = 0) -> AsyncIterator[str]:
    """`make(url)` served by uvicorn on a loopback port (a free one by default), in this
    process; yields the URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(make(url), log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # uvicorn offers a flag, not an event
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        await serving
        sock.close()


def serve_caterer(port: int = 0) -> AbstractAsyncContextManager[str]:
    """The caterer on a loopback port (a free one by default); yields its base URL."""
    return serve_app(caterer_app, port)


async def _main(port: int) -> None:
    async with serve_caterer(port) as url:
        print(f"caterer (an a2a-sdk agent) at {url} - its card: {url}/.well-known/agent-card.json")
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A stock a2a-sdk agent: a caterer.")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    asyncio.run(_main(parser.parse_args().port))
