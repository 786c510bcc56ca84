"""`SeenIds`: exact for the newest ids, never a false "absent" for the older ones."""

from __future__ import annotations

import uuid

from ioa.hub.seen import RECENT_IDS, IdFilter, SeenIds


def ids(n: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(n)]


def test_the_newest_ids_are_known_exactly_with_their_seq() -> None:
    seen = SeenIds()
    for seq, message_id in enumerate(ids(10), start=1):
        seen.remember(message_id, seq, float(seq))
        assert seen.recent(message_id) == (seq, float(seq))
    assert not seen.maybe_stored(uuid.uuid4().hex)  # nothing older yet: no filter at all


def test_every_id_that_left_the_window_is_still_recognised() -> None:
    seen = SeenIds()
    stored = ids(RECENT_IDS * 5)
    for seq, message_id in enumerate(stored, start=1):
        seen.remember(message_id, seq, 0.0)
    older, newest = stored[:-RECENT_IDS], stored[-RECENT_IDS:]
    assert all(seen.recent(m) is None and seen.maybe_stored(m) for m in older)
    assert all(seen.recent(m) is not None for m in newest)


def test_a_growing_filter_keeps_every_id_and_few_false_positives() -> None:
    bloom = IdFilter()
    members = ids(50_000)  # several layers
    for message_id in members:
        bloom.add(message_id)
    assert all(m in bloom for m in members)
    strangers = ids(20_000)
    false_positives = sum(m in bloom for m in strangers) / len(strangers)
    assert false_positives < 0.05
    assert bloom.nbytes < 50_000 * 10


def test_a_forgotten_id_is_no_longer_acked_from_memory() -> None:
    seen = SeenIds()
    seen.remember("m-1", 1, 1.0)
    seen.forget("m-1")
    assert seen.recent("m-1") is None
