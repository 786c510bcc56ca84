"""`Engine`: the interface every agent thinks through, whatever backs it.

Two implementations ship: `LlamaCppEngine` (a local GGUF through llama.cpp, `ioa.llm.llamacpp`) and
`ScriptedEngine` (replies from a script, `ioa.llm.scripted`) for deterministic tests of agents.
Both run replies through the same structured-output path defined here, so an agent tested against
a script meets exactly the validation and repair it will meet with a real model.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from ioa.lifecycle import Closeable
from ioa.llm.accounting import Accounting, AgentStats, Completion
from ioa.llm.choice import Choice, Criterion, OptionScore, check_options, pick
from ioa.llm.errors import EngineClosed, EngineError, SchemaNotSupported, StructuredOutputError
from ioa.llm.prompts import REPAIR_PROMPT
from ioa.llm.structured import PreparedSchema, ReplyInvalid, parse_reply, prepare_schema
from ioa.llm.templates import Message, check_messages
from ioa.meter import Meter, active_meters
from protocols.usage import Where

__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_TEMPERATURE", "Engine", "Request"]

DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.7
AGENT_MAX = 200


@dataclass(frozen=True)
class Request:
    """One checked call, as an implementation receives it."""

    agent: str
    messages: list[Message]
    schema: PreparedSchema | None
    max_tokens: int
    temperature: float


class Engine(Closeable):
    """A language model shared by the agents of a process.

    Contract:

    - `chat` and `structured` may be called concurrently from any number of tasks (and event
      loops), without blocking the loop. An engine may serve different agents' calls side by
      side (`LlamaCppEngine` batches their decoding); one agent's calls run in arrival order,
      and a reply never depends on which other calls ran beside it.
    - `agent` names who is speaking. An engine may keep per-agent state (a KV prefix) so that an
      agent's next turn costs only its new tokens; results never depend on other agents' calls.
    - With `schema`, the reply is constrained to that JSON Schema. `structured` also validates the
      reply, makes one repair attempt, and raises `StructuredOutputError` if that fails too.
    - Every failure is an `EngineError`. Cancelling the awaiting task stops generation at the next
      token; the call's cost is still accounted.
    - `stats(agent)` sums every call of `agent`; every call is also recorded into the meters
      open in the calling task (`ioa.meter`), as run `where` (local or cloud). `close()`
      releases the model (an engine shared through `load_engine` is released when its last
      user closes it).
    """

    def __init__(self) -> None:
        self._accounting = Accounting()
        self._closed = False

    @property
    def where(self) -> Where:
        """Where this engine's calls run: on the device (`local`) or at a remote endpoint."""
        return "local"

    def _account(
        self, agent: str, completion: Completion, meters: tuple[Meter, ...] | None = None
    ) -> None:
        """Account a finished call: in the engine's sums, and in the meters open where it was
        made (`meters`, captured at the call, when it is recorded from another thread)."""
        self._accounting.record(agent, completion)
        for meter in active_meters() if meters is None else meters:
            meter.record(self.where, completion)

    @abstractmethod
    async def _complete(self, request: Request) -> Completion:
        """Produce one reply. Implementations record nothing; `chat` does the accounting."""

    async def chat(
        self,
        messages: list[Message] | list[dict[str, Any]],
        *,
        agent: str,
        schema: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> Completion:
        """One reply to `messages` (system/user/assistant dicts) as `agent`'s next turn.

        With `schema`, decoding is constrained to it, but the text is not validated here; use
        `structured` for a validated value.
        """
        prepared = prepare_schema(schema) if schema is not None else None
        return await self._call(messages, agent, prepared, max_tokens, temperature)

    async def structured(
        self,
        messages: list[Message] | list[dict[str, Any]],
        *,
        agent: str,
        schema: dict[str, Any] | None = None,
        model: type[BaseModel] | None = None,
        max_tokens: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> tuple[Any, Completion]:
        """A reply that is valid for `schema` (and an instance of `model`, if given).

        `schema` defaults to `model`'s JSON Schema. `max_tokens` defaults to the worst-case length
        the bounded schema allows, so the JSON is never cut off. Returns the parsed value (a
        `model` instance when given) and the completion of the accepted attempt.
        """
        if schema is None:
            if model is None:
                raise SchemaNotSupported("structured() needs a schema or a pydantic model")
            schema = model.model_json_schema()
        prepared = prepare_schema(schema)
        limit = max_tokens or prepared.max_tokens
        first = await self._call(messages, agent, prepared, limit, temperature)
        try:
            return parse_reply(first.text, prepared, model), first
        except ReplyInvalid as exc:
            reason = exc.reason
            if first.finish_reason == "length":
                reason = f"it was cut off after {limit} tokens"
        repair: list[Message] = [
            *check_messages(messages),
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": REPAIR_PROMPT.format(reason=reason)},
        ]
        second = await self._call(repair, agent, prepared, limit, temperature)
        try:
            return parse_reply(second.text, prepared, model), replace(second, attempts=2)
        except ReplyInvalid as exc:
            raise StructuredOutputError(
                f"agent {agent!r}: the reply did not match the schema, twice: {exc.reason}",
                texts=(first.text, second.text),
            ) from None

    async def choose(
        self,
        messages: list[Message] | list[dict[str, Any]],
        options: list[str],
        *,
        agent: str,
        criterion: Criterion = "mean",
    ) -> Choice:
        """The option the model finds likeliest as `agent`'s reply to `messages`.

        Each option is scored as the continuation of the assistant reply (its tokens'
        log-probabilities, summed); nothing is sampled, so the result is deterministic. Options
        must be distinct non-empty strings (`BadOptions`); a prompt that cannot fit beside the
        longest option raises `OptionsTooLong`. The call is accounted like a turn, its option
        tokens in `scored_tokens`.
        """
        if self._closed:
            raise EngineClosed()
        checked = check_options(options, criterion)
        request = Request(
            agent=_check_agent(agent),
            messages=check_messages(messages),
            schema=None,
            max_tokens=1,
            temperature=0.0,
        )
        scores, completion = await self._score(request, checked)
        index = pick(scores, criterion)
        completion = replace(completion, text=checked[index])
        self._account(request.agent, completion)
        return Choice(index, tuple(scores), criterion, completion)

    async def _score(
        self, request: Request, options: list[str]
    ) -> tuple[list[OptionScore], Completion]:
        """Every option's score, in order, and the call's cost (its `text` is ignored)."""
        raise SchemaNotSupported(f"{type(self).__name__} cannot score options")

    def stats(self, agent: str | None = None) -> AgentStats:
        """Token and time sums for `agent`, or for all agents together."""
        return self._accounting.stats(agent)

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True

    async def _call(
        self,
        messages: object,
        agent: object,
        schema: PreparedSchema | None,
        max_tokens: object,
        temperature: object,
    ) -> Completion:
        if self._closed:
            raise EngineClosed()
        request = Request(
            agent=_check_agent(agent),
            messages=check_messages(messages),
            schema=schema,
            max_tokens=_check_max_tokens(max_tokens),
            temperature=_check_temperature(temperature),
        )
        completion = await self._complete(request)
        self._account(request.agent, completion)
        return completion


def _check_agent(agent: object) -> str:
    if not isinstance(agent, str) or not agent or len(agent) > AGENT_MAX:
        raise EngineError(f"agent must be a non-empty string of at most {AGENT_MAX} characters")
    return agent


def _check_max_tokens(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EngineError(f"max_tokens must be a positive integer, not {value!r}")
    return value


def _check_temperature(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EngineError(f"temperature must be a number, not {value!r}")
    if value < 0:
        raise EngineError("temperature cannot be negative")
    return float(value)
