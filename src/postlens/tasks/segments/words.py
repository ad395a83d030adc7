"""Topic words: one tokenisation for labels and coherence, and class-based TF-IDF over topics.

A topic's words must read like what its posts say, so the document of a post is everything
postlens read from it: its text, OCR text, on-screen text, transcript and its images' labels.
Tokens are the tweet tokenizer's, lower-cased, with URLs, mentions, numbers, punctuation, emoji
and stop words (English plus the post's language, guessed from its stop words when unknown)
dropped and ``#tag`` read as ``tag``. Chinese and Japanese are written without spaces, so a "word"
there is a whole clause that no other post repeats: runs of Han and kana become overlapping
character bigrams (the CJK bigram analysis of search engines), those with hiragana dropped as grammar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from postlens.encoders.text.language import UNDETERMINED
from postlens.encoders.text.stopwords import stop_words, supported_stop_word_languages
from postlens.encoders.text.tokenize import is_punctuation, tokenize_words

if TYPE_CHECKING:  # importing this module needs no scipy
    from scipy.sparse import csc_matrix, csr_matrix

MIN_TOKEN_CHARS = 2
MIN_STOP_HITS = 2
_UNSPACED = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
"""Runs of Hiragana, Katakana and Han (CJK ideographs): scripts written without spaces between words."""
_HIRAGANA = re.compile(r"[\u3040-\u309f]")
"""Japanese particles and endings (the, of, is ...): a bigram with one is grammar, not a topic's name."""


def topic_tokens(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` that can name a topic, in order (repeats kept)."""
    return list(_topic_tokens(text or "", language))


@lru_cache(maxsize=1 << 16)
def _topic_tokens(text: str, language: str | None) -> tuple[str, ...]:
    """Cached: a corpus repeats its texts (retweets) and a fit reads each text more than once."""
    words: list[str] = []
    for token in tokenize_words(text):
        word = token.lower()
        if word.startswith("#"):
            word = word[1:]
        if (
            len(word) < MIN_TOKEN_CHARS
            or word.startswith(("@", "http", "www.", "<"))
            or is_punctuation(word)
            or not any(ch.isalpha() for ch in word)
        ):
            continue
        if _UNSPACED.search(word):
            words.extend(_unspaced_tokens(word))
        else:
            words.append(word)
    stops = stop_words("en") | _stop_words_of(words, language)
    return tuple(w for w in words if w not in stops)


def _unspaced_tokens(word: str) -> Iterator[str]:
    """The spaced parts of ``word`` as words, and each Han/kana run as its character bigrams."""
    for part in _UNSPACED.split(word):
        if len(part) >= MIN_TOKEN_CHARS and any(ch.isalpha() for ch in part):
            yield part
    for run in _UNSPACED.findall(word):
        for start in range(max(1, len(run) - 1)):
            bigram = run[start : start + 2]
            if len(bigram) == 2 and not _HIRAGANA.search(bigram):
                yield bigram


def clear_token_cache() -> None:
    """Forget the cached tokens (a benchmark times each tool from a cold cache)."""
    _topic_tokens.cache_clear()


def _stop_words_of(words: list[str], language: str | None) -> frozenset[str]:
    """The post's own language's stop words; when it is unknown, those of the listed language whose
    stop words the post uses most (at least ``MIN_STOP_HITS`` and more than English ones): the
    classic stop-word language guess, which costs set look-ups instead of a language model."""
    if language and language not in ("en", UNDETERMINED):
        return stop_words(language)
    if language == "en":
        return frozenset()
    english = sum(w in stop_words("en") for w in words)
    best, hits = None, 0
    for code in supported_stop_word_languages():
        if code != "en":
            found = sum(w in stop_words(code) for w in words)
            if found > hits:
                best, hits = code, found
    return stop_words(best) if best is not None and hits >= MIN_STOP_HITS and hits > english else frozenset()


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> column; ``doc_terms`` is a sparse (docs x words) count matrix in CSR form."""

    words: list[str]
    doc_terms: csr_matrix

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], *, min_df: int = 2) -> Vocabulary:
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
    def binary(self) -> csr_matrix:
        """``doc_terms`` clipped at 1 (does the post use the word), CSR; computed once."""
        binary = self.doc_terms.copy()
        binary.data = np.minimum(binary.data, 1.0)
        return binary.tocsr()

    @cached_property
    def binary_columns(self) -> csc_matrix:
        """``binary`` in CSC form, for slicing words out of it."""
        return self.binary.tocsc()


def class_tfidf(
    vocabulary: Vocabulary,
    assignments: np.ndarray,
    topics: Sequence[int],
    *,
    top_n: int = 10,
    weights: np.ndarray | None = None,
) -> dict[int, list[tuple[str, float]]]:
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
    return {
        topic: [(vocabulary.words[j], float(row[j])) for j in top_columns(row, top_n)]
        for topic, row in zip(topic_list, scores)
    }


def class_tfidf_scores(
    vocabulary: Vocabulary, rows: np.ndarray, n_topics: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """(n_topics, words) c-TF-IDF scores; ``rows[i]`` is document i's topic position (-1: none)."""
    counts, idf = _class_counts(vocabulary, rows, n_topics, weights)
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64)
    dense = np.asarray(counts.todense(), dtype=np.float64)
    tf = np.divide(dense, totals, out=np.zeros_like(dense), where=totals > 0)
    return tf * idf


def class_tfidf_top(
    vocabulary: Vocabulary, rows: np.ndarray, n_topics: int, top_n: int, weights: np.ndarray | None = None
) -> list[list[int]]:
    """Per topic, ``top_columns`` of its ``class_tfidf_scores`` row, read from the words the topic uses
    only (a small topic uses few of the vocabulary's words; a cut is rated many times)."""
    counts, idf = _class_counts(vocabulary, rows, n_topics, weights)
    out: list[list[int]] = []
    for topic in range(n_topics):
        start, end = counts.indptr[topic], counts.indptr[topic + 1]
        columns, values = counts.indices[start:end], counts.data[start:end]
        total = float(values.sum())
        if total <= 0:
            out.append([])
            continue
        order = np.argsort(columns, kind="stable")  # ties are broken by column, as in the dense row
        columns, values = columns[order], values[order]
        out.append([int(columns[j]) for j in top_columns(values / total * idf[columns], top_n)])
    return out


def _class_counts(
    vocabulary: Vocabulary, rows: np.ndarray, n_topics: int, weights: np.ndarray | None
) -> tuple[csr_matrix, np.ndarray]:
    """(topics x words counts of the posts using each word, CSR; the words' c-TF-IDF idf)."""
    from scipy import sparse

    binary = vocabulary.binary
    n_docs = binary.shape[0]
    if len(rows) != n_docs:
        raise ValueError(f"{len(rows)} topic assignments for {n_docs} documents: align them")
    if weights is not None and len(weights) != n_docs:
        raise ValueError(f"{len(weights)} weights for {n_docs} documents: align them")
    member_rows = np.flatnonzero(rows >= 0)
    counted = np.ones(len(member_rows)) if weights is None else np.asarray(weights, np.float64)[member_rows]
    member = sparse.csr_matrix((counted, (rows[member_rows], member_rows)), shape=(n_topics, n_docs))
    counts = sparse.csr_matrix(member @ binary, dtype=np.float64)  # topics x words
    counts.eliminate_zeros()
    word_totals = np.asarray(counts.sum(axis=0), dtype=np.float64).reshape(-1)
    mean_words = float(counts.sum()) / n_topics if n_topics else 0.0
    idf = np.log1p(np.divide(mean_words, word_totals, out=np.zeros_like(word_totals), where=word_totals > 0))
    return counts, idf


def top_columns(row: np.ndarray, top_n: int) -> list[int]:
    """Columns of the ``top_n`` positive scores, highest first, ties by column: a stable sort of the whole
    row, without sorting it (a topic model scores many cuts over large vocabularies)."""
    if top_n <= 0 or not len(row):
        return []
    threshold = np.partition(row, len(row) - top_n)[len(row) - top_n] if len(row) > top_n else row.min()
    found = np.flatnonzero((row >= threshold) & (row > 0))
    return [int(j) for j in found[np.lexsort((found, -row[found]))][:top_n]]
