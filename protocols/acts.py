"""Structured speech acts: proposals with checkable content, and the moves of negotiation protocols.

Free text does not make a small model's talk useful; content the hub and a checker can judge does.
A `proposal` carries a plan (a JSON object: a joint plan, a task split) that the hub validates
against the group's `content_schema`; an `objection` and an `acceptance` reference a proposal by
id; only the group's `checker` sends a `check_result`, and a conclusion that carries a plan must
name a proposal whose latest check passed. The other classes are the moves of the selectable
group protocols (`protocols.conversation.registry`): RoCo's dialectic (`proceed`, `execute`),
contract net (`call_for_proposals`, `bid`, `refuse`, `award`) and voting (`pass`, `ballot`).

Imported by `protocols.messages`, so every class here is in the envelope's payload union.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from protocols.messages import ID_PATTERN, TEXT_MAX, Payload, _TaskAssignment
from protocols.values import BoundedJson

SHORT_TEXT = 300
"""Free text beside structured content stays short: the content is what counts."""
CONFLICT_MAX = 80
"""Characters of one conflict (a robot or object name, a check's reason)."""
LIST_MAX = 32
"""Conflicts, reasons, ranking entries: at most this many."""
COST_MAX = 1e9
"""The largest bid cost; costs are finite and non-negative."""


class Proposal(Payload):
    """A plan put to the group: `content` is validated against the group's `content_schema`."""

    type: Literal["proposal"] = "proposal"
    proposal_id: str = Field(pattern=ID_PATTERN)
    """Chosen by the proposer (`LegalMoves.new_proposal_id`); unique within the group."""
    content: BoundedJson
    """The plan itself: a joint plan, a task split, an answer; a JSON object."""
    text: str = Field(default="", max_length=SHORT_TEXT)


class Objection(Payload):
    """What conflicts in a proposal, and why."""

    type: Literal["objection"] = "objection"
    proposal_id: str = Field(pattern=ID_PATTERN)
    """An existing proposal of the group."""
    reason: str = Field(max_length=SHORT_TEXT)
    conflicts: list[Annotated[str, Field(max_length=CONFLICT_MAX)]] = Field(
        default_factory=list, max_length=LIST_MAX
    )
    """What conflicts: robot or object names, a check's reasons."""


class Acceptance(Payload):
    """The speaker agrees with a proposal."""

    type: Literal["acceptance"] = "acceptance"
    proposal_id: str = Field(pattern=ID_PATTERN)
    """An existing proposal of the group."""
    text: str = Field(default="", max_length=SHORT_TEXT)


class CheckResult(Payload):
    """The group's checker (meta `checker`) judged a proposal; only it sends this."""

    type: Literal["check_result"] = "check_result"
    proposal_id: str = Field(pattern=ID_PATTERN)
    """The proposal the checker owes a check for (`ConversationState.check_due`)."""
    passed: bool
    reasons: list[Annotated[str, Field(max_length=SHORT_TEXT)]] = Field(
        default_factory=list, max_length=LIST_MAX
    )
    """Why it failed (or notes)."""


class Proceed(Payload):
    """Dialectic: talk on without committing to a plan."""

    type: Literal["proceed"] = "proceed"
    text: str = Field(max_length=TEXT_MAX)


class Execute(Payload):
    """Dialectic: commit the group to a plan; it ends the conversation (after its check, when
    the group has a checker)."""

    type: Literal["execute"] = "execute"
    proposal_id: str = Field(pattern=ID_PATTERN)
    """A fresh id (`LegalMoves.new_proposal_id`): the plan is recorded as a proposal."""
    content: BoundedJson
    text: str = Field(default="", max_length=TEXT_MAX)


class CallForProposals(Payload):
    """Contract net: the manager describes a task; the addressees are the contractors asked."""

    type: Literal["call_for_proposals"] = "call_for_proposals"
    title: str = Field(default="", max_length=200)
    description: str = Field(max_length=TEXT_MAX)


class Bid(Payload):
    """Contract net: a contractor offers to do the task, at a cost, with a plan."""

    type: Literal["bid"] = "bid"
    cost: float = Field(ge=0, le=COST_MAX, allow_inf_nan=False)
    content: BoundedJson = Field(default_factory=dict)
    text: str = Field(default="", max_length=SHORT_TEXT)


class Refuse(Payload):
    """Contract net: a contractor declines the call."""

    type: Literal["refuse"] = "refuse"
    text: str = Field(default="", max_length=SHORT_TEXT)


class Award(_TaskAssignment):
    """Contract net: the manager hands the task to one bidder (the one addressee), who then owes
    a `task_result` (done, or failed) like any assignee."""

    type: Literal["award"] = "award"


class PassTurn(Payload):
    """Voting: the speaker makes no proposal this round."""

    type: Literal["pass"] = "pass"
    text: str = Field(default="", max_length=SHORT_TEXT)


class Ballot(Payload):
    """Voting: one vote. `proposal_id` under plurality, majority and unanimity; `ranking` (best
    first, distinct proposal ids, unranked ones score nothing) under borda."""

    type: Literal["ballot"] = "ballot"
    proposal_id: str | None = Field(default=None, pattern=ID_PATTERN)
    ranking: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, max_length=LIST_MAX
    )
