"""Completeness by syntax tree: stubs, NotImplementedError and TODO comments, with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.workspace import NotText, Workspace, completeness

FINISHED = '''"""A finished module."""
import abc
from typing import Protocol, overload


class Shape(abc.ABC):
    @abc.abstractmethod
    def area(self) -> float:
        ...


class Greeter(Protocol):
    def greet(self) -> str: ...


class Error(Exception):
    pass


@overload
def double(x: int) -> int: ...
@overload
def double(x: str) -> str: ...
def double(x):
    try:
        return x * 2
    except TypeError:
        pass
    return None


PASSWORD = "todo: not a comment"  # a normal comment about passwords
'''

UNFINISHED = '''def stub_pass():
    pass


def stub_ellipsis():
    ...


def stub_doc():
    """Only a docstring."""


def not_implemented(x):
    if x:
        return 1
    raise NotImplementedError("later")


class Game:
    def move(self):
        raise NotImplementedError

    def draw(self):
        # TODO: draw the board
        return None


async def fetch():
    pass
'''


def test_finished_code_is_complete() -> None:
    report = completeness({"main.py": FINISHED})
    assert report.findings == ()
    assert report.complete
    assert report.score == 1.0


def test_every_kind_of_stub_is_found_with_its_line() -> None:
    report = completeness({"game.py": UNFINISHED})
    found = {(finding.line, finding.kind) for finding in report.findings}
    assert found == {
        (1, "stub"),
        (5, "stub"),
        (9, "stub"),
        (13, "not_implemented"),
        (20, "not_implemented"),
        (24, "todo"),
        (28, "stub"),
    }
    assert str(report.findings[0]).startswith("game.py:1: stub: stub_pass()")
    assert not report.complete
    # 7 functions + 1 file unit; 6 functions unfinished and the file carries a TODO
    assert (report.units, report.unfinished_units) == (8, 7)
    assert report.score == pytest.approx(1 / 8)


def test_todo_inside_a_string_is_not_a_comment() -> None:
    report = completeness({"a.py": 's = "# TODO not a comment"\nx = 1  # FIXME: real one\n'})
    assert [(finding.line, finding.kind) for finding in report.findings] == [(2, "todo")]


def test_syntax_errors_empty_files_and_no_code() -> None:
    report = completeness({"bad.py": "def f(:\n", "empty.py": "\n\n", "notes.txt": "TODO"})
    kinds = {finding.path: finding.kind for finding in report.findings}
    assert kinds == {"bad.py": "syntax_error", "empty.py": "empty_file"}
    assert report.score == 0.0
    nothing = completeness({"README.md": "# hi"})
    assert [finding.kind for finding in nothing.findings] == ["no_code"]
    assert not nothing.complete
    assert nothing.score == 0.0


def test_reads_a_workspace(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.write_files({"main.py": FINISHED, "pkg/util.py": "def f():\n    pass\n"})
    report = completeness(workspace)
    assert report.files == ("main.py", "pkg/util.py")
    assert [str(finding) for finding in report.findings] == [
        "pkg/util.py:1: stub: f() has no body (pass, ... or a docstring)"
    ]
    assert report.to_dict()["complete"] is False


def test_non_utf8_source_is_a_typed_error() -> None:
    with pytest.raises(NotText):
        completeness({"x.py": b"caf\xe9 = 1\n"})
