"""What every step of a run shares: the checkpointed state, the runtime, one phase as a step.

`RunState` is plain JSON (the code itself, notes, loop counters, the log of phases and checks,
token sums), so the SQLite checkpointer can store it. `Runtime` is what steps work with and is
never checkpointed. `converse` runs one phase conversation and gives back its log entry, for the
chain's phase nodes and the MacNet network's edges alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from agents.software.artifacts import Artifact
from agents.software.config import CompanyConfig, PhaseSpec
from agents.software.file_scope import Scoped, targets
from agents.software.loop_checks import Check, LoopChecks
from agents.software.phase_conversation import PhaseConversation, PhaseResult
from agents.software.phase_prompts import file_instruction, instruction
from agents.software.roster import Roster, Seat
from agents.software.run_record import Recorder
from agents.software.runfolder import RunFolder

__all__ = [
    "Emit",
    "Node",
    "RunState",
    "Runtime",
    "check_entry",
    "converse",
    "effect",
    "initial_state",
    "phase_entry",
]

Emit = Callable[[dict[str, Any]], None]


class RunState(TypedDict, total=False):
    """Everything a run remembers between steps (checkpointed as JSON)."""

    task: str
    files: dict[str, str]
    """The project: path → content (the code folder is rewritten from this)."""
    docs: dict[str, str]
    """Run-folder documents: requirements.txt, manual.md."""
    notes: dict[str, str]
    """Placeholders filled by phases and checks: modality, comments, test_reports..."""
    focus: list[str]
    """Files the current cycle is about (an unfinished file, files in a traceback)."""
    attempts: dict[str, int]
    loops: dict[str, dict[str, Any]]
    """Loop or network name → {"cycles": used, "exit": why it ended or None}."""
    history: list[str]
    log: list[dict[str, Any]]
    """Phases and checks in order, for the transcript and the metrics."""
    steps: list[str]
    tokens: dict[str, dict[str, float]]
    seconds: float
    gauge: float
    max_prompt_tokens: int
    status: str
    final: dict[str, Any] | None


@dataclass
class Runtime:
    """What the nodes work with; none of it is checkpointed."""

    config: CompanyConfig
    roster: Roster
    phases: PhaseConversation
    checks: LoopChecks
    recorder: Recorder
    folder: RunFolder
    emit: Emit
    model: str
    isolation: str
    n_ctx: int


class Node(Protocol):
    """One step of the chain as LangGraph calls it: `state` by name, as its node protocol says."""

    def __call__(self, state: RunState) -> Awaitable[RunState]: ...


def initial_state(task: str, chars_per_token: float) -> RunState:
    return RunState(
        task=task,
        files={},
        docs={},
        notes={},
        focus=[],
        attempts={},
        loops={},
        history=[],
        log=[],
        steps=[],
        tokens={},
        seconds=0.0,
        gauge=chars_per_token,
        max_prompt_tokens=0,
        status="running",
        final=None,
    )


def effect(state: RunState, spec: PhaseSpec, artifact: Artifact) -> RunState:
    """How an accepted artifact changes the state (an unusable one changes nothing)."""
    if not artifact.usable:
        return {}
    kind, into, value = spec.artifact.kind, spec.artifact.into, artifact.value
    if kind == "files":
        return {"files": {**state.get("files", {}), **value["files"]}}
    if kind in ("packages", "document"):
        text = "".join(f"{p}\n" for p in value["packages"]) if kind == "packages" else value["text"]
        return {"docs": {**state.get("docs", {}), str(into): text}}
    if kind == "choice":
        note = value["choice"]
    elif kind == "verdict":
        note = value["comment"]
    else:
        note = value["text"]
    name = into or ("comments" if kind == "verdict" else kind)
    return {"notes": {**state.get("notes", {}), name: str(note)}}


def phase_entry(
    phase: str,
    step: str,
    cycle: int,
    group: str,
    instructor: Seat,
    assistant: Seat,
    artifact: Artifact,
) -> dict[str, Any]:
    """The log line of one phase conversation."""
    return {
        "kind": "phase",
        "phase": phase,
        "step": step,
        "cycle": cycle,
        "group": group,
        "instructor": instructor.label,
        "instructor_seat": instructor.key,
        "instructor_role": instructor.role,
        "assistant": assistant.label,
        "assistant_seat": assistant.key,
        "artifact": {
            "kind": artifact.kind,
            "method": artifact.method,
            "usable": artifact.usable,
            "summary": artifact.summary(),
            "rejected": list(artifact.rejected),
        },
    }


def check_entry(step: str, cycle: int, check: Check) -> dict[str, Any]:
    return {
        "kind": "check",
        "step": step,
        "cycle": cycle,
        "passed": check.passed,
        "executable": check.executable,
        "report": check.report(),
        "tests": check.tests.headline(),
    }


async def converse(
    rt: Runtime,
    state: RunState,
    phase: str,
    instructor: Seat,
    assistant: Seat,
    *,
    step: str,
    cycle: int,
    extra: dict[str, Any] | None = None,
) -> tuple[PhaseResult, dict[str, Any]]:
    """Run `phase` between the two roster on the state's code; its result and log entry."""
    spec = rt.config.phases[phase]
    shown = {"step": step, "cycle": cycle, **(extra or {})}
    rt.emit(
        {
            "kind": "phase",
            "phase": phase,
            "instructor": instructor.label,
            "assistant": assistant.label,
            **shown,
        }
    )
    result = await rt.phases.run(
        phase,
        spec,
        instructor,
        assistant,
        task=state["task"],
        render=lambda budget: instruction(rt.config, spec, state, budget),
        meta={"run": rt.folder.id, **shown},
        scoped=_scoped(rt, state, phase),
    )
    entry = phase_entry(phase, step, cycle, result.group, instructor, assistant, result.artifact)
    entry.update(rounds=result.rounds, **(extra or {}))
    if result.files is not None:
        entry["files"] = result.files
    rt.emit({**entry, "kind": "phase_done"})
    return result, entry


def _scoped(rt: Runtime, state: RunState, phase: str) -> Scoped | None:
    """How `phase` writes its files one by one, when the `file_scoped` lever is on."""
    spec, levers = rt.config.phases[phase], rt.config.levers
    if not levers.file_scoped or spec.artifact.kind != "files":
        return None
    probe = rt.checks.runs if levers.candidates > 1 or levers.keep_running else None
    return Scoped(
        targets=targets(rt.config, spec, list(state.get("focus", []))),
        files=dict(state.get("files", {})),
        render=lambda path, files, budget: file_instruction(
            rt.config, spec, state, path, files, budget
        ),
        probe=probe,
    )
