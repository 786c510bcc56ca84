"""`ioa run "GOAL"`: give a goal to a team and watch the conversation live.

Without `--hub` it starts everything locally: a hub on a free loopback port, the default crew
on the local model, and a user agent that posts the goal. With `--hub URL` it posts the goal to
a running hub, whose agents may live on other machines, as the person `ioa login` registered
there (or with `--token TOKEN`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.choosing import Decoding
    from ioa.client import HubClient
    from protocols.views import GoalStatus

from ioa.commands._options import add_hub_options, add_model_options, hub_token, hub_url

__all__ = ["DEFAULT_MAX_TURNS", "follow_goal", "local_team", "register", "run"]

DEFAULT_MAX_TURNS = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="give a goal to a team and watch it work",
        description="Post a goal and print the team's conversation live, then its conclusion. "
        "Without --hub, a local hub and the default crew (Planner, Researcher, Writer and "
        "three tools: calculator, unit converter, look-up table) start on the local model.",
    )
    parser.add_argument("goal", help="what the team should achieve, in plain words")
    add_local_options(parser)
    add_hub_options(parser, hub_help="post to this running hub instead of starting one")
    parser.add_argument(
        "--roster", nargs="+", help="agent ids of the team (default: a leader forms it)"
    )
    parser.set_defaults(handler=run)


def add_local_options(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument("--max-turns", type=int, default=DEFAULT_MAX_TURNS, help="turn cap")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before giving up")
    parser.add_argument(
        "--decoding",
        choices=["score", "sample"],
        help="how the local crew makes finite choices (which tool, its arguments, whom to "
        "invite): the model's likelihood of each option, or sampling under a grammar "
        "(default: score)",
    )
    parser.add_argument(
        "--always-use-tools",
        action="store_true",
        help="when a tool of the crew can take the goal, use it (leave 'no tool' out of the "
        "model's choice)",
    )


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from ioa.client import ClientError, HubClient

    if args.hub:
        hub = hub_url(args.hub)
        token = hub_token(args.token, hub)
        if not token:
            raise ClientError(
                f"--hub needs a token: run `ioa login --hub {hub}` once, or pass --token "
                "(or set IOA_TOKEN)",
                "unauthorized",
            )
        async with HubClient(hub, token=token) as user:
            return await follow_goal(user, args.goal, args.max_turns, args.timeout, args.roster)
    async with local_team(
        args.model, args.threads, args.decoding, always_use_tools=args.always_use_tools
    ) as team:
        code = await follow_goal(team.user, args.goal, args.max_turns, args.timeout, args.roster)
        team.print_stats()
        return code


@dataclass
class LocalTeam:
    user: Any
    agents: list[Any]
    engine: Any

    def print_stats(self) -> None:
        total = self.engine.stats()
        print(
            f"\nmodel: {total.calls} calls, {total.prompt_tokens} prompt tokens "
            f"({total.evaluated_prompt_tokens} evaluated), {total.completion_tokens} generated, "
            f"{total.seconds:.1f} s"
        )


@contextlib.asynccontextmanager
async def local_team(
    model: str | None,
    threads: int | None = None,
    decoding: Decoding | None = None,
    *,
    always_use_tools: bool = False,
) -> AsyncIterator[LocalTeam]:
    """A hub, the default crew on the local model, and a registered user, all in-process."""
    from agents.crew import crew
    from ioa.client import HubClient
    from ioa.commands.local_hub import local_hub
    from ioa.llm import inspect_gguf, load_engine
    from protocols import AgentCard, ModelFacts

    # Ctrl-C can land while the hub's database thread still writes there: the cleanup
    # must not turn "interrupted" into "Directory not empty".
    with tempfile.TemporaryDirectory(prefix="ioa-run-", ignore_cleanup_errors=True) as tmp:
        print("loading the local model…", flush=True)
        async with (
            local_hub(Path(tmp) / "hub.db") as hub_url,
            await load_engine(model, n_threads=threads) as engine,
        ):
            facts = inspect_gguf(engine.path)
            model_facts = ModelFacts(
                name=facts.name or engine.path.stem, arch=facts.arch, quant=facts.quant
            )
            print(f"hub on {hub_url}; model {model_facts.name} ({facts.arch}, {facts.quant})")
            agents = crew(
                engine, hub_url, model_facts, decoding=decoding, always_use_tools=always_use_tools
            )
            async with contextlib.AsyncExitStack() as stack:
                for agent in agents:
                    await stack.enter_async_context(agent)
                user = await stack.enter_async_context(HubClient(hub_url))
                await user.register(AgentCard(name="you", kind="human", description="the user"))
                yield LocalTeam(user, agents, engine)


async def follow_goal(
    user: HubClient, goal: str, max_turns: int, timeout: float, roster: list[str] | None = None
) -> int:
    """Post the goal, print every message of its team(s) as it comes, labelled and indented by
    team, then the conclusion as the answer."""
    from ioa.commands.teams import TeamView
    from protocols.views import GoalDone

    posted = await user.post_goal(goal, max_turns=max_turns, roster=roster)
    print(f"goal {posted.id}: {goal}\n")
    names: dict[str, str] = {}
    view = TeamView(posted.group, names)
    print(view.header())
    started = time.monotonic()

    async def stream() -> GoalStatus:
        async for event in user.goal_events(posted.id):
            if isinstance(event, GoalDone):
                return event.goal
            for agent_id in [event.envelope.sender, *event.envelope.to]:
                if agent_id not in names:
                    names[agent_id] = await _name(user, agent_id)
            print("\n".join(view.lines(event.envelope)), flush=True)
        return await user.goal(posted.id)

    try:
        final = await asyncio.wait_for(stream(), timeout)
    except TimeoutError:
        print(f"\nno conclusion after {timeout:.0f} s")
        return 1
    print(f"\n{final.status.upper()} in {time.monotonic() - started:.1f} s")
    answer = final.conclusion or ""
    print(f"answer: {answer.removeprefix('Answer: ')}")
    return 0 if final.status == "done" else 1


async def _name(user: HubClient, agent_id: str) -> str:
    if agent_id == "hub":
        return "hub"
    try:
        return (await user.agent(agent_id)).card.name
    except Exception:
        return agent_id
