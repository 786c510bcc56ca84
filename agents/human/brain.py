"""`HumanBrain`: a person holds the seat; the protocol still decides what they may do.

At their turn the person sees what was said since they last looked, then the legal moves as a
numbered list (`protocols.moves.moves_schema`, the same source the models decode under). They
pick one by number, or type words when a discussion is allowed, and fill its fields the same
way (members and tasks by number, texts as typed). The move is validated against the schema
before it is sent, so a person cannot send what the hub would refuse. A turn not finished within
`turn_timeout` seconds, or a person who left (end of input), gets the fallback legal move; a task
not answered in time fails with a message that says so. Questions from several groups are asked
one at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jsonschema import Draft202012Validator

from agents.brain import Brain, Job, Turn
from agents.errors import AgentError
from agents.fallback import fallback_move
from agents.human.form import FormError, fill
from agents.human.seat import Seat, SeatClosed
from protocols.moves import moves_schema

__all__ = ["MOVE_HINTS", "HumanAway", "HumanBrain", "HumanTimeout"]

MOVE_HINTS = {
    "discussion": "say something and pass the turn on",
    "pass": "pass the turn",
    "conclude": "end the conversation (you then write its conclusion)",
    "conclusion": "write the conclusion",
    "sync_task_assign": "hand a task to members and wait for its result",
    "async_task_assign": "hand a task out and go on talking",
    "pause": "wait for tasks to finish",
    "task_result": "report a task's result",
    "task_progress": "report progress on a task",
}


class HumanTimeout(AgentError):
    code = "human_timeout"
    default_message = "the person did not answer in time"


class HumanAway(AgentError):
    code = "human_away"
    default_message = "the person has left the seat"


class HumanBrain(Brain):
    """Moves and task results typed by a person at `seat` (see the module docstring)."""

    def __init__(self, seat: Seat, *, turn_timeout: float | None = 300.0) -> None:
        self.seat = seat
        self.turn_timeout = turn_timeout
        """Seconds a person has for one turn or one task answer; None waits forever."""
        self._lock = asyncio.Lock()
        self._seen: dict[str, int] = {}

    async def move(self, turn: Turn) -> dict[str, Any]:
        async with self._lock:
            self._show_news(turn)
            try:
                return await asyncio.wait_for(self._choose(turn), self.turn_timeout)
            except TimeoutError:
                self.seat.show(f"time is up ({self.turn_timeout:g} s): the safe move is sent")
            except SeatClosed:
                pass
            return fallback_move(turn.legal) or {}

    async def work(self, job: Job) -> str:
        async with self._lock:
            self.seat.show(f"\n== a task for you (goal: {job.goal})")
            self.seat.show(f"{job.title}: {job.description}")
            try:
                return await asyncio.wait_for(self.seat.ask("your result> "), self.turn_timeout)
            except TimeoutError:
                self.seat.show(f"time is up ({self.turn_timeout:g} s): the task fails")
                raise HumanTimeout(
                    f"no answer from the person within {self.turn_timeout:g} s"
                ) from None
            except SeatClosed:
                raise HumanAway() from None

    def _show_news(self, turn: Turn) -> None:
        seen = self._seen.get(turn.group)
        if seen is None:
            self.seat.show(f"\n== team for: {turn.goal}  ({turn.group})")
            members = ", ".join(n for m, n in turn.names.items() if m != turn.me)
            self.seat.show(f"with: {members}")
            seen = -1
        for line in turn.transcript:
            if line.seq > seen:
                to = f" → {', '.join(line.to)}" if line.to else ""
                self.seat.show(f"  {line.sender} [{line.type}{to}]: {line.text}")
                seen = line.seq
        self._seen[turn.group] = seen
        limit = turn.state.limits.max_turns
        self.seat.show(f"-- your turn ({turn.state.turns + 1} of {limit})")

    async def _choose(self, turn: Turn) -> dict[str, Any]:
        schema = moves_schema(turn.legal)
        alternatives: list[dict[str, Any]] = schema.get("oneOf", [schema])
        kinds = [alt["properties"]["type"]["const"] for alt in alternatives]
        names = {m: ("you" if m == turn.me else n) for m, n in turn.names.items()}
        validator = Draft202012Validator(schema)
        for i, kind in enumerate(kinds, 1):
            self.seat.show(f"  {i}) {kind}: {MOVE_HINTS.get(kind, kind.replace('_', ' '))}")
        words = "discussion" in kinds
        while True:
            answer = (await self.seat.ask("move (number, or your words)> " if words else
                                          "move (number)> ")).strip()  # fmt: skip
            given: dict[str, Any] = {}
            if answer.isdigit() and 1 <= int(answer) <= len(kinds):
                chosen = alternatives[int(answer) - 1]
            elif words and answer and not answer.isdigit():
                chosen = alternatives[kinds.index("discussion")]
                given["text"] = answer
            else:
                self.seat.show(f"  type a number from 1 to {len(kinds)}")
                continue
            try:
                move = await fill(self.seat, chosen, names=names, given=given)
            except FormError as exc:  # a given text too long for the move
                self.seat.show(f"  {exc}")
                continue
            error = next(iter(validator.iter_errors(move)), None)
            if error is None:
                return dict(move)
            self.seat.show(f"  that move is not legal: {error.message}; choose again")
