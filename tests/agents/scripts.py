"""Scripted brains shared by the agent tests."""

from __future__ import annotations

from typing import Any

from agents.brain import Candidate, Job, ScriptedBrain, Turn


def delegate_then_conclude(prefer: str | None = None) -> Any:
    """A lead that hands the goal to another member, then concludes with the result."""

    def move(turn: Turn) -> dict[str, Any]:
        tasks = turn.state.tasks
        if "conclusion" in turn.legal.types:
            return {"type": "conclusion", "text": tasks[0].result if tasks else "alone"}
        if tasks:
            return {"type": "conclude", "text": ""}
        others = [m for m, name in turn.names.items() if m != turn.me]
        chosen = next((m for m in others if turn.names[m] == prefer), others[0])
        return {
            "type": "sync_task_assign",
            "assignees": [chosen],
            "title": "part",
            "description": turn.goal,
        }

    return move


class Pick(ScriptedBrain):
    """Picks team members by name instead of by score."""

    def __init__(self, names: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = names

    async def pick(
        self, goal: str, candidates: list[Candidate], max_members: int, forced: bool
    ) -> list[str] | None:
        return [c.id for c in candidates if c.name in self.names]


def teamwork(job: Job) -> bool:
    return True
