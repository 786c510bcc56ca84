"""What an episode leaves behind: the live events of its transcript and its figures.

Events are plain data so the same list drives the live console (`ioa demo`), the saved
transcripts (`ioa bench roco`) and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventKind = Literal["episode", "attempt", "say", "plan", "skip", "end"]


@dataclass(frozen=True)
class Event:
    """One thing that happened in an episode, in order."""

    kind: EventKind
    step: int = 0
    """The environment step (round) being planned, from 1."""
    attempt: int = 0
    """The plan attempt within the step, from 1."""
    robot: str = ""
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts: the utterance type and plan of a `say`, the check of a `plan`..."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Emit = Callable[[Event], None]
"""Where a runner sends events as they happen."""


def ignore(event: Event) -> None:
    """An `Emit` that drops events (when nobody watches)."""


@dataclass
class EpisodeRecord:
    """One episode of one task in one mode: its outcome, cost and transcript."""

    task: str
    mode: str
    seed: int
    success: bool = False
    steps: int = 0
    """Environment steps used (executed and skipped)."""
    attempts: list[int] = field(default_factory=list)
    """Plans tried at each step (RoCo's "re-plans": 1 when the first plan passed)."""
    unparseable: int = 0
    """Plans given as text that did not parse (0 by construction under grammars)."""
    no_plan: int = 0
    """Attempts that ended without a plan (a talk that ran out of turns, a failed decode)."""
    rejected: int = 0
    """Parsed plans the environment rejected: wasted environment attempts."""
    checks: int = 0
    """Plans checked inside the conversation (IoA, dialectic), before any environment attempt."""
    checks_failed: int = 0
    capped: bool = False
    """Stopped by a step cap below the task's own budget."""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    scored_tokens: int = 0
    """Option tokens evaluated by likelihood scoring."""
    seconds: float = 0.0
    model_seconds: float = 0.0
    """Of `seconds`, time inside the model (the rest: hub, protocol, environment, Python)."""
    events: list[Event] = field(default_factory=list)

    @property
    def replans(self) -> float:
        """Mean plans tried per step."""
        return sum(self.attempts) / len(self.attempts) if self.attempts else 0.0

    def figures(self) -> dict[str, Any]:
        """Everything but the transcript, as JSON-able data."""
        data = asdict(self)
        del data["events"]
        data["replans"] = round(self.replans, 3)
        data["seconds"] = round(self.seconds, 2)
        return data

    def to_dict(self) -> dict[str, Any]:
        return {**self.figures(), "events": [e.to_dict() for e in self.events]}
