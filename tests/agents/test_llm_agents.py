"""Agents whose brain is real llama.cpp on a tiny generated MiniCPM GGUF (noise weights).

The model's text is gibberish, but every move it makes must be legal: the grammar allows nothing
else, so the hub refuses nothing and the conversation reaches its conclusion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.brain import ScriptedBrain
from agents.llm_brain import LLMBrain
from agents.runtime import Agent
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine, load_engine, write_tiny_gguf
from tests.conftest import card

pytestmark = pytest.mark.llama


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    # One thread: a 64-wide model gains nothing from two, and loses a lot on a busy machine.
    async with await load_engine(tiny_minicpm, n_ctx=2048, n_threads=1) as loaded:
        yield loaded


async def test_local_model_agents_converse_legally_to_a_conclusion(
    hub: Hub, engine: LlamaCppEngine
) -> None:
    brain = LLMBrain(engine, text_max=24, work_tokens=12)
    async with (
        Agent(card("alpha", "planning"), brain, hub.url) as alpha,
        Agent(card("beta", "writing"), brain, hub.url) as beta,
        Agent(card("gamma", "math"), brain, hub.url) as gamma,
    ):
        group = await alpha.launch(
            "plan a picnic", roster=[beta.id, gamma.id], meta={"max_turns": 8}
        )
        conclusion = await alpha.conclusion(group, timeout=90)
        assert isinstance(conclusion, str)
        history = await alpha.client.history(group)
        assert history[-1].type == "conclusion"
        assert len(history) <= 6 + 20  # turns are capped; reports add at most a few
        assert alpha.rejections == beta.rejections == gamma.rejections == 0
        for agent_id in (alpha.id, beta.id, gamma.id):
            assert engine.stats(agent_id).calls >= 0
        assert engine.stats().completion_tokens > 0


async def test_local_model_forms_a_team_by_discovery(hub: Hub, engine: LlamaCppEngine) -> None:
    async with (
        Agent(card("cook", "cooking"), ScriptedBrain(work=lambda j: "soup"), hub.url),
        Agent(card("lead"), LLMBrain(engine, text_max=30, work_tokens=8), hub.url) as lead,
    ):
        group = await lead.launch("cooking soup for dinner", meta={"max_turns": 4})
        members = (await lead.client.group(group)).members
        assert len(members) == 2  # the model had to pick someone: the only candidate
        await lead.conclusion(group, timeout=60)
        assert lead.rejections == 0
