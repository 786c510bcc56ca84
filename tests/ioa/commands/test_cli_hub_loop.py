"""`ioa hub --loop`: the hub serves on uvloop or asyncio's loop, with the same guarantees.

uvloop is the default where it is installed (about a fifth fewer instructions per message,
`benchmarks/hub_instructions.py`). Each test runs the real command in a process of its own,
agents talk through it with the project's client, and what the receiver gets is checked
against the SQLite file: on either loop a message is stored before it is delivered, once.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ioa import eventloop
from ioa.cli import EXIT_ERROR
from ioa.client import HubClient
from protocols import Chat
from tests.conftest import card
from tests.ioa.commands.cli_kit import IOA, ioa, ioa_env


@contextmanager
def hub_on(tmp_path: Path, *args: str, **env: str) -> Iterator[tuple[str, str, Path]]:
    """`ioa hub ARGS` on a free port; yields its URL, the loop it names, its database."""
    db = tmp_path / "hub.db"
    proc = subprocess.Popen(
        [*IOA, "hub", "--port", "0", "--db", str(db), *args],
        env=ioa_env(tmp_path / "home", **env), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        listening = re.search(r"listening on (\S+)", proc.stdout.readline())
        loop = re.search(r"event loop: (\w+)", proc.stdout.readline())
        assert listening is not None
        assert loop is not None
        yield listening.group(1), loop.group(1), db
    finally:
        proc.kill()
        proc.communicate()


async def exchange(url: str, db: Path, count: int) -> None:
    """Alice sends `count` messages to Bob; each is in the file when Bob has it, once, in order."""
    async with HubClient(url) as alice, HubClient(url) as bob:
        await alice.register(card("alice"))
        await bob.register(card("bob"))
        await alice.connect()
        await bob.connect()
        group = await alice.create_group([bob.agent_id])  # type: ignore[list-item]
        acks = await asyncio.gather(
            *(alice.say(group.id, Chat(text=f"m{i}")) for i in range(count))
        )
        assert sorted(e.seq for e in acks) == list(range(1, count + 1))
        with sqlite3.connect(db) as conn:
            for i in range(count):
                got = await bob.receive(timeout=10)
                assert got.seq == i + 1
                rows = conn.execute(
                    "SELECT seq, ts FROM messages WHERE group_id = ? AND id = ?",
                    (group.id, got.id),
                ).fetchall()
                assert rows == [(got.seq, got.ts)]


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_the_hub_relays_on_the_loop_it_is_told(tmp_path: Path, loop: str) -> None:
    with hub_on(tmp_path, "--loop", loop) as (url, named, db):
        assert named == loop
        await exchange(url, db, 50)


def test_auto_picks_uvloop_when_installed_and_the_environment_can_say_asyncio(
    tmp_path: Path,
) -> None:
    with hub_on(tmp_path) as (_, named, _):
        assert named == "uvloop"  # a dependency of ioa on Linux and macOS
    with hub_on(tmp_path, IOA_HUB_LOOP="asyncio") as (_, named, _):
        assert named == "asyncio"
    with hub_on(tmp_path, "--loop", "uvloop", IOA_HUB_LOOP="asyncio") as (_, named, _):
        assert named == "uvloop"  # the option wins over the environment


def test_an_unknown_loop_is_refused_in_one_line(tmp_path: Path) -> None:
    done = ioa("hub", "--port", "0", home=tmp_path / "home", IOA_HUB_LOOP="trio")
    assert done.returncode == EXIT_ERROR
    assert done.stderr.strip().splitlines() == [
        "ioa hub: unknown event loop 'trio': one of auto, asyncio, uvloop"
    ]
    assert "listening" not in done.stdout
    done = ioa("hub", "--loop", "trio", home=tmp_path / "home")
    assert "invalid choice: 'trio'" in done.stderr  # argparse: not one of the choices
    assert done.returncode == 2


def test_run_uses_the_loop_it_names_and_refuses_others_without_a_stray_coroutine() -> None:
    async def kind() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(kind(), "uvloop").startswith("uvloop")
    assert eventloop.run(kind(), "asyncio").startswith("asyncio")
    assert eventloop.resolve("auto") == "uvloop"
    never = kind()
    with pytest.raises(eventloop.UnknownLoop):
        eventloop.run(never, "trio")
    assert never.cr_frame is None  # closed: no "never awaited" warning at collection
