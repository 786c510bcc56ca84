"""Property tests: over random games, `apply` accepts a message iff `legal_moves` permits it.

Every group protocol (and "ioa" with a checker, and with links) is played the same way.

Each example plays up to 40 steps. A step is either a move picked from the exhaustive enumeration
of some member's legal moves (so games get deep) or a random message from a universe that mixes
members, a stranger, the hub, unknown task ids and every message type. After every step the
state's invariants hold; at the end, replaying the accepted messages rebuilds the same state.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols import (
    HUB_SENDER,
    AsyncTaskAssignment,
    Chat,
    Conclude,
    Conclusion,
    ConversationState,
    Discussion,
    Envelope,
    LegalMoves,
    Limits,
    Pause,
    Payload,
    ProtocolError,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
    Timeout,
    apply,
    expire,
    legal_moves,
    replay,
    start,
)
from protocols.acts import (
    Acceptance,
    Award,
    Ballot,
    Bid,
    CallForProposals,
    CheckResult,
    Execute,
    Objection,
    PassTurn,
    Proceed,
    Proposal,
    Refuse,
)
from protocols.conversation import Rules
from protocols.conversation.state import invariant_violations
from tests.protocols.kit import PLAN, enumerate_moves

MEMBERS = ("alice", "bob", "carol")
SENDERS = (*MEMBERS, "mallory", HUB_SENDER)
TASK_IDS = ("t1", "t2", "t3", "ghost")
PROPOSAL_IDS = ("p1", "p2", "p3", "ghost")
RING = {"alice": ("bob",), "bob": ("carol",), "carol": ("alice",)}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "ioa": ("ioa", {}),
    "ioa+checker": ("ioa", {"checker": "carol"}),
    "ioa+links": ("ioa", {"links": RING}),
    "dialectic": ("dialectic", {}),
    "dialectic+checker": ("dialectic", {"checker": "bob"}),
    "contract_net": ("contract_net", {}),
    "contract_net+links": ("contract_net", {"links": {"alice": ("carol",)}}),
    "voting:plurality": ("voting", {"voting_rule": "plurality"}),
    "voting:majority": ("voting", {"voting_rule": "majority"}),
    "voting:borda": ("voting", {"voting_rule": "borda"}),
    "voting:unanimity": ("voting", {"voting_rule": "unanimity"}),
}


@st.composite
def random_message(draw: st.DrawFn, state: ConversationState) -> tuple[str, Payload, list[str]]:
    sender = draw(st.sampled_from(SENDERS))
    to = draw(st.lists(st.sampled_from((*MEMBERS, "mallory")), max_size=4))
    task_id = draw(st.sampled_from((*TASK_IDS, f"t{len(state.tasks) + 1}")))
    pid = draw(st.sampled_from((*PROPOSAL_IDS, f"p{len(state.proposals) + 1}")))
    payload: Payload = draw(
        st.sampled_from(
            [
                Proposal(proposal_id=pid, content=PLAN),
                Proposal(proposal_id=pid, content={"plan": 3}),
                Objection(proposal_id=pid, reason="r"),
                Acceptance(proposal_id=pid),
                CheckResult(proposal_id=pid, passed=draw(st.booleans())),
                Conclude(proposal_id=pid),
                Conclusion(text="c", proposal_id=pid),
                Proceed(text="p"),
                Execute(proposal_id=pid, content=PLAN),
                CallForProposals(description="task"),
                Bid(cost=1.0, content=PLAN),
                Refuse(),
                Award(task_id=task_id, description="x"),
                PassTurn(),
                Ballot(proposal_id=pid),
                Ballot(ranking=[pid]),
                Discussion(text="d"),
                SyncTaskAssignment(task_id=task_id, description="x"),
                AsyncTaskAssignment(task_id=task_id, description="x"),
                Pause(task_ids=draw(st.lists(st.sampled_from(TASK_IDS), min_size=1, max_size=3))),
                Conclude(),
                Conclusion(text="c"),
                TaskProgress(task_id=task_id, text="p"),
                TaskResult(task_id=task_id, result="r"),
                Timeout(kind="turn", agent=draw(st.sampled_from(MEMBERS))),
                Timeout(kind="task", task_id=task_id),
                Chat(text="free"),
            ]
        )
    )
    return sender, payload, to


def _accepted(state: ConversationState, message: Envelope) -> ConversationState | None:
    try:
        return apply(state, message)
    except ProtocolError:
        return None


limits = st.builds(
    Limits,
    max_turns=st.integers(1, 8),
    turn_timeout=st.none() | st.floats(5, 30),
    task_timeout=st.none() | st.floats(10, 60),
    max_silent_turns=st.integers(1, 4),
)


SCHEMA = {
    "type": "object",
    "properties": {"plan": {"type": "string"}},
    "required": ["plan"],
    "additionalProperties": False,
}


def _start(config: str, limits: Limits) -> ConversationState:
    protocol, rules = CONFIGS[config]
    return start(
        "g",
        list(MEMBERS),
        limits=limits,
        protocol=protocol,
        rules=Rules(content_schema=SCHEMA, **rules),
    )


@pytest.mark.parametrize("config", CONFIGS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limits=limits, data=st.data())
def test_apply_accepts_exactly_the_legal_moves(
    config: str, limits: Limits, data: st.DataObject
) -> None:
    initial = _start(config, limits)
    state, now, log = initial, 0.0, []
    for _ in range(40):
        now += data.draw(st.floats(0, 20))
        if data.draw(st.booleans()):
            state, timeouts = expire(state, now)
            log += timeouts
            assert state.due(now) == []
        if data.draw(st.booleans()):
            agent = data.draw(st.sampled_from(MEMBERS))
            options = list(enumerate_moves(legal_moves(state, agent)))
            if not options:
                continue
            payload, to = data.draw(st.sampled_from(options))
            sender = agent
        else:
            sender, payload, to = data.draw(random_message(state))
        message = Envelope(group="g", sender=sender, to=to, payload=payload, ts=now)
        after = _accepted(state, message)
        if sender == HUB_SENDER:
            clean_to = len(set(to)) == len(to) and set(to) <= set(MEMBERS)
            assert (after is not None) == (payload in state.due(now) and clean_to)
        else:
            assert (after is not None) == legal_moves(state, sender).permits(payload, to)
        if after is not None:
            state = after
            log.append(message)
            assert invariant_violations(state) == []
        if state.over:
            break
    assert replay(initial, log) == state
    assert ConversationState.from_dict(state.to_dict()) == state
    for agent in MEMBERS:
        legal = legal_moves(state, agent)
        assert LegalMoves.from_dict(json.loads(json.dumps(legal.to_dict()))) == legal


@pytest.mark.parametrize("config", CONFIGS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limits=limits, data=st.data())
def test_every_enumerated_legal_move_applies(
    config: str, limits: Limits, data: st.DataObject
) -> None:
    state, now = _start(config, limits), 0.0
    for _ in range(25):
        now += data.draw(st.floats(0, 20))
        options = []
        for agent in MEMBERS:
            for payload, to in enumerate_moves(legal_moves(state, agent)):
                message = Envelope(group="g", sender=agent, to=to, payload=payload, ts=now)
                after = apply(state, message)
                assert invariant_violations(after) == []
                options.append(after)
        if not options:
            assert state.over or state.phase.value in ("awaiting", "paused", "expiring")
            state, timeouts = expire(state, now + 1e6)
            if not timeouts:
                break
            continue
        state = data.draw(st.sampled_from(options))
