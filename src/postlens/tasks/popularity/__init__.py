"""Popularity: engagement predicted at publish time, its percentile among comparable posts, its drivers,
and engagement curves where dated snapshots exist.

    from postlens.tasks.popularity import fit_popularity, predict_popularity, parse_popularity_config
    result = fit_popularity(workspace, parse_popularity_config({"target": {"metric": "shares"}}))
    result.evaluation.figures        # test-period Spearman / MAE: learned vs followers-only vs author mean

The model (``model.PopularityModel``) is a follower prior plus LightGBM on the residual; the
percentile (``percentile.Comparables``) compares with posts of the same platform and follower decade.
"""

from postlens.tasks.popularity.artifact import (
    load_popularity_model,
    save_popularity_model,
)
from postlens.tasks.popularity.config import (
    EVENT_ID_METADATA,
    PopularityConfig,
    load_popularity_config,
    parse_popularity_config,
)
from postlens.tasks.popularity.evaluate import Evaluation, evaluate, time_split
from postlens.tasks.popularity.frame import PopularityFrame, load_frame
from postlens.tasks.popularity.model import Explanation, PopularityModel
from postlens.tasks.popularity.service import (
    FitResult,
    PopularityPredictions,
    fit_popularity,
    predict_popularity,
)

__all__ = [
    "EVENT_ID_METADATA",
    "Evaluation",
    "Explanation",
    "FitResult",
    "PopularityConfig",
    "PopularityFrame",
    "PopularityModel",
    "PopularityPredictions",
    "evaluate",
    "fit_popularity",
    "load_frame",
    "load_popularity_config",
    "load_popularity_model",
    "parse_popularity_config",
    "predict_popularity",
    "save_popularity_model",
    "time_split",
]
