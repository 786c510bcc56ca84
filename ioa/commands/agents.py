"""`ioa agents`: list the agents a hub knows, with presence."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocols.views import AgentInfo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="list the agents registered with a hub",
        description="List a hub's agents: id, name, online or not, and skills. Reading the "
        "directory needs an agent token (--token or IOA_TOKEN).",
    )
    parser.add_argument("--hub", default=os.environ.get("IOA_HUB", "http://127.0.0.1:8765"))
    parser.add_argument("--token", default=os.environ.get("IOA_TOKEN"))
    parser.add_argument("--online", action="store_true", help="only agents online now")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ioa.client import ClientError, HubClient

    if not args.token:
        raise ClientError("an agent token is needed: pass --token or set IOA_TOKEN", "unauthorized")

    async def fetch() -> list[AgentInfo]:
        async with HubClient(args.hub, token=args.token) as client:
            return await client.agents(online=args.online)

    agents = asyncio.run(fetch())
    print(f"{'ID':<20} {'NAME':<24} {'STATE':<8} SKILLS")
    for agent in agents:
        skills = ", ".join(s.name for s in agent.card.skills)
        state = "online" if agent.online else "offline"
        print(f"{agent.id:<20} {agent.card.name:<24} {state:<8} {skills}")
    print(f"{len(agents)} agent(s)")
    return 0
