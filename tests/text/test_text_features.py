"""Fitted and lexicon text features: VADER, TF-IDF, Word2Vec; per-item robustness."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from postlens.encoders.base import Encoder, cache_key
from postlens.encoders.text.lexicon import VaderEncoder
from postlens.encoders.text.tfidf import TfidfFeaturizer, with_ngrams
from postlens.encoders.text.word2vec import Word2VecFeaturizer
from postlens.errors import EncoderError
from postlens.types import Modality

HARD_ITEMS = {
    "emoji_only": "😂😂😂🔥",
    "very_long": "the game was great and the fans loved it " * 250,  # 10,250 characters
    "arabic": "مرحبا بكم في بيتي ونحن سعداء جدا بالمباراة",
    "hebrew": "שלום לכם חברים, המשחק היה נהדר",
    "mixed": "je suis so tired of this weather, vraiment 😩 #mondaymood",
    "empty": "",
}


def _corpus(size: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    happy = ["love", "great", "happy", "awesome", "joy"]
    sad = ["hate", "awful", "sad", "terrible", "angry"]
    things = ["game", "weather", "coffee", "movie", "team", "music"]
    out = []
    for i in range(size):
        mood = happy if i % 2 else sad
        out.append(
            f"I {rng.choice(mood)} this {rng.choice(things)} so much #{rng.choice(things).title()}Day "
            f"{rng.choice(['😂', '😡', '', ':-)'])} @fan{i} https://t.co/{i}"
        )
    return out


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return _corpus()


@pytest.fixture(scope="module")
def word2vec(corpus: list[str]) -> Word2VecFeaturizer:
    return Word2VecFeaturizer(vector_size=32, epochs=5, min_count=1).fit(corpus)


@pytest.fixture(scope="module")
def tfidf(corpus: list[str]) -> TfidfFeaturizer:
    return TfidfFeaturizer(min_df=1).fit(corpus)


def _encoders(word2vec: Word2VecFeaturizer, tfidf: TfidfFeaturizer) -> list[Encoder]:
    return [VaderEncoder(), tfidf, word2vec]


def test_vader_vector_and_label() -> None:
    positive, negative = VaderEncoder().encode(["I LOVE this so much!!! 😂", "this is awful and I hate it"])
    assert positive.vector is not None and positive.vector.shape == (4,) and positive.vector.dtype == np.float32
    assert positive.vector[3] > 0.5 and positive.info["sentiment"] == "positive"
    assert negative.vector is not None and negative.vector[3] < -0.5 and negative.info["sentiment"] == "negative"
    assert np.isclose(positive.vector[:3].sum(), 1.0, atol=0.01)


def test_tfidf_sparse_transform_and_dense_encode(tfidf: TfidfFeaturizer, corpus: list[str]) -> None:
    matrix = tfidf.transform(corpus[:5])
    assert matrix.shape == (5, tfidf.dim) and matrix.nnz > 0
    assert "game day" in tfidf.vocabulary_  # segmented hashtag bigram
    assert "face_with_tears_of_joy" in tfidf.vocabulary_
    feature = tfidf.encode([corpus[0]])[0]
    assert feature.vector is not None and np.allclose(feature.vector, matrix[0].toarray()[0])
    assert with_ngrams(["a", "b", "c"], (1, 2)) == ["a", "b", "c", "a b", "b c"]


def test_unfitted_featurizers_say_what_to_do() -> None:
    with pytest.raises(EncoderError, match="fit"):
        TfidfFeaturizer().encode(["x"])
    with pytest.raises(EncoderError, match="fit"):
        Word2VecFeaturizer().transform(["x"])


def test_word2vec_learns_neighbourhoods() -> None:
    rng = random.Random(1)
    groups = [["love", "great", "happy", "awesome", "joy"], ["hate", "awful", "sad", "terrible", "angry"]]
    texts = [" ".join(rng.choices(groups[i % 2], k=8)) for i in range(400)]
    featurizer = Word2VecFeaturizer(vector_size=16, epochs=20, workers=1, weighting="mean").fit(texts)
    love, great, awful = featurizer.transform(["love", "great joy", "awful sad"])
    assert float(love @ great) > float(love @ awful)
    assert np.isclose(np.linalg.norm(love), 1.0, atol=1e-5)  # rows are L2-normalised


@pytest.mark.parametrize("weighting", ["sif", "tfidf", "mean"])
def test_word2vec_weightings_and_unknown_words(corpus: list[str], weighting: str) -> None:
    featurizer = Word2VecFeaturizer(vector_size=16, epochs=2, weighting=weighting, workers=1).fit(corpus[:100])
    known, unknown = featurizer.encode(["love this game", "zzqx qqzv"])
    assert known.vector is not None and np.abs(known.vector).sum() > 0 and known.info["known_tokens"] == 3
    assert unknown.vector is not None and not unknown.vector.any() and unknown.info["known_tokens"] == 0


def test_word2vec_is_repeatable_with_one_worker(corpus: list[str]) -> None:
    first = Word2VecFeaturizer(vector_size=16, epochs=2, workers=1, seed=7).fit(corpus[:80])
    second = Word2VecFeaturizer(vector_size=16, epochs=2, workers=1, seed=7).fit(corpus[:80])
    assert np.allclose(first.vectors_, second.vectors_)
    assert first.version == second.version


def test_word2vec_save_load_round_trip(word2vec: Word2VecFeaturizer, tmp_path: Path) -> None:
    path = word2vec.save(tmp_path / "w2v.npz")
    loaded = Word2VecFeaturizer.load(path)
    texts = ["I love this game 😂", "terrible weather #MondayMood"]
    assert np.allclose(loaded.transform(texts), word2vec.transform(texts))
    assert loaded.version == word2vec.version and loaded.get_params()["vector_size"] == 32
    with pytest.raises(EncoderError, match="save"):
        Word2VecFeaturizer.load(tmp_path / "missing.npz")


def test_fitted_version_changes_with_training_corpus(corpus: list[str]) -> None:
    first = TfidfFeaturizer(min_df=1).fit(corpus[:50])
    second = TfidfFeaturizer(min_df=1).fit([*corpus[50:60], "brand new words here"])
    assert cache_key(first) != cache_key(second)


@pytest.mark.parametrize("case", sorted(HARD_ITEMS))
def test_hard_items_get_a_result_or_an_item_error(
    case: str, word2vec: Word2VecFeaturizer, tfidf: TfidfFeaturizer
) -> None:
    batch = ["a normal post about the game", HARD_ITEMS[case], "another normal post"]
    for encoder in _encoders(word2vec, tfidf):
        assert encoder.modality == Modality.TEXT
        features = encoder.encode(batch)
        assert len(features) == 3
        assert features[0].error is None and features[2].error is None, encoder.name
        middle = features[1]
        if case == "empty":
            assert middle.error is not None and middle.error.startswith("empty:") and middle.vector is None
        else:
            assert middle.error is None, (encoder.name, middle.error)
            assert middle.vector is not None and middle.vector.shape == (encoder.dim,)
            assert np.isfinite(middle.vector).all()


def test_non_string_items_fail_alone(word2vec: Word2VecFeaturizer, tfidf: TfidfFeaturizer) -> None:
    for encoder in _encoders(word2vec, tfidf):
        features = encoder.encode(["ok post", None, Path("/tmp/x.jpg")])  # type: ignore[list-item]
        assert features[0].error is None
        assert all(f.error and f.error.startswith("bad_input:") for f in features[1:])


def test_vader_reads_emoji_and_flags_truncation() -> None:
    emoji_only, long = VaderEncoder(max_chars=1000).encode([HARD_ITEMS["emoji_only"], HARD_ITEMS["very_long"]])
    assert emoji_only.vector is not None and emoji_only.vector[3] != 0.0  # VADER scores emoji itself
    assert long.info.get("truncated") is True


def test_encoders_pickle_without_their_models(tfidf: TfidfFeaturizer) -> None:
    import pickle

    vader = VaderEncoder(max_chars=123)
    vader.encode(["warm up the lexicon"])
    copy = pickle.loads(pickle.dumps(vader))
    assert copy.max_chars == 123 and copy.encode(["good"])[0].vector is not None
    tfidf_copy = pickle.loads(pickle.dumps(tfidf))
    assert tfidf_copy.version == tfidf.version
