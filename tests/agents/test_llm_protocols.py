"""Each group protocol played to its end by agents whose brain is real llama.cpp on a tiny
generated MiniCPM GGUF (noise weights), through a real hub.

The model's text is gibberish, but its moves are decoded under each protocol's legal-move grammar
(plans under the group's content schema, proposal ids and addressees as enums), so the hub refuses
nothing and every conversation ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.llm_brain import LLMBrain
from agents.runtime import Agent
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine, load_engine, write_tiny_gguf
from protocols import Phase, replay
from protocols.conversation.settings import conversation_for_group
from tests.conftest import card

pytestmark = pytest.mark.llama

PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "robot": {"enum": ["alice", "bob"]},
        "action": {"enum": ["PICK", "PLACE", "WAIT"]},
    },
    "required": ["robot", "action"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with await load_engine(tiny_minicpm, n_ctx=2048, n_threads=1) as loaded:
        yield loaded


PROTOCOL_METAS: dict[str, dict[str, Any]] = {
    "dialectic": {"protocol": "dialectic", "max_turns": 5, "content_schema": PLAN_SCHEMA},
    "contract_net": {"protocol": "contract_net", "max_turns": 4},
    "voting": {"protocol": "voting", "voting_rule": "borda", "content_schema": PLAN_SCHEMA},
    "ioa+checker": {"max_turns": 5, "checker": "CHECKER", "content_schema": PLAN_SCHEMA},
}


@pytest.mark.parametrize("name", PROTOCOL_METAS)
async def test_local_model_agents_play_each_protocol_to_its_end(
    hub: Hub, engine: LlamaCppEngine, name: str
) -> None:
    brain = LLMBrain(engine, text_max=16, work_tokens=8)
    async with (
        Agent(card("alpha", "planning"), brain, hub.url) as alpha,
        Agent(card("beta", "lifting"), brain, hub.url) as beta,
        Agent(card("gamma", "checking"), brain, hub.url) as gamma,
    ):
        meta = dict(PROTOCOL_METAS[name])
        if meta.get("checker") == "CHECKER":
            meta["checker"] = gamma.id
        group = await alpha.launch("stack the blocks", roster=[beta.id, gamma.id], meta=meta)
        await alpha.conclusion(group, timeout=120)
        history = await alpha.client.history(group)
        assert history[-1].type == "conclusion"
        assert alpha.rejections == beta.rejections == gamma.rejections == 0
        info = await alpha.client.group(group)
        initial = conversation_for_group(info.id, info.members, info.meta, info.created_at)
        state = replay(initial, history)
        assert state.over
        assert state.protocol == meta.get("protocol", "ioa")
        if state.phase is Phase.CONCLUDED and state.concluded_with is not None:
            assert state.plan is not None
            assert set(state.plan) == {"robot", "action"}
