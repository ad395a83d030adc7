"""Topic words: one tokenisation for labels and coherence, and class-based TF-IDF over topics.

A topic's words must read like what its posts say, so the document of a post is everything
postlens read from it: its text, OCR text, on-screen text, transcript and its images' labels.
Tokens are the tweet tokenizer's, lower-cased, with URLs, mentions, numbers, punctuation, emoji
and stop words (English plus the post's language) dropped and ``#tag`` read as ``tag``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def class_tfidf(vocabulary: Vocabulary, assignments: np.ndarray, topics: Sequence[int], *,
                top_n: int = 10) -> dict[int, list[tuple[str, float]]]:
    """Per topic, its ``top_n`` words by class-based TF-IDF (BERTopic's c-TF-IDF).

    Each topic's posts are one "class document"; a word scores by its share of the topic's words
    times ``log(1 + mean words per class / the word's count over all classes)``. Term counts are
    clipped at 1 per post so one long or repeated post cannot carry a topic's label.
    """
    from scipy import sparse

    matrix = vocabulary.doc_terms
    binary = matrix.copy()
    binary.data = np.minimum(binary.data, 1.0)
    topic_list = list(topics)
    position = {t: i for i, t in enumerate(topic_list)}
    rows = [i for i, t in enumerate(assignments) if int(t) in position]
    member = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), ([position[int(assignments[i])] for i in rows], rows)),
        shape=(len(topic_list), matrix.shape[0]),
    )
    counts = np.asarray((member @ binary).todense(), dtype=np.float64)  # topics x words
    totals = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    word_totals = counts.sum(axis=0)
    mean_words = float(totals.mean()) if len(totals) else 0.0
    idf = np.log1p(np.divide(mean_words, word_totals, out=np.zeros_like(word_totals), where=word_totals > 0))
    scores = tf * idf
    out: dict[int, list[tuple[str, float]]] = {}
    for topic, row in zip(topic_list, scores):
        order = np.argsort(-row, kind="stable")[:top_n]
        out[topic] = [(vocabulary.words[j], float(row[j])) for j in order if row[j] > 0]
    return out
