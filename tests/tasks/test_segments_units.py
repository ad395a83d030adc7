"""The parts of segments that need no model: seed files, id bookkeeping, words, coherence, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.tasks.segments.cluster import TopicClusterer, adjusted_rand, fold_small
from postlens.tasks.segments.model import TopicModel, _stable_ids
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.quality import diversity, npmi
from postlens.tasks.segments.seeds import SeedSegmenter, parse_seed_topics, read_seed_topics
from postlens.tasks.segments.words import Vocabulary, class_tfidf, topic_tokens


def blobs(
    n_per: int = 60, centres: int = 4, dim: int = 32, spread: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim))
    y = np.repeat(np.arange(centres), n_per)
    x = means[y] + spread * rng.normal(size=(len(y), dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


# ------------------------------------------------------------------ seeds


def test_seed_files_in_every_accepted_shape(tmp_path: Path) -> None:
    assert [s.name for s in parse_seed_topics(["sports", "food"])] == ["sports", "food"]
    mapping = parse_seed_topics({"sports": "football and goals"})
    assert mapping[0].prompt() == "sports: football and goals"
    full = tmp_path / "topics.yaml"
    full.write_text("topics:\n  - name: tech\n    description: phones and software\n    keywords: [ai, app]\n")
    (seed,) = read_seed_topics(full)
    assert seed.prompt() == "tech: phones and software. ai, app"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("topics: []\n", "non-empty list"),
        ("- name: a\n- name: A\n", "unique"),
        ("- name: a\n  colour: red\n", "unknown keys ['colour']"),
        ("- {description: no name}\n", "non-empty name"),
        ("- name: [1, 2]\n", "name must be text"),
        ("topics: [\n", "not valid YAML"),
    ],
)
def test_bad_seed_files_say_what_and_where(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "seeds.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"seeds\.yaml") as caught:
        read_seed_topics(path)
    assert message in str(caught.value)


def test_seed_segmenter_follows_the_seeds_and_leaves_far_posts_out() -> None:
    x, y = blobs(centres=3)
    centres = np.stack([x[y == c].mean(0) for c in range(3)])
    seeds = centres + 0.5 * np.random.default_rng(1).normal(size=centres.shape) / np.sqrt(centres.shape[1])
    fitted = SeedSegmenter().fit(x, seeds)
    assert (fitted.labels_ == y).mean() > 0.95
    strict = SeedSegmenter(min_similarity=0.999).fit(x, seeds)
    assert (strict.labels_ == -1).all()


# ------------------------------------------------------------------ ids across fits


def test_first_fit_numbers_topics_by_size() -> None:
    ids, changes = _stable_ids(["a", "b", "c", "d"], np.array([1, 1, 1, 0]), 2, {}, 1)
    assert ids == {1: 1, 0: 2} and [c.event for c in changes] == ["created", "created"]


def test_refit_keeps_merges_and_splits_ids() -> None:
    posts = [f"p{i}" for i in range(12)]
    previous = {**{p: 5 for p in posts[:4]}, **{p: 7 for p in posts[4:8]}, **{p: 9 for p in posts[8:]}}
    # topics 5 and 7 come back as one cluster; topic 9 splits into two clusters
    labels = np.array([0] * 8 + [1, 1, 1, 2])
    ids, changes = _stable_ids(posts, labels, 3, previous, 10)
    events = {(c.event, c.topic_id, tuple(c.others)) for c in changes}
    assert ids[0] in (5, 7) and ids[1] == 9 and ids[2] == 10
    assert ("merged", 12 - ids[0], (ids[0],)) in events
    assert ("split", 10, (9,)) in events


def test_a_topic_whose_posts_are_gone_is_retired() -> None:
    _, changes = _stable_ids(["a", "b"], np.array([0, 0]), 1, {"a": 3, "b": 3, "gone": 4}, 5)
    assert ("retired", 4) in {(c.event, c.topic_id) for c in changes}


# ------------------------------------------------------------------ clustering


def test_clusterer_finds_separate_groups_and_folds_tiny_ones() -> None:
    x, y = blobs(centres=4)
    fitted = TopicClusterer(random_state=0).fit(x)
    assert fitted.n_topics_ == 4 and adjusted_rand(fitted.labels_, y) > 0.95
    labels, similarity = fitted.predict(np.vstack([x[:5], np.zeros((1, x.shape[1]))]))
    assert list(labels[:5]) == list(fitted.labels_[:5]) and labels[5] == -1 and np.isnan(similarity[5])
    folded = fold_small(np.array([0, 0, 1, 2]), np.eye(3)[[0, 0, 1, 2]] + 0.1, np.array([30.0, 30.0, 2.0, 40.0]), 10)
    assert folded.n_topics == 2


def test_model_saves_and_loads_without_pickle(tmp_path: Path) -> None:
    x, y = blobs(centres=3, dim=24)
    parts = PostParts.from_text_vectors([f"p{i}" for i in range(len(x))], x, texts=[f"word{c} common" for c in y])
    model = TopicModel()
    first = model.fit(parts)
    model.save(tmp_path / "m")
    again = TopicModel.load(tmp_path / "m").assign(parts)
    assert again.topics == first.topics
    assert not list(tmp_path.glob("**/*.pkl"))


# ------------------------------------------------------------------ words


def test_topic_tokens_keep_words_and_drop_noise() -> None:
    tokens = topic_tokens("RT @bbc: #CharlieHebdo attack in Paris!!! http://t.co/x 12 the of")
    assert tokens == ["charliehebdo", "attack", "paris"]
    assert "der" not in topic_tokens("der Anschlag in Paris", "de")


def test_topic_tokens_split_unspaced_scripts_into_bigrams() -> None:
    """Two different Japanese (and Chinese) sentences about one thing share words, as spaced scripts do."""
    first = topic_tokens("東京で強い地震がありました。皆さん大丈夫ですか")
    second = topic_tokens("余震に注意してください、地震速報")
    assert "地震" in first and "地震" in second and "東京" in first and "速報" in second
    assert not any(ch in token for token in first + second for ch in "でがにて")  # particles are grammar
    assert {"北京", "大雨", "交通"} <= set(topic_tokens("北京今天下大雨，交通堵塞"))
    assert topic_tokens("iPhone発売 Hello") == ["iphone", "発売", "hello"]


def test_class_tfidf_npmi_and_diversity() -> None:
    docs = [["goal", "match"]] * 5 + [["recipe", "dinner"]] * 5 + [["goal", "dinner"]]
    vocabulary = Vocabulary.build(docs, min_df=1)
    words = class_tfidf(vocabulary, np.array([1] * 5 + [2] * 5 + [1]), [1, 2], top_n=2)
    assert {w for w, _ in words[1]} == {"goal", "match"} and {w for w, _ in words[2]} == {"recipe", "dinner"}
    scores = npmi(vocabulary, [["goal", "match"], ["recipe", "match"]])
    assert scores[0] > 0.5 and scores[1] == -1.0
    assert diversity([["a", "b"], ["b", "c"]]) == 0.75
