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


def npmi(vocabulary: Vocabulary, topics: Sequence[Sequence[str]]) -> list[float]:
    """Mean pairwise NPMI of each topic's words (words absent from the documents score -1 with every other)."""
    binary = vocabulary.doc_terms.copy()  # type: ignore[attr-defined]
    binary.data = np.minimum(binary.data, 1.0)
    binary = binary.tocsc()
    n_docs = binary.shape[0]
    index = {w: i for i, w in enumerate(vocabulary.words)}
    scores: list[float] = []
    for words in topics:
        words = list(dict.fromkeys(words))
        if len(words) < 2:
            scores.append(float("nan"))
            continue
        cols = [index.get(w) for w in words]
        known = [c for c in cols if c is not None]
        co = np.zeros((len(words), len(words)))
        df = np.zeros(len(words))
        if known:
            sub = binary[:, known]
            block = (sub.T @ sub).toarray()
            at = [i for i, c in enumerate(cols) if c is not None]
            co[np.ix_(at, at)] = block
            df[at] = np.diag(block)
        pair_scores = []
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                joint = co[i, j] / n_docs
                if joint <= 0 or df[i] <= 0 or df[j] <= 0:
                    pair_scores.append(-1.0)
                    continue
                pmi = np.log(joint / ((df[i] / n_docs) * (df[j] / n_docs)))
                pair_scores.append(1.0 if joint >= 1.0 else float(pmi / -np.log(joint)))
        scores.append(float(np.mean(pair_scores)))
    return scores


def diversity(topics: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Distinct words / all words over every topic's ``top_n`` words (1.0: no word shared)."""
    words = [w for topic in topics for w in list(topic)[:top_n]]
    return len(set(words)) / len(words) if words else float("nan")
