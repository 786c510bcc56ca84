"""The hub's resident memory over time, sampled from outside the hub process (psutil).

Sampling from outside costs the hub nothing and sees what the operating system sees: memory
the hub freed but its allocator kept counts, which is the point of asking whether RSS comes back.
"""

from __future__ import annotations

import asyncio
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
        self.samples.append(Sample(self.now(), mb, self._clock.phase))
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
