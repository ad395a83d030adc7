"""How many threads a model uses, and a scope that sets them and puts the process back afterwards.

Defaults serve the user's machine: every core this process may run on (``os.sched_getaffinity``),
unless ``num_threads`` is given or ``$POSTLENS_NUM_THREADS`` says otherwise (a shared or busy box:
OpenMP threads spin-wait at barriers, so a team larger than the idle cores is slower, not faster;
measured on a loaded 2-core machine, 2 torch threads trained the fusion network 13x slower than 1).
The count is read, never written to the environment; ``limited_threads`` restores torch's count and
every BLAS / OpenMP pool (``threadpoolctl``) on exit, so fitting a model leaves no trace.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

THREADS_ENV = "POSTLENS_NUM_THREADS"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_threads(requested: int | None) -> int:
    """``requested`` if given (at least 1), else ``$POSTLENS_NUM_THREADS``, else ``available_cores()``."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ValueError(
                f"num_threads must be a whole number >= 1 or None (the machine's cores), got {requested!r}"
            )
        return requested
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return available_cores()
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"${THREADS_ENV} must be a whole number >= 1, got {raw!r}")
    return value


def idle_threads(requested: int, *, window: float = 0.2) -> int:
    """``requested`` capped to the cores other processes leave idle right now, at least 1.

    OpenMP teams larger than the idle cores make every barrier wait for a descheduled thread:
    measured 9x slower, not 2x faster (LightGBM, see ``baselines``). Sampled from /proc/stat over
    ``window`` seconds while this process is idle (the load average would count our own work
    from a moment ago); elsewhere the request is trusted.
    """
    cores = available_cores()
    requested = max(1, min(requested, cores))
    if requested == 1:
        return 1
    try:
        first = _cpu_times()
        time.sleep(window)
        second = _cpu_times()
    except (OSError, ValueError, IndexError):
        return requested
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])  # idle + iowait
    if total <= 0:
        return requested
    idle_cores = (os.cpu_count() or cores) * idle / total
    return max(1, min(requested, math.floor(idle_cores + 0.5)))


def _cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as handle:
        return [int(v) for v in handle.readline().split()[1:9]]


_CONTROLLER: dict[str, Any] = {}


def _controller() -> Any:
    """A threadpoolctl controller, rebuilt when modules were imported since (a new library may be
    loaded): building one scans every loaded library (~3 ms), too slow for each ``predict`` call."""
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER.get("modules") != len(sys.modules):
        _CONTROLLER["controller"] = ThreadpoolController()
        _CONTROLLER["modules"] = len(sys.modules)
    return _CONTROLLER["controller"]


@contextmanager
def limited_threads(threads: int, *, torch_too: bool) -> Iterator[int]:
    """Within the block: BLAS / OpenMP pools (and torch's intra-op pool when ``torch_too``) use
    ``threads``; on exit each is set back to what it was."""
    if not torch_too:
        with _controller().limit(limits=threads):
            yield threads
        return
    import torch  # before the controller looks, so that torch's own OpenMP library is among those restored

    before = torch.get_num_threads()
    with _controller().limit(limits=threads):
        torch.set_num_threads(threads)
        try:
            yield threads
        finally:
            torch.set_num_threads(before)
