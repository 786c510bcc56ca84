"""A scripted agent for the A2A conformance kit (a2aproject/a2a-tck), hosted by an IoA hub.

The kit keys what the agent under test does on the prefix of the A2A message id (its
`scenarios/*.feature`). Here the agent is an ordinary IoA agent on a hub: an A2A message to its
card becomes a `discussion` addressed to it whose envelope id is the A2A message id, and it
answers with ordinary moves, which the hub reads back as the A2A task:

- `tck-message-response…`: a direct reply, no task: it concludes at once, its conclusion naming
  the message in `reply_to` (its card allows direct replies), so the caller gets a `Message`;
- `tck-input-required…`: it asks the caller something (the task wants input);
- artifact and streaming prefixes: it hands itself a task, reports its result (an artifact:
  text, or a JSON object, or a file inline or by URL), then concludes (completed);
  `test-resubscribe…` takes 4 s over its task;
- anything else: it concludes at once, with "Hello from TCK" for `tck-complete-task…`.

    PYTHONPATH=. python examples/a2a_tck_agent.py --port 9999
    # prints the agent's A2A URL; then, from a scratch checkout of the kit:
    ./run_tck.py --sut-host URL --transport jsonrpc --level must

(The hub lets tokenless A2A clients in as its guest, since the kit sends no credentials.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.hub import Hub
from protocols import AgentCard, Envelope, FileRef, Skill
from protocols.messages import (
    AsyncTaskAssignment,
    Conclude,
    Conclusion,
    Discussion,
    Payload,
    TaskResult,
)

CARD = AgentCard(
    name="TCK agent",
    description="Answers the A2A conformance kit's scenarios, keyed by message id prefix.",
    kind="scripted",
    skills=[Skill(name="TCK conformance", description="Handles TCK messages", tags=["tck"])],
    direct_replies=True,
)
ARTIFACTS = {
    "tck-stream-artifact-text": "Streamed text content",
    "tck-stream-ordering-001": "Ordered output",
    "tck-stream-001": "Stream hello from TCK",
    "tck-stream-003": "Stream task lifecycle",
    "tck-artifact-text": "Generated text content",
    "test-resubscribe-message-id": "Long-running work done",
}
"""Prefixes whose task produces a text artifact (longest prefixes first where they overlap)."""
_OUTPUT = base64.b64encode(b"Generated file content").decode()
STRUCTURED: dict[str, TaskResult] = {
    "tck-artifact-file-url": TaskResult(
        task_id="t",
        result="",
        files=[
            FileRef(
                name="output.txt", media_type="text/plain", url="https://example.com/output.txt"
            )
        ],
    ),
    "tck-artifact-file": TaskResult(
        task_id="t",
        result="",
        files=[FileRef(name="output.txt", media_type="text/plain", content=_OUTPUT)],
    ),
    "tck-stream-artifact-file": TaskResult(
        task_id="t",
        result="",
        files=[FileRef(name="output.txt", media_type="text/plain", content=_OUTPUT)],
    ),
    "tck-artifact-data": TaskResult(task_id="t", result="", data={"key": "value", "count": 42}),
}
"""Prefixes whose task produces structured content (a task id is filled in when sent)."""
SLOW = {"test-resubscribe-message-id": 4.0}
DIRECT = {"tck-message-response": "Direct message response"}
"""Prefixes answered by a direct reply (a `Message`, no task), and the reply's text."""


class TckAgent:
    """Answers every discussion addressed to it, one background task per message."""

    def __init__(self, client: HubClient) -> None:
        self.client = client
        self._work: set[asyncio.Task[None]] = set()

    @property
    def me(self) -> str:
        return self.client.agent_id or ""

    async def run(self) -> None:
        async for envelope in self.client.messages():
            if isinstance(envelope.payload, Discussion) and self.me in envelope.to:
                job = asyncio.create_task(self.answer(envelope))
                self._work.add(job)
                job.add_done_callback(self._work.discard)

    async def answer(self, asked: Envelope) -> None:
        prefix = asked.id
        say = self._sayer(asked.group)
        if prefix.startswith("tck-input-required"):
            await say(Discussion(text="Please provide more input."), [asked.sender])
            return
        reply = next((text for key, text in DIRECT.items() if prefix.startswith(key)), None)
        if reply is not None:
            await say(Conclude(), [])
            await self.client.say(asked.group, Conclusion(text=reply), reply_to=asked.id)
            return
        artifact = next((text for key, text in ARTIFACTS.items() if prefix.startswith(key)), None)
        result = next((r for key, r in STRUCTURED.items() if prefix.startswith(key)), None)
        if artifact is not None:
            result = TaskResult(task_id="t", result=artifact)
        if result is not None:
            task_id = "t-" + uuid.uuid4().hex[:12]
            work = AsyncTaskAssignment(task_id=task_id, title="answer", description=asked.id)
            await say(work, [self.me])
            delay = next((s for key, s in SLOW.items() if prefix.startswith(key)), 0.0)
            await asyncio.sleep(delay)
            await say(result.model_copy(update={"task_id": task_id}), [])
        text = "Hello from TCK" if prefix.startswith("tck-complete-task") else artifact
        if result is not None and text is None:
            text = "Done: the result is the task's artifact."
        await say(Conclude(), [])
        await say(Conclusion(text=text or f"Unhandled messageId prefix: {prefix}"), [])

    def _sayer(self, group: str) -> Callable[[Payload, list[str]], Awaitable[Envelope]]:
        async def say(payload: Payload, to: list[str]) -> Envelope:
            return await self.client.say(group, payload, to=to)

        return say


async def main(port: int, database: Path) -> None:
    config = HubConfig(port=port, database_url=str(database), embeddings="off", a2a_guests=True)
    async with Hub(config) as hub, HubClient(hub.url) as client:
        await client.register(CARD)
        await client.connect()
        print(f"A2A agent: {hub.url}/a2a/agents/{client.agent_id}", flush=True)
        await TckAgent(client).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temp one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(main(args.port, args.db or Path(scratch) / "hub.db"))
