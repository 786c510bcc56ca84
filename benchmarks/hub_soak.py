"""Hub soak: one hub process under mixed load for minutes, then every ack checked in its database.

Processes on loopback: the hub (its own SQLite file in a temporary directory, started like in
`hub_throughput.py`), this one (the normal agents, the slow reader, the referee), and the flooder.
Most agents are normal: members of small chat groups, all connected, sending `--rate` messages a
second in all (open loop); each message is timed send → ack, and send → arrival at each peer.
Phases, a third of `--duration` each:

- quiet: normal traffic only, the baseline;
- flood: every `--wave-every` seconds a wave: the flooder (its own process) writes `--burst`
  frames of `--flood-payload` bytes as fast as its socket takes them, without waiting for acks,
  into a group whose other member, the slow reader (connected as the flood starts), never reads
  its socket nor answers pings (its receive buffer fills, then the hub holds everything meant
  for it); `--storm` normal agents hang up and
  reconnect with their cursors, resuming, and resend what was never acked; `--resends` agents
  resend ids they already sent, recent and old, and in a group filled with `--history` messages
  beforehand ids older than the hub's 4,096 remembered ones (twice each): every resend must be
  acked with the first seq and never stored or delivered again;
- (drain: the flooder stops and its acks come in; what the slow reader's socket got is read out
  if the hub let go of it, else the soak cuts it);
- after: normal traffic only again.

Then the load stops, the hub's RSS is read once it is idle, the hub stops, and its SQLite file is
opened read-only: every acked id must be stored exactly once under its acked seq (`lost`), no id
twice (`duplicates`), and each group's seqs must be exactly 1..N (`gaps`). The hub's RSS is
sampled every second (psutil) throughout. Ends with one `RESULT {json}` line; the exit status is
1 when an integrity check fails (a loss, duplicate or gap; an ack whose seq is not the stored one;
a resend acked with a new seq or delivered again; a delivery skipped or seen twice by a client),
never for the speed and memory goals, which are printed as met or not.

    python benchmarks/hub_soak.py [--duration 600] [--agents 1000] [--rate 800] [--hub KEY=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from _hub import vitals
from _hub.chat_agents import ChatAgent, Faults, pace
from _hub.flooder import Flooder
from _hub.hub_load import CONNECT_CONCURRENCY, bounded, create_group, register_agents
from _hub.ledger import Audit, Ledger, audit
from _hub.measure import POLL
from _hub.phases import Clock, Phase
from _hub.rss import RssTrace
from _hub.servers import BenchError, ServerProcess, raise_fd_limit, run_hub
from _hub.slow_reader import Leftovers, SlowReader
from _hub.soak_report import (
    Memory,
    Outcome,
    SlowFate,
    Turbulence,
    Window,
    integrity_held,
    print_report,
    result_json,
)

from ioa.client import HubClient
from ioa.config import HubConfig

HUB_RECENT_IDS = 4096
"""Message ids the hub remembered per group when this was written: resends of older ids are the
ones the issue says corrupt the sequence."""
SPECIAL_AGENTS = 4
"""The flooder, the slow reader, and the resender with its listener in the deep group."""
DEFAULT_OUTBOX_BYTES = 8 * 1024 * 1024
BASE_SECONDS = 5.0
PREFILL_WINDOW = 64
STORM_TIMEOUT = 30.0
ACK_TIMEOUT = 60.0
SETUP_BUDGET = 900.0
"""Seconds the whole soak may take beyond `--duration` before it gives up."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load, all phases")
    p.add_argument("--agents", type=int, default=1000, help="agents in all, all connected")
    p.add_argument("--rate", type=float, default=800.0, help="normal messages a second, in all")
    p.add_argument("--group-size", type=int, default=4, help="members of each chat group")
    p.add_argument("--payload", type=int, default=64, help="filler bytes per normal message")
    p.add_argument("--burst", type=int, default=3000, help="frames the flooder writes per wave")
    p.add_argument("--flood-payload", type=int, default=4096, help="filler bytes per flood frame")
    p.add_argument("--wave-every", type=float, default=10.0, help="seconds between flood waves")
    p.add_argument("--storm", type=int, help="agents reconnecting per wave (default agents/10)")
    p.add_argument("--resends", type=int, default=10, help="resends of each kind per wave")
    p.add_argument(
        "--history", type=int, default=5000, help="messages in the deep group before the load"
    )
    p.add_argument(
        "--outbox-bytes",
        type=int,
        default=DEFAULT_OUTBOX_BYTES,
        help="per-connection byte budget: passed to the hub when its HubConfig has"
        " `outbox_bytes`, and the budget of the memory goal either way",
    )
    p.add_argument(
        "--rss-slack-mb",
        type=float,
        default=32.0,
        help="fixed part of that goal: what the flood costs the hub without a slow reader"
        " (+12 MB measured for 3 bursts of 3,000 4 KB frames) and normal traffic's growth",
    )
    p.add_argument("--settle", type=float, default=10.0, help="idle seconds before RSS after")
    p.add_argument(
        "--hub",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a further HubConfig field for the hub (VALUE as JSON, else a string)",
    )
    args = p.parse_args(argv)
    if args.agents < SPECIAL_AGENTS + 2 * args.group_size or args.group_size < 2:
        p.error(f"--agents must leave {SPECIAL_AGENTS} specials and two groups; --group-size >= 2")
    if min(args.duration, args.rate, args.wave_every, args.settle) <= 0:
        p.error("--duration, --rate, --wave-every and --settle must be > 0")
    if min(args.burst, args.payload, args.flood_payload, args.resends, args.history) < 0:
        p.error("counts and sizes must be >= 0")
    if args.storm is None:
        args.storm = args.agents // 10
    args.storm = min(args.storm, args.agents - SPECIAL_AGENTS)
    args.hub_settings = hub_settings(p, args)
    return args


def hub_settings(p: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """HubConfig fields for the hub: `--hub` pairs, and `outbox_bytes` if this hub has it."""
    settings: dict[str, Any] = {}
    for pair in args.hub:
        key, _, raw = pair.partition("=")
        if key not in HubConfig.model_fields or key in ("host", "port", "database_url"):
            p.error(f"--hub {pair}: not a settable HubConfig field")
        try:
            settings[key] = json.loads(raw)
        except ValueError:
            settings[key] = raw
    args.outbox_bytes_supported = "outbox_bytes" in HubConfig.model_fields
    if args.outbox_bytes_supported:
        settings.setdefault("outbox_bytes", args.outbox_bytes)
    HubConfig(**settings)  # refuse a bad value here, not in the child
    return settings


@dataclass(slots=True)
class Cast:
    """Everyone taking part, connected."""

    session: aiohttp.ClientSession
    rest: HubClient
    normal: list[ChatAgent]
    resender: ChatAgent
    listener: ChatAgent
    slow: SlowReader
    flooder: tuple[str, str, str]
    """(agent id, token, group id) of the flooder, which connects from its own process."""
    ledger: Ledger
    faults: Faults
    deep_faults: Faults
    """What the deep group's two members saw: resends older than the hub remembers."""

    @property
    def members(self) -> list[ChatAgent]:
        return [*self.normal, self.resender, self.listener]

    async def close(self) -> None:
        await asyncio.gather(*(a.hang_up() for a in self.members), return_exceptions=True)
        self.slow.cut()
        await self.session.close()


async def assemble(args: argparse.Namespace, hub: ServerProcess, clock: Clock) -> Cast:
    """Register every agent, make the groups, connect them all."""
    ledger, faults, deep_faults = Ledger(), Faults(), Faults()
    rest = HubClient(hub.url, reconnect=False)
    credentials = await register_agents(rest, args.agents)
    (flood_id, flood_token), (slow_id, slow_token) = credentials[0], credentials[1]

    def agent(i: int, agent_faults: Faults) -> ChatAgent:
        agent_id, token = credentials[i]
        return ChatAgent(agent_id, token, i, clock, ledger, agent_faults, args.payload)

    resender, listener = agent(2, deep_faults), agent(3, deep_faults)
    resender.timed = listener.timed = False
    normal = [agent(i, faults) for i in range(SPECIAL_AGENTS, args.agents)]
    teams = chat_teams(normal, args.group_size)
    jobs: list[Awaitable[str]] = [
        create_group(rest, t[0].token, [a.agent_id for a in t[1:]], "chat") for t in teams
    ]
    jobs.append(create_group(rest, flood_token, [slow_id], "chat"))
    jobs.append(create_group(rest, resender.token, [listener.agent_id], "chat"))
    group_ids = await bounded(8, jobs)
    for team, group_id in zip(teams, group_ids, strict=False):
        for member in team:
            member.join_group(group_id)
    resender.join_group(group_ids[-1])
    listener.join_group(group_ids[-1])
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    slow = SlowReader("127.0.0.1", hub.port, slow_id, slow_token)
    cast = Cast(
        session, rest, normal, resender, listener, slow, (flood_id, flood_token, group_ids[-2]),
        ledger, faults, deep_faults,
    )  # fmt: skip
    await bounded(CONNECT_CONCURRENCY, [a.connect(session, hub.url) for a in cast.members])
    return cast


def chat_teams(agents: list[ChatAgent], size: int) -> list[list[ChatAgent]]:
    """Groups of `size`; a remainder too small to chat joins the last full group."""
    teams = [agents[i : i + size] for i in range(0, len(agents), size)]
    if len(teams) > 1 and len(teams[-1]) < 2:
        teams[-2].extend(teams.pop())
    return teams


async def prefill(agent: ChatAgent, count: int) -> list[str]:
    """Fill the deep group with `count` acked messages before the load; their ids, in order."""
    for start in range(0, count, PREFILL_WINDOW):
        for _ in range(min(PREFILL_WINDOW, count - start)):
            await agent.send_chat()
        await wait_acked([agent], ACK_TIMEOUT)
    return list(agent.own)


async def wait_acked(agents: list[ChatAgent], timeout: float) -> None:
    """Until every message of these agents is acked, `timeout` seconds at most."""
    for _ in range(int(timeout / POLL)):
        if not any(a.outgoing for a in agents):
            return
        await asyncio.sleep(POLL)


class Stopwatch:
    """Opens and closes the phases: the clock, the hub's CPU and vitals, the load's own loop."""

    def __init__(self, hub: ServerProcess, clock: Clock, trace: RssTrace) -> None:
        self.hub = hub
        self.clock = clock
        self.trace = trace
        self.board = vitals.new_board()
        self.windows: list[Window] = []
        self._cpu = self._own_cpu = self._t0 = 0.0

    def begin(self, phase: Phase) -> None:
        self.clock.enter(phase)
        self.hub.vitals_reset()
        vitals.reset(self.board)
        self._cpu = self.hub.cpu_seconds()
        self._own_cpu = time.process_time()
        self._t0 = time.monotonic()

    def end(self) -> None:
        seconds = time.monotonic() - self._t0
        hub_cpu = self.hub.cpu_seconds() - self._cpu
        own_cpu = time.process_time() - self._own_cpu
        rss = self.trace.in_phase(self.clock.phase)
        self.windows.append(
            Window(
                self.clock.phase,
                seconds,
                100 * hub_cpu / seconds if seconds else 0.0,
                100 * own_cpu / seconds if seconds else 0.0,
                self.hub.vitals(),
                vitals.read(self.board),
                max(rss, default=math.nan),
            )
        )
        self.clock.enter(Phase.IDLE)


async def storm(agents: list[ChatAgent], cast: Cast, url: str, turb: Turbulence) -> None:
    """A batch of agents hang up at once and come back with their cursors."""

    async def one(agent: ChatAgent) -> None:
        try:
            async with asyncio.timeout(STORM_TIMEOUT):
                turb.resume_ms.append(await agent.bounce(cast.session, url))
        except (TimeoutError, aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            turb.storm_failures += 1
            cast.faults.note(f"{agent.agent_id}: reconnect failed: {exc!r}")

    turb.bounced += len(agents)
    await asyncio.gather(*(one(a) for a in agents))


async def resend_wave(
    wave: int, args: argparse.Namespace, cast: Cast, history: list[str], turb: Turbulence
) -> None:
    """Resends: normal agents' newest and oldest ids; in the deep group, recent ids, ids past
    the hub's window, and last wave's old ids once more."""
    n = len(cast.normal)
    for k in range(args.resends):
        agent = cast.normal[(wave * args.resends + k) * 7 % n]
        if agent.own and await agent.resend(agent.own[-1]):
            turb.resends_recent += 1
        if len(agent.own) > 1 and await agent.resend(agent.own[0]):
            turb.resends_old += 1
    old = history[: max(0, len(history) - HUB_RECENT_IDS - 100)]
    recent = history[-100:]
    for k in range(args.resends):
        if recent and await cast.resender.resend(recent[(wave * args.resends + k) % len(recent)]):
            turb.resends_recent += 1
        for w in (wave, wave - 1):
            if (
                old
                and w >= 0
                and await cast.resender.resend(old[(w * args.resends + k) % len(old)])
            ):
                turb.resends_beyond_window += 1
    for _ in range(args.resends):  # the conversation goes on: a seq lost to a resend shows
        await cast.resender.send_chat()


async def flood(
    args: argparse.Namespace, cast: Cast, flooder: Flooder, history: list[str], seconds: float
) -> Turbulence:
    """The flood phase: a wave every `--wave-every` seconds, the last one ending in time."""
    turb = Turbulence()
    loop = asyncio.get_running_loop()
    start = loop.time()
    storms: list[asyncio.Task[None]] = []
    waves = max(1, int(seconds // args.wave_every))
    for wave in range(waves):
        await asyncio.sleep(max(0.0, start + wave * args.wave_every - loop.time()))
        if args.burst:
            flooder.burst(args.burst)
        if args.storm:
            first = wave * args.storm
            batch = [cast.normal[(first + i) % len(cast.normal)] for i in range(args.storm)]
            storms.append(asyncio.create_task(storm(batch, cast, cast.rest.url, turb)))
        await resend_wave(wave, args, cast, history, turb)
    await asyncio.sleep(max(0.0, start + seconds - loop.time()))
    await asyncio.gather(*storms)
    return turb


async def soak(args: argparse.Namespace, hub: ServerProcess, workdir: Path, fds: int) -> Outcome:
    clock = Clock()
    started = time.perf_counter()
    cast = await assemble(args, hub, clock)
    print(f"{len(cast.members) + 2} agents registered, grouped and connected", end="")
    print(f" in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        return await load(args, hub, workdir, fds, clock, cast)
    finally:
        await cast.close()
        await cast.rest.close()


async def load(
    args: argparse.Namespace, hub: ServerProcess, workdir: Path, fds: int, clock: Clock, cast: Cast
) -> Outcome:
    """The phases, from the idle base to the idle end."""
    history = await prefill(cast.resender, args.history)
    flood_id, flood_token, busy_group = cast.flooder
    flooder = Flooder(
        hub.url, flood_id, flood_token, busy_group, args.flood_payload, workdir / "flood.json", fds
    )
    await asyncio.to_thread(flooder.start)
    gc.collect()
    gc.freeze()  # the cast lives all run long: keep the load's collector off it
    if hub.process.pid is None:
        raise BenchError("the hub process has no pid")
    trace = RssTrace(hub.process.pid, clock)
    idle, stop_pacing, stop_watching = asyncio.Event(), asyncio.Event(), asyncio.Event()
    sampler = asyncio.create_task(trace.run(idle))
    watch = Stopwatch(hub, clock, trace)
    load_probe = asyncio.create_task(vitals.watch_loop(watch.board))
    phase_s = args.duration / 3
    try:
        rss_base = await trace.settle(BASE_SECONDS)
        print(f"hub RSS, idle with everyone connected: {rss_base:.1f} MB; load starts", flush=True)
        pacer = asyncio.create_task(pace(cast.normal, args.rate, stop_pacing))

        watch.begin(Phase.QUIET)
        await asyncio.sleep(phase_s)
        watch.end()
        rss_preflood = trace.median_since(trace.now() - BASE_SECONDS)
        print(f"  quiet done; hub RSS {rss_preflood:.1f} MB", flush=True)

        watch.begin(Phase.FLOOD)
        await cast.slow.connect()
        presence = asyncio.create_task(
            cast.slow.watch(cast.rest, cast.resender.token, stop_watching)
        )
        turb = await flood(args, cast, flooder, history, phase_s)
        watch.end()
        print(f"  flood done; hub RSS peak so far {trace.peak():.1f} MB", flush=True)

        watch.begin(Phase.DRAIN)
        flood_report = await flooder.finish(ACK_TIMEOUT)
        slow = await release_slow_reader(cast)
        stop_watching.set()
        await presence
        watch.end()

        watch.begin(Phase.AFTER)
        await asyncio.sleep(phase_s)
        watch.end()
        stop_pacing.set()
        pacing = await pacer
        await wait_acked(cast.members, ACK_TIMEOUT / 6)
        await asyncio.sleep(args.settle / 2)
        rss_after = await trace.settle(args.settle / 2)
        heads = await group_heads(cast)
    finally:
        flooder.kill()
        stop_pacing.set()
        stop_watching.set()
        idle.set()
        load_probe.cancel()
        await sampler
    cast.ledger.merge(busy_group, flood_report.acked)
    for agent in cast.members:
        agent.finish()
    memory = Memory(rss_base, rss_preflood, trace.peak(), rss_after)
    return Outcome(
        windows=watch.windows,
        samples=clock.samples,
        memory=memory,
        pacing=pacing,
        flood=flood_report,
        slow=SlowFate(slow is not None, cast.slow.dropped_after, slow),
        heads=heads,
        turbulence=turb,
        faults=cast.faults,
        deep_faults=cast.deep_faults,
        ledger=cast.ledger,
    )


async def release_slow_reader(cast: Cast) -> Leftovers | None:
    """If the hub let go of the slow reader, what its socket got; if the hub still holds it,
    None, and the soak cuts it (the after phase is measured without it either way)."""
    if (
        cast.slow.dropped_after is None
        and await cast.slow.online(cast.rest, cast.resender.token) is not False
    ):
        cast.slow.cut()
        return None
    return await cast.slow.read_out()


async def group_heads(cast: Cast) -> dict[str, int]:
    """Each group's newest seq as the hub counts it: seqs given out but never stored would not
    show as holes in the database when they are the newest."""
    members = {a.group_id: a for a in cast.members}
    _, flood_token, busy_group = cast.flooder

    async def head(group_id: str, token: str) -> tuple[str, int]:
        view = await cast.rest.request("GET", f"/v1/groups/{group_id}", token=token)
        return group_id, int(view["head"])

    jobs = [head(g, a.token) for g, a in members.items()] + [head(busy_group, flood_token)]
    return dict(await bounded(8, jobs))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def run(args: argparse.Namespace) -> tuple[Outcome, Audit]:
    """Start the hub, soak it, stop it, audit its database."""
    fds = 2 * args.agents + 512
    raise_fd_limit(fds)
    with tempfile.TemporaryDirectory(prefix="ioa-soak-") as tmp:
        db = Path(tmp) / "hub.db"
        hub = ServerProcess("hub", run_hub, str(db), fds, None, settings=args.hub_settings)
        try:
            hub.start()
            print(f"hub on {hub.url} (pid {hub.process.pid}), settings {args.hub_settings}")
            outcome = asyncio.run(bounded_soak(args, hub, Path(tmp), fds))
        finally:
            hub.stop()
        print("hub stopped; auditing its database", flush=True)
        return outcome, audit(db, outcome.ledger, outcome.heads)


async def bounded_soak(
    args: argparse.Namespace, hub: ServerProcess, workdir: Path, fds: int
) -> Outcome:
    try:
        async with asyncio.timeout(args.duration + SETUP_BUDGET):
            return await soak(args, hub, workdir, fds)
    except TimeoutError:
        raise BenchError(f"the soak overran its {args.duration + SETUP_BUDGET:.0f} s") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    cpu = cpu_model()
    print(f"{cpu}, {os.cpu_count()} cores, load average (1 min) {load_before:.1f}")
    outcome, checked = run(args)
    load_after = os.getloadavg()[0]
    print_report(args, outcome, checked)
    result = result_json(args, outcome, checked, cpu, (load_before, load_after))
    print("RESULT " + json.dumps(result))
    return 0 if integrity_held(outcome, checked) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_soak: {exc}")
