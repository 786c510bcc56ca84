"""Each action described by its effect under the task's rules, graded against the goal state."""

from __future__ import annotations

import pytest

from environments.rocobench import TASKS, Action, RocoEnv, make_env
from environments.rocobench.cabinet import CabinetEnv
from environments.rocobench.effects import AWAY, GOAL, IDLE, effect, progress
from environments.rocobench.plan import make_action
from environments.rocobench.sandwich import SandwichEnv
from environments.rocobench.sort import SortEnv, panel_point
from environments.rocobench.sweep import SweepEnv


def act(env: RocoEnv, robot: str, text: str) -> Action:
    return env.parse(
        "EXECUTE\n"
        + "\n".join(f"NAME {r} ACTION {text if r == robot else _filler(env)}" for r in env.robots)
    )[robot]


def _filler(env: RocoEnv) -> str:
    return (
        "PICK rope_front_end PATH [(0,0,0.3),(0,0,0.3),(0,0,0.3),(0,0,0.3)]"
        if (env.name == "rope")
        else "WAIT"
    )


def test_sort_grades_a_cube_on_its_bin_above_a_hand_off_above_waiting_above_moving_away() -> None:
    env = SortEnv(0)
    env.cubes["blue_square"] = panel_point("panel3")
    env.cubes["pink_polygon"] = panel_point("panel1")
    env.cubes["yellow_trapezoid"] = panel_point("panel4")
    home = effect(env, act(env, "Alice", "PICK blue_square PLACE panel2"))
    hand = effect(env, act(env, "Bob", "PICK yellow_trapezoid PLACE panel5"))
    away = effect(env, act(env, "Alice", "PICK blue_square PLACE panel1"))
    wait = effect(env, act(env, "Alice", "WAIT"))
    assert home.value == GOAL
    assert "done" in home.text
    assert "toward its bin panel6" in hand.text
    assert "within reach" in hand.text
    assert home.value > hand.value > wait.value > away.value
    assert away.value == AWAY
    assert "away" in away.text
    assert wait.value == IDLE
    assert "blue_square on panel3, needs panel2" in progress(env)


def test_sort_marks_a_clash_with_what_a_teammate_is_about_to_do() -> None:
    env = SortEnv(0)
    env.cubes["blue_square"] = panel_point("panel7")
    env.cubes["yellow_trapezoid"] = panel_point("panel3")
    mine = act(env, "Chad", "PICK blue_square PLACE panel5")
    bob = act(env, "Bob", "PICK yellow_trapezoid PLACE panel5")
    assert effect(env, mine).value > IDLE
    clash = effect(env, mine, {"Bob": bob})
    assert clash.value == AWAY
    assert "Bob places on panel5" in clash.text


def test_sort_refuses_putting_back_the_cube_just_moved_and_values_clearing_a_bin() -> None:
    env = SortEnv(0)
    env.cubes["blue_square"] = panel_point("panel6")
    env.cubes["pink_polygon"] = panel_point("panel1")
    env.cubes["yellow_trapezoid"] = panel_point("panel5")
    clear = effect(env, act(env, "Chad", "PICK blue_square PLACE panel7"))
    assert (
        IDLE < clear.value < effect(env, act(env, "Alice", "PICK pink_polygon PLACE panel3")).value
    )
    assert "clears panel6" in clear.text
    env.step(
        "EXECUTE\nNAME Alice ACTION PICK pink_polygon PLACE panel3\nNAME Bob ACTION WAIT\n"
        "NAME Chad ACTION PICK blue_square PLACE panel7"
    )
    env.step(
        "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION PICK pink_polygon PLACE panel4\n"
        "NAME Chad ACTION PICK yellow_trapezoid PLACE panel6"
    )
    env.step(
        "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT\n"
        "NAME Chad ACTION PICK blue_square PLACE panel5"
    )
    undo = effect(env, act(env, "Chad", "PICK blue_square PLACE panel7"))
    assert undo.pointless
    assert "undoing" in undo.text


def test_sweep_joins_the_teammate_where_it_goes_and_refuses_moving_where_it_is() -> None:
    env = SweepEnv(0)
    env.step("EXECUTE\nNAME Alice ACTION MOVE red_cube\nNAME Bob ACTION MOVE green_cube")
    assert effect(env, act(env, "Alice", "MOVE red_cube")).pointless
    join = effect(env, act(env, "Alice", "MOVE green_cube"))
    stay = effect(env, act(env, "Bob", "WAIT"))
    assert join.value > stay.value > IDLE  # Alice comes to Bob, Bob keeps his broom there
    coming = {"Alice": act(env, "Alice", "MOVE green_cube")}
    assert (
        effect(env, act(env, "Bob", "MOVE red_cube"), coming).value
        < effect(env, act(env, "Bob", "WAIT"), coming).value
    )  # no swap: Bob waits for Alice instead of going where she was


def test_sweep_grades_sweeping_and_holding_the_dustpan_still_above_leaving() -> None:
    env = SweepEnv(0)
    env.step("EXECUTE\nNAME Alice ACTION MOVE red_cube\nNAME Bob ACTION MOVE red_cube")
    assert effect(env, act(env, "Bob", "SWEEP red_cube")).value == GOAL
    hold = effect(env, act(env, "Alice", "WAIT"))
    leave = effect(env, act(env, "Alice", "MOVE blue_cube"))
    assert hold.value > leave.value
    assert "SWEEP" in hold.text


def test_cabinet_says_the_doors_block_the_items_until_both_are_open() -> None:
    env = CabinetEnv(0)
    blocked = effect(env, act(env, "Chad", "PICK mug PLACE mug_coaster"))
    wrong = effect(env, act(env, "Chad", "PICK mug PLACE cup_coaster"))
    assert blocked.value == AWAY
    assert "closed" in blocked.text
    assert wrong.value == AWAY
    assert "wrong coaster" in wrong.text
    env.step(
        "EXECUTE\nNAME Alice ACTION PICK left_door_handle\n"
        "NAME Bob ACTION PICK right_door_handle\nNAME Chad ACTION WAIT"
    )
    env.step(
        "EXECUTE\nNAME Alice ACTION OPEN left_door_handle\n"
        "NAME Bob ACTION OPEN right_door_handle\nNAME Chad ACTION WAIT"
    )
    assert effect(env, act(env, "Chad", "PICK mug PLACE mug_coaster")).value == GOAL
    assert "holds the left_door open" in effect(env, act(env, "Alice", "WAIT")).text


def test_sandwich_prefers_the_next_recipe_item_and_refuses_putting_a_pick_back() -> None:
    env = SandwichEnv(0)
    first = env.recipe[0]
    cook = env.owners()[first]
    later = next(f for f in env.recipe[1:] if env.owners()[f] == cook)
    nxt = effect(env, act(env, cook, f"PICK {first}"))
    assert nxt.value > effect(env, act(env, cook, f"PICK {later}")).value > IDLE
    plan = "\n".join(
        f"NAME {r} ACTION {'PICK ' + first if r == cook else 'WAIT'}" for r in env.robots
    )
    env.step("EXECUTE\n" + plan)
    back = effect(env, act(env, cook, f"PUT {first} table"))
    assert back.pointless
    assert back.value < IDLE
    assert effect(env, act(env, cook, f"PUT {first} cutting_board")).value == GOAL
    holding = effect(env, act(env, cook, "WAIT"))  # nothing to wait for: the base is there
    assert holding.text == f"holds {first}, the next recipe item, without stacking it"
    assert holding.value < GOAL


@pytest.mark.parametrize("task", list(TASKS))
def test_every_legal_option_has_a_description_and_the_state_a_summary(task: str) -> None:
    env = make_env(task, seed=3)
    assert progress(env)
    for robot in env.robots:
        for option in env.legal_options(robot):
            slots = env.grammar.form(option.form).slots
            args = {s: option.choices[s][0] for s in slots}
            assert effect(env, make_action(env.grammar, robot, option.form, args)).text
