"""MacNet topologies build the right DAGs, and a network step runs on the hub."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from agents.software import ConfigError, build_topology, layers, load_config
from tests.agents.software.scripted import (
    BUGGY_MAIN,
    MAIN,
    REQUIREMENT,
    TEST,
    Script,
    company,
    config,
    files_reply,
    transcript,
    verdict,
)


def _shape(graph: nx.DiGraph) -> None:
    """What every topology promises: a DAG in index order, one sink, nothing unreachable."""
    assert nx.is_directed_acyclic_graph(graph)
    assert all(u < v for u, v in graph.edges)
    n = graph.number_of_nodes()
    assert [v for v in graph if graph.out_degree(v) == 0] == [n - 1]
    sources = [v for v in graph if graph.in_degree(v) == 0]
    reached = set().union(*(nx.descendants(graph, s) | {s} for s in sources))
    assert reached == set(range(n))
    assert {d["role"] for _, d in graph.nodes(data=True)} == {"programmer"}
    assert {d["role"] for _, _, d in graph.edges(data=True)} <= {"reviewer"}


def test_chain_is_a_path() -> None:
    graph = build_topology("chain", 4)
    assert sorted(graph.edges) == [(0, 1), (1, 2), (2, 3)]
    assert layers(graph) == [[0], [1], [2], [3]]
    _shape(graph)


def test_star_funnels_every_node_into_the_centre() -> None:
    graph = build_topology("star", 5)
    assert sorted(graph.edges) == [(0, 4), (1, 4), (2, 4), (3, 4)]
    assert layers(graph) == [[0, 1, 2, 3], [4]]
    _shape(graph)


def test_tree_is_a_binary_in_tree() -> None:
    graph = build_topology("tree", 7)
    assert sorted(graph.edges) == [(0, 4), (1, 4), (2, 5), (3, 5), (4, 6), (5, 6)]
    assert all(graph.in_degree(v) in (0, 2) for v in graph)
    _shape(graph)


def test_layered_connects_consecutive_layers_completely() -> None:
    graph = build_topology("layered", 7)
    assert layers(graph) == [[0, 1, 2], [3, 4, 5], [6]]
    assert graph.number_of_edges() == 9 + 3
    _shape(graph)


@pytest.mark.parametrize("seed", range(6))
def test_random_dags_are_seeded_and_well_formed(seed: int) -> None:
    graph = build_topology("random", 8, seed)
    _shape(graph)
    assert sorted(graph.edges) == sorted(build_topology("random", 8, seed).edges)


def test_random_dags_differ_between_seeds() -> None:
    shapes = {tuple(sorted(build_topology("random", 8, s).edges)) for s in range(6)}
    assert len(shapes) > 1


@pytest.mark.parametrize("kind", ["chain", "star", "tree", "layered", "random"])
def test_a_single_node_has_no_edges(kind: str) -> None:
    graph = build_topology(kind, 1)
    assert graph.number_of_nodes() == 1
    assert graph.number_of_edges() == 0


def test_bad_topologies_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown topology"):
        build_topology("mesh-of-doom", 3)
    with pytest.raises(ConfigError, match="1 to 1024 nodes"):
        build_topology("chain", 0)


def test_the_cli_override_swaps_the_review_loop_for_a_network() -> None:
    cfg = load_config().with_overrides(topology="tree")
    (network,) = [s for s in cfg.chain if s.kind == "network"]
    assert (network.name, network.topology, network.nodes) == ("code_review", "tree", 4)
    assert (network.critic, network.actor) == ("review_comment", "review_modification")


async def test_a_star_network_reviews_in_parallel_and_keeps_the_best_candidate(
    tmp_path: Path,
) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "network", "name": "macnet", "topology": "star", "nodes": 3,
         "critic": "review_comment", "actor": "review_modification"},
    )  # fmt: skip
    script = Script(
        coding=[files_reply(("main.py", BUGGY_MAIN), ("test_main.py", TEST))],
        review_comment=[verdict(False, "it does not reverse")],
        # edge 0→2 gets a fix, edge 1→2 keeps the bug: the sandbox must pick the fix
        review_modification=[files_reply(("main.py", MAIN)), files_reply(("main.py", BUGGY_MAIN))],
    )
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("review_comment") == script.count("review_modification") == 2
    assert (summary.folder.code / "main.py").read_text() == MAIN
    assert summary.metrics["final"]["tests_passed"]
    # the model is called by whoever answers: the coder, the edges' reviewers, the centre node
    assert set(summary.metrics["tokens"]["by_seat"]) == {
        "programmer", "reviewer-0-2", "reviewer-1-2", "programmer-2"
    }  # fmt: skip
    lines = transcript(summary.folder.path)
    edges = sorted(tuple(x["edge"]) for x in lines if x["kind"] == "phase" and "edge" in x)
    assert edges == [(0, 2), (0, 2), (1, 2), (1, 2)]
    names = next(x["names"] for x in lines if x["kind"] == "agents")
    assert {"Code Reviewer 0→2", "Programmer #0", "Programmer #1"} <= set(names.values())


async def test_a_network_edge_skips_the_revision_when_the_reviewer_approves(
    tmp_path: Path,
) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "network", "name": "macnet", "topology": "chain", "nodes": 3,
         "critic": "review_comment", "actor": "review_modification"},
    )  # fmt: skip
    script = Script(review_comment=[verdict(True)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("review_comment") == 2
    assert script.count("review_modification") == 0
    assert summary.metrics["loops"]["macnet"]["revisions"] == 0
