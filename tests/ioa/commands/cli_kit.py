"""Running the checkout's `ioa` command as a person would: a process of its own.

`python -m ioa` with PYTHONPATH at this checkout, so the test exercises this code and not
whatever `ioa` is installed; IOA_HOME in the test's folder, and none of the caller's IOA_*
settings, so the person's own logins or hub cannot leak in.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
IOA = [sys.executable, "-m", "ioa"]
TOOL = "agents.calculator:calculate"
"""A `--tool` for `ioa agent`: no model to load."""
SECRET = "SECRET"
"""The registration token of the `guarded_hub` fixture."""


def card_file(folder: Path) -> Path:
    """A small agent card, written to `folder/calc.json`."""
    path = folder / "calc.json"
    path.write_text(json.dumps({"name": "calc", "description": "evaluates arithmetic"}))
    return path


def ioa_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOA_")}
    env["PYTHONPATH"] = str(ROOT)
    env["IOA_HOME"] = str(home)
    env["IOA_HUB_EMBEDDINGS"] = "off"  # a hub the command starts ranks by BM25 (no conversion)
    env.update(extra)
    return env


def ioa(
    *argv: str | Path, home: Path, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run `ioa ARGV...` to the end (from a synchronous test)."""
    return subprocess.run(
        [*IOA, *map(str, argv)],
        env=ioa_env(home, **extra),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def aioa(
    *argv: str | Path, home: Path, timeout: float = 60, **extra: str
) -> tuple[int, str, str]:
    """Run `ioa ARGV...` to the end from an async test, whose loop (and hub) keeps running."""
    proc = await asyncio.create_subprocess_exec(
        *IOA, *map(str, argv),
        env=ioa_env(home, **extra), cwd=home.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
