"""A throw-away pids cgroup per run: the only fork-bomb brake that also binds root.

`RLIMIT_NPROC` is ignored for uid 0, so when the machine lets us create a child cgroup with a
`pids` controller (v1 or v2), every run gets one with `pids.max` set. Its `pids.events` tells us
afterwards whether the program hit the ceiling, and its `cgroup.procs` lists stragglers to kill
even if they left the process group.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PidsCgroup", "find_pids_parent"]


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of every mount, from /proc/self/mountinfo."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) >= 5 and len(tail) >= 3:
                    found.append((fields[4], tail[0], tail[2]))
    except OSError:
        return []
    return found


def _own_groups() -> dict[str, str]:
    """Controller list (or "" for v2) → this process's cgroup path."""
    groups: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                groups[controllers] = path
    except (OSError, ValueError):
        return {}
    return groups


def find_pids_parent() -> tuple[str, Path] | None:
    """("cgroup-v1" | "cgroup-v2", folder under which we may create pids cgroups), if any."""
    groups = _own_groups()
    for point, fstype, options in _mounts():
        if fstype == "cgroup2" and "" in groups:
            parent = Path(point) / groups[""].lstrip("/")
            if "pids" in _read(parent / "cgroup.controllers").split():
                return "cgroup-v2", parent
        if fstype == "cgroup" and "pids" in options.split(","):
            for controllers, path in groups.items():
                if "pids" in controllers.split(","):
                    return "cgroup-v1", Path(point) / path.lstrip("/")
    return None


@dataclass
class PidsCgroup:
    """One run's cgroup; `create` returns None when the machine does not allow it."""

    kind: str
    path: Path

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        found = find_pids_parent()
        if found is None:
            return None
        kind, parent = found
        path = parent / f"ioa-sandbox-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(kind, path)
        if not (path / "pids.max").exists() and kind == "cgroup-v2":
            with suppress(OSError):
                (parent / "cgroup.subtree_control").write_text("+pids")
        try:
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            group.remove()
            return None
        return group

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def hit_limit(self) -> bool:
        """True once a fork was refused because the cgroup was full."""
        for line in _read(self.path / "pids.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip().isdigit():
                return int(value) > 0
        return False

    def kill_all(self) -> None:
        """SIGKILL every process still in the group, until it is empty (bounded)."""
        for _ in range(50):
            pids = [int(pid) for pid in _read(self.path / "cgroup.procs").split() if pid.isdigit()]
            if not pids:
                return
            for pid in pids:
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
