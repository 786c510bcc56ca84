"""`ioa agents`: list the agents a hub knows, with presence."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from ioa.commands._options import add_hub_options, hub_token, hub_url

if TYPE_CHECKING:
    from protocols.views import AgentInfo

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="list the agents registered with a hub",
        description="List a hub's agents: id, name, online or not, and skills. Reading the "
        "directory needs an agent token: the one `ioa login` stored, --token or IOA_TOKEN.",
    )
    add_hub_options(parser)
    parser.add_argument("--online", action="store_true", help="only agents online now")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ioa.client import ClientError, HubClient

    hub = hub_url(args.hub)
    token = hub_token(args.token, hub)
    if not token:
        raise ClientError(
            f"an agent token is needed: run `ioa login --hub {hub}` once, or pass --token (or "
            "set IOA_TOKEN)",
            "unauthorized",
        )

    async def fetch() -> list[AgentInfo]:
        async with HubClient(hub, token=token) as client:
            return await client.agents(online=args.online)

    agents = asyncio.run(fetch())
    print(f"{'ID':<20} {'NAME':<24} {'STATE':<8} SKILLS")
    for agent in agents:
        skills = ", ".join(s.name for s in agent.card.skills)
        state = "online" if agent.online else "offline"
        print(f"{agent.id:<20} {agent.card.name:<24} {state:<8} {skills}")
    print(f"{len(agents)} agent(s)")
    return 0
