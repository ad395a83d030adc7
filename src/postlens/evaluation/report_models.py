"""The report of one trained model: its figures, per class, confusion, calibration, modality ablation,
imbalance comparison, distillation and cross-validation, each present or said absent with why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from postlens.evaluation.calibration import calibration_of_predictions

if TYPE_CHECKING:
    from postlens.evaluation.report import ModelRun

HEADLINE = {
    "classification": ("macro_f1", "balanced_accuracy", "accuracy", "minority_recall", "positive_f1"),
    "multilabel": ("macro_f1", "micro_f1"),
    "regression": ("spearman", "mae", "rmse"),
}
"""Figures shown per side, by task, in this order (a figure a model lacks is left out)."""
ABLATION_KEY = {"classification": "macro_f1", "multilabel": "macro_f1", "regression": "spearman"}


def absent(reason: str) -> dict[str, Any]:
    return {"status": "absent", "reason": reason}


def present(**content: Any) -> dict[str, Any]:
    return {"status": "present", **content}


def model_section(run: ModelRun) -> dict[str, Any]:
    metrics, description = run.metrics, run.description
    task = str(metrics.get("task") or description.get("task") or "classification")
    keys = [k for k in HEADLINE.get(task, ()) if k in (metrics.get("test") or metrics.get("val") or {})]
    sides = [
        {"side": side, "n": figures.get("n", 0), **{k: figures.get(k) for k in keys}}
        for side in ("val", "test")
        if (figures := metrics.get(side))
    ]
    return {
        "name": run.name,
        "kind": description.get("kind") or metrics.get("model"),
        "task": task,
        "target": metrics.get("target"),
        "classes": list(description.get("classes") or metrics.get("classes") or []),
        "positive_class": metrics.get("positive_class"),
        "imbalance": metrics.get("imbalance"),
        "split": metrics.get("split", {}),
        "held_out": metrics.get("held_out", "test"),
        "sizes": metrics.get("sizes", {}),
        "train_seconds": metrics.get("train_seconds"),
        "epochs_run": metrics.get("epochs_run"),
        "saved_at": description.get("saved_at"),
        "postlens_version": description.get("postlens_version"),
        "fingerprint": description.get("fingerprint") or metrics.get("fingerprint"),
        "inputs": {m: e.get("key") for m, e in (description.get("encoders") or {}).items()},
        "warnings": list(metrics.get("warnings", [])),
        "figures": present(keys=keys, rows=sides)
        if sides
        else absent("metrics.json holds no validation or test figures"),
        "per_class": _per_class(metrics, task),
        "confusion": _confusion(metrics, task),
        "calibration": _calibration(run, task),
        "ablation": _ablation(metrics, task, keys),
        "imbalance_comparison": _imbalance(run, task),
        "distillation": _distillation(metrics),
        "cross_validation": _cross_validation(metrics, keys),
    }


def _per_class(metrics: dict[str, Any], task: str) -> dict[str, Any]:
    per_class = (metrics.get("test") or {}).get("per_class")
    if not per_class:
        return absent(f"no per-class figures ({task} model without test figures per class)")
    rows = [
        {"class": name, **{k: f.get(k) for k in ("precision", "recall", "f1", "support")}}
        for name, f in per_class.items()
    ]
    return present(side="test", rows=rows)


def _confusion(metrics: dict[str, Any], task: str) -> dict[str, Any]:
    confusion = (metrics.get("test") or {}).get("confusion")
    if not confusion:
        return absent(
            f"no confusion matrix: {task} models have none"
            if task != "classification"
            else "no confusion matrix in metrics.json (retrain with this postlens to get one)"
        )
    matrix = [[int(v) for v in row] for row in confusion["matrix"]]
    shares = [[v / sum(row) if sum(row) else None for v in row] for row in matrix]
    return present(side="test", labels=list(confusion["labels"]), matrix=matrix, row_shares=shares)


def _calibration(run: ModelRun, task: str) -> dict[str, Any]:
    if task != "classification":
        return absent(f"calibration applies to single-label classifiers; this is a {task} model")
    sides = {}
    for side in ("val", "test"):
        table = run.predictions.get(side)
        if table is not None and (figures := calibration_of_predictions(table)) is not None:
            sides[side] = figures
    if not sides:
        return absent(
            "no predictions file with class probabilities (predictions_val/test.parquet); "
            "retrain with this postlens to write them"
        )
    return present(bins=len(next(iter(sides.values()))["bins"]), sides=sides)


def _ablation(metrics: dict[str, Any], task: str, keys: list[str]) -> dict[str, Any]:
    missing = metrics.get("test_missing")
    if not missing:
        why = "not a fusion model" if metrics.get("model") != "fusion" else "no test figures with a modality removed"
        return absent(f"no modality ablation ({why}): train a fusion model to measure each modality's share")
    main = ABLATION_KEY.get(task, "macro_f1")
    full = metrics.get("test") or {}
    reference = full.get(main)
    rows = [{"inputs": "all modalities", "n": full.get("n", 0), **{k: full.get(k) for k in keys}, "delta": 0.0}]
    for name, figures in missing.items():
        value = figures.get(main)
        delta = value - reference if isinstance(value, (int, float)) and isinstance(reference, (int, float)) else None
        rows.append(
            {
                "inputs": name.replace("_", " "),
                "n": figures.get("n", 0),
                **{k: figures.get(k) for k in keys},
                "delta": delta,
            }
        )
    return present(figure=main, rows=rows)


def _imbalance(run: ModelRun, task: str) -> dict[str, Any]:
    compare = run.compare or run.metrics.get("compare_imbalance")
    if not compare:
        return absent(
            "imbalance methods not compared: train with --compare-imbalance"
            if task == "classification"
            else f"imbalance methods apply to single-label classification, not {task}"
        )
    rows = []
    for method, entry in compare.get("methods", {}).items():
        val = entry.get("val", {})
        rows.append(
            {
                "method": method,
                "chosen": method == compare.get("chosen"),
                **{k: val.get(k) for k in ("macro_f1", "balanced_accuracy", "minority_recall")},
                "minority_class": val.get("minority_class"),
                "train_seconds": entry.get("train_seconds"),
            }
        )
    test = compare.get("test_of_chosen") or {}
    return present(
        chosen=compare.get("chosen"),
        chosen_on=compare.get("chosen_on"),
        rows=rows,
        test_of_chosen={
            k: test.get(k) for k in ("n", "macro_f1", "balanced_accuracy", "minority_recall", "minority_class")
        },
    )


def _distillation(metrics: dict[str, Any]) -> dict[str, Any]:
    distill = metrics.get("distill")
    if not distill:
        return absent("no distilled student: set distill: {enabled: true} in the training config")
    rows = []
    for role in ("teacher", "student"):
        figures, latency = distill.get(role) or {}, distill.get(f"{role}_latency") or {}
        rows.append(
            {
                "model": role,
                **{k: figures.get(k) for k in ("macro_f1", "balanced_accuracy", "accuracy")},
                "ms_per_post_single": latency.get("ms_per_post_single"),
                "ms_per_post_batched": latency.get("ms_per_post_batched"),
            }
        )
    return present(rows=rows, speedup_single=distill.get("speedup_single"))


def _cross_validation(metrics: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    cv = metrics.get("cv")
    if not cv:
        return absent("no cross-validation: train with --cv K")
    rows = [
        {
            "figure": k,
            "mean": cv["mean"].get(k),
            "std": cv["std"].get(k),
            "folds": [f["metrics"].get(k) for f in cv.get("folds", [])],
        }
        for k in keys
        if k in cv.get("mean", {})
    ]
    return present(k=cv.get("k"), kind=cv.get("kind"), over=cv.get("over"), rows=rows)
