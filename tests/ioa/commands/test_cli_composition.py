"""Process-wide settings are the composition root's to make: a hub embedded in a test or the
company leaves the garbage collector alone; the `ioa hub` command tunes it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the collector is undone after it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable()


async def test_starting_a_hub_leaves_the_garbage_collector_alone(
    db_path: Path, collector: None
) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    async with Hub(hub_config(db_path)):
        assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_the_hub_command_tunes_it_for_a_process_that_only_serves(collector: None) -> None:
    from ioa.commands.hub import GC_GEN0_THRESHOLD, tune_gc_for_serving

    gc.disable()  # as `ioa hub` does for its start
    tune_gc_for_serving()
    assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
