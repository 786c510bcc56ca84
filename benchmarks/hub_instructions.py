"""Instructions per message of the hub, the floor relay and the a2a-sdk echo agent: load-proof.

On a shared machine msgs/s and even CPU seconds move with the other jobs (preemption, caches,
frequency); the number of instructions a server executes per message does not. Each server runs
as in `hub_throughput.py` (same `ServerProcess` targets), but under `valgrind --tool=callgrind`,
with instrumentation off until the load is warm: `callgrind_control -i on` opens the window,
`-i off` closes it once `--messages` more are acked, so start-up, population and warm-up are not
counted. The load is the benchmark's own (64 closed-loop pairs, one message in flight each; N
closed-loop `SendMessage` clients for a2a-sdk). Per thread (the hub's SQLite writer is one),
the totals are read from callgrind's output file; `--keep DIR` keeps the files for
`callgrind_annotate`.

    python benchmarks/hub_instructions.py [--servers hub,floor,a2a] [--loop auto] [--messages 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import aiohttp
from _hub.a2a_load import start_clients
from _hub.floor import run_floor
from _hub.hub_load import populate, start_closed_loop
from _hub.measure import Run, drain
from _hub.servers import A2A_RPC_PATH, BenchError, ServerProcess, run_a2a, run_hub

from ioa import eventloop

POLL = 0.05
WINDOW_TIMEOUT = 600.0


def wrapper(tmp: Path, out: Path) -> Path:
    """An 'interpreter' for multiprocessing's spawn: Python under callgrind, collecting nothing
    until told to."""
    script = tmp / "python-under-callgrind"
    script.write_text(
        "#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes"
        f' --callgrind-out-file={out}.%p {sys.executable} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def instrument(pid: int, on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(pid)],
        check=True,
        capture_output=True,
    )


def totals(out: Path, pid: int) -> dict[str, int]:
    """Instructions per thread (`.../out.<pid>-<thread>`) from callgrind's summary lines."""
    found: dict[str, int] = {}
    for path in sorted(out.parent.glob(f"{out.name}.{pid}*")):
        text = path.read_text(errors="replace")
        match = re.search(r"^totals:\s+(\d+)", text, re.MULTILINE)
        if match:
            thread = path.name.rsplit("-", 1)[-1] if "-" in path.name else "1"
            found[thread] = found.get(thread, 0) + int(match.group(1))
    return found


async def window(server: ServerProcess, run: Run, messages: int, warm: int) -> int:
    """Wait for `warm` acks, then instrument the server while the next `messages` are acked;
    how many were acked in between."""
    deadline = time.monotonic() + WINDOW_TIMEOUT
    while run.acked < warm:
        if time.monotonic() > deadline:
            raise BenchError("the warm-up did not finish")
        await asyncio.sleep(POLL)
    pid = server.process.pid
    if pid is None:
        raise BenchError(f"{server.name} is not running")
    instrument(pid, on=True)
    start = run.acked
    while run.acked - start < messages:
        if time.monotonic() > deadline:
            raise BenchError("the window did not finish")
        await asyncio.sleep(POLL)
    instrument(pid, on=False)
    return run.acked - start


async def load_hub(server: ServerProcess, args: argparse.Namespace) -> int:
    pop = await populate(server.url, max(args.pairs, args.connected // 2), 0, 64)
    try:
        run = Run()
        pairs = pop.pairs[: args.pairs]
        senders = [s for s, _ in pairs]
        await start_closed_loop(run, senders, senders + [r for _, r in pairs], 1)
        counted = await window(server, run, args.messages, args.warmup)
        run.sending = False
        await drain(run)
        return counted
    finally:
        await pop.close()


async def load_a2a(server: ServerProcess, args: argparse.Namespace) -> int:
    run = Run()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = start_clients(session, server.url + A2A_RPC_PATH, run, args.pairs, 64)
        try:
            return await window(server, run, args.messages // 10, args.warmup // 10)
        finally:
            run.sending = False
            await asyncio.gather(*clients)


def measure(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    out = tmp / f"cg-{name}"
    db = str(tmp / f"{name}.db")
    targets: dict[str, tuple[Callable[..., None], tuple[object, ...]]] = {
        "hub": (run_hub, (db, 4096, None)),
        "floor": (run_floor, (db, 4096)),
        "a2a": (run_a2a, (4096,)),
    }
    target, targs = targets[name]
    load: Callable[[ServerProcess, argparse.Namespace], Coroutine[Any, Any, int]] = (
        load_a2a if name == "a2a" else load_hub
    )
    resource_tracker.ensure_running()  # with the real interpreter, before it is swapped
    multiprocessing.get_context("spawn").set_executable(str(wrapper(tmp, out)))
    server = ServerProcess(name, target, *targs, loop=args.loop)
    try:
        server.start()
        counted = eventloop.run(load(server, args), "asyncio")
    finally:
        server.stop()
        multiprocessing.get_context("spawn").set_executable(sys.executable)
    pid = server.process.pid
    if pid is None:
        raise BenchError(f"{name} never started")
    threads = totals(out, pid)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for path in tmp.glob(f"{out.name}.*"):
            shutil.copy(path, args.keep / f"{path.name}-{args.loop}")
    total = sum(threads.values())
    per_thread = {t: round(n / counted) for t, n in sorted(threads.items()) if n}
    print(
        f"{name:<6} ({eventloop.resolve(args.loop)}): {counted:,} messages,"
        f" {total / counted / 1000:,.1f} k instructions/msg; by thread {per_thread}",
        flush=True,
    )
    return {
        "messages": counted,
        "instructions_per_msg": round(total / counted),
        "by_thread": per_thread,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--servers", default="hub,floor,a2a")
    p.add_argument("--loop", choices=eventloop.LOOPS, default="auto")
    p.add_argument("--pairs", type=int, default=64, help="pairs (hub, floor) or clients (a2a)")
    p.add_argument(
        "--connected",
        type=int,
        default=0,
        help="agents connected in all (hub, floor), idle but for the pairs (hub_throughput: 1,016)",
    )
    p.add_argument("--messages", type=int, default=3000, help="counted (a2a: a tenth)")
    p.add_argument("--warmup", type=int, default=1000, help="acks before counting (a2a: a tenth)")
    p.add_argument("--keep", type=Path, help="copy callgrind's files here")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("hub_instructions: valgrind (with callgrind_control) is not installed")
    result: dict[str, object] = {"loop": eventloop.resolve(args.loop)}
    with tempfile.TemporaryDirectory(prefix="ioa-cg-") as tmp:
        for name in args.servers.split(","):
            result[name] = measure(name.strip(), args, Path(tmp))
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"hub_instructions: {exc}")
