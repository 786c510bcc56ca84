"""`Company`: a requirement in, a run folder out — or a killed run picked up where it stopped.

Each session (a start, or a resume) brings up, for the run alone: a hub over the run's own store
(`state/hub.db`), started by the `hub` launcher the caller hands in (the `ioa company` command
passes a loopback hub; `agents/` reaches a hub only through the client), the company's roster on
it (same agents on every session, from the saved credentials), the LangGraph checkpointer
(`state/checkpoints.db`) and the sandbox. The chain then runs from its last checkpoint to the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.software.chain import build_chain
from agents.software.config import CompanyConfig, LoopStep, NetworkStep, load_config
from agents.software.errors import CompanyError
from agents.software.loop_checks import LoopChecks
from agents.software.phase_conversation import PhaseConversation, n_ctx_of
from agents.software.prompt_budget import Gauge
from agents.software.roster import Engines, Roster, model_facts
from agents.software.run_record import Recorder
from agents.software.run_state import Emit, RunState, Runtime, initial_state
from agents.software.runfolder import RunFolder, default_runs_dir
from environments.workspace import Sandbox, SandboxLimits, Workspace
from ioa.llm import Engine
from protocols import Envelope

__all__ = ["THREAD", "Company", "HubLauncher", "RunSummary"]

THREAD = "company"
"""The checkpointer's thread id: one run folder holds one run."""
REQUIREMENT_MAX = 4000

HubLauncher = Callable[[Path], contextlib.AbstractAsyncContextManager[str]]
"""Given a database file, runs a hub over it for the `async with` block and yields the hub's URL
(`ioa.commands.local_hub.local_hub` is one). A session's hub lives in its run folder, so a
resumed run finds its agents and conversations again."""


@dataclass(frozen=True)
class RunSummary:
    folder: RunFolder
    status: str
    """`done`, or `stopped` when the session ended before the chain did."""
    metrics: dict[str, Any]


def _ignore(event: dict[str, Any]) -> None:
    return None


class Company:
    """Runs requirements through the company; see the module docstring."""

    def __init__(
        self,
        engine: Engine | Engines,
        *,
        hub: HubLauncher,
        config: CompanyConfig | None = None,
        runs_dir: Path | str | None = None,
        sandbox: Sandbox | None = None,
        on_event: Emit | None = None,
    ) -> None:
        self.engines = engine if isinstance(engine, Engines) else Engines(engine)
        self.hub = hub
        self.config = config or load_config()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.sandbox = sandbox
        self.emit = on_event or _ignore

    async def start(self, requirement: str, *, name: str | None = None) -> RunSummary:
        """A new run of `requirement` in a new folder under `runs_dir`."""
        text = requirement.strip() if isinstance(requirement, str) else ""
        if not text:
            raise CompanyError("the requirement is empty: say what the program should do")
        if len(text) > REQUIREMENT_MAX:
            raise CompanyError(f"the requirement is over {REQUIREMENT_MAX} characters")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        folder = RunFolder.create(self.runs_dir, text, self.config, name)
        state = initial_state(text, self.config.context.chars_per_token)
        return await self._session(folder, self.config, state)

    async def resume(self, run: str | Path) -> RunSummary:
        """Continue a run (id or path) from its last checkpoint, with the config it began with."""
        folder = RunFolder.find(run, self.runs_dir)
        config = folder.config()
        return await self._session(folder, config, None)

    async def _session(
        self, folder: RunFolder, config: CompanyConfig, inputs: RunState | None
    ) -> RunSummary:
        sandbox = self.sandbox or Sandbox(SandboxLimits(timeout_s=config.run.timeout_s))
        caps = sandbox.capabilities()
        isolation = caps.mode
        if isolation != "namespaces" and sandbox.isolation != "none":
            raise CompanyError(
                "this machine cannot isolate generated code (no namespaces); it would see the "
                "host's files and your environment. Run with --no-isolation to accept that "
                f"(`python -m environments.workspace` says why):\n{caps.describe()}"
            )
        model = model_facts(self.engines.default).name
        n_ctx = n_ctx_of(self.engines.default, config.context.n_ctx)
        graph_config: RunnableConfig = {
            "configurable": {"thread_id": THREAD},
            "recursion_limit": _steps(config),
        }
        async with contextlib.AsyncExitStack() as stack:
            hub_url = await stack.enter_async_context(self.hub(folder.hub_db))
            roster = await stack.enter_async_context(
                Roster(hub_url, folder.credentials, config, self.engines)
            )
            saver = await stack.enter_async_context(
                AsyncSqliteSaver.from_conn_string(str(folder.checkpoints))
            )
            gauge = Gauge(config.context.chars_per_token)
            phases = PhaseConversation(config, gauge, self._messages(roster))
            rt = Runtime(
                config=config,
                roster=roster,
                phases=phases,
                checks=LoopChecks(Workspace(folder.code), sandbox, config.run),
                recorder=Recorder(folder, roster, config),
                folder=folder,
                emit=self.emit,
                model=model,
                isolation=isolation,
                n_ctx=n_ctx,
            )
            graph = build_chain(rt).compile(checkpointer=saver)
            snapshot = await graph.aget_state(graph_config)
            if inputs is None and not snapshot.values:
                inputs = initial_state(folder.requirement(), gauge.chars_per_token)
            elif inputs is None:
                saved = float(snapshot.values.get("gauge", gauge.chars_per_token))
                gauge.chars_per_token = min(gauge.chars_per_token, saved)
            if inputs is not None or snapshot.next:
                folder.start_session(model)
                status = "stopped"
                try:
                    await graph.ainvoke(inputs, graph_config)
                    status = "done"
                finally:
                    folder.end_session(status)
            values = (await graph.aget_state(graph_config)).values
            metrics = await rt.recorder.record(
                values, model=model, isolation=isolation, n_ctx=n_ctx
            )
        return RunSummary(folder, str(values.get("status", "stopped")), metrics)

    def _messages(self, roster: Roster) -> Any:
        def show(envelope: Envelope) -> None:
            self.emit(
                {
                    "kind": "message",
                    "envelope": envelope.model_dump(mode="json"),
                    "names": roster.names(),
                }
            )

        return show


def _steps(config: CompanyConfig) -> int:
    """A LangGraph recursion limit that every finite run of `config` stays under."""
    total = 10 + len(config.chain)
    for step in config.chain:
        if isinstance(step, LoopStep):
            total += (step.cycles + 1) * (len(step.phases) + 1)
        elif isinstance(step, NetworkStep):
            total += 1
    return total
