"""TextPreprocessor flags, sklearn compatibility, language-aware steps, language id."""

from __future__ import annotations

import pytest

from postlens.encoders.text.language import LanguageDetector, detect_language
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.encoders.text.stopwords import stop_words, supported_stop_word_languages

TWEET = "Soooo happy!!! 😂 #BostonStrong @bob see https://t.co/x 100 times :-) I don't care"


def test_default_tokens_apply_every_default_step() -> None:
    tokens = TextPreprocessor().fit([TWEET]).transform([TWEET])[0]
    assert tokens == [
        "soo",
        "happy",
        "!!!",
        "😂",
        "face_with_tears_of_joy",
        "boston",
        "strong",
        "<user>",
        "see",
        "<url>",
        "<num>",
        "times",
        ":-)",
        "i",
        "don't",
        "care",
    ]


def test_every_step_can_be_switched_off() -> None:
    off = TextPreprocessor(
        normalize=False,
        urls=False,
        mentions=False,
        numbers=False,
        hashtags="keep",
        emoji="keep",
        elongation=False,
        lowercase=False,
    )
    assert off.preprocess(TWEET) == TWEET
    assert TextPreprocessor.passthrough().get_params() == off.get_params()


def test_model_preset_keeps_case_and_numbers_and_spells_emoji() -> None:
    text = TextPreprocessor.for_models().preprocess(TWEET)
    assert text.startswith("Soo happy!!! face with tears of joy boston strong <user> see <url> 100 times")


def test_params_follow_sklearn_conventions() -> None:
    from sklearn.base import clone

    prep = TextPreprocessor(stem=True, hashtags="both")
    params = prep.get_params()
    assert params["stem"] is True and params["hashtags"] == "both"
    copy = clone(prep)
    assert copy.get_params() == params and copy is not prep
    prep.set_params(stem=False)
    assert prep.stem is False
    with pytest.raises(ValueError, match="known"):
        prep.set_params(stemming=True)
    fitted = TextPreprocessor(stopwords=True).fit(["This is an English sentence", "Ceci est une phrase"])
    assert fitted.language_counts_ == {"en": 1, "fr": 1}


def test_bad_modes_fail_with_the_choices() -> None:
    with pytest.raises(ValueError, match="segment"):
        TextPreprocessor(hashtags="split").fit(["x"])


def test_transform_survives_non_strings() -> None:
    assert TextPreprocessor().transform(["ok", None, 3]) == [["ok"], [], []]  # type: ignore[list-item]


def test_stopwords_lemmas_and_stems_follow_each_texts_language() -> None:
    prep = TextPreprocessor(stopwords=True, lemmatize=True, punctuation=False)
    english, french = prep.transform(
        ["The cats were running in the gardens 😂", "Les chats mangeaient dans les jardins de la maison"]
    )
    assert english == ["cat", "run", "garden", "😂", "face_with_tears_of_joy"]
    assert french[:2] == ["chat", "manger"] and "les" not in french
    stems = TextPreprocessor(stem=True, language="en").transform(["running connections"])[0]
    assert stems == ["run", "connect"]


NEGATIONS = {
    "en": {"not", "no", "never", "nor"},
    "fr": {"ne", "pas", "jamais", "non"},
    "de": {"nicht", "kein", "nie"},
    "es": {"no", "nunca"},
    "it": {"non", "mai"},
    "pt": {"não", "nunca"},
    "nl": {"niet", "geen", "nooit"},
}


def test_negations_are_not_stop_words() -> None:
    assert set(supported_stop_word_languages()) == set(NEGATIONS)
    for language, negations in NEGATIONS.items():
        assert not negations & stop_words(language), language
    assert stop_words("xx") == frozenset()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("This is clearly an English sentence about the weather", "en"),
        ("Ceci est une phrase en français sur la météo", "fr"),
        ("Das ist ein Satz auf Deutsch über das Wetter", "de"),
        ("مرحبا بكم في بيتي ونحن سعداء جدا", "ar"),
        ("שלום לכם חברים יקרים", "he"),
    ],
)
def test_language_detection(text: str, code: str) -> None:
    guess = LanguageDetector().detect(text)
    assert guess.code == code and 0.5 <= guess.confidence <= 1.0


@pytest.mark.parametrize("text", ["lol", "😂😂😂", "", "@bob https://t.co/x 123", "ok ok"])
def test_short_or_letterless_text_is_undetermined(text: str) -> None:
    assert detect_language(text).code == "und"


def test_language_detector_ignores_urls_and_mentions() -> None:
    guess = LanguageDetector().detect("@someone_english https://example.com/the/news Je suis très content aujourd'hui")
    assert guess.code == "fr"
