"""A remote A2A agent for the tests, written with the a2a-sdk server (Starlette app, uvicorn).

Its behaviour is keyed by a word in the message (like the A2A conformance kit's scenarios):
`[slow]` works for a minute, `[fail]` fails, `[reject]` rejects, `[empty]` completes saying
nothing, `[ask]` asks for input (and completes when the same task is continued), `[chunks]`
streams its artifact in three chunks, `[move]` answers an IoA move as a data part; anything
else completes with "heard #N: LAST LINE", N counting the messages of its context, so a test
sees whether a conversation stayed in one context.

In-process (`serve`) or as a process of its own (`python a2a_server.py [PORT]`, printing
`port N` once it listens), for the tests that kill it.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from a2a.helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, TaskState
from starlette.applications import Starlette

from examples.a2a_caterer import serve_app


@dataclass
class Seen:
    """What the remote agent was sent, for the tests to check."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)
    """(context id, task id, text) of every message, in order."""
    canceled: list[str] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once a `[slow]` task is working."""


class KeyedExecutor(AgentExecutor):
    """The keyed behaviours of the module docstring."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        self.per_context: Counter[str] = Counter()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task_id, context_id = context.task_id or "", context.context_id or ""
        self.seen.messages.append((context_id, task_id, text))
        self.per_context[context_id] += 1
        task = context.current_task
        if task is None and context.message is not None:
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
        updater = TaskUpdater(event_queue, task_id, context_id)
        said = updater.new_agent_message
        if task is not None and task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            await updater.complete(said([new_text_part(f"Booked for {_last_line(text)}")]))
        elif "[slow]" in text:
            await updater.start_work(said([new_text_part("working on it")]))
            self.seen.started.set()
            await asyncio.sleep(60)
            await updater.complete(said([new_text_part("finally")]))
        elif "[fail]" in text:
            await updater.failed(said([new_text_part("I cannot do that")]))
        elif "[reject]" in text:
            await updater.reject(said([new_text_part("not my job")]))
        elif "[empty]" in text:
            await updater.complete()
        elif "[ask]" in text:
            await updater.requires_input(said([new_text_part("Which city?")]))
        elif "[chunks]" in text:
            await updater.start_work()
            for i, chunk in enumerate(["one ", "two ", "three"]):
                await updater.add_artifact(
                    [new_text_part(chunk)], artifact_id="a1", append=i > 0, last_chunk=i == 2
                )
            await updater.complete()
        elif "[move]" in text:
            move = {"type": "conclude", "text": "the remote closes the discussion"}
            await updater.add_artifact([new_data_part(move)])
            await updater.complete()
        else:
            reply = f"heard #{self.per_context[context_id]}: {_last_line(text)}"
            await updater.add_artifact([new_text_part(reply)], name="reply")
            await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.seen.canceled.append(context.task_id or "")
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def agent_card(url: str, *, streaming: bool = True) -> AgentCard:
    return AgentCard(
        name="Translator",
        description="Translates short texts; a remote agent of the tests.",
        version="2.1.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id="translate",
                name="translate",
                description="Translates English to French.",
                tags=["translation", "french"],
                examples=["translate hello"],
            )
        ],
    )


def app(url: str, seen: Seen, *, streaming: bool = True) -> Starlette:
    card = agent_card(url, streaming=streaming)
    handler = DefaultRequestHandler(
        agent_executor=KeyedExecutor(seen), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])


def serve(seen: Seen, *, streaming: bool = True) -> AbstractAsyncContextManager[str]:
    """The test agent on an ephemeral loopback port, in this process; yields its base URL."""
    return serve_app(lambda url: app(url, seen, streaming=streaming))


async def main(port: int) -> None:
    async with serve_app(lambda url: app(url, Seen()), port) as url:
        print(f"port {url.rsplit(':', 1)[1]}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
