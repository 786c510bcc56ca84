"""An agent and a group as the hub holds them in memory, and how each is made.

The registry (`ioa.hub.registry`) indexes these entries and keeps them in step with the store;
everything else in the hub (routing, delivery, catching up, the dashboard, A2A) reads them. They
live apart so that a module that only reads an agent or a group depends on what one is, not on
the registry's loading, restoring and reading through. A group also carries its hot-path state:
its sequence head, the ids it has seen, what is pending here, how far other hubs are ahead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ioa.hub.policy import GroupPolicy
from ioa.hub.seen import SeenIds
from ioa.store import AgentRecord
from protocols import AgentCard
from protocols.frames import GroupInfo
from protocols.text import scrub

__all__ = ["Agent", "Group", "hash_token", "new_agent_id", "new_group_id", "stored_agent"]

log = logging.getLogger("ioa.hub")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_agent_id() -> str:
    return "a-" + uuid.uuid4().hex[:16]


def new_group_id() -> str:
    return "g-" + uuid.uuid4().hex[:16]


@dataclass(slots=True)
class Agent:
    id: str
    card: AgentCard
    token_hash: str
    created_at: float
    last_seen: float | None = None
    embedding: bytes | None = None
    """The card's field vectors as `ioa.hub.embeddings.pack` stores them, or None until it is
    embedded."""
    embedding_model: str | None = None


@dataclass(slots=True)
class Group:
    id: str
    name: str
    created_by: str
    created_at: float
    members: list[str]
    protocol: str
    meta: dict[str, Any]
    policy: GroupPolicy
    head: int = 0
    """The last sequence number assigned."""
    seen: SeenIds = field(default_factory=SeenIds)
    """The ids of the group's messages, so that a resend is acked, never stored twice."""
    restored: bool = True
    """False until `seen` and the policy's state are rebuilt from the store after a start."""
    pending: int = 0
    """Messages of this group admitted here and not yet committed or refused."""
    behind: int = 0
    """The highest head another hub announced; above `head`, this hub must catch up."""
    syncing: asyncio.Future[None] | None = None
    """Set while the group catches up from the store; admissions wait for it."""
    member_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.member_set = frozenset(self.members)

    def info(self) -> GroupInfo:
        """The group as its members see it on the wire."""
        return GroupInfo(
            id=self.id,
            name=self.name,
            created_by=self.created_by,
            created_at=self.created_at,
            members=self.members,
            protocol=self.protocol,
            meta=self.meta,
            head=self.head,
        )


def _stored_card(agent_id: str, card_json: str) -> AgentCard:
    """A stored card. One stored before the hub refused control characters in text shown to
    people (`protocols.text`) is scrubbed on load, so an older store still starts."""
    try:
        return AgentCard.model_validate_json(card_json)
    except ValidationError:
        log.warning("agent %s: stored card had control characters; they are replaced", agent_id)
        return AgentCard.model_validate(_scrubbed(json.loads(card_json)))


def stored_agent(rec: AgentRecord) -> Agent:
    """The agent a stored row describes."""
    agent = Agent(
        rec.id, _stored_card(rec.id, rec.card_json), rec.token_hash, rec.created_at, rec.last_seen
    )
    agent.embedding, agent.embedding_model = rec.embedding, rec.embedding_model
    return agent


def _scrubbed(data: Any) -> Any:
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, list):
        return [_scrubbed(item) for item in data]
    if isinstance(data, dict):
        return {key: _scrubbed(value) for key, value in data.items()}
    return data
