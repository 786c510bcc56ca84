"""MCP tools as a tool agent: a real MCP server (tests/agents/mcp_server.py) in a real team."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.brain import Job, ScriptedBrain
from agents.mcp_tools import (
    McpCallFailed,
    McpConnection,
    McpServerGone,
    McpToolBrain,
    McpUnavailable,
    mcp_card,
)
from agents.runtime import Agent
from ioa.hub import Hub
from tests.agents.scripts import delegate_then_conclude
from tests.conftest import card

SERVER = Path(__file__).with_name("mcp_server.py")
STDIO = shlex.join([sys.executable, str(SERVER)])


def job(description: str, title: str = "") -> Job:
    return Job(
        group="g", task_id="t1", title=title, description=description, goal="", assigner="", depth=0
    )


@pytest.fixture
async def tools() -> AsyncIterator[McpConnection]:
    async with McpConnection(STDIO, call_timeout=20) as connection:
        yield connection


async def test_the_card_lists_the_servers_tools_with_their_arguments(
    tools: McpConnection,
) -> None:
    made = mcp_card(tools)
    assert made.kind == "tool"
    assert made.name == "arith"
    skills = {s.name: s for s in made.skills}
    assert set(skills) == {"add", "shout", "refuse", "crash"}
    assert "a: integer, b: integer" in skills["add"].description
    assert skills["add"].tags == ["add", "mcp"]


async def test_a_task_is_checked_against_the_tools_input_schema(tools: McpConnection) -> None:
    brain = McpToolBrain(tools)
    assert await brain.work(job('{"tool": "add", "arguments": {"a": 2, "b": 40}}')) == "42"
    assert await brain.work(job('{"a": 1, "b": 2}', title="add")) == "3"
    assert await brain.work(job('add {"a": 5, "b": 5}')) == "10"
    assert await brain.work(job("hello there", title="shout")) == "HELLO THERE"
    failures = {
        '{"tool": "add", "arguments": {"a": "two", "b": 3}}': "a: 'two' is not of type 'integer'",
        '{"tool": "add", "arguments": {"a": 2}}': "'b' is a required property",
        '{"tool": "nope"}': "no tool 'nope' here",
        "add two and three": "needs its arguments as JSON",
        "do something": "does not say which tool",
        '{"tool": "refuse", "arguments": {"why": "no"}}': "refused: no",
    }
    for text, message in failures.items():
        with pytest.raises(McpCallFailed, match=message.replace("(", r"\(")):
            await brain.work(job(text))


async def test_a_server_that_dies_mid_call_fails_that_call_and_is_started_again(
    tools: McpConnection,
) -> None:
    brain = McpToolBrain(tools)
    with pytest.raises(McpServerGone, match="stopped during the call of 'crash'"):
        await brain.work(job('{"tool": "crash", "arguments": {"why": "test"}}'))
    assert await brain.work(job('{"tool": "add", "arguments": {"a": 1, "b": 1}}')) == "2"


async def test_a_server_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(McpUnavailable, match="could not be used"):
        async with McpConnection(shlex.join([sys.executable, str(tmp_path / "none.py")])):
            pass
    with pytest.raises(McpUnavailable, match="empty"):
        McpConnection("  ")
    with pytest.raises(McpUnavailable, match="could not be used"):
        async with McpConnection("http://127.0.0.1:9/mcp"):
            pass


async def test_mcp_tool_agent_answers_a_task_in_a_team_and_survives_a_crash(hub: Hub) -> None:
    async with McpConnection(STDIO, call_timeout=20) as connection:
        brain = McpToolBrain(connection)
        async with (
            Agent(mcp_card(connection), brain, hub.url) as tool,
            Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
        ):
            group = await lead.launch('add {"a": 20, "b": 22}', roster=[tool.id])
            assert await lead.conclusion(group, timeout=30) == "42"
            group = await lead.launch(
                '{"tool": "crash", "arguments": {"why": "x"}}', roster=[tool.id]
            )
            said = await lead.conclusion(group, timeout=30)
            assert "stopped during the call of 'crash'" in said
            group = await lead.launch('shout {"text": "still here"}', roster=[tool.id])
            assert await lead.conclusion(group, timeout=30) == "STILL HERE"


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SERVER), "http", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    port = int(line.decode().split()[1])
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    await process.wait()


async def test_mcp_tools_over_streamable_http(http_server: str) -> None:
    async with McpConnection(http_server, call_timeout=20) as connection:
        assert {t.name for t in connection.tools} >= {"add", "shout"}
        brain = McpToolBrain(connection)
        assert await brain.work(job('add {"a": 7, "b": 8}')) == "15"


async def test_ioa_agent_mcp_runs_the_tools_as_an_agent_process(hub: Hub, tmp_path: Path) -> None:
    from tests.ioa.commands.cli_kit import IOA, ioa_env

    process = await asyncio.create_subprocess_exec(
        *IOA, "agent", "--mcp", STDIO, "--hub", hub.url, "--state", str(tmp_path / "state"),
        env=ioa_env(tmp_path / "home"), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        assert started["name"] == "arith"
        async with Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead:
            group = await lead.launch('add {"a": 1, "b": 41}', roster=[started["agent_id"]])
            assert await lead.conclusion(group, timeout=30) == "42"
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mcp", " "], "--mcp needs a command line or an http(s) URL"),
        (["--mcp", "python /nonexistent/server.py"], "could not be used"),
        ([], "--card is required (except with --mcp, --a2a or --human)"),
    ],
)
def test_ioa_agent_mcp_bad_input_is_a_clear_error(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    from tests.ioa.commands.cli_kit import ioa

    done = ioa("agent", *argv, "--hub", "http://127.0.0.1:9", home=tmp_path / "home")
    assert done.returncode != 0
    assert message in done.stderr.splitlines()[-1]


@pytest.mark.llama
async def test_the_local_model_fills_arguments_from_words_under_the_input_schema(
    tools: McpConnection, tmp_path: Path
) -> None:
    from ioa.llm import load_engine, write_tiny_gguf

    gguf = write_tiny_gguf(tmp_path / "tiny.gguf", "minicpm")
    async with await load_engine(gguf, n_ctx=1024, n_threads=1) as engine:
        brain = McpToolBrain(tools, engine=engine)
        tool, arguments = await brain.plan(job("add twenty and twenty-two", title="add"))
    assert tool.name == "add"
    assert set(arguments) == {"a", "b"}
    assert all(isinstance(v, int) for v in arguments.values())
    assert await tools.call("add", arguments) == str(arguments["a"] + arguments["b"])
