"""A2A `SendMessage` round trip through the hub, side by side with a stock a2a-sdk echo agent.

Three processes beside this one (the load): the hub (its own SQLite file in a temporary
directory, A2A guests allowed), an echo agent on it (an IoA agent over its WebSocket that answers
every message with `conclude` and a `conclusion` carrying the same text), and the a2a-sdk echo
agent of `hub_throughput` (Starlette JSON-RPC routes, `DefaultRequestHandler`, in-memory task
store, uvicorn). N closed-loop clients (`_hub/a2a_load.py`, aiohttp, pre-built bodies) call
`SendMessage` and wait for the answer; rounds alternate the two servers.

Through the hub one call is a whole conversation: a goal and its group are created and stored,
the caller's message is committed and delivered, the agent's two moves are committed, and the
completed task comes back: three commits and two WebSocket hops, where the a2a-sdk agent answers
from memory in-process. The ratio is the price of the enforced, persisted conversation.

    python benchmarks/a2a_roundtrip.py [--rounds 3] [--duration 3] [--clients 1,8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import psutil
from _hub.a2a_load import start_clients
from _hub.measure import Figures, Run, measure, median_figures, reduce
from _hub.servers import A2A_RPC_PATH, ServerProcess, raise_fd_limit, run_a2a, run_hub
from _hub.vitals import Vitals

from ioa.client import HubClient
from protocols import AgentCard
from protocols.messages import Conclude, Conclusion, Discussion

ECHO_CARD = AgentCard(name="echo", description="Echoes every message.", kind="scripted")


def run_echo_agent(pipe: Connection, hub_url: str) -> None:
    asyncio.run(_echo(pipe, hub_url))


async def _echo(pipe: Connection, hub_url: str) -> None:
    async with HubClient(hub_url) as client:
        await client.register(ECHO_CARD)
        await client.connect()
        pipe.send(client.agent_id)
        pending: set[asyncio.Task[None]] = set()

        async def answer(group: str, text: str) -> None:
            await client.say(group, Conclude())
            await client.say(group, Conclusion(text=text))

        async for envelope in client.messages():
            if isinstance(envelope.payload, Discussion) and client.agent_id in envelope.to:
                job = asyncio.create_task(answer(envelope.group, envelope.payload.text))
                pending.add(job)
                job.add_done_callback(pending.discard)


@dataclass
class HubWithAgent:
    """The hub's figures count the echo agent's CPU too: both do the work of one answer."""

    hub: ServerProcess
    agent: psutil.Process

    def cpu_seconds(self) -> float:
        times = self.agent.cpu_times()
        return self.hub.cpu_seconds() + float(times.user + times.system)

    def vitals_reset(self) -> None:
        self.hub.vitals_reset()

    def vitals(self) -> Vitals:
        return self.hub.vitals()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=3.0, help="seconds measured per run")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--clients", default="1,8", help="closed-loop clients per run")
    p.add_argument("--payload", type=int, default=64, help="bytes of text per message")
    args = p.parse_args(argv)
    args.clients = [int(n) for n in str(args.clients).split(",")]
    return args


def scenario(
    url: str, server: HubWithAgent | ServerProcess, n: int, args: argparse.Namespace
) -> Callable[[], Awaitable[Run]]:
    async def go() -> Run:
        run = Run()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            clients = start_clients(session, url, run, n, args.payload)
            await measure(run, args.warmup, args.duration, server)
            await asyncio.gather(*clients)
        return run

    return go


async def bench(
    args: argparse.Namespace, hub: HubWithAgent, hub_url: str, sdk: ServerProcess
) -> dict[str, Figures]:
    plan: list[tuple[str, Callable[[], Awaitable[Run]]]] = []
    for n in args.clients:
        plan.append((f"hub_{n}", scenario(hub_url, hub, n, args)))
        plan.append((f"sdk_{n}", scenario(sdk.url + A2A_RPC_PATH, sdk, n, args)))
    rounds: dict[str, list[Figures]] = {name: [] for name, _ in plan}
    for _ in range(args.rounds):
        for name, go in plan:
            run = await go()
            if run.errors:
                raise SystemExit(f"{name}: {run.errors[0]}")
            rounds[name].append(reduce(run))
    return {name: median_figures(figs) for name, figs in rounds.items()}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    fd_limit = raise_fd_limit(4096)
    with tempfile.TemporaryDirectory() as scratch:
        database = str(Path(scratch) / "hub.db")
        hub = ServerProcess("hub", run_hub, database, fd_limit, None, settings={"a2a_guests": True})
        sdk = ServerProcess("a2a-sdk", run_a2a, fd_limit)
        ctx = multiprocessing.get_context("spawn")
        pipe, child_end = ctx.Pipe()
        agent = None
        try:
            hub.start()
            sdk.start()
            agent = ctx.Process(target=run_echo_agent, args=(child_end, hub.url), daemon=True)
            agent.start()
            if not pipe.poll(60):
                raise SystemExit("the echo agent did not start")
            agent_id = pipe.recv()
            hub_url = f"{hub.url}/a2a/agents/{agent_id}"
            counted = HubWithAgent(hub, psutil.Process(agent.pid))
            med = asyncio.run(bench(args, counted, hub_url, sdk))
        finally:
            if agent is not None and agent.is_alive():
                agent.kill()
            hub.stop()
            sdk.stop()
    report(args, med)


def report(args: argparse.Namespace, med: dict[str, Figures]) -> None:
    load = os.getloadavg()[0]
    print(
        f"A2A SendMessage round trip, {args.rounds} rounds x {args.duration:g} s, load {load:.2f}"
    )
    print(f"{'scenario':<10}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'server us/call':>16}")
    for name, f in med.items():
        print(
            f"{name:<10}{f.msgs_per_s:>10.0f}{f.p50_ms:>9.2f}{f.p99_ms:>9.2f}"
            f"{f.server_us_per_msg:>16.0f}"
        )
    result: dict[str, object] = {"load_1m": round(load, 2), "cpus": os.cpu_count()}
    for n in args.clients:
        hub, sdk = med[f"hub_{n}"], med[f"sdk_{n}"]
        ratio = sdk.msgs_per_s / hub.msgs_per_s
        cpu = hub.server_us_per_msg / sdk.server_us_per_msg
        print(
            f"{n} clients: a2a-sdk answers {ratio:.1f}x the calls/s; "
            f"the hub (+ agent) spends {cpu:.1f}x its CPU per call"
        )
        result[f"clients_{n}"] = {
            "hub": {k: round(v, 2) for k, v in asdict(hub).items()},
            "sdk": {k: round(v, 2) for k, v in asdict(sdk).items()},
            "sdk_vs_hub_calls_per_s": round(ratio, 2),
            "hub_vs_sdk_cpu_per_call": round(cpu, 2),
        }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
