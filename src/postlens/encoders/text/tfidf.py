"""TF-IDF over tweet tokens (sklearn), fit on the project's own corpus.

Tokens come from :class:`TextPreprocessor` (so hashtags, emoji names and ``<url>`` are terms) and
n-grams are built here, because sklearn ignores ``ngram_range`` when given pre-split tokens.
``transform`` returns a sparse CSR matrix (use it for models); ``encode`` returns dense
``Features`` for the feature cache, so keep ``max_features`` modest (5,000 -> 20 kB per post).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.text._batch import check_items
from postlens.encoders.text._config import settings_tag
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.errors import EncoderError
from postlens.types import Modality


def _already_tokenized(tokens: list[str]) -> list[str]:
    return tokens


def with_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    low, high = ngram_range
    out: list[str] = list(tokens) if low <= 1 else []
    for size in range(max(low, 2), high + 1):
        out.extend(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    return out


class TfidfFeaturizer(ParamsMixin):
    """``fit(texts) -> self``, ``transform(texts) -> csr_matrix``, ``encode(texts) -> list[Features]``."""

    name = "text-tfidf"
    modality = Modality.TEXT

    def __init__(
        self,
        preprocessor: TextPreprocessor | None = None,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | float = 2,
        max_df: float = 0.95,
        max_features: int | None = 5000,
        sublinear_tf: bool = True,
    ) -> None:
        self.preprocessor = preprocessor
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _terms(self, texts: Iterable[str]) -> list[list[str]]:
        tokens = self.preprocessor_.transform(texts)
        return [with_ngrams(row, self.ngram_range) for row in tokens]

    def fit(self, texts: Iterable[str], y: Any = None) -> TfidfFeaturizer:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [text if isinstance(text, str) else "" for text in texts]
        self.preprocessor_ = self.preprocessor if self.preprocessor is not None else TextPreprocessor()
        self.preprocessor_.fit(texts)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=_already_tokenized,
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
        )
        self.vectorizer_.fit(self._terms(texts))
        self.vocabulary_ = self.vectorizer_.get_feature_names_out().tolist()
        return self

    def _require_fit(self) -> None:
        if not hasattr(self, "vectorizer_"):
            raise EncoderError(f"{self.name}: not fitted; call fit(texts) on your corpus first")

    def transform(self, texts: Iterable[str]) -> Any:
        self._require_fit()
        return self.vectorizer_.transform(self._terms(text if isinstance(text, str) else "" for text in texts))

    def fit_transform(self, texts: Iterable[str], y: Any = None) -> Any:
        texts = list(texts)
        return self.fit(texts).transform(texts)

    @property
    def dim(self) -> int:
        self._require_fit()
        return len(self.vocabulary_)

    @property
    def version(self) -> str:
        """Depends on the fitted vocabulary: refitting on another corpus gives another cache key."""
        self._require_fit()
        settings = self.get_params(deep=False)
        settings["preprocessor"] = self.preprocessor_.get_params()
        settings["vocabulary"] = self.vocabulary_
        settings["idf"] = np.round(self.vectorizer_.idf_, 5).tolist()
        return f"1.{settings_tag(settings)}"

    def encode(self, items: Sequence[str]) -> list[Features]:
        """Dense rows; a text with no known term gets a zero vector and ``info["known_terms"] == 0``."""
        self._require_fit()
        positions, texts, results = check_items(items, self.name)
        if texts:
            matrix = self.transform(texts)
            for row, position in enumerate(positions):
                dense = np.asarray(matrix[row].toarray()[0], dtype=np.float32)
                results[position] = Features(vector=dense, info={"known_terms": int(matrix[row].nnz)})
        return [feature if feature is not None else Features.failed("internal", "no result") for feature in results]
