"""Model use in a real headless Chromium: a scripted team's tokens arrive live, to the token, in
the accounting list, the agent's card and the goal's view; a team on real llama.cpp (a tiny
generated GGUF) shows its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from agents.llm_brain import LLMBrain
from agents.runtime import Agent
from ioa.client import HubClient
from ioa.hub import Hub
from ioa.llm import ScriptedEngine, load_engine, write_tiny_gguf
from protocols.usage import add_spends
from tests.agents.test_usage_reports import Thinking, lead_moves
from tests.conftest import card, hub_config
from tests.ioa.hub.dashboard.conftest import artifact
from tests.ioa.hub.dashboard.test_dashboard_browser import open_dashboard


@pytest.fixture
async def hub(db_path: Path) -> AsyncIterator[Hub]:
    """The suite's hub, with a price for local tokens (so costs show)."""
    async with Hub(hub_config(db_path, price_local="0.5/1.5")) as running:
        yield running


async def post_goal(hub: Hub, person: HubClient, roster: list[str], **extra: Any) -> str:
    body = {"goal": "multiply 6 by 7", "roster": roster} | extra
    headers = {"Authorization": f"Bearer {person.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(hub.url + "/v1/goals", json=body, headers=headers) as response,
    ):
        assert response.status == 202, await response.text()
        return str((await response.json())["id"])


async def finished(hub: Hub, goal_id: str, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if hub.goals.goals[goal_id].status != "running":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the goal never ended")


async def counted_goal(hub: Hub, person: HubClient, goal_id: str) -> dict[str, Any]:
    """The goal's account once the tally has read the whole history back."""
    headers = {"Authorization": f"Bearer {person.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(200):
            async with session.get(f"{hub.url}/v1/dashboard/goals/{goal_id}") as response:
                goal: dict[str, Any] = await response.json()
            if goal["history_counted"]:
                return goal
            await asyncio.sleep(0.05)
    raise AssertionError("the tally never caught up")


def n(value: int) -> str:
    return f"{value:,}"


async def test_a_scripted_teams_model_use_shows_per_agent_and_per_goal(
    hub: Hub, person: HubClient, page: Page
) -> None:
    engine = ScriptedEngine(["four words of reply"] * 50)
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=accounting]")
    async with (
        Agent(card("worker", "math"), Thinking(engine, work=lambda job: "42"), hub.url) as worker,
        Agent(card("lead", "planning"), Thinking(engine, moves=lead_moves), hub.url) as lead,
    ):
        goal_id = await post_goal(hub, person, [lead.id, worker.id])
        await finished(hub, goal_id)
        group = hub.goals.goals[goal_id].group_id
        history = await lead.client.history(group)

    lead_spent = engine.stats(lead.id)  # its moves, made with its own name
    work = engine.stats(f"work:{group}")  # the worker's task
    lead_row = page.locator(f'#acc-list [data-agent-id="{lead.id}"]')
    await expect(lead_row.locator(".acc-u0")).to_have_text(n(lead_spent.prompt_tokens))  # live
    await expect(lead_row.locator(".acc-u2")).to_have_text(n(lead_spent.completion_tokens))
    await expect(lead_row.locator(".acc-u4")).to_have_text("100 : 0")  # coordination : work
    await expect(lead_row.locator(".acc-u5")).to_have_text("100 : 0")  # local : cloud
    worker_row = page.locator(f'#acc-list [data-agent-id="{worker.id}"]')
    worker_spent = add_spends(*(e.usage for e in history if e.sender == worker.id and e.usage))
    assert sum(s.calls for s in worker_spent) == work.calls + engine.stats(worker.id).calls
    await expect(worker_row.locator(".acc-u0")).to_have_text(n(sum(s.prompt for s in worker_spent)))
    cost = (lead_spent.prompt_tokens * 0.5 + lead_spent.completion_tokens * 1.5) / 1000
    await expect(lead_row.locator(".acc-u6")).to_have_text(f"{cost:.4f}")
    await expect(page.locator("#acc-prices")).to_contain_text("local 0.5 / 1.5")
    await page.screenshot(path=artifact("accounting.png"))

    await lead_row.click()  # the agent's card, on the network
    total = page.locator('#card .usage-table tr[data-row="total"]')
    await expect(total.locator(".u-prompt")).to_have_text(n(lead_spent.prompt_tokens))
    await expect(total.locator(".u-evaluated")).to_have_text(n(lead_spent.evaluated_prompt_tokens))
    await expect(
        page.locator('#card .usage-table tr[data-row="coordination · local"]')
    ).to_have_count(1)
    await page.screenshot(path=artifact("agent-usage.png"))

    await page.click("#tabs button[data-view=goals]")
    row = page.locator(f'#goal-table tr[data-goal-id="{goal_id}"]')
    everything = add_spends(*(e.usage for e in history if e.usage))
    tokens = sum(s.prompt + s.generated for s in everything)
    assert sum(s.calls for s in everything) == engine.stats().calls  # every call reported
    await expect(row.locator(".goal-tokens")).to_have_text(n(tokens))
    await row.locator(".goal-open").click()
    detail = page.locator("#goal-detail")
    worker_tokens = sum(s.prompt + s.generated for s in worker_spent)
    await expect(detail.locator(f'.goal-agents tr[data-agent-id="{worker.id}"]')).to_contain_text(
        n(worker_tokens)
    )
    await expect(detail.locator('.usage-table tr[data-row="work · local"]')).to_have_count(1)
    await expect(detail.locator('.usage-table tr[data-row="total"] .u-generated')).to_have_text(
        n(sum(s.generated for s in everything))
    )
    await detail.scroll_into_view_if_needed()
    await page.screenshot(path=artifact("goal-usage.png"))


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.mark.llama
async def test_a_team_on_real_llama_cpp_shows_its_tokens(
    hub: Hub, person: HubClient, page: Page, tiny_minicpm: Path
) -> None:
    async with await load_engine(tiny_minicpm, n_ctx=2048, n_threads=1) as engine:
        brain = LLMBrain(engine, text_max=24, work_tokens=12)
        async with (
            Agent(card("alpha", "planning"), brain, hub.url) as alpha,
            Agent(card("beta", "writing"), brain, hub.url) as beta,
        ):
            goal_id = await post_goal(hub, person, [alpha.id, beta.id], max_turns=6)
            await finished(hub, goal_id, timeout=90)
        used = engine.stats()
    assert used.completion_tokens > 0

    await open_dashboard(page, hub, person.token or "")  # read back from the store this time
    goal = await counted_goal(hub, person, goal_id)
    await page.click("#tabs button[data-view=accounting]")
    for agent in goal["agents"]:  # whoever spoke (a team of noise may conclude at once)
        row = page.locator(f'#acc-list [data-agent-id="{agent["id"]}"]')
        await expect(row.locator(".acc-u0")).to_have_text(n(agent["prompt"]))
    total = goal["usage"]["total"]
    assert 0 < total["calls"] <= used.calls
    assert 0 < total["generated"] <= used.completion_tokens
    assert 0 < total["evaluated"] <= total["prompt"]
    assert goal["usage"]["sides"]["cloud"]["calls"] == 0
    await page.click("#tabs button[data-view=goals]")
    row = page.locator(f'#goal-table tr[data-goal-id="{goal_id}"]')
    await expect(row.locator(".goal-tokens")).to_have_text(n(total["tokens"]))
    await row.locator(".goal-open").click()
    await expect(
        page.locator('#goal-detail .usage-table tr[data-row="total"] .u-prompt')
    ).to_have_text(n(total["prompt"]))
    await page.locator("#goal-detail").scroll_into_view_if_needed()
    await page.screenshot(path=artifact("goal-usage-llama.png"))
