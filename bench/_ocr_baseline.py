"""The OCR encoder as it was before issue 4c/9 (``RapidOCR.__call__`` on the image shrunk to
``max_side``, detection at that size, lines recognised in padded batches of 6), kept as the bench's
baseline: same loading, reading order and output format as OCREncoder, only ``read`` differs."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from postlens.encoders.image.ocr import OCREncoder
from postlens.encoders.image.ocr_engine import Line


class BaselineOCR(OCREncoder):
    """``num_threads`` here means ONNX intra-op threads for one image at a time, as before."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._engine: Any = None

    def encode(self, items):  # one image at a time, as before
        return [self._encode_path(item) for item in items]

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from rapidocr import RapidOCR

            self._engine = RapidOCR(
                params={
                    "Global.log_level": "error",
                    "Global.use_cls": self.use_angle_classifier,
                    "Det.limit_type": "max",
                    "Det.limit_side_len": self.max_side,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.num_threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
            self._engine.detect_and_crop = self._timed(self._engine.detect_and_crop, "detect_s")
            self._engine.recognize_txt = self._timed(self._engine.recognize_txt, "recognise_s")
        return self._engine

    def _timed(self, step: Any, stage: str) -> Any:
        def run(*args: Any) -> Any:
            started = time.process_time()  # process CPU: the baseline's ONNX threads included
            try:
                return step(*args)
            finally:
                self.times.add(**{stage: time.process_time() - started})
                if stage == "recognise_s":
                    self.times.add(lines=len(args[0]))  # every detected line is recognised

        return run

    def read(self, bgr: np.ndarray) -> list[Line]:
        result = self.engine(bgr)
        self.times.add(images=1)
        if not result.txts or result.boxes is None:
            return []
        found = zip(result.txts, result.boxes, result.scores)
        return [Line(str(text), np.asarray(box, np.float32), float(score)) for text, box, score in found]
