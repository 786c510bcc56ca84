"""The Runs view in a real headless Chromium, on result folders written by real `ioa bench roco`
and `ioa lab` commands: tables, a chart drawn by the page, the runs' own plots, transcripts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from ioa.client import HubClient
from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.hub.dashboard.conftest import artifact
from tests.ioa.hub.dashboard.test_dashboard_browser import open_dashboard


@pytest.fixture
async def hub(db_path: Path, bench_runs: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path, runs=[bench_runs])) as running:
        yield running


async def test_a_roco_bench_shows_its_table_a_chart_its_plot_and_each_transcript(
    hub: Hub, person: HubClient, page: Page, bench_runs: Path
) -> None:
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=runs]")
    await expect(page.locator("#runs-roots")).to_contain_text(str(bench_runs))
    await page.click('#run-list [data-run-path="roco/20250101-120000"]')
    detail = page.locator("#run-detail")
    await expect(detail.locator("h3")).to_contain_text("roco/20250101-120000")
    await expect(detail.locator(".run-summary")).to_contain_text("symbolic RoCoBench-style")
    table = detail.locator('table.run-table[data-table="summaries"]')
    await expect(table.locator("tbody tr")).to_have_count(4)  # 2 tasks × oracle, random

    bars = detail.locator("svg.plot rect.bar")  # success by task, split by mode
    await expect(bars).to_have_count(4)
    oracle = detail.locator('svg.plot rect.bar[data-x="sort"][data-series="oracle"]')
    await expect(oracle).to_have_attribute("data-value", "1")
    random = detail.locator('svg.plot rect.bar[data-x="sort"][data-series="random"]')
    await expect(random).to_have_attribute("data-value", "0")
    await page.screenshot(path=artifact("runs-roco.png"))
    await page.select_option("#run-detail select.plot-y", "steps")
    await expect(oracle).to_have_attribute("data-value", "5")  # the oracle sorts in 5 steps

    png = detail.locator('img.run-png[data-name="results.png"]')
    await expect(png).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert await png.evaluate("img => img.naturalWidth") > 100

    await detail.locator('.transcript-link[data-name="sort-oracle-seed0"]').click()
    shown = detail.locator("#run-transcript")
    await expect(shown).to_have_attribute("data-name", "sort-oracle-seed0")
    await expect(shown.locator("pre")).to_contain_text("=== SUCCESS")
    await page.screenshot(path=artifact("runs-roco-transcript.png"))


async def test_a_lab_runs_cells_link_to_their_transcripts(
    hub: Hub, person: HubClient, page: Page
) -> None:
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=runs]")
    await page.click('#run-list [data-run-path="lab/tiny"]')
    detail = page.locator("#run-detail")
    await expect(detail.locator(".run-pngs img")).to_have_count(2)
    await page.select_option("#run-table-pick", index=1)  # rows, then cells
    cells = detail.locator('table.run-table[data-table="cells"]')
    await expect(cells.locator("tbody tr")).to_have_count(4)
    goal_cell = cells.locator("tbody tr", has_text="goals.add.oracle")
    await goal_cell.locator("a.row-transcript").click()
    shown = detail.locator("#run-transcript")
    await expect(shown.locator("pre")).to_contain_text("goal: Add 17 and 25")
    await shown.scroll_into_view_if_needed()
    await page.screenshot(path=artifact("runs-lab-transcript.png"))
