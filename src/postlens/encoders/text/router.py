"""``SentenceEncoder``: MiniLM for English, multilingual E5 for other languages.

MiniLM and E5 are two different vector spaces: a cosine between a MiniLM vector and an E5 vector
means nothing. So the router never puts them in the same coordinates:

* ``multilingual="never"``  every item -> MiniLM (384-d). Best for English-only corpora.
* ``multilingual="always"`` every item -> E5 (384-d). One shared space across languages: use it
  whenever a corpus is multilingual and items must be compared (search, clustering, duplicates).
* ``multilingual="auto"``   per item by detected language: a 768-d vector whose first 384 values
  are MiniLM (English or undetermined items) and last 384 are E5 (other languages); the unused
  half is zero and ``info["space"]`` says which half is filled. A linear model learns separate
  weights per space, and English/non-English pairs get cosine 0 rather than a false similarity.
  This keeps MiniLM's English quality and its speed (E5 runs only on non-English items).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.text._config import settings_tag
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.language import UNDETERMINED, LanguageDetector
from postlens.encoders.text.sentence import EMBEDDING_DIM, E5Encoder, MiniLMEncoder
from postlens.errors import ConfigError
from postlens.types import Modality

MULTILINGUAL_MODES = ("auto", "always", "never")


class SentenceEncoder(ParamsMixin):
    """Language-routed sentence embeddings; ``info`` carries language, confidence and space."""

    name = "text-sentence"
    modality = Modality.TEXT

    def __init__(
        self,
        multilingual: str = "auto",
        english_codes: tuple[str, ...] = ("en",),
        min_language_confidence: float = 0.5,
        minilm: MiniLMEncoder | None = None,
        e5: E5Encoder | None = None,
    ) -> None:
        self.multilingual = multilingual
        self.english_codes = english_codes
        self.min_language_confidence = min_language_confidence
        self.minilm = minilm if minilm is not None else MiniLMEncoder()
        self.e5 = e5 if e5 is not None else E5Encoder()
        if multilingual not in MULTILINGUAL_MODES:
            raise ConfigError(f"multilingual={multilingual!r} is unknown; use one of {', '.join(MULTILINGUAL_MODES)}")

    @property
    def dim(self) -> int:
        return 2 * EMBEDDING_DIM if self.multilingual == "auto" else EMBEDDING_DIM

    @property
    def version(self) -> str:
        settings = {
            "multilingual": self.multilingual,
            "english_codes": list(self.english_codes),
            "min_language_confidence": self.min_language_confidence,
            "minilm": self.minilm.version,
            "e5": self.e5.version,
        }
        return f"1.{settings_tag(settings)}"

    def _detector(self) -> LanguageDetector:
        detector = getattr(self, "_language_detector", None)
        if detector is None:
            detector = LanguageDetector(min_confidence=self.min_language_confidence)
            self._language_detector = detector
        return detector

    def _space_for(self, language: str) -> str:
        if self.multilingual == "never":
            return "minilm"
        if self.multilingual == "always":
            return "e5"
        return "minilm" if language in self.english_codes or language == UNDETERMINED else "e5"

    def encode(self, items: Sequence[str]) -> list[Features]:
        detector = self._detector()
        guesses = [detector.detect(item) if isinstance(item, str) else None for item in items]
        spaces = [self._space_for(guess.code) if guess else "minilm" for guess in guesses]
        results: list[Features] = [Features.failed("internal", "not encoded")] * len(items)
        for space, encoder in (("minilm", self.minilm), ("e5", self.e5)):
            positions = [index for index, chosen in enumerate(spaces) if chosen == space]
            if not positions:
                continue
            for position, feature in zip(positions, encoder.encode([items[i] for i in positions])):
                results[position] = self._finish(feature, space, guesses[position])
        return results

    def _finish(self, feature: Features, space: str, guess: object) -> Features:
        if feature.error:
            return feature
        info = dict(feature.info)
        if guess is not None:
            info.update(guess.to_info())  # type: ignore[attr-defined]
        info["space"] = space
        vector = feature.vector
        if self.multilingual == "auto" and vector is not None:
            padded = np.zeros(2 * EMBEDDING_DIM, dtype=np.float32)
            offset = 0 if space == "minilm" else EMBEDDING_DIM
            padded[offset : offset + EMBEDDING_DIM] = vector
            vector = padded
        return Features(vector=vector, info=info)
