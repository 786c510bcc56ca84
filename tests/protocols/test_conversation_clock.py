"""Timeouts as pure functions of a given `now`, and a state that survives storage and replay."""

from __future__ import annotations

import json

import pytest

from protocols import (
    HUB_SENDER,
    Conclusion,
    ConversationState,
    Envelope,
    InvalidState,
    Phase,
    ProtocolError,
    Timeout,
    apply,
    expire,
    legal_moves,
    replay,
)
from tests.protocols.kit import (
    GROUP,
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


def _hub(payload: Timeout | Conclusion, ts: float) -> Envelope:
    return Envelope(group=GROUP, sender=HUB_SENDER, payload=payload, ts=ts)


def _tick(
    state: ConversationState, until: float, step: float = 1.0
) -> tuple[ConversationState, list[Envelope]]:
    """Run the hub's clock every `step` seconds up to `until`; the state and all it sent."""
    sent: list[Envelope] = []
    now = state.clock
    while now < until:
        now += step
        state, more = expire(state, now)
        sent += more
    return state, sent


def test_a_lapsed_turn_passes_round_robin_and_counts() -> None:
    state = run(new(turn_timeout=10), env("alice", say(), ["carol"], ts=5))
    assert state.next_deadline() == 15
    assert state.due(14.9) == []
    assert state.due(15) == [Timeout(kind="turn", agent="carol")]
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
        lambda d: {**d, "silent_turns": 99},
        lambda d: {**d, "phase": "expiring"},
    ],
)
def test_a_corrupt_stored_state_is_refused_with_a_clear_error(corrupt: object) -> None:
    data = _played()[0].to_dict()
    with pytest.raises(InvalidState):
        ConversationState.from_dict(corrupt(data))  # type: ignore[operator]


@pytest.mark.parametrize("patience", [1, 3, 5])
def test_a_conversation_nobody_speaks_in_ends_after_exactly_its_silent_turns(
    patience: int,
) -> None:
    initial = new(turn_timeout=10, max_silent_turns=patience)
    state, sent = _tick(initial, until=1000)
    assert [e.type for e in sent] == ["timeout"] * patience + ["conclusion"]
    assert all(e.sender == HUB_SENDER for e in sent)
    assert sent[-1].ts == sent[-2].ts == 10 * patience
    assert state.phase is Phase.EXPIRED
    turns = "1 turn" if patience == 1 else f"{patience} turns"
    assert state.conclusion == f"ended by the hub: no member spoke for {turns}"
    assert state.next_deadline() is None
    assert expire(state, 1e9) == (state, [])
    assert replay(initial, sent) == state


def test_a_turn_taken_breaks_the_silence() -> None:
    state, sent = _tick(new(turn_timeout=10), until=20)
    assert (len(sent), state.speaker, state.silent_turns) == (2, "carol", 2)
    state = run(state, env("carol", say(), ["alice"], ts=21))
    assert state.silent_turns == 0
    state, sent = _tick(state, until=41)
    assert (len(sent), state.phase, state.silent_turns) == (2, Phase.OPEN, 2)
    state, sent = _tick(state, until=51)
    assert [e.type for e in sent] == ["timeout", "conclusion"]


def test_the_turn_cap_lapsing_without_a_conclusion_ends_the_conversation() -> None:
    initial = new(max_turns=4, turn_timeout=10, max_silent_turns=10)
    talked = run(initial, env("alice", say(), ts=0), env("bob", say(), ts=1))
    state, sent = _tick(talked, until=1000)
    assert [e.type for e in sent] == ["timeout", "timeout", "conclusion"]
    assert state.turns == 4
    assert state.conclusion == "ended by the hub: the turn cap of 4 was reached with no conclusion"
    assert replay(initial, [env("alice", say(), ts=0), env("bob", say(), ts=1), *sent]) == state


def test_a_silent_concluder_cannot_keep_the_conversation_open() -> None:
    state = run(new(turn_timeout=10, max_turns=1), env("alice", conclude(), ts=0))
    state, sent = _tick(state, until=1000)
    assert [e.type for e in sent] == ["timeout"] * 3 + ["conclusion"]
    assert [e.payload.agent for e in sent[:3]] == ["alice", "bob", "carol"]  # type: ignore[attr-defined]
    assert (state.phase, state.turns) == (Phase.EXPIRED, 1)


def test_a_wait_on_an_assignee_that_never_answers_ends_too() -> None:
    """Without a task timeout of its own, a task gets the group's patience in turn periods."""
    state = run(new(turn_timeout=10), env("alice", sync("t1"), ["bob"], ts=0))
    task = state.task("t1")
    assert task is not None
    assert task.deadline == 30
    state, sent = _tick(state, until=1000)
    kinds = [getattr(e.payload, "kind", e.type) for e in sent]
    assert kinds == ["task", "turn", "turn", "turn", "conclusion"]
    assert state.phase is Phase.EXPIRED
    assert [t.status for t in state.tasks] == ["failed"]


def test_a_group_without_a_turn_clock_has_no_task_clock_either() -> None:
    state = run(new(), env("alice", sync("t1"), ["bob"], ts=0))
    assert state.next_deadline() is None


def test_an_expiring_conversation_takes_only_the_hubs_conclusion() -> None:
    state = run(
        new(turn_timeout=10, max_silent_turns=1), _hub(Timeout(kind="turn", agent="alice"), 10)
    )
    assert (state.phase, state.speaker, state.next_deadline()) == (Phase.EXPIRING, HUB_SENDER, 10)
    assert all(legal_moves(state, m).moves == () for m in state.members)
    owed = Conclusion(text="ended by the hub: no member spoke for 1 turn")
    assert state.due(10) == [owed]
    for message, code in [
        (env("bob", say(), ts=11), "conversation_over"),
        (env("bob", conclusion(), ts=11), "conversation_over"),
        (_hub(Conclusion(text="I say it is over"), ts=11), "illegal_move"),
        (_hub(Timeout(kind="turn", agent="bob"), ts=99), "illegal_move"),
    ]:
        with pytest.raises(ProtocolError) as refused:
            apply(state, message)
        assert refused.value.code == code
    assert [e.payload for e in expire(state, 10)[1]] == [owed]  # e.g. after a hub restart
    ended = apply(state, _hub(owed, ts=11))
    assert (ended.phase, ended.conclusion, ended.over) == (Phase.EXPIRED, owed.text, True)


def test_the_hub_cannot_conclude_a_conversation_that_has_not_run_out() -> None:
    owed = Conclusion(text="ended by the hub: no member spoke for 3 turns")
    concluding = run(new(turn_timeout=10), env("alice", conclude(), ts=0))
    for state in (new(turn_timeout=10), concluding):
        with pytest.raises(ProtocolError) as refused:
            apply(state, _hub(owed, ts=5))
        assert refused.value.code == "illegal_move"
