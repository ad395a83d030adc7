"""A trained model as a folder that explains itself and predicts without the training data.

    model.json     kind, task, label map, the exact inputs (per feature block - ``text``, or
                   ``text:minilm`` / ``text:vader`` when a modality lists several encoders: its
                   modality, registry encoder, ``name@version`` cache key, settings and width; the
                   text fields and the encoders that made them; metadata columns), the posts it was
                   trained on (``trained_on``: the config's ``where`` and how many posts it kept),
                   fingerprint, postlens version
    fitted_text/   TF-IDF / Word2Vec fitted on the training posts (blocks marked ``fitted``), applied
                   as they are to new posts
    config.json    the full training config (to retrain the same way, and to read inputs alike)
    metrics.json   test / validation figures
    weights.pt | model.joblib | encoder/   the learnt state

A model reads vectors from exactly the cache keys it was trained on: ``check_installed_encoders``
refuses to predict when this postlens would compute other vectors, ``check_feature_keys`` refuses
data read from other keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from postlens.encoders.identity import TEXT_FIELD_SOURCES, installed_identity, registry_name_of
from postlens.errors import ConfigError
from postlens.models.config import BLOCK_SEPARATOR
from postlens.models.inputs import PostData, as_post_data

if TYPE_CHECKING:
    from postlens.models.config import FeaturesConfig
    from postlens.models.prediction import Predictions
    from postlens.store.workspace import Workspace

FORMAT_VERSION = 3
"""2: model.json ``encoders``, ``text_fields``, ``text_sources``; 3: ``encoders`` keyed by feature block
(with ``modality``, and ``fitted`` blocks kept in ``fitted_text/``), ``trained_on`` (older folders still load)."""

Featurizer = Callable[["Workspace", list[str], list[str]], int]
"""(workspace, registry encoder names, post ids) -> items computed; fills the cache for those posts."""


def _model_class(kind: str) -> Any:
    if kind in ("logreg", "lightgbm"):
        from postlens.models.baselines import BaselineModel

        return BaselineModel
    if kind == "fusion":
        from postlens.models.fusion import FusionModel

        return FusionModel
    if kind == "student":
        from postlens.models.distill import StudentModel

        return StudentModel
    if kind == "finetune":
        from postlens.models.finetune import FineTunedTextModel

        return FineTunedTextModel
    if kind == "ensemble":
        from postlens.models.ensemble import TextEnsembleModel

        return TextEnsembleModel
    if kind == "sgd":
        from postlens.models.sgd import StreamedLinearModel

        return StreamedLinearModel
    raise ConfigError(
        f"unknown model kind {kind!r} in artifact; known: logreg, lightgbm, fusion, student, finetune, ensemble, sgd"
    )


def describe_inputs(
    features: FeaturesConfig,
    feature_keys: dict[str, str],
    dims: dict[str, int],
    fitted: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What ``model.json`` records about the inputs of a model trained on ``feature_keys``.

    ``encoders``: feature block -> {modality, encoder (registry name or None), key, settings (None
    when the key is not what this postlens computes), dim}; a block fitted on the training posts
    (``fitted``: block -> {encoder, key, settings, dim}) is marked ``fitted: true``.
    ``text_sources``: text field -> the encoder that wrote it.
    """
    encoders: dict[str, dict[str, Any]] = {}
    for block in features.blocks():
        if block.fitted:
            entry = dict((fitted or {}).get(block.name) or {"encoder": block.encoder, "key": None, "settings": None})
            entry["fitted"] = True
        else:
            key = feature_keys.get(block.name, block.encoder)
            entry = _describe_encoder(block.encoder if "@" not in block.encoder else registry_name_of(key), key)
        entry["modality"] = block.modality
        entry["dim"] = entry.get("dim") or dims.get(block.name)
        encoders[block.name] = entry
    sources = {
        f: _describe_encoder(TEXT_FIELD_SOURCES[f], None) for f in features.text_fields if f in TEXT_FIELD_SOURCES
    }
    return {"encoders": encoders, "text_fields": list(features.text_fields), "text_sources": sources}


def _describe_encoder(name: str | None, key: str | None) -> dict[str, Any]:
    if name is None:
        return {"encoder": None, "key": key, "settings": None}
    installed = installed_identity(name)
    if key is None or key == installed.key:
        return installed.describe()
    return {"encoder": name, "key": key, "settings": None}


@dataclass
class TrainedModel:
    """A loaded artifact: ``predict`` gives class indices / values, ``predict_labels`` names,
    ``predict_posts`` predicts posts of a workspace."""

    estimator: Any
    kind: str
    task: str
    classes: list[str] = field(default_factory=list)
    feature_keys: dict[str, str] = field(default_factory=dict)
    meta_names: list[str] = field(default_factory=list)
    fingerprint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    encoders: dict[str, dict[str, Any]] = field(default_factory=dict)
    text_fields: list[str] = field(default_factory=lambda: ["text"])
    text_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = ""
    saved_at: str | None = None
    postlens_version: str | None = None
    trained_on: dict[str, Any] = field(default_factory=dict)

    def _inputs(self, X: Any) -> PostData:
        """X as the estimator reads it (PostData, or a frame of blocks named like the model's modalities)."""
        data = as_post_data(X)
        if self.meta_names and list(data.meta_names) != self.meta_names:
            raise ConfigError(
                f"metadata columns differ from training: got {data.meta_names}, expected {self.meta_names}"
            )
        return data

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict(self._inputs(data)))

    def predict_proba(self, data: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(self._inputs(data)))

    def predict_labels(self, data: Any) -> list[Any]:
        predicted = self.predict(data)
        if self.task == "classification":
            return [self.classes[int(i)] for i in predicted]
        if self.task == "multilabel":
            return [[c for c, on in zip(self.classes, row) if on] for row in predicted]
        return [float(v) for v in predicted]

    @property
    def dims(self) -> dict[str, int]:
        """modality -> vector width the model reads (model.json, else the estimator's own record)."""
        recorded = {m: int(e["dim"]) for m, e in self.encoders.items() if e.get("dim")}
        return recorded or dict(getattr(self.estimator, "dims_", {}) or {})

    def encoder_names(self) -> list[str]:
        """Registry names of every encoder whose cached output this model reads (blocks, then text
        sources): what featurize must run. Fitted blocks (tfidf, word2vec) travel in the model folder."""
        names = [
            e["encoder"]
            for e in [*self.encoders.values(), *self.text_sources.values()]
            if e.get("encoder") and not e.get("fitted")
        ]
        return list(dict.fromkeys(names))

    def modality_of(self, block: str) -> str:
        """The modality of a feature block (``text:vader`` -> ``text``; format 1-2 folders: the block is the modality)."""
        return str(self.encoders.get(block, {}).get("modality") or block.partition(BLOCK_SEPARATOR)[0])

    def check_installed_encoders(self) -> None:
        """Refuse, naming each one, inputs this postlens would compute differently from training."""
        problems = []
        for what, entry in [
            *((f"{m} features", e) for m, e in self.encoders.items() if not e.get("fitted")),
            *((f"{f} text (read by)", e) for f, e in self.text_sources.items()),
        ]:
            trained = entry.get("key")
            if not entry.get("encoder"):
                problems.append(f"{what} come from {trained}, which no encoder of this postlens computes")
                continue
            try:
                installed = installed_identity(entry["encoder"]).key
            except ConfigError as exc:  # an encoder this postlens no longer has
                problems.append(f"{what}: {exc}")
                continue
            if trained is not None and installed != trained:
                problems.append(
                    f"{what}: trained on {trained} (encoder {entry['encoder']!r}), this postlens computes {installed}"
                )
        if problems:
            raise ConfigError(
                f"model {self.name or '?'} cannot predict here: " + "; ".join(problems) + ". Vectors of another "
                f"encoder version would be read as if they were the ones it learnt from. Retrain the model with this "
                f"postlens ('postlens train --config ...'), or install postlens {self.postlens_version or '?'} "
                "(named in model.json) to predict with it"
            )

    def check_feature_keys(self, keys: dict[str, str]) -> None:
        """Refuse data whose features came from other cache keys than the model's (per modality)."""
        for modality, trained in self.feature_keys.items():
            available = keys.get(modality)
            if available != trained:
                raise ConfigError(
                    f"model {self.name or '?'}: its {modality} inputs were {trained!r} at training, the data holds "
                    f"{available!r}. Read the data with load_post_data(..., feature_keys=model.feature_keys) after "
                    f"'postlens featurize --encoders {','.join(self.encoder_names()) or '...'}', or retrain"
                )

    def training_config(self) -> Any:
        """The TrainConfig this model was trained with (how its inputs are read)."""
        from postlens.models.config import parse_config

        if not self.config:
            raise ConfigError(f"model {self.name or '?'} has no config.json; it cannot read posts from a workspace")
        return parse_config(self.config, source=f"{self.name or 'model'}/config.json")

    def predict_posts(
        self,
        workspace: Workspace,
        post_ids: Sequence[str] | None = None,
        where: str | None = None,
        *,
        featurizer: Featurizer | None = None,
        save: bool = True,
    ) -> Predictions:
        """Predict posts of ``workspace`` (all, ``post_ids``, and/or a ``where`` SQL condition over posts).

        ``featurizer`` fills the cache for the posts first (``postlens.pipeline.predict`` passes
        featurize); without one, posts must already be featurized. ``save`` upserts the rows into
        the ``predictions`` table. Returns a typed result whose ``frame`` is a pandas DataFrame.
        """
        from postlens.models.prediction import predict_workspace_posts

        return predict_workspace_posts(
            self, workspace, post_ids=post_ids, where=where, featurizer=featurizer, save=save
        )


def save_model(
    folder: str | Path,
    estimator: Any,
    *,
    task: str,
    classes: list[str] | None = None,
    feature_keys: dict[str, str] | None = None,
    meta_names: list[str] | None = None,
    fingerprint: str = "",
    metrics: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    trained_on: dict[str, Any] | None = None,
) -> Path:
    """Write the model folder; ``inputs`` is ``describe_inputs(...)`` (what prediction must read alike),
    ``trained_on`` which posts it learnt from (the config's ``where``, posts kept)."""
    import shutil

    from postlens.models.fitted_text import FOLDER, STATE_FILE, FittedTextFeatures

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wrapped = isinstance(estimator, FittedTextFeatures)
    kind = str((estimator.estimator_ if wrapped else estimator).kind)  # logreg | lightgbm | fusion | student | finetune
    (folder / STATE_FILE).unlink(missing_ok=True)  # a model saved here before may have had fitted text blocks
    shutil.rmtree(folder / FOLDER, ignore_errors=True)
    estimator.save(folder)
    from postlens import __version__ as postlens_version

    description = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "task": task,
        "classes": list(classes or []),
        "feature_keys": dict(feature_keys or {}),
        "meta_names": list(meta_names or []),
        **(inputs or {}),
        "fitted_text": wrapped,
        "trained_on": dict(trained_on or {}),
        "fingerprint": fingerprint,
        "postlens_version": postlens_version,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / "model.json").write_text(json.dumps(description, indent=2))
    (folder / "config.json").write_text(json.dumps(config or {}, indent=2, default=str))
    (folder / "metrics.json").write_text(json.dumps(metrics or {}, indent=2, default=float))
    return folder


def load_model(folder: str | Path) -> TrainedModel:
    folder = Path(folder)
    described = folder / "model.json"
    if not described.exists():
        raise ConfigError(
            f"{folder} is not a postlens model folder (no model.json); pass the folder 'postlens train' wrote"
        )
    try:
        info = json.loads(described.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{described} is not valid JSON ({exc}); the model folder is damaged: retrain it") from None
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ConfigError(f"{folder} was saved by a newer postlens (format {info['format_version']}); upgrade postlens")
    estimator = _model_class(info["kind"]).load(folder)
    if info.get("fitted_text"):
        from postlens.models.fitted_text import FittedTextFeatures

        estimator = FittedTextFeatures.around(estimator, folder)
    metrics_file, config_file = folder / "metrics.json", folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    encoders, text_fields, sources = _recorded_inputs(info, config)
    return TrainedModel(
        estimator=estimator,
        kind=info["kind"],
        task=info["task"],
        classes=info["classes"],
        feature_keys=info["feature_keys"],
        meta_names=info["meta_names"],
        fingerprint=info["fingerprint"],
        metrics=json.loads(metrics_file.read_text()) if metrics_file.exists() else {},
        config=config,
        encoders=encoders,
        text_fields=text_fields,
        text_sources=sources,
        name=folder.resolve().name,
        saved_at=info.get("saved_at"),
        postlens_version=info.get("postlens_version"),
        trained_on=dict(info.get("trained_on") or {}),
    )


def _recorded_inputs(info: dict[str, Any], config: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Format 2 records its inputs; for format 1, rebuild them from feature_keys and config.json
    (text sources then unknown: their version cannot be checked)."""
    if "encoders" in info:
        return info["encoders"], list(info.get("text_fields", ["text"])), dict(info.get("text_sources", {}))
    modalities = (config.get("features") or {}).get("modalities") or {}
    encoders = {
        m: {"encoder": registry_name_of(k), "key": k, "settings": None, "dim": None}
        for m, k in info.get("feature_keys", {}).items()
        if m in modalities
    }
    return encoders, list((config.get("features") or {}).get("text_fields") or ["text"]), {}
