"""What the store keeps: plain dataclasses, independent of any database."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class AgentRecord:
    id: str
    card_json: str
    """The agent's `AgentCard` as JSON, exactly as the hub accepted it."""
    token_hash: str
    """sha256 of the agent's bearer token; the token itself is never stored."""
    created_at: float
    last_seen: float | None = None
    embedding: bytes | None = None
    """The card's field vectors (`ioa.hub.embeddings.pack`: a count, then unit rows as
    little-endian float32), or None until it is embedded."""
    embedding_model: str | None = None
    """Which embedding model and layout made `embedding` ("model+fields"); vectors of another
    model or layout are never mixed in."""


@dataclass(slots=True)
class GroupRecord:
    id: str
    name: str
    created_by: str
    created_at: float
    members: list[str] = field(default_factory=list)
    protocol: str = "chat"
    """Which conversation rules the hub enforces in this group ("chat": none beyond membership)."""
    meta_json: str = "{}"
    """Protocol settings and context (goal, limits...), as JSON."""


@dataclass(slots=True)
class StoredMessage:
    group_id: str
    seq: int
    id: str
    sender: str
    type: str
    ts: float
    body: str
    """The whole `Envelope` as JSON, seq and ts included: delivered verbatim on replay."""


@dataclass(slots=True)
class GoalRecord:
    id: str
    text: str
    creator: str
    group_id: str
    """The group whose conclusion answers the goal."""
    created_at: float
    status: str = "running"
    """running, done or failed."""
    conclusion: str | None = None
    updated_at: float | None = None
