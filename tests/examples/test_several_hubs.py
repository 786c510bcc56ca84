"""`examples/several_hubs.py` as a user runs it: three `ioa hub` processes on the test
PostgreSQL and a Redis of its own; an agent's hub is killed -9 and it carries on."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "several_hubs.py"


async def test_the_cluster_example_survives_the_death_of_a_hub(fresh_postgres_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--pg",
        fresh_postgres_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 100)
    text = out.decode()
    assert process.returncode == 0, text
    assert text.count("ada → bob across hubs") == 3
    resumed = re.search(r"ada resumed through another hub ([\d.]+) s later and read seq 4", text)
    assert resumed is not None, text
    assert float(resumed.group(1)) < 5.0
    assert "seq 5: 'yes, through another hub'" in text
    assert "stored: seq [1, 2, 3, 4, 5] — gap-free: True" in text
