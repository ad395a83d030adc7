"""Read what a popularity model needs from a workspace: inputs known at publish time, and the target.

Nothing here looks at engagement except ``target`` (and ``reference time`` when a source has no
publish time, which is the first snapshot's time: YouTube trending files only say when a video
entered the trending list). A post with no engagement yet is an ordinary row whose target is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from postlens.errors import ConfigError
from postlens.models.config import FeaturesConfig as ModelFeatures
from postlens.models.config import TrainConfig
from postlens.models.data import load_post_data, metadata_matrix
from postlens.store.workspace import Workspace
from postlens.tasks.popularity.config import EVENT_ID_METADATA, PopularityConfig

EMBEDDING = "embedding"  # one driver per block (its columns mean nothing alone)
NAMED = "named"  # one driver per column
AUTHOR_FACTS = ("log_listed", "log_statuses", "log_friends", "log_favourites", "log_account_days", "verified")
POST_FACTS = ("is_reply", "n_mentions", "n_urls")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"


@dataclass
class Block:
    """Columns of one kind of input; NaN where a post lacks it (LightGBM treats NaN as missing)."""

    name: str
    matrix: np.ndarray
    columns: list[str]
    kind: str = NAMED


@dataclass
class PopularityFrame:
    """One row per post: inputs (``blocks``), what the model and the percentile need, the target."""

    ids: list[str]
    platform: np.ndarray
    author: np.ndarray
    followers: np.ndarray  # NaN when unknown
    times: np.ndarray  # reference time, seconds since epoch (NaN when unknown)
    y: np.ndarray  # log1p(metric) at the target snapshot; NaN when none (a post at publish time)
    blocks: dict[str, Block]
    tags: list[list[str]]
    feature_keys: dict[str, str] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> PopularityFrame:
        rows = np.asarray(rows, int)
        return PopularityFrame(
            ids=[self.ids[i] for i in rows],
            platform=self.platform[rows],
            author=self.author[rows],
            followers=self.followers[rows],
            times=self.times[rows],
            y=self.y[rows],
            blocks={k: Block(b.name, b.matrix[rows], b.columns, b.kind) for k, b in self.blocks.items()},
            tags=[self.tags[i] for i in rows],
            feature_keys=self.feature_keys,
            dims=self.dims,
            notes=dict(self.notes),
        )


def metadata_columns(names: list[str], config: PopularityConfig) -> list[str]:
    """The metadata columns kept: event-id columns dropped when asked, ``exclude_metadata`` checked by name."""
    unknown = [c for c in config.features.exclude_metadata if c not in names]
    if unknown:
        raise ConfigError(
            f"features.exclude_metadata names unknown columns {unknown}; metadata columns: {', '.join(names)}"
        )
    dropped = set(config.features.exclude_metadata)
    if config.features.drop_event_id_metadata:
        dropped |= set(EVENT_ID_METADATA)
    return [c for c in names if c not in dropped]


def chosen_posts(workspace: Workspace, config: PopularityConfig) -> list[str]:
    """Every post of the configured platforms, in id order; the error lists the platforms present."""
    present = [r[0] for r in workspace.db.execute("SELECT DISTINCT platform FROM posts ORDER BY 1").fetchall()]
    if config.platforms:
        unknown = [p for p in config.platforms if p not in present]
        if unknown:
            raise ConfigError(f"platforms {unknown} have no posts in {workspace.root}; platforms present: {present}")
        marks = ", ".join("?" for _ in config.platforms)
        return [
            r[0]
            for r in workspace.db.execute(
                f"SELECT id FROM posts WHERE platform IN ({marks}) ORDER BY id", list(config.platforms)
            ).fetchall()
        ]
    return [r[0] for r in workspace.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]


def load_frame(
    workspace: Workspace,
    config: PopularityConfig,
    post_ids: list[str] | None = None,
    *,
    feature_keys: dict[str, str] | None = None,
    dims: dict[str, int] | None = None,
    meta_columns: list[str] | None = None,
) -> PopularityFrame:
    """The frame for ``post_ids`` (default: ``chosen_posts``). ``feature_keys`` / ``dims`` / ``meta_columns``
    pin the inputs to a trained model's (prediction); without them they are resolved for this postlens."""
    ids = chosen_posts(workspace, config) if post_ids is None else list(post_ids)
    if not ids:
        raise ConfigError(
            f"no posts to read in {workspace.root}" + (f" on platforms {config.platforms}" if config.platforms else "")
        )
    keys = dict(feature_keys or {})
    widths = dict(dims or {})
    blocks: dict[str, Block] = {}
    modalities = dict(config.features.modalities)
    if config.features.sentiment:
        modalities["sentiment"] = config.features.sentiment
    facts: dict[str, Any] = {}
    for modality, encoder in modalities.items():
        source = "text" if modality == "sentiment" else modality
        train_config = TrainConfig(features=ModelFeatures(modalities={source: encoder}, metadata=False))
        pinned = {source: keys[modality]} if modality in keys else None
        data, facts = load_post_data(
            workspace,
            train_config,
            ids,
            feature_keys=pinned,
            dims={source: widths[modality]} if modality in widths else None,
        )
        keys[modality] = facts["feature_keys"][source]
        matrix = data.modalities[source].astype(np.float32)
        widths[modality] = int(matrix.shape[1])
        matrix[~data.masks[source]] = np.nan
        if modality == "sentiment":
            blocks[modality] = Block(modality, matrix, _sentiment_names(encoder, matrix.shape[1]), NAMED)
        else:
            blocks[modality] = Block(modality, matrix, [f"{modality}_{j}" for j in range(matrix.shape[1])], EMBEDDING)
    rows = facts["rows"] if facts else _rows(workspace, ids)
    if len(rows) != len(ids):
        found = {r["id"] for r in rows}
        missing = [p for p in ids if p not in found]
        raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
    extra = _post_facts(workspace, ids)
    times, from_snapshot = _reference_times(workspace, rows)
    timed_rows = [{**r, "created_at": _utc(t)} for r, t in zip(rows, times)]
    meta, names = metadata_matrix(timed_rows)
    kept = meta_columns if meta_columns is not None else metadata_columns(names, config)
    missing = [c for c in kept if c not in names]
    if missing:
        raise ConfigError(f"the model reads metadata columns {missing} this postlens does not compute; retrain it")
    blocks["metadata"] = Block("metadata", meta[:, [names.index(c) for c in kept]], list(kept), NAMED)
    if config.features.author_facts:
        blocks["author"] = Block("author", _author_matrix(extra, times), list(AUTHOR_FACTS), NAMED)
        blocks["post"] = Block(
            "post",
            np.array([[e["is_reply"], e["n_mentions"], e["n_urls"]] for e in extra], np.float32),
            list(POST_FACTS),
            NAMED,
        )
    followers = np.array(
        [
            np.nan if r["author_followers"] is None or r["author_followers"] < 0 else float(r["author_followers"])
            for r in rows
        ]
    )
    y, target_notes = _targets(workspace, ids, times, config)
    notes = {**target_notes}
    if from_snapshot:
        notes["posts timed by their first snapshot (no publish time)"] = from_snapshot
    return PopularityFrame(
        ids=ids,
        platform=np.array([e["platform"] for e in extra], object),
        author=np.array([e["author_key"] for e in extra], object),
        followers=followers,
        times=times,
        y=y,
        blocks=blocks,
        tags=[list(r["hashtags"] or []) for r in rows],
        feature_keys=keys,
        dims=widths,
        notes=notes,
    )


def _sentiment_names(encoder: str, width: int) -> list[str]:
    if encoder.split("@")[0] in ("vader", "text-vader") and width == 4:
        return ["sentiment_neg", "sentiment_neu", "sentiment_pos", "sentiment_compound"]
    return [f"sentiment_{j}" for j in range(width)]


def register_ids(workspace: Workspace, name: str, ids: list[str]) -> None:
    """``ids`` as a DuckDB view ``name`` (id, pos) for joins; unregister it after use.

    A fresh read-only Workspace leaves its schema check's result unfetched, and DuckDB refuses
    register() while a result is pending: it is finished with a trivial query first.
    """
    workspace.db.execute("SELECT 1").fetchall()
    workspace.db.register(
        name, pa.table({"id": pa.array(ids, pa.string()), "pos": pa.array(range(len(ids)), pa.int64())})
    )


def _registered(workspace: Workspace, ids: list[str]) -> None:
    register_ids(workspace, "_popularity_ids", ids)


def _rows(workspace: Workspace, ids: list[str]) -> list[dict[str, Any]]:
    _registered(workspace, ids)
    try:
        cursor = workspace.db.execute(
            "SELECT p.id, p.created_at, p.text, p.author_id, p.author_followers, p.hashtags, p.labels, p.media_kinds "
            "FROM posts p JOIN _popularity_ids w ON p.id = w.id ORDER BY w.pos"
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, r)) for r in cursor.fetchall()]
    finally:
        workspace.db.unregister("_popularity_ids")


def _post_facts(workspace: Workspace, ids: list[str]) -> list[dict[str, Any]]:
    """Platform, author key and the Twitter-shaped facts of the raw record (None where it has none)."""

    def user(path: str) -> str:
        return f"CASE WHEN json_valid(p.raw) THEN TRY_CAST(json_extract_string(p.raw, '$.user.{path}') AS DOUBLE) END"

    _registered(workspace, ids)
    try:
        cursor = workspace.db.execute(
            "SELECT p.platform, p.platform || ':' || coalesce(p.author_id, lower(p.author_handle), '?' || p.id) AS author_key, "
            "p.author_verified, coalesce(len(p.mentions), 0), coalesce(len(p.urls), 0), "
            f"{user('listed_count')}, {user('statuses_count')}, {user('friends_count')}, {user('favourites_count')}, "
            "CASE WHEN json_valid(p.raw) THEN json_extract_string(p.raw, '$.user.created_at') END, "
            "CASE WHEN json_valid(p.raw) THEN json_extract_string(p.raw, '$.in_reply_to_status_id_str') END, "
            "p.created_at FROM posts p JOIN _popularity_ids w ON p.id = w.id ORDER BY w.pos"
        )
        out = []
        for (
            platform,
            author,
            verified,
            mentions,
            urls,
            listed,
            statuses,
            friends,
            favourites,
            since,
            reply,
            created,
        ) in cursor.fetchall():
            out.append(
                {
                    "platform": platform,
                    "author_key": author,
                    "verified": verified,
                    "n_mentions": float(mentions),
                    "n_urls": float(urls),
                    "listed": listed,
                    "statuses": statuses,
                    "friends": friends,
                    "favourites": favourites,
                    "account_since": _twitter_time(since),
                    "is_reply": float(reply is not None),
                    "created_at": created,
                }
            )
        return out
    finally:
        workspace.db.unregister("_popularity_ids")


def _twitter_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, _TWITTER_TIME)
    except ValueError:
        return None


def _log(value: float | None) -> float:
    """log1p of a count; NaN (missing, later the mean) for no value, a negative one or a non-finite one
    (a raw record's "1e999" casts to infinity, which would turn every fitted weight into NaN)."""
    return math.log1p(value) if value is not None and math.isfinite(value) and value >= 0 else math.nan


def _author_matrix(extra: list[dict[str, Any]], times: np.ndarray) -> np.ndarray:
    out = np.full((len(extra), len(AUTHOR_FACTS)), np.nan, np.float32)
    for i, e in enumerate(extra):
        days = math.nan
        if e["account_since"] is not None and not math.isnan(times[i]):
            days = max((times[i] - e["account_since"].timestamp()) / 86400, 0.0)
        verified = math.nan if e["verified"] is None else float(e["verified"])
        out[i] = [
            _log(e["listed"]),
            _log(e["statuses"]),
            _log(e["friends"]),
            _log(e["favourites"]),
            _log(days),
            verified,
        ]
    return out


def _utc(seconds: float) -> datetime | None:
    return None if math.isnan(seconds) else datetime.fromtimestamp(seconds, UTC)


def _reference_times(workspace: Workspace, rows: list[dict[str, Any]]) -> tuple[np.ndarray, int]:
    """Publish time, else the first snapshot's (dated, not inferred) time; NaN when neither is known."""
    first = dict(
        workspace.db.execute(
            "SELECT post_id, min(observed_at) FROM engagement WHERE NOT observed_inferred GROUP BY post_id"
        ).fetchall()
    )
    times = np.full(len(rows), np.nan)
    from_snapshot = 0
    for i, r in enumerate(rows):
        if r["created_at"] is not None:
            times[i] = r["created_at"].timestamp()
        elif first.get(r["id"]) is not None:
            times[i] = first[r["id"]].timestamp()
            from_snapshot += 1
    return times, from_snapshot


def _targets(
    workspace: Workspace, ids: list[str], times: np.ndarray, config: PopularityConfig
) -> tuple[np.ndarray, dict[str, int]]:
    """log1p(metric) at the latest snapshot (within the horizon when one is set); NaN when there is none."""
    metric = config.target.metric
    horizon = config.target.horizon_hours
    position = {pid: i for i, pid in enumerate(ids)}
    y = np.full(len(ids), np.nan)
    best: dict[int, float] = {}
    _registered(workspace, ids)
    try:
        snapshots = workspace.db.execute(
            f"SELECT e.post_id, e.observed_at, e.{metric}, e.observed_inferred FROM engagement e "
            f"JOIN _popularity_ids w ON e.post_id = w.id WHERE e.{metric} IS NOT NULL ORDER BY e.post_id, e.observed_at"
        ).fetchall()
    finally:
        workspace.db.unregister("_popularity_ids")
    for post_id, seen, value, inferred in snapshots:
        i = position[post_id]
        if horizon is not None and (inferred or math.isnan(times[i]) or seen.timestamp() > times[i] + horizon * 3600):
            continue
        if seen.timestamp() >= best.get(i, -math.inf):
            best[i] = seen.timestamp()
            y[i] = math.log1p(max(float(value), 0.0))
    notes = {}
    lacking = int(np.isnan(y).sum())
    if lacking:
        within = f" within {horizon:g} h of the reference time" if horizon is not None else ""
        notes[f"posts without a {metric} count{within} (predicted, not fitted)"] = lacking
    return y, notes
