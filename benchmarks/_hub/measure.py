"""What one timed run observes, and how runs become figures.

Every run has a warm-up, then a measured window [t0, t1) on the monotonic clock (the same clock in
every process on Linux, though sender and receiver share the load process anyway). A message
counts, and its latency is kept, when it *arrives* inside the window; CPU time of the server and
of the load process is read at both edges, so each figure comes with its cost per message.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Protocol

from _hub.vitals import Vitals

NEVER = 2**63 - 1
DRAIN_TIMEOUT = 10.0
POLL = 0.01


@dataclass(slots=True)
class Run:
    """Counters one scenario's peers (or HTTP clients) update as frames come and go."""

    fanout: int = 1
    """Deliveries each sent message should produce."""
    sending: bool = True
    t0: int = NEVER
    t1: int = NEVER
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    latencies: list[int] = field(default_factory=list)
    """Nanoseconds from send to delivery, for deliveries inside the window."""
    errors: list[str] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    server_vitals: Vitals = field(default_factory=lambda: Vitals(0, 0.0, 0.0, 0))
    """Full collections and event-loop stalls in the server during the window."""

    @property
    def elapsed(self) -> float:
        return (self.t1 - self.t0) / 1e9 if self.t1 != NEVER else 0.0

    @property
    def settled(self) -> bool:
        return self.acked >= self.sent and self.delivered >= self.sent * self.fanout


class Server(Protocol):
    def cpu_seconds(self) -> float: ...
    def vitals_reset(self) -> None: ...
    def vitals(self) -> Vitals: ...


async def measure(run: Run, warmup: float, duration: float, server: Server) -> None:
    """Open the window after the warm-up, close it after `duration`, then stop the senders."""
    await asyncio.sleep(warmup)
    server.vitals_reset()
    run.server_cpu = -server.cpu_seconds()
    run.client_cpu = -time.process_time()
    run.t0 = time.perf_counter_ns()
    await asyncio.sleep(duration)
    run.t1 = time.perf_counter_ns()
    run.server_cpu += server.cpu_seconds()
    run.client_cpu += time.process_time()
    run.server_vitals = server.vitals()
    run.sending = False


async def drain(run: Run, timeout: float = DRAIN_TIMEOUT) -> None:
    """Wait until every sent message is acked and delivered, or the timeout passes; the
    counters move in many readers, so a short poll is simpler than signalling from each."""
    for _ in range(int(timeout / POLL)):
        if run.settled:
            return
        await asyncio.sleep(POLL)


def percentile(sorted_values: list[int], q: float) -> float:
    """Nearest-rank percentile of nanosecond values, in milliseconds."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1] / 1e6


@dataclass(slots=True)
class Figures:
    """One run of one scenario, reduced."""

    msgs_per_s: float
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    server_us_per_msg: float
    client_us_per_msg: float
    server_full_gcs: float
    server_gc_max_ms: float
    server_lag_max_ms: float
    server_stalls: float
    lost: int
    """Messages sent but not acked, plus deliveries missing, once the run has drained."""
    errors: int


def reduce(run: Run) -> Figures:
    values = sorted(run.latencies)
    elapsed = run.elapsed or math.nan
    deliveries = len(values)
    messages = deliveries / run.fanout
    per_msg = 1e6 / messages if messages else math.nan
    lost = (run.sent - run.acked) + (run.sent * run.fanout - run.delivered)
    return Figures(
        msgs_per_s=messages / elapsed,
        deliveries_per_s=deliveries / elapsed,
        p50_ms=percentile(values, 0.50),
        p99_ms=percentile(values, 0.99),
        server_us_per_msg=run.server_cpu * per_msg,
        client_us_per_msg=run.client_cpu * per_msg,
        server_full_gcs=run.server_vitals.full_gcs,
        server_gc_max_ms=run.server_vitals.gc_pause_max_ms,
        server_lag_max_ms=run.server_vitals.loop_lag_max_ms,
        server_stalls=run.server_vitals.stalls,
        lost=max(0, lost),
        errors=len(run.errors),
    )


def median_figures(rounds: list[Figures]) -> Figures:
    """Field by field medians across rounds; losses and errors are summed, never hidden."""

    def med(name: str) -> float:
        return float(statistics.median(getattr(f, name) for f in rounds))

    return Figures(
        msgs_per_s=med("msgs_per_s"),
        deliveries_per_s=med("deliveries_per_s"),
        p50_ms=med("p50_ms"),
        p99_ms=med("p99_ms"),
        server_us_per_msg=med("server_us_per_msg"),
        client_us_per_msg=med("client_us_per_msg"),
        server_full_gcs=med("server_full_gcs"),
        server_gc_max_ms=med("server_gc_max_ms"),
        server_lag_max_ms=med("server_lag_max_ms"),
        server_stalls=med("server_stalls"),
        lost=sum(f.lost for f in rounds),
        errors=sum(f.errors for f in rounds),
    )
