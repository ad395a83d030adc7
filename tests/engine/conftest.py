"""One local Ray for the engine tests, started once (2-3 s, ~1.7 GB) with its CPU count set and shut down
at the end; every test here fails after ``RAY_TEST_SECONDS`` instead of hanging.

Why the care: on a 2-core machine two 1-CPU actors left no CPU for Ray Data's read tasks and a run hung
for 10 minutes (../shared/docs/stack.md). The engine reserves half a CPU per actor here, Ray declares
the machine's 2 CPUs, and the alarm turns any other hang into a failure with a traceback. The tests
share one xdist worker (group ``ray``, ``--dist loadgroup``): one Ray per CI run, not one per worker.
"""

from __future__ import annotations

import faulthandler
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

RAY_TEST_SECONDS = 600
"""A Ray test (its own part, after the session fixtures are built) fails after this long."""


class RayTestTimeout(Exception):
    pass


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/engine/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("ray"))


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """SIGALRM raises in the main thread after ``seconds``; if even that cannot get through (a hang in C
    code), faulthandler dumps every thread's stack and ends the process two minutes later."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise RayTestTimeout(f"a Ray test step ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(seconds + 120, exit=True)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def ray_test_timeout() -> Iterator[None]:
    with deadline(RAY_TEST_SECONDS):
        yield


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[object]:
    """A local Ray declaring 2 CPUs; pools of 2 actors at half a CPU each (one CPU left for reads)."""
    from postlens.engine import RayEngine

    engine = RayEngine(workers=2, num_cpus=2, cpus_per_worker=0.5)
    with deadline(120):  # starting Ray must not hang either
        engine.start()
    yield engine
    with deadline(120):
        engine.close()
