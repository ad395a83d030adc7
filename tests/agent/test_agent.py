"""The agent on a small real workspace: every modality, every section of the insight, and the same
answers as the workspace's own prediction paths give the same post once imported and featurized."""

from __future__ import annotations

import orjson
import pytest

from _agent_fixtures import AgentWorkspace
from postlens.agent import Agent, Failure, Insight
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow
MODALITIES = {"text", "image", "video", "audio"}


def stored(workspace: AgentWorkspace, sql: str, params: list | None = None) -> list[tuple]:
    with Workspace(workspace.root, read_only=True) as ws:
        return ws.db.execute(sql, params or []).fetchall()


def check_common(insight: Insight, workspace: AgentWorkspace, present: set[str]) -> None:
    """What every insight of this workspace must hold, whatever the post is made of."""
    assert set(insight.modalities) == present and set(insight.missing_modalities) == MODALITIES - present
    assert Insight.model_validate_json(insight.model_dump_json()) == insight  # JSON round trip, nothing lost
    topics = {t for (t,) in stored(workspace, "SELECT topic_id FROM topics WHERE segmentation = 'topics'")}
    assert insight.topic is not None and insight.topic.segmentation == "topics"
    assert insight.topic.topic_id in topics and 0.0 <= insight.topic.confidence <= 1.0 and insight.topic.words
    assert insight.topic.runner_up is not None and insight.topic.runner_up.topic_id != insight.topic.topic_id
    label = next(lab for lab in insight.labels if lab.model == "demo-topic")
    assert label.label in label.probabilities and sum(label.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    read = present | ({"text"} if insight.ocr_text else set())  # the model's text input is text + OCR
    assert set(label.missing_modalities) == MODALITIES - read
    assert set(label.contributions) == read  # one drop-the-modality figure per input the post has
    assert insight.popularity is not None and insight.popularity.model == "popularity"
    assert (
        insight.popularity.predicted >= 0 and 0 <= insight.popularity.percentile <= 100 and insight.popularity.drivers
    )
    known = {p for (p,) in stored(workspace, "SELECT id FROM posts")}
    assert len(insight.similar) == 5 and {s.post_id for s in insight.similar} <= known
    assert [s.similarity for s in insight.similar] == sorted((s.similarity for s in insight.similar), reverse=True)
    assert insight.contributions and sum(c.share for c in insight.contributions) == pytest.approx(1.0, abs=1e-3)
    assert {"read", "segment", "similar", "models", "popularity", "trends", "total"} <= set(insight.timings_ms)
    assert not insight.problems


def test_text_only_post(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    insight = agent.understand(
        text="Final score at Riverside Park: the Falcons 3-1 Harbor FC. What a goal! 😍 #matchday #football"
    )
    check_common(insight, agent_workspace, {"text"})
    assert insight.language == "en" and insight.language_confidence > 0.5
    assert "matchday football" in insight.cleaned_text and "smiling face with heart eyes" in insight.cleaned_text
    assert insight.hashtags == ["matchday", "football"] and insight.ocr_text is None and not insight.media
    assert next(lab for lab in insight.labels if lab.model == "demo-topic").label == "sports"
    assert insight.sentiment.vader is not None and insight.sentiment.vader.compound > 0.05
    assert insight.sentiment.source == "model:demo-sentiment" and insight.sentiment.model.label in {
        "positive",
        "negative",
        "neutral",
    }
    assert [c.part for c in insight.contributions] == ["text"]
    terms = {(t.source, t.term): t for t in insight.trends}
    assert terms[("hashtags", "#matchday")].state in {"emerging", "peaking", "declining", "steady"}
    assert (
        terms[("hashtags", "#matchday")].bin_seconds == 86400
        and ("topics", f"topics:{insight.topic.topic_id}") in terms
    )
    sports = {p for p, t in agent_workspace.topic_of().items() if t == "sports"}
    assert sum(s.post_id in sports for s in insight.similar) >= 4


def test_image_only_post_reads_the_picture_and_its_caption(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    kinds = agent_workspace.kind_of()
    post_id = next(p for p in sorted(kinds) if kinds[p] == "image_only")
    ((path, sha),) = stored(agent_workspace, "SELECT source_path, sha256 FROM media WHERE post_id = ?", [post_id])
    insight = agent.understand(files=[path])
    check_common(insight, agent_workspace, {"image"})
    assert insight.media[0].sha256 == sha and insight.media[0].kind == "image" and insight.visual_labels
    assert all(0 < v.probability <= 1 and v.media == 0 for v in insight.visual_labels)
    ((ocr,),) = stored(agent_workspace, "SELECT text FROM text_fields WHERE post_id = ? AND field = 'ocr'", [post_id])
    assert insight.ocr_text == ocr  # what featurize read from the same picture
    assert (insight.text == "" and insight.sentiment is None) or insight.sentiment.vader is None
    assert {c.part for c in insight.contributions} == {"ocr", "image"}
    topic_of = dict(stored(agent_workspace, "SELECT post_id, topic_id FROM post_topics WHERE segmentation = 'topics'"))
    assert insight.topic.topic_id == topic_of[post_id]  # the stored post's own topic
    assert insight.similar[0].post_id == post_id and insight.similar[0].similarity > 0.99


def test_video_post_reads_frames_captions_and_sound(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    video = agent_workspace.media(".mp4")[0]
    insight = agent.understand(files=[video], text="new gadget review")
    check_common(insight, agent_workspace, {"text", "video"})
    assert insight.media[0].kind == "video" and insight.media[0].duration_s > 0 and insight.video_text
    assert insight.visual_labels and {v.media for v in insight.visual_labels} == {0}  # the frames' labels, averaged
    assert insight.transcript is None  # the demo clips' sound is tones: nobody speaks
    assert {"text", "video_text", "video", "audio"} <= {c.part for c in insight.contributions}  # the sound track too
    assert "video" in insight.timings_ms


def test_audio_post(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    clip = agent_workspace.media(".wav")[0]
    insight = agent.understand(files=[clip])
    check_common(insight, agent_workspace, {"audio"})
    assert insight.media[0].kind == "audio" and insight.media[0].mime == "audio/wav"
    assert [c.part for c in insight.contributions] == ["audio"] and insight.transcript is None  # tones: nobody speaks


def test_a_post_reads_as_the_workspace_reads_it_once_imported(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    """A corpus post given as its JSON line gets the label probabilities ``predict_posts``, the topic
    ``TopicModel.assign`` and the popularity ``predict_popularity`` give the stored post."""
    from postlens.models.artifact import load_model
    from postlens.tasks.popularity import load_popularity_model, predict_popularity
    from postlens.tasks.segments.load import load_parts
    from postlens.tasks.segments.model import TopicModel

    kinds = agent_workspace.kind_of()
    post_id = next(p for p in sorted(kinds) if kinds[p] == "image")
    insight = agent.understand(agent_workspace.lines()[post_id], media_root=agent_workspace.corpus)
    check_common(insight, agent_workspace, {"text", "image"})
    assert insight.post_id == post_id and post_id not in {s.post_id for s in insight.similar}
    assert insight.created_at is not None and insight.platform == "demo" and insight.visual_labels
    root = agent_workspace.root
    with Workspace(root, read_only=True) as ws:
        model = load_model(root / "models" / "demo-topic")
        expected = model.predict_posts(ws, post_ids=[post_id], save=False).frame.iloc[0]
        parts = load_parts(ws, [post_id])
        popularity, info = load_popularity_model(root / "models" / "popularity")
        expected_pop = predict_popularity(popularity, info, ws, [post_id]).frame.iloc[0]
    label = next(lab for lab in insight.labels if lab.model == "demo-topic")
    assert label.label == expected["label"]
    for name, p in label.probabilities.items():
        assert p == pytest.approx(expected[f"proba_{name}"], abs=2e-4)
    assigned = TopicModel.load(root / "segments" / "topics").assign(parts)
    assert insight.topic.topic_id == assigned.topics[0] and insight.topic.similarity == pytest.approx(
        assigned.scores[0], abs=2e-4
    )
    assert insight.popularity.predicted_log == pytest.approx(expected_pop["predicted_log"], abs=2e-4)
    assert insight.popularity.percentile == pytest.approx(expected_pop["percentile"], abs=0.5)


def test_understand_many_batches_and_keeps_going_past_a_bad_input(
    agent: Agent, agent_workspace: AgentWorkspace
) -> None:
    from postlens.agent import AgentRequest

    image = agent_workspace.media(".png")[0]
    inputs = [
        AgentRequest(text="Cooking ramen with a homemade broth tonight #recipe"),
        AgentRequest(text="not a post", post="{broken json"),
        AgentRequest(files=[image], text="dinner"),
        {"text": "Vote early, the election is on Sunday #vote", "author": {"followers": 5000}},
    ]
    results = agent.understand_many(inputs)
    assert len(results) == 4 and isinstance(results[1], Failure)
    assert results[1].index == 1 and results[1].code == "bad_json"
    singles = [agent.understand(text=inputs[0].text), agent.understand(files=[image], text="dinner")]
    for batched, single in zip([results[0], results[2]], singles):
        assert isinstance(batched, Insight)
        assert batched.topic.topic_id == single.topic.topic_id
        assert batched.labels[0].probabilities == pytest.approx(single.labels[0].probabilities, abs=2e-4)
    assert results[3].popularity.followers_prior > results[0].popularity.followers_prior  # 5,000 followers vs unknown


def test_search_finds_image_only_posts_for_words_about_their_subject(
    agent: Agent, agent_workspace: AgentWorkspace
) -> None:
    kinds, topics = agent_workspace.kind_of(), agent_workspace.topic_of()
    hits = agent.search("live music concert with the band on stage", k=10).hits
    assert len(hits) == 10 and sum(topics[h.post_id] == "music" for h in hits) >= 8
    image_only = [h for h in hits if kinds[h.post_id] == "image_only"]
    assert image_only and all(topics[h.post_id] == "music" for h in image_only)
    by_image = agent.search(image=agent_workspace.media(".png")[0], k=5)
    assert by_image.query_image and len(by_image.hits) == 5


def test_the_agent_writes_nothing_to_the_workspace(agent: Agent, agent_workspace: AgentWorkspace) -> None:
    from postlens.agent.state import database_stamp

    before = database_stamp(agent_workspace.root)
    media_before = sorted(p.name for p in (agent_workspace.root / "media").rglob("*"))
    agent.understand(files=[agent_workspace.media(".png")[1]], text="a picture")
    assert database_stamp(agent_workspace.root) == before
    assert sorted(p.name for p in (agent_workspace.root / "media").rglob("*")) == media_before


def test_new_posts_reach_the_index_incrementally(workspace_copy, agent_workspace: AgentWorkspace) -> None:
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest

    agent = Agent(workspace_copy, models=[], popularity=False)
    index = agent._loaded.index
    parts_before = len(list(index.folder.glob("part-*.npy")))
    assert index.live == 300
    post = {
        "source": "late",
        "native_id": "1",
        "platform": "demo",
        "text": "Unboxing the zephyrphone quantum gadget, battery lasts a week",
    }
    (workspace_copy.parent / "late.jsonl").write_bytes(orjson.dumps(post) + b"\n")
    run_ingest([workspace_copy.parent / "late.jsonl"], importer_name="postlens", workspace=workspace_copy)
    featurize(workspace_copy, encoders=["minilm"], post_ids=["late:1"])
    assert agent.refresh(force=True)
    assert agent._loaded.index.live == 301 and len(list(index.folder.glob("part-*.npy"))) == parts_before + 1
    assert agent.search("zephyrphone quantum gadget battery", k=1).hits[0].post_id == "late:1"
    again = Agent(workspace_copy, models=[], popularity=False)  # reopened: reads the saved parts, embeds nothing
    assert again._loaded.index.live == 301 and again._loaded.index.rows == 301


def test_post_in_a_language_vader_cannot_read_has_no_lexicon_score(agent: Agent) -> None:
    insight = agent.understand(text="¡Qué golazo en la final! Me encanta este equipo, increíble partido.")
    assert insight.language == "es"
    assert insight.sentiment is not None and insight.sentiment.vader is None
    assert "'es'" in (insight.sentiment.note or "") and "English" in insight.sentiment.note
    english = agent.understand(text="What a wonderful goal, I love this team!")
    assert english.sentiment.vader is not None and english.sentiment.note is None
