"""What a person sees in the dashboard, in a real headless Chromium watching a real hub."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Page, expect

from ioa.client import HubClient
from ioa.hub import Hub
from protocols import (
    Chat,
    Conclude,
    Conclusion,
    Discussion,
    Envelope,
    SyncTaskAssignment,
    TaskResult,
)
from tests.conftest import AgentFactory, card
from tests.ioa.hub.dashboard.conftest import artifact


async def open_dashboard(page: Page, hub: Hub, token: str) -> None:
    await page.goto(f"{hub.url}/#token={token}")
    await expect(page.locator("#status")).to_have_text("live")


async def test_an_agent_coming_online_appears_in_the_network(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    await open_dashboard(page, hub, person.token or "")
    assert "token" not in page.url  # the token leaves the address bar at once
    coder = await make_agent("coder", "python", connect=False)
    row = page.locator(f'#agent-list [data-agent-id="{coder.agent_id}"]')
    await expect(row).to_have_attribute("data-online", "false")
    await coder.connect()
    await expect(row).to_have_attribute("data-online", "true")
    await expect(row).to_contain_text("coder")
    await row.click()
    await expect(page.locator("#card h3")).to_have_text("coder")
    await page.screenshot(path=artifact("network.png"))


async def test_a_message_appears_in_its_conversation_within_a_second(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], name="pair", protocol="chat")
    await lead.say(group.id, Chat(text="hello coder"), to=[coder.agent_id or ""])
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=conversations]")
    await page.click(f'#group-list [data-group-id="{group.id}"]')
    await expect(page.locator('#transcript [data-seq="1"]')).to_contain_text("hello coder")

    sent = time.monotonic()
    await coder.say(group.id, Chat(text="hello lead"), to=[lead.agent_id or ""])
    second = page.locator('#transcript [data-seq="2"]')
    await expect(second).to_contain_text("hello lead", timeout=1000)
    assert time.monotonic() - sent < 1.0
    await expect(second).to_contain_text("coder → lead")
    await page.screenshot(path=artifact("conversations-chat.png"))


async def test_a_view_shown_later_catches_up_on_what_its_sections_missed(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], name="pair", protocol="chat")
    await open_dashboard(page, hub, person.token or "")  # the network: its ticks carry no heads
    for i in range(3):
        await lead.say(group.id, Chat(text=f"while away {i}"), to=[coder.agent_id or ""])
    edge = page.locator("#net")
    await expect(edge).to_have_attribute("data-nodes", "3")
    await page.wait_for_timeout(600)  # a tick or two go by without the group's head
    await page.click("#tabs button[data-view=conversations]")
    row = page.locator(f'#group-list [data-group-id="{group.id}"]')
    await expect(row).to_contain_text("3 msgs")
    await lead.say(group.id, Chat(text="now watched"), to=[coder.agent_id or ""])
    await expect(row).to_contain_text("4 msgs")  # and the ticks bring the heads from here on


async def ioa_conversation(lead: HubClient, coder: HubClient) -> str:
    """A finished five-message conversation: plan, task, result, conclude, conclusion."""
    lead_id, coder_id = lead.agent_id or "", coder.agent_id or ""
    group = await lead.create_group(
        [coder_id], name="build it", protocol="ioa", meta={"goal": "build it"}
    )
    await lead.say(group.id, Discussion(text="plan: coder writes it"), to=[coder_id])
    await coder.say(
        group.id,
        SyncTaskAssignment(task_id="t1", title="write", description="write it"),
        to=[lead_id],
    )
    await lead.say(group.id, TaskResult(task_id="t1", result="done: 42"))
    await coder.say(group.id, Conclude(text="enough"))
    await coder.say(group.id, Conclusion(text="the answer is 42"))
    return group.id


async def test_a_refusal_is_shown_with_its_code(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], name="turns", protocol="ioa")
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=conversations]")
    await page.click(f'#group-list [data-group-id="{group.id}"]')
    await expect(page.locator(".conv-head .phase")).to_have_text("phase: open")
    await expect(page.locator(".conv-head .turn")).to_contain_text("lead")

    early = Envelope(
        group=group.id, sender=coder.agent_id or "", payload=Discussion(text="me first")
    )
    await coder._transmit(early)  # sent as is: the hub refuses it (not coder's turn)
    code = page.locator('.conv-head .code[data-code="not_your_turn"]')
    await expect(code).to_have_text("not_your_turn × 1")
    refused = page.locator(f'#group-list [data-group-id="{group.id}"] .refused')
    await expect(refused).to_have_text("1 refused")
    await page.screenshot(path=artifact("conversations-refusal.png"))
    await page.click("#tabs button[data-view=events]")
    await expect(page.locator('#event-list .refusal[data-code="not_your_turn"]')).to_have_count(1)
    await page.screenshot(path=artifact("events.png"))


async def test_replay_shows_message_n_and_the_state_at_n(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group_id = await ioa_conversation(lead, coder)
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=conversations]")
    await page.click(f'#group-list [data-group-id="{group_id}"]')
    await expect(page.locator(".conv-head .phase")).to_have_text("phase: concluded")
    await expect(page.locator("#conv-tasks")).to_contain_text("done: 42")
    await page.screenshot(path=artifact("conversations.png"))
    await page.click("#tabs button[data-view=replay]")
    await page.select_option("#replay-group", group_id)
    message, state = page.locator("#replay-message"), page.locator("#replay-state")
    await expect(message).to_have_attribute("data-seq", "1")
    await expect(message).to_contain_text("#1 discussion")

    await page.click("#replay-next")
    await expect(message).to_have_attribute("data-seq", "2")
    await expect(message).to_contain_text("#2 sync_task_assign from coder to lead")
    await expect(state.locator(".replay-state")).to_have_attribute("data-phase", "awaiting")
    await expect(state).to_contain_text("pending")
    await page.screenshot(path=artifact("replay.png"))

    await page.fill("#replay-seq", "3")
    await page.dispatch_event("#replay-seq", "change")
    await expect(message).to_contain_text("#3 task_result")
    await expect(state.locator(".replay-state")).to_have_attribute("data-phase", "open")
    await expect(state).to_contain_text("done: 42")

    await page.click("#replay-play")  # plays to the end at 4 messages a second
    await expect(message).to_contain_text("#5 conclusion", timeout=5000)
    await expect(state.locator(".replay-state")).to_have_attribute("data-phase", "concluded")


async def test_posting_a_goal_from_the_page_starts_a_conversation(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead = await make_agent("lead")
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=goals]")
    await page.fill("#goal-text", "count the primes below 20")
    await page.check("input[name=team][value=roster]")
    await page.fill("#goal-roster", "lead")
    await page.click("#goal-form button[type=submit]")
    row = page.locator("#goal-table tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "running")
    (goal,) = hub.goals.goals.values()
    assert goal.text == "count the primes below 20"
    assert goal.creator == person.agent_id
    group = hub.state.registry.groups[goal.group_id]
    assert group.members == [lead.agent_id]

    await row.locator(".goal-group").click()
    await expect(page.locator(".conv-head .turn")).to_contain_text("lead")
    await page.screenshot(path=artifact("goals.png"))
    await lead.say(goal.group_id, Conclude(text="done"))
    await lead.say(goal.group_id, Conclusion(text="8 primes"))
    await page.click("#tabs button[data-view=goals]")
    await expect(row).to_have_attribute("data-status", "done")
    await expect(row).to_contain_text("8 primes")


async def test_a_page_without_a_token_sees_nothing_and_an_agent_token_is_refused(
    hub: Hub, make_agent: AgentFactory, page: Page
) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    coder = await make_agent("coder")
    await page.goto(hub.url + "/")
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#main")).to_be_hidden()
    assert not [url for url in asked if "/v1/" in url]
    assert "coder" not in await page.content()

    await page.fill("#token", coder.token or "")
    await page.click("#signin-form button")
    await expect(page.locator("#signin-error")).to_contain_text("forbidden")
    await expect(page.locator("#main")).to_be_hidden()
    assert "coder" not in await page.locator("body").inner_text()
    await page.screenshot(path=artifact("signin-refused.png"))


async def test_a_thousand_agents_and_a_long_transcript_keep_the_page_small(
    hub: Hub, person: HubClient, page: Page
) -> None:
    registry, router = hub.state.registry, hub.state.router
    agents = [(await registry.register(card(f"agent-{i:04d}")))[0] for i in range(1000)]
    talker, listener = agents[0].id, agents[1].id
    group = await registry.create_group(talker, "long talk", [listener], "chat", {})
    said = [Chat(text=f"m{n}") for n in range(10_000)]
    await asyncio.gather(
        *(router.submit(talker, Envelope(group=group.id, sender=talker, payload=p)) for p in said)
    )
    await open_dashboard(page, hub, person.token or "")
    await expect(page.locator("#net")).to_have_attribute("data-nodes", "1001")
    rows = await page.locator("#agent-list .row-item").count()
    assert 10 < rows < 100  # virtualised: only the rows in view exist
    await page.screenshot(path=artifact("network-1000.png"))

    await page.click("#tabs button[data-view=conversations]")
    await page.click(f'#group-list [data-group-id="{group.id}"]')
    last = (await hub.store.messages_after(group.id, 9999, 1))[0]
    text = Envelope.model_validate_json(last.body).payload.text  # type: ignore[union-attr]
    await expect(page.locator('#transcript [data-seq="10000"]')).to_contain_text(text)
    assert await page.locator("#transcript .row-item").count() < 100
    await page.click("text=load earlier")
    await expect(page.locator(".conv-head button")).to_contain_text("9600 more")


async def test_a_persons_button_press_becomes_a_legal_move_in_the_transcript(
    hub: Hub, person: HubClient, make_agent: AgentFactory, page: Page
) -> None:
    lead = await make_agent("lead")
    me = person.agent_id or ""
    group = await lead.create_group([me], name="with ada", protocol="ioa")
    await open_dashboard(page, hub, person.token or "")
    await page.click("#tabs button[data-view=conversations]")
    await page.click(f'#group-list [data-group-id="{group.id}"]')
    await expect(page.locator("#seat")).to_contain_text("no move for you now")

    await lead.say(group.id, Discussion(text="your turn, ada"), to=[me])
    button = page.locator('#seat button[data-move="discussion"]')
    await expect(button).to_be_visible()
    await button.click()
    await page.fill('#seat-form [name="text"]', "the plan is fine")
    await page.screenshot(path=artifact("step-in.png"))
    await page.click("#seat-send")
    second = page.locator('#transcript [data-seq="2"]')
    await expect(second).to_contain_text("the plan is fine")
    await expect(second).to_contain_text("ada → lead")
    await expect(page.locator("#seat")).to_contain_text("no move for you now")
    (stored,) = await hub.store.messages_after(group.id, 1, 10)
    assert (stored.sender, stored.type) == (me, "discussion")
