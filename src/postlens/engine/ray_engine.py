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

import logging
import math
import os
import sys
from collections.abc import Iterator, Mapping
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
        self,
        source: Path,
        actor: type,
        constructor_kwargs: Mapping[str, Any],
        *,
        batch_size: int,
        parts: int | None = None,
    ) -> Iterator[pa.Table]:
        """The tables ``actor(**constructor_kwargs)(batch)`` returns for every batch of the Parquet parts in
        ``source`` (a folder every node can read), in no particular order, as they are done. ``parts``: how
        many files ``source`` holds (no more actors than that are started)."""
        ray = self.start()
        dataset = ray.data.read_parquet(str(source))
        yield from self._map(ray, dataset, actor, constructor_kwargs, batch_size, parts)

    def map_table(
        self,
        table: pa.Table,
        actor: type,
        constructor_kwargs: Mapping[str, Any],
        *,
        batch_size: int,
        blocks: int | None = None,
    ) -> Iterator[pa.Table]:
        """Like ``map_parquet`` over an Arrow table held by the driver (small inputs: requests, not media)."""
        ray = self.start()
        dataset = ray.data.from_arrow(table)
        count = blocks or max(1, math.ceil(table.num_rows / batch_size))
        if count > 1:
            dataset = dataset.repartition(count)
        yield from self._map(ray, dataset, actor, constructor_kwargs, batch_size, count)

    def _map(
        self,
        ray: ModuleType,
        dataset: Any,
        actor: type,
        constructor_kwargs: Mapping[str, Any],
        batch_size: int,
        parts: int | None,
    ) -> Iterator[pa.Table]:
        size = min(self.pool_size(), parts) if parts else self.pool_size()
        mapped = dataset.map_batches(
            _bound(actor, {**constructor_kwargs}, self.threads_per_worker),
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=self.actor_cpus(),
            num_gpus=self.gpus_per_worker or None,
            batch_size=batch_size,
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


def limit_threads(threads: int) -> None:
    """Size this actor process's thread pools: env variables for libraries not loaded yet (the process is the
    actor's alone), threadpoolctl for BLAS/OpenMP pools already loaded, torch's intra-op pool if torch is in."""
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
