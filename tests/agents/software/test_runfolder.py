"""Run folders: naming, finding a run, and clear errors for what is missing or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.software import RunBroken, RunFolder, RunNotFound, load_config
from agents.software.roster import Engines, Roster
from agents.software.run_view import replay_lines
from ioa.llm import ScriptedEngine


def _create(runs: Path, requirement: str, name: str | None = None) -> RunFolder:
    return RunFolder.create(runs, requirement, load_config(), name)


def test_a_new_run_folder_holds_its_requirement_and_config(tmp_path: Path) -> None:
    folder = _create(tmp_path, "A Tool: that reverses words!")
    assert folder.id.startswith("a-tool-that-reverses-words-")
    assert folder.requirement() == "A Tool: that reverses words!"
    assert folder.config() == load_config()
    assert folder.info()["status"] == "new"
    assert folder.code.is_dir()
    assert folder.state_dir.is_dir()


def test_runs_are_found_by_id_prefix_or_path(tmp_path: Path) -> None:
    first = _create(tmp_path, "x", name="alpha")
    _create(tmp_path, "y", name="beta")
    _create(tmp_path, "z", name="beta")
    assert RunFolder.find(first.id, tmp_path).path == first.path
    assert RunFolder.find("alpha", tmp_path).path == first.path
    assert RunFolder.find(str(first.path)).path == first.path
    with pytest.raises(RunNotFound, match="several runs"):
        RunFolder.find("beta", tmp_path)
    with pytest.raises(RunNotFound, match="no run 'gamma'"):
        RunFolder.find("gamma", tmp_path)
    with pytest.raises(RunNotFound, match="give a run id"):
        RunFolder.find("  ", tmp_path)


def test_a_run_without_a_transcript_cannot_be_replayed(tmp_path: Path) -> None:
    folder = _create(tmp_path, "x")
    with pytest.raises(RunBroken, match="no transcript"):
        list(replay_lines(folder))
    folder.transcript.write_text('{"kind": "run"}\nnot json\n')
    with pytest.raises(RunBroken, match="line 2 is not JSON"):
        list(replay_lines(folder))


def test_damaged_credentials_are_reported(tmp_path: Path) -> None:
    folder = _create(tmp_path, "x")
    folder.credentials.write_text("{broken")
    with pytest.raises(RunBroken, match="unreadable"):
        Roster("http://127.0.0.1:9", folder.credentials, load_config(), Engines(ScriptedEngine([])))
