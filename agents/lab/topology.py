"""Who may address whom: the lab's topologies as networkx graphs, and as a group's `links`.

A topology is an undirected graph on a team's members in roster order (node 0 is the lead):

- `chain`: 0 — 1 — … — n-1;
- `star`: 0 in the centre, joined to everyone else;
- `tree`: a binary tree rooted at 0 (node k's parent is (k-1)//2);
- `complete`: everyone with everyone (IoA's default: no restriction);
- `random[p, seed]`: an Erdős–Rényi graph G(n, p) drawn with `seed`, its components then joined
  by an edge each so that everyone can still be reached.

`links(graph, members)` is the group meta a protocol reads to restrict addressees: member id →
the member ids it may address (its neighbours). A complete graph is written as no restriction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx

from agents.lab.errors import BadExperiment

__all__ = ["KINDS", "Topology", "build_graph", "links", "parse_topology"]

KINDS = ("chain", "star", "tree", "complete", "random")
_RANDOM = re.compile(r"^random\s*\[\s*([0-9.]+)\s*(?:,\s*(-?\d+)\s*)?\]$")


@dataclass(frozen=True)
class Topology:
    kind: str
    p: float = 0.5
    """Edge probability (random only)."""
    seed: int = 0
    """Graph seed (random only)."""

    @property
    def label(self) -> str:
        return f"random[{self.p:g},{self.seed}]" if self.kind == "random" else self.kind


def parse_topology(text: str) -> Topology:
    """`chain`, `star`, `tree`, `complete` or `random[p, seed]` (seed optional, default 0)."""
    name = text.strip()
    if name in KINDS and name != "random":
        return Topology(name)
    if name == "random":
        return Topology("random")
    found = _RANDOM.match(name)
    if found is None:
        raise BadExperiment(
            f"topologies: unknown topology {text!r}; use chain, star, tree, complete or "
            "random[p, seed]"
        )
    p = float(found.group(1))
    if not 0.0 <= p <= 1.0:
        raise BadExperiment(f"topologies: random edge probability {p} is not within 0..1")
    return Topology("random", p, int(found.group(2) or 0))


def build_graph(topology: Topology, n: int) -> nx.Graph[int]:
    """The topology on nodes 0..n-1 (always connected)."""
    graph: nx.Graph[int]
    if topology.kind == "chain":
        graph = nx.path_graph(n)
    elif topology.kind == "star":
        graph = nx.star_graph(n - 1) if n > 1 else nx.empty_graph(n)
    elif topology.kind == "tree":
        graph = nx.empty_graph(n)
        graph.add_edges_from(((k - 1) // 2, k) for k in range(1, n))
    elif topology.kind == "complete":
        graph = nx.complete_graph(n)
    else:
        graph = nx.gnp_random_graph(n, topology.p, seed=topology.seed)
        parts = [min(c) for c in nx.connected_components(graph)]
        graph.add_edges_from(zip(sorted(parts), sorted(parts)[1:], strict=False))
    graph.graph["topology"] = topology.label
    return graph


def links(graph: nx.Graph[int], members: list[str]) -> dict[str, list[str]] | None:
    """Member id → ids it may address; None when the graph is complete (no restriction)."""
    n = len(members)
    if graph.number_of_edges() == n * (n - 1) // 2:
        return None
    return {members[u]: sorted(members[v] for v in graph.neighbors(u)) for u in range(n)}
