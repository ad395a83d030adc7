"""Glue between sampled frames and image encoders: key-frame choice, batched calls, caption merging.

Image encoders take file paths by contract; when one also offers ``encode_images(list[PIL.Image])``
the frames go in memory. Otherwise they are written once to a temporary folder that both the
frame encoder and OCR reuse, and removed afterwards. JPEG q92, not PNG: 3x faster to write, and
image loaders can decode JPEG at reduced scale (the frames came from a lossy video anyway).
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from postlens.encoders.base import Encoder, Features
from postlens.media.video import Frame

_WORD = re.compile(r"[^\w]+", re.UNICODE)


class FrameBatch:
    """The frames of one video, handed to encoders in one call each (in memory, or as temp JPEGs)."""

    def __init__(self, images: list[Image.Image]) -> None:
        self.images = images
        self._folder: Path | None = None
        self._paths: list[Path] = []

    def encode(self, encoder: Encoder, indices: list[int] | None = None) -> list[Features]:
        """One call to ``encoder`` for the chosen frames (all by default); one Features per frame."""
        chosen = list(range(len(self.images))) if indices is None else indices
        if not chosen:
            return []
        encode_images = getattr(encoder, "encode_images", None)
        if callable(encode_images):
            results = list(encode_images([self.images[i] for i in chosen]))
        else:
            paths = self._write()
            results = list(encoder.encode([paths[i] for i in chosen]))
        if len(results) != len(chosen):
            raise RuntimeError(
                f"encoder {getattr(encoder, 'name', encoder)!r} returned {len(results)} results "
                f"for {len(chosen)} frames; an encoder must return one Features per item"
            )
        return results

    @property
    def wrote_files(self) -> bool:
        return self._folder is not None

    def _write(self) -> list[Path]:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="postlens-frames-"))
            for index, image in enumerate(self.images):
                path = self._folder / f"frame_{index:04d}.jpg"
                image.save(path, format="JPEG", quality=92)
                self._paths.append(path)
        return self._paths

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> FrameBatch:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def pick_ocr_frames(
    frames: list[Frame],
    *,
    max_count: int = 6,
    evenly: int = 3,
    min_gap_s: float = 0.5,
    seconds_per_read: float = 15.0,
) -> list[int]:
    """Indices of frames worth reading: spread ones (first included), then scene starts.

    Captions usually stay up for a shot, so the first frame of each shot plus a few spread frames
    find most on-screen text at a fraction of the cost of reading every frame. A short clip gets
    one spread read per ``seconds_per_read`` (a 4 s clip: the first frame and its cuts only).
    """
    if not frames or max_count < 1:
        return []
    span = frames[-1].timestamp - frames[0].timestamp
    evenly = max(1, min(evenly, 1 + int(span // seconds_per_read)))
    count = len(frames)
    spread = sorted({round(i * (count - 1) / max(1, evenly - 1)) for i in range(min(evenly, count))})

    def far_from(index: int, others: set[int]) -> bool:
        return all(abs(frames[index].timestamp - frames[o].timestamp) >= min_gap_s for o in others)

    spread_set = set(spread)
    scenes = [i for i, frame in enumerate(frames) if frame.is_scene_change and far_from(i, spread_set)]
    room = max(0, max_count - len(spread))
    if len(scenes) > room:  # too many cuts: an even subset of them
        scenes = [scenes[round(i * (len(scenes) - 1) / max(1, room - 1))] for i in range(room)] if room else []
    return sorted(spread_set | set(scenes))[:max_count]


def normalise_line(line: str) -> str:
    """Case, accents-as-composed, punctuation and spacing removed: what OCR variants of a line share."""
    text = unicodedata.normalize("NFKC", line).casefold()
    return " ".join(_WORD.sub(" ", text).split())


@dataclass(slots=True)
class CaptionLine:
    """One line of on-screen text seen on one or more frames (see :func:`merge_caption_lines`)."""

    text: str
    first_seen_s: float
    last_seen_s: float
    frames: int = 1
    _key: str = ""
    _variants: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, key: str, timestamp: float) -> None:
        self.frames += 1
        self.first_seen_s, self.last_seen_s = min(self.first_seen_s, timestamp), max(self.last_seen_s, timestamp)
        self._variants[text] += 1
        if len(key) > len(self._key):
            self._key = key  # compare later reads with the fullest version seen
        longest = max(len(normalise_line(v)) for v in self._variants)
        full = [v for v in self._variants if len(normalise_line(v)) >= 0.9 * longest]
        self.text = max(full, key=lambda v: self._variants[v])  # most frequent among the full reads


def merge_caption_lines(seen: list[tuple[float, list[str]]], *, similarity: float = 0.8) -> list[CaptionLine]:
    """Merge near-identical lines read on different frames (a caption held for 5 s is read 5 times).

    ``seen`` holds (timestamp, lines) per OCR'd frame. Two lines are the same caption when their
    normalised forms have a difflib ratio >= ``similarity`` (OCR drops or swaps a letter or two
    between frames), or when one contains the other (a caption typed in word by word, or half
    hidden); no words are lost by merging those. A caption's ``text`` is its most frequent spelling
    among its full-length reads. Lines with fewer than 2 letters or digits are noise and dropped.
    The result is in order of first appearance.
    """
    captions: list[CaptionLine] = []
    for timestamp, lines in sorted(seen, key=lambda pair: pair[0]):
        for raw in lines:
            text = " ".join(raw.split())
            key = normalise_line(text)
            if sum(ch.isalnum() for ch in key) < 2:
                continue
            match = _find_similar(captions, key, similarity)
            if match is None:
                captions.append(CaptionLine(text, timestamp, timestamp, 1, key, Counter({text: 1})))
            else:
                match.add(text, key, timestamp)
    return captions


_MIN_CONTAINED_CHARS = 6


def _find_similar(captions: list[CaptionLine], key: str, similarity: float) -> CaptionLine | None:
    for caption in captions:
        if caption._key == key:
            return caption
        shorter, longer = sorted((caption._key, key), key=len)
        if len(shorter) >= _MIN_CONTAINED_CHARS and f" {shorter} " in f" {longer} ":
            return caption
        matcher = difflib.SequenceMatcher(None, caption._key, key, autojunk=False)
        if (
            matcher.real_quick_ratio() >= similarity
            and matcher.quick_ratio() >= similarity
            and matcher.ratio() >= similarity
        ):
            return caption
    return None
