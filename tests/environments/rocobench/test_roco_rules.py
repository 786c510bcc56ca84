"""Every task rule rejects what RoCo rejects, with a message that names the robot and the reason."""

from __future__ import annotations

import pytest

from environments.rocobench import FailureKind, RocoEnv, make_env
from environments.rocobench.cabinet import CabinetEnv
from environments.rocobench.oracles import solve_pack, solve_rope
from environments.rocobench.pack import PackEnv
from environments.rocobench.rope import RopeEnv
from environments.rocobench.sandwich import SandwichEnv
from environments.rocobench.sort import SortEnv, panel_point
from environments.rocobench.sweep import SweepEnv

P4 = "PATH [(0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5), (0, 0.6, 0.5)]"


def rules(env: RocoEnv, text: str) -> list[str]:
    feedback = env.check(text)
    assert feedback.kinds() <= {FailureKind.RULE}
    return [f.detail for f in feedback.rules]


def plan(**actions: str) -> str:
    return "EXECUTE\n" + "\n".join(f"NAME {r} ACTION {a}" for r, a in actions.items())


# ---- shared gripper rules ------------------------------------------------------------------------


def test_two_robots_cannot_pick_the_same_object() -> None:
    env = SortEnv(0)
    env.cubes["yellow_trapezoid"] = panel_point("panel3")
    got = rules(
        env,
        plan(
            Alice="PICK yellow_trapezoid PLACE panel1",
            Bob="PICK yellow_trapezoid PLACE panel5",
            Chad="WAIT",
        ),
    )
    assert "Bob and Alice can't both PICK yellow_trapezoid" in got


def test_a_full_gripper_cannot_pick_and_an_object_held_by_another_cannot_be_picked() -> None:
    env = CabinetEnv(0)
    env.step(plan(Alice="PICK left_door_handle", Bob="PICK right_door_handle", Chad="WAIT"))
    got = rules(
        env, plan(Alice="PICK mug PLACE mug_coaster", Bob="PICK left_door_handle", Chad="WAIT")
    )
    assert "Alice holds left_door_handle and can't PICK mug with a full gripper" in got
    assert "Bob can't PICK left_door_handle: Alice is holding it" in got


# ---- Sort ----------------------------------------------------------------------------------------


@pytest.fixture
def sort() -> SortEnv:
    env = SortEnv(0)
    for cube, panel in (
        ("blue_square", "panel5"),
        ("pink_polygon", "panel1"),
        ("yellow_trapezoid", "panel3"),
    ):
        env.cubes[cube] = panel_point(panel)
    return env


@pytest.mark.parametrize(
    ("alice", "bob", "chad", "expected"),
    [
        ("PICK pink_polygon", "WAIT", "WAIT", "Alice's ACTION must PICK and PLACE together"),
        ("WAIT", "PLACE panel4", "WAIT", "Bob's ACTION must PICK and PLACE together"),
        (
            "WAIT",
            "WAIT",
            "WAIT",
            "you can't all WAIT: the task is not done, at least one robot must act",
        ),
        (
            "PICK pink_polygon PLACE panel2",
            "WAIT",
            "WAIT",
            "Alice can't place pink_polygon on panel2: "
            "pink_polygon may go only on panel4, panel3, panel5",
        ),
        (
            "PICK pink_polygon PLACE panel3",
            "WAIT",
            "WAIT",
            "Alice can't place pink_polygon on panel3: yellow_trapezoid is already there",
        ),
        (
            "PICK yellow_trapezoid PLACE panel1",
            "WAIT",
            "WAIT",
            "Alice can't place yellow_trapezoid on panel1: pink_polygon is already there",
        ),
        (
            "WAIT",
            "PICK yellow_trapezoid PLACE panel4",
            "WAIT",
            "Bob can't place yellow_trapezoid on panel4: "
            "yellow_trapezoid may go only on panel6, panel3, panel5",
        ),
    ],
)
def test_sort_rules(sort: SortEnv, alice: str, bob: str, chad: str, expected: str) -> None:
    assert expected in rules(sort, plan(Alice=alice, Bob=bob, Chad=chad))


def test_sort_lets_a_cube_land_where_another_leaves_in_the_same_step(sort: SortEnv) -> None:
    sort.cubes["blue_square"] = panel_point("panel7")
    handoff = plan(
        Alice="PICK pink_polygon PLACE panel3",
        Bob="PICK yellow_trapezoid PLACE panel5",
        Chad="WAIT",
    )
    assert sort.check(handoff).passed
    result = sort.step(handoff)
    assert result.executed
    assert "pink_polygon is on panel3" in sort.observation("Bob")
    assert "yellow_trapezoid is on panel5" in sort.observation("Chad")


def test_two_robots_cannot_place_on_one_panel(sort: SortEnv) -> None:
    sort.cubes["yellow_trapezoid"] = panel_point("panel7")
    got = rules(
        sort,
        plan(
            Alice="WAIT",
            Bob="PICK blue_square PLACE panel3",
            Chad="PICK yellow_trapezoid PLACE panel5",
        ),
    )
    assert got == []
    sort.cubes["pink_polygon"] = panel_point("panel2")
    got = rules(
        sort,
        plan(
            Alice="PICK pink_polygon PLACE panel3", Bob="PICK blue_square PLACE panel3", Chad="WAIT"
        ),
    )
    assert "Bob and Alice can't both place on panel3" in got


# ---- Cabinet -------------------------------------------------------------------------------------


def test_cabinet_rules() -> None:
    env = CabinetEnv(0)
    got = rules(
        env, plan(Alice="PICK mug", Bob="OPEN right_door_handle", Chad="PICK right_door_handle")
    )
    assert "Alice's ACTION must PICK and PLACE mug together" in got
    assert "Bob must PICK right_door_handle before it can OPEN it" in got
    assert "Chad cannot reach the doors" in got
    assert "you can't all WAIT" in " ".join(rules(env, plan(Alice="WAIT", Bob="WAIT", Chad="WAIT")))


def test_cabinet_doors_open_and_stay_held() -> None:
    env = CabinetEnv(3)
    env.step(plan(Alice="PICK left_door_handle", Bob="PICK right_door_handle", Chad="WAIT"))
    assert "left_door is closed" in env.observation("Chad")
    env.step(plan(Alice="OPEN left_door_handle", Bob="OPEN right_door_handle", Chad="WAIT"))
    assert "left_door is open" in env.observation("Chad")
    assert "right_door is open" in env.observation("Chad")
    result = env.step(plan(Alice="WAIT", Bob="WAIT", Chad="PICK mug PLACE mug_coaster"))
    assert result.executed
    assert "mug is on mug_coaster" in env.observation("Alice")


# ---- Sweep ---------------------------------------------------------------------------------------


def test_sweep_rules() -> None:
    env = SweepEnv(0)
    assert "Alice must WAIT while Bob SWEEPs" in rules(
        env, plan(Alice="MOVE red_cube", Bob="SWEEP red_cube")
    )
    assert "SWEEP red_cube only after both robots have MOVEd to red_cube" in rules(
        env, plan(Alice="WAIT", Bob="SWEEP red_cube")
    )
    got = rules(env, plan(Alice="SWEEP red_cube", Bob="DUMP"))
    assert "Alice can't SWEEP: only Bob holds a broom" in got
    assert "Bob can't DUMP: only Alice holds the dustpan" in got
    assert "Alice can't DUMP: the dustpan is empty" in rules(env, plan(Alice="DUMP", Bob="WAIT"))
    assert any(
        "MOVE takes a cube" in r for r in rules(env, plan(Alice="MOVE trash_bin", Bob="WAIT"))
    )


def test_sweep_moves_sweeps_and_dumps() -> None:
    env = SweepEnv(0)
    assert env.step(plan(Alice="MOVE red_cube", Bob="MOVE red_cube")).executed
    assert "Your dustpan is next to red_cube, at distance 0.40" in env.observation("Alice")
    assert env.step(plan(Alice="WAIT", Bob="SWEEP red_cube")).executed
    assert "red_cube is at" in env.observation("Bob")
    assert "inside the dustpan" in env.observation("Bob")
    assert "red_cube: it is no longer on the table" in " ".join(
        rules(env, plan(Alice="MOVE red_cube", Bob="WAIT"))
    )
    assert env.step(plan(Alice="DUMP", Bob="MOVE green_cube")).executed
    assert "inside trash_bin" in env.full_observation()


# ---- Pack ----------------------------------------------------------------------------------------


def test_pack_rules() -> None:
    env = PackEnv(0)
    got = rules(env, plan(Alice=f"WAIT {P4}", Bob=f"PLACE apple bin_front_left {P4}"))
    assert "Alice's ACTION is invalid: it can only PICK or PLACE" in got
    assert "Bob must PICK apple before it can PLACE it" in got
    env.step(solve_pack(env))
    env.step(solve_pack(env))
    packed = next(i for i, s in env.slot_of.items() if s is not None)
    slot = env.slot_of[packed]
    got = rules(env, plan(Alice=f"PICK {packed} {P4}", Bob=f"PICK {packed} {P4}"))
    assert f"Alice can't PICK {packed}: it is already in the bin" in got
    env.step(solve_pack(env))
    a, b = env.grippers["Alice"].holding, env.grippers["Bob"].holding
    got = rules(env, plan(Alice=f"PLACE {a} {slot} {P4}", Bob=f"PLACE {b} bin_back_middle {P4}"))
    assert any(f"Alice can't PLACE into {slot}: {packed} is already there" == r for r in got)
    free = env.free_slots()[0]
    got = rules(env, plan(Alice=f"PLACE {a} {free} {P4}", Bob=f"PLACE {b} {free} {P4}"))
    assert f"Bob and Alice can't both PLACE into {free}" in got


# ---- Rope ----------------------------------------------------------------------------------------


def test_rope_rules() -> None:
    env = RopeEnv(0)
    got = rules(env, plan(Alice=f"WAIT {P4}", Bob=f"PLACE rope_back_end groove_left_end {P4}"))
    assert got == [
        "Alice's ACTION is not supported here: use PICK or PUT",
        "Bob's ACTION is not supported here: use PICK or PUT",
    ]
    assert "MOVE" in make_env("rope").grammar.verbs
    got = rules(
        env, plan(Alice=f"PICK rope_front_end {P4}", Bob=f"PUT rope_back_end groove_left_end {P4}")
    )
    assert "the rope is heavy: both robots must PICK or PUT in the same round" in got
    assert "Bob must hold rope_back_end to PUT it" in got
    env.step(solve_rope(env))
    front = next(r for r, g in env.grippers.items() if g.holding == "rope_front_end")
    back = next(r for r in env.robots if r != front)
    got = rules(
        env,
        plan(
            **{
                front: f"PUT rope_front_end groove_left_end {P4}",
                back: f"PUT rope_back_end groove_left_end {P4}",
            }
        ),
    )
    assert got == [
        "each groove end holds only one rope end: Bob and Alice both chose groove_left_end"
    ]


# ---- Sandwich ------------------------------------------------------------------------------------


def sandwich_holding(seed: int = 0) -> SandwichEnv:
    env = SandwichEnv(seed)
    owner = env.owners()
    first = env.recipe[0]
    picker = owner[first]
    other = next(r for r in env.robots if r != picker)
    env.step(plan(**{picker: f"PICK {first}", other: "WAIT"}))
    return env


def test_sandwich_rules() -> None:
    env = sandwich_holding()
    holder = next(r for r, g in env.grippers.items() if g.holding == "bread_slice1")
    other = next(r for r in env.robots if r != holder)
    assert rules(
        env, plan(**{holder: "PICK bread_slice1 PUT bread_slice1 cutting_board", other: "WAIT"})
    ) == [f"{holder} can't PICK and PUT in the same action"]
    assert rules(env, plan(**{holder: "PUT bread_slice1 cheese", other: "WAIT"})) == [
        "the recipe puts bread_slice1 on cutting_board"
    ]
    assert rules(env, plan(**{holder: "WAIT", other: "PUT cheese bread_slice1"})) == [
        f"{other} must PICK cheese before it can PUT it"
    ]
    second = env.recipe[1]
    env.grippers[other].holding = second
    got = rules(env, plan(**{holder: "WAIT", other: f"PUT {second} bread_slice1"}))
    assert got == ["bread_slice1 is not on cutting_board yet"]
    assert rules(env, plan(**{holder: "WAIT", other: f"PUT {second} cutting_board"})) == [
        f"{second} can't be put on cutting_board"
    ]
    assert rules(env, plan(**{holder: "WAIT", other: f"PUT {second} bread_slice2"})) == [
        f"the recipe puts {second} on bread_slice1"
    ]
    both = plan(**{holder: "PUT bread_slice1 cutting_board", other: f"PUT {second} table"})
    assert rules(env, both) == ["only one robot can PUT at a time"]
    outsider = next(f for f in ("bacon", "ham", "beef_patty", "cucumber") if f not in env.recipe)
    env.grippers[other].holding = outsider
    assert rules(env, plan(**{holder: "WAIT", other: f"PUT {outsider} bread_slice1"})) == [
        f"{outsider} is not in the recipe"
    ]


def test_sandwich_stacked_food_cannot_be_picked_and_the_other_side_is_out_of_reach() -> None:
    env = sandwich_holding()
    holder = next(r for r, g in env.grippers.items() if g.holding == "bread_slice1")
    other = next(r for r in env.robots if r != holder)
    env.step(plan(**{holder: "PUT bread_slice1 cutting_board", other: "WAIT"}))
    assert rules(env, plan(**{holder: "PICK bread_slice1", other: "WAIT"})) == [
        f"{holder} can't PICK bread_slice1: it is already stacked"
    ]
    foreign = next(f for f, o in env.owners().items() if o == other and f not in env.stack)
    feedback = env.check(plan(**{holder: f"PICK {foreign}", other: "WAIT"}))
    assert feedback.kinds() == {FailureKind.REACH}
    assert feedback.failures[0].robots == (holder,)
