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
