"""The hub's in-memory view of agents, tokens and groups, loaded from the store at start.

Everything the hot path asks (who is this token, is this agent a member, what is the next seq)
is answered from memory; the store is written first and the memory updated after. What an
entry is (`Agent`, `Group`) is `ioa.hub.entries`; this module indexes them, rebuilds groups
after a start, and reads through to a store that other hubs write too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ioa.hub.entries import Agent, Group, hash_token, new_agent_id, new_group_id, stored_agent
from ioa.hub.errors import GroupQuarantined, Unauthorized, UnknownAgent, UnknownGroup
from ioa.hub.policy import make_policy
from ioa.store import AgentRecord, GroupRecord, Store, StoredMessage, StoreError
from ioa.store.shared import SharedStore
from protocols import AgentCard, NotAMember

__all__ = ["REPLAY_PAGE", "REPLAY_SLICE", "Registry"]

log = logging.getLogger("ioa.hub")

REPLAY_PAGE = 256
"""Stored messages read per query when a group's transcript is replayed."""
REPLAY_SLICE = 16
"""Stored messages folded in one turn of the event loop (about a millisecond of work): a rebuild
beside live traffic delays no frame by more than one slice, however long the transcript."""


def _silent(kind: str, key: str) -> None:
    return None


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.shared = store if isinstance(store, SharedStore) else None
        """Set when other hubs write to the same store: a miss in memory is read through."""
        self.notify: Callable[[str, str], None] = _silent
        """Told ("agent" | "seen" | "group" | "goal", id) after every change this hub makes
        (the cluster tells the other hubs)."""
        self.agents: dict[str, Agent] = {}
        self.groups: dict[str, Group] = {}
        self._by_token: dict[str, str] = {}
        self._groups_of: dict[str, set[str]] = {}
        self.timed: set[str] = set()
        """Groups whose policy has deadlines for the hub's clock."""
        self.quarantined: dict[str, str] = {}
        """Groups that could not be restored → why; they answer `group_quarantined`."""
        self._restoring: dict[str, asyncio.Future[None]] = {}
        self.group_listeners: list[Callable[[Group], None]] = []
        """Called with every group created while the hub runs (the dashboard listens)."""
        self._replay_turn = asyncio.Lock()
        """Held for one slice of a replay and the yield after it: however many groups are being
        rebuilt at once, the event loop runs one slice between two looks at its sockets."""

    @property
    def restoring(self) -> int:
        """Groups not yet rebuilt since the start (`/v1/health` shows it)."""
        return sum(not group.restored for group in self.groups.values())

    async def load(self) -> None:
        """Rebuild what the hot path needs from the store: agents, groups, seq heads.

        A group's ids and conversation state are rebuilt later (`restore_all` in the background,
        or `ready` on first use), so a hub answers within a second however long its history.
        A group that cannot be rebuilt is quarantined; the others are served.
        """
        for rec in await self.store.list_agents():
            self._add_agent(stored_agent(rec))
        heads = await self.store.group_heads()
        for grec in await self.store.list_groups():
            try:
                group = self._add_group(grec)
            except Exception as exc:  # damaged meta, unknown protocol: this group only
                self._quarantine(grec.id, exc)
                continue
            group.head = heads.get(group.id, 0)
            group.restored = False

    async def restore_all(self, quiet: Callable[[], Awaitable[object]] | None = None) -> None:
        """Rebuild every group not yet rebuilt, timed ones first (the clock waits for them).

        Before each of the others it awaits `quiet()` (no client resuming): a reconnect wave
        is served first, and a group used meanwhile is rebuilt on its first use (`ready`).
        """
        pending = sorted(
            (g for g in self.groups.values() if not g.restored),
            key=lambda g: g.id not in self.timed,
        )
        for group in pending:
            if quiet is not None and group.id not in self.timed:
                await quiet()
            with contextlib.suppress(GroupQuarantined):
                await self.ready(group)

    async def ready(self, group: Group) -> Group:
        """The group with its ids and state rebuilt; `GroupQuarantined` if that failed."""
        if not group.restored:
            task = self._restoring.get(group.id)
            if task is None:
                task = asyncio.ensure_future(self._restore(group))
                self._restoring[group.id] = task
            await asyncio.shield(task)
        if group.id in self.quarantined:
            raise GroupQuarantined(self._why(group.id))
        return group

    async def _restore(self, group: Group) -> None:
        try:
            # Only what was stored when the hub loaded: with other hubs writing meanwhile, the
            # rest is caught up (and delivered to members connected here), never folded silently.
            upto = group.head if self.shared is not None else None
            if group.policy.needs_transcript:  # one read of the transcript serves both
                async for page in self.store.message_pages(group.id, limit=REPLAY_PAGE):
                    taken = [m for m in page if upto is None or m.seq <= upto]
                    for start in range(0, len(taken), REPLAY_SLICE):
                        await self._fold(group, taken[start : start + REPLAY_SLICE])
                    group.head = max(group.head, taken[-1].seq if taken else 0)
                    group.behind = max(group.behind, page[-1].seq)
                    if len(taken) < len(page):
                        break
            else:
                for message_id, seq, ts in await self.store.message_keys(group.id):
                    group.behind = max(group.behind, seq)
                    if upto is None or seq <= upto:
                        group.seen.remember(message_id, seq, ts)
                        group.head = max(group.head, seq)
            if group.behind <= group.head:
                group.behind = 0
            group.restored = True
        except StoreError:
            raise
        except Exception as exc:  # a transcript this version cannot replay
            self._quarantine(group.id, exc)
        finally:
            self._restoring.pop(group.id, None)

    async def _fold(self, group: Group, messages: list[StoredMessage]) -> None:
        """Replay one slice on the event loop, then let the loop serve its sockets."""
        async with self._replay_turn:
            for msg in messages:
                group.seen.remember(msg.id, msg.seq, msg.ts)
            group.policy.fold(messages)
            await asyncio.sleep(0)

    def _quarantine(self, group_id: str, cause: BaseException) -> None:
        why = f"{type(cause).__name__}: {cause}"[:500]
        log.error("group %s quarantined: %s", group_id, why)
        self.quarantined[group_id] = why
        self.groups.pop(group_id, None)
        self.timed.discard(group_id)
        for groups in self._groups_of.values():
            groups.discard(group_id)

    async def retry(self, group_id: str) -> Group:
        """Read a quarantined group from the store again (after an operator mended it)."""
        if group_id not in self.quarantined:
            raise UnknownGroup(f"group {group_id!r} is not quarantined")
        record = next((g for g in await self.store.list_groups() if g.id == group_id), None)
        if record is None:
            raise UnknownGroup(f"no group {group_id!r} in the store")
        del self.quarantined[group_id]
        try:
            group = self._add_group(record)
        except Exception as exc:
            self._quarantine(group_id, exc)
            raise GroupQuarantined(self._why(group_id)) from None
        group.restored = False  # `_restore` reads its transcript, and with it its head
        return await self.ready(group)

    def _why(self, group_id: str) -> str:
        return f"group {group_id!r} is quarantined: {self.quarantined[group_id]}"

    # agents
    def _add_agent(self, agent: Agent) -> None:
        self.agents[agent.id] = agent
        self._by_token[agent.token_hash] = agent.id
        self._groups_of.setdefault(agent.id, set())

    async def register(self, card: AgentCard) -> tuple[Agent, str]:
        token = secrets.token_urlsafe(32)
        agent_id = new_agent_id()
        card = card.model_copy(update={"id": agent_id})
        agent = Agent(agent_id, card, hash_token(token), time.time())
        await self.store.add_agent(
            AgentRecord(agent.id, card.model_dump_json(), agent.token_hash, agent.created_at)
        )
        self._add_agent(agent)
        self.notify("agent", agent.id)
        return agent, token

    def authenticate(self, token: str | None) -> Agent:
        agent_id = self._by_token.get(hash_token(token)) if token else None
        if agent_id is None:
            raise Unauthorized()
        return self.agents[agent_id]

    def agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(f"no agent {agent_id!r}") from None

    async def update_card(self, agent_id: str, card: AgentCard) -> Agent:
        agent = self.agent(agent_id)
        card = card.model_copy(update={"id": agent_id})
        await self.store.update_agent_card(agent_id, card.model_dump_json())
        agent.card = card
        agent.embedding = agent.embedding_model = None
        self.notify("agent", agent_id)
        return agent

    async def delete(self, agent_id: str) -> None:
        self.agent(agent_id)
        await self.store.delete_agent(agent_id)
        self._forget(agent_id)
        self.notify("agent", agent_id)

    def _forget(self, agent_id: str) -> None:
        agent = self.agents.pop(agent_id)
        self._by_token.pop(agent.token_hash, None)
        for group_id in self._groups_of.pop(agent_id, set()):
            group = self.groups[group_id]
            group.members = [m for m in group.members if m != agent_id]
            group.member_set = frozenset(group.members)

    async def touch(self, agent_id: str) -> float:
        now = time.time()
        self.agent(agent_id).last_seen = now
        await self.store.touch_agent(agent_id, now)
        self.notify("seen", agent_id)
        return now

    # reading through to a store other hubs write too
    async def find_by_token(self, token: str | None) -> Agent:
        """`authenticate`, reading the store on a miss when other hubs share it."""
        try:
            return self.authenticate(token)
        except Unauthorized:
            if self.shared is None or not token:
                raise
        rec = await self.shared.agent_by_token(hash_token(token))
        if rec is None:
            raise Unauthorized()
        return self._known_agent(rec)

    async def find_agent(self, agent_id: str) -> Agent:
        if agent_id in self.agents or self.shared is None:
            return self.agent(agent_id)
        rec = await self.shared.get_agent(agent_id)
        if rec is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return self._known_agent(rec)

    async def find_group(self, group_id: str) -> Group:
        if group_id in self.groups or self.shared is None:
            return self.group(group_id)
        await self.reload_group(group_id)
        return self.group(group_id)

    def _known_agent(self, rec: AgentRecord) -> Agent:
        """The agent of a row read from the store: the one in memory if another task added it
        meanwhile, else a new entry."""
        if (known := self.agents.get(rec.id)) is not None:
            return known
        agent = stored_agent(rec)
        self._add_agent(agent)
        return agent

    async def reload_agent(self, agent_id: str) -> None:
        """Another hub changed, added or deleted this agent: take the store's row."""
        assert self.shared is not None
        self._take(agent_id, await self.shared.get_agent(agent_id))

    def _take(self, agent_id: str, rec: AgentRecord | None) -> None:
        known = self.agents.get(agent_id)
        if rec is None:
            if known is not None:
                self._forget(agent_id)
            return
        if known is None:
            self._add_agent(stored_agent(rec))
            return
        fresh = stored_agent(rec)
        known.card, known.last_seen = fresh.card, fresh.last_seen
        known.embedding, known.embedding_model = fresh.embedding, fresh.embedding_model

    async def reload_group(self, group_id: str) -> Group | None:
        """A group another hub created; None if it is known already (or not in the store).
        It starts at seq 0: catching up reads its transcript and delivers it to the members
        connected here, who would miss it if it were folded in silently like a restore."""
        assert self.shared is not None
        if group_id in self.groups or group_id in self.quarantined:
            return None
        rec = await self.shared.get_group(group_id)
        if rec is None or group_id in self.groups:
            return None
        try:
            return self._add_group(rec)  # at seq 0: its messages come in by catching up
        except Exception as exc:
            self._quarantine(group_id, exc)
            return None

    async def reload_groups_of(self, agent_id: str) -> None:
        """Every group of the agent known here, whether or not its creation was heard."""
        if self.shared is not None:
            for group_id in await self.shared.group_ids_of(agent_id):
                await self.reload_group(group_id)

    async def refresh(self) -> set[str]:
        """After hearing nothing for a while (a broker outage): every row again. Returns the
        ids of the agents it saw or forgot."""
        assert self.shared is not None
        records = {rec.id: rec for rec in await self.shared.list_agents()}
        gone = [a for a in self.agents if a not in records]
        for agent_id in gone:
            self._forget(agent_id)
        for agent_id, rec in records.items():
            self._take(agent_id, rec)
        for grec in await self.shared.list_groups():
            await self.reload_group(grec.id)
        return set(records) | set(gone)

    # groups
    def _add_group(self, rec: GroupRecord) -> Group:
        meta = json.loads(rec.meta_json)
        policy = make_policy(rec.protocol, rec.id, rec.members, meta, rec.created_at)
        group = Group(
            rec.id,
            rec.name,
            rec.created_by,
            rec.created_at,
            rec.members,
            rec.protocol,
            meta,
            policy,
        )
        self.groups[group.id] = group
        if policy.timed:
            self.timed.add(group.id)
        for member in group.members:
            self._groups_of.setdefault(member, set()).add(group.id)
        return group

    async def create_group(
        self,
        creator: str,
        name: str,
        members: list[str],
        protocol: str,
        meta: dict[str, Any],
        *,
        creator_joins: bool = True,
    ) -> Group:
        ordered = list(dict.fromkeys([creator, *members] if creator_joins else members))
        for member in ordered:
            await self.find_agent(member)
        rec = GroupRecord(
            new_group_id(), name, creator, time.time(), ordered, protocol, json.dumps(meta)
        )
        make_policy(protocol, rec.id, ordered, meta, rec.created_at)  # validate before storing
        await self.store.add_group(rec)
        group = self._add_group(rec)
        self.notify("group", group.id)
        for listener in self.group_listeners:
            listener(group)
        return group

    def group(self, group_id: str) -> Group:
        try:
            return self.groups[group_id]
        except KeyError:
            if group_id in self.quarantined:
                raise GroupQuarantined(self._why(group_id)) from None
            raise UnknownGroup(f"no group {group_id!r}") from None

    def member_group(self, group_id: str, agent_id: str) -> Group:
        group = self.group(group_id)
        if agent_id not in group.member_set:
            raise NotAMember(f"agent {agent_id!r} is not a member of group {group_id!r}")
        return group

    def groups_of(self, agent_id: str) -> list[str]:
        return sorted(self._groups_of.get(agent_id, ()))
