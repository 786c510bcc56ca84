"""Hub throughput and delivery latency, persisted, side by side with an a2a-sdk echo agent.

Four processes on loopback: the hub (its own SQLite file in a temporary directory; every message
is committed before it is acked or delivered), a stock a2a-sdk echo agent (Starlette JSON-RPC app
under uvicorn), the floor (`_hub/floor.py`: a bare aiohttp WebSocket relay doing the same durable
work, SQLite group commit of at most 100 messages or 2 ms, forwarding after the commit, and
nothing else), and this one, the load, on raw aiohttp WebSockets and HTTP with pre-built JSON.
All agents (1,000 in pairs plus a fan-out team) stay connected for the whole run, so every hub
figure is taken with over 1,000 open WebSockets. Scenarios, interleaved over several rounds:

- one-to-one: N pairs, each alone in a 2-member group, each sender closed-loop (one message in
  flight, the next sent when the hub acks); latency = arrival at the receiver - send time written
  into the message;
- a2a-sdk: the same exchange, N closed-loop clients calling `SendMessage`; latency = round trip;
- floor: the same one-to-one exchange at the most pairs, through the floor relay, by the same load
  client (its own agents, only those pairs connected); `hub_vs_floor` is hub msgs/s ÷ floor
  msgs/s, `hub_us_per_msg_vs_floor` hub server CPU per message ÷ the floor's;
- saturation: the most pairs again with `--saturate` messages in flight each. With one in flight
  the hub is bound by the latency of its commit cycle (pairs / cycle), not by its CPU; this run
  shows its capacity, to set beside a2a-sdk's, which is CPU-bound from a few clients on;
- fan-out: one group of `--team` members, `--team-senders` of them closed-loop senders;
- 1,000 agents: every pair's sender sends `--rate` messages a second, open loop.

All three servers run on one event loop (`--loop`, default auto: uvloop when installed, as
`ioa hub` does; uvicorn then also has httptools when installed); the load runs on `--load-loop`
(asyncio by default, so that the load costs what it did before uvloop). Medians over the
rounds; ends with one `RESULT {json}` line. Profile the hub with `--profile` (cProfile in the
hub process) or attach `py-spy record --pid <hub pid>` while it runs; for figures that do not
move with the machine's load, `hub_instructions.py` counts instructions per message.

    python benchmarks/hub_throughput.py [--rounds 3] [--duration 3] [--pairs 8,64] [--agents 1000]
                                        [--loop auto|asyncio|uvloop] [--load-loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import math
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import aiohttp
from _hub import vitals
from _hub.a2a_load import start_clients
from _hub.floor import run_floor
from _hub.hub_load import Population, populate, start_closed_loop, start_paced
from _hub.measure import Figures, Run, drain, measure, median_figures, reduce
from _hub.servers import (
    A2A_RPC_PATH,
    BenchError,
    ServerProcess,
    raise_fd_limit,
    run_a2a,
    run_hub,
)

from ioa import eventloop

RATIO_GOAL = 20.0
P99_GOAL_MS = 20.0
FLOOR_GOAL = 0.6


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    """`hub_<pairs>`, `a2a_<clients>`, `floor`, `fanout` or `crowd_<rate>`."""
    label: str
    senders: str
    connected: int
    """Agents (hub) or HTTP clients (a2a) connected while it runs."""
    server: ServerProcess
    go: Callable[[], Awaitable[Run]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds before each window")
    p.add_argument("--duration", type=float, default=3.0, help="seconds measured per scenario")
    p.add_argument("--pairs", default="8,64", help="one-to-one pair counts (= a2a clients)")
    p.add_argument("--window", type=int, default=1, help="messages in flight per sender")
    p.add_argument(
        "--saturate",
        type=int,
        default=4,
        help="window of an extra run with the most pairs, to find the hub's capacity (0: none)",
    )
    p.add_argument("--team", type=int, default=16, help="members of the fan-out group")
    p.add_argument("--team-senders", type=int, default=4, help="closed-loop senders in it")
    p.add_argument("--agents", type=int, default=1000, help="agents in pairs, all connected")
    p.add_argument(
        "--rates",
        default="2,4",
        help="msgs/s per sender in the 1,000-agent runs; the first gives p99_ms_1000_agents",
    )
    p.add_argument("--payload", type=int, default=64, help="bytes of filler text per message")
    p.add_argument("--profile", type=Path, help="cProfile the hub; write stats here, print top")
    p.add_argument(
        "--loop",
        choices=eventloop.LOOPS,
        default="auto",
        help="event loop of all three servers (auto: uvloop when installed, as `ioa hub`)",
    )
    p.add_argument(
        "--load-loop",
        choices=eventloop.LOOPS,
        default="asyncio",
        help="event loop of this process, the load (the same for every server)",
    )
    args = p.parse_args(argv)
    args.pairs = sorted({int(n) for n in str(args.pairs).split(",") if n.strip()})
    args.rates = [float(r) for r in str(args.rates).split(",") if r.strip()]
    if not args.pairs or min(args.pairs) < 1 or args.agents < 2 * max(args.pairs):
        p.error("--pairs must be >= 1 and --agents at least twice the largest pair count")
    if args.team < 2 or not 1 <= args.team_senders <= args.team:
        p.error("--team must be >= 2 and --team-senders in 1..team")
    if args.rounds < 1 or args.window < 1 or not args.rates or min(args.rates) <= 0:
        p.error("--rounds and --window must be >= 1, --rates > 0")
    if args.saturate < 0:
        p.error("--saturate must be >= 0")
    return args


def scenarios(
    args: argparse.Namespace,
    pops: tuple[Population, Population],
    hub: ServerProcess,
    a2a: ServerProcess,
    floor: ServerProcess,
) -> list[Scenario]:
    warmup, duration = args.warmup, args.duration
    pop, floor_pop = pops

    def one_to_one(
        n: int, window: int, on: Population = pop, server: ServerProcess = hub
    ) -> Callable[[], Awaitable[Run]]:
        async def go() -> Run:
            run = Run()
            senders = [s for s, _ in on.pairs[:n]]
            members = senders + [r for _, r in on.pairs[:n]]
            await start_closed_loop(run, senders, members, window)
            await measure(run, warmup, duration, server)
            await drain(run)
            return run

        return go

    def a2a_echo(n: int) -> Callable[[], Awaitable[Run]]:
        async def go() -> Run:
            run = Run()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                clients = start_clients(session, a2a.url + A2A_RPC_PATH, run, n, args.payload)
                await measure(run, warmup, duration, a2a)
                await asyncio.gather(*clients)
            return run

        return go

    async def fan_out() -> Run:
        run = Run(fanout=len(pop.team) - 1)
        await start_closed_loop(run, pop.team[: args.team_senders], pop.team, args.window)
        await measure(run, warmup, duration, hub)
        await drain(run)
        return run

    def crowd(rate: float) -> Callable[[], Awaitable[Run]]:
        async def go() -> Run:
            run = Run()
            senders = [s for s, _ in pop.pairs]
            members = senders + [r for _, r in pop.pairs]
            pacers = start_paced(run, senders, members, rate)
            await measure(run, warmup, duration, hub)
            await asyncio.gather(*pacers)
            await drain(run)
            return run

        return go

    everyone = pop.connected
    plan: list[Scenario] = []
    for n in args.pairs:
        go = one_to_one(n, args.window)
        plan.append(Scenario(f"hub_{n}", "hub one-to-one", f"{n} pairs", everyone, hub, go))
        plan.append(
            Scenario(f"a2a_{n}", "a2a-sdk SendMessage", f"{n} clients", n, a2a, a2a_echo(n))
        )
    top = max(args.pairs)
    go = one_to_one(top, args.window, floor_pop, floor)
    plan.append(Scenario("floor", "floor relay one-to-one", f"{top} pairs", 2 * top, floor, go))
    if args.saturate:
        top, window = max(args.pairs), args.saturate
        go = one_to_one(top, window)
        label = f"hub one-to-one, window {window}"
        plan.append(Scenario("hub_saturated", label, f"{top} pairs", everyone, hub, go))
    team = f"{args.team_senders} of {len(pop.team)}"
    plan.append(Scenario("fanout", "hub group fan-out", team, everyone, hub, fan_out))
    crowd_label = f"hub {2 * len(pop.pairs):,} agents, paced"
    for rate in args.rates:
        senders = f"{len(pop.pairs)} x {rate:g}/s"
        plan.append(Scenario(f"crowd_{rate:g}", crowd_label, senders, everyone, hub, crowd(rate)))
    return plan


async def bench(
    args: argparse.Namespace, hub: ServerProcess, a2a: ServerProcess, floor: ServerProcess
) -> tuple[list[Scenario], dict[str, list[Figures]], int]:
    """Run every scenario `rounds` times, rotating the order; returns figures and messages acked."""
    started = time.perf_counter()
    pop = await populate(hub.url, args.agents // 2, args.team, args.payload)
    took = time.perf_counter() - started
    print(f"{pop.connected} agents registered, grouped and connected in {took:.1f} s")
    floor_pop = await populate(floor.url, max(args.pairs), 0, args.payload)
    print(f"{floor_pop.connected} agents connected to the floor relay")
    gc.collect()
    gc.freeze()  # the population lives all run long: keep the load's collector off it
    board = vitals.new_board()
    vitals.watch_gc(board)
    probe = asyncio.create_task(vitals.watch_loop(board))
    acked = 0
    plan = scenarios(args, (pop, floor_pop), hub, a2a, floor)
    results: dict[str, list[Figures]] = {s.key: [] for s in plan}
    try:
        for r in range(args.rounds):
            for s in plan[r % len(plan) :] + plan[: r % len(plan)]:
                vitals.reset(board)
                run = await s.go()
                own = vitals.read(board)
                if s.server is hub:
                    acked += run.acked
                fig = reduce(run)
                results[s.key].append(fig)
                print(f"  round {r + 1}  " + round_line(s, fig, own, run.errors), flush=True)
                gc.collect()
    finally:
        probe.cancel()
        await pop.close()
        await floor_pop.close()
    return plan, results, acked


def round_line(s: Scenario, fig: Figures, own: vitals.Vitals, errors: list[str]) -> str:
    """One run, with what could explain its tail: collections and late wake-ups of the server's
    event loop and of the load's own."""
    return (
        f"{s.label:<24}{s.senders:>13}: {fig.msgs_per_s:>7,.0f} msgs/s"
        f"  p50 {fig.p50_ms:6.2f}  p99 {fig.p99_ms:7.2f} ms"
        f"  | server: full gc {fig.server_full_gcs:.0f} (max {fig.server_gc_max_ms:.0f} ms),"
        f" loop late <= {fig.server_lag_max_ms:.0f} ms"
        f"  | load: full gc {own.full_gcs}, loop late <= {own.loop_lag_max_ms:.0f} ms"
        + (f"  LOST {fig.lost}" if fig.lost else "")
        + (f"  ERRORS {len(errors)}, first: {errors[0]}" if errors else "")
    )


def stored_messages(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])


def _num(x: float, digits: int = 0) -> str:
    return "—" if math.isnan(x) else f"{x:,.{digits}f}"


def report(
    args: argparse.Namespace,
    plan: list[Scenario],
    med: dict[str, Figures],
    persisted: bool,
    load_avg: tuple[float, float],
) -> dict[str, object]:
    def ratio(n: int) -> float:
        return med[f"hub_{n}"].msgs_per_s / med[f"a2a_{n}"].msgs_per_s

    head = (
        f"{'scenario':<25}{'senders':>13}{'connected':>10}{'msgs/s':>9}{'deliv/s':>9}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'srv µs/msg':>11}{'load µs/msg':>12}{'gc2':>5}"
        f"{'lag ms':>8}{'vs a2a':>8}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for s in plan:
        f = med[s.key]
        vs = ""
        if s.key == "hub_saturated":
            vs = f"{f.msgs_per_s / med[f'a2a_{max(args.pairs)}'].msgs_per_s:.1f}x"
        elif s.key.startswith("hub_"):
            vs = f"{ratio(int(s.key[4:])):.1f}x"
        print(
            f"{s.label:<25}{s.senders:>13}{s.connected:>10}{_num(f.msgs_per_s):>9}"
            f"{_num(f.deliveries_per_s):>9}{_num(f.p50_ms, 2):>8}{_num(f.p99_ms, 2):>8}"
            f"{_num(f.server_us_per_msg):>11}{_num(f.client_us_per_msg):>12}"
            f"{_num(f.server_full_gcs):>5}{_num(f.server_lag_max_ms):>8}{vs:>8}"
        )
    top = max(args.pairs)
    hub, a2a, fan, floor = med[f"hub_{top}"], med[f"a2a_{top}"], med["fanout"], med["floor"]
    print(
        f"\nhub vs floor at {top} pairs: {hub.msgs_per_s / floor.msgs_per_s:.2f} of its msgs/s,"
        f" {hub.server_us_per_msg / floor.server_us_per_msg:.2f}x its server CPU per message"
        f" ({_num(hub.server_us_per_msg)} vs {_num(floor.server_us_per_msg)} µs)"
    )
    crowds = [(rate, med[f"crowd_{rate:g}"]) for rate in args.rates]
    best_hub = max(med[f"hub_{n}"].msgs_per_s for n in args.pairs)
    best_a2a = max(med[f"a2a_{n}"].msgs_per_s for n in args.pairs)
    result: dict[str, object] = {
        "clients": top,
        "msgs_per_s": round(hub.msgs_per_s),
        "p50_ms": round(hub.p50_ms, 2),
        "p99_ms": round(hub.p99_ms, 2),
        "a2a_msgs_per_s": round(a2a.msgs_per_s),
        "a2a_p50_ms": round(a2a.p50_ms, 2),
        "a2a_p99_ms": round(a2a.p99_ms, 2),
        "ratio_vs_a2a": round(ratio(top), 1),
        "ratio_vs_a2a_best": round(best_hub / best_a2a, 1),
        "cpu_ratio_vs_a2a": round(a2a.server_us_per_msg / hub.server_us_per_msg, 1),
        "hub_server_us_per_msg": round(hub.server_us_per_msg),
        "a2a_server_us_per_msg": round(a2a.server_us_per_msg),
        "floor_msgs_per_s": round(floor.msgs_per_s),
        "floor_p99_ms": round(floor.p99_ms, 2),
        "floor_server_us_per_msg": round(floor.server_us_per_msg),
        "hub_vs_floor": round(hub.msgs_per_s / floor.msgs_per_s, 2),
        "hub_us_per_msg_vs_floor": round(hub.server_us_per_msg / floor.server_us_per_msg, 2),
        "p99_ms_1000_agents": round(crowds[0][1].p99_ms, 2),
        "p50_ms_1000_agents": round(crowds[0][1].p50_ms, 2),
        "msgs_per_s_1000_agents": round(crowds[0][1].msgs_per_s),
        "agents_connected": plan[0].connected,
        "crowd": [{"rate_per_sender": rate, **_brief(f)} for rate, f in crowds],
        "fanout_members": args.team,
        "fanout_senders": args.team_senders,
        "fanout_msgs_per_s": round(fan.msgs_per_s),
        "fanout_deliveries_per_s": round(fan.deliveries_per_s),
        "fanout_p50_ms": round(fan.p50_ms, 2),
        "fanout_p99_ms": round(fan.p99_ms, 2),
        "by_pairs": {
            str(n): {
                "hub": _brief(med[f"hub_{n}"]),
                "a2a": _brief(med[f"a2a_{n}"]),
                "ratio": round(ratio(n), 1),
            }
            for n in args.pairs
        },
        "rounds": args.rounds,
        "duration_s": args.duration,
        "persisted_all": persisted,
        "load_avg_1min": [round(x, 1) for x in load_avg],
        "lost": sum(f.lost for f in med.values()),
        "errors": sum(f.errors for f in med.values()),
    }
    if args.saturate:
        sat = med["hub_saturated"]
        result["saturated"] = {
            "window": args.saturate,
            "pairs": top,
            **_brief(sat),
            "ratio_vs_a2a": round(sat.msgs_per_s / a2a.msgs_per_s, 1),
            "ratio_vs_a2a_best": round(sat.msgs_per_s / best_a2a, 1),
        }
    result["goals_met"] = {
        "ratio_vs_a2a_ge_20": ratio(top) >= RATIO_GOAL,
        "p99_1000_agents_lt_20ms": crowds[0][1].p99_ms < P99_GOAL_MS,
        "hub_vs_floor_ge_0_6": hub.msgs_per_s / floor.msgs_per_s >= FLOOR_GOAL,
    }
    return result


def _brief(f: Figures) -> dict[str, float]:
    keep = ("msgs_per_s", "p50_ms", "p99_ms", "server_us_per_msg", "client_us_per_msg")
    return {k: round(v, 2) for k, v in asdict(f).items() if k in keep}


def print_profile(path: Path, top: int = 30) -> None:
    print(f"\nhub profile ({path}), top {top} by own time:")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)


def a2a_stack(loop: str) -> str:
    """What the stock a2a-sdk server runs on here: the servers' loop, and the HTTP parser
    uvicorn picks (httptools when installed, as `uvicorn[standard]` has it, else h11)."""
    loop = eventloop.resolve(loop)
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    versions = f"a2a-sdk {metadata.version('a2a-sdk')}, uvicorn {metadata.version('uvicorn')}"
    return f"{versions} ({loop} + {http})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fds = 2 * (args.agents + args.team) + 512
    raise_fd_limit(fds)
    load_before = os.getloadavg()[0]
    print(f"load average (1 min) before: {load_before:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="ioa-bench-") as tmp:
        db = Path(tmp) / "hub.db"
        profile = str(args.profile.resolve()) if args.profile else None
        loop = args.loop
        hub = ServerProcess("hub", run_hub, str(db), fds, profile, loop=loop)
        a2a = ServerProcess("a2a-echo", run_a2a, fds, loop=loop)
        floor = ServerProcess("floor", run_floor, str(Path(tmp) / "floor.db"), fds, loop=loop)
        try:
            hub.start()
            a2a.start()
            floor.start()
            print(f"hub on {hub.url} (pid {hub.process.pid})")
            print(f"a2a echo agent on {a2a.url} (pid {a2a.process.pid}): {a2a_stack(loop)}")
            print(f"floor relay on {floor.url} (pid {floor.process.pid})")
            running = bench(args, hub, a2a, floor)
            plan, results, acked = eventloop.run(running, args.load_loop)
        finally:
            hub.stop()
            a2a.stop()
            floor.stop()
        stored = stored_messages(db)
    load_after = os.getloadavg()[0]
    print(f"\nmessages acked by the hub: {acked:,}; rows in its database: {stored:,}")
    print(f"load average (1 min) after: {load_after:.1f} (the run itself adds about 2)")
    med = {key: median_figures(figs) for key, figs in results.items()}
    result = report(args, plan, med, stored == acked, (load_before, load_after))
    result["a2a_stack"] = a2a_stack(args.loop)
    result["loop"] = eventloop.resolve(args.loop)
    result["load_loop"] = eventloop.resolve(args.load_loop)
    if args.profile:
        print_profile(args.profile)
    print("RESULT " + json.dumps(result))
    return 0 if result["persisted_all"] and not result["lost"] and not result["errors"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_throughput: {exc}")
