"""A scripted model for the company: replies chosen by phase, recorded for assertions.

The phase of a request is recognised from the shipped prompts (a phrase of each phase prompt);
each phase has a list of replies used in order, the last one repeating.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.software import Company, CompanyConfig, load_config
from agents.software.config import load_config_data
from ioa.commands.company import LEVERS_OFF
from ioa.commands.local_hub import local_hub
from ioa.llm import ScriptedEngine
from ioa.llm.engine import Request

REQUIREMENT = "a command-line tool that reverses the words of a sentence"

MAIN = (
    "import sys\n\n\n"
    "def reverse_words(text):\n"
    '    """The words of `text` in reverse order."""\n'
    '    return " ".join(reversed(text.split()))\n\n\n'
    'if __name__ == "__main__":\n'
    '    print(reverse_words(" ".join(sys.argv[1:]) or "hello big world"))\n'
)
BUGGY_MAIN = MAIN.replace("reversed(text.split())", "text.split()")
STUB_MAIN = MAIN.replace('    return " ".join(reversed(text.split()))\n', "    pass\n")
TEST = (
    "from main import reverse_words\n\n\n"
    "def test_reverse():\n"
    '    assert reverse_words("a b c") == "c b a"\n'
)

PHASES = {
    "Which kind of product": "demand_analysis",
    "Which programming language": "language_choice",
    "Write the whole program": "coding",
    "still has unfinished functions": "code_complete",
    "Review this code": "review_comment",
    "The reviewer says": "review_modification",
    "what is wrong and where": "test_error_summary",
    "The sandbox reported": "test_modification",
    "third-party packages": "environment_doc",
    "user manual": "manual",
    # the file-scoped prompts (levers on), after the phrases they share with the ones above
    "Other files:": "coding",
    "has unfinished functions.": "code_complete",
}


def fenced(code: str) -> str:
    """A file-scoped answer: one Python code block."""
    return f"```python\n{code}```"


def files_reply(*files: tuple[str, str]) -> dict[str, Any]:
    return {"files": [{"path": p, "content": c} for p, c in files]}


def verdict(done: bool, comment: str = "") -> dict[str, Any]:
    return {
        "comment": comment or ("fine" if done else "fix it"),
        "verdict": "done" if done else "changes",
    }


def transcript(folder: Path) -> list[dict[str, Any]]:
    """The lines of a run's transcript.jsonl."""
    return [json.loads(x) for x in (folder / "transcript.jsonl").read_text().splitlines()]


def messages(lines: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    """The envelopes of one phase group, in order."""
    return [
        x["envelope"] for x in lines if x["kind"] == "message" and x["envelope"]["group"] == group
    ]


DEFAULTS: dict[str, list[Any]] = {
    "demand_analysis": [{"reason": "simplest", "choice": "command-line tool"}],
    "decision": [{"comment": "good", "decision": "accept"}],
    "language_choice": [{"reason": "sandbox", "choice": "Python"}],
    "coding": [files_reply(("main.py", MAIN), ("test_main.py", TEST))],
    "code_complete": [files_reply(("main.py", MAIN))],
    "review_comment": [verdict(True)],
    "review_modification": [files_reply(("main.py", MAIN))],
    "test_error_summary": [{"text": "reverse_words does not reverse"}],
    "test_modification": [files_reply(("main.py", MAIN))],
    "environment_doc": [{"packages": []}],
    "manual": ["# Reverse words\n\nRun `python main.py hello world`."],
}


def phase_of(request: Request) -> str:
    if request.schema is not None and "decision" in request.schema.schema["properties"]:
        return "decision"
    first = next(m["content"] for m in request.messages if m["role"] == "user")
    for phrase, phase in PHASES.items():
        if phrase in first:
            return phase
    raise AssertionError(f"no phase recognised in: {first[:200]!r}")


class Script:
    """Callable reply for `ScriptedEngine`: by phase, in order, the last repeating."""

    def __init__(self, **replies: list[Any]) -> None:
        self.replies = {**DEFAULTS, **replies}
        self.calls: list[str] = []
        self.requests: list[Request] = []
        self.hooks: dict[str, Callable[[], None]] = {}
        """phase → called (once) when that phase is first asked."""

    def __call__(self, request: Request) -> Any:
        phase = phase_of(request)
        self.calls.append(phase)
        self.requests.append(request)
        hook = self.hooks.pop(phase, None)
        if hook is not None:
            hook()
        queue = self.replies[phase]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def count(self, phase: str) -> int:
        return self.calls.count(phase)


def engine(script: Script, calls: int = 400) -> ScriptedEngine:
    return ScriptedEngine([script] * calls)


def config(*steps: dict[str, Any], **changes: Any) -> CompanyConfig:
    """The shipped config with its levers off (the whole program in one JSON answer, as these
    scripts reply), with `steps` as its chain when given and top-level `changes`."""
    data = load_config().with_overrides(levers=LEVERS_OFF).model_dump()
    if steps:
        data["chain"] = list(steps)
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return load_config_data(data, "test")


def company(script: Script, runs: Path, cfg: CompanyConfig | None = None, **kw: Any) -> Company:
    return Company(engine(script), hub=local_hub, config=cfg or config(), runs_dir=runs, **kw)
