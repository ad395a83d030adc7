"""The engine layer itself: choosing an engine, sizing actors, and mapping a class over a table on Ray."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from postlens.engine import LocalEngine, RayEngine, make_engine
from postlens.errors import ConfigError, MissingDependency

REPO = Path(__file__).resolve().parents[2]


class Probe:
    """Reports which process answered and how many threads its pools were given."""

    def __init__(self, tag: str) -> None:
        import torch

        self.tag = tag
        self.torch_threads = torch.get_num_threads()
        self.omp = os.environ.get("OMP_NUM_THREADS")

    def __call__(self, batch: pa.Table) -> pa.Table:
        time.sleep(0.1)  # a call takes a while, as a model's does: the pool shares the work
        n = batch.num_rows
        return pa.table(
            {
                "x": batch.column("x"),
                "double": pa.array([2 * v for v in batch.column("x").to_pylist()], pa.int64()),
                "pid": pa.array([os.getpid()] * n, pa.int64()),
                "tag": pa.array([self.tag] * n, pa.string()),
                "torch_threads": pa.array([self.torch_threads] * n, pa.int64()),
                "omp": pa.array([self.omp] * n, pa.string()),
            }
        )


def test_local_is_the_default_and_ray_options_need_the_ray_engine() -> None:
    assert isinstance(make_engine(), LocalEngine)
    with pytest.raises(ConfigError, match="need --engine ray"):
        make_engine("local", workers=2)
    with pytest.raises(ConfigError, match="known: local, ray"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        RayEngine(workers=0)
    with pytest.raises(ConfigError, match="cpus_per_worker"):
        RayEngine(cpus_per_worker=0)


def test_importing_postlens_and_its_pipeline_does_not_import_ray() -> None:
    code = "import sys, postlens, postlens.pipeline.featurize, postlens.engine, postlens.agent; print('ray' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_without_ray_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(MissingDependency, match=r"pip install 'postlens\[ray\]'"):
        RayEngine().start()


def test_actors_leave_a_cpu_for_reads_unless_told_otherwise(ray_engine: RayEngine) -> None:
    assert ray_engine.cluster_cpus() == 2
    assert RayEngine(workers=2).actor_cpus() == 0.5  # (2 CPUs - 1 for reads) / 2 actors
    assert RayEngine(workers=1).actor_cpus() == 1.0
    assert RayEngine(workers=8).actor_cpus() == 0.12
    assert RayEngine(workers=2, cpus_per_worker=0.25).actor_cpus() == 0.25


def test_map_table_answers_every_row_from_a_pool_of_single_threaded_actors(ray_engine: RayEngine) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules
    table = pa.table({"x": pa.array(range(40), pa.int64())})
    out = pa.concat_tables(ray_engine.map_table(table, Probe, {"tag": "bound"}, batch_size=5))
    rows = sorted(out.to_pylist(), key=lambda r: r["x"])
    assert [r["x"] for r in rows] == list(range(40))
    assert [r["double"] for r in rows] == [2 * x for x in range(40)]
    assert {r["tag"] for r in rows} == {"bound"}  # constructor arguments reached every actor
    assert len({r["pid"] for r in rows}) == 2  # a pool of two actors, in processes other than this one
    assert os.getpid() not in {r["pid"] for r in rows}
    assert {(r["torch_threads"], r["omp"]) for r in rows} == {(1, "1")}


def test_map_parquet_spreads_the_parts_over_the_pool(ray_engine: RayEngine, tmp_path: Path) -> None:
    """Each part is one unit of work: Ray's read_parquet merged small files into one block, which one actor
    of the pool then did alone."""
    import pyarrow.parquet as pq
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    parts = []
    for i in range(6):
        parts.append(tmp_path / f"part-{i}.parquet")
        pq.write_table(pa.table({"x": pa.array(range(10 * i, 10 * i + 10), pa.int64())}), parts[-1])
    out = pa.concat_tables(ray_engine.map_parquet(parts, Probe, {"tag": "parts"}, batch_size=4))
    assert sorted(out.column("x").to_pylist()) == list(range(60))
    assert len(set(out.column("pid").to_pylist())) == 2


def test_cli_engine_options_are_checked_before_any_work(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, "-c", "from postlens.serve.cli import main; main()"]
    local = subprocess.run(
        [*command, "featurize", "--workers", "2", "-w", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert local.returncode != 0 and "need --engine ray" in local.stdout + local.stderr
    unknown = subprocess.run([*command, "featurize", "--engine", "spark"], capture_output=True, text=True, env=env)
    assert unknown.returncode != 0 and "local" in unknown.stderr and "ray" in unknown.stderr
    missing = subprocess.run(
        [*command, "featurize", "--engine", "ray", "-w", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode != 0 and "no workspace" in missing.stdout + missing.stderr
