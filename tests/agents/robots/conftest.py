"""Fixtures the robot tests share: a tiny generated MiniCPM GGUF and an engine on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.llm import LlamaCppEngine, write_tiny_gguf


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as running:
        await running.start()
        yield running
