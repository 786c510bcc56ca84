"""How a group's `meta` sets up its conversation, shared by the hub and every agent.

Both sides must start from the same state (same initiator, limits and start time) or their
copies of the conversation would drift; so both build it with `conversation_for_group`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocols.conversation.state import SILENT_TURNS_MAX, ConversationState, Limits, start
from protocols.errors import InvalidConversation

MAX_TIMEOUT = 7 * 24 * 3600.0
"""A week: the longest turn or task timeout a group may set (beyond it, set none)."""


class ConversationSettings(BaseModel):
    """What an "ioa" group's `meta` may set; anything else in `meta` is context for agents."""

    model_config = ConfigDict(extra="ignore")

    initiator: str | None = None
    """Who speaks first; default the first member (the group's creator)."""
    max_turns: int = Field(default=40, ge=1, le=10_000)
    turn_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds the agent holding the turn has before the hub passes it on."""
    task_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds a task may stay unfinished before the hub marks it failed."""
    max_silent_turns: int = Field(default=3, ge=1, le=SILENT_TURNS_MAX)
    """Turn timeouts in a row after which the hub ends the conversation (see `Limits`)."""

    @property
    def limits(self) -> Limits:
        return Limits(
            max_turns=self.max_turns,
            turn_timeout=self.turn_timeout,
            task_timeout=self.task_timeout,
            max_silent_turns=self.max_silent_turns,
        )


def conversation_for_group(
    group_id: str, members: list[str] | tuple[str, ...], meta: dict[str, Any], created_at: float
) -> ConversationState:
    """The initial state of a group's conversation; `InvalidConversation` names what is wrong."""
    try:
        settings = ConversationSettings.model_validate(meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidConversation(f"conversation setting {where}: {first['msg']}") from None
    return start(
        group_id, members, initiator=settings.initiator, limits=settings.limits, now=created_at
    )
