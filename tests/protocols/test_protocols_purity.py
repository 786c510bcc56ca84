"""`protocols` is pure: importing it loads no runtime (network, database, model, agent graph)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("aiohttp", "sqlalchemy", "llama_cpp", "langgraph", "asyncio", "ioa")
ROOT = Path(__file__).resolve().parents[2]


def test_importing_protocols_loads_no_runtime_module() -> None:
    code = (
        "import json, sys, protocols, protocols.moves, protocols.conversation, protocols.schema\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert "protocols" in loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
