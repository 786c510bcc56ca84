"""Run a generated program, or its tests, so that it can hurt nothing but its own workspace.

ChatDev runs `cd dir; python3 main.py` through a shell on the host, sleeps three seconds and
greps stderr for "Traceback", and `pip install`s whatever module is missing. Here:

- never a shell, never an install: only the host's `python` on files of the workspace;
- in `namespaces` mode (the default where `unshare` works): an empty network namespace, a PID
  namespace, an allow-list view of the host (`_view`) whose writable parts are one tmpfs per run
  holding a copy of the workspace, a program without privileges that cannot make a user
  namespace (`_seccomp`), and a PID 1 that owns the deadline and copies the workspace back;
- `auto` never falls back silently: without namespaces it refuses to run, and only an explicit
  `isolation="none"` runs model-written code in a plain process group;
- always: a wall-clock timeout that kills the whole process group, RLIMIT_AS/CPU/FSIZE/NOFILE,
  a pids cgroup where the machine allows one (else RLIMIT_NPROC when not root), stdin at EOF,
  HOME and TMPDIR inside the workspace, no display, and output capped per stream.

`capabilities()` says which of these are really in force here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from ._launch import launch, python_flags
from ._probe import probe
from .capabilities import Capabilities
from .errors import SandboxError, SandboxUnavailable, TooManyFiles
from .limits import SandboxLimits
from .testrun import Framework, TestCounts, TestReport, find_test_files, parse_counts
from .verdict import Verdict, judge
from .workspace import Workspace

__all__ = ["Isolation", "Sandbox"]

Isolation = Literal["auto", "namespaces", "none"]

_PYTEST_INI = "[pytest]\n"


class Sandbox:
    """Runs Python programs of a `Workspace` under limits; one instance serves many runs.

    Calls block until the program ends (at most the timeout plus a fraction of a second);
    async callers use `asyncio.to_thread`. One run at a time per workspace: a run owns the
    workspace's `.sandbox` scratch folder. Runs in different workspaces may go in parallel.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        isolation: Isolation = "auto",
        python: str | None = None,
        site_packages: bool = True,
    ) -> None:
        if isolation not in ("auto", "namespaces", "none"):
            raise SandboxError(f"isolation must be auto, namespaces or none, not {isolation!r}")
        self.limits = limits or SandboxLimits()
        self.isolation: Isolation = isolation
        self.python = os.path.abspath(python or sys.executable)
        self.site_packages = site_packages
        if not os.access(self.python, os.X_OK):
            raise SandboxError(f"the interpreter {self.python} is not executable")

    def capabilities(self) -> Capabilities:
        """What this machine enforces for this sandbox (probed once per process, then cached)."""
        return probe(self.python, self.isolation)

    def run(
        self,
        workspace: Workspace,
        entry: str = "main.py",
        *,
        args: Sequence[str] = (),
        timeout_s: float | None = None,
    ) -> Verdict:
        """Run `python entry *args` in the workspace and judge how it ended."""
        rel = workspace.check(entry)
        if not rel.endswith(".py"):
            raise SandboxError(f"the entry point {rel} is not a .py file")
        workspace.path_of(rel)
        script = f"./{rel}"  # never read as an option, even if the name starts with "-"
        return self.run_python(workspace, [script, *_checked_args(args)], timeout_s=timeout_s)

    def run_python(
        self,
        workspace: Workspace,
        python_args: Sequence[str],
        *,
        timeout_s: float | None = None,
    ) -> Verdict:
        """Run `python <isolation flags> *python_args` (e.g. `["-m", "pkg"]`) in the workspace."""
        verdict, _ = self._execute(workspace, _checked_args(python_args), timeout_s, None)
        return verdict

    def run_tests(self, workspace: Workspace, *, timeout_s: float | None = None) -> TestReport:
        """Run the project's `test_*.py` / `*_test.py` with the host's pytest, else unittest.

        pytest needs site-packages; with `site_packages=False` the stdlib's unittest runs.
        """
        try:
            tests = find_test_files(workspace.files())
        except TooManyFiles as exc:  # what an earlier program left; the tests cannot be told apart
            return TestReport(None, (), TestCounts(), self._refused(workspace, exc.message))
        if not tests:
            return TestReport(None, (), TestCounts(), None)
        use_pytest = self.site_packages and _has_pytest(self.python)
        framework: Framework = "pytest" if use_pytest else "unittest"
        if framework == "pytest":
            args = [
                "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-c", ".sandbox/pytest.ini", "--rootdir", ".",
                "--junitxml", ".sandbox/junit.xml", "-o", "junit_family=xunit2",
                *(f"./{test}" for test in tests),
            ]  # fmt: skip
        else:
            args = ["-m", "unittest", "discover", "-s", ".", "-t", ".", "-p", "test*.py"]
        verdict, junit = self._execute(workspace, args, timeout_s, framework)
        counts = parse_counts(framework, junit, verdict.stdout, verdict.stderr)
        return TestReport(framework, tuple(tests), counts, verdict)

    def _execute(
        self,
        workspace: Workspace,
        python_args: list[str],
        timeout_s: float | None,
        framework: Framework | None,
    ) -> tuple[Verdict, bytes]:
        caps = self.capabilities()
        if self.isolation == "auto" and caps.mode != "namespaces":
            reason = next((note for note in caps.notes if "unavailable" in note), "")
            raise SandboxUnavailable(
                f"namespace isolation is not available here ({reason}); model-written code "
                "runs without it only when asked for explicitly: Sandbox(isolation='none'), "
                "or `ioa company --no-isolation`"
            )
        timeout = self.limits.timeout_s if timeout_s is None else timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise SandboxError(f"timeout_s must be a number, not {type(timeout).__name__}")
        if not 0 < timeout <= 3600:
            raise SandboxError(f"timeout_s must be in (0, 3600], not {timeout}")
        launched = launch(
            workspace.root,
            [*python_flags(self.site_packages), *python_args],
            limits=self.limits,
            python=self.python,
            namespaces=caps.mode == "namespaces",
            unshare=caps.unshare,
            use_cgroup=caps.process_limit.startswith("cgroup"),
            timeout_s=timeout,
            scratch_files={"pytest.ini": _PYTEST_INI} if framework == "pytest" else None,
            read_back=("junit.xml",) if framework == "pytest" else (),
        )
        captured = launched.captured
        verdict = judge(
            exit_code=launched.exit_code,
            signal_number=launched.signal,
            timed_out=launched.timed_out,
            pids_exhausted=launched.pids_exhausted,
            disk_full=launched.disk_full,
            duration_s=captured.duration_s,
            stdout=captured.stdout,
            stderr=captured.stderr,
            stdout_bytes=captured.stdout_total,
            stderr_bytes=captured.stderr_total,
            stdout_truncated=captured.stdout_truncated,
            stderr_truncated=captured.stderr_truncated,
            root=str(workspace.root),
            isolation=caps.mode,
            argv=(os.path.basename(self.python), *python_args),
        )
        return verdict, launched.scratch.get("junit.xml", b"")

    def _refused(self, workspace: Workspace, why: str) -> Verdict:
        """A failed verdict for a run the sandbox would not start, with the reason as stderr."""
        reason = f"the sandbox did not run the tests: {why}\n".encode()
        return judge(
            exit_code=None,
            signal_number=None,
            timed_out=False,
            pids_exhausted=False,
            duration_s=0.0,
            stdout=b"",
            stderr=reason,
            stdout_bytes=0,
            stderr_bytes=len(reason),
            stdout_truncated=False,
            stderr_truncated=False,
            root=str(workspace.root),
            isolation=self.capabilities().mode,
        )


def _checked_args(args: Sequence[str]) -> list[str]:
    if isinstance(args, str | bytes):
        raise SandboxError("arguments must be a list of strings, not one string")
    checked = []
    for arg in args:
        if not isinstance(arg, str):
            raise SandboxError(f"every argument must be a string, not {type(arg).__name__}")
        if "\x00" in arg:
            raise SandboxError("an argument contains a NUL byte")
        checked.append(arg)
    return checked


@lru_cache(maxsize=8)
def _has_pytest(python: str) -> bool:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return importlib.util.find_spec("pytest") is not None
    result = subprocess.run(
        [python, "-E", "-s", "-c", "import pytest"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0
