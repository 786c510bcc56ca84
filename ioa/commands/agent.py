"""`ioa agent`: run one agent as its own process, on any device that can reach the hub."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from ioa.commands._options import add_hub_options, add_model_options, at_least, hub_url
from ioa.commands._remote_options import add_remote_options
from ioa.errors import IoAError

__all__ = ["AgentSetupError", "load_card", "load_tool", "register", "run"]


class AgentSetupError(IoAError):
    code = "agent_setup"
    default_message = "the agent could not be set up"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run one agent process connected to a hub",
        description="Register the agent described by a card file (JSON: name, description, "
        "skills...) with a hub and run it until interrupted. It thinks with the local model "
        "(escalating to a --remote one by the cascade policy), or a remote OpenAI-compatible "
        "model, or calls a Python function given with --tool, or an MCP server's tools, or "
        "stands for a remote A2A agent (--a2a). Its id, "
        "token and memory are kept under --state, so a restarted process continues its "
        "conversations where it was.",
    )
    parser.add_argument(
        "--card",
        type=Path,
        help="agent card, a JSON file (optional with --mcp, made from the tools, --a2a, made "
        "from the remote's card, and --human)",
    )
    add_hub_options(parser, token=False)
    parser.add_argument(
        "--registration-token",
        help="the token the hub requires to register agents (`ioa hub --registration-token`; "
        "default: IOA_REGISTRATION_TOKEN)",
    )
    add_model_options(parser, remote=True)
    add_remote_options(parser)
    parser.add_argument("--tool", help="module:function to run tasks with, instead of a model")
    parser.add_argument(
        "--mcp",
        metavar="COMMAND|URL",
        help="run an MCP server's tools as this agent's skills: a command line to start it "
        '(stdio, e.g. "python server.py") or its streamable-HTTP URL; with --model, the model '
        "fills a tool's arguments from a task in words",
    )
    parser.add_argument(
        "--a2a",
        metavar="URL",
        help="stand for the remote A2A agent at URL (its base URL or its agent card's URL): "
        "its turns and tasks become A2A messages to it",
    )
    parser.add_argument(
        "--a2a-timeout",
        type=at_least(1),
        default=120,
        metavar="SECONDS",
        help="longest wait for the remote A2A agent's answer to one message (default 120)",
    )
    parser.add_argument(
        "--a2a-token-env",
        metavar="NAME",
        help="environment variable holding a bearer token for the remote A2A agent",
    )
    parser.add_argument(
        "--human",
        action="store_true",
        help="you are the agent: read the conversation here and pick your moves by number",
    )
    parser.add_argument("--name", help="with --human and no --card: your name (default: $USER)")
    parser.add_argument(
        "--turn-timeout",
        type=at_least(0),
        default=300,
        metavar="SECONDS",
        help="with --human: time for one turn or task answer, then the safe move is sent "
        "(default 300; 0 waits forever)",
    )
    parser.add_argument(
        "--mcp-timeout",
        type=at_least(1),
        default=120,
        metavar="SECONDS",
        help="longest wait for one MCP tool call (default 120)",
    )
    parser.add_argument("--state", type=Path, help="state folder (default ~/.ioa/agents/NAME)")
    parser.add_argument("--max-depth", type=int, default=2, help="how deep sub-teams may nest")
    parser.set_defaults(handler=run, log_level=logging.INFO)


def load_card(path: Path) -> Any:
    from pydantic import ValidationError

    from protocols import AgentCard

    try:
        return AgentCard.model_validate_json(path.read_text())
    except OSError as exc:
        raise AgentSetupError(f"cannot read card {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "card"
        raise AgentSetupError(f"card {path} is not valid: {where}: {first['msg']}") from None


def load_tool(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise AgentSetupError(f"--tool {spec!r}: cannot import it ({exc})") from None
    if not callable(fn):
        raise AgentSetupError(f"--tool {spec!r} is not callable")
    return fn


def run(args: argparse.Namespace) -> int:
    from agents.runtime import Agent

    if args.mcp is not None:
        return run_mcp(args)
    if args.a2a is not None:
        return run_a2a(args)
    if args.human:
        return run_human(args)
    if args.card is None:
        raise AgentSetupError("--card is required (except with --mcp, --a2a or --human)")
    card = load_card(args.card)
    tool = load_tool(args.tool) if args.tool else None
    state = state_dir(args, card.name)
    hub = hub_url(args.hub)

    async def serve() -> None:
        options = agent_options(args, state)
        if tool is not None:
            from agents.tool import ToolBrain

            async with Agent(
                card.model_copy(update={"kind": "tool"}), ToolBrain(tool), hub, options=options
            ) as agent:
                announce(agent.id, card.name, state)
                await asyncio.Event().wait()
        from contextlib import AsyncExitStack

        from ioa.commands._remote_options import open_brain

        async with AsyncExitStack() as stack:
            brain = await open_brain(args, card, stack)
            agent = await stack.enter_async_context(Agent(card, brain, hub, options=options))
            announce(agent.id, card.name, state)
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


def state_dir(args: argparse.Namespace, name: str) -> Path:
    from ioa.config import ioa_home

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "agent"
    return Path(args.state or ioa_home() / "agents" / slug)


def agent_options(args: argparse.Namespace, state: Path) -> Any:
    from agents.runtime import AgentOptions

    registration_token = args.registration_token or os.environ.get("IOA_REGISTRATION_TOKEN")
    return AgentOptions(
        max_depth=args.max_depth, state_dir=state, registration_token=registration_token
    )


def announce(agent_id: str, name: str, state: Path) -> None:
    """The one JSON line a supervisor reads to learn the agent's id."""
    print(json.dumps({"agent_id": agent_id, "name": name, "state": str(state)}), flush=True)


def run_mcp(args: argparse.Namespace) -> int:
    """An MCP server's tools as one tool agent (`agents.mcp_tools`)."""
    from contextlib import AsyncExitStack

    from agents.mcp_tools import McpConnection, McpError, McpToolBrain, mcp_card
    from agents.runtime import Agent

    given = load_card(args.card) if args.card is not None else None
    hub = hub_url(args.hub)

    async def serve() -> None:
        async with AsyncExitStack() as stack:
            try:
                connection = await stack.enter_async_context(
                    McpConnection(args.mcp, call_timeout=float(args.mcp_timeout))
                )
            except McpError as exc:
                raise AgentSetupError(str(exc)) from None
            engine = None
            if args.model is not None:
                from ioa.llm import load_engine

                engine = await stack.enter_async_context(
                    await load_engine(args.model, n_threads=args.threads)
                )
            card = mcp_card(
                connection,
                name=given.name if given else None,
                description=given.description if given else None,
            )
            state = state_dir(args, card.name)
            brain = McpToolBrain(connection, engine=engine)
            agent = await stack.enter_async_context(
                Agent(card, brain, hub, options=agent_options(args, state))
            )
            announce(agent.id, card.name, state)
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


def run_a2a(args: argparse.Namespace) -> int:
    """A remote A2A agent as a member (`agents.a2a_remote`)."""
    from contextlib import AsyncExitStack

    from agents.runtime import Agent

    try:
        from agents.a2a_remote import A2ABrain, A2ARemote, A2ARemoteError, a2a_card
    except ImportError:
        raise AgentSetupError(
            "--a2a needs the A2A client: pip install 'ioa[a2a]' (or: pip install a2a-sdk)"
        ) from None
    given = load_card(args.card) if args.card is not None else None
    token = None
    if args.a2a_token_env:
        token = os.environ.get(args.a2a_token_env)
        if not token:
            raise AgentSetupError(f"--a2a-token-env: ${args.a2a_token_env} is not set")
    hub = hub_url(args.hub)

    async def serve() -> None:
        async with AsyncExitStack() as stack:
            try:
                remote = await stack.enter_async_context(
                    A2ARemote(args.a2a, timeout=float(args.a2a_timeout), token=token)
                )
            except A2ARemoteError as exc:
                raise AgentSetupError(str(exc)) from None
            card = a2a_card(
                remote.card,
                url=args.a2a,
                name=given.name if given else None,
                description=given.description if given else None,
            )
            state = state_dir(args, card.name)
            agent = await stack.enter_async_context(
                Agent(card, A2ABrain(remote), hub, options=agent_options(args, state))
            )
            announce(agent.id, card.name, state)
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


def run_human(args: argparse.Namespace) -> int:
    """A person at this terminal as an agent (`agents.human`)."""
    import getpass

    from agents.human import HumanBrain, TerminalSeat
    from agents.runtime import Agent
    from protocols import AgentCard

    if args.card is not None:
        card = load_card(args.card).model_copy(update={"kind": "human"})
    else:
        name = (args.name or getpass.getuser() or "person").strip()
        card = AgentCard(name=name[:120], description="a person at a terminal", kind="human")
    state = state_dir(args, card.name)
    hub = hub_url(args.hub)
    timeout = float(args.turn_timeout) or None

    async def serve() -> None:
        brain = HumanBrain(TerminalSeat(), turn_timeout=timeout)
        async with Agent(card, brain, hub, options=agent_options(args, state)) as agent:
            announce(agent.id, card.name, state)
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0
