"""How readable a set of topics is, from the corpus alone: NPMI coherence and topic diversity.

NPMI (Bouma 2009) of two words is log(P(a,b) / (P(a) P(b))) / -log P(a,b) with probabilities of
appearing in the same post; pairs that never co-occur score -1. A topic's coherence is the mean
over the pairs of its top words; diversity is the share of distinct words among all topics' top
words (Dieng et al. 2020). Both use ``Vocabulary`` documents, so any tool's topic words can be
scored with exactly the same tokenisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from postlens.tasks.segments.words import Vocabulary


def npmi(vocabulary: Vocabulary, topics: Sequence[Sequence[str]], weights: np.ndarray | None = None) -> list[float]:
    """Mean pairwise NPMI of each topic's words (words absent from the documents score -1 with every other).

    ``weights`` counts each document that many times (a bootstrap resample; None: once each).
    """
    index = {w: i for i, w in enumerate(vocabulary.words)}
    return npmi_columns(vocabulary, [[index.get(w) for w in dict.fromkeys(words)] for words in topics], weights)


def npmi_columns(
    vocabulary: Vocabulary, topics: Sequence[Sequence[int | None]], weights: np.ndarray | None = None
) -> list[float]:
    """``npmi`` of topics given as vocabulary columns (None: a word the documents lack); one sparse
    product counts the co-occurrences of every topic's words at once."""
    binary = vocabulary.binary_columns
    n_rows = binary.shape[0]
    if weights is not None and len(weights) != n_rows:
        raise ValueError(f"{len(weights)} weights for {n_rows} documents: align them")
    n_docs = float(n_rows if weights is None else np.sum(weights))
    known = sorted({c for topic in topics for c in topic if c is not None})
    together = np.zeros((0, 0))
    if known and n_docs > 0:
        sub = binary[:, known].tocsr()
        weighted = sub
        if weights is not None:  # scale each stored entry by its row's weight: no sparse re-layout
            weighted = sub.astype(np.float64)
            weighted.data *= np.repeat(np.asarray(weights, np.float64), np.diff(weighted.indptr))
        together = (sub.T.tocsr() @ weighted).toarray()
    position = {c: i for i, c in enumerate(known)}
    width = max((len(topic) for topic in topics), default=0)
    at = np.full((len(topics), width), -1, np.int64)  # -1: padding, or a word the documents lack
    for row, topic in enumerate(topics):
        at[row, : len(topic)] = [position[c] if c is not None else -1 for c in topic]
    lengths = np.array([len(topic) for topic in topics], np.int64)
    seen = at >= 0
    safe = np.where(seen, at, 0)
    co = together[safe[:, :, None], safe[:, None, :]] if together.size else np.zeros((len(topics), width, width))
    co = np.where(seen[:, :, None] & seen[:, None, :], co, 0.0)  # all topics' pairs at once
    first, second = np.triu_indices(width, 1)
    total = max(n_docs, 1e-12)
    joint = co[:, first, second] / total
    p_first, p_second = co[:, first, first] / total, co[:, second, second] / total
    pair = np.full(joint.shape, -1.0)
    seen_together = (joint > 0) & (p_first > 0) & (p_second > 0)
    pair[seen_together & (joint >= 1.0)] = 1.0
    rest = seen_together & (joint < 1.0)
    pair[rest] = np.log(joint[rest] / (p_first[rest] * p_second[rest])) / -np.log(joint[rest])
    real = second[None, :] < lengths[:, None]  # pairs of the topic's own words, not padding
    counted = real.sum(axis=1)
    means = np.divide((pair * real).sum(axis=1), counted, out=np.full(len(topics), np.nan), where=counted > 0)
    return [float(m) if n >= 2 else float("nan") for m, n in zip(means, lengths)]


def diversity(topics: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Distinct words / all words over every topic's ``top_n`` words (1.0: no word shared)."""
    words = [w for topic in topics for w in list(topic)[:top_n]]
    return len(set(words)) / len(words) if words else float("nan")
