"""`--hub URL1,URL2,...` (and IOA_HUB): the commands take several hubs of one cluster, fail over
between them, and name a bad URL of the list in one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from ioa.logins import Login, Logins
from protocols import AgentCard
from tests.ioa.commands.cli_kit import (
    IOA,
    TOOL,
    card_file,
    closed_port,
    ioa,
    ioa_env,
    stderr_lines,
)

BAD = "ftp://127.0.0.1:1"
BAD_LINE = f"bad hub URL {BAD!r}: it must start with http:// or https://"


@pytest.mark.parametrize(
    "argv",
    [
        ["agent", "--card", "CARD", "--tool", TOOL],
        ["agents", "--token", "t"],
        ["run", "a goal", "--token", "t"],
        ["login"],
    ],
    ids=["agent", "agents", "run", "login"],
)
def test_a_bad_url_in_the_list_is_one_line_naming_it(tmp_path: Path, argv: list[str]) -> None:
    argv = [str(card_file(tmp_path)) if a == "CARD" else a for a in argv]
    done = ioa(*argv, "--hub", f"http://127.0.0.1:{closed_port()},{BAD}", home=tmp_path / "home")
    assert stderr_lines(done.stderr) == [f"ioa {argv[0]}: {BAD_LINE}"]
    assert done.returncode == 2


def test_ioa_hub_from_the_environment_is_checked_the_same(tmp_path: Path) -> None:
    done = ioa("agents", "--token", "t", home=tmp_path / "home", IOA_HUB=f"{BAD},http://a:1")
    assert stderr_lines(done.stderr) == [f"ioa agents: {BAD_LINE}"]
    assert done.returncode == 2


async def test_ioa_agent_registers_and_runs_on_the_first_hub_that_answers(
    hub: Hub, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    proc = await asyncio.create_subprocess_exec(
        *IOA, "agent", "--card", str(card_file(tmp_path)), "--hub", f"{dead},{hub.url}",
        "--tool", TOOL, "--state", str(tmp_path / "state"),
        env=ioa_env(tmp_path / "home"), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, "ioa agent exited before registering"
        agent_id = json.loads(line)["agent_id"]
        async with HubClient(hub.url) as checker:
            await checker.register(AgentCard(name="checker", description="looks"))
            for _ in range(100):  # registered by POST, then online once its WebSocket is up
                online = {a.id for a in await checker.agents(online=True)}
                if agent_id in online:
                    break
                await asyncio.sleep(0.1)
            assert agent_id in online
    finally:
        proc.kill()
        await proc.wait()


def test_a_login_to_one_hub_of_a_cluster_serves_its_list() -> None:
    login = Login(name="ann", agent_id="a-1", token="tok")
    logins = Logins(hubs={"http://a:1": login})
    assert logins.token_for("http://b:2/, http://a:1") == "tok"  # the hubs share their tokens
    assert logins.token_for("http://b:2") is None
    listed = Logins(hubs={"http://a:1,http://b:2": login})
    assert listed.token_for("http://a:1/,http://b:2") == "tok"
