"""A tweet-aware tokenizer: hashtags, mentions, URLs, emoji, emoticons and contractions stay whole.

Plain ``re`` is used (no ``regex`` dependency); Python's ``\\w`` misses combining marks, so the
word class adds the Arabic/Hebrew/Indic/Thai mark ranges: ``مَرحبا`` and ``नमस्ते`` stay one token.
"""

from __future__ import annotations

import re
import unicodedata

_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u0711\u0730-\u074a\u0900-\u0963\u0966-\u0dff\u0e31\u0e34-\u0e3a\u0e47-\u0e4e"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u20d0-\u20ff\ufe20-\ufe2f"
)
_W = rf"[\w{_MARKS}]"
_EMOTICON = (
    r"(?:<3+|</3|\^_*\^|[oO0]_[oO0]|-_-|"
    r"[<>]?[:;=][\-o*'^]?[)\](\[dDpPoO/\\|}{@*$3xX](?![\w)\](\[/\\|}{])|"
    r"[)\](\[/\\][\-o*']?[:;=](?!\w)|"
    r"(?<!\w)[xX][dD]+(?!\w))"
)
_TOKEN = re.compile(
    "|".join(
        [
            r"<(?:url|user|num)>",  # placeholders from normalize.py
            r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]",
            _EMOTICON,
            rf"@{_W}+",
            rf"#{_W}+",
            r"\d+(?:[.,:]\d+)+",  # 3.14, 1,000, 10:30
            rf"{_W}+(?:['’\-]{_W}+)*",  # words, don't, l'homme, state-of-the-art
            r"([!?.])\1+|[!?.]{2,}",  # !!! ?!? ...
            r"\S",
        ]
    )
)


def _split_emoji(text: str) -> list[tuple[str, bool]]:
    """Chunks of (text, is_emoji); emoji sequences (ZWJ families, flags, skin tones) stay whole."""
    import emoji

    chunks: list[tuple[str, bool]] = []
    position = 0
    for found in emoji.emoji_list(text):
        start, end = found["match_start"], found["match_end"]
        if start > position:
            chunks.append((text[position:start], False))
        chunks.append((found["emoji"], True))
        position = end
    if position < len(text):
        chunks.append((text[position:], False))
    return chunks


def _has_emoji_candidate(text: str) -> bool:
    """Cheap pre-check: every emoji has a code point >= U+00A9; pure ASCII text skips the scan."""
    return not text.isascii()


def tokenize_tweet(text: str) -> list[str]:
    """Split social text into tokens; punctuation runs (``!!!``) and emoticons (``:-)``) are tokens."""
    if not text:
        return []
    if not _has_emoji_candidate(text):
        return [match.group(0) for match in _TOKEN.finditer(text)]
    tokens: list[str] = []
    for chunk, is_emoji in _split_emoji(text):
        if is_emoji:
            tokens.append(chunk)
        else:
            tokens.extend(match.group(0) for match in _TOKEN.finditer(chunk))
    return tokens


def tokenize_words(text: str) -> list[str]:
    """``tokenize_tweet`` without the emoji pass (the slow part): an emoji sequence comes out as
    single-character tokens instead of one. For callers that keep only tokens with letters (topic
    words), where the two give the same words."""
    return [match.group(0) for match in _TOKEN.finditer(text)] if text else []


def is_punctuation(token: str) -> bool:
    """Punctuation and maths/currency signs; emoji (category So), emoticons and placeholders are not."""
    if token in ("<url>", "<user>", "<num>") or _is_emoticon(token):
        return False
    return all(unicodedata.category(char)[0] in "PS" and unicodedata.category(char) != "So" for char in token)


_EMOTICON_FULL = re.compile(_EMOTICON)


def _is_emoticon(token: str) -> bool:
    return bool(_EMOTICON_FULL.fullmatch(token))
