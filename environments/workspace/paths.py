"""What a workspace path may look like, checked without touching the disk.

Paths come from a model, so they are hostile until proven otherwise: only relative POSIX paths
made of ordinary names are accepted. `.` components and repeated slashes are tidied away; anything
ambiguous (absolute, `..`, backslashes, drive letters, control characters) is refused rather than
guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

from .errors import UnsafePath

__all__ = ["RESERVED_NAMES", "PathLimits", "check_relative_path"]

RESERVED_NAMES = frozenset({".sandbox"})
"""Top-level names the sandbox keeps for itself (scratch HOME and TMPDIR of a run)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class PathLimits:
    """Bounds on a path's shape; generous for real projects, tight enough to stop abuse."""

    max_chars: int = 240
    max_component_bytes: int = 255
    max_depth: int = 16


def check_relative_path(path: str | PurePath, limits: PathLimits | None = None) -> str:
    """Return `path` in canonical form (`a/b.py`) or raise `UnsafePath` naming the problem."""
    limits = limits or PathLimits()
    if isinstance(path, PurePath):
        path = path.as_posix()
    if not isinstance(path, str):
        raise UnsafePath(f"a path must be a string, not {type(path).__name__}")
    if "\x00" in path:
        raise UnsafePath("the path contains a NUL byte")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath("the path is not valid Unicode text") from None
    if _CONTROL.search(path):
        raise UnsafePath(f"the path {path!r} contains a control character")
    if "\\" in path:
        raise UnsafePath(f"the path {path!r} contains a backslash; use forward slashes")
    if path.startswith("/") or _DRIVE.match(path):
        raise UnsafePath(f"the path {path!r} is absolute; give it relative to the workspace")
    if path.endswith("/"):
        raise UnsafePath(f"the path {path!r} names a folder, not a file")
    if len(path) > limits.max_chars:
        raise UnsafePath(f"the path is {len(path)} characters long (limit {limits.max_chars})")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts:
        raise UnsafePath(f"the path {path!r} names no file")
    if ".." in parts:
        raise UnsafePath(f"the path {path!r} climbs out with '..'")
    if len(parts) > limits.max_depth:
        raise UnsafePath(f"the path {path!r} is nested too deep (limit {limits.max_depth})")
    for part in parts:
        if len(part.encode("utf-8")) > limits.max_component_bytes:
            raise UnsafePath(f"the name {part[:40]!r}... is too long")
    if parts[0] in RESERVED_NAMES:
        raise UnsafePath(f"the name {parts[0]!r} is reserved for the sandbox")
    return str(PurePosixPath(*parts))
