"""Ordinary runs in the sandbox: arguments, environment, verdicts, the project's tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from environments.workspace import (
    FileMissing,
    Sandbox,
    SandboxError,
    SandboxLimits,
    UnsafePath,
)
from tests.environments.workspace.kit import FAST, workspace_with

MULTI_FILE = {
    "main.py": (
        "import sys\n"
        "from game.board import Board\n\n"
        "print(Board(3).render(), sys.argv[1:])\n"
        "print(open('data/words.txt').read().split())\n"
    ),
    "game/__init__.py": "",
    "game/board.py": (
        "class Board:\n"
        "    def __init__(self, size):\n"
        "        self.size = size\n\n"
        "    def render(self):\n"
        "        return '.' * self.size\n"
    ),
    "data/words.txt": "alpha beta\n",
}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(FAST)


def test_multi_file_program_with_arguments(tmp_path: Path, sandbox: Sandbox) -> None:
    workspace = workspace_with(tmp_path / "ws", MULTI_FILE)
    verdict = sandbox.run(workspace, args=["--size", "3", "ünï"])
    assert verdict.status == "ok", verdict.report()
    assert verdict.stdout == "... ['--size', '3', 'ünï']\n['alpha', 'beta']\n"
    assert verdict.exit_code == 0
    assert verdict.isolation == sandbox.capabilities().mode


def test_environment_is_minimal_headless_and_inside_the_workspace(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    code = (
        "import json, os, sys, tempfile\n"
        "print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(),\n"
        "    'tmp': tempfile.gettempdir(), 'flags': [sys.flags.ignore_environment,\n"
        "    sys.flags.no_user_site, sys.flags.dont_write_bytecode, sys.flags.utf8_mode]}))\n"
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    verdict = sandbox.run(workspace)
    seen = json.loads(verdict.stdout)
    env, root = seen["env"], str(workspace.root)
    assert "DISPLAY" not in env
    assert "WAYLAND_DISPLAY" not in env
    assert env["MPLBACKEND"] == "Agg"
    assert env["SDL_VIDEODRIVER"] == "dummy"
    assert env["PIP_REQUIRE_VIRTUALENV"] == "1"
    assert env["HOME"].startswith(root + "/")
    assert seen["tmp"].startswith(root + "/")
    assert seen["cwd"] == root
    assert seen["flags"] == [1, 1, 1, 1]
    assert not any(key.startswith(("PYTHON", "VIRTUAL_ENV", "SSH_")) for key in env)


def test_stdin_is_at_end_of_file(tmp_path: Path, sandbox: Sandbox) -> None:
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": "name = input('name? ')\n"}))
    assert verdict.status == "error"
    assert verdict.traceback is not None
    assert verdict.traceback.exc_type == "EOFError"


def test_outputs_stay_and_scratch_goes(tmp_path: Path, sandbox: Sandbox) -> None:
    code = (
        "import os\n"
        "os.makedirs('out', exist_ok=True)\n"
        "open('out/result.txt', 'w').write('42')\n"
        "open(os.path.join(os.environ['HOME'], '.config'), 'w').write('x')\n"
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    assert sandbox.run(workspace).ok
    assert workspace.files() == ["main.py", "out/result.txt"]
    assert not (workspace.root / ".sandbox").exists()


def test_scratch_swapped_for_a_symlink_does_not_delete_host_files(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    code = (
        f"import os, shutil\nshutil.rmtree('.sandbox')\nos.symlink({str(precious)!r}, '.sandbox')\n"
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    sandbox.run(workspace)
    assert (precious / "keep.txt").read_text() == "keep"
    assert not os.path.lexists(workspace.root / ".sandbox")


def test_syntax_error_and_exit_codes(tmp_path: Path, sandbox: Sandbox) -> None:
    workspace = workspace_with(tmp_path / "ws", {"main.py": "def f(:\n    pass\n"})
    broken = sandbox.run(workspace)
    assert broken.status == "error"
    assert broken.traceback is not None
    assert (broken.traceback.exc_type, broken.traceback.file, broken.traceback.line) == (
        "SyntaxError",
        "main.py",
        1,
    )
    workspace.write("main.py", "import sys\nsys.exit(3)\n")
    exited = sandbox.run(workspace)
    assert (exited.status, exited.exit_code, exited.traceback) == ("error", 3, None)
    assert exited.headline() == "error: exited with code 3"


def test_server_like_program_that_keeps_running_counts_as_executable(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    code = "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.05)\n"
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}), timeout_s=1.0)
    assert verdict.status == "timeout"
    assert verdict.executable
    assert verdict.stdout == "ready\n"


def test_run_python_module(tmp_path: Path, sandbox: Sandbox) -> None:
    workspace = workspace_with(tmp_path / "ws", {"tool/__main__.py": "print('module ran')\n"})
    verdict = sandbox.run_python(workspace, ["-m", "tool"])
    assert (verdict.status, verdict.stdout) == ("ok", "module ran\n")


def test_bad_requests_are_typed_errors(tmp_path: Path, sandbox: Sandbox) -> None:
    workspace = workspace_with(tmp_path / "ws", {"main.py": "", "notes.txt": "x"})
    with pytest.raises(UnsafePath):
        sandbox.run(workspace, "../main.py")
    with pytest.raises(FileMissing):
        sandbox.run(workspace, "missing.py")
    with pytest.raises(SandboxError, match=r"not a \.py file"):
        sandbox.run(workspace, "notes.txt")
    with pytest.raises(SandboxError, match="list of strings"):
        sandbox.run(workspace, args="--flag")
    with pytest.raises(SandboxError, match="NUL"):
        sandbox.run(workspace, args=["a\x00b"])
    with pytest.raises(SandboxError, match="must be a string"):
        sandbox.run(workspace, args=[3])  # type: ignore[list-item]
    with pytest.raises(SandboxError, match="timeout_s"):
        sandbox.run(workspace, timeout_s=0)
    with pytest.raises(SandboxError, match="timeout_s"):
        sandbox.run(workspace, timeout_s="5")  # type: ignore[arg-type]


def test_file_names_that_look_like_options_stay_file_names(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    files = {
        "-c.py": "print('script ran')\n",
        "-p.py": "",
        "test_-x.py": "def test_ok():\n    pass\n",
    }
    workspace = workspace_with(tmp_path / "ws", files)
    assert sandbox.run(workspace, "-c.py").stdout == "script ran\n"
    assert sandbox.run_tests(workspace).all_passed


@pytest.mark.parametrize(
    "bad",
    [
        {"timeout_s": 0},
        {"timeout_s": 10_000},
        {"memory_bytes": 1024},
        {"processes": True},
        {"output_bytes": 0},
        {"cpu_s": 1.5},
    ],
)
def test_limits_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(SandboxError):
        SandboxLimits(**bad)  # type: ignore[arg-type]


def test_sandbox_arguments_are_validated(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="isolation"):
        Sandbox(isolation="docker")  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="not executable"):
        Sandbox(python=str(tmp_path / "no-python"))


def test_capabilities_are_reported(sandbox: Sandbox) -> None:
    caps = sandbox.capabilities()
    text = caps.describe()
    assert text.startswith(f"sandbox isolation: {caps.mode}")
    assert "process limit:" in text
    data = json.loads(json.dumps(caps.to_dict()))
    assert data["mode"] in ("namespaces", "process-group")
    assert sandbox.capabilities() is caps, "probed once, then cached"
    if caps.mode == "namespaces":
        assert caps.network_isolated
        assert caps.pid_namespace
        assert caps.readonly_host


CALC = "def add(a, b):\n    return a + b\n"
TESTS = (
    "from calc import add\n\n"
    "def test_add():\n    assert add(2, 2) == 4\n\n"
    "def test_negative():\n    assert add(-1, 1) == 0\n\n"
    "def test_wrong():\n    assert add(1, 1) == 3\n"
)
UNITTESTS = (
    "import unittest\nfrom calc import add\n\n"
    "class CalcTest(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n\n"
    "    def test_wrong(self):\n        self.assertEqual(add(1, 1), 3)\n\n"
    "    @unittest.skip('later')\n    def test_skip(self):\n        pass\n"
)


def test_run_tests_with_pytest(tmp_path: Path, sandbox: Sandbox) -> None:
    workspace = workspace_with(tmp_path / "ws", {"calc.py": CALC, "tests/test_calc.py": TESTS})
    report = sandbox.run_tests(workspace)
    assert report.framework == "pytest"
    assert report.test_files == ("tests/test_calc.py",)
    counts = report.counts
    assert (counts.total, counts.passed, counts.failed, counts.errors) == (3, 2, 1, 0)
    assert not report.all_passed
    assert "test_wrong" in report.report()
    workspace.write("tests/test_calc.py", TESTS.replace("== 3", "== 2"))
    fixed = sandbox.run_tests(workspace)
    assert fixed.all_passed
    assert fixed.pass_rate == 1.0
    assert fixed.headline().startswith("pytest: 3/3 passed")
    assert workspace.files() == ["calc.py", "tests/test_calc.py"]


def test_run_tests_with_unittest_when_site_packages_are_off(tmp_path: Path) -> None:
    sandbox = Sandbox(FAST, site_packages=False)
    workspace = workspace_with(tmp_path / "ws", {"calc.py": CALC, "test_calc.py": UNITTESTS})
    report = sandbox.run_tests(workspace)
    assert report.framework == "unittest"
    counts = report.counts
    assert (counts.total, counts.passed, counts.failed, counts.skipped) == (3, 1, 1, 1)
    assert not report.all_passed


def test_no_tests_found(tmp_path: Path, sandbox: Sandbox) -> None:
    report = sandbox.run_tests(workspace_with(tmp_path / "ws", {"main.py": "print(1)\n"}))
    assert not report.found
    assert report.verdict is None
    assert report.headline().startswith("no tests")
    assert report.to_dict()["all_passed"] is False
