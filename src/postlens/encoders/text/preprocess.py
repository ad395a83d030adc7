"""``TextPreprocessor``: every clean-up step switchable, sklearn fit/transform style.

``preprocess(text) -> str`` gives cleaned text (what a pretrained model should read);
``transform(texts) -> list[list[str]]`` gives tokens (what TF-IDF and Word2Vec count).
Order: unicode -> URLs/mentions -> hashtags -> emoji -> numbers -> elongation -> lower-case ->
tokenize -> stop words -> lemma or stem. Language-aware steps use ``language`` (a code) or, with
``"auto"``, the detected language of each text (``"und"`` texts fall back to ``fallback_language``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from postlens.encoders.text import normalize as norm
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.hashtags import HASHTAG_MODES, rewrite_hashtags
from postlens.encoders.text.language import UNDETERMINED, LanguageDetector
from postlens.encoders.text.stopwords import stop_words
from postlens.encoders.text.tokenize import is_punctuation, tokenize_tweet

SNOWBALL_LANGUAGES = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "nb": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


@lru_cache(maxsize=64)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(SNOWBALL_LANGUAGES[language])


@lru_cache(maxsize=1)
def _simplemma_languages() -> frozenset[str]:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return frozenset(SUPPORTED_LANGUAGES)


def _is_protected(token: str) -> bool:
    """Placeholders and emoji names (``face_with_tears_of_joy``) never go through stem/lemma/stop words."""
    return token in norm.PLACEHOLDERS or "_" in token or not token[:1].isalpha()


class TextPreprocessor(ParamsMixin):
    """Switchable social-text clean-up; stateless apart from corpus statistics gathered by ``fit``.

    hashtags: ``segment`` (#BostonStrong -> boston strong), ``keep``, ``both``, ``drop``.
    emoji: ``both`` (😂 then face_with_tears_of_joy), ``name``, ``words`` (face with tears of joy),
    ``keep``, ``drop``. elongation caps letter runs at two (``soooo`` -> ``soo``).
    """

    def __init__(
        self,
        normalize: bool = True,
        urls: bool = True,
        mentions: bool = True,
        numbers: bool = True,
        hashtags: str = "segment",
        emoji: str = "both",
        elongation: bool = True,
        lowercase: bool = True,
        stopwords: bool = False,
        lemmatize: bool = False,
        stem: bool = False,
        punctuation: bool = True,
        language: str = "auto",
        fallback_language: str = "en",
        min_language_confidence: float = 0.5,
    ) -> None:
        self.normalize = normalize
        self.urls = urls
        self.mentions = mentions
        self.numbers = numbers
        self.hashtags = hashtags
        self.emoji = emoji
        self.elongation = elongation
        self.lowercase = lowercase
        self.stopwords = stopwords
        self.lemmatize = lemmatize
        self.stem = stem
        self.punctuation = punctuation
        self.language = language
        self.fallback_language = fallback_language
        self.min_language_confidence = min_language_confidence

    @classmethod
    def for_models(cls, **overrides: Any) -> TextPreprocessor:
        """Preset for pretrained sentence encoders: keep case and figures, emoji as plain words."""
        settings: dict[str, Any] = dict(numbers=False, emoji="words", lowercase=False)
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def passthrough(cls) -> TextPreprocessor:
        """Every string step off: the model reads the raw text (for on/off comparisons)."""
        return cls(
            normalize=False,
            urls=False,
            mentions=False,
            numbers=False,
            hashtags="keep",
            emoji="keep",
            elongation=False,
            lowercase=False,
        )

    def _check(self) -> None:
        if self.hashtags not in HASHTAG_MODES:
            raise ValueError(f"hashtags={self.hashtags!r} is unknown; use one of {', '.join(HASHTAG_MODES)}")
        if self.emoji not in norm.EMOJI_MODES:
            raise ValueError(f"emoji={self.emoji!r} is unknown; use one of {', '.join(norm.EMOJI_MODES)}")

    def fit(self, texts: Iterable[str] | None = None, y: Any = None) -> TextPreprocessor:
        """Validates settings and counts languages seen (``language_counts_``); nothing else to learn."""
        self._check()
        counts: Counter[str] = Counter()
        if texts is not None and self._needs_language() and self.language == "auto":
            detector = self._detector()
            counts.update(detector.detect(text).code for text in texts)
        self.language_counts_ = dict(counts)
        self.n_features_in_ = 1
        return self

    def _needs_language(self) -> bool:
        return self.stopwords or self.lemmatize or self.stem

    def _detector(self) -> LanguageDetector:
        detector = getattr(self, "_language_detector", None)
        if detector is None:
            detector = LanguageDetector(min_confidence=self.min_language_confidence)
            self._language_detector = detector
        return detector

    def language_of(self, text: str) -> str:
        """The language used for stop words / stems / lemmas of this text."""
        if self.language != "auto":
            return self.language
        code = self._detector().detect(text).code
        return self.fallback_language if code == UNDETERMINED else code

    def preprocess(self, text: str) -> str:
        """Cleaned text (no tokenization); safe on any ``str``."""
        if self.normalize:
            text = norm.normalize_unicode(text)
        if self.urls:
            text = norm.replace_urls(text)
        if self.mentions:
            text = norm.replace_mentions(text)
        if self.hashtags != "keep":
            text = rewrite_hashtags(text, self.hashtags)
        if self.emoji != "keep" and not text.isascii():
            text = norm.replace_emoji(text, self.emoji)
        if self.numbers:
            text = norm.replace_numbers(text)
        if self.elongation:
            text = norm.reduce_elongation(text)
        if self.lowercase:
            text = text.lower()
        return norm.collapse_spaces(text)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of one text after every switched-on step."""
        tokens = tokenize_tweet(self.preprocess(text))
        if not self.punctuation:
            tokens = [token for token in tokens if not is_punctuation(token)]
        if not self._needs_language() or not tokens:
            return tokens
        language = self.language_of(text)
        if self.stopwords:
            words = stop_words(language)
            tokens = [token for token in tokens if token.lower() not in words]
        if self.lemmatize and language in _simplemma_languages():
            import simplemma

            tokens = [token if _is_protected(token) else simplemma.lemmatize(token, lang=language) for token in tokens]
        if self.stem and language in SNOWBALL_LANGUAGES:
            stemmer = _stemmer(language)
            tokens = [token if _is_protected(token) else stemmer.stemWord(token) for token in tokens]
        return tokens

    def transform(self, texts: Iterable[str]) -> list[list[str]]:
        """One token list per text; a non-string item gives an empty list rather than stopping the batch."""
        self._check()
        return [self.tokenize(text) if isinstance(text, str) else [] for text in texts]

    def fit_transform(self, texts: Iterable[str], y: Any = None) -> list[list[str]]:
        texts = list(texts)
        return self.fit(texts).transform(texts)

    def preprocess_many(self, texts: Iterable[str]) -> list[str]:
        return [self.preprocess(text) if isinstance(text, str) else "" for text in texts]
