"""The launcher the sandbox puts between itself and a generated program.

Run as a script by the host Python with `-I -S` (never imported by the package at run time),
with one JSON argument. Without namespaces it applies the resource limits, joins the pids
cgroup and execs the program. With them, it is PID 1 of fresh PID/network/mount/IPC/UTS
namespaces made by `unshare`, and:

1. joins the pids cgroup and builds the allow-list view (`_view`): a new root on one tmpfs,
   the run's whole disk, holding a copy of the workspace (`_tree.mirror`);
2. forks the program in its own session with the limits, no capabilities, `no_new_privs`,
   root's special powers locked off and the user-namespace filter (`_seccomp`);
3. waits until the program ends or the deadline passes, kills everything left in the
   namespace, and copies the workspace back to the host (only what `mirror` copies: folders,
   regular files, links), then reports how the program ended on a status pipe it never sees.

PID 1 keeps the default action for every signal, which the kernel turns into "ignore" for
signals sent from inside the namespace: a program that presses Ctrl-C on its own process group
interrupts itself, not the sandbox. Stdlib only; its sibling modules are loaded by path.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECURE_ALL_LOCKED = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SCRATCH = ".sandbox"

LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "file_size_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}

_libc = ctypes.CDLL(None, use_errno=True)


def _sibling(name: str) -> ModuleType:
    """A module next to this script (the package is not importable under `-I`)."""
    folder = os.path.dirname(os.path.abspath(__file__))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def apply_limits(spec: dict[str, Any]) -> None:
    """The program's resource limits (set in the process that becomes the program)."""
    limits = spec["limits"]
    for key, which in LIMITS.items():
        value = int(limits[key])
        resource.setrlimit(which, (value, value))
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = spec.get("nproc")
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc), int(nproc)))


def join_cgroup(spec: dict[str, Any]) -> None:
    procs_file = spec.get("cgroup_procs")
    if procs_file:
        with open(procs_file, "w") as handle:
            handle.write(str(os.getpid()))


def drop_privileges() -> None:
    """No capabilities, none regainable: root's uid stays but its powers are gone."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(PR_SET_SECUREBITS, SECURE_ALL_LOCKED, 0, 0, 0), "securebits")
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "capbset")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient")
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def _exec(spec: dict[str, Any]) -> None:
    os.chdir(spec["workspace"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def _child(spec: dict[str, Any], error_fd: int, seccomp: ModuleType) -> None:
    """In the forked child: limits, no privileges, the filter, the program; never returns."""
    try:
        os.set_inheritable(error_fd, False)
        os.closerange(3, error_fd)
        os.closerange(error_fd + 1, 1 << 16)
        for number in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        os.setsid()
        apply_limits(spec)
        drop_privileges()
        if spec["seccomp"]:
            seccomp.install_userns_filter(_libc)
        _exec(spec)
    except BaseException as exc:  # report anything, then leave without running cleanup code
        os.write(error_fd, f"{type(exc).__name__}: {exc}".encode()[:4000])
    os._exit(127)


def _start(spec: dict[str, Any], seccomp: ModuleType) -> int:
    """Fork the program; raise with the child's reason if it could not exec."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(spec, write_end, seccomp)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as errors:
        failure = errors.read().decode(errors="replace")
    if failure:
        os.waitpid(pid, 0)
        raise RuntimeError(f"could not start the program: {failure}")
    return pid


def _wait(pid: int, deadline: float, wakeup: int) -> int | None:
    """Reap orphans as they come until `pid` ends (its wait status) or the deadline (None)."""
    while True:
        while True:
            try:
                done, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if done == 0:
                break
            if done == pid:
                return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if select.select([wakeup], [], [], remaining)[0]:
            while True:
                try:
                    if not os.read(wakeup, 512):
                        break
                except BlockingIOError:
                    break


def _kill_everything() -> None:
    """SIGKILL every other process of the namespace and reap them all."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _copy_back(spec: dict[str, Any], view: Any, tree: ModuleType) -> dict[str, int]:
    """The workspace copy back onto the host; the scratch folder only for `read_back` files."""
    workspace = spec["workspace"]
    copy = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    host = view.host_workspace_fd
    try:
        report = tree.mirror(
            copy,
            host,
            max_depth=int(spec["max_depth"]),
            skip=lambda depth, name: depth == 0 and name == SCRATCH,
        )
        for name in spec["read_back"]:
            try:
                src = os.open(SCRATCH, tree.DIR_FLAGS, dir_fd=copy)
            except OSError:
                break
            try:
                dst = os.open(SCRATCH, tree.DIR_FLAGS, dir_fd=host)
                try:
                    tree.copy_file(name, src, dst, os.stat(name, dir_fd=src, follow_symlinks=False))
                finally:
                    os.close(dst)
            except OSError:
                report.skipped += 1
            finally:
                os.close(src)
    finally:
        os.close(copy)
    return {"copied_back": report.copied, "not_copied_back": report.skipped + report.too_deep}


def supervise(spec: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> int:
    """As PID 1: build the view, run the program, clean the namespace, copy back, report."""
    tree, view_module, seccomp = (_sibling(name) for name in ("_tree", "_view", "_seccomp"))
    join_cgroup(spec)
    view = view_module.build_view(spec, tree.mirror)
    facts: dict[str, Any] = {"loopback": view_module.loopback_up()}
    if not view.copied_in:
        os.write(2, b"the sandbox: the workspace does not fit on the run's disk\n")
        report({**facts, "exit": 1, "disk_full": True})
        return 0
    wakeup_read, wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    try:
        pid = _start(spec, seccomp)
    except RuntimeError as exc:
        report({"setup_error": str(exc)})
        return 125
    status = _wait(pid, time.monotonic() + float(spec["timeout_s"]), wakeup_read)
    _kill_everything()
    facts.update(_copy_back(spec, view, tree))
    if status is None:
        report({**facts, "timed_out": True, "signal": signal.SIGKILL})
    elif os.WIFSIGNALED(status):
        report({**facts, "signal": os.WTERMSIG(status)})
    else:
        report({**facts, "exit": os.WEXITSTATUS(status)})
    return 0


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    status_fd = int(spec["status_fd"])
    os.set_inheritable(status_fd, False)

    def report(fields: dict[str, Any]) -> None:
        os.write(status_fd, json.dumps(fields).encode() + b"\n")

    try:
        if not spec["namespaces"]:
            apply_limits(spec)
            join_cgroup(spec)
            _exec(spec)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        return supervise(spec, report)
    except OSError as exc:
        report({"setup_error": str(exc)})
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv))
