"""Workspace paths and files: validation, byte-exact contents, limits, symlinks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments.workspace import (
    FileMissing,
    NotAFile,
    NotText,
    PathLimits,
    SymlinkRefused,
    TooLarge,
    TooManyFiles,
    UnsafePath,
    Workspace,
    WorkspaceError,
    WorkspaceLimits,
    check_relative_path,
)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("main.py", "main.py"),
        ("./main.py", "main.py"),
        ("src/app/core.py", "src/app/core.py"),
        ("src//app/./core.py", "src/app/core.py"),
        ("données/é.txt", "données/é.txt"),
        (Path("pkg/mod.py"), "pkg/mod.py"),
    ],
)
def test_safe_paths_are_canonicalised(given: str | Path, canonical: str) -> None:
    assert check_relative_path(given) == canonical


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("/etc/passwd", "absolute"),
        ("../x.py", "'..'"),
        ("a/../../x.py", "'..'"),
        ("a/b/..", "'..'"),
        ("C:/x.py", "absolute"),
        ("src\\main.py", "backslash"),
        ("a\x00b.py", "NUL"),
        ("a\nb.py", "control"),
        ("", "names no file"),
        (".", "names no file"),
        ("src/", "folder"),
        (".sandbox/x", "reserved"),
        ("\ud800.py", "Unicode"),
        ("x" * 300, "characters long"),
        ("/".join(["d"] * 20) + "/f.py", "nested too deep"),
    ],
)
def test_unsafe_paths_are_refused_with_a_reason(given: str, fragment: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        check_relative_path(given)
    assert fragment in caught.value.message
    assert caught.value.code == "unsafe_path"


def test_non_string_path_is_a_typed_error() -> None:
    with pytest.raises(UnsafePath, match="must be a string"):
        check_relative_path(42)  # type: ignore[arg-type]


def test_component_length_limit() -> None:
    with pytest.raises(UnsafePath, match="too long"):
        check_relative_path("a" * 30 + ".py", PathLimits(max_component_bytes=20))


def test_contents_are_byte_exact(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    text = "line one\r\nline two\n\n\n  indented\ttab\nno newline at end"
    binary = bytes(range(256))
    workspace.write("crlf.txt", text)
    workspace.write("pkg/data.bin", binary)
    assert workspace.read_text("crlf.txt") == text
    assert (tmp_path / "ws" / "crlf.txt").read_bytes() == text.encode()
    assert workspace.read_bytes("pkg/data.bin") == binary


def test_files_snapshot_checksums_and_delete(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.write_files({"b.py": "b\n", "a/z.py": "z\n", "a/b/c.txt": b"c"})
    os.makedirs(tmp_path / "ws" / "__pycache__")
    (tmp_path / "ws" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert workspace.files() == ["a/b/c.txt", "a/z.py", "b.py"]
    snapshot = workspace.snapshot()
    assert snapshot == {"a/b/c.txt": b"c", "a/z.py": b"z\n", "b.py": b"b\n"}
    sums = workspace.checksums()
    assert sums == {path: hashlib.sha256(data).hexdigest() for path, data in snapshot.items()}
    workspace.delete("a/z.py")
    assert workspace.files() == ["a/b/c.txt", "b.py"]
    assert workspace.exists("b.py")
    assert not workspace.exists("a/z.py")
    assert workspace.total_bytes() == 3


def test_overwrite_replaces_content(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.write("main.py", "old old old\n")
    workspace.write("main.py", "new\n")
    assert workspace.read_text("main.py") == "new\n"
    assert workspace.files() == ["main.py"]


def test_missing_and_wrong_kinds_are_typed_errors(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.write("pkg/mod.py", "x = 1\n")
    workspace.write("latin.txt", b"caf\xe9")
    with pytest.raises(FileMissing):
        workspace.read_bytes("nope.py")
    with pytest.raises(FileMissing):
        workspace.read_bytes("nope/deeper.py")
    with pytest.raises(FileMissing):
        workspace.delete("nope.py")
    with pytest.raises(NotAFile):
        workspace.read_bytes("pkg")
    with pytest.raises(NotAFile):
        workspace.delete("pkg")
    with pytest.raises(NotAFile):
        workspace.write("pkg/mod.py/inner.py", "x")
    with pytest.raises(NotAFile):
        workspace.write("pkg", "x")
    with pytest.raises(NotText) as caught:
        workspace.read_text("latin.txt")
    assert caught.value.code == "not_text"
    with pytest.raises(WorkspaceError, match="bytes or str"):
        workspace.write("x.py", 12)  # type: ignore[arg-type]
    with pytest.raises(UnsafePath):
        workspace.write("../escape.py", "x")
    assert not (tmp_path / "escape.py").exists()


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotAFile):
        Workspace(tmp_path / "file")


def test_size_and_count_limits_are_checked_before_writing(tmp_path: Path) -> None:
    limits = WorkspaceLimits(max_file_bytes=10, max_total_bytes=25, max_files=3)
    workspace = Workspace(tmp_path / "ws", limits=limits)
    with pytest.raises(TooLarge) as caught:
        workspace.write("big.txt", "x" * 11)
    assert caught.value.code == "too_large"
    workspace.write_files({"a": "x" * 10, "b": "x" * 10})
    with pytest.raises(TooLarge, match="in all"):
        workspace.write_files({"c": "x" * 10})
    with pytest.raises(TooManyFiles):
        workspace.write_files({"c": "x", "d": "x"})
    assert workspace.files() == ["a", "b"]
    (tmp_path / "ws" / "huge").write_bytes(b"y" * 11)
    with pytest.raises(TooLarge):
        workspace.read_bytes("huge")


def test_symlinked_folder_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    workspace = Workspace(tmp_path / "ws")
    os.symlink(outside, tmp_path / "ws" / "link")
    with pytest.raises(SymlinkRefused) as caught:
        workspace.write("link/pwned.py", "x")
    assert caught.value.code == "symlink_refused"
    with pytest.raises(SymlinkRefused):
        workspace.read_bytes("link/secret.txt")
    assert not (outside / "pwned.py").exists()
    assert workspace.files() == []
    assert not workspace.exists("link/secret.txt")


def test_symlinked_file_is_neither_read_nor_written_through(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("host file")
    workspace = Workspace(tmp_path / "ws")
    os.symlink(target, tmp_path / "ws" / "main.py")
    with pytest.raises(SymlinkRefused):
        workspace.read_text("main.py")
    with pytest.raises(SymlinkRefused):
        workspace.write("main.py", "overwrite")
    assert target.read_text() == "host file"
    workspace.delete("main.py")
    assert target.exists()
    assert not (tmp_path / "ws" / "main.py").exists()


def test_even_a_symlink_pointing_inside_is_refused(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.write("real/a.py", "a\n")
    os.symlink("real", tmp_path / "ws" / "alias")
    with pytest.raises(SymlinkRefused):
        workspace.read_text("alias/a.py")


def test_fifo_is_not_read(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    os.mkfifo(tmp_path / "ws" / "pipe")
    with pytest.raises(NotAFile):
        workspace.read_bytes("pipe")
    assert workspace.files() == []


def test_symlinked_root_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    workspace = Workspace(tmp_path / "alias")
    workspace.write("x.py", "x\n")
    assert workspace.root == (tmp_path / "real").resolve()
    assert (tmp_path / "real" / "x.py").read_text() == "x\n"


def test_package_is_standalone() -> None:
    """environments.workspace loads only the standard library: no ioa, agents or pydantic."""
    code = (
        "import sys, environments.workspace\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'ioa', 'agents', 'protocols', 'pydantic', 'aiohttp', 'numpy'}))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
