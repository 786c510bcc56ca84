"""Durable state of the hub: agents, groups, memberships and messages."""

from ioa.store.base import DuplicateMessage, Store, StoreError
from ioa.store.records import AgentRecord, GoalRecord, GroupRecord, StoredMessage
from ioa.store.sql import SqlStore, normalize_url

__all__ = [
    "AgentRecord",
    "DuplicateMessage",
    "GoalRecord",
    "GroupRecord",
    "SqlStore",
    "Store",
    "StoreError",
    "StoredMessage",
    "normalize_url",
]
