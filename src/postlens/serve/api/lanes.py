"""Bounded concurrency for blocking work: a few requests run at once, a bounded line waits a bounded time.

Model work and database reads block; they run in worker threads, at most ``slots`` at a time. A request
that finds ``max_waiting`` others already in line is answered at once with 429 (come back later); one
that waits longer than ``wait_seconds`` gets 503. Both carry ``Retry-After``. The server never queues
without bound, never runs more model calls than the machine has room for, and never crashes under a burst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

from postlens.serve.api.problems import RETRY_AFTER_SECONDS, ApiProblem

T = TypeVar("T")


class Lane:
    def __init__(self, name: str, *, slots: int, max_waiting: int, wait_seconds: float) -> None:
        if slots < 1 or max_waiting < 0 or wait_seconds <= 0:
            raise ValueError(f"lane {name}: slots >= 1, max_waiting >= 0 and wait_seconds > 0 are needed")
        self.name, self.slots, self.max_waiting, self.wait_seconds = name, slots, max_waiting, wait_seconds
        self._threads = CapacityLimiter(slots)
        self._semaphore: asyncio.Semaphore | None = None
        self.waiting = 0
        self.running = 0
        self.refused = 0

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread once a slot is free; ApiProblem 429/503 when the line is full or slow."""
        semaphore = self._semaphore or asyncio.Semaphore(self.slots)
        self._semaphore = semaphore
        if semaphore.locked() and self.waiting >= self.max_waiting:
            self.refused += 1
            raise ApiProblem(
                429,
                "busy",
                f"the server is busy ({self.name}: {self.running} running, {self.waiting} waiting); try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait_seconds)
        except TimeoutError:
            self.refused += 1
            raise ApiProblem(
                503,
                "busy",
                f"the server is busy: no {self.name} slot freed within {self.wait_seconds:g} s; try again",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._threads)
        finally:
            self.running -= 1
            semaphore.release()

    def status(self) -> dict[str, int]:
        return {"slots": self.slots, "running": self.running, "waiting": self.waiting, "refused": self.refused}
