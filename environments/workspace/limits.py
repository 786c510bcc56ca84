"""The resource budget of one sandboxed run.

Defaults suit the small programs a local model writes: a few seconds, a few hundred MiB, a few
dozen processes. Every field is a hard limit enforced by the kernel or by the runner.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SandboxError

__all__ = ["SandboxLimits"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits; `validate()` runs on construction."""

    timeout_s: float = 5.0
    """Wall-clock time before the whole run is killed."""
    cpu_s: int = 10
    """CPU seconds (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL one second later."""
    memory_bytes: int = 512 * _MIB
    """Address space per process (RLIMIT_AS): a hog gets MemoryError, not the host's RAM."""
    file_size_bytes: int = 16 * _MIB
    """Largest file a process may write (RLIMIT_FSIZE)."""
    open_files: int = 256
    """Open file descriptors per process (RLIMIT_NOFILE)."""
    processes: int = 64
    """Processes and threads at once (cgroup pids.max, or RLIMIT_NPROC when not root)."""
    output_bytes: int = 64 * 1024
    """Bytes kept per output stream; the rest is read and dropped."""
    tmpfs_bytes: int = 64 * _MIB
    """The run's whole disk (namespace mode): one tmpfs holding the workspace copy, /tmp,
    /var/tmp and /dev/shm together; a program that fills it gets ENOSPC, the `disk` limit."""
    disk_files: int = 20_000
    """Files and folders that disk may hold (the tmpfs's inodes): bounds what is copied back."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not 0 < self.timeout_s <= 3600:
            raise SandboxError(f"timeout_s must be in (0, 3600], not {self.timeout_s}")
        checks = {
            "cpu_s": (self.cpu_s, 1),
            "memory_bytes": (self.memory_bytes, 32 * _MIB),
            "file_size_bytes": (self.file_size_bytes, 1),
            "open_files": (self.open_files, 16),
            "processes": (self.processes, 4),
            "output_bytes": (self.output_bytes, 1),
            "tmpfs_bytes": (self.tmpfs_bytes, _MIB),
            "disk_files": (self.disk_files, 64),
        }
        for name, (value, low) in checks.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SandboxError(f"{name} must be an integer >= {low}, not {value!r}")
