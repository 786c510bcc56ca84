"""What `ioa hub` imports before its first answer: what serving needs, nothing more.

Each module below was imported by every start once and delayed the first answer (a hub on an
empty database answers within 0.5 s, issue 18); each is imported now when its feature is first
used. The hub runs under `-X importtime`, which writes every import to stderr as it completes;
the list is read once `/v1/health` has answered. Embeddings are off, as in the whole suite
(with the model on, a worker thread imports numpy and llama.cpp once the hub listens; stored
card vectors wait for the model too: `test_discovery_meaning`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.ioa.commands.cli_kit import ioa_env

NOT_BEFORE_THE_FIRST_ANSWER = {
    "numpy": "the discovery index's vectors and BM25 scoring: the first search or vector",
    "redis": "the cluster's broker: only a hub started with --broker",
    "ioa.hub.cluster": "the cluster: only a hub started with --broker",
    "ioa.llm": "the embedding model, loaded once the hub listens",
    "llama_cpp": "the embedding model, loaded once the hub listens",
    "jsonschema": "a group that sets a content schema",
    "langgraph": "agents' brains, never the hub",
    "sqlalchemy.ext.asyncio": "PostgreSQL's engine (it imports the ORM): only a hub on PostgreSQL",
    "sqlalchemy.orm": "nothing of the hub: SQLAlchemy Core only",
    "aiosqlite": "nothing of the hub: SQLite runs on Core's own engine, on threads",
    "ioa.hub.a2a": "the A2A server: the first A2A request",
}


def test_a_hub_answers_before_importing_what_only_later_requests_need(tmp_path: Path) -> None:
    imported = imports_until_first_answer(tmp_path, tmp_path / "hub.db", "off")
    assert {"aiohttp.web", "sqlalchemy", "ioa.hub.discovery"} <= imported  # the log is read
    assert early_imports(imported) == {}


def imports_until_first_answer(tmp_path: Path, db: Path, embeddings: str) -> set[str]:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "ioa", "hub", "--port", "0", "--db", str(db)],
        env=ioa_env(home, IOA_HUB_EMBEDDINGS=embeddings), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        found = re.search(r"listening on (\S+)", proc.stdout.readline())
        assert found is not None
        with urllib.request.urlopen(found.group(1) + "/v1/health", timeout=30) as answer:
            assert answer.status == 200
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=30)
    return set(re.findall(r"^import time:.*\|\s*(\S+)$", err, re.MULTILINE))


def early_imports(imported: set[str]) -> dict[str, str]:
    return {
        module: why
        for module, why in NOT_BEFORE_THE_FIRST_ANSWER.items()
        if any(m == module or m.startswith(module + ".") for m in imported)
    }
