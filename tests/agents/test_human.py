"""A person as an agent: `ioa agent --human` driven through its real stdin and stdout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.brain import ScriptedBrain, Turn
from agents.human.form import FormError, parse
from agents.runtime import Agent
from ioa.hub import Hub
from tests.conftest import card
from tests.ioa.commands.cli_kit import IOA, ioa_env


class Terminal:
    """The person's side of an `ioa agent --human` process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""

    async def until(self, prompt: str) -> str:
        """Everything shown up to and including `prompt`."""
        assert self.process.stdout is not None
        shown = await asyncio.wait_for(self.process.stdout.readuntil(prompt.encode()), 60)
        self.screen += shown.decode()
        return shown.decode()

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")


@pytest.fixture
async def start_seat(hub: Hub, tmp_path: Path) -> AsyncIterator[Any]:
    processes: list[asyncio.subprocess.Process] = []

    async def start(*extra: str) -> tuple[Terminal, str]:
        process = await asyncio.create_subprocess_exec(
            *IOA, "agent", "--human", "--name", "alice", "--hub", hub.url,
            "--state", str(tmp_path / f"state{len(processes)}"), *extra,
            env=ioa_env(tmp_path / "home"), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(process)
        terminal = Terminal(process)
        started = json.loads(await terminal.until("\n"))
        assert started["name"] == "alice"
        return terminal, started["agent_id"]

    yield start
    for process in processes:
        process.kill()
        await process.wait()


def lead_moves(turn: Turn) -> dict[str, Any]:
    """Asks the person, hands them a task, then concludes with what they said and did."""
    alice = next(m for m, name in turn.names.items() if name == "alice")
    said = [t.text for t in turn.transcript if t.sender == "alice" and t.type == "discussion"]
    tasks = turn.state.tasks
    if "conclusion" in turn.legal.types:
        results = [t.result for t in tasks]
        return {"type": "conclusion", "text": " / ".join([*said, *results])}
    if not said and not tasks:
        text = "What should we call the project?"
        return {"type": "discussion", "text": text, "next_speaker": alice}
    if not tasks:
        return {
            "type": "sync_task_assign",
            "assignees": [alice],
            "title": "estimate",
            "description": "How many days will it take?",
        }
    return {"type": "conclude", "text": ""}


async def test_a_person_reads_the_conversation_and_picks_legal_moves(
    hub: Hub, start_seat: Any
) -> None:
    terminal, alice = await start_seat("--turn-timeout", "0")
    async with Agent(card("lead"), ScriptedBrain(lead_moves), hub.url) as lead:
        group = await lead.launch("name and plan the project", roster=[alice])
        shown = await terminal.until("move (number, or your words)> ")
        assert "== team for: name and plan the project" in shown
        assert "lead [discussion → alice]: What should we call the project?" in shown
        assert "discussion: say something and pass the turn on" in shown
        terminal.type("99")
        assert "type a number from 1 to" in await terminal.until("> ")
        terminal.type("Call it Nimbus")
        assert "1) lead" in await terminal.until("who speaks next (number)> ")
        terminal.type("lead")
        assert "type numbers from 1 to 1" in await terminal.until("(number)> ")
        terminal.type("1")
        shown = await terminal.until("your result> ")
        assert "estimate: How many days will it take?" in shown
        terminal.type("about 3 days")
        said = await lead.conclusion(group, timeout=60)
    assert said == "Call it Nimbus / about 3 days"


async def test_a_person_who_does_not_answer_in_time_gets_the_safe_move(
    hub: Hub, start_seat: Any
) -> None:
    terminal, alice = await start_seat("--turn-timeout", "1")
    async with Agent(card("lead"), ScriptedBrain(lead_moves), hub.url) as lead:
        group = await lead.launch("name the project", roster=[alice])
        await terminal.until("move (number, or your words)> ")
        assert "time is up (1 s): the safe move is sent" in await terminal.until("sent")
        await terminal.until("your result> ")
        assert "the task fails" in await terminal.until("fails")
        said = await lead.conclusion(group, timeout=60)
    assert "no answer from the person within 1 s" in said


def test_answers_are_parsed_by_the_fields_schema() -> None:
    assert parse({"enum": ["a", "b"]}, "2") == "b"
    assert parse({"type": "array", "items": {"enum": ["a", "b", "c"]}}, "3, 1") == ["c", "a"]
    assert parse({"type": "array", "items": {"type": "string"}}, "x; y ;") == ["x", "y"]
    assert parse({"type": "boolean"}, "Y") is True
    assert parse({"type": "number"}, "2.5") == 2.5
    for schema, answer, message in [
        ({"enum": ["a"]}, "0", "from 1 to 1"),
        ({"enum": ["a", "b"]}, "1 2", "one number"),
        ({"type": "array", "items": {"enum": ["a"]}, "minItems": 1}, "", "between 1 and"),
        ({"type": "boolean"}, "maybe", "y or n"),
        ({"type": "number"}, "ten", "a number"),
        ({"type": "string", "maxLength": 3}, "toolong", "at most 3 characters"),
    ]:
        with pytest.raises(FormError, match=message):
            parse(schema, answer)


async def test_a_person_who_left_gets_the_safe_move_and_the_goal_concludes(
    hub: Hub, start_seat: Any
) -> None:
    terminal, alice = await start_seat("--turn-timeout", "0")
    assert terminal.process.stdin is not None
    terminal.process.stdin.close()  # the terminal is gone
    async with Agent(card("lead"), ScriptedBrain(lead_moves), hub.url) as lead:
        group = await lead.launch("name the project", roster=[alice])
        said = await lead.conclusion(group, timeout=60)
    assert "the person has left the seat" in said
