"""Waveform crops per post for the RawNet encoder that the fusion network trains end to end.

Cached audio vectors (Whisper, log-mel statistics) are fixed; a label that lives in the sound
itself (a pitch, a beat, a jingle) is better learnt from the waveform. Decoding is the slow part,
so each file's crops are cached by content under ``<workspace>/features/waveforms/`` and held in
memory as float16 (half the RAM; RawNet standardises each crop anyway).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from postlens.models.config import WaveformConfig
from postlens.store.workspace import Workspace

WAVEFORM = "waveform"  # the modality name of the waveform token (masks, degradation reports)
CACHE_FOLDER = "waveforms"


def waveform_key(config: WaveformConfig) -> str:
    """Names what the crops are (for the artifact's feature keys and the data fingerprint)."""
    source = "audio+video" if config.from_video else "audio"
    return f"rawnet-crops@{config.seconds:g}s-x{config.max_crops}-{source}"


def load_waveforms(
    workspace: Workspace, ids: list[str], config: WaveformConfig, errors: list[str] | None = None
) -> tuple[list[np.ndarray | None], str]:
    """(n_crops, samples) float16 crops of each post's first decodable stored audio, or None.

    Audio files come before video sound tracks (a post's own audio is the intended sound). A file
    that fails to decode (a video without sound, a corrupt clip) is skipped, its error appended
    to ``errors``; the post gets the next file or, failing all, the missing token.
    """
    from postlens.encoders.audio.rawnet import CropCache

    kinds = ["audio", "video"] if config.from_video else ["audio"]
    wanted = set(ids)
    rows = workspace.db.execute(
        f"SELECT post_id, path FROM media WHERE status = 'stored' AND path IS NOT NULL "
        f"AND kind IN ({', '.join('?' for _ in kinds)}) "
        "ORDER BY post_id, CASE kind WHEN 'audio' THEN 0 ELSE 1 END, position",
        kinds,
    ).fetchall()
    per_post: dict[str, list[Path]] = {}
    for post_id, path in rows:
        if post_id in wanted:
            per_post.setdefault(post_id, []).append(workspace.root / path)
    cache = CropCache(workspace.features_dir / CACHE_FOLDER, seconds=config.seconds, max_crops=config.max_crops)
    by_path = _crops_by_path(cache, sorted({p for paths in per_post.values() for p in paths}), errors)
    out: list[np.ndarray | None] = []
    for post_id in ids:
        out.append(next((by_path[p] for p in per_post.get(post_id, []) if by_path.get(p) is not None), None))
    return out, waveform_key(config)


def _crops_by_path(cache: Any, paths: list[Path], errors: list[str] | None) -> dict[Path, np.ndarray | None]:
    found: dict[Path, np.ndarray | None] = {}
    for path, result in zip(paths, cache.get(paths)):
        if result.crops is None:
            if errors is not None:
                errors.append(result.error or f"no crops from {path}")
            found[path] = None
        else:
            found[path] = result.crops.astype(np.float16)
    return found


def pick_crops(
    crops: list[np.ndarray | None], present: np.ndarray, rng_values: np.ndarray | None, samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Crops to encode and the batch row each belongs to.

    Training (``rng_values`` in [0, 1) per row): one crop per present row, chosen by the value,
    so every epoch sees another part of the clip. Evaluation (None): every crop of every present
    row; the network averages the embeddings of a row's crops.
    """
    chosen: list[np.ndarray] = []
    owners: list[int] = []
    for row in np.flatnonzero(present):
        clip = crops[row]
        if clip is None or len(clip) == 0:
            continue
        clip = _fit_length(np.atleast_2d(clip), samples)
        if rng_values is not None:
            index = min(int(rng_values[row] * len(clip)), len(clip) - 1)
            chosen.append(clip[index : index + 1])
            owners.append(int(row))
        else:
            chosen.append(clip)
            owners.extend([int(row)] * len(clip))
    if not chosen:
        return np.zeros((0, samples), np.float32), np.zeros(0, np.int64)
    return np.concatenate(chosen).astype(np.float32), np.asarray(owners, np.int64)


def _fit_length(clip: np.ndarray, samples: int) -> np.ndarray:
    """Crops from another crop length (an array passed in by hand): tile or cut to ``samples``."""
    if clip.shape[1] == samples:
        return clip
    if clip.shape[1] > samples:
        return clip[:, :samples]
    reps = -(-samples // clip.shape[1])
    return np.tile(clip, (1, reps))[:, :samples]
