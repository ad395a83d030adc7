"""Predict posts of a workspace with a trained model: pick posts, read exactly the model's inputs, predict.

Featurizing is not done here (models never import the pipeline): the caller passes a featurizer,
as ``postlens.pipeline.predict`` does, or the posts must already be in the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from postlens.encoders.identity import text_key
from postlens.errors import ConfigError, MissingDependency
from postlens.models.data import MODALITY_MEDIA, load_post_data
from postlens.store.features import FeatureCache
from postlens.store.post_filter import select_post_ids
from postlens.store.predictions import PREDICTIONS_SCHEMA, write_predictions
from postlens.store.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from postlens.models.artifact import Featurizer, TrainedModel

PROBA_PREFIX = "proba_"


@dataclass
class Predictions:
    """One row per post in ``frame`` (post_id, label or value, ``proba_<class>``..., missing_modalities,
    model, model_fingerprint, trained_at, predicted_at); ``lacking``: modality -> posts without it."""

    frame: pd.DataFrame
    model: str
    task: str
    lacking: dict[str, int] = field(default_factory=dict)
    featurized: int = 0
    written: int = 0
    label_separator: str = ","

    def __len__(self) -> int:
        return len(self.frame)

    def label_counts(self) -> dict[str, int]:
        """Posts per predicted label (multilabel: per class); empty for regression."""
        if self.task == "regression" or not len(self.frame):
            return {}
        counts: dict[str, int] = {}
        for label in self.frame["label"]:
            for part in ([label] if self.task == "classification" else [p for p in str(label).split(self.label_separator) if p]):
                counts[part] = counts.get(part, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def predict_workspace_posts(model: TrainedModel, workspace: Workspace, *, post_ids: Sequence[str] | None = None,
                            where: str | None = None, featurizer: Featurizer | None = None,
                            save: bool = True) -> Predictions:
    """See ``TrainedModel.predict_posts``."""
    model.check_installed_encoders()  # before anything is computed or written
    config = model.training_config()
    ids = _chosen_posts(workspace, post_ids, where)
    featurized = 0
    if ids and model.encoder_names():
        if featurizer is not None:
            featurized = int(featurizer(workspace, model.encoder_names(), ids) or 0)
        else:
            _refuse_unfeaturized(model, workspace, ids)
    data, facts = load_post_data(workspace, config, ids, feature_keys=model.feature_keys, dims=model.dims)
    model.check_feature_keys(facts["feature_keys"])
    frame, rows = _outputs(model, data, ids, config.label_separator)
    written = write_predictions(workspace.db, rows) if save and rows.num_rows else 0
    lacking = {m: int((~mask).sum()) for m, mask in data.masks.items()}
    return Predictions(frame=frame, model=model.name, task=model.task, lacking=lacking, featurized=featurized,
                       written=written, label_separator=config.label_separator)


def _chosen_posts(workspace: Workspace, post_ids: Sequence[str] | None, where: str | None) -> list[str]:
    if post_ids is not None:
        ids = list(dict.fromkeys(str(p) for p in post_ids))
        workspace.db.register("_wanted", pa.table({"id": pa.array(ids, pa.string())}))
        try:
            known = {r[0] for r in workspace.db.execute("SELECT id FROM posts WHERE id IN (SELECT id FROM _wanted)").fetchall()}
        finally:
            workspace.db.unregister("_wanted")
        missing = [p for p in ids if p not in known]
        if missing:
            raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
    if where is not None:
        return select_post_ids(workspace.db, where, within=None if post_ids is None else ids)
    if post_ids is not None:
        return ids
    return [r[0] for r in workspace.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]


def _refuse_unfeaturized(model: TrainedModel, workspace: Workspace, ids: list[str]) -> None:
    """Without a featurizer, posts whose own text or media lack cache rows would be predicted as if
    they had no such modality: refuse, naming how many and how to fix it."""
    cache = FeatureCache(workspace.features_dir)
    lacking: dict[str, int] = {}
    workspace.db.register("_ids", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        for block, entry in model.encoders.items():
            key, modality = entry["key"], model.modality_of(block)
            if entry.get("fitted"):
                continue  # computed from the post's text by the model itself
            if modality == "text" and "text" in model.text_fields:
                items = [(pid, text_key(t)) for pid, t in workspace.db.execute(
                    "SELECT id, text FROM posts WHERE id IN (SELECT id FROM _ids) AND length(trim(text)) > 0").fetchall()]
            elif modality in MODALITY_MEDIA:
                kinds = MODALITY_MEDIA[modality]
                items = workspace.db.execute(
                    f"SELECT post_id, sha256 FROM media WHERE status = 'stored' AND kind IN ({', '.join('?' for _ in kinds)}) "
                    "AND post_id IN (SELECT id FROM _ids)", list(kinds)).fetchall()
            else:
                continue
            known = cache.known_keys(key)
            posts = {pid for pid, k in items if k not in known}
            if posts:
                lacking[block] = len(posts)
    finally:
        workspace.db.unregister("_ids")
    if lacking:
        said = ", ".join(f"{n} posts lack {m} features ({model.encoders[m]['key']})" for m, n in lacking.items())
        raise ConfigError(f"{said}; run 'postlens featurize --encoders {','.join(model.encoder_names())}' first, or "
                          "predict with postlens.pipeline.predict.predict (it featurizes what is missing)")


def _outputs(model: TrainedModel, data: Any, ids: list[str], separator: str) -> tuple[pd.DataFrame, pa.Table]:
    """(the user's frame, rows for the predictions table)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependency("pandas", "train") from exc
    n = len(ids)
    now = datetime.now(timezone.utc)
    trained_at = _parse_time(model.saved_at)
    labels: list[str | None] = [None] * n
    values: list[float | None] = [None] * n
    proba = np.zeros((n, 0))
    if n and model.task == "regression":
        values = [float(v) for v in model.predict(data)]
    elif n:
        proba = np.asarray(model.predict_proba(data), float)
        names = model.predict_labels(data)
        labels = [separator.join(x) if isinstance(x, list) else str(x) for x in names]
    missing = [[m for m in sorted(data.masks) if not data.masks[m][i]] for i in range(n)]
    columns: dict[str, Any] = {"post_id": ids}
    if model.task == "regression":
        columns["value"] = values
    else:
        columns["label"] = labels
        for j, name in enumerate(model.classes):
            columns[f"{PROBA_PREFIX}{name}"] = proba[:, j] if proba.size else np.zeros(n)
    columns["missing_modalities"] = [",".join(m) for m in missing]
    columns |= {"model": [model.name] * n, "model_fingerprint": [model.fingerprint] * n,
                "trained_at": pd.Series([trained_at] * n, dtype="datetime64[us, UTC]"),
                "predicted_at": pd.Series([now] * n, dtype="datetime64[us, UTC]")}
    frame = pd.DataFrame(columns)
    probabilities = [None if model.task == "regression" else list(zip(model.classes, map(float, proba[i])))
                     for i in range(n)]
    rows = pa.table({
        "model": [model.name] * n, "model_fingerprint": [model.fingerprint] * n, "trained_at": [trained_at] * n,
        "post_id": ids, "task": [model.task] * n, "label": labels, "value": values, "probabilities": probabilities,
        "missing_modalities": missing, "predicted_at": [now] * n,
    }, schema=PREDICTIONS_SCHEMA)
    return frame, rows


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
