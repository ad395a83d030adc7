"""``train.yaml``: what to predict, from which features, split how, with which model.

Strict on purpose: a misspelt key (``epoch:`` for ``epochs:``) would otherwise train silently
with defaults, so unknown keys fail and the message lists the keys that exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postlens.errors import ConfigError
from postlens.evaluation.splits import SplitStrategy

M = TypeVar("M", bound=BaseModel)

FITTED_TEXT_ENCODERS: tuple[str, ...] = ("tfidf", "word2vec")
"""Text encoders fitted on the training posts inside a model (``models/fitted_text.py``), not run by featurize."""
UNSCALED_ENCODERS: tuple[str, ...] = ("tfidf",)
"""Blocks logreg reads as they are, not standardised (TF-IDF's sparse term weights)."""
DEFAULT_EPOCHS: dict[str, int] = {"fusion": 30, "finetune": 3, "sgd": 5}
"""``model.epochs`` when the config leaves it out: fine-tuning a pretrained encoder needs a few epochs, a
network trained from scratch on cached vectors many (early stopping ends it sooner)."""
TUNED_DEFAULTS: dict[str, float | int] = {"C": 1.0, "num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 20}
"""Baseline hyper-parameters when they are not tuned (``model.tune: false``, or no validation side)."""
BLOCK_SEPARATOR = ":"
"""``text:minilm``: the feature block of one encoder when a modality lists several."""

ModelKind = Literal["logreg", "lightgbm", "fusion", "finetune", "ensemble", "sgd"]
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


def _default_modalities() -> dict[str, str | list[str]]:
    return {"text": "minilm", "image": "efficientnet"}


TextFieldName = Literal["text", "ocr", "video_text", "transcript"]


def _default_text_fields() -> list[TextFieldName]:
    return ["text"]


class FeatureBlock(BaseModel):
    """One encoder's vectors as the models see them: ``name`` (``text``, or ``text:vader`` when the
    modality lists several encoders), the modality and the encoder (registry name or ``name@version``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    modality: str
    encoder: str

    @property
    def fitted(self) -> bool:
        """Fitted on the training posts inside the model (tfidf, word2vec), not read from the feature cache."""
        return self.encoder in FITTED_TEXT_ENCODERS


class FeaturesConfig(_Strict):
    """modality -> encoder or list of encoders (registry name like ``minilm``, a cache folder
    ``name@version``, or ``tfidf`` / ``word2vec`` for text: fitted on the training posts).

    One encoder per modality gives one feature block named like the modality (``text``); several give
    one block each, ``text:minilm``, ``text:vader``: baselines concatenate the blocks, the fusion
    network gets a token per block.
    """

    modalities: dict[str, str | list[str]] = Field(default_factory=lambda: _default_modalities())
    text_fields: list[TextFieldName] = Field(default_factory=_default_text_fields)
    metadata: bool = True
    sequences: list[str] = Field(
        default_factory=list, description="modalities whose frame sequences feed a temporal encoder"
    )
    waveform: WaveformConfig = Field(default_factory=WaveformConfig)

    @field_validator("waveform", mode="before")
    @classmethod
    def _waveform_shorthand(cls, value: Any) -> Any:
        """``waveform: true`` means the defaults, switched on."""
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("modalities")
    @classmethod
    def _encoder_lists(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        """A list holds each encoder once; one listed encoder is the same as naming it alone."""
        out: dict[str, str | list[str]] = {}
        for modality, named in value.items():
            names = [named] if isinstance(named, str) else list(named)
            if not names or any(not n.strip() for n in names):
                raise ValueError(f"{modality}: name at least one encoder (e.g. minilm), got {named!r}")
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{modality}: encoder {', '.join(repeated)} listed twice")
            fitted = [n for n in names if n in FITTED_TEXT_ENCODERS]
            if fitted and modality != "text":
                raise ValueError(f"{modality}: {', '.join(fitted)} are text encoders (fitted on post texts)")
            out[modality] = names[0] if len(names) == 1 else names
        return out

    def blocks(self) -> list[FeatureBlock]:
        """Every feature block, in config order (see the class docstring for the names)."""
        out = []
        for modality, named in self.modalities.items():
            if isinstance(named, str):
                out.append(FeatureBlock(name=modality, modality=modality, encoder=named))
            else:
                out += [
                    FeatureBlock(name=f"{modality}{BLOCK_SEPARATOR}{n.replace('.', '_')}", modality=modality, encoder=n)
                    for n in named
                ]  # no '.' in a block name: torch module names and frame columns split on it
        return out

    def blocks_of(self, modalities: list[str]) -> list[str]:
        """Block names of these modalities (a block name is kept as is): for students and ablations."""
        blocks = self.blocks()
        out = []
        for name in modalities:
            found = [b.name for b in blocks if b.modality == name] or [name]
            out += [b for b in found if b not in out]
        return out


class SplitConfig(_Strict):
    """How posts are divided, and (``folds``) how cross-validation cuts them.

    ``column``: the sides a benchmark ships with, read from the label ``column`` (train / val / test,
    also training, valid, validation, dev, testing...); other values are left out and counted. With
    no test rows the column's val rows are the reported held-out side and validation is carved from
    train (``val_size``). ``time_boundary``: no calendar day (UTC) is on two sides (``day``), or
    only equal timestamps are kept together (``timestamp``). ``duplicates``: a ``group`` split whose
    groups (the ``group_label``, where posts have it) are joined by the duplicate clusters of
    ``postlens dedupe``, so no copy of a post (reposted picture, near-identical text) is on two sides.

    ``folds``: k-fold cross-validation (also ``postlens train --cv K``). ``fold_kind: auto`` follows
    the strategy: random -> plain, stratified -> stratified, author / group / duplicates -> grouped by that key,
    time -> forward chaining, column -> stratified folds of the column's train rows (plain for
    regression). Validation inside a fold is carved from that fold's training part.
    """

    strategy: SplitStrategy = "time"
    group_label: str = "event"
    column: str = Field("split", description="label holding train / val / test (strategy: column)")
    test_size: float = 0.2
    val_size: float = 0.1
    time_boundary: Literal["day", "timestamp"] = "day"
    folds: int | None = Field(None, ge=2, description="k-fold cross-validation with this many folds")
    fold_kind: Literal["auto", "plain", "stratified", "author", "group", "duplicates", "time"] = "auto"


class TuneGrid(_Strict):
    """Values tried on the validation side for the baselines (one fit each; LightGBM: every combination)."""

    C: list[float] = Field(
        default_factory=lambda: [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
        min_length=1,
    )
    num_leaves: list[int] = Field(default_factory=lambda: [7, 15, 31, 63], min_length=1)
    learning_rate: list[float] = Field(default_factory=lambda: [0.05], min_length=1)
    min_child_samples: list[int] = Field(default_factory=lambda: [20], min_length=1)

    @field_validator("C", "num_leaves", "learning_rate", "min_child_samples")
    @classmethod
    def _positive(cls, values: list[Any]) -> list[Any]:
        bad = [v for v in values if not v > 0]
        if bad:
            raise ValueError(f"grid values must be above 0, got {bad}")
        return list(dict.fromkeys(values))


FusionVariant = Literal["late", "late-mean", "late-joint", "attention", "concat"]
DEFAULT_FUSION_CANDIDATES: tuple[FusionVariant, ...] = ("late-mean", "late", "attention")


class LateFusionConfig(_Strict):
    """``fusion: late``: one expert per modality, pooled with weights chosen on grouped out-of-fold predictions."""

    C: float = Field(1.0, gt=0, description="inverse L2 strength of each modality's logistic / ridge expert")
    inner_folds: int = Field(5, ge=2, le=20, description="grouped folds inside the training side that fit the pool")
    metadata: bool = Field(True, description="an expert on the metadata columns (when features.metadata is on)")
    joint: bool = Field(False, description="the attention network as one more expert (inner_folds + 1 network fits)")
    # mean by default: on MediaEval the learnt evidence scale cost 0.001 macro-F1 against text alone and
    # gained nothing on the sample corpus (bench/fusion_study.py)
    pool: Literal["mean", "evidence"] = Field(
        "mean",
        description="mean: weighted mean of the experts a post has; "
        "evidence: agreeing experts may add up (scale chosen on OOF)",
    )


class ModelConfig(_Strict):
    """``epochs`` None: the kind's default (``DEFAULT_EPOCHS``: fusion 30, finetune 3, sgd 5).

    Baselines: ``C`` (logreg; ridge's alpha = 1/C for regression), ``num_leaves``, ``learning_rate``,
    ``min_child_samples`` (LightGBM) left None are chosen on the validation side from ``grid`` (macro-F1,
    Spearman for regression); a value set here is used as is. ``tune: false`` fixes every one left None
    at ``TUNED_DEFAULTS``.
    """

    kind: ModelKind = "fusion"
    width: int = 128
    # late by default: the joint network learns reposted pictures as label ids (bench/fusion_study.py);
    # auto: one of fusion_candidates, chosen by grouped CV inside the training side (models/fusion_select.py)
    fusion: Literal["late", "attention", "concat", "auto"] = "late"
    fusion_candidates: list[FusionVariant] = Field(
        default_factory=lambda: list(DEFAULT_FUSION_CANDIDATES),
        min_length=1,
        description="fusion: auto tries these (ties go to the earlier one)",
    )
    select_folds: int = Field(3, ge=2, le=20, description="grouped inner folds fusion: auto chooses on")
    duplicate_weighting: Literal["none", "sqrt", "inverse"] = Field(
        "inverse", description="weight each post 1/n^p, n = posts sharing its picture: a repost is not a new example"
    )
    late: LateFusionConfig = Field(default_factory=LateFusionConfig)
    epochs: int | None = Field(None, ge=1)
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    modality_dropout: float = 0.25
    patience: int = 5
    # fusion: no early stop before this many epochs (patience is raised to it). The weights kept are still those
    # of the best validation epoch, even an earlier one (fusion.py chooses them).
    min_epochs: int = Field(0, ge=0)
    focal_gamma: float = 2.0
    aux_popularity: bool = False
    # finetune and ensemble (models/finetune_schedule.py); None: the model's own default
    finetune_lr: float = 2e-5
    max_length: int = 64
    layer_decay: float | None = Field(
        None, gt=0, le=1, description="layer i of L learns at lr * layer_decay ** (L - i)"
    )
    warmup: float | None = Field(None, ge=0, lt=1, description="share of the steps with a rising learning rate")
    schedule: Literal["constant", "linear"] | None = None
    freeze_embeddings: bool | None = None
    # baselines only
    tune: bool = True
    grid: TuneGrid = Field(default_factory=TuneGrid)
    C: float | None = Field(None, gt=0)
    num_leaves: int | None = Field(None, ge=2)
    learning_rate: float | None = Field(None, gt=0)
    min_child_samples: int | None = Field(None, ge=1)
    n_estimators: int = 300
    # sgd (models/sgd.py): vectors read from the feature cache this many posts at a time, never all at once
    stream_batch_size: int = Field(4096, ge=1, description="sgd: posts read and fitted per batch (bounds memory)")
    alpha: float = Field(1e-4, gt=0, description="sgd: L2 strength of the linear model")

    @property
    def resolved_epochs(self) -> int:
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS.get(self.kind, 30)


class DistillConfig(_Strict):
    enabled: bool = False
    student_modalities: list[str] = Field(default_factory=lambda: ["text"])
    temperature: float = 3.0
    alpha: float = 0.7
    hidden: int = 128


class TrainConfig(_Strict):
    name: str = "model"
    target: str = "label"
    # A SQL condition over posts (like ``postlens predict --where``): train on the posts it picks only,
    # e.g. "len(media_kinds) > 0" or "list_contains(media_kinds, 'image')". Checked like --where.
    where: str | None = None
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

    @field_validator("where")
    @classmethod
    def _safe_where(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from postlens.store.post_filter import check_where

        try:
            return check_where(value)
        except ConfigError as exc:
            raise ValueError(str(exc).replace("--where", "where")) from None

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


def validate_config(model: type[M], data: dict[str, Any] | None, *, source: str) -> M:
    """Validate a dict as ``model``; unknown keys and bad values become one ConfigError naming each place
    (shared by train.yaml and popularity.yaml)."""
    try:
        return model.model_validate(data or {})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            if item["type"] == "extra_forbidden":
                known = ", ".join(_known_keys(model, item["loc"]))
                problems.append(f"unknown key {where!r}; known keys here: {known}")
            else:
                problems.append(f"{where}: {item['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def read_config_file(path: Path, *, missing: str) -> dict[str, Any] | None:
    """A YAML file's mapping (None when empty); ``missing`` is the hint when the file does not exist."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no {missing}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def parse_config(data: dict[str, Any], *, source: str = "config") -> TrainConfig:
    """Validate a dict; unknown keys and bad values become one ConfigError naming each place."""
    return validate_config(TrainConfig, data, source=source)


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    data = read_config_file(path, missing=f"training config at {path}; write a train.yaml (see docs) or pass --config")
    return parse_config(data or {}, source=str(path))
