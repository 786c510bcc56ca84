"""Hostile programs in the sandbox: each one is contained, with a clear verdict.

The namespace tests need the isolation `Sandbox.capabilities()` reports (skipped where the
machine cannot provide it); the process-group tests run everywhere and check that the weaker
mode is honest about what it leaves open.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import environments.workspace as workspace_package
from environments.workspace import SandboxLimits, SymlinkRefused
from tests.environments.workspace.kit import FAST, namespace_sandbox, plain_sandbox, workspace_with

PRIVATE = (Path("/tmp"), Path("/var/tmp"), Path("/run"))


def _host_dir() -> Path:
    """A folder on the host's real filesystem, writable by the test runner, that the sandbox
    does not show: not under /tmp (which it replaces), nor on the way to the interpreter (whose
    folders it shows, read-only): the package, else /var/lib, else the home folder."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    candidates = (Path(workspace_package.__file__).parent, Path("/var/lib"), Path.home())
    for candidate in candidates:
        real = candidate.resolve()
        private = any(real.is_relative_to(p) for p in PRIVATE)
        on_the_way = any(root.is_relative_to(real) for root in roots)
        if os.access(real, os.W_OK) and not private and not on_the_way:
            return real
    pytest.skip("no writable host folder outside /tmp to probe", allow_module_level=True)


HOST_DIR = _host_dir()


@pytest.fixture
def host_target() -> Iterator[Path]:
    """A host path outside /tmp that a contained program must not be able to create."""
    target = HOST_DIR / f"escape-probe-{secrets.token_hex(6)}.txt"
    yield target
    if target.exists():
        target.unlink()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port opened by the test itself, to see whether the program reaches it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def _was_reached(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def test_program_cannot_write_to_the_read_only_host(tmp_path: Path, host_target: Path) -> None:
    sandbox = namespace_sandbox()
    workspace = workspace_with(
        tmp_path / "ws", {"main.py": f"open({str(host_target)!r}, 'w').write('x')\n"}
    )
    verdict = sandbox.run(workspace)
    assert verdict.status == "error"
    assert verdict.traceback is not None
    assert verdict.traceback.exc_type == "FileNotFoundError", "the host folder is not in view"
    assert not host_target.exists()
    usr = sandbox.run(workspace_with(workspace.root, {"main.py": "open('/usr/x', 'w')\n"}))
    assert usr.traceback is not None
    assert "[Errno 30] Read-only file system" in usr.traceback.message


def test_tmp_and_parent_folder_are_private(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    outside = tmp_path / "outside.txt"
    code = (
        "import os\n"
        f"open({str(outside)!r}, 'w').write('x')\n"
        "open('../parent.txt', 'w').write('x')\n"
        "open('/tmp/ioa-loose-file', 'w').write('x')\n"
        "print(sorted(os.listdir('/tmp')))\n"
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    verdict = sandbox.run(workspace)
    assert verdict.status == "ok", verdict.report()
    assert "ioa-loose-file" in verdict.stdout
    assert not outside.exists()
    assert not (tmp_path / "parent.txt").exists()
    assert not Path("/tmp/ioa-loose-file").exists()
    assert workspace.files() == ["main.py"]


def test_program_cannot_regain_privileges_or_see_devices(tmp_path: Path, host_target: Path) -> None:
    sandbox = namespace_sandbox()
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('remount', libc.mount(None, b'/', None, 0x20 | 0x1000, None), ctypes.get_errno())\n"
        "print('devices', sorted(os.listdir('/dev')))\n"
        "print('run', os.listdir('/run') if os.path.isdir('/run') else [])\n"
        "open('/dev/null', 'w').write('fine')\n"
        f"open({str(host_target)!r}, 'w')\n"
    )
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert "remount -1 1" in verdict.stdout, "mount(2) must fail with EPERM"
    devices = (
        "['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'urandom', 'zero']"
    )
    assert f"devices {devices}" in verdict.stdout
    assert "run []" in verdict.stdout, "host sockets under /run are hidden"
    assert verdict.status == "error"
    assert not host_target.exists()


def test_symlink_escape_from_inside_the_program(tmp_path: Path, host_target: Path) -> None:
    sandbox = namespace_sandbox()
    code = (
        "import os\n"
        f"os.symlink({str(host_target.parent)!r}, 'escape')\n"
        f"open(os.path.join('escape', {host_target.name!r}), 'w').write('x')\n"
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    verdict = sandbox.run(workspace)
    assert verdict.status == "error"
    assert verdict.traceback is not None
    assert verdict.traceback.exc_type == "FileNotFoundError", "the link leads nowhere in view"
    assert not host_target.exists()
    assert os.path.islink(workspace.root / "escape"), "the link itself stays, inside the workspace"
    with pytest.raises(SymlinkRefused):
        workspace.read_bytes(f"escape/{host_target.name}")
    assert workspace.files() == ["main.py"]


def test_network_is_unreachable(tmp_path: Path, listener: socket.socket) -> None:
    sandbox = namespace_sandbox()
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert verdict.status == "error"
    assert verdict.traceback is not None
    assert verdict.traceback.exc_type in {"ConnectionRefusedError", "OSError", "TimeoutError"}
    assert not _was_reached(listener)
    assert sandbox.capabilities().network_isolated


def test_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    if sandbox.capabilities().process_limit == "none":
        pytest.skip("no process limit on this machine; a fork bomb would only meet the timeout")
    code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}), timeout_s=1.0)
    assert verdict.status == "limit"
    assert verdict.limit == "processes"


def test_endless_loop_is_killed_at_the_deadline(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    started = time.monotonic()
    verdict = sandbox.run(
        workspace_with(tmp_path / "ws", {"main.py": "while True:\n    pass\n"}), timeout_s=1.0
    )
    assert verdict.status == "timeout"
    assert verdict.timed_out
    assert verdict.duration_s >= 1.0
    assert time.monotonic() - started < 10.0, "the kill came at the deadline, not much later"


def test_cpu_limit_stops_a_spinner_before_the_wall_clock(tmp_path: Path) -> None:
    sandbox = namespace_sandbox(SandboxLimits(timeout_s=5.0, cpu_s=1))
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": "while True:\n    pass\n"}))
    assert verdict.status == "limit"
    assert verdict.limit == "cpu"
    assert not verdict.timed_out


def test_memory_hog_gets_memory_error(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n"
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert verdict.status == "limit"
    assert verdict.limit == "memory"
    assert verdict.traceback is not None
    assert verdict.traceback.line == 3


def test_file_size_limit(tmp_path: Path) -> None:
    sandbox = namespace_sandbox(SandboxLimits(timeout_s=3.0, file_size_bytes=1024 * 1024))
    code = "open('big.bin', 'wb').write(b'x' * (4 * 1024 * 1024))\n"
    workspace = workspace_with(tmp_path / "ws", {"main.py": code})
    verdict = sandbox.run(workspace)
    assert verdict.status == "limit"
    assert verdict.limit == "file_size"
    assert os.path.getsize(workspace.root / "big.bin") <= 1024 * 1024


def test_output_flood_is_capped_and_killed(tmp_path: Path) -> None:
    sandbox = namespace_sandbox(SandboxLimits(timeout_s=1.0, output_bytes=4096))
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert verdict.status == "timeout"
    assert verdict.stdout_truncated
    head, marker, tail = verdict.stdout.split("\n", 2)
    assert head == tail == "x" * 2048
    assert marker == f"[... {verdict.stdout_bytes - 4096} bytes dropped ...]"
    assert verdict.stdout_bytes > 1_000_000


def test_finite_flood_is_counted_exactly(tmp_path: Path) -> None:
    sandbox = namespace_sandbox(SandboxLimits(timeout_s=5.0, output_bytes=1000))
    code = (
        "import sys\nprint('first')\nfor _ in range(100):\n    sys.stdout.write('y' * 100_000)\n"
        "print('last')\nsys.stderr.write('e' * 10)\n"
    )
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert verdict.status == "ok"
    assert (verdict.stdout_bytes, verdict.stdout_truncated) == (10_000_011, True)
    assert verdict.stdout.startswith("first\ny")
    assert verdict.stdout.endswith("ylast\n")
    assert f"[... {10_000_011 - 1000} bytes dropped ...]" in verdict.stdout
    assert (verdict.stderr, verdict.stderr_truncated) == ("e" * 10, False)


BACKGROUND = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", '''
import time
while True:
    with open("beat", "a") as handle:
        handle.write("x")
    time.sleep(0.02)
'''], start_new_session=True)
deadline = time.monotonic() + 2.5
while not os.path.exists("beat") and time.monotonic() < deadline:
    time.sleep(0.02)
"""


def _beats_stop(tmp_path: Path, verdict_ok: bool) -> None:
    beat = tmp_path / "ws" / "beat"
    assert verdict_ok
    assert beat.exists(), "the background child did start"
    before = beat.stat().st_size
    time.sleep(0.3)
    assert beat.stat().st_size == before, "a child that left the process group outlived the run"


def test_background_child_dies_with_the_program(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": BACKGROUND}))
    _beats_stop(tmp_path, verdict.ok)


# -- process-group mode: still limited, and honest about what it does not prevent ----------


def test_plain_mode_reports_what_it_leaves_open(tmp_path: Path, listener: socket.socket) -> None:
    sandbox = plain_sandbox()
    caps = sandbox.capabilities()
    assert caps.mode == "process-group"
    assert not caps.network_isolated
    assert not caps.readonly_host
    assert any("can open network connections" in note for note in caps.notes)
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": code}))
    assert verdict.status == "ok"
    assert verdict.isolation == "process-group"
    assert _was_reached(listener), "without a network namespace the connection does happen"


def test_plain_mode_still_enforces_time_memory_and_output(tmp_path: Path) -> None:
    sandbox = plain_sandbox(
        SandboxLimits(timeout_s=1.0, output_bytes=100, memory_bytes=256 * 1024 * 1024)
    )
    workspace = workspace_with(tmp_path / "ws", {"main.py": "while True:\n    pass\n"})
    assert sandbox.run(workspace).status == "timeout"
    workspace.write("main.py", "x = bytearray(2 ** 33)\n")
    assert sandbox.run(workspace).limit == "memory"
    workspace.write("main.py", "print('z' * 10_000)\nraise SystemExit('bye')\n")
    flood = sandbox.run(workspace)
    assert (flood.status, flood.stdout_bytes, flood.stdout_truncated) == ("error", 10_001, True)
    assert flood.stdout == "z" * 50 + "\n[... 9901 bytes dropped ...]\n" + "z" * 49 + "\n"
    assert flood.stderr == "bye\n"


def test_plain_mode_kills_escaped_children_through_the_cgroup(tmp_path: Path) -> None:
    sandbox = plain_sandbox(FAST)
    if not sandbox.capabilities().process_limit.startswith("cgroup"):
        pytest.skip("no pids cgroup: a child that leaves the process group can outlive the run")
    verdict = sandbox.run(workspace_with(tmp_path / "ws", {"main.py": BACKGROUND}))
    _beats_stop(tmp_path, verdict.ok)
