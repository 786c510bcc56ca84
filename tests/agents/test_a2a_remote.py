"""A remote A2A agent as a team member: a real a2a-sdk server (`tests/agents/a2a_server.py`) on
a loopback port, bridged by `A2ABrain` into a real hub's conversations."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from a2a.server.routes import create_agent_card_routes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agents.a2a_remote import (
    A2ABrain,
    A2ARemote,
    A2ARemoteInvalid,
    A2ARemoteUnavailable,
    a2a_card,
)
from agents.brain import Job, ScriptedBrain, Turn
from agents.runtime import Agent
from ioa.client import HubClient
from ioa.hub import Hub
from tests.agents import a2a_server
from tests.agents.a2a_server import Seen, agent_card, serve, serve_app
from tests.agents.scripts import delegate_then_conclude
from tests.conftest import card

ROOT = Path(a2a_server.__file__).parents[2]


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture(params=["streaming", "polling"])
async def remote_url(request: pytest.FixtureRequest, seen: Seen) -> AsyncIterator[str]:
    async with serve(seen, streaming=request.param == "streaming") as url:
        yield url


def job(description: str, task_id: str = "t1") -> Job:
    return Job(
        group="g", task_id=task_id, title="", description=description, goal="", assigner="lead",
        depth=0,
    )  # fmt: skip


def talk_then_task(turn: Turn) -> dict[str, Any]:
    """A lead that speaks to the Translator, then hands it a task, then concludes."""
    remote = next(m for m, name in turn.names.items() if name == "Translator")
    heard = [line for line in turn.transcript if line.sender == "Translator"]
    tasks = turn.state.tasks
    if "conclusion" in turn.legal.types:
        last = tasks[0].result if tasks else (heard[-1].text if heard else "")
        return {"type": "conclusion", "text": last}
    if not heard and not tasks:
        return {"type": "discussion", "text": f"bonjour? {turn.goal}", "next_speaker": remote}
    if not tasks and "[" not in turn.goal:
        return {
            "type": "sync_task_assign",
            "assignees": [remote],
            "title": "translate",
            "description": "translate goodbye",
        }
    return {"type": "conclude", "text": ""}


async def test_the_card_is_derived_from_the_remote_agent_card(remote_url: str) -> None:
    async with A2ARemote(f"{remote_url}/.well-known/agent-card.json") as remote:
        made = a2a_card(remote.card, url=remote_url)
    assert made.name == "Translator"
    assert made.kind == "remote"
    assert made.version == "2.1.0"
    assert made.description.endswith(f"(an A2A agent at {remote_url})")
    (skill,) = made.skills
    assert skill.name == "translate"
    assert skill.tags == ["translation", "french", "a2a"]
    assert "Examples: translate hello" in skill.description


async def test_turns_and_tasks_reach_the_remote_in_one_context_per_conversation(
    hub: Hub, remote_url: str, seen: Seen
) -> None:
    async with A2ARemote(remote_url, timeout=20) as remote:
        brain = A2ABrain(remote)
        async with (
            Agent(a2a_card(remote.card, url=remote_url), brain, hub.url) as member,
            Agent(card("lead"), ScriptedBrain(talk_then_task), hub.url) as lead,
        ):
            group = await lead.launch("say hello in French", roster=[member.id])
            said = await lead.conclusion(group, timeout=30)
            assert (lead.rejections, member.rejections) == (0, 0)
    assert said == "heard #2: translate goodbye"  # the task came second in the same context
    (turn_context, _, turn_text), (task_context, _, task_text) = seen.messages
    assert turn_context == task_context == brain.context_of(group)
    assert "working on this goal:\nsay hello in French" in turn_text
    assert "lead (to Translator): bonjour? say hello in French" in turn_text
    assert turn_text.endswith("It is your turn: answer with what you say to the team.")
    assert task_text == "A task for you from lead (translate):\ntranslate goodbye"


async def test_a_data_part_shaped_like_a_legal_move_is_that_move(hub: Hub, remote_url: str) -> None:
    async with (
        A2ARemote(remote_url, timeout=20) as remote,
        Agent(a2a_card(remote.card, url=remote_url), A2ABrain(remote), hub.url) as member,
        Agent(card("lead"), ScriptedBrain(talk_then_task), hub.url) as lead,
    ):
        group = await lead.launch("[move]", roster=[member.id])
        said = await lead.conclusion(group, timeout=30)
        transcript = await lead.client.history(group)
    kinds = [(m.payload.type, getattr(m.payload, "text", "")) for m in transcript]
    assert ("conclude", "the remote closes the discussion") in kinds
    assert said.startswith("heard #2: The team has concluded")  # the conclusion it owed


@pytest.mark.parametrize(
    ("goal", "sentence"),
    [
        ("[fail]", "failed the task: I cannot do that"),
        ("[reject]", "rejected the task: not my job"),
        ("[empty]", "answered with no words"),
        ("[slow]", "did not finish within 1 s (its task was working)"),
    ],
)
async def test_a_failing_remote_fails_its_task_with_a_sentence_and_the_team_goes_on(
    hub: Hub, remote_url: str, seen: Seen, goal: str, sentence: str
) -> None:
    async with (
        A2ARemote(remote_url, timeout=1) as remote,
        Agent(a2a_card(remote.card, url=remote_url), A2ABrain(remote), hub.url) as member,
        Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
    ):
        group = await lead.launch(goal, roster=[member.id])
        said = await lead.conclusion(group, timeout=30)
        assert said == f"failed: the remote A2A agent Translator {sentence}"
        group = await lead.launch("hello", roster=[member.id])
        assert await lead.conclusion(group, timeout=30) == "heard #1: hello"
        assert (lead.rejections, member.rejections) == (0, 0)
    if goal == "[slow]":
        assert len(seen.canceled) == 1  # the task we stopped waiting for was canceled


async def test_at_its_turn_a_failing_remote_makes_a_legal_move_that_says_why(
    hub: Hub, remote_url: str
) -> None:
    async with (
        A2ARemote(remote_url, timeout=20) as remote,
        Agent(a2a_card(remote.card, url=remote_url), A2ABrain(remote), hub.url) as member,
        Agent(card("lead"), ScriptedBrain(talk_then_task), hub.url) as lead,
    ):
        group = await lead.launch("[fail]", roster=[member.id])
        said = await lead.conclusion(group, timeout=30)
        assert (lead.rejections, member.rejections) == (0, 0)
    assert said == (
        "I have no answer this turn: the remote A2A agent Translator failed the task: "
        "I cannot do that."
    )


async def test_a_task_that_asks_for_input_is_continued_by_the_next_message(
    remote_url: str, seen: Seen
) -> None:
    async with A2ARemote(remote_url, timeout=20) as remote:
        brain = A2ABrain(remote)
        assert await brain.work(job("[ask] a table for two")) == "Which city?"
        assert await brain.work(job("Paris", task_id="t2")) == "Booked for Paris"
        assert await brain.work(job("hello", task_id="t3")) == "heard #3: hello"
    first, second, third = seen.messages
    assert first[0] == second[0] == third[0]
    assert first[1] == second[1] != third[1]


async def test_streamed_artifact_chunks_are_joined(seen: Seen) -> None:
    async with serve(seen) as url, A2ARemote(url, timeout=20) as remote:
        assert await A2ABrain(remote).work(job("[chunks]")) == "one two three"


async def test_a_remote_that_answers_garbage_is_a_clear_error() -> None:
    async def garbage(request: Request) -> PlainTextResponse:
        return PlainTextResponse("<html>not JSON-RPC</html>")

    def make(url: str) -> Starlette:
        routes = create_agent_card_routes(agent_card(url, streaming=False))
        return Starlette(routes=[*routes, Route("/", garbage, methods=["POST"])])

    async with serve_app(make) as url, A2ARemote(url, timeout=5) as remote:
        with pytest.raises(A2ARemoteInvalid, match="Translator answered something unreadable"):
            await remote.ask("hello")


async def test_a_remote_killed_mid_task_fails_that_task_and_is_used_again_once_back(
    hub: Hub,
) -> None:
    process, port = await _start_process(0)
    url = f"http://127.0.0.1:{port}"
    try:
        async with (
            A2ARemote(url, timeout=30) as remote,
            Agent(a2a_card(remote.card, url=url), A2ABrain(remote), hub.url) as member,
            Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
        ):
            group = await lead.launch("[slow]", roster=[member.id])
            await asyncio.sleep(1.5)  # the task is working at the remote
            process.kill()
            await process.wait()
            said = await lead.conclusion(group, timeout=30)
            assert said.startswith("failed: the remote A2A agent Translator could not be reached")
            process, _ = await _start_process(port)
            group = await lead.launch("hello", roster=[member.id])
            assert await lead.conclusion(group, timeout=30) == "heard #1: hello"
            assert (lead.rejections, member.rejections) == (0, 0)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_an_agent_behind_a_hubs_a2a_server_is_a_member_over_a2a_too(hub: Hub) -> None:
    def echo(turn: Turn) -> dict[str, Any]:
        if "conclusion" in turn.legal.types:
            return {"type": "conclusion", "text": f"echo: {turn.goal.splitlines()[-1]}"}
        return {"type": "conclude", "text": ""}

    async with (
        HubClient(hub.url) as caller,
        Agent(card("Echo", "echo"), ScriptedBrain(echo), hub.url) as inner,
    ):
        await caller.register(card("caller"))
        url = f"{hub.url}/a2a/agents/{inner.id}"
        async with (
            A2ARemote(url, timeout=20, token=caller.token) as remote,
            Agent(a2a_card(remote.card, url=url), A2ABrain(remote), hub.url) as member,
            Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
        ):
            group = await lead.launch("say something", roster=[member.id])
            assert await lead.conclusion(group, timeout=30) == "echo: say something"
            assert member.card.skills[0].tags == ["echo", "a2a"]


async def test_a_url_that_does_not_answer_is_a_clear_error() -> None:
    with pytest.raises(
        A2ARemoteUnavailable, match=re.escape("no A2A agent card at http://127.0.0.1:9")
    ):
        async with A2ARemote("http://127.0.0.1:9"):
            pass
    with pytest.raises(A2ARemoteUnavailable, match="needs an http"):
        A2ARemote("ftp://example")


async def test_ioa_agent_a2a_runs_the_remote_as_a_member_process(
    hub: Hub, remote_url: str, tmp_path: Path
) -> None:
    from tests.ioa.commands.cli_kit import IOA, ioa_env

    process = await asyncio.create_subprocess_exec(
        *IOA, "agent", "--a2a", remote_url, "--hub", hub.url, "--state", str(tmp_path / "state"),
        env=ioa_env(tmp_path / "home"), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        assert started["name"] == "Translator"
        async with Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead:
            group = await lead.launch("bonjour", roster=[started["agent_id"]])
            assert await lead.conclusion(group, timeout=30) == "heard #1: bonjour"
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--a2a", "http://127.0.0.1:9"], "no A2A agent card at http://127.0.0.1:9"),
        (["--a2a", "localhost:9"], "--a2a needs an http(s) URL"),
        (["--a2a", "http://127.0.0.1:9", "--a2a-token-env", "IOA_NO_SUCH"], "is not set"),
    ],
)
def test_ioa_agent_a2a_bad_input_is_a_clear_error(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    from tests.ioa.commands.cli_kit import ioa

    done = ioa("agent", *argv, "--hub", "http://127.0.0.1:9", home=tmp_path / "home")
    assert done.returncode != 0
    assert message in done.stderr.splitlines()[-1]


async def _start_process(port: int) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.agents.a2a_server", str(port), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    return process, int(line.decode().split()[1])
