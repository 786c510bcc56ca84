"""A real hub, people and agents registered on it, and a headless Debian Chromium to watch it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from protocols import AgentCard

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(os.environ.get("IOA_TEST_ARTIFACTS") or tempfile.gettempdir(), "ioa-artifacts")
HAVE_CHROMIUM = shutil.which("chromium") is not None or os.path.exists(CHROMIUM)


def artifact(name: str) -> Path:
    """Where a test saves a screenshot for people to look at."""
    folder = ARTIFACTS / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture
async def person(hub: Hub) -> AsyncIterator[HubClient]:
    """A person registered as `ioa login` does: a card of kind human; not connected."""
    async with HubClient(hub.url) as client:
        await client.register(AgentCard(name="ada", kind="human", description="a person"))
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("no Chromium: apt-get install chromium (.ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"the page threw: {errors}"
