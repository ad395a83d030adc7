"""Where is someone speaking? Silero VAD as bundled (ONNX) inside faster-whisper: no torch, no download.

The same segments feed the speech ratio and the transcriber (which then skips music and silence),
so VAD runs once per clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    start_sample: int
    end_sample: int

    @property
    def start_s(self) -> float:
        return self.start_sample / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.end_sample / SAMPLE_RATE

    def as_chunk(self) -> dict[str, int]:
        """The dict shape faster-whisper's collect_chunks / SpeechTimestampsMap expect."""
        return {"start": self.start_sample, "end": self.end_sample}


def detect_speech(
    samples: np.ndarray,
    *,
    threshold: float = 0.5,
    min_speech_ms: int = 250,
    min_silence_ms: int = 500,
    pad_ms: int = 150,
) -> list[SpeechSegment]:
    """Speech segments of a 16 kHz mono clip.

    Shorter silences than ``min_silence_ms`` do not split a segment (so a sentence stays whole);
    ``pad_ms`` keeps word edges that the detector cuts too tightly.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(samples) < 512:  # Silero needs one 32 ms window
        return []
    options = VadOptions(
        threshold=threshold,
        min_speech_duration_ms=min_speech_ms,
        min_silence_duration_ms=min_silence_ms,
        speech_pad_ms=pad_ms,
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), options, sampling_rate=SAMPLE_RATE)
    return [SpeechSegment(int(s["start"]), int(s["end"])) for s in stamps]


def speech_ratio(segments: list[SpeechSegment], n_samples: int) -> float:
    """Share of the clip covered by speech, 0..1 (segments do not overlap)."""
    if n_samples <= 0:
        return 0.0
    covered = sum(max(0, min(s.end_sample, n_samples) - s.start_sample) for s in segments)
    return min(1.0, covered / n_samples)


def widen_for_asr(
    segments: list[SpeechSegment], n_samples: int, *, pad_s: float = 0.4, merge_gap_s: float = 2.0
) -> list[SpeechSegment]:
    """Pad and merge tight speech segments into the wider regions Whisper transcribes best.

    Tight segments give an honest speech ratio; Whisper, however, garbles first words that start
    right at a cut and loses context across short pauses (faster-whisper's own VAD defaults are
    400 ms padding and 2 s minimum silence). Deriving both from one VAD run keeps VAD to one pass.
    """
    pad, gap = int(pad_s * SAMPLE_RATE), int(merge_gap_s * SAMPLE_RATE)
    merged: list[SpeechSegment] = []
    for segment in segments:
        start, end = max(0, segment.start_sample - pad), min(n_samples, segment.end_sample + pad)
        if merged and start - merged[-1].end_sample < gap:
            merged[-1] = SpeechSegment(merged[-1].start_sample, max(end, merged[-1].end_sample))
        else:
            merged.append(SpeechSegment(start, end))
    return merged
