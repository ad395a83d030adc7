"""The neighbour index on its own: exact search equals brute force, updates append, dead rows are skipped,
the saved index reopens, and HNSW (faiss) finds what exact search finds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from postlens.agent.index import META_SCHEMA, NeighbourIndex, NewRows
from postlens.errors import ConfigError


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def new_rows(ids: list[str], vectors: np.ndarray, signature: str = "s1") -> NewRows:
    n = len(ids)
    return NewRows(vectors, pa.table({
        "post_id": ids, "signature": [signature] * n, "text": [f"text of {i}" for i in ids], "created_at": [None] * n,
        "media_kinds": [["image"]] * n, "topic_id": [1] * n, "labels": [json.dumps({"event": i[-1]}) for i in ids],
        "has_vector": [bool(np.any(v)) for v in vectors]}, schema=META_SCHEMA))


def brute(vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [ids[i] for i in order]


@pytest.fixture
def data() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    ids = [f"p:{i:04d}" for i in range(500)]
    return ids, unit(rng.normal(size=(500, 32)))


def test_exact_search_equals_brute_force_and_skips_the_excluded(tmp_path: Path, data) -> None:
    ids, vectors = data
    index = NeighbourIndex(tmp_path / "index", fingerprint="f", dim=32, kind="exact")
    current = {i: "s1" for i in ids}
    index.sync(current, new_rows(ids, vectors))
    query = vectors[7] + 0.1 * vectors[8]
    query = query / np.linalg.norm(query)
    hits = index.search(query, 10)[0]
    assert [h.record["post_id"] for h in hits] == brute(vectors, ids, query, 10)
    assert hits[0].record["post_id"] == "p:0007" and hits[0].record["labels"] == {"event": "7"}
    assert hits[0].similarity == pytest.approx(float(vectors[7] @ query), abs=1e-5)
    excluded = index.search(query, 10, [{"p:0007"}])[0]
    assert "p:0007" not in [h.record["post_id"] for h in excluded] and len(excluded) == 10
    assert index.search(np.zeros(32, np.float32), 5)[0] == []


def test_changed_and_deleted_posts_are_dead_and_the_saved_index_reopens(tmp_path: Path, data) -> None:
    ids, vectors = data
    folder = tmp_path / "index"
    index = NeighbourIndex(folder, fingerprint="f", dim=32, kind="exact")
    index.sync({i: "s1" for i in ids}, new_rows(ids, vectors))
    # p:0001 changed (new vector = p:0002's direction), p:0003 deleted
    current = {i: "s1" for i in ids if i != "p:0003"} | {"p:0001": "s2"}
    assert index.stale(current) == ["p:0001"]
    index.sync(current, new_rows(["p:0001"], vectors[2:3], signature="s2"))
    assert index.rows == 501 and index.live == 499
    found = [h.record["post_id"] for h in index.search(vectors[2], 3)[0]]
    assert found[:2] == ["p:0001", "p:0002"] or found[:2] == ["p:0002", "p:0001"]
    assert "p:0003" not in [h.record["post_id"] for h in index.search(vectors[3], 500)[0]]
    reopened = NeighbourIndex(folder, fingerprint="f", dim=32, kind="exact")
    assert reopened.rows == 501 and reopened.stale(current) == []
    reopened.sync(current, None)
    assert reopened.live == 499
    # another shared space: nothing of the old index is read
    assert NeighbourIndex(folder, fingerprint="other", dim=32).rows == 0


def test_compaction_rewrites_live_rows_once_dead_ones_pass_a_quarter(tmp_path: Path, data) -> None:
    ids, vectors = data
    folder = tmp_path / "index"
    index = NeighbourIndex(folder, fingerprint="f", dim=32, kind="exact")
    index.sync({i: "s1" for i in ids}, new_rows(ids, vectors))
    kept = {i: "s1" for i in ids[:300]}
    index.sync(kept, None)  # 200 of 500 gone: 40% dead -> compacted
    assert index.rows == 300 and index.live == 300
    assert len(list(folder.glob("part-*.npy"))) == 1
    assert [h.record["post_id"] for h in index.search(vectors[5], 5)[0]] == brute(vectors[:300], ids[:300], vectors[5], 5)


def test_a_folder_that_cannot_be_written_keeps_the_index_in_memory(tmp_path: Path, data) -> None:
    ids, vectors = data
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder's parent should be (fails even as root)")
    index = NeighbourIndex(blocker / "index", fingerprint="f", dim=32, kind="exact")
    index.sync({i: "s1" for i in ids}, new_rows(ids, vectors))
    assert index.folder is None and any("in memory" in n for n in index.notes)
    assert index.search(vectors[0], 1)[0][0].record["post_id"] == "p:0000"


def test_unknown_index_kind_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auto, exact, hnsw"):
        NeighbourIndex(tmp_path, fingerprint="f", dim=4, kind="annoy")


def test_hnsw_finds_what_exact_search_finds(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    ids = [f"p:{i:05d}" for i in range(3000)]
    centres = unit(rng.normal(size=(30, 48)))
    vectors = unit(centres[rng.integers(0, 30, 3000)] + 0.3 * rng.normal(size=(3000, 48)))
    index = NeighbourIndex(tmp_path / "index", fingerprint="f", dim=48, kind="auto", hnsw_threshold=1000)
    index.sync({i: "s1" for i in ids[:2000]}, new_rows(ids[:2000], vectors[:2000]))
    assert index.mode == "hnsw"
    index.sync({i: "s1" for i in ids}, new_rows(ids[2000:], vectors[2000:]))  # extends the saved graph
    assert index.mode == "hnsw" and index.rows == 3000
    queries = vectors[rng.integers(0, 3000, 50)]
    recall = np.mean([len(set(h.record["post_id"] for h in index.search(q, 10)[0]) & set(brute(vectors, ids, q, 10))) / 10
                      for q in queries])
    assert recall >= 0.9
    reopened = NeighbourIndex(tmp_path / "index", fingerprint="f", dim=48, kind="auto", hnsw_threshold=1000)
    assert reopened.mode == "hnsw" and reopened.rows == 3000
