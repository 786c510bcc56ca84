"""MacNet on the hub: programmer nodes, reviewer edges, artifacts flowing along a DAG.

For each node in topological order: a source node starts from the current code; every other node
receives one candidate per incoming edge u→v — the edge's reviewer judges u's code (the critic
phase, in a group with u's programmer) and, unless the verdict is done, asks v's programmer to
revise it (the actor phase, in a group with v's programmer). Only code travels: each prompt shows
one solution, so context stays flat however large the network. A node with several candidates
keeps the best one, judged in the sandbox (tests pass, program runs, completeness by syntax tree)
rather than by another model call; the sinks' best is the step's result.
"""

from __future__ import annotations

from typing import Any

from agents.software.config import NetworkStep, PhaseSpec
from agents.software.phase_conversation import PhaseResult
from agents.software.roster import Seat
from agents.software.run_state import Node, RunState, Runtime, converse, effect
from agents.software.topology import build_topology, layers
from environments.workspace import completeness

__all__ = ["network_node"]


def network_node(rt: Runtime, step: NetworkStep) -> Node:
    critic = rt.config.phases[step.critic]
    actor = rt.config.phases[step.actor]

    async def node(state: RunState) -> RunState:
        graph = build_topology(step.topology, step.nodes, step.seed)
        rt.emit(
            {
                "kind": "network",
                "step": step.name,
                "topology": step.topology,
                "nodes": graph.number_of_nodes(),
                "edges": sorted(graph.edges),
            }
        )
        solutions: dict[int, dict[str, str]] = {}
        log = list(state.get("log", []))
        history = list(state.get("history", []))
        adopted = 0
        for layer in layers(graph):
            for v in layer:
                preds = sorted(graph.predecessors(v))
                if not preds:
                    solutions[v] = dict(state.get("files", {}))
                    continue
                candidates = []
                for u in preds:
                    work = _Edge(rt, step, critic, actor, state, u, v, log, history)
                    files, changed = await work.run(solutions[u])
                    adopted += changed
                    candidates.append(files)
                solutions[v] = await _best(rt, candidates)
        sinks = [v for v in graph.nodes if graph.out_degree(v) == 0]
        final = await _best(rt, [solutions[v] for v in sinks])
        info = {"cycles": graph.number_of_edges(), "exit": "sink", "revisions": adopted}
        return {
            "files": final,
            "log": log,
            "history": history,
            "loops": {**state.get("loops", {}), step.name: info},
            "focus": [],
        }

    return node


class _Edge:
    """One edge u→v: the reviewer's verdict on u's code, then v's revision if needed."""

    def __init__(
        self,
        rt: Runtime,
        step: NetworkStep,
        critic: PhaseSpec,
        actor: PhaseSpec,
        state: RunState,
        u: int,
        v: int,
        log: list[dict[str, Any]],
        history: list[str],
    ) -> None:
        self.rt, self.step, self.critic, self.actor = rt, step, critic, actor
        self.state, self.u, self.v, self.log, self.history = state, u, v, log, history

    async def _seat(self, role: str, key: str, label: str) -> Seat:
        return await self.rt.roster.seat(key, role, label)

    async def run(self, code: dict[str, str]) -> tuple[dict[str, str], int]:
        rt, u, v = self.rt, self.u, self.v
        roles = rt.config.roles
        author = await self._seat(
            self.critic.instructor,
            f"{self.critic.instructor}-{u}",
            f"{roles[self.critic.instructor].name} #{u}",
        )
        reviewer = await self._seat(
            self.critic.assistant,
            f"{self.critic.assistant}-{u}-{v}",
            f"{roles[self.critic.assistant].name} {u}→{v}",
        )
        local: RunState = {**self.state, "files": code, "log": self.log, "history": self.history}
        verdict = await self._phase(self.step.critic, self.critic, author, reviewer, local)
        local = {**local, **effect(local, self.critic, verdict.artifact)}
        artifact = verdict.artifact
        if artifact.usable and artifact.value["done"]:
            return code, 0
        successor = await self._seat(
            self.actor.assistant,
            f"{self.actor.assistant}-{v}",
            f"{roles[self.actor.assistant].name} #{v}",
        )
        revision = await self._phase(self.step.actor, self.actor, reviewer, successor, local)
        revised = effect(local, self.actor, revision.artifact).get("files", code)
        return revised, int(revised != code)

    async def _phase(
        self, name: str, spec: PhaseSpec, instructor: Seat, assistant: Seat, state: RunState
    ) -> PhaseResult:
        result, entry = await converse(
            self.rt,
            state,
            name,
            instructor,
            assistant,
            step=self.step.name,
            cycle=0,
            extra={"edge": [self.u, self.v]},
        )
        self.log.append(entry)
        self.history.append(
            f"{name} {self.u}→{self.v}: {assistant.label} {result.artifact.summary()}"
        )
        return result


async def _best(rt: Runtime, candidates: list[dict[str, str]]) -> dict[str, str]:
    """The candidate that passes most: tests, then running, then completeness (ties: first)."""
    unique = list({repr(sorted(c.items())): c for c in candidates}.values())
    if len(unique) == 1:
        return unique[0]
    scored = []
    for index, files in enumerate(unique):
        check = await rt.checks.check(files)
        score = completeness(files).score
        scored.append(((check.passed, check.executable, score, -index), files))
    return max(scored, key=lambda item: item[0])[1]
