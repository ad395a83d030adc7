"""Perceptual hashes of the stored images of a workspace's posts, for near-duplicate image links.

The ``image-stats`` encoder already caches a phash per image (``postlens featurize``); images it
has not seen are hashed here (decoding with the same safe loader), so dedupe works on a workspace
that was never featurized. An image that cannot be decoded keeps its content id (sha256): exact
copies of it still link, and the report counts it with the reason. Media that was never stored
(missing, remote, rejected) has no pixels to compare: an image known by its address (a tweet's
``pbs.twimg.com/media/...`` URL names one file) links the posts that share that address; one
without an address is counted, not guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from postlens.encoders.identity import installed_identity
from postlens.encoders.image.phash import perceptual_hash
from postlens.errors import MediaError
from postlens.media.image import load_image
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace
from postlens.tasks.dedupe.urls import canonical_url

IMAGE_KINDS = ("image", "gif")
REMOTE_PREFIX = "url:"
"""Id of an image known only by its address (never downloaded): exact copies only, no pixels to hash."""
DECODE_MIN_SIDE = 256


@dataclass
class PostImages:
    """Image ids (sha256) per post in ``post_ids`` order, their hashes, and what had none."""

    images_per_post: list[list[str]]
    hash_of: dict[str, str | None]
    hashed_now: int = 0
    cached: int = 0
    remote: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)


def post_images(
    workspace: Workspace,
    post_ids: Sequence[str],
    *,
    progress: Callable[[str], None] | None = None,
    max_examples: int = 20,
) -> PostImages:
    """Stored images of these posts with a perceptual hash each (None where the file cannot be decoded)."""
    say = progress or (lambda _message: None)
    index = {post_id: row for row, post_id in enumerate(post_ids)}
    per_post: list[list[str]] = [[] for _ in post_ids]
    path_of: dict[str, str] = {}
    owner_of: dict[str, str] = {}
    found = PostImages(per_post, {})
    for post_id, status, sha, path, url in workspace.db.execute(
        "SELECT post_id, status, sha256, path, url FROM media WHERE kind IN (SELECT unnest(?)) "
        "ORDER BY post_id, position",
        [list(IMAGE_KINDS)],
    ).fetchall():
        row = index.get(post_id)
        if row is None:
            continue
        if status != "stored" or not sha:
            address = canonical_url(url)
            if address:  # a remote image is the same file wherever its address is shared
                per_post[row].append(REMOTE_PREFIX + address)
                found.remote += 1
            else:
                found.skipped[f"image: {status}, no address to compare"] += 1
            continue
        per_post[row].append(sha)
        if path:
            path_of.setdefault(sha, path)
        owner_of.setdefault(sha, post_id)
    wanted = sorted(path_of.keys() | owner_of.keys())
    cached = FeatureCache(workspace.features_dir).read(installed_identity("image-stats").key, wanted)
    for sha, features in cached.items():
        phash = (features.info or {}).get("phash")
        if isinstance(phash, str) and phash:
            found.hash_of[sha] = phash
    found.cached = len(found.hash_of)
    missing = [sha for sha in wanted if sha not in found.hash_of]
    if missing:
        say(f"hashing {len(missing):,} images the image-stats cache lacks")
    for number, sha in enumerate(missing, 1):
        found.hash_of[sha] = _hash_file(workspace, path_of.get(sha), owner_of[sha], found, max_examples)
        if number % 500 == 0:
            say(f"hashed {number:,} of {len(missing):,} images")
    found.hashed_now = sum(1 for sha in missing if found.hash_of.get(sha))
    return found


def _hash_file(
    workspace: Workspace, path: str | None, post_id: str, found: PostImages, max_examples: int
) -> str | None:
    if path is None:
        _skip(found, post_id, "image stored without a path (exact copies only)", "", max_examples)
        return None
    file = (workspace.root / path).resolve()
    if not file.is_relative_to(workspace.root):
        _skip(found, post_id, "image path leaves the workspace (exact copies only)", path, max_examples)
        return None
    try:
        return perceptual_hash(load_image(file, max_frames=1, min_side=DECODE_MIN_SIDE).image)
    except (MediaError, OSError, ValueError) as exc:  # not MissingDependency: that is no image's fault
        code = getattr(exc, "code", None) or type(exc).__name__
        _skip(found, post_id, f"image unreadable ({code}; exact copies only)", str(exc), max_examples)
        return None


def _skip(found: PostImages, post_id: str, reason: str, detail: str, max_examples: int) -> None:
    """Count the reason and keep the first few examples with their post and detail."""
    found.skipped[reason] += 1
    if len(found.examples) < max_examples:
        found.examples.append((post_id, f"{reason}: {detail}" if detail else reason))


def image_similarity(first: Sequence[str], second: Sequence[str], hash_of: dict[str, str | None]) -> float:
    """1 - (fewest differing hash bits between an image of each post) / hash bits; 1.0 for a shared file."""
    if set(first) & set(second):
        return 1.0
    best = 0.0
    for a in first:
        for b in second:
            hash_a, hash_b = hash_of.get(a), hash_of.get(b)
            if hash_a and hash_b and len(hash_a) == len(hash_b):
                bits = 4 * len(hash_a)
                best = max(best, 1 - (int(hash_a, 16) ^ int(hash_b, 16)).bit_count() / bits)
    return best
