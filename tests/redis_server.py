"""A real `redis-server` (Debian's, which `.ci/run` installs) on its own loopback port, for
tests of hubs that tell each other through Redis.

Each server lives in a temporary folder with persistence off (`--save ''`, no append-only
file), so a restart comes back empty, as a broker that lost its hints would. Tests kill it
(`kill`) for a few seconds and bring it back on the same port, hence the same URL (`start`, or
`start_async` inside a test whose hubs run on the event loop: it never blocks the loop).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RedisServer", "RedisServerError", "free_port"]

READY_TIMEOUT = 10.0
"""Seconds a server has to answer PING after it was started (it takes ~20 ms here)."""


class RedisServerError(RuntimeError):
    """The test's Redis could not be started: not installed, or it did not come up."""


def free_port() -> int:
    """A loopback port nothing listens on now (redis refuses `--port 0`, unlike our hub)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pong(port: int) -> bool:
    """Whether a Redis on `port` answers PING now."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """One `redis-server` process on `port`; `url` stays the same across restarts."""

    folder: Path
    """Its working directory (and log file)."""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.folder / "redis.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start it and wait until it answers PING (blocking: for fixtures and sync tests)."""
        self._spawn()
        deadline = time.monotonic() + READY_TIMEOUT
        while not _pong(self.port):
            self._check_alive(deadline)
            time.sleep(0.01)

    async def start_async(self) -> None:
        """`start` for a test whose hubs share its event loop."""
        self._spawn()
        deadline = time.monotonic() + READY_TIMEOUT
        while not await asyncio.to_thread(_pong, self.port):
            self._check_alive(deadline)
            await asyncio.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, nothing saved."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def _spawn(self) -> None:
        if self.running:
            raise RedisServerError(f"redis-server already runs on port {self.port}")
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerError(
                "redis-server is not installed: `apt-get install redis-server` (.ci/run does)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder), "--logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _check_alive(self, deadline: float) -> None:
        """Raise, with its log, if the server died (a port taken meanwhile) or is too slow."""
        if self.running and time.monotonic() < deadline:
            return
        self.kill()
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RedisServerError(
            f"redis-server on port {self.port} did not answer PING within {READY_TIMEOUT} s:\n"
            + tail
        )
