"""`ioa quarantine`: the groups a hub could not restore, and retrying one once it is mended."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from ioa.commands._options import hub_url

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "quarantine",
        help="show (and retry) the groups a hub could not restore",
        description="A group whose stored transcript the hub cannot replay (a damaged row, a "
        "transcript from an older version) is quarantined: it answers `group_quarantined` and "
        "the hub serves everything else. This lists them with their causes; after mending the "
        "rows, --retry GROUP reads the group again. Operator endpoints need the hub's admin "
        "token (else its registration token); a hub with neither answers on loopback only.",
    )
    parser.add_argument("--hub", help="the hub's URL (default: the one `ioa login` stored)")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("IOA_ADMIN_TOKEN"),
        help="the hub's admin token (default: IOA_ADMIN_TOKEN)",
    )
    parser.add_argument("--retry", metavar="GROUP", help="read this group from the store again")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ioa.client import HubClient

    hub = hub_url(args.hub)

    async def ask() -> Any:
        async with HubClient(hub, token=args.admin_token) as client:
            if args.retry:
                return await client.request("POST", f"/v1/admin/quarantine/{args.retry}/retry")
            return await client.request("GET", "/v1/admin/quarantine")

    answer = asyncio.run(ask())
    if args.retry:
        print(f"{args.retry}: restored (head {answer['head']})")
        return 0
    groups = answer["groups"]
    for group_id, cause in groups.items():
        print(f"{group_id}  {cause}")
    print(f"{len(groups)} quarantined group(s)")
    return 0
