"""One batch's features in the shapes the tasks read, built in memory the way the workspace loaders build
them from the tables and the feature cache:

- ``post_parts``      -> ``PostParts`` (segments; as ``tasks/segments/load.py``)
- ``model_inputs``    -> ``PostData`` for a trained model (as ``models/data.py``'s ``load_post_data``)
- ``popularity_frame``-> ``PopularityFrame`` (as ``tasks/popularity/frame.py``'s ``load_frame``)

A post the agent reads thus gets the inputs it would get once imported and featurized; the agent's
tests compare both paths on the same post.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from postlens.agent.features import BatchFeatures, PostFeatures
from postlens.agent.inputs import AgentPost
from postlens.encoders.identity import installed_identity
from postlens.models.data import metadata_matrix
from postlens.models.inputs import PostData, stack_present
from postlens.tasks.popularity.frame import (  # the loader's own helpers, so both paths read a post alike
    AUTHOR_FACTS,
    EMBEDDING,
    NAMED,
    POST_FACTS,
    Block,
    PopularityFrame,
    _author_matrix,
    _sentiment_names,
    _twitter_time,
)
from postlens.tasks.segments.load import _labels, _video_slices
from postlens.tasks.segments.parts import TEXT_FIELDS, PostParts
from postlens.types import Modality

IMAGE_KINDS = (Modality.IMAGE, Modality.GIF)
MODALITY_KINDS = {"image": IMAGE_KINDS, "video": (Modality.VIDEO,), "audio": (Modality.AUDIO,)}
"""A model's media modality -> the kinds it averages (``models/data.py``'s MODALITY_MEDIA)."""
MEDIA_ENCODER = {"image": "efficientnet", "video": "video", "audio": "audio"}


def _mean(vectors: Sequence[np.ndarray]) -> np.ndarray | None:
    return np.mean(vectors, axis=0).astype(np.float32) if vectors else None


def _stack(n: int, rows: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    dim = next((len(v) for v in rows.values()), 0)
    matrix, mask = np.zeros((n, dim), np.float32), np.zeros(n, bool)
    for i, vector in rows.items():
        matrix[i], mask[i] = vector, True
    return matrix, mask


def post_parts(batch: BatchFeatures, text_encoder: str, times: np.ndarray) -> PostParts:
    """The segments' view: text-field vectors, image / video-frame / audio vectors, image labels, words."""
    n = len(batch.posts)
    vectors: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name in TEXT_FIELDS:
        rows = {i: item.vectors.get(text_encoder, {})[name] for i, item in enumerate(batch.items)
                if name in item.vectors.get(text_encoder, {})}
        vectors[name], masks[name] = _stack(n, rows)
    frame_dim = installed_identity("efficientnet").dim or 0
    collected: dict[str, dict[int, list[np.ndarray]]] = {"image": {}, "video": {}, "audio": {}}
    labels: list[list[tuple[str, float]]] = [[] for _ in range(n)]
    for i, (post, item) in enumerate(zip(batch.posts, batch.items)):
        for gated in post.media:
            found = item.media.get(gated.index, {})
            if gated.kind in IMAGE_KINDS and _usable(found.get("efficientnet")):
                collected["image"].setdefault(i, []).append(found["efficientnet"].vector)
                labels[i].extend(_labels(found["efficientnet"].info))
            elif gated.kind == Modality.VIDEO and _usable(found.get("video")) and frame_dim:
                frames, sound = _video_slices(found["video"].vector, frame_dim)
                if frames is not None:
                    collected["video"].setdefault(i, []).append(frames)
                if sound is not None:
                    collected["audio"].setdefault(i, []).append(sound)
            elif gated.kind == Modality.AUDIO and _usable(found.get("audio")):
                collected["audio"].setdefault(i, []).append(found["audio"].vector)
    for name, by_row in collected.items():
        vectors[name], masks[name] = _stack(n, {i: np.mean(vs, axis=0) for i, vs in by_row.items()})
    texts = ["\n".join(item.fields[f] for f in ("text", "ocr", "transcript", "video_text") if f in item.fields)
             for item in batch.items]
    languages = [p.post.language or (item.language.code if item.language else None)
                 for p, item in zip(batch.posts, batch.items)]
    return PostParts(ids=[p.post.id for p in batch.posts], vectors=vectors, masks=masks, labels=labels,
                     texts=texts, languages=languages, times=times)


def _usable(features: Any) -> bool:
    return features is not None and not features.error and features.vector is not None


def post_rows(posts: Sequence[AgentPost]) -> list[dict[str, Any]]:
    """Each post as a ``posts`` table row (what ``metadata_matrix`` reads)."""
    return [{"id": p.post.id, "created_at": p.post.created_at, "text": p.post.text,
             "author_id": p.post.author.id, "author_followers": p.post.author.followers,
             "hashtags": list(p.post.hashtags), "labels": dict(p.post.labels),
             "media_kinds": [str(m.kind) for m in p.media]} for p in posts]


def model_inputs(model: Any, config: Any, batch: BatchFeatures) -> PostData:
    """PostData for a trained model: per modality the mean of the post's vectors from the model's encoders."""
    n = len(batch.posts)
    dims = model.dims
    modalities: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    sequences: dict[str, list[np.ndarray | None]] = {}
    for modality, entry in model.encoders.items():
        encoder = entry.get("encoder")
        if modality == "text":
            rows = [_mean([item.vectors.get(encoder, {})[f] for f in model.text_fields
                           if f in item.vectors.get(encoder, {})]) for item in batch.items]
        else:
            rows = [_mean(item.media_vectors(post, MODALITY_KINDS[modality], MEDIA_ENCODER[modality]))
                    for post, item in zip(batch.posts, batch.items)]
            if modality in config.features.sequences:
                sequences[modality] = [_first_sequence(post, item, modality) for post, item in zip(batch.posts, batch.items)]
        dim = dims.get(modality) or next((len(v) for v in rows if v is not None), 1)
        modalities[modality], masks[modality] = stack_present(rows, dim)
    meta, names = (metadata_matrix(post_rows(batch.posts)) if config.features.metadata
                   else (np.zeros((n, 0), np.float32), []))
    waveforms: dict[str, list[np.ndarray | None]] = {}
    if config.features.waveform.enabled:
        from postlens.agent.waveforms import crops_of
        from postlens.models.waveform import WAVEFORM

        waveforms[WAVEFORM] = crops_of(batch.posts, config.features.waveform)
        masks[WAVEFORM] = np.array([w is not None for w in waveforms[WAVEFORM]], bool)
    return PostData(modalities=modalities, masks=masks, meta=meta, meta_names=names, sequences=sequences,
                    texts=[p.post.text for p in batch.posts], ids=[p.post.id for p in batch.posts], waveforms=waveforms)


def _first_sequence(post: AgentPost, item: PostFeatures, modality: str) -> np.ndarray | None:
    for gated in post.media:
        if gated.kind in MODALITY_KINDS[modality]:
            found = item.media.get(gated.index, {}).get(MEDIA_ENCODER[modality])
            if found is not None and not found.error and found.sequence is not None:
                return found.sequence
    return None


def popularity_frame(model: Any, info: dict[str, Any], batch: BatchFeatures) -> PopularityFrame:
    """The popularity model's inputs for the batch (no target: these posts are at publish time)."""
    config = model.config
    n = len(batch.posts)
    blocks: dict[str, Block] = {}
    dims = info.get("dims", {})
    for modality, encoder in config.features.modalities.items():
        if modality == "text":
            rows = [item.vectors.get(encoder, {}).get("text") for item in batch.items]
        else:
            rows = [_mean(item.media_vectors(post, MODALITY_KINDS[modality], MEDIA_ENCODER[modality]))
                    for post, item in zip(batch.posts, batch.items)]
        blocks[modality] = Block(modality, _nan_matrix(rows, int(dims.get(modality) or 1)),
                                 [f"{modality}_{j}" for j in range(int(dims.get(modality) or 1))], EMBEDDING)
    if config.features.sentiment:
        width = int(dims.get("sentiment") or 4)
        rows = [None if item.vader is None or item.vader.error else item.vader.vector for item in batch.items]
        blocks["sentiment"] = Block("sentiment", _nan_matrix(rows, width), _sentiment_names(config.features.sentiment, width), NAMED)
    times = np.array([p.post.created_at.timestamp() if p.post.created_at else np.nan for p in batch.posts])
    meta, names = metadata_matrix(post_rows(batch.posts))
    kept = model.block_columns_.get("metadata", names)
    blocks["metadata"] = Block("metadata", meta[:, [names.index(c) for c in kept]], list(kept), NAMED)
    extra = [_post_facts(p) for p in batch.posts]
    if config.features.author_facts:
        blocks["author"] = Block("author", _author_matrix(extra, times), list(AUTHOR_FACTS), NAMED)
        blocks["post"] = Block("post", np.array([[e["is_reply"], e["n_mentions"], e["n_urls"]] for e in extra],
                                                np.float32).reshape(n, len(POST_FACTS)), list(POST_FACTS), NAMED)
    followers = np.array([np.nan if p.post.author.followers is None or p.post.author.followers < 0
                          else float(p.post.author.followers) for p in batch.posts])
    return PopularityFrame(
        ids=[p.post.id for p in batch.posts], platform=np.array([p.post.platform for p in batch.posts], object),
        author=np.array([e["author_key"] for e in extra], object), followers=followers, times=times,
        y=np.full(n, np.nan), blocks=blocks, tags=[list(p.post.hashtags) for p in batch.posts],
        feature_keys=dict(info.get("feature_keys", {})), dims=dict(dims))


def _nan_matrix(rows: Sequence[np.ndarray | None], width: int) -> np.ndarray:
    out = np.full((len(rows), width), np.nan, np.float32)
    for i, row in enumerate(rows):
        if row is not None and len(row) == width:
            out[i] = row
    return out


def _post_facts(agent_post: AgentPost) -> dict[str, Any]:
    """What ``frame._post_facts`` reads from the ``posts`` row and its raw record (a Twitter user object)."""
    post = agent_post.post
    raw = post.raw if isinstance(post.raw, dict) else {}
    user = raw.get("user") if isinstance(raw.get("user"), dict) else {}
    author = post.author.id or (post.author.handle.lower() if post.author.handle else None) or f"?{post.id}"

    def number(name: str) -> float | None:
        value = user.get(name)
        try:
            return None if value is None or isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            return None

    since = user.get("created_at")
    return {"platform": post.platform, "author_key": f"{post.platform}:{author}", "verified": post.author.verified,
            "n_mentions": float(len(post.mentions)), "n_urls": float(len(post.urls)), "listed": number("listed_count"),
            "statuses": number("statuses_count"), "friends": number("friends_count"),
            "favourites": number("favourites_count"),
            "account_since": _twitter_time(since) if isinstance(since, str) else None,
            "is_reply": float(raw.get("in_reply_to_status_id_str") is not None), "created_at": post.created_at}
