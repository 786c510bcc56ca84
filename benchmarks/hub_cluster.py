"""Several hubs on one PostgreSQL and one Redis: throughput, latency, failover, exactly-once.

The benchmark starts its own PostgreSQL (`initdb` in a temporary folder, default settings,
loopback; or uses `--pg URL`) and its own `redis-server`, then runs side by side, each on a
fresh database, the same `--agents` agents (in pairs, each pair alone in a 2-member group)
spread over:

- `lone`: one `ioa hub --db postgresql://…` without `--broker`: the lone-hub path;
- `1`, `2`, `3` hubs: `ioa hub --db … --broker redis://…`. With several hubs, half the pairs
  have their two members on different hubs ("cross-hub": the message reaches the receiver's
  hub as a broker hint, and that hub reads it from the store).

In each configuration, with every agent connected (load in `--workers` processes):

- throughput: every sender closed-loop with `--window` messages in flight; persisted msgs/s =
  acks in the window (an ack comes only after the commit);
- latency: every sender paced at `--rate` msgs/s (a moderate fixed load, apart from the
  throughput run); send → delivery p50/p99, same-hub and cross-hub pairs apart;
- failover (2 and 3 hubs): while paced, one hub is killed -9; the time until every agent it
  had has resumed on another hub (same reconnect protocol and backoff as `HubClient`);
- audit: every ack checked against the store: lost, moved, duplicated, gaps, and every stored
  message delivered to its receiver once and in order.

CPU per persisted message of each process (hubs, the PostgreSQL tree: postmaster, backends and
workers, read from /proc; redis-server; the load) comes from the same windows, and gives the
paper projection of N hubs on N machines. Ends with one `RESULT {json}` line.

    python benchmarks/hub_cluster.py [--agents 1000] [--seconds 5] [--quick] [--pg URL]
    python benchmarks/hub_cluster.py --only failover --hubs 2    # the failover time alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from _hub.cluster_audit import Audit, audit
from _hub.cluster_infra import Postgres, Redis, free_port, tree_cpu
from _hub.cluster_load import Agent, Load, Phase
from _hub.failover_timeline import sample_cpu, timeline
from _hub.hub_load import bounded
from _hub.hub_process import HubProcess
from _hub.measure import percentile
from _hub.servers import BenchError, raise_fd_limit

from ioa.client import HubClient

GOAL_CROSS_P99_MS = 30.0
GOAL_FAILOVER_S = 5.0
GOAL_ONE_HUB_MSGS = 5000.0
KILL_AFTER = 1.0
"""Seconds into the failover window at which the hub is killed."""


@dataclass(slots=True)
class Window:
    """One timed phase of one configuration, reduced."""

    msgs_per_s: float = 0.0
    same_p50_ms: float = math.nan
    same_p99_ms: float = math.nan
    cross_p50_ms: float = math.nan
    cross_p99_ms: float = math.nan
    us_per_msg: dict[str, float] = field(default_factory=dict)
    """Process class (hubs, postgres, redis, load) → CPU µs per persisted message."""
    pg_xacts_per_msg: float = math.nan
    """PostgreSQL transactions per persisted message (≈: backends report them up to 1 s late)."""
    errors: int = 0
    undrained: int = 0


@dataclass(slots=True)
class Config:
    key: str
    hubs: int
    broker: bool
    throughput: Window = field(default_factory=Window)
    latency: Window = field(default_factory=Window)
    failover_s: float | None = None
    failover_agents: int = 0
    audit: Audit | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=1000, help="agents, in pairs, all connected")
    p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per phase")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    p.add_argument("--window", type=int, default=1, help="messages in flight per sender")
    p.add_argument("--rate", type=float, default=2.0, help="msgs/s per sender in the latency run")
    p.add_argument("--hubs", default="1,2,3", help="hub counts to run with a broker")
    p.add_argument("--workers", type=int, default=2, help="load processes")
    p.add_argument("--failover-wait", type=float, default=10.0, help="seconds after the kill")
    p.add_argument("--pg", help="postgresql:// URL of a server to use instead of our own")
    p.add_argument("--quick", action="store_true", help="200 agents, 2 s phases")
    p.add_argument(
        "--only",
        choices=("all", "failover"),
        default="all",
        help="failover: only the configs with several hubs, straight to the kill (no lone hub,"
        " no throughput or latency window)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.agents, args.seconds, args.warmup, args.failover_wait = 200, 2.0, 0.5, 6.0
    args.hubs = sorted({int(n) for n in str(args.hubs).split(",") if n.strip()})
    if args.agents < 2 or args.agents % 2 or not args.hubs or min(args.hubs) < 1:
        p.error("--agents must be even and >= 2, --hubs >= 1")
    if args.only == "failover" and max(args.hubs) < 2:
        p.error("--only failover needs --hubs with 2 or more")
    return args


def placement(pair: int, hubs: int) -> tuple[int, int]:
    """(sender's hub, receiver's hub): senders round robin; every other round of pairs the
    receiver sits on the next hub, so with several hubs half the pairs are cross-hub."""
    s = pair % hubs
    return s, s if (pair // hubs) % 2 == 0 else (s + 1) % hubs


async def populate(urls: list[str], n_agents: int) -> list[Agent]:
    """Register every agent and its pair's group through the hub it will connect to."""
    hubs = len(urls)
    rests = [HubClient(u, reconnect=False) for u in urls]
    for rest in rests:
        await rest.__aenter__()
    try:

        async def register(i: int, hub: int) -> tuple[str, str]:
            card = {"name": f"bench-{i}", "description": "cluster benchmark agent", "kind": "tool"}
            body = await rests[hub].request("POST", "/v1/agents", card)
            return str(body["agent_id"]), str(body["token"])

        spots = [placement(k, hubs) for k in range(n_agents // 2)]
        creds = await bounded(
            8, [register(2 * k + j, spots[k][j]) for k in range(len(spots)) for j in (0, 1)]
        )

        async def group(k: int) -> str:
            body = {"name": "bench", "members": [creds[2 * k + 1][0]]}
            made = await rests[spots[k][0]].request(
                "POST", "/v1/groups", body, token=creds[2 * k][1]
            )
            return str(made["id"])

        groups = await bounded(8, [group(k) for k in range(len(spots))])
    finally:
        for rest in rests:
            await rest.close()
    agents: list[Agent] = []
    for k, ((s, r), gid) in enumerate(zip(spots, groups, strict=True)):
        for j, hub in ((0, s), (1, r)):
            order = tuple(urls[(hub + i) % hubs] for i in range(hubs))
            me, other = creds[2 * k + j], creds[2 * k + 1 - j]
            agents.append(Agent(me[0], me[1], 2 * k + j, gid, other[0], j == 0, order, s != r))
    return agents


class Meter:
    """CPU seconds of every process class, read at both edges of a window."""

    def __init__(
        self, hubs: list[HubProcess], pg: Postgres, redis: Redis, load: Load, db: str
    ) -> None:
        self.hubs, self.pg, self.redis, self.load, self.db = hubs, pg, redis, load, db

    async def transactions(self) -> float:
        """Transactions the hubs' database has committed or rolled back so far."""
        conn = await asyncpg.connect(self.db)
        try:
            n = await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()"
            )
        finally:
            await conn.close()
        return float(n)

    def read(self) -> dict[str, float]:
        hub = 0.0
        for h in self.hubs:
            if h.process is not None:
                hub += tree_cpu(h.pid)
        return {
            "hubs": hub,
            "postgres": self.pg.cpu_seconds() if self.pg.pid else math.nan,
            "redis": self.redis.cpu_seconds(),
            "load": sum(tree_cpu(pid) for pid in self.load.pids),
        }


async def timed(
    load: Load, meter: Meter, mode: str, rate: float, warmup: float, seconds: float
) -> tuple[Window, list[Phase]]:
    now = time.monotonic_ns()
    t0, t1 = now + int(warmup * 1e9), now + int((warmup + seconds) * 1e9)
    phases = asyncio.ensure_future(load.phase(mode, rate, t0, t1))
    await asyncio.sleep(warmup)
    xacts = await meter.transactions()
    before = meter.read()
    await asyncio.sleep(seconds)
    after = meter.read()
    xacts = await meter.transactions() - xacts - 1  # the first read's own
    done = await phases
    acked = sum(p.acked for p in done)
    same = sorted(x for p in done for x in p.same_ns)
    cross = sorted(x for p in done for x in p.cross_ns)
    per = 1e6 / acked if acked else math.nan
    window = Window(
        msgs_per_s=acked / seconds,
        same_p50_ms=percentile(same, 0.5),
        same_p99_ms=percentile(same, 0.99),
        cross_p50_ms=percentile(cross, 0.5),
        cross_p99_ms=percentile(cross, 0.99),
        us_per_msg={k: (after[k] - before[k]) * per for k in before},
        pg_xacts_per_msg=xacts / acked if acked else math.nan,
        errors=sum(len(p.errors) for p in done),
        undrained=sum(p.undrained for p in done),
    )
    return window, done


async def run_config(
    cfg: Config, args: argparse.Namespace, pg: Postgres, redis: Redis, logs: Path
) -> None:
    db = await pg.fresh_database(cfg.key)
    extra = ["--embeddings", "off"] + (["--broker", redis.url] if cfg.broker else [])
    hubs = [
        HubProcess(db, free_port(), logs / f"hub-{cfg.key}-{i}.log", extra) for i in range(cfg.hubs)
    ]
    load: Load | None = None
    try:
        hubs[0].spawn()  # hubs starting at once on an empty database race to create its tables
        await hubs[0].wait_healthy()
        for hub in hubs[1:]:
            hub.spawn()
        await asyncio.gather(*(h.wait_healthy() for h in hubs[1:]))
        started = time.monotonic()
        agents = await populate([h.url for h in hubs], args.agents)
        load = Load(agents, args.workers)
        connected = await load.connect()
        took = time.monotonic() - started
        print(f"[{cfg.key}] {connected} agents on {cfg.hubs} hub(s) in {took:.1f} s", flush=True)
        if args.only == "failover":
            await failover(cfg, args, load, hubs)
            cfg.audit = await audit(db, await load.audit())
            print(f"[{cfg.key}] audit {cfg.audit}", flush=True)
            return
        meter = Meter(hubs, pg, redis, load, db)
        cfg.throughput, _ = await timed(
            load, meter, "closed", args.window, args.warmup, args.seconds
        )
        print(f"[{cfg.key}] throughput {cfg.throughput.msgs_per_s:,.0f} msgs/s", flush=True)
        cfg.latency, _ = await timed(load, meter, "paced", args.rate, args.warmup, args.seconds)
        lat = cfg.latency
        print(
            f"[{cfg.key}] latency same p99 {lat.same_p99_ms:.1f}, cross p99 "
            f"{lat.cross_p99_ms:.1f} ms",
            flush=True,
        )
        if cfg.hubs > 1:
            await failover(cfg, args, load, hubs)
        cfg.audit = await audit(db, await load.audit())
        print(f"[{cfg.key}] audit {cfg.audit}", flush=True)
    finally:
        if load is not None:
            load.stop()
        for hub in hubs:
            hub.stop()


async def failover(
    cfg: Config, args: argparse.Namespace, load: Load, hubs: list[HubProcess]
) -> None:
    """Paced load; one hub killed -9 `KILL_AFTER` s in; until all its agents have resumed."""
    now = time.monotonic_ns()
    seconds = KILL_AFTER + args.failover_wait
    phases = asyncio.ensure_future(load.phase("paced", args.rate, now, now + int(seconds * 1e9)))
    await asyncio.sleep(KILL_AFTER)
    killed_at = time.monotonic()
    hubs[-1].kill()
    cpu = asyncio.ensure_future(sample_cpu([h.pid for h in hubs[:-1]], args.failover_wait))
    done = await phases
    samples = await cpu
    resumed = [(lost, back) for p in done for lost, back in p.resumed if lost >= killed_at - 0.1]
    cfg.failover_agents = len(resumed)
    cfg.failover_s = max((back for _, back in resumed), default=math.nan) - killed_at
    print(
        f"[{cfg.key}] killed one hub: {len(resumed)} agents resumed elsewhere, "
        f"the last {cfg.failover_s:.2f} s after the kill",
        flush=True,
    )
    print(timeline(cfg.key, killed_at, done, samples), flush=True)


def _num(x: float | None, digits: int = 0) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def report(
    configs: list[Config], args: argparse.Namespace, load_avg: list[float]
) -> dict[str, object]:
    head = (
        f"{'config':<8}{'msgs/s':>9}{'same p50':>9}{'p99':>9}{'cross p50':>10}{'p99':>9}"
        f"{'hubs µs':>9}{'pg µs':>7}{'redis µs':>9}{'load µs':>8}{'failover s':>11}"
        f"{'lost':>5}{'dup':>4}{'gaps':>5}{'undeliv':>8}{'pg xact/msg':>12}"
    )
    print(f"\n{args.agents} agents; µs = CPU per persisted message in the throughput window")
    print(head + "\n" + "-" * len(head))
    for c in configs:
        t, lat, a = c.throughput, c.latency, c.audit
        us = t.us_per_msg
        print(
            f"{c.key:<8}{_num(t.msgs_per_s):>9}{_num(lat.same_p50_ms, 1):>9}"
            f"{_num(lat.same_p99_ms, 1):>9}{_num(lat.cross_p50_ms, 1):>10}"
            f"{_num(lat.cross_p99_ms, 1):>9}{_num(us.get('hubs')):>9}{_num(us.get('postgres')):>7}"
            f"{_num(us.get('redis'), 1):>9}{_num(us.get('load')):>8}{_num(c.failover_s, 2):>11}"
            + (
                f"{a.lost + a.moved:>5}{a.duplicates:>4}{a.gaps:>5}{a.not_delivered:>8}"
                if a
                else ""
            )
            + f"{_num(t.pg_xacts_per_msg, 2):>12}"
        )
    by = {c.key: c for c in configs}
    result: dict[str, object] = {"agents": args.agents, "seconds": args.seconds}
    lone, one = by.get("lone"), by.get("1")
    if lone and one:
        ratio = one.throughput.msgs_per_s / lone.throughput.msgs_per_s
        cpu = one.throughput.us_per_msg["hubs"] / lone.throughput.us_per_msg["hubs"]
        pg = one.throughput.us_per_msg["postgres"] / lone.throughput.us_per_msg["postgres"]
        print(
            f"\n1 hub with the broker vs the lone hub: {ratio:.2f}x msgs/s, hub CPU/msg "
            f"{cpu:.2f}x, PostgreSQL CPU/msg {pg:.2f}x"
        )
        result["broker_vs_lone"] = {
            "msgs_per_s": round(ratio, 2),
            "hub_us_per_msg": round(cpu, 2),
            "pg_us_per_msg": round(pg, 2),
        }
    base = lone or one
    for c in configs:
        if base and c is not base:
            ratio = c.throughput.msgs_per_s / base.throughput.msgs_per_s
            print(f"{c.key} vs {base.key}: {ratio:.2f}x msgs/s")
    widest = configs[-1].throughput.us_per_msg
    per_hub_us = widest.get("hubs", math.nan)  # total hub CPU per message, whatever hub
    pg_us = widest.get("postgres", math.nan)
    if not math.isnan(pg_us) and per_hub_us > 0:
        hub_core = 1e6 / per_hub_us
        pg_core = 1e6 / pg_us
        print(
            f"on paper ({configs[-1].key} hubs' costs): a hub core carries {hub_core:,.0f} msgs/s,"
            f" a PostgreSQL core {pg_core:,.0f}: the database is the limit from"
            f" {pg_core / hub_core:.1f} hub cores per PostgreSQL core"
        )
        result["projection"] = {
            "msgs_per_s_per_hub_core": round(hub_core),
            "msgs_per_s_per_pg_core": round(pg_core),
            "hub_cores_per_pg_core": round(pg_core / hub_core, 2),
        }
    result["configs"] = {
        c.key: {
            "hubs": c.hubs,
            "broker": c.broker,
            "throughput": _rounded(asdict(c.throughput)),
            "latency": _rounded(asdict(c.latency)),
            "failover_s": None if c.failover_s is None else round(c.failover_s, 2),
            "failover_agents": c.failover_agents,
            "audit": asdict(c.audit) if c.audit else None,
        }
        for c in configs
    }
    audits = [c.audit for c in configs if c.audit]
    multi = [c for c in configs if c.hubs > 1]
    crosses = [c.latency.cross_p99_ms for c in multi]
    failovers = [c.failover_s for c in multi if c.failover_s is not None]
    result["lost"] = sum(a.lost + a.moved for a in audits)
    result["duplicates"] = sum(a.duplicates + a.duplicates_delivered for a in audits)
    result["errors"] = sum(c.throughput.errors + c.latency.errors for c in configs)
    result["load_avg_1min"] = [round(x, 1) for x in load_avg]
    result["goals_met"] = {
        "cross_p99_lt_30ms": bool(crosses) and max(crosses) < GOAL_CROSS_P99_MS,
        "failover_lt_5s": bool(failovers) and max(failovers) < GOAL_FAILOVER_S,
        "one_hub_ge_5000": one is not None and one.throughput.msgs_per_s >= GOAL_ONE_HUB_MSGS,
        "zero_lost_zero_dup": all(a.clean for a in audits) and len(audits) == len(configs),
    }
    return result


def _rounded(d: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = None if math.isnan(v) else round(v, 2)
        elif isinstance(v, dict):
            out[k] = _rounded(v)
        else:
            out[k] = v
    return out


async def bench(args: argparse.Namespace, pg: Postgres, logs: Path) -> list[Config]:
    redis = await Redis().spawn().wait_ready()
    configs = [Config(str(n), n, True) for n in args.hubs if args.only == "all" or n > 1]
    if args.only == "all":
        configs.insert(0, Config("lone", 1, False))
    try:
        for cfg in configs:
            await run_config(cfg, args, pg, redis, logs)
    finally:
        redis.stop()
        await pg.drop_databases()
    return configs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit(4 * args.agents + 1024)
    load_before = os.getloadavg()[0]
    print(f"load average (1 min) before: {load_before:.1f} on {os.cpu_count()} cores")
    pg = Postgres(args.pg).start()
    print(f"PostgreSQL: {pg.url} (postmaster pid {pg.pid})")
    try:
        with tempfile.TemporaryDirectory(prefix="ioa-bench-cluster-") as tmp:
            configs = asyncio.run(bench(args, pg, Path(tmp)))
    finally:
        pg.stop()
    load_after = os.getloadavg()[0]
    result = report(configs, args, [load_before, load_after])
    print(f"load average (1 min) after: {load_after:.1f}")
    print("RESULT " + json.dumps(result))
    ok = not result["lost"] and not result["duplicates"]
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_cluster: {exc}")
