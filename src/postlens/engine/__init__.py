"""Where batch work runs: in this process (``LocalEngine``, the default) or on Ray Data (``RayEngine``).

    featurize(ws, engine=RayEngine(workers=4))                 # a local Ray started for the run
    featurize(ws, engine=RayEngine(address="ray://head:10001"))  # an existing cluster

The engine knows nothing of encoders or workspaces: it maps a callable class (loaded once per actor)
over Parquet parts or a list of items and hands the results back to the caller, which writes them to
the workspace. Ray is imported only when a ``RayEngine`` starts, so ``import postlens`` never pays for it.
"""

from __future__ import annotations

from postlens.engine.base import ENGINE_NAMES, Engine, LocalEngine, make_engine
from postlens.engine.ray_engine import RayEngine

__all__ = ["ENGINE_NAMES", "Engine", "LocalEngine", "RayEngine", "make_engine"]
