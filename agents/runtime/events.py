"""What wakes an agent's loop: one tagged union of events, each handled by one run of the graph.

Events travel through the checkpointed memory as JSON (`EVENT` (de)serialises them), so a run
interrupted by a crash is finished with the event it was handling.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agents.runtime.memory import JobState
from protocols import Envelope
from protocols.frames import GroupInfo
from protocols.usage import Usage

__all__ = ["EVENT", "Delivered", "Event", "JobChanged", "Joined", "Resync", "Spent", "Tick"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Delivered(_Event):
    """The hub delivered a message (the agent's own ones too, once acked)."""

    kind: Literal["envelope"] = "envelope"
    envelope: Envelope


class Joined(_Event):
    """The agent is a member of a group it may not know yet."""

    kind: Literal["joined"] = "joined"
    group: GroupInfo


class JobChanged(_Event):
    """Background work on a job moved on: delegated, or done with a result."""

    kind: Literal["job"] = "job"
    key: str
    state: JobState
    status: Literal["done", "failed"] | None = None
    result: str | None = None


class Spent(_Event):
    """Background work spent model calls for a group: its next message reports them."""

    kind: Literal["spent"] = "spent"
    group: str
    spends: Usage


class Resync(_Event):
    """The hub refused the agent's move: rebuild the group's replica from the hub."""

    kind: Literal["resync"] = "resync"
    group: str


class Tick(_Event):
    """Nothing happened, but look again (after a start: finished jobs may be owed)."""

    kind: Literal["tick"] = "tick"


Event = Annotated[
    Delivered | Joined | JobChanged | Spent | Resync | Tick, Field(discriminator="kind")
]
EVENT: TypeAdapter[Delivered | Joined | JobChanged | Spent | Resync | Tick] = TypeAdapter(Event)
