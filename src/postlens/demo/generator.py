"""``generate_corpus``: write a synthetic multimodal corpus with planted structure.

The demo and the tests of later stages (topics, popularity, trends, sentiment) need data whose
truth is known; this writes posts.jsonl (native format), media files, truth.json and README.txt
into one folder, deterministically from the seed.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from postlens.demo.assets import MediaPlan, render_media
from postlens.demo.authors import DemoAuthor, make_authors
from postlens.demo.engagement import EngagementModel, sample_engagement
from postlens.demo.plan import CorpusParams, PlannedPost, choose_burst, plan_posts
from postlens.demo.texts import compose_text, post_rng
from postlens.demo.topics import TOPICS
from postlens.demo.truth import GENERATOR_NAME, build_truth, r6, write_json, write_readme
from postlens.errors import ConfigError
from postlens.types import Author, Post, extract_entities

SOURCE = "demo"
PLATFORM = "demo"
LANGUAGE = "en"
# Independent random streams per post (see texts.post_rng): changing one never shifts another.
_STREAM_TEXT, _STREAM_MEDIA, _STREAM_ENGAGEMENT = 2, 3, 4


@dataclass(slots=True)
class CorpusSummary:
    """What ``generate_corpus`` wrote; ``by_kind`` counts posts per kind (text, image, image_only...)."""

    out_dir: Path
    posts_path: Path
    truth_path: Path
    readme_path: Path
    media_dir: Path
    seed: int
    n_posts: int
    n_authors: int
    by_kind: dict[str, int]
    by_modality: dict[str, int]
    n_media_files: int
    media_bytes: int
    burst: dict[str, Any]
    duration_s: float
    labelled: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "posts_path": str(self.posts_path),
            "truth_path": str(self.truth_path),
            "readme_path": str(self.readme_path),
            "media_dir": str(self.media_dir),
            "seed": self.seed,
            "n_posts": self.n_posts,
            "n_authors": self.n_authors,
            "by_kind": dict(self.by_kind),
            "by_modality": dict(self.by_modality),
            "n_media_files": self.n_media_files,
            "media_bytes": self.media_bytes,
            "burst": dict(self.burst),
            "labelled": self.labelled,
            "duration_s": self.duration_s,
        }


def _prepare_out_dir(out: Path) -> None:
    """Refuse to write into a folder that holds anything but an earlier demo corpus."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"demo-data output {out} is a file; give a folder path (it will be created)")
    if out.exists() and any(out.iterdir()):
        truth = out / "truth.json"
        is_demo = False
        if truth.is_file():
            try:
                is_demo = orjson.loads(truth.read_bytes()).get("generator") == GENERATOR_NAME
            except (orjson.JSONDecodeError, AttributeError):
                is_demo = False
        if not is_demo:
            raise ConfigError(
                f"demo-data output {out} is not empty and holds no earlier demo corpus; "
                "choose an empty or new folder so nothing of yours is overwritten"
            )
        shutil.rmtree(out / "media", ignore_errors=True)
    (out / "media").mkdir(parents=True, exist_ok=True)


def _build_post(
    seed: int,
    planned: PlannedPost,
    authors: list[DemoAuthor],
    model: EngagementModel,
    out: Path,
) -> tuple[Post, dict[str, Any], int]:
    topic = TOPICS[planned.topic]
    author = authors[planned.author]
    text, hard_sentiment = "", False
    if planned.has_text:
        handles = [a.handle for a in authors if a.id != author.id]
        text, hard_sentiment = compose_text(
            post_rng(seed, _STREAM_TEXT, planned.index),
            topic,
            planned.sentiment,
            other_handles=handles,
            in_burst=planned.in_burst,
        )
    media = render_media(
        post_rng(seed, _STREAM_MEDIA, planned.index),
        MediaPlan(
            index=planned.index + 1,
            kind=planned.kind,
            topic=planned.topic,
            scene_change_topic=planned.scene_change_topic,
        ),
        out,
    )
    log_mu = model.log_mu(
        topic_effect=topic.effect,
        followers=author.followers,
        verified=author.verified,
        created_at=planned.created_at,
        kind=planned.kind,
        sentiment=planned.sentiment,
    )
    noise, snapshots = sample_engagement(
        post_rng(seed, _STREAM_ENGAGEMENT, planned.index), model, log_mu, planned.sentiment, planned.created_at
    )
    hashtags, mentions, urls = extract_entities(text)
    post = Post(
        source=SOURCE,
        native_id=f"{planned.index + 1:06d}",
        platform=PLATFORM,
        created_at=planned.created_at,
        text=text,
        language=LANGUAGE if text else None,
        author=Author(id=author.id, handle=author.handle, followers=author.followers, verified=author.verified),
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        media=media.parts,
        engagement=snapshots,
        labels={"topic": topic.name, "sentiment": planned.sentiment} if planned.labelled else {},
    )
    truth = {
        "id": post.id,
        "topic": topic.name,
        "sentiment": planned.sentiment,
        "sentiment_hard": hard_sentiment,
        "kind": planned.kind,
        "labelled": planned.labelled,
        "in_burst": planned.in_burst,
        "author": author.id,
        "expected_log_likes": r6(log_mu),
        "noise": r6(noise),
        "media": media.truth,
    }
    return post, truth, media.bytes_written


def generate_corpus(
    out: Path,
    *,
    seed: int = 0,
    n_posts: int = 3000,
    progress: Callable[[int, int], None] | None = None,
    params: CorpusParams | None = None,
) -> CorpusSummary:
    """Write the demo corpus into ``out`` (created; an earlier demo corpus there is replaced).

    ``params`` overrides the other knobs (authors, weeks, mix, burst...); its ``n_posts`` is
    replaced by the ``n_posts`` argument. ``progress(done, total)`` is called after each post.
    """
    if n_posts < 1:
        raise ConfigError(f"n_posts must be at least 1, got {n_posts}")
    started = time.perf_counter()
    out = Path(out)
    base = params or CorpusParams()
    params = CorpusParams(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "n_posts": n_posts})
    _prepare_out_dir(out)
    model = EngagementModel()
    authors = make_authors(np.random.default_rng([seed, 1]), params.n_authors)
    plan_rng = np.random.default_rng([seed, 0])
    burst = choose_burst(plan_rng, params)
    planned = plan_posts(plan_rng, params, authors, burst)

    posts_path = out / "posts.jsonl"
    tmp_posts = posts_path.with_suffix(".jsonl.tmp")
    truth_posts: list[dict[str, Any]] = []
    by_kind: Counter[str] = Counter()
    by_modality: Counter[str] = Counter()
    n_files = media_bytes = labelled = 0
    with tmp_posts.open("wb") as sink:
        for done, item in enumerate(planned, start=1):
            post, truth, written = _build_post(seed, item, authors, model, out)
            sink.write(orjson.dumps(post.to_dict(), option=orjson.OPT_SORT_KEYS) + b"\n")
            truth_posts.append(truth)
            by_kind[item.kind] += 1
            by_modality.update(str(m) for m in post.modalities)
            n_files += len(post.media)
            media_bytes += written
            labelled += bool(post.labels)
            if progress is not None:
                progress(done, len(planned))
    tmp_posts.replace(posts_path)

    truth = build_truth(seed=seed, params=params, model=model, burst=burst, authors=authors, posts=truth_posts)
    truth_path = out / "truth.json"
    write_json(truth_path, truth)
    readme_path = out / "README.txt"
    write_readme(readme_path, truth, model)
    return CorpusSummary(
        out_dir=out,
        posts_path=posts_path,
        truth_path=truth_path,
        readme_path=readme_path,
        media_dir=out / "media",
        seed=seed,
        n_posts=len(planned),
        n_authors=len(authors),
        by_kind=dict(sorted(by_kind.items())),
        by_modality=dict(sorted(by_modality.items())),
        n_media_files=n_files,
        media_bytes=media_bytes,
        burst=truth["burst"],
        duration_s=round(time.perf_counter() - started, 3),
        labelled=labelled,
    )
