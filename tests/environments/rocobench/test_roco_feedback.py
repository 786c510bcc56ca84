"""Validation in RoCo's order, and feedback that says what failed, for whom and where."""

from __future__ import annotations

import pytest

from environments.rocobench import (
    EpisodeOver,
    FailureKind,
    Plan,
    WrongWaypointCount,
    make_env,
    run_oracle,
)
from environments.rocobench.cabinet import CabinetEnv
from environments.rocobench.oracles import arc_path, solve_rope
from environments.rocobench.pack import PackEnv
from environments.rocobench.plan import make_action
from environments.rocobench.rope import RopeEnv
from environments.rocobench.sort import SortEnv, panel_point


def sort_env(blue: str, pink: str, yellow: str) -> SortEnv:
    env = SortEnv(seed=0)
    for cube, panel in (
        ("blue_square", blue),
        ("pink_polygon", pink),
        ("yellow_trapezoid", yellow),
    ):
        env.cubes[cube] = panel_point(panel)
    return env


def pack_env() -> PackEnv:
    env = PackEnv(seed=0)
    cells = [(-0.05, 0.4), (-0.25, 0.4), (-0.5, 0.4), (-0.05, 0.6), (-0.25, 0.6), (-0.5, 0.6)]
    for item, (x, y) in zip(env.items, cells, strict=True):
        env.items[item] = (x, y, 0.1)
    return env


def pack_plan(env: PackEnv, alice_path: list, bob_path: list | None = None) -> Plan:
    bob_goal = env.top("milk")
    bob = bob_path or list(arc_path(env.grippers["Bob"].position, bob_goal, 0.65))
    return Plan(
        (
            make_action(env.grammar, "Alice", "PICK", {"object": "apple"}, alice_path),
            make_action(env.grammar, "Bob", "PICK", {"object": "milk"}, bob),
        )
    )


def good_alice_path(env: PackEnv) -> list:
    return list(arc_path(env.grippers["Alice"].position, env.top("apple"), 0.45))


def test_a_valid_plan_passes_and_executes_as_one_step() -> None:
    env = pack_env()
    result = env.step(pack_plan(env, good_alice_path(env)))
    assert result.valid
    assert result.executed
    assert result.steps == 1
    assert "All checks passed" in result.feedback
    assert env.grippers["Alice"].holding == "apple"
    assert env.history[-1].plan is not None
    assert env.history[-1].plan.startswith("EXECUTE\nNAME Alice ACTION PICK apple PATH")


def test_task_rules_come_first_and_stop_the_other_checks() -> None:
    env = sort_env("panel5", "panel1", "panel3")
    feedback = env.check(
        "EXECUTE\nNAME Alice ACTION PICK yellow_trapezoid PLACE panel4\n"
        "NAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"
    )
    assert feedback.kinds() == {FailureKind.RULE}
    assert "- Task rules: failed, Alice can't place yellow_trapezoid on panel4" in feedback.text()
    assert "Previous Plan:\nNAME Alice ACTION PICK yellow_trapezoid PLACE panel4" in feedback.text()


def test_reach_feedback_names_the_robot_the_step_and_the_point() -> None:
    env = sort_env("panel6", "panel1", "panel3")
    feedback = env.check(
        "EXECUTE\nNAME Alice ACTION PICK yellow_trapezoid PLACE panel5\n"
        "NAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"
    )
    (failure,) = feedback.failures
    assert failure.kind is FailureKind.REACH
    assert failure.robots == ("Alice",)
    assert failure.where == "Goal step 2"
    assert failure.point == (0.4, 0.55, 0.2)
    assert "- Goal step 2 Alice (0.40, 0.55, 0.20); Bob" in feedback.text()
    assert "Reach check failed: out of reach: Alice (0.40, 0.55, 0.20)" in feedback.text()
    assert feedback.for_robot("Alice").startswith("- reach: Goal step 2: out of reach: Alice")
    assert feedback.for_robot("Bob") == ""


def test_ik_feedback_for_a_site_off_the_robots_reach_list() -> None:
    env = CabinetEnv(seed=1)
    feedback = env.check(
        "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION PICK mug PLACE mug_coaster\n"
        "NAME Chad ACTION WAIT"
    )
    first = feedback.failures[0]
    assert (first.kind, first.robots, first.where) == (FailureKind.IK, ("Bob",), "Goal step 1")
    assert first.point == env.items["mug"]
    assert env.specs["Bob"].reaches(env.items["mug"])
    assert {(f.kind, f.robots) for f in feedback.failures} == {(FailureKind.IK, ("Bob",))}
    assert "IK check failed: no arm pose found for Bob" in feedback.text()


def test_ik_feedback_for_a_waypoint_inside_the_box_but_too_far_from_the_arm() -> None:
    env = pack_env()
    path = good_alice_path(env)
    path[1] = (1.5, -0.35, 0.5)
    feedback = env.check(pack_plan(env, path))
    (failure,) = feedback.failures
    assert (failure.kind, failure.robots, failure.where) == (
        FailureKind.IK,
        ("Alice",),
        "Waypoint 2",
    )
    assert env.specs["Alice"].reaches((1.5, -0.35, 0.5))


def test_collision_feedback_lists_the_pairs() -> None:
    env = CabinetEnv(seed=2)
    feedback = env.check(
        "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT\n"
        "NAME Chad ACTION PICK mug PLACE mug_coaster"
    )
    (failure,) = feedback.failures
    assert failure.kind is FailureKind.COLLISION
    assert failure.robots == ("Chad",)
    assert "colliding pairs: Chad-left_door, Chad-right_door" in feedback.text()


def test_two_grippers_at_the_same_waypoint_collide() -> None:
    env = pack_env()
    alice = good_alice_path(env)
    bob = list(arc_path(env.grippers["Bob"].position, env.top("milk"), 0.65))
    bob[2] = alice[2]
    feedback = env.check(pack_plan(env, alice, bob))
    (failure,) = feedback.failures
    assert (failure.kind, failure.where) == (FailureKind.COLLISION, "Waypoint 3")
    assert failure.robots == ("Alice", "Bob")
    assert "colliding pairs: Alice-Bob" in feedback.text()


def test_reach_is_checked_before_ik_at_the_same_step() -> None:
    env = pack_env()
    alice = good_alice_path(env)
    bob = list(arc_path(env.grippers["Bob"].position, env.top("milk"), 0.65))
    alice[0] = (-0.2, -0.5, 0.5)
    bob[0] = (1.5, 1.45, 0.5)
    steps = {s.label: s for s in env.check(pack_plan(env, alice, bob)).steps}
    assert [f.kind for f in steps["Waypoint 1"].failures] == [FailureKind.REACH]
    assert not env.specs["Bob"].solves((1.5, 1.45, 0.5))


def test_ik_is_checked_before_collision_at_the_same_step() -> None:
    env = pack_env()
    alice = good_alice_path(env)
    bob = list(arc_path(env.grippers["Bob"].position, env.top("milk"), 0.65))
    alice[0] = bob[0] = (1.5, 1.45, 0.5)
    steps = {s.label: s for s in env.check(pack_plan(env, alice, bob)).steps}
    assert [(f.kind, f.robots) for f in steps["Waypoint 1"].failures] == [
        (FailureKind.IK, ("Alice",)),
        (FailureKind.IK, ("Bob",)),
    ]


def test_height_band_is_checked_per_waypoint() -> None:
    env = pack_env()
    path = good_alice_path(env)
    path[3] = (path[3][0], path[3][1], 0.85)
    (failure,) = env.check(pack_plan(env, path)).failures
    assert (failure.kind, failure.where) == (FailureKind.REACH, "Waypoint 4")
    assert "out of the height band 0.25..0.80" in failure.detail


def test_uneven_paths_fail_the_evenness_check_with_the_worst_steps() -> None:
    env = pack_env()
    x, y, z = env.grippers["Alice"].position
    backwards = [(x, y - 0.1 * k, z) for k in range(1, 5)]
    feedback = env.check(pack_plan(env, backwards))
    (failure,) = feedback.failures
    assert (failure.kind, failure.robots) == (FailureKind.PATH, ("Alice",))
    assert "Path check failed: Alice's path must be more evenly spaced" in feedback.text()
    assert "too short" in failure.detail
    assert "exceeds 0.19" in failure.detail


def test_evenness_is_skipped_when_a_waypoint_already_failed() -> None:
    env = pack_env()
    x, y, z = env.grippers["Alice"].position
    bunched = [(x, y + 0.02 * k, z) for k in range(1, 5)]
    bunched[0] = (x, y, 0.9)
    assert env.check(pack_plan(env, bunched)).kinds() == {FailureKind.REACH}


def test_rope_span_is_checked_while_both_robots_carry_it() -> None:
    env = RopeEnv(seed=4)
    env.step(solve_rope(env))
    plan = solve_rope(env)
    bob = plan["Bob"]
    path = list(bob.path or ())
    path[1] = (path[1][0] + 0.35, path[1][1], path[1][2])
    plan = Plan((plan["Alice"], make_action(env.grammar, "Bob", bob.form, dict(bob.args), path)))
    (failure,) = env.check(plan).failures
    assert (failure.kind, failure.where, failure.robots) == (
        FailureKind.SPAN,
        "Waypoint 2",
        ("Alice", "Bob"),
    )
    assert "must stay within 0.58..0.86" in failure.detail


def test_a_plan_that_does_not_parse_is_reported_not_raised_by_step() -> None:
    env = make_env("rope", 0)
    before = env.full_observation()
    result = env.step(
        "EXECUTE\nNAME Alice ACTION PICK rope_front_end PATH [(0, 0.2, 0.5)]\n"
        "NAME Bob ACTION PICK rope_back_end PATH [(0, 0.2, 0.5)]"
    )
    assert not result.valid
    assert not result.executed
    assert isinstance(result.error, WrongWaypointCount)
    assert [f.kind for f in result.failures] == [FailureKind.PARSE]
    assert "could not be parsed: Alice's PATH has 1 waypoints" in result.feedback
    assert result.robot_feedback["Alice"].startswith("- parse:")
    assert result.robot_feedback["Bob"] == ""
    assert env.full_observation() == before
    assert env.steps == 0


def test_an_invalid_plan_changes_nothing_and_uses_no_step() -> None:
    env = sort_env("panel5", "panel1", "panel3")
    before = env.full_observation()
    result = env.step(
        "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"
    )
    assert not result.valid
    assert not result.executed
    assert (result.steps, env.steps, env.history) == (0, 0, [])
    assert env.full_observation() == before


def test_skipping_a_step_counts_it_and_the_budget_ends_the_episode() -> None:
    env = make_env("rope", 0)
    for n in range(1, 6):
        result = env.skip_step()
        assert result.steps == n
    assert result.done
    assert not result.success
    assert [h.plan for h in env.history] == [None] * 5
    with pytest.raises(EpisodeOver):
        env.step(solve_rope(env))


def test_stepping_after_success_raises() -> None:
    env = make_env("cabinet", 0)
    run_oracle(env)
    assert env.done
    with pytest.raises(EpisodeOver):
        env.skip_step()
