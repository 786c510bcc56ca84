"""Find the last Python traceback in a program's stderr and say what, where and why.

The test loop feeds this back to the programmer, so the useful place is the deepest frame in
the project's own files, not the library frame where the exception surfaced. A syntax error in
the main script has no `Traceback` header (Python reports it before running anything), so the
parser also accepts a bare `File "...", line N` block followed by an exception line.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

__all__ = ["Frame", "PyTraceback", "parse_last_line", "parse_traceback"]

_HEADER = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s+File "(?P<file>.+)", line (?P<line>\d+)(?:, in (?P<func>.+))?\s*$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?::\s?(?P<message>.*))?$")
_EXCEPTION_SUFFIXES = ("Error", "Exception", "Exit", "Interrupt", "Iteration", "Warning", "Group")


@dataclass(frozen=True)
class Frame:
    """One `File "...", line N, in f` entry; `file` is workspace-relative when it can be."""

    file: str
    line: int
    function: str | None
    in_workspace: bool


@dataclass(frozen=True)
class PyTraceback:
    """The final exception of a run and where it came from."""

    exc_type: str
    message: str
    frames: tuple[Frame, ...]

    @property
    def origin(self) -> Frame | None:
        """The deepest frame in the project's own files, else the deepest frame at all."""
        own = [frame for frame in self.frames if frame.in_workspace]
        if own:
            return own[-1]
        return self.frames[-1] if self.frames else None

    @property
    def file(self) -> str | None:
        return self.origin.file if self.origin else None

    @property
    def line(self) -> int | None:
        return self.origin.line if self.origin else None

    def summary(self) -> str:
        """`main.py:3: ZeroDivisionError: division by zero`."""
        where = f"{self.file}:{self.line}: " if self.origin else ""
        message = f": {self.message}" if self.message else ""
        return f"{where}{self.exc_type}{message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "exc_type": self.exc_type,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "frames": [frame.__dict__ for frame in self.frames],
        }


def parse_traceback(stderr: str, root: str | None = None) -> PyTraceback | None:
    """The last traceback in `stderr`, or None; `root` makes frame paths relative."""
    lines = stderr.splitlines()
    header = _last_header(lines)
    frames_at = {i: match for i, line in enumerate(lines) if (match := _FRAME.match(line))}
    if header is None:
        if not frames_at:
            return None
        start = max(frames_at)
        chosen = [start]
    else:
        start = header
        chosen = [i for i in frames_at if i > header]
    for index in range((chosen[-1] if chosen else start) + 1, len(lines)):
        line = lines[index]
        if not line or line[0].isspace():
            continue
        match = _EXCEPTION.match(line)
        if match is None:
            return None
        exc_type = match["type"]
        if header is None and not exc_type.endswith(_EXCEPTION_SUFFIXES):
            return None
        frames = tuple(_frame(frames_at[i], root) for i in chosen)
        return PyTraceback(exc_type, (match["message"] or "").strip(), frames)
    return None


def parse_last_line(stderr: str) -> PyTraceback | None:
    """Just the final `SomeError: message` line, for stderr whose start was dropped."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    match = _EXCEPTION.match(lines[-1]) if lines else None
    if match is None or not match["type"].endswith(_EXCEPTION_SUFFIXES):
        return None
    return PyTraceback(match["type"], (match["message"] or "").strip(), ())


def _last_header(lines: list[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip().endswith(_HEADER):
            return index
    return None


def _frame(match: re.Match[str], root: str | None) -> Frame:
    path = match["file"]
    if not path.startswith("<"):
        path = posixpath.normpath(path)
    inside = False
    prefix = root.rstrip("/") + "/" if root else None
    if prefix and path.startswith(prefix):
        path, inside = path[len(prefix) :], True
    elif not path.startswith(("/", "<")):
        inside = True
    return Frame(path, int(match["line"]), match["func"], inside)
