"""Success tests sit exactly at RoCo's thresholds (inclusive where RoCo fails on `>`,
exclusive where it succeeds on `<`)."""

from __future__ import annotations

from environments.rocobench.cabinet import CabinetEnv, item_placed
from environments.rocobench.pack import BIN, PackEnv, item_packed
from environments.rocobench.rope import GROOVE_ENDS, RopeEnv, rope_in_groove
from environments.rocobench.sandwich import SandwichEnv, stack_result
from environments.rocobench.sort import SortEnv, cube_sorted, panel_point
from environments.rocobench.sweep import TRASH_BIN, SweepEnv, cube_trashed

EPS = 1e-9


def test_sort_cube_counts_within_0_1_in_xy_of_its_bin() -> None:
    assert cube_sorted((0.1, 0.5, 0.9), "pink_polygon")
    assert not cube_sorted((0.1 + EPS, 0.5, 0.2), "pink_polygon")
    assert cube_sorted((0.0, 0.4, 0.2), "pink_polygon")
    env = SortEnv(0)
    for cube, panel in (("blue_square", "panel2"), ("pink_polygon", "panel4")):
        env.cubes[cube] = panel_point(panel)
    assert not env.success()
    env.cubes["yellow_trapezoid"] = (0.8 + 0.1, 0.5, 0.2)
    assert env.success()
    assert env.done


def test_cabinet_item_counts_within_0_25_of_its_own_coaster() -> None:
    coaster = (0.0, 0.5, 0.17)
    assert item_placed("mug", (0.25, 0.5, 0.17), coaster)
    assert not item_placed("mug", (0.25 + EPS, 0.5, 0.17), coaster)
    env = CabinetEnv(0)
    env.items["mug"] = env.coaster_point("cup_coaster")
    env.items["cup"] = env.coaster_point("mug_coaster")
    assert not env.success()
    env.items["mug"] = env.coaster_point("mug_coaster")
    env.items["cup"] = env.coaster_point("cup_coaster")
    assert env.success()


def test_sweep_cube_counts_within_0_2_of_the_trash_bin_bottom() -> None:
    x, y, z = TRASH_BIN
    assert cube_trashed((x + 0.2, y, z))
    assert not cube_trashed((x + 0.2 + EPS, y, z))
    env = SweepEnv(0)
    for cube in env.cubes:
        env.cubes[cube] = (x + 0.2, y, z)
    assert env.success()


def test_pack_item_counts_in_a_slot_or_within_0_06_of_the_bin_centre() -> None:
    assert (BIN[0] + 0.06) - BIN[0] == 0.06
    assert item_packed((BIN[0] + 0.06, BIN[1], 0.3), in_bin=False)
    assert not item_packed((BIN[0] + 0.06 + EPS, BIN[1], 0.3), in_bin=False)
    assert item_packed((5.0, 5.0, 5.0), in_bin=True)
    env = PackEnv(0)
    for item in env.items:
        env.items[item] = (BIN[0] - 0.06, BIN[1], 0.2)
    assert env.success()


def test_rope_counts_with_either_pairing_under_0_2_and_touching_the_groove() -> None:
    left, right = GROOVE_ENDS["groove_left_end"], GROOVE_ENDS["groove_right_end"]
    near = 0.2 - 1e-6
    front = (left[0] + near, left[1], left[2])
    back = (right[0], right[1] - near, right[2])
    assert rope_in_groove(front, back, touching_bottom=True)
    assert rope_in_groove(back, front, touching_bottom=True)
    assert not rope_in_groove(front, back, touching_bottom=False)
    exactly = (0.4, left[1], left[2])
    assert exactly[0] - left[0] == 0.2
    assert not rope_in_groove(exactly, back, touching_bottom=True)
    env = RopeEnv(0)
    env.ends = {"rope_front_end": front, "rope_back_end": back}
    assert not env.success()
    env.in_groove = True
    assert env.success()


def test_sandwich_succeeds_on_the_recipe_and_fails_at_once_on_a_wrong_first_item() -> None:
    recipe = ("bread_slice1", "ham", "cheese", "bread_slice2")
    assert stack_result(list(recipe), recipe) == (True, False)
    assert stack_result(list(recipe[:3]), recipe) == (False, False)
    assert stack_result(["cheese"], recipe) == (False, True)
    assert stack_result([], recipe) == (False, False)
    env = SandwichEnv(0)
    env.stack = ["cheese"]
    assert env.done
    assert not env.success()
    env.stack = list(env.recipe)
    assert env.success()
