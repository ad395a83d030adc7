"""The topic model: fused vectors -> topics with stable ids, words, representative posts; new posts later.

Topic ids are integers from 1, never reused. ``fit`` finds topics; given the assignments of an
earlier fit, it keeps an old topic's id for the new topic that took most of its posts and reports
merges and splits instead of renumbering. ``update`` places new posts without moving old ones:
a post close to a known topic joins it; posts far from every topic (and earlier outliers) are
clustered among themselves, and a group as tight as the known topics becomes a new topic.
Assignment and novelty are measured in the full sentence space (a new subject may be invisible
in the principal components of the old posts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postlens.encoders.bridge import normalise_rows
from postlens.models.threads import idle_threads, limited_threads, resolve_threads
from postlens.tasks.segments.cluster import Scorer, TopicClusterer, group_sums
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.quality import npmi_columns
from postlens.tasks.segments.space import EmbedTexts, SharedSpace
from postlens.tasks.segments.words import Vocabulary, class_tfidf_top, topic_tokens

FORMAT_VERSION = 1
NOVELTY_QUANTILE = 0.05
"""A new post is "novel" when further from its nearest topic than 95% of that topic's fitted posts."""
MAX_POOL = 3000


@dataclass
class Change:
    """One entry of the topic history: created | kept | merged | split | retired."""

    event: str
    topic_id: int
    others: list[int] = field(default_factory=list)
    posts: int = 0
    detail: str = ""


@dataclass
class Assignment:
    """Per post: topic id (None: outlier), cosine to its topic's nearest micro-cluster, whether it was novel."""

    ids: list[str]
    topics: list[int | None]
    scores: np.ndarray
    novel: np.ndarray
    changes: list[Change] = field(default_factory=list)


def post_documents(parts: PostParts) -> list[list[str]]:
    """Each post's words: all its text fields plus the names of its images' labels."""
    return [
        topic_tokens(text + "\n" + " ".join(name for name, _ in labels), language)
        for text, labels, language in zip(parts.texts, parts.labels, parts.languages)
    ]


def label_units(parts: PostParts, topics: np.ndarray) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """What topic labels count: (documents, topic per document, weight per document).

    A post gives its own words, and what its media say (OCR, on-screen text, transcript, image labels)
    as a second document; a topic counts each distinct media document once (weights 1/copies in the
    topic): a picture shared 500 times, its OCR text and its ImageNet labels, weigh like one picture in
    its topic's words, while each post's own words count as before.
    """
    documents: list[list[str]] = []
    rows: list[int] = []
    keys: list[object] = []
    for i, (labels, language) in enumerate(zip(parts.labels, parts.languages)):
        documents.append(topic_tokens(parts.own_text(i), language))
        rows.append(int(topics[i]))
        keys.append(("post", i))
        media = parts.media_texts[i] + "\n" + " ".join(name for name, _ in labels)
        if media.strip():
            documents.append(topic_tokens(media, language))
            rows.append(int(topics[i]))
            keys.append(("media", media))
    topic_of = np.asarray(rows, np.int64)
    group: dict[tuple[int, object], int] = {}
    which = np.array([group.setdefault((t, k), len(group)) for t, k in zip(topic_of, keys)], np.int64)
    weights = 1.0 / np.bincount(which, minlength=len(group))[which] if len(which) else np.zeros(0)
    return documents, topic_of, weights


def distinct_weights(documents: Sequence[Sequence[str]]) -> np.ndarray:
    """1 / (posts with the same words) per post: a repost cascade (a retweet, a picture shared 500 times
    with its OCR text) counts as one document, not as 500 perfect co-occurrences of its words."""
    group: dict[frozenset[str], int] = {}
    which = np.array([group.setdefault(frozenset(d), len(group)) for d in documents], np.int64)
    return 1.0 / np.bincount(which, minlength=len(group))[which] if len(which) else np.zeros(0)


def quality_scorer(vocabulary: Vocabulary, top_n: int = 10, base_weights: np.ndarray | None = None) -> Scorer:
    """NPMI coherence x diversity of the cut's c-TF-IDF words: the ``TopicClusterer`` scorer.

    ``base_weights`` counts each document that many times in every rating (``distinct_weights``:
    repeated documents once in all); a bootstrap's resample weights multiply them.
    """

    def score(labels: np.ndarray, n_topics: int, weights: np.ndarray | None = None) -> float:
        if base_weights is not None:
            weights = base_weights if weights is None else base_weights * weights
        top = class_tfidf_top(vocabulary, np.asarray(labels, np.int64), n_topics, top_n, weights)
        coherence = np.array(npmi_columns(vocabulary, top, weights))
        words = [c for t in top for c in t]
        spread = len(set(words)) / len(words) if words else float("nan")
        return float(np.nanmean(coherence)) * spread if np.isfinite(coherence).any() else float("nan")

    return score


class TopicModel:
    """fit(parts) / update(parts) / assign(parts); ``save``/``load`` as .npz + .json (no pickle)."""

    def __init__(
        self,
        *,
        n_topics: int | None = None,
        min_topic_size: int | None = None,
        top_n_words: int = 10,
        random_state: int = 0,
        embed_texts: EmbedTexts | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.n_topics = n_topics
        self.min_topic_size = min_topic_size
        self.top_n_words = top_n_words
        self.random_state = random_state
        self.embed_texts = embed_texts
        self.num_threads = num_threads

    def _threads(self) -> AbstractContextManager[int]:
        """BLAS / OpenMP threads for a fit: ``num_threads`` (None: the machine's cores) capped to the idle
        ones. The fit makes hundreds of small BLAS calls (k-means seeding, PCA, bridges); on a busy machine
        each one's thread team waits for a descheduled thread, measured 20x slower than one thread."""
        return limited_threads(idle_threads(resolve_threads(self.num_threads), window=0.1), torch_too=False)

    # ------------------------------------------------------------------ fitting

    def fit(self, parts: PostParts, previous: Mapping[str, int] | None = None, next_id: int = 1) -> Assignment:
        """Topics of ``parts``; ``previous`` (post id -> topic id of an earlier fit) keeps ids stable."""
        with self._threads():
            return self._fit(parts, previous, next_id)

    def _fit(self, parts: PostParts, previous: Mapping[str, int] | None, next_id: int) -> Assignment:
        self.space_ = SharedSpace(embed_texts=self.embed_texts).fit(parts)
        x = self.space_.transform(parts)
        documents = post_documents(parts)
        vocabulary = Vocabulary.build(documents, min_df=2)
        clusterer = TopicClusterer(
            n_topics=self.n_topics, min_topic_size=self.min_topic_size, random_state=self.random_state
        )
        scorer = quality_scorer(vocabulary, self.top_n_words, distinct_weights(documents))
        clusterer.fit(x, scorer if vocabulary.words else None)
        self.candidates_ = clusterer.candidates_
        self.min_size_ = clusterer.min_size_
        labels = clusterer.labels_
        ids, changes = _stable_ids(parts.ids, labels, clusterer.n_topics_, previous or {}, next_id)
        topic_of = np.array([ids[int(label)] if label >= 0 else 0 for label in labels])
        self._set_centroids(x, topic_of, clusterer)
        self.next_id_ = max([next_id - 1, *ids.values()]) + 1
        scores = self._scores(x, topic_of)
        known = scores[topic_of > 0]
        self.floor_ = float(np.min(known)) if len(known) else 0.0
        self.novelty_ = {t: float(np.quantile(scores[topic_of == t], NOVELTY_QUANTILE)) for t in self.topic_ids()}
        self.cohesion_ = {t: _pairwise(x[topic_of == t]) for t in self.topic_ids()}
        return Assignment(
            parts.ids, [int(t) if t > 0 else None for t in topic_of], scores, np.zeros(len(parts), bool), changes
        )

    def _set_centroids(self, x: np.ndarray, topic_of: np.ndarray, clusterer: TopicClusterer) -> None:
        """Micro-cluster centroids in the full space, each with its topic id."""
        z = clusterer.reduce(x)
        usable = topic_of > 0
        micro = np.argmax(z[usable] @ clusterer.micro_centroids_.T, axis=1)
        sums = group_sums(micro, x[usable], len(clusterer.micro_centroids_))
        owner = np.zeros(len(sums), int)
        owner[micro] = topic_of[usable]
        keep = np.linalg.norm(sums, axis=1) > 1e-12
        self.centroids_ = normalise_rows(sums[keep]).astype(np.float64)
        self.centroid_topic_ = owner[keep]

    def topic_ids(self) -> list[int]:
        return sorted({int(t) for t in self.centroid_topic_})

    # ------------------------------------------------------------------ new posts

    def assign(self, parts: PostParts) -> Assignment:
        """Nearest known topic for each post (no new topics, no state change); novel = far from all."""
        x = self.space_.transform(parts)
        topics, scores = self._nearest(x)
        novel = self._novel(topics, scores)
        return Assignment(parts.ids, [int(t) if t > 0 else None for t in topics], scores, novel)

    def update(self, parts: PostParts, pending: PostParts | None = None) -> Assignment:
        """Place new posts; cluster the novel ones with ``pending`` (earlier outliers) into new topics.

        Posts close to a topic join it. Novel posts (further from their nearest topic than 95% of its
        fitted posts) form a new topic when a group of at least the minimum topic size is as tight
        as the loosest known topic; other novel posts join their nearest topic unless they are
        further from it than every fitted post was (outliers).
        """
        combined = parts if pending is None or not len(pending) else _concat(parts, pending)
        x = self.space_.transform(combined)
        topics, scores = self._nearest(x)
        novel = self._novel(topics, scores)
        changes: list[Change] = []
        pool = np.flatnonzero(novel)
        if len(pool) >= max(2.0, self.min_size_):
            changes = self._new_topics(x, pool, topics, scores)
        created = {c.topic_id for c in changes if c.event == "created"}
        for row in np.flatnonzero(novel):
            if topics[row] not in created and scores[row] < self.floor_:
                topics[row] = 0
        return Assignment(combined.ids, [int(t) if t > 0 else None for t in topics], scores, novel, changes)

    def _new_topics(self, x: np.ndarray, pool: np.ndarray, topics: np.ndarray, scores: np.ndarray) -> list[Change]:
        """Average linkage over the novel posts, cut where a group stops being as tight (mean pairwise
        cosine) as the loosest known topic; each group of at least the minimum size is a new topic."""
        from scipy.cluster.hierarchy import fcluster, linkage

        if len(pool) > MAX_POOL:  # the most novel first: they are the likeliest members of a new subject
            pool = pool[np.argsort(scores[pool])[:MAX_POOL]]
        bar = min(self.cohesion_.values(), default=1.0)
        groups = fcluster(linkage(x[pool], method="average", metric="cosine"), t=1.0 - bar, criterion="distance")
        changes = []
        for group in np.unique(groups):
            members = pool[groups == group]
            if len(members) < self.min_size_:
                continue
            centre = normalise_rows(x[members].sum(0, keepdims=True))[0]
            topic_id = self.next_id_
            self.next_id_ += 1
            tightness = _pairwise(x[members])
            self.centroids_ = np.vstack([self.centroids_, centre[None, :]])
            self.centroid_topic_ = np.append(self.centroid_topic_, topic_id)
            self.cohesion_[topic_id] = tightness
            member_scores = x[members] @ centre
            self.novelty_[topic_id] = float(np.quantile(member_scores, NOVELTY_QUANTILE))
            topics[members] = topic_id
            scores[members] = member_scores
            changes.append(
                Change(
                    "created",
                    topic_id,
                    posts=len(members),
                    detail=f"{len(members)} posts far from every topic, mean similarity {tightness:.2f}",
                )
            )
        return changes

    def _novel(self, topics: np.ndarray, scores: np.ndarray) -> np.ndarray:
        limits = np.array([self.novelty_.get(int(t), np.inf) for t in topics])
        return np.isfinite(scores) & (scores < limits)

    def _nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        usable = np.linalg.norm(x, axis=1) > 1e-12
        topics = np.zeros(len(x), int)
        scores = np.full(len(x), np.nan)
        if usable.any():
            sims = x[usable] @ self.centroids_.T
            best = np.argmax(sims, axis=1)
            topics[usable] = self.centroid_topic_[best]
            scores[usable] = sims[np.arange(len(best)), best]
        return topics, scores

    def _scores(self, x: np.ndarray, topic_of: np.ndarray) -> np.ndarray:
        """Cosine of each post to the nearest micro-cluster of its own topic."""
        out = np.full(len(x), np.nan)
        for topic in self.topic_ids():
            rows = np.flatnonzero(topic_of == topic)
            if len(rows):
                out[rows] = np.max(x[rows] @ self.centroids_[self.centroid_topic_ == topic].T, axis=1)
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, folder: str | Path) -> Path:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        self.space_.save(target / "space")
        with open(target / "topics.npz", "wb") as handle:
            np.savez(handle, centroids=self.centroids_, centroid_topic=self.centroid_topic_)
        (target / "topics.json").write_text(
            json.dumps(
                {
                    "format_version": FORMAT_VERSION,
                    "novelty": {str(k): v for k, v in self.novelty_.items()},
                    "floor": self.floor_,
                    "min_size": self.min_size_,
                    "next_id": self.next_id_,
                    "cohesion": {str(k): v for k, v in self.cohesion_.items()},
                    "settings": {
                        "n_topics": self.n_topics,
                        "min_topic_size": self.min_topic_size,
                        "top_n_words": self.top_n_words,
                        "random_state": self.random_state,
                    },
                },
                indent=2,
                sort_keys=True,
            )
        )
        return target

    @classmethod
    def load(cls, folder: str | Path, *, embed_texts: EmbedTexts | None = None) -> TopicModel:
        source = Path(folder)
        meta = json.loads((source / "topics.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{source}: topic model format {meta.get('format_version')}, this postlens reads "
                f"{FORMAT_VERSION}; run 'postlens segments fit' again"
            )
        model = cls(**meta["settings"], embed_texts=embed_texts)
        model.space_ = SharedSpace.load(source / "space", embed_texts=embed_texts)
        with np.load(source / "topics.npz", allow_pickle=False) as data:
            model.centroids_ = data["centroids"].astype(np.float64)
            model.centroid_topic_ = data["centroid_topic"].astype(int)
        model.novelty_ = {int(k): float(v) for k, v in meta["novelty"].items()}
        model.floor_ = float(meta["floor"])
        model.min_size_ = float(meta["min_size"])
        model.next_id_ = int(meta["next_id"])
        model.cohesion_ = {int(k): float(v) for k, v in meta["cohesion"].items()}
        return model


def _stable_ids(
    post_ids: list[str], labels: np.ndarray, n_clusters: int, previous: Mapping[str, int], next_id: int
) -> tuple[dict[int, int], list[Change]]:
    """Cluster index -> topic id. Without history: ids by size, largest first. With it: each old topic's
    heir is the new cluster holding most of its posts; a cluster heir to several old topics keeps the
    largest one's id and the others are recorded as merged into it; a cluster heir to none gets a new id
    (a split when most of its posts come from one old topic)."""
    sizes = np.bincount(labels[labels >= 0], minlength=n_clusters)
    order = [int(c) for c in np.argsort(-sizes, kind="stable")]
    if not previous:
        ids = {c: next_id + i for i, c in enumerate(order)}
        return ids, [Change("created", ids[c], posts=int(sizes[c])) for c in order]
    overlap: dict[int, dict[int, int]] = {}
    for post_id, label in zip(post_ids, labels):
        old = previous.get(post_id)
        if old is not None and label >= 0:
            overlap.setdefault(old, {}).setdefault(int(label), 0)
            overlap[old][int(label)] += 1
    heirs: dict[int, list[int]] = {}
    for old, counts in overlap.items():
        heirs.setdefault(max(counts, key=lambda c: (counts[c], -c)), []).append(old)
    ids = {}
    changes: list[Change] = []
    fresh = max([next_id - 1, *previous.values()]) + 1
    for cluster in order:
        olds = sorted(heirs.get(cluster, []), key=lambda o: -sum(overlap[o].values()))
        if olds:
            ids[cluster] = olds[0]
            changes.append(Change("kept", olds[0], posts=int(sizes[cluster])))
            for other in olds[1:]:
                changes.append(
                    Change(
                        "merged",
                        other,
                        [olds[0]],
                        int(overlap[other][cluster]),
                        f"topic {other} merged into topic {olds[0]}",
                    )
                )
            continue
        ids[cluster] = fresh
        sources = {old: counts.get(cluster, 0) for old, counts in overlap.items() if counts.get(cluster, 0)}
        parent = max(sources, key=sources.get) if sources else None  # type: ignore[arg-type]
        if parent is not None and sources[parent] * 2 >= sizes[cluster]:
            changes.append(Change("split", fresh, [parent], int(sizes[cluster]), f"split from topic {parent}"))
        else:
            changes.append(Change("created", fresh, posts=int(sizes[cluster])))
        fresh += 1
    for old in sorted(
        set(previous.values()) - set(ids.values()) - {c.topic_id for c in changes if c.event == "merged"}
    ):
        changes.append(Change("retired", old, detail="none of its posts form a topic any more"))
    return ids, changes


def _pairwise(x: np.ndarray) -> float:
    """Mean cosine between two different posts of a group (unit rows), from the sum vector alone."""
    n = len(x)
    if n < 2:
        return 1.0
    total = x.sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def _concat(a: PostParts, b: PostParts) -> PostParts:
    names = sorted(set(a.vectors) | set(b.vectors))
    vectors, masks = {}, {}
    for name in names:
        va, vb = a.vectors.get(name), b.vectors.get(name)
        dim = max(v.shape[1] for v in (va, vb) if v is not None)
        pad = lambda v, n, dim=dim: v if v is not None and v.shape[1] == dim else np.zeros((n, dim), np.float32)  # noqa: E731
        vectors[name] = np.vstack([pad(va, len(a)), pad(vb, len(b))])
        masks[name] = np.concatenate(
            [
                a.has(name) if va is not None and va.shape[1] == dim else np.zeros(len(a), bool),
                b.has(name) if vb is not None and vb.shape[1] == dim else np.zeros(len(b), bool),
            ]
        )
    assert a.times is not None and b.times is not None
    return PostParts(
        ids=a.ids + b.ids,
        vectors=vectors,
        masks=masks,
        labels=a.labels + b.labels,
        texts=a.texts + b.texts,
        languages=a.languages + b.languages,
        times=np.concatenate([a.times, b.times]),
        media_texts=a.media_texts + b.media_texts,
    )
