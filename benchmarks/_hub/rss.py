"""The hub's resident memory over time, sampled from outside the hub process (psutil).

Sampling from outside costs the hub nothing and sees what the operating system sees: memory
the hub freed but its allocator kept counts, which is the point of asking whether RSS comes back.

Normal traffic alone grows the hub: it keeps per-group state for each message (its window of
recent ids, up to 4,096 a group), about 0.25 KB a message, so over minutes the line climbs even
when nothing is wrong. `TrafficLine` is that climb, fitted on the quiet phase against the count
of normal messages; what lies above it during and after the flood is what the flood cost.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass

import psutil

from _hub.phases import Clock, Phase

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    """Seconds since the trace started."""
    mb: float
    phase: Phase
    messages: int
    """Normal messages sent so far."""


class RssTrace:
    """Samples every `period` seconds until stopped; windows of it reduce to one figure."""

    def __init__(self, pid: int, clock: Clock, period: float = 1.0) -> None:
        self._process = psutil.Process(pid)
        self._clock = clock
        self._period = period
        self._started = time.monotonic()
        self.samples: list[Sample] = []

    def now(self) -> float:
        return time.monotonic() - self._started

    def take(self) -> float:
        mb = float(self._process.memory_info().rss) / MB
        messages = sum(s.sent for s in self._clock.samples.values())
        self.samples.append(Sample(self.now(), mb, self._clock.phase, messages))
        return mb

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.take()
            except psutil.Error:  # the hub is gone: nothing more to sample
                return
            try:
                async with asyncio.timeout(self._period):
                    await stop.wait()
            except TimeoutError:
                pass

    async def settle(self, seconds: float) -> float:
        """Median over the next `seconds` (the trace must be running)."""
        since = self.now()
        await asyncio.sleep(seconds)
        return self.median_since(since)

    def median_since(self, since: float) -> float:
        window = [s.mb for s in self.samples if s.t >= since]
        return statistics.median(window) if window else self.take()

    def peak(self, since: float = 0.0) -> float:
        return max((s.mb for s in self.samples if s.t >= since), default=0.0)

    def in_phase(self, phase: Phase) -> list[float]:
        return [s.mb for s in self.samples if s.phase is phase]


@dataclass(frozen=True, slots=True)
class TrafficLine:
    """RSS as normal traffic alone would have it: `mb0` at `messages0`, plus a slope."""

    mb0: float
    messages0: int
    mb_per_message: float

    def expected(self, messages: int) -> float:
        return self.mb0 + self.mb_per_message * (messages - self.messages0)


def traffic_line(trace: RssTrace, base_mb: float) -> TrafficLine:
    """Fit the quiet phase (least squares of RSS on messages sent); a flat line at the base
    when it has too few samples to fit."""
    quiet = [s for s in trace.samples if s.phase is Phase.QUIET]
    xs, ys = [float(s.messages) for s in quiet], [s.mb for s in quiet]
    if len(quiet) < 3 or len(set(xs)) < 2:
        return TrafficLine(base_mb, 0, 0.0)
    slope, intercept = statistics.linear_regression(xs, ys)
    return TrafficLine(intercept, 0, max(0.0, slope))


def peak_above(trace: RssTrace, line: TrafficLine, phases: tuple[Phase, ...]) -> float:
    """The most RSS rose above the traffic line in these phases."""
    return max(
        (s.mb - line.expected(s.messages) for s in trace.samples if s.phase in phases),
        default=math.nan,
    )
