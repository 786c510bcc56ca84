"""The code-writing levers: file-scoped prompts, compile checks with retries, candidates chosen
by the sandbox, and a running entry file never swapped for one that does not run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.software.config import CompanyConfig, load_config
from agents.software.file_scope import code_block, syntax_problem, targets
from agents.software.phase_prompts import file_instruction
from tests.agents.software.scripted import (
    MAIN,
    REQUIREMENT,
    TEST,
    Script,
    company,
    config,
    fenced,
    transcript,
    verdict,
)

CODING = {"kind": "phase", "phase": "coding"}
REVIEW = {
    "kind": "loop",
    "name": "code_review",
    "until": "approved",
    "cycles": 1,
    "phases": ["review_comment", "review_modification"],
}
CRASHING = 'raise SystemExit("boom")\n'
BROKEN = "def reverse_words(text:\n    return text\n"


def levers(**changes: Any) -> dict[str, Any]:
    base = {"file_scoped": True, "syntax_retries": 0, "candidates": 1, "keep_running": False}
    return {**base, **changes}


def phase_files(folder: Path, phase: str) -> list[dict[str, Any]]:
    entry = next(x for x in transcript(folder) if x["kind"] == "phase" and x["phase"] == phase)
    return list(entry["files"])


def test_a_syntax_problem_names_the_line_and_the_message() -> None:
    problem = syntax_problem("main.py", "x = 1\n" + BROKEN)
    assert problem is not None
    assert problem.line == 2
    assert problem.text == "def reverse_words(text:"
    assert problem.message
    assert syntax_problem("main.py", MAIN) is None
    assert syntax_problem("notes.txt", "not python (") is None
    empty = syntax_problem("main.py", "  \n")
    assert empty is not None
    assert "empty" in empty.message


def test_the_code_of_an_answer_is_its_first_block_even_when_cut_off() -> None:
    assert code_block(f"Here:\n```python\n{MAIN}```\nmore ```x```") == MAIN
    assert code_block("```py\nprint(1)\nprint(2") == "print(1)\nprint(2\n"
    assert code_block("print(3)") == "print(3)\n"
    assert code_block("  ") == ""


def test_a_phase_writes_its_focus_else_its_own_files_else_the_entry() -> None:
    cfg = load_config()
    coding, review = cfg.phases["coding"], cfg.phases["review_modification"]
    assert targets(cfg, coding, []) == ["main.py", "test_main.py"]
    assert targets(cfg, review, []) == ["main.py"]
    assert targets(cfg, review, ["util.py", "README.md", "main.py", "util.py", "x.py"]) == [
        "util.py",
        "main.py",
    ]


def test_a_file_prompt_holds_only_that_files_scope() -> None:
    cfg = load_config().with_overrides(args=["the quick fox"])
    helper = "def secret_helper(x):\n    return 'HELPER-BODY'\n"
    files = {"main.py": MAIN, "helpers.py": helper, "data.txt": "DATA-TEXT"}
    state = {"task": REQUIREMENT, "files": files, "notes": {"comments": "name the function"}}
    spec = cfg.phases["review_modification"]
    prompt = file_instruction(cfg, spec, state, "main.py", files, 4000)
    assert MAIN.strip() in prompt
    assert "'the quick fox'" in prompt
    assert "name the function" in prompt
    assert "HELPER-BODY" not in prompt
    assert "secret_helper" not in prompt
    assert "DATA-TEXT" not in prompt
    coding = file_instruction(cfg, cfg.phases["coding"], state, "test_main.py", files, 4000)
    assert "def reverse_words(text): ..." in coding  # main.py's signature, not its body
    assert "def secret_helper(x): ..." in coding
    assert '" ".join' not in coding
    assert "HELPER-BODY" not in coding
    assert "pytest tests of the functions of main.py" in coding
    assert "Write the whole program" not in coding
    assert len(file_instruction(cfg, spec, state, "main.py", files, 300)) <= 300


async def test_a_syntax_error_is_told_to_the_model_and_the_retry_runs(tmp_path: Path) -> None:
    cfg = config(CODING, levers=levers(syntax_retries=2))
    script = Script(coding=[fenced(BROKEN), fenced(MAIN), fenced(TEST)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)

    folder = summary.folder.path
    assert (folder / "code" / "main.py").read_text() == MAIN
    assert (folder / "code" / "test_main.py").read_text() == TEST
    final = summary.metrics["final"]
    assert final["executable"]
    assert final["tests_passed"]
    main, test = phase_files(folder, "coding")
    assert main["syntax_retries"] == 1
    assert main["calls"] == 2
    assert main["compiles"]
    assert test["syntax_retries"] == 0
    assert test["calls"] == 1
    told = script.requests[1].messages[-1]["content"]
    assert told.startswith("main.py does not compile: line 1:")
    assert "def reverse_words(text:" in told
    assert script.requests[1].messages[-2]["content"] == fenced(BROKEN)
    assert summary.metrics["tokens"]["total"]["calls"] == len(script.calls) == 3


async def test_without_retries_left_the_file_that_does_not_compile_is_still_recorded(
    tmp_path: Path,
) -> None:
    cfg = config(CODING, levers=levers(syntax_retries=1))
    script = Script(coding=[fenced(BROKEN), fenced(BROKEN), fenced(TEST)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)

    main = phase_files(summary.folder.path, "coding")[0]
    assert main == {**main, "accepted": True, "compiles": False, "syntax_retries": 1, "calls": 2}
    assert not summary.metrics["final"]["executable"]


async def test_the_first_candidate_the_sandbox_runs_is_kept(tmp_path: Path) -> None:
    cfg = config(CODING, levers=levers(candidates=3))
    script = Script(coding=[fenced(CRASHING), fenced(MAIN), fenced(TEST)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)

    main = phase_files(summary.folder.path, "coding")[0]
    assert main["candidates"] == 2
    assert main["sandbox_runs"] == 2
    assert main["runs"] is True
    assert summary.metrics["final"]["executable"]
    assert script.count("coding") == 3  # the third candidate was never asked for


async def test_a_running_entry_file_is_not_swapped_for_one_that_does_not_run(
    tmp_path: Path,
) -> None:
    cfg = config(CODING, REVIEW, levers=levers(keep_running=True))
    script = Script(
        coding=[fenced(MAIN), fenced(TEST)],
        review_comment=[verdict(False, "print more")],
        review_modification=[fenced(CRASHING)],
    )
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)

    assert (summary.folder.path / "code" / "main.py").read_text() == MAIN
    main = phase_files(summary.folder.path, "review_modification")[0]
    assert main["accepted"] is False
    assert main["runs"] is True
    assert main["sandbox_runs"] == 2
    assert summary.metrics["final"]["executable"]


async def test_levers_off_keep_the_whole_program_in_one_answer(tmp_path: Path) -> None:
    script = Script()
    summary = await company(script, tmp_path, config(CODING)).start(REQUIREMENT)
    assert script.count("coding") == 1
    assert "Write the whole program" in script.requests[0].messages[-1]["content"]
    entry = next(x for x in transcript(summary.folder.path) if x["kind"] == "phase")
    assert "files" not in entry


def test_file_prompts_only_go_with_files_phases() -> None:
    data = load_config().model_dump()
    data["phases"]["manual"]["file_prompt"] = "Write {file}."
    with pytest.raises(ValueError, match="only a files phase writes files one by one"):
        CompanyConfig.model_validate(data)
