"""RapidOCR's detector and recogniser driven step by step, cheaper than ``RapidOCR.__call__``.

Measured on memes, screenshots and MediaEval photos (bench/image_encoders.py --ocr-only), ONNX
Runtime's ``run`` is ~87% of OCR time, so the savings come from feeding the models less:

* detection runs on a copy whose longest side is ``det_side`` (640: 2.5x fewer pixels than 1024);
  when that low-resolution map holds text candidates too small or faint to become boxes, the image
  is detected again at full size (a few percent of images), so small print is not lost;
* lines are cut from the full-size image, not the downscaled one, so recognition sees sharp glyphs;
* each line is recognised alone, at its own width: RapidOCR batches 6 lines and pads all to the
  widest, which costs more than batching saves on a CPU (and makes a line's text depend on its
  neighbours); alone, a line reads the same whatever else is in the image or the call;
* a detection without boxes skips recognition, and models never load before the first image.

The models are the ones inside the rapidocr wheel, found by RapidOCR's own routing; when a file is
missing the error says so and nothing is downloaded. Sessions use one thread each; the encoder
runs images in parallel instead (``OCREncoder(num_threads=...)``), which scales better than
intra-op threads for these small convolution stacks. Sessions are safe to share between threads.
cv2 and rapidocr are imported on first use, so that building the encoder stays instant.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import EncoderError, MissingDependency

DETECT_LIMIT = 2000  # RapidOCR's Global.max_side_len: never reached after the encoder's shrink
MIN_SIDE = 30  # RapidOCR's Global.min_side_len: tiny images are enlarged to this before detection
WIDE_RATIO = 8  # RapidOCR's Global.width_height_ratio: wider strips get padded above and below


@dataclass(slots=True)
class Line:
    """One recognised line: text, quadrilateral (x, y) in the image that was read, confidence."""

    text: str
    box: np.ndarray
    score: float


@dataclass
class StageTimes:
    """Cumulative CPU seconds per stage and counts, for bench/ (thread CPU time: load-independent)."""

    detect_s: float = 0.0
    recognise_s: float = 0.0
    classify_s: float = 0.0
    images: int = 0
    lines: int = 0
    full_size_detections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in vars(self).items() if not k.startswith("_")}


class OCRModels:
    """The detector, recogniser and (optional) angle classifier of the installed rapidocr."""

    def __init__(self, *, use_angle_classifier: bool = False) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise MissingDependency("rapidocr", "image") from exc
        engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": use_angle_classifier,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        tasks = ("Det", "Rec", "Cls") if use_angle_classifier else ("Det", "Rec")
        for task in tasks:
            engine.cfg[task].model_path = str(_packaged_model(engine.cfg, task))
        # RapidOCR's own loaders build the ONNX sessions and decoders exactly as RapidOCR.__call__ would
        self.detector = engine._load_det_model()
        self.recogniser = engine._load_rec_model()
        self.classifier = engine._load_cls_model() if use_angle_classifier else None
        self.det_mean, self.det_std = engine.cfg.Det.mean, engine.cfg.Det.std

    # ------------------------------------------------------------------------------ one image

    def read(self, bgr: np.ndarray, *, det_side: int, times: StageTimes) -> list[Line]:
        """Lines of one BGR image (boxes in its pixel coordinates), in detection order."""
        from rapidocr.utils.process_img import (
            apply_vertical_padding,
            get_rotate_crop_image,
            map_boxes_to_original,
            resize_image_within_bounds,
        )

        height, width = bgr.shape[:2]
        image, ratio_h, ratio_w = resize_image_within_bounds(bgr, MIN_SIDE, DETECT_LIMIT)
        record: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        image, record = apply_vertical_padding(image, record, WIDE_RATIO, MIN_SIDE)
        started = time.thread_time()
        boxes, reran = self.detect(image, det_side)
        times.add(detect_s=time.thread_time() - started, images=1, full_size_detections=int(reran))
        if not len(boxes):
            return []
        crops = [get_rotate_crop_image(image, box.copy()) for box in boxes]
        if self.classifier is not None:
            started = time.thread_time()
            crops = self.classifier(crops).img_list
            times.add(classify_s=time.thread_time() - started)
        started = time.thread_time()
        read = [self.recognise(crop) for crop in crops]
        times.add(recognise_s=time.thread_time() - started, lines=len(crops))
        mapped = map_boxes_to_original(boxes.astype(np.float32), record, height, width)
        return [Line(text, box, score) for (text, score), box in zip(read, mapped)]

    def detect(self, image: np.ndarray, det_side: int) -> tuple[np.ndarray, bool]:
        """Boxes (n, 4, 2) float32 in ``image`` pixels; True when the full-size pass was needed."""
        import cv2

        height, width = image.shape[:2]
        longest = max(height, width)
        if longest <= det_side:
            return self._detect_at(image, 1.0)[0], False
        scale = det_side / longest
        small = cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
        boxes, missed = self._detect_at(small, scale)
        if missed:
            return self._detect_at(image, 1.0)[0], True
        return boxes, False

    def _detect_at(self, image: np.ndarray, scale: float) -> tuple[np.ndarray, bool]:
        """Detect on ``image`` (a copy scaled by ``scale``); boxes divided back by it, and whether
        the probability map held candidates that did not become boxes (small or faint text)."""
        from rapidocr.ch_ppocr_det.utils import DetPreProcess

        height, width = image.shape[:2]
        tensor = DetPreProcess(max(height, width), "max", self.det_mean, self.det_std)(image)
        if tensor is None:
            return np.zeros((0, 4, 2), np.float32), False
        prediction = self.detector.session(tensor)
        post = self.detector.postprocess_op
        boxes, _scores = post(prediction, (height, width))
        found = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
        if len(found):
            found = self.detector.sorted_boxes(found)
        candidates = _candidate_count(prediction[0, 0], post.thresh, post.dilation_kernel)
        return found / scale, candidates > len(found)

    def recognise(self, crop: np.ndarray) -> tuple[str, float]:
        """One line image -> (text, mean character confidence), at the line's own width."""
        rec = self.recogniser
        _channels, rec_height, rec_width = rec.rec_image_shape[:3]
        ratio = max(rec_width / rec_height, crop.shape[1] / max(1, crop.shape[0]))
        tensor = rec.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32)
        lines, _words = rec.postprocess_op(rec.session(tensor))
        text, score = lines[0]
        return str(text), float(score)


def _candidate_count(probability: np.ndarray, threshold: float, kernel: np.ndarray | None) -> int:
    """Connected regions of the (dilated) text map, as RapidOCR's box finder sees them."""
    import cv2

    mask: np.ndarray = (probability > threshold).astype(np.uint8)
    if kernel is not None:
        mask = cv2.dilate(mask, kernel)
    count, _labels = cv2.connectedComponents(mask, connectivity=8)
    return int(count) - 1  # label 0 is the background


def _packaged_model(cfg: Any, task: str) -> Path:
    """The model file RapidOCR would use for ``task``, which must already be on disk (no download)."""
    from rapidocr.inference_engine.base import FileInfo, InferSession

    section = cfg[task]
    info = InferSession.get_model_url(
        FileInfo(
            engine_type=section.engine_type,
            ocr_version=section.ocr_version,
            task_type=section.task_type,
            lang_type=section.lang_type,
            model_type=section.model_type,
        )
    )
    path = Path(str(cfg.Global.model_root_dir)) / Path(str(info["model_dir"])).name
    if not path.is_file():
        raise EncoderError(
            f"RapidOCR's {task} model {path.name} is not in {path.parent}; reinstall rapidocr "
            "(postlens never downloads models at run time)"
        )
    return path
