"""What one agent may send now (`LegalMoves`), as plain data an agent can choose from.

Every finite choice is listed: the addressees (after the group's `links`), the task ids, the
proposal ids a move may reference, so an agent can pick among them by likelihood or decode under a
grammar (`protocols.moves`). `LegalMoves.permits` accepts exactly what the hub's `apply` accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from protocols.acts import Award, Ballot, Bid, Execute, Proposal
from protocols.conversation.content import content_error
from protocols.conversation.state import Phase
from protocols.errors import InvalidMove
from protocols.messages import (
    AsyncTaskAssignment,
    Pause,
    Payload,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
)


@dataclass(frozen=True)
class MoveSpec:
    """One message type an agent may send now, with the values its fields may take."""

    type: str
    addressees: tuple[str, ...]
    """Ids the envelope's `to` may name (distinct), in roster order."""
    min_to: int
    max_to: int
    task_ids: tuple[str, ...] = ()
    """`task_progress`/`task_result`: the tasks it may report on. `pause`: the group's tasks; a
    pause must name at least one of them (other ids are ignored)."""
    waitable: tuple[str, ...] = ()
    """`pause` only: the unfinished tasks among `task_ids`, the ones worth waiting for."""
    proposal_ids: tuple[str, ...] = ()
    """The proposals this move may reference: to accept or object to, to check, to conclude
    with, to vote for (a ranking draws from them)."""
    proposal_required: bool = False
    """The move must name one of `proposal_ids`; when False it may name one (if any) or none."""
    content: bool = False
    """The move carries a plan (`content`), validated against `LegalMoves.content_schema`."""
    ranked: bool = False
    """`ballot` under borda: a `ranking` of `proposal_ids` instead of one `proposal_id`."""
    turn: bool = True
    """A move of whoever holds the turn (chosen by a brain), as opposed to a task report."""


@dataclass(frozen=True)
class LegalMoves:
    """Exactly what one agent may send in one state; `apply` accepts a message iff `permits` does.

    Assignments need a fresh task id: any id not in `taken_task_ids` is legal, and `new_task_id`
    is one ready to use; likewise `new_proposal_id` for a proposal (or a dialectic `execute`).
    A message type missing from `moves` is refused whatever its fields.
    """

    agent: str
    group: str
    phase: Phase
    speaker: str | None
    """Who holds the turn (or gets it back when the current wait ends)."""
    at_turn_limit: bool
    new_task_id: str
    taken_task_ids: tuple[str, ...]
    moves: tuple[MoveSpec, ...]
    protocol: str = "ioa"
    new_proposal_id: str = "p1"
    taken_proposal_ids: tuple[str, ...] = ()
    content_schema: dict[str, Any] | None = None
    """The JSON Schema of a plan's `content` in this group (None: any JSON object)."""

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(m.type for m in self.moves)

    @property
    def may_speak(self) -> bool:
        """True when the agent holds the turn (it may discuss, propose, assign, bid, vote,
        check, conclude...), as opposed to only reporting on its tasks or nothing at all."""
        return any(m.turn for m in self.moves)

    def spec(self, message_type: str) -> MoveSpec | None:
        return next((m for m in self.moves if m.type == message_type), None)

    def permits(self, payload: Payload, to: Sequence[str] = ()) -> bool:
        """Whether a message with this payload and these addressees would be accepted now."""
        spec = self.spec(payload.type)
        if spec is None or len(set(to)) != len(to) or not set(to) <= set(spec.addressees):
            return False
        if not spec.min_to <= len(to) <= spec.max_to:
            return False
        if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment | Award):
            return payload.task_id not in self.taken_task_ids
        if isinstance(payload, TaskProgress | TaskResult):
            return payload.task_id in spec.task_ids
        if isinstance(payload, Pause):
            return not set(payload.task_ids).isdisjoint(spec.task_ids)
        if (
            isinstance(payload, Proposal | Execute)
            and payload.proposal_id in self.taken_proposal_ids
        ):
            return False
        if isinstance(payload, Proposal | Execute | Bid):
            return content_error(self.content_schema, payload.content) is None
        if isinstance(payload, Ballot):
            if spec.ranked:
                ranking = payload.ranking
                return (
                    payload.proposal_id is None
                    and bool(ranking)
                    and len(set(ranking)) == len(ranking)
                    and set(ranking) <= set(spec.proposal_ids)
                )
            return not payload.ranking and payload.proposal_id in spec.proposal_ids
        proposal_id = getattr(payload, "proposal_id", None)
        if spec.proposal_required or proposal_id is not None:
            return proposal_id in spec.proposal_ids
        return True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, e.g. for a hub endpoint serving moves to remote agents."""
        data: dict[str, Any] = _legal_adapter().dump_python(self, mode="json")
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LegalMoves:
        """Parse `to_dict` output; raises `InvalidMove` if it is not a `LegalMoves`."""
        try:
            return _legal_adapter().validate_python(data)
        except ValidationError as exc:
            raise InvalidMove(f"not a description of legal moves: {exc}") from exc


@cache
def _legal_adapter() -> TypeAdapter[LegalMoves]:
    """Built at first use: building it at import cost every process that never needs it."""
    return TypeAdapter(LegalMoves)
