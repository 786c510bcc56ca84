"""The checked negotiation's rules (pure) and the environment checker's verdicts."""

from __future__ import annotations

from agents.robots.checker import EnvChecker
from agents.robots.negotiation import Seen, concerned, decide, failed_actions
from environments.rocobench import ORACLES, make_env

ROBOTS = ("Alice", "Bob", "Chad")
PLAN = {"Alice": "WAIT", "Bob": "PICK x PLACE panel3", "Chad": "WAIT"}


def test_the_first_speaker_proposes_and_hands_the_turn_on() -> None:
    d = decide("Alice", ROBOTS, [], owned=False, preferred=None, can_conclude=False)
    assert (d.kind, d.to) == ("propose", "Bob")


def test_a_failed_plan_is_amended_by_the_robot_it_names_and_objected_to_by_the_others() -> None:
    failed = Seen("p1", "Alice", PLAN, passed=False, reasons=("Bob: rule: cannot reach x",))
    mine = decide("Bob", ROBOTS, [failed], owned=False, preferred=None, can_conclude=False)
    assert mine.kind == "amend"
    other = decide("Chad", ROBOTS, [failed], owned=False, preferred=None, can_conclude=False)
    assert (other.kind, other.to, other.proposal) == ("object", "Bob", failed)
    assert failed_actions("Bob", ROBOTS, [failed]) == {"PICK x PLACE panel3"}
    assert failed_actions("Chad", ROBOTS, [failed]) == set()


def test_a_passed_plan_is_accepted_then_concluded_once_everyone_endorsed_it() -> None:
    passed = Seen("p2", "Alice", PLAN, passed=True)
    bob = decide("Bob", ROBOTS, [passed], owned=True, preferred=None, can_conclude=True)
    assert (bob.kind, bob.to) == ("accept", "Chad")
    agreed = Seen("p2", "Alice", PLAN, passed=True, accepted_by=frozenset({"Bob"}))
    chad = decide("Chad", ROBOTS, [agreed], owned=True, preferred=None, can_conclude=True)
    assert (chad.kind, chad.proposal) == ("conclude", agreed)
    cannot = decide("Chad", ROBOTS, [agreed], owned=True, preferred=None, can_conclude=False)
    assert cannot.kind == "accept"


def test_a_robot_amends_a_line_it_did_not_propose_with_its_own_preference() -> None:
    passed = Seen("p2", "Alice", PLAN, passed=True)
    d = decide(
        "Chad", ROBOTS, [passed], owned=False, preferred="PICK y PLACE panel5", can_conclude=False
    )
    assert d.kind == "amend"
    same = decide("Chad", ROBOTS, [passed], owned=False, preferred="WAIT", can_conclude=False)
    assert same.kind == "accept"
    later = decide("Chad", ROBOTS, [passed], owned=True, preferred="PICK y", can_conclude=False)
    assert later.kind == "accept"


def test_reasons_name_the_robots_they_concern() -> None:
    reasons = ["Bob, Chad: collision: Goal step: Bob-Chad", "all: rule: nobody acts"]
    assert concerned(reasons, ROBOTS) == ["Bob", "Chad"]


def test_the_checker_passes_the_oracle_plan_and_names_who_fails() -> None:
    env = make_env("sort", seed=0)
    checker = EnvChecker(env)
    oracle = ORACLES["sort"](env)
    content = {a.robot: a.line().split(" ACTION ", 1)[1] for a in oracle.actions}
    assert checker.verdict(content) == (True, [])
    waiting = {r: "WAIT" for r in env.robots}
    passed, reasons = checker.verdict(waiting)
    assert not passed
    assert reasons
    passed, reasons = checker.verdict({**waiting, "Bob": "FLY away"})
    assert not passed
    assert reasons[0].startswith("Bob: parse:")
