"""A hub for one command's own use: loopback only, a free port, the database the command names.

`ioa run`, `ioa demo`, `ioa company` and the benchmarks start one; the agents' code never starts
a hub itself, it is handed the address (`agents/` reaches a hub only through the client).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["local_hub"]


@contextlib.asynccontextmanager
async def local_hub(database: Path | str) -> AsyncIterator[str]:
    """Run a hub on 127.0.0.1 (a free port) over `database` for the block; yield its URL."""
    from ioa.config import HubConfig
    from ioa.hub import Hub

    config = HubConfig(host="127.0.0.1", port=0, database_url=str(database))
    async with Hub(config) as hub:
        yield hub.url
