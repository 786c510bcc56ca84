"""Everything one running hub holds, shared by its REST and WebSocket handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from ioa.config import HubConfig
from ioa.hub.admission import ResumeAdmission
from ioa.hub.card_embeddings import CardEmbeddings
from ioa.hub.discovery import DiscoveryIndex
from ioa.hub.entries import Agent
from ioa.hub.liveness import Liveness
from ioa.hub.memory import TRIMMER
from ioa.hub.registry import Registry
from ioa.hub.router import Router
from ioa.store import Store

if TYPE_CHECKING:
    from ioa.hub.cluster import Cluster
    from ioa.llm.embedder import Embedder

log = logging.getLogger("ioa.hub")

CLOCK_PERIOD = 0.1
"""Seconds between two looks at conversation deadlines."""


class HubState:
    def __init__(self, config: HubConfig, store: Store, embedder: Embedder | None = None) -> None:
        self.config = config
        self.store = store
        self.registry = Registry(store)
        self.router = Router(self.registry, store, config)
        self.discovery = DiscoveryIndex(semantic_weight=config.semantic_weight)
        self.embeddings = CardEmbeddings(config, self.registry, store, self.discovery, embedder)
        self._heartbeats: dict[str, float] = {}
        """agent id → when its last heartbeat stops counting (agents online by heartbeat)."""
        self.rejections: Counter[str] = Counter()
        """Rejected frames and requests by error code, since start."""
        self.rejection_listeners: list[Callable[[Rejection], None]] = []
        """Called for every rejection (the dashboard counts them per group and agent)."""
        self.presence_listeners: list[Callable[[str], None]] = []
        """Called with an agent id whenever its presence or card may have changed, or it left."""
        self.started_at = time.time()
        self.admission = ResumeAdmission(
            config.max_resuming, config.resume_wait, max_line=config.resume_line
        )
        """Which WebSockets replay now, which wait in line (kept by `ws`)."""
        self._tasks: list[asyncio.Task[None]] = []
        self.liveness = Liveness(config.ws_heartbeat)
        """Pings silent WebSockets, cuts the dead (kept by `ws`)."""
        self.cluster: Cluster | None = None
        """Set (by `Cluster`) when this hub is one of several on one store."""

    async def start(self) -> None:
        await self.registry.load()
        for agent in self.registry.agents.values():
            self._index(agent)
        await self.router.start()
        if self.cluster is not None:
            self.router.cluster = self.cluster
            await self.cluster.start()
        self._tasks = [
            asyncio.create_task(self._tick()),
            asyncio.create_task(self.registry.restore_all(self.admission.idle.wait)),
        ]

    def listening(self) -> None:
        """Start what may wait until the hub answers: loading the embedding model. Its thread
        imports llama.cpp and numpy and reads the weights; begun during the start, it competed
        with it for the GIL and delayed the first answer."""
        self.embeddings.start()

    async def stop(self) -> None:
        """Stop what `start` started, however far it got."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        self._tasks = []
        if self.cluster is not None:
            await self.cluster.stop()
        await self.embeddings.stop()
        await self.liveness.stop()
        await self.router.stop()

    async def _tick(self) -> None:
        """The hub's clock: timeouts of conversations whose deadlines passed; lapsed presence."""
        while True:
            await asyncio.sleep(CLOCK_PERIOD)
            now = time.time()
            TRIMMER.tick(asyncio.get_running_loop().time())
            for agent_id, expiry in list(self._heartbeats.items()):
                if now >= expiry:
                    self.presence_changed(agent_id)
            for group_id in list(self.registry.timed):
                group = self.registry.groups.get(group_id)
                if group is None or not group.restored:
                    continue
                try:
                    if self.cluster is not None:
                        self.cluster.clock(group, now)
                        continue
                    while (envelope := group.policy.next_timeout(now)) is not None:
                        self.router.originate(group, envelope)
                except Exception:  # one broken group must not stop the clock of the others
                    log.exception("the clock failed on group %s", group_id)

    def is_online(self, agent: Agent) -> bool:
        if self.router.is_connected(agent.id):
            return True
        if self.cluster is not None and self.cluster.online_elsewhere(agent.id):
            return True
        last = agent.last_seen
        return last is not None and time.time() - last < self.config.heartbeat_timeout

    def presence_changed(self, agent_id: str) -> None:
        """Bring the discovery index's presence (and card) up to date for one agent."""
        for listener in self.presence_listeners:
            listener(agent_id)
        if self.cluster is not None:
            self.cluster.local_presence(agent_id, self.router.is_connected(agent_id))
        agent = self.registry.agents.get(agent_id)
        if agent is None:
            self.discovery.remove(agent_id)
            self.embeddings.forget(agent_id)
            self._heartbeats.pop(agent_id, None)
            return
        if agent.last_seen is not None:
            expiry = agent.last_seen + self.config.heartbeat_timeout
            if expiry > time.time():
                self._heartbeats[agent_id] = expiry
            else:
                self._heartbeats.pop(agent_id, None)
        self.discovery.set_online(agent_id, self.is_online(agent))

    def agent_reloaded(self, agent_id: str) -> None:
        """Another hub changed the agent (or deleted it): index what the store now says."""
        if (agent := self.registry.agents.get(agent_id)) is not None:
            self._index(agent)
        else:
            self.presence_changed(agent_id)

    def _index(self, agent: Agent) -> None:
        """Put an agent's card, its stored vectors (once the model is loaded: `adopt_stored`)
        and its presence in the discovery index."""
        self.discovery.upsert(agent.id, agent.card)
        self.embeddings.adopt_stored(agent)
        self.presence_changed(agent.id)

    def card_changed(self, agent: Agent) -> asyncio.Future[None] | None:
        """Re-index the card at once (BM25) and queue it for a vector; the future (if any)
        resolves when the vector is in the index."""
        self.discovery.upsert(agent.id, agent.card)
        self.presence_changed(agent.id)
        return self.embeddings.card_changed(agent)

    def count_rejection(
        self, code: str, agent: str | None = None, group: str | None = None
    ) -> None:
        self.rejections[code] += 1
        if self.rejection_listeners:
            rejection = Rejection(code, agent, group, time.time())
            for listener in self.rejection_listeners:
                listener(rejection)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused frame or request: its error code, and who and where when the hub knows."""

    code: str
    agent: str | None
    group: str | None
    ts: float


STATE = web.AppKey("state", HubState)
"""Where the aiohttp application keeps its `HubState`."""
