"""`ScriptedEngine`: an engine that replies from a script, for deterministic tests of agents.

It is a real `Engine`: messages and schemas are checked the same way, `structured` validates the
scripted reply against the schema and, if it is invalid, takes the next scripted reply as the
repair attempt, exactly as with a model. So a test can script a bad move and see the agent recover.
Shipped in the library so users can test their own agents without a model.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ioa.llm.accounting import Completion
from ioa.llm.engine import Engine, Request
from ioa.llm.errors import ScriptExhausted
from ioa.llm.templates import Message

__all__ = ["Reply", "ScriptedCall", "ScriptedEngine"]

Reply = str | dict[str, Any] | list[Any] | Callable[[Request], "str | dict[str, Any] | list[Any]"]
"""Text as is; a dict or list is sent as JSON; a callable computes the reply from the request."""


@dataclass(frozen=True)
class ScriptedCall:
    """What an agent asked, kept so tests can assert on prompts."""

    agent: str
    messages: list[Message]
    schema: dict[str, Any] | None


class ScriptedEngine(Engine):
    """Replies in script order: one list for everyone, or a list per agent.

    Token counts are whitespace-separated words, so accounting behaves plausibly in tests.
    """

    def __init__(self, replies: Iterable[Reply] | Mapping[str, Iterable[Reply]]) -> None:
        super().__init__()
        self._per_agent: dict[str, deque[Reply]] | None = None
        self._shared: deque[Reply] = deque()
        if isinstance(replies, Mapping):
            self._per_agent = {agent: deque(script) for agent, script in replies.items()}
        else:
            self._shared = deque(replies)
        self.calls: list[ScriptedCall] = []

    def remaining(self, agent: str | None = None) -> int:
        """Replies not yet used (for `agent`, when the script is per agent)."""
        if self._per_agent is None:
            return len(self._shared)
        if agent is None:
            return sum(len(script) for script in self._per_agent.values())
        return len(self._per_agent.get(agent, ()))

    async def _complete(self, request: Request) -> Completion:
        schema = request.schema.schema if request.schema is not None else None
        self.calls.append(ScriptedCall(request.agent, request.messages, schema))
        script = self._shared if self._per_agent is None else self._per_agent.get(request.agent)
        if not script:
            raise ScriptExhausted(f"no scripted reply left for agent {request.agent!r}")
        reply = script.popleft()
        if callable(reply):
            reply = reply(request)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        prompt = sum(len(m["content"].split()) + 1 for m in request.messages)
        return Completion(
            text=text,
            prompt_tokens=prompt,
            evaluated_prompt_tokens=prompt,
            completion_tokens=len(text.split()),
            seconds=0.0,
        )
