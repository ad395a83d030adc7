"""Each featurize actor uses exactly its thread budget, and the pool's parts shrink to one batch at the end.

N actors only make N times the work when each keeps to one core: an ONNX Runtime session sized to every
core (its default) would make two actors fight over both cores and add threads that wait on each other.
"""

from __future__ import annotations

import itertools
import os
import sys

import pyarrow as pa
import pytest

from postlens.engine import RayEngine
from postlens.pipeline.featurize_ray import PARTS_PER_WORKER, part_sizes


class SessionThreads:
    """Builds the ONNX encoders as a featurize actor does (``EncodeBatch``), loads their models and reports
    each ONNX Runtime session's thread pools and OpenCV's."""

    def __init__(self) -> None:
        import cv2

        from postlens.pipeline.featurize_ray import EncodeBatch

        efficientnet = EncodeBatch("efficientnet", threads=1).encoder
        ocr = EncodeBatch("ocr", threads=1).encoder
        sessions = {
            "efficientnet": efficientnet.model.session,
            "ocr detector": ocr.models.detector.session.session,
            "ocr recogniser": ocr.models.recogniser.session.session,
        }
        options = {name: session.get_session_options() for name, session in sessions.items()}
        self.threads = {name: (o.intra_op_num_threads, o.inter_op_num_threads) for name, o in options.items()}
        self.cv2_threads = cv2.getNumThreads()

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = sorted(self.threads)
        return pa.table(
            {
                "session": names,
                "intra_op": [self.threads[n][0] for n in names],
                "inter_op": [self.threads[n][1] for n in names],
                "cv2": [self.cv2_threads] * len(names),
                "pid": [os.getpid()] * len(names),
            }
        )


def test_onnx_sessions_in_an_actor_get_one_thread(ray_engine: RayEngine) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules
    one_actor = RayEngine(workers=1, cpus_per_worker=0.5)  # the tests' Ray, already started
    out = pa.concat_tables(one_actor.map_table(pa.table({"x": [0]}), SessionThreads, {}, batch_size=1)).to_pylist()
    assert {r["session"] for r in out} == {"efficientnet", "ocr detector", "ocr recogniser"}
    assert all((r["intra_op"], r["inter_op"]) == (1, 1) for r in out), out
    assert {r["cv2"] for r in out} == {1}  # OCR resizes with OpenCV, whose pool ignores OMP_NUM_THREADS
    assert os.getpid() not in {r["pid"] for r in out}


@pytest.mark.parametrize(("total", "workers", "batch"), [(922, 1, 8), (922, 2, 8), (922, 2, 2), (100_000, 16, 32)])
def test_parts_are_whole_batches_that_shrink_to_one_batch_at_the_end(total: int, workers: int, batch: int) -> None:
    sizes = part_sizes(total, workers, batch)
    assert sum(sizes) == total
    assert all(size % batch == 0 for size in sizes[:-1])  # the model sees whole batches but in the very last part
    assert all(a >= b for a, b in itertools.pairwise(sizes))  # never larger than the part before
    assert max(sizes) <= max(batch, total // (workers * PARTS_PER_WORKER))  # first results come early
    assert sizes[-workers - 1 : -1] == [batch] * workers  # every actor ends on a single batch
    assert len(sizes) >= workers * PARTS_PER_WORKER


def test_few_items_make_few_parts() -> None:
    assert part_sizes(0, 2, 8) == []
    assert part_sizes(5, 2, 8) == [5]
    assert part_sizes(17, 1, 8) == [8, 8, 1]
