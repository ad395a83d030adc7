"""The agent's encoders and one batch's features: media first (OCR, transcripts, on-screen text are
text the post did not have), then every text field through the text encoders, each encoder called
once per batch (``understand_many`` batches model calls across posts).

Text fields are built as ``featurize`` builds them (``pipeline/featurize_text.py``): the post's own
text, and per derived field the distinct media texts joined by newlines, each cut to
``TEXT_MAX_CHARS``; so a post the agent reads gets the vectors featurize would cache for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from postlens.agent.inputs import AgentPost
from postlens.encoders.base import Encoder, Features, cache_key
from postlens.encoders.identity import installed_identity
from postlens.encoders.registry import get_spec
from postlens.encoders.text.language import LanguageDetector, LanguageGuess
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.pipeline.featurize_text import TEXT_FIELD_OF, TEXT_MAX_CHARS, cut_at_space
from postlens.pipeline.featurize_worker import build_encoder
from postlens.types import Modality

MEDIA_ENCODERS: dict[Modality, tuple[str, ...]] = {
    Modality.IMAGE: ("efficientnet", "ocr"), Modality.GIF: ("efficientnet", "ocr"),
    Modality.VIDEO: ("video",), Modality.AUDIO: ("audio",),
}
"""Which media encoders read which kind (as featurize's MEDIA_KINDS_FOR)."""
DERIVED_FIELDS = tuple(TEXT_FIELD_OF.items())  # (media encoder, text field): ocr -> ocr, video -> video_text, audio -> transcript


class EncoderSet:
    """Registry encoders built once with ``threads`` threads each, each called under its own lock.

    The video pipeline shares this set's EfficientNet, OCR and audio encoders (one copy of each
    model in memory) when its cache key is then the installed one; otherwise it is built alone.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.frames: _Recording | None = None  # the video pipeline's frame encoder, when it shares EfficientNet
        self._built: dict[str, Encoder] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> Encoder:
        with self._guard:
            if name not in self._built:
                self._built[name] = self._build(name)
                self._locks[name] = threading.Lock()
            return self._built[name]

    def _build(self, name: str) -> Encoder:
        if name == "video":
            from postlens.encoders.video.pipeline import VideoPipeline

            self.frames = _Recording(self._built.get("efficientnet") or self._unlocked("efficientnet"))
            shared = VideoPipeline(self.frames, self._built.get("ocr") or self._unlocked("ocr"),
                                   self._built.get("audio") or self._unlocked("audio"))
            if cache_key(shared) == installed_identity("video").key:
                return shared
            self.frames = None
        if name == "audio":  # Whisper's thread count is its own setting (no output change, not in the key)
            return get_spec(name).build(cpu_threads=self.threads)
        return build_encoder(get_spec(name), threads=self.threads)

    def _unlocked(self, name: str) -> Encoder:
        self._built[name] = self._build(name)
        self._locks[name] = threading.Lock()
        return self._built[name]

    def key(self, name: str) -> str:
        return cache_key(self.get(name))

    def encode(self, name: str, items: Sequence[Any]) -> list[Features]:
        """One Features per item; an encoder that raises fails only the items it raised on."""
        if not items:
            return []
        encoder = self.get(name)
        with _Locked([self._locks[n] for n in self._lock_order(name)]):
            try:
                out = encoder.encode(list(items))
                if len(out) == len(items):
                    return out
            except Exception:  # noqa: BLE001 - retried one by one below
                pass
            results = []
            for item in items:
                try:
                    results.append((encoder.encode([item]) or [Features.failed("encoder_error", "no result")])[0])
                except Exception as exc:  # noqa: BLE001 - reported on this item only
                    results.append(Features.failed("encoder_error", f"{name}: {type(exc).__name__}: {exc}"))
            return results

    def encode_videos(self, paths: Sequence[str]) -> list[tuple[Features, list[Features]]]:
        """Each video's features and its sampled frames' EfficientNet outputs (ImageNet labels per frame;
        empty when the pipeline could not share this set's EfficientNet)."""
        out = []
        for path in paths:
            found = self.encode("video", [path])[0]
            frames = self.frames.take() if self.frames is not None else []
            out.append((found, frames if not found.error else []))
        return out

    def _lock_order(self, name: str) -> list[str]:
        """The video pipeline runs the shared image, OCR and audio encoders inside it: it holds their
        locks too, always taken in this one order (no deadlock)."""
        if name != "video":
            return [name]
        return [n for n in ("efficientnet", "ocr", "audio", "video") if n in self._locks]


class _Recording:
    """An encoder seen through a window: the video pipeline's frame encoder, keeping what it returned
    (the frames' labels) until ``take``. Same name, version and width: the pipeline's cache key is unchanged."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.seen: list[Features] = []

    name = property(lambda self: self.inner.name)
    version = property(lambda self: self.inner.version)
    modality = property(lambda self: self.inner.modality)
    dim = property(lambda self: self.inner.dim)

    def encode(self, items: Sequence[Any]) -> list[Features]:
        out = self.inner.encode(items)
        self.seen.extend(out)
        return out

    def take(self) -> list[Features]:
        seen, self.seen = self.seen, []
        return seen


class _Locked:
    def __init__(self, locks: list[threading.Lock]) -> None:
        self.locks = locks

    def __enter__(self) -> None:
        for lock in self.locks:
            lock.acquire()

    def __exit__(self, *_: object) -> None:
        for lock in reversed(self.locks):
            lock.release()


@dataclass
class PostFeatures:
    """One post's features: per media index the encoders' outputs; per text field its text and vectors."""

    media: dict[int, dict[str, Features]] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # text | ocr | video_text | transcript -> text
    vectors: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # text encoder -> field -> vector
    frame_labels: dict[int, list[tuple[str, float]]] = field(default_factory=dict)  # video media index -> labels
    vader: Features | None = None
    language: LanguageGuess | None = None
    cleaned_text: str = ""

    def media_vectors(self, agent_post: AgentPost, kinds: Sequence[Modality], encoder: str) -> list[np.ndarray]:
        return [f.vector for m in agent_post.media if m.kind in kinds
                for f in [self.media.get(m.index, {}).get(encoder)] if f is not None and f.vector is not None and not f.error]


class BatchFeatures:
    """Features of a batch of posts, computed with one call per encoder; ``seconds`` per stage."""

    def __init__(self, encoders: EncoderSet, posts: Sequence[AgentPost], *, text_encoders: Sequence[str],
                 ocr: bool, detector: LanguageDetector, cleaner: TextPreprocessor) -> None:
        self.posts = list(posts)
        self.items = [PostFeatures() for _ in self.posts]
        self.seconds: dict[str, float] = {}
        self._media(encoders, ocr)
        self._fields()
        self._texts(encoders, text_encoders, detector, cleaner)

    def _timed(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    def _media(self, encoders: EncoderSet, ocr: bool) -> None:
        for name in ("efficientnet", "ocr", "video", "audio"):
            if name == "ocr" and not ocr:
                continue
            jobs = [(i, m) for i, p in enumerate(self.posts) for m in p.media
                    if name in MEDIA_ENCODERS.get(m.kind, ())]
            if not jobs:
                continue
            started = time.perf_counter()
            paths = [str(m.path) for _, m in jobs]
            if name == "video":
                for (i, gated), (feats, frames) in zip(jobs, encoders.encode_videos(paths)):
                    self.items[i].media.setdefault(gated.index, {})[name] = feats
                    self.items[i].frame_labels[gated.index] = _mean_labels(frames)
            else:
                for (i, gated), feats in zip(jobs, encoders.encode(name, paths)):
                    self.items[i].media.setdefault(gated.index, {})[name] = feats
            self._timed(name, started)

    def _fields(self) -> None:
        for post, item in zip(self.posts, self.items):
            if post.post.text.strip():
                item.fields["text"] = post.post.text
            for encoder, text_field in DERIVED_FIELDS:
                texts: list[str] = []
                for gated in post.media:
                    feats = item.media.get(gated.index, {}).get(encoder)
                    text = (feats.text or "").strip() if feats is not None and not feats.error else ""
                    if text and text not in texts:
                        texts.append(text)
                if texts:
                    item.fields[text_field] = "\n".join(texts)

    def _texts(self, encoders: EncoderSet, names: Sequence[str], detector: LanguageDetector,
               cleaner: TextPreprocessor) -> None:
        started = time.perf_counter()
        for post, item in zip(self.posts, self.items):
            own = post.post.text
            item.cleaned_text = cleaner.preprocess(own) if own.strip() else ""
            item.language = detector.detect(own) if own.strip() else None
        self._timed("language", started)
        distinct = list(dict.fromkeys(t for item in self.items for t in item.fields.values()))
        capped = [cut_at_space(t[:TEXT_MAX_CHARS]) if len(t) > TEXT_MAX_CHARS else t for t in distinct]
        for name in names:
            started = time.perf_counter()
            vectors = dict(zip(distinct, encoders.encode(name, capped)))
            for item in self.items:
                item.vectors[name] = {f: vectors[t].vector for f, t in item.fields.items()
                                      if vectors[t].vector is not None and not vectors[t].error}
            self._timed(name, started)
        started = time.perf_counter()
        capped_of = dict(zip(distinct, capped))
        own_texts = [capped_of[t] if t else None for t in (item.fields.get("text") for item in self.items)]
        scored = encoders.encode("vader", [t for t in own_texts if t])
        found = iter(scored)
        for item, text in zip(self.items, own_texts):
            item.vader = next(found) if text else None
        self._timed("vader", started)


def _mean_labels(frames: Sequence[Features], top: int = 5) -> list[tuple[str, float]]:
    """A video's labels: each label's probability averaged over the sampled frames (0 where a frame's top
    labels lack it), the ``top`` largest."""
    usable = [f for f in frames if not f.error]
    totals: dict[str, float] = {}
    for frame in usable:
        for label in frame.info.get("labels") or []:
            totals[str(label["name"])] = totals.get(str(label["name"]), 0.0) + float(label["prob"])
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [(name, total / len(usable)) for name, total in ranked]
