"""VideoPipeline: one encoder for a whole video, built from injected image, OCR and audio encoders.

Per video: probe -> sample frames (1 fps + scene cuts, bounded) -> one batched frame-encoder call
-> OCR on key frames with repeated captions merged -> audio track through the audio encoder.

Vector layout (float32, ``dim = 2 * frame_dim + audio_dim + 4``, the same for every video of one
pipeline, with or without sound; ``layout()`` returns the slices):

    [0, F)              mean of the frame embeddings            (F = frame_encoder.dim, 0 without one)
    [F, 2F)             max of the frame embeddings
    [2F, 2F + A)        audio embedding, zeros when there is none (A = audio.dim, 0 without one)
    [2F + A]            has_audio: 1.0 when the audio block holds a real embedding
    [2F + A + 1]        log1p(duration in seconds)
    [2F + A + 2]        scene cuts per minute
    [2F + A + 3]        has_onscreen_text: 1.0 when OCR read any caption

``Features.sequence`` is (T, F): one embedding per sampled frame in time order (timestamps in
``info["frame_timestamps"]``), for temporal models (encoders/video/temporal.py).

``Features.text`` format: the merged on-screen caption lines, one per line, in order of first
appearance; then, when there is speech, a blank line and the transcript as one paragraph.
``info["onscreen_text"]`` and ``info["transcript"]`` hold the two parts separately.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Encoder, Features, cache_key, settings_version
from postlens.encoders.video.frames import FrameBatch, merge_caption_lines, pick_ocr_frames
from postlens.errors import MediaError
from postlens.media.video import Frame, VideoInfo, probe_video, sample_frames
from postlens.types import Modality

ProgressCallback = Callable[[str, str, float], None]
"""Called as ``progress(path, stage, fraction_done)``; stages: probe, decode, frames, ocr, audio, done."""

META_FIELDS = ("has_audio", "log1p_duration_s", "scene_cuts_per_minute", "has_onscreen_text")
_STAGE_DONE = {"probe": 0.05, "decode": 0.3, "frames": 0.5, "ocr": 0.75, "audio": 0.95, "done": 1.0}


class _StageClock:
    """Wall and process CPU seconds per stage: CPU time stays meaningful when other work shares the cores."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = round(wall - self._wall, 4)
        self.cpu[stage] = round(cpu - self._cpu, 4)
        self._wall, self._cpu = wall, cpu


class VideoPipeline:
    """Encoder for video (and GIF) files; any of the three injected encoders may be None."""

    name = "video"
    revision = "1"  # bump when the code changes the output; settings change the version by themselves
    modality = Modality.VIDEO

    def __init__(
        self,
        frame_encoder: Encoder | None = None,
        ocr: Encoder | None = None,
        audio: Encoder | None = None,
        *,
        fps: float = 1.0,
        max_frames: int = 32,
        max_seconds: float | None = None,
        scene_threshold: float = 0.2,
        max_ocr_frames: int = 6,
        ocr_every_s: float = 15.0,
        caption_similarity: float = 0.8,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.frame_encoder, self.ocr, self.audio = frame_encoder, ocr, audio
        self.fps, self.max_frames, self.max_seconds = fps, max_frames, max_seconds
        self.scene_threshold, self.max_ocr_frames = scene_threshold, max_ocr_frames
        self.ocr_every_s = ocr_every_s
        self.caption_similarity = caption_similarity
        self.progress = progress
        self.frame_dim = int(frame_encoder.dim) if frame_encoder is not None else 0
        self.audio_dim = int(audio.dim) if audio is not None else 0
        self.dim = 2 * self.frame_dim + self.audio_dim + len(META_FIELDS)

    @property
    def version(self) -> str:
        """Changes whenever an injected encoder's cache key or a sampling setting changes (not ``progress``)."""
        return settings_version(
            self.revision,
            {
                "frame_encoder": self._key(self.frame_encoder),
                "ocr": self._key(self.ocr),
                "audio": self._key(self.audio),
                "fps": self.fps,
                "max_frames": self.max_frames,
                "max_seconds": self.max_seconds,
                "scene_threshold": self.scene_threshold,
                "max_ocr_frames": self.max_ocr_frames,
                "ocr_every_s": self.ocr_every_s,
                "caption_similarity": self.caption_similarity,
            },
        )

    @staticmethod
    def _key(encoder: Encoder | None) -> str | None:
        return cache_key(encoder) if encoder is not None else None

    def layout(self) -> dict[str, slice]:
        """Where each block sits in ``Features.vector`` (see the module docstring)."""
        f, a = self.frame_dim, self.audio_dim
        out = {"frames_mean": slice(0, f), "frames_max": slice(f, 2 * f), "audio": slice(2 * f, 2 * f + a)}
        for offset, name in enumerate(META_FIELDS):
            out[name] = slice(2 * f + a + offset, 2 * f + a + offset + 1)
        return out

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        """One Features per video; a video that fails gets ``Features.failed`` and the rest go on."""
        results: list[Features] = []
        for item in items:
            try:
                results.append(self._encode_one(str(item)))
            except MediaError as exc:
                results.append(Features.failed(exc.code, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a bug or model failure on one video must not lose the batch
                results.append(Features.failed("encoder_error", f"{item}: {type(exc).__name__}: {exc}"))
        return results

    # ------------------------------------------------------------------------------------------ steps

    def _encode_one(self, path: str) -> Features:
        clock = _StageClock()
        info = probe_video(path)
        self._report(path, "probe")
        frames = sample_frames(
            path,
            fps=self.fps,
            max_frames=self.max_frames,
            max_seconds=self.max_seconds,
            scene_threshold=self.scene_threshold,
        )
        clock.lap("decode")
        self._report(path, "decode")
        with FrameBatch([frame.image for frame in frames]) as batch:
            sequence = self._frame_embeddings(path, batch)
            clock.lap("frames")
            self._report(path, "frames")
            captions, ocr_frames = self._onscreen_text(batch, frames)
            clock.lap("ocr")
            self._report(path, "ocr")
        audio_vector, transcript, audio_info = self._audio(path, info)
        clock.lap("audio")
        features = self._assemble(info, frames, sequence, captions, audio_vector, transcript)
        features.info.update(audio_info)
        features.info["ocr_frames"] = ocr_frames
        features.info["timings_s"], features.info["cpu_s"] = clock.wall, clock.cpu
        self._report(path, "done")
        return features

    def _frame_embeddings(self, path: str, batch: FrameBatch) -> np.ndarray:
        if self.frame_encoder is None:
            return np.zeros((len(batch.images), 0), np.float32)
        results = batch.encode(self.frame_encoder)
        bad = [r.error for r in results if r.error is not None or r.vector is None]
        if len(bad) == len(results):
            raise MediaError(f"{path}: the frame encoder failed on every frame ({bad[0]})", code="frame_encoder")
        dim = self.frame_dim
        return np.stack(
            [  # a failed frame becomes the mean of the good ones: keeps T aligned with timestamps
                np.asarray(r.vector, np.float32).reshape(dim)
                if r.error is None and r.vector is not None
                else np.full(dim, np.nan, np.float32)
                for r in results
            ]
        )

    def _onscreen_text(self, batch: FrameBatch, frames: list[Frame]) -> tuple[list[str], list[float]]:
        if self.ocr is None:
            return [], []
        chosen = pick_ocr_frames(frames, max_count=self.max_ocr_frames, seconds_per_read=self.ocr_every_s)
        results = batch.encode(self.ocr, chosen)
        seen = [(frames[i].timestamp, (r.text or "").splitlines()) for i, r in zip(chosen, results) if r.error is None]
        captions = merge_caption_lines(seen, similarity=self.caption_similarity)
        return [c.text for c in captions], [round(frames[i].timestamp, 3) for i in chosen]

    def _audio(self, path: str, info: VideoInfo) -> tuple[np.ndarray | None, str, dict[str, Any]]:
        if self.audio is None or not info.has_audio:
            return None, "", {}
        result = self.audio.encode([path])[0]
        if result.error is not None:
            return None, "", {"audio_error": result.error}
        vector = None if result.vector is None else np.asarray(result.vector, np.float32).reshape(self.audio_dim)
        return vector, (result.text or "").strip(), {"audio": result.info}

    def _assemble(
        self,
        info: VideoInfo,
        frames: list[Frame],
        sequence: np.ndarray,
        captions: list[str],
        audio_vector: np.ndarray | None,
        transcript: str,
    ) -> Features:
        if sequence.shape[1] and np.isnan(sequence).any():
            good_mean = np.nanmean(sequence, axis=0)
            sequence = np.where(np.isnan(sequence), good_mean, sequence)
        cuts = sum(frame.is_scene_change for frame in frames)
        minutes = max(info.duration_s, 1e-3) / 60
        meta = np.array(
            [audio_vector is not None, math.log1p(info.duration_s), cuts / minutes, bool(captions)], np.float32
        )
        vector = np.concatenate(
            [
                sequence.mean(axis=0) if sequence.shape[1] else np.zeros(0, np.float32),
                sequence.max(axis=0) if sequence.shape[1] else np.zeros(0, np.float32),
                audio_vector if audio_vector is not None else np.zeros(self.audio_dim, np.float32),
                meta,
            ]
        ).astype(np.float32)
        text = "\n".join(captions)
        if transcript:
            text = f"{text}\n\n{transcript}" if text else transcript
        video = info.to_dict()
        video.pop("path")
        return Features(
            vector=vector,
            sequence=sequence.astype(np.float32) if sequence.shape[1] else None,
            text=text or None,
            info={
                "video": video,
                "frame_timestamps": [round(f.timestamp, 3) for f in frames],
                "scene_changes": [round(f.timestamp, 3) for f in frames if f.is_scene_change],
                "onscreen_text": captions,
                "transcript": transcript,
            },
        )

    def _report(self, path: str, stage: str) -> None:
        if self.progress is not None:
            self.progress(path, stage, _STAGE_DONE[stage])
