"""Ray Data as an engine: a callable class mapped over Parquet parts by one actor pool per call.

Each actor builds its model once (the class's ``__init__``) and then encodes batch after batch;
results stream back to the driver, which writes them where the local engine would. Actors are
single-threaded by default (``threads_per_worker``): N actors then use N cores without fighting
over them, which is what makes two workers nearly twice one. Actors ask Ray for a fraction of a
CPU so that the read tasks feeding them always find one: on a 2-core machine two 1-CPU actors left
nothing for a read after a repartition and the run hung (docs/ray.md).

``ray`` is imported in ``start``, never at import time.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import pyarrow as pa

from postlens.errors import ConfigError, MissingDependency
from postlens.machine import available_cores

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Set in each actor process before its model loads: torch and the BLAS libraries size their pools from them."""
MIN_ACTOR_CPUS = 0.1


def import_ray() -> ModuleType:
    """``ray`` with Ray Data, or a ``MissingDependency`` naming the extra to install."""
    try:
        import ray
        import ray.data  # the ``data`` extra: pandas, pyarrow glue
    except ModuleNotFoundError as exc:
        raise MissingDependency("ray", "ray") from exc
    return ray


@dataclass
class RayEngine:
    """Ray Data on a cluster at ``address`` (``ray://host:10001``, ``host:6379``, ``auto``) or, with none, on a
    local Ray started for this engine (and shut down by ``close``).

    ``workers``: actors per encoder pool (default: this machine's cores for a local Ray, the cluster's CPUs
    otherwise). ``cpus_per_worker``: CPUs Ray reserves per actor (default: what leaves one CPU for reads).
    ``gpus_per_worker``: GPUs per actor for encoders that use one. ``num_cpus`` / ``object_store_memory``
    (bytes): what a local Ray declares (defaults: this process's cores; Ray's default share of memory).
    """

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float | None = None
    gpus_per_worker: float = 0.0
    threads_per_worker: int = 1
    num_cpus: int | None = None
    object_store_memory: int | None = None
    name: str = field(default="ray", init=False)
    _ray: ModuleType | None = field(default=None, init=False, repr=False)
    _started_here: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.cpus_per_worker is not None and not self.cpus_per_worker > 0:
            raise ConfigError(f"cpus_per_worker must be > 0, got {self.cpus_per_worker}")
        if self.gpus_per_worker < 0:
            raise ConfigError(f"gpus_per_worker must be >= 0, got {self.gpus_per_worker}")
        if self.threads_per_worker < 1:
            raise ConfigError(f"threads_per_worker must be >= 1, got {self.threads_per_worker}")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ModuleType:
        """Connect (or start a local Ray) once; later calls return the same module."""
        if self._ray is not None:
            return self._ray
        ray = import_ray()
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,  # pipeline code prints nothing; actor errors come back as exceptions
                "logging_level": logging.ERROR,  # not Ray's notices (token auth, progress bars off) on every start
            }
            if self.address is None:
                options["num_cpus"] = self.num_cpus or available_cores()
                if self.object_store_memory is not None:
                    options["object_store_memory"] = self.object_store_memory
                ray.init(**options)
            else:
                ray.init(address=self.address, **options)
            self._started_here = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the caller reports progress through its callback
        context.enable_auto_log_stats = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        self._ray = ray
        return ray

    def close(self) -> None:
        """Shut Ray down if this engine started it (a Ray the caller started is left running)."""
        if self._ray is not None and self._started_here:
            self._ray.shutdown()
        self._ray, self._started_here = None, False

    def __enter__(self) -> RayEngine:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ sizing

    def cluster_cpus(self) -> float:
        return float(self.start().cluster_resources().get("CPU", 1.0))

    def pool_size(self) -> int:
        if self.workers is not None:
            return self.workers
        return max(1, available_cores() if self.address is None else int(self.cluster_cpus()))

    def actor_cpus(self) -> float:
        """CPUs reserved per actor: given, or a share that leaves one CPU for the read tasks (at most 1)."""
        if self.cpus_per_worker is not None:
            return self.cpus_per_worker
        spare = (self.cluster_cpus() - 1.0) / self.pool_size()
        return max(MIN_ACTOR_CPUS, min(1.0, math.floor(spare * 100) / 100))

    # ------------------------------------------------------------------ mapping

    def map_parquet(
        self, parts: Sequence[Path], actor: type, constructor_kwargs: Mapping[str, Any], *, batch_size: int
    ) -> Iterator[pa.Table]:
        """The tables ``actor(**constructor_kwargs)(batch)`` returns for every ``batch_size`` rows of the Parquet
        ``parts`` (files every node can read), in no particular order, as they are done.

        A part is the unit of work: an actor reads it (streamed, a batch at a time) and returns its results
        as one table. Ray's own ``read_parquet`` would merge small parts into one block, so that a pool of
        N actors got all of it on one actor; a dataset of part names keeps one block per part.
        """
        if not parts:
            return
        ray = self.start()
        dataset = ray.data.from_items([{"part": str(p)} for p in parts], override_num_blocks=len(parts))
        reader = _part_reader(actor, {**constructor_kwargs}, self.threads_per_worker, batch_size)
        yield from self._map(ray, dataset, reader, len(parts))

    def map_table(
        self, table: pa.Table, actor: type, constructor_kwargs: Mapping[str, Any], *, batch_size: int
    ) -> Iterator[pa.Table]:
        """Like ``map_parquet`` over an Arrow table held by the driver, sent as blocks of ``batch_size`` rows
        (small inputs: requests, not media)."""
        if not table.num_rows:
            return
        ray = self.start()
        blocks = [table.slice(start, batch_size) for start in range(0, table.num_rows, batch_size)]
        dataset = ray.data.from_arrow(blocks)  # one block per slice: each is one actor call
        yield from self._map(ray, dataset, _bound(actor, {**constructor_kwargs}, self.threads_per_worker), len(blocks))

    def _map(self, ray: ModuleType, dataset: Any, actor: type, blocks: int) -> Iterator[pa.Table]:
        mapped = dataset.map_batches(
            actor,
            compute=ray.data.ActorPoolStrategy(size=min(self.pool_size(), blocks)),
            num_cpus=self.actor_cpus(),
            num_gpus=self.gpus_per_worker or None,
            batch_size=None,  # a whole block per call: a part, or a slice of a table
            batch_format="pyarrow",
            zero_copy_batch=True,
        )
        for batch in mapped.iter_batches(batch_format="pyarrow", batch_size=None):
            if batch.num_rows:
                yield batch


def _bound(actor: type, kwargs: dict[str, Any], threads: int) -> type:
    """``actor`` with its constructor arguments bound (Ray then keeps none in the object store, where an
    actor restart could lose them) and its thread pools sized to ``threads`` before the model loads."""

    class Bound(actor):  # a subclass made at run time, pickled by value with its arguments
        def __init__(self) -> None:
            limit_threads(threads)
            super().__init__(**kwargs)

    Bound.__name__ = actor.__name__  # the operator's name in Ray's logs; the qualname stays local (pickled by value)
    return Bound


def _part_reader(actor: type, kwargs: dict[str, Any], threads: int, batch_size: int) -> type:
    """``actor`` fed from Parquet parts: each call gets part names, reads each in ``batch_size`` rows."""
    bound = _bound(actor, kwargs, threads)

    class PartReader(bound):  # type: ignore[valid-type,misc]  # made at run time
        def __call__(self, batch: pa.Table) -> pa.Table:
            import pyarrow.parquet as pq

            encode = super().__call__  # not inside the comprehension: its own scope has no zero-argument super
            out = [
                encode(pa.Table.from_batches([rows]))
                for part in batch.column("part").to_pylist()
                for rows in pq.ParquetFile(part).iter_batches(batch_size=batch_size)
            ]
            return pa.concat_tables(out) if out else pa.table({})

    PartReader.__name__ = actor.__name__
    return PartReader


def limit_threads(threads: int) -> None:
    """Size this actor process's thread pools: env variables for libraries not loaded yet (the process is the
    actor's alone), threadpoolctl for BLAS/OpenMP pools already loaded, torch's intra-op pool if torch is in,
    OpenCV's pool when OpenCV is installed."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    if importlib.util.find_spec("cv2") is not None:  # OpenCV's pool ignores OMP_NUM_THREADS (OCR resizes with it)
        import cv2

        cv2.setNumThreads(threads)
