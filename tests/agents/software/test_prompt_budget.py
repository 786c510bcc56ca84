"""Prompts stay inside the context window: file-scoped code, outlines, summarised history."""

from __future__ import annotations

from pathlib import Path

from agents.software.prompt_budget import Gauge, code_view, fit_chat, history_view, outline, shorten
from tests.agents.software.scripted import (
    MAIN,
    REQUIREMENT,
    TEST,
    Script,
    company,
    config,
    files_reply,
    verdict,
)

BIG = "\n".join(
    f"def helper_{i}(x):\n    '''Helper {i}.'''\n    return x + {i}\n" for i in range(300)
)


def test_outline_keeps_signatures_and_first_docstring_lines() -> None:
    source = (
        'class Game:\n    """A game."""\n    def move(self, cell: int) -> None:\n        x = 1\n'
    )
    assert outline("game.py", source) == (
        "class Game:  # A game.\n    def move(self, cell: int): ..."
    )
    assert "does not parse" in outline("bad.py", "def (:\n")
    assert outline("notes.txt", "a\nb\n") == "(2 lines)"


def test_focus_files_are_shown_in_full_and_the_rest_as_outlines() -> None:
    files = {"main.py": MAIN, "big.py": BIG}
    view = code_view(files, ["main.py"], "focus", 100_000)
    assert MAIN.strip() in view
    assert "--- big.py (outline) ---" in view
    assert "return x + 7" not in view


def test_all_mode_degrades_the_other_files_to_fit_the_budget() -> None:
    files = {"main.py": MAIN, "big.py": BIG}
    roomy = code_view(files, [], "all", 100_000)
    assert "return x + 7" in roomy
    tight = code_view(files, ["main.py"], "all", 2_000)
    assert len(tight) <= 2_000
    assert MAIN.strip() in tight
    assert "big.py (outline)" in tight or "big.py (not shown)" in tight


def test_a_focus_file_larger_than_the_budget_keeps_head_and_tail() -> None:
    view = code_view({"big.py": BIG}, ["big.py"], "focus", 1_500)
    assert len(view) <= 1_500
    assert "def helper_0" in view
    assert "helper_299" in view
    assert "characters cut" in view


def test_no_code_mode_and_an_empty_project() -> None:
    assert code_view({"main.py": MAIN}, [], "none", 10_000) == "(no code yet)"
    assert code_view({}, [], "all", 10_000) == "(no code yet)"


def test_the_gauge_learns_the_lowest_ratio_the_model_shows() -> None:
    gauge = Gauge(3.0)
    gauge.observe(chars=1_000, tokens=250)
    assert gauge.chars_per_token == 3.0
    gauge.observe(chars=1_000, tokens=900)
    assert round(gauge.chars_per_token, 3) == 1.111
    gauge.observe(chars=10, tokens=1_000)
    assert gauge.chars_per_token == 0.5
    assert gauge.chars(100) == 50


def test_history_and_chat_fitting() -> None:
    assert history_view([], 5) == "(nothing yet)"
    assert history_view([f"step {i}" for i in range(10)], 2) == "- step 8\n- step 9"
    chat = [
        {"role": "system", "content": "s" * 10},
        {"role": "user", "content": "u" * 10},
        {"role": "assistant", "content": "a" * 500},
        {"role": "user", "content": "f" * 20},
    ]
    fitted = fit_chat(chat, 100)
    assert [m["role"] for m in fitted] == ["system", "user", "user"]
    assert sum(len(m["content"]) for m in fit_chat(chat, 30)) <= 30
    assert shorten("abcdef", 10) == "abcdef"


async def test_no_prompt_of_a_run_exceeds_the_window_even_with_huge_code(tmp_path: Path) -> None:
    """Every request of a review-and-test run on a 1,500-token window, with 30 kB of code."""
    cfg = config(
        {"kind": "phase", "phase": "coding"},
        {"kind": "loop", "name": "code_review", "until": "approved", "cycles": 2,
         "phases": ["review_comment", "review_modification"]},
        {"kind": "phase", "phase": "environment_doc"},
        context={"n_ctx": 1500},
        answers={"files": 300},
    )  # fmt: skip
    huge = files_reply(("main.py", MAIN), ("test_main.py", TEST), ("big.py", BIG))
    script = Script(coding=[huge], review_comment=[verdict(False, "x" * 3000), verdict(True)])
    summary = await company(script, tmp_path, cfg).start(REQUIREMENT)
    assert summary.status == "done"
    answers = {"review_comment": 160, "review_modification": 300, "environment_doc": 96}
    for phase, request in zip(script.calls, script.requests, strict=True):
        if phase in answers:
            chars = sum(len(m["content"]) for m in request.messages)
            assert chars <= (1500 - answers[phase] - 96) * 3.0, phase
    review = script.requests[script.calls.index("review_comment")].messages[-1]["content"]
    assert MAIN.strip() in review  # the entry file in full, the big file cut down
    assert "return x + 150" not in review
