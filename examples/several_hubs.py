"""Three hubs, one PostgreSQL, one Redis, all on loopback: agents on different hubs talk in one
group, one hub is killed -9, and its agent carries on through another hub from the same list.

    python examples/several_hubs.py [--pg postgresql://…] [--hubs 3]

Without `--pg` a throwaway PostgreSQL is made with Debian's `initdb` (as the `postgres` user
when run as root); `redis-server` comes from Debian too. Each hub is `ioa hub --db PG --broker
REDIS` in its own process, exactly as on several machines behind a TCP load balancer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ioa.client import HubClient
from protocols import AgentCard, Chat


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on port {port}")


@contextlib.contextmanager
def postgres(folder: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port, trusting local connections."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql, or pass --pg")
    bindir = Path(bins[-1]).parent
    data, port = folder / "pg", free_port()
    data.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [*as_postgres, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
         "-c", "listen_addresses=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, server, "postgres")
        time.sleep(0.5)  # it listens a moment before it accepts logins
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(stop, stdout=subprocess.DEVNULL, check=False)
        server.wait(30)


@contextlib.contextmanager
def redis(folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, server, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()


def start_hub(database: str, broker: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    hub = subprocess.Popen(
        [sys.executable, "-m", "ioa", "hub", "--port", str(port), "--db", database, "--broker",
         broker, "--embeddings", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, hub, "ioa hub")
    return hub, f"http://127.0.0.1:{port}"


async def conversation(urls: list[str], hubs: list[subprocess.Popen[bytes]]) -> None:
    ada = HubClient(",".join(urls))  # starts at the first hub, fails over along the list
    bob = HubClient(",".join(urls[1:] + urls[:1]))
    async with ada, bob:
        await ada.register(AgentCard(name="ada", description="asks"))
        await bob.register(AgentCard(name="bob", description="answers"))
        await ada.connect()
        await bob.connect()
        group = await ada.create_group([bob.agent_id])  # type: ignore[list-item]
        print(f"ada on {urls[0]}, bob on {urls[1]}, group {group.id}")
        for i in range(3):
            sent = await ada.say(group.id, Chat(text=f"question {i}"))
            got = await bob.receive(timeout=10)
            print(f"  seq {sent.seq}: ada → bob across hubs: {got.payload.text!r}")  # type: ignore[attr-defined]
        hubs[0].kill()  # kill -9 ada's hub
        killed = time.monotonic()
        print(f"killed ada's hub {urls[0]}")
        await bob.say(group.id, Chat(text="are you still there?"))
        got = await ada.receive(timeout=15)
        print(
            f"  ada resumed through another hub {time.monotonic() - killed:.1f} s later and read "
            f"seq {got.seq}: {got.payload.text!r}"  # type: ignore[attr-defined]
        )
        sent = await ada.say(group.id, Chat(text="yes, through another hub"))
        got = await bob.receive(timeout=10)
        print(f"  seq {sent.seq}: {got.payload.text!r}")  # type: ignore[attr-defined]
        history = await bob.history(group.id)
        seqs = [e.seq for e in history]
        print(f"stored: seq {seqs} — gap-free: {seqs == list(range(1, len(seqs) + 1))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="an existing PostgreSQL database URL")
    parser.add_argument("--hubs", type=int, default=3, help="how many hubs (at least 2)")
    args = parser.parse_args()
    if args.hubs < 2:
        parser.error("--hubs must be at least 2")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = args.pg or stack.enter_context(postgres(folder))
        broker = stack.enter_context(redis(folder))
        hubs, urls = [], []
        try:
            for _ in range(args.hubs):
                hub, url = start_hub(database, broker)
                hubs.append(hub)
                urls.append(url)
            print(f"{args.hubs} hubs on one PostgreSQL and one Redis: {', '.join(urls)}")
            asyncio.run(conversation(urls, hubs))
        finally:
            for hub in hubs:
                hub.kill()
                hub.wait()


if __name__ == "__main__":
    main()
