"""One project folder per run, reachable only through validated relative paths.

Every operation walks from the root one component at a time with directory file descriptors and
`O_NOFOLLOW`, so a symbolic link anywhere on the way is refused, not followed, even if it was
planted after the path was checked. Contents are byte-exact: text is stored as UTF-8 exactly as
given, with no newline translation and no stripping.

A program run in the folder may leave anything behind: trees deeper than Python's recursion
limit, thousands of files, FIFOs, names with a newline or invalid UTF-8. Listing skips what is
not a valid workspace path (so `snapshot()` never meets a name it would refuse), walks with an
explicit stack, and `prune()` clears everything else away without recursion.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ._tree import remove_entry
from .errors import (
    FileMissing,
    NotAFile,
    NotText,
    SymlinkRefused,
    TooLarge,
    TooManyFiles,
    UnsafePath,
    WorkspaceError,
)
from .paths import PathLimits, check_relative_path

__all__ = ["IGNORED_DIRS", "Workspace", "WorkspaceLimits"]

IGNORED_DIRS = frozenset({".sandbox", "__pycache__", ".pytest_cache"})
"""Folders that are machinery, not project content; `files()` and `snapshot()` skip them."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class WorkspaceLimits:
    """Bounds that keep a runaway model from filling the disk."""

    max_file_bytes: int = 1024 * 1024
    max_total_bytes: int = 32 * 1024 * 1024
    max_files: int = 1000
    path: PathLimits = field(default_factory=PathLimits)


class Workspace:
    """A project folder; all paths are relative to `root` and validated on every call."""

    def __init__(
        self, root: str | os.PathLike[str], *, limits: WorkspaceLimits | None = None
    ) -> None:
        self.limits = limits or WorkspaceLimits()
        raw = Path(root)
        try:
            raw.mkdir(parents=True, exist_ok=True)
            resolved = raw.resolve(strict=True)
        except FileExistsError:
            raise NotAFile(f"the workspace root {raw} exists and is not a folder") from None
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace {raw}: {exc.strerror}") from None
        if not resolved.is_dir():
            raise NotAFile(f"the workspace root {raw} is not a folder")
        self.root = resolved

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------------

    def check(self, path: str | os.PathLike[str]) -> str:
        """Return the canonical relative form of `path`, or raise `UnsafePath`."""
        return check_relative_path(os.fspath(path), self.limits.path)

    def path_of(self, path: str | os.PathLike[str]) -> Path:
        """Absolute host path of an existing regular file (for handing to a runner)."""
        rel = self.check(path)
        if not self.exists(rel):
            raise FileMissing(f"{rel} is not a file in the workspace")
        return self.root / rel

    # -- reading ---------------------------------------------------------------------------

    def exists(self, path: str | os.PathLike[str]) -> bool:
        """True if `path` is a regular file reached without symlinks."""
        rel = self.check(path)
        try:
            with self._parent(rel, create=False) as (dir_fd, name):
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except (FileMissing, SymlinkRefused, NotAFile, FileNotFoundError):
            return False
        return stat.S_ISREG(st.st_mode)

    def read_bytes(self, path: str | os.PathLike[str]) -> bytes:
        rel = self.check(path)
        with self._parent(rel, create=False) as (dir_fd, name):
            fd = self._open_file(rel, name, dir_fd)
            try:
                size = os.fstat(fd).st_size
                if size > self.limits.max_file_bytes:
                    raise TooLarge(f"{rel} has {size} bytes (limit {self.limits.max_file_bytes})")
                data = _read_all(fd, self.limits.max_file_bytes + 1)
            finally:
                os.close(fd)
        if len(data) > self.limits.max_file_bytes:
            raise TooLarge(f"{rel} grew past {self.limits.max_file_bytes} bytes while read")
        return data

    def read_text(self, path: str | os.PathLike[str]) -> str:
        data = self.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotText(f"{self.check(path)} is not UTF-8 (byte {exc.start})") from None

    def files(self) -> list[str]:
        """Sorted relative paths of every regular file; symlinks are neither listed nor followed.

        Names that are not valid workspace paths (control characters, invalid UTF-8, too long,
        too deep) are not listed: nothing here could read or write them by name anyway, and
        `prune()` removes them.
        """
        found: list[str] = []
        for rel, st in self._entries(self.limits.path.max_depth):
            if stat.S_ISREG(st.st_mode) and _listable(rel, self.limits.path):
                found.append(rel)
                if len(found) > self.limits.max_files:
                    raise TooManyFiles(f"more than {self.limits.max_files} files in the workspace")
        return sorted(found)

    def snapshot(self) -> dict[str, bytes]:
        """Every file's exact bytes, keyed by relative path."""
        return {rel: self.read_bytes(rel) for rel in self.files()}

    def checksums(self) -> dict[str, str]:
        """Every file's SHA-256 (hex), keyed by relative path: a cheap way to compare states."""
        return {rel: hashlib.sha256(self.read_bytes(rel)).hexdigest() for rel in self.files()}

    def total_bytes(self) -> int:
        return sum(len(self.read_bytes(rel)) for rel in self.files())

    # -- writing ---------------------------------------------------------------------------

    def write(self, path: str | os.PathLike[str], content: bytes | str) -> str:
        """Write `content` exactly (str as UTF-8); returns the canonical path written."""
        return self.write_files({os.fspath(path): content})[0]

    def write_files(self, files: Mapping[str, bytes | str]) -> list[str]:
        """Validate every path, size and the totals first, then write; all or nothing checks."""
        prepared: dict[str, bytes] = {}
        for path, content in files.items():
            rel = self.check(path)
            data = _as_bytes(rel, content)
            if len(data) > self.limits.max_file_bytes:
                raise TooLarge(
                    f"{rel} would have {len(data)} bytes (limit {self.limits.max_file_bytes})"
                )
            prepared[rel] = data
        existing = self._sizes()
        after = {**existing, **{rel: len(data) for rel, data in prepared.items()}}
        if len(after) > self.limits.max_files:
            raise TooManyFiles(f"{len(after)} files (limit {self.limits.max_files})")
        total = sum(after.values())
        if total > self.limits.max_total_bytes:
            raise TooLarge(f"{total} bytes in all (limit {self.limits.max_total_bytes})")
        for rel, data in prepared.items():
            self._write_one(rel, data)
        return list(prepared)

    def delete(self, path: str | os.PathLike[str]) -> None:
        """Remove one file (or a symlink itself, never its target)."""
        rel = self.check(path)
        with self._parent(rel, create=False) as (dir_fd, name):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                raise FileMissing(f"{rel} is not in the workspace") from None
            if stat.S_ISDIR(st.st_mode):
                raise NotAFile(f"{rel} is a folder")
            os.unlink(name, dir_fd=dir_fd)

    def prune(self, keep: Iterable[str]) -> None:
        """Remove everything but the regular files at the paths in `keep`.

        Whatever a program left (outputs, machinery folders, FIFOs, odd names, deep trees,
        folders it locked) goes, walked without recursion and without following links.
        """
        wanted: set[str] = set()
        for path in keep:
            with suppress(UnsafePath):
                wanted.add(self.check(path))
        folders = {rel.rsplit("/", 1)[0] for rel in wanted if "/" in rel}
        folders |= {folder.rsplit("/", i)[0] for folder in folders for i in range(16)}
        stack = [(os.open(self.root, _DIR_FLAGS), "")]
        try:
            while stack:
                fd, prefix = stack.pop()
                try:
                    for name, st in _listing(fd):
                        rel = f"{prefix}{name}"
                        if stat.S_ISDIR(st.st_mode) and rel in folders:
                            stack.append((os.open(name, _DIR_FLAGS, dir_fd=fd), f"{rel}/"))
                        elif not (stat.S_ISREG(st.st_mode) and rel in wanted):
                            remove_entry(fd, name)
                finally:
                    os.close(fd)
        finally:
            for fd, _ in stack:
                os.close(fd)

    # -- internals -------------------------------------------------------------------------

    @contextmanager
    def _parent(self, rel: str, *, create: bool) -> Iterator[tuple[int, str]]:
        """Yield an fd of the folder holding `rel` and the final name, walked without symlinks."""
        *folders, name = rel.split("/")
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for depth, folder in enumerate(folders):
                child = self._enter(fd, folder, "/".join(folders[: depth + 1]), create)
                os.close(fd)
                fd = child
            yield fd, name
        finally:
            os.close(fd)

    def _enter(self, parent_fd: int, folder: str, shown: str, create: bool) -> int:
        """Open `folder` inside `parent_fd`, refusing symlinks; the caller closes both."""
        try:
            st = os.stat(folder, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            if not create:
                raise FileMissing(f"the folder {shown} does not exist") from None
            with suppress(FileExistsError):
                os.mkdir(folder, 0o755, dir_fd=parent_fd)
            st = os.stat(folder, dir_fd=parent_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise SymlinkRefused(f"{shown} is a symbolic link")
        if not stat.S_ISDIR(st.st_mode):
            raise NotAFile(f"{shown} is a file, not a folder")
        try:
            return os.open(folder, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise SymlinkRefused(f"{shown} changed into a symbolic link") from None
            raise WorkspaceError(f"cannot open {shown}: {exc.strerror}") from None

    def _open_file(self, rel: str, name: str, dir_fd: int) -> int:
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            raise FileMissing(f"{rel} is not in the workspace") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SymlinkRefused(f"{rel} is a symbolic link") from None
            if exc.errno == errno.EISDIR:
                raise NotAFile(f"{rel} is a folder") from None
            raise WorkspaceError(f"cannot read {rel}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotAFile(f"{rel} is not a regular file")
        return fd

    def _write_one(self, rel: str, data: bytes) -> None:
        with self._parent(rel, create=True) as (dir_fd, name):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                raise SymlinkRefused(f"{rel} is a symbolic link; refusing to write through it")
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise NotAFile(f"{rel} exists and is not a regular file")
            tmp = f".ioa-tmp-{secrets.token_hex(8)}"
            fd = os.open(tmp, _NEW_FLAGS, 0o644, dir_fd=dir_fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                os.close(fd)
                os.unlink(tmp, dir_fd=dir_fd)
                raise WorkspaceError(f"cannot write {rel}: {exc.strerror}") from None
            os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)

    def _entries(self, max_depth: int) -> Iterator[tuple[str, os.stat_result]]:
        """(relative path, lstat) of every entry down to `max_depth` folders, machinery and
        links not entered; an explicit stack, so depth costs no Python frames."""
        stack = [(os.open(self.root, _DIR_FLAGS), "", 1)]
        try:
            while stack:
                fd, prefix, depth = stack.pop()
                try:
                    for name, st in _listing(fd):
                        rel = f"{prefix}{name}"
                        yield rel, st
                        enter = depth < max_depth and name not in IGNORED_DIRS
                        if enter and stat.S_ISDIR(st.st_mode):
                            with suppress(OSError):
                                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                                stack.append((child, f"{rel}/", depth + 1))
                finally:
                    os.close(fd)
        finally:
            for fd, _, _ in stack:
                os.close(fd)

    def _sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for rel in self.files():
            with suppress(OSError), self._parent(rel, create=False) as (dir_fd, name):
                sizes[rel] = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_size
        return sizes


def _as_bytes(rel: str, content: bytes | str) -> bytes:
    if isinstance(content, str):
        try:
            return content.encode("utf-8")
        except UnicodeEncodeError:
            raise NotText(f"the text for {rel} is not valid Unicode") from None
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    kind = type(content).__name__
    raise WorkspaceError(f"the content for {rel} must be bytes or str, not {kind}")


def _listing(fd: int) -> list[tuple[str, os.stat_result]]:
    """A folder's entries with their lstat, read before anything in it changes."""
    found = []
    with os.scandir(fd) as entries:
        for entry in entries:
            with suppress(FileNotFoundError):
                found.append((entry.name, entry.stat(follow_symlinks=False)))
    return found


def _listable(rel: str, limits: PathLimits) -> bool:
    """A path the workspace can name: valid, canonical, and not its own temporary file."""
    if rel.rsplit("/", 1)[-1].startswith(".ioa-tmp-"):
        return False
    try:
        return check_relative_path(rel, limits) == rel
    except UnsafePath:
        return False


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit and (chunk := os.read(fd, min(1 << 16, limit - got))):
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
