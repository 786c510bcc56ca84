"""Any Python function becomes an agent: its card comes from the function, its work is a call.

A tool agent never leads: when it holds the turn it passes it on (or owes nothing but the
conclusion), and when a task is assigned to it, it calls the function with the task's text.

A `Tool` also says which arguments a goal allows it (`agents.spans.Arguments`), so a brain that
knows the tool by its card's name can fill the call from spans of the goal instead of free text.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents.brain import Brain, Job, Turn
from agents.fallback import fallback_move
from agents.spans import Arguments
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


@dataclass(frozen=True)
class Tool:
    """A function offered as an agent, with the arguments each goal allows it."""

    fn: ToolFn
    arguments: Callable[[str], Arguments]
    name: str
    """The tool agent's display name: how a brain recognises it among a team's members."""
    example: tuple[str, str]
    """A goal and the call it needs, shown to the model as the form to follow."""
    tags: list[str] = field(default_factory=list)

    @property
    def does(self) -> str:
        """What the tool does, in the first sentence of its docstring."""
        doc = inspect.getdoc(self.fn) or self.name
        return doc.split("\n\n", 1)[0].split(". ")[0].rstrip(".").replace("\n", " ")

    def card(self) -> AgentCard:
        return tool_card(self.fn, name=self.name, tags=self.tags)
