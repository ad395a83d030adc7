"""Hashtag segmentation: ``#BostonStrong`` -> ``boston strong``, ``#bostonstrong`` -> ``boston strong``.

Camel case is trusted first because the author chose the boundaries; only a tag without them
goes to ``wordsegment`` (a unigram/bigram English model), and only when it is plain ASCII,
because wordsegment silently deletes every other character.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
_ASCII_ALNUM = re.compile(r"[a-z0-9]+")
_LOAD_LOCK = threading.Lock()
_loaded = False


def _load_wordsegment() -> None:
    """``wordsegment.load()`` reads ~330k n-grams (about 1 s): once per process, on first need."""
    global _loaded
    if _loaded:
        return
    with _LOAD_LOCK:
        if not _loaded:
            import wordsegment

            wordsegment.load()
            _loaded = True


def camel_case_parts(tag: str) -> list[str]:
    """Split at lower->Upper, letter<->digit, ``ABCWord`` -> ``ABC Word``, and underscores."""
    parts: list[str] = []
    current = ""
    for index, char in enumerate(tag):
        if char == "_":
            if current:
                parts.append(current)
            current = ""
            continue
        if current:
            prev = current[-1]
            following = tag[index + 1] if index + 1 < len(tag) else ""
            boundary = (
                (prev.islower() and char.isupper())
                or (prev.isdigit() != char.isdigit())
                or (prev.isupper() and char.isupper() and following.islower())
            )
            if boundary:
                parts.append(current)
                current = ""
        current += char
    if current:
        parts.append(current)
    return parts


@lru_cache(maxsize=65536)
def segment_hashtag(tag: str) -> tuple[str, ...]:
    """Words of one hashtag body (without ``#``), lower-cased."""
    tag = tag.lstrip("#")
    parts = camel_case_parts(tag)
    if len(parts) > 1:
        return tuple(part.lower() for part in parts)
    lowered = tag.lower()
    if len(lowered) < 6 or not _ASCII_ALNUM.fullmatch(lowered):
        return (lowered,) if lowered else ()
    _load_wordsegment()
    import wordsegment

    return tuple(wordsegment.segment(lowered)) or (lowered,)


HASHTAG_MODES = ("keep", "segment", "both", "drop")


def rewrite_hashtags(text: str, mode: str = "segment") -> str:
    """``keep`` the tag, ``segment`` into words, ``both`` (tag then words), or ``drop`` it."""
    if mode == "keep":
        return text
    if mode not in HASHTAG_MODES:
        raise ValueError(f"hashtag mode {mode!r} is unknown; use one of {', '.join(HASHTAG_MODES)}")

    def rewrite(match: re.Match[str]) -> str:
        if mode == "drop":
            return " "
        words = " ".join(segment_hashtag(match.group(1)))
        return f"{match.group(0)} {words}" if mode == "both" else words

    return _HASHTAG.sub(rewrite, text)
