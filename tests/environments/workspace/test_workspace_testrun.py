"""Counting test results from JUnit XML, pytest's summary line and unittest's output."""

from __future__ import annotations

import pytest

from environments.workspace.testrun import TestCounts, find_test_files, parse_counts

JUNIT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="7" time="0.1">
</testsuite></testsuites>"""


def test_junit_xml_is_preferred() -> None:
    counts = parse_counts("pytest", JUNIT, "1 passed in 0.1s", "")
    assert counts == TestCounts(total=7, passed=3, failed=2, errors=1, skipped=1)


@pytest.mark.parametrize("junit", [b"", b"<not-xml", b"<testsuites/>", b"<?xml version='1.0'?><a"])
def test_broken_junit_falls_back_to_the_summary_line(junit: bytes) -> None:
    stdout = "....F\nFAILED test_x.py::test_y\n2 failed, 5 passed, 1 skipped, 1 error in 0.31s\n"
    counts = parse_counts("pytest", junit, stdout, "")
    assert counts == TestCounts(total=9, passed=5, failed=2, errors=1, skipped=1)


def test_unittest_output() -> None:
    stderr = "..F.s\n------\nRan 5 tests in 0.002s\n\nFAILED (failures=1, skipped=1)\n"
    assert parse_counts("unittest", b"", "", stderr) == TestCounts(5, 3, 1, 0, 1)
    assert parse_counts("unittest", b"", "", "Ran 2 tests in 0.1s\n\nOK\n") == TestCounts(2, 2)
    assert parse_counts("unittest", b"", "", "nothing ran") == TestCounts()


def test_test_file_discovery() -> None:
    files = ["main.py", "test_a.py", "pkg/b_test.py", "pkg/testing.py", "tests/test_c.py", "t.txt"]
    assert find_test_files(files) == ["test_a.py", "pkg/b_test.py", "tests/test_c.py"]
