"""``postlens segments fit|assign|show``: topics of a workspace's posts, as the CLI runs them.

Three kinds of segmentation, each under a name in the ``topics`` / ``post_topics`` tables:
clusters found in the posts (``topics``), zero-shot seeds a user names (``seeds:<file>``) and the
classes of a trained model (``model:<name>``). ``fit`` (re)computes one for every post;
``assign`` places only posts that have no segment yet (and retries the outliers), keeping every
assigned post's topic id. The topic model lives in ``<workspace>/segments/<name>/``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postlens.engine.base import Engine
from postlens.errors import ConfigError
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.tasks.segments import tables
from postlens.tasks.segments.describe import TopicSummary, describe_topics
from postlens.tasks.segments.embed import cached_embedder
from postlens.tasks.segments.load import EncoderKeys, load_parts
from postlens.tasks.segments.model import Assignment, Change, TopicModel
from postlens.tasks.segments.seeds import SeedSegmenter, read_seed_topics, seed_prompts
from postlens.tasks.segments.space import SharedSpace

DEFAULT_NAME = "topics"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


@dataclass
class SegmentsReport:
    """What a fit or assign did."""

    segmentation: str
    kind: str
    posts: int
    outliers: int
    topics: list[TopicSummary]
    changes: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def fit_segments(
    workspace: str | Path | None = None,
    *,
    name: str | None = None,
    n_topics: int | None = None,
    min_topic_size: int | None = None,
    seed_topics: Path | None = None,
    model: str | None = None,
    min_similarity: float | None = None,
    random_state: int = 0,
) -> SegmentsReport:
    """Segment every post: clusters (default), zero-shot ``seed_topics`` (a YAML file) or a trained ``model``."""
    if seed_topics is not None and model is not None:
        raise ConfigError("give --seed-topics or --model, not both")
    started = time.perf_counter()
    kind = "seed" if seed_topics is not None else "class" if model is not None else "cluster"
    name = check_name(
        name
        or (
            f"seeds:{Path(seed_topics).stem}"
            if seed_topics is not None
            else f"model:{Path(str(model)).name}"
            if model is not None
            else DEFAULT_NAME
        )
    )
    root = resolve_workspace_path(workspace)
    with Workspace(root, create=False) as ws:
        _refuse_other_kind(ws, name, kind)
        run_id = _run_id()
        if kind == "class":
            return _fit_supervised(ws, name, str(model), run_id, started)
        parts = load_parts(ws)
        if not len(parts):
            raise ConfigError(f"{root} has no posts; run 'postlens ingest' first")
        embed = cached_embedder(ws)
        if kind == "seed":
            assert seed_topics is not None
            seeds = read_seed_topics(seed_topics)
            space = SharedSpace(embed_texts=embed).fit(parts)
            segmenter = SeedSegmenter(min_similarity=min_similarity).fit(
                space.transform(parts), embed(seed_prompts(seeds))
            )
            ids = _ids_by_name(ws, name, [s.name for s in seeds])
            topics = [ids[seeds[i].name] if i >= 0 else None for i in segmenter.labels_]
            result = Assignment(
                parts.ids,
                topics,
                segmenter.scores_,
                np.zeros(len(parts), bool),
                [
                    Change("created", ids[s.name], detail=s.prompt())
                    for s in seeds
                    if ids[s.name] not in tables.known_topics(ws, name)
                ],
            )
            _save_seeds(_folder(ws, name), space, seeds, segmenter)
            names = {ids[s.name]: s.name for s in seeds}
        else:
            previous = {p: t for p, t in tables.assignments(ws, name).items() if t is not None}
            known = tables.known_topics(ws, name)
            topic_model = TopicModel(
                n_topics=n_topics, min_topic_size=min_topic_size, random_state=random_state, embed_texts=embed
            )
            result = topic_model.fit(parts, previous, max(known, default=0) + 1)
            topic_model.save(_folder(ws, name))
            names = {}
        _count_created(result)
        summaries = describe_topics(parts, result.topics, result.scores)
        rows = [tables.TopicRow(s, kind, names.get(t)) for t, s in summaries.items()]
        if kind == "seed":
            rows += [tables.TopicRow(TopicSummary(t, 0), kind, n) for t, n in names.items() if t not in summaries]
        tables.write_run(
            ws,
            name,
            run_id,
            post_ids=result.ids,
            topics=result.topics,
            scores=result.scores,
            novel=result.novel,
            rows=rows,
            changes=result.changes,
            replace_all=True,
        )
        return _report(ws, name, kind, result, started)


def assign_segments(
    workspace: str | Path | None = None,
    *,
    name: str = DEFAULT_NAME,
    featurize_new: bool = True,
    engine: Engine | None = None,
) -> SegmentsReport:
    """Place posts that have no segment yet in ``name`` (and retry its outliers); old posts keep their topic.

    ``engine``: where the new posts are featurized (a ``RayEngine``: one actor pool per encoder); placing
    them reads the cached vectors here, so the topics are the same on every engine."""
    started = time.perf_counter()
    name = check_name(name)
    root = resolve_workspace_path(workspace)
    with Workspace(root, create=False) as ws:
        kinds = {row[0]: row[1] for row in tables.segmentations(ws)}
        if name not in kinds:
            raise ConfigError(
                f"no segmentation {name!r} in {root}; run 'postlens segments fit' first. "
                f"Segmentations there: {', '.join(sorted(kinds)) or 'none'}"
            )
        kind = kinds[name]
        done = tables.assignments(ws, name)
        new = [
            r[0]
            for r in ws.db.execute("SELECT id FROM posts ORDER BY created_at NULLS LAST, id").fetchall()
            if r[0] not in done
        ]
        pending = [p for p, t in done.items() if t is None]
        run_id = _run_id()
        if kind == "class":
            model = json.loads((_folder(ws, name) / "model.json").read_text())["model"]
            return _fit_supervised(ws, name, model, run_id, started, post_ids=new, engine=engine)
        if featurize_new and new:
            _featurize(ws, new, engine=engine)
        embed = cached_embedder(ws)
        parts = load_parts(ws, new)
        if kind == "seed":
            space, seed_names, segmenter = _load_seeds(_folder(ws, name), embed)
            ids = _ids_by_name(ws, name, seed_names)
            labels, scores = (
                segmenter.predict(space.transform(parts)) if len(parts) else (np.zeros(0, int), np.zeros(0))
            )
            result = Assignment(
                parts.ids, [ids[seed_names[i]] if i >= 0 else None for i in labels], scores, np.zeros(len(parts), bool)
            )
        else:
            topic_model = TopicModel.load(_folder(ws, name), embed_texts=embed)
            result = topic_model.update(parts, load_parts(ws, pending) if pending else None)
            topic_model.save(_folder(ws, name))
        everything = load_parts(ws)
        current = {**{p: t for p, t in done.items()}, **dict(zip(result.ids, result.topics))}
        score_of = dict(
            ws.db.execute("SELECT post_id, score FROM post_topics WHERE segmentation = ?", [name]).fetchall()
        )
        score_of.update(zip(result.ids, result.scores))
        summaries = describe_topics(
            everything,
            [current.get(p) for p in everything.ids],
            np.array([score_of.get(p) if score_of.get(p) is not None else np.nan for p in everything.ids], float),
        )
        known = tables.known_topics(ws, name)
        rows = [tables.TopicRow(s, kind, (known.get(t) or {}).get("name")) for t, s in summaries.items()]
        tables.write_run(
            ws,
            name,
            run_id,
            post_ids=result.ids,
            topics=result.topics,
            scores=result.scores,
            novel=result.novel,
            rows=rows,
            changes=result.changes,
        )
        return _report(ws, name, kind, result, started)


def _fit_supervised(
    ws: Workspace,
    name: str,
    model: str,
    run_id: str,
    started: float,
    post_ids: Sequence[str] | None = None,
    engine: Engine | None = None,
) -> SegmentsReport:
    """The classes a trained model predicts as segments (``postlens predict`` underneath)."""
    from postlens.models.artifact import load_model
    from postlens.pipeline.predict import resolve_model_folder

    trained = load_model(resolve_model_folder(model, ws.root))
    if trained.task != "classification":
        raise ConfigError(f"model {trained.name!r} is a {trained.task} model; segments need a classification model")
    ids = _ids_by_name(ws, name, [])
    if post_ids is not None and not post_ids:
        result = Assignment([], [], np.zeros(0), np.zeros(0, bool))
    else:
        predictions = trained.predict_posts(
            ws, post_ids=post_ids, featurizer=lambda w, encoders, ids: _featurize(w, ids, encoders, engine=engine)
        )
        frame = predictions.frame
        classes = sorted(str(c) for c in frame["label"].dropna().unique())
        ids = _ids_by_name(ws, name, classes)
        probability = [float(row.get(f"proba_{row['label']}", np.nan)) for row in frame.to_dict("records")]
        known = tables.known_topics(ws, name)
        result = Assignment(
            list(frame["post_id"]),
            [ids[str(v)] for v in frame["label"]],
            np.array(probability),
            np.zeros(len(frame), bool),
            [
                Change("created", ids[c], detail=f"class {c!r} of model {trained.name}")
                for c in classes
                if ids[c] not in known
            ],
        )
    _count_created(result)
    folder = _folder(ws, name)
    (folder / "model.json").write_text(json.dumps({"model": model}))
    assigned = {**tables.assignments(ws, name), **dict(zip(result.ids, result.topics))}
    everything = load_parts(ws)
    summaries = describe_topics(everything, [assigned.get(p) for p in everything.ids], np.full(len(everything), np.nan))
    names = {topic_id: label for label, topic_id in ids.items()}
    rows = [tables.TopicRow(s, "class", names.get(t)) for t, s in summaries.items()]
    tables.write_run(
        ws,
        name,
        run_id,
        post_ids=result.ids,
        topics=result.topics,
        scores=result.scores,
        novel=result.novel,
        rows=rows,
        changes=result.changes,
        replace_all=post_ids is None,
    )
    return _report(ws, name, "class", result, started)


def _count_created(result: Assignment) -> None:
    """A seed's or class's "created" entry counts the posts it received in this run."""
    for change in result.changes:
        if change.event == "created" and not change.posts:
            change.posts = sum(t == change.topic_id for t in result.topics)


def _report(ws: Workspace, name: str, kind: str, result: Assignment, started: float) -> SegmentsReport:
    known = tables.known_topics(ws, name)
    summaries = [
        TopicSummary(
            t, int(r["size"]), list(zip(r["words"] or [], r["word_scores"] or [])), list(r["representatives"] or [])
        )
        for t, r in known.items()
        if r["status"] == "active"
    ]
    return SegmentsReport(
        name,
        kind,
        len(result.ids),
        sum(t is None for t in result.topics),
        summaries,
        result.changes,
        time.perf_counter() - started,
    )


def _ids_by_name(ws: Workspace, name: str, names: Sequence[str]) -> dict[str, int]:
    """A seed's or class's topic id: the one it had before, else the next free id."""
    by_name = {r["name"]: t for t, r in tables.known_topics(ws, name).items() if r["name"] is not None}
    next_id = max(by_name.values(), default=0) + 1
    for label in names:
        if label not in by_name:
            by_name[label] = next_id
            next_id += 1
    return by_name


def _featurize(
    ws: Workspace, post_ids: Sequence[str], encoders: Sequence[str] | None = None, *, engine: Engine | None = None
) -> int:
    """Compute what the cache lacks for these posts, with the encoders the workspace already uses."""
    from postlens.pipeline.featurize import featurize

    if encoders is None:
        cache = FeatureCache(ws.features_dir)
        keys = EncoderKeys.installed()
        wanted = {"minilm": keys.text, "efficientnet": keys.image, "video": keys.video, "audio": keys.audio}
        encoders = [n for n, k in wanted.items() if cache.parts(k)]
        if any(cache.root.glob("rapidocr@*")):
            encoders.append("ocr")
    return featurize(ws, encoders=list(encoders), post_ids=list(post_ids), engine=engine).computed


def _refuse_other_kind(ws: Workspace, name: str, kind: str) -> None:
    kinds = {row[0]: row[1] for row in tables.segmentations(ws)}
    if name in kinds and kinds[name] != kind:
        raise ConfigError(f"segmentation {name!r} holds {kinds[name]} segments, not {kind} ones; pass another --name")


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise ConfigError(
            f"segmentation name {name!r}: use 1-100 letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit"
        )
    return name


def _folder(ws: Workspace, name: str) -> Path:
    folder = ws.root / "segments" / name.replace(":", "__")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _save_seeds(folder: Path, space: SharedSpace, seeds: Any, segmenter: SeedSegmenter) -> None:
    space.save(folder / "space")
    with open(folder / "seeds.npz", "wb") as handle:
        np.savez(handle, centres=segmenter.centres_)
    (folder / "seeds.json").write_text(
        json.dumps(
            {
                "names": [s.name for s in seeds],
                "prompts": seed_prompts(seeds),
                "min_similarity": segmenter.min_similarity,
            },
            indent=2,
        )
    )


def _load_seeds(folder: Path, embed: Any) -> tuple[SharedSpace, list[str], SeedSegmenter]:
    meta = json.loads((folder / "seeds.json").read_text())
    segmenter = SeedSegmenter(min_similarity=meta.get("min_similarity"))
    with np.load(folder / "seeds.npz", allow_pickle=False) as data:
        segmenter.centres_ = data["centres"]
    return SharedSpace.load(folder / "space", embed_texts=embed), [str(n) for n in meta["names"]], segmenter


@dataclass
class SegmentsView:
    """What ``postlens segments show`` prints: the topics, their typical posts, sizes over time, history."""

    segmentation: str
    segmentations: list[tuple[str, str, int, int]]
    topics: list[dict[str, Any]]
    examples: dict[int, list[str]]
    over_time: list[tuple[Any, int, int]]
    history: list[tuple[Any, ...]]
    outliers: int


def show_segments(
    workspace: str | Path | None = None,
    *,
    name: str = DEFAULT_NAME,
    topic: int | None = None,
    bin: str = "week",
    examples: int = 3,
) -> SegmentsView:
    """Read-only: the segmentation ``name`` (one ``topic`` when given)."""
    name = check_name(name)
    with Workspace(workspace, read_only=True) as ws:
        every = tables.segmentations(ws)
        if name not in {row[0] for row in every}:
            raise ConfigError(
                f"no segmentation {name!r} in {ws.root}; segmentations there: "
                f"{', '.join(row[0] for row in every) or 'none (run postlens segments fit)'}"
            )
        known = tables.known_topics(ws, name)
        if topic is not None and topic not in known:
            raise ConfigError(f"segmentation {name!r} has no topic {topic}; its topics: {', '.join(map(str, known))}")
        chosen = [r for t, r in known.items() if topic is None or t == topic]
        texts: dict[int, list[str]] = {}
        for row in chosen:
            ids = list(row["representatives"] or [])[:examples]
            found = (
                dict(
                    ws.db.execute(
                        "SELECT post_id, string_agg(text, ' | ' ORDER BY field = 'text' DESC, field) FROM text_fields "
                        "WHERE list_contains(?, post_id) GROUP BY post_id",
                        [ids],
                    ).fetchall()
                )
                if ids
                else {}
            )
            texts[row["topic_id"]] = [found.get(i) or "" for i in ids]
        over_time = [r for r in tables.sizes_over_time(ws, name, bin) if topic is None or r[1] == topic]
        history = ws.db.execute(
            "SELECT happened_at, event, topic_id, other_topic_ids, posts, detail FROM topic_history "
            "WHERE segmentation = ? AND (? IS NULL OR topic_id = ?) ORDER BY happened_at, topic_id",
            [name, topic, topic],
        ).fetchall()
        outliers = ws.db.execute(
            "SELECT count(*) FROM post_topics WHERE segmentation = ? AND topic_id IS NULL", [name]
        ).fetchone()
    return SegmentsView(name, every, chosen, texts, over_time, history, int(outliers[0]) if outliers else 0)
