"""`CascadeBrain`: an `LLMBrain` that thinks on the device and asks the cloud when it must.

The routing is `ioa.llm.cascade.CascadeEngine`'s; this brain only tells it, for every call,
which goal the call serves (the group: the unit of the remote budget) and whether the goal is
*hard*: it names one of the agent's skills tagged "hard" (the skill's name, or another of its
tags, as words of the goal or of the task). Hard goals go to the remote model first.
"""

from __future__ import annotations

import re
from typing import Any

from agents.brain import Job, Turn
from agents.llm_brain import LLMBrain
from ioa.llm.cascade import CascadeEngine, escalation_scope
from protocols import AgentCard

__all__ = ["HARD_TAG", "CascadeBrain", "hard_terms"]

HARD_TAG = "hard"


def hard_terms(card: AgentCard) -> list[str]:
    """Names and tags of the card's skills tagged "hard" (the tag itself left out)."""
    terms: list[str] = []
    for skill in card.skills:
        tags = [t.lower() for t in skill.tags]
        if HARD_TAG in tags:
            terms.append(skill.name.lower())
            terms.extend(t for t in tags if t != HARD_TAG)
    return list(dict.fromkeys(terms))


class CascadeBrain(LLMBrain):
    """Decisions through a `CascadeEngine`; `hard` lists the terms that make a goal hard."""

    def __init__(self, engine: CascadeEngine, *, hard: list[str] | None = None, **kwargs: Any):
        super().__init__(engine, **kwargs)
        self.hard = [term.lower() for term in hard or [] if term.strip()]

    def is_hard(self, text: str) -> bool:
        lowered = text.lower()
        return any(re.search(rf"\b{re.escape(term)}\b", lowered) for term in self.hard)

    async def move(self, turn: Turn) -> dict[str, Any]:
        with escalation_scope(turn.group, hard=self.is_hard(turn.goal)):
            return await super().move(turn)

    async def work(self, job: Job) -> str:
        with escalation_scope(job.group, hard=self.is_hard(f"{job.title} {job.description}")):
            return await super().work(job)
