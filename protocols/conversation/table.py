"""The transition table of the "ioa" protocol: for each message type, who may send it, when, to
whom, about which task.

This table is the protocol. `legal_moves` reads it to tell an agent what it may send; `apply` reads
it to judge what an agent did send; the effect of each accepted move is one small function in
`effects`. A new rule is a new row here, not a new branch somewhere. The other group protocols
(`dialectic`, `contract_net`, `voting`) are tables of the same `Rule`s in their own modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from protocols.conversation.state import ACTIVE_PHASES, Phase


class Actor(StrEnum):
    """Who may send a message type."""

    SPEAKER = "speaker"
    """The member holding the turn, in the row's phases."""
    CONCLUDER = "concluder"
    """Who owes the conclusion (the `speaker`): the member that concluded, in phase CONCLUDING;
    the hub itself, in phase EXPIRING."""
    ASSIGNEE = "assignee"
    """An assignee of the named task that has not reported its result yet, while members may
    move (not once the conversation is expiring)."""
    HUB = "hub"
    """The hub itself (`HUB_SENDER`), when its clock says a deadline has passed."""
    CHECKER = "checker"
    """The group's checker (`Rules.checker`), in phase CHECKING, where it holds the turn."""


class Addressing(StrEnum):
    """What the envelope's `to` may hold; ids are always distinct members the sender is linked
    to (`Rules.links`), or the sender itself."""

    NEXT_SPEAKER = "next_speaker"
    """0 or 1 member: who takes the next turn. Empty, or the sender itself: round robin."""
    ASSIGNEES = "assignees"
    """1..n members: the task's assignees."""
    FREE = "free"
    """0..n members, for information only: the move's effect does not depend on them."""
    OTHERS = "others"
    """1..n members other than the sender (contract net: the contractors called)."""
    ONE = "one"
    """Exactly one member other than the sender (contract net: the awardee, a bidder)."""


class TaskRef(StrEnum):
    """Which task ids a message type carries."""

    NONE = "none"
    NEW = "new"
    """`task_id`: a fresh id, not used before in the group."""
    OWN = "own"
    """`task_id`: a task the sender is assignee of and has not reported on yet."""
    KNOWN = "known"
    """`task_ids`: at least one task of the group; unknown ids are ignored, finished ones are
    already satisfied."""


@dataclass(frozen=True)
class Rule:
    """One row of a transition table."""

    phases: frozenset[Phase]
    actor: Actor
    addressing: Addressing
    task: TaskRef
    takes_turn: bool
    """It uses up the sender's turn and breaks a silence (`apply` does both for every such
    row); when `capped`, it also counts against `Limits.max_turns`."""
    at_turn_limit: bool
    """Still allowed to the speaker once the turn cap is reached."""
    then: str
    """Where it leads, in words (for documentation and error messages)."""
    capped: bool = True
    """A turn that counts against `Limits.max_turns` (bids and ballots do not: those protocols
    bound them by their structure, one per member)."""


_OPEN = frozenset({Phase.OPEN})
_CHECKING = frozenset({Phase.CHECKING})
_CLOSING = frozenset({Phase.CONCLUDING, Phase.EXPIRING})
_ACTIVE = ACTIVE_PHASES
_S, _C, _A, _H, _K = Actor.SPEAKER, Actor.CONCLUDER, Actor.ASSIGNEE, Actor.HUB, Actor.CHECKER
_NEXT, _ASSIGN, _FREE = Addressing.NEXT_SPEAKER, Addressing.ASSIGNEES, Addressing.FREE
_NONE, _NEW, _OWN, _KNOWN = TaskRef.NONE, TaskRef.NEW, TaskRef.OWN, TaskRef.KNOWN

CONCLUSION_RULE = Rule(_CLOSING, _C, _FREE, _NONE, False, True,
    "concluded, or expired if the hub sent it (both terminal): unfinished tasks are canceled")  # fmt: skip
TIMEOUT_RULE = Rule(_ACTIVE, _H, _FREE, _NONE, False, True,
    "turn: the turn passes on (expiring once the members ran out); task: it fails")  # fmt: skip
CHECK_RULE = Rule(_CHECKING, _K, _FREE, _NONE, False, True,
    "the plan's check is recorded; the turn goes to whoever was next")  # fmt: skip
PROGRESS_RULE = Rule(_ACTIVE, _A, _FREE, _OWN, False, True,
    "unchanged phase: the task is running")  # fmt: skip
RESULT_RULE = Rule(_ACTIVE, _A, _FREE, _OWN, False, True,
    "unchanged phase, unless it finishes the last task waited for: the turn resumes")  # fmt: skip

# Message type → its rule. A type not in the table (e.g. `chat`) is never legal here.
# fmt: off
TRANSITIONS: MappingProxyType[str, Rule] = MappingProxyType({
    #                         phases       actor addressing task    turn   at cap
    "discussion":        Rule(_OPEN,       _S,   _NEXT,     _NONE,  True,  False,
        "open: the named member speaks next, else the next member round robin"),
    "proposal":          Rule(_OPEN,       _S,   _NEXT,     _NONE,  True,  False,
        "like discussion; with a checker, checking first: the checker owes its check"),
    "objection":         Rule(_OPEN,       _S,   _NEXT,     _NONE,  True,  False,
        "like discussion: the objection is recorded on the proposal"),
    "acceptance":        Rule(_OPEN,       _S,   _NEXT,     _NONE,  True,  False,
        "like discussion: the acceptance is recorded on the proposal"),
    "sync_task_assign":  Rule(_OPEN,       _S,   _ASSIGN,   _NEW,   True,  False,
        "awaiting: silence until every assignee reported, then the assigner speaks"),
    "async_task_assign": Rule(_OPEN,       _S,   _ASSIGN,   _NEW,   True,  False,
        "open: the assigner keeps the turn while the assignees work"),
    "pause":             Rule(_OPEN,       _S,   _FREE,     _KNOWN, True,  False,
        "paused: silence until the named unfinished tasks finish, then the pauser speaks"),
    "conclude":          Rule(_OPEN,       _S,   _FREE,     _NONE,  True,  True,
        "concluding: the concluder must send the conclusion"),
    "check_result":      CHECK_RULE,
    "conclusion":        CONCLUSION_RULE,
    "task_progress":     PROGRESS_RULE,
    "task_result":       RESULT_RULE,
    "timeout":           TIMEOUT_RULE,
})
# fmt: on

TURN_TYPES = frozenset(t for t, r in TRANSITIONS.items() if r.actor is Actor.SPEAKER)
"""Types that take the turn in "ioa": only the speaker sends them, and only in phase OPEN."""
