"""How a sandboxed run ended, in one of four words, with the evidence attached.

`ok` (exit 0 in time), `error` (non-zero exit, a signal, or a traceback), `timeout` (still
running at the deadline) and `limit` (stopped by a resource limit: memory, CPU, file size,
processes, the run's disk). ChatDev looked only for the word "Traceback" in three seconds of
stderr; here the exit status, the parsed traceback and the limits each count.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any, Literal

from .tracebacks import PyTraceback, parse_last_line, parse_traceback

__all__ = ["LimitKind", "Status", "Verdict", "judge"]

Status = Literal["ok", "error", "timeout", "limit"]
LimitKind = Literal["memory", "cpu", "file_size", "processes", "disk"]

_FATAL_SIGNALS: dict[int, LimitKind] = {
    signal.SIGXCPU: "cpu",
    signal.SIGXFSZ: "file_size",
}


@dataclass(frozen=True)
class Verdict:
    """One run of a program in the sandbox."""

    status: Status
    exit_code: int | None
    """The program's own exit code; None if a signal ended it."""
    signal: int | None
    """The signal that ended the program (SIGKILL after a timeout, SIGXCPU at the CPU limit)."""
    timed_out: bool
    limit: LimitKind | None
    """Which resource limit the program ran into, if any."""
    duration_s: float
    stdout: str
    """Decoded output; when truncated, its head and tail around a `[... N bytes dropped ...]`
    line."""
    stderr: str
    stdout_bytes: int
    """Everything the program wrote to stdout, kept or not."""
    stderr_bytes: int
    stdout_truncated: bool
    stderr_truncated: bool
    traceback: PyTraceback | None
    """The last Python traceback in stderr, with the deepest frame in the project's files."""
    isolation: str
    """`namespaces` or `process-group`: what contained this run."""
    argv: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def executable(self) -> bool:
        """Exited 0, or was still running without a traceback at the deadline (GUIs, games)."""
        return self.ok or (self.status == "timeout" and self.traceback is None)

    def headline(self) -> str:
        """One line a person or a model can act on."""
        if self.status == "ok":
            return f"ok: exited 0 in {self.duration_s:.2f}s"
        if self.status == "limit":
            reason = f"{self.limit} limit"
            return f"limit: stopped by the {reason}" + (
                f" ({self.traceback.summary()})" if self.traceback else ""
            )
        if self.status == "timeout":
            return f"timeout: still running after {self.duration_s:.2f}s; killed"
        if self.traceback is not None:
            return f"error: {self.traceback.summary()}"
        if self.signal is not None:
            return f"error: killed by signal {_signal_name(self.signal)}"
        if self.exit_code is None:
            return "error: not run"
        return f"error: exited with code {self.exit_code}"

    def report(self, max_chars: int = 2000) -> str:
        """The headline plus the tail of stderr, sized for a small model's prompt."""
        parts = [self.headline()]
        tail = self.stderr[-max_chars:].strip()
        if tail:
            parts.append(tail)
        if self.stdout_truncated or self.stderr_truncated:
            parts.append(
                f"(output capped: stdout {self.stdout_bytes} bytes, stderr {self.stderr_bytes})"
            )
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "executable": self.executable,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "timed_out": self.timed_out,
            "limit": self.limit,
            "duration_s": round(self.duration_s, 3),
            "stdout_bytes": self.stdout_bytes,
            "stderr_bytes": self.stderr_bytes,
            "stdout_truncated": self.stdout_truncated,
            "stderr_truncated": self.stderr_truncated,
            "traceback": self.traceback.to_dict() if self.traceback else None,
            "isolation": self.isolation,
            "argv": list(self.argv),
        }


def judge(
    *,
    exit_code: int | None,
    signal_number: int | None,
    timed_out: bool,
    pids_exhausted: bool,
    duration_s: float,
    stdout: bytes,
    stderr: bytes,
    stdout_bytes: int,
    stderr_bytes: int,
    stdout_truncated: bool,
    stderr_truncated: bool,
    root: str,
    isolation: str,
    argv: tuple[str, ...] = (),
    disk_full: bool = False,
) -> Verdict:
    """Combine exit status, stderr and limit evidence into a `Verdict`."""
    err_text = stderr.decode("utf-8", errors="replace")
    traceback = parse_traceback(err_text, root)
    if traceback is None and stderr_truncated:
        traceback = parse_last_line(err_text)
    limit: LimitKind | None = "disk" if disk_full else None
    limit = limit or _limit_hit(signal_number, traceback, pids_exhausted)
    status: Status
    if exit_code == 0 and not timed_out:
        status = "ok"
    elif limit is not None:
        status = "limit"
    elif timed_out:
        status = "timeout"
    else:
        status = "error"
    return Verdict(
        status=status,
        exit_code=exit_code,
        signal=signal_number,
        timed_out=timed_out,
        limit=limit,
        duration_s=duration_s,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=err_text,
        stdout_bytes=stdout_bytes,
        stderr_bytes=stderr_bytes,
        stdout_truncated=stdout_truncated,
        stderr_truncated=stderr_truncated,
        traceback=traceback,
        isolation=isolation,
        argv=argv,
    )


def _limit_hit(
    signal_number: int | None, traceback: PyTraceback | None, pids_exhausted: bool
) -> LimitKind | None:
    if signal_number in _FATAL_SIGNALS:
        return _FATAL_SIGNALS[signal_number]
    if pids_exhausted:
        return "processes"
    if traceback is None:
        return None
    if traceback.exc_type == "MemoryError":
        return "memory"
    if "[Errno 27]" in traceback.message:
        return "file_size"
    if "[Errno 28]" in traceback.message:
        return "disk"
    if traceback.exc_type == "BlockingIOError" and "[Errno 11]" in traceback.message:
        return "processes"
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
