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


def npmi_columns(vocabulary: Vocabulary, topics: Sequence[Sequence[int | None]],
                 weights: np.ndarray | None = None) -> list[float]:
    """``npmi`` of topics given as vocabulary columns (None: a word the documents lack); one sparse
    product counts the co-occurrences of every topic's words at once."""
    binary = vocabulary.binary_columns
    n_rows = binary.shape[0]  # type: ignore[attr-defined]
    if weights is not None and len(weights) != n_rows:
        raise ValueError(f"{len(weights)} weights for {n_rows} documents: align them")
    n_docs = float(n_rows if weights is None else np.sum(weights))
    known = sorted({c for topic in topics for c in topic if c is not None})
    together = np.zeros((0, 0))
    if known and n_docs > 0:
        sub = binary[:, known]  # type: ignore[index]
        weighted = sub if weights is None else sub.multiply(np.asarray(weights, np.float64)[:, None]).tocsc()
        together = (sub.T @ weighted).toarray()
    position = {c: i for i, c in enumerate(known)}
    scores: list[float] = []
    for topic in topics:
        if len(topic) < 2:
            scores.append(float("nan"))
            continue
        at = np.array([position[c] if c is not None else -1 for c in topic])
        seen = at >= 0
        co = np.zeros((len(at), len(at)))
        co[np.ix_(seen, seen)] = together[np.ix_(at[seen], at[seen])]
        first, second = np.triu_indices(len(at), 1)
        joint = co[first, second] / max(n_docs, 1e-12)
        p_first, p_second = co[first, first] / max(n_docs, 1e-12), co[second, second] / max(n_docs, 1e-12)
        pair = np.full(len(joint), -1.0)
        seen_together = (joint > 0) & (p_first > 0) & (p_second > 0)
        pair[seen_together & (joint >= 1.0)] = 1.0
        rest = seen_together & (joint < 1.0)
        pair[rest] = np.log(joint[rest] / (p_first[rest] * p_second[rest])) / -np.log(joint[rest])
        scores.append(float(pair.mean()))
    return scores


def diversity(topics: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Distinct words / all words over every topic's ``top_n`` words (1.0: no word shared)."""
    words = [w for topic in topics for w in list(topic)[:top_n]]
    return len(set(words)) / len(words) if words else float("nan")
