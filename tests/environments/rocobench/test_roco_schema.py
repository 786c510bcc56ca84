"""Per-robot action schemas: grammar-safe JSON Schema whose every instance is a well-formed,
individually legal action, and the way back from JSON to a plan line."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from environments.rocobench import (
    ORACLES,
    TASKS,
    BadJsonAction,
    FailureKind,
    action_from_json,
    make_env,
    plan_from_json,
    run_oracle,
)
from environments.rocobench.schema import grid_values

GRAMMAR_KEYWORDS = {
    "title",
    "oneOf",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "const",
    "enum",
    "items",
    "minItems",
    "maxItems",
}


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in the schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords(sub)
            elif key in ("oneOf", "items"):
                for sub in value if isinstance(value, list) else [value]:
                    found |= keywords(sub)
    return found


def sample(schema: dict[str, Any], rng: random.Random) -> Any:
    """A random instance of the subset of JSON Schema the environments emit."""
    if "oneOf" in schema:
        return sample(rng.choice(schema["oneOf"]), rng)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if schema.get("type") == "object":
        return {k: sample(v, rng) for k, v in schema["properties"].items()}
    if schema.get("type") == "array":
        n = rng.randint(schema["minItems"], schema["maxItems"])
        return [sample(schema["items"], rng) for _ in range(n)]
    raise AssertionError(f"unexpected schema {schema}")


@pytest.mark.parametrize("task", TASKS)
def test_schemas_use_only_keywords_llama_cpp_turns_into_grammar(task: str) -> None:
    env = make_env(task, 0)
    schema = env.plan_schema()
    assert keywords(schema) <= GRAMMAR_KEYWORDS
    json.dumps(schema)
    for alternative in schema["properties"][env.robots[0]]["oneOf"]:
        assert alternative["additionalProperties"] is False
        assert alternative["required"] == list(alternative["properties"])


@pytest.mark.parametrize("task", TASKS)
def test_every_schema_instance_renders_to_a_plan_that_parses(task: str) -> None:
    rng = random.Random(task)
    for seed in range(3):
        env = make_env(task, seed)
        for _ in range(30):
            actions = {r: sample(env.action_schema(r), rng) for r in env.robots}
            plan = env.parse(plan_from_json(env, actions))
            assert plan.robots == env.robots


@pytest.mark.parametrize("task", ["sort", "cabinet", "sweep", "sandwich"])
def test_each_offered_action_passes_the_robots_own_rules(task: str) -> None:
    rng = random.Random(7)
    env = make_env(task, 5)
    while not env.done:
        for robot in env.robots:
            for alternative in env.action_schema(robot)["oneOf"]:
                action = sample(alternative, rng)
                others = {r: {"action": "WAIT"} for r in env.robots if r != robot}
                if action["action"] == "WAIT":
                    continue
                feedback = env.check(plan_from_json(env, {robot: action, **others}))
                assert FailureKind.RULE not in feedback.kinds(), feedback.text()
        env.step(ORACLES[env.name](env))


def test_options_follow_the_state() -> None:
    env = make_env("cabinet", 0)
    alice = env.action_schema("Alice")["oneOf"]
    assert [a["properties"]["action"]["const"] for a in alice] == ["PICK", "PICK_PLACE", "WAIT"]
    assert alice[0]["properties"]["object"]["enum"] == ["left_door_handle"]
    chad = env.action_schema("Chad")["oneOf"]
    assert [a["properties"]["action"]["const"] for a in chad] == ["PICK_PLACE", "WAIT"]
    env.step(
        "EXECUTE\nNAME Alice ACTION PICK left_door_handle\n"
        "NAME Bob ACTION PICK right_door_handle\nNAME Chad ACTION WAIT"
    )
    alice = env.action_schema("Alice")["oneOf"]
    assert [a["properties"]["action"]["const"] for a in alice] == ["OPEN", "WAIT"]


def test_path_coordinates_are_grid_enums_inside_reach_and_band() -> None:
    env = make_env("rope", 0)
    path = env.action_schema("Bob")["oneOf"][0]["properties"]["path"]
    assert (path["minItems"], path["maxItems"]) == (4, 4)
    axes = path["items"]["properties"]
    assert axes["x"]["enum"][0] == -1.3
    assert axes["x"]["enum"][-1] == 1.6
    assert axes["y"]["enum"][0] == 0.0
    assert axes["z"]["enum"] == [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
    assert grid_values(-0.12, 0.11) == [-0.1, -0.05, 0.0, 0.05, 0.1]


def test_json_actions_turn_back_into_plan_lines() -> None:
    sort = make_env("sort", 0)
    line = action_from_json(
        sort.grammar, "Bob", {"action": "PICK_PLACE", "object": "pink_polygon", "target": "panel3"}
    ).line()
    assert line == "NAME Bob ACTION PICK pink_polygon PLACE panel3"
    rope = make_env("rope", 0)
    point = {"x": -1.0, "y": 0.5, "z": 0.3}
    line = action_from_json(
        rope.grammar, "Alice", {"action": "PICK", "object": "rope_front_end", "path": [point] * 4}
    ).line()
    assert line == (
        "NAME Alice ACTION PICK rope_front_end PATH "
        "[(-1, 0.5, 0.3), (-1, 0.5, 0.3), (-1, 0.5, 0.3), (-1, 0.5, 0.3)]"
    )


@pytest.mark.parametrize(
    ("task", "data", "words"),
    [
        ("sort", {"action": "JUMP"}, "action='JUMP'"),
        ("sort", {"action": "PICK"}, "expected one of PICK_PLACE, WAIT"),
        ("sort", {"action": "WAIT", "object": "x"}, "exactly the keys"),
        ("sort", {"action": "PICK_PLACE", "object": "red_cube", "target": "panel1"}, "'red_cube'"),
        ("rope", {"action": "PICK", "object": "rope_front_end", "path": []}, "exactly 4 points"),
        (
            "rope",
            {
                "action": "PICK",
                "object": "rope_front_end",
                "path": [{"x": 0, "y": 0, "z": True}] * 4,
            },
            "point 1",
        ),
        (
            "rope",
            {"action": "PICK", "object": "rope_front_end", "path": [{"x": 0, "y": 0}] * 4},
            "numbers x, y, z",
        ),
    ],
)
def test_bad_json_actions_raise_a_typed_error(task: str, data: dict[str, Any], words: str) -> None:
    env = make_env(task, 0)
    with pytest.raises(BadJsonAction) as info:
        action_from_json(env.grammar, "Alice", data)
    assert words in info.value.message


def test_schemas_convert_to_a_llama_cpp_grammar() -> None:
    grammar = pytest.importorskip("llama_cpp.llama_grammar")
    for task in TASKS:
        env = make_env(task, 0)
        for schema in (env.action_schema(env.robots[-1]), env.plan_schema()):
            gbnf = grammar.json_schema_to_gbnf(json.dumps(schema))
            assert gbnf.count("root ::=") == 1
            grammar.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def test_oracle_runs_leave_schemas_valid_to_the_end() -> None:
    for task in TASKS:
        env = make_env(task, 1)
        run_oracle(env)
        for robot in env.robots:
            assert env.action_schema(robot)["oneOf"]
