"""The README's several-machines example: `ioa agent --hub` against a hub that requires a
registration token (`ioa hub --registration-token SECRET`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from protocols import AgentCard
from tests.ioa.commands.cli_kit import IOA, SECRET, TOOL, aioa, card_file, ioa_env, stderr_lines


async def first_line_of_agent(argv: list[str], env: dict[str, str]) -> dict[str, str]:
    """Start `ioa agent ARGV`, read the line it prints once registered, then stop it."""
    proc = await asyncio.create_subprocess_exec(
        *IOA, "agent", *argv, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            await proc.wait()
            pytest.fail(f"ioa agent exited {proc.returncode}: {(await proc.stderr.read())!r}")
        return dict(json.loads(line))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_an_agent_registers_with_the_hubs_registration_token(
    guarded_hub: Hub, tmp_path: Path, how: str
) -> None:
    argv = [
        "--card", str(card_file(tmp_path)), "--hub", guarded_hub.url, "--tool", TOOL,
        "--state", str(tmp_path / "state"),
    ]  # fmt: skip
    extra = {"IOA_REGISTRATION_TOKEN": SECRET} if how == "environment" else {}
    if how == "option":
        argv += ["--registration-token", SECRET]
    started = await first_line_of_agent(argv, ioa_env(tmp_path / "home", **extra))

    async with HubClient(guarded_hub.url) as client:
        await client.register(AgentCard(name="checker", description="looks"), SECRET)
        listed = {a.id: a.card.name for a in await client.agents()}
    assert listed[started["agent_id"]] == "calc"


async def test_without_the_token_the_refusal_is_one_line(guarded_hub: Hub, tmp_path: Path) -> None:
    code, _, err = await aioa(
        "agent", "--card", card_file(tmp_path), "--hub", guarded_hub.url, "--tool", TOOL,
        "--state", tmp_path / "state", home=tmp_path / "home",
    )  # fmt: skip
    (line,) = stderr_lines(err)  # and no "Unclosed client session" noise after it
    assert line.startswith("ioa agent: ")
    assert "registration" in line.lower() or "token" in line.lower()
    assert code == 2
