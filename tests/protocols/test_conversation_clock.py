"""Timeouts as pure functions of a given `now`, and a state that survives storage and replay."""

from __future__ import annotations

import json

import pytest

from protocols import (
    HUB_SENDER,
    ConversationState,
    Envelope,
    InvalidState,
    Phase,
    ProtocolError,
    Timeout,
    apply,
    expire,
    replay,
)
from tests.protocols.kit import (
    GROUP,
    async_,
    conclude,
    env,
    new,
    pause,
    progress,
    result,
    run,
    say,
    sync,
)


def _hub(payload: Timeout, ts: float) -> Envelope:
    return Envelope(group=GROUP, sender=HUB_SENDER, payload=payload, ts=ts)


def test_a_lapsed_turn_passes_round_robin_and_counts() -> None:
    state = run(new(turn_timeout=10), env("alice", say(), ["carol"], ts=5))
    assert state.next_deadline() == 15
    assert state.due_timeouts(14.9) == []
    assert state.due_timeouts(15) == [Timeout(kind="turn", agent="carol")]
    later, sent = expire(state, 15)
    assert [e.payload for e in sent] == [Timeout(kind="turn", agent="carol")]
    assert all(e.sender == HUB_SENDER and e.ts == 15 for e in sent)
    assert (later.speaker, later.turns, later.turn_deadline) == ("alice", 2, 25)


def test_a_late_timer_starts_the_next_turn_at_now() -> None:
    state = new(turn_timeout=10)
    later, sent = expire(state, 35)
    assert [e.payload.agent for e in sent] == ["alice"]  # type: ignore[attr-defined]
    assert later.speaker == "bob"
    assert later.turn_deadline == 45


def test_a_task_timeout_fails_the_task_and_ends_the_wait() -> None:
    state = run(
        new(turn_timeout=10, task_timeout=60),
        env("alice", sync("t1"), ["bob", "carol"], ts=0),
        env("bob", result("t1"), ts=1),
    )
    assert state.turn_deadline is None
    assert state.next_deadline() == 60
    later, sent = expire(state, 61)
    assert [e.payload for e in sent] == [Timeout(kind="task", task_id="t1")]
    task = later.task("t1")
    assert task is not None
    assert task.status == "failed"
    assert len(task.reports) == 1
    assert (later.phase, later.speaker, later.turn_deadline) == (Phase.OPEN, "alice", 71)
    with pytest.raises(ProtocolError) as refused:
        apply(later, env("carol", result("t1"), ts=62))
    assert refused.value.code == "task_closed"


def test_a_paused_group_resumes_when_its_last_task_times_out() -> None:
    state = run(
        new(task_timeout=30),
        env("alice", async_("t1"), ["bob"], ts=0),
        env("alice", async_("t2"), ["carol"], ts=10),
        env("alice", pause("t1", "t2"), ts=11),
        env("bob", result("t1"), ts=20),
    )
    assert state.phase is Phase.PAUSED
    later, sent = expire(state, 50)
    assert [e.payload.task_id for e in sent] == ["t2"]  # type: ignore[attr-defined]
    assert (later.phase, later.speaker) == (Phase.OPEN, "alice")


def test_a_silent_concluder_hands_the_conclusion_on() -> None:
    state = run(new(turn_timeout=10), env("alice", conclude(), ts=0))
    later, _ = expire(state, 10)
    assert (later.phase, later.speaker, later.turns) == (Phase.CONCLUDING, "bob", 1)


def test_only_the_hub_sends_timeouts_and_only_when_due() -> None:
    state = new(turn_timeout=10)
    early = _hub(Timeout(kind="turn", agent="alice"), ts=9)
    wrong = _hub(Timeout(kind="turn", agent="bob"), ts=10)
    forged = Envelope(group=GROUP, sender="bob", payload=Timeout(kind="turn", agent="alice"), ts=10)
    for message, code in [
        (early, "illegal_move"),
        (wrong, "illegal_move"),
        (forged, "illegal_move"),
    ]:
        with pytest.raises(ProtocolError) as refused:
            apply(state, message)
        assert refused.value.code == code
    assert apply(state, _hub(Timeout(kind="turn", agent="alice"), ts=10)).speaker == "bob"


def test_no_deadline_without_limits_or_after_the_end() -> None:
    assert new().next_deadline() is None
    assert expire(new(), 1e9) == (new(), [])


def _played() -> tuple[ConversationState, list[Envelope]]:
    initial = new(turn_timeout=10, task_timeout=40)
    log = [
        env("alice", async_("t1"), ["bob"], ts=1),
        env("alice", sync("t2"), ["carol"], ts=2),
        env("carol", progress("t2"), ts=3),
        env("carol", result("t2"), ts=4),
        env("alice", pause("t1"), ts=5),
    ]
    state = run(initial, *log)
    state, timeouts = expire(state, 45)
    log += timeouts
    state = run(state, env("alice", say(), ["bob"], ts=46))
    log.append(env("alice", say(), ["bob"], ts=46))
    return state, log


def test_replaying_the_stored_envelopes_rebuilds_the_same_state() -> None:
    state, log = _played()
    assert (state.phase, state.speaker, state.turns) == (Phase.OPEN, "bob", 4)
    assert replay(new(turn_timeout=10, task_timeout=40), log) == state


def test_the_state_round_trips_through_json() -> None:
    state, _ = _played()
    data = json.loads(json.dumps(state.to_dict()))
    assert ConversationState.from_dict(data) == state


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: "not a state",
        lambda d: {**d, "phase": "dancing"},
        lambda d: {**d, "speaker": "mallory"},
        lambda d: {**d, "waiting_on": ["t9"]},
        lambda d: {**d, "members": ["alice", "alice"]},
        lambda d: {**d, "turns": 10_000},
    ],
)
def test_a_corrupt_stored_state_is_refused_with_a_clear_error(corrupt: object) -> None:
    data = _played()[0].to_dict()
    with pytest.raises(InvalidState):
        ConversationState.from_dict(corrupt(data))  # type: ignore[operator]
