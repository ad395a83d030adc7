"""Fill ``PostParts`` from a workspace: the ``posts``, ``text_fields`` and ``media`` tables and the feature cache.

Encoders are read at the version this postlens builds them (never "the newest cache folder"),
so a topic model never mixes vectors of two encoder versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from postlens.encoders.identity import installed_identity, text_key
from postlens.errors import ConfigError
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace
from postlens.tasks.segments.parts import TEXT_FIELDS, Labels, PostParts
from postlens.types import MEDIA_KINDS_OF, Modality

TEXT_ENCODER = "minilm"
IMAGE_ENCODER = "efficientnet"
MIN_LABEL_PROB = 0.2
"""Image labels below this probability are not words of the post (ImageNet guesses are noisy)."""


@dataclass(frozen=True)
class EncoderKeys:
    """Cache folders read for each part (``name@version``)."""

    text: str
    image: str
    video: str
    audio: str

    @classmethod
    def installed(cls) -> EncoderKeys:
        return cls(*(installed_identity(n).key for n in (TEXT_ENCODER, IMAGE_ENCODER, "video", "audio")))


def load_parts(
    workspace: Workspace, post_ids: Sequence[str] | None = None, *, keys: EncoderKeys | None = None
) -> PostParts:
    """Parts of ``post_ids`` (every post when None), in that order (by id when None)."""
    keys = keys or EncoderKeys.installed()
    cache = FeatureCache(workspace.features_dir)
    if not cache.parts(keys.text):
        raise ConfigError(
            f"no cached text vectors ({keys.text}) in {workspace.features_dir}; "
            f"run 'postlens featurize --encoders {TEXT_ENCODER}' first"
        )
    rows = _post_rows(workspace, post_ids)
    ids = [r[0] for r in rows]
    index = {pid: i for i, pid in enumerate(ids)}
    n = len(ids)
    field_keys: dict[str, dict[int, str]] = {f: {} for f in TEXT_FIELDS}
    field_texts: dict[int, list[str]] = {}
    for i, (_, text, _, _) in enumerate(rows):
        if text and text.strip():
            field_keys["text"][i] = text_key(text)
            field_texts.setdefault(i, []).append(text)
    with _registered(workspace, ids):
        derived = (
            workspace.db.execute(
                "SELECT post_id, field, text, key FROM text_fields WHERE field <> 'text' "
                "AND post_id IN (SELECT id FROM _segment_ids) ORDER BY post_id, field"
            ).fetchall()
            if _has_table(workspace, "text_fields")
            else []
        )
        media = workspace.db.execute(
            "SELECT post_id, kind, sha256 FROM media WHERE status = 'stored' "
            "AND post_id IN (SELECT id FROM _segment_ids) ORDER BY post_id, position"
        ).fetchall()
    media_texts: dict[int, list[str]] = {}
    for post_id, field_name, text, key in derived:
        if field_name in field_keys:
            field_keys[field_name][index[post_id]] = key
            field_texts.setdefault(index[post_id], []).append(text)
            media_texts.setdefault(index[post_id], []).append(text)
    text_vectors = cache.read(keys.text, {k for f in field_keys.values() for k in f.values()})
    vectors: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name, by_row in field_keys.items():
        vectors[name], masks[name] = _stack(
            n, {i: text_vectors[k].vector for i, k in by_row.items() if k in text_vectors}
        )
    labels: list[Labels] = [[] for _ in range(n)]
    _media_parts(cache, keys, media, index, n, vectors, masks, labels)
    return PostParts(
        ids=ids,
        vectors=vectors,
        masks=masks,
        labels=labels,
        texts=["\n".join(field_texts.get(i, [])) for i in range(n)],
        media_texts=["\n".join(media_texts.get(i, [])) for i in range(n)],
        languages=[r[2] for r in rows],
        times=np.array([r[3].timestamp() if r[3] is not None else np.nan for r in rows], float),
    )


def _media_parts(
    cache: FeatureCache,
    keys: EncoderKeys,
    media: list[tuple[str, str, str]],
    index: dict[str, int],
    n: int,
    vectors: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    labels: list[Labels],
) -> None:
    """Image and video-frame vectors share EfficientNet's space: both become the ``image``/``video`` parts;
    audio clips and video sound tracks the ``audio`` part. A post's several items are averaged."""
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for post_id, kind, sha in media:
        by_kind.setdefault(kind, []).append((index[post_id], sha))
    images = cache.read(keys.image, {s for k in MEDIA_KINDS_OF[Modality.IMAGE] for _, s in by_kind.get(k, [])})
    videos = cache.read(keys.video, {s for _, s in by_kind.get("video", [])})
    audios = cache.read(keys.audio, {s for _, s in by_kind.get("audio", [])})
    collected: dict[str, dict[int, list[np.ndarray]]] = {"image": {}, "video": {}, "audio": {}}
    frame_dim = installed_identity(IMAGE_ENCODER).dim or 0
    for kind in MEDIA_KINDS_OF[Modality.IMAGE]:
        for row, sha in by_kind.get(kind, []):
            found = images.get(sha)
            if found is not None and found.vector is not None:
                collected["image"].setdefault(row, []).append(found.vector)
                labels[row].extend(_labels(found.info))
    for row, sha in by_kind.get("video", []):
        found = videos.get(sha)
        if found is None or found.vector is None or not frame_dim:
            continue
        frames, sound = _video_slices(found.vector, frame_dim)
        if frames is not None:
            collected["video"].setdefault(row, []).append(frames)
        if sound is not None:
            collected["audio"].setdefault(row, []).append(sound)
    for row, sha in by_kind.get("audio", []):
        found = audios.get(sha)
        if found is not None and found.vector is not None:
            collected["audio"].setdefault(row, []).append(found.vector)
    for name, by_row in collected.items():
        widths = {len(v) for vs in by_row.values() for v in vs}
        if len(widths) > 1:
            raise ConfigError(
                f"the {name} vectors in the feature cache have widths {sorted(widths)}; "
                "the cache mixes encoder versions: delete that folder and run featurize again"
            )
        vectors[name], masks[name] = _stack(n, {i: np.mean(vs, axis=0) for i, vs in by_row.items()})


def _video_slices(vector: np.ndarray, frame_dim: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The mean frame embedding and the sound-track embedding of a video vector (layout in
    ``encoders/video/pipeline.py``: frames mean, frames max, audio, 4 facts)."""
    audio_dim = installed_identity("audio").dim or 0
    frames = vector[:frame_dim]
    sound = vector[2 * frame_dim : 2 * frame_dim + audio_dim] if len(vector) >= 2 * frame_dim + audio_dim else None
    has = lambda v: v is not None and len(v) and np.isfinite(v).all() and np.abs(v).sum() > 0  # noqa: E731
    return (frames if has(frames) else None), (sound if audio_dim and has(sound) else None)


def _labels(info: dict[str, object]) -> Labels:
    found = info.get("labels") or []
    out: Labels = []
    for item in found if isinstance(found, list) else []:
        if isinstance(item, dict) and "name" in item and float(item.get("prob", 0.0)) >= MIN_LABEL_PROB:
            out.append((str(item["name"]), float(item["prob"])))
    return out


def _stack(n: int, rows: dict[int, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    present = {i: v for i, v in rows.items() if v is not None}
    dim = next((len(v) for v in present.values()), 0)
    matrix = np.zeros((n, dim), np.float32)
    mask = np.zeros(n, bool)
    for i, vector in present.items():
        matrix[i], mask[i] = vector, True
    return matrix, mask


def _post_rows(workspace: Workspace, post_ids: Sequence[str] | None) -> list[tuple]:
    sql = "SELECT id, text, language, created_at FROM posts"
    if post_ids is None:
        return workspace.db.execute(sql + " ORDER BY id").fetchall()
    wanted = list(dict.fromkeys(post_ids))
    with _registered(workspace, wanted):
        found = {r[0]: r for r in workspace.db.execute(sql + " WHERE id IN (SELECT id FROM _segment_ids)").fetchall()}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
    return [found[p] for p in wanted]


class _registered:
    """``_segment_ids`` as a temporary view of ``ids`` for the duration of a ``with`` block."""

    def __init__(self, workspace: Workspace, ids: Sequence[str]) -> None:
        self.db, self.ids = workspace.db, ids

    def __enter__(self) -> None:
        self.db.register("_segment_ids", pa.table({"id": pa.array(list(self.ids), pa.string())}))

    def __exit__(self, *_: object) -> None:
        self.db.unregister("_segment_ids")


def _has_table(workspace: Workspace, name: str) -> bool:
    found = workspace.db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])
