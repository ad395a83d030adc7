"""String-level steps: unicode, placeholders, elongation, emoji names, hashtags, tokenizer."""

from __future__ import annotations

import pytest

from postlens.encoders.text.hashtags import camel_case_parts, rewrite_hashtags, segment_hashtag
from postlens.encoders.text.normalize import (
    emoji_name,
    normalize_unicode,
    reduce_elongation,
    replace_emoji,
    replace_mentions,
    replace_numbers,
    replace_urls,
)
from postlens.encoders.text.tokenize import is_punctuation, tokenize_tweet


def test_normalize_unicode_folds_width_invisible_chars_and_odd_spaces() -> None:
    text = "ＦＵＬＬ\u200bwidth\u00a0and\u2003𝐛𝐨𝐥𝐝 &amp; \ufeffdone\n\nnext"
    assert normalize_unicode(text) == "FULLwidth and bold & done next"


def test_normalize_unicode_keeps_zwj_emoji_sequences_and_drops_surrogates() -> None:
    family = "👨\u200d👩\u200d👧"
    assert normalize_unicode(f"a {family} b") == f"a {family} b"
    assert normalize_unicode("bad\ud800text") == "badtext"


def test_placeholders_replace_only_standalone_values() -> None:
    assert replace_urls("see https://t.co/abc?x=1 now").split() == ["see", "<url>", "now"]
    assert replace_urls("www.example.com/page").strip() == "<url>"
    assert replace_mentions("@bob_1 hi, mail me at a@b.com") == "<user> hi, mail me at a@b.com"
    assert replace_numbers("won 3 games, 1,000 fans at 10:30 in covid19 2nd") == (
        "won <num> games, <num> fans at <num> in covid19 2nd"
    )


def test_elongation_caps_letter_runs_at_two_and_keeps_digits() -> None:
    assert reduce_elongation("soooo goooood coffee 10000") == "soo good coffee 10000"


def test_emoji_names_merge_skin_tones_and_mark_flags() -> None:
    assert emoji_name("😂") == "face_with_tears_of_joy"
    assert emoji_name("👍🏽") == emoji_name("👍") == "thumbs_up"
    assert emoji_name("🇫🇷").startswith("flag_")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("both", "lol 😂 face_with_tears_of_joy"),
        ("name", "lol face_with_tears_of_joy"),
        ("words", "lol face with tears of joy"),
        ("drop", "lol"),
        ("keep", "lol 😂"),
    ],
)
def test_replace_emoji_modes(mode: str, expected: str) -> None:
    assert " ".join(replace_emoji("lol 😂", mode).split()) == expected


def test_replace_emoji_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="words"):
        replace_emoji("😂", "emojify")


def test_hashtags_camel_case_first_then_wordsegment() -> None:
    assert segment_hashtag("BostonStrong") == ("boston", "strong")
    assert segment_hashtag("bostonstrong") == ("boston", "strong")
    assert segment_hashtag("NYCMarathon") == ("nyc", "marathon")
    assert segment_hashtag("COVID19Vaccine") == ("covid", "19", "vaccine")
    assert camel_case_parts("first_world_probs") == ["first", "world", "probs"]


def test_hashtags_outside_ascii_are_kept_whole() -> None:
    assert segment_hashtag("étéchaud") == ("étéchaud",)
    assert segment_hashtag("مرحبا") == ("مرحبا",)


def test_rewrite_hashtags_modes() -> None:
    assert rewrite_hashtags("go #BostonStrong!", "segment") == "go boston strong!"
    assert rewrite_hashtags("go #BostonStrong", "both") == "go #BostonStrong boston strong"
    assert rewrite_hashtags("go #BostonStrong", "drop").strip() == "go"
    assert rewrite_hashtags("AT&T #1 fan", "segment") == "AT&T 1 fan"


def test_tokenizer_keeps_social_units_whole() -> None:
    tokens = tokenize_tweet("I don't like it :-) #BostonStrong @bob_1 http://t.co/abc, yes!!! <url>")
    assert tokens == [
        "I",
        "don't",
        "like",
        "it",
        ":-)",
        "#BostonStrong",
        "@bob_1",
        "http://t.co/abc",
        ",",
        "yes",
        "!!!",
        "<url>",
    ]


def test_tokenizer_emoji_emoticons_and_scripts() -> None:
    tokens = tokenize_tweet("ok 😂😂 👨\u200d👩\u200d👧 🇫🇷 👍🏽 XD <3 ;) مَرحبا नमस्ते 3.14")
    assert tokens == ["ok", "😂", "😂", "👨\u200d👩\u200d👧", "🇫🇷", "👍🏽", "XD", "<3", ";)", "مَرحبا", "नमस्ते", "3.14"]


def test_tokenizer_does_not_eat_words_as_emoticons() -> None:
    assert tokenize_tweet("Mood: happy") == ["Mood", ":", "happy"]
    assert tokenize_tweet("") == []


def test_is_punctuation_spares_emoji_emoticons_and_placeholders() -> None:
    assert is_punctuation("!!!") and is_punctuation(",") and is_punctuation("...")
    assert not any(is_punctuation(t) for t in ["😂", ":-)", "<url>", "word", "❤️"])
