"""A run killed in the middle of a phase resumes at that phase; finished phases stay done."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agents.software import Company, RunFolder
from ioa.commands.local_hub import local_hub
from tests.agents.software.scripted import MAIN, REQUIREMENT, Script, company, engine


def _only_run(runs: Path) -> RunFolder:
    (found,) = [p for p in runs.iterdir() if (p / "run.json").exists()]
    return RunFolder(found)


async def test_a_killed_run_resumes_without_redoing_finished_phases(tmp_path: Path) -> None:
    first = Script()
    task = asyncio.create_task(company(first, tmp_path).start(REQUIREMENT))
    first.hooks["review_comment"] = task.cancel  # the kill lands inside the review phase
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first.calls[-1] == "review_comment"
    folder = _only_run(tmp_path)
    assert folder.info()["status"] == "stopped"
    before = folder.metrics()
    assert before is not None
    assert before["phases_done"] == ["demand_analysis", "language_choice", "coding"]

    second = Script()
    summary = await Company(engine(second), hub=local_hub, runs_dir=tmp_path).resume(folder.id)

    assert summary.status == "done"
    assert second.calls == ["review_comment", "environment_doc", "manual"]
    assert summary.metrics["phases_done"] == [
        "demand_analysis", "language_choice", "coding", "review_comment",
        "environment_doc", "manual",
    ]  # fmt: skip
    assert summary.metrics["seconds"]["sessions"] == 2
    assert summary.metrics["final"]["executable"]
    assert (folder.code / "main.py").read_text() == MAIN
    credentials = json.loads(folder.credentials.read_text())
    lines = [json.loads(x) for x in folder.transcript.read_text().splitlines()]
    senders = {x["envelope"]["sender"] for x in lines if x["kind"] == "message"}
    assert senders <= {c["agent_id"] for c in credentials.values()}  # same agents throughout


async def test_resuming_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    summary = await company(Script(), tmp_path).start(REQUIREMENT)
    again = Script()
    resumed = await Company(engine(again), hub=local_hub, runs_dir=tmp_path).resume(
        summary.folder.path
    )
    assert again.calls == []
    assert resumed.status == "done"
    assert resumed.metrics["phases_done"] == summary.metrics["phases_done"]
    assert resumed.metrics["seconds"]["sessions"] == 1
