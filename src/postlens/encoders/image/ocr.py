"""Text inside images (memes, screenshots, posters) with RapidOCR's models (ONNX, weights in the wheel).

Images are shrunk first (longest side ``max_side``): lines are cut from that copy. Detection runs
on a smaller copy (``det_side``) and again at ``max_side`` only when small text may have been
missed; each line is recognised alone (see ocr_engine.py for why and for the measurements).
Images of one ``encode`` call are read in parallel on ``num_threads`` cores, one ONNX thread each;
the output does not depend on ``num_threads``, so it is not part of the cache ``version``.
The angle classifier is off by default: upside-down text is rare in feeds and it costs ~20%.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from postlens.encoders.base import Features, default_threads, package_version, settings_version
from postlens.encoders.image.ocr_engine import Line, OCRModels, StageTimes
from postlens.errors import ConfigError, MediaError
from postlens.media.image import DEFAULT_MAX_PIXELS, load_image, shrink_longest_side
from postlens.types import Modality

_Item = TypeVar("_Item")
MIN_SIDE_SETTING = 32  # the detector works on multiples of 32 pixels


class OCREncoder:
    """Image -> ``Features.text`` (lines in reading order) + ``info`` lines/boxes/scores; no vector.

    min_score             lines read with a lower mean character confidence are dropped
    max_side              images are shrunk to this longest side; lines are cut from that copy
    det_side              detection size; text under ~1% of ``max_side`` tall that leaves no trace
                          there is missed (set ``det_side=max_side`` to always detect at full size)
    use_angle_classifier  turn upside-down lines before reading them (~20% slower)
    max_pixels            larger images are refused (decompression bombs)
    num_threads           images read at once (default: every core this process may use)
    """

    name = "rapidocr"
    revision = "2"  # bump when the code changes what is read; settings change the version by themselves
    modality = Modality.IMAGE
    dim = 0

    def __init__(
        self,
        *,
        min_score: float = 0.6,
        max_side: int = 1024,
        det_side: int = 640,
        use_angle_classifier: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        num_threads: int | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"OCR min_score={min_score!r} must be between 0 and 1")
        for setting, value in (("max_side", max_side), ("det_side", det_side)):
            if int(value) < MIN_SIDE_SETTING:
                raise ConfigError(f"OCR {setting}={value!r} must be at least {MIN_SIDE_SETTING} pixels")
        if num_threads is not None and int(num_threads) < 1:
            raise ConfigError(f"OCR num_threads={num_threads!r} must be >= 1 (or None for every core)")
        self.min_score = float(min_score)
        self.max_side = int(max_side)
        self.det_side = int(det_side)
        self.use_angle_classifier = bool(use_angle_classifier)
        self.max_pixels = int(max_pixels)
        self.num_threads = int(num_threads) if num_threads is not None else default_threads()
        self.times = StageTimes()
        self._models: OCRModels | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """Changes with every setting that changes what is read, and with the rapidocr release."""
        return settings_version(
            self.revision,
            {
                "min_score": self.min_score,
                "max_side": self.max_side,
                "det_side": min(self.det_side, self.max_side),  # larger values all mean "full size"
                "use_angle_classifier": self.use_angle_classifier,
                "max_pixels": self.max_pixels,
                "rapidocr": package_version("rapidocr"),
            },
        )

    @property
    def models(self) -> OCRModels:
        """Loaded once, on the first image (never by the constructor)."""
        if self._models is None:
            with self._lock:
                if self._models is None:
                    self._models = OCRModels(use_angle_classifier=self.use_angle_classifier)
        return self._models

    def __getstate__(self) -> dict[str, Any]:
        """Settings only (worker processes): the models reload lazily where the encoder lands."""
        state = dict(self.__dict__)
        state["_models"] = None
        for unpicklable in ("_lock", "times"):
            state.pop(unpicklable, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.times = StageTimes()
        self._lock = threading.Lock()

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return self._parallel(self._encode_path, list(items))

    def encode_images(self, images: Sequence[Image.Image]) -> list[Features]:
        """In-memory RGB images (video frames): no temporary files."""
        return self._parallel(lambda image: self._encode_image(image, *image.size, "<frame>"), list(images))

    def _parallel(self, work: Callable[[_Item], Features], items: list[_Item]) -> list[Features]:
        workers = min(self.num_threads, len(items))
        if workers <= 1:
            return [work(item) for item in items]
        try:
            _ = self.models  # load once, before the threads start
        except Exception as exc:  # noqa: BLE001 - every item gets the reason; the batch still returns
            return [Features.failed("encoder_error", f"RapidOCR could not load: {exc}") for _ in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="postlens-ocr") as pool:
            return list(pool.map(work, items))

    def _encode_path(self, item: str | Path) -> Features:
        try:
            decoded = load_image(item, max_pixels=self.max_pixels, max_frames=1, min_side=self.max_side // 2)
        except MediaError as exc:
            return Features.failed(exc.code, str(exc))
        return self._encode_image(decoded.image, decoded.width, decoded.height, Path(str(item)).name)

    def _encode_image(self, image: Image.Image, width: int, height: int, label: str) -> Features:
        small = shrink_longest_side(image if image.mode == "RGB" else image.convert("RGB"), self.max_side)
        try:
            lines = self.read(np.ascontiguousarray(np.asarray(small)[:, :, ::-1]))  # RGB -> BGR, as cv2 reads
        except Exception as exc:  # noqa: BLE001 - OCR failure on one image must not stop the batch
            return Features.failed("encoder_error", f"{label}: RapidOCR failed: {type(exc).__name__}: {exc}")
        scale = max(width, height) / max(small.size)
        texts, boxes, scores = read_in_order(
            [line.text for line in lines], [line.box for line in lines], [line.score for line in lines], self.min_score
        )
        info = {
            "lines": texts,
            "boxes": [[[round(x * scale, 1), round(y * scale, 1)] for x, y in box] for box in boxes],
            "scores": [round(s, 4) for s in scores],
            "has_text": bool(texts),
        }
        return Features(text="\n".join(_join_visual_lines(texts, boxes)), info=info)

    def read(self, bgr: np.ndarray) -> list[Line]:
        """Every recognised line of one BGR image (``max_side`` already applied), unfiltered."""
        return self.models.read(bgr, det_side=self.det_side, times=self.times)


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
