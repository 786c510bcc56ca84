"""`CardEmbeddings`: the hub's embedding model, loaded in the background, and the queue of cards
waiting for a vector. What is embedded for a card, and how it is stored, is `ioa.hub.embeddings`.

The model loads in the background after the hub starts (the first start also converts the
bundled weights to a GGUF, a few seconds), so the hub answers at once and ranks by BM25 until
the model is ready, or for good if it is switched off or cannot load (`/v1/health` says which).

Cards are embedded on the embedder's worker thread in batches: a registration or card update
queues its agent, the worker takes whatever is queued (up to `BATCH` cards) in one llama.cpp
call, writes the vectors to the store (only if the card is still the one that was embedded) and
gives them to the discovery index. Once the model is loaded, stored vectors of the same model
and `LAYOUT` go straight into the index (until then no query has a vector: they wait, unread),
every card's tokens are counted, and cards
without a vector (registered before the model existed, or under another model or layout) or
pooled when the hub had far fewer fields (`ioa.hub.idf.STALE_GROWTH`) are queued.

Like the discovery index, this module imports numpy (and `ioa.hub.vectors`, built on it) only
when a vector is first made or read, so a hub answers before numpy is loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ioa.config import HubConfig
from ioa.hub.discovery import DiscoveryIndex
from ioa.hub.embeddings import LAYOUT, card_fields, card_vectors, pack, unpack
from ioa.hub.entries import Agent
from ioa.hub.errors import InvalidVector
from ioa.hub.idf import STALE_GROWTH, TokenRarity
from ioa.hub.registry import Registry
from ioa.store import Store, StoreError
from protocols import AgentCard

if TYPE_CHECKING:
    import numpy as np

    from ioa.llm.embedder import Embedder
    from ioa.llm.errors import EngineError

__all__ = ["BATCH", "CardEmbeddings"]

log = logging.getLogger("ioa.hub")


def _engine_error() -> type[EngineError]:
    """`ioa.llm.EngineError`, imported when first needed: importing `ioa.llm` loads llama.cpp
    (about 0.15 s), which a hub on an empty database would otherwise pay before its first
    answer, and one that runs without the model would pay for nothing."""
    from ioa.llm import errors

    return errors.EngineError


BATCH = 32
"""Cards taken from the queue at once (at most `MAX_FIELDS` texts each, within the embedder's
`MAX_BATCH`); the embedder packs their texts into short decodes (`PACK_TOKENS`)."""
ADOPT_TURN = 32
"""Stored vectors taken into the index per turn of the event loop once the model is loaded
(it loads as a restarted hub's agents come back: their resumes go on in between)."""
QUERY_CACHE = 512
"""Recent query vectors kept: teams and clients repeat queries."""
REGISTER_WAIT = 5.0
"""Seconds a registration waits for its card's vector before answering anyway."""


@dataclass(slots=True)
class _Job:
    agent_id: str
    done: asyncio.Future[None]


class CardEmbeddings:
    """The hub's embedding model and the queue of cards waiting for a vector."""

    def __init__(
        self,
        config: HubConfig,
        registry: Registry,
        store: Store,
        index: DiscoveryIndex,
        embedder: Embedder | None = None,
    ) -> None:
        self._config = config
        self._registry = registry
        self._store = store
        self._index = index
        self._embedder = embedder
        """Given (tests) or loaded by `start`; the hub closes only one it loaded."""
        self._own = embedder is None
        self.state = "off" if config.embeddings == "off" and embedder is None else "loading"
        """off | loading | ready | failed."""
        self.reason: str | None = None
        self.model: str | None = embedder.name if embedder is not None else None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued: dict[str, asyncio.Future[None]] = {}
        """Agents waiting in the queue: queuing one again adds nothing (its card is read when
        its batch is taken, so the newest card is the one embedded)."""
        self._busy = 0
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.rarity = TokenRarity()
        """Token counts over the registered cards' fields (filled once the model is loaded)."""
        self._pooled_at: dict[str, int] = {}
        """Fields counted when each agent's vectors were pooled (`rarity.n` then)."""
        self._oldest: list[tuple[int, str]] = []
        """A heap of (`_pooled_at`, agent id), oldest first; entries since re-pooled are stale."""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def pending(self) -> int:
        """Cards queued or being embedded."""
        return self._queue.qsize() + self._busy

    def _loader(self) -> tuple[Path, Callable[..., Awaitable[Embedder]]]:
        """The model's path (the first start converts the bundled weights) and its loader,
        imported here, on a worker thread: `ioa.llm.embedder` brings llama.cpp's bindings and
        numpy (~0.25 s of CPU), which on the event loop stalled every request meanwhile (a hub
        just started: its first answers, a reconnect wave)."""
        choice = self._config.embeddings
        if choice == "bundled":
            from ioa.llm.bert_gguf import embedding_model_path

            path = embedding_model_path(convert=True)
        else:
            path = Path(choice).expanduser()
        from ioa.llm.embedder import load_embedder

        return path, load_embedder

    def stored_as(self) -> str | None:
        """What vectors are stored under, but for the field count: the loaded model's name and
        `LAYOUT`."""
        return None if self.model is None else f"{self.model}+{LAYOUT}"

    def stored_vector(self, agent: Agent) -> np.ndarray | None:
        """The agent's stored field vectors if the current model and layout made them, else
        None (a damaged blob too: the card is embedded again)."""
        stored_as = self.stored_as()
        if stored_as is None or agent.embedding is None or agent.embedding_model is None:
            return None
        made_by, _, fields = agent.embedding_model.rpartition("@")
        if made_by != stored_as or not fields.isdigit():
            return None
        rows = unpack(agent.embedding)
        if rows is not None:
            self._pooled(agent.id, int(fields))
        return rows

    def adopt_stored(self, agent: Agent) -> None:
        """Give the index the agent's stored vectors if the loaded model made them (else its
        card is embedded again), and drop the stored blob: the index holds them from here on.

        Stored vectors wait for the model: only it can tell whether it made them, and until it
        is loaded no query has a vector to compare them with. Reading them at start imported
        llama.cpp's bindings and numpy before a hub with embedded cards could answer."""
        try:
            vector = self.stored_vector(agent) if self.ready else None
            if vector is not None:
                self._index.set_vector(agent.id, vector)
        except InvalidVector:
            pass  # damaged: without a vector, the card is queued and embedded again
        if self.state != "loading":
            agent.embedding = None

    def _pooled(self, agent_id: str, fields: int) -> None:
        self._pooled_at[agent_id] = fields
        heapq.heappush(self._oldest, (fields, agent_id))

    def forget(self, agent_id: str) -> None:
        """The agent is gone: its card no longer counts."""
        self.rarity.forget(agent_id)
        self._pooled_at.pop(agent_id, None)

    def start(self) -> None:
        """Load the model and embed the cards without a vector, in the background."""
        if self.state != "off":
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own and self._embedder is not None:
            await self._embedder.close()
            self._embedder = None

    def card_changed(self, agent: Agent) -> asyncio.Future[None] | None:
        """Queue `agent`'s card; the future resolves once its vector is in the index (or the
        embedding failed, which is logged). None when no model is coming."""
        if self.state in ("off", "failed"):
            return None
        waiting = self._queued.get(agent.id)
        if waiting is not None:
            return waiting
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued[agent.id] = done
        self._queue.put_nowait(_Job(agent.id, done))
        return done

    async def wait_for(self, done: asyncio.Future[None] | None) -> None:
        """Wait (bounded) for a queued card when the model is ready; return at once if not."""
        if done is None or not self.ready:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), REGISTER_WAIT)

    async def embed_query(self, text: str) -> np.ndarray | None:
        """The query's vector, or None while there is no model."""
        if not self.ready or self._embedder is None:
            return None
        vector = self._queries.get(text)
        if vector is not None:
            self._queries.move_to_end(text)
            return vector
        from ioa.llm.embedder import pool

        try:
            (tokens,) = await self._embedder.tokens([text])
        except _engine_error() as exc:
            log.warning("embedding a query failed, ranking by BM25: %s", exc.message)
            return None
        if not len(tokens.ids):
            return None  # nothing to mean: BM25 alone (it finds nothing either)
        vector = pool(tokens)
        self._queries[text] = vector
        if len(self._queries) > QUERY_CACHE:
            self._queries.popitem(last=False)
        return vector

    async def _run(self) -> None:
        loaded = await self._load()
        for n, agent in enumerate(list(self._registry.agents.values()), 1):
            if agent.embedding is not None:
                self.adopt_stored(agent)
            if n % ADOPT_TURN == 0:
                await asyncio.sleep(0)  # ~33 ms for 1,000 cards: not in one turn of the loop
        if not loaded:
            for job in _drain(self._queue):
                job.done.set_result(None)
            self._queued.clear()
            return
        await self._count_all()
        for agent in list(self._registry.agents.values()):
            if not self._index.has_vector(agent.id):
                self.card_changed(agent)
        self._queue_stale()
        while True:
            jobs = [await self._queue.get()]
            jobs += _drain(self._queue, BATCH - 1)
            for job in jobs:
                self._queued.pop(job.agent_id, None)
            self._busy = len(jobs)
            try:
                await self._embed(jobs)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad batch must not stop embedding for good
                log.exception("embedding %d cards failed", len(jobs))
            finally:
                self._busy = 0
                for job in jobs:
                    if not job.done.done():
                        job.done.set_result(None)
            self._queue_stale()

    async def _count_all(self) -> None:
        """Count the tokens of every registered card (the tokenizer only, no model run)."""
        assert self._embedder is not None
        agents = list(self._registry.agents.values())
        for start in range(0, len(agents), BATCH):
            chunk = [(agent, card_fields(agent.card)) for agent in agents[start : start + BATCH]]
            ids = await self._embedder.token_ids([text for _, texts in chunk for text in texts])
            at = 0
            for agent, texts in chunk:
                if self._registry.agents.get(agent.id) is agent:
                    self.rarity.count(agent.id, ids[at : at + len(texts)])
                at += len(texts)

    def _queue_stale(self) -> None:
        """Queue the cards pooled when the hub counted too few fields for today's weights."""
        floor = self.rarity.n // STALE_GROWTH
        while self._oldest and self._oldest[0][0] < floor:
            fields, agent_id = heapq.heappop(self._oldest)
            if self._pooled_at.get(agent_id) != fields:
                continue  # pooled again since, or gone
            agent = self._registry.agents.get(agent_id)
            if agent is not None and self._index.has_vector(agent_id):
                self.card_changed(agent)

    async def _load(self) -> bool:
        try:
            if self._embedder is None:
                path, load_embedder = await asyncio.to_thread(self._loader)
                self._embedder = await load_embedder(path, n_threads=self._config.embed_threads)
            else:
                await self._embedder.start()
        except _engine_error() as exc:
            self.state, self.reason = "failed", exc.message
            log.warning("discovery by meaning is off: %s", exc.message)
            return False
        if self.model is not None and self.model != self._embedder.name:
            self._index_drop_all()
        self.model = self._embedder.name
        self.state = "ready"
        log.info("embedding model %s ready (%d dims)", self.model, self._embedder.dim)
        return True

    def _index_drop_all(self) -> None:
        self._pooled_at.clear()
        self._oldest.clear()
        for agent_id in self._registry.agents:
            self._index.set_vector(agent_id, None)

    async def _embed(self, jobs: list[_Job]) -> None:
        assert self._embedder is not None
        assert self.model is not None
        agents: dict[str, tuple[Agent, AgentCard]] = {}
        for job in jobs:
            agent = self._registry.agents.get(job.agent_id)
            if agent is not None:
                agents[agent.id] = (agent, agent.card)
        if not agents:
            return
        cards = list(agents.values())
        fields = [card_fields(card) for _, card in cards]
        tokens = await self._embedder.tokens([text for texts in fields for text in texts])
        per_card, start = [], 0
        for (agent, card), texts in zip(cards, fields, strict=True):
            per_card.append(tokens[start : start + len(texts)])
            start += len(texts)
            if self._registry.agents.get(agent.id) is agent and agent.card is card:
                self.rarity.count(agent.id, [field.ids for field in per_card[-1]])
        pooled_at = self.rarity.n
        stored_as = f"{self.model}+{LAYOUT}@{pooled_at}"
        for (agent, card), card_tokens in zip(cards, per_card, strict=True):
            if self._registry.agents.get(agent.id) is not agent or agent.card is not card:
                continue  # changed or gone meanwhile: a newer job has it
            vectors = card_vectors(card_tokens, self.rarity)
            if not len(vectors):
                continue
            blob = pack(vectors)
            try:
                stored = await self._store.set_agent_embedding(
                    agent.id, stored_as, blob, card.model_dump_json()
                )
            except StoreError as exc:
                log.warning("agent %s: its vector was not stored: %s", agent.id, exc)
                stored = True  # the index still gets it; the next start embeds it again
            if stored and agent.card is card and self._registry.agents.get(agent.id) is agent:
                agent.embedding_model = stored_as  # the vectors live in the index, not twice
                self._pooled(agent.id, pooled_at)
                self._index.set_vector(agent.id, vectors)
                self._registry.notify("agent", agent.id)


def _drain(queue: asyncio.Queue[_Job], limit: int | None = None) -> list[_Job]:
    taken: list[_Job] = []
    while not queue.empty() and (limit is None or len(taken) < limit):
        taken.append(queue.get_nowait())
    return taken
