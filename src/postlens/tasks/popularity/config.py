"""``popularity.yaml``: what engagement to predict, from which inputs, split how, and the model's size.

Strict like ``train.yaml``: a misspelt key fails and the message lists the keys that exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from postlens.evaluation.splits import TimeBoundary
from postlens.models.config import read_config_file, validate_config
from postlens.models.data import WEEKDAYS
from postlens.types import EngagementCount

EVENT_ID_METADATA: tuple[str, ...] = ("hour_sin", "hour_cos", *(f"weekday_{d}" for d in WEEKDAYS))
"""Metadata columns that identify WHEN a post was written. In a corpus gathered around events (PHEME:
each event lasts a few days) they tell the events apart, so a model learns "this event was big" instead
of "posts at this hour do well", and that does not carry over to the next event (step 4: they hurt)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetConfig(_Strict):
    """The engagement to predict: log1p(``metric``) at one snapshot per post.

    ``horizon_hours`` None: the latest snapshot (for a finished crawl: the final count). A number H:
    the latest snapshot no later than H hours after the post's reference time (publish time, or the
    first snapshot's time when the source has none), so every target is "engagement by age H", the
    age normalisation; snapshots whose time is inferred (a file's mtime) are not used then.
    """

    metric: EngagementCount = "shares"
    horizon_hours: float | None = Field(None, ge=0)


class FeaturesConfig(_Strict):
    """What the residual model reads. ``modalities``: modality -> encoder (registry name or ``name@version``)."""

    modalities: dict[str, str] = Field(default_factory=lambda: {"text": "minilm"})
    sentiment: str | None = Field("vader", description="a small text encoder whose columns are kept by name")
    embedding_components: int = Field(16, ge=0, le=256, description="PCA size per embedding block (0: raw vectors)")
    tag_components: int = Field(
        8, ge=0, le=128, description="hashed hashtags / tags -> this many SVD components (0: off)"
    )
    drop_event_id_metadata: bool = Field(True, description="leave out " + ", ".join(EVENT_ID_METADATA))
    exclude_metadata: list[str] = Field(default_factory=list, description="further metadata columns to leave out")
    author_facts: bool = Field(True, description="author profile counts from the record (Twitter user object)")
    author_history: bool = Field(True, description="the author's earlier posts' engagement over the prior")

    @field_validator("modalities")
    @classmethod
    def _known_modalities(cls, value: dict[str, str]) -> dict[str, str]:
        known = ("text", "image", "video", "audio")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}; known: {', '.join(known)}")
        return value


class SplitConfig(_Strict):
    """Time split only: train on the past, stop early on the next period, test on the latest period."""

    test_size: float = Field(0.2, gt=0, lt=1)
    val_size: float = Field(0.1, ge=0, lt=1)
    time_boundary: TimeBoundary = "day"


RIDGE_ALPHAS: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
"""Ridge penalties per training post that the inner folds choose from (``model.alpha`` unset)."""


class ModelConfig(_Strict):
    """The residual over the follower prior: a penalised line (default) or LightGBM, and how far to trust it.

    Unset ``alpha`` / ``embeddings`` / ``weight`` are chosen on forward-chaining folds inside the
    fitted period (the test period never takes part): the penalty, whether embedding blocks help,
    and the weight of the residual (0 when it does not beat the prior there: the prior alone).
    """

    prior: Literal["followers", "none"] = "followers"
    residual: Literal["linear", "trees"] = Field("linear", description="ridge on standardised inputs, or LightGBM")
    alpha: float | None = Field(None, gt=0, description="ridge penalty per training post (linear); unset: chosen")
    embeddings: bool | None = Field(None, description="the residual reads embedding blocks; unset: chosen")
    weight: float | None = Field(
        None, ge=0, le=1, description="the residual's weight over the prior (0: the prior alone); unset: chosen"
    )
    within_period: bool = Field(True, description="fit the residual within each UTC day (not which day was big)")
    inner_folds: int = Field(3, ge=2, le=10, description="forward-chaining folds that choose the unset settings")
    n_estimators: int = Field(600, ge=1)
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(30, ge=1)
    colsample: float = Field(0.7, gt=0, le=1)
    l2: float = Field(5.0, ge=0)
    early_stopping_rounds: int = Field(50, ge=1)
    history_shrinkage: float = Field(3.0, ge=0, description="pseudo-posts at the prior in the author history mean")


class PercentileConfig(_Strict):
    """Comparable posts: same platform and the same follower decade (see ``follower_band``)."""

    min_group: int = Field(30, ge=1, description="smaller groups fall back to the whole platform")


class CurveConfig(_Strict):
    """Later engagement from the first snapshot, for posts with two or more dated snapshots."""

    enabled: bool = True
    min_gap_hours: float = Field(12.0, ge=0)


class PopularityConfig(_Strict):
    name: str = "popularity"
    platforms: list[str] = Field(default_factory=list, description="only these platforms (empty: every post)")
    target: TargetConfig = Field(default_factory=TargetConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    percentile: PercentileConfig = Field(default_factory=PercentileConfig)
    curve: CurveConfig = Field(default_factory=CurveConfig)
    seed: int = 0
    num_threads: int | None = Field(None, ge=1, description="LightGBM threads (default: the idle cores)")
    output: str | None = None


def parse_popularity_config(data: dict[str, Any] | None, *, source: str = "popularity config") -> PopularityConfig:
    """Validate a dict; unknown keys and bad values become one ConfigError naming each place."""
    return validate_config(PopularityConfig, data, source=source)


def load_popularity_config(path: str | Path) -> PopularityConfig:
    path = Path(path)
    data = read_config_file(path, missing=f"popularity config at {path}; write a popularity.yaml or pass --config")
    return parse_popularity_config(data, source=str(path))
