"""Counting the results of a generated project's own tests.

pytest writes a JUnit XML file into the run's scratch folder, which is the reliable source;
its one-line summary and unittest's `Ran N tests` / `FAILED (failures=1)` lines are the
fallback when the XML is missing or broken (the program under test may well break it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from .verdict import Verdict

__all__ = ["Framework", "TestCounts", "TestReport", "find_test_files", "parse_counts"]

Framework = Literal["pytest", "unittest"]

_PYTEST_PART = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)
_UNITTEST_PART = re.compile(r"(failures|errors|skipped|expected failures)=(\d+)")


def find_test_files(files: list[str]) -> list[str]:
    """`test_*.py` and `*_test.py` anywhere in the project, in path order."""
    found = []
    for rel in files:
        name = PurePosixPath(rel).name
        if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
            found.append(rel)
    return found


@dataclass(frozen=True)
class TestCounts:
    __test__ = False

    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class TestReport:
    """The project's tests: which files, which runner, how many passed, and the run itself."""

    __test__ = False

    framework: Framework | None
    test_files: tuple[str, ...]
    counts: TestCounts
    verdict: Verdict | None

    @property
    def found(self) -> bool:
        return bool(self.test_files)

    @property
    def all_passed(self) -> bool:
        """At least one test ran and none failed or errored, within the limits."""
        counts = self.counts
        return (
            self.verdict is not None
            and self.verdict.status == "ok"
            and counts.total > 0
            and counts.failed == 0
            and counts.errors == 0
        )

    @property
    def pass_rate(self) -> float:
        return self.counts.passed / self.counts.total if self.counts.total else 0.0

    def headline(self) -> str:
        if not self.found:
            return "no tests: no test_*.py or *_test.py file in the project"
        counts = self.counts
        run = self.verdict.headline() if self.verdict else "not run"
        return (
            f"{self.framework}: {counts.passed}/{counts.total} passed, {counts.failed} failed, "
            f"{counts.errors} errors, {counts.skipped} skipped ({run})"
        )

    def report(self, max_chars: int = 2000) -> str:
        """Headline plus the tail of the runner's output, for the tester's prompt."""
        if self.verdict is None:
            return self.headline()
        tail = (self.verdict.stdout + self.verdict.stderr)[-max_chars:].strip()
        return f"{self.headline()}\n{tail}" if tail else self.headline()

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "test_files": list(self.test_files),
            **self.counts.__dict__,
            "all_passed": self.all_passed,
            "verdict": self.verdict.to_dict() if self.verdict else None,
        }


def parse_counts(framework: Framework, junit_xml: bytes, stdout: str, stderr: str) -> TestCounts:
    """Counts from the JUnit XML when it parses, else from the runner's summary lines."""
    if framework == "pytest":
        return _from_junit(junit_xml) or _from_pytest_summary(stdout)
    return _from_unittest(stderr + "\n" + stdout)


def _from_junit(data: bytes) -> TestCounts | None:
    if not data:
        return None
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if not suites:
        return None
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            value = suite.get(key, "0")
            totals[key] += int(value) if value.isdigit() else 0
    total = totals["tests"]
    failed, errors, skipped = totals["failures"], totals["errors"], totals["skipped"]
    passed = max(total - failed - errors - skipped, 0)
    return TestCounts(total, passed, failed, errors, skipped)


def _from_pytest_summary(stdout: str) -> TestCounts:
    found: dict[str, int] = {}
    lines = [line for line in stdout.splitlines() if _PYTEST_PART.search(line)]
    if lines:
        for number, word in _PYTEST_PART.findall(lines[-1]):
            key = "errors" if word.startswith("error") else word
            found[key] = found.get(key, 0) + int(number)
    passed = found.get("passed", 0) + found.get("xpassed", 0)
    failed = found.get("failed", 0)
    errors = found.get("errors", 0)
    skipped = found.get("skipped", 0) + found.get("xfailed", 0)
    return TestCounts(passed + failed + errors + skipped, passed, failed, errors, skipped)


def _from_unittest(output: str) -> TestCounts:
    ran = _UNITTEST_RAN.findall(output)
    if not ran:
        return TestCounts()
    total = int(ran[-1])
    parts = dict(_UNITTEST_PART.findall(output.rsplit("Ran ", 1)[-1]))
    failed = int(parts.get("failures", 0))
    errors = int(parts.get("errors", 0))
    skipped = int(parts.get("skipped", 0))
    return TestCounts(total, max(total - failed - errors - skipped, 0), failed, errors, skipped)
