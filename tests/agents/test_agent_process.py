"""`ioa agent` as a real process: killed mid-task (SIGKILL), restarted, and nothing is lost.

The worker runs as `python -m ioa agent --tool ...` against an in-process hub. Its tool (a module
the test writes) reports each call to the test over loopback and hangs on the first one, so the
kill lands while the task is running; the restarted process, same `--state`, must come back as
the same agent, run the task once more and report the result.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.brain import ScriptedBrain
from agents.runtime import Agent
from ioa.hub import Hub
from protocols import AgentCard, Skill
from tests.agents.scripts import delegate_then_conclude
from tests.conftest import card

REPO = Path(__file__).resolve().parents[2]

HANGING_TOOL = '''
"""The calculator, except that it first asks the test whether to hang (the test kills it there)."""

import asyncio
import os

from agents.calculator import calculate as _calculate


async def calculate(text: str) -> str:
    """Evaluates arithmetic expressions such as (17 + 5) * 3."""
    port = int(os.environ["IOA_TEST_TOOL_PORT"])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(text.encode() + b"\\n")
    verdict = await reader.readline()
    writer.close()
    if verdict == b"hang\\n":
        await asyncio.Event().wait()
    return _calculate(text)
'''


class ToolControl:
    """The test's end of the tool's loopback line: it sees every call and decides if it hangs."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.called = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.calls.append((await reader.readline()).decode().rstrip("\n"))
        writer.write(b"hang\n" if len(self.calls) == 1 else b"go\n")
        await writer.drain()
        writer.close()
        self.called.set()


class AgentProcess:
    """One `ioa agent` subprocess; its stderr (the agent's log) goes to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> dict[str, str]:
        """Start the process; its first stdout line (`{"agent_id", ...}`) once it is connected."""
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ioa", "agent", *self.args,
                stdout=asyncio.subprocess.PIPE, stderr=err, env=self.env, cwd=REPO,
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not line:
            await self.proc.wait()
            pytest.fail(f"ioa agent exited {self.proc.returncode}:\n{self.log.read_text()}")
        return dict(json.loads(line))

    async def kill(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return await asyncio.wait_for(self.proc.wait(), 30)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def control() -> AsyncIterator[tuple[ToolControl, int]]:
    tool = ToolControl()
    server = await asyncio.start_server(tool.handle, "127.0.0.1", 0)
    yield tool, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
async def worker(
    hub: Hub, tmp_path: Path, control: tuple[ToolControl, int]
) -> AsyncIterator[AgentProcess]:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "hanging_calc.py").write_text(HANGING_TOOL)
    card_file = tmp_path / "calc.json"
    calc = AgentCard(
        name="calc",
        description="evaluates arithmetic",
        skills=[Skill(name="arithmetic", tags=["math"])],
    )
    card_file.write_text(calc.model_dump_json())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout as in use
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(tools)])
    env["IOA_HOME"] = str(tmp_path / "home")
    env["IOA_TEST_TOOL_PORT"] = str(control[1])
    args = [
        "--card", str(card_file),
        "--hub", hub.url,
        "--tool", "hanging_calc:calculate",
        "--state", str(tmp_path / "state"),
    ]  # fmt: skip
    process = AgentProcess(args, env, tmp_path / "agent.log")
    yield process
    await process.stop()


async def test_agent_process_killed_mid_task_resumes_with_same_id(
    hub: Hub, worker: AgentProcess, control: tuple[ToolControl, int]
) -> None:
    tool = control[0]
    first = await worker.start()
    worker_id = first["agent_id"]
    async with Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead:
        group = await lead.launch("what is 6 * 7?", roster=[worker_id])
        await asyncio.wait_for(tool.called.wait(), 30)
        assert tool.calls == ["what is 6 * 7?"]  # the task is running, and hangs
        history = await lead.client.history(group)
        assert [e.type for e in history] == ["sync_task_assign"]

        assert await worker.kill() == -signal.SIGKILL
        again = await worker.start()
        assert again["agent_id"] == worker_id  # same identity, from the saved credentials

        assert await lead.conclusion(group, timeout=60) == "6 * 7 = 42"
        assert tool.calls == ["what is 6 * 7?", "what is 6 * 7?"]  # run again, exactly once
        history = await lead.client.history(group)
        assert [(e.seq, e.type) for e in history] == [
            (1, "sync_task_assign"),
            (2, "task_result"),
            (3, "conclude"),
            (4, "conclusion"),
        ]
        assert history[1].sender == worker_id
        assert lead.rejections == 0
        registered = await lead.client.agents()
        assert [a.card.name for a in registered].count("calc") == 1
        health = await lead.client.request("GET", "/v1/health")
        assert health["rejections"] == {}
