"""A real OpenAI-compatible endpoint on loopback: `python -m llama_cpp.server` on a tiny GGUF."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenAIServer:
    """One `llama_cpp.server` process; `stop()` takes it down (a cloud outage, on loopback)."""

    def __init__(self, gguf: Path, log: Path) -> None:
        self.gguf, self.log = gguf, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf),
                    "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", "1",
                    "--n_ctx", "2048", "--model_alias", "tiny-cloud",
                ],
                stdout=log, stderr=log,
            )  # fmt: skip
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-800:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("llama_cpp.server did not come up in 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextmanager
def openai_server(gguf: Path, log: Path) -> Iterator[OpenAIServer]:
    server = OpenAIServer(gguf, log)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def misbehaving_endpoints() -> AsyncIterator[str]:
    """Loopback endpoints that fail the way clouds do, under `URL/NAME/v1`: `slow` (never
    answers), `not-json`, `not-completion`, `invalid-move` (a move cut short), `unauthorised`
    (401), `broken` (503)."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>bad gateway</html>")

    async def not_completion(request: web.Request) -> web.Response:
        return web.json_response({"id": "x", "object": "chat.completion"})

    async def invalid_move(request: web.Request) -> web.Response:
        reply = {"choices": [{"message": {"content": '{"type": "dance"'}}], "usage": {}}
        return web.json_response(reply)

    async def unauthorised(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "invalid api key"}}, status=401)

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "overloaded"}}, status=503)

    app = web.Application()
    for name, handler in [
        ("slow", slow), ("not-json", not_json), ("not-completion", not_completion),
        ("invalid-move", invalid_move), ("unauthorised", unauthorised), ("broken", broken),
    ]:  # fmt: skip
        app.router.add_post(f"/{name}/v1/chat/completions", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
