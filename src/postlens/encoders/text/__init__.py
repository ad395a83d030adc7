"""Text preprocessing and text features.

    TextPreprocessor      switchable clean-up + tweet tokenizer (fit/transform, get_params)
    LanguageDetector      py3langid with an "und" fallback for short / unclear texts
    MiniLMEncoder         all-MiniLM-L6-v2, English, 384-d          (sentence.py)
    E5Encoder             multilingual-e5-small, torch-free, 384-d  (sentence.py)
    SentenceEncoder       routes by language; see router.py for how the two spaces are kept apart
    Word2VecFeaturizer    gensim Word2Vec trained on your posts, SIF / TF-IDF averaged
    TfidfFeaturizer       sklearn TF-IDF on tweet tokens
    VaderEncoder          (neg, neu, pos, compound) lexicon sentiment

Imports are lazy so that ``import postlens.encoders.text`` loads no model and no torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TextPreprocessor": "preprocess",
    "LanguageDetector": "language",
    "LanguageGuess": "language",
    "detect_language": "language",
    "tokenize_tweet": "tokenize",
    "segment_hashtag": "hashtags",
    "stop_words": "stopwords",
    "MiniLMEncoder": "sentence",
    "E5Encoder": "sentence",
    "SentenceEncoder": "router",
    "Word2VecFeaturizer": "word2vec",
    "TfidfFeaturizer": "tfidf",
    "VaderEncoder": "lexicon",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
