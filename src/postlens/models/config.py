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

ModelKind = Literal["logreg", "lightgbm", "fusion", "finetune", "ensemble"]
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
    """How posts are divided, and (``folds``) how cross-validation cuts them.

    ``column``: the sides a benchmark ships with, read from the label ``column`` (train / val / test,
    also training, valid, validation, dev, testing...); other values are left out and counted. With
    no test rows the column's val rows are the reported held-out side and validation is carved from
    train (``val_size``). ``time_boundary``: no calendar day (UTC) is on two sides (``day``), or
    only equal timestamps are kept together (``timestamp``).

    ``folds``: k-fold cross-validation (also ``postlens train --cv K``). ``fold_kind: auto`` follows
    the strategy: random -> plain, stratified -> stratified, author / group -> grouped by that key,
    time -> forward chaining, column -> stratified folds of the column's train rows (plain for
    regression). Validation inside a fold is carved from that fold's training part.
    """

    strategy: Literal["time", "author", "group", "stratified", "random", "column"] = "time"
    group_label: str = "event"
    column: str = Field("split", description="label holding train / val / test (strategy: column)")
    test_size: float = 0.2
    val_size: float = 0.1
    time_boundary: Literal["day", "timestamp"] = "day"
    folds: int | None = Field(None, ge=2, description="k-fold cross-validation with this many folds")
    fold_kind: Literal["auto", "plain", "stratified", "author", "group", "time"] = "auto"


class ModelConfig(_Strict):
    kind: ModelKind = "fusion"
    width: int = 128
    fusion: Literal["attention", "concat"] = "attention"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    modality_dropout: float = 0.25
    patience: int = 5
    focal_gamma: float = 2.0
    aux_popularity: bool = False
    # finetune and ensemble (models/finetune_schedule.py); None: the model's own default
    finetune_lr: float = 2e-5
    max_length: int = 64
    layer_decay: float | None = Field(None, gt=0, le=1, description="layer i of L learns at lr * layer_decay ** (L - i)")
    warmup: float | None = Field(None, ge=0, lt=1, description="share of the steps with a rising learning rate")
    schedule: Literal["constant", "linear"] | None = None
    freeze_embeddings: bool | None = None
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
    # Binary targets: the class whose F1 / precision / recall the report names. Default: the rarer
    # class among the labelled posts (ties: the second name in sorted order, scikit-learn's pos_label=1).
    positive_class: str | None = None
    distill: DistillConfig = Field(default_factory=DistillConfig)
    seed: int = 0
    # Threads a model trains and predicts with. None: every core this process may use
    # (os.sched_getaffinity), or $POSTLENS_NUM_THREADS when set. Set it lower on a shared, busy
    # machine: OpenMP threads spin-wait at barriers, and on a 2-core box under load 2 torch threads
    # made the fusion network 13x, the student 3x and RawNet 10x SLOWER per epoch than 1
    # (bench/train.py). LightGBM caps its threads to the idle cores itself.
    num_threads: int | None = Field(None, ge=1)
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
