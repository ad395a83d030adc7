"""String-level clean-up steps for social text, each usable on its own.

Every function takes and returns ``str`` so that :class:`TextPreprocessor` can switch them on and
off independently. Placeholders (``<url>``, ``<user>``, ``<num>``) replace tokens whose exact value
carries little meaning but whose presence does (a link, a reply, a figure).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

URL_TOKEN = "<url>"
USER_TOKEN = "<user>"
NUMBER_TOKEN = "<num>"
PLACEHOLDERS = frozenset({URL_TOKEN, USER_TOKEN, NUMBER_TOKEN})

# Invisible characters that split or glue words for no reason. ZWJ (U+200D) and ZWNJ (U+200C) are
# kept: ZWJ builds emoji sequences (family, professions) and ZWNJ is spelling in Persian and Indic.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SURROGATE_OR_CONTROL = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANY_SPACE = re.compile(r"\s+")  # str.split semantics: NBSP, U+2000-200A, U+202F, U+3000, tabs, newlines

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w{1,30}\b")
_NUMBER = re.compile(r"(?<![\w<])\d+(?:[.,:]\d+)*(?![\w>])")
# Runs of 3+ identical letters: "soooo" -> "soo". Two are kept (not one) so that real double letters
# survive ("good", "cool", "coffee") and the elongated form stays distinct from the plain word.
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")
_NON_WORD = re.compile(r"\W+")


def normalize_unicode(text: str) -> str:
    """NFKC (full-width, math-bold letters, ligatures -> plain), HTML entities, invisible chars, one space."""
    text = html.unescape(text) if "&" in text else text
    text = _SURROGATE_OR_CONTROL.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _ANY_SPACE.sub(" ", text).strip()


def replace_urls(text: str, token: str = URL_TOKEN) -> str:
    return _URL.sub(f" {token} ", text)


def replace_mentions(text: str, token: str = USER_TOKEN) -> str:
    return _MENTION.sub(token, text)


def replace_numbers(text: str, token: str = NUMBER_TOKEN) -> str:
    """Stand-alone figures only: ``covid19``, ``2nd`` and ``4u`` stay words."""
    return _NUMBER.sub(token, text)


def reduce_elongation(text: str) -> str:
    """Cap letter repeats at two: ``soooo`` -> ``soo``, ``looooove`` -> ``loove``; digits untouched."""
    return _ELONGATED.sub(r"\1\1", text)


def collapse_spaces(text: str) -> str:
    return _ANY_SPACE.sub(" ", text).strip()


@lru_cache(maxsize=8192)
def emoji_name(chars: str) -> str:
    """``"😂"`` -> ``"face_with_tears_of_joy"``; skin tones dropped so 👍🏽 and 👍 share one name."""
    import emoji

    base = _SKIN_TONES.sub("", chars) or chars
    name = emoji.demojize(base, delimiters=("", ""))
    if name == base:  # not in the emoji database (e.g. a lone modifier)
        return "emoji"
    name = _NON_WORD.sub("_", name).strip("_").lower()
    if all("\U0001f1e6" <= ch <= "\U0001f1ff" for ch in base):
        name = f"flag_{name}"
    return name or "emoji"


EMOJI_MODES = ("keep", "name", "both", "words", "drop")


def replace_emoji(text: str, mode: str = "both") -> str:
    """Rewrite emoji: ``keep`` as is, ``name`` (one token), ``both`` (emoji then name), ``words``
    (name as plain words, for pretrained language models), ``drop``."""
    if mode == "keep":
        return text
    if mode not in EMOJI_MODES:
        raise ValueError(f"emoji mode {mode!r} is unknown; use one of {', '.join(EMOJI_MODES)}")
    import emoji

    def rewrite(chars: str, _data: dict) -> str:
        if mode == "drop":
            return " "
        name = emoji_name(chars)
        if mode == "name":
            return f" {name} "
        if mode == "words":
            return f" {name.replace('_', ' ')} "
        return f" {chars} {name} "

    return emoji.replace_emoji(text, replace=rewrite)
