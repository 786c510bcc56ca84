"""Several hubs for real: a fresh database on the test PostgreSQL (`IOA_TEST_POSTGRES_URL`,
started by `.ci/run`), a Debian `redis-server` per test on its own loopback port
(`tests.redis_server`), and hubs as objects in this process or as `ioa hub` processes that a
test can kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

import aiohttp
import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from tests.conftest import card, hub_config
from tests.redis_server import RedisServer, free_port


@pytest.fixture
async def two_hubs(fresh_postgres_url: str, redis_server: RedisServer) -> AsyncIterator[list[Hub]]:
    config = hub_config(fresh_postgres_url, broker_url=redis_server.url)
    async with Hub(config) as first, Hub(config) as second:
        yield [first, second]


async def joined(url: str, name: str) -> HubClient:
    """A new agent registered through `url` and connected there."""
    client = HubClient(url)
    await client.__aenter__()
    await client.register(card(name))
    await client.connect()
    return client


async def eventually(check: object, timeout: float = 10.0) -> None:
    """Wait until `check()` is true (it reads another process's state: no event to await)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@dataclass
class HubProcess:
    """`ioa hub` in its own process on a fixed port, so it can be killed -9 and started again."""

    database: str
    broker: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    output: IO[bytes] = field(default_factory=tempfile.TemporaryFile)
    """What the hub prints (a pipe nobody reads could fill and stall it)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._spawn()
        await self._wait_ready()

    def _spawn(self) -> None:
        env = dict(os.environ, IOA_HUB_EMBEDDINGS="off")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ioa",
                "hub",
                "--port",
                str(self.port),
                "--db",
                self.database,
                "--broker",
                self.broker,
            ],
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    async def _wait_ready(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(400):
                if self.process is not None and self.process.poll() is not None:
                    self.output.seek(0)
                    raise RuntimeError(f"hub exited: {self.output.read()[-2000:].decode()}")
                try:
                    async with session.get(f"{self.url}/v1/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("hub did not answer /v1/health")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.output.close()


@pytest.fixture
async def hub_processes(
    fresh_postgres_url: str, redis_server: RedisServer
) -> AsyncIterator[list[HubProcess]]:
    hubs = [HubProcess(fresh_postgres_url, redis_server.url) for _ in range(3)]
    await asyncio.gather(*(hub.start() for hub in hubs))
    yield hubs
    for hub in hubs:
        hub.stop()
