"""Feature cache: encoder outputs keyed by (content sha256, encoder name@version), stored as Parquet.

``features/<name>@<version>/part-*.parquet``, one part per featurize batch, each written to a
temporary name and renamed, so a killed run loses at most the batch in flight and a re-run
computes only the keys no part holds yet. Parquet so that DuckDB, pandas and Ray read it as is.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from postlens.types import Features

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("seq_len", pa.int32()),
        ("sequence", pa.list_(pa.float32())),  # row-major (seq_len, dim) flattened
        ("text", pa.string()),
        ("info", pa.string()),  # JSON
        ("error", pa.string()),
    ]
)


class FeatureCache:
    def __init__(self, features_dir: Path) -> None:
        self.root = features_dir

    def folder(self, encoder_key: str) -> Path:
        return self.root / encoder_key.replace("/", "_")

    def parts(self, encoder_key: str) -> list[Path]:
        folder = self.folder(encoder_key)
        return sorted(folder.glob("part-*.parquet")) if folder.exists() else []

    def known_keys(self, encoder_key: str) -> set[str]:
        """Keys already computed (successfully or with an error) by this encoder version."""
        keys: set[str] = set()
        for part in self.parts(encoder_key):
            keys.update(pq.read_table(part, columns=["key"]).column("key").to_pylist())
        return keys

    def missing(self, encoder_key: str, keys: Iterable[str]) -> list[str]:
        known = self.known_keys(encoder_key)
        return list(dict.fromkeys(k for k in keys if k not in known))

    def write(self, encoder_key: str, keys: Sequence[str], features: Sequence[Features]) -> Path:
        if len(keys) != len(features):
            raise ValueError(f"{len(keys)} keys but {len(features)} features for {encoder_key}")
        folder = self.folder(encoder_key)
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(_columns(keys, features), schema=SCHEMA)
        final = folder / f"part-{uuid.uuid4().hex}.parquet"
        tmp = folder / f".tmp-{final.name}"
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        return final

    def texts(self, encoder_key: str) -> dict[str, str]:
        """key -> text of the rows that have text (OCR lines, transcripts), reading only those two columns."""
        out: dict[str, str] = {}
        for part in self.parts(encoder_key):
            table = pq.read_table(part, columns=["key", "text"])
            out.update((k, t) for k, t in zip(table.column("key").to_pylist(), table.column("text").to_pylist()) if t)
        return out

    def read(self, encoder_key: str, keys: Iterable[str] | None = None) -> dict[str, Features]:
        wanted = set(keys) if keys is not None else None
        out: dict[str, Features] = {}
        for part in self.parts(encoder_key):
            for row in pq.read_table(part).to_pylist():
                if wanted is None or row["key"] in wanted:
                    out[row["key"]] = _features(row)
        return out

    def vectors(self, encoder_key: str, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, present mask) aligned with ``keys``; rows without a vector are zeros."""
        found = {
            k: f.vector for k, f in self.read(encoder_key, keys).items() if f.vector is not None
        }
        dim = next((len(v) for v in found.values()), 0)
        matrix = np.zeros((len(keys), dim), dtype=np.float32)
        mask = np.zeros(len(keys), dtype=bool)
        for i, key in enumerate(keys):
            vec = found.get(key)
            if vec is not None:
                matrix[i], mask[i] = vec, True
        return matrix, mask


def _columns(keys: Sequence[str], features: Sequence[Features]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for key, feat in zip(keys, features):
        cols["key"].append(key)
        cols["vector"].append(None if feat.vector is None else np.asarray(feat.vector, np.float32).ravel())
        seq = None if feat.sequence is None else np.asarray(feat.sequence, np.float32)
        cols["seq_len"].append(None if seq is None else int(seq.shape[0]))
        cols["sequence"].append(None if seq is None else seq.ravel())
        cols["text"].append(feat.text)
        cols["info"].append(orjson.dumps(feat.info, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        cols["error"].append(feat.error)
    return cols


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in feature info")


def _features(row: dict[str, Any]) -> Features:
    vector = None if row["vector"] is None else np.asarray(row["vector"], dtype=np.float32)
    sequence = None
    if row["sequence"] is not None and row["seq_len"]:
        flat = np.asarray(row["sequence"], dtype=np.float32)
        sequence = flat.reshape(row["seq_len"], -1)
    info = orjson.loads(row["info"]) if row["info"] else {}
    return Features(vector=vector, sequence=sequence, text=row["text"], info=info, error=row["error"])
