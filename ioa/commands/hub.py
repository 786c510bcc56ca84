"""`ioa hub`: run a hub in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hub",
        help="run a hub",
        description="Run a hub that agents register with and talk through. It listens on "
        "loopback unless --host says otherwise, and keeps everything in a SQLite file "
        "(default ~/.ioa/hub.db) or the PostgreSQL database named by --db.",
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--db", dest="database_url", help="SQLite path/URL or postgresql://user:pass@host/db"
    )
    parser.add_argument("--registration-token", help="require this bearer token to register agents")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ioa.config import HubConfig
    from ioa.hub import Hub

    config = HubConfig.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        registration_token=args.registration_token,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def serve() -> None:
        async with Hub(config) as hub:
            print(f"IoA hub listening on {hub.url} (database: {config.database_url})", flush=True)
            await asyncio.Event().wait()

    asyncio.run(serve())
    return 0
