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
  for it); `--storm` normal agents hang up and reconnect with their cursors, resuming, and
  resend what was never acked; `--resends` agents resend ids they already sent, recent and old,
  and in a group filled with `--history` messages beforehand ids older than the hub's 4,096
  remembered ones (twice each): every resend must be acked with the first seq and never stored
  or delivered again;
- (drain: the flooder stops and its acks come in; what the slow reader's socket got is read out
  if the hub let go of it, else the soak cuts it);
- after: normal traffic only again.

Then the load stops, the hub's RSS is read once it is idle, the hub stops, and its SQLite file is
opened read-only: every acked id must be stored exactly once under its acked seq (`lost`), no id
twice (`duplicates`), and each group's seqs must be exactly 1..N, N being the hub's own head
(`gaps`). The hub's RSS is sampled every second (psutil) throughout. Ends with one
`RESULT {json}` line; the exit status is 1 when an integrity check fails (a loss, duplicate or
gap; an ack whose seq is not the stored one; a resend acked with a new seq or delivered again; a
delivery skipped or seen twice by a client), never for the speed and memory goals, which are
printed as met or not.

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
from pathlib import Path
from typing import Any

from _hub import vitals
from _hub.chat_agents import pace
from _hub.flood_waves import WaveTally, run_waves
from _hub.flooder import Flooder, FloodReport
from _hub.ledger import Audit, audit
from _hub.phases import Clock, Phase
from _hub.rss import RssTrace, peak_above, traffic_line
from _hub.servers import BenchError, ServerProcess, raise_fd_limit, run_hub
from _hub.slow_reader import Leftovers
from _hub.soak_config import SoakConfig
from _hub.soak_population import SPECIAL_AGENTS, SoakPopulation, populate_soak, wait_acked
from _hub.soak_report import (
    Memory,
    Outcome,
    SlowFate,
    Window,
    integrity_held,
    print_report,
    result_json,
)

from ioa.config import HubConfig

DEFAULT_OUTBOX_BYTES = 8 * 1024 * 1024
BASE_SECONDS = 5.0
"""Seconds of RSS samples behind the idle base and the before-flood figure."""
ACK_TIMEOUT = 60.0
SETUP_BUDGET = 900.0
"""Seconds the whole soak may take beyond `--duration` before it gives up."""


def parse_args(argv: list[str] | None) -> SoakConfig:
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
    storm = args.agents // 10 if args.storm is None else args.storm
    supported = "outbox_bytes" in HubConfig.model_fields
    return SoakConfig(
        duration=args.duration,
        agents=args.agents,
        rate=args.rate,
        group_size=args.group_size,
        payload=args.payload,
        burst=args.burst,
        flood_payload=args.flood_payload,
        wave_every=args.wave_every,
        storm=max(0, min(storm, args.agents - SPECIAL_AGENTS)),
        resends=args.resends,
        history=args.history,
        outbox_bytes=args.outbox_bytes,
        outbox_bytes_supported=supported,
        rss_slack_mb=args.rss_slack_mb,
        settle=args.settle,
        hub_settings=hub_settings(p, args.hub, args.outbox_bytes if supported else None),
    )


def hub_settings(
    p: argparse.ArgumentParser, pairs: list[str], outbox_bytes: int | None
) -> dict[str, Any]:
    """HubConfig fields for the hub: `--hub` pairs, and `outbox_bytes` if this hub has it."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in HubConfig.model_fields or key in ("host", "port", "database_url"):
            p.error(f"--hub {pair}: not a settable HubConfig field")
        try:
            settings[key] = json.loads(raw)
        except ValueError:
            settings[key] = raw
    if outbox_bytes is not None:
        settings.setdefault("outbox_bytes", outbox_bytes)
    try:
        HubConfig(**settings)  # refuse a bad value here, not in the child
    except ValueError as exc:
        p.error(f"--hub: {exc}")
    return settings


class Stopwatch:
    """Opens and closes the phases: the clock, the hub's CPU and vitals, the load's own."""

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
                os.getloadavg()[0],
            )
        )
        self.clock.enter(Phase.IDLE)


class Soak:
    """One soak of a running hub, phase by phase; `run()` gives what it found."""

    def __init__(
        self,
        config: SoakConfig,
        hub: ServerProcess,
        population: SoakPopulation,
        clock: Clock,
        flooder: Flooder,
        trace: RssTrace,
    ) -> None:
        self.config = config
        self.population = population
        self.clock = clock
        self.flooder = flooder
        self.trace = trace
        self.watch = Stopwatch(hub, clock, trace)
        self._stop_pacing = asyncio.Event()
        self._stop_watching = asyncio.Event()
        self._presence: asyncio.Task[None] | None = None
        """Watches the slow reader's presence from the flood's start until it is let go of."""

    async def run(self) -> Outcome:
        history = await self.population.prefill(self.config.history, ACK_TIMEOUT)
        gc.collect()
        gc.freeze()  # the population lives all run long: keep the load's collector off it
        probe = asyncio.create_task(vitals.watch_loop(self.watch.board))
        try:
            rss_base = await self.trace.settle(BASE_SECONDS)
            print(f"hub RSS, idle with everyone connected: {rss_base:.1f} MB", flush=True)
            normal, rate = self.population.normal, self.config.rate
            pacer = asyncio.create_task(pace(normal, rate, self._stop_pacing))
            rss_preflood = await self.quiet()
            tally = await self.flood(history)
            flood_report, leftovers = await self.drain()
            await self.after()
            self._stop_pacing.set()
            pacing = await pacer
            rss_after = await self.settle()
            heads = await self.population.group_heads()
            memory = self.memory(rss_base, rss_preflood, rss_after)
        finally:
            self._stop_pacing.set()
            self._stop_watching.set()
            probe.cancel()
        self.population.ledger.merge(self.population.flooder.group_id, flood_report.acked)
        for agent in self.population.members:
            agent.finish()
        return Outcome(
            windows=self.watch.windows,
            samples=self.clock.samples,
            memory=memory,
            pacing=pacing,
            flood=flood_report,
            slow=SlowFate(leftovers is not None, self.population.slow.dropped_after, leftovers),
            heads=heads,
            waves=tally,
            faults=self.population.faults,
            deep_faults=self.population.deep_faults,
            ledger=self.population.ledger,
        )

    def memory(self, base: float, preflood: float, after: float) -> Memory:
        """The RSS figures, and the line normal traffic alone would have drawn."""
        line = traffic_line(self.trace, base)
        messages = sum(s.sent for s in self.clock.samples.values())
        excess = peak_above(self.trace, line, (Phase.FLOOD, Phase.DRAIN))
        return Memory(
            base, preflood, self.trace.peak(), after, line, excess, line.expected(messages)
        )

    async def quiet(self) -> float:
        """Normal traffic alone; returns the hub's RSS at its end."""
        self.watch.begin(Phase.QUIET)
        await asyncio.sleep(self.config.phase_seconds)
        self.watch.end()
        rss = self.trace.median_since(self.trace.now() - BASE_SECONDS)
        print(f"  quiet done; hub RSS {rss:.1f} MB", flush=True)
        return rss

    async def flood(self, history: list[str]) -> WaveTally:
        """The slow reader connects and the waves roll; its presence is watched meanwhile."""
        self.watch.begin(Phase.FLOOD)
        population = self.population
        await population.slow.connect()
        watcher = population.slow.watch(
            population.rest, population.resender.token, self._stop_watching
        )
        self._presence = asyncio.create_task(watcher)
        tally = await run_waves(self.config, population, self.flooder, history)
        self.watch.end()
        print(f"  flood done; hub RSS peak so far {self.trace.peak():.1f} MB", flush=True)
        return tally

    async def drain(self) -> tuple[FloodReport, Leftovers | None]:
        """The flooder stops and collects its last acks; the slow reader is let go of."""
        self.watch.begin(Phase.DRAIN)
        report = await self.flooder.finish(ACK_TIMEOUT)
        leftovers = await self.population.release_slow_reader()
        self._stop_watching.set()
        if self._presence is not None:
            await self._presence
        self.watch.end()
        return report, leftovers

    async def after(self) -> None:
        self.watch.begin(Phase.AFTER)
        await asyncio.sleep(self.config.phase_seconds)
        self.watch.end()

    async def settle(self) -> float:
        """The load has stopped: the last acks come in, then the hub's RSS once idle."""
        await wait_acked(self.population.members, ACK_TIMEOUT / 6)
        await asyncio.sleep(self.config.settle / 2)
        return await self.trace.settle(self.config.settle / 2)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


async def soak(config: SoakConfig, hub: ServerProcess, workdir: Path, fds: int) -> Outcome:
    """Set everyone up, soak, and tear everything of this process down, within a time bound."""
    clock = Clock()
    if hub.process.pid is None:
        raise BenchError("the hub process has no pid")
    try:
        async with asyncio.timeout(config.duration + SETUP_BUDGET):
            started = time.perf_counter()
            population = await populate_soak(hub.url, hub.port, config, clock)
            took = time.perf_counter() - started
            print(f"{config.agents} agents registered, grouped and connected in {took:.1f} s")
            account = population.flooder
            flooder = Flooder(
                hub.url, account.agent_id, account.token, account.group_id,
                config.flood_payload, workdir / "flood.json", fds,
            )  # fmt: skip
            trace = RssTrace(hub.process.pid, clock)
            sampling = asyncio.Event()
            sampler = asyncio.create_task(trace.run(sampling))
            try:
                await asyncio.to_thread(flooder.start)
                return await Soak(config, hub, population, clock, flooder, trace).run()
            finally:
                flooder.kill()
                sampling.set()
                await sampler
                await population.close()
    except TimeoutError:
        raise BenchError(f"the soak overran its {config.duration + SETUP_BUDGET:.0f} s") from None


def run(config: SoakConfig) -> tuple[Outcome, Audit]:
    """Start the hub, soak it, stop it, audit its database."""
    fds = 2 * config.agents + 512
    raise_fd_limit(fds)
    with tempfile.TemporaryDirectory(prefix="ioa-soak-") as tmp:
        db = Path(tmp) / "hub.db"
        hub = ServerProcess("hub", run_hub, str(db), fds, None, settings=config.hub_settings)
        try:
            hub.start()
            print(f"hub on {hub.url} (pid {hub.process.pid}), settings {config.hub_settings}")
            outcome = asyncio.run(soak(config, hub, Path(tmp), fds))
        finally:
            hub.stop()
        print("hub stopped; auditing its database", flush=True)
        return outcome, audit(db, outcome.ledger, outcome.heads)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    load_before = os.getloadavg()[0]
    cpu = cpu_model()
    print(f"{cpu}, {os.cpu_count()} cores, load average (1 min) {load_before:.1f}")
    outcome, checked = run(config)
    load_after = os.getloadavg()[0]
    print_report(config, outcome, checked)
    result = result_json(config, outcome, checked, cpu, (load_before, load_after))
    print("RESULT " + json.dumps(result))
    return 0 if integrity_held(outcome, checked) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_soak: {exc}")
