"""Any Python function becomes an agent: its card comes from the function, its work is a call.

A tool agent never leads: when it holds the turn it passes it on (or owes nothing but the
conclusion), and when a task is assigned to it, it calls the function with the task's text.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from agents.brain import Brain, Job, Turn
from agents.fallback import fallback_move
from protocols import AgentCard, Skill

ToolFn = Callable[[str], str | Awaitable[str]]


class ToolBrain(Brain):
    def __init__(self, fn: ToolFn) -> None:
        self.fn = fn

    async def move(self, turn: Turn) -> dict[str, Any]:
        return fallback_move(turn.legal) or {}

    async def work(self, job: Job) -> str:
        result = self.fn(job.description)
        if inspect.isawaitable(result):
            result = await result
        return str(result)


def tool_card(fn: ToolFn, *, name: str | None = None, tags: list[str] | None = None) -> AgentCard:
    """A card from the function: its name, and its docstring as the description."""
    doc = inspect.getdoc(fn) or ""
    title = name or fn.__name__.replace("_", " ")
    summary = doc.split("\n\n", 1)[0]
    return AgentCard(
        name=title,
        description=summary or f"runs {fn.__name__}",
        kind="tool",
        skills=[Skill(name=title, description=summary, tags=tags or [fn.__name__])],
    )
