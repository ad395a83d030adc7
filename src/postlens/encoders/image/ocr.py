"""Text inside images (memes, screenshots, posters) with RapidOCR (ONNX, weights in the wheel).

OCR is the slowest image step (~0.3-0.8 s/image on 2 cores), so images are shrunk first (longest side
``max_side``) and the detector is told to work at most at that size (RapidOCR's default *upscales* the
shorter side to 736, which triples the cost on wide memes). The angle classifier is off by default:
upside-down text is rare in feeds and it costs ~20%.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.errors import MediaError, MissingDependency
from postlens.media.image import DEFAULT_MAX_PIXELS, load_image, shrink_longest_side
from postlens.types import Modality


class OCREncoder:
    """Image -> ``Features.text`` (lines in reading order) + ``info`` lines/boxes/scores; no vector."""

    name = "rapidocr"
    version = "1"
    modality = Modality.IMAGE
    dim = 0

    def __init__(
        self,
        *,
        min_score: float = 0.6,
        max_side: int = 1024,
        use_angle_classifier: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        num_threads: int = 2,
    ) -> None:
        self.min_score = min_score
        self.max_side = max_side
        self.use_angle_classifier = use_angle_classifier
        self.max_pixels = max_pixels
        self.num_threads = num_threads
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:
                raise MissingDependency("rapidocr", "image") from exc
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
        return self._engine

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return [self._encode_one(item) for item in items]

    def _encode_one(self, item: str | Path) -> Features:
        try:
            decoded = load_image(item, max_pixels=self.max_pixels, max_frames=1, min_side=self.max_side // 2)
        except MediaError as exc:
            return Features.failed(exc.code, str(exc))
        image = shrink_longest_side(decoded.image, self.max_side)
        try:
            result = self.engine(image)
        except Exception as exc:  # OCR failure on one image must not stop the batch
            return Features.failed("encoder_error", f"{Path(str(item)).name}: RapidOCR failed: {exc}")
        scale = max(decoded.width, decoded.height) / max(image.size)
        lines, boxes, scores = read_in_order(result.txts, result.boxes, result.scores, self.min_score)
        info = {
            "lines": lines,
            "boxes": [[[round(x * scale, 1), round(y * scale, 1)] for x, y in box] for box in boxes],
            "scores": [round(s, 4) for s in scores],
            "has_text": bool(lines),
        }
        return Features(text="\n".join(_join_visual_lines(lines, boxes)), info=info)


def read_in_order(
    texts: Sequence[str] | None, boxes: Any, scores: Sequence[float] | None, min_score: float
) -> tuple[list[str], list[list[list[float]]], list[float]]:
    """Confident detections sorted top-to-bottom, then left-to-right within one visual line."""
    if not texts or boxes is None or scores is None:
        return [], [], []
    kept = [
        (str(t).strip(), np.asarray(b, dtype=float).reshape(-1, 2), float(s))
        for t, b, s in zip(texts, boxes, scores)
        if float(s) >= min_score and str(t).strip()
    ]
    kept.sort(key=lambda item: item[1][:, 1].mean())
    ordered: list[tuple[str, np.ndarray, float]] = []
    line: list[tuple[str, np.ndarray, float]] = []
    for entry in kept:
        if line and not _same_line(line[0][1], entry[1]):
            ordered.extend(sorted(line, key=lambda e: e[1][:, 0].min()))
            line = []
        line.append(entry)
    ordered.extend(sorted(line, key=lambda e: e[1][:, 0].min()))
    return [t for t, _, _ in ordered], [b.tolist() for _, b, _ in ordered], [s for _, _, s in ordered]


def _same_line(first: np.ndarray, other: np.ndarray) -> bool:
    """Boxes share a line when their vertical spans overlap by over half the shorter height."""
    top1, bottom1 = first[:, 1].min(), first[:, 1].max()
    top2, bottom2 = other[:, 1].min(), other[:, 1].max()
    overlap = min(bottom1, bottom2) - max(top1, top2)
    return overlap > 0.5 * max(1.0, min(bottom1 - top1, bottom2 - top2))


def _join_visual_lines(lines: list[str], boxes: list[list[list[float]]]) -> list[str]:
    """Detections on one visual line become one text line (spaces), lines are then joined by newlines."""
    out: list[str] = []
    anchor: np.ndarray | None = None
    for text, box in zip(lines, boxes):
        array = np.asarray(box)
        if out and anchor is not None and _same_line(anchor, array):
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
            anchor = array
    return out
