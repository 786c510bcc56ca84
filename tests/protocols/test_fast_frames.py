"""The hub's fast frame writers produce exactly the frames the models describe."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import Chat, Conclusion, Envelope, Payload, Timeout
from protocols.frames import (
    CLIENT_FRAME,
    HUB_FRAME,
    SYNCED_TEXT,
    Ack,
    Deliver,
    ErrorBody,
    ErrorFrame,
    GroupInfo,
    Joined,
    Send,
    Synced,
    Welcome,
    ack_text,
    deliver_text,
    error_text,
    frame_text,
    send_text,
    stored_ack_text,
)

ENVELOPE = Envelope(
    group="g-1", sender="a-1", seq=7, ts=1765075200.25, payload=Chat(text='quote " é \n 😀')
)
AWKWARD = 'a "quoted" \\ back\nslash, é, 😀, \u2028'
GROUP = GroupInfo(
    id="g-1",
    name=AWKWARD,
    created_by="a-1",
    created_at=1.5,
    members=["a-1"],
    protocol="ioa",
    meta={"k": [1]},
    head=0,
)


@pytest.mark.parametrize(
    ("text", "model"),
    [
        (SYNCED_TEXT, Synced()),
        (
            ack_text("m-1", "g-1", 42, 1765075200.123456),
            Ack(id="m-1", group="g-1", seq=42, ts=1765075200.123456),
        ),
        (
            stored_ack_text("m-1", "g-1", 42, repr(1765075200.123456)),
            Ack(id="m-1", group="g-1", seq=42, ts=1765075200.123456),
        ),
        (deliver_text(ENVELOPE.model_dump_json()), Deliver(envelope=ENVELOPE)),
        (
            error_text("not_your_turn", AWKWARD, "m-2"),
            ErrorFrame(id="m-2", error=ErrorBody(code="not_your_turn", message=AWKWARD)),
        ),
        (
            error_text("malformed_json", "bad"),
            ErrorFrame(error=ErrorBody(code="malformed_json", message="bad")),
        ),
        (
            frame_text(Welcome(agent_id="a-1", groups=["g-1"])),
            Welcome(agent_id="a-1", groups=["g-1"]),
        ),
        (frame_text(Joined(group=GROUP)), Joined(group=GROUP)),
    ],
)
def test_every_fast_hub_frame_validates_as_its_model(text: str, model: object) -> None:
    assert HUB_FRAME.validate_json(text) == model
    assert json.loads(text) == json.loads(model.model_dump_json())  # type: ignore[attr-defined]


def test_the_clients_send_frame_validates_as_its_model() -> None:
    text = send_text(ENVELOPE.model_dump_json())
    assert CLIENT_FRAME.validate_json(text) == Send(envelope=ENVELOPE)


ids = st.from_regex(r"[A-Za-z0-9_.:\-]{1,64}", fullmatch=True)
names = st.one_of(ids, st.text(max_size=8))  # addressees are not pattern-checked by the model


@settings(max_examples=300, deadline=None)
@given(
    to=st.lists(names, max_size=4),
    reply_to=st.one_of(st.none(), ids),
    seq=st.integers(min_value=1, max_value=2**53),
    ts=st.one_of(
        st.floats(min_value=1e9, max_value=4e9),
        st.floats(min_value=1e-8, max_value=1e-3),  # where JSON and repr write floats apart
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    payload=st.sampled_from(
        [
            Chat(text=AWKWARD),
            Timeout(kind="turn", agent="a-2"),
            Conclusion(text="done", proposal_id=None),
        ]
    ),
)
def test_a_stamped_envelope_is_the_text_of_the_model_stamped(
    to: list[str], reply_to: str | None, seq: int, ts: float, payload: Payload
) -> None:
    envelope = Envelope(group="g-1", sender="a-1", to=to, reply_to=reply_to, payload=payload)
    stamped = envelope.model_copy(update={"seq": seq, "ts": ts})
    assert envelope.stamped_json(seq, ts) == stamped.model_dump_json()
    if 1e-4 <= ts < 1e15:  # the range where the router passes the time it wrote already
        assert envelope.stamped_json(seq, ts, repr(ts)) == stamped.model_dump_json()


@given(
    message_id=ids,
    group=ids,
    seq=st.integers(min_value=1, max_value=2**53),
    ts=st.floats(min_value=1e9, max_value=4e9),
)
def test_a_stored_ack_is_the_text_of_the_ack_model(
    message_id: str, group: str, seq: int, ts: float
) -> None:
    text = stored_ack_text(message_id, group, seq, repr(ts))
    assert text == ack_text(message_id, group, seq, ts)
    assert HUB_FRAME.validate_json(text) == Ack(id=message_id, group=group, seq=seq, ts=ts)


def test_a_stamp_replaces_seq_and_time_the_sender_wrote() -> None:
    text = ENVELOPE.stamped_json(8, 1765075300.5)
    assert Envelope.model_validate_json(text) == ENVELOPE.model_copy(
        update={"seq": 8, "ts": 1765075300.5}
    )
