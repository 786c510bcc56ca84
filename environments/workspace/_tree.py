"""Remove and mirror folder trees a hostile program made: no recursion, no links followed.

A generated program can leave a tree 100 000 folders deep, a FIFO where a folder was, names
with a newline or invalid UTF-8, folders without permissions. Every function here walks with
an explicit stack of directory file descriptors opened with `O_NOFOLLOW`, so depth costs
memory, not Python frames, a symbolic link is handled as the link itself, and a name is just
bytes (str names round-trip through `surrogateescape`).

Stdlib only and free of package imports: the jail script loads this file by path to copy the
workspace onto the run's private disk and back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable

__all__ = ["DIR_FLAGS", "MirrorReport", "copy_file", "mirror", "remove_entry"]

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


def _open_dir(name: str, parent_fd: int) -> int:
    """Open a folder for listing, granting ourselves access first if the program took it."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
            raise
        os.chmod(name, 0o700, dir_fd=parent_fd)
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)


def _unlink(name: str, parent_fd: int) -> bool:
    """Unlink anything but a folder; False when `name` is a folder."""
    try:
        os.unlink(name, dir_fd=parent_fd)
    except IsADirectoryError:
        return False
    except FileNotFoundError:
        return True
    except PermissionError:  # EPERM is what unlink(2) says for a folder on some systems
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            return False
        raise
    return True


def remove_entry(parent_fd: int, name: str) -> None:
    """Remove `name` inside `parent_fd`, whatever it is; a folder with everything below it.

    Iterative: the stack holds one open folder per level of depth, and each folder is listed
    again after a descent, so nothing but the fds grows with the tree.
    """
    if _unlink(name, parent_fd):
        return
    stack: list[tuple[int, str, int]] = [(parent_fd, name, _open_dir(name, parent_fd))]
    try:
        while stack:
            above, folder, fd = stack[-1]
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o700)
            descended = False
            with os.scandir(fd) as entries:
                for entry in entries:
                    if not _unlink(entry.name, fd):
                        stack.append((fd, entry.name, _open_dir(entry.name, fd)))
                        descended = True
                        break
            if not descended:
                stack.pop()
                os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(folder, dir_fd=above)
    finally:
        for _, _, fd in stack:
            os.close(fd)


class MirrorReport:
    """What `mirror` did: entries copied, and entries it could not copy or chose to skip."""

    def __init__(self) -> None:
        self.copied = 0
        self.skipped = 0
        self.too_deep = 0


def _kind(st: os.stat_result) -> str:
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    return "other"


def _listing(fd: int) -> dict[str, os.stat_result]:
    found: dict[str, os.stat_result] = {}
    with os.scandir(fd) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                found[entry.name] = entry.stat(follow_symlinks=False)
    return found


def copy_file(name: str, src_fd: int, dst_fd: int, st: os.stat_result) -> None:
    """Copy one regular file's bytes, mode and mtime; written aside, then renamed into place."""
    fd = os.open(name, _READ_FLAGS, dir_fd=src_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file any more")
        tmp = f".ioa-tmp-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dst_fd)
        out = os.open(tmp, _NEW_FLAGS, (st.st_mode & 0o777) | 0o600, dir_fd=dst_fd)
        try:
            while chunk := os.read(fd, _CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            os.close(out)
            os.unlink(tmp, dir_fd=dst_fd)
            raise
        os.close(out)
        os.replace(tmp, name, src_dir_fd=dst_fd, dst_dir_fd=dst_fd)
    finally:
        os.close(fd)


def mirror(
    src_fd: int,
    dst_fd: int,
    *,
    max_depth: int,
    skip: Callable[[int, str], bool] = lambda depth, name: False,
) -> MirrorReport:
    """Make the tree at `dst_fd` hold what the tree at `src_fd` holds.

    Folders, regular files (bytes, permission bits, mtime) and symbolic links (as links) are
    copied; FIFOs, sockets and devices are not. A file whose size and mtime already match is
    left alone, so an unchanged workspace costs a listing. Entries of `dst` that `src` lacks
    are removed. Below `max_depth` nothing is copied (and the copy's deeper part is removed).
    `skip(depth, name)` leaves an entry of `dst` as it is and does not copy it.
    """
    report = MirrorReport()
    stack: list[tuple[int, int, int]] = [(os.dup(src_fd), os.dup(dst_fd), 0)]
    try:
        while stack:
            src, dst, depth = stack.pop()
            try:
                _mirror_folder(src, dst, depth, max_depth, skip, stack, report)
            finally:
                os.close(src)
                os.close(dst)
    finally:
        for src, dst, _ in stack:
            os.close(src)
            os.close(dst)
    return report


def _mirror_folder(
    src: int,
    dst: int,
    depth: int,
    max_depth: int,
    skip: Callable[[int, str], bool],
    stack: list[tuple[int, int, int]],
    report: MirrorReport,
) -> None:
    wanted = {
        name: st
        for name, st in _listing(src).items()
        if not skip(depth, name) and _kind(st) != "other"
    }
    if depth >= max_depth and wanted:
        report.too_deep += len(wanted)
        wanted = {}
    present = {name: st for name, st in _listing(dst).items() if not skip(depth, name)}
    for name, st in list(present.items()):
        if name not in wanted or _kind(wanted[name]) != _kind(st):
            del present[name]
            try:
                remove_entry(dst, name)
            except OSError:
                report.skipped += 1
    for name, st in wanted.items():
        try:
            _mirror_entry(name, st, present.get(name), src, dst, depth, stack, report)
        except OSError:
            report.skipped += 1


def _mirror_entry(
    name: str,
    st: os.stat_result,
    old: os.stat_result | None,
    src: int,
    dst: int,
    depth: int,
    stack: list[tuple[int, int, int]],
    report: MirrorReport,
) -> None:
    kind = _kind(st)
    if kind == "dir":
        if old is None or _kind(old) != "dir":
            os.mkdir(name, 0o755, dir_fd=dst)
        child_src = _open_dir(name, src)
        try:
            child_dst = _open_dir(name, dst)
        except OSError:
            os.close(child_src)
            raise
        stack.append((child_src, child_dst, depth + 1))
    elif kind == "file":
        unchanged = (
            old is not None
            and _kind(old) == "file"
            and (old.st_size, old.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        )
        if not unchanged:
            copy_file(name, src, dst, st)
            report.copied += 1
    else:
        target = os.readlink(name, dir_fd=src)
        if old is not None and os.readlink(name, dir_fd=dst) == target:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dst)
        os.symlink(target, name, dir_fd=dst)
        report.copied += 1
