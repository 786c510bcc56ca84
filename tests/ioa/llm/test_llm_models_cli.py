"""`ioa models list|pull|synth|info`, run through the real `ioa` entry point. `pull` talks to a fake
Hugging Face endpoint on loopback, never the internet."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from ioa.llm import ModelNotFound, default_model_path, inspect_gguf, synth_model
from ioa.llm.catalog import MODEL_ENV, bundled_model_path, find_entry

Run = Callable[..., int]


class FakeHub:
    """Serves files as huggingface_hub fetches them: HEAD, then GET /REPO/resolve/REV/FILE."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.url = ""

    def serve(self, repo_id: str, filename: str, data: bytes) -> None:
        self.files[f"/{repo_id}/resolve/main/{filename}"] = data

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(f"{request.method} {request.path}")
        data = self.files.get(request.path)
        if data is None:
            return web.Response(status=404, headers={"X-Error-Code": "EntryNotFound"})
        headers = {
            "X-Repo-Commit": "0" * 40,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Length": str(len(data)),
        }
        body = None if request.method == "HEAD" else data
        return web.Response(body=body, headers=headers)


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    hub = FakeHub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hub.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hub.url = f"http://127.0.0.1:{port}"
    yield hub
    await runner.cleanup()


async def test_pull_downloads_a_catalog_model_into_the_models_folder(
    fake_hub: FakeHub,
    models_home: Path,
    tiny_minicpm: Path,
    ioa: Run,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = find_entry("MiniCPM4-0.5B")
    fake_hub.serve(entry.repo_id, entry.filename, await asyncio.to_thread(tiny_minicpm.read_bytes))
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    assert await asyncio.to_thread(ioa, "models", "pull", "minicpm4-0.5b") == 0
    pulled = models_home / entry.filename
    assert inspect_gguf(pulled).arch == "minicpm"
    assert f"GET /{entry.repo_id}/resolve/main/{entry.filename}" in fake_hub.requests
    assert default_model_path() == pulled
    assert "pulled minicpm4-0.5b" in capsys.readouterr().out
    assert ioa("models", "list") == 0
    listing = capsys.readouterr().out
    assert f"* folder    {entry.filename}" in listing
    assert "[pulled]" in listing


async def test_pull_failures_are_clear_and_leave_nothing_behind(
    fake_hub: FakeHub,
    models_home: Path,
    tiny_minicpm: Path,
    ioa: Run,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ioa("models", "pull", "gpt-7") == 2
    assert "no model 'gpt-7' in the catalog" in capsys.readouterr().err
    assert (
        await asyncio.to_thread(ioa, "models", "pull", "minicpm3-4b", "--endpoint", fake_hub.url)
        == 2
    )
    err = capsys.readouterr().err
    assert "openbmb/MiniCPM3-4B-GGUF/minicpm3-4b-q4_k_m.gguf" in err
    assert "404" in err
    entry = find_entry("minicpm5-1b")
    data = await asyncio.to_thread(tiny_minicpm.read_bytes)
    fake_hub.serve(entry.repo_id, entry.filename, data[:-500])
    assert (
        await asyncio.to_thread(ioa, "models", "pull", "minicpm5-1b", "--endpoint", fake_hub.url)
        == 2
    )
    assert "truncated" in capsys.readouterr().err
    assert not (models_home / entry.filename).exists()


def test_default_model_precedence(
    models_home: Path, tiny_minicpm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_model_path() == bundled_model_path()
    models_home.mkdir()
    (models_home / "random.gguf").write_bytes(tiny_minicpm.read_bytes())
    assert default_model_path() == bundled_model_path(), "only catalog files become the default"
    pulled = models_home / find_entry("minicpm3-4b").filename
    pulled.write_bytes(tiny_minicpm.read_bytes())
    assert default_model_path() == pulled
    monkeypatch.setenv(MODEL_ENV, str(tiny_minicpm))
    assert default_model_path() == tiny_minicpm
    monkeypatch.setenv(MODEL_ENV, str(models_home / "absent.gguf"))
    with pytest.raises(ModelNotFound, match=MODEL_ENV):
        default_model_path()


def test_list_shows_every_source_and_what_is_wrong(
    models_home: Path,
    tiny_minicpm3: Path,
    ioa: Run,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models_home.mkdir()
    synth_model("tiny-minicpm", models_home / "speed.gguf", quant="F16")
    (models_home / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    monkeypatch.setenv(MODEL_ENV, str(tiny_minicpm3))
    assert ioa("models", "list") == 0
    out = capsys.readouterr().out
    assert f"* IOA_MODEL {tiny_minicpm3.name}  minicpm3  F16" in out
    assert "speed.gguf  minicpm  F16" in out
    assert "RANDOM WEIGHTS" in out
    assert "broken.gguf  UNUSABLE:" in out
    assert "truncated" in out
    assert "bundled   SmolLM2-135M-Instruct.Q4_1.gguf  llama  Q4_1" in out
    assert "minicpm5-1b" in out
    assert "openbmb/MiniCPM3-4B-GGUF" in out


@pytest.mark.llama
def test_synth_writes_a_labelled_random_model(
    tmp_path: Path, ioa: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "speed.gguf"
    assert ioa("models", "synth", "tiny-minicpm3", "--out", out, "--quant", "Q8_0") == 0
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    facts = inspect_gguf(out)
    assert (facts.arch, facts.quant, facts.synthetic) == ("minicpm3", "Q8_0", True)
    assert ioa("models", "synth", "gpt-9") == 2
    assert "no shape 'gpt-9'" in capsys.readouterr().err


def test_info_prints_simd_threads_and_model_facts(
    tiny_minicpm: Path, ioa: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ioa("models", "info", tiny_minicpm) == 0
    out = capsys.readouterr().out
    assert "llama.cpp: CPU :" in out
    assert "CPU features:" in out
    assert "threads:" in out
    assert "arch: minicpm   quant: F16" in out
    assert "chat template: gguf" in out
    assert ioa("models", "info", tiny_minicpm.parent / "absent.gguf") == 2
    assert "no such model file" in capsys.readouterr().err
