"""One launch of the host Python inside the sandbox, in either isolation mode.

Builds the minimal environment (HOME and TMPDIR inside the workspace, headless, no display),
the launcher's spec and argv, runs it through `_process`, and turns the launcher's status line
into an exit code or signal. Never a shell: every command is an argv list.

With namespaces the program works on a copy of the workspace that the launcher copies back
when the program is over, so the launcher, not the host, enforces the deadline; the host's own
deadline comes `COPY_BACK_S` later and only catches a launcher that hangs.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._cgroup import PidsCgroup
from ._process import Captured, run_captured
from ._seccomp import supported as seccomp_supported
from ._tree import DIR_FLAGS, remove_entry
from .errors import SandboxError
from .limits import SandboxLimits

__all__ = ["SCRATCH", "Launched", "launch", "python_flags", "remove_scratch"]

SCRATCH = ".sandbox"
"""Folder inside the workspace holding a run's HOME and TMPDIR; removed after the run."""

JAIL = Path(__file__).with_name("_jail.py")
COPY_BACK_S = 10.0
"""How long after the program's deadline the launcher may take to copy the workspace back."""
MAX_DEPTH = 32
"""Folders deeper than this are not copied into or out of the run (no valid path is so deep)."""

HEADLESS_ENV = {
    "MPLBACKEND": "Agg",
    "SDL_VIDEODRIVER": "dummy",
    "SDL_AUDIODRIVER": "dummy",
    "QT_QPA_PLATFORM": "offscreen",
    "PYGAME_HIDE_SUPPORT_PROMPT": "1",
    "TERM": "dumb",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PIP_NO_INDEX": "1",
    "PIP_REQUIRE_VIRTUALENV": "1",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
}
"""No DISPLAY, dummy video/audio drivers, and pip told to refuse any install."""


def python_flags(site_packages: bool) -> list[str]:
    """Ignore PYTHON* variables and the user site, no .pyc files, unbuffered, UTF-8.

    Not `-I`: it drops the script's folder from sys.path, and multi-file programs import their
    siblings. `-S` (no site-packages at all) when the caller asks for it.
    """
    flags = ["-E", "-s", "-B", "-u", "-X", "utf8"]
    return [*flags, "-S"] if not site_packages else flags


@dataclass(frozen=True)
class Launched:
    """The raw outcome: captured output, how the program ended, and limit evidence."""

    captured: Captured
    exit_code: int | None
    signal: int | None
    timed_out: bool
    pids_exhausted: bool
    disk_full: bool
    """The workspace did not even fit on the run's disk (the program never started)."""
    facts: dict[str, Any]
    scratch: dict[str, bytes]


def launch(
    root: Path,
    python_args: Sequence[str],
    *,
    limits: SandboxLimits,
    python: str,
    namespaces: bool,
    unshare: str | None,
    use_cgroup: bool,
    timeout_s: float,
    scratch_files: dict[str, str] | None = None,
    read_back: Sequence[str] = (),
) -> Launched:
    """Run `python *python_args` with `root` as cwd; collect `read_back` scratch files."""
    scratch = _reset_scratch(root)
    for name, text in (scratch_files or {}).items():
        (scratch / name).write_text(text)
    cgroup = PidsCgroup.create(limits.processes) if use_cgroup else None
    if use_cgroup and cgroup is None:
        raise SandboxError("the pids cgroup could not be created for this run")
    env = _environment(root, python)
    spec = {
        "workspace": str(root),
        "argv": [python, *python_args],
        "env": env,
        "namespaces": namespaces,
        "limits": asdict(limits),
        "disk_bytes": limits.tmpfs_bytes,
        "disk_files": limits.disk_files,
        "max_depth": MAX_DEPTH,
        "runtime": list(interpreter_roots(python)),
        "read_back": list(read_back),
        "timeout_s": timeout_s,
        "seccomp": seccomp_supported(),
        "cgroup_procs": cgroup.procs_file if cgroup else None,
        "nproc": None if cgroup or os.geteuid() == 0 else _own_process_count() + limits.processes,
    }

    def argv_for(status_fd: int) -> list[str]:
        spec_json = json.dumps({**spec, "status_fd": status_fd})
        jail = [sys.executable, "-I", "-S", "-B", str(JAIL), spec_json]
        if not namespaces:
            return jail
        if unshare is None:
            raise SandboxError("namespace isolation needs the util-linux 'unshare' binary")
        return [*unshare_argv(unshare), *jail]

    try:
        captured = run_captured(
            argv_for,
            cwd=str(root),
            env=env,
            timeout_s=timeout_s + (COPY_BACK_S if namespaces else 0.0),
            cap=limits.output_bytes,
            on_stop=cgroup.kill_all if cgroup else None,
        )
        pids_exhausted = cgroup.hit_limit() if cgroup else False
        collected = {name: _read_scratch(scratch, name) for name in read_back}
    finally:
        if cgroup is not None:
            cgroup.remove()
        remove_scratch(root)
    status = _status(captured.status)
    if "setup_error" in status:
        raise SandboxError(f"the sandbox could not start the program: {status['setup_error']}")
    exit_code, signal_number = _ending(captured, status, namespaces)
    timed_out = captured.timed_out or bool(status.get("timed_out"))
    disk_full = bool(status.get("disk_full"))
    facts = {key: value for key, value in status.items() if key not in ("exit", "signal")}
    return Launched(
        captured, exit_code, signal_number, timed_out, pids_exhausted, disk_full, facts, collected
    )


def unshare_argv(unshare: str) -> list[str]:
    """New PID (with /proc), network, mount, IPC and UTS namespaces; a user one if not root."""
    argv = [unshare, "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--ipc", "--uts"]
    if os.geteuid() != 0:
        argv += ["--user", "--map-root-user"]
    return [*argv, "--"]


def remove_scratch(root: Path) -> None:
    """Delete the scratch folder, whatever the program made of it (a link, a FIFO, a tree
    deeper than Python's recursion limit), without following anything it planted."""
    try:
        root_fd = os.open(root, DIR_FLAGS)
    except OSError:
        return
    try:
        with suppress(FileNotFoundError):
            remove_entry(root_fd, SCRATCH)
    finally:
        os.close(root_fd)


def _reset_scratch(root: Path) -> Path:
    remove_scratch(root)
    scratch = root / SCRATCH
    for sub in ("home", "tmp"):
        (scratch / sub).mkdir(parents=True)
    return scratch


@lru_cache(maxsize=8)
def interpreter_roots(python: str) -> tuple[str, ...]:
    """The folders the interpreter needs besides /usr: its prefixes (a virtualenv and the
    Python it was made from, a pyenv or /opt build), asked of the interpreter itself once.

    Only these are shown to the program, so a package installed in editable mode from a source
    tree elsewhere is not importable in the sandbox, and neither is anything else of that tree.
    """
    code = "import sys; print(sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)"
    found = {str(Path(p).parent.parent) for p in (python, os.path.realpath(python))}
    with suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            [python, "-E", "-s", "-S", "-c", code], capture_output=True, timeout=30, check=False
        )
        found |= set(result.stdout.decode(errors="replace").split())
    roots: list[str] = []
    absolute = {p for p in found if os.path.isabs(p)}
    for path in sorted(absolute | {os.path.realpath(p) for p in absolute}):
        inside = any(path == root or path.startswith(root + "/") for root in roots)
        if path not in ("/", "/usr") and not path.startswith("/usr/") and not inside:
            roots.append(path)
    return tuple(roots)


def _environment(root: Path, python: str) -> dict[str, str]:
    scratch = root / SCRATCH
    return {
        "PATH": os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "TMP": str(scratch / "tmp"),
        "TEMP": str(scratch / "tmp"),
        **HEADLESS_ENV,
    }


def _read_scratch(scratch: Path, name: str, limit: int = 4 * 1024 * 1024) -> bytes:
    """A file the program left in scratch, reached without following symlinks, size-capped."""
    try:
        dir_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return b""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return b""
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, limit - size)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _status(raw: bytes) -> dict[str, Any]:
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        return {}
    try:
        status = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {}
    return status if isinstance(status, dict) else {}


def _ending(
    captured: Captured, status: dict[str, Any], namespaces: bool
) -> tuple[int | None, int | None]:
    """(exit code, signal) of the program itself, not of `unshare` or the launcher."""
    if namespaces:
        if "timed_out" in status or (captured.timed_out and "exit" not in status):
            return None, signal.SIGKILL
        if "exit" in status:
            return int(status["exit"]), None
        if "signal" in status:
            return None, int(status["signal"])
        tail = captured.stderr.decode("utf-8", errors="replace").strip()[-500:]
        raise SandboxError(
            f"the sandbox launcher ended without a report (code {captured.returncode}): {tail}"
        )
    if captured.returncode < 0:
        return None, -captured.returncode
    return captured.returncode, None


def _own_process_count() -> int:
    """Processes of our real uid (RLIMIT_NPROC counts them all, not just the program's)."""
    uid = str(os.getuid())
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        count += line.split()[1] == uid
                        break
        except OSError:
            continue
    return count
