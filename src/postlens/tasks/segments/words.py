"""Topic words: one tokenisation for labels and coherence, and class-based TF-IDF over topics.

A topic's words must read like what its posts say, so the document of a post is everything
postlens read from it: its text, OCR text, on-screen text, transcript and its images' labels.
Tokens are the tweet tokenizer's, lower-cased, with URLs, mentions, numbers, punctuation, emoji
and stop words (English plus the post's language) dropped and ``#tag`` read as ``tag``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from postlens.encoders.text.stopwords import stop_words
from postlens.encoders.text.tokenize import is_punctuation, tokenize_tweet

MIN_TOKEN_CHARS = 2


def topic_tokens(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` that can name a topic, in order (repeats kept)."""
    stops = stop_words("en") | (stop_words(language) if language and language != "en" else frozenset())
    out: list[str] = []
    for token in tokenize_tweet(text or ""):
        word = token.lower()
        if word.startswith("#"):
            word = word[1:]
        if (len(word) < MIN_TOKEN_CHARS or word in stops or word.startswith(("@", "http", "www.", "<"))
                or is_punctuation(word) or not any(ch.isalpha() for ch in word)):
            continue
        out.append(word)
    return out


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> column; ``doc_terms`` is a sparse (docs x words) count matrix in CSR form."""

    words: list[str]
    doc_terms: "object"  # scipy.sparse.csr_matrix; typed loosely so that importing this module needs no scipy

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], *, min_df: int = 2) -> "Vocabulary":
        """Words found in at least ``min_df`` documents (rarer ones cannot characterise a topic)."""
        from scipy import sparse

        df: dict[str, int] = {}
        for tokens in documents:
            for word in set(tokens):
                df[word] = df.get(word, 0) + 1
        words = sorted(w for w, n in df.items() if n >= min_df)
        index = {w: i for i, w in enumerate(words)}
        rows: list[int] = []
        cols: list[int] = []
        for row, tokens in enumerate(documents):
            for word in tokens:
                col = index.get(word)
                if col is not None:
                    rows.append(row)
                    cols.append(col)
        matrix = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(documents), len(words)))
        matrix.sum_duplicates()
        return cls(words=words, doc_terms=matrix)

    @cached_property
    def binary(self) -> "object":
        """``doc_terms`` clipped at 1 (does the post use the word), CSR; computed once."""
        binary = self.doc_terms.copy()  # type: ignore[attr-defined]
        binary.data = np.minimum(binary.data, 1.0)
        return binary.tocsr()

    @cached_property
    def binary_columns(self) -> "object":
        """``binary`` in CSC form, for slicing words out of it."""
        return self.binary.tocsc()  # type: ignore[attr-defined]


def class_tfidf(vocabulary: Vocabulary, assignments: np.ndarray, topics: Sequence[int], *,
                top_n: int = 10, weights: np.ndarray | None = None) -> dict[int, list[tuple[str, float]]]:
    """Per topic, its ``top_n`` words by class-based TF-IDF (BERTopic's c-TF-IDF).

    Each topic's posts are one "class document"; a word scores by its share of the topic's words
    times ``log(1 + mean words per class / the word's count over all classes)``. Term counts are
    clipped at 1 per post so one long or repeated post cannot carry a topic's label.
    ``assignments`` has one entry per document (a topic not in ``topics``, e.g. -1, is left out);
    ``weights`` counts each document that many times (a bootstrap resample; None: once each).
    """
    topic_list = list(topics)
    position = {t: i for i, t in enumerate(topic_list)}
    rows = np.array([position.get(int(t), -1) for t in assignments], dtype=np.int64)
    scores = class_tfidf_scores(vocabulary, rows, len(topic_list), weights)
    return {topic: [(vocabulary.words[j], float(row[j])) for j in top_columns(row, top_n)]
            for topic, row in zip(topic_list, scores)}


def class_tfidf_scores(vocabulary: Vocabulary, rows: np.ndarray, n_topics: int,
                       weights: np.ndarray | None = None) -> np.ndarray:
    """(n_topics, words) c-TF-IDF scores; ``rows[i]`` is document i's topic position (-1: none)."""
    from scipy import sparse

    binary = vocabulary.binary
    n_docs = binary.shape[0]  # type: ignore[attr-defined]
    if len(rows) != n_docs:
        raise ValueError(f"{len(rows)} topic assignments for {n_docs} documents: align them")
    if weights is not None and len(weights) != n_docs:
        raise ValueError(f"{len(weights)} weights for {n_docs} documents: align them")
    member_rows = np.flatnonzero(rows >= 0)
    counted = np.ones(len(member_rows)) if weights is None else np.asarray(weights, np.float64)[member_rows]
    member = sparse.csr_matrix((counted, (rows[member_rows], member_rows)), shape=(n_topics, n_docs))
    counts = np.asarray((member @ binary).todense(), dtype=np.float64)  # topics x words
    totals = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    word_totals = counts.sum(axis=0)
    mean_words = float(totals.mean()) if len(totals) else 0.0
    idf = np.log1p(np.divide(mean_words, word_totals, out=np.zeros_like(word_totals), where=word_totals > 0))
    return tf * idf


def top_columns(row: np.ndarray, top_n: int) -> list[int]:
    """Columns of the ``top_n`` positive scores, highest first, ties by column: a stable sort of the whole
    row, without sorting it (a topic model scores many cuts over large vocabularies)."""
    if top_n <= 0 or not len(row):
        return []
    threshold = np.partition(row, len(row) - top_n)[len(row) - top_n] if len(row) > top_n else row.min()
    found = np.flatnonzero((row >= threshold) & (row > 0))
    return [int(j) for j in found[np.lexsort((found, -row[found]))][:top_n]]
