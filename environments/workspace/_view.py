"""The file system a sandboxed program sees: an allow-list, not the host minus some folders.

Built by the jail (PID 1 of fresh namespaces) on one new `tmpfs`, then made the root with
`pivot_root`; the host's root is detached, so no path, `..` or /proc link leads back to it:

- read-only: /usr (the C library and the interpreter's shared libraries), the interpreter's
  own folders (a virtualenv or pyenv prefix, even under a home folder), /proc of the run's own
  PID namespace, five device nodes, and in /etc only what Python needs: `ld.so.cache`,
  `localtime` and small generated `passwd`, `group`, `hosts` and `nsswitch.conf`;
- writable: a copy of the workspace at its host path, /tmp, /var/tmp and /dev/shm.

Writable parts all live on that one `tmpfs` of `disk_bytes` bytes and `disk_files` inodes: the
run's whole disk. Nothing else of the host is there: no home folder, no run state or hub
credentials, no other run, no /etc/shadow, no UNIX socket. Stdlib only; the jail loads it by
path.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["View", "build_view"]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level folders that merged-/usr systems make links into /usr; copied as they are."""
SCRATCH_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")
ETC_FILES = {
    "passwd": "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": "root:x:0:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
}
"""Generated, never copied: the host's user list and name service stay outside."""
ETC_HOST_FILES = ("ld.so.cache", "localtime")
NEW_ROOT = "/tmp"
"""Where the new root is assembled before `pivot_root` (any folder would do; it is covered)."""

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


def _bind(fd: int, target: str, flags: int) -> None:
    """Bind what `fd` points at onto `target`, then apply `flags` to the new mount (and below)."""
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    attr = _MountAttr(
        (MOUNT_ATTR_RDONLY if flags & MS_RDONLY else 0)
        | (MOUNT_ATTR_NOSUID if flags & MS_NOSUID else 0)
        | (MOUNT_ATTR_NODEV if flags & MS_NODEV else 0),
        0,
        0,
        0,
    )
    result = _libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, target.encode(), AT_RECURSIVE, ctypes.byref(attr), 32
    )
    if result != 0:  # kernels before 5.12: the top mount only
        _mount(None, target, None, MS_BIND | MS_REMOUNT | flags)


def _touch(path: str, mode: int = 0o644) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, mode))


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class View:
    """What `build_view` leaves the jail: the host workspace's fd and the copy-in outcome."""

    def __init__(self, host_workspace_fd: int, copied_in: bool) -> None:
        self.host_workspace_fd = host_workspace_fd
        self.copied_in = copied_in


def _sources(spec: dict[str, Any]) -> tuple[dict[str, int], dict[str, str]]:
    """O_PATH fds of every host path the view shows (opened before anything is covered), and
    the links to recreate."""
    binds: dict[str, int] = {}
    links: dict[str, str] = {}
    ro = os.O_PATH | os.O_CLOEXEC
    for path in ("/usr", *spec["runtime"]):
        if os.path.isdir(path):
            binds[path] = os.open(path, ro | os.O_DIRECTORY)
    for name in TOP_LINKS:
        path = f"/{name}"
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            binds[path] = os.open(path, ro | os.O_DIRECTORY)
    for name in ETC_HOST_FILES:
        path = f"/etc/{name}"
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isfile(path):
            binds[path] = os.open(path, ro)
    for name in DEVICES:
        binds[f"/dev/{name}"] = os.open(f"/dev/{name}", ro)
    binds["/proc"] = os.open("/proc", ro | os.O_DIRECTORY)
    return binds, links


def build_view(spec: dict[str, Any], mirror: Callable[..., Any]) -> View:
    """Assemble the new root, copy the workspace in, and switch to it; returns the host
    workspace's fd for the copy back. `mirror` is `_tree.mirror`."""
    workspace = spec["workspace"]
    host_workspace = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    binds, links = _sources(spec)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    size, inodes = int(spec["disk_bytes"]), int(spec["disk_files"])
    disk = f"mode=755,size={size},nr_inodes={inodes}"
    _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, disk)

    def at(path: str) -> str:
        return NEW_ROOT + path

    for folder in ("/etc", "/proc", "/dev", *SCRATCH_FOLDERS, workspace):
        os.makedirs(at(folder), 0o755, exist_ok=True)
    for folder in SCRATCH_FOLDERS:
        os.chmod(at(folder), 0o1777)
        _no_exec(at(folder))  # first: a later bind of an interpreter under /tmp lands on top
    for name, text in ETC_FILES.items():
        _write(at(f"/etc/{name}"), text)
    for path, target in links.items():
        os.symlink(target, at(path))
    for path, fd in binds.items():
        if path.startswith("/dev/") or path.startswith("/etc/"):
            _touch(at(path))
        else:
            os.makedirs(at(path), 0o755, exist_ok=True)
        flags = MS_RDONLY | MS_NOSUID | (0 if path.startswith("/dev/") else MS_NODEV)
        _bind(fd, at(path), flags | (MS_NOEXEC if path.startswith(("/dev/", "/proc")) else 0))
        os.close(fd)
    os.symlink("/proc/self/fd", at("/dev/fd"))
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{number}", at(f"/dev/{name}"))
    copy = os.open(at(workspace), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        copied_in = mirror(host_workspace, copy, max_depth=int(spec["max_depth"])).skipped == 0
    finally:
        os.close(copy)
    _no_exec(at(workspace))
    _switch_root()
    return View(host_workspace, copied_in)


def _no_exec(path: str) -> None:
    """Bind `path` onto itself so it can carry its own flags: writable, but nothing runs from it.

    Not recursive: whatever is mounted under `path` later (a virtualenv under /tmp, bound
    read-only) keeps its own flags; a non-recursive bind made after it would hide it."""
    _mount(path, path, None, MS_BIND)
    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _switch_root() -> None:
    """Make the new tmpfs the root and detach the host's, then seal the root read-only."""
    os.chdir(NEW_ROOT)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(0, f"pivot_root: no syscall number known for {os.uname().machine}")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the host root")
    os.chdir("/")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def loopback_up() -> bool:
    """Bring up `lo` in the empty network namespace (a program's own servers need it)."""
    fd = _libc.socket(2, 2, 0)  # AF_INET, SOCK_DGRAM: no `socket` module import, it is slow
    if fd < 0:
        return False
    try:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(fd, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(fd, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
