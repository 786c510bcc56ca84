"""Start a child without a shell, read its output without trusting its size, stop it on time.

Output is read incrementally from both pipes; per stream the first and the last `cap / 2` bytes
are kept and the middle is counted and dropped, so a program printing gigabytes costs the runner
nothing but CPU, and a traceback at the end of a long log still arrives. At the
deadline the whole process group gets SIGKILL.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from .errors import SandboxError

__all__ = ["DROPPED_MARKER", "Captured", "run_captured"]

_CHUNK = 1 << 16
DROPPED_MARKER = b"\n[... %d bytes dropped ...]\n"
_GRACE_S = 0.3


@dataclass
class Captured:
    """What came out of one child process."""

    returncode: int
    stdout: bytes
    stderr: bytes
    stdout_total: int
    stderr_total: int
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    duration_s: float
    status: bytes


class _Stream:
    """Keeps the first half of the budget and a rolling last half: the start of the output and
    the end (where a traceback is) both survive a flood."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap - cap // 2
        self.tail_cap = cap // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self.tail_cap:
            self.tail += chunk[-self.tail_cap :]
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def kept(self) -> bytes:
        """Head and tail, with a marker line where bytes were dropped."""
        if not self.truncated:
            return bytes(self.head + self.tail)
        dropped = self.total - len(self.head) - len(self.tail)
        return bytes(self.head) + DROPPED_MARKER % dropped + bytes(self.tail)


def run_captured(
    argv_for: Callable[[int], Sequence[str]],
    *,
    cwd: str,
    env: dict[str, str],
    timeout_s: float,
    cap: int,
    on_stop: Callable[[], None] | None = None,
) -> Captured:
    """Run `argv_for(status_fd)` in a new session, handing it the write end of a status pipe.

    `on_stop` runs after the process group is killed, to reach what the group cannot.
    """
    status_read, status_write = os.pipe()
    try:
        final_argv = list(argv_for(status_write))
    except BaseException:
        os.close(status_read)
        os.close(status_write)
        raise
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            final_argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            shell=False,
            start_new_session=True,
            close_fds=True,
            pass_fds=(status_write,),
        )
    except OSError as exc:
        os.close(status_read)
        raise SandboxError(f"cannot start {final_argv[0]}: {exc.strerror}") from None
    finally:
        os.close(status_write)
    streams = {"stdout": _Stream(cap), "stderr": _Stream(cap)}
    timed_out = _pump(proc, streams, started + timeout_s)
    _kill_group(proc)
    if on_stop is not None:
        on_stop()
    returncode = proc.wait()
    status = _read_status(status_read)
    return Captured(
        returncode=returncode,
        stdout=streams["stdout"].kept(),
        stderr=streams["stderr"].kept(),
        stdout_total=streams["stdout"].total,
        stderr_total=streams["stderr"].total,
        stdout_truncated=streams["stdout"].truncated,
        stderr_truncated=streams["stderr"].truncated,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
        status=status,
    )


def _pump(proc: subprocess.Popen[bytes], streams: dict[str, _Stream], deadline: float) -> bool:
    """Read both pipes until EOF, the deadline (returns True) or a quiet exit plus grace."""
    selector = selectors.DefaultSelector()
    stdout, stderr = proc.stdout, proc.stderr
    if stdout is None or stderr is None:
        raise SandboxError("the child was started without output pipes")
    selector.register(stdout, selectors.EVENT_READ, streams["stdout"])
    selector.register(stderr, selectors.EVENT_READ, streams["stderr"])
    exited_at: float | None = None
    try:
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                return proc.poll() is None
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > _GRACE_S:
                return False
            wait = min(deadline - now, 0.05 if exited_at is None else _GRACE_S)
            for key, _ in selector.select(max(wait, 0.0)):
                chunk = os.read(key.fd, _CHUNK)
                if chunk:
                    key.data.feed(chunk)
                else:
                    selector.unregister(key.fileobj)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return proc.poll() is None
        try:
            proc.wait(remaining)
        except subprocess.TimeoutExpired:
            return True
        return False
    finally:
        selector.close()
        stdout.close()
        stderr.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_status(fd: int) -> bytes:
    """The launcher's one-line report; the pipe is ours, so it is small and ends at EOF."""
    chunks: list[bytes] = []
    os.set_blocking(fd, False)
    try:
        while len(chunks) < 64 and (chunk := os.read(fd, 4096)):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)
