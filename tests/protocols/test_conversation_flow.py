"""Conversations played move by move: turn passing, tasks, pause/resume, the cap, the ending."""

from __future__ import annotations

import pytest

from protocols import (
    ConversationState,
    Discussion,
    InvalidConversation,
    Limits,
    Phase,
    ProtocolError,
    apply,
    legal_moves,
    start,
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


def _code(state: ConversationState, *steps: object) -> str:
    with pytest.raises(ProtocolError) as refused:
        run(state, *steps)  # type: ignore[arg-type]
    return refused.value.code


def test_the_initiator_speaks_first_and_names_the_next_speaker() -> None:
    state = new()
    assert (state.phase, state.speaker, state.turns) == (Phase.OPEN, "alice", 0)
    state = run(state, env("alice", say(), ["carol"]))
    assert (state.speaker, state.turns) == ("carol", 1)
    assert _code(state, env("alice", say(), ["bob"])) == "not_your_turn"


@pytest.mark.parametrize("to", [[], ["alice"]], ids=["nobody", "self"])
def test_no_or_self_choice_falls_back_to_round_robin(to: list[str]) -> None:
    state = run(new(), env("alice", say(), to))
    assert state.speaker == "bob"
    state = run(state, env("bob", say()), env("carol", say(), ["carol"]))
    assert state.speaker == "alice"


def test_addressing_a_stranger_or_several_speakers_is_refused() -> None:
    assert _code(new(), env("alice", say(), ["mallory"])) == "not_a_member"
    assert _code(new(), env("alice", say(), ["bob", "carol"])) == "illegal_move"
    assert _code(new(), env("alice", sync("t1"), ["bob", "bob"])) == "illegal_move"
    assert _code(new(), env("alice", sync("t1"), [])) == "illegal_move"


def test_sync_task_waits_for_every_assignee_then_the_assigner_speaks() -> None:
    state = run(new(), env("alice", sync("t1"), ["bob", "carol"]))
    assert (state.phase, state.waiting_on) == (Phase.AWAITING, ("t1",))
    assert not legal_moves(state, "alice").may_speak
    assert _code(state, env("alice", say())) == "not_your_turn"
    state = run(state, env("bob", progress("t1")), env("carol", result("t1")))
    task = state.task("t1")
    assert task is not None
    assert task.status == "running"
    assert state.phase is Phase.AWAITING
    assert _code(state, env("carol", result("t1"))) == "task_closed"
    state = run(state, env("bob", result("t1")))
    task = state.task("t1")
    assert task is not None
    assert task.status == "done"
    assert task.result == "carol: t1 done\nbob: t1 done"
    assert (state.phase, state.speaker, state.turns) == (Phase.OPEN, "alice", 1)
    assert legal_moves(state, "alice").may_speak


def test_a_task_fails_when_any_assignee_reports_failure() -> None:
    state = run(
        new(),
        env("alice", sync("t1"), ["bob", "carol"]),
        env("bob", result("t1", "failed")),
        env("carol", result("t1")),
    )
    task = state.task("t1")
    assert task is not None
    assert task.status == "failed"
    assert state.phase is Phase.OPEN


def test_async_task_lets_the_conversation_go_on_and_reports_come_any_time() -> None:
    state = run(new(), env("alice", async_("t1"), ["carol"]))
    assert (state.phase, state.speaker) == (Phase.OPEN, "alice")
    state = run(state, env("alice", say(), ["bob"]), env("carol", progress("t1")))
    assert state.speaker == "bob"
    assert legal_moves(state, "carol").types == ("task_progress", "task_result")
    assert not legal_moves(state, "carol").may_speak
    state = run(state, env("carol", result("t1")))
    task = state.task("t1")
    assert task is not None
    assert task.status == "done"
    assert state.speaker == "bob"
    assert state.phase is Phase.OPEN


def test_task_reports_are_checked_against_the_task() -> None:
    state = run(new(), env("alice", async_("t1"), ["carol"]))
    assert _code(state, env("carol", result("nope"))) == "unknown_task"
    assert _code(state, env("bob", progress("t1"))) == "not_assignee"
    assert _code(state, env("alice", async_("t1"), ["bob"])) == "duplicate_task"


def test_pause_waits_for_the_named_tasks_then_the_pauser_speaks() -> None:
    state = run(
        new(),
        env("alice", async_("t1"), ["bob"]),
        env("alice", async_("t2"), ["carol"]),
        env("alice", pause("t1", "t2")),
    )
    assert (state.phase, state.waiting_on) == (Phase.PAUSED, ("t1", "t2"))
    assert all(not legal_moves(state, m).may_speak for m in state.members)
    state = run(state, env("carol", result("t2")))
    assert (state.phase, state.waiting_on) == (Phase.PAUSED, ("t1",))
    state = run(state, env("bob", result("t1")))
    assert (state.phase, state.speaker) == (Phase.OPEN, "alice")
    assert state.waiting_on == ()


def test_pause_tolerates_results_that_arrived_before_it_and_unknown_ids() -> None:
    state = run(
        new(),
        env("alice", async_("t1"), ["bob"]),
        env("alice", async_("t2"), ["carol"]),
        env("bob", result("t1")),
        env("alice", pause("t1", "ghost", "t2", "t2")),
    )
    assert (state.phase, state.waiting_on) == (Phase.PAUSED, ("t2",))
    state = run(state, env("carol", result("t2")))
    assert (state.phase, state.speaker) == (Phase.OPEN, "alice")


def test_pause_on_finished_tasks_only_does_not_deadlock() -> None:
    state = run(new(), env("alice", async_("t1"), ["bob"]), env("bob", result("t1")))
    state = run(state, env("alice", pause("t1", "ghost")))
    assert (state.phase, state.speaker, state.turns) == (Phase.OPEN, "alice", 2)


def test_pause_naming_only_unknown_tasks_is_refused_and_keeps_the_turn() -> None:
    state = run(new(), env("alice", async_("t1"), ["bob"]))
    assert _code(state, env("alice", pause("ghost", "phantom"))) == "unknown_task"
    assert "pause" not in legal_moves(new(), "alice").types


def test_conclude_then_the_conclusion_ends_the_conversation() -> None:
    state = run(new(), env("alice", async_("t1"), ["bob"]), env("alice", say(), ["carol"]))
    state = run(state, env("carol", conclude()))
    assert (state.phase, state.speaker) == (Phase.CONCLUDING, "carol")
    assert legal_moves(state, "carol").types == ("conclusion",)
    assert _code(state, env("carol", say())) == "illegal_move"
    state = run(state, env("bob", progress("t1")), env("carol", conclusion("42")))
    assert state.over
    assert state.conclusion == "42"
    assert state.speaker is None
    task = state.task("t1")
    assert task is not None
    assert task.status == "canceled"
    assert all(legal_moves(state, m).moves == () for m in state.members)
    assert _code(state, env("bob", result("t1"))) == "conversation_over"


def test_the_turn_cap_leaves_only_conclude() -> None:
    state = run(new(max_turns=3), env("alice", say()), env("bob", say()))
    assert state.at_turn_limit
    assert legal_moves(state, "carol").types == ("conclude",)
    assert _code(state, env("carol", say())) == "turn_limit"
    assert _code(state, env("carol", async_("t1"), ["bob"])) == "turn_limit"
    state = run(state, env("carol", conclude()), env("carol", conclusion()))
    assert state.over
    assert state.turns == 3


def test_a_solo_conversation_passes_the_turn_to_itself() -> None:
    state = run(new(members=["solo"]), env("solo", say()), env("solo", sync("t1"), ["solo"]))
    assert state.phase is Phase.AWAITING
    state = run(state, env("solo", result("t1")), env("solo", conclude()))
    assert state.phase is Phase.CONCLUDING


def test_a_message_for_another_group_or_a_free_chat_is_refused() -> None:
    from protocols import Chat, Envelope

    other = Envelope(group="g2", sender="alice", payload=Discussion(text="x"))
    assert _code(new(), other) == "wrong_group"
    assert _code(new(), env("alice", Chat(text="x"))) == "illegal_move"


@pytest.mark.parametrize(
    ("members", "initiator", "limits"),
    [
        ([], None, Limits()),
        (["a", "a"], None, Limits()),
        (["a", "b"], "c", Limits()),
        (["a", "hub"], None, Limits()),
        (["a", "not an id"], None, Limits()),
        (["a"], None, Limits(max_turns=0)),
        (["a"], None, Limits(turn_timeout=0)),
        (["a"], None, Limits(task_timeout=float("nan"))),
        (["a"], None, Limits(max_silent_turns=0)),
        (["a"], None, Limits(max_silent_turns=101)),
    ],
)
def test_start_refuses_bad_settings(
    members: list[str], initiator: str | None, limits: Limits
) -> None:
    with pytest.raises(InvalidConversation):
        start(GROUP, members, initiator=initiator, limits=limits)


def test_a_refused_message_leaves_the_state_unchanged() -> None:
    state = run(new(), env("alice", async_("t1"), ["bob"]))
    before = state.to_dict()
    with pytest.raises(ProtocolError):
        apply(state, env("bob", say()))
    assert state.to_dict() == before
