"""Where an agent keeps itself across restarts: its credentials and its checkpoints.

Both live under `AgentOptions.state_dir`; without one, the agent registers anew each time and
checkpoints in memory only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from ioa.client import HubClient
from protocols import AgentCard

CHECKPOINT_BUSY_TIMEOUT = 30.0
"""Seconds a checkpoint write waits for another connection's lock (e.g. a previous instance's)."""


async def credentials(
    client: HubClient,
    card: AgentCard,
    state_dir: Path | None,
    registration_token: str | None = None,
) -> None:
    """Reuse the id and token saved under `state_dir`, or register `card` (with the hub's
    `registration_token`, if it needs one) and save them."""
    path = state_dir / "credentials.json" if state_dir else None
    if client.token is None and path is not None and path.exists():
        saved = json.loads(path.read_text())
        client.token, client.agent_id = saved["token"], saved["agent_id"]
    if client.token is None:
        await client.register(card, registration_token)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"agent_id": client.agent_id, "token": client.token}))
            path.chmod(0o600)


async def open_saver(
    state_dir: Path | None,
) -> tuple[BaseCheckpointSaver[Any], aiosqlite.Connection | None]:
    """The checkpointer, and the SQLite connection to close at the end (None in memory)."""
    if state_dir is None:
        return InMemorySaver(), None
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    # Autocommit: stopping cancels the graph, but LangGraph's background checkpoint writes
    # may still run after that. In a transaction, one of them left between its INSERT and
    # COMMIT would keep the write lock past close() and block the next instance forever.
    conn = await aiosqlite.connect(
        _checkpoint_file(state_dir), timeout=CHECKPOINT_BUSY_TIMEOUT, isolation_level=None
    )
    return AsyncSqliteSaver(conn), conn


def _checkpoint_file(state_dir: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    return state_dir / "checkpoints.db"
