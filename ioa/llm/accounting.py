"""What each model call cost: tokens and seconds per call, summed per agent.

`evaluated_prompt_tokens` is the figure that matters on a CPU: prompt tokens that were actually run
through the model, as opposed to reused from a cached prefix. On two cores prefill dominates a turn.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields, replace
from typing import Literal

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class Completion:
    """One model call's reply and what it cost."""

    text: str
    prompt_tokens: int
    """Tokens of the prompt as sent (after the context policy trimmed it)."""
    evaluated_prompt_tokens: int
    """Prompt tokens the model actually evaluated; the rest came from a reused KV prefix."""
    completion_tokens: int
    seconds: float
    """Time the call spent in the engine, prompt evaluation plus generation."""
    prompt_seconds: float = 0.0
    """Of `seconds`, the time spent evaluating the prompt (until the first token)."""
    finish_reason: FinishReason = "stop"
    dropped_messages: int = 0
    """Messages the context policy removed to fit `n_ctx`."""
    attempts: int = 1
    """2 when a structured reply needed its repair attempt."""
    scored_tokens: int = 0
    """Option tokens evaluated by `Engine.choose` (likelihood scoring), beside the prompt's."""
    cost: float = 0.0
    """Money the call cost (a remote endpoint's price per token; 0 for a local model)."""

    @property
    def tokens_per_second(self) -> float:
        """Generation speed: completion tokens per second of generation."""
        seconds = self.seconds - self.prompt_seconds
        return self.completion_tokens / seconds if seconds > 0 else 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        """Prefill speed: evaluated prompt tokens per second of prompt evaluation."""
        if self.prompt_seconds <= 0:
            return 0.0
        return self.evaluated_prompt_tokens / self.prompt_seconds


@dataclass
class AgentStats:
    """Running sums over one agent's calls (or over all agents)."""

    calls: int = 0
    prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    prompt_seconds: float = 0.0
    scored_tokens: int = 0
    cost: float = 0.0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.evaluated_prompt_tokens += completion.evaluated_prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.seconds += completion.seconds
        self.prompt_seconds += completion.prompt_seconds
        self.scored_tokens += completion.scored_tokens
        self.cost += completion.cost

    @property
    def reused_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.evaluated_prompt_tokens


@dataclass
class Accounting:
    """Per-agent sums for one engine (a cancelled call is recorded from the worker thread)."""

    agents: dict[str, AgentStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, agent: str, completion: Completion) -> None:
        with self._lock:
            self.agents.setdefault(agent, AgentStats()).add(completion)

    def stats(self, agent: str | None = None) -> AgentStats:
        """A copy of one agent's sums, or of the sums over every agent when `agent` is None."""
        with self._lock:
            if agent is not None:
                return replace(self.agents.get(agent, AgentStats()))
            total = AgentStats()
            for f in fields(AgentStats):
                setattr(total, f.name, sum(getattr(s, f.name) for s in self.agents.values()))
            return total
