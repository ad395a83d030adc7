"""VADER lexicon sentiment as a 4-d feature: (neg, neu, pos, compound).

VADER reads raw social text on purpose: it scores emoji, emoticons, capitals ("GREAT"), "!!!" and
elongation itself, so only Unicode normalisation is applied (no placeholders, no lower-casing).
Very long texts are cut to ``max_chars`` (VADER is per-sentence and slows on huge inputs).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from postlens.encoders.base import Features, package_version, settings_version
from postlens.encoders.text._batch import check_items, truncate_chars
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.normalize import normalize_unicode
from postlens.errors import MissingDependency
from postlens.types import Modality

VADER_FIELDS = ("neg", "neu", "pos", "compound")
LEXICON_LANGUAGES = frozenset({"en"})
"""Languages VADER's lexicon reads. On other languages it finds no word it knows and calls the post
neutral, which is not a finding: readers of the scores must leave such posts unscored."""


def lexicon_reads(language: str | None) -> bool:
    """Whether VADER's score of a post in ``language`` (a BCP 47 / ISO 639 code such as ``en``,
    ``en-GB``, ``es``) means anything. Unknown or undetermined languages (short texts, emoji) are read:
    VADER scores emoji and emoticons whatever the language around them."""
    if not language:
        return True
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary in LEXICON_LANGUAGES or primary in ("", "und", "zxx", "mul")


class VaderEncoder(ParamsMixin):
    """``info["sentiment"]`` is positive / negative / neutral by VADER's usual +-0.05 compound cut.

    The lexicon is English: the encoder scores any text (the 4 values are a feature like any other),
    and readers that report sentiment check ``lexicon_reads(language)`` first."""

    name = "text-vader"
    revision = "1"  # bump when the code changes the scores; settings change the version by themselves
    modality = Modality.TEXT
    dim = 4

    def __init__(self, max_chars: int = 5000, threshold: float = 0.05) -> None:
        self.max_chars = max_chars
        self.threshold = threshold
        self._analyzer: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """Settings and the lexicon's release (another vaderSentiment may score words differently)."""
        return settings_version(
            self.revision,
            {
                "max_chars": self.max_chars,
                "threshold": self.threshold,
                "vaderSentiment": package_version("vaderSentiment"),
            },
        )

    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    try:
                        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
                    except ImportError as error:
                        raise MissingDependency("vaderSentiment", "text") from error
                    self._analyzer = SentimentIntensityAnalyzer()
        return self._analyzer

    def __getstate__(self) -> dict[str, Any]:
        return {"max_chars": self.max_chars, "threshold": self.threshold}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _label(self, compound: float) -> str:
        if compound >= self.threshold:
            return "positive"
        if compound <= -self.threshold:
            return "negative"
        return "neutral"

    def encode(self, items: Sequence[str]) -> list[Features]:
        positions, texts, results = check_items(items, self.name)
        for position, text in zip(positions, texts):
            try:
                cleaned, truncated = truncate_chars(normalize_unicode(text), self.max_chars)
                scores = self.analyzer.polarity_scores(cleaned)
                vector = np.array([scores[field] for field in VADER_FIELDS], dtype=np.float32)
                info: dict[str, Any] = {"sentiment": self._label(scores["compound"])}
                if truncated:
                    info["truncated"] = True
                results[position] = Features(vector=vector, info=info)
            except Exception as error:  # noqa: BLE001 - per item, the batch goes on
                results[position] = Features.failed(
                    "encoder_error", f"{self.name} failed on item {position}: {type(error).__name__}: {error}"
                )
        return [feature if feature is not None else Features.failed("internal", "no result") for feature in results]
