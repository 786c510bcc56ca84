"""Hubs that, like `ioa hub --registration-token SECRET`, register only who knows the token."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.commands.cli_kit import IOA, SECRET, ioa_env


@pytest.fixture
async def guarded_hub(db_path: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path, registration_token=SECRET)) as running:
        yield running


@pytest.fixture
def hub_process(tmp_path: Path) -> Iterator[str]:
    """`ioa hub --registration-token SECRET` in a process of its own; yields its URL.

    A test that streams a goal's events uses this one: an in-process hub's shutdown waits up
    to a minute for a goal stream whose reader went away.
    """
    proc = subprocess.Popen(
        [*IOA, "hub", "--port", "0", "--db", str(tmp_path / "hub-process.db"),
         "--registration-token", SECRET],
        env=ioa_env(tmp_path / "hub-home"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"listening on (\S+)", line)
        assert found is not None, line
        yield found.group(1)
    finally:
        proc.kill()
        proc.communicate()
