"""One encoder in a supervised worker process: a crash costs a restart and a retry, never the run.

The worker is fed one chunk at a time over a pipe, so when it dies (a decoder segfault, the OOM
killer, a ``kill -9``) the supervisor knows exactly which items were in flight. Those items are
retried one by one in a fresh worker; an item whose second attempt also kills the worker is the
poisonous one and is reported failed with code ``worker_crashed`` (the other items go on). Such
failures say nothing about the media, so they are NOT written to the feature cache: a later run
retries them. A chunk that takes far too long (``ITEM_TIMEOUT`` per item) counts as a crash.
The worker ignores SIGINT (a terminal's Ctrl-C reaches the whole process group): the parent
decides when to stop, then terminates and joins it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

from postlens.encoders.base import Encoder, Features
from postlens.encoders.registry import EncoderSpec
from postlens.errors import EncoderError, PostlensError

CRASHED = "worker_crashed"
"""Error code of an item whose encoding killed the worker twice (not cached: retried by a later run)."""
RAISED = "encoder_raised"
"""Error code of an item whose encoder raised instead of returning a failed Features (not cached)."""
ATTEMPTS = 2
"""An item is recorded failed only after this many failed attempts."""
ITEM_TIMEOUT = 300.0
"""Seconds one item may take in the worker before it counts as hung (a chunk gets this per item)."""
STARTUP_TIMEOUT = 600.0
"""Seconds a fresh worker may take to import its modules (slow disks, cold caches)."""
MAX_CRASHES_IN_A_ROW = 6
"""Crashes with no item finished in between after which the encoder, not an item, is broken: stop."""

Done = Callable[[list[tuple[str, Any]], list[Features]], None]
"""Called (in the supervisor thread) with a chunk's (key, payload) items and their features."""


class WorkerCrashed(Exception):
    """The worker process died (or raised) while encoding the chunk it was given."""

    def __init__(self, message: str, code: str = CRASHED) -> None:
        super().__init__(message)
        self.code = code


class _Stopped(Exception):
    """The supervisor was asked to stop while a chunk was in flight."""


def build_encoder(spec: EncoderSpec, *, threads: int | None) -> Encoder:
    """Build an encoder, pinning its thread count when it takes one (``num_threads``)."""
    import importlib
    import inspect

    if threads is not None:
        factory = getattr(importlib.import_module(spec.module), spec.factory)
        if "num_threads" in inspect.signature(factory).parameters:
            return spec.build(num_threads=threads)
    return spec.build()


# ------------------------------------------------------------------ inside the worker process


def _exit_with_parent(parent_pid: int) -> None:
    """A killed featurize must not leave an orphan burning a core."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="postlens-parent-watch").start()


def _serve(conn: Connection, spec: EncoderSpec, parent_pid: int) -> None:
    """Worker main loop: receive (payloads, threads), send back ("ok", features) or ("raised", message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    encoder: Encoder | None = None
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        payloads, threads = message  # threads: the cores the parent lends (see SupervisedRun.threads)
        try:
            if encoder is None:
                encoder = build_encoder(spec, threads=1)
            _lend_threads(encoder, threads)
            reply: tuple[str, Any] = ("ok", encoder.encode(payloads))
        except PostlensError as exc:  # missing extra, unusable model: the same for every item, stop the run
            reply = ("fatal", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the encoder broke its never-raise contract on this chunk
            reply = ("raised", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


def _lend_threads(encoder: Encoder, threads: int) -> None:
    """Encoders that parallelise per call over ``num_threads`` (OCR) use the cores the parent says are idle."""
    if isinstance(getattr(encoder, "num_threads", None), int) and threads >= 1:
        encoder.num_threads = threads  # type: ignore[attr-defined]


# ------------------------------------------------------------------ in the parent


class EncoderWorker:
    """A spawned process running one encoder; ``encode`` raises ``WorkerCrashed`` if it dies meanwhile."""

    def __init__(self, spec: EncoderSpec) -> None:
        ctx = get_context("spawn")
        self.spec = spec
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child, spec, os.getpid()), daemon=True, name=f"postlens-{spec.name}-worker"
        )
        self.process.start()
        child.close()
        self._ready = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def encode(self, payloads: list[Any], stop: threading.Event, timeout: float, *, threads: int = 1) -> list[Features]:
        """The features of ``payloads``, computed on ``threads`` cores where the encoder can use them;
        the ``timeout`` clock starts once the worker has started up."""
        try:
            if not self._ready:
                self._receive(stop, STARTUP_TIMEOUT, "to start")
                self._ready = True
            self.conn.send((payloads, threads))
            status, value = self._receive(stop, timeout, f"on {len(payloads)} item(s)")
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerCrashed(self._death()) from exc
        if status == "fatal":
            raise EncoderError(f"{self.spec.name} worker: {value}")
        if status == "raised":
            raise WorkerCrashed(f"the {self.spec.name} encoder raised {value}", RAISED)
        if len(value) != len(payloads):
            raise WorkerCrashed(
                f"the {self.spec.name} worker returned {len(value)} results for {len(payloads)} items", RAISED
            )
        return list(value)

    def _receive(self, stop: threading.Event, timeout: float, doing: str) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.conn.poll(0.2):
            if stop.is_set():
                raise _Stopped
            if not self.process.is_alive() and not self.conn.poll(0):
                raise WorkerCrashed(self._death())
            if time.monotonic() > deadline:  # a decoder stuck in a loop is a crash that never ends
                self.process.kill()
                self.process.join()
                raise WorkerCrashed(
                    f"the {self.spec.name} worker took more than {timeout:,.0f} s {doing} and was stopped"
                )
        reply: tuple[str, Any] = self.conn.recv()
        return reply

    def _death(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit code {code}"
        return f"the {self.spec.name} worker process died ({how})"

    def close(self) -> None:
        """Ask politely, then terminate, then kill; always joined so nothing is left behind."""
        if self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                self.conn.send(None)
            self.process.join(timeout=0.5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self.process.close()


@dataclass
class _Chunk:
    items: list[tuple[str, Any]]
    attempts: int = 0


@dataclass
class SupervisedRun:
    """Feeds ``items`` to a worker in chunks from a background thread, restarting it after a crash.

    ``done`` gets every chunk that came back; ``failed`` holds (key, "code: message") of items that
    failed ``ATTEMPTS`` times (not passed to ``done``: the caller must not cache them).
    """

    spec: EncoderSpec
    items: Sequence[tuple[str, Any]]
    chunk_size: int
    done: Done
    item_timeout: float = ITEM_TIMEOUT
    failed: list[tuple[str, str]] = field(default_factory=list)
    restarts: int = 0
    crashes_in_a_row: int = 0
    fatal: BaseException | None = None
    worker: EncoderWorker | None = None
    threads: int = 1
    """Cores the worker may use for the next chunk: 1 while the parent encodes too, all once it is idle."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        # set by the thread when it has finished; waited on instead of Thread.join, which on Python < 3.13
        # can return early once a KeyboardInterrupt has landed in it (cpython gh-90882)
        self._finished = threading.Event()
        self._lock = threading.Lock()
        size = max(1, self.chunk_size)
        self._queue = deque(_Chunk(list(self.items[i : i + size])) for i in range(0, len(self.items), size))
        self._thread = threading.Thread(target=self._guarded, daemon=True, name=f"postlens-{self.spec.name}")

    def start(self) -> SupervisedRun:
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until every chunk is done (interruptible: Ctrl-C reaches the caller). Re-raises a fatal error."""
        while not self._finished.wait(timeout=0.2):
            pass
        if self.fatal is not None:
            raise self.fatal

    def stop(self) -> None:
        """Cancel pending chunks, terminate and join the worker, join the thread."""
        self._stop.set()  # the thread sees it within 0.2 s, even mid-chunk, and closes the worker itself
        if self._thread.ident is None:  # never started
            return
        if not self._finished.wait(timeout=10):  # stuck: cut the worker off so the thread can finish
            with self._lock:
                worker = self.worker
            if worker is not None:
                try:
                    worker.process.kill()
                except ValueError:  # already closed by the thread
                    pass
            self._finished.wait()
        self._thread.join()

    @property
    def pending(self) -> int:
        return sum(len(c.items) for c in self._queue)

    def _guarded(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            self.fatal = exc
        finally:
            with self._lock:
                worker, self.worker = self.worker, None
            if worker is not None:
                worker.close()
            self._finished.set()

    def _loop(self) -> None:
        while self._queue and not self._stop.is_set():
            with self._lock:
                if self.worker is None:
                    self.worker = EncoderWorker(self.spec)
                worker = self.worker
            chunk = self._queue.popleft()
            try:
                feats = worker.encode(
                    [p for _, p in chunk.items], self._stop, self.item_timeout * len(chunk.items), threads=self.threads
                )
            except _Stopped:
                self._queue.appendleft(chunk)
                return
            except WorkerCrashed as crash:
                if self._stop.is_set():  # stop() terminated it: not the items' fault
                    self._queue.appendleft(chunk)
                    return
                self._crashed(chunk, crash)
                continue
            self.crashes_in_a_row = 0
            self.done(chunk.items, feats)

    def _crashed(self, chunk: _Chunk, crash: WorkerCrashed) -> None:
        """Restart later; retry the chunk's items one by one so a poisonous one only takes itself down."""
        with self._lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.close()
        self.restarts += 1
        self.crashes_in_a_row += 1
        if self.crashes_in_a_row >= MAX_CRASHES_IN_A_ROW:
            self._queue.appendleft(chunk)
            raise EncoderError(
                f"the {self.spec.name} worker crashed {self.crashes_in_a_row} times in a row without finishing "
                f"an item (last: {crash}); {self.pending:,} items left uncomputed for a later run"
            )
        attempts = chunk.attempts + 1
        if len(chunk.items) > 1:
            self._queue.extendleft(reversed([_Chunk([item], attempts) for item in chunk.items]))
        elif attempts < ATTEMPTS:
            self._queue.appendleft(_Chunk(chunk.items, attempts))
        else:
            key = chunk.items[0][0]
            self.failed.append(
                (key, f"{crash.code}: {crash} on this item {attempts} times; not cached, a later featurize retries it")
            )
