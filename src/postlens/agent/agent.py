"""``postlens.Agent``: a workspace and its trained models loaded once; any post in, one ``Insight`` out.

    agent = postlens.Agent("postlens-workspace")
    insight = agent.understand(text="Storm surge flooding the subway #sandy", files=["photo.jpg"])
    insight.topic, insight.labels, insight.popularity, insight.similar        # typed, .model_dump_json()
    agent.understand_many([{"text": "..."}, AgentRequest(files=["clip.mp4"])]) # model calls batched
    agent.search("flooded streets", image="photo.jpg")                         # posts out, image-only ones too

Thread-safe: any number of threads may call it; at most ``max_concurrency`` calls run model work at
once, the others wait in line (``queue_timeout`` seconds at most, then ``BusyError``, code ``busy``).
Errors are ``postlens.errors`` exceptions with a stable ``code``: ``InputError`` (the post cannot be
read), ``MediaError`` (a file refused by ingest's gate: ``media_outside_root``, ``media_mismatch``,
``media_too_large``...), ``ConfigError`` / ``WorkspaceError`` (at load). Nothing is written to the
workspace's database; the neighbour index is cached under ``<workspace>/segments/<name>/index/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postlens.agent import answers
from postlens.agent.features import BatchFeatures, EncoderSet
from postlens.agent.index import HNSW_THRESHOLD, NeighbourIndex
from postlens.agent.inputs import (
    AgentPost,
    FileInput,
    MediaInput,
    PostInput,
    read_input,
)
from postlens.agent.insight import (
    Failure,
    Insight,
    MediaSummary,
    Problem,
    SearchResult,
    SimilarPost,
)
from postlens.agent.loading import load_models, load_popularity, pick_segmentation
from postlens.agent.segmenter import Segmenter
from postlens.agent.state import (
    Snapshot,
    database_stamp,
    index_rows,
    post_signatures,
    read_snapshot,
)
from postlens.agent.views import post_parts
from postlens.encoders.text.language import LanguageDetector
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.engine.base import Engine, is_local
from postlens.errors import BusyError, ConfigError, PostlensError
from postlens.models.threads import resolve_threads
from postlens.store.media_store import MediaStore
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.types import Modality

SPACE_TEXT_ENCODER = "minilm"
INDEX_CHUNK = 20_000
"""Posts embedded into the index per step when it is built or brought up to date (bounds memory)."""


@dataclass
class AgentRequest:
    """One input of ``understand_many``: a post (Post, dict, JSON text) and/or media files plus text."""

    post: PostInput = None
    files: Sequence[FileInput] = ()
    text: str | None = None
    media_root: str | os.PathLike[str] | None = None


@dataclass
class _Loaded:
    segmenter: Segmenter | None
    index: NeighbourIndex | None
    snapshot: Snapshot
    notes: list[str] = field(default_factory=list)
    segment_stamp: tuple[Any, ...] | None = None


@dataclass
class SpaceSample:
    vectors: np.ndarray
    meta: Any  # pyarrow Table, index.META_SCHEMA
    topics: dict[int, Any]  # topic id -> state.TopicRow
    live: int  # posts in the index (the sample may hold fewer)
    segmentation: str


class Agent:
    """See the module docstring. ``models``: model folder names (default: every classification model in
    ``<workspace>/models``); ``popularity``: a popularity model name (default: the workspace's, if one;
    False: none); ``segmentation``: whose topics and shared space (default ``topics``)."""

    def __init__(
        self,
        workspace: str | os.PathLike[str] | None = None,
        *,
        models: Sequence[str] | None = None,
        popularity: str | bool | None = None,
        segmentation: str | None = None,
        sentiment_targets: Sequence[str] = ("sentiment",),
        emotion_targets: Sequence[str] = ("emotion",),
        ocr: bool = True,
        similar: int = 10,
        index: str = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
        max_concurrency: int = 1,
        queue_timeout: float | None = None,
        num_threads: int | None = None,
        refresh_seconds: float = 5.0,
        max_media_bytes: Mapping[str, int] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.root = resolve_workspace_path(workspace)
        self.options: dict[str, Any] = {  # what an engine's actors build their own Agent with
            "models": models,
            "popularity": popularity,
            "segmentation": segmentation,
            "sentiment_targets": tuple(sentiment_targets),
            "emotion_targets": tuple(emotion_targets),
            "ocr": ocr,
            "similar": similar,
            "index": index,
            "hnsw_threshold": hnsw_threshold,
            "max_media_bytes": dict(max_media_bytes or {}),
        }
        self.ocr, self.similar, self.index_kind, self.hnsw_threshold = ocr, similar, index, hnsw_threshold
        self.queue_timeout, self.refresh_seconds = queue_timeout, refresh_seconds
        self.max_media_bytes = dict(max_media_bytes or {})
        self.threads = max(1, resolve_threads(num_threads) // max_concurrency)
        self.encoders = EncoderSet(self.threads)
        self._gate = threading.BoundedSemaphore(max_concurrency)
        self._refresh_lock = threading.Lock()
        self._embed_lock = threading.Lock()
        self._prompts: dict[str, np.ndarray] = {}
        self._detector = LanguageDetector()
        self._cleaner = TextPreprocessor.for_models()
        self._scratch = Path(tempfile.mkdtemp(prefix="postlens-agent-"))
        self.notes: list[str] = []
        with Workspace(self.root, read_only=True) as ws:
            ws.db.execute("SELECT 1").fetchall()
            kinds = dict(ws.db.execute("SELECT segmentation, any_value(kind) FROM topics GROUP BY 1").fetchall())
        self.models, model_notes = load_models(self.root, models, self.encoders, sentiment_targets, emotion_targets)
        self.popularity_model, self.popularity_info, self.popularity_name, pop_notes = load_popularity(
            self.root, popularity, self.threads
        )
        self.segmentation, seg_notes = pick_segmentation(kinds, segmentation)
        self.notes += model_notes + pop_notes + seg_notes
        self._checked_at = time.monotonic()
        self._refreshing: threading.Thread | None = None
        self._loaded = self._load(None)

    # ------------------------------------------------------------------ loading and refreshing

    def _embed_prompts(self, texts: list[str]) -> np.ndarray:
        """MiniLM vectors of short texts (image-label prompts), remembered; the workspace cache is not written."""
        with self._embed_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._prompts]
        if missing:
            for text, found in zip(missing, self.encoders.encode(SPACE_TEXT_ENCODER, missing)):
                if found.vector is not None:
                    with self._embed_lock:
                        self._prompts[text] = found.vector
        dim = self.encoders.get(SPACE_TEXT_ENCODER).dim
        return (
            np.stack([self._prompts.get(t, np.zeros(dim, np.float32)) for t in texts])
            if texts
            else np.zeros((0, dim), np.float32)
        )

    def _load(self, previous: _Loaded | None, lock_wait: float | None = None) -> _Loaded:
        """Read the tables once (read-only, briefly), place the topic model, bring the index up to date."""
        notes: list[str] = []
        with Workspace(self.root, read_only=True, lock_wait=lock_wait) as ws:
            snapshot = read_snapshot(ws, self.segmentation)
            segmenter = previous.segmenter if previous is not None else None
            stamp = previous.segment_stamp if previous is not None else None
            if self.segmentation is not None and snapshot.kinds.get(self.segmentation) in ("cluster", "seed"):
                folder = self.root / "segments" / self.segmentation.replace(":", "__")
                if segmenter is None or _folder_stamp(folder) != stamp:
                    segmenter = Segmenter(
                        self.segmentation, snapshot.kinds[self.segmentation], folder, self._embed_prompts
                    )
                    stamp = _folder_stamp(folder)
            else:
                segmenter = None
            index = self._sync_index(ws, segmenter, previous.index if previous else None, notes) if segmenter else None
        return _Loaded(segmenter, index, snapshot, notes, stamp)

    def _sync_index(
        self, ws: Workspace, segmenter: Segmenter, index: NeighbourIndex | None, notes: list[str]
    ) -> NeighbourIndex:
        from postlens.tasks.segments.load import EncoderKeys

        fingerprint = segmenter.fingerprint(repr(EncoderKeys.installed()))
        if index is None or index.fingerprint != fingerprint:
            index = NeighbourIndex(
                segmenter.folder / "index",
                fingerprint=fingerprint,
                dim=segmenter.dim,
                kind=self.index_kind,
                hnsw_threshold=self.hnsw_threshold,
            )
        current = post_signatures(ws, segmenter.name)
        stale = index.stale(current)
        if not stale:
            index.sync(current, None)
        for start in range(0, len(stale), INDEX_CHUNK):
            index.sync(current, index_rows(ws, stale[start : start + INDEX_CHUNK], segmenter, current))
        notes += index.notes
        return index

    def refresh(self, *, force: bool = False, lock_wait: float | None = None) -> bool:
        """Re-read the workspace now if its database changed (``force``: even if not); True when reloaded.
        Calls in flight keep the state they started with. Raises WorkspaceError when the database stays
        locked by a writer longer than ``lock_wait`` seconds (default ``$POSTLENS_LOCK_WAIT``)."""
        with self._refresh_lock:
            self._checked_at = time.monotonic()
            if not force and database_stamp(self.root) == self._loaded.snapshot.stamp:
                return False
            self._loaded = self._load(self._loaded, lock_wait)
            return True

    def _refresh_soon(self) -> None:
        """At most every ``refresh_seconds``: when the database changed, reload in a background thread
        while calls go on with the current state (an import in progress is retried on a later call)."""
        if time.monotonic() - self._checked_at < self.refresh_seconds:
            return
        self._checked_at = time.monotonic()
        if database_stamp(self.root) == self._loaded.snapshot.stamp or (
            self._refreshing and self._refreshing.is_alive()
        ):
            return

        def run() -> None:
            try:
                self.refresh(lock_wait=0.5)
            except PostlensError as exc:  # a writer holds the database: the next check tries again
                self._checked_at = time.monotonic()
                self.notes = [n for n in self.notes if not n.startswith("refresh:")] + [f"refresh: {exc}"]

        self._refreshing = threading.Thread(target=run, name="postlens-agent-refresh", daemon=True)
        self._refreshing.start()

    def reindex(self) -> None:
        """Rebuild the neighbour index from scratch (e.g. after features were computed for unchanged posts)."""
        with self._refresh_lock:
            if self._loaded.index is not None and self._loaded.index.folder is not None:
                shutil.rmtree(self._loaded.index.folder, ignore_errors=True)
            self._loaded = self._load(
                _Loaded(self._loaded.segmenter, None, self._loaded.snapshot, [], self._loaded.segment_stamp)
            )

    def warm_up(self, *, image: bool = True) -> None:
        """Load the models now (the first call otherwise pays for it): text cleaning (hashtag segmentation,
        emoji names), language id, the text encoders and the trained models; with ``image`` EfficientNet
        and OCR too. Video and audio models load on the first video or clip."""
        files: list[FileInput] = []
        if image:
            from PIL import Image, ImageDraw

            picture = Image.new("RGB", (256, 256), (240, 240, 230))
            ImageDraw.Draw(picture).text((40, 120), "WARM UP", fill=(10, 10, 10))
            path = self._scratch / "warm-up.png"
            picture.save(path)
            files.append(path)
        self.understand(text="Warming up the models 🎉 #warmuptime with @someone https://example.com", files=files)

    def close(self) -> None:
        """Remove the scratch folder (media copies of calls in flight are removed by their own call)."""
        if self._refreshing is not None:
            self._refreshing.join(timeout=60)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ answers

    def understand(
        self,
        post: PostInput = None,
        *,
        files: Sequence[FileInput] = (),
        text: str | None = None,
        media_root: str | os.PathLike[str] | None = None,
        ocr: bool | None = None,
        similar: int | None = None,
    ) -> Insight:
        """One post: a Post, a dict / JSON text in postlens' native shape, and/or media files plus text.
        Raises InputError or MediaError (with ``code``) when the post or a file cannot be used."""
        result = self._run([AgentRequest(post, files, text, media_root)], ocr, similar, raise_errors=True)[0]
        assert isinstance(result, Insight)
        return result

    def understand_many(
        self,
        inputs: Sequence[AgentRequest | PostInput],
        *,
        ocr: bool | None = None,
        similar: int | None = None,
        engine: Engine | None = None,
    ) -> list[Insight | Failure]:
        """Many posts with one call per model; an input that cannot be read becomes a ``Failure`` in its place.
        ``engine``: a ``RayEngine`` answers them on Ray actors, each holding an Agent built with this one's options."""
        requests = [i if isinstance(i, AgentRequest) else AgentRequest(post=i) for i in inputs]
        if not is_local(engine):
            from postlens.agent.distributed import understand_many_on
            from postlens.engine.ray_engine import RayEngine

            if not isinstance(engine, RayEngine):
                raise ConfigError(f"understand_many runs on the local or the Ray engine, not {engine!r}")
            return understand_many_on(engine, self.root, requests, self.options, ocr=ocr, similar=similar)
        return self._run(requests, ocr, similar, raise_errors=False)

    def search(
        self, text: str | None = None, *, image: FileInput | None = None, k: int = 10, exclude: Collection[str] = ()
    ) -> SearchResult:
        """Posts nearest a text and/or an image in the shared space (image-only posts included);
        ``exclude``: post ids to leave out (the post a "more like this" starts from)."""
        if not (text and text.strip()) and image is None:
            raise ConfigError("search needs a text, an image, or both")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        started = time.perf_counter()
        self._refresh_soon()
        loaded = self._loaded
        if loaded.segmenter is None or loaded.index is None:
            raise ConfigError(f"no shared space to search in {self.root}: run 'postlens segments fit' first")
        with self._slot(), self._request_store() as store:
            agent_post = read_input(None, files=[image] if image is not None else [], text=text, store=store)
            batch = BatchFeatures(
                self.encoders,
                [agent_post],
                text_encoders=[SPACE_TEXT_ENCODER],
                ocr=False,
                detector=self._detector,
                cleaner=self._cleaner,
            )
            fused = loaded.segmenter.fuse(post_parts(batch, SPACE_TEXT_ENCODER, np.full(1, np.nan)))
            hits = loaded.index.search(fused, k, [set(exclude)])[0]
        return SearchResult(
            query_text=text,
            query_image=_file_name(image),
            hits=[_similar(h) for h in hits],
            index=loaded.index.mode,
            indexed_posts=loaded.index.live,
            timings_ms={"total": round(1000 * (time.perf_counter() - started), 2)},
        )

    def space_sample(self, limit: int, seed: int = 0) -> SpaceSample | None:
        """Up to ``limit`` posts of the shared space (unit vectors, metadata, the topics they belong to), for a
        map; None when the workspace has no shared space (no ``postlens segments fit`` yet)."""
        self._refresh_soon()
        loaded = self._loaded
        if loaded.segmenter is None or loaded.index is None:
            return None
        vectors, meta = loaded.index.live_rows(limit, seed)
        return SpaceSample(vectors, meta, dict(loaded.snapshot.topics), loaded.index.live, loaded.segmenter.name)

    # ------------------------------------------------------------------ the work

    def _slot(self) -> _Slot:
        return _Slot(self._gate, self.queue_timeout)

    def _request_store(self) -> _RequestStore:
        return _RequestStore(self._scratch / uuid.uuid4().hex[:12], self.max_media_bytes)

    def _run(
        self, requests: list[AgentRequest], ocr: bool | None, similar: int | None, raise_errors: bool
    ) -> list[Insight | Failure]:
        started = time.perf_counter()
        self._refresh_soon()
        loaded = self._loaded
        results: list[Insight | Failure | None] = [None] * len(requests)
        with self._slot(), self._request_store() as store:
            read_at = time.perf_counter()
            posts: list[AgentPost] = []
            rows: list[int] = []
            for i, request in enumerate(requests):
                try:
                    posts.append(
                        read_input(
                            request.post,
                            files=request.files,
                            text=request.text,
                            media_root=request.media_root,
                            store=store,
                        )
                    )
                    rows.append(i)
                except PostlensError as exc:
                    if raise_errors:
                        raise
                    results[i] = Failure(index=i, code=exc.code, message=str(exc))
            read_seconds = time.perf_counter() - read_at
            insights = (
                self._answer(
                    posts, loaded, self.ocr if ocr is None else ocr, self.similar if similar is None else similar
                )
                if posts
                else []
            )
        share = 1000.0 / max(len(posts), 1)
        for row, insight in zip(rows, insights):
            insight.timings_ms = {
                "read": round(read_seconds * share, 2),
                **insight.timings_ms,
                "total": round((time.perf_counter() - started) * share, 2),
            }
            results[row] = insight
        return [r for r in results if r is not None]

    def _answer(self, posts: list[AgentPost], loaded: _Loaded, ocr: bool, similar: int) -> list[Insight]:
        n = len(posts)
        share = 1000.0 / n
        text_encoders = list(dict.fromkeys([SPACE_TEXT_ENCODER, *self._model_text_encoders()]))
        batch = BatchFeatures(
            self.encoders, posts, text_encoders=text_encoders, ocr=ocr, detector=self._detector, cleaner=self._cleaner
        )
        timings = {stage: seconds * share for stage, seconds in batch.seconds.items()}
        insights = [self._base_insight(batch, i) for i in range(n)]
        clock = time.perf_counter()
        if loaded.segmenter is not None:
            times = np.array([p.post.created_at.timestamp() if p.post.created_at else np.nan for p in posts])
            parts = post_parts(batch, SPACE_TEXT_ENCODER, times)
            fused = loaded.segmenter.fuse(parts)
            placement = loaded.segmenter.place(parts, fused, _seed_ids(loaded))
            for insight, topic, parts_of in zip(
                insights,
                answers.topics(loaded.segmenter, placement, loaded.snapshot),
                answers.contributions(loaded.segmenter, parts),
            ):
                insight.topic, insight.contributions = topic, parts_of
            timings["segment"] = (time.perf_counter() - clock) * share
            clock = time.perf_counter()
            if loaded.index is not None and similar > 0:
                found = loaded.index.search(fused, similar, [{p.post.id} for p in posts])
                for insight, hits in zip(insights, found):
                    insight.similar = [_similar(h) for h in hits]
            timings["similar"] = (time.perf_counter() - clock) * share
        else:
            for insight in insights:
                insight.notes.append(
                    f"no segmentation to place posts in ({self.segmentation or 'none fitted'}): "
                    "run 'postlens segments fit'"
                )
        clock = time.perf_counter()
        self._labels(batch, insights)
        timings["models"] = (time.perf_counter() - clock) * share
        clock = time.perf_counter()
        if self.popularity_model is not None:
            for insight, answer in zip(
                insights, answers.popularity(self.popularity_model, self.popularity_info, self.popularity_name, batch)
            ):
                insight.popularity = answer
        timings["popularity"] = (time.perf_counter() - clock) * share
        clock = time.perf_counter()
        for i, insight in enumerate(insights):
            insight.trends = answers.trends(loaded.snapshot, batch, i, insight.topic)
            insight.notes += self.notes + loaded.notes
        timings["trends"] = (time.perf_counter() - clock) * share
        readers = [m.name for m in self.models if "ocr" in m.model.text_fields]
        for post, insight in zip(posts, insights):
            insight.timings_ms = {k: round(v, 2) for k, v in timings.items()}
            if not ocr and readers and any(m.kind in (Modality.IMAGE, Modality.GIF) for m in post.media):
                insight.notes.append(f"OCR was off: {', '.join(readers)} read no text from the images")
        return insights

    def _model_text_encoders(self) -> list[str]:
        names = [m.model.encoders["text"]["encoder"] for m in self.models if "text" in m.model.encoders]
        if self.popularity_model is not None and "text" in self.popularity_model.config.features.modalities:
            names.append(self.popularity_model.config.features.modalities["text"])
        return [n for n in names if n]

    def _labels(self, batch: BatchFeatures, insights: list[Insight]) -> None:
        for loaded_model in self.models:
            try:
                answered = answers.model_labels(loaded_model, batch)
            except (PostlensError, ValueError) as exc:
                for insight in insights:
                    insight.problems.append(
                        Problem(code="model_failed", message=str(exc), part=f"model {loaded_model.name}")
                    )
                continue
            for row, (insight, label) in enumerate(zip(insights, answered)):
                if loaded_model.role == "label":
                    insight.labels.append(label)
                elif loaded_model.role == "emotion" and insight.emotion is None:
                    insight.emotion = label
                elif loaded_model.role == "sentiment" and (
                    insight.sentiment is None or insight.sentiment.model is None
                ):
                    insight.sentiment = answers.sentiment(batch, row, label)
        for i, insight in enumerate(insights):
            if insight.sentiment is None:
                insight.sentiment = answers.sentiment(batch, i, None)

    def _base_insight(self, batch: BatchFeatures, row: int) -> Insight:
        agent_post, item = batch.posts[row], batch.items[row]
        post = agent_post.post
        present = answers.present_modalities(batch, row)
        problems = list(agent_post.problems)
        for gated in agent_post.media:
            for encoder, found in item.media.get(gated.index, {}).items():
                if found.error and not found.error.startswith("no_audio"):
                    problems.append(
                        Problem(
                            code=found.error.split(":", 1)[0],
                            message=found.error,
                            part=f"media[{gated.index}] {gated.name} ({encoder})",
                        )
                    )
        return Insight(
            post_id=post.id,
            platform=post.platform,
            created_at=post.created_at,
            language=post.language or (item.language.code if item.language else None),
            language_confidence=round(item.language.confidence, 4) if item.language else None,
            text=post.text,
            cleaned_text=item.cleaned_text,
            ocr_text=item.fields.get("ocr"),
            video_text=_joined(f.info.get("onscreen_text") for f in _outputs(item, agent_post, "video")),
            transcript=_joined(
                [f.text for f in _outputs(item, agent_post, "audio")]
                + [f.info.get("transcript") for f in _outputs(item, agent_post, "video")]
            ),
            hashtags=list(post.hashtags),
            mentions=list(post.mentions),
            modalities=present,
            missing_modalities=[m for m in answers.MODALITIES if m not in present],
            media=[
                MediaSummary(
                    index=g.index,
                    kind=str(g.kind),
                    name=g.name,
                    sha256=g.stored.sha256,
                    mime=g.stored.mime,
                    bytes=g.stored.bytes,
                    width=g.stored.width,
                    height=g.stored.height,
                    duration_s=g.stored.duration_s,
                )
                for g in agent_post.media
            ],
            visual_labels=answers.visual_labels(batch, row),
            problems=problems,
        )


class _Slot:
    """A place among ``max_concurrency``: wait in line, at most ``timeout`` seconds."""

    def __init__(self, gate: threading.BoundedSemaphore, timeout: float | None) -> None:
        self.gate, self.timeout = gate, timeout

    def __enter__(self) -> None:
        if not self.gate.acquire(timeout=self.timeout):
            raise BusyError(f"the agent is busy: no model slot freed within {self.timeout} s; try again")

    def __exit__(self, *_: object) -> None:
        self.gate.release()


class _RequestStore:
    """A private scratch folder for one call's media copies, removed afterwards."""

    def __init__(self, folder: Path, limits: Mapping[str, int]) -> None:
        self.folder, self.limits = folder, limits

    def __enter__(self) -> MediaStore:
        return MediaStore(self.folder, self.limits or None)

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _similar(hit: Any) -> SimilarPost:
    record = hit.record
    return SimilarPost(
        post_id=record["post_id"],
        similarity=round(hit.similarity, 4),
        text=record["text"] or "",
        created_at=record["created_at"],
        media_kinds=list(record["media_kinds"] or []),
        topic_id=record["topic_id"],
        labels=record["labels"],
    )


def _outputs(item: Any, agent_post: AgentPost, encoder: str) -> list[Any]:
    """The post's media outputs of one encoder, in media order, failures left out."""
    found = [item.media.get(m.index, {}).get(encoder) for m in agent_post.media]
    return [f for f in found if f is not None and not f.error]


def _joined(texts: Any) -> str | None:
    """Non-empty texts (or lists of lines) one per line; None when there are none."""
    lines: list[str] = []
    for text in texts:
        for line in text if isinstance(text, list) else [text]:
            if isinstance(line, str) and line.strip() and line.strip() not in lines:
                lines.append(line.strip())
    return "\n".join(lines) or None


def _seed_ids(loaded: _Loaded) -> dict[str, int]:
    return {row.name: t for t, row in loaded.snapshot.topics.items() if row.name is not None}


def _file_name(item: FileInput | None) -> str | None:
    if item is None:
        return None
    return item.filename if isinstance(item, MediaInput) else Path(os.fspath(item)).name


def _folder_stamp(folder: Path) -> tuple[Any, ...]:
    """Changes when ``segments fit`` rewrites the segmentation's files (not when the index is updated)."""
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            (str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*")
            if p.is_file() and "index" not in p.relative_to(folder).parts
        )
    )
