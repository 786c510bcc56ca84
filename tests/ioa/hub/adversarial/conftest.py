"""Fixtures of the attack suite: a real hub with a small frame limit and a cast of agents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.wire import Agent, create_group, register

LIMIT = 4096
"""`max_frame_bytes` of the small hub: attacks over it stay cheap to build and to send."""


@dataclass(frozen=True)
class Scene:
    """alice and bob share a chat group; mallory is registered but a member of nothing."""

    hub: Hub
    alice: Agent
    bob: Agent
    mallory: Agent
    group: str


async def make_scene(hub: Hub) -> Scene:
    alice, bob, mallory = [await register(hub, n) for n in ("alice", "bob", "mallory")]
    group = await create_group(hub, alice, [bob])
    return Scene(hub, alice, bob, mallory, group)


@pytest.fixture
async def small_hub(db_path: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path, max_frame_bytes=LIMIT)) as hub:
        yield hub


@pytest.fixture
async def scene(small_hub: Hub) -> Scene:
    """The cast on a hub whose frame limit is `LIMIT` bytes."""
    return await make_scene(small_hub)


@pytest.fixture
async def wide_scene(hub: Hub) -> Scene:
    """The cast on a hub with the default frame limit (256 KiB), for big pathological JSON."""
    return await make_scene(hub)
