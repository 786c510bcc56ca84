"""The launcher the sandbox puts between itself and a generated program.

Run as a script by the host Python (never imported by the package at run time), with one JSON
argument. It applies resource limits, joins the pids cgroup, and then either execs the program at
once (no namespaces) or, as PID 1 of fresh PID/network/mount/IPC/UTS namespaces made by
`unshare`, builds a confined view of the host first:

- every host mount read-only, `nosuid`, `nodev`;
- a private `tmpfs` on /tmp, /var/tmp, /run and /dev/shm (which also hides the host's UNIX
  sockets there: docker, dbus, X11), and a minimal /dev (null, zero, full, random, urandom);
- the workspace bind-mounted back read-write (`nosuid`, `nodev`, `noexec`), and the
  interpreter's environment read-only when it lives under one of the private folders;
- the loopback interface of the empty network namespace brought up (it reaches nothing outside);
- the program forked as a child with no capabilities, `no_new_privs`, and root's special powers
  locked off, so it cannot undo any of the above.

PID 1 waits for the program and reports how it ended on a status pipe the program never sees;
when PID 1 exits the kernel kills everything left in the namespace. Stdlib only, on purpose.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import resource
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECURE_ALL_LOCKED = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
DEVICES = ("null", "zero", "full", "random", "urandom")
PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/run")
"""Covered by empty tmpfs: scratch space, and /run's UNIX sockets (docker, dbus) hidden."""

LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "file_size_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}

_libc = ctypes.CDLL(None, use_errno=True)


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def apply_limits(spec: dict[str, Any]) -> None:
    """Resource limits first, so they bind everything that follows, even setup."""
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
    procs_file = spec.get("cgroup_procs")
    if procs_file:
        with open(procs_file, "w") as handle:
            handle.write(str(os.getpid()))


def _readonly_everything() -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    result = _libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    if result == 0:
        return
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    for point in points:
        target = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), point)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _private_dev(device_fds: dict[str, int], tmpfs_bytes: int) -> None:
    _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m")
    for name, fd in device_fds.items():
        target = f"/dev/{name}"
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o666))
        _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    os.mkdir("/dev/shm", 0o1777)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmpfs_bytes}")
    os.symlink("/proc/self/fd", "/dev/fd")
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{number}", f"/dev/{name}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def confine(spec: dict[str, Any]) -> dict[str, bool]:
    """Build the confined view of the host inside the new mount namespace."""
    workspace = spec["workspace"]
    workspace_fd = os.open(workspace, os.O_PATH | os.O_DIRECTORY)
    device_fds = {name: os.open(f"/dev/{name}", os.O_PATH) for name in DEVICES}
    runtime_fds = {
        path: os.open(path, os.O_PATH | os.O_DIRECTORY)
        for path in spec["runtime"]
        if any(path.startswith(folder + "/") for folder in PRIVATE_FOLDERS)
    }
    tmpfs = f"mode=1777,size={int(spec['tmpfs_bytes'])}"
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _readonly_everything()
    _private_dev(device_fds, int(spec["tmpfs_bytes"]))
    for folder in PRIVATE_FOLDERS:
        if os.path.isdir(folder) and not os.path.islink(folder):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, tmpfs)
    for path, fd in runtime_fds.items():  # an interpreter living under /tmp (a CI venv)
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    os.makedirs(workspace, exist_ok=True)
    _mount(f"/proc/self/fd/{workspace_fd}", workspace, None, MS_BIND)
    _mount(None, workspace, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for fd in (workspace_fd, *device_fds.values()):
        os.close(fd)
    facts = {"readonly_host": True, "private_dev": True, "loopback": True, "caps_dropped": True}
    try:
        _loopback_up()
    except OSError:
        facts["loopback"] = False
    return facts


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


def _child(spec: dict[str, Any], error_fd: int) -> None:
    """In the forked child: drop every privilege and become the program; never returns."""
    try:
        os.set_inheritable(error_fd, False)
        os.closerange(3, error_fd)
        os.closerange(error_fd + 1, 1 << 16)
        drop_privileges()
        _exec(spec)
    except BaseException as exc:  # report anything, then leave without running cleanup code
        os.write(error_fd, f"{type(exc).__name__}: {exc}".encode()[:4000])
    os._exit(127)


def supervise(spec: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> int:
    """As PID 1: fork the program, reap every orphan, report how the program ended."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(spec, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as errors:
        failure = errors.read().decode(errors="replace")
    if failure:
        report({"setup_error": f"could not start the program: {failure}"})
        os.waitpid(pid, 0)
        return 125
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            report({"setup_error": "the program vanished"})
            return 125
        if done == pid:
            break
    if os.WIFSIGNALED(status):
        report({"signal": os.WTERMSIG(status)})
    else:
        report({"exit": os.WEXITSTATUS(status)})
    return 0


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    status_fd = int(spec["status_fd"])
    os.set_inheritable(status_fd, False)
    facts: dict[str, Any] = {}

    def report(fields: dict[str, Any]) -> None:
        os.write(status_fd, json.dumps({**facts, **fields}).encode() + b"\n")

    try:
        apply_limits(spec)
        if not spec["namespaces"]:
            _exec(spec)
        facts.update(confine(spec))
    except OSError as exc:
        report({"setup_error": str(exc)})
        return 125
    return supervise(spec, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
