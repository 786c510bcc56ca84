"""Edge–cloud cascade: a local engine first, a real OpenAI-compatible "cloud" on loopback
(`llama_cpp.server` on a tiny GGUF) when the policy says so, and local again when it is down."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.brain import ScriptedBrain, Turn
from agents.cascade import CascadeBrain, hard_terms
from agents.runtime import Agent
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine, ScriptedEngine, StructuredOutputError, write_tiny_gguf
from ioa.llm.cascade import CascadeEngine, EscalationPolicy, escalation_scope
from ioa.llm.llamacpp import load_engine
from ioa.llm.remote import Endpoint, RemoteEngine
from protocols import AgentCard, Skill
from tests.conftest import card
from tests.ioa.llm.openai_server import OpenAIServer, free_port, openai_server

pytestmark = pytest.mark.llama

MOVE = {
    "type": "object",
    "properties": {"type": {"enum": ["pass", "speak"]}, "text": {"type": "string"}},
    "required": ["type", "text"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "your move"}]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
def cloud(tmp_path: Path, tiny: Path) -> Iterator[OpenAIServer]:
    with openai_server(tiny, tmp_path / "cloud.log") as server:
        yield server


@pytest.fixture
async def local(tiny: Path) -> AsyncIterator[LlamaCppEngine]:
    async with await load_engine(tiny, n_ctx=2048, n_threads=1) as loaded:
        yield loaded


def remote_at(url: str, **settings: Any) -> RemoteEngine:
    return RemoteEngine(Endpoint(model="tiny-cloud", base_url=url, **settings))


def garbage() -> ScriptedEngine:
    """A local model whose every reply is invalid JSON."""
    return ScriptedEngine(["not json"] * 40)


async def test_an_invalid_local_reply_is_escalated_and_accounted_apart(
    cloud: OpenAIServer,
) -> None:
    async with remote_at(cloud.url, price_in=3.0, price_out=5.0) as remote:
        cascade = CascadeEngine(garbage(), remote)
        with escalation_scope("goal-1"):
            value, _ = await cascade.structured(ASK, agent="a", schema=MOVE, temperature=0.0)
        assert value["type"] in ("pass", "speak")
        assert [(e.reason, e.outcome, e.goal) for e in cascade.escalations] == [
            ("invalid", "remote", "goal-1")
        ]
        split = cascade.split("a")
        assert split.local.calls == 2  # the reply and its repair
        assert split.local.cost == 0
        assert split.remote.calls == 1
        assert split.remote.cost > 0
        assert cascade.stats("a").calls == 3


async def test_a_low_likelihood_margin_asks_the_remote_to_choose(
    cloud: OpenAIServer, local: LlamaCppEngine
) -> None:
    options = ["pass the turn", "assign the task"]
    async with remote_at(cloud.url) as remote:
        never = CascadeEngine(local, remote, EscalationPolicy(min_margin=None))
        await never.choose(ASK, options, agent="a")
        assert never.escalations == []
        always = CascadeEngine(local, remote, EscalationPolicy(min_margin=math.inf))
        choice = await always.choose(ASK, options, agent="a")
        assert choice.text in options
        assert [(e.reason, e.outcome) for e in always.escalations] == [("margin", "remote")]


async def test_the_goal_budget_keeps_further_calls_local(cloud: OpenAIServer) -> None:
    async with remote_at(cloud.url) as remote:
        cascade = CascadeEngine(garbage(), remote, EscalationPolicy(budget_tokens=1))
        with escalation_scope("goal-1"):
            await cascade.structured(ASK, agent="a", schema=MOVE)
            with pytest.raises(StructuredOutputError):  # the local error: no fallback here
                await cascade.structured(ASK, agent="a", schema=MOVE)
        with escalation_scope("goal-2"):  # another goal has its own budget
            await cascade.structured(ASK, agent="a", schema=MOVE)
    outcomes = [(e.goal, e.outcome) for e in cascade.escalations]
    assert outcomes == [("goal-1", "remote"), ("goal-1", "over_budget"), ("goal-2", "remote")]


async def test_a_remote_that_is_down_or_answers_garbage_leaves_the_call_local(
    local: LlamaCppEngine,
) -> None:
    down = remote_at(f"http://127.0.0.1:{free_port()}/v1")
    async with down:
        cascade = CascadeEngine(local, down)
        with escalation_scope("g", hard=True):
            completion = await cascade.chat(ASK, agent="a", max_tokens=4)
            await cascade.chat(ASK, agent="a", max_tokens=4)
    assert completion.completion_tokens > 0  # answered by the local model
    assert [e.outcome for e in cascade.escalations] == ["remote_down", "remote_down"]
    assert "Cannot connect" in cascade.escalations[0].detail
    assert cascade.escalations[1].detail == ""  # not asked again while it is down
    assert cascade.split("a").remote.calls == 0


async def test_a_hard_goal_goes_remote_first_and_stays_local_when_the_cloud_dies_mid_goal(
    hub: Hub, cloud: OpenAIServer, local: LlamaCppEngine
) -> None:
    prover = AgentCard(
        name="prover",
        description="proves lemmas",
        skills=[Skill(name="proofs", tags=["hard", "lemma"]), Skill(name="chat", tags=["talk"])],
    )

    def lead(turn: Turn) -> dict[str, Any]:
        tasks, member = turn.state.tasks, next(m for m in turn.names if m != turn.me)
        if "conclusion" in turn.legal.types:
            return {"type": "conclusion", "text": " | ".join(t.status for t in tasks)}
        if len(tasks) < 2 and all(t.finished for t in tasks):
            if tasks:
                cloud.stop()  # the cloud goes down between the two tasks of the goal
            return {
                "type": "sync_task_assign",
                "assignees": [member],
                "title": "lemma",
                "description": f"prove lemma {len(tasks) + 1}",
            }
        return {"type": "conclude", "text": "both tasks are done"}

    async with remote_at(cloud.url, timeout=30) as remote:
        cascade = CascadeEngine(local, remote)
        brain = CascadeBrain(cascade, hard=hard_terms(prover), work_tokens=8)
        assert brain.hard == ["proofs", "lemma"]
        async with (
            Agent(prover, brain, hub.url) as member,
            Agent(card("lead"), ScriptedBrain(lead), hub.url) as boss,
        ):
            group = await boss.launch("two lemmas to prove", roster=[member.id])
            assert await boss.conclusion(group, timeout=90) == "done | done"
    work = [e for e in cascade.escalations if e.reason == "hard" and e.agent.startswith("work:")]
    assert [e.outcome for e in work] == ["remote", "remote_down"]
    split = cascade.split()
    assert split.remote.calls >= 1
    assert split.local.calls >= 1


@pytest.mark.parametrize("cascade", [True, False], ids=["local-then-remote", "remote-only"])
async def test_ioa_agent_thinks_with_the_remote_model(
    hub: Hub, cloud: OpenAIServer, tiny: Path, tmp_path: Path, cascade: bool
) -> None:
    """With --remote, a hard task goes to the remote first; with --model openai:..., all do."""
    import asyncio
    import json

    from tests.agents.scripts import delegate_then_conclude
    from tests.ioa.commands.cli_kit import IOA, ioa_env

    path = tmp_path / "prover.json"
    path.write_text(
        json.dumps({"name": "prover", "skills": [{"name": "proofs", "tags": ["hard", "lemma"]}]})
    )
    remote = f"openai:tiny-cloud@{cloud.url}"
    models = ["--model", str(tiny), "--threads", "1", "--remote", remote] if cascade else [
        "--model", remote
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *IOA, "agent", "--card", str(path), "--hub", hub.url, "--state", str(tmp_path / "s"),
        *models,
        env=ioa_env(tmp_path / "home"), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        before = cloud.log.read_text().count("POST /v1/chat/completions")
        async with Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead:
            group = await lead.launch("prove this lemma", roster=[started["agent_id"]])
            await lead.conclusion(group, timeout=60)
        assert cloud.log.read_text().count("POST /v1/chat/completions") > before
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "openai:gpt"], "write openai:MODEL@URL with an http(s) URL"),
        (
            ["--model", "openai:m@http://127.0.0.1:9/v1", "--remote", "openai:m@http://h/v1"],
            "--remote escalates from a local --model GGUF",
        ),
    ],
)
def test_ioa_agent_bad_remote_model_is_a_clear_error(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    from tests.ioa.commands.cli_kit import card_file, ioa

    done = ioa(
        "agent", "--card", card_file(tmp_path), *argv, "--hub", "http://127.0.0.1:9",
        home=tmp_path / "home",
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("path", "outcome", "detail"),
    [("slow", "remote_down", "did not answer within 0.5 s"), ("invalid-move", "remote_failed", "")],
)
async def test_a_remote_that_times_out_or_answers_invalid_json_leaves_the_move_local(
    hub: Hub, path: str, outcome: str, detail: str
) -> None:
    from tests.ioa.llm.openai_server import misbehaving_endpoints

    async with misbehaving_endpoints() as url, remote_at(f"{url}/{path}/v1", timeout=0.5) as bad:
        # the local model's replies are garbage too: the runtime's fallback move keeps it going
        cascade = CascadeEngine(garbage(), bad)
        brain = CascadeBrain(cascade)
        async with (
            Agent(card("member"), brain, hub.url) as member,
            Agent(card("lead"), ScriptedBrain(talk_then_conclude), hub.url) as lead,
        ):
            group = await lead.launch("say something", roster=[member.id])
            assert await lead.conclusion(group, timeout=60) == "heard"
    assert cascade.escalations
    assert {(e.reason, e.outcome) for e in cascade.escalations} <= {
        ("invalid", outcome),
        ("invalid", "remote_down"),
    }
    assert detail in cascade.escalations[0].detail


def talk_then_conclude(turn: Turn) -> dict[str, Any]:
    """Gives the member one turn, then concludes."""
    member = next(m for m in turn.names if m != turn.me)
    if "conclusion" in turn.legal.types:
        return {"type": "conclusion", "text": "heard"}
    if turn.state.turns == 0:
        return {"type": "discussion", "text": "your view?", "next_speaker": member}
    return {"type": "conclude", "text": ""}
