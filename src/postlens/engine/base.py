"""The engine contract, the in-process engine and the name -> engine lookup the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from postlens.errors import ConfigError, unknown_name

ENGINE_NAMES = ("local", "ray")


@runtime_checkable
class Engine(Protocol):
    """``name`` says which code path a stage takes: ``local`` runs today's in-process path unchanged."""

    name: str

    def close(self) -> None:
        """Release what the engine started (a local Ray it launched); a no-op for an engine it did not start."""
        ...


@dataclass
class LocalEngine:
    """This process (and featurize's OCR worker process): the default, nothing to start or stop."""

    name: str = "local"

    def close(self) -> None:
        return None


def make_engine(
    name: str = "local",
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float | None = None,
    gpus_per_worker: float = 0.0,
) -> Engine:
    """``local`` or ``ray`` (``address``: an existing cluster; none starts a local Ray for the run)."""
    if name not in ENGINE_NAMES:
        raise unknown_name("engine", name, ENGINE_NAMES)
    if name == "local":
        if address is not None or workers is not None:
            raise ConfigError("--address and --workers need --engine ray")
        return LocalEngine()
    from postlens.engine.ray_engine import RayEngine

    return RayEngine(address=address, workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)


def is_local(engine: Engine | None) -> bool:
    return engine is None or engine.name == "local"
