"""Perceptual hashes: the same picture re-saved, resized or re-compressed gets (nearly) the same hash.

Used to group near-duplicate images across posts (memes and misattributed photos travel as copies).
"""

from __future__ import annotations

from PIL import Image

from postlens.errors import MissingDependency


def perceptual_hash(image: Image.Image, hash_size: int = 8) -> str:
    """64-bit DCT hash (imagehash.phash) as 16 hex characters."""
    try:
        import imagehash
    except ImportError as exc:
        raise MissingDependency("imagehash", "image") from exc
    return str(imagehash.phash(image, hash_size=hash_size))


def difference_hash(image: Image.Image, hash_size: int = 8) -> str:
    """Gradient hash: complements phash on crops and small edits."""
    try:
        import imagehash
    except ImportError as exc:
        raise MissingDependency("imagehash", "image") from exc
    return str(imagehash.dhash(image, hash_size=hash_size))


def hash_distance(first: str, second: str) -> int:
    """Hamming distance between two equal-length hex hashes; <= 8 of 64 bits means "same picture"."""
    if len(first) != len(second):
        raise ValueError(f"hashes differ in length: {first!r} vs {second!r}")
    return (int(first, 16) ^ int(second, 16)).bit_count()
