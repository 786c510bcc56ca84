"""Property tests: over random games, `apply` accepts a message iff `legal_moves` permits it.

Each example plays up to 40 steps. A step is either a move picked from the exhaustive enumeration
of some member's legal moves (so games get deep) or a random message from a universe that mixes
members, a stranger, the hub, unknown task ids and every message type. After every step the
state's invariants hold; at the end, replaying the accepted messages rebuilds the same state.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

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
from protocols.conversation.state import invariant_violations

MEMBERS = ("alice", "bob", "carol")
SENDERS = (*MEMBERS, "mallory", HUB_SENDER)
TASK_IDS = ("t1", "t2", "t3", "ghost")


def enumerate_moves(legal: LegalMoves) -> Iterator[tuple[Payload, list[str]]]:
    """Every message `legal` allows, up to the choice of free text (exhaustive over ids)."""
    for spec in legal.moves:
        tos = [
            list(c)
            for k in range(spec.min_to, spec.max_to + 1)
            for c in itertools.combinations(spec.addressees, k)
        ]
        for to in tos:
            if spec.type == "discussion":
                yield Discussion(text="d"), to
            elif spec.type == "sync_task_assign":
                yield SyncTaskAssignment(task_id=legal.new_task_id, description="x"), to
            elif spec.type == "async_task_assign":
                yield AsyncTaskAssignment(task_id=legal.new_task_id, description="x"), to
            elif spec.type == "pause":
                for k in range(1, len(spec.task_ids) + 1):
                    for ids in itertools.combinations(spec.task_ids, k):
                        yield Pause(task_ids=[*ids, "ghost"]), to
            elif spec.type == "conclude":
                yield Conclude(), to
            elif spec.type == "conclusion":
                yield Conclusion(text="c"), to
            elif spec.type == "task_progress":
                for task_id in spec.task_ids:
                    yield TaskProgress(task_id=task_id, text="p"), to
            elif spec.type == "task_result":
                for task_id in spec.task_ids:
                    for status in ("done", "failed"):
                        yield TaskResult(task_id=task_id, status=status, result="r"), to
            else:
                raise AssertionError(f"no enumeration for {spec.type}")


@st.composite
def random_message(draw: st.DrawFn, state: ConversationState) -> tuple[str, Payload, list[str]]:
    sender = draw(st.sampled_from(SENDERS))
    to = draw(st.lists(st.sampled_from((*MEMBERS, "mallory")), max_size=4))
    task_id = draw(st.sampled_from((*TASK_IDS, f"t{len(state.tasks) + 1}")))
    payload: Payload = draw(
        st.sampled_from(
            [
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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limits=limits, data=st.data())
def test_apply_accepts_exactly_the_legal_moves(limits: Limits, data: st.DataObject) -> None:
    initial = start("g", list(MEMBERS), limits=limits)
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limits=limits, data=st.data())
def test_every_enumerated_legal_move_applies(limits: Limits, data: st.DataObject) -> None:
    state, now = start("g", list(MEMBERS), limits=limits), 0.0
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
