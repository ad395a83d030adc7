"""Near-duplicate image groups and class-keeping grouped folds: copies of a picture never straddle a split."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image, ImageDraw

from postlens.encoders.base import Features
from postlens.encoders.identity import installed_identity
from postlens.encoders.image.phash import perceptual_hash
from postlens.errors import ConfigError
from postlens.evaluation.group_folds import stratified_group_folds
from postlens.evaluation.image_groups import (
    NO_IMAGE,
    cluster_hashes,
    cluster_sizes,
    combine_groups,
    image_clusters,
    workspace_image_groups,
)
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (320, 240), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, 300), rng.integers(0, 220)
        draw.rectangle(
            [x, y, x + rng.integers(10, 120), y + rng.integers(10, 90)],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
        )
    return image


def _resaved(image: Image.Image, *, quality: int, scale: float) -> Image.Image:
    small = image.resize((int(image.width * scale), int(image.height * scale)))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_resaved_copies_cluster_and_distinct_pictures_do_not():
    originals = [_picture(seed) for seed in range(6)]
    hashes, truth = [], []
    for number, image in enumerate(originals):
        for copy in (image, _resaved(image, quality=40, scale=0.5), _resaved(image, quality=70, scale=0.8)):
            hashes.append(perceptual_hash(copy))
            truth.append(number)
    clusters = cluster_hashes(hashes)
    for number in range(len(originals)):
        members = {clusters[i] for i, t in enumerate(truth) if t == number}
        assert len(members) == 1, f"copies of picture {number} split over clusters {members}"
    assert len(set(clusters.tolist())) == len(originals)


def _brute_force(hashes: list[str], max_distance: int) -> np.ndarray:
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if (int(hashes[i], 16) ^ int(hashes[j], 16)).bit_count() <= max_distance:
                parent[find(i)] = find(j)
    return np.array([find(i) for i in range(len(hashes))])


@pytest.mark.parametrize("max_distance", [0, 3, 6, 10])
def test_banded_clustering_equals_all_pairs(max_distance):
    """Multi-index hashing must find every pair within the distance (pigeonhole), chains included."""
    rng = np.random.default_rng(max_distance)
    values = [int(v) for v in rng.integers(0, 2**63, 150, dtype=np.int64)]
    for base in values[:40]:  # plant near copies: flip a few random bits
        for _ in range(2):
            flipped = base
            for bit in rng.choice(64, size=int(rng.integers(0, max_distance + 3)), replace=False):
                flipped ^= 1 << int(bit)
            values.append(flipped)
    hashes = [f"{v:016x}" for v in values]
    fast, slow = cluster_hashes(hashes, max_distance), _brute_force(hashes, max_distance)
    same_fast = fast[:, None] == fast[None, :]
    same_slow = slow[:, None] == slow[None, :]
    assert np.array_equal(same_fast, same_slow)
    assert len(set(fast.tolist())) < len(hashes)  # the planted copies did join


def test_missing_or_bad_hashes():
    clusters = cluster_hashes(["ffff000000000000", None, "", "ffff000000000001"])
    assert clusters[0] == clusters[3] and len({clusters[1], clusters[2], clusters[0]}) == 3
    with pytest.raises(ValueError, match="not hexadecimal"):
        cluster_hashes(["zz"])
    with pytest.raises(ValueError, match="different lengths"):
        cluster_hashes(["ff", "ffff"])


def test_posts_with_several_images_join_their_clusters():
    hash_of = {"a": "0000000000000000", "a2": "0000000000000001", "b": "ffffffffffffffff", "c": "0f0f0f0f0f0f0f0f"}
    groups = image_clusters([["a"], ["b"], ["a2", "c"], [], ["c"], ["b"]], hash_of)
    assert groups[0] == groups[2] == groups[4]  # a ~ a2 (1 bit), and post 2 links a2 with c
    assert groups[1] == groups[5] != groups[0]
    assert groups[3] == NO_IMAGE
    assert cluster_sizes(groups).tolist() == [3, 2, 3, 0, 3, 2]


def test_combine_groups_merges_events_sharing_a_picture():
    events = ["e1", "e1", "e2", "e3", "e3", ""]
    pictures = ["p1", "", "p1", "p2", "", ""]
    combined = combine_groups(events, pictures)
    assert combined[0] == combined[1] == combined[2]  # p1 reposted in e1 and e2 joins the two events
    assert combined[3] == combined[4] != combined[0]
    assert combined[5] not in set(combined[:5])  # empty keys link nothing
    with pytest.raises(ValueError, match="differ in length"):
        combine_groups(["a"], ["a", "b"])


def test_grouped_folds_keep_groups_whole_and_every_class_in_every_fold():
    """MediaEval's shape: one giant mixed event, one large one-class event, smaller ones."""
    sizes = {
        "giant": (500, 450),
        "oneclass": (180, 0),
        "a": (60, 100),
        "b": (70, 35),
        "c": (60, 15),
        "d": (7, 7),
        "e": (30, 0),
        "f": (0, 20),
    }
    groups, y = [], []
    for name, (fake, real) in sizes.items():
        groups += [name] * (fake + real)
        y += [0] * fake + [1] * real
    groups_arr, y_arr = np.array(groups, dtype=object), np.array(y)
    folds = stratified_group_folds(groups_arr, 5, y=y_arr, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(y)))
    for fold in folds:
        assert set(np.unique(y_arr[fold])) == {0, 1}, "a fold with one class makes macro-F1 meaningless"
        for group in set(groups_arr[fold]):
            assert set(np.flatnonzero(groups_arr == group)) <= set(fold.tolist())
    assert [f.tolist() for f in folds] == [f.tolist() for f in stratified_group_folds(groups_arr, 5, y=y_arr, seed=0)]
    with pytest.raises(ConfigError, match="at least 5 groups"):
        stratified_group_folds(np.array(["a", "b", "c"] * 4, dtype=object), 5)


def test_workspace_image_groups_reads_cached_hashes(tmp_path):
    ws = Workspace(tmp_path / "ws")
    now = datetime.now(UTC)
    shas = {"s:0": ["sha-a"], "s:1": ["sha-a2"], "s:2": ["sha-b"], "s:3": [], "s:4": ["sha-nohash"]}
    for number, (post_id, images) in enumerate(shas.items()):
        ws.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, text, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', 'text', 'h', 'r', ?, ?)",
            [post_id, str(number), now, now],
        )
        for position, sha in enumerate(images):
            ws.db.execute(
                "INSERT INTO media (post_id, position, kind, status, sha256) VALUES (?, ?, 'image', 'stored', ?)",
                [post_id, position, sha],
            )
    FeatureCache(ws.features_dir).write(
        installed_identity("image-stats").key,
        ["sha-a", "sha-a2", "sha-b"],
        [
            Features(vector=np.zeros(7, np.float32), info={"phash": h})
            for h in ("00ff00ff00ff00ff", "00ff00ff00ff00fe", "ff00ff00ff00ff00")
        ],
    )
    groups, facts = workspace_image_groups(ws, list(shas))
    ws.close()
    assert groups[0] == groups[1] != groups[2]
    assert groups[3] == NO_IMAGE and groups[4] not in {groups[0], groups[2], NO_IMAGE}
    assert facts == {"images": 4, "hashed": 3, "clusters": 3}
