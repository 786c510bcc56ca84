"""Artifacts: grammar-constrained JSON first, the tolerant readings when a reply is not that."""

from __future__ import annotations

import json

import pytest

from agents.software.artifacts import (
    artifact_schema,
    ask,
    decide,
    decode_text,
    decode_value,
    trim_cut_code,
)
from agents.software.config import Answers, ArtifactSpec
from ioa.llm import ScriptedEngine, prepare_schema

FILES = ArtifactSpec(kind="files")
VERDICT = ArtifactSpec(kind="verdict", into="comments")
CHOICE = ArtifactSpec(kind="choice", into="modality", choices=["command-line tool", "game"])
PACKAGES = ArtifactSpec(kind="packages", into="requirements.txt")
TEXT = ArtifactSpec(kind="text", into="error_summary")
DOCUMENT = ArtifactSpec(kind="document", into="manual.md")
MESSAGES = [{"role": "system", "content": "You write code."}, {"role": "user", "content": "Go."}]


@pytest.mark.parametrize("spec", [FILES, VERDICT, CHOICE, PACKAGES, TEXT])
def test_every_schema_becomes_a_bounded_grammar(spec: ArtifactSpec) -> None:
    prepared = prepare_schema(artifact_schema(spec, Answers()))
    assert prepared.grammar
    assert prepared.bounded["additionalProperties"] is False


def test_the_path_grammar_admits_no_absolute_or_odd_path() -> None:
    validator = prepare_schema(artifact_schema(FILES, Answers())).validator
    good = {"files": [{"path": "pkg/main.py", "content": "x = 1\n"}]}
    assert validator.is_valid(good)
    for bad in ("/etc/passwd", "a b.py", "~/x.py", "", "-rf.py", "a\\b.py"):
        assert not validator.is_valid({"files": [{"path": bad, "content": "x"}]}), bad


def test_files_are_joined_by_path_in_order_and_byte_exact() -> None:
    value = {
        "files": [
            {"path": "main.py", "content": "a = 1\r\n"},
            {"path": "sub/util.py", "content": "\n\n  b = 2\n"},
            {"path": "main.py", "content": "c = 3\n"},
        ]
    }
    artifact = decode_value(FILES, value)
    assert artifact.usable
    assert artifact.method == "json"
    assert artifact.value["files"] == {
        "main.py": "a = 1\r\nc = 3\n",
        "sub/util.py": "\n\n  b = 2\n",
    }


def test_unsafe_paths_are_refused_and_said_why() -> None:
    artifact = decode_value(
        FILES,
        {"files": [{"path": "../escape.py", "content": "x"}, {"path": "ok.py", "content": "y"}]},
    )
    assert artifact.value["files"] == {"ok.py": "y"}
    assert artifact.rejected
    assert "'..'" in artifact.rejected[0]
    only_bad = decode_value(FILES, {"files": [{"path": ".sandbox/x.py", "content": "x"}]})
    assert not only_bad.usable
    assert "refused" in (only_bad.problem or "")


def test_fenced_code_is_the_fallback_for_files() -> None:
    text = "Here is the program.\n\nmain.py\n```python\nprint('hi')\n\n\nx = 2\n```\n"
    artifact = decode_text(FILES, text)
    assert artifact.method == "fence"
    assert artifact.value["files"] == {"main.py": "print('hi')\n\n\nx = 2\n"}


def test_complete_entries_are_salvaged_from_json_cut_off_at_the_token_cap() -> None:
    text = (
        '{"files": [{"path": "main.py", "content": "print(1)\\n"}, {"path": "test_main.py", "cont'
    )
    artifact = decode_text(FILES, text)
    assert artifact.method == "salvage"
    assert artifact.value["files"] == {"main.py": "print(1)\n"}


def test_a_reply_without_any_file_says_so() -> None:
    artifact = decode_text(FILES, "I think the program should be nice.")
    assert not artifact.usable
    assert "no file" in (artifact.problem or "")
    two_unnamed = decode_text(FILES, "```python\nx = 1\n```\n\n```python\ny = 2\n```\n")
    assert not two_unnamed.usable
    assert "no file name for a python block" in (two_unnamed.problem or "")


@pytest.mark.parametrize(
    ("text", "done"),
    [
        ("<INFO> Finished", True),
        ("Looks good to me, the code is done.", True),
        ("Approved.", True),
        ("The import of sys is missing in main.py.", False),
    ],
)
def test_a_verdict_is_read_from_prose(text: str, done: bool) -> None:
    artifact = decode_text(VERDICT, text)
    assert artifact.usable
    assert artifact.value["done"] is done


def test_a_choice_is_read_from_prose_or_refused() -> None:
    assert decode_text(CHOICE, "We should build a Game.").value["choice"] == "game"
    refused = decode_text(CHOICE, "A website!")
    assert not refused.usable
    json_off_list = decode_text(CHOICE, json.dumps({"reason": "r", "choice": "website"}))
    assert not json_off_list.usable


def test_packages_are_read_from_lines() -> None:
    artifact = decode_text(PACKAGES, "```\nrequests>=2.0\n- numpy\nnot a package line\n```")
    assert artifact.value["packages"] == ["requests>=2.0", "numpy"]


async def test_ask_uses_the_grammar_answer_when_it_is_valid() -> None:
    reply = {"files": [{"path": "main.py", "content": "print(1)\n"}]}
    engine = ScriptedEngine([reply])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=FILES, answers=Answers())
    assert answer.artifact.method == "json"
    assert answer.artifact.value["files"] == {"main.py": "print(1)\n"}
    (call,) = engine.calls
    assert call.schema == artifact_schema(FILES, Answers())
    assert len(answer.completions) == 1


async def test_ask_falls_back_to_fences_in_one_attempt() -> None:
    fenced = "```python main.py\nprint('fallback')\n```"
    engine = ScriptedEngine([fenced])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=FILES, answers=Answers())
    assert answer.artifact.method == "fence"
    assert answer.artifact.value["files"] == {"main.py": "print('fallback')\n"}
    assert len(engine.calls) == 1  # no repair round: the phase's next turn is the retry
    assert len(answer.completions) == 1


async def test_ask_reports_garbage_as_unusable_without_raising() -> None:
    engine = ScriptedEngine(["%%%"])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=VERDICT, answers=Answers())
    assert answer.artifact.usable  # prose without "done" is a request for changes
    assert answer.artifact.value["done"] is False
    engine = ScriptedEngine(["%%%"])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=CHOICE, answers=Answers())
    assert not answer.artifact.usable
    assert "not valid JSON" in (answer.artifact.problem or "")


def test_the_unfinished_tail_of_cut_off_code_is_dropped() -> None:
    code = "def f():\n    return 1\n\n\nprint(f())\nprint('unfinish"
    artifact = trim_cut_code(
        decode_value(FILES, {"files": [{"path": "main.py", "content": code}]}), lambda p, t: True
    )
    assert artifact.value["files"]["main.py"] == "def f():\n    return 1\n\n\nprint(f())\n"
    assert artifact.trimmed == ("main.py",)
    assert "cut-off tail dropped: main.py" in artifact.summary()
    prose = decode_value(FILES, {"files": [{"path": "main.py", "content": "This is a test. This"}]})
    assert trim_cut_code(prose, lambda p, t: True).value == prose.value  # nothing parses: kept
    whole = decode_value(FILES, {"files": [{"path": "main.py", "content": "print(1"}]})
    assert trim_cut_code(whole, lambda p, t: False).trimmed == ()  # not cut: a real error


async def test_code_cut_at_the_grammar_string_cap_is_trimmed_by_ask() -> None:
    answers = Answers(content_chars=40)
    content = ("x = 1\ny = 2\nprint(x + y)\nprint('a long li")[:40]
    assert len(content) == 40
    engine = ScriptedEngine([{"files": [{"path": "main.py", "content": content}]}])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=FILES, answers=answers)
    assert answer.artifact.value["files"]["main.py"] == "x = 1\ny = 2\nprint(x + y)\n"


async def test_a_document_is_free_text() -> None:
    engine = ScriptedEngine(["# Manual\n\nRun it."])
    answer = await ask(engine, agent="p", messages=MESSAGES, spec=DOCUMENT, answers=Answers())
    assert answer.artifact.value == {"text": "# Manual\n\nRun it."}
    assert engine.calls[0].schema is None
    empty = await ask(
        ScriptedEngine(["  "]), agent="p", messages=MESSAGES, spec=DOCUMENT, answers=Answers()
    )
    assert not empty.artifact.usable


async def test_a_decision_that_does_not_decode_counts_as_accept() -> None:
    decision = await decide(ScriptedEngine(["?"]), agent="c", messages=MESSAGES, answers=Answers())
    assert decision.accept
    revise = {"comment": "add tests", "decision": "revise"}
    decision = await decide(
        ScriptedEngine([revise]), agent="c", messages=MESSAGES, answers=Answers()
    )
    assert (decision.accept, decision.comment) == (False, "add tests")
