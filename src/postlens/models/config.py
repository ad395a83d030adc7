"""``train.yaml``: what to predict, from which features, split how, with which model.

Strict on purpose: a misspelt key (``epoch:`` for ``epochs:``) would otherwise train silently
with defaults, so unknown keys fail and the message lists the keys that exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postlens.errors import ConfigError

ModelKind = Literal["logreg", "lightgbm", "fusion", "finetune"]
ImbalanceMethod = Literal["none", "over", "under", "smote", "class_weight", "focal", "balanced_batch"]
IMBALANCE_METHODS: tuple[str, ...] = ("none", "over", "under", "smote", "class_weight", "focal", "balanced_batch")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PopularityConfig(_Strict):
    """Popularity = log1p(metric at the latest snapshot), optionally per follower and per hour of age."""

    metric: Literal["shares", "likes", "comments", "views"] = "shares"
    normalize_followers: bool = False
    normalize_age: bool = False


class WaveformConfig(_Strict):
    """Raw audio crops for the trainable RawNet encoder (the ``waveform`` modality token).

    Off by default: decoding and training on waveforms costs far more than cached vectors.
    Crops are cached per file content under ``<workspace>/features/waveforms/``.
    """

    enabled: bool = False
    seconds: float = Field(1.0, gt=0, le=10, description="crop length; RawNet time grows linearly with it")
    max_crops: int = Field(4, ge=1, le=16, description="crops kept per clip; one random crop per step, mean at eval")
    from_video: bool = Field(False, description="also use the sound track of stored videos")
    frontend: Literal["sinc", "conv"] = "sinc"
    embed_dim: int = 64


class FeaturesConfig(_Strict):
    """modality -> encoder (registry name like ``minilm`` or a cache folder ``name@version``)."""

    modalities: dict[str, str] = Field(default_factory=lambda: {"text": "minilm", "image": "efficientnet"})
    text_fields: list[Literal["text", "ocr", "video_text", "transcript"]] = Field(default_factory=lambda: ["text"])
    metadata: bool = True
    sequences: list[str] = Field(default_factory=list, description="modalities whose frame sequences feed a temporal encoder")
    waveform: WaveformConfig = Field(default_factory=WaveformConfig)

    @field_validator("waveform", mode="before")
    @classmethod
    def _waveform_shorthand(cls, value: Any) -> Any:
        """``waveform: true`` means the defaults, switched on."""
        return {"enabled": value} if isinstance(value, bool) else value


class SplitConfig(_Strict):
    strategy: Literal["time", "author", "group", "stratified", "random"] = "time"
    group_label: str = "event"
    test_size: float = 0.2
    val_size: float = 0.1


class LateFusionConfig(_Strict):
    """``fusion: late``: one expert per modality, pooled with weights chosen on grouped out-of-fold predictions."""

    C: float = Field(1.0, gt=0, description="inverse L2 strength of each modality's logistic / ridge expert")
    inner_folds: int = Field(5, ge=2, le=20, description="grouped folds inside the training side that fit the pool")
    metadata: bool = Field(True, description="an expert on the metadata columns (when features.metadata is on)")
    joint: bool = Field(False, description="the attention network as one more expert (inner_folds + 1 network fits)")
    pool: Literal["evidence", "mean"] = Field("evidence", description="evidence: agreeing experts may add up")


class ModelConfig(_Strict):
    kind: ModelKind = "fusion"
    width: int = 128
    # late by default: the joint network learns reposted pictures as label ids (bench/fusion_study.py)
    fusion: Literal["late", "attention", "concat"] = "late"
    duplicate_weighting: Literal["none", "sqrt", "inverse"] = Field(
        "inverse", description="weight each post 1/n^p, n = posts sharing its picture: a repost is not a new example")
    late: LateFusionConfig = Field(default_factory=LateFusionConfig)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    modality_dropout: float = 0.25
    patience: int = 5
    focal_gamma: float = 2.0
    aux_popularity: bool = False
    # finetune only
    finetune_lr: float = 2e-5
    max_length: int = 64
    # baselines only
    C: float = 1.0
    n_estimators: int = 300


class DistillConfig(_Strict):
    enabled: bool = False
    student_modalities: list[str] = Field(default_factory=lambda: ["text"])
    temperature: float = 3.0
    alpha: float = 0.7
    hidden: int = 128


class TrainConfig(_Strict):
    name: str = "model"
    target: str = "label"
    task: Literal["auto", "classification", "multilabel", "regression"] = "auto"
    label_separator: str = ","
    min_class_count: int = 2
    popularity: PopularityConfig = Field(default_factory=PopularityConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    imbalance: ImbalanceMethod = "none"
    distill: DistillConfig = Field(default_factory=DistillConfig)
    seed: int = 0
    # 1 by default: on the shared 2-core machine (load ~5) 2 torch threads made the fusion network
    # 13x, the student 3x and RawNet 10x SLOWER per epoch (bench/train.py); LightGBM caps its
    # threads to the idle cores itself, so raising this is safe for it.
    num_threads: int = 1
    output: str | None = None

    @property
    def resolved_task(self) -> str:
        if self.task != "auto":
            return self.task
        return "regression" if self.target == "popularity" else "classification"


def _known_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in location[:-1]:
        field = current.model_fields.get(str(part)) if isinstance(part, str) else None
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        else:
            break
    return sorted(current.model_fields)


def parse_config(data: dict[str, Any], *, source: str = "config") -> TrainConfig:
    """Validate a dict; unknown keys and bad values become one ConfigError naming each place."""
    try:
        return TrainConfig.model_validate(data or {})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            if item["type"] == "extra_forbidden":
                known = ", ".join(_known_keys(TrainConfig, item["loc"]))
                problems.append(f"unknown key {where!r}; known keys here: {known}")
            else:
                problems.append(f"{where}: {item['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no training config at {path}; write a train.yaml (see docs) or pass --config") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    return parse_config(data or {}, source=str(path))
