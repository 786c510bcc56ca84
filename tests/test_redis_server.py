"""The `redis_server` fixture: a real Redis that answers, dies when killed, and comes back on the
same URL (what the cluster's broker tests rely on)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.redis_server import RedisServer, RedisServerError


async def ping(url: str) -> bool:
    client = aioredis.from_url(url, socket_connect_timeout=1.0)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def test_the_fixture_answers_ping_on_loopback(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert await ping(redis_server.url)


async def test_killed_it_refuses_and_restarted_it_answers_on_the_same_url_empty(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url
    client = aioredis.from_url(url)
    await client.set("hint", "1")
    await client.aclose()

    redis_server.kill()
    assert not redis_server.running
    with pytest.raises(RedisConnectionError):
        await ping(url)

    await redis_server.start_async()
    assert redis_server.url == url
    client = aioredis.from_url(url)
    try:
        assert await client.ping()
        assert await client.get("hint") is None  # no persistence: a restart comes back empty
    finally:
        await client.aclose()


def test_a_sync_restart_works_too(redis_server: RedisServer) -> None:
    redis_server.kill()
    redis_server.start()
    assert redis_server.running


def test_without_redis_server_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on it
    with pytest.raises(RedisServerError, match="apt-get install redis-server"):
        RedisServer(tmp_path / "redis").start()
