"""The attack suite: hostile programs through the company's own check, one class at a time.

Every program runs through `LoopChecks.check`, the call the software company makes after each
coding step (rewrite the folder from the run's state, run the program, run its tests). Each
test asserts containment, or the verdict the capability report admits, and then that the next
check on the same workspace runs a plain program cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.software.config import RunSettings
from agents.software.loop_checks import Check, LoopChecks
from environments.workspace import (
    Isolation,
    Sandbox,
    SandboxLimits,
    SandboxUnavailable,
    TooManyFiles,
    Workspace,
)
from environments.workspace import _probe as probe_module
from environments.workspace._cgroup import find_pids_parent
from tests.environments.workspace.kit import FAST, namespace_sandbox, plain_sandbox

HELLO = {"main.py": "print('hello')\n"}


async def _check(sandbox: Sandbox, workspace: Workspace, files: dict[str, str]) -> Check:
    checks = LoopChecks(workspace, sandbox, RunSettings(timeout_s=FAST.timeout_s))
    return await checks.check(files)


async def _next_run_is_clean(sandbox: Sandbox, workspace: Workspace) -> None:
    """The same company, the next cycle: a plain program runs and the folder holds just it."""
    check = await _check(sandbox, workspace, HELLO)
    assert check.program is not None
    assert check.program.status == "ok", check.program.report()
    assert check.program.stdout == "hello\n"
    assert workspace.files() == ["main.py"]
    assert workspace.snapshot() == {"main.py": b"print('hello')\n"}


@pytest.fixture(params=["auto", "none"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The company's default sandbox, and the fallback a user chose explicitly."""
    if request.param == "auto":
        return namespace_sandbox()
    return plain_sandbox()


# -- 1. host files, run state and secrets ---------------------------------------------------


@pytest.fixture
def run_folder() -> Iterator[Path]:
    """A run folder as the company makes it (code/ beside state/), in the home folder."""
    home = Path.home().resolve()
    if not os.access(home, os.W_OK) or home.is_relative_to("/tmp"):
        pytest.skip("no writable home folder outside /tmp to plant secrets in")
    folder = home / f".ioa-attack-{secrets.token_hex(4)}"
    (folder / "state").mkdir(parents=True)
    (folder / "code").mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


SNOOP = """
import json, os, socket, sys
targets = json.loads(sys.argv[1])
seen = {}
for path in targets["files"]:
    try:
        with open(path, "rb") as handle:
            seen[path] = handle.read(200).decode(errors="replace")
    except OSError as exc:
        seen[path] = type(exc).__name__
for path in targets["sockets"]:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(path)
        seen[path] = "connected"
    except OSError as exc:
        seen[path] = type(exc).__name__
environs = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environs.append(handle.read().decode(errors="replace"))
        except OSError:
            pass
seen["environ"] = "\\n".join([*environs, *os.environ.values()])
seen["etc"] = sorted(os.listdir("/etc")) if os.path.isdir("/etc") else []
seen["root"] = sorted(os.listdir("/"))
for folder in ("home", "run"):
    path = targets[folder]
    seen[folder] = sorted(os.listdir(path)) if os.path.isdir(path) else []
print(json.dumps(seen))
"""


def _interpreter_in_home() -> set[str]:
    """The home folder's entries on the way to the interpreter, if it lives there (pyenv), and
    to the installation a virtualenv's interpreter belongs to."""
    home = Path.home().resolve()
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    return {root.relative_to(home).parts[0] for root in roots if root.is_relative_to(home)}


ETC_PYTHON_NEEDS = {"group", "hosts", "ld.so.cache", "localtime", "nsswitch.conf", "passwd"}


async def test_host_files_run_state_sockets_and_secrets_stay_outside(
    run_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = namespace_sandbox()
    token = secrets.token_hex(16)
    monkeypatch.setenv("IOA_HUB_TOKEN", token)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", token)
    credentials = run_folder / "state" / "credentials.json"
    credentials.write_text(json.dumps({"token": token}))
    other_run = run_folder / "other-run" / "state" / "checkpoints.db"
    other_run.parent.mkdir(parents=True)
    other_run.write_text(token)
    in_home = Path.home() / f".ioa-attack-secret-{token[:8]}"
    in_home.write_text(token)
    sock_path = run_folder / "agent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    server.listen()
    try:
        workspace = Workspace(run_folder / "code")
        targets = {
            "files": [str(credentials), str(other_run), str(in_home), "/etc/shadow"],
            "sockets": [str(sock_path)],
            "home": str(Path.home()),
            "run": str(run_folder),
        }
        files = {"main.py": SNOOP.replace("sys.argv[1]", repr(json.dumps(targets)))}
        check = await _check(sandbox, workspace, files)
    finally:
        server.close()
        in_home.unlink()
    assert check.program is not None
    assert check.program.status == "ok", check.program.report()
    seen = json.loads(check.program.stdout)
    assert token not in check.program.stdout, "a secret reached the program"
    for path in (*targets["files"], *targets["sockets"]):
        assert seen[path] in {"FileNotFoundError", "PermissionError"}, (path, seen[path])
    on_the_way = {run_folder.name, *_interpreter_in_home()}
    assert set(seen["home"]) <= on_the_way, "of the home folder, only the way to the interpreter"
    assert seen["run"] == ["code"], "of the run folder, only the code"
    assert set(seen["etc"]) <= ETC_PYTHON_NEEDS, seen["etc"]
    caps = sandbox.capabilities()
    assert caps.host_hidden
    await _next_run_is_clean(sandbox, workspace)


# -- 2. a new user namespace inside --------------------------------------------------------

USERNS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
result = libc.unshare(0x10000000)
print(result, ctypes.get_errno())
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
"""


async def test_a_new_user_namespace_cannot_be_created(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    workspace = Workspace(tmp_path / "ws")
    check = await _check(sandbox, workspace, {"main.py": USERNS})
    assert check.program is not None
    assert check.program.status == "ok", check.program.report()
    assert check.program.stdout == "-1 1\n", "unshare(CLONE_NEWUSER) must fail with EPERM"
    assert sandbox.capabilities().user_namespaces_blocked
    await _next_run_is_clean(sandbox, workspace)


# -- 3. disk per run -----------------------------------------------------------------------

FILL = """
import os
os.makedirs("out", exist_ok=True)
for index in range(40):
    with open(f"out/part{index}.bin", "wb") as handle:
        handle.write(b"x" * 1024 * 1024)
"""


@pytest.mark.parametrize("where", ["out", "/tmp", "/dev/shm"])
async def test_many_medium_files_meet_the_run_disk_limit(tmp_path: Path, where: str) -> None:
    limits = SandboxLimits(timeout_s=5.0, tmpfs_bytes=16 * 1024 * 1024)
    sandbox = namespace_sandbox(limits)
    workspace = Workspace(tmp_path / "ws")
    check = await _check(sandbox, workspace, {"main.py": FILL.replace('"out', f'"{where}')})
    assert check.program is not None
    assert (check.program.status, check.program.limit) == ("limit", "disk"), check.program.report()
    used = sum(path.stat().st_size for path in workspace.root.rglob("*") if path.is_file())
    assert used <= limits.tmpfs_bytes
    assert sandbox.capabilities().disk_bounded
    await _next_run_is_clean(sandbox, workspace)


# -- 4. programs that used to break the sandbox call or every later run -------------------

HOSTILE = {
    "sigint_to_own_group": (
        "import os, signal, time\nos.killpg(0, signal.SIGINT)\ntime.sleep(1)\n"
    ),
    "sigterm_and_sighup_to_own_group": (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "os.killpg(0, signal.SIGTERM)\nos.killpg(0, signal.SIGHUP)\ntime.sleep(1)\n"
    ),
    "scratch_replaced_by_a_fifo": (
        "import os, shutil\nshutil.rmtree('.sandbox')\nos.mkfifo('.sandbox')\nos.mkfifo('pipe')\n"
    ),
    "very_deep_tree": (
        "import os\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "open('leaf.py', 'w').write('x = 1\\n')\n"
    ),
    "very_deep_tree_in_scratch": (
        "import os\nos.chdir(os.environ['TMPDIR'])\n"
        "for _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n"
    ),
    "very_many_files": (
        "import os\nos.makedirs('many', exist_ok=True)\n"
        "for index in range(3000):\n    open(f'many/f{index}.py', 'w').close()\n"
    ),
    "odd_names": (
        "import os\nos.makedirs(b'sub\\nfolder', exist_ok=True)\n"
        "for name in (b'new\\nline.py', b'bad\\xff\\xfeutf8.py', b'n' * 252 + b'.py',\n"
        "             b'sub\\nfolder/x.py', b'-rf', b' lead.py'):\n"
        "    open(name, 'wb').write(b'print(1)\\n')\n"
    ),
    "unreadable_and_read_only_folders": (
        "import os\nos.makedirs('locked/inner')\nopen('locked/inner/f.py', 'w').close()\n"
        "os.chmod('locked/inner', 0)\nos.chmod('locked', 0o500)\n"
    ),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
async def test_hostile_program_gets_a_verdict_and_the_next_run_is_clean(
    tmp_path: Path, sandbox: Sandbox, attack: str
) -> None:
    workspace = Workspace(tmp_path / "ws")
    check = await _check(sandbox, workspace, {"main.py": HOSTILE[attack]})
    assert check.program is not None, "every hostile program gets a verdict"
    assert check.program.status in {"ok", "error", "limit", "timeout"}
    assert check.tests.verdict is None or check.tests.verdict.status in {"ok", "error", "limit"}
    with contextlib.suppress(TooManyFiles):  # a typed refusal of what it left, not a crash
        workspace.snapshot()
    await _next_run_is_clean(sandbox, workspace)


async def test_sigint_to_the_process_group_is_the_program_s_own_error(tmp_path: Path) -> None:
    sandbox = namespace_sandbox()
    workspace = Workspace(tmp_path / "ws")
    check = await _check(sandbox, workspace, {"main.py": HOSTILE["sigint_to_own_group"]})
    assert check.program is not None
    assert check.program.status == "error"
    assert check.program.traceback is not None
    assert check.program.traceback.exc_type == "KeyboardInterrupt"


# -- 5. the fallback's report is the whole truth ------------------------------------------


def test_fallback_report_admits_what_it_leaves_open() -> None:
    caps = plain_sandbox().capabilities()
    notes = " ".join(caps.notes)
    for admitted in ("host files", "environment", "/proc", "trace", "network"):
        assert admitted in notes, admitted
    if caps.is_root and caps.process_limit.startswith("cgroup"):
        assert "moves itself out of the run's cgroup" in notes
    assert not caps.host_hidden
    assert not caps.user_namespaces_blocked
    assert not caps.disk_bounded


def _first_of_own_environ() -> str:
    """A variable of this process's environment as the kernel keeps it (set at exec)."""
    with open("/proc/self/environ", "rb") as handle:
        return handle.read().split(b"\0")[0].decode(errors="replace")


async def test_fallback_really_shows_the_runner_environment(tmp_path: Path) -> None:
    sandbox = plain_sandbox()
    secret = _first_of_own_environ()
    code = "import os\nprint(secret in open(f'/proc/{os.getppid()}/environ').read())\n"
    workspace = Workspace(tmp_path / "ws")
    check = await _check(sandbox, workspace, {"main.py": f"secret = {secret!r}\n{code}"})
    assert check.program is not None
    assert check.program.stdout == "True\n", check.program.report()
    assert any("environment" in note for note in sandbox.capabilities().notes)


ESCAPE = """
import os, sys, time
procs = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.setsid()
    with open(procs, "w") as handle:
        handle.write(str(os.getpid()))
    with open("daemon.pid", "w") as handle:
        handle.write(str(os.getpid()))
    while True:
        with open("beat", "a") as handle:
            handle.write("x")
        time.sleep(0.02)
while not os.path.exists("beat"):
    time.sleep(0.02)
"""


async def test_fallback_daemon_leaving_the_cgroup_is_admitted(tmp_path: Path) -> None:
    sandbox = plain_sandbox()
    caps = sandbox.capabilities()
    if not (caps.is_root and caps.process_limit.startswith("cgroup")):
        pytest.skip("only root can move a process out of the run's cgroup")
    parent = find_pids_parent()
    assert parent is not None
    procs = parent[1] / "cgroup.procs"
    workspace = Workspace(tmp_path / "ws")
    check = await _check(
        sandbox, workspace, {"main.py": ESCAPE.replace("sys.argv[1]", repr(str(procs)))}
    )
    pid = int((workspace.root / "daemon.pid").read_text())
    try:
        assert check.program is not None
        assert check.program.ok, check.program.report()
        before = (workspace.root / "beat").stat().st_size
        await asyncio.sleep(0.3)
        assert (workspace.root / "beat").stat().st_size > before, "the daemon did escape"
        assert any("moves itself out of the run's cgroup" in note for note in caps.notes)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_auto_mode_refuses_model_code_when_only_the_fallback_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe_module, "find_unshare", lambda: None)
    probe_module.probe.cache_clear()
    try:
        sandbox = Sandbox(FAST)
        assert sandbox.capabilities().mode == "process-group"
        workspace = Workspace(tmp_path / "ws")
        workspace.write_files(HELLO)
        with pytest.raises(SandboxUnavailable, match="isolation='none'"):
            sandbox.run(workspace)
        assert not (workspace.root / ".sandbox").exists()
        assert plain_sandbox().run(workspace).ok, "an explicit choice of the fallback runs"
    finally:
        probe_module.probe.cache_clear()


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_the_printed_report_is_the_one_the_suite_checks(isolation: Isolation) -> None:
    sandbox = Sandbox(FAST, isolation=isolation)
    if isolation == "auto":
        namespace_sandbox()
    printed = subprocess.run(
        [sys.executable, "-m", "environments.workspace", "--json", "--isolation", isolation],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert json.loads(printed.stdout) == sandbox.capabilities().to_dict()
