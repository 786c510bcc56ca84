"""Traceback parsing and the verdict rules, on crafted stderr (no processes involved)."""

from __future__ import annotations

import signal

import pytest

from environments.workspace import parse_traceback
from environments.workspace.verdict import judge

ROOT = "/runs/r1/ws"
HEADER = f'Traceback (most recent call last):\n  File "{ROOT}/m.py", line 1, in <module>\n'

SIMPLE = f"""Traceback (most recent call last):
  File "{ROOT}/main.py", line 12, in <module>
    main()
  File "{ROOT}/game/board.py", line 7, in main
    print(1 / 0)
          ~~^~~
ZeroDivisionError: division by zero
"""

LIBRARY_DEEPEST = f"""Traceback (most recent call last):
  File "{ROOT}/main.py", line 3, in <module>
    json.loads("{{")
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1
"""

CHAINED = f"""Traceback (most recent call last):
  File "{ROOT}/main.py", line 2, in <module>
    int("x")
ValueError: invalid literal for int() with base 10: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{ROOT}/main.py", line 4, in <module>
    raise RuntimeError("wrapped")
RuntimeError: wrapped
"""

SYNTAX_MAIN = f"""  File "{ROOT}/main.py", line 5
    def broken(:
               ^
SyntaxError: invalid syntax
"""

SYNTAX_IMPORTED = f"""Traceback (most recent call last):
  File "{ROOT}/main.py", line 1, in <module>
    import helper
  File "{ROOT}/helper.py", line 2
    x = = 1
        ^
SyntaxError: invalid syntax
"""


def test_simple_traceback_points_at_the_deepest_project_frame() -> None:
    parsed = parse_traceback(SIMPLE, ROOT)
    assert parsed is not None
    assert (parsed.exc_type, parsed.message) == ("ZeroDivisionError", "division by zero")
    assert (parsed.file, parsed.line) == ("game/board.py", 7)
    assert [frame.function for frame in parsed.frames] == ["<module>", "main"]
    assert parsed.summary() == "game/board.py:7: ZeroDivisionError: division by zero"


def test_library_frames_do_not_hide_the_project_line() -> None:
    parsed = parse_traceback(LIBRARY_DEEPEST, ROOT)
    assert parsed is not None
    assert parsed.exc_type == "json.decoder.JSONDecodeError"
    assert (parsed.file, parsed.line) == ("main.py", 3)
    assert parsed.frames[-1].in_workspace is False


def test_chained_exceptions_report_the_last_one() -> None:
    parsed = parse_traceback("some output\n" + CHAINED, ROOT)
    assert parsed is not None
    assert (parsed.exc_type, parsed.message, parsed.line) == ("RuntimeError", "wrapped", 4)


@pytest.mark.parametrize(
    ("stderr", "where"), [(SYNTAX_MAIN, ("main.py", 5)), (SYNTAX_IMPORTED, ("helper.py", 2))]
)
def test_syntax_errors_with_and_without_header(stderr: str, where: tuple[str, int]) -> None:
    parsed = parse_traceback(stderr, ROOT)
    assert parsed is not None
    assert parsed.exc_type == "SyntaxError"
    assert (parsed.file, parsed.line) == where


@pytest.mark.parametrize(
    "stderr",
    [
        "",
        "all fine\n",
        "Warning: low battery\n",
        '  File "x.py", line 3\nhello world\n',
        "Traceback",
    ],
)
def test_no_traceback_means_none(stderr: str) -> None:
    assert parse_traceback(stderr, ROOT) is None


def test_bare_exception_name_without_message() -> None:
    parsed = parse_traceback(f"{HEADER}KeyboardInterrupt\n", ROOT)
    assert parsed is not None
    assert (parsed.exc_type, parsed.message) == ("KeyboardInterrupt", "")


def _judge(**overrides: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "exit_code": 0,
        "signal_number": None,
        "timed_out": False,
        "pids_exhausted": False,
        "duration_s": 0.1,
        "stdout": b"",
        "stderr": b"",
        "stdout_bytes": 0,
        "stderr_bytes": 0,
        "stdout_truncated": False,
        "stderr_truncated": False,
        "root": ROOT,
        "isolation": "namespaces",
    }
    fields.update(overrides)
    return judge(**fields)  # type: ignore[arg-type]


def test_verdict_ok_error_timeout() -> None:
    assert _judge().status == "ok"
    assert _judge().executable
    error = _judge(exit_code=1, stderr=SIMPLE.encode())
    assert error.status == "error"
    assert error.headline() == "error: game/board.py:7: ZeroDivisionError: division by zero"
    assert _judge(exit_code=3).headline() == "error: exited with code 3"
    killed = _judge(exit_code=None, signal_number=signal.SIGSEGV)
    assert killed.headline() == "error: killed by signal SIGSEGV"
    timeout = _judge(exit_code=None, signal_number=signal.SIGKILL, timed_out=True)
    assert timeout.status == "timeout"
    assert timeout.executable, (
        "a program still running cleanly at the deadline counts as executable"
    )
    crashed_late = _judge(exit_code=None, timed_out=True, stderr=SIMPLE.encode())
    assert not crashed_late.executable


@pytest.mark.parametrize(
    ("overrides", "limit"),
    [
        ({"exit_code": None, "signal_number": signal.SIGXCPU}, "cpu"),
        ({"exit_code": None, "signal_number": signal.SIGXFSZ}, "file_size"),
        ({"exit_code": 1, "pids_exhausted": True}, "processes"),
        (
            {
                "exit_code": 1,
                "stderr": f"{HEADER}MemoryError\n".encode(),
            },
            "memory",
        ),
        (
            {
                "exit_code": 1,
                "stderr": f"{HEADER}OSError: [Errno 27] File too large\n".encode(),
            },
            "file_size",
        ),
    ],
)
def test_verdict_limits(overrides: dict[str, object], limit: str) -> None:
    verdict = _judge(**overrides)
    assert verdict.status == "limit"
    assert verdict.limit == limit
    assert verdict.headline().startswith(f"limit: stopped by the {limit} limit")


def test_truncation_flags_and_report() -> None:
    verdict = _judge(
        exit_code=1,
        stdout=b"x" * 10,
        stdout_bytes=10_000,
        stdout_truncated=True,
        stderr=SIMPLE.encode(),
        stderr_bytes=len(SIMPLE),
    )
    assert verdict.stdout_truncated
    assert not verdict.stderr_truncated
    report = verdict.report()
    assert report.splitlines()[0].startswith("error: game/board.py:7")
    assert "output capped: stdout 10000 bytes" in report
    data = verdict.to_dict()
    assert data["traceback"]["file"] == "game/board.py"
    assert data["stdout_truncated"] is True
