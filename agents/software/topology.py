"""MacNet topologies: directed acyclic graphs of programmer nodes joined by reviewer edges.

In MacNet (Qian et al., 2024) each node holds an actor that owns a solution and each edge holds a
critic that reviews the predecessor's solution for the successor; only artifacts travel along
edges, so context grows with the path, not with the whole network. Every graph built here has
nodes `0..n-1` in a topological order, one sink (the node whose solution is the answer) and every
node reachable from a source; each node is tagged `role="programmer"`, each edge
`role="reviewer"`.

- `chain`: 0 → 1 → … → n-1;
- `star`: every node → n-1 (parallel reviews of the same code, merged at the centre);
- `tree`: a binary in-tree, children → parent, the root n-1 last;
- `layered`: layers of width ⌈√n⌉, every node of a layer → every node of the next (MacNet's
  "mlp"), the last layer funnelled into the sink;
- `random`: each node after the first gets a random earlier predecessor plus, with probability
  `density`, edges from other earlier nodes; sinks other than the last are joined to it (seeded).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

import networkx as nx

from agents.software.errors import ConfigError

__all__ = ["BUILDERS", "build_topology", "layers"]


def _chain(n: int, rng: random.Random) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(n - 1)]


def _star(n: int, rng: random.Random) -> list[tuple[int, int]]:
    return [(i, n - 1) for i in range(n - 1)]


def _tree(n: int, rng: random.Random) -> list[tuple[int, int]]:
    # heap layout with the root at n-1: heap index h lives at node n-1-h
    return [(n - 1 - h, n - 1 - (h - 1) // 2) for h in range(1, n)]


def _layered(n: int, rng: random.Random) -> list[tuple[int, int]]:
    width = max(1, math.ceil(math.sqrt(n - 1))) if n > 1 else 1
    body = list(range(n - 1)) if n > 1 else [0]
    tiers = [body[i : i + width] for i in range(0, len(body), width)]
    edges = [(u, v) for a, b in itertools.pairwise(tiers) for u in a for v in b]
    if n > 1:
        edges += [(u, n - 1) for u in tiers[-1]]
    return edges


def _random(n: int, rng: random.Random, density: float = 0.3) -> list[tuple[int, int]]:
    edges = set()
    for v in range(1, n):
        edges.add((rng.randrange(v), v))
        for u in range(v):
            if rng.random() < density:
                edges.add((u, v))
    outgoing = {u for u, _ in edges}
    edges |= {(u, n - 1) for u in range(n - 1) if u not in outgoing}
    return sorted(edges)


BUILDERS: dict[str, Callable[[int, random.Random], list[tuple[int, int]]]] = {
    "chain": _chain,
    "star": _star,
    "tree": _tree,
    "layered": _layered,
    "random": _random,
}


def build_topology(kind: str, nodes: int, seed: int = 0) -> nx.DiGraph[int]:
    """The DAG of `kind` on `nodes` nodes (see the module docstring)."""
    builder = BUILDERS.get(kind)
    if builder is None:
        raise ConfigError(f"unknown topology {kind!r}; choose from {sorted(BUILDERS)}")
    if not isinstance(nodes, int) or not 1 <= nodes <= 1024:
        raise ConfigError(f"a topology needs 1 to 1024 nodes, not {nodes!r}")
    graph: nx.DiGraph[int] = nx.DiGraph(topology=kind, seed=seed)
    graph.add_nodes_from(range(nodes), role="programmer")
    graph.add_edges_from(builder(nodes, random.Random(seed)), role="reviewer")
    return graph


def layers(graph: nx.DiGraph[int]) -> list[list[int]]:
    """Kahn layering: each layer's nodes depend only on earlier layers (execution order)."""
    return [sorted(layer) for layer in nx.topological_generations(graph)]
