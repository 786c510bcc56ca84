"""The lab's parts: topologies, the grid, the shipped experiments, the random baselines."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from agents.lab import Budgets, CellContext, expand, load_experiment, parse_experiment
from agents.lab.cell import NA, Cell
from agents.lab.errors import BadExperiment
from agents.lab.tasksets.goals import GoalTasks
from agents.lab.topology import KINDS, build_graph, links, parse_topology
from agents.robots import ModeSettings, make_planner
from agents.robots.runner import EpisodeOptions, run_episode
from environments.rocobench import TASKS, make_env
from ioa.hub import Hub

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "lab"


@pytest.mark.parametrize("kind", [*KINDS[:-1], "random[0.2, 3]", "random[0, 0]"])
@pytest.mark.parametrize("n", [2, 4, 7])
def test_every_topology_reaches_every_member(kind: str, n: int) -> None:
    graph = build_graph(parse_topology(kind), n)
    assert sorted(graph.nodes) == list(range(n))
    assert nx.is_connected(graph)


def test_topologies_have_their_shapes_and_become_links_between_members() -> None:
    members = ["a", "b", "c", "d"]
    assert links(build_graph(parse_topology("chain"), 4), members) == {
        "a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"],
    }  # fmt: skip
    star = links(build_graph(parse_topology("star"), 4), members)
    assert star is not None
    assert star["a"] == ["b", "c", "d"]
    assert star["d"] == ["a"]
    tree = links(build_graph(parse_topology("tree"), 4), members)
    assert tree is not None
    assert tree["b"] == ["a", "d"]
    assert links(build_graph(parse_topology("complete"), 4), members) is None
    drawn = [build_graph(parse_topology("random[0.5, 7]"), 6).edges for _ in range(2)]
    assert list(drawn[0]) == list(drawn[1])
    assert parse_topology("random [0.5 , 7]").label == "random[0.5,7]"


def test_the_grid_gives_baselines_per_task_and_seed_and_random_per_protocol_where_it_plays() -> (
    None
):
    grid = expand(
        parse_experiment(
            {
                "name": "g",
                "tasks": ["roco:sort", "goals:add", "goals:area"],
                "protocols": ["dialog", "ioa"],
                "topologies": ["complete", "star", "chain"],
                "models": ["none", "m.gguf"],
                "seeds": [3, 4],
            }
        )
    )
    roco = [c for c in grid.cells if c.family == "roco"]
    assert len(roco) == 2 * (1 + 1 + 2)  # seeds × (oracle, random, dialog, ioa); no topology
    assert {c.topology for c in roco} == {NA}
    goals = [c for c in grid.cells if c.task == "add"]
    assert len(goals) == 2 * (1 + 3 + 3)  # seeds × (oracle, random × 3 topologies, ioa × 3)
    assert Cell("goals", "add", "random", "ioa", "star", "none", 4) in goals
    assert "dialog" not in {c.protocol for c in goals}
    assert len({c.id for c in grid.cells}) == len(grid.cells)
    assert any("roco: topology does not apply" in n for n in grid.notes)


def test_a_decoding_a_task_family_does_not_know_is_refused_before_anything_runs() -> None:
    experiment = {"name": "d", "tasks": ["tools"], "protocols": ["ioa"], "models": ["m.gguf"]}
    with pytest.raises(BadExperiment, match="'judge' does not apply to tools"):
        expand(parse_experiment({**experiment, "decodings": ["score", "judge"]}))
    cells = expand(parse_experiment({**experiment, "decodings": ["grammar"]})).cells
    assert {c.decoding for c in cells if c.arm == "model"} == {"grammar"}
    roco = expand(parse_experiment({**experiment, "tasks": ["roco:sort"], "decodings": ["judge"]}))
    assert {c.decoding for c in roco.cells if c.arm == "model"} == {"judge"}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_experiments_are_valid(path: Path) -> None:
    assert expand(load_experiment(path)).cells


@pytest.mark.parametrize("task", list(TASKS))
async def test_the_random_roco_baseline_always_writes_a_parseable_legal_plan(task: str) -> None:
    for seed in range(3):
        planner = make_planner("random", None, ModeSettings(seed=seed))
        record = await run_episode(make_env(task, seed), planner, EpisodeOptions(attempts=2))
        assert record.unparseable == 0
        assert record.steps > 0


async def test_a_random_legal_team_never_makes_an_illegal_move_through_a_real_hub(
    hub: Hub, tmp_path: Path
) -> None:
    tasks = GoalTasks()
    moves = 0
    for seed in range(4):
        for topology in ("complete", "chain", "star"):
            cell = Cell("goals", "total", "random", "ioa", topology, "none", seed)
            ctx = CellContext(
                budgets=Budgets(max_turns=6, timeout=60),
                temperature=0.0,
                folder=tmp_path,
                hub_url=hub.url,
            )
            outcome = await tasks.run(cell, ctx)
            assert outcome.error is None
            assert outcome.illegal == 0
            assert outcome.steps
            assert outcome.steps >= 2
            moves += outcome.figures["moves"]
    assert moves > 20


def test_no_goal_gives_its_answer_away() -> None:
    for goal in GoalTasks().goals.values():
        assert not goal.solved_by(goal.goal), goal.name


async def test_the_goal_oracle_solves_every_goal_through_a_real_hub(
    hub: Hub, tmp_path: Path
) -> None:
    tasks = GoalTasks()
    for name in tasks.tasks():
        cell = Cell("goals", name, "oracle", NA, NA, "none", 0)
        ctx = CellContext(budgets=Budgets(timeout=60), temperature=0.0, folder=tmp_path,
                          hub_url=hub.url)  # fmt: skip
        outcome = await tasks.run(cell, ctx)
        assert outcome.success == 1.0, outcome.text
