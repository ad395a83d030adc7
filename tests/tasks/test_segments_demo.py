"""Segments on the sample corpus, end to end with real models and a real workspace: the planted
topics come back, image-only posts get one, ids stay put when a week with a new topic arrives,
and seed names find their posts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _segments_fixtures import DemoCorpus, ingest_and_featurize

from postlens.pipeline.segments import assign_segments, fit_segments, show_segments
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def nmi(a: list[object], b: list[object]) -> float:
    """Normalized mutual information (arithmetic mean), written out so the test depends on no library's version."""
    _, ai = np.unique(np.array(a, dtype=str), return_inverse=True)
    _, bi = np.unique(np.array(b, dtype=str), return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)
    p = table / table.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mutual = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    entropy = lambda q: float(-(q[q > 0] * np.log(q[q > 0])).sum())  # noqa: E731
    return 2 * mutual / (entropy(pa) + entropy(pb))


def assigned(workspace: Path, name: str = "topics") -> dict[str, int | None]:
    with Workspace(workspace, read_only=True) as ws:
        return dict(
            ws.db.execute("SELECT post_id, topic_id FROM post_topics WHERE segmentation = ?", [name]).fetchall()
        )


def test_planted_topics_are_recovered_and_image_only_posts_get_one(
    demo_corpus: DemoCorpus, demo_workspace: Path
) -> None:
    report = fit_segments(demo_workspace)
    topics = assigned(demo_workspace)
    truth, kinds = demo_corpus.topic_of(), demo_corpus.kind_of()
    with Workspace(demo_workspace, read_only=True) as ws:  # featurized here: text and images, not video or audio
        blank = {
            r[0]
            for r in ws.db.execute(
                "SELECT id FROM posts WHERE length(trim(text)) = 0 AND NOT list_has_any(media_kinds, ['image', 'gif'])"
            ).fetchall()
        }
    assert set(topics) == set(truth) and {p for p, t in topics.items() if t is None} == blank
    topics = {p: t for p, t in topics.items() if p not in blank}
    score = nmi([truth[p] for p in topics], [topics[p] for p in topics])
    print(f"NMI vs planted topics: {score:.3f} with {len(report.topics)} topics")
    assert score >= 0.8
    image_only = [p for p in truth if kinds[p] == "image_only"]
    assert image_only and all(topics[p] is not None for p in image_only)
    # an image-only post lands in the topic most posts of its planted topic are in
    home = {
        t: Counter(topics[p] for p in topics if truth[p] == t and kinds[p] != "image_only").most_common(1)[0][0]
        for t in set(truth.values())
    }
    agree = np.mean([topics[p] == home[truth[p]] for p in image_only])
    print(f"image-only posts in their planted topic's cluster: {agree:.2f} of {len(image_only)}")
    assert agree >= 0.8
    view = show_segments(demo_workspace)
    assert {r["topic_id"] for r in view.topics} == {t for t in topics.values() if t is not None}
    assert all(r["words"] and r["representatives"] for r in view.topics) and view.over_time
    assert view.outliers == len(blank)


def test_refit_keeps_topic_ids(demo_workspace: Path) -> None:
    fit_segments(demo_workspace)
    first = assigned(demo_workspace)
    report = fit_segments(demo_workspace)
    second = assigned(demo_workspace)
    moved = sum(first[p] != second[p] for p in first)
    assert moved <= 0.02 * len(first)  # same posts, same model: ids are not renumbered
    assert {c.event for c in report.changes} <= {"kept", "merged", "split", "created", "retired"}
    assert "kept" in {c.event for c in report.changes}


def test_a_new_week_with_a_new_topic_gets_a_new_id_and_old_posts_keep_theirs(
    demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    times = {p["id"]: p for p in demo_corpus.truth["posts"]}
    created = _created_at(demo_corpus)
    cut = sorted(created.values())[int(0.75 * len(created))]
    first = demo_corpus.write_subset("first.jsonl", lambda p: created[p["id"]] < cut and p["topic"] != "music")
    second = demo_corpus.write_subset("second.jsonl", lambda p: created[p["id"]] >= cut)
    workspace = tmp_path / "ws"
    ingest_and_featurize(demo_corpus, first, workspace)
    fit_segments(workspace)
    before = assigned(workspace)
    old_ids = {t for t in before.values() if t is not None}
    ingest_and_featurize(demo_corpus, second, workspace)
    report = assign_segments(workspace)
    after = assigned(workspace)
    assert all(after[p] == t for p, t in before.items()), "an old post changed topic"
    new_posts = [p for p in after if p not in before]
    music = [p for p in new_posts if times[p]["topic"] == "music"]
    created_topics = [c.topic_id for c in report.changes if c.event == "created"]
    assert created_topics and not set(created_topics) & old_ids
    top, count = Counter(after[p] for p in music).most_common(1)[0]
    print(f"{len(music)} music posts in the new week: {count} in topic {top}; new topics {created_topics}")
    assert top in created_topics and count >= 0.8 * len(music)
    others = [p for p in new_posts if times[p]["topic"] != "music"]
    assert np.mean([after[p] in old_ids for p in others]) >= 0.9
    with Workspace(workspace, read_only=True) as ws:
        history = ws.db.execute("SELECT event, topic_id FROM topic_history WHERE event = 'created'").fetchall()
    assert ("created", top) in history


def test_seed_topics_assign_posts_to_the_named_seeds(demo_corpus: DemoCorpus, demo_workspace: Path) -> None:
    report = fit_segments(demo_workspace, seed_topics=REPO / "examples" / "seed-topics-demo.yaml")
    assert report.segmentation == "seeds:seed-topics-demo"
    with Workspace(demo_workspace, read_only=True) as ws:
        rows = ws.db.execute(
            "SELECT p.post_id, t.name FROM post_topics p JOIN topics t USING (segmentation, topic_id) "
            "WHERE p.segmentation = ?",
            [report.segmentation],
        ).fetchall()
        placed = ws.db.execute(
            "SELECT count(*) FROM post_topics WHERE segmentation = ? AND topic_id IS NOT NULL", [report.segmentation]
        ).fetchone()
    truth = demo_corpus.topic_of()
    accuracy = np.mean([truth[p] == name for p, name in rows])
    print(f"seed topics: {accuracy:.3f} of {len(rows)} posts under the seed named like their planted topic")
    assert placed == (len(rows),) and len(rows) >= 0.9 * len(truth) and accuracy >= 0.8


def _created_at(corpus: DemoCorpus) -> dict[str, str]:
    import orjson

    return {
        orjson.loads(line)["id"]: orjson.loads(line)["created_at"]
        for line in (corpus.corpus / "posts.jsonl").read_bytes().splitlines()
        if line.strip()
    }
