"""Walk the whole transition table: every message type, in every phase, from every kind of sender.

The expectations here are written out by hand from the protocol's rules (not derived from
`TRANSITIONS`), so a change to the table that changes behaviour fails this test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocols import (
    HUB_SENDER,
    TRANSITIONS,
    Conclusion,
    ConversationState,
    Envelope,
    Payload,
    Phase,
    ProtocolError,
    Timeout,
    apply,
    legal_moves,
)
from tests.protocols.kit import (
    async_,
    conclude,
    conclusion,
    env,
    new,
    pause,
    progress,
    result,
    run,
    say,
    sync,
)

SPEAKER, ASSIGNEE, BYSTANDER, STRANGER = "alice", "carol", "bob", "mallory"
ROLES = {
    "speaker": SPEAKER,
    "assignee": ASSIGNEE,
    "bystander": BYSTANDER,
    "stranger": STRANGER,
    "hub": HUB_SENDER,
}
LATE = 1000.0
"""A time at which every deadline of the fixtures has passed."""


def _fixture(phase: str) -> ConversationState:
    """A state in `phase` where alice holds (or will get back) the turn and carol owes task t1;
    in the expiring and expired phases, the group fell silent after that assignment."""
    limits = {"turn_timeout": 10.0, "task_timeout": 100.0}
    if phase == "open_at_limit":
        return run(new(max_turns=2, **limits), env(SPEAKER, async_("t1"), [ASSIGNEE]))
    if phase in ("expiring", "expired"):
        state = _fall_silent(run(new(**limits), env(SPEAKER, async_("t1"), [ASSIGNEE])))
        ends = Envelope(group=state.group, sender=HUB_SENDER, payload=state.due(LATE)[0])
        return run(state, ends) if phase == "expired" else state
    state = new(**limits)
    first = {"awaiting": sync("t1")}.get(phase, async_("t1"))
    state = run(state, env(SPEAKER, first, [ASSIGNEE]))
    then: dict[str, list[Envelope]] = {
        "open": [],
        "awaiting": [],
        "paused": [env(SPEAKER, pause("t1"))],
        "concluding": [env(SPEAKER, conclude())],
        "concluded": [env(SPEAKER, conclude()), env(SPEAKER, conclusion())],
    }
    return run(state, *then[phase])


def _fall_silent(state: ConversationState) -> ConversationState:
    """Let the hub's clock run, one owed message at a time, until the members have run out."""
    now = 0.0
    while state.phase is not Phase.EXPIRING:
        now += 10.0
        for timeout in state.due(now)[:1]:
            clock = Envelope(group=state.group, sender=HUB_SENDER, payload=timeout, ts=now)
            state = run(state, clock)
    return state


def _payload(message_type: str, state: ConversationState) -> tuple[Payload, list[str], float]:
    """A message of this type that the rules would accept from its actor, whenever they may send
    it: the hub's timeout or conclusion is the one it owes, if it owes one."""
    owed = state.due(LATE)
    makers: dict[str, Callable[[], tuple[Payload, list[str], float]]] = {
        "discussion": lambda: (say(), [BYSTANDER], 0.0),
        "sync_task_assign": lambda: (sync("t9"), [BYSTANDER], 0.0),
        "async_task_assign": lambda: (async_("t9"), [BYSTANDER], 0.0),
        "pause": lambda: (pause("t1"), [], 0.0),
        "conclude": lambda: (conclude(), [], 0.0),
        "conclusion": lambda: (
            next((p for p in owed if isinstance(p, Conclusion)), conclusion()),
            [],
            0.0,
        ),
        "task_progress": lambda: (progress("t1"), [], 0.0),
        "task_result": lambda: (result("t1"), [], 0.0),
        "timeout": lambda: (
            next((p for p in owed if isinstance(p, Timeout)), Timeout(kind="turn", agent=SPEAKER)),
            [],
            LATE,
        ),
    }
    return makers[message_type]()


PHASES = [
    "open",
    "open_at_limit",
    "awaiting",
    "paused",
    "concluding",
    "expiring",
    "concluded",
    "expired",
]
TYPES = [
    "discussion",
    "sync_task_assign",
    "async_task_assign",
    "pause",
    "conclude",
    "conclusion",
    "task_progress",
    "task_result",
    "timeout",
]
TURN = {"discussion", "sync_task_assign", "async_task_assign", "pause", "conclude"}
REPORTS = {"task_progress", "task_result"}

# phase → role → the message types that role may send there, and the phase each one leads to.
LEGAL: dict[str, dict[str, dict[str, str]]] = {
    "open": {
        "speaker": {
            "discussion": "open",
            "sync_task_assign": "awaiting",
            "async_task_assign": "open",
            "pause": "paused",
            "conclude": "concluding",
        },
        "assignee": {"task_progress": "open", "task_result": "open"},
        "hub": {"timeout": "open"},
    },
    "open_at_limit": {
        "speaker": {"conclude": "concluding"},
        "assignee": {"task_progress": "open", "task_result": "open"},
        "hub": {"timeout": "expiring"},
    },
    "awaiting": {
        "assignee": {"task_progress": "awaiting", "task_result": "open"},
        "hub": {"timeout": "open"},
    },
    "paused": {
        "assignee": {"task_progress": "paused", "task_result": "open"},
        "hub": {"timeout": "open"},
    },
    "concluding": {
        "speaker": {"conclusion": "concluded"},
        "assignee": {"task_progress": "concluding", "task_result": "concluding"},
        "hub": {"timeout": "concluding"},
    },
    "expiring": {"hub": {"conclusion": "expired"}},
    "concluded": {},
    "expired": {},
}


def _expected_error(phase: str, role: str, message_type: str) -> str:
    """The refusal code for an illegal combination, by the documented precedence."""
    if role == "stranger":
        return "not_a_member"
    if phase in ("concluded", "expired") or (phase == "expiring" and role != "hub"):
        return "conversation_over"
    if role == "hub" or message_type == "timeout":
        return "illegal_move"  # every move the hub may make is in `LEGAL`
    if message_type in REPORTS:
        return "not_assignee"
    if message_type in TURN:
        if role == "speaker" and phase == "open_at_limit":
            return "turn_limit"
        if role == "speaker" and phase == "concluding":
            return "illegal_move"
        return "not_your_turn"
    if message_type == "conclusion" and role == "speaker" and phase.startswith("open"):
        return "illegal_move"
    return "not_your_turn"


CASES = [(p, r, t) for p in PHASES for r in ROLES for t in TYPES]


STRUCTURED = {"proposal", "objection", "acceptance", "check_result"}
"""Rows walked in `test_structured_acts` (they need proposals and a checker)."""
OTHER_PROTOCOLS = {Phase.CHECKING, Phase.PROPOSING, Phase.BALLOTING, Phase.BIDDING}
"""Phases walked with their protocols' tables (`test_dialectic`, `test_contract_net`, ...)."""


def test_the_walk_covers_every_row_of_the_table() -> None:
    assert set(TYPES) | STRUCTURED == set(TRANSITIONS)
    assert {Phase(p) for p in PHASES if p != "open_at_limit"} == set(Phase) - OTHER_PROTOCOLS


@pytest.mark.parametrize(("phase", "role", "message_type"), CASES)
def test_transition(phase: str, role: str, message_type: str) -> None:
    state = _fixture(phase)
    payload, to, ts = _payload(message_type, state)
    sender = ROLES[role]
    message = Envelope(group=state.group, sender=sender, to=to, payload=payload, ts=ts)
    leads_to = LEGAL[phase].get(role, {}).get(message_type)
    if role != "hub":
        assert (message_type in legal_moves(state, sender).types) == (leads_to is not None)
    if leads_to is None:
        with pytest.raises(ProtocolError) as refused:
            apply(state, message)
        assert refused.value.code == _expected_error(phase, role, message_type)
    else:
        assert apply(state, message).phase == Phase(leads_to)
