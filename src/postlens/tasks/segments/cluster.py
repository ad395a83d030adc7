"""Topics as groups of micro-clusters: PCA -> spherical k-means micro-clusters -> average linkage -> one cut.

Why not UMAP + HDBSCAN: both are slow on two cores and HDBSCAN calls a quarter of a news corpus
"noise". Here every post belongs to a micro-cluster (~10 posts each) and micro-clusters are
joined by average linkage on their centroids' cosine distance, so a topic may have any shape and
size; groups under ``min_topic_size`` posts are folded into the nearest topic, never dropped.

Where to cut is measured on the corpus itself, without labels. Each candidate number of topics k
gets (a) a stability: the mean adjusted Rand index between cuts made from micro-clusters redrawn
on resampled posts, and (b) when the posts' words are given, a topic quality: the NPMI coherence
of each topic's class-TF-IDF words times their diversity (Dieng et al. 2020), which falls when
topics are split into near-copies. The cut is the best quality among reproducible cuts
(stability >= ``min_stability``); without words, the finest cut with stability >= ``stability``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from postlens.encoders.bridge import normalise_rows

MAX_MICRO = 200
POSTS_PER_MICRO = 10
STABLE = 0.95
MIN_STABILITY = 0.8
BOOTSTRAP = 10
TIE = 1.0
"""Quality gaps under TIE bootstrap standard deviations are ties."""
FAR = 2.5
"""Cuts rated further below the best than FAR times the widest noise measured so far are not
resampled (in order of quality): they cannot be ties, and resampling every cut is most of the fit."""
Scorer = Callable[[np.ndarray, int, "np.ndarray | None"], float]
"""(topic index per row of x, -1 where the row has no vector; number of topics; how many times each
row counts, None: once) -> quality, higher is better."""


@dataclass(frozen=True)
class Partition:
    """One cut of the micro-clusters into topics: micro-cluster -> topic index (0..n_topics-1)."""

    micro_topic: np.ndarray
    n_topics: int


def fit_pca(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components (k, d)) from the covariance's eigenvectors: d is small (384), n may be large."""
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / max(1, len(x) - 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][: min(n_components, x.shape[1])]
    return mean, vectors[:, order].T.copy()


def spherical_kmeans(z: np.ndarray, k: int, *, seed: int) -> np.ndarray:
    """Unit centroids (k, d) of unit rows ``z``: k-means on the sphere (Euclidean on unit rows ranks
    like cosine), centroids projected back onto it; sklearn's compiled Lloyd loop, one run.
    Identical rows (retweets, one picture posted many times) are one weighted row."""
    import warnings

    from sklearn.cluster import KMeans, kmeans_plusplus
    from sklearn.exceptions import ConvergenceWarning

    rows, which = distinct_rows(z)
    counts = np.bincount(which, minlength=len(rows)).astype(np.float64)
    with warnings.catch_warnings():  # duplicate posts: fewer distinct centroids than asked, which is fine
        warnings.simplefilter("ignore", ConvergenceWarning)
        n_clusters = max(1, min(k, len(rows)))
        # plain k-means++ seeding (one candidate per centre): sklearn's greedy default tries ~2 + log k
        # candidates per centre, most of the fit's time for 200 micro-clusters, for little gain at this size
        start, _ = kmeans_plusplus(z[rows], n_clusters, sample_weight=counts, n_local_trials=1, random_state=seed)
        model = KMeans(n_clusters=n_clusters, init=start, n_init=1, max_iter=100, random_state=seed)
        model.fit(z[rows], sample_weight=counts)
    return normalise_rows(model.cluster_centers_).astype(np.float64)


def distinct_rows(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct row, which distinct row each row is): ``z[first][which] == z``.
    Rows are grouped by their bytes, far cheaper than ``np.unique(axis=0)`` on wide rows."""
    group: dict[bytes, int] = {}
    first: list[int] = []
    which = np.empty(len(z), np.int64)
    for row, vector in enumerate(np.ascontiguousarray(z)):
        at = group.setdefault(vector.tobytes(), len(first))
        if at == len(first):
            first.append(row)
        which[row] = at
    return np.asarray(first, np.int64), which


def cut_partitions(
    centroids: np.ndarray, sizes: np.ndarray, max_topics: int, min_topic_size: float
) -> dict[int, Partition]:
    """For each k in 1..max_topics: the average-linkage cut into k groups, small groups folded away."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(centroids) < 2:
        return {1: Partition(np.zeros(len(centroids), int), 1)}
    tree = linkage(centroids, method="average", metric="cosine")
    out: dict[int, Partition] = {}
    for k in range(1, min(max_topics, len(centroids)) + 1):
        out[k] = fold_small(fcluster(tree, k, criterion="maxclust") - 1, centroids, sizes, min_topic_size)
    return out


def fold_small(groups: np.ndarray, centroids: np.ndarray, sizes: np.ndarray, min_size: float) -> Partition:
    """Fold each group under ``min_size`` posts, smallest first, into the group whose centroid is nearest."""
    ids, groups = np.unique(groups, return_inverse=True)
    groups = groups.reshape(-1).copy()
    sums = group_sums(groups, centroids * sizes[:, None], len(ids))
    totals = np.bincount(groups, weights=sizes, minlength=len(ids)).astype(float)
    alive = np.ones(len(ids), bool)
    while alive.sum() > 1:
        small = int(np.argmin(np.where(alive, totals, np.inf)))
        if totals[small] >= min_size:
            break
        means = normalise_rows(sums)
        scores = means @ means[small]
        scores[~alive] = -np.inf
        scores[small] = -np.inf
        target = int(np.argmax(scores))
        sums[target] += sums[small]
        totals[target] += totals[small]
        alive[small] = False
        groups[groups == small] = target
    _, dense = np.unique(groups, return_inverse=True)
    dense = dense.reshape(-1)
    return Partition(dense, int(dense.max()) + 1)


def group_sums(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, d) sums of the rows of ``values`` per group (``np.add.at`` without its slow loop)."""
    from scipy import sparse

    groups = np.asarray(groups, np.int64).reshape(-1)
    member = sparse.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups)))
    return np.asarray(member @ np.asarray(values, np.float64))


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index from the contingency table (1: the same partition, ~0: unrelated)."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    rows, cols = int(ai.max()) + 1, int(bi.max()) + 1
    table = np.bincount(ai.reshape(-1) * cols + bi.reshape(-1), minlength=rows * cols).reshape(rows, cols).astype(float)
    pairs = lambda x: x * (x - 1) / 2  # noqa: E731
    index = pairs(table).sum()
    rows, cols, total = pairs(table.sum(1)).sum(), pairs(table.sum(0)).sum(), pairs(len(a))
    expected = rows * cols / total if total else 0.0
    top = (rows + cols) / 2
    return 1.0 if top == expected else float((index - expected) / (top - expected))


@dataclass(frozen=True)
class Candidate:
    """What was measured for one number of topics.

    quality_sd  the spread of (best quality - this cut's quality) over bootstrap resamples of the
                posts (0 for the best cut itself; None when not rated, or rated far below the best and
                not resampled): a smaller gap is noise
    """

    k: int
    n_topics: int
    stability: float | None
    quality: float | None
    quality_sd: float | None = None


class TopicClusterer:
    """sklearn-style: ``fit(x, scorer=None)`` on unit rows (n, d); learned state ends in ``_``.

    n_topics        a fixed number of topics, or None to choose it (see the module docstring)
    min_topic_size  posts below which a group is folded into its nearest topic (None: max(10, n / 500))
    runs            cuts compared for stability (the first on all posts, the others on ``subsample``)
    bootstrap       resamples of the posts that measure how much a quality difference is noise
    """

    def __init__(
        self,
        *,
        n_topics: int | None = None,
        min_topic_size: int | None = None,
        n_components: int = 50,
        max_topics: int = 60,
        runs: int = 3,
        subsample: float = 0.8,
        stable: float = STABLE,
        min_stability: float = MIN_STABILITY,
        bootstrap: int = BOOTSTRAP,
        random_state: int = 0,
    ) -> None:
        self.n_topics = n_topics
        self.min_topic_size = min_topic_size
        self.n_components = n_components
        self.max_topics = max_topics
        self.runs = runs
        self.subsample = subsample
        self.stable = stable
        self.min_stability = min_stability
        self.bootstrap = bootstrap
        self.random_state = random_state

    def fit(self, x: np.ndarray, scorer: Scorer | None = None) -> TopicClusterer:
        """``scorer(labels, n_topics, weights)`` rates a candidate cut (e.g. coherence x diversity of its words)."""
        x = np.asarray(x, np.float64)
        usable = np.linalg.norm(x, axis=1) > 1e-12
        if usable.sum() < 2:
            raise ValueError(f"need at least 2 posts with a vector to find topics, got {int(usable.sum())}")
        self.mean_, self.components_ = fit_pca(x[usable], self.n_components)
        z = self.reduce(x[usable])
        n = len(z)
        self.min_size_ = float(self.min_topic_size if self.min_topic_size is not None else max(10, n / 500))
        n_micro = int(min(MAX_MICRO, max(2, n // POSTS_PER_MICRO)))
        max_topics = int(min(self.max_topics, max(1, n_micro // 2)))
        if self.n_topics is not None:
            max_topics = min(max(1, int(self.n_topics)), n_micro)
        rng = np.random.default_rng(self.random_state)
        runs: list[tuple[np.ndarray, dict[int, Partition]]] = []
        for run in range(1 if self.n_topics is not None else max(1, self.runs)):
            rows = np.arange(n) if run == 0 else np.flatnonzero(rng.random(n) < self.subsample)
            centroids = spherical_kmeans(z[rows], n_micro, seed=self.random_state + run)
            micro = np.argmax(z @ centroids.T, axis=1)
            sizes = np.bincount(micro, minlength=len(centroids)).astype(float)
            centroids, sizes = centroids[sizes > 0], sizes[sizes > 0]
            micro = np.argmax(z @ centroids.T, axis=1)
            runs.append((micro, cut_partitions(centroids, sizes, max_topics, self.min_size_)))
            if run == 0:
                self.micro_centroids_ = centroids
        micro0, partitions = runs[0]
        self.candidates_ = self._measure(runs, scorer if self.n_topics is None else None, usable)
        partition = partitions[self._choose()]
        self.micro_topic_ = partition.micro_topic
        self.n_topics_ = partition.n_topics
        self.labels_ = np.full(len(x), -1)
        self.labels_[usable] = self.micro_topic_[micro0]
        self.similarity_ = np.full(len(x), np.nan)
        self.similarity_[usable] = np.max(z @ self.micro_centroids_.T, axis=1)
        return self

    def _measure(
        self, runs: list[tuple[np.ndarray, dict[int, Partition]]], scorer: Scorer | None, usable: np.ndarray
    ) -> list[Candidate]:
        """Stability of every cut; quality (and its noise) of the reproducible ones (all when none is),
        once per topic count. The scorer sees one label per row of ``x`` (-1: no vector)."""
        micro0, partitions = runs[0]
        stability: dict[int, float | None] = {}
        for k in partitions:
            labelings = [part[k].micro_topic[micro] for micro, part in runs if k in part]
            pairs = [adjusted_rand(a, b) for i, a in enumerate(labelings) for b in labelings[i + 1 :]]
            stability[k] = float(np.mean(pairs)) if pairs else None
        reproducible = {k for k, s in stability.items() if s is None or s >= self.min_stability}
        to_rate = reproducible if any(partitions[k].n_topics > 1 for k in reproducible) else set(partitions)
        rated: dict[int, np.ndarray] = {}
        seen: set[int] = set()
        for k, partition in partitions.items():
            if scorer is not None and k in to_rate and partition.n_topics > 1 and partition.n_topics not in seen:
                labels = np.full(len(usable), -1)
                labels[usable] = partition.micro_topic[micro0]
                rated[k] = labels
                seen.add(partition.n_topics)
        quality = {k: float(scorer(labels, partitions[k].n_topics, None)) for k, labels in rated.items()}  # type: ignore[misc]
        spread = self._quality_noise(rated, partitions, quality, scorer, stability)
        return [Candidate(k, p.n_topics, stability[k], quality.get(k), spread.get(k)) for k, p in partitions.items()]

    def _quality_noise(
        self,
        rated: dict[int, np.ndarray],
        partitions: dict[int, Partition],
        quality: dict[int, float],
        scorer: Scorer | None,
        stability: dict[int, float | None],
    ) -> dict[int, float]:
        """Per rated cut, the standard deviation over bootstrap resamples of the posts of its quality gap
        to the best cut (paired: every cut is scored on the same resamples). Cuts are resampled in order
        of quality until one is further below the best than ``FAR`` times the widest spread so far."""
        finite = {k: q for k, q in quality.items() if np.isfinite(q)}
        if scorer is None or not finite or self.bootstrap < 2:
            return {}
        pool = {k for k in finite if (s := stability[k]) is None or s >= self.min_stability} or set(finite)
        best = max(pool, key=lambda k: (finite[k], -k))
        n_rows = len(next(iter(rated.values())))
        rng = np.random.default_rng([self.random_state, 1])
        weights = rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=self.bootstrap).astype(np.float64)
        draw = lambda k: np.array([scorer(rated[k], partitions[k].n_topics, w) for w in weights])  # noqa: E731
        draws = {best: draw(best)}
        spread = {best: 0.0}
        widest = 0.0
        for k in sorted(finite, key=lambda k: (-finite[k], k)):
            if k == best:
                continue
            if widest > 0 and finite[best] - finite[k] > FAR * widest:
                break  # this cut and every worse one are far outside the noise seen so far: not ties
            draws[k] = draw(k)
            spread[k] = float(np.nanstd(draws[best] - draws[k]))
            widest = max(widest, spread[k])
        self.quality_draws_ = draws
        return spread

    def _choose(self) -> int:
        if self.n_topics is not None:
            return max(c.k for c in self.candidates_)
        several = [c for c in self.candidates_ if c.n_topics > 1] or self.candidates_
        stable = lambda c, bar: c.stability is None or c.stability >= bar  # noqa: E731
        rated = [c for c in several if c.quality is not None and np.isfinite(c.quality)]
        if rated:
            pool = [c for c in rated if stable(c, self.min_stability)] or rated
            best = max(pool, key=lambda c: (c.quality, -c.k))
            tied = [c for c in pool if best.quality - c.quality <= TIE * (c.quality_sd or 0.0)]  # type: ignore[operator]
            return max(tied, key=lambda c: (stable(c, self.stable), c.n_topics, -c.k)).k
        finest = [c for c in several if stable(c, self.stable)]
        if finest:
            return max(c.k for c in finest)
        return max(several, key=lambda c: (c.stability or 0.0, c.k)).k

    def reduce(self, x: np.ndarray) -> np.ndarray:
        """Unit rows in the PCA space (zero rows stay zero)."""
        return normalise_rows((np.asarray(x, np.float64) - self.mean_) @ self.components_.T).astype(np.float64)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(topic index, cosine to the nearest micro-cluster) per row; -1 and NaN for zero rows."""
        x = np.asarray(x, np.float64)
        usable = np.linalg.norm(x, axis=1) > 1e-12
        labels = np.full(len(x), -1)
        similarity = np.full(len(x), np.nan)
        if usable.any():
            scores = self.reduce(x[usable]) @ self.micro_centroids_.T
            nearest = np.argmax(scores, axis=1)
            labels[usable] = self.micro_topic_[nearest]
            similarity[usable] = scores[np.arange(len(nearest)), nearest]
        return labels, similarity
