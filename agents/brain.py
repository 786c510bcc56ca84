"""The `Brain`: what an agent decides, separated from how it talks to the hub.

The runtime (`agents.runtime`) owns the connection, the conversation states and the loop; a brain
only answers questions, each with the facts it needs and nothing else:

- `move(turn)` — the agent holds the turn: return one move (a dict shaped like an instance of
  `protocols.moves.moves_schema(turn.legal)`). The runtime checks it; a move that is not legal
  is replaced by a safe fallback, so a brain that produces garbage never breaks a conversation.
- `work(job)` — a task was assigned to the agent: return the result text.
- `wants_team(job)` — for a task, form a sub-team instead of working alone? (only asked while
  the depth limit allows it)
- `queries(goal)` / `pick(goal, candidates, ...)` — team formation: what to search the hub for,
  and whom to invite.

Brains may be called concurrently for different groups; implementations that hold a model
serialise access themselves (the engine does).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from protocols.conversation import ConversationState, LegalMoves


@dataclass(frozen=True)
class Line:
    """One message of a transcript, as prompts show it."""

    seq: int
    sender: str
    """The sender's display name ("hub" for the hub's own messages)."""
    type: str
    text: str
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """Everything a brain needs to choose its next move in one group."""

    me: str
    """The agent's id."""
    name: str
    role: str
    """The agent's own description: who it is and what it is good at."""
    goal: str
    group: str
    names: dict[str, str]
    """member id → display name, in roster order."""
    state: ConversationState
    legal: LegalMoves
    transcript: list[Line]
    """The most recent messages, oldest first."""
    depth: int = 0


@dataclass(frozen=True)
class Job:
    """A task handed to the agent."""

    group: str
    task_id: str
    title: str
    description: str
    goal: str
    """The goal of the group the task came from."""
    assigner: str
    depth: int
    transcript: list[Line] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    """An agent discovery found for a goal."""

    id: str
    name: str
    description: str
    skills: list[str]
    score: float


class Brain(abc.ABC):
    """The decisions of one agent; see the module docstring for the contract."""

    @abc.abstractmethod
    async def move(self, turn: Turn) -> dict[str, Any]: ...

    async def work(self, job: Job) -> str:
        return f"(no worker for task {job.task_id}: {job.title or job.description[:80]})"

    async def wants_team(self, job: Job) -> bool:
        return False

    async def queries(self, goal: str) -> list[str]:
        return [goal]

    async def pick(
        self, goal: str, candidates: list[Candidate], max_members: int, forced: bool
    ) -> list[str] | None:
        """Ids to invite (the agent itself is always a member), or None to search again.

        `forced` is set on the last attempt: then a decision must be returned.
        """
        return [c.id for c in candidates[:max_members]]


MoveFn = Callable[[Turn], dict[str, Any] | Awaitable[dict[str, Any]]]
WorkFn = Callable[[Job], str | Awaitable[str]]


async def _call(fn: Callable[[Any], Any], arg: Any) -> Any:
    result = fn(arg)
    if isinstance(result, Awaitable):
        result = await result
    return result


class ScriptedBrain(Brain):
    """A deterministic brain for tests and for agents whose moves are plain code.

    `moves` is either a list of moves consumed in order (then the fallback) or a function of the
    `Turn`. `work` is a function of the `Job`. `team` says whether to form a sub-team for a job.
    """

    def __init__(
        self,
        moves: list[dict[str, Any]] | MoveFn | None = None,
        work: WorkFn | None = None,
        team: Callable[[Job], bool] | None = None,
        picks: list[str] | None = None,
    ) -> None:
        self._moves = moves
        self._work = work
        self._team = team
        self._picks = picks
        self.turns: list[Turn] = []
        """Every turn this brain was asked to move in, for tests to inspect."""

    async def move(self, turn: Turn) -> dict[str, Any]:
        self.turns.append(turn)
        if callable(self._moves):
            return dict(await _call(self._moves, turn))
        if self._moves:
            return self._moves.pop(0)
        return {"type": "conclusion", "text": "done"} if "conclusion" in turn.legal.types else {}

    async def work(self, job: Job) -> str:
        if self._work is None:
            return await super().work(job)
        return str(await _call(self._work, job))

    async def wants_team(self, job: Job) -> bool:
        return bool(self._team(job)) if self._team is not None else False

    async def pick(
        self, goal: str, candidates: list[Candidate], max_members: int, forced: bool
    ) -> list[str] | None:
        if self._picks is not None:
            return self._picks
        return await super().pick(goal, candidates, max_members, forced)
