"""Language identification with py3langid (model inside the wheel), tuned for short social text.

URLs, mentions, emoji and digits say nothing about the language and push short texts towards
random guesses, so they are removed first. Below ``min_letters`` letters or ``min_confidence``
(py3langid's length-calibrated probability) the answer is ``"und"`` (undetermined, ISO 639-2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from postlens.encoders.text._params import ParamsMixin

UNDETERMINED = "und"
_MAX_CHARS = 2000  # the first ~300 words decide; a 10,000-character post costs no more than that
_NOISE = re.compile(r"(?:https?://|www\.)\S+|(?<!\w)@\w+|<(?:url|user|num)>|[#_\d]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    code: str
    confidence: float

    def to_info(self) -> dict[str, Any]:
        return {"language": self.code, "language_confidence": round(self.confidence, 4)}


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """Loaded on first use (~0.2 s), shared by every detector in the process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _letters_only(text: str) -> str:
    cleaned = _NOISE.sub(" ", text)
    return " ".join("".join(ch if ch.isalpha() or ch in "'’ " else " " for ch in cleaned).split())


class LanguageDetector(ParamsMixin):
    """``detect(text) -> LanguageGuess``; ``languages`` restricts the candidates (e.g. ``["en", "fr"]``)."""

    def __init__(
        self,
        min_confidence: float = 0.5,
        min_letters: int = 6,
        languages: list[str] | None = None,
    ) -> None:
        self.min_confidence = min_confidence
        self.min_letters = min_letters
        self.languages = languages

    def fit(self, texts: Iterable[str] | None = None) -> LanguageDetector:
        """Nothing to learn; present so the detector fits in sklearn pipelines."""
        self.identifier_ = self._restricted_identifier()
        return self

    def _restricted_identifier(self) -> Any:
        if not self.languages:
            return _identifier()
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(self.languages))
        return identifier

    def detect(self, text: str) -> LanguageGuess:
        letters = _letters_only((text or "")[:_MAX_CHARS])
        if sum(ch.isalpha() for ch in letters) < self.min_letters:
            return LanguageGuess(UNDETERMINED, 0.0)
        identifier = getattr(self, "identifier_", None) or self.fit().identifier_
        code, confidence = identifier.classify(letters)
        if code == "zxx" or confidence < self.min_confidence:
            return LanguageGuess(UNDETERMINED, float(confidence))
        return LanguageGuess(str(code), float(confidence))

    def detect_many(self, texts: Iterable[str]) -> list[LanguageGuess]:
        return [self.detect(text) for text in texts]


def detect_language(text: str, min_confidence: float = 0.5) -> LanguageGuess:
    """One-off convenience; keep a :class:`LanguageDetector` for many texts."""
    return LanguageDetector(min_confidence=min_confidence).detect(text)
