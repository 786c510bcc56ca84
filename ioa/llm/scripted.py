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
from ioa.llm.choice import OptionScore
from ioa.llm.engine import Engine, Request
from ioa.llm.errors import BadOptions, ScriptExhausted
from ioa.llm.templates import Message

__all__ = ["Reply", "Scorer", "ScriptedCall", "ScriptedEngine"]

Reply = str | dict[str, Any] | list[Any] | Callable[[Request], "str | dict[str, Any] | list[Any]"]
"""Text as is; a dict or list is sent as JSON; a callable computes the reply from the request."""

Scorer = Callable[[Request, str], float]
"""A deterministic log-probability for an option (the `choose` twin of a model)."""


@dataclass(frozen=True)
class ScriptedCall:
    """What an agent asked, kept so tests can assert on prompts."""

    agent: str
    messages: list[Message]
    schema: dict[str, Any] | None


class ScriptedEngine(Engine):
    """Replies in script order: one list for everyone, or a list per agent.

    Token counts are whitespace-separated words, so accounting behaves plausibly in tests.

    `choose` uses `scorer` when given (each option's log-probability, a function of the request
    and the option). Without one it takes the next scripted reply, which must be one of the
    options' texts: that option scores 0, every other -1 per word.
    """

    def __init__(
        self,
        replies: Iterable[Reply] | Mapping[str, Iterable[Reply]] = (),
        *,
        scorer: Scorer | None = None,
    ) -> None:
        super().__init__()
        self.scorer = scorer
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
        text = self._next(request)
        prompt = _words(request)
        return Completion(
            text=text,
            prompt_tokens=prompt,
            evaluated_prompt_tokens=prompt,
            completion_tokens=len(text.split()),
            seconds=0.0,
        )

    async def _score(
        self, request: Request, options: list[str]
    ) -> tuple[list[OptionScore], Completion]:
        if self.scorer is not None:
            self.calls.append(ScriptedCall(request.agent, request.messages, None))
            values = [float(self.scorer(request, o)) for o in options]
        else:
            wanted = self._next(request)
            if wanted not in options:
                raise BadOptions(f"the scripted choice {wanted!r:.60} is not one of the options")
            values = [0.0 if o == wanted else -float(len(o.split())) for o in options]
        scores = [OptionScore(o, v, len(o.split())) for o, v in zip(options, values, strict=True)]
        prompt = _words(request)
        return scores, Completion(
            text="",
            prompt_tokens=prompt,
            evaluated_prompt_tokens=prompt,
            completion_tokens=0,
            seconds=0.0,
            scored_tokens=sum(s.tokens for s in scores),
        )

    def _next(self, request: Request) -> str:
        schema = request.schema.schema if request.schema is not None else None
        self.calls.append(ScriptedCall(request.agent, request.messages, schema))
        script = self._shared if self._per_agent is None else self._per_agent.get(request.agent)
        if not script:
            raise ScriptExhausted(f"no scripted reply left for agent {request.agent!r}")
        reply = script.popleft()
        if callable(reply):
            reply = reply(request)
        return reply if isinstance(reply, str) else json.dumps(reply)


def _words(request: Request) -> int:
    return sum(len(m["content"].split()) + 1 for m in request.messages)
