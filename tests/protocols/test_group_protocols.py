"""The selectable group protocols, row by row: dialectic, contract net, voting, and the structured
speech acts of "ioa" (proposals, objections, acceptances, checks, links). Expectations are written
by hand from each protocol's rules; timeouts, caps and replay are checked for each."""

from __future__ import annotations

from typing import Any

import pytest

from protocols import (
    HUB_SENDER,
    Conclude,
    Conclusion,
    ConversationState,
    Envelope,
    InvalidConversation,
    Limits,
    Phase,
    ProtocolError,
    TaskResult,
    Timeout,
    apply,
    expire,
    legal_moves,
    replay,
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
from protocols.conversation.legal import addressable
from protocols.conversation.settings import conversation_for_group
from protocols.conversation.voting import tally
from tests.protocols.kit import PLAN, env, group, run, say

A, B, C = "alice", "bob", "carol"


def _code(state: ConversationState, envelope: Envelope) -> str:
    with pytest.raises(ProtocolError) as err:
        apply(state, envelope)
    return err.value.code.value


def _propose(pid: str, content: dict[str, Any] | None = None) -> Proposal:
    return Proposal(proposal_id=pid, content=PLAN if content is None else content)


def _replays(initial: ConversationState, *steps: Envelope) -> ConversationState:
    """Run the steps and check that replaying them rebuilds the same state."""
    state = run(initial, *steps)
    assert replay(initial, steps) == state
    assert ConversationState.from_dict(state.to_dict()) == state
    return state


# "ioa" with structured acts


def test_proposals_objections_and_acceptances_are_recorded_and_pass_the_turn() -> None:
    s0 = group("ioa")
    state = _replays(
        s0,
        env(A, _propose("p1"), [C]),
        env(C, Objection(proposal_id="p1", reason="bob's arm collides", conflicts=["bob"])),
        env(A, _propose("p2")),
        env(B, Acceptance(proposal_id="p2")),
    )
    p1, p2 = state.proposals
    assert (p1.objected_by, p2.accepted_by, state.speaker) == ((C,), (B,), C)
    assert legal_moves(state, C).spec("acceptance").proposal_ids == ("p1", "p2")  # type: ignore[union-attr]
    assert _code(state, env(C, Acceptance(proposal_id="p9"))) == "unknown_proposal"
    assert _code(state, env(C, _propose("p1"))) == "duplicate_proposal"
    assert legal_moves(state, C).new_proposal_id == "p3"
    done = run(
        state, env(C, Conclude(proposal_id="p2")), env(C, Conclusion(text="ok", proposal_id="p2"))
    )
    assert (done.phase, done.concluded_with, done.plan) == (Phase.CONCLUDED, "p2", PLAN)


def test_without_proposals_there_is_nothing_to_accept_or_object_to() -> None:
    legal = legal_moves(group("ioa"), A)
    assert "proposal" in legal.types
    assert not {"objection", "acceptance", "check_result"} & set(legal.types)


def test_the_checker_checks_every_proposal_before_the_next_turn() -> None:
    s0 = group("ioa", checker=C)
    state = run(s0, env(A, _propose("p1"), [B]))
    assert (state.phase, state.speaker, state.check_due, state.after_check) == (
        Phase.CHECKING, C, "p1", B,
    )  # fmt: skip
    assert legal_moves(state, C).types == ("check_result",)
    assert not legal_moves(state, B).may_speak
    assert _code(state, env(B, say())) == "not_your_turn"
    assert _code(state, env(A, CheckResult(proposal_id="p1", passed=True))) == "illegal_move"
    assert _code(state, env(C, CheckResult(proposal_id="p0", passed=True))) == "illegal_move"
    failed = run(state, env(C, CheckResult(proposal_id="p1", passed=False, reasons=["reach"])))
    assert (failed.phase, failed.speaker, failed.proposals[0].reasons) == (
        Phase.OPEN,
        B,
        ("reach",),
    )
    # check before commit: only passed plans may be concluded with
    assert legal_moves(failed, B).spec("conclude").proposal_ids == ()  # type: ignore[union-attr]
    assert _code(failed, env(B, Conclude(proposal_id="p1"))) == "unchecked_plan"
    assert _code(failed, env(B, Conclude(proposal_id="p8"))) == "unknown_proposal"
    ok = _replays(
        s0,
        env(A, _propose("p1"), [B]),
        env(C, CheckResult(proposal_id="p1", passed=False)),
        env(B, _propose("p2")),
        env(C, CheckResult(proposal_id="p2", passed=True)),
    )
    assert legal_moves(ok, C).spec("conclude").proposal_ids == ("p2",)  # type: ignore[union-attr]
    assert run(ok, env(C, Conclude())).phase is Phase.CONCLUDING  # a conclusion with no plan


def test_a_checker_who_lets_the_check_lapse_leaves_the_plan_unchecked() -> None:
    s0 = group("ioa", checker=C, limits=Limits(turn_timeout=10))
    state = run(s0, env(A, _propose("p1"), [B], ts=1))
    after, sent = expire(state, 12)
    assert [e.payload.type for e in sent] == ["timeout"]
    assert (after.phase, after.speaker, after.proposals[0].check) == (Phase.OPEN, B, None)
    assert replay(s0, [env(A, _propose("p1"), [B], ts=1), *sent]) == after


def test_content_must_match_the_groups_schema() -> None:
    schema = {"type": "object", "properties": {"plan": {"type": "string"}}, "required": ["plan"]}
    state = group("ioa", content_schema=schema)
    assert _code(state, env(A, _propose("p1", {"robots": []}))) == "invalid_content"
    with pytest.raises(ProtocolError, match=r"content at \$\.plan"):
        apply(state, env(A, _propose("p1", {"plan": 3})))
    assert run(state, env(A, _propose("p1"))).proposals[0].content == PLAN


def test_links_restrict_whom_a_member_addresses_and_round_robin_follows_them() -> None:
    state = group("ioa", links={A: (C,), C: (B,), B: ()})
    assert legal_moves(state, A).spec("discussion").addressees == (A, C)  # type: ignore[union-attr]
    assert _code(state, env(A, say(), [B])) == "not_linked"
    assert run(state, env(A, say())).speaker == C  # round robin skips the unlinked bob
    solo = run(state, env(A, say()), env(C, say()))
    assert run(solo, env(B, say())).speaker == C  # linked to nobody: plain round robin


def test_the_hub_stands_outside_the_links() -> None:
    """Its due timeout may name the member it concerns, whoever that member is linked to
    (found by the property test: the hub was held to the members' topology)."""
    limits = Limits(max_turns=1, turn_timeout=5.0, max_silent_turns=1)
    state = group("ioa", limits=limits, links={A: (B,), B: (C,), C: (A,)})
    timeout = Timeout(kind="turn", agent=A)
    assert state.due(5.0) == [timeout]
    assert addressable(state, HUB_SENDER) == state.members
    after = apply(state, env(HUB_SENDER, timeout, [C], ts=5.0))
    assert after.speaker != A


@pytest.mark.parametrize(
    "meta",
    [
        {"protocol": "auction"},
        {"checker": "zed"},
        {"protocol": "contract_net", "checker": B},
        {"links": {A: ["zed"]}},
        {"links": {"zed": [A]}},
        {"content_schema": {"type": "object", "patternProperties": {"^a": {}}}},
        {"content_schema": {"$ref": "http://example.org/s.json"}},
        {"content_schema": {"type": "nonsense"}},
        {"content_schema": {"enum": ["x" * 20_000]}},
        {"content_schema": [1]},
        {"voting_rule": "approval"},
    ],
)
def test_bad_protocol_meta_is_refused(meta: dict[str, Any]) -> None:
    with pytest.raises(InvalidConversation):
        conversation_for_group("g1", [A, B, C], meta, 0.0)


def test_meta_selects_the_protocol_and_its_rules() -> None:
    meta = {"protocol": "voting", "voting_rule": "borda", "links": {A: [B, B]}}
    state = conversation_for_group("g1", [A, B, C], meta, 5.0)
    assert (state.protocol, state.phase, state.rules.voting_rule) == (
        "voting",
        Phase.PROPOSING,
        "borda",
    )
    assert state.rules.links == {A: (B,)}
    assert conversation_for_group("g1", [A], {}, 0.0).protocol == "ioa"


# dialectic


def test_dialectic_runs_round_robin_and_executes_once_everyone_spoke() -> None:
    s0 = group("dialectic", limits=Limits(max_turns=6))
    execute = Execute(proposal_id="p1", content=PLAN, text="go")
    assert legal_moves(s0, A).types == ("proceed",)
    assert _code(s0, env(A, execute)) == "illegal_move"
    assert _code(s0, env(B, Proceed(text="x"))) == "not_your_turn"
    assert _code(s0, env(A, say())) == "illegal_move"
    spoken = run(s0, env(A, Proceed(text="a")), env(B, Proceed(text="b")))
    assert spoken.speaker == C
    assert "execute" not in legal_moves(spoken, C).types
    everyone = run(spoken, env(C, Proceed(text="c")))
    assert legal_moves(everyone, A).types == ("proceed", "execute")
    committed = _replays(s0, *[env(m, Proceed(text=m)) for m in (A, B, C)], env(A, execute))
    assert (committed.phase, committed.speaker, committed.winner) == (Phase.CONCLUDING, A, "p1")
    spec = legal_moves(committed, A).spec("conclusion")
    assert spec is not None
    assert (spec.proposal_ids, spec.proposal_required) == (("p1",), True)
    assert _code(committed, env(A, Conclusion(text="go"))) == "illegal_move"
    assert _code(committed, env(B, Proceed(text="late"))) == "not_your_turn"
    done = run(committed, env(A, Conclusion(text="go", proposal_id="p1")))
    assert (done.phase, done.conclusion, done.plan) == (Phase.CONCLUDED, "go", PLAN)


def test_dialectic_open_execute_and_the_last_call() -> None:
    opened = group("dialectic", open_execute=True)
    assert "execute" in legal_moves(opened, A).types
    s0 = group("dialectic", limits=Limits(max_turns=2))
    last = run(s0, env(A, Proceed(text="a")))
    assert legal_moves(last, B).types == ("execute",)  # the last call, though carol never spoke
    assert _code(last, env(B, Proceed(text="b"))) == "turn_limit"


def test_dialectic_with_a_checker_executes_only_a_passed_plan() -> None:
    s0 = group("dialectic", checker=C, open_execute=True, limits=Limits(max_turns=3))
    state = run(s0, env(A, Execute(proposal_id="p1", content=PLAN)))
    assert (state.phase, state.speaker) == (Phase.CHECKING, C)
    failed = run(state, env(C, CheckResult(proposal_id="p1", passed=False)))
    assert (failed.phase, failed.speaker) == (Phase.OPEN, B)
    passed = run(
        failed,
        env(B, Execute(proposal_id="p2", content=PLAN)),
        env(C, CheckResult(proposal_id="p2", passed=True)),
    )
    assert (passed.phase, passed.speaker, passed.winner) == (Phase.CONCLUDING, B, "p2")
    done = run(passed, env(B, Conclusion(text="go", proposal_id="p2")))
    assert (done.phase, done.concluded_with) == (Phase.CONCLUDED, "p2")
    # the last call's plan fails: the members ran out, the hub concludes
    capped = run(failed, env(B, Proceed(text="b")), env(A, Execute(proposal_id="p2", content=PLAN)))
    assert capped.phase is Phase.CHECKING
    out = run(capped, env(C, CheckResult(proposal_id="p2", passed=False)))
    assert out.phase is Phase.EXPIRING
    ended, sent = expire(out, 0)
    assert ended.phase is Phase.EXPIRED
    assert sent[0].sender == HUB_SENDER


def test_dialectic_ends_at_its_cap_when_the_last_plan_fails_without_a_clock() -> None:
    s0 = group("dialectic", checker=C, open_execute=True, limits=Limits(max_turns=2))
    assert s0.limits.turn_timeout is None
    out = _replays(
        s0,
        env(A, Execute(proposal_id="p1", content=PLAN)),
        env(C, CheckResult(proposal_id="p1", passed=False)),
        env(B, Execute(proposal_id="p2", content=PLAN)),
        env(C, CheckResult(proposal_id="p2", passed=False)),
    )
    assert (out.phase, out.speaker) == (Phase.EXPIRING, HUB_SENDER)
    assert out.next_deadline() == out.clock  # owed now, not at a turn timeout that never comes
    assert legal_moves(out, B).types == ()
    ended, sent = expire(out, out.clock)
    assert (ended.phase, ended.plan, [e.sender for e in sent]) == (Phase.EXPIRED, None, ["hub"])
    assert "turn cap" in (ended.conclusion or "")


def test_dialectic_skips_the_checker_in_its_round_robin() -> None:
    s0 = group("dialectic", checker=C, limits=Limits(turn_timeout=5, max_turns=6))
    spoken = _replays(s0, env(A, Proceed(text="a")), env(B, Proceed(text="b")))
    assert spoken.speaker == A  # not carol, who only checks
    assert legal_moves(spoken, A).types == ("proceed", "execute")  # carol need not speak
    lapsed, _ = expire(spoken, spoken.turn_deadline or 0)
    assert lapsed.speaker == B
    skipped, _ = expire(lapsed, lapsed.turn_deadline or 0)
    assert skipped.speaker == A  # a lapsed turn passes over the checker too


def test_dialectic_timeout_passes_the_turn_and_counts() -> None:
    s0 = group("dialectic", limits=Limits(turn_timeout=5, max_turns=4))
    state, sent = expire(s0, 6)
    assert (state.speaker, state.turns, [e.payload.type for e in sent]) == (B, 1, ["timeout"])


# contract net


def test_contract_net_call_bids_award_result_conclusion() -> None:
    s0 = group("contract_net")
    cfp = CallForProposals(description="add 17 and 25")
    assert legal_moves(s0, A).types == ("call_for_proposals", "conclude")
    assert _code(s0, env(A, cfp)) == "illegal_move"  # no contractors
    assert _code(s0, env(A, cfp, [A, B])) == "illegal_move"
    called = run(s0, env(A, cfp, [C, B]))
    assert (called.phase, called.speaker, called.contractors) == (Phase.BIDDING, B, (B, C))
    assert legal_moves(called, B).types == ("bid", "refuse")
    assert _code(called, env(C, Refuse())) == "not_your_turn"
    bid = run(called, env(B, Bid(cost=3, content=PLAN)), env(C, Refuse()))
    assert (bid.phase, bid.speaker, bid.turns) == (Phase.OPEN, A, 1)
    assert legal_moves(bid, A).spec("award").addressees == (B,)  # type: ignore[union-attr]
    award = Award(task_id="t1", description="do it")
    assert _code(bid, env(A, award, [C])) == "illegal_move"
    assert _code(bid, env(A, award, [B, C])) == "illegal_move"
    done = _replays(
        s0,
        env(A, cfp, [C, B]),
        env(B, Bid(cost=3, content=PLAN)),
        env(C, Refuse()),
        env(A, award, [B]),
        env(B, TaskResult(task_id="t1", result="42")),
        env(A, Conclude()),
        env(A, Conclusion(text="42")),
    )
    assert (done.phase, done.conclusion, done.tasks[0].assignees) == (Phase.CONCLUDED, "42", (B,))


def test_contract_net_a_silent_contractor_has_refused_and_the_manager_keeps_its_turn() -> None:
    s0 = group("contract_net", limits=Limits(turn_timeout=5, max_silent_turns=3))
    called = run(s0, env(A, CallForProposals(description="d"), [B, C], ts=0))
    state, sent = expire(called, 6)
    assert [e.payload.type for e in sent] == ["timeout"]
    assert (state.speaker, state.bids[0].refused) == (C, True)
    state = run(state, env(C, Bid(cost=1, content=PLAN), ts=7))
    assert (state.speaker, state.phase) == (A, Phase.OPEN)
    lapsed, _ = expire(state, 13)
    assert (lapsed.speaker, lapsed.turns) == (A, 2)  # the manager keeps the turn


def test_contract_net_award_after_a_failure_goes_to_another_bidder() -> None:
    s0 = group("contract_net")
    state = run(
        s0,
        env(A, CallForProposals(description="d"), [B, C]),
        env(B, Bid(cost=1, content=PLAN)),
        env(C, Bid(cost=2, content=PLAN)),
        env(A, Award(task_id="t1", description="x"), [B]),
        env(B, TaskResult(task_id="t1", result="no", status="failed")),
    )
    assert legal_moves(state, A).spec("award").addressees == (C,)  # type: ignore[union-attr]


# voting


def _vote(rule: str, ballots: dict[str, Any], proposals: int = 2) -> ConversationState:
    state = group("voting", voting_rule=rule)
    steps = [env(m, _propose(f"p{i + 1}")) for i, m in enumerate((A, B, C)[:proposals])]
    steps += [env(m, PassTurn()) for m in (A, B, C)[proposals:]]
    for m in (A, B, C):
        choice = ballots[m]
        steps.append(
            env(
                m,
                Ballot(ranking=choice) if isinstance(choice, list) else Ballot(proposal_id=choice),
            )
        )
    return _replays(state, *steps)


@pytest.mark.parametrize(
    ("rule", "ballots", "winner"),
    [
        ("plurality", {A: "p2", B: "p2", C: "p1"}, "p2"),
        ("plurality", {A: "p1", B: "p2", C: "p3"}, "p1"),  # a tie goes to the earlier proposal
        ("majority", {A: "p2", B: "p2", C: "p1"}, "p2"),
        ("majority", {A: "p1", B: "p2", C: "p3"}, None),
        ("unanimity", {A: "p1", B: "p1", C: "p1"}, "p1"),
        ("unanimity", {A: "p1", B: "p1", C: "p2"}, None),
        ("borda", {A: ["p2", "p1", "p3"], B: ["p1"], C: ["p2", "p3"]}, "p2"),
        ("borda", {A: ["p3"], B: ["p1"], C: ["p2"]}, "p1"),
    ],
)
def test_the_tally_follows_the_rule(rule: str, ballots: dict[str, Any], winner: str | None) -> None:
    state = _vote(rule, ballots, proposals=3)
    assert (state.phase, state.speaker, state.winner) == (Phase.CONCLUDING, A, winner)
    spec = legal_moves(state, A).spec("conclusion")
    assert spec is not None
    assert spec.proposal_ids == ((winner,) if winner else ())
    wrong = "p3" if winner != "p3" else "p1"
    assert _code(state, env(A, Conclusion(text="x", proposal_id=wrong))) == "illegal_move"
    assert run(state, env(A, Conclusion(text="x", proposal_id=winner))).concluded_with == winner


def test_voting_phases_and_refusals() -> None:
    s0 = group("voting")
    assert legal_moves(s0, A).types == ("proposal", "pass")
    assert _code(s0, env(A, Ballot(proposal_id="p1"))) == "illegal_move"
    nobody = run(s0, *[env(m, PassTurn()) for m in (A, B, C)])
    assert (nobody.phase, nobody.winner) == (Phase.CONCLUDING, None)  # nothing to vote on
    state = run(s0, env(A, _propose("p1")), env(B, PassTurn()), env(C, PassTurn()))
    assert (state.phase, state.speaker) == (Phase.BALLOTING, A)
    assert legal_moves(state, A).types == ("ballot",)
    assert _code(state, env(A, Ballot(ranking=["p1"]))) == "illegal_move"
    assert _code(state, env(A, Ballot(proposal_id="p5"))) == "unknown_proposal"
    voted = run(state, env(A, Ballot(proposal_id="p1")))
    assert _code(voted, env(A, Ballot(proposal_id="p1"))) == "not_your_turn"  # ballot twice
    borda = run(
        group("voting", voting_rule="borda"),
        env(A, _propose("p1")),
        env(B, PassTurn()),
        env(C, PassTurn()),
    )
    assert _code(borda, env(A, Ballot(proposal_id="p1"))) == "illegal_move"
    assert _code(borda, env(A, Ballot(ranking=["p1", "p1"]))) == "illegal_move"


def test_voting_timeouts_are_passes_and_abstentions() -> None:
    s0 = group("voting", voting_rule="majority", limits=Limits(turn_timeout=5, max_silent_turns=5))
    state = run(s0, env(A, _propose("p1"), ts=0))
    state, _sent = expire(state, 6)  # bob's proposing turn lapses: a pass
    assert (state.phase, state.speaker) == (Phase.PROPOSING, C)
    state = run(state, env(C, PassTurn(), ts=7), env(A, Ballot(proposal_id="p1"), ts=8))
    state, _sent = expire(state, 14)  # bob abstains
    state = run(state, env(C, Ballot(proposal_id="p1"), ts=15))
    assert [b.choice for b in state.ballots] == [("p1",), (), ("p1",)]
    assert state.winner == "p1"  # 2 of 3 members: a majority despite the abstention
    assert tally(state) == "p1"
