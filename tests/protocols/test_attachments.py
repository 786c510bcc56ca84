"""A task result's structured content (`data`, `files`): what it takes, and what it refuses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import ValidationError

from protocols import Envelope, FileRef, TaskResult
from protocols.attachments import DATA_MAX, FILE_CONTENT_MAX, FILES_CONTENT_MAX
from protocols.values import CONTENT_DEPTH_MAX


def result(**fields: Any) -> dict[str, Any]:
    return {"type": "task_result", "task_id": "t1", "result": "done"} | fields


def envelope(payload: dict[str, Any]) -> str:
    return json.dumps({"group": "g1", "sender": "a1", "payload": payload})


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def b64(size: int) -> str:
    return base64.b64encode(b"x" * size).decode()


def test_a_result_carries_data_and_files_through_the_wire() -> None:
    files = [
        {"name": "out.txt", "media_type": "text/plain", "content": b64(10)},
        {"name": "report.pdf", "media_type": "application/pdf", "url": "https://x.test/r.pdf"},
    ]
    sent = envelope(result(data={"rows": [1, 2], "ok": True}, files=files))
    payload = Envelope.model_validate_json(sent).payload
    assert isinstance(payload, TaskResult)
    assert payload.data == {"rows": [1, 2], "ok": True}
    assert [f.name for f in payload.files] == ["out.txt", "report.pdf"]
    again = Envelope.model_validate_json(Envelope.model_validate_json(sent).model_dump_json())
    assert again.payload == payload


def test_an_old_result_without_the_fields_still_reads() -> None:
    payload = Envelope.model_validate_json(envelope(result())).payload
    assert isinstance(payload, TaskResult)
    assert (payload.data, payload.files) == (None, [])


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"data": {"s": "x" * DATA_MAX}}, "bytes as JSON"),
        ({"data": {"s": "é" * (DATA_MAX // 2)}}, "bytes as JSON"),  # bytes, not characters
        ({"data": deep(CONTENT_DEPTH_MAX + 1)}, "nested deeper"),
        ({"data": {"n": list(range(2500))}}, "more than"),
        ({"data": [1, 2]}, "an object"),
        ({"data": "text"}, "an object"),
        ({"files": {"name": "a"}}, "valid array"),
        ({"files": ["a.txt"]}, "valid dictionary|object"),
        ({"files": [{"name": "a.txt", "media_type": "text/plain"}]}, "exactly one"),
        (
            {
                "files": [
                    {
                        "name": "a",
                        "media_type": "text/plain",
                        "url": "https://x.t/a",
                        "content": "eA==",
                    }
                ]
            },
            "exactly one",
        ),
        (
            {"files": [{"name": "a", "media_type": "text/plain", "url": "javascript:alert(1)"}]},
            "http",
        ),
        (
            {"files": [{"name": "a", "media_type": "text/plain", "url": "file:///etc/passwd"}]},
            "http",
        ),
        (
            {"files": [{"name": "a", "media_type": "text/plain", "url": "https://x.t/a b"}]},
            "spaces",
        ),
        ({"files": [{"name": "a", "media_type": "text/plain", "url": "https:///nohost"}]}, "http"),
        (
            {"files": [{"name": "../etc/passwd", "media_type": "text/plain", "content": "eA=="}]},
            "pattern",
        ),
        ({"files": [{"name": "a\nb", "media_type": "text/plain", "content": "eA=="}]}, "pattern"),
        ({"files": [{"name": "a", "media_type": "text", "content": "eA=="}]}, "pattern"),
        (
            {"files": [{"name": "a", "media_type": "text/plain", "content": "not base64!"}]},
            "base64",
        ),
        (
            {
                "files": [
                    {"name": "a", "media_type": "text/plain", "content": b64(FILE_CONTENT_MAX)}
                ]
            },
            "at most",
        ),
        (
            {"files": [{"name": "a", "media_type": "text/plain", "content": "eA==", "x": 1}]},
            "Extra",
        ),
    ],
)
def test_hostile_structured_content_is_refused(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Envelope.model_validate_json(envelope(result(**fields)))


def test_too_many_or_too_large_files_together_are_refused() -> None:
    one = {"name": "a", "media_type": "text/plain", "url": "https://x.test/a"}
    with pytest.raises(ValidationError, match="at most 4"):
        Envelope.model_validate_json(envelope(result(files=[one] * 5)))
    big = FileRef(name="a", media_type="text/plain", content=b64(FILE_CONTENT_MAX * 3 // 4 - 3))
    assert len(big.content or "") * 2 > FILES_CONTENT_MAX
    with pytest.raises(ValidationError, match="over"):
        TaskResult(task_id="t1", result="", files=[big, big])


def test_data_numbers_are_finite() -> None:
    with pytest.raises(ValidationError, match="finite"):
        Envelope.model_validate_json(envelope(result(data={"x": float("nan")})))
    with pytest.raises(ValidationError, match="finite"):
        TaskResult(task_id="t1", result="", data={"x": [float("inf")]})
