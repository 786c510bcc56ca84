"""A message's usage report: bounded figures, one line per kind, and its place in the JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from protocols import Chat, Envelope
from protocols.usage import MAX_CALLS, MAX_SECONDS, MAX_TOKENS, USAGE, Spend, add_spends


def line(**fields: Any) -> dict[str, Any]:
    return {"part": "work", "where": "local", "calls": 1, "prompt": 10, "evaluated": 4} | fields


HOSTILE = {
    "negative tokens": line(prompt=-1),
    "negative calls": line(calls=-5),
    "huge tokens": line(prompt=10**30, evaluated=0),
    "just over the bound": line(generated=MAX_TOKENS + 1),
    "too many calls": line(calls=MAX_CALLS + 1),
    "float tokens": line(generated=1.5),
    "integral float tokens": line(generated=2.0),
    "string tokens": line(generated="7"),
    "boolean tokens": line(generated=True),
    "negative seconds": line(seconds=-0.1),
    "seconds past the bound": line(seconds=MAX_SECONDS * 2),
    "evaluated beyond the prompt": line(prompt=3, evaluated=4),
    "unknown part": line(part="chatting"),
    "unknown side": line(where="moon"),
    "unknown field": line(cost=-1000.0),
    "null tokens": line(prompt=None),
}


@pytest.mark.parametrize("bad", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_report_out_of_bounds_refuses_the_envelope(bad: dict[str, Any]) -> None:
    envelope = {"group": "g1", "sender": "a1", "payload": {"type": "chat", "text": "hi"}}
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(json.dumps(envelope | {"usage": [bad]}))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_seconds_that_are_not_finite_are_refused(literal: str) -> None:
    text = json.dumps(line()).replace('"calls"', f'"seconds": {literal}, "calls"')
    with pytest.raises(ValidationError):
        USAGE.validate_json(f"[{text}]")


def test_a_report_has_one_to_four_distinct_lines() -> None:
    with pytest.raises(ValidationError):
        USAGE.validate_python([])
    with pytest.raises(ValidationError):
        USAGE.validate_python([line(), line(prompt=20)])
    every = [line(part=p, where=w) for p in ("coordination", "work") for w in ("local", "cloud")]
    assert len(USAGE.validate_python(every)) == 4
    with pytest.raises(ValidationError):
        USAGE.validate_python([*every, line()])


def test_an_envelope_without_a_report_has_no_usage_key_and_one_with_it_keeps_it_last() -> None:
    plain = Envelope(group="g1", sender="a1", payload=Chat(text="hi"))
    assert "usage" not in json.loads(plain.model_dump_json())
    spent = (Spend(part="coordination", where="local", calls=2, prompt=50, evaluated=20),)
    reported = plain.model_copy(update={"usage": spent})
    text = reported.model_dump_json()
    assert list(json.loads(text))[-1] == "usage"
    assert Envelope.model_validate_json(text) == reported
    for envelope in (plain, reported):  # the hub's spliced text is the model's own
        stamped = envelope.model_copy(update={"seq": 4, "ts": 1765075300.25})
        assert envelope.stamped_json(4, 1765075300.25) == stamped.model_dump_json()


def test_sums_are_capped_at_the_bounds_and_stay_valid() -> None:
    big = Spend.capped(
        "work", "cloud", calls=MAX_CALLS, prompt=MAX_TOKENS, evaluated=MAX_TOKENS,
        generated=MAX_TOKENS, seconds=MAX_SECONDS,
    )  # fmt: skip
    small = Spend(part="work", where="cloud", calls=1, prompt=5, evaluated=5, generated=1)
    other = Spend(part="coordination", where="local", calls=1, prompt=3, evaluated=1)
    total = add_spends([big], [small, other])
    assert {s.key: s for s in total}[("work", "cloud")] == big
    assert {s.key: s for s in total}[("coordination", "local")] == other
    assert USAGE.validate_python([s.model_dump() for s in total]) == total
    assert add_spends([Spend(part="work", where="local")]) == ()  # nothing spent, no line


def test_a_capped_line_keeps_evaluated_within_prompt() -> None:
    spend = Spend.capped(
        "work", "local", calls=-3, prompt=10, evaluated=99, generated=-1, seconds=-2.0
    )
    assert (spend.calls, spend.prompt, spend.evaluated, spend.generated, spend.seconds) == (
        0, 10, 10, 0, 0.0,
    )  # fmt: skip
