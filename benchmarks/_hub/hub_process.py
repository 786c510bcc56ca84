"""The real hub as an operator runs it: `python -m ioa hub` in a process of its own.

The child runs this checkout's code (`PYTHONPATH` is the repository root) and writes its log to
a file. "Started" means the first `GET /v1/health` answered 200, polled every few milliseconds
from the moment just before the process is spawned. `kill()` is SIGKILL: no cleanup at all, as
after a crash or an out-of-memory kill. CPU is read from /proc through psutil.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from _hub.servers import BenchError

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
POLL = 0.005
SAMPLE = 0.1
"""Seconds between two CPU samples."""


def free_port() -> int:
    """A loopback port nothing listens on now (the hub binds it again after every restart)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ioa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ioa", *args]


def ioa_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


class HubProcess:
    """One `ioa hub` process on a fixed port and database; `spawn` again after `kill`."""

    def __init__(self, db: Path | str, port: int, log: Path, extra: Sequence[str] = ()) -> None:
        self.db = db
        """A SQLite path or a `postgresql://` URL."""
        self.port = port
        self.log = log
        self.extra = tuple(extra)
        """Further `ioa hub` options (`--broker URL`, `--embeddings off`)."""
        self.process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0
        """`time.monotonic()` just before the last spawn."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError("the hub is not running")
        return self.process.pid

    def spawn(self) -> None:
        args = ioa_command("hub", "--port", str(self.port), "--db", str(self.db), *self.extra)
        with self.log.open("ab") as out:
            self.spawned_at = time.monotonic()
            self.process = subprocess.Popen(
                args, env=ioa_env(), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )

    async def wait_healthy(self) -> float:
        """Seconds from the spawn to the first 200 of `/v1/health`."""
        timeout = aiohttp.ClientTimeout(total=2.0)
        deadline = self.spawned_at + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise BenchError(f"the hub exited at start; its log: {self._tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(self.url + "/v1/health") as resp:
                        if resp.status == 200:
                            return time.monotonic() - self.spawned_at
                await asyncio.sleep(POLL)
        raise BenchError(f"the hub did not answer within {START_TIMEOUT:.0f} s: {self._tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the hub process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def kill(self) -> None:
        """SIGKILL, then reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM (SIGKILL if it lingers)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-1500:]
        return "(no log)"


@dataclass(slots=True)
class CpuTrace:
    """(monotonic time, CPU seconds of the hub) every `SAMPLE` seconds."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def busy(self, since: float, until: float) -> list[float]:
        """Percent of one core in each sample interval inside [since, until]."""
        points = [(t, c) for t, c in self.samples if since <= t <= until]
        return [
            100 * (c1 - c0) / (t1 - t0)
            for (t0, c0), (t1, c1) in itertools.pairwise(points)
            if t1 > t0
        ]

    def idle_after(self, since: float, threshold: float = 5.0, run: int = 3) -> float | None:
        """The first time after `since` that starts `run` intervals in a row under `threshold`
        percent: when the hub's background work (the restore) was over."""
        points = [(t, c) for t, c in self.samples if t >= since]
        quiet = 0
        for i in range(1, len(points)):
            (t0, c0), (t1, c1) = points[i - 1], points[i]
            quiet = quiet + 1 if 100 * (c1 - c0) / (t1 - t0) < threshold else 0
            if quiet == run:
                return points[i - run][0]
        return None


async def trace_cpu(pid: int, trace: CpuTrace, until: asyncio.Event) -> None:
    """Sample the hub's CPU time until `until` is set or the process is gone."""
    try:
        ps = psutil.Process(pid)
        while not until.is_set():
            times = ps.cpu_times()
            trace.samples.append((time.monotonic(), times.user + times.system))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), SAMPLE)
    except psutil.Error:
        return
