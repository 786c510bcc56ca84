"""The EXECUTE contract: every malformed plan raises the typed error that says what is wrong."""

from __future__ import annotations

import pytest

from environments.rocobench import (
    BadArguments,
    BadPath,
    DuplicateRobot,
    MalformedLine,
    MissingExecute,
    MissingPath,
    MissingRobot,
    PlanError,
    UnexpectedPath,
    UnknownAction,
    UnknownObject,
    UnknownRobot,
    WrongWaypointCount,
    make_env,
    parse_plan,
)
from environments.rocobench.plan import format_path

SORT = make_env("sort", 0)
PACK = make_env("pack", 0)
PATH4 = "[(0, 0.2, 0.5), (-0.1, 0.3, 0.5), (-0.2, 0.35, 0.5), (-0.25, 0.4, 0.45)]"


def sort_plan(alice: str = "WAIT", bob: str = "WAIT", chad: str = "PICK blue_square PLACE panel5"):
    return f"EXECUTE\nNAME Alice ACTION {alice}\nNAME Bob ACTION {bob}\nNAME Chad ACTION {chad}"


def pack_plan(alice_path: str = PATH4, bob_path: str = PATH4) -> str:
    return (
        f"EXECUTE\nNAME Alice ACTION PICK apple PATH {alice_path}\n"
        f"NAME Bob ACTION PICK milk PATH {bob_path}"
    )


def test_a_wellformed_plan_parses_into_one_action_per_robot_in_robot_order() -> None:
    text = "We agreed.\nEXECUTE\nNAME Chad ACTION PICK blue_square PLACE panel5\n"
    text += "NAME Alice ACTION WAIT\nNAME Bob ACTION PICK pink_polygon PLACE panel4\nThanks!"
    plan = SORT.parse(text)
    assert plan.robots == ("Alice", "Bob", "Chad")
    assert plan["Chad"].form == "PICK_PLACE"
    assert plan["Chad"].object == "blue_square"
    assert plan["Chad"].target == "panel5"
    assert plan["Alice"].form == "WAIT"
    assert SORT.parse(plan.text()) == plan


def test_a_path_plan_keeps_its_four_waypoints() -> None:
    plan = PACK.parse(pack_plan())
    assert plan["Alice"].path == (
        (0, 0.2, 0.5),
        (-0.1, 0.3, 0.5),
        (-0.2, 0.35, 0.5),
        (-0.25, 0.4, 0.45),
    )
    assert PACK.parse(plan.text()) == plan
    assert format_path(plan["Alice"].path or ()) in plan.text()


@pytest.mark.parametrize(
    ("text", "error", "robot", "words"),
    [
        ("NAME Alice ACTION WAIT", MissingExecute, None, "EXECUTE"),
        ("EXECUTE\n", MissingRobot, "Alice", "no line for Alice, Bob, Chad"),
        (sort_plan().replace("NAME Bob ACTION WAIT\n", ""), MissingRobot, "Bob", "Bob"),
        (sort_plan() + "\nNAME Bob ACTION WAIT", DuplicateRobot, "Bob", "two lines for Bob"),
        (sort_plan().replace("NAME Bob", "NAME Dave"), UnknownRobot, "Dave", "'Dave' is not"),
        (
            sort_plan().replace("NAME Bob ACTION WAIT", "NAME Bob WAIT"),
            MalformedLine,
            None,
            "NAME Bob WAIT",
        ),
        (
            sort_plan().replace("NAME Bob ACTION WAIT", "Bob ACTION WAIT"),
            MalformedLine,
            None,
            "must read",
        ),
        (sort_plan(bob=""), MalformedLine, "Bob", "no action"),
        (sort_plan(bob="JUMP"), UnknownAction, "Bob", "'JUMP' is not an action of sort"),
        (sort_plan(bob="SWEEP red_cube"), UnknownAction, "Bob", "SWEEP"),
        (
            sort_plan(bob="PICK pink_polygon PLACE"),
            BadArguments,
            "Bob",
            "PICK <object> PLACE <target>",
        ),
        (sort_plan(bob="WAIT now"), BadArguments, "Bob", "WAIT"),
        (sort_plan(bob="PICK red_cube PLACE panel4"), UnknownObject, "Bob", "'red_cube'"),
        (sort_plan(bob="PICK pink_polygon PLACE panel9"), UnknownObject, "Bob", "<target>"),
        (sort_plan(bob="WAIT PATH " + PATH4), UnexpectedPath, "Bob", "takes none"),
    ],
)
def test_each_malformed_sort_plan_raises_a_typed_error_naming_the_problem(
    text: str, error: type[PlanError], robot: str | None, words: str
) -> None:
    with pytest.raises(error) as info:
        SORT.parse(text)
    assert words in info.value.message
    if robot is not None:
        assert info.value.robot == robot
    assert info.value.code != PlanError.code


@pytest.mark.parametrize(
    ("alice_path", "error", "words"),
    [
        (None, MissingPath, "no PATH"),
        ("(0, 0.2, 0.5), (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)", BadPath, "square brackets"),
        ("[(0, 0.2), (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)]", BadPath, "three numbers"),
        ("[(0, 0.2, 0.5) (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)]", BadPath, "missing a comma"),
        ("[(0, 0.2, 0.5), (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5),]", BadPath, "','"),
        ("[(0, 0.2, 0.5); (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)]", BadPath, "has ';'"),
        (
            "[(0, a, 0.5), (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)]",
            BadPath,
            "'a', which is not",
        ),
        ("[(0, 1e999, 0.5), (0, 0.3, 0.5), (0, 0.4, 0.5), (0, 0.5, 0.5)]", BadPath, "not finite"),
        ("[(0, 0.2, 0.5), (0, 0.3, 0.5), (0, 0.4, 0.5)]", WrongWaypointCount, "has 3 waypoints"),
        (
            "[(0,0.2,0.5),(0,0.3,0.5),(0,0.4,0.5),(0,0.5,0.5),(0,0.6,0.5)]",
            WrongWaypointCount,
            "has 5",
        ),
        ("[]", WrongWaypointCount, "has 0 waypoints"),
    ],
)
def test_each_malformed_path_raises_a_typed_error(
    alice_path: str | None, error: type[PlanError], words: str
) -> None:
    text = pack_plan()
    if alice_path is None:
        text = text.replace(f" PATH {PATH4}\nNAME Bob", "\nNAME Bob")
    else:
        text = text.replace(PATH4, alice_path, 1)
    with pytest.raises(error) as info:
        PACK.parse(text)
    assert words in info.value.message
    assert info.value.robot == "Alice"


def test_the_near_miss_forms_parse_so_that_task_rules_can_explain_them() -> None:
    assert SORT.parse(sort_plan(bob="PICK pink_polygon"))["Bob"].form == "PICK"
    wait = pack_plan().replace(f"PICK milk PATH {PATH4}", f"WAIT PATH {PATH4}")
    assert PACK.parse(wait)["Bob"].form == "WAIT"


def test_without_a_grammar_only_the_envelope_is_checked() -> None:
    plan = parse_plan("EXECUTE\nNAME A ACTION DANCE wildly\nNAME B ACTION WAIT", ("A", "B"))
    assert plan["A"].text == "DANCE wildly"
    with pytest.raises(MissingRobot):
        parse_plan("EXECUTE\nNAME A ACTION WAIT", ("A", "B"))


def test_only_text_after_the_first_execute_counts() -> None:
    text = "NAME Alice ACTION JUMP\n" + sort_plan()
    assert SORT.parse(text)["Alice"].form == "WAIT"
