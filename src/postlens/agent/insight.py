"""What the agent answers, as typed, JSON-serialisable models (pydantic): ``Insight.model_dump_json()``.

These are the agent's public contract for the CLI, the HTTP API and the MCP server: fields are
added, never renamed (``SCHEMA_VERSION`` goes up when one is). Numbers are plain floats, times are
ISO-8601 UTC, and every list is empty rather than missing when there is nothing to say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """Something the agent could not use, with a stable ``code`` (``corrupt``, ``no_audio``, ``model_refused``...)."""

    code: str
    message: str
    part: str | None = Field(None, description="what it concerns: media[0], model demo-topic, popularity...")


class MediaSummary(_Model):
    """One media file of the post as the agent read it (through the same gate and decoders as ingest)."""

    index: int
    kind: str
    name: str = Field(description="the file name the caller gave (no folder)")
    sha256: str
    mime: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


class VisualLabel(_Model):
    """An ImageNet label EfficientNet-Lite0 gives an image, GIF or video frame."""

    name: str
    probability: float
    media: int = Field(description="index into Insight.media")


class TopicAlternative(_Model):
    topic_id: int
    label: str | None = None
    similarity: float


class TopicInsight(_Model):
    """The post's segment in the workspace's saved segmentation (stored topics are never changed)."""

    segmentation: str
    kind: str = Field(description="cluster | seed | class")
    topic_id: int | None = Field(description="None: far from every topic (an outlier)")
    label: str | None = None
    words: list[str] = Field(default_factory=list)
    similarity: float | None = Field(None, description="cosine to the topic in the shared space")
    confidence: float | None = Field(
        None,
        description="share of the topic's own posts that are less similar to it "
        "than this post (0..1; 0.5 = as typical as its median post)",
    )
    novel: bool = Field(False, description="further from its topic than 95% of that topic's fitted posts")
    runner_up: TopicAlternative | None = None


class LabelInsight(_Model):
    """A trained model's prediction; ``contributions``: modality -> change of the predicted label's
    probability when that modality is dropped (positive = it supported the label)."""

    model: str
    target: str
    task: str
    label: str | None = None
    labels: list[str] = Field(default_factory=list, description="multilabel: every label above 0.5")
    value: float | None = Field(None, description="regression models")
    probability: float | None = None
    probabilities: dict[str, float] = Field(default_factory=dict)
    missing_modalities: list[str] = Field(
        default_factory=list, description="inputs the model reads that the post lacks"
    )
    contributions: dict[str, float] = Field(default_factory=dict)


class VaderScores(_Model):
    neg: float
    neu: float
    pos: float
    compound: float
    label: str


class Sentiment(_Model):
    """Lexicon sentiment always (when there is text); a trained sentiment model's label when there is one."""

    label: str | None = Field(description="positive | negative | neutral (or the model's class names)")
    source: str = Field(description="vader | model:<name>")
    vader: VaderScores | None = None
    model: LabelInsight | None = None
    note: str | None = Field(None, description="why there is no lexicon score (e.g. a language VADER cannot read)")


class Driver(_Model):
    name: str
    modality: str
    effect: float = Field(description="contribution to the predicted log1p count")


class PopularityInsight(_Model):
    """Engagement predicted at publish time by the workspace's popularity model."""

    model: str
    metric: str
    predicted: float = Field(description="predicted count: expm1(predicted_log), never below 0")
    predicted_log: float
    percentile: float | None = Field(None, description="0..100 among comparable fitted posts")
    compared_with: str | None = None
    followers_prior: float = Field(description="what the author's followers alone predict (count, never below 0)")
    vs_followers: float = Field(description="predicted / followers_prior")
    base: float = Field(description="base + sum of every driver's effect = predicted_log")
    drivers: list[Driver] = Field(default_factory=list, description="the strongest drivers, largest |effect| first")
    by_modality: dict[str, float] = Field(default_factory=dict)


class TrendInsight(_Model):
    """The saved trend state (``postlens trends``) of one of the post's terms at the newest bin counted."""

    source: str = Field(description="hashtags | entities | topics")
    term: str
    state: str = Field(description="emerging | peaking | declining | steady | unseen")
    count: int = Field(0, description="posts with the term in the newest bin where it was counted")
    expected: float | None = None
    growth: float | None = None
    bin_start: datetime | None = None
    bin_seconds: int | None = None
    last_alert: datetime | None = None


class SimilarPost(_Model):
    post_id: str
    similarity: float
    text: str = Field(description="the post's text (or OCR / transcript when it has none), cut to 280 characters")
    created_at: datetime | None = None
    media_kinds: list[str] = Field(default_factory=list)
    topic_id: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Contribution(_Model):
    """One part of the post in the shared space: its weight and its cosine to the fused vector."""

    part: str = Field(description="text | ocr | video_text | transcript | image | video | audio")
    weight: float
    cosine: float
    share: float = Field(description="weight x cosine over the sum of those: the part's share of the fused vector")


class Insight(_Model):
    """Everything the agent understood about one post."""

    schema_version: int = SCHEMA_VERSION
    post_id: str | None = None
    platform: str | None = None
    created_at: datetime | None = None
    language: str | None = None
    language_confidence: float | None = None
    text: str = ""
    cleaned_text: str = ""
    ocr_text: str | None = Field(None, description="text read in the images and GIFs")
    video_text: str | None = Field(None, description="captions read on the videos' frames")
    transcript: str | None = Field(None, description="speech heard in the audio clips and the videos' sound")
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    modalities: list[str] = Field(default_factory=list, description="text, image, video, audio present")
    missing_modalities: list[str] = Field(default_factory=list)
    media: list[MediaSummary] = Field(default_factory=list)
    visual_labels: list[VisualLabel] = Field(default_factory=list)
    topic: TopicInsight | None = None
    labels: list[LabelInsight] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    emotion: LabelInsight | None = None
    popularity: PopularityInsight | None = None
    trends: list[TrendInsight] = Field(default_factory=list)
    similar: list[SimilarPost] = Field(default_factory=list)
    contributions: list[Contribution] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(
        default_factory=dict, description="wall time per stage (batched stages: the batch's time shared per post)"
    )


class Failure(_Model):
    """One input of ``understand_many`` that could not be understood (the others go on)."""

    kind: Literal["failure"] = "failure"
    index: int
    code: str
    message: str


class SearchResult(_Model):
    query_text: str | None = None
    query_image: str | None = None
    hits: list[SimilarPost] = Field(default_factory=list)
    index: str = Field(description="exact | hnsw")
    indexed_posts: int = 0
    timings_ms: dict[str, float] = Field(default_factory=dict)
