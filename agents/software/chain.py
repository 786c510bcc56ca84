"""The chain of phases as a LangGraph `StateGraph`, checkpointed after every step.

The graph is built from the config: a phase step is one node; a loop is a check node (it counts
cycles and tests the exit condition: no stubs left, tests pass) followed by its phase nodes, with
an early exit after a verdict that says done; a MacNet network is one node (`network`); a last
node evaluates the project and writes the run folder. The state is plain JSON (the code itself,
notes, loop counters, the log of phases and checks, token sums), so the SQLite checkpointer can
store it, and a run killed half-way resumes at the step that was running, with every finished
step kept as it was.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.software.config import LoopStep, NetworkStep, PhaseStep
from agents.software.macnet import network_node
from agents.software.run_state import (
    Node,
    RunState,
    Runtime,
    check_entry,
    converse,
    effect,
)
from environments.workspace import completeness

__all__ = ["FINISH", "STDOUT_CHARS", "build_chain"]

FINISH = "finish"
STDOUT_CHARS = 2000
"""Tail of the program's output kept in the final evaluation."""


def build_chain(rt: Runtime) -> StateGraph[RunState]:
    """The uncompiled graph of `rt.config.chain` (compile it with a checkpointer)."""
    graph: StateGraph[RunState] = StateGraph(RunState)
    chain = rt.config.chain
    entries = [_entry(step) for step in chain] + [FINISH]
    for index, step in enumerate(chain):
        after = entries[index + 1]
        if isinstance(step, PhaseStep):
            graph.add_node(step.phase, _recorded(rt, step.phase, _phase(rt, step.phase, None)))
            graph.add_edge(step.phase, after)
        elif isinstance(step, LoopStep):
            _add_loop(graph, rt, step, after)
        else:
            graph.add_node(step.name, _recorded(rt, step.name, network_node(rt, step)))
            graph.add_edge(step.name, after)
    graph.add_node(FINISH, _recorded(rt, FINISH, _finish(rt)))
    graph.add_edge(START, entries[0])
    graph.add_edge(FINISH, END)
    return graph


def _entry(step: PhaseStep | LoopStep | NetworkStep) -> str:
    if isinstance(step, PhaseStep):
        return step.phase
    return f"{step.name}.check" if isinstance(step, LoopStep) else step.name


def _add_loop(graph: StateGraph[RunState], rt: Runtime, loop: LoopStep, after: str) -> None:
    check = f"{loop.name}.check"
    nodes = [f"{loop.name}.{phase}" for phase in loop.phases]
    graph.add_node(check, _recorded(rt, check, _check(rt, loop)))

    def from_check(state: RunState) -> str:
        return after if _loop(state, loop.name)["exit"] else nodes[0]

    graph.add_conditional_edges(check, from_check, [nodes[0], after])
    for position, (node, phase) in enumerate(zip(nodes, loop.phases, strict=True)):
        graph.add_node(node, _recorded(rt, node, _phase(rt, phase, loop)))
        following = nodes[position + 1] if position + 1 < len(nodes) else check

        def route(state: RunState, following: str = following) -> str:
            return after if _loop(state, loop.name)["exit"] == "approved" else following

        graph.add_conditional_edges(node, route, [following, after])


def _loop(state: RunState, name: str) -> dict[str, Any]:
    return dict(state.get("loops", {}).get(name) or {"cycles": 0, "exit": None})


def _with_loop(state: RunState, name: str, **changes: Any) -> dict[str, dict[str, Any]]:
    return {**state.get("loops", {}), name: {**_loop(state, name), **changes}}


def _recorded(rt: Runtime, name: str, work: Node) -> Node:
    """Time the step, collect its model usage, and rewrite the run's record after it."""

    async def node(state: RunState) -> RunState:
        started = time.monotonic()
        update = await work(state)
        tokens = {k: dict(v) for k, v in state.get("tokens", {}).items()}
        for seat, usage in rt.roster.take_usage().items():
            row = tokens.setdefault(seat, {})
            for field, value in usage.items():
                row[field] = row.get(field, 0) + value
        update["tokens"] = tokens
        update["steps"] = [*state.get("steps", []), name]
        update["seconds"] = state.get("seconds", 0.0) + time.monotonic() - started
        update["gauge"] = rt.phases.gauge.chars_per_token
        longest = max(state.get("max_prompt_tokens", 0), rt.phases.max_prompt_tokens)
        update["max_prompt_tokens"] = longest
        merged: RunState = {**state, **update}
        await rt.recorder.record(merged, model=rt.model, isolation=rt.isolation, n_ctx=rt.n_ctx)
        return update

    return node


def _phase(rt: Runtime, phase: str, loop: LoopStep | None) -> Node:
    spec = rt.config.phases[phase]
    step = loop.name if loop else phase

    async def node(state: RunState) -> RunState:
        cycle = _loop(state, loop.name)["cycles"] if loop else 0
        instructor = await rt.roster.seat(spec.instructor, spec.instructor)
        assistant = await rt.roster.seat(spec.assistant, spec.assistant)
        result, entry = await converse(
            rt, state, phase, instructor, assistant, step=step, cycle=cycle
        )
        artifact = result.artifact
        update = effect(state, spec, artifact)
        done = artifact.usable and spec.artifact.kind == "verdict" and artifact.value["done"]
        if loop is not None and loop.until == "approved" and done:
            update["loops"] = _with_loop(state, loop.name, exit="approved")
        label = f"{phase}" + (f" #{cycle}" if loop else "")
        update["log"] = [*state.get("log", []), entry]
        update["history"] = [
            *state.get("history", []),
            f"{label}: {assistant.label} {artifact.summary()}",
        ]
        return update

    return node


def _check(rt: Runtime, loop: LoopStep) -> Node:
    async def node(state: RunState) -> RunState:
        info = _loop(state, loop.name)
        if info["exit"]:
            return {"focus": []}
        files = dict(state.get("files", {}))
        update: RunState = {}
        reason: str | None = None
        focus: list[str] = []
        if loop.until == "no_stubs":
            attempts = dict(state.get("attempts", {}))
            path, report = rt.checks.unfinished(files, attempts)
            if path is None:
                reason = "no_stubs" if report.complete else "no_fixable_stubs"
            elif info["cycles"] < loop.cycles:
                attempts[path] = attempts.get(path, 0) + 1
                update["attempts"], focus = attempts, [path]
        elif loop.until == "tests_pass":
            check = await rt.checks.check(files)
            entry = check_entry(loop.name, info["cycles"], check)
            rt.emit(entry)
            update["log"] = [*state.get("log", []), entry]
            if check.passed:
                reason = "tests_pass"
            else:
                update["notes"] = {**state.get("notes", {}), "test_reports": check.report()}
                focus = check.focus
        if reason is None and info["cycles"] >= loop.cycles:
            reason = "cap"
        if reason is None:
            update["loops"] = _with_loop(state, loop.name, cycles=info["cycles"] + 1)
            update["focus"] = focus
        else:
            update["loops"] = _with_loop(state, loop.name, exit=reason)
            update["focus"] = []
        rt.emit({"kind": "loop", "loop": loop.name, **update["loops"][loop.name]})
        return update

    return node


def _finish(rt: Runtime) -> Node:
    async def node(state: RunState) -> RunState:
        files = dict(state.get("files", {}))
        check = await rt.checks.check(files)
        report = completeness(files)
        docs = {"requirements.txt": "", **state.get("docs", {})}
        for name, text in docs.items():
            rt.folder.write_doc(name, text)
        tests = check.tests
        final = {
            "files": sorted(files),
            "executable": check.executable,
            "program": check.program.headline() if check.program else f"no {check.entry}",
            "stdout": check.program.stdout[-STDOUT_CHARS:] if check.program else "",
            "tests_found": tests.found,
            "tests_passed": tests.all_passed,
            "tests": {"total": tests.counts.total, "passed": tests.counts.passed},
            "test_pass_rate": round(tests.pass_rate, 4),
            "complete": report.complete,
            "completeness": round(report.score, 4),
            "findings": [str(f) for f in report.findings[:10]],
        }
        entry = check_entry(FINISH, 0, check)
        rt.emit({**entry, "kind": "final", "final": final})
        return {"status": "done", "final": final, "log": [*state.get("log", []), entry]}

    return node
