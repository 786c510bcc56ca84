"""A real hub, people and agents registered on it, and a headless Debian Chromium to watch it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


ROOT = Path(__file__).resolve().parents[4]
TINY_LAB = """\
name: tiny
tasks: [roco:sort, goals:add]
protocols: [ioa]
topologies: [complete]
models: [none]
baselines: [oracle, random]
seeds: 1
budgets: {max_turns: 3, max_steps: 2, attempts: 1, timeout: 60}
jobs: 1
"""


def _ioa(*argv: str | Path) -> None:
    """`ioa ...` as a user runs it, from the project's folder."""
    done = subprocess.run(
        [sys.executable, "-m", "ioa.cli", *map(str, argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1].startswith("RESULT ")


@pytest.fixture(scope="session")
def bench_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder filled by real commands, once per session: `ioa bench roco` (the model-free
    oracle and random teams, two tasks) and `ioa lab` (a model-free grid over RoCo and a goal),
    each where it writes by default (`runs/roco/<time>`, `runs/lab/<name>`)."""
    runs = tmp_path_factory.mktemp("results") / "runs"
    _ioa("bench", "roco", "--modes", "oracle", "random", "--runs", "1", "--tasks", "sort",
         "cabinet", "--out", runs / "roco" / "20250101-120000")  # fmt: skip
    experiment = runs.parent / "tiny.yaml"
    experiment.write_text(TINY_LAB)
    _ioa("lab", experiment, "--out", runs / "lab" / "tiny")
    return runs
