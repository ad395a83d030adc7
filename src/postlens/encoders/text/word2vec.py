"""Word2Vec trained on the project's own posts; a post is a weighted average of its word vectors.

Rows are L2-normalised by default (``normalize``). Weighting: ``sif`` (Arora et al. 2017: a/(a+p(w)), then the first principal component of the
training posts is removed), ``tfidf`` (idf of the training posts) or ``mean``.
gensim seeds each word's initial vector with ``hash(word)``, which Python randomises per process;
a stable hash is passed instead. With ``workers > 1`` thread scheduling still makes training not
bit-for-bit repeatable (gensim's documented limit): use ``workers=1`` when exact repeats matter.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.text._batch import check_items
from postlens.encoders.text._config import settings_tag
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.errors import ConfigError, EncoderError, MissingDependency
from postlens.types import Modality

WEIGHTINGS = ("sif", "tfidf", "mean")


def stable_hash(text: str) -> int:
    """Process-independent replacement for ``hash`` in gensim's vector seeding."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "little")


class Word2VecFeaturizer(ParamsMixin):
    """``fit(texts) -> self``; ``transform(texts) -> (n, vector_size)``; ``save``/``load`` an .npz file."""

    name = "text-word2vec"
    modality = Modality.TEXT

    def __init__(
        self,
        preprocessor: TextPreprocessor | None = None,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 2,
        sg: int = 1,
        epochs: int = 10,
        weighting: str = "sif",
        sif_a: float = 1e-3,
        normalize: bool = True,
        seed: int = 42,
        workers: int = 2,
    ) -> None:
        self.preprocessor = preprocessor
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.sg = sg
        self.epochs = epochs
        self.weighting = weighting
        self.sif_a = sif_a
        self.normalize = normalize
        self.seed = seed
        self.workers = workers

    @property
    def dim(self) -> int:
        return self.vector_size

    def fit(self, texts: Iterable[str], y: Any = None) -> Word2VecFeaturizer:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting={self.weighting!r} is unknown; use one of {', '.join(WEIGHTINGS)}")
        try:
            from gensim.models import Word2Vec
        except ImportError as error:
            raise MissingDependency("gensim", "text") from error
        texts = [text if isinstance(text, str) else "" for text in texts]
        self.preprocessor_ = self.preprocessor if self.preprocessor is not None else TextPreprocessor()
        corpus = self.preprocessor_.fit_transform(texts)
        if not any(corpus):
            raise EncoderError(f"{self.name}: the {len(texts)} training texts contain no tokens; pass real posts")
        model = Word2Vec(
            sentences=corpus,
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            sg=self.sg,
            epochs=self.epochs,
            seed=self.seed,
            workers=self.workers,
            hashfxn=stable_hash,
        )
        self.vocabulary_ = list(model.wv.index_to_key)
        self.vectors_ = np.asarray(model.wv.vectors, dtype=np.float32)
        self.index_ = {word: i for i, word in enumerate(self.vocabulary_)}
        self.weights_ = self._word_weights(corpus)
        self.common_component_ = np.zeros(self.vector_size, dtype=np.float32)
        if self.weighting == "sif":
            self.common_component_ = self._first_component(corpus)
        return self

    def _word_weights(self, corpus: list[list[str]]) -> np.ndarray:
        if self.weighting == "mean":
            return np.ones(len(self.vocabulary_), dtype=np.float32)
        if self.weighting == "sif":
            counts = Counter(token for row in corpus for token in row)
            total = sum(counts.values())
            return np.array([self.sif_a / (self.sif_a + counts[w] / total) for w in self.vocabulary_], np.float32)
        document_frequency = Counter(token for row in corpus for token in set(row))
        n = len(corpus)
        return np.array([np.log((1 + n) / (1 + document_frequency[w])) + 1 for w in self.vocabulary_], np.float32)

    def _first_component(self, corpus: list[list[str]]) -> np.ndarray:
        matrix, _ = self._average(corpus, remove_component=False)
        matrix = matrix[np.abs(matrix).sum(axis=1) > 0]
        if len(matrix) < 2:
            return np.zeros(self.vector_size, dtype=np.float32)
        _, _, vt = np.linalg.svd(matrix, full_matrices=False)
        return vt[0].astype(np.float32)

    def _average(self, corpus: list[list[str]], remove_component: bool = True) -> tuple[np.ndarray, list[int]]:
        out = np.zeros((len(corpus), self.vector_size), dtype=np.float32)
        known_counts: list[int] = []
        for row, tokens in enumerate(corpus):
            ids = [self.index_[token] for token in tokens if token in self.index_]
            known_counts.append(len(ids))
            if not ids:
                continue
            weights = self.weights_[ids]
            vectors = self.vectors_[ids]
            if self.weighting == "sif":
                out[row] = (weights[:, None] * vectors).sum(axis=0) / len(ids)
            else:
                out[row] = (weights[:, None] * vectors).sum(axis=0) / weights.sum()
        if remove_component and self.weighting == "sif":
            component = self.common_component_
            out -= np.outer(out @ component, component)
        if remove_component and self.normalize:  # SIF averages are ~1e-3 in scale: unit length suits models
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return out, known_counts

    def _require_fit(self) -> None:
        if not hasattr(self, "vectors_"):
            raise EncoderError(f"{self.name}: not fitted; call fit(texts) or Word2VecFeaturizer.load(path)")

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        self._require_fit()
        return self._average(self.preprocessor_.transform(texts))[0]

    def fit_transform(self, texts: Iterable[str], y: Any = None) -> np.ndarray:
        texts = list(texts)
        return self.fit(texts).transform(texts)

    @property
    def version(self) -> str:
        self._require_fit()
        settings = self.get_params(deep=False)
        settings["preprocessor"] = self.preprocessor_.get_params()
        settings["fingerprint"] = hashlib.sha256(self.vectors_.tobytes()).hexdigest()[:16]
        return f"1.{settings_tag(settings)}"

    def encode(self, items: Sequence[str]) -> list[Features]:
        """A text with no word from the training vocabulary gets a zero vector, ``known_tokens == 0``."""
        self._require_fit()
        positions, texts, results = check_items(items, self.name)
        if texts:
            matrix, known = self._average(self.preprocessor_.transform(texts))
            for row, position in enumerate(positions):
                results[position] = Features(vector=matrix[row], info={"known_tokens": known[row]})
        return [feature if feature is not None else Features.failed("internal", "no result") for feature in results]

    def save(self, path: str | Path) -> Path:
        """One .npz (no pickle): vocabulary, vectors, weights, component and settings."""
        self._require_fit()
        path = Path(path)
        settings = self.get_params(deep=False)
        settings["preprocessor"] = self.preprocessor_.get_params()
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                vocabulary=np.array(self.vocabulary_, dtype=str),
                vectors=self.vectors_,
                weights=self.weights_,
                common_component=self.common_component_,
                settings=np.array(json.dumps(settings)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Word2VecFeaturizer:
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                settings = json.loads(str(data["settings"]))
                preprocessor = TextPreprocessor(**settings.pop("preprocessor"))
                featurizer = cls(preprocessor=preprocessor, **settings)
                featurizer.vocabulary_ = data["vocabulary"].tolist()
                featurizer.vectors_ = data["vectors"]
                featurizer.weights_ = data["weights"]
                featurizer.common_component_ = data["common_component"]
        except (OSError, KeyError, ValueError) as error:
            raise EncoderError(
                f"cannot load a Word2VecFeaturizer from {path}: {error}; save it with .save()"
            ) from error
        featurizer.preprocessor_ = preprocessor
        featurizer.index_ = {word: i for i, word in enumerate(featurizer.vocabulary_)}
        return featurizer
