"""What the sandbox can actually enforce on this machine, measured, not assumed.

The company runner and the CLI print `Capabilities.describe()` so a user knows whether generated
code ran with no network and a read-only host, or merely in a killable process group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Capabilities", "IsolationMode"]

IsolationMode = Literal["namespaces", "process-group"]

RLIMITS = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")


@dataclass(frozen=True)
class Capabilities:
    """Which isolation mechanisms a run gets here; every flag was checked by a probe run."""

    mode: IsolationMode
    """`namespaces`: the program runs as PID 2 of new PID/net/mount/IPC/UTS namespaces;
    `process-group`: a plain child in its own session (limits and timeout only)."""
    is_root: bool
    unshare: str | None
    """Path of the util-linux `unshare` binary used, if any."""
    network_isolated: bool
    """An empty network namespace: nothing on the host or beyond is reachable."""
    pid_namespace: bool
    """Every process the program starts dies with it."""
    readonly_host: bool
    """Host mounts are read-only inside the sandbox; /tmp, /var/tmp, /run, /dev/shm are private."""
    private_dev: bool
    """Only null, zero, full, random and urandom exist in /dev."""
    privileges_dropped: bool
    """No capabilities and `no_new_privs`: the program cannot remount, unshare or raise limits."""
    process_limit: str
    """`cgroup-v1 pids.max`, `cgroup-v2 pids.max`, `RLIMIT_NPROC` or `none`."""
    rlimits: tuple[str, ...] = RLIMITS
    notes: tuple[str, ...] = field(default=())
    """Plain-language caveats: what is NOT prevented here."""

    def describe(self) -> str:
        """A short multi-line report for people."""
        yes = {True: "yes", False: "NO"}
        lines = [
            f"sandbox isolation: {self.mode} (running as {'root' if self.is_root else 'user'})",
            f"  network isolated:    {yes[self.network_isolated]}",
            f"  pid namespace:       {yes[self.pid_namespace]}",
            f"  read-only host fs:   {yes[self.readonly_host]}",
            f"  private /dev:        {yes[self.private_dev]}",
            f"  privileges dropped:  {yes[self.privileges_dropped]}",
            f"  process limit:       {self.process_limit}",
            f"  resource limits:     {', '.join(self.rlimits)}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rlimits"] = list(self.rlimits)
        data["notes"] = list(self.notes)
        return data


def caveats(caps: Capabilities) -> tuple[str, ...]:
    """The honest list of what this configuration leaves open."""
    notes = [
        "the program runs with the host's Python and its installed packages; nothing is installed",
    ]
    if caps.mode == "namespaces":
        notes.append(
            "host files stay readable (read-only); secrets readable by the runner's user "
            "are readable by the program"
        )
        notes.append(
            "UNIX sockets outside /tmp, /run and /dev stay connectable (sockets ignore read-only "
            "mounts)"
        )
    if not caps.network_isolated:
        notes.append("no network namespace: the program can open network connections")
    if not caps.readonly_host:
        notes.append(
            "no mount namespace: the program can write anywhere the runner's user can; "
            "only its working folder, HOME and TMPDIR point into the workspace"
        )
    if not caps.pid_namespace:
        notes.append(
            "no pid namespace: a child that leaves the process group"
            + (
                " is killed through the cgroup"
                if caps.process_limit.startswith("cgroup")
                else " can outlive the run"
            )
        )
    if caps.process_limit == "none":
        notes.append("no process limit: a fork bomb is only stopped by the timeout")
    return tuple(notes)
