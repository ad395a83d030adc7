"""The bound on blocking work: a full line is refused at once (429), a wait longer than allowed gets 503,
and the slot is given back whatever happens to the work."""

from __future__ import annotations

import asyncio
import threading

import pytest

from postlens.serve.api.lanes import Lane
from postlens.serve.api.problems import ApiProblem


def test_a_full_line_is_refused_and_a_slow_one_times_out() -> None:
    release = threading.Event()

    async def scenario() -> list[object]:
        lane = Lane("model", slots=1, max_waiting=1, wait_seconds=0.5)
        holder = asyncio.create_task(lane.run(lambda: release.wait(30)))
        while lane.running == 0:
            await asyncio.sleep(0.01)
        waiter = asyncio.create_task(lane.run(lambda: "second"))
        while lane.waiting == 0:
            await asyncio.sleep(0.01)
        with pytest.raises(ApiProblem) as full:
            await lane.run(lambda: "third")
        with pytest.raises(ApiProblem) as slow:
            await waiter
        release.set()
        assert await holder is True
        after = await lane.run(lambda: "after")
        return [full.value, slow.value, after, lane.status()]

    full, slow, after, status = asyncio.run(scenario())
    assert isinstance(full, ApiProblem) and full.status == 429 and full.headers["Retry-After"]
    assert isinstance(slow, ApiProblem) and slow.status == 503 and "0.5 s" in slow.detail
    assert after == "after" and status == {"slots": 1, "running": 0, "waiting": 0, "refused": 2}


def test_the_slot_comes_back_after_an_error() -> None:
    async def scenario() -> str:
        lane = Lane("database", slots=1, max_waiting=0, wait_seconds=1)
        with pytest.raises(ZeroDivisionError):
            await lane.run(lambda: 1 / 0)
        return await lane.run(lambda: "free again")

    assert asyncio.run(scenario()) == "free again"


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="slots >= 1"):
        Lane("model", slots=0, max_waiting=1, wait_seconds=1)
