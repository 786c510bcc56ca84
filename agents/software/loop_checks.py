"""The checks that end loops, and the final evaluation, all on the real project folder.

- `unfinished`: the next file with a stub, by syntax tree (`environments.workspace.completeness`),
  skipping files that have had their attempts;
- `check`: the program is run in the sandbox (no shell, limits, no network where available) and
  so are its own tests; the loop ends when the program runs and every test passes.

The project folder is rewritten from the run's state before each check (`materialise`), so a
run resumed after a kill judges exactly the code its checkpoint holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from agents.software.config import RunSettings
from environments.workspace import (
    CompletenessReport,
    Sandbox,
    TestReport,
    Verdict,
    Workspace,
    WorkspaceError,
    completeness,
)

__all__ = ["Check", "LoopChecks"]

REPORT_CHARS = 900
UNFINISHED = frozenset({"stub", "not_implemented", "todo", "syntax_error", "empty_file"})


@dataclass(frozen=True)
class Check:
    """One sandboxed run of the program and of its tests."""

    program: Verdict | None
    """None when the entry file is missing."""
    tests: TestReport
    entry: str
    refused: tuple[str, ...] = ()
    """Files the workspace would not write (a path clash), as `path: reason`."""

    @property
    def executable(self) -> bool:
        return self.program is not None and self.program.executable

    @property
    def passed(self) -> bool:
        return self.executable and self.tests.all_passed

    @property
    def focus(self) -> list[str]:
        """Files worth showing in full to whoever fixes the failure."""
        found: list[str] = []
        for verdict in (self.program, self.tests.verdict):
            if verdict is not None and verdict.traceback is not None:
                for frame in reversed(verdict.traceback.frames):
                    if frame.in_workspace and frame.file not in found:
                        found.append(frame.file)
        return [*found, self.entry, *self.tests.test_files]

    def report(self) -> str:
        """What the tester tells the programmer."""
        if self.program is None:
            program = f"{self.entry}: missing — the project has no {self.entry}"
        else:
            program = f"{self.entry}: {self.program.report(REPORT_CHARS)}"
        tests = self.tests.report(REPORT_CHARS)
        if not self.tests.found:
            tests += " — write test_main.py with pytest tests"
        return f"{program}\ntests: {tests}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "executable": self.executable,
            "passed": self.passed,
            "program": self.program.to_dict() if self.program else None,
            "tests": self.tests.to_dict(),
            "refused": list(self.refused),
        }


@dataclass
class LoopChecks:
    """Checks over one run's project folder."""

    workspace: Workspace
    sandbox: Sandbox
    settings: RunSettings
    refused: list[str] = field(default_factory=list)

    def materialise(self, files: dict[str, str]) -> None:
        """Make the folder hold exactly `files`: whatever the last run left is cleared away."""
        self.refused = []
        self.workspace.prune(files)
        for path, content in files.items():
            try:
                self.workspace.write(path, content)
            except WorkspaceError as exc:
                self.refused.append(f"{path}: {exc.message}")

    def unfinished(
        self, files: dict[str, str], attempts: dict[str, int]
    ) -> tuple[str | None, CompletenessReport]:
        """The first file with unfinished code that still has attempts left, and the report."""
        report = completeness(files)
        for finding in report.findings:
            limit = self.settings.attempts_per_file
            if finding.kind in UNFINISHED and attempts.get(finding.path, 0) < limit:
                return finding.path, report
        return None, report

    async def runs(self, files: dict[str, str]) -> bool:
        """Does the entry file of `files` run in the sandbox? (The program only, not its
        tests: the probe a file-scoped phase chooses its entry file by.)"""
        self.materialise(files)
        entry = self.settings.entry
        if not self.workspace.exists(entry):
            return False
        verdict = await asyncio.to_thread(
            self.sandbox.run,
            self.workspace,
            entry,
            args=self.settings.args,
            timeout_s=self.settings.timeout_s,
        )
        return verdict.executable

    async def check(self, files: dict[str, str]) -> Check:
        self.materialise(files)
        entry = self.settings.entry
        program = None
        if self.workspace.exists(entry):
            program = await asyncio.to_thread(
                self.sandbox.run,
                self.workspace,
                entry,
                args=self.settings.args,
                timeout_s=self.settings.timeout_s,
            )
        tests = await asyncio.to_thread(
            self.sandbox.run_tests, self.workspace, timeout_s=self.settings.timeout_s * 3
        )
        return Check(program, tests, entry, tuple(self.refused))
