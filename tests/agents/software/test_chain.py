"""The whole chain on a scripted model: a program that runs, a run folder, every loop's exit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.agents.software.scripted import (
    BUGGY_MAIN,
    MAIN,
    REQUIREMENT,
    STUB_MAIN,
    TEST,
    Script,
    company,
    config,
    files_reply,
    messages,
    transcript,
    verdict,
)


async def test_the_whole_chain_writes_a_program_that_runs_and_passes_its_test(
    tmp_path: Path,
) -> None:
    script = Script()
    events: list[dict] = []
    summary = await company(script, tmp_path, on_event=events.append).start(REQUIREMENT)

    assert summary.status == "done"
    folder = summary.folder.path
    assert (folder / "code" / "main.py").read_text() == MAIN
    assert (folder / "code" / "test_main.py").read_text() == TEST
    assert (folder / "requirements.txt").read_text() == ""
    assert (folder / "manual.md").read_text().startswith("# Reverse words")
    final = summary.metrics["final"]
    assert final["executable"]
    assert final["tests_passed"]
    assert final["complete"]
    assert final["tests"] == {"total": 1, "passed": 1}
    assert summary.metrics["phases_done"] == [
        "demand_analysis", "language_choice", "coding", "review_comment",
        "environment_doc", "manual",
    ]  # fmt: skip
    assert script.calls == [
        "demand_analysis", "decision", "language_choice", "coding", "review_comment",
        "environment_doc", "manual",
    ]  # fmt: skip
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == summary.metrics
    assert metrics["tokens"]["total"]["calls"] == len(script.calls)
    assert set(metrics["tokens"]["by_role"]) == {"cpo", "ceo", "cto", "programmer", "reviewer"}
    assert metrics["seconds"]["sessions"] == 1
    assert any(e["kind"] == "message" for e in events)


async def test_each_phase_is_a_protocol_conversation_stored_by_the_hub(tmp_path: Path) -> None:
    summary = await company(Script(), tmp_path).start(REQUIREMENT)
    lines = transcript(summary.folder.path)
    names = next(x["names"] for x in lines if x["kind"] == "agents")
    phases = [x for x in lines if x["kind"] == "phase"]
    assert len({p["group"] for p in phases}) == len(phases) == 6
    for phase in phases:
        sent = messages(lines, phase["group"])
        types = [m["payload"]["type"] for m in sent]
        assert types[-2:] == ["conclude", "conclusion"]
        assert set(types[:-2]) == {"discussion"}
        assert [m["seq"] for m in sent] == list(range(1, len(sent) + 1))
        assert names[sent[0]["sender"]] == phase["instructor"]
        assert names[sent[1]["sender"]] == phase["assistant"]
    coding = next(p for p in phases if p["phase"] == "coding")
    conclusion = messages(lines, coding["group"])[-1]
    assert json.loads(conclusion["payload"]["text"])["files"]["main.py"] == MAIN


async def test_files_can_be_asked_for_as_code_fences(tmp_path: Path) -> None:
    cfg = config({"kind": "phase", "phase": "coding"}, answers={"code_format": "fences"})
    fenced = f"main.py\n```python\n{MAIN}```\n\ntest_main.py\n```python\n{TEST}```\n"
    script = Script(coding=[fenced])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    (request,) = script.requests
    assert request.schema is None
    assert "Markdown code block" in request.messages[-1]["content"]
    assert (summary.folder.code / "main.py").read_text() == MAIN
    assert summary.metrics["final"]["tests_passed"]
    assert summary.metrics["artifacts"] == {"fence": 1}


async def test_review_loop_ends_when_the_reviewer_says_done(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "code_review", "until": "approved", "cycles": 3,
         "phases": ["review_comment", "review_modification"]},
    )  # fmt: skip
    script = Script(review_comment=[verdict(False), verdict(True)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("review_comment") == 2
    assert script.count("review_modification") == 1
    assert summary.metrics["loops"]["code_review"] == {
        "until": "approved", "cap": 3, "cycles": 2, "exit": "approved"
    }  # fmt: skip


async def test_review_loop_stops_at_its_cap_when_never_approved(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "code_review", "until": "approved", "cycles": 2,
         "phases": ["review_comment", "review_modification"]},
    )  # fmt: skip
    script = Script(review_comment=[verdict(False, "add a docstring")])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("review_comment") == script.count("review_modification") == 2
    assert summary.metrics["loops"]["code_review"]["exit"] == "cap"
    modification = [
        r for r, p in zip(script.requests, script.calls, strict=True) if p == "review_modification"
    ]
    assert "add a docstring" in modification[0].messages[-1]["content"]


async def test_test_loop_fixes_a_bug_and_ends_when_the_tests_pass(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "test", "until": "tests_pass", "cycles": 3,
         "phases": ["test_error_summary", "test_modification"]},
    )  # fmt: skip
    script = Script(coding=[files_reply(("main.py", BUGGY_MAIN), ("test_main.py", TEST))])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("test_error_summary") == script.count("test_modification") == 1
    loop = summary.metrics["loops"]["test"]
    assert (loop["cycles"], loop["exit"]) == (1, "tests_pass")
    summary_request = script.requests[script.calls.index("test_error_summary")]
    assert "AssertionError" in summary_request.messages[-1]["content"]
    assert summary.metrics["final"]["tests_passed"]
    checks = transcript(summary.folder.path)
    assert [c["passed"] for c in checks if c["kind"] == "check"] == [False, True, True]


async def test_test_loop_is_skipped_when_the_tests_already_pass(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "test", "until": "tests_pass", "cycles": 3,
         "phases": ["test_error_summary", "test_modification"]},
    )  # fmt: skip
    script = Script()
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.calls == ["coding"]
    assert summary.metrics["loops"]["test"]["exit"] == "tests_pass"


async def test_completion_loop_fills_stubs_then_ends(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "complete", "until": "no_stubs", "cycles": 3,
         "phases": ["code_complete"]},
    )  # fmt: skip
    script = Script(coding=[files_reply(("main.py", STUB_MAIN), ("test_main.py", TEST))])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("code_complete") == 1
    prompt = script.requests[script.calls.index("code_complete")].messages[-1]["content"]
    assert "main.py still has unfinished functions" in prompt
    assert "    pass" in prompt  # the focus file is shown in full
    assert summary.metrics["loops"]["complete"]["exit"] == "no_stubs"
    assert summary.metrics["final"]["complete"]


async def test_completion_loop_gives_up_on_a_file_after_its_attempts(tmp_path: Path) -> None:
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "complete", "until": "no_stubs", "cycles": 5,
         "phases": ["code_complete"]},
        run={"attempts_per_file": 2},
    )  # fmt: skip
    stub = files_reply(("main.py", STUB_MAIN), ("test_main.py", TEST))
    script = Script(coding=[stub], code_complete=[files_reply(("main.py", STUB_MAIN))])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert script.count("code_complete") == 2
    assert summary.metrics["loops"]["complete"]["exit"] == "no_fixable_stubs"
    assert not summary.metrics["final"]["complete"]
