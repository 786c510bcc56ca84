"""`ioa bench roco` and `ioa demo` through the real `ioa` entry point, on a tiny MiniCPM GGUF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ioa import cli

pytestmark = pytest.mark.llama

MODES = ["central", "dialog", "ioa", "dialectic", "oracle", "random"]


@pytest.fixture
def ioa() -> Callable[..., int]:
    """The real `ioa` entry point."""

    def run(*argv: Any) -> int:
        return cli.main([str(a) for a in argv])

    return run


def test_bench_roco_writes_its_outputs_and_ends_with_result(
    ioa: Callable[..., int],
    tiny_minicpm: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "bench"
    code = ioa(
        "bench", "roco", "--tasks", "sandwich", "--modes", *MODES, "--runs", "1",
        "--model", tiny_minicpm, "--threads", "1", "--attempts", "1", "--max-steps", "1",
        "--max-calls", "2", "--text-max", "16", "--out", out,
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("RESULT ")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["label"] == "symbolic RoCoBench-style"
    assert "tiny-minicpm" in result["model"]
    cells = result["results"]["sandwich"]
    assert sorted(cells) == sorted(MODES)
    for cell in cells.values():
        assert set(cell) >= {"success", "steps", "replans", "unparseable"}
        assert cell["unparseable"] == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["result"] == result
    assert len(saved["episodes"]) == len(MODES)
    assert all(e["steps"] == 1 for e in saved["episodes"])
    markdown = (out / "results.md").read_text()
    assert "symbolic RoCoBench-style" in markdown
    assert "| sandwich | dialog |" in markdown
    assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
    for mode in MODES:
        replay = json.loads((out / "transcripts" / f"sandwich-{mode}-seed0.json").read_text())
        assert replay["events"][0]["kind"] == "episode"
        assert (out / "transcripts" / f"sandwich-{mode}-seed0.txt").read_text().startswith("===")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--tasks", "juggle"], "invalid choice"),
        (["--modes", "telepathy"], "invalid choice"),
        (["--runs", "0"], "must be at least 1"),
    ],
)
def test_bench_roco_refuses_bad_options(
    ioa: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    complaint: str,
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        ioa("bench", "roco", *argv)
    assert exit_info.value.code == 2
    assert complaint in capsys.readouterr().err


def test_demo_runs_a_robot_task_through_a_hub_and_prints_the_outcome(
    ioa: Callable[..., int], tiny_minicpm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = ioa(
        "demo", "--task", "sandwich", "--model", tiny_minicpm, "--threads", "1",
        "--max-steps", "1", "--attempts", "1",
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "=== Make Sandwich (sandwich, seed 0) — mode ioa; robots Chad, Dave" in out
    assert "[hub] new group" in out
    assert "[proposal]:" in out
    assert "checker [check_result]:" in out
    assert "[conclusion]:" in out
    assert "in 1 of 10 steps" in out
    assert "0 rejected by the environment, 0 unparseable" in out


def test_demo_refuses_a_turn_cap_of_zero(
    ioa: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        ioa("demo", "--max-turns", "0")
    assert exit_info.value.code == 2
    assert "--max-turns: must be at least 1, not 0" in capsys.readouterr().err
