"""Nearest posts in the shared space, kept in the workspace and updated incrementally.

Rows are the posts' fused vectors (unit float32, ``SharedSpace.transform``), stored in parts under
``<workspace>/segments/<segmentation>/index/``: ``part-*.npy`` (vectors, memory-mapped) and
``part-*.arrow`` (post id, a signature of what the vector was made from, a text snippet, time, media
kinds, topic, labels). ``sync`` compares every post's signature with the index and appends only new
or changed posts as a new part; rows of changed or deleted posts are dead (skipped) until a
compaction rewrites the live rows once they pass a quarter of the index. A new shared space (the
segments were fitted again) starts a new index.

Search is exact (one matrix product per part; 100k x 384: ~5 ms a query) by default, and HNSW
(``faiss-cpu``, the ``index`` extra: 100k in 0.2 ms a query, recall ~0.93) at ``hnsw_threshold``
rows and more when faiss is installed; the HNSW graph is saved beside the parts and extended with
each new part.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from postlens.errors import ConfigError, MissingDependency

FORMAT_VERSION = 1
INDEX_KINDS = ("auto", "exact", "hnsw")
HNSW_THRESHOLD = 200_000
"""Rows from which ``auto`` uses HNSW (measured: exact is ~4 ms per query at 100k, ~45 ms at 1M)."""
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 96
COMPACT_DEAD_SHARE = 0.25
SNIPPET_CHARS = 280
META_SCHEMA = pa.schema([("post_id", pa.string()), ("signature", pa.string()), ("text", pa.string()),
                         ("created_at", pa.timestamp("us", tz="UTC")), ("media_kinds", pa.list_(pa.string())),
                         ("topic_id", pa.int32()), ("labels", pa.string()), ("has_vector", pa.bool_())])


@dataclass
class NewRows:
    """Rows to add: one per post, vectors unit-length (zero when the post has nothing to place)."""

    vectors: np.ndarray
    meta: pa.Table  # META_SCHEMA


@dataclass
class _Part:
    name: str
    vectors: np.ndarray
    meta: pa.Table
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _View:
    """What a search reads, swapped in whole: parts, which rows are alive, each post's row and signature."""

    parts: list[_Part]
    alive: np.ndarray
    signatures: dict[str, tuple[int, str]]
    hnsw: Any = None

    @property
    def rows(self) -> int:
        return len(self.alive)


@dataclass(frozen=True)
class Hit:
    position: int
    similarity: float
    record: dict[str, Any]


class NeighbourIndex:
    """Thread-safe: a search reads one immutable view; ``sync`` builds the next view and swaps it in
    (one writer at a time); adding rows to the HNSW graph waits for searches of it to finish."""

    def __init__(self, folder: Path | None, *, fingerprint: str, dim: int, kind: str = "auto",
                 hnsw_threshold: int = HNSW_THRESHOLD) -> None:
        if kind not in INDEX_KINDS:
            raise ConfigError(f"unknown index kind {kind!r}; known: {', '.join(INDEX_KINDS)}")
        self.folder, self.fingerprint, self.dim = folder, fingerprint, dim
        self.kind, self.hnsw_threshold = kind, hnsw_threshold
        self.notes: list[str] = []
        self._view = _View([], np.zeros(0, bool), {})
        self._hnsw_rows = 0
        self._lock = threading.Lock()
        self._graph_lock = threading.Lock()
        self._load()

    # ------------------------------------------------------------------ state

    @property
    def rows(self) -> int:
        return self._view.rows

    @property
    def live(self) -> int:
        return int(self._view.alive.sum())

    @property
    def mode(self) -> str:
        return "hnsw" if self._view.hnsw is not None else "exact"

    def _load(self) -> None:
        if self.folder is None or not (self.folder / "index.json").is_file():
            return
        try:
            described = json.loads((self.folder / "index.json").read_text())
            if described.get("format") != FORMAT_VERSION or described.get("fingerprint") != self.fingerprint \
                    or described.get("dim") != self.dim:
                self.notes.append("the saved neighbour index was made for another shared space: rebuilt")
                return
            parts = [self._read_part(name) for name in described["parts"]]
        except (OSError, ValueError, KeyError, pa.ArrowInvalid) as exc:
            self.notes.append(f"the saved neighbour index could not be read ({type(exc).__name__}: {exc}): rebuilt")
            return
        self._view = self._installed(parts, None, None)
        self._load_hnsw(described)

    def _read_part(self, name: str) -> _Part:
        assert self.folder is not None
        vectors = np.load(self.folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        with pa.memory_map(str(self.folder / f"{name}.arrow")) as source:
            meta = pa.ipc.open_file(source).read_all()
        if vectors.shape != (meta.num_rows, self.dim):
            raise ValueError(f"{name}: {vectors.shape} vectors for {meta.num_rows} rows of width {self.dim}")
        return _Part(name, vectors, meta, meta.column("post_id").to_pylist())

    @staticmethod
    def _installed(parts: list[_Part], current: dict[str, str] | None, hnsw: Any) -> _View:
        """The view of ``parts``: alive = the last row of each post (of a post still in the workspace)."""
        latest: dict[str, tuple[int, str]] = {}
        at = 0
        for part in parts:
            for post_id, sig in zip(part.ids, part.meta.column("signature").to_pylist()):
                latest[post_id] = (at, sig)
                at += 1
        if current is not None:
            latest = {p: v for p, v in latest.items() if p in current}
        alive = np.zeros(at, bool)
        alive[[pos for pos, _ in latest.values()]] = True
        return _View(parts, alive, latest, hnsw)

    # ------------------------------------------------------------------ updates

    def stale(self, current: dict[str, str]) -> list[str]:
        """Posts whose signature differs from the index's (new or changed), in the given order."""
        known = self._view.signatures
        return [p for p, sig in current.items() if known.get(p, (0, None))[1] != sig]

    def sync(self, current: dict[str, str], rows: NewRows | None) -> None:
        """Append ``rows`` (the posts ``stale`` named, embedded), forget posts no longer in ``current``."""
        with self._lock:
            parts = list(self._view.parts)
            if rows is not None and len(rows.vectors):
                part = _Part(f"part-{uuid.uuid4().hex[:12]}", np.ascontiguousarray(rows.vectors, np.float32),
                             rows.meta, rows.meta.column("post_id").to_pylist())
                parts.append(self._saved(part))
            view = self._installed(parts, current, self._view.hnsw)
            if view.rows and (view.rows - int(view.alive.sum())) > COMPACT_DEAD_SHARE * view.rows:
                view = self._compact(view)
            view = self._with_graph(view)
            self._view = view
            self._save_description()

    def _compact(self, view: _View) -> _View:
        vectors, metas, ids = [], [], []
        at = 0
        for part in view.parts:
            keep = np.flatnonzero(view.alive[at: at + len(part.vectors)])
            at += len(part.vectors)
            vectors.append(np.asarray(part.vectors)[keep])
            metas.append(part.meta.take(pa.array(keep)))
            ids += [part.ids[i] for i in keep]
        merged = _Part(f"part-{uuid.uuid4().hex[:12]}", np.concatenate(vectors) if vectors else np.zeros((0, self.dim), np.float32),
                       pa.concat_tables(metas) if metas else META_SCHEMA.empty_table(), ids)
        self._hnsw_rows = 0
        return self._installed([self._saved(merged)], {p: s for p, (_, s) in view.signatures.items()}, None)

    def _saved(self, part: _Part) -> _Part:
        """Write the part when the index has a folder (a read-only workspace keeps it in memory)."""
        if self.folder is None:
            return part
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _atomic(self.folder / f"{part.name}.npy", lambda handle: np.save(handle, part.vectors, allow_pickle=False))
            _atomic(self.folder / f"{part.name}.arrow", lambda handle: _write_arrow(handle, part.meta))
        except OSError as exc:
            self.notes.append(f"the neighbour index is kept in memory only: {self.folder} is not writable ({exc.strerror})")
            self.folder = None
        return part

    def _save_description(self) -> None:
        if self.folder is None:
            return
        parts = self._view.parts
        description = {"format": FORMAT_VERSION, "fingerprint": self.fingerprint, "dim": self.dim,
                       "parts": [p.name for p in parts], "hnsw_rows": self._hnsw_rows if self._view.hnsw is not None else 0}
        _atomic(self.folder / "index.json", lambda handle: handle.write(json.dumps(description, indent=1).encode()))
        known = {f"{p.name}.npy" for p in parts} | {f"{p.name}.arrow" for p in parts}
        self._remove_files([f.name.rsplit(".", 1)[0] for f in self.folder.glob("part-*") if f.name not in known])

    def _remove_files(self, names: Sequence[str]) -> None:
        if self.folder is None:
            return
        for name in names:
            for suffix in (".npy", ".arrow"):
                (self.folder / f"{name}{suffix}").unlink(missing_ok=True)

    # ------------------------------------------------------------------ HNSW

    def _want_hnsw(self, rows: int) -> bool:
        if self.kind == "exact" or (self.kind == "auto" and rows < self.hnsw_threshold):
            return False
        try:
            import faiss  # noqa: F401
        except ImportError as exc:
            if self.kind == "hnsw":
                raise MissingDependency("faiss", "index") from exc
            if not any("faiss" in n for n in self.notes):
                self.notes.append(f"{rows:,} posts indexed: install the 'index' extra (faiss-cpu) for HNSW search")
            return False
        return True

    def _load_hnsw(self, described: dict[str, Any]) -> None:
        rows = int(described.get("hnsw_rows") or 0)
        view = self._view
        if rows and self.folder is not None and (self.folder / "hnsw.faiss").is_file() and self._want_hnsw(view.rows):
            import faiss

            try:
                graph = faiss.read_index(str(self.folder / "hnsw.faiss"))
                self._hnsw_rows = rows
                view = _View(view.parts, view.alive, view.signatures, graph)
            except RuntimeError:
                self._hnsw_rows = 0
        self._view = self._with_graph(view)

    def _with_graph(self, view: _View) -> _View:
        """The view with its HNSW graph: built once wanted (a new object), then extended by the rows
        appended since (under the graph lock: faiss does not search and add at once)."""
        if not self._want_hnsw(view.rows):
            self._hnsw_rows = 0
            return _View(view.parts, view.alive, view.signatures, None)
        import faiss

        graph = view.hnsw
        if graph is None or self._hnsw_rows > view.rows:
            graph = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            self._hnsw_rows = 0
        if self._hnsw_rows < view.rows:
            added = np.ascontiguousarray(_all_vectors(view.parts, self.dim)[self._hnsw_rows:], np.float32)
            with self._graph_lock:
                graph.add(added)
            self._hnsw_rows = view.rows
            if self.folder is not None:
                faiss.write_index(graph, str(self.folder / "hnsw.tmp"))
                os.replace(self.folder / "hnsw.tmp", self.folder / "hnsw.faiss")
        return _View(view.parts, view.alive, view.signatures, graph)

    # ------------------------------------------------------------------ search

    def search(self, queries: np.ndarray, k: int, exclude: Sequence[set[str]] | None = None) -> list[list[Hit]]:
        """The ``k`` most similar live posts per query row (a zero query finds nothing)."""
        view = self._view
        parts, alive, hnsw = view.parts, view.alive, view.hnsw
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        out: list[list[Hit]] = []
        for row, query in enumerate(queries):
            skip = exclude[row] if exclude is not None else set()
            if not np.any(query) or not len(alive):
                out.append([])
                continue
            found = self._hnsw_search(hnsw, query, k, alive, skip, parts) if hnsw is not None else None
            out.append(found if found is not None else self._exact(parts, alive, query, k, skip))
        return out

    def _exact(self, parts: list[_Part], alive: np.ndarray, query: np.ndarray, k: int, skip: set[str]) -> list[Hit]:
        scores, positions = [], []
        at = 0
        want = k + len(skip)
        for part in parts:
            sims = np.asarray(part.vectors) @ query
            sims = np.where(alive[at: at + len(sims)], sims, -np.inf)
            top = np.argpartition(-sims, min(want, len(sims) - 1))[:want] if len(sims) > want else np.arange(len(sims))
            scores.append(sims[top])
            positions.append(top + at)
            at += len(sims)
        if not scores:
            return []
        return self._hits(parts, np.concatenate(positions), np.concatenate(scores), k, skip)

    def _hnsw_search(self, hnsw: Any, query: np.ndarray, k: int, alive: np.ndarray, skip: set[str],
                     parts: list[_Part]) -> list[Hit] | None:
        hnsw.hnsw.efSearch = max(HNSW_EF_SEARCH, 4 * k)
        dead = len(alive) - int(alive.sum())
        want = min(len(alive), 2 * (k + len(skip)) + min(dead, 10 * k))
        with self._graph_lock:
            sims, found = hnsw.search(query[None, :], want)
        keep = (found[0] >= 0) & (found[0] < len(alive))
        positions, scores = found[0][keep], sims[0][keep]
        scores = np.where(alive[positions], scores, -np.inf)
        hits = self._hits(parts, positions, scores, k, skip)
        return hits if len(hits) >= min(k, int(alive.sum()) - len(skip)) else None

    def _hits(self, parts: list[_Part], positions: np.ndarray, scores: np.ndarray, k: int, skip: set[str]) -> list[Hit]:
        order = np.argsort(-scores, kind="stable")
        hits: list[Hit] = []
        for i in order:
            if not np.isfinite(scores[i]) or len(hits) == k:
                break
            record = _record(parts, int(positions[i]))
            if record["post_id"] in skip or not record["has_vector"]:
                continue
            hits.append(Hit(int(positions[i]), float(scores[i]), record))
        return hits


def _all_vectors(parts: list[_Part], dim: int) -> np.ndarray:
    return np.concatenate([np.asarray(p.vectors) for p in parts]) if parts else np.zeros((0, dim), np.float32)


def _record(parts: list[_Part], position: int) -> dict[str, Any]:
    for part in parts:
        if position < len(part.vectors):
            row = part.meta.slice(position, 1).to_pylist()[0]
            row["labels"] = json.loads(row["labels"] or "{}")
            return row
        position -= len(part.vectors)
    raise IndexError(position)


def _write_arrow(handle: Any, table: pa.Table) -> None:
    with pa.ipc.new_file(handle, table.schema) as writer:
        writer.write_table(table)


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
