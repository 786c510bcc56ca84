"""A mixed team: a local model, a cloud model, an MCP tool, an A2A agent and a script conclude
one goal.

The cast, each an `agents.runtime.Agent` under the same enforced protocol:

- Reviewer (scripted): hands the goal to the two thinkers, has the MCP tool compute the bill
  and the caterer say what to order, then concludes.
- Edge (llm): thinks with the local model and escalates to the cloud model by the cascade's
  policy (an invalid local move, a low likelihood margin, a goal naming its "hard" skill).
- Cloud (llm): thinks with a remote OpenAI-compatible model only.
- Arith (tool): the tools of an MCP server (`examples/mcp_arith_server.py`) over stdio.
- Caterer (remote): a stock a2a-sdk agent (`examples/a2a_caterer.py`, a process of its own on a
  loopback port) that IoA reaches only over A2A (`agents.a2a_remote`).

Without `--cloud`, the "cloud" is `python -m llama_cpp.server` serving the local GGUF on a
loopback port, a stand-in for any OpenAI-compatible endpoint. The transcript names each
member's kind, and the run ends with the frames the hub refused (0) and the cascade's figures.

    python examples/mixed_team.py --tiny     # a tiny generated model: fast, noise text
    python examples/mixed_team.py --cloud openai:gpt-4o-mini@https://api.openai.com/v1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.a2a_remote import A2ABrain, A2ARemote, a2a_card
from agents.brain import ScriptedBrain, Turn
from agents.cascade import CascadeBrain, hard_terms
from agents.llm_brain import LLMBrain
from agents.mcp_tools import McpConnection, McpToolBrain, mcp_card
from agents.runtime import Agent
from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.console import describe
from ioa.hub import Hub
from ioa.llm import load_engine, write_tiny_gguf
from ioa.llm.cascade import CascadeEngine
from ioa.llm.remote import RemoteEngine, parse_endpoint
from protocols import AgentCard, ModelFacts, Skill
from protocols.views import GoalDone

GOAL = "Plan a team lunch for 6 people at 12.50 each: what is the budget, and what to order?"
SERVER = Path(__file__).with_name("mcp_arith_server.py")
CATERER = Path(__file__).with_name("a2a_caterer.py")

EDGE = AgentCard(
    name="Edge",
    description="Plans on the device; asks the cloud for budgets, which it finds hard.",
    skills=[Skill(name="planning", tags=["plan", "lunch"]), Skill(name="budget", tags=["hard"])],
)
REVIEWER = AgentCard(
    name="Reviewer",
    description="Hands out the goal and signs off the result.",
    kind="scripted",
    skills=[Skill(name="review", tags=["review"])],
)


def cloud_card(model: str) -> AgentCard:
    return AgentCard(
        name="Cloud",
        description="Thinks with a large remote model.",
        skills=[Skill(name="analysis", tags=["costs", "compare"])],
        model=ModelFacts(name=model[:200]),
    )


def reviewer_moves(turn: Turn) -> dict[str, Any]:
    ids = {name: member for member, name in turn.names.items()}
    tasks = turn.state.tasks
    if "conclusion" in turn.legal.types:
        plans = " | ".join(
            f"{turn.names[r.agent]}: {' '.join(r.result.split())[:120]}" for r in tasks[0].reports
        )
        bill, order = tasks[1].result, tasks[2].result
        return {"type": "conclusion", "text": f"The bill: 6 * 12.5 = {bill}. {order} {plans}"}
    if not tasks:
        return {
            "type": "sync_task_assign",
            "assignees": [ids["Edge"], ids["Cloud"]],
            "title": "plan the lunch",
            "description": turn.goal,
        }
    if len(tasks) == 1:
        return {
            "type": "sync_task_assign",
            "assignees": [ids["arith"]],
            "title": "multiply",
            "description": '{"a": 6, "b": 12.5}',
        }
    if len(tasks) == 2:
        return {
            "type": "sync_task_assign",
            "assignees": [ids["Caterer"]],
            "title": "order",
            "description": "What should we order for 6 people?",
        }
    return {"type": "conclude", "text": "The plans, the bill and the order are in."}


@dataclass
class Outcome:
    status: str
    conclusion: str
    rejections: int = 0
    roster: list[str] = field(default_factory=list)
    escalations: int = 0
    local_calls: int = 0
    remote_calls: int = 0
    transcript: list[str] = field(default_factory=list)


@contextlib.contextmanager
def loopback_cloud(gguf: Path, threads: int) -> Iterator[str]:
    """`llama_cpp.server` serving `gguf` on a free loopback port; yields its API base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", str(threads), "--n_ctx", "2048",
        "--model_alias", "loopback-cloud",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError("llama_cpp.server exited (is llama-cpp-python[server] in?)")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/models", timeout=2).close()
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.asynccontextmanager
async def a2a_agent(script: Path) -> AsyncIterator[str]:
    """An A2A agent's server started as its own process; yields the URL it prints first."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(_first_line(process), 60)
        url = next((w for w in line.split() if w.startswith("http://")), None)
        if url is None:
            raise RuntimeError(f"{script.name} did not start: {line.strip() or 'no output'}")
        yield url
    finally:
        process.terminate()
        await process.wait()


async def _first_line(process: asyncio.subprocess.Process) -> str:
    if process.stdout is None:
        return ""
    return (await process.stdout.readline()).decode()


@contextlib.asynccontextmanager
async def model_file(model: Path | None, tiny: bool) -> AsyncIterator[Path]:
    if not tiny:
        from ioa.llm import default_model_path

        yield Path(model or default_model_path())
        return
    with tempfile.TemporaryDirectory(prefix="ioa-mixed-") as tmp:
        yield write_tiny_gguf(Path(tmp) / "tiny-minicpm.gguf", "minicpm")


async def play(
    goal: str = GOAL,
    *,
    model: Path | None = None,
    tiny: bool = False,
    cloud: str | None = None,
    threads: int = 1,
    max_turns: int = 10,
    timeout: float = 900.0,
    out: Callable[[str], None] = print,
) -> Outcome:
    """Run the mixed team once; `out` receives the transcript line by line."""
    text_max, work_tokens = (40, 16) if tiny else (240, 120)
    with tempfile.TemporaryDirectory(prefix="ioa-mixed-hub-") as tmp:
        config = HubConfig(host="127.0.0.1", port=0, database_url=str(Path(tmp) / "hub.db"))
        async with contextlib.AsyncExitStack() as stack:
            gguf = await stack.enter_async_context(model_file(model, tiny))
            spec = (
                cloud
                or f"openai:loopback-cloud@{stack.enter_context(loopback_cloud(gguf, threads))}"
            )
            hub = await stack.enter_async_context(Hub(config))
            local = await stack.enter_async_context(
                await load_engine(gguf, n_ctx=2048, n_threads=threads)
            )
            remote = await stack.enter_async_context(RemoteEngine(parse_endpoint(spec)))
            cascade = CascadeEngine(local, remote)
            tools = await stack.enter_async_context(
                McpConnection(shlex.join([sys.executable, str(SERVER)]))
            )
            caterer_url = await stack.enter_async_context(a2a_agent(CATERER))
            caterer = await stack.enter_async_context(A2ARemote(caterer_url, timeout=60))
            cast = [
                Agent(REVIEWER, ScriptedBrain(reviewer_moves), hub.url),
                Agent(
                    EDGE,
                    CascadeBrain(
                        cascade, hard=hard_terms(EDGE), text_max=text_max, work_tokens=work_tokens
                    ),
                    hub.url,
                ),
                Agent(
                    cloud_card(spec),
                    LLMBrain(remote, text_max=text_max, work_tokens=work_tokens),
                    hub.url,
                ),
                Agent(mcp_card(tools), McpToolBrain(tools), hub.url),
                Agent(a2a_card(caterer.card, url=caterer_url), A2ABrain(caterer), hub.url),
            ]
            for agent in cast:
                await stack.enter_async_context(agent)
            you = await stack.enter_async_context(HubClient(hub.url))
            await you.register(AgentCard(name="you", kind="human", description="the user"))
            outcome = Outcome(status="running", conclusion="")
            outcome.roster = [f"{a.card.name} ({a.card.kind})" for a in cast]
            out(f"goal: {goal}\nmembers: {', '.join(outcome.roster)}\n")
            posted = await you.post_goal(goal, roster=[a.id for a in cast], max_turns=max_turns)
            names = {a.id: f"{a.card.name} [{a.card.kind}]" for a in cast}

            async def follow() -> None:
                async for event in you.goal_events(posted.id):
                    if isinstance(event, GoalDone):
                        outcome.status = event.goal.status
                        outcome.conclusion = event.goal.conclusion or ""
                        return
                    line = describe(event.envelope.model_dump(mode="json"), names)
                    outcome.transcript.append(line)
                    out(line)

            await asyncio.wait_for(follow(), timeout)
            health = await you.request("GET", "/v1/health")
            outcome.rejections = sum(health["rejections"].values()) + sum(
                a.rejections for a in cast
            )
            split = cascade.split()
            outcome.escalations = len(cascade.escalations)
            outcome.local_calls, outcome.remote_calls = split.local.calls, split.remote.calls
            out(f"\n{outcome.status.upper()}: {outcome.conclusion}")
            return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description="A mixed team concludes a goal; watch it.")
    parser.add_argument("--goal", default=GOAL)
    parser.add_argument("--model", type=Path, help="GGUF file (default: the bundled model)")
    parser.add_argument("--tiny", action="store_true", help="a tiny generated model (noise)")
    parser.add_argument("--cloud", help="openai:MODEL@URL (default: llama_cpp.server on loopback)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    outcome = asyncio.run(
        play(
            args.goal,
            model=args.model,
            tiny=args.tiny,
            cloud=args.cloud,
            threads=args.threads,
            timeout=args.timeout,
        )
    )
    print(
        f"frames refused by the hub: {outcome.rejections}; escalations: {outcome.escalations}; "
        f"model calls local {outcome.local_calls}, remote {outcome.remote_calls}"
    )


if __name__ == "__main__":
    main()
