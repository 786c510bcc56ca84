"""How a group's `meta` sets up its conversation, shared by the hub and every agent.

Both sides must start from the same state (same protocol, initiator, limits, rules and start
time) or their copies of the conversation would drift; so both build it with
`conversation_for_group`. Meta keys read here (anything else in `meta` is context for agents):

- `protocol`: "ioa" (default), "dialectic", "contract_net" or "voting" (see `registry`)
- `initiator`, `max_turns`, `turn_timeout`, `task_timeout`, `max_silent_turns`: `Limits`
- `checker`: the member that alone sends `check_result` (check before commit)
- `content_schema`: JSON Schema of every plan's `content` (bounded, see `content`)
- `links`: {member: [members]}: whom each member may address (the lab's topologies)
- `voting_rule`: plurality (default), majority, borda or unanimity
- `open_execute`: dialectic only; EXECUTE before everyone spoke (default false)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocols.conversation.content import checked_schema
from protocols.conversation.records import Rules, VotingRule
from protocols.conversation.state import SILENT_TURNS_MAX, ConversationState, Limits, start
from protocols.errors import InvalidConversation
from protocols.messages import ID_PATTERN

MAX_TIMEOUT = 7 * 24 * 3600.0
"""A week: the longest turn or task timeout a group may set (beyond it, set none)."""
LINKS_MAX = 256
"""Members a `links` map may list, and links per member."""


class ConversationSettings(BaseModel):
    """What an enforced group's `meta` may set; anything else in `meta` is context for agents."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    protocol: Literal["ioa", "dialectic", "contract_net", "voting"] = "ioa"
    initiator: str | None = None
    """Who speaks first; default the first member (the group's creator)."""
    max_turns: int = Field(default=40, ge=1, le=10_000)
    turn_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds the agent holding the turn has before the hub passes it on."""
    task_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds a task may stay unfinished before the hub marks it failed."""
    max_silent_turns: int = Field(default=3, ge=1, le=SILENT_TURNS_MAX)
    """Turn timeouts in a row after which the hub ends the conversation (see `Limits`)."""
    checker: str | None = Field(default=None, pattern=ID_PATTERN)
    content_schema: dict[str, Any] | None = None
    links: dict[str, list[str]] | None = Field(default=None, max_length=LINKS_MAX)
    voting_rule: VotingRule = "plurality"
    open_execute: bool = False

    @property
    def limits(self) -> Limits:
        return Limits(
            max_turns=self.max_turns,
            turn_timeout=self.turn_timeout,
            task_timeout=self.task_timeout,
            max_silent_turns=self.max_silent_turns,
        )

    def rules(self) -> Rules:
        links = None
        if self.links is not None:
            if any(len(v) > LINKS_MAX for v in self.links.values()):
                raise InvalidConversation(f"links: at most {LINKS_MAX} links per member")
            links = {k: tuple(dict.fromkeys(v)) for k, v in self.links.items()}
        schema = None if self.content_schema is None else checked_schema(self.content_schema)
        return Rules(
            checker=self.checker,
            content_schema=schema,
            links=links,
            voting_rule=self.voting_rule,
            open_execute=self.open_execute,
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
        group_id,
        members,
        initiator=settings.initiator,
        limits=settings.limits,
        now=created_at,
        protocol=settings.protocol,
        rules=settings.rules(),
    )
