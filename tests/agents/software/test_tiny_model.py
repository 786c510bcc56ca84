"""The whole chain on real llama.cpp with a tiny generated MiniCPM GGUF (noise weights).

The files it writes are nonsense; what must hold is that every phase ends, every move is legal,
every answer is decoded or reported as unusable, and no prompt outgrows the context window.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.software import Company, load_config
from agents.software.config import load_config_data
from ioa.commands.local_hub import local_hub
from ioa.llm import LlamaCppEngine, load_engine, write_tiny_gguf
from tests.agents.software.scripted import REQUIREMENT

pytestmark = pytest.mark.llama

N_CTX = 1024
ANSWERS = {
    "files": 48, "verdict": 24, "choice": 24, "text": 24, "packages": 16, "document": 24,
    "decision": 16,
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with await load_engine(tiny_minicpm, n_ctx=N_CTX, n_threads=2) as loaded:
        yield loaded


async def test_the_chain_completes_on_a_tiny_minicpm(
    tmp_path: Path, engine: LlamaCppEngine
) -> None:
    data = load_config().with_overrides(cycles=1).model_dump()
    data["answers"] = {**data["answers"], **ANSWERS}
    data["levers"] = {**data["levers"], "file_tokens": 48, "candidates": 1, "syntax_retries": 0}
    data["run"] = {**data["run"], "timeout_s": 2.0}
    config = load_config_data(data, "tiny")

    company = Company(engine, hub=local_hub, config=config, runs_dir=tmp_path)
    summary = await company.start(REQUIREMENT)

    assert summary.status == "done"
    metrics = summary.metrics
    assert metrics["model"] == "tiny-minicpm" or metrics["model"]
    assert {"demand_analysis", "language_choice", "coding", "environment_doc", "manual"} <= set(
        metrics["phases_done"]
    )
    assert metrics["final"] is not None
    assert metrics["tokens"]["total"]["calls"] >= len(metrics["phases_done"])
    context = metrics["context"]
    assert context["n_ctx"] == N_CTX
    assert 0 < context["max_prompt_tokens"] <= N_CTX - min(ANSWERS.values())
    assert context["chars_per_token"] < config.context.chars_per_token  # learned from the model
    lines = [json.loads(x) for x in summary.folder.transcript.read_text().splitlines()]
    phases = [x for x in lines if x["kind"] == "phase"]
    for phase in phases:
        types = [
            x["envelope"]["payload"]["type"]
            for x in lines
            if x["kind"] == "message" and x["envelope"]["group"] == phase["group"]
        ]
        assert types[-2:] == ["conclude", "conclusion"], phase["phase"]
    assert (summary.folder.path / "requirements.txt").exists()


async def test_file_scoped_writing_with_retries_survives_garbage(
    tmp_path: Path, engine: LlamaCppEngine
) -> None:
    """Noise weights write garbage: every retry and candidate is counted, the final verdict is
    recorded, and nothing crashes."""
    data = load_config().with_overrides(cycles=1).model_dump()
    data["chain"] = [{"kind": "phase", "phase": "coding"}]
    data["answers"] = {**data["answers"], **ANSWERS}
    data["levers"] = {
        **data["levers"],
        "file_scoped": True,
        "syntax_retries": 2,
        "candidates": 2,
        "keep_running": True,
        "file_tokens": 24,
    }
    data["run"] = {**data["run"], "timeout_s": 2.0}
    config = load_config_data(data, "tiny")

    summary = await Company(engine, hub=local_hub, config=config, runs_dir=tmp_path).start(
        REQUIREMENT
    )

    assert summary.status == "done"
    final = summary.metrics["final"]
    assert isinstance(final["executable"], bool)
    lines = [json.loads(x) for x in summary.folder.transcript.read_text().splitlines()]
    coding = next(x for x in lines if x["kind"] == "phase" and x["phase"] == "coding")
    main, test = coding["files"]
    assert (main["path"], test["path"]) == ("main.py", "test_main.py")
    for stats in (main, test):
        assert stats["calls"] == stats["candidates"] + stats["syntax_retries"]
        assert stats["syntax_retries"] <= 2 * stats["candidates"]
    assert 1 <= main["candidates"] <= 2
    assert test["candidates"] == 1
    assert main["sandbox_runs"] <= main["candidates"]
    if not main["compiles"]:  # garbage that never compiled: every try was used
        assert main["calls"] == 2 * 3
    calls = main["calls"] + test["calls"]
    assert summary.metrics["tokens"]["total"]["calls"] == calls
    types = [
        x["envelope"]["payload"]["type"]
        for x in lines
        if x["kind"] == "message" and x["envelope"]["group"] == coding["group"]
    ]
    assert types == ["discussion"] * 4 + ["conclude", "conclusion"]
