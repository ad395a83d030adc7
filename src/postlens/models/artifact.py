"""A trained model as a folder that explains itself and predicts without the training data.

    model.json     kind, task, label map, modalities and encoder keys, metadata columns, fingerprint
    config.json    the full training config (to retrain the same way)
    metrics.json   test / validation figures
    weights.pt | model.joblib | encoder/   the learnt state
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.models.inputs import PostData

FORMAT_VERSION = 1


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
    raise ConfigError(f"unknown model kind {kind!r} in artifact; known: logreg, lightgbm, fusion, student, finetune")


@dataclass
class TrainedModel:
    """A loaded artifact: ``predict`` gives class indices / values, ``predict_labels`` names."""

    estimator: Any
    kind: str
    task: str
    classes: list[str] = field(default_factory=list)
    feature_keys: dict[str, str] = field(default_factory=dict)
    meta_names: list[str] = field(default_factory=list)
    fingerprint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def _check(self, data: PostData) -> None:
        if self.meta_names and list(data.meta_names) != self.meta_names:
            raise ConfigError(f"metadata columns differ from training: got {data.meta_names}, expected {self.meta_names}")

    def predict(self, data: PostData) -> np.ndarray:
        self._check(data)
        return self.estimator.predict(data)

    def predict_proba(self, data: PostData) -> np.ndarray:
        self._check(data)
        return self.estimator.predict_proba(data)

    def predict_labels(self, data: PostData) -> list[Any]:
        predicted = self.predict(data)
        if self.task == "classification":
            return [self.classes[int(i)] for i in predicted]
        if self.task == "multilabel":
            return [[c for c, on in zip(self.classes, row) if on] for row in predicted]
        return [float(v) for v in predicted]


def save_model(folder: str | Path, estimator: Any, *, task: str, classes: list[str] | None = None,
               feature_keys: dict[str, str] | None = None, meta_names: list[str] | None = None,
               fingerprint: str = "", metrics: dict[str, Any] | None = None,
               config: dict[str, Any] | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind = str(estimator.kind)  # "logreg" | "lightgbm" | "fusion" | "student" | "finetune"
    estimator.save(folder)
    from postlens import __version__ as postlens_version  # noqa: PLC0415

    description = {
        "format_version": FORMAT_VERSION, "kind": kind, "task": task, "classes": list(classes or []),
        "feature_keys": dict(feature_keys or {}), "meta_names": list(meta_names or []),
        "fingerprint": fingerprint, "postlens_version": postlens_version,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (folder / "model.json").write_text(json.dumps(description, indent=2))
    (folder / "config.json").write_text(json.dumps(config or {}, indent=2, default=str))
    (folder / "metrics.json").write_text(json.dumps(metrics or {}, indent=2, default=float))
    return folder


def load_model(folder: str | Path) -> TrainedModel:
    folder = Path(folder)
    described = folder / "model.json"
    if not described.exists():
        raise ConfigError(f"{folder} is not a postlens model folder (no model.json); pass the folder 'postlens train' wrote")
    info = json.loads(described.read_text())
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ConfigError(f"{folder} was saved by a newer postlens (format {info['format_version']}); upgrade postlens")
    estimator = _model_class(info["kind"]).load(folder)
    metrics_file, config_file = folder / "metrics.json", folder / "config.json"
    return TrainedModel(
        estimator=estimator, kind=info["kind"], task=info["task"], classes=info["classes"],
        feature_keys=info["feature_keys"], meta_names=info["meta_names"], fingerprint=info["fingerprint"],
        metrics=json.loads(metrics_file.read_text()) if metrics_file.exists() else {},
        config=json.loads(config_file.read_text()) if config_file.exists() else {},
    )
