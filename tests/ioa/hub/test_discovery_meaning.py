"""Discovery by meaning through a real hub over HTTP: cards embedded on registration by the
bundled model on llama.cpp, `mode` on `/v1/discover`, a hub without the model, vectors kept in
the store and cards of an older store embedded in the background at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from environments.discoveryset import CARDS
from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from ioa.hub.embeddings import card_fields, unpack
from ioa.llm.scripted_embedder import ScriptedEmbedder
from ioa.store import SqlStore
from protocols import AgentCard
from tests.conftest import hub_config

DOMAINS = ("calculator", "units", "lookup", "weather", "recipes", "python", "legal", "travel")
"""A few capabilities of the labelled set: 24 cards, enough for ranking to mean something."""


def set_cards() -> list[AgentCard]:
    return [
        AgentCard.model_validate(c.as_dict() | {"id": None})
        for c in CARDS
        if c.id.rsplit("-", 1)[0] in DOMAINS
    ]


async def until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def health(client: HubClient) -> dict[str, Any]:
    body: dict[str, Any] = await client.request("GET", "/v1/health")
    return body


async def ready(client: HubClient) -> bool:
    status = (await health(client))["discovery"]
    return bool(status["embeddings"] == "ready" and status["pending"] == 0)


@pytest.fixture
async def meaning_hub(db_path: Path, minilm_gguf: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path, embeddings=str(minilm_gguf))) as running:
        yield running


async def register_all(url: str, cards: list[AgentCard]) -> tuple[HubClient, dict[str, str]]:
    """Register every card (one client each); returns a client to query with, and id → name."""
    names = {}
    for card in cards:
        async with HubClient(url) as client:
            names[await client.register(card)] = card.name
    asker = HubClient(url)
    await asker.__aenter__()
    await asker.register(AgentCard(name="Asker", description="asks the hub"))
    return asker, names


async def test_a_paraphrase_finds_the_right_card_by_meaning_not_by_words(
    meaning_hub: Hub,
) -> None:
    asker, names = await register_all(meaning_hub.url, set_cards())
    try:
        await until(lambda: ready(asker))
        status = (await health(asker))["discovery"]
        assert status["default_mode"] == "hybrid"
        assert status["modes"] == ["bm25", "vector", "hybrid"]
        assert "cosine" in status["blend"]
        goal = "should I bring an umbrella on Saturday"
        assert await asker.discover(goal, mode="bm25") == []  # no shared word
        for mode in ("hybrid", "vector", None):
            hits = await asker.discover(goal, k=5, mode=mode)
            found = [names.get(hit.agent_id, "") for hit in hits]
            assert any("Weather" in name or "Rain" in name for name in found), (mode, found)
        python = {c.name for c in CARDS if c.id.startswith("python-")}
        keyword = await asker.discover("python script", k=3, mode="hybrid")
        assert {names[hit.agent_id] for hit in keyword} == python
        body = await asker.request("GET", "/v1/discover?q=umbrella&mode=vector")
        assert body["mode"] == "vector"
    finally:
        await asker.close()


async def test_an_updated_card_is_embedded_again(meaning_hub: Hub) -> None:
    async with HubClient(meaning_hub.url) as client:
        await client.register(AgentCard(name="Baker", description="bakes bread and cakes"))
        await until(lambda: ready(client))
        goal = "someone to fix a leaking kitchen tap"
        assert (await client.discover(goal, mode="vector"))[0].agent_id == client.agent_id
        cosine_before = (await client.discover(goal, mode="vector"))[0].score
        await client.request(
            "PUT",
            f"/v1/agents/{client.agent_id}",
            AgentCard(name="Plumber", description="repairs pipes, taps and leaks").model_dump(),
        )
        await until(lambda: ready(client))
        cosine_after = (await client.discover(goal, mode="vector"))[0].score
        assert cosine_after > cosine_before + 0.1


@pytest.mark.parametrize(
    "query",
    [
        "mode=semantic",
        "mode=",
        "mode=BM25",
        "mode=hybrid%00",
        "mode=" + "v" * 4000,
        "mode=%F0%9F%92%A5",
    ],
)
async def test_bad_modes_are_invalid_queries_that_do_not_echo_the_input(
    meaning_hub: Hub, query: str
) -> None:
    async with HubClient(meaning_hub.url) as client:
        await client.register(AgentCard(name="Probe"))
        with pytest.raises(ClientError) as caught:
            await client.request("GET", f"/v1/discover?q=x&{query}")
        assert caught.value.code == "invalid_query"
        assert "bm25, vector, hybrid" in caught.value.message
        assert len(caught.value.message) < 200


async def test_a_hub_without_the_model_ranks_by_bm25_and_says_so(db_path: Path) -> None:
    async with Hub(hub_config(db_path)) as hub, HubClient(hub.url) as client:
        await client.register(AgentCard(name="Weather Forecaster", description="rain forecasts"))
        status = (await health(client))["discovery"]
        assert status["embeddings"] == "off"
        assert (status["modes"], status["default_mode"]) == (["bm25"], "bm25")
        hits = await client.discover("weather")
        assert [hit.agent_id for hit in hits] == [client.agent_id]
        body = await client.request("GET", "/v1/discover?q=weather")
        assert body["mode"] == "bm25"
        for mode in ("vector", "hybrid"):
            with pytest.raises(ClientError) as caught:
                await client.discover("weather", mode=mode)
            assert caught.value.code == "unavailable"
        assert await client.discover("umbrella", mode="bm25") == []


async def test_a_model_that_cannot_load_leaves_bm25_working(db_path: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    async with Hub(hub_config(db_path, embeddings=str(junk))) as hub, HubClient(hub.url) as client:
        await client.register(AgentCard(name="Chef", description="cooks"))

        async def failed() -> bool:
            return bool((await health(client))["discovery"]["embeddings"] == "failed")

        await until(failed)
        status = (await health(client))["discovery"]
        assert "junk.gguf" in status["reason"]
        assert [hit.agent_id for hit in await client.discover("chef")] == [client.agent_id]


async def test_cards_of_an_older_store_are_embedded_in_the_background_and_kept(
    db_path: Path,
) -> None:
    cards = set_cards()[:6]
    async with SqlStore(str(db_path)) as store:
        async with Hub(hub_config(db_path), store=store) as hub:  # no model: BM25 only
            for card in cards:
                async with HubClient(hub.url) as client:
                    await client.register(card)
        assert all(rec.embedding is None for rec in await store.list_agents())

        twin = ScriptedEmbedder(dim=8)
        hub = Hub(hub_config(db_path), store=store, embedder=twin)
        async with hub, HubClient(hub.url) as client:
            await client.register(AgentCard(name="Late", description="registered later"))
            await until(lambda: ready(client))
            status = (await health(client))["discovery"]
            assert status["model"] == "scripted"
            embedded = sorted(text for batch in twin.batches for text in batch)
            late = AgentCard(name="Late", description="registered later")
            assert embedded == sorted(text for c in [*cards, late] for text in card_fields(c))
            hits = await client.discover(cards[0].name, mode="vector")
            assert hits
        records = await store.list_agents()
        assert all(
            (rec.embedding_model or "").startswith("scripted+idf-fields@") for rec in records
        )
        for rec in records:
            rows = unpack(rec.embedding or b"")
            assert rows is not None
            assert rows.shape == (len(card_fields(AgentCard.model_validate_json(rec.card_json))), 8)

        again = ScriptedEmbedder(dim=8)
        hub = Hub(hub_config(db_path), store=store, embedder=again)
        async with hub, HubClient(hub.url) as client:
            await client.register(AgentCard(name="Asker"))
            await until(lambda: ready(client))
            # stored vectors of the same model are loaded, not embedded again
            assert [text for batch in again.batches for text in batch] == card_fields(
                AgentCard(name="Asker")
            )
            assert await client.discover(cards[0].name, mode="vector")


class SlowToLoad(ScriptedEmbedder):
    """The scripted model, loading until the test lets it."""

    def __init__(self) -> None:
        super().__init__(dim=8)
        self.loaded = asyncio.Event()

    async def start(self) -> SlowToLoad:
        await self.loaded.wait()
        return self


async def test_stored_vectors_wait_for_the_model_then_are_used_as_stored(db_path: Path) -> None:
    """Whether a stored vector is the model's own needs the model (and reading one, numpy):
    a hub answers first, and takes them once the model has loaded, embedding nothing again."""
    cards = set_cards()[:4]
    async with SqlStore(str(db_path)) as store:
        hub = Hub(hub_config(db_path), store=store, embedder=ScriptedEmbedder(dim=8))
        async with hub, HubClient(hub.url) as client:
            for card in cards:
                async with HubClient(hub.url) as member:
                    await member.register(card)
            await until(lambda: ready(client))
        model = SlowToLoad()
        hub = Hub(hub_config(db_path), store=store, embedder=model)
        async with hub, HubClient(hub.url) as client:
            assert (await health(client))["discovery"]["embeddings"] == "loading"
            ids = list(hub.state.registry.agents)
            assert len(ids) == len(cards)
            assert not any(hub.state.discovery.has_vector(agent_id) for agent_id in ids)
            model.loaded.set()
            await until(lambda: ready(client))
            assert all(hub.state.discovery.has_vector(agent_id) for agent_id in ids)
            assert all(agent.embedding is None for agent in hub.state.registry.agents.values())
            assert model.batches == []


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, db_path: Path) -> str:
    if request.param == "sqlite":
        return str(db_path)
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


async def test_cards_pooled_on_a_much_smaller_hub_are_embedded_again_and_gone_ones_stop_counting(
    database: str,
) -> None:
    twin = ScriptedEmbedder(dim=8)
    async with Hub(hub_config(database), embedder=twin) as hub, HubClient(hub.url) as first:
        embeddings, agents = hub.state.embeddings, hub.state.registry.agents
        await first.register(AgentCard(name="First", description="an early card"))
        await until(lambda: ready(first))
        assert agents[first.agent_id].embedding_model == "scripted+idf-fields@2"
        clients = []
        for i in range(40):  # 80 more fields: the first card was weighed with 2
            client = HubClient(hub.url)
            await client.__aenter__()
            clients.append(client)
            await client.register(AgentCard(name=f"Card {i}", description=f"does task {i}"))
        await until(lambda: ready(first))
        pooled_at = int((agents[first.agent_id].embedding_model or "").rsplit("@", 1)[1])
        assert pooled_at > 4 * 2
        assert embeddings.rarity.n == 82
        stored = {rec.id: rec.embedding_model for rec in await hub.store.list_agents()}
        assert stored[first.agent_id] == agents[first.agent_id].embedding_model
        await clients[0].deregister()
        assert (embeddings.rarity.n, clients[0].agent_id in embeddings.rarity) == (80, False)
        for client in clients:
            await client.close()
    again = ScriptedEmbedder(dim=8)
    async with Hub(hub_config(database), embedder=again) as hub, HubClient(hub.url) as asker:
        await asker.register(AgentCard(name="Asker"))
        await until(lambda: ready(asker))
        # every card counted again (the tokenizer only); none of the stored vectors is stale
        assert hub.state.embeddings.rarity.n == 81
        assert [text for batch in again.batches for text in batch] == ["Asker."]
        assert await asker.discover("an early card", mode="vector")
