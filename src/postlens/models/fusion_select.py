"""``model.fusion: auto``: which fusion variant to train, chosen by grouped cross-validation inside the training side.

No variant wins everywhere (bench/fusion_study.py): on MediaEval the joint network learns reposted
pictures as label ids and late fusion is safer; on a corpus where every modality carries transferable
signal the joint network may do better. So each candidate is fitted on k-1 inner folds and scored on
the k-th, folds keeping the caller's groups (events, authors) and identical media or texts on one
side; the best mean score wins (ties: the earlier candidate, the cheaper one by default), and only
then is the winner fitted on the whole training side. Under ``postlens train --cv K`` every outer
fold does this on its own training part: the held-out fold never takes part (nested CV).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.group_folds import group_kfold_splits
from postlens.evaluation.image_groups import combine_groups
from postlens.models.duplicates import vector_keys
from postlens.models.inputs import PostData

FUSION_VARIANTS: dict[str, dict[str, Any]] = {
    "late": {"fusion": "late", "late_pool": "evidence"},
    "late-mean": {"fusion": "late", "late_pool": "mean"},
    "late-joint": {"fusion": "late", "late_joint": True},
    "attention": {"fusion": "attention"},
    "concat": {"fusion": "concat"},
}
DEFAULT_CANDIDATES = ("late-mean", "late", "attention")


def variant_params(name: str) -> dict[str, Any]:
    """The FusionModel parameters a variant name stands for; an unknown name lists the known ones."""
    if name not in FUSION_VARIANTS:
        raise ConfigError(f"unknown fusion variant {name!r}; known: {', '.join(FUSION_VARIANTS)}")
    return dict(FUSION_VARIANTS[name])


def duplicate_groups(data: PostData, groups: np.ndarray | None) -> np.ndarray:
    """The caller's groups joined with identical vectors of every modality (a reposted picture, a copied text)."""
    identical = [vector_keys(data.modalities[m], data.masks[m]) for m in sorted(data.modalities)]
    given = [np.asarray(groups, dtype=object)] if groups is not None else []
    return combine_groups(*cast(list[Sequence[object]], given + identical))


def select_variant(
    params: dict[str, Any],
    candidates: list[str] | tuple[str, ...],
    data: PostData,
    y: np.ndarray,
    *,
    groups: np.ndarray | None,
    sample_weight: np.ndarray | None,
    y_value: np.ndarray | None,
    folds: int,
) -> tuple[str, dict[str, Any]]:
    """(chosen variant, record in the shape of ``models.tuning.choose``'s) from grouped inner CV.

    ``params``: the FusionModel's own parameters; each candidate overrides them with its variant.
    """
    from postlens.models.fusion import FusionModel
    from postlens.models.tuning import val_score

    names = list(dict.fromkeys(candidates))
    for name in names:
        variant_params(name)
    if any(any(w is not None for w in crops) for crops in data.waveforms.values()):
        # late fusion reads vectors; raw waveforms train end to end inside the network only
        names = [n for n in names if FUSION_VARIANTS[n]["fusion"] != "late"] or ["attention"]
    task = str(params.get("task", "classification"))
    keys = duplicate_groups(data, groups)
    k = min(folds, len(np.unique(keys.astype(str))))
    metric = "macro_f1" if task != "regression" else "spearman"
    if len(names) == 1 or k < 2:
        note = "one candidate" if len(names) == 1 else "fewer than 2 groups in training: no inner folds"
        return names[0], {
            "chosen_on": None,
            "note": note,
            "chosen": {"fusion": names[0]},
            "fixed": {},
            "candidates": [],
        }
    splits = group_kfold_splits(keys, k, y=y if task == "classification" else None, seed=int(params.get("seed", 0)))
    classes = [str(i) for i in range(int(np.max(y)) + 1)] if task == "classification" else []
    tried: list[dict[str, Any]] = []
    best: tuple[float, str] | None = None
    for name in names:
        started = time.perf_counter()
        scores = []
        for train_rows, held_rows in splits:
            model = FusionModel(**{**params, **variant_params(name)})
            model.fit(
                data.subset(train_rows),
                y[train_rows],
                groups=keys[train_rows],
                y_value=None if y_value is None else y_value[train_rows],
                sample_weight=None if sample_weight is None else np.asarray(sample_weight)[train_rows],
            )
            predicted = np.asarray(model.predict(data.subset(held_rows)))
            scores.append(val_score(task, y[held_rows], predicted, classes))
        value = float(np.nanmean(scores)) if not all(math.isnan(s) for s in scores) else math.nan
        tried.append(
            {
                "params": {"fusion": name},
                "val": value,
                "folds": [round(float(s), 4) for s in scores],
                "seconds": round(time.perf_counter() - started, 3),
                "rounds": None,
            }
        )
        rank = -math.inf if math.isnan(value) else round(value, 4)
        if best is None or rank > best[0]:
            best = (rank, name)
    assert best is not None
    return best[1], {
        "chosen_on": f"grouped inner {k}-fold CV {metric} (training side only)",
        "note": None,
        "chosen": {"fusion": best[1]},
        "fixed": {},
        "candidates": tried,
    }
