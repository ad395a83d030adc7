"""Assemble training inputs from a workspace: cached features per modality, metadata, targets, groups.

Everything comes from the DuckDB tables and the feature cache; no model runs here. A modality a
post lacks (no image, image failed to decode, no transcript) is a False in its mask, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

import numpy as np

from postlens.encoders.identity import cache_prefix, installed_identity, text_key
from postlens.errors import ConfigError
from postlens.models.config import TrainConfig
from postlens.models.inputs import PostData, stack_present
from postlens.models.stream import Links, StreamSource, block_width
from postlens.store.duplicates import cluster_of, last_dedupe_report
from postlens.store.features import FeatureCache
from postlens.store.post_filter import select_post_ids
from postlens.store.workspace import Workspace

MEDIA_KINDS = ("image", "gif", "video", "audio")
MODALITY_MEDIA = {"image": ("image", "gif"), "video": ("video",), "audio": ("audio",)}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
POST_CHUNK = 4096
"""Post rows fetched from DuckDB at a time."""


@dataclass
class TrainingSet:
    """PostData plus what to learn (``y``), how to split (``times``, ``groups``) and the label map."""

    data: PostData
    y: np.ndarray  # class index (n,), multi-hot (n, k) or float (n,)
    task: str
    classes: list[str] = field(default_factory=list)
    y_value: np.ndarray | None = None  # popularity, for the auxiliary regression head
    times: np.ndarray | None = None  # seconds since epoch, NaN when unknown
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # per-row keys splits use: author, group, column
    feature_keys: dict[str, str] = field(default_factory=dict)  # feature block -> encoder cache key
    notes: dict[str, int] = field(default_factory=dict)  # counts a report should show (posts left out...)
    selection: dict[str, Any] = field(default_factory=dict)  # config.where, posts it matched, posts in the workspace
    stream: StreamSource | None = None  # assemble(vectors=False): data has no vectors; they are read per batch

    @property
    def dims(self) -> dict[str, int]:
        """Feature block -> width (from the cache when the vectors are streamed)."""
        return dict(self.stream.dims) if self.stream is not None else self.data.dims

    def subset(self, rows: np.ndarray) -> TrainingSet:
        return TrainingSet(
            data=self.data.subset(rows),
            y=self.y[rows],
            task=self.task,
            classes=self.classes,
            y_value=None if self.y_value is None else self.y_value[rows],
            times=None if self.times is None else self.times[rows],
            groups={k: v[rows] for k, v in self.groups.items()},
            feature_keys=self.feature_keys,
            notes=self.notes,
            selection=self.selection,
            stream=None if self.stream is None else self.stream.subset(rows),
        )


def resolve_encoder_key(cache: FeatureCache, name: str) -> str:
    """``minilm`` -> the cache key of that encoder as this postlens configures it, e.g. ``text-minilm-l6@1.9d55ef50``.

    Never "the newest folder": another version's vectors (other settings, another postlens) would
    be read silently. ``name@version`` picks a cached version explicitly.
    """
    if "@" in name:
        if not cache.parts(name):
            raise ConfigError(f"no cached features {name!r} in {cache.root}; run 'postlens featurize' first")
        return name
    key = installed_identity(name).key
    if cache.parts(key):
        return key
    others = sorted(
        f.name for f in cache.root.glob(f"{cache_prefix(key)}@*") if f.name != key and any(f.glob("part-*.parquet"))
    )
    hint = (
        (
            f". Other versions of it are cached ({', '.join(others)}), made with other settings or another "
            f"postlens; to train on one, name it in features.modalities (e.g. '{others[-1]}')"
        )
        if others
        else ""
    )
    raise ConfigError(
        f"no cached features of encoder {name!r} as configured here ({key}) in {cache.root}; "
        f"run 'postlens featurize --encoders {name}' first{hint}"
    )


def load_post_data(
    workspace: Workspace,
    config: TrainConfig,
    post_ids: list[str] | None = None,
    *,
    feature_keys: dict[str, str] | None = None,
    dims: dict[str, int] | None = None,
    vectors: bool = True,
) -> tuple[PostData, dict[str, Any]]:
    """Inputs for the given posts (all posts when None), with facts used for targets and splits.

    One matrix per feature block (``FeaturesConfig.blocks``: ``text``, or ``text:minilm`` and
    ``text:vader`` when a modality lists several encoders). Blocks of fitted encoders (tfidf,
    word2vec) are not read here: the model computes them from ``texts`` (``models/fitted_text.py``).
    ``feature_keys`` (block -> ``name@version``) reads exactly those cache folders, as a trained
    model must; a folder that does not exist yet just means no post has that block cached.
    ``dims`` (block -> width) keeps a matrix as wide as the model expects when no post has it.
    ``vectors=False`` reads no vector: ``facts["stream"]`` (a ``StreamSource``) says where each post's are.
    """
    rows = _post_rows(workspace, post_ids)
    ids = [r["id"] for r in rows]
    cache = FeatureCache(workspace.features_dir)
    modalities: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    sequences: dict[str, list[np.ndarray | None]] = {}
    keys: dict[str, str] = {}
    links: dict[str, Links] = {}
    widths: dict[str, int] = {}
    for block in config.features.blocks():
        if block.fitted:
            continue
        if feature_keys is not None:
            if block.name not in feature_keys:
                raise ConfigError(f"no feature key for block {block.name!r}; the model knows {sorted(feature_keys)}")
            key = feature_keys[block.name]
        else:
            key = resolve_encoder_key(cache, block.encoder)
        keys[block.name] = key
        if not vectors:
            links[block.name] = Links.from_lists(_links(workspace, block.modality, rows, config))
            widths[block.name] = (dims or {}).get(block.name) or block_width(cache, key)
            continue
        if block.modality == "text":
            found = _text_vectors(workspace, cache, key, rows, config.features.text_fields)
        elif block.modality in MODALITY_MEDIA:
            found, seqs = _media_vectors(
                workspace,
                cache,
                key,
                ids,
                MODALITY_MEDIA[block.modality],
                with_sequences=block.modality in config.features.sequences,
            )
            if seqs is not None:
                sequences[block.name] = seqs
        else:
            raise ConfigError(f"unknown modality {block.modality!r}; known: text, {', '.join(MODALITY_MEDIA)}")
        dim = (dims or {}).get(block.name) or next((len(v) for v in found if v is not None), 1)
        _check_width(found, ids, block.name, key, dim)
        modalities[block.name], masks[block.name] = stack_present(found, dim)
    waveforms: dict[str, list[np.ndarray | None]] = {}
    if config.features.waveform.enabled:
        from postlens.models.waveform import WAVEFORM, load_waveforms

        waveforms[WAVEFORM], keys[WAVEFORM] = load_waveforms(workspace, ids, config.features.waveform)
        masks[WAVEFORM] = np.array([w is not None for w in waveforms[WAVEFORM]], bool)
    meta, meta_names = metadata_matrix(rows) if config.features.metadata else (np.zeros((len(rows), 0), np.float32), [])
    data = PostData(
        modalities=modalities,
        masks=masks,
        meta=meta,
        meta_names=meta_names,
        sequences=sequences,
        texts=[r["text"] or "" for r in rows] if vectors else None,  # a streamed model reads no text
        ids=ids,
        waveforms=waveforms,
    )
    facts: dict[str, Any] = {"rows": rows, "feature_keys": keys}
    if not vectors:
        if waveforms:
            raise ConfigError("a streamed model reads cached vectors only; set features.waveform.enabled: false")
        facts["stream"] = StreamSource(
            workspace.features_dir, keys, links, widths, meta, meta_names, np.array(ids, dtype=object)
        )
    return data, facts


def _links(workspace: Workspace, modality: str, rows: Sequence[dict[str, Any]], config: TrainConfig) -> list[list[str]]:
    if modality == "text":
        return text_links(workspace, rows, config.features.text_fields)
    if modality in MODALITY_MEDIA:
        return media_links(workspace, [r["id"] for r in rows], MODALITY_MEDIA[modality])
    raise ConfigError(f"unknown modality {modality!r}; known: text, {', '.join(MODALITY_MEDIA)}")


def _check_width(vectors: list[np.ndarray | None], ids: list[str], modality: str, key: str, dim: int) -> None:
    for post_id, vector in zip(ids, vectors):
        if vector is not None and len(vector) != dim:
            raise ConfigError(
                f"post {post_id!r}: its {modality} vector from {key} has {len(vector)} values where "
                f"{dim} are expected; the cache folder mixes encoders: delete it and run featurize again"
            )


def assemble(workspace: Workspace, config: TrainConfig, *, vectors: bool = True) -> TrainingSet:
    """The training set for ``config``: the posts ``config.where`` picks (all without it); posts
    lacking the target are left out (and counted). ``vectors=False``: no vector is loaded; ``stream``
    says where they are (``models/stream.py``, for ``model: {kind: sgd}``)."""
    chosen = None
    selection: dict[str, Any] = {}
    if config.where is not None:
        chosen = select_post_ids(workspace.db, config.where)
        total = workspace.db.execute("SELECT count(*) FROM posts").fetchone()
        selection = {
            "where": config.where,
            "posts_matching": len(chosen),
            "posts_in_workspace": int(total[0] if total else 0),
        }
        if not chosen:
            raise ConfigError(
                f"where {config.where!r} matches none of the {selection['posts_in_workspace']:,} posts "
                "in the workspace; loosen the condition"
            )
    data, facts = load_post_data(workspace, config, chosen, vectors=vectors)
    rows = facts["rows"]
    task = config.resolved_task
    if config.split.strategy == "column" and config.split.column == config.target:
        raise ConfigError(
            f"split.column {config.split.column!r} is also the target: name the label that holds "
            "train / val / test in split.column"
        )
    popularity = _popularity(workspace, rows, config)
    keep, y, classes = _targets(rows, config, task, popularity)
    if keep.sum() < 10:
        among = f" among the {len(rows):,} posts where {config.where!r} picks" if config.where else ""
        raise ConfigError(
            f"only {int(keep.sum())} posts have target {config.target!r}{among}; label more posts "
            "or pick another target"
        )
    index = np.flatnonzero(keep)
    times = np.array([_seconds(r["created_at"]) for r in rows], float)
    groups, notes = _groups(rows, keep, config)
    if config.split.strategy == "duplicates" or config.split.fold_kind == "duplicates":
        groups["clusters"] = _duplicate_clusters(workspace, rows, notes)
    if len(rows) > len(index):
        notes[f"posts without a usable {config.target!r} (left out)"] = len(rows) - len(index)
    full = TrainingSet(
        data=data,
        y=np.zeros(len(rows)),
        task=task,
        classes=classes,
        y_value=popularity,
        times=times,
        groups=groups,
        feature_keys=facts["feature_keys"],
        selection=selection,
        stream=facts.get("stream"),
    )
    out = full.subset(index)
    out.y, out.notes = y, notes
    return out


def _label_keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({k for r in rows for k in (r["labels"] or {})})


def _groups(
    rows: Sequence[dict[str, Any]], keep: np.ndarray, config: TrainConfig
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per-row split keys. The group label must exist where a split uses it: a post without it is its
    own group (counted); when no kept post has it, the error names the label and the keys that exist."""
    split = config.split
    notes: dict[str, int] = {}
    label = split.group_label
    values = [(r["labels"] or {}).get(label) for r in rows]
    missing = np.array([v is None or not str(v).strip() for v in values])
    if split.strategy == "group" or split.fold_kind == "group":
        lacking, total = int(missing[keep].sum()), int(keep.sum())
        if lacking == total:
            raise ConfigError(
                f"split.group_label {label!r} is missing on all {total} posts with target "
                f"{config.target!r}; label keys in this workspace: {_label_keys(rows)}; "
                "set split.group_label to one of them"
            )
        if lacking:
            notes[f"posts without group label {label!r} (each its own group)"] = lacking
    elif split.strategy == "duplicates" or split.fold_kind == "duplicates":
        lacking = int(missing[keep].sum())
        if lacking:  # allowed: duplicate clusters alone then keep copies together
            notes[f"posts without group label {label!r} (grouped by their duplicate cluster only)"] = lacking
    groups = {
        "author": np.array([r["author_id"] or f"?{r['id']}" for r in rows], object),
        "group": np.array([f"?{r['id']}" if m else str(v) for r, v, m in zip(rows, values, missing)], object),
    }
    if split.strategy == "column":
        column = [(r["labels"] or {}).get(split.column) for r in rows]
        if all(v is None for v, k in zip(column, keep) if k):
            raise ConfigError(
                f"split.column {split.column!r} is missing on every post with target {config.target!r}; "
                f"label keys in this workspace: {_label_keys(rows)}"
            )
        groups["column"] = np.array(column, object)
    return groups, notes


def _duplicate_clusters(workspace: Workspace, rows: Sequence[dict[str, Any]], notes: dict[str, int]) -> np.ndarray:
    """The duplicate cluster of each row ("" for a post in none), from the last ``postlens dedupe``."""
    report = last_dedupe_report(workspace.db)
    if report is None:
        raise ConfigError(
            "split 'duplicates' keeps each duplicate cluster on one side, and this workspace has none yet: "
            "run 'postlens dedupe' first"
        )
    ids = [r["id"] for r in rows]
    found = cluster_of(workspace.db, ids)
    total = workspace.db.execute("SELECT count(*) FROM posts").fetchone()
    newer = int(total[0] if total else 0) - int(report.get("posts", 0))
    if newer > 0:
        notes["posts imported since the last postlens dedupe (in no cluster; run it again)"] = newer
    notes["posts in a duplicate cluster"] = len(found)
    return np.array([found.get(post_id, "") for post_id in ids], object)


def _targets(
    rows: Sequence[dict[str, Any]], config: TrainConfig, task: str, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if task == "regression":
        keep = ~np.isnan(popularity)
        return keep, popularity[keep].astype(np.float32), []
    values = [(r["labels"] or {}).get(config.target) for r in rows]
    if task == "multilabel":
        sets = [
            None if v is None else {s.strip() for s in v.split(config.label_separator) if s.strip()} for v in values
        ]
        classes = sorted(set().union(*[s for s in sets if s]))
        keep = np.array([s is not None for s in sets])
        y = np.array([[c in s for c in classes] for s in sets if s is not None], np.float32)
        return keep, y.reshape(-1, len(classes)), classes
    counts: dict[str, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
    classes = sorted(c for c, k in counts.items() if k >= config.min_class_count)
    if len(classes) < 2:
        known = _label_keys(rows)
        raise ConfigError(
            f"target {config.target!r} has {len(classes)} usable classes; label keys in this workspace: {known}"
        )
    lookup = {c: i for i, c in enumerate(classes)}
    keep = np.array([v in lookup for v in values])
    y = np.array([lookup[v] for v in values if v in lookup], np.int64)
    return keep, y, classes


POST_COLUMNS = ("id", "created_at", "text", "author_id", "author_followers", "hashtags", "labels", "media_kinds")


class PostRows(Sequence[dict[str, Any]]):
    """The posts' rows held as one list per column (a dict per row is built only while it is read):
    a corpus of posts costs its values, not a dict and a tuple per post. Empty lists are None,
    author ids shared and equal label maps one object (all read-only)."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns["id"])

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        if isinstance(index, slice):
            return PostRows({name: values[index] for name, values in self.columns.items()})
        return {name: values[index] for name, values in self.columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = list(self.columns)
        for values in zip(*self.columns.values()):
            yield dict(zip(names, values))

    def reordered(self, positions: Sequence[int]) -> PostRows:
        return PostRows({name: [values[i] for i in positions] for name, values in self.columns.items()})


def _post_rows(workspace: Workspace, post_ids: list[str] | None) -> PostRows:
    """Every post (``post_ids``: those, in that order), fetched a chunk at a time."""
    cursor = workspace.db.execute(f"SELECT {', '.join(POST_COLUMNS)} FROM posts ORDER BY id")
    columns: dict[str, list[Any]] = {name: [] for name in POST_COLUMNS}
    shared: dict[Any, Any] = {}  # equal author ids and label maps: one object each
    while chunk := cursor.fetchmany(POST_CHUNK):
        for post_id, created, text, author, followers, hashtags, labels, kinds in chunk:
            columns["id"].append(post_id)
            columns["created_at"].append(created)
            columns["text"].append(text)
            columns["author_id"].append(shared.setdefault(author, author))
            columns["author_followers"].append(followers)
            columns["hashtags"].append(hashtags or None)
            columns["labels"].append(shared.setdefault(tuple(labels.items()), labels) if labels else None)
            columns["media_kinds"].append(kinds or None)
    del shared
    rows = PostRows(columns)
    if post_ids is not None:
        position = {post_id: i for i, post_id in enumerate(columns["id"])}
        missing = [p for p in post_ids if p not in position]
        if missing:
            raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
        rows = rows.reordered([position[p] for p in post_ids])
    return rows


def _has_table(workspace: Workspace, name: str) -> bool:
    found = workspace.db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def _text_vectors(
    workspace: Workspace, cache: FeatureCache, key: str, rows: Sequence[dict[str, Any]], fields: Sequence[str]
) -> list[np.ndarray | None]:
    """Mean of the post's text-field embeddings (``text_links`` says which)."""
    links = text_links(workspace, rows, fields)
    found = cache.read(key, {k for ks in links for k in ks})
    return [_mean([found[k].vector for k in ks if k in found]) for ks in links]


def text_links(workspace: Workspace, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> list[list[str]]:
    """Per row, the cache keys of its text fields: its own text (keyed from ``posts`` itself, so a post
    imported since the last featurize is not taken for text-less), plus OCR / transcript if asked
    (from ``text_fields``, which featurize builds)."""
    per_post: dict[str, list[str]] = {}
    if "text" in fields:
        for r in rows:
            if r["text"] and r["text"].strip():
                per_post[r["id"]] = [text_key(r["text"])]
    derived = [f for f in fields if f != "text"]
    if derived and _has_table(workspace, "text_fields"):
        links = workspace.db.execute(
            f"SELECT post_id, key FROM text_fields WHERE field IN ({', '.join('?' for _ in derived)}) "
            "ORDER BY post_id, field",
            list(derived),
        ).fetchall()
        for post_id, text_key_ in links:
            per_post.setdefault(post_id, []).append(text_key_)
    return [per_post.get(r["id"], []) for r in rows]


def media_links(workspace: Workspace, ids: list[str], kinds: tuple[str, ...]) -> list[list[str]]:
    """Per post, the sha256 of its stored media of ``kinds``, in position order."""
    links = workspace.db.execute(
        f"SELECT post_id, sha256 FROM media WHERE status = 'stored' AND kind IN ({', '.join('?' for _ in kinds)}) "
        "ORDER BY post_id, position",
        list(kinds),
    ).fetchall()
    per_post: dict[str, list[str]] = {}
    for post_id, sha in links:
        per_post.setdefault(post_id, []).append(sha)
    return [per_post.get(pid, []) for pid in ids]


def _media_vectors(
    workspace: Workspace, cache: FeatureCache, key: str, ids: list[str], kinds: tuple[str, ...], *, with_sequences: bool
) -> tuple[list[np.ndarray | None], list[np.ndarray | None] | None]:
    """Mean of the post's stored media vectors; the first item's sequence when asked."""
    links = media_links(workspace, ids, kinds)
    found = cache.read(key, {s for ss in links for s in ss})
    vectors = [_mean([found[s].vector for s in ss if s in found]) for ss in links]
    if not with_sequences:
        return vectors, None
    seqs = [next((found[s].sequence for s in ss if s in found and found[s].sequence is not None), None) for ss in links]
    return vectors, seqs


def _mean(vectors: list[np.ndarray | None]) -> np.ndarray | None:
    present = [v for v in vectors if v is not None]
    return np.mean(present, axis=0).astype(np.float32) if present else None


def metadata_matrix(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, list[str]]:
    """Facts known at posting time: no engagement here, so popularity models cannot cheat."""
    names = ["log_followers", "followers_known", "hour_sin", "hour_cos", "time_known"]
    names += [f"weekday_{d}" for d in WEEKDAYS] + [f"n_{k}" for k in MEDIA_KINDS]
    names += ["log_text_chars", "n_hashtags"]
    out = np.zeros((len(rows), len(names)), np.float32)
    for i, r in enumerate(rows):
        followers = r["author_followers"]
        created: datetime | None = r["created_at"]
        kinds = r["media_kinds"] or []
        values = [
            math.log1p(followers) if followers is not None and followers >= 0 else 0.0,
            float(followers is not None),
        ]
        if created is not None:
            angle = 2 * math.pi * (created.hour + created.minute / 60) / 24
            values += [math.sin(angle), math.cos(angle), 1.0]
            values += [float(created.weekday() == d) for d in range(7)]
        else:
            values += [0.0, 0.0, 0.0] + [0.0] * 7
        values += [float(sum(k == kind for k in kinds)) for kind in MEDIA_KINDS]
        values += [math.log1p(len(r["text"] or "")), float(len(r["hashtags"] or []))]
        out[i] = values
    return out, names


def _seconds(created: datetime | None) -> float:
    return created.timestamp() if created is not None else float("nan")


def _popularity(workspace: Workspace, rows: Sequence[dict[str, Any]], config: TrainConfig) -> np.ndarray:
    """log1p(metric) at the latest snapshot (NaN when never observed), optionally normalised."""
    metric = config.popularity.metric
    latest = dict(
        (pid, (value, seen))
        for pid, value, seen in workspace.db.execute(
            f"SELECT post_id, arg_max({metric}, observed_at), max(observed_at) FROM engagement GROUP BY post_id"
        ).fetchall()
    )
    out = np.full(len(rows), np.nan)
    for i, r in enumerate(rows):
        value, seen = latest.get(r["id"], (None, None))
        if value is None:
            continue
        count = float(value)
        if config.popularity.normalize_age and r["created_at"] is not None and seen is not None:
            hours = max((seen - r["created_at"]).total_seconds() / 3600, 1.0)
            count = count / hours
        score = math.log1p(max(count, 0.0))
        if config.popularity.normalize_followers:
            score -= math.log1p(max(r["author_followers"] or 0, 0))
        out[i] = score
    return out
