"""What a hub restart costs: time to first answer, time to rebuild, and the reconnect wave.

The hub under test is the real command, `python -m ioa hub --port P --db PATH`, run from this
checkout (`PYTHONPATH` = the repository root), on loopback. Measured side by side in one run:

- `start_s_empty`: from spawning the process to the first 200 of `GET /v1/health`, on a new
  (empty) database; median of `--runs` rounds. Beside it, in the same rounds, for scale: a
  bare interpreter (`python -c pass`) and `python -m ioa --help` (the command's imports, no
  hub); start minus `--help` is about what the hub itself adds.
- `start_s_100k`: the same, in the same rounds, on a database holding `--messages` messages
  in `--groups` groups, half "chat" and half "ioa" (legal discussion turns, checked with
  `protocols.conversation.apply`), written once through `SqlStore` before the rounds; and
  `restore_s_100k`, from the spawn until the hub's CPU falls idle (under 5% of a core for
  three 100 ms samples in a row): the end of its background rebuild of every group (the hub
  exposes no figure for it); then `restart_s_after_kill_alone`: that hub killed with SIGKILL
  (its WAL left behind) and spawned again with no client about, to its first answer.
- `resume_s_1000`: `--agents` agents (`HubClient`s in `--workers` processes, each agent in a
  group with history) are connected; the hub is killed with SIGKILL and spawned again on the
  same database and port; the time from the respawn until every agent has resumed
  (`wait_synced`), with the spread of those times (p10/p50/p90) and a histogram, to show
  whether they come back in a wave. Its first answer (`restart_s_after_kill`) beside the one
  without clients splits what the reconnecting agents cost the start: the hub's CPU seconds at
  that answer (work it did for them) and the agents' processes' CPU seconds meanwhile (CPU they
  took from it on a small machine).
- during that wave: the hub's peak CPU (psutil, every 100 ms) and the send-to-ack round trip of
  `--probes` probe agents (own process, small backoff, so they are back first) that send one
  message every 20 ms from their own resume until the last agent has resumed, against the same
  probes with everyone connected and quiet.

Bytecode: the hub's modules are compiled once, before the rounds, into a cache in the
benchmark's temporary folder (`PYTHONPYCACHEPREFIX`), as an installed package has them; a box
that sets `PYTHONDONTWRITEBYTECODE` (this one does) would otherwise compile the hub's own modules
at every start. `--cold-bytecode` measures that instead. Beside each start's wall time, the CPU
seconds the hub process used until its first answer: a figure a busy box inflates far less.

Ends with one `RESULT {json}` line.

    python benchmarks/hub_restart.py [--agents 1000] [--messages 100000] [--groups 1000] [--quick]
    python benchmarks/hub_restart.py --only empty [--runs 5]   # `start_s_empty` alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _hub.history import History, Member, write_history
from _hub.hub_process import (
    ROOT,
    CpuTrace,
    HubProcess,
    free_port,
    ioa_command,
    ioa_env,
    trace_cpu,
)
from _hub.measure import percentile
from _hub.servers import BenchError, raise_fd_limit
from _hub.wave import Crowd, Resumed, new_client, until_lost

from ioa.client import ClientError, HubClient
from protocols import Chat

GOAL_START_EMPTY_S = 0.5
GOAL_START_100K_S = 2.0
PROBE_GAP = 0.02
"""Seconds between two messages of one probe."""
IDLE_TIMEOUT = 120.0
BUCKET = 0.25
"""Seconds per column of the reconnect histogram."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=1000, help="agents connected during the kill")
    p.add_argument("--messages", type=int, default=100_000, help="messages in the big database")
    p.add_argument("--groups", type=int, default=1000, help="groups in the big database")
    p.add_argument("--runs", type=int, default=5, help="starts measured per database (median)")
    p.add_argument("--workers", type=int, default=4, help="processes the agents are spread over")
    p.add_argument("--probes", type=int, default=5, help="probe agents sending during the wave")
    p.add_argument("--quiet", type=float, default=3.0, help="seconds of probing before the kill")
    p.add_argument(
        "--max-backoff",
        type=float,
        default=None,
        help="the agents' reconnect cap in seconds (default: HubClient's own)",
    )
    p.add_argument("--probe-backoff", type=float, default=0.25, help="the probes' reconnect cap")
    p.add_argument(
        "--cold-bytecode",
        action="store_true",
        help="keep the environment's bytecode settings (no warm cache: every start compiles)",
    )
    p.add_argument(
        "--only",
        choices=("empty",),
        help="measure only this: `empty` is the start on an empty database beside `python -c "
        "pass` and `ioa --help` (no history, no reconnect wave)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="development sizes: 200 agents, 10,000 messages, 100 groups, 3 runs, 2 workers",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.agents, args.messages, args.groups = 200, 10_000, 100
        args.runs, args.workers, args.quiet = 3, 2, 1.5
    if min(args.agents, args.groups, args.runs, args.workers) < 1 or args.messages < 0:
        p.error("--agents, --groups, --runs and --workers must be >= 1, --messages >= 0")
    if not 1 <= args.probes <= (args.groups + 1) // 2:
        p.error("--probes must be in 1..the number of chat groups (half of --groups)")
    if args.messages / args.groups > 9_000:
        p.error("at most 9,000 messages per group (an 'ioa' group's turn cap is 10,000)")
    return args


# the machine
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def warm_bytecode(cache: Path) -> None:
    """Compile everything a hub imports into `cache`, once, as an installed package has it."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    script = "import ioa.cli; ioa.cli.build_parser(); import ioa.hub"
    subprocess.run([sys.executable, "-c", script], env=ioa_env(), cwd=ROOT, check=True)
    print(f"bytecode: compiled once into {cache} (PYTHONPYCACHEPREFIX)")


def wall_time(argv: list[str]) -> float:
    """Wall time of a command that exits by itself."""
    started = time.perf_counter()
    subprocess.run(argv, env=ioa_env(), cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


# starts
@dataclass(slots=True)
class Start:
    seconds: float
    """Spawn to first answer."""
    cpu: float = math.nan
    """CPU seconds of the hub process at its first answer."""
    restored: float = math.nan
    """Spawn to idle CPU (the background restore over)."""
    peak_cpu: float = math.nan
    after_kill: float = math.nan
    """Then killed with SIGKILL (its WAL left behind) and spawned again, no client about:
    respawn to first answer."""
    after_kill_cpu: float = math.nan


async def one_start(hub: HubProcess, watch_restore: bool) -> Start:
    """A start; with `watch_restore`, until the background rebuild is over, then a SIGKILL and
    a start again on what it left (no client reconnecting: that is the wave's figure)."""
    hub.spawn()
    done = asyncio.Event()
    trace = CpuTrace()
    sampler = asyncio.create_task(trace_cpu(hub.pid, trace, done))
    try:
        start = Start(await hub.wait_healthy(), hub.cpu_seconds())
        if watch_restore:
            idle = await wait_idle(trace, hub.spawned_at + start.seconds)
            start.restored = idle - hub.spawned_at
            start.peak_cpu = max(trace.busy(hub.spawned_at, idle), default=math.nan)
            hub.kill()
            hub.spawn()
            start.after_kill = await hub.wait_healthy()
            start.after_kill_cpu = hub.cpu_seconds()
        return start
    finally:
        done.set()
        await sampler
        hub.stop()


async def wait_idle(trace: CpuTrace, since: float) -> float:
    deadline = time.monotonic() + IDLE_TIMEOUT
    while time.monotonic() < deadline:
        idle = trace.idle_after(since)
        if idle is not None:
            return idle
        await asyncio.sleep(0.1)
    raise BenchError(f"the hub's CPU did not settle within {IDLE_TIMEOUT:.0f} s of its start")


@dataclass(slots=True)
class Starts:
    """Interleaved rounds: each runs every command once, so a busy box slows them alike."""

    python: list[float] = field(default_factory=list)
    help: list[float] = field(default_factory=list)
    empty: list[Start] = field(default_factory=list)
    big: list[Start] = field(default_factory=list)


async def starts(tmp: Path, big_db: Path | None, port: int, log: Path, runs: int) -> Starts:
    """`runs` rounds; without `big_db`, the empty database's starts only."""
    out = Starts()
    await one_start(HubProcess(tmp / "warm-up.db", port, log), watch_restore=False)  # not counted
    for r in range(runs):
        out.python.append(await asyncio.to_thread(wall_time, [sys.executable, "-c", "pass"]))
        out.help.append(await asyncio.to_thread(wall_time, ioa_command("--help")))
        empty = HubProcess(tmp / f"empty-{r}.db", port, log)
        out.empty.append(await one_start(empty, watch_restore=False))
        line = (
            f"  round {r + 1}: python {out.python[-1]:.3f} s, ioa --help {out.help[-1]:.3f} s,"
            f" hub empty {out.empty[-1].seconds:.3f} s (CPU {out.empty[-1].cpu:.3f} s)"
        )
        if big_db is not None:
            out.big.append(await one_start(HubProcess(big_db, port, log), watch_restore=True))
            b = out.big[-1]
            line += (
                f", hub with history {b.seconds:.3f} s (CPU {b.cpu:.3f} s;"
                f" idle after {b.restored:.2f} s, peak CPU {b.peak_cpu:.0f}%;"
                f" after kill -9 {b.after_kill:.3f} s, CPU {b.after_kill_cpu:.3f} s)"
            )
        print(line, flush=True)
    return out


# the probes
@dataclass(slots=True)
class Probing:
    rtts: list[int] = field(default_factory=list)
    """Nanoseconds from send to ack."""
    errors: list[str] = field(default_factory=list)


async def probe(client: HubClient, member: Member, until: asyncio.Event, out: Probing) -> None:
    while not until.is_set():
        sent = time.perf_counter_ns()
        try:
            await client.say(member.group_id, Chat(text="probe"))
        except ClientError as exc:
            out.errors.append(f"{exc.code}: {exc}")
        else:
            out.rtts.append(time.perf_counter_ns() - sent)
        await asyncio.sleep(PROBE_GAP)


async def probe_after_resume(
    client: HubClient, member: Member, until: asyncio.Event, out: Probing
) -> None:
    await until_lost([client])
    await client.wait_synced()
    await probe(client, member, until, out)


# the wave
@dataclass(slots=True)
class Wave:
    connected: int
    connect_s: float
    quiet: Probing
    during: Probing
    noticed: int
    up_s: float
    """Respawn to first answer (after a SIGKILL)."""
    up_cpu: float
    """CPU seconds of the respawned hub at its first answer."""
    crowd_cpu: float
    """CPU seconds the agents' processes used from the respawn to that answer."""
    resumed: Resumed
    spawned_at: float
    trace: CpuTrace

    def after_spawn(self) -> list[float]:
        return [t - self.spawned_at for t in self.resumed.times]


async def wave(args: argparse.Namespace, history: History, db: Path, port: int, log: Path) -> Wave:
    hub = HubProcess(db, port, log)
    hub.spawn()
    trace = CpuTrace()
    stop_trace = asyncio.Event()
    sampler = asyncio.create_task(trace_cpu(hub.pid, trace, stop_trace))
    crowd = Crowd(hub.url, history.agents, args.workers, args.max_backoff)
    probes = [new_client(hub.url, m, args.probe_backoff) for m in history.probes]
    try:
        up = await hub.wait_healthy()
        await wait_idle(trace, hub.spawned_at + up)
        started = time.perf_counter()
        connected = await crowd.connect()
        for client in probes:
            await client.__aenter__()
            await client.connect()
        connect_s = time.perf_counter() - started
        print(f"  {connected:,} agents + {len(probes)} probes connected in {connect_s:.1f} s")

        quiet, during = Probing(), Probing()
        stop = asyncio.Event()
        jobs = [
            asyncio.create_task(probe(c, m, stop, quiet))
            for c, m in zip(probes, history.probes, strict=True)
        ]
        await asyncio.sleep(args.quiet)
        stop.set()
        await asyncio.gather(*jobs)

        stop_trace.set()
        await sampler
        hub.kill()
        noticed = await crowd.lost()
        stop = asyncio.Event()
        jobs = [
            asyncio.create_task(probe_after_resume(c, m, stop, during))
            for c, m in zip(probes, history.probes, strict=True)
        ]
        crowd_before = crowd_cpu_seconds(crowd)
        hub.spawn()
        stop_trace = asyncio.Event()
        sampler = asyncio.create_task(trace_cpu(hub.pid, trace, stop_trace))
        up_again = await hub.wait_healthy()
        up_cpu = hub.cpu_seconds()
        crowd_cpu = crowd_cpu_seconds(crowd) - crowd_before
        resumed = await crowd.resumed()
        stop.set()
        await asyncio.gather(*jobs)
        return Wave(
            connected,
            connect_s,
            quiet,
            during,
            noticed,
            up_again,
            up_cpu,
            crowd_cpu,
            resumed,
            hub.spawned_at,
            trace,
        )
    finally:
        stop_trace.set()
        await sampler
        await asyncio.gather(*(c.close() for c in probes), return_exceptions=True)
        await asyncio.to_thread(crowd.stop)
        hub.stop()


def crowd_cpu_seconds(crowd: Crowd) -> float:
    """User + system CPU seconds of the agents' worker processes so far."""
    total = 0.0
    for process in crowd.processes:
        if process.pid is not None:
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system
    return total


# the report
def quantiles(values: list[float]) -> tuple[float, float, float, float]:
    """p10, p50, p90 and max of seconds."""
    if not values:
        return (math.nan,) * 4
    ns = sorted(int(v * 1e9) for v in values)
    p10, p50, p90 = (percentile(ns, q) / 1e3 for q in (0.10, 0.50, 0.90))
    return p10, p50, p90, ns[-1] / 1e9


def histogram(values: list[float]) -> str:
    if not values:
        return "(none)"
    counts = [0] * (int(max(values) / BUCKET) + 1)
    for v in values:
        counts[int(v / BUCKET)] += 1
    return " ".join(str(c) for c in counts)


def cpu_timeline(trace: CpuTrace, since: float, until: float) -> str:
    """The hub's CPU, percent of one core, per `BUCKET` seconds (imports, restore, wave)."""
    points = [(t, c) for t, c in trace.samples if since <= t <= until + BUCKET]
    if len(points) < 2:
        return "(no samples)"
    cells = []
    for b in range(int((points[-1][0] - since) / BUCKET)):
        inside = [p for p in points if since + b * BUCKET <= p[0] <= since + (b + 1) * BUCKET]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            cells.append("-")
            continue
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        cells.append(f"{100 * (c1 - c0) / (t1 - t0):.0f}")
    return " ".join(cells)


def p99_ms(probing: Probing) -> float:
    return percentile(sorted(probing.rtts), 0.99)


def _r(x: float, digits: int = 3) -> float | None:
    return None if math.isnan(x) else round(x, digits)


async def bench_empty(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    """`--only empty`: the start on an empty database, beside `python -c pass` and `--help`."""
    port = free_port()
    print(f"starts on an empty database, {args.runs} interleaved rounds (port {port}):")
    st = await starts(tmp, None, port, tmp / "hub.log", args.runs)
    start_empty = statistics.median(s.seconds for s in st.empty)
    help_s = statistics.median(st.help)
    print(
        f"\nstart, empty database: {start_empty:.3f} s (goal <= {GOAL_START_EMPTY_S} s);"
        f" less `ioa --help` {start_empty - help_s:.3f} s;"
        f" CPU of the hub until then {statistics.median(s.cpu for s in st.empty):.3f} s"
    )
    return {
        "start_s_empty": _r(start_empty),
        "start_cpu_s_empty": _r(statistics.median(s.cpu for s in st.empty)),
        "start_s_empty_runs": [_r(s.seconds) for s in st.empty],
        "bytecode": "cold" if args.cold_bytecode else "cached",
        "start_s_empty_less_help": _r(start_empty - help_s),
        "python_s": _r(statistics.median(st.python)),
        "help_s": _r(help_s),
        "runs": args.runs,
        "goals_met": {"start_empty_le_0_5s": start_empty <= GOAL_START_EMPTY_S},
    }


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    port = free_port()
    log = tmp / "hub.log"
    big_db = tmp / "history.db"
    started = time.perf_counter()
    history = await write_history(big_db, args.agents, args.groups, args.messages, args.probes)
    written = time.perf_counter() - started
    size_mb = big_db.stat().st_size / 1e6
    print(
        f"history: {args.messages:,} messages in {args.groups:,} groups "
        f"({max(args.agents, args.groups) + args.probes:,} agents), "
        f"written in {written:.1f} s, {size_mb:.0f} MB"
    )
    print(f"starts, {args.runs} interleaved rounds (port {port}):")
    st = await starts(tmp, big_db, port, log, args.runs)
    python_s, help_s = statistics.median(st.python), statistics.median(st.help)
    empty, big = st.empty, st.big

    print(f"reconnect wave: {args.agents:,} agents in {args.workers} processes, kill -9, respawn")
    w = await wave(args, history, big_db, port, log)

    start_empty = statistics.median(s.seconds for s in empty)
    start_big = statistics.median(s.seconds for s in big)
    cpu_empty = statistics.median(s.cpu for s in empty)
    cpu_big = statistics.median(s.cpu for s in big)
    restore_big = statistics.median(s.restored for s in big)
    killed_big = statistics.median(s.after_kill for s in big)
    killed_cpu = statistics.median(s.after_kill_cpu for s in big)
    since_spawn = w.after_spawn()
    since_up = [t - w.up_s for t in since_spawn]
    p10, p50, p90, last = quantiles(since_spawn)
    u10, u50, u90, _ = quantiles(since_up)
    up_at = w.spawned_at + w.up_s
    until = w.resumed.times[-1] if w.resumed.times else up_at
    busy = w.trace.busy(up_at, until)  # from the first answer on: the imports are not the wave
    peak_cpu = max(busy, default=math.nan)
    mean_cpu = statistics.fmean(busy) if busy else math.nan
    quiet_p99, wave_p99 = p99_ms(w.quiet), p99_ms(w.during)

    def against(value: float, limit: float) -> tuple[str, str]:
        return f"<= {limit} s", f"{value / limit:.2f}"

    spread = "{:.2f} / {:.2f} / {:.2f} s"
    rows = [
        ("start, empty database", f"{start_empty:.3f} s",
         *against(start_empty, GOAL_START_EMPTY_S)),
        ("  ... less `ioa --help` (its imports)", f"{start_empty - help_s:.3f} s", "", ""),
        ("  ... CPU seconds of the hub until then", f"{cpu_empty:.3f} s", "", ""),
        (f"start, {args.messages:,} msgs / {args.groups:,} groups", f"{start_big:.3f} s",
         *against(start_big, GOAL_START_100K_S)),
        ("  ... less `ioa --help` (its imports)", f"{start_big - help_s:.3f} s", "", ""),
        ("  ... CPU seconds of the hub until then", f"{cpu_big:.3f} s", "", ""),
        ("  ... until every group is rebuilt", f"{restore_big:.2f} s", "", ""),
        ("  ... after kill -9 (WAL left behind), alone", f"{killed_big:.3f} s", "", ""),
        ("  ... CPU seconds of the hub until then", f"{killed_cpu:.3f} s", "", ""),
        (f"  ... after kill -9, {w.connected:,} agents reconnecting", f"{w.up_s:.3f} s", "", ""),
        ("  ... CPU seconds of the hub until then", f"{w.up_cpu:.3f} s", "", ""),
        ("  ... CPU seconds of the agents meanwhile", f"{w.crowd_cpu:.3f} s", "", ""),
        (f"all {len(w.resumed.times):,} agents resumed (from respawn)", f"{last:.2f} s", "", ""),
        ("  p10 / p50 / p90 from the respawn", spread.format(p10, p50, p90), "", ""),
        ("  p10 / p50 / p90 from its first answer", spread.format(u10, u50, u90), "", ""),
        ("hub CPU during the wave, peak / mean", f"{peak_cpu:.0f}% / {mean_cpu:.0f}%", "", ""),
        ("probe p99 quiet / during the wave", f"{quiet_p99:.1f} / {wave_p99:.1f} ms", "",
         f"{wave_p99 / quiet_p99:.1f}x"),
    ]  # fmt: skip
    print(f"\n{'what':<46}{'measured':>22}{'goal':>12}{'÷ goal':>9}")
    print("-" * 89)
    for what, measured, goal, ratio in rows:
        print(f"{what:<46}{measured:>22}{goal:>12}{ratio:>9}")
    print(f"\nresumed per {BUCKET} s after the respawn: {histogram(since_spawn)}")
    print(
        f"hub CPU % per {BUCKET} s after the respawn: {cpu_timeline(w.trace, w.spawned_at, until)}"
    )
    print(
        f"probes: {len(w.quiet.rtts)} round trips quiet (p50 "
        f"{percentile(sorted(w.quiet.rtts), 0.5):.1f} ms), {len(w.during.rtts)} during the wave "
        f"(p50 {percentile(sorted(w.during.rtts), 0.5):.1f} ms); errors "
        f"{len(w.quiet.errors) + len(w.during.errors)}"
        + (
            f", first: {(w.quiet.errors + w.during.errors)[0]}"
            if w.quiet.errors + w.during.errors
            else ""
        )
    )
    if w.noticed != w.connected or w.resumed.missing:
        print(
            f"WARNING: {w.noticed} of {w.connected} noticed the kill,"
            f" {w.resumed.missing} never resumed"
        )
    return {
        "start_s_empty": _r(start_empty),
        "start_s_100k": _r(start_big),
        "start_cpu_s_empty": _r(cpu_empty),
        "start_cpu_s_100k": _r(cpu_big),
        "bytecode": "cold" if args.cold_bytecode else "cached",
        "restore_s_100k": _r(restore_big, 2),
        "restart_s_after_kill_alone": _r(killed_big),
        "restart_cpu_s_after_kill_alone": _r(killed_cpu),
        "restart_s_after_kill": _r(w.up_s),
        "restart_cpu_s_after_kill": _r(w.up_cpu),
        "crowd_cpu_s_until_first_answer": _r(w.crowd_cpu),
        "resume_s_1000": _r(last, 2),
        "resume_p10_s": _r(p10, 2),
        "resume_p50_s": _r(p50, 2),
        "resume_p90_s": _r(p90, 2),
        "resumed_per_bucket": [int(c) for c in histogram(since_spawn).split()]
        if since_spawn
        else [],
        "bucket_s": BUCKET,
        "start_s_empty_less_help": _r(start_empty - help_s),
        "start_s_100k_less_help": _r(start_big - help_s),
        "hub_peak_cpu_pct_wave": _r(peak_cpu, 0),
        "hub_mean_cpu_pct_wave": _r(mean_cpu, 0),
        "probe_p99_ms_quiet": _r(quiet_p99, 2),
        "probe_p99_ms_wave": _r(wave_p99, 2),
        "probe_p99_ratio": _r(wave_p99 / quiet_p99, 2),
        "probe_errors": len(w.quiet.errors) + len(w.during.errors),
        "python_s": _r(python_s),
        "help_s": _r(help_s),
        "history_write_s": _r(written, 1),
        "agents": w.connected,
        "agents_not_resumed": w.resumed.missing,
        "messages": args.messages,
        "groups": args.groups,
        "runs": args.runs,
        "workers": args.workers,
        "goals_met": {
            "start_empty_le_0_5s": start_empty <= GOAL_START_EMPTY_S,
            "start_100k_le_2s": start_big <= GOAL_START_100K_S,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit(4 * args.agents + 1024)
    load_before = os.getloadavg()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
    with tempfile.TemporaryDirectory(prefix="ioa-restart-") as tmp:
        if not args.cold_bytecode:
            warm_bytecode(Path(tmp) / "pycache")
        run = bench_empty if args.only == "empty" else bench
        result = asyncio.run(run(args, Path(tmp)))
    load_after = os.getloadavg()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    result["cpu_model"] = cpu_model()
    result["load_avg_before"] = [round(x, 2) for x in load_before]
    result["load_avg_after"] = [round(x, 2) for x in load_after]
    print("RESULT " + json.dumps(result))
    return 0 if not result.get("agents_not_resumed") and not result.get("probe_errors") else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_restart: {exc}")
