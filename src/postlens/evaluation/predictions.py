"""Per-post predictions as a Parquet table: what a data scientist opens to see where a model errs.

Columns: ``post_id``, then for classifiers ``true_label``, ``predicted_label`` and ``proba_<class>``
(one probability per class, when the model gives them); for multi-label the label lists; for
regression ``true_value`` and ``predicted_value``. Figures computed from this table equal the
report's, because both come from the same predictions.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROBA_PREFIX = "proba_"  # the same prefix as the predictions `postlens predict` writes


def prediction_table(
    task: str, ids: list[str], y: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None, classes: list[str]
) -> pa.Table:
    columns: dict[str, pa.Array] = {"post_id": pa.array(list(ids), pa.string())}
    if task == "regression":
        columns["true_value"] = pa.array(np.asarray(y, float))
        columns["predicted_value"] = pa.array(np.asarray(predicted, float))
        return pa.table(columns)
    if task == "multilabel":
        names = lambda rows: [[c for c, on in zip(classes, row) if on] for row in np.asarray(rows)]  # noqa: E731
        columns["true_labels"] = pa.array(names(y), pa.list_(pa.string()))
        columns["predicted_labels"] = pa.array(names(predicted), pa.list_(pa.string()))
    else:
        columns["true_label"] = pa.array([classes[int(i)] for i in y], pa.string())
        columns["predicted_label"] = pa.array([classes[int(i)] for i in predicted], pa.string())
    if proba is not None:
        for index, name in enumerate(classes):
            columns[f"{PROBA_PREFIX}{name}"] = pa.array(np.asarray(proba[:, index], float))
    return pa.table(columns)


def write_predictions(path: str | Path, table: pa.Table) -> Path:
    """Write atomically (a temporary file renamed into place): a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path
