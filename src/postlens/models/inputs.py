"""PostData: what every model reads - one matrix + presence mask per modality, plus metadata.

Kept free of the workspace so that a saved model predicts from arrays alone (an API, a notebook,
a test) and so that synthetic data exercises exactly the code path real data does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

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

    def subset(self, rows: np.ndarray) -> "PostData":
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

    def select(self, modalities: list[str], *, meta: bool = True) -> "PostData":
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

    def without(self, modality: str) -> "PostData":
        """The same posts as if ``modality`` had never been collected (graceful-degradation tests)."""
        masks = dict(self.masks)
        masks[modality] = np.zeros(len(self), dtype=bool)
        matrices = dict(self.modalities)
        if modality in matrices:
            matrices[modality] = np.zeros_like(self.modalities[modality])
        sequences = {k: ([None] * len(self) if k == modality else v) for k, v in self.sequences.items()}
        waveforms = {k: ([None] * len(self) if k == modality else v) for k, v in self.waveforms.items()}
        return replace(self, modalities=matrices, masks=masks, sequences=sequences, waveforms=waveforms)

    def flat(self, modalities: list[str] | None = None) -> np.ndarray:
        """[each modality * mask | each mask | metadata]: the input of sklearn baselines and SMOTE."""
        names = modalities if modalities is not None else sorted(self.modalities)
        blocks = [self.modalities[m] * self.masks[m][:, None] for m in names]
        blocks += [self.masks[m][:, None].astype(np.float32) for m in names]
        blocks.append(self.meta)
        return np.concatenate(blocks, axis=1).astype(np.float32)

    @classmethod
    def from_flat(cls, flat: np.ndarray, template: "PostData", modalities: list[str] | None = None) -> "PostData":
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
        return cls(modalities=matrices, masks=masks, meta=flat[:, at:].astype(np.float32),
                   meta_names=list(template.meta_names))

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
