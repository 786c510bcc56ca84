"""`CascadeEngine`: think locally first, escalate a call to a remote model by a stated policy.

Edge–cloud collaboration as an `Engine`, so every brain gets it unchanged. A call goes to the
local engine; it is escalated to the remote one when

- **invalid**: the local structured reply failed validation, even after its repair attempt;
- **margin**: a likelihood choice (`choose`) led its runner-up by less than `min_margin`;
- **hard**: the call is made for a goal the agent marks hard (`escalation_scope(hard=True)`,
  see `agents.cascade`): then the remote model goes first.

The remote is not asked when the goal's remote budget (tokens, cost) is spent, or while it is
down (for `retry_after` seconds after a transport failure); a remote that fails or answers
garbage leaves the call local: the local result, else the local error (a brain then uses its
fallback move). Every decision is recorded as an `Escalation`; `split(agent)` keeps the local
and remote tokens, seconds and cost of each agent apart.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from pydantic import BaseModel

from ioa.llm.accounting import AgentStats, Completion
from ioa.llm.choice import Choice, Criterion, OptionScore
from ioa.llm.engine import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, Engine, Request
from ioa.llm.errors import EngineError, RemoteError, StructuredOutputError
from ioa.llm.templates import Message

__all__ = ["CascadeEngine", "Escalation", "EscalationPolicy", "Split", "escalation_scope"]

Reason = Literal["invalid", "margin", "hard"]
Outcome = Literal["remote", "over_budget", "remote_down", "remote_failed"]


@dataclass(frozen=True)
class EscalationPolicy:
    """When a call leaves the device, and how much it may spend there per goal."""

    on_invalid: bool = True
    """Escalate a structured call whose local reply failed validation twice."""
    min_margin: float | None = 0.5
    """Escalate a `choose` whose winner leads by less (mean log-probability per token)."""
    budget_tokens: int | None = None
    """Remote tokens (prompt + completion) one goal may use; None: no limit."""
    budget_cost: float | None = None
    """Remote cost one goal may use; None: no limit."""
    retry_after: float = 30.0
    """Seconds a remote that failed in transport is left alone."""


@dataclass(frozen=True)
class Escalation:
    """One call the policy sent (or meant to send) to the remote model, and what happened."""

    agent: str
    goal: str
    reason: Reason
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Scope:
    goal: str = ""
    hard: bool = False


_scope: ContextVar[Scope | None] = ContextVar("ioa_escalation_scope", default=None)
_OUTSIDE = Scope()


def _current() -> Scope:
    return _scope.get() or _OUTSIDE


@contextmanager
def escalation_scope(goal: str, *, hard: bool = False) -> Iterator[None]:
    """Calls made inside belong to `goal` (its budget) and are hard or not."""
    token = _scope.set(Scope(goal, hard))
    try:
        yield
    finally:
        _scope.reset(token)


@dataclass(frozen=True)
class Split:
    """An agent's calls, local and remote apart."""

    local: AgentStats
    remote: AgentStats


@dataclass
class _Spent:
    tokens: int = 0
    cost: float = 0.0


@dataclass
class _Ledger:
    escalations: list[Escalation] = field(default_factory=list)
    spent: dict[str, _Spent] = field(default_factory=dict)
    down_until: float = 0.0


class CascadeEngine(Engine):
    """A local engine with a remote one behind it; see the module docstring.

    It owns neither: closing the cascade leaves both open for their owners to close.
    """

    def __init__(self, local: Engine, remote: Engine, policy: EscalationPolicy | None = None):
        super().__init__()
        self.local = local
        self.remote = remote
        self.policy = policy or EscalationPolicy()
        self._ledger = _Ledger()
        self._remote_lock = asyncio.Lock()

    @property
    def escalations(self) -> list[Escalation]:
        return list(self._ledger.escalations)

    def split(self, agent: str | None = None) -> Split:
        return Split(self.local.stats(agent), self.remote.stats(agent))

    def stats(self, agent: str | None = None) -> AgentStats:
        both = self.split(agent)
        total = AgentStats()
        for f in fields(AgentStats):
            setattr(total, f.name, getattr(both.local, f.name) + getattr(both.remote, f.name))
        return total

    async def _complete(self, request: Request) -> Completion:
        raise EngineError("CascadeEngine routes whole calls; it has no completion of its own")

    async def _score(
        self, request: Request, options: list[str]
    ) -> tuple[list[OptionScore], Completion]:
        return await self.local._score(request, options)  # likelihoods are the local model's

    async def chat(
        self,
        messages: list[Message] | list[dict[str, Any]],
        *,
        agent: str,
        schema: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "agent": agent, "schema": schema, "max_tokens": max_tokens, "temperature": temperature
        }  # fmt: skip
        if _current().hard:
            done = await self._remote(agent, "hard", self.remote.chat(messages, **kwargs))
            if done is not None:
                return done  # type: ignore[no-any-return]
        return await self.local.chat(messages, **kwargs)

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
        kwargs: dict[str, Any] = {
            "agent": agent, "schema": schema, "model": model,
            "max_tokens": max_tokens, "temperature": temperature,
        }  # fmt: skip
        if _current().hard:
            done = await self._remote(agent, "hard", self.remote.structured(messages, **kwargs))
            if done is not None:
                return done  # type: ignore[no-any-return]
        try:
            return await self.local.structured(messages, **kwargs)
        except StructuredOutputError:
            if not self.policy.on_invalid:
                raise
            done = await self._remote(agent, "invalid", self.remote.structured(messages, **kwargs))
            if done is None:
                raise
            return done  # type: ignore[no-any-return]

    async def choose(
        self,
        messages: list[Message] | list[dict[str, Any]],
        options: list[str],
        *,
        agent: str,
        criterion: Criterion = "mean",
    ) -> Choice:
        choice = await self.local.choose(messages, options, agent=agent, criterion=criterion)
        hard = _current().hard
        low = self.policy.min_margin is not None and choice.margin < self.policy.min_margin
        if not (hard or low) or math.isinf(choice.margin):
            return choice
        schema = {"enum": list(options)}
        asked = self.remote.structured(messages, agent=agent, schema=schema, temperature=0.0)
        done = await self._remote(agent, "hard" if hard else "margin", asked)
        if done is None:
            return choice
        return replace(choice, index=options.index(done[0]))

    def _allowed(self, goal: str) -> Outcome | None:
        """Why the remote may not be asked now, or None."""
        if time.monotonic() < self._ledger.down_until:
            return "remote_down"
        spent = self._ledger.spent.get(goal, _Spent())
        policy = self.policy
        if policy.budget_tokens is not None and spent.tokens >= policy.budget_tokens:
            return "over_budget"
        if policy.budget_cost is not None and spent.cost >= policy.budget_cost:
            return "over_budget"
        return None

    async def _remote(self, agent: str, reason: Reason, call: Any) -> Any:
        """The remote call's result, or None (recorded why) when the call stays local."""
        goal = _current().goal
        refused = self._allowed(goal)
        if refused is not None:
            call.close()  # the coroutine is never awaited
            self._record(agent, goal, reason, refused)
            return None
        async with self._remote_lock:  # one remote call at a time keeps the spending exact
            before = self.remote.stats()
            try:
                result = await call
                outcome: Outcome = "remote"
                detail = ""
            except RemoteError as exc:
                self._ledger.down_until = time.monotonic() + self.policy.retry_after
                result, outcome, detail = None, "remote_down", exc.message
            except EngineError as exc:
                result, outcome, detail = None, "remote_failed", exc.message
            after = self.remote.stats()
        spent = self._ledger.spent.setdefault(goal, _Spent())
        spent.tokens += (after.prompt_tokens - before.prompt_tokens) + (
            after.completion_tokens - before.completion_tokens
        )
        spent.cost += after.cost - before.cost
        self._record(agent, goal, reason, outcome, detail)
        return result

    def _record(
        self, agent: str, goal: str, reason: Reason, outcome: Outcome, detail: str = ""
    ) -> None:
        self._ledger.escalations.append(Escalation(agent, goal, reason, outcome, detail))

    async def close(self) -> None:
        await super().close()
