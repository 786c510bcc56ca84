"""The hub as an A2A 1.0 server (JSON-RPC binding): agent cards and tasks that follow IoA
conversations. See `tasks` for how a conversation reads as a task."""

from ioa.hub.a2a.server import A2AServer

__all__ = ["A2AServer"]
