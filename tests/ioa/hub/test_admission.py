"""Resume admission: the slots, the line behind them and when it refuses, on its own and in a
real hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from ioa.hub import Hub
from ioa.hub.admission import ResumeAdmission
from ioa.hub.errors import Busy
from tests.conftest import hub_config


async def test_past_the_slots_newcomers_wait_in_line_and_get_in_first_come_first_served() -> None:
    gate = ResumeAdmission(concurrent=2, max_wait=5.0)
    held = [await gate.enter(), await gate.enter()]
    order: list[int] = []

    async def wait(i: int) -> None:
        await gate.enter()
        order.append(i)

    waiters = [asyncio.create_task(wait(i)) for i in range(2)]
    await asyncio.sleep(0.05)
    assert (gate.active, gate.waiting, order) == (2, 2, [])
    assert not gate.idle.is_set()
    gate.leave(held[1])
    gate.leave(held[1])  # a second leave of one slot frees nothing more
    await asyncio.sleep(0)
    assert order == [0]
    assert (gate.active, gate.waiting) == (2, 1)
    gate.leave(held[0])
    await asyncio.gather(*waiters)
    assert order == [0, 1]


async def test_a_line_longer_than_max_wait_is_refused_with_its_expected_wait() -> None:
    gate = ResumeAdmission(concurrent=2, max_wait=1.0, seconds_per_resume=0.5)
    held = [await gate.enter(), await gate.enter()]
    # a resume every 0.5 s (each holds its slot 1 s, two at a time): the n-th waits n / 2 s
    waiters = [asyncio.create_task(gate.enter()) for _ in range(2)]
    await asyncio.sleep(0)
    assert gate.waiting == 2
    with pytest.raises(Busy) as refused:
        await gate.enter()
    assert refused.value.retry_after == pytest.approx(1.5)
    for slot in held:
        gate.leave(slot, measured=False)
    for slot in await asyncio.gather(*waiters):
        gate.leave(slot, measured=False)
    assert gate.idle.is_set()
    assert (gate.active, gate.waiting) == (0, 0)


async def test_the_time_of_each_resume_sets_how_long_the_line_may_grow() -> None:
    gate = ResumeAdmission(concurrent=1, max_wait=1.0)
    slot = await gate.enter()
    await asyncio.sleep(0.2)
    gate.leave(slot)  # nobody waited: its time is not the hub's pace
    assert gate.seconds_per_resume is None
    slot = await gate.enter()
    waiter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.2)
    gate.leave(slot)  # one waited while it ran: the hub's pace
    pace = gate.seconds_per_resume
    assert pace is not None
    assert 0.2 <= pace < 0.5
    slot = await waiter
    line: list[asyncio.Task[object]] = [asyncio.create_task(gate.enter())]
    await asyncio.sleep(0)
    gate.leave(slot, measured=False)  # a resume that did not run: not counted
    assert gate.seconds_per_resume == pace
    slot = await line.pop()  # type: ignore[assignment]
    refused: Busy | None = None
    while refused is None:  # join until the line's expected wait passes 1 s
        line.append(asyncio.create_task(gate.enter()))
        await asyncio.sleep(0)
        if line[-1].done():
            refused = line.pop().exception()  # type: ignore[assignment]
    assert isinstance(refused, Busy)
    assert len(line) == int(1.0 / pace)  # the n-th waits n x pace, one slot at a time
    assert refused.retry_after == pytest.approx((len(line) + 1) * pace)
    gate.leave(slot, measured=False)
    for waiter in line:
        gate.leave(await waiter, measured=False)  # type: ignore[arg-type]
    assert gate.idle.is_set()


async def test_the_pace_is_a_resume_s_time_shared_by_those_beside_it() -> None:
    gate = ResumeAdmission(concurrent=2, max_wait=1.0)
    first, second = await gate.enter(), await gate.enter()
    waiter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.21)  # uvloop's timers are whole milliseconds: never cut it fine
    gate.leave(first)  # two ran side by side for 0.21 s: one resume per ~0.1 s
    assert gate.seconds_per_resume is not None
    assert 0.1 <= gate.seconds_per_resume < 0.2
    gate.leave(second, measured=False)
    gate.leave(await waiter, measured=False)


async def test_before_anything_is_measured_the_line_is_bounded_by_its_length() -> None:
    gate = ResumeAdmission(concurrent=2, max_wait=5.0, max_line=3)  # a hub just started
    held = [await gate.enter(), await gate.enter()]
    line = [asyncio.create_task(gate.enter()) for _ in range(3)]
    await asyncio.sleep(0)
    assert gate.waiting == 3
    with pytest.raises(Busy) as refused:
        await gate.enter()
    assert refused.value.retry_after == 5.0  # the line holds about max_wait: come back then
    for slot in held:
        gate.leave(slot, measured=False)
    for waiter in line:
        gate.leave(await waiter, measured=False)
    assert gate.idle.is_set()


async def test_a_waiter_that_gives_up_leaves_the_line_or_passes_its_slot_on() -> None:
    gate = ResumeAdmission(concurrent=1, max_wait=5.0, seconds_per_resume=0.01)
    held = await gate.enter()
    quitter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert gate.waiting == 0
    # handed its slot, then cancelled before it ran: the next in line gets the slot
    handed, patient = asyncio.create_task(gate.enter()), asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gate.leave(held)
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    gate.leave(await asyncio.wait_for(patient, 1.0))
    assert gate.idle.is_set()
    assert gate.active == 0


async def test_without_a_line_every_one_past_the_slots_is_refused() -> None:
    gate = ResumeAdmission(concurrent=1, max_wait=0.0)
    slot = await gate.enter()
    with pytest.raises(Busy):
        await gate.enter()
    gate.leave(slot)
    gate.leave(await gate.enter())


async def test_the_line_never_holds_more_than_max_line_however_fast_the_hub() -> None:
    gate = ResumeAdmission(concurrent=1, max_wait=60.0, max_line=3, seconds_per_resume=0.001)
    slot = await gate.enter()
    line = [asyncio.create_task(gate.enter()) for _ in range(3)]
    await asyncio.sleep(0)
    assert gate.waiting == 3
    with pytest.raises(Busy):  # one more socket held would pass the bound
        await gate.enter()
    gate.leave(slot)
    for waiter in line:
        gate.leave(await waiter)
    assert gate.idle.is_set()


async def test_a_hub_lets_an_upgrade_past_its_slots_wait_for_one_instead_of_refusing_it(
    db_path: Path,
) -> None:
    async with Hub(hub_config(db_path, max_resuming=1)) as hub, aiohttp.ClientSession() as http:
        tokens = []
        for name in ("a", "b"):
            async with http.post(f"{hub.url}/v1/agents", json={"name": name}) as resp:
                tokens.append((await resp.json())["token"])
        ws_url = hub.url.replace("http", "ws", 1) + "/v1/ws"
        resuming = await http.ws_connect(ws_url, headers={"Authorization": f"Bearer {tokens[0]}"})
        waiting = asyncio.create_task(
            http.ws_connect(ws_url, headers={"Authorization": f"Bearer {tokens[1]}"})
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()  # in line: the one slot is held until the replay ends
        async with http.get(f"{hub.url}/v1/health") as resp:
            resumes = (await resp.json())["resumes"]
        assert (resumes["active"], resumes["waiting"]) == (1, 1)
        await resuming.send_str('{"op":"hello"}')
        while "synced" not in (await resuming.receive_str()):
            pass
        second = await asyncio.wait_for(waiting, 5.0)  # upgraded: no 503, no retry
        await second.send_str('{"op":"hello"}')
        while "synced" not in (await second.receive_str()):
            pass
        await second.close()
        await resuming.close()
