"""The `Store` contract: the hub's only way to persist anything.

Implementations must be safe to call from one event loop (the hub's), must make
`append_messages` atomic (all of the batch or none of it), and must raise `StoreError`
subclasses, never driver exceptions. `SqlStore` is the implementation (SQLite file or PostgreSQL).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from typing import Self

from ioa.errors import IoAError
from ioa.lifecycle import Service
from ioa.store.records import AgentRecord, GoalRecord, GroupRecord, StoredMessage


class StoreError(IoAError):
    code = "store_error"
    default_message = "the store failed"


class DuplicateMessage(StoreError):
    code = "duplicate_message"
    default_message = "a message with this id is already stored in this group"


class Store(Service):
    @abc.abstractmethod
    async def start(self) -> Self:
        """Connect and create missing tables; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def stop(self) -> None:
        await self.close()

    # agents
    @abc.abstractmethod
    async def add_agent(self, agent: AgentRecord) -> None: ...

    @abc.abstractmethod
    async def update_agent_card(self, agent_id: str, card_json: str) -> None: ...

    @abc.abstractmethod
    async def set_agent_embedding(
        self, agent_id: str, model: str, embedding: bytes, card_json: str
    ) -> bool:
        """Store the vector of the card `card_json`; False (nothing written) if the agent's card
        changed meanwhile, so a slow embedding never pins a stale vector to a newer card."""

    @abc.abstractmethod
    async def touch_agent(self, agent_id: str, last_seen: float) -> None: ...

    @abc.abstractmethod
    async def delete_agent(self, agent_id: str) -> None:
        """Remove the agent and its memberships; its messages stay in the transcripts."""

    @abc.abstractmethod
    async def list_agents(self) -> list[AgentRecord]: ...

    # groups
    @abc.abstractmethod
    async def add_group(self, group: GroupRecord) -> None: ...

    @abc.abstractmethod
    async def list_groups(self) -> list[GroupRecord]: ...

    # goals
    @abc.abstractmethod
    async def add_goal(self, goal: GoalRecord) -> None: ...

    @abc.abstractmethod
    async def update_goal(
        self, goal_id: str, status: str, conclusion: str | None, updated_at: float
    ) -> None: ...

    @abc.abstractmethod
    async def list_goals(self) -> list[GoalRecord]: ...

    # messages
    @abc.abstractmethod
    async def append_messages(self, messages: Sequence[StoredMessage]) -> None:
        """Store a batch in one transaction; raise `DuplicateMessage` if any (group, id) exists."""

    @abc.abstractmethod
    async def messages_after(
        self, group_id: str, after: int, limit: int = 1000
    ) -> list[StoredMessage]:
        """Messages of a group with seq > after, in seq order, at most `limit`."""

    async def message_pages(
        self, group_id: str, after: int = 0, limit: int = 1000
    ) -> AsyncIterator[list[StoredMessage]]:
        """`messages_after` page by page, in seq order, up to the newest message."""
        while page := await self.messages_after(group_id, after, limit):
            yield page
            after = page[-1].seq

    @abc.abstractmethod
    async def group_heads(self) -> dict[str, int]:
        """The highest stored seq of every group that has messages."""

    @abc.abstractmethod
    async def find_message(self, group_id: str, message_id: str) -> StoredMessage | None: ...

    @abc.abstractmethod
    async def message_keys(self, group_id: str) -> list[tuple[str, int, float]]:
        """Every (id, seq, ts) of a group in seq order, without bodies: what the hub needs at
        start to recognise any resent id."""
