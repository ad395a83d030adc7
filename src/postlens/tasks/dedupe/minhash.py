"""Near-duplicate text by MinHash and locality-sensitive hashing, in numpy (no extra dependency).

A text becomes its set of character 5-grams (``shingles``) after ``normalise_text``; the MinHash
signature (``NUM_PERM`` minima of random hash functions) estimates the Jaccard similarity of two
such sets by the share of equal positions. LSH cuts the signature into ``BANDS`` bands: texts that
agree on a whole band are candidates, so no text is compared with all others. The S-curve of 32
bands of 4 rows makes a pair at Jaccard 0.7 a candidate with probability > 0.999 and one at 0.3
with ~0.23; every candidate is then checked against the threshold.

Character shingles rather than words: tweets are short, and one changed word removes a third of a
short text's word 3-grams but only a few of its character 5-grams. Links are removed (each copy of
a tweet gets its own t.co address), as is a leading retweet marker ``RT @name:``.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

SHINGLE_CHARS = 5
NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
MAX_TEXT_CHARS = 20_000
"""Longer texts are cut here before anything else: the cost per text is bounded (hostile input)."""
MAX_SHINGLES = 4_096
"""At most this many shingles per text (the first ones): a book-length post costs what a long one does."""
MIN_TEXT_CHARS = 20
MIN_TEXT_WORDS = 3
"""Shorter normalised texts are no evidence of copying ("lol", "#prayforboston") and are not compared."""

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_RETWEET = re.compile(r"^\s*(?:rt\s+@\w+\s*:?\s*)+", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")
_MASK64 = (1 << 64) - 1


def normalise_text(text: str | None) -> str:
    """Casefolded words of ``text`` without links, a retweet marker or punctuation, single-spaced."""
    if not text:
        return ""
    cut = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS])
    cut = _RETWEET.sub(" ", _URL.sub(" ", cut))
    return " ".join(_NOT_WORD.sub(" ", cut.casefold()).split())


def comparable(normalised: str) -> bool:
    """Long enough to count as evidence of copying (``MIN_TEXT_CHARS`` and ``MIN_TEXT_WORDS``)."""
    return len(normalised) >= MIN_TEXT_CHARS and normalised.count(" ") + 1 >= MIN_TEXT_WORDS


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of a rolling hash over all 64 (uint64 arithmetic wraps)."""
    x = values.copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def shingles(normalised: str) -> np.ndarray:
    """uint64 hashes of the text's character ``SHINGLE_CHARS``-grams (at most ``MAX_SHINGLES``)."""
    codes = np.frombuffer(normalised.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if len(codes) < SHINGLE_CHARS:
        return np.empty(0, np.uint64)
    codes = codes[: MAX_SHINGLES + SHINGLE_CHARS - 1]
    windows = np.lib.stride_tricks.sliding_window_view(codes, SHINGLE_CHARS)
    powers = np.array([pow(1_000_003, i, 1 << 64) for i in range(SHINGLE_CHARS)], np.uint64)
    with np.errstate(over="ignore"):
        return _mix((windows * powers).sum(axis=1, dtype=np.uint64))


class MinHasher:
    """``NUM_PERM`` multiply-shift hash functions of a fixed seed: signatures from any run compare."""

    def __init__(self, num_perm: int = NUM_PERM, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 1 << 63, num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64)
        self.num_perm = num_perm

    def signatures(self, shingle_sets: list[np.ndarray], chunk: int = 32_768) -> np.ndarray:
        """(texts, num_perm) uint32 signatures; every set must be non-empty."""
        out = np.empty((len(shingle_sets), self.num_perm), np.uint32)
        start = 0
        while start < len(shingle_sets):
            stop, total = start, 0
            while stop < len(shingle_sets) and (stop == start or total + len(shingle_sets[stop]) <= chunk):
                total += len(shingle_sets[stop])
                stop += 1
            batch = shingle_sets[start:stop]
            values = np.concatenate(batch)
            offsets = np.cumsum([0] + [len(s) for s in batch[:-1]])
            with np.errstate(over="ignore"):
                hashed = (values[:, None] * self.a[None, :] + self.b[None, :]) >> np.uint64(32)
            out[start:stop] = np.minimum.reduceat(hashed, offsets, axis=0).astype(np.uint32)
            start = stop
        return out


def band_keys(signatures: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """(texts, bands) uint64 key per band: equal keys = equal band (up to a 2^-64 collision)."""
    rows = signatures.shape[1] // bands
    parts = signatures[:, : rows * bands].reshape(len(signatures), bands, rows).astype(np.uint64)
    key = np.zeros((len(signatures), bands), np.uint64)
    with np.errstate(over="ignore"):
        for column in range(rows):
            key = _mix(key * np.uint64(0x100000001B3) + parts[:, :, column] + np.uint64(column + 1))
    return key


def similarity(signatures: np.ndarray, first: int, second: int) -> float:
    """Estimated Jaccard similarity of two texts: the share of equal signature positions."""
    return float(np.mean(signatures[first] == signatures[second]))
