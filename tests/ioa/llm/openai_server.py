"""A real OpenAI-compatible endpoint on loopback: `python -m llama_cpp.server` on a tiny GGUF."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
