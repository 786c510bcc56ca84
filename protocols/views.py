"""What the hub's REST API answers about agents, discovery and goals, as typed models.

The client parses every answer into one of these (or `frames.GroupInfo` for a group), so no
`dict[str, Any]` crosses from the wire into an agent. Unknown fields are ignored: a newer hub may
add one without breaking an older client.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocols.card import AgentCard
from protocols.envelope import Envelope

__all__ = [
    "AgentInfo",
    "DiscoveryHit",
    "GoalDone",
    "GoalEvent",
    "GoalMessage",
    "GoalStatus",
    "Registration",
]


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Registration(_View):
    """`POST /v1/agents`: the new agent's id and the token it authenticates with."""

    agent_id: str
    token: str
    card: AgentCard


class AgentInfo(_View):
    """`GET /v1/agents/{id}`: an agent as the registry knows it."""

    id: str
    card: AgentCard
    online: bool
    """Connected now, or heard from within the hub's presence window."""
    last_seen: float | None = None
    created_at: float


class DiscoveryHit(_View):
    """One agent found by `GET /v1/discover`, best matches first."""

    agent_id: str
    score: float
    """BM25 score of the card against the query; higher is better."""
    matched_terms: list[str] = Field(default_factory=list)
    matched_tags: list[str] = Field(default_factory=list)
    card: AgentCard
    online: bool


GoalState = Literal["running", "done", "failed"]


class GoalStatus(_View):
    """`GET /v1/goals/{id}`: a goal and, once its team has concluded, the conclusion."""

    id: str
    goal: str
    """The goal's text."""
    status: GoalState
    group: str
    """The top-level group working on it."""
    conclusion: str | None = None
    created_at: float
    updated_at: float | None = None


class GoalMessage(_View):
    """A goal's event stream: one message of the goal's groups."""

    kind: Literal["message"] = "message"
    envelope: Envelope


class GoalDone(_View):
    """A goal's event stream: the last event, with the goal's final status."""

    kind: Literal["done"] = "done"
    goal: GoalStatus


GoalEvent = Annotated[GoalMessage | GoalDone, Field(discriminator="kind")]
