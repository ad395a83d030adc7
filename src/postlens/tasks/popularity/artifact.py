"""A popularity model as a folder of plain files: JSON, LightGBM's text format and a NumPy .npz.

    popularity.json   config, inputs (encoder cache keys, widths, metadata columns), prior, author
                      history, percentile reference, curve, figures, postlens version
    trees.txt         the residual trees (LightGBM's own text format), when the residual is trees;
                      a linear residual is JSON arrays inside popularity.json
    projections.npz   PCA / tag-SVD arrays (loaded with allow_pickle=False)

Nothing is unpickled, so loading a folder someone sent cannot run code. A model reads vectors from
exactly the encoder versions it was trained on: ``check_encoders`` refuses otherwise.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.identity import installed_identity
from postlens.errors import ConfigError
from postlens.tasks.popularity.config import PopularityConfig, parse_popularity_config
from postlens.tasks.popularity.curve import EngagementCurve
from postlens.tasks.popularity.model import Column, PopularityModel
from postlens.tasks.popularity.percentile import Comparables
from postlens.tasks.popularity.prior import AuthorHistory, FollowerPrior
from postlens.tasks.popularity.reducers import Projection, TagProjection
from postlens.tasks.popularity.residual import LinearResidual

FORMAT_VERSION = 2  # 2: a linear residual in popularity.json, the shrink weight
DESCRIPTION = "popularity.json"


def encoder_names(config: PopularityConfig) -> dict[str, str]:
    """input block -> encoder as configured (registry name or ``name@version``)."""
    names = dict(config.features.modalities)
    if config.features.sentiment:
        names["sentiment"] = config.features.sentiment
    return names


def save_popularity_model(
    model: PopularityModel,
    folder: str | Path,
    *,
    feature_keys: dict[str, str],
    dims: dict[str, int],
    figures: dict[str, Any] | None = None,
) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from postlens import __version__

    arrays: dict[str, np.ndarray] = {}
    for name, projection in model.projections_.items():
        arrays[f"{name}.mean"], arrays[f"{name}.components"] = projection.mean, projection.components
    if model.tags_ is not None:
        arrays["tags.idf"], arrays["tags.components"] = model.tags_.idf, model.tags_.components
    np.savez(folder / "projections.npz", **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds badly
    linear = model.booster_.to_json() if isinstance(model.booster_, LinearResidual) else None
    trees = (
        json.dumps(linear, sort_keys=True)
        if linear
        else model.booster_.model_to_string(num_iteration=model.best_iteration_)
    )
    stale = folder / "trees.txt"
    if linear:
        stale.unlink(missing_ok=True)  # a tree model saved here before must not be read back
    else:
        stale.write_text(trees)
    config = model.config.model_dump(mode="json")
    fingerprint = hashlib.sha256(
        (trees + json.dumps(config, sort_keys=True) + json.dumps(feature_keys, sort_keys=True)).encode()
    ).hexdigest()
    description = {
        "format_version": FORMAT_VERSION,
        "kind": "popularity",
        "config": config,
        "fingerprint": fingerprint,
        "feature_keys": feature_keys,
        "dims": dims,
        "blocks": model.block_columns_,
        "kinds": model.kinds_,
        "columns": [vars(c) for c in model.columns_],
        "best_iteration": model.best_iteration_,
        "linear": linear,
        "choice": {k: v for k, v in model.choice_.items() if k != "inner"},
        "prior": model.prior_.to_json(),
        "history": model.history_.to_json() if model.history_ else None,
        "comparables": model.comparables_.to_json(),
        "curve": model.curve_.to_json() if model.curve_ else None,
        "figures": figures or {},
        "postlens_version": __version__,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = folder / f".{DESCRIPTION}.tmp"
    tmp.write_text(json.dumps(description, indent=1, default=float))
    tmp.replace(folder / DESCRIPTION)
    return folder


def load_popularity_model(folder: str | Path) -> tuple[PopularityModel, dict[str, Any]]:
    """(the model, its description: feature_keys, dims, figures, saved_at...)."""
    import lightgbm as lgb

    folder = Path(folder)
    described = folder / DESCRIPTION
    if not described.is_file():
        raise ConfigError(
            f"{folder} is not a popularity model folder (no {DESCRIPTION}); pass the folder "
            "'postlens popularity fit' wrote"
        )
    try:
        info = json.loads(described.read_text())
        if info.get("format_version", 0) > FORMAT_VERSION:
            raise ConfigError(
                f"{folder} was saved by a newer postlens (format {info['format_version']}); upgrade postlens"
            )
        config = parse_popularity_config(info["config"], source=str(described))
        model = PopularityModel(config)
        model.block_columns_ = {k: list(v) for k, v in info["blocks"].items()}
        model.kinds_ = dict(info["kinds"])
        model.columns_ = [Column(**c) for c in info["columns"]]
        model.best_iteration_ = int(info["best_iteration"])
        model.prior_ = FollowerPrior.from_json(info["prior"])
        model.history_ = AuthorHistory.from_json(info["history"]) if info["history"] else None
        model.comparables_ = Comparables.from_json(info["comparables"])
        model.curve_ = EngagementCurve.from_json(info["curve"]) if info.get("curve") else None
        with np.load(folder / "projections.npz", allow_pickle=False) as arrays:
            model.projections_ = {
                name: Projection(arrays[f"{name}.mean"], arrays[f"{name}.components"])
                for name in model.block_columns_
                if f"{name}.mean" in arrays
            }
            model.tags_ = TagProjection(arrays["tags.idf"], arrays["tags.components"]) if "tags.idf" in arrays else None
        choice = info.get("choice") or {"alpha": None, "embeddings": True, "weight": 1.0, "chosen_by": "format 1"}
        model.choice_, model.weight_ = dict(choice), float(choice["weight"])
        if info.get("linear"):
            model.booster_ = LinearResidual.from_json(info["linear"])
        else:
            model.booster_ = lgb.Booster(model_str=(folder / "trees.txt").read_text())
    except (KeyError, TypeError, ValueError, OSError, lgb.basic.LightGBMError) as exc:
        raise ConfigError(
            f"{folder} is a damaged popularity model ({type(exc).__name__}: {exc}); fit it again"
        ) from None
    return model, info


def check_encoders(config: PopularityConfig, feature_keys: dict[str, str], *, name: str = "model") -> None:
    """Refuse, naming each input, when this postlens would compute other vectors than the model read."""
    problems = []
    for block, encoder in encoder_names(config).items():
        trained = feature_keys.get(block)
        if "@" in encoder or trained is None:
            continue
        try:
            installed = installed_identity(encoder).key
        except ConfigError as exc:
            problems.append(f"{block}: {exc}")
            continue
        if installed != trained:
            problems.append(f"{block} was read from {trained}, this postlens computes {installed}")
    if problems:
        raise ConfigError(
            f"popularity model {name} cannot predict here: "
            + "; ".join(problems)
            + ". Fit it again with this postlens ('postlens popularity fit')"
        )
