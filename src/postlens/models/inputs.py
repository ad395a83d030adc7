"""PostData: what every model reads - one matrix + presence mask per modality, plus metadata.

Kept free of the workspace so that a saved model predicts from arrays alone (an API, a notebook,
a test) and so that synthetic data exercises exactly the code path real data does.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass
class PostData:
    """Inputs for ``n`` posts.

    modalities  name -> (n, d) float32; rows of absent items are zeros
    masks       name -> (n,) bool, True where the post has that modality
    sequences   name -> list of (T, d) arrays or None (video frames); optional, for temporal encoders
    meta        (n, m) float32 metadata (followers, hour, weekday, media kinds...)
    waveforms   name -> list of (n_crops, samples) float16/32 audio crops or None, for a waveform
                encoder trained end to end; its presence mask is ``masks[name]`` (no vector matrix)
    texts       raw texts, only needed to fine-tune / run a text encoder end to end
    ids         post ids (for fingerprints and reports)
    """

    modalities: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    meta: np.ndarray
    meta_names: list[str] = field(default_factory=list)
    sequences: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    texts: list[str] | None = None
    waveforms: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    ids: list[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.meta)
        for name, matrix in self.modalities.items():
            if len(matrix) != n or len(self.masks.get(name, ())) != n:
                raise ValueError(f"modality {name!r} has {len(matrix)} rows / mask, metadata has {n}: align them")
        for name, crops in self.waveforms.items():
            if len(crops) != n or len(self.masks.get(name, ())) != n:
                raise ValueError(f"waveform {name!r} has {len(crops)} rows / mask, metadata has {n}: align them")

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def dims(self) -> dict[str, int]:
        return {name: int(matrix.shape[1]) for name, matrix in self.modalities.items()}

    def subset(self, rows: np.ndarray) -> PostData:
        rows = np.asarray(rows)
        return PostData(
            modalities={k: v[rows] for k, v in self.modalities.items()},
            masks={k: v[rows] for k, v in self.masks.items()},
            meta=self.meta[rows],
            meta_names=list(self.meta_names),
            sequences={k: [v[i] for i in rows] for k, v in self.sequences.items()},
            texts=None if self.texts is None else [self.texts[i] for i in rows],
            ids=None if self.ids is None else [self.ids[i] for i in rows],
            waveforms={k: [v[i] for i in rows] for k, v in self.waveforms.items()},
        )

    def select(self, modalities: list[str], *, meta: bool = True) -> PostData:
        """Only these modalities (and metadata or not): for single-modality baselines and students."""
        unknown = [m for m in modalities if m not in self.modalities and m not in self.waveforms]
        if unknown:
            raise KeyError(f"no modality {unknown}; have {sorted(set(self.modalities) | set(self.waveforms))}")
        return replace(
            self,
            modalities={m: self.modalities[m] for m in modalities if m in self.modalities},
            masks={m: self.masks[m] for m in modalities},
            sequences={m: s for m, s in self.sequences.items() if m in modalities},
            waveforms={m: w for m, w in self.waveforms.items() if m in modalities},
            meta=self.meta if meta else np.zeros((len(self), 0), np.float32),
            meta_names=self.meta_names if meta else [],
        )

    def without(self, modality: str) -> PostData:
        """The same posts as if ``modality`` had never been collected (graceful-degradation tests)."""
        masks = dict(self.masks)
        masks[modality] = np.zeros(len(self), dtype=bool)
        matrices = dict(self.modalities)
        if modality in matrices:
            matrices[modality] = np.zeros_like(self.modalities[modality])
        nothing: list[np.ndarray | None] = [None] * len(self)
        sequences = {k: (list(nothing) if k == modality else v) for k, v in self.sequences.items()}
        waveforms = {k: (list(nothing) if k == modality else v) for k, v in self.waveforms.items()}
        return replace(self, modalities=matrices, masks=masks, sequences=sequences, waveforms=waveforms)

    def flat(self, modalities: list[str] | None = None) -> np.ndarray:
        """[each modality * mask | each mask | metadata]: the input of sklearn baselines and SMOTE."""
        names = modalities if modalities is not None else sorted(self.modalities)
        blocks = [self.modalities[m] * self.masks[m][:, None] for m in names]
        blocks += [self.masks[m][:, None].astype(np.float32) for m in names]
        blocks.append(self.meta)
        return np.concatenate(blocks, axis=1).astype(np.float32)

    @classmethod
    def from_flat(cls, flat: np.ndarray, template: PostData, modalities: list[str] | None = None) -> PostData:
        """Inverse of ``flat`` (SMOTE makes new rows in flat space); masks are rounded back to bool."""
        names = modalities if modalities is not None else sorted(template.modalities)
        dims = template.dims
        at = 0
        matrices: dict[str, np.ndarray] = {}
        for m in names:
            matrices[m] = flat[:, at : at + dims[m]].astype(np.float32)
            at += dims[m]
        masks: dict[str, np.ndarray] = {}
        for m in names:
            masks[m] = flat[:, at] >= 0.5
            matrices[m][~masks[m]] = 0.0
            at += 1
        return cls(
            modalities=matrices, masks=masks, meta=flat[:, at:].astype(np.float32), meta_names=list(template.meta_names)
        )

    def fingerprint(self, feature_keys: list[str] | None = None) -> str:
        """sha256 of the post ids (or the arrays when there are none) and the encoder keys used."""
        digest = hashlib.sha256()
        if self.ids is not None:
            for post_id in self.ids:
                digest.update(post_id.encode() + b"\0")
        else:
            for name in sorted(self.modalities):
                digest.update(np.ascontiguousarray(self.modalities[name]).tobytes())
        for key in feature_keys or []:
            digest.update(b"\1" + key.encode())
        return digest.hexdigest()


def stack_present(rows: list[np.ndarray | None], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (or None) -> (n, dim) matrix and presence mask."""
    matrix = np.zeros((len(rows), dim), np.float32)
    mask = np.zeros(len(rows), bool)
    for i, row in enumerate(rows):
        if row is not None:
            matrix[i], mask[i] = row, True
    return matrix, mask


BLOCK_COLUMN = re.compile(r"^(?P<block>.+)\.(?P<index>\d+)$")
"""``minilm.0``, ``minilm.1``...: the columns of one feature block (``postlens.open(...).features``)."""
TEXT_COLUMN = "text"
ARRAY_BLOCK = "x"
"""The block name a plain 2-D array becomes."""


def as_post_data(X: Any) -> PostData:
    """The one converter every estimator applies to ``X``, so a notebook and the pipeline feed models alike.

    - ``PostData``: as is (the training pipeline).
    - a pandas DataFrame: columns ``<block>.<i>`` form one modality block each (a row all NaN in a
      block = the post lacks that modality, the way ``ws.features(...)`` marks it); a string column
      ``text`` gives the raw texts (fine-tuning); any other numeric column is metadata. The index
      gives the post ids.
    - a Series or 1-D sequence of strings: raw texts only.
    - any other 2-D array: one block ``x``, a row all NaN = absent.

    A block row partly NaN, NaN metadata and non-numeric columns are refused, naming the post and column.
    """
    if isinstance(X, PostData):
        return X
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(X, pd.DataFrame):
        return _from_frame(X)
    if pd is not None and isinstance(X, pd.Series):
        return _from_texts(X.tolist(), [str(i) for i in X.index])
    if isinstance(X, (list, tuple)) and X and all(isinstance(v, str) for v in X):
        return _from_texts(list(X), None)
    array = np.asarray(X)
    if array.ndim == 1 and array.dtype.kind in "UO":
        return _from_texts(array.tolist(), None)
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-D (posts x features), a DataFrame from ws.features(...) or texts; got shape {array.shape}"
        )
    if array.dtype.kind not in "biuf":
        raise ValueError(f"X holds {array.dtype} values; features must be numbers")
    matrix, mask = _block(array.astype(np.float32), ARRAY_BLOCK, None)
    return PostData(
        modalities={ARRAY_BLOCK: matrix}, masks={ARRAY_BLOCK: mask}, meta=np.zeros((len(array), 0), np.float32)
    )


def _from_texts(texts: list[Any], ids: list[str] | None) -> PostData:
    n = len(texts)
    return PostData(
        modalities={}, masks={}, meta=np.zeros((n, 0), np.float32), texts=[_text(t) for t in texts], ids=ids
    )


def _text(value: Any) -> str:
    """A cell of a text column: missing (None, NaN, pd.NA) is the empty text."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return ""
    return str(value)


def _from_frame(frame: Any) -> PostData:
    ids = [str(i) for i in frame.index]
    blocks: dict[str, list[tuple[int, Any]]] = {}
    meta_columns: list[Any] = []
    rejected: list[str] = []
    texts = None
    for column in frame.columns:
        found = BLOCK_COLUMN.match(column) if isinstance(column, str) else None
        if found:
            blocks.setdefault(found["block"], []).append((int(found["index"]), column))
        elif column == TEXT_COLUMN and frame[column].dtype.kind in "OSU":
            texts = [_text(t) for t in frame[column].tolist()]
        elif frame[column].dtype.kind in "biuf":
            meta_columns.append(column)
        else:
            rejected.append(str(column))
    if rejected:
        raise ValueError(
            f"X has non-numeric columns {rejected[:8]}: pass feature columns (ws.features(...)), optionally "
            "joined with numeric post columns, and a 'text' column only for models that read raw text"
        )
    modalities: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name, columns in blocks.items():
        ordered = [c for _, c in sorted(columns)]
        modalities[name], masks[name] = _block(frame[ordered].to_numpy(np.float32, na_value=np.nan), name, ids)
    meta = (
        frame[meta_columns].to_numpy(np.float32, na_value=np.nan)
        if meta_columns
        else np.zeros((len(frame), 0), np.float32)
    )
    bad = np.isnan(meta)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"metadata column {meta_columns[col]!r} is NaN for {int(bad[:, col].sum())} posts (e.g. post "
            f"{ids[row]!r}); fill or drop it (only feature blocks '<name>.<i>' may be NaN: missing modality)"
        )
    return PostData(
        modalities=modalities, masks=masks, meta=meta, meta_names=[str(c) for c in meta_columns], texts=texts, ids=ids
    )


def _block(matrix: np.ndarray, name: str, ids: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """(matrix with absent rows zeroed, presence mask): a row all NaN is absent, partly NaN is an error."""
    nan = np.isnan(matrix)
    absent = nan.all(axis=1) if matrix.shape[1] else np.zeros(len(matrix), bool)
    partial = nan.any(axis=1) & ~absent
    if partial.any():
        row = int(np.flatnonzero(partial)[0])
        who = f"post {ids[row]!r}" if ids else f"row {row}"
        raise ValueError(
            f"{who}: its {name!r} block is partly NaN ({int(nan[row].sum())} of {matrix.shape[1]} values); "
            f"a block is all numbers (present) or all NaN (missing). {int(partial.sum())} rows are like this"
        )
    out = np.where(nan, np.float32(0), matrix).astype(np.float32, copy=False)
    return out, ~absent
