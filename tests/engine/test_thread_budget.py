"""Each featurize actor uses exactly its thread budget.

N actors only make N times the work when each keeps to one core: an ONNX Runtime session sized to every
core (its default) would make two actors fight over both cores and add threads that wait on each other.
"""

from __future__ import annotations

import os
import sys

import pyarrow as pa

from postlens.engine import RayEngine


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
