"""CPU seconds of this process and every process it started (Ray's raylet, GCS, workers and actors),
sampled in a thread: a load-independent account of what a run cost and which process paid it.

Wall-clock rates on a shared machine say as much about the other work as about the code; CPU seconds
do not (a process waiting for a core accrues none). Processes are put in three kinds: ``driver`` (this
process, minus the sampler's own thread), ``encoder`` (Ray's pool actors, ``ray::MapWorker...``, or the
local engine's encoder worker processes) and ``ray`` (every other Ray process: raylet, GCS, Ray Data's
helper actors, idle workers). A process that ends between two samples loses at most one interval.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field

import psutil

INTERVAL = 0.2
"""Seconds between samples (each costs ~0.1 ms per process, charged to the sampler, not the driver)."""
KINDS = ("driver", "encoder", "ray")


def _kind(process: psutil.Process, own_pid: int) -> str | None:
    """The process's kind, or None while it is a Ray worker waiting for work (``ray::IDLE``: not decided)."""
    if process.pid == own_pid:
        return "driver"
    title = " ".join(process.cmdline())
    if title.startswith("ray::MapWorker"):
        return "encoder"
    if title.startswith("ray::IDLE") or "default_worker.py" in title:  # a worker not (yet) given work
        return None
    if title.startswith("ray::") or "/ray/" in title:
        return "ray"
    return "encoder"  # a local engine's worker process (multiprocessing child of the driver)


@dataclass
class ProcessCPU:
    """Samples every ``interval`` seconds; ``used(kind, t0, t1)`` is the CPU seconds that kind used between
    two ``time.perf_counter()`` instants (the samples nearest before each)."""

    interval: float = INTERVAL
    times: list[float] = field(default_factory=list)
    samples: list[dict[int, float]] = field(default_factory=list)
    kinds: dict[int, str] = field(default_factory=dict)
    sampler_cpu: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessCPU:
        self._thread = threading.Thread(target=self._run, name="process-cpu", daemon=True)
        self._thread.start()
        while not self.samples:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        started = time.thread_time()
        while True:
            self._sample(me)
            self.sampler_cpu = time.thread_time() - started
            if self._stop.wait(self.interval):
                self._sample(me)  # a last sample at the end
                self.sampler_cpu = time.thread_time() - started
                return

    def _sample(self, me: psutil.Process) -> None:
        cpu: dict[int, float] = {}
        for process in [me, *me.children(recursive=True)]:
            try:
                with process.oneshot():
                    if self.kinds.get(process.pid) in (None, "ray"):  # a Ray worker may become an actor later
                        kind = _kind(process, me.pid)
                        if kind is not None:
                            self.kinds[process.pid] = kind
                    times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except psutil.Error:  # ended between the listing and the read
                continue
        self.times.append(time.perf_counter())
        self.samples.append(cpu)

    def _at(self, instant: float) -> dict[int, float]:
        """Each process's CPU seconds at the last sample before ``instant``, a process that ended before it
        keeping its last value (a process not yet started: absent, i.e. 0)."""
        last = bisect.bisect_right(self.times, instant)
        out: dict[int, float] = {}
        for sample in self.samples[:last]:
            out.update(sample)
        return out

    def used(self, kind: str, start: float, end: float) -> float:
        """CPU seconds of ``kind``'s processes between ``start`` and ``end`` (driver: minus the sampler)."""
        before, after = self._at(start), self._at(end)
        total = sum(after[pid] - before.get(pid, 0.0) for pid in after if self.kinds.get(pid, "ray") == kind)
        if kind == "driver":
            total -= self.sampler_cpu * (end - start) / max(1e-9, self.times[-1] - self.times[0])
        return max(0.0, total)

    def tail_idle(self, kind: str, start: float, end: float) -> float:
        """Seconds between the first of ``kind``'s busy processes to go quiet and ``end``: at the end of a pool's
        work, how long one actor waited for the others (a process is busy in an interval where its CPU grew
        by more than a tenth of it; under load a process may wait for a core and look quiet for a while)."""
        first, last = bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)
        quiet_from: dict[int, float] = {}
        for i in range(max(1, first), last):
            earlier, now = self.samples[i - 1], self.samples[i]
            for pid, seconds in now.items():
                if self.kinds.get(pid) == kind and seconds - earlier.get(pid, seconds) > (self.interval / 10):
                    quiet_from[pid] = self.times[i]
        return max(0.0, end - min(quiet_from.values())) if len(quiet_from) > 1 else 0.0
