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
    """Nothing of the host is writable: only the workspace copy and the private scratch folders."""
    private_dev: bool
    """Only null, zero, full, random and urandom exist in /dev."""
    privileges_dropped: bool
    """No capabilities and `no_new_privs`: the program cannot remount, unshare or raise limits."""
    process_limit: str
    """`cgroup-v1 pids.max`, `cgroup-v2 pids.max`, `RLIMIT_NPROC` or `none`."""
    rlimits: tuple[str, ...] = RLIMITS
    notes: tuple[str, ...] = field(default=())
    """Plain-language caveats: what is NOT prevented here."""
    host_hidden: bool = False
    """The program sees an allow-list, not the host: /usr, the interpreter's folders, a few
    generated /etc files, its workspace and private scratch; no home, run state or sockets."""
    user_namespaces_blocked: bool = False
    """`unshare(CLONE_NEWUSER)` fails: no namespace where the program would hold capabilities."""
    disk_bounded: bool = False
    """The workspace and the scratch folders share one size- and inode-limited disk per run."""

    def describe(self) -> str:
        """A short multi-line report for people."""
        yes = {True: "yes", False: "NO"}
        blocked = {True: "blocked", False: "NOT blocked"}
        bounded = {True: "bounded", False: "NOT bounded"}
        lines = [
            f"sandbox isolation: {self.mode} (running as {'root' if self.is_root else 'user'})",
            f"  network isolated:    {yes[self.network_isolated]}",
            f"  pid namespace:       {yes[self.pid_namespace]}",
            f"  host hidden:         {yes[self.host_hidden]} (allow-list view)",
            f"  read-only host fs:   {yes[self.readonly_host]}",
            f"  private /dev:        {yes[self.private_dev]}",
            f"  privileges dropped:  {yes[self.privileges_dropped]}",
            f"  user namespaces:     {blocked[self.user_namespaces_blocked]}",
            f"  disk per run:        {bounded[self.disk_bounded]}",
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
    """The honest list of what this configuration leaves open, each item observed by the probe
    or by the attack suite (`tests/environments/workspace/test_sandbox_attacks.py`)."""
    notes = [
        "the program runs with the host's Python and the packages installed in its prefix; "
        "nothing is installed",
    ]
    if caps.mode == "namespaces":
        notes.append(
            "the program works on a copy of the workspace; folders, regular files and links are "
            "copied back when it ends (FIFOs, sockets and folders over 32 deep are not)"
        )
    else:
        notes.append("refused for model-written code unless chosen explicitly (isolation='none')")
    if not caps.host_hidden:
        notes.append(
            "host files are visible: the program reads (and, without a read-only host, writes) "
            "every file the runner's user can, including the home folder, the run's state and "
            "hub credentials, other runs, and UNIX sockets"
        )
    if not caps.pid_namespace:
        notes.append(
            "the runner's environment (cloud keys, hub tokens) is readable through "
            "/proc/<pid>/environ, and the program can trace (ptrace) the runner (as root always; "
            "as a user unless Yama's ptrace_scope forbids it)"
        )
    if not caps.network_isolated:
        notes.append("no network namespace: the program can open network connections")
    if not caps.readonly_host:
        notes.append(
            "no mount namespace: the program can write anywhere the runner's user can; "
            "only its working folder, HOME and TMPDIR point into the workspace"
        )
    if not caps.pid_namespace:
        if not caps.process_limit.startswith("cgroup"):
            notes.append(
                "no pid namespace: a child that leaves the process group can outlive the run"
            )
        elif caps.is_root:
            notes.append(
                "no pid namespace: a child that leaves the process group is killed through the "
                "cgroup, but one that moves itself out of the run's cgroup (root can) outlives "
                "the run"
            )
        else:
            notes.append(
                "no pid namespace: a child that leaves the process group is killed through the "
                "cgroup"
            )
    if not caps.user_namespaces_blocked:
        notes.append("the program can create a user namespace and hold every capability inside it")
    if not caps.disk_bounded:
        notes.append(
            "disk is bounded per file (RLIMIT_FSIZE), not per run: many files can fill the disk"
        )
    if caps.process_limit == "none":
        notes.append("no process limit: a fork bomb is only stopped by the timeout")
    return tuple(notes)
