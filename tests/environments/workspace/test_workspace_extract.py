"""Files out of model text: the JSON artifact and the tolerant fenced-code fallback."""

from __future__ import annotations

import json

import pytest

from environments.workspace import (
    BadArtifact,
    extract_files,
    files_from_fences,
    files_from_json,
)

F = "```"
CODE = 'def main():\n    print("hi")\n\n\nif __name__ == "__main__":\n    main()\n'
UTIL = "def helper(x):\n    return x * 2\n"

FENCE_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("chatdev format", f"main.py\n{F}python\n{CODE}{F}\n", {"main.py": CODE}),
    ("info has name", f"{F}python main.py\n{CODE}{F}\n", {"main.py": CODE}),
    ("info is the name", f"{F}main.py\n{CODE}{F}\n", {"main.py": CODE}),
    ("lang:name info", f"{F}python:src/app.py\n{UTIL}{F}\n", {"src/app.py": UTIL}),
    ("title attribute", f'{F}py title="pkg/util.py"\n{UTIL}{F}\n', {"pkg/util.py": UTIL}),
    ("bold name line", f"**utils.py**\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    ("heading name line", f"### File: utils.py\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    ("backticked name", f"`utils.py`\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    ("numbered name", f"2. utils.py:\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    ("FILENAME label", f"FILENAME: utils.py\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    ("blank line between", f"utils.py\n\n{F}python\n{UTIL}{F}\n", {"utils.py": UTIL}),
    (
        "comment first line",
        f"{F}python\n# utils.py\n{UTIL}{F}\n",
        {"utils.py": f"# utils.py\n{UTIL}"},
    ),
    (
        "file: comment",
        f"{F}python\n# File: game/board.py\n{UTIL}{F}\n",
        {"game/board.py": f"# File: game/board.py\n{UTIL}"},
    ),
    ("prose name line", f"Here is the fixed main.py:\n{F}python\n{CODE}{F}\n", {"main.py": CODE}),
    ("unnamed single python", f"Sure!\n{F}python\n{CODE}{F}\nDone.", {"main.py": CODE}),
    ("unnamed no language", f"{F}\n{CODE}{F}\n", {"main.py": CODE}),
    ("tilde fence", f"main.py\n~~~python\n{CODE}~~~\n", {"main.py": CODE}),
    ("four backticks", f"main.py\n````python\n{CODE}````\n", {"main.py": CODE}),
    ("crlf line ends", f"main.py\n{F}python\n{UTIL}{F}\n".replace("\n", "\r\n"), {"main.py": UTIL}),
    ("missing closing fence", f"main.py\n{F}python\n{CODE}", {"main.py": CODE}),
    (
        "two files",
        f"main.py\n{F}python\n{CODE}{F}\n\nutils.py\n{F}python\n{UTIL}{F}\n",
        {"main.py": CODE, "utils.py": UTIL},
    ),
    (
        "two __main__ guards keep their names",
        f"main.py\n{F}python\n{CODE}{F}\ncli.py\n{F}python\n{CODE}{F}\n",
        {"main.py": CODE, "cli.py": CODE},
    ),
    (
        "forgotten close before next block",
        f"main.py\n{F}python\n{CODE}\nutils.py\n{F}python\n{UTIL}{F}\n",
        {"main.py": CODE, "utils.py": UTIL},
    ),
    (
        "indented fence in a list",
        "1. main.py\n   ```python\n   x = 1\n\n   y = 2\n   ```\n",
        {"main.py": "x = 1\n\ny = 2\n"},
    ),
    (
        "markdown file with inner fences",
        f"README.md\n{F}markdown\n# Tool\n\n{F}bash\npython main.py\n{F}\n\nEnd.\n{F}\n",
        {"README.md": f"# Tool\n\n{F}bash\npython main.py\n{F}\n\nEnd.\n"},
    ),
    (
        "requirements and shell snippet",
        f"requirements.txt\n{F}\nrich==13.0\n{F}\nRun it:\n{F}bash\npython main.py\n{F}\n",
        {"requirements.txt": "rich==13.0\n"},
    ),
    (
        "blank lines and docstrings survive",
        f'main.py\n{F}python\ndef f():\n    """Doc.\n\n    More.\n    """\n\n\n    return 1\n{F}\n',
        {"main.py": 'def f():\n    """Doc.\n\n    More.\n    """\n\n\n    return 1\n'},
    ),
    (
        "later duplicate wins",
        f"main.py\n{F}python\nold = 1\n{F}\nmain.py\n{F}python\nnew = 2\n{F}\n",
        {"main.py": "new = 2\n"},
    ),
    ("non-python file", f"index.html\n{F}html\n<p>hi</p>\n{F}\n", {"index.html": "<p>hi</p>\n"}),
    (
        "shebang is not a name",
        f"{F}python\n#!/usr/bin/env python3\nprint(1)\n{F}\n",
        {"main.py": "#!/usr/bin/env python3\nprint(1)\n"},
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in FENCE_CASES], ids=[case[0] for case in FENCE_CASES]
)
def test_fence_variants(text: str, expected: dict[str, str]) -> None:
    extraction = extract_files(text)
    assert extraction.files == expected
    assert extraction.method == "fence"


def test_unsafe_names_are_rejected_not_written() -> None:
    text = (
        f"{F}python /etc/cron.py\nx = 1\n{F}\n"
        f"../up.py\n{F}python\ny = 2\n{F}\n"
        f"ok.py\n{F}python\nz = 3\n{F}\n"
    )
    extraction = files_from_fences(text)
    assert extraction.files == {"ok.py": "z = 3\n"}
    reasons = {rejected.path: rejected.reason for rejected in extraction.rejected}
    assert "absolute" in reasons["/etc/cron.py"]
    assert "'..'" in reasons["../up.py"]


def test_unnamed_blocks_among_named_ones_are_reported() -> None:
    text = f"main.py\n{F}python\nx = 1\n{F}\nAnd also:\n{F}python\ny = 2\n{F}\n"
    extraction = files_from_fences(text)
    assert extraction.files == {"main.py": "x = 1\n"}
    assert [rejected.reason for rejected in extraction.rejected] == [
        "no file name for a python block"
    ]


def test_template_echo_and_empty_blocks_are_skipped() -> None:
    extraction = files_from_fences(f"main.py\n{F}python\nCODE\n{F}\nx.py\n{F}python\n{F}\n")
    assert extraction.files == {}
    assert extraction.method == "none"
    assert len(extraction.rejected) == 2


def test_no_code_at_all() -> None:
    extraction = extract_files("I think we should use Python.")
    assert not extraction.found
    assert extraction.method == "none"


def test_unclosed_fence_is_noted() -> None:
    extraction = files_from_fences(f"main.py\n{F}python\nprint(1)\n")
    assert extraction.files == {"main.py": "print(1)\n"}
    assert any("never closed" in note for note in extraction.notes)


def test_json_artifact() -> None:
    artifact = {
        "files": [{"path": "main.py", "content": CODE}, {"path": "lib/u.py", "content": UTIL}]
    }
    extraction = extract_files(json.dumps(artifact))
    assert extraction.method == "json"
    assert extraction.files == {"main.py": CODE, "lib/u.py": UTIL}


def test_json_artifact_in_a_json_fence_and_as_mapping() -> None:
    text = 'Here:\n```json\n{"files": {"main.py": "print(1)\\n"}}\n```\n'
    extraction = extract_files(text)
    assert extraction.method == "json"
    assert extraction.files == {"main.py": "print(1)\n"}


def test_json_bad_entries_are_rejected_one_by_one() -> None:
    artifact = [
        {"path": "ok.py", "content": "x = 1\n"},
        {"path": "/abs.py", "content": "x"},
        {"path": "n.py", "content": 5},
        "junk",
    ]
    extraction = files_from_json(artifact)
    assert extraction.files == {"ok.py": "x = 1\n"}
    assert len(extraction.rejected) == 3


@pytest.mark.parametrize("bad", ["{not json", '{"files": 3}', '"text"', "[1, 2"])
def test_json_wrong_shape_is_bad_artifact(bad: str) -> None:
    with pytest.raises(BadArtifact) as caught:
        files_from_json(bad)
    assert caught.value.code == "bad_artifact"


def test_broken_json_falls_back_to_fences() -> None:
    text = '{"files": [oops\nmain.py\n```python\nprint(1)\n```\n'
    extraction = extract_files(text)
    assert extraction.method == "fence"
    assert extraction.files == {"main.py": "print(1)\n"}


def test_non_text_is_a_typed_error() -> None:
    with pytest.raises(BadArtifact):
        extract_files(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "garbage",
    ["```", "``````", "```\n```\n```", "~~~~", "\x00\x01```python\n\x00", "```" * 50, "`" * 1000],
)
def test_garbage_never_crashes(garbage: str) -> None:
    extraction = extract_files(garbage)
    assert isinstance(extraction.files, dict)
