"""What a hub cluster runs on, started by the benchmark itself on loopback: a PostgreSQL server
(`initdb` in a temporary folder, as `.ci/run` does) and a Debian `redis-server`; and the CPU
each of them uses, read from /proc.

PostgreSQL is a tree of processes (the postmaster, one backend per connection, background
workers) whose backends come and go; its CPU is the postmaster's own, plus what its reaped
children used (the kernel adds that to the parent's `cutime`/`cstime` when it reaps them), plus
what its live children have used so far. Nothing is missed when a backend exits mid-run.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import psutil

from _hub.servers import BenchError

READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a process, its reaped children and its live descendants; 0 if gone."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return float(total)
    except psutil.Error:
        return 0.0


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user."""
    if os.geteuid() != 0:
        return argv
    return ["su", "postgres", "-c", shlex.join(argv)]


class Postgres:
    """A PostgreSQL server of the benchmark's own (default settings, loopback, trust), or the
    one named by `url`, on which each hub configuration gets a fresh database."""

    def __init__(self, url: str | None = None) -> None:
        self.given = url
        self.url = url or ""
        self.folder: Path | None = None
        self.pid: int | None = None
        """The postmaster, when its CPU can be read (ours, or a local one found by port)."""
        self._databases: list[str] = []

    def start(self) -> Postgres:
        if self.given is not None:
            self.pid = _postmaster_on(urlsplit(self.given).port or 5432)
            return self
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise BenchError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin); or --pg URL")
        pg_bin = bins[-1]
        self.folder = Path(tempfile.mkdtemp(prefix="ioa-bench-pg-"))
        data = self.folder / "data"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(data, "postgres")
        port = free_port()
        run = [f"{pg_bin}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"]
        subprocess.run(_as_postgres(run), check=True, capture_output=True)
        options = f"-p {port} -k {self.folder} -c listen_addresses=127.0.0.1"
        start = [f"{pg_bin}/pg_ctl", "-D", str(data), "-w", "-o", options]
        start += ["-l", str(self.folder / "log"), "start"]
        subprocess.run(_as_postgres(start), check=True, capture_output=True)
        self._pg_ctl = [f"{pg_bin}/pg_ctl", "-D", str(data), "-m", "fast", "stop"]
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        return self

    def cpu_seconds(self) -> float:
        return tree_cpu(self.pid)

    async def fresh_database(self, label: str) -> str:
        """The URL of a new, empty database (dropped at `stop` when the server is not ours)."""
        parts = urlsplit(self.url)
        name = f"ioa_bench_{label}_{os.getpid()}_{int(time.time())}"
        admin = await asyncpg.connect(urlunsplit(parts))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self._databases.append(name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    async def drop_databases(self) -> None:
        if self.given is None:
            return  # the whole server goes
        admin = await asyncpg.connect(self.url)
        try:
            for name in self._databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    def stop(self) -> None:
        if self.given is None and self.folder is not None:
            subprocess.run(_as_postgres(self._pg_ctl), check=False, capture_output=True)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _postmaster_on(port: int) -> int | None:
    """A local postmaster started with `-p port` (as `.ci/run` starts one), if any."""
    for proc in psutil.process_iter(["name", "cmdline", "ppid"]):
        with contextlib.suppress(psutil.Error):
            cmd = proc.info["cmdline"] or []
            at = cmd.index("-p") + 1 if "-p" in cmd else len(cmd)
            if proc.info["name"] == "postgres" and cmd[at : at + 1] == [str(port)]:
                return int(proc.pid)
    return None


class Redis:
    """Debian's `redis-server` on a free loopback port, no persistence."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ioa-bench-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def spawn(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise BenchError("redis-server is not installed (apt-get install redis-server)")
        argv = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder),
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        return self

    async def wait_ready(self) -> Redis:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self
            except OSError:
                await asyncio.sleep(0.02)
        raise BenchError(f"redis-server did not listen on {self.port}")

    def cpu_seconds(self) -> float:
        return tree_cpu(self.process.pid if self.process is not None else None)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
