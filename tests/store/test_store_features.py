"""The feature cache: round trip, per-item errors kept, only missing keys recomputed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postlens.encoders.base import Features
from postlens.store.features import FeatureCache


def test_round_trip_keeps_vectors_sequences_text_info_and_errors(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    seq = np.arange(6, dtype=np.float32).reshape(3, 2)
    feats = [
        Features(vector=np.array([1, 2, 3], np.float32), sequence=seq, text="hi", info={"labels": ["cat"], "n": np.int64(3)}),
        Features.failed("corrupt", "truncated PNG"),
    ]
    cache.write("enc@1", ["a", "b"], feats)
    back = cache.read("enc@1")
    assert np.array_equal(back["a"].vector, feats[0].vector)
    assert np.array_equal(back["a"].sequence, seq)
    assert back["a"].text == "hi" and back["a"].info == {"labels": ["cat"], "n": 3}
    assert back["b"].error == "corrupt: truncated PNG" and back["b"].vector is None


def test_missing_lists_only_keys_not_yet_computed_for_that_version(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.write("enc@1", ["a"], [Features(vector=np.ones(2, np.float32))])
    assert cache.missing("enc@1", ["a", "b", "b", "c"]) == ["b", "c"]
    assert cache.missing("enc@2", ["a"]) == ["a"], "a new encoder version recomputes"


def test_vectors_are_aligned_with_keys_and_masked(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.write("enc@1", ["a", "c"], [Features(vector=np.ones(2, np.float32)), Features.failed("x", "y")])
    matrix, mask = cache.vectors("enc@1", ["c", "a", "z"])
    assert matrix.shape == (3, 2) and mask.tolist() == [False, True, False]
    assert matrix[1].tolist() == [1.0, 1.0] and matrix[0].tolist() == [0.0, 0.0]


def _batches(cache: FeatureCache, key: str, n_batches: int, per_batch: int = 3, dim: int = 4) -> dict[str, np.ndarray]:
    """``n_batches`` parts as featurize writes them (one per batch); the vectors written, by key."""
    written = {}
    for b in range(n_batches):
        keys = [f"k{b}-{i}" for i in range(per_batch)]
        vectors = [np.full(dim, b * 10 + i, np.float32) for i in range(per_batch)]
        cache.write(key, keys, [Features(vector=v, text=f"t{b}", info={"b": b}) for v in vectors])
        written.update(zip(keys, vectors))
    return written


def test_compaction_merges_parts_and_every_key_reads_the_same(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    written = _batches(cache, "enc@1", 7)
    cache.write("enc@1", ["seq"], [Features(sequence=np.arange(6, dtype=np.float32).reshape(3, 2))])
    cache.write("enc@1", ["k0-0"], [Features(vector=np.full(4, -1, np.float32))])  # computed twice (two writers)
    before = cache.read("enc@1")
    done = cache.compact("enc@1")
    assert done is not None and (done.parts_before, done.parts_after) == (9, 1)
    assert done.rows == len(written) + 1 and done.duplicates_dropped == 1
    after = cache.read("enc@1")
    assert after.keys() == before.keys()
    for key, feat in before.items():
        assert np.array_equal(after[key].vector, feat.vector) if feat.vector is not None else after[key].vector is None
        assert (after[key].text, after[key].info) == (feat.text, feat.info)
    assert after["seq"].sequence.shape == (3, 2) and after["seq"].vector is None
    matrix, mask = cache.vectors("enc@1", ["k3-1", "nope", "k6-2"])
    assert mask.tolist() == [True, False, True] and matrix[0].tolist() == written["k3-1"].tolist()
    assert cache.compact("enc@1") is None, "one part: nothing to merge"


def test_read_vectors_are_writable_rows_of_one_block(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    _batches(cache, "enc@1", 1, per_batch=5)
    rows = cache.read("enc@1")
    second = rows["k0-1"].vector
    second *= 3  # callers may scale in place, as they could before
    assert second.tolist() == [3.0] * 4 and rows["k0-2"].vector.tolist() == [2.0] * 4  # other rows untouched
    assert second.base is not None and second.base is rows["k0-4"].vector.base  # views of one block


def test_a_part_written_during_compaction_is_kept(tmp_path: Path, monkeypatch) -> None:
    from postlens.store import features

    cache = FeatureCache(tmp_path)
    _batches(cache, "enc@1", 4)
    merge = features._merge

    def merge_while_another_writer_writes(folder: Path, parts: list[Path]) -> tuple[int, int]:
        FeatureCache(tmp_path).write("enc@1", ["late"], [Features(vector=np.ones(4, np.float32))])
        return merge(folder, parts)

    monkeypatch.setattr(features, "_merge", merge_while_another_writer_writes)
    done = cache.compact("enc@1")
    assert done is not None and done.parts_after == 2  # the merged part and the late one
    assert "late" in cache.known_keys("enc@1") and len(cache.known_keys("enc@1")) == 13


def test_a_reader_listing_parts_a_compaction_removes_still_sees_every_key(tmp_path: Path, monkeypatch) -> None:
    from postlens.store import features

    cache = FeatureCache(tmp_path)
    written = _batches(cache, "enc@1", 5)
    dataset = features.ds.dataset
    calls = []

    def compact_between_listing_and_reading(parts, **options):
        if not calls:
            FeatureCache(tmp_path).compact("enc@1")  # another process merges the parts this reader listed
        calls.append(len(parts))
        return dataset(parts, **options)

    monkeypatch.setattr(features.ds, "dataset", compact_between_listing_and_reading)
    found = cache.read("enc@1", list(written))
    assert calls == [5, 1] and set(found) == set(written)


def test_compaction_waits_for_no_one_while_another_holds_the_folder(tmp_path: Path) -> None:
    import fcntl

    cache = FeatureCache(tmp_path)
    _batches(cache, "enc@1", 3)
    with open(cache.folder("enc@1") / ".compact.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cache.compact("enc@1") is None and len(cache.parts("enc@1")) == 3
    assert cache.compact("enc@1") is not None and len(cache.parts("enc@1")) == 1


def test_a_folder_with_too_many_parts_compacts_itself_on_write(tmp_path: Path, monkeypatch) -> None:
    from postlens.store import features

    monkeypatch.setattr(features, "AUTO_COMPACT_PARTS", 4)
    cache = FeatureCache(tmp_path)
    written = _batches(cache, "enc@1", 9)
    assert len(cache.parts("enc@1")) <= 4 and cache.known_keys("enc@1") == set(written)


def test_compact_all_reports_each_folder_it_changed(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    _batches(cache, "a@1", 3)
    _batches(cache, "b@1", 1)
    assert [(c.encoder_key, c.parts_before, c.parts_after) for c in cache.compact_all()] == [("a@1", 3, 1)]


def test_a_few_new_rows_do_not_rewrite_a_large_part(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    vectors = np.random.default_rng(0).normal(size=(400, 64)).astype(np.float32)  # incompressible, like embeddings
    cache.write("enc@1", [f"old-{i}" for i in range(400)], [Features(vector=v) for v in vectors])
    big = cache.parts("enc@1")  # the large part an earlier featurize left
    cache.write("enc@1", ["new-1"], [Features(vector=np.ones(64, np.float32))])  # predict featurized one post
    assert cache.compact("enc@1") is None and set(big) <= set(cache.parts("enc@1"))
    cache.write("enc@1", ["new-2"], [Features(vector=np.ones(64, np.float32))])
    done = cache.compact("enc@1")  # the two small parts merge with each other, not into the large one
    assert done is not None and (done.parts_before, done.parts_after, done.rows) == (3, 2, 2)
    assert set(big) <= set(cache.parts("enc@1")) and len(cache.known_keys("enc@1")) == 402
    for i in range(3, 80):  # enough new rows beside it: now the large part is merged too
        cache.write("enc@1", [f"new-{i}"], [Features(vector=np.ones(64, np.float32))])
    assert cache.compact("enc@1") is not None and len(cache.parts("enc@1")) == 1
