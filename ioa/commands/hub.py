"""`ioa hub`: run a hub in the foreground, tuned to be the only thing its process does."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
from pathlib import Path

from ioa.eventloop import LOOPS

__all__ = ["GC_GEN0_THRESHOLD", "LOOP_ENV", "register", "run", "tune_gc_for_serving"]

GC_GEN0_THRESHOLD = 50_000
LOOP_ENV = "IOA_HUB_LOOP"


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
    parser.add_argument(
        "--broker",
        dest="broker_url",
        help="redis://host:port: run as one of several hubs sharing the --db PostgreSQL "
        "(default: IOA_BROKER_URL)",
    )
    parser.add_argument(
        "--embeddings",
        help="discovery by meaning: bundled (default), off, or a BERT GGUF path "
        "(default: IOA_HUB_EMBEDDINGS)",
    )
    parser.add_argument(
        "--registration-token",
        help="require this bearer token to register agents (default: IOA_REGISTRATION_TOKEN)",
    )
    parser.add_argument(
        "--a2a-guests",
        action="store_true",
        default=None,
        help="let A2A clients call /a2a without a token, as one guest (default: IOA_A2A_GUESTS)",
    )
    parser.add_argument(
        "--runs",
        action="append",
        type=Path,
        metavar="DIR",
        help="a folder of benchmark and lab results for the dashboard; repeat for more "
        "(default: ./runs and $IOA_HOME/runs, or IOA_HUB_RUNS)",
    )
    parser.add_argument(
        "--price-local",
        metavar="PRICE",
        help="cost of 1,000 local-model tokens, PRICE or PROMPT/GENERATED, for the dashboard "
        "(default: IOA_PRICE_LOCAL; none: no cost shown)",
    )
    parser.add_argument(
        "--price-cloud",
        metavar="PRICE",
        help="cost of 1,000 cloud-model tokens, as --price-local (default: IOA_PRICE_CLOUD)",
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        help="event loop: uvloop (C, on libuv; about 1.3x the messages per CPU second), "
        "asyncio, or auto = uvloop when installed (default: IOA_HUB_LOOP, else auto)",
    )
    parser.set_defaults(handler=run, log_level=logging.INFO)


def tune_gc_for_serving() -> None:
    """Tune the garbage collector for a process that is a hub and nothing else.

    This changes the whole process, so it is the `ioa hub` command's decision (and the hub
    benchmark's, which plays that command), never `Hub.start()`'s: a test or the company that
    embeds a hub keeps its own collector.
    """
    gc.freeze()  # long-lived start-up objects need not be scanned by every collection
    gc.enable()  # `run` turned it off for the start
    # Each connection keeps ~100 tracked objects; with the default thresholds a full
    # collection ran every few seconds at 1,000 agents and its 70-145 ms pause was the p99.
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 100)


def run(args: argparse.Namespace) -> int:
    # The start (imports, then the registry it reads) makes objects that live as long as the
    # hub: collecting among them as they are made found almost nothing to free and cost ~4% of
    # the instructions to the first answer (~35 ms of wall time on a 2-vCPU EPYC).
    # `tune_gc_for_serving` freezes them and turns the collector back on; the start's few
    # cycles of garbage (~2,000 objects, ~0.5 MB) stay frozen with them, once.
    gc.disable()
    from ioa import eventloop
    from ioa.config import HubConfig, ioa_home
    from ioa.hub import Hub

    config = HubConfig.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        broker_url=args.broker_url,
        registration_token=args.registration_token,
        embeddings=args.embeddings,
        a2a_guests=args.a2a_guests,
        runs=args.runs,
        price_local=args.price_local,
        price_cloud=args.price_cloud,
    )
    if "database_url" not in config.model_fields_set:
        ioa_home().mkdir(parents=True, exist_ok=True)  # the default file lives there

    loop = eventloop.resolve(args.loop or os.environ.get(LOOP_ENV) or "auto")

    async def serve() -> None:
        async with Hub(config) as hub:
            tune_gc_for_serving()
            print(f"IoA hub listening on {hub.url} (database: {config.database_url})", flush=True)
            print(f"event loop: {loop}", flush=True)
            if hub.cluster is not None:
                print(f"one of a cluster: broker {config.broker_url}", flush=True)
            print(f"A2A: agent cards at {hub.url}/.well-known/agent-card.json", flush=True)
            await asyncio.Event().wait()

    eventloop.run(serve(), loop)
    return 0
