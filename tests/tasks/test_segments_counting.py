"""How segments count evidence: a repost cascade counts once, stop words follow the post's language,
identical vectors are placed once, and the fast paths give the same answers as the plain ones."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.tasks.segments.cluster import distinct_rows, group_sums
from postlens.tasks.segments.describe import describe_topics
from postlens.tasks.segments.model import distinct_weights, label_units, quality_scorer
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.quality import npmi_columns
from postlens.tasks.segments.words import Vocabulary, class_tfidf_scores, class_tfidf_top, top_columns, topic_tokens


def test_identical_documents_share_one_weight() -> None:
    docs = [["storm", "flood"], ["flood", "storm"], ["storm", "flood"], ["cat", "dog"]]
    assert distinct_weights(docs).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])


def test_a_repost_cascade_rates_a_cut_like_one_post() -> None:
    """Quality with the distinct weights over a corpus where one post was reposted 40 times equals the
    quality over the corpus holding it once: the cascade cannot make its topic look coherent."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    unique = [list(rng.choice(words, 4, replace=False)) for _ in range(60)]
    labels = rng.integers(0, 3, len(unique))
    reposted = unique + [unique[0]] * 40
    reposted_labels = np.concatenate([labels, np.full(40, labels[0])])
    once = quality_scorer(Vocabulary.build(unique, min_df=1))(labels, 3, None)
    plain = quality_scorer(Vocabulary.build(reposted, min_df=1))(reposted_labels, 3, None)
    counted_once = quality_scorer(Vocabulary.build(reposted, min_df=1), base_weights=distinct_weights(reposted))
    assert counted_once(reposted_labels, 3, None) == pytest.approx(once)
    assert plain != pytest.approx(once)


def test_stop_words_follow_the_language_guessed_from_them() -> None:
    spanish = "Las calles de Nueva York inundadas por el huracán"
    assert topic_tokens(spanish) == ["calles", "nueva", "york", "inundadas", "huracán"]
    # English text keeps "war" and "die" (German stop words) because its own stop words are more
    assert topic_tokens("the war is not over and they die in it") == ["war", "not", "die"]
    assert topic_tokens("Die Katze war in der Stadt", "de") == ["katze", "stadt"]
    assert topic_tokens("ℹ️ storm ✅ #Sandy 😱 http://t.co/x @who") == ["storm", "sandy"]


def test_class_tfidf_top_matches_the_dense_scores() -> None:
    rng = np.random.default_rng(1)
    docs = [list(rng.choice([f"w{i}" for i in range(40)], rng.integers(1, 6))) for _ in range(300)]
    vocabulary = Vocabulary.build(docs, min_df=2)
    for trial in range(20):
        k = int(rng.integers(2, 8))
        labels = rng.integers(-1, k, len(docs))
        weights = rng.random(len(docs)) if trial % 2 else None
        dense = class_tfidf_scores(vocabulary, labels, k, weights)
        assert class_tfidf_top(vocabulary, labels, k, 10, weights) == [top_columns(row, 10) for row in dense]


def test_npmi_scores_every_topic_at_once_like_one_at_a_time() -> None:
    docs = [["a", "b"], ["a", "b", "c"], ["c", "d"], ["d"], ["a"]]
    vocabulary = Vocabulary.build(docs, min_df=1)
    a, b, c, d = range(4)
    together = npmi_columns(vocabulary, [[a, b], [a, b, c, d, None], [c], []])
    one_by_one = [npmi_columns(vocabulary, [t])[0] for t in ([a, b], [a, b, c, d, None])]
    assert together[:2] == pytest.approx(one_by_one)
    assert np.isnan(together[2]) and np.isnan(together[3])
    assert together[0] == pytest.approx(np.log((2 / 5) / (3 / 5 * 2 / 5)) / -np.log(2 / 5))


def test_distinct_rows_and_group_sums() -> None:
    z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    first, which = distinct_rows(z)
    assert first.tolist() == [0, 1, 3] and which.tolist() == [0, 1, 0, 2, 1]
    np.testing.assert_array_equal(z[first][which], z)
    np.testing.assert_allclose(group_sums(which, z, 3), [[2.0, 0.0], [0.0, 2.0], [0.5, 0.5]])


def test_a_picture_reposted_with_many_captions_labels_its_topic_once() -> None:
    """Topic words count each post's own words, and what its media say once per distinct picture: 30
    posts of one OCR'd picture do not outvote what 10 people wrote."""
    captions = [f"flooded subway station photo {i}" for i in range(30)]
    texts = [f"{c}\nchar plea phone" for c in captions] + [f"flooded subway pumps working {i}" for i in range(10)]
    parts = PostParts(
        ids=[str(i) for i in range(40)],
        vectors={},
        masks={},
        labels=[[("fountain", 0.6)]] * 30 + [[]] * 10,
        texts=texts,
        media_texts=["char plea phone"] * 30 + [""] * 10,
    )
    assert parts.own_text(0) == "flooded subway station photo 0" and parts.own_text(35) == texts[35]
    documents, topics, weights = label_units(parts, np.ones(40, int))
    assert len(documents) == 70 and weights[topics == 1].sum() == pytest.approx(40 + 1)
    summary = describe_topics(parts, [1] * 40, np.ones(40), top_n=3)[1]
    assert [w for w, _ in summary.words] == ["flooded", "subway", "photo"]
    # the picture's words are still the topic's words when nothing else speaks for it
    alone = describe_topics(parts.subset(range(30)), [1] * 30, np.ones(30), top_n=10)[1]
    assert {"fountain", "char", "plea", "phone"} <= {w for w, _ in alone.words}
