"""One hub's part in a cluster: several hubs on one PostgreSQL store and one Redis broker.

The store is the truth; each hub's memory (registry, conversation states, discovery index) is
a cache of it, refreshed by the broker's hints and read through on a miss. What each hub does:

- after each commit it publishes the new heads of the groups it wrote; a hub with members of
  such a group connected reads the rows after its own head from the store and delivers them
  (`Router.hint`), others only note that they are behind and catch up on first use;
- it publishes a change of an agent, group or goal, and the others re-read that row;
- every second it says it is alive and which agents it has connected: presence is cluster-wide,
  and a hub that stops saying so (killed) takes its agents' presence with it after `HUB_TTL`;
- its clock fires a group's timeout only after a grace that grows with its rank for that group
  among the live hubs, so one hub usually fires and another takes over when that one is gone;
  the checked append (`SharedStore.append_checked`) makes any second firing lose, so a timeout
  is stored exactly once either way;
- when the broker returns after an outage it re-reads the registry and catches up every group
  it serves, and every `POLL` seconds it compares those groups' heads with the store, so a lost
  hint delays a delivery by at most that.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from typing import TYPE_CHECKING

from ioa.hub.broker import Broker, Event
from ioa.store import StoredMessage, StoreError
from ioa.store.shared import SharedStore

if TYPE_CHECKING:
    from ioa.hub.entries import Group
    from ioa.hub.goals import Goals
    from ioa.hub.state import HubState

log = logging.getLogger("ioa.hub.cluster")

ALIVE_EVERY = 1.0
HUB_TTL = 3.0
"""Seconds without an `alive` from a hub after which it counts as gone."""
POLL = 2.0
"""Seconds between two comparisons of the served groups' heads with the store."""
INLINE_BYTES = 64 * 1024
"""Largest batch whose rows travel in its hint; a larger one is read from the store."""
GRACE = 2.0
"""Seconds each rank waits after a deadline before its hub fires the timeout itself."""


class Cluster:
    def __init__(self, state: HubState, goals: Goals, broker_url: str) -> None:
        if not isinstance(state.store, SharedStore):
            raise TypeError("a hub in a cluster needs a SharedStore")
        self.state = state
        self.goals = goals
        self.store: SharedStore = state.store
        state.cluster = self
        state.registry.notify = self.changed
        self.hub_id = "h-" + uuid.uuid4().hex[:12]
        self.broker = Broker(broker_url, self.hub_id, self._heard, self._connected)
        self.hubs: dict[str, tuple[float, frozenset[str]]] = {}
        """Other live hubs → (when their last `alive` stops counting, their connected agents)."""
        self._announced: set[str] = set()
        """Local agents the others were last told are connected here."""
        self._changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._firing: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed_once = False
        self._catching_up: set[asyncio.Future[None]] = set()
        """Work that reads the store: finished, never cancelled, before the store closes (a
        query cancelled midway leaves its connection to the garbage collector)."""
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self._apply_changes()),
            asyncio.create_task(self._beat()),
            asyncio.create_task(self._poll()),
        ]

    async def stop(self) -> None:
        self._stopping.set()
        self._changes.put_nowait(("stop", ""))
        await asyncio.gather(*self._tasks, *self._catching_up, return_exceptions=True)
        self._tasks = []
        await self.broker.stop()

    # what this hub tells the others
    def changed(self, kind: str, key: str) -> None:
        """An agent, group or goal row changed here: the others re-read it. A heartbeat
        ("seen") carries its time instead: no row to re-read for each one."""
        event: dict[str, object] = {"t": kind, "id": key}
        if kind == "seen" and (agent := self.state.registry.agents.get(key)) is not None:
            event["at"] = agent.last_seen
        self.broker.publish(event)

    def stored(self, heads: dict[str, int], rows: dict[str, list[StoredMessage]]) -> None:
        """A batch was committed here: its groups' new heads, and their rows when they are
        small enough to ride along (the others then need no read of the store to deliver) and
        another hub is there to read them (a hub that has not yet said it is alive reads the
        store)."""
        event: dict[str, object] = {"t": "m", "g": heads}
        if self.hubs and sum(len(m.body) for ms in rows.values() for m in ms) <= INLINE_BYTES:
            event["r"] = {
                g: [[m.seq, m.id, m.sender, m.type, m.ts, m.body] for m in ms]
                for g, ms in rows.items()
            }
        self.broker.publish(event)

    def local_presence(self, agent_id: str, connected: bool) -> None:
        if connected == (agent_id in self._announced):
            return
        if connected:
            self._announced.add(agent_id)
        else:
            self._announced.discard(agent_id)
        self.broker.publish({"t": "p", "id": agent_id, "on": connected})

    def online_elsewhere(self, agent_id: str) -> bool:
        now = time.monotonic()
        return any(expiry > now and agent_id in agents for expiry, agents in self.hubs.values())

    # what the others tell this hub
    def _heard(self, event: Event) -> None:
        kind, hub = event.get("t"), str(event.get("hub"))
        if kind == "m":
            self._hinted(event.get("g"), event.get("r"))
        elif kind == "p":
            self._presence(hub, str(event.get("id")), bool(event.get("on")))
        elif kind == "alive":
            agents = event.get("agents")
            self._alive(hub, frozenset(agents) if isinstance(agents, list) else frozenset())
        elif kind == "seen":
            self._seen(str(event.get("id")), event.get("at"))
        elif kind in ("agent", "group", "goal") and isinstance(event.get("id"), str):
            self._changes.put_nowait((kind, event["id"]))

    def _hinted(self, heads: object, rows: object) -> None:
        if not isinstance(heads, dict):
            return
        registry, router = self.state.registry, self.state.router
        for group_id, seq in heads.items():
            group = registry.groups.get(group_id)
            if group is None:
                self._changes.put_nowait(("group", group_id))
            elif isinstance(seq, int):
                carried = rows.get(group_id) if isinstance(rows, dict) else None
                router.hint(group, seq, _rows(group_id, carried))

    def _presence(self, hub: str, agent_id: str, on: bool) -> None:
        expiry, agents = self.hubs.get(hub, (time.monotonic() + HUB_TTL, frozenset()))
        self.hubs[hub] = (expiry, agents | {agent_id} if on else agents - {agent_id})
        self.state.presence_changed(agent_id)

    def _seen(self, agent_id: str, at: object) -> None:
        agent = self.state.registry.agents.get(agent_id)
        if agent is not None and isinstance(at, (int, float)):
            agent.last_seen = max(agent.last_seen or 0.0, float(at))
            self.state.presence_changed(agent_id)

    def _alive(self, hub: str, agents: frozenset[str]) -> None:
        _, before = self.hubs.get(hub, (0.0, frozenset()))
        self.hubs[hub] = (time.monotonic() + HUB_TTL, agents)
        for agent_id in before ^ agents:
            self.state.presence_changed(agent_id)

    async def _connected(self) -> None:
        """Subscribed (again): say who is here, and after an outage read what was missed."""
        self._beat_now()
        if self._subscribed_once:
            task = asyncio.ensure_future(self._catch_up_all())
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)
        self._subscribed_once = True

    async def _catch_up_all(self) -> None:
        try:
            for agent_id in await self.state.registry.refresh():
                self.state.agent_reloaded(agent_id)
            await self.goals.refresh()
            await self._compare_heads()
        except StoreError as exc:
            log.warning("catching up after a broker outage failed: %s", exc)

    async def _apply_changes(self) -> None:
        """Re-read changed rows one at a time, in the order the changes were heard."""
        registry = self.state.registry
        while not self._stopping.is_set():
            kind, key = await self._changes.get()
            try:
                if kind == "agent":
                    await registry.reload_agent(key)
                    self.state.agent_reloaded(key)
                elif kind == "group":
                    if (group := await registry.reload_group(key)) is not None:
                        self.state.router.announce(group)
                        if self.state.router.serves(group):
                            self.state.router.sync(group)
                elif kind == "goal":
                    await self.goals.reload(key)
            except StoreError as exc:
                log.warning("could not re-read %s %s: %s", kind, key, exc)

    async def _pause(self, seconds: float) -> bool:
        """Sleep; False when the hub stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    async def _beat(self) -> None:
        while await self._pause(ALIVE_EVERY):
            self._beat_now()
            now = time.monotonic()
            for hub, (expiry, agents) in list(self.hubs.items()):
                if expiry <= now:
                    log.warning("hub %s is gone (no word for %.0f s)", hub, HUB_TTL)
                    del self.hubs[hub]
                    for agent_id in agents:
                        self.state.presence_changed(agent_id)

    def _beat_now(self) -> None:
        connected = list(self.state.router.connections)
        self._announced = set(connected)
        self.broker.publish({"t": "alive", "agents": connected})

    async def _poll(self) -> None:
        while await self._pause(POLL):
            with contextlib.suppress(StoreError):
                await self._compare_heads()

    async def _compare_heads(self) -> None:
        router = self.state.router
        served = [g for g in self.state.registry.groups.values() if router.serves(g)]
        heads = await self.store.heads_of(g.id for g in served)
        for group in served:
            if heads.get(group.id, 0) > group.head:
                router.hint(group, heads[group.id])

    # the clock
    def rank(self, group_id: str) -> int:
        """This hub's place among the live hubs for firing the group's timeouts (0 = first)."""
        now = time.monotonic()
        live = [hub for hub, (expiry, _) in self.hubs.items() if expiry > now]
        live.append(self.hub_id)
        live.sort(key=lambda hub: hashlib.blake2b(f"{group_id}/{hub}".encode()).digest())
        return live.index(self.hub_id)

    def clock(self, group: Group, now: float) -> None:
        """Fire the group's due timeouts if it is this hub's turn, after catching up."""
        if group.id in self._firing or group.syncing is not None or group.pending:
            return
        deadline = group.policy.deadline()
        if deadline is None or now < deadline + self.rank(group.id) * GRACE:
            return
        if group.policy.next_timeout(now) is None:
            return
        if self._stopping.is_set():
            return
        self._firing.add(group.id)
        task = asyncio.ensure_future(self._fire(group))
        self._catching_up.add(task)
        task.add_done_callback(self._catching_up.discard)
        task.add_done_callback(lambda _: self._firing.discard(group.id))

    async def _fire(self, group: Group) -> None:
        router = self.state.router
        if group.syncing is not None or group.pending:  # admitted since: the clock asks again
            return
        try:
            await router.sync(group)
        except StoreError as exc:
            log.warning("group %s: could not catch up before its timeout: %s", group.id, exc)
            return
        if group.syncing is not None or group.pending:
            return
        while (envelope := group.policy.next_timeout(time.time())) is not None:
            router.originate(group, envelope)


def _rows(group_id: str, carried: object) -> list[StoredMessage] | None:
    """The rows a hint carried, or None if it carried none (or anything malformed)."""
    if not isinstance(carried, list):
        return None
    try:
        return [
            StoredMessage(group_id, int(seq), str(mid), str(sender), str(kind), float(ts), str(b))
            for seq, mid, sender, kind, ts, b in carried
        ]
    except (TypeError, ValueError):
        return None
