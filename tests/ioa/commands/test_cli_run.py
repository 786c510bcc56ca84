"""`ioa run "GOAL" --threads 1`: a local team on a tiny MiniCPM GGUF, through the entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from ioa import cli
from ioa.llm import write_tiny_gguf

pytestmark = pytest.mark.llama


def test_run_takes_threads_and_model_and_reaches_a_conclusion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOA_HOME", str(tmp_path / "home"))
    model = write_tiny_gguf(tmp_path / "tiny-minicpm.gguf", "minicpm")
    argv = ["run", "add 2 and 3", "--threads", "1", "--model", str(model),
            "--max-turns", "2", "--timeout", "120"]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "\nDONE in " in out
    assert "model: " in out


def test_run_prints_each_team_labelled_and_the_tools_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOA_HOME", str(tmp_path / "home"))
    model = write_tiny_gguf(tmp_path / "tiny-minicpm.gguf", "minicpm")
    argv = ["run", "What is the population of Lyon?", "--threads", "1", "--model", str(model),
            "--always-use-tools", "--timeout", "120"]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "┌ team 1: the goal's team" in lines
    assert any(
        line.startswith("    ┌ team 2: sub-team of team 1 for the goal, led by ") for line in lines
    )
    assigned = [line for line in lines if "[sync_task_assign]" in line]
    assert assigned
    assert assigned[0].startswith("    │ team 2 ")
    assert "→ look up" in assigned[0]
    assert "population of Lyon" in assigned[0]
    assert any(line.startswith("│ team 1 ") and "[conclusion]" in line for line in lines)
    answer = next(line for line in lines if line.startswith("answer: "))
    assert "522250" in answer
