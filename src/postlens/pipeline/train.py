"""``postlens train --config train.yaml [--compare-imbalance] [--cv K]``: assemble, split, fit, evaluate, save.

The model folder (default ``<workspace>/models/<name>``) holds everything needed to predict later,
plus ``predictions_val.parquet`` / ``predictions_test.parquet`` (one row per post of the validation
and held-out sides) and ``compare.json`` when the imbalance comparison was asked for. Functions here
return a report (a JSON-ready dict); ``serve.render_train`` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.predictions import prediction_table, write_predictions
from postlens.evaluation.splits import Split, make_split, side_of
from postlens.models import trainer
from postlens.models.artifact import describe_inputs, save_model
from postlens.models.config import TrainConfig, load_config
from postlens.models.crossval import cross_validate, folds_for
from postlens.models.data import TrainingSet, assemble
from postlens.models.imbalance import supported_methods
from postlens.store.workspace import Workspace

Progress = Callable[[str], None]


def split_rows(config: TrainConfig, data: TrainingSet) -> Split:
    """Row indices of train / val / test for ``config.split``; every side the run needs is non-empty."""
    s = config.split
    split = make_split(
        s.strategy,
        len(data.y),
        times=data.times,
        groups=data.groups.get("author" if s.strategy == "author" else "group"),
        y=data.y if data.task == "classification" else None,
        values=data.groups.get("column"),
        clusters=data.groups.get("clusters"),
        test_size=s.test_size,
        val_size=s.val_size,
        seed=config.seed,
        time_boundary=s.time_boundary,
    )
    sizes = split.sizes()
    for side in ("train", "test"):
        if sizes[side] == 0:
            raise ConfigError(
                f"the {s.strategy} split left the {side} side empty (sizes {sizes}); "
                "try another seed, other test_size / val_size or another strategy"
            )
    if sizes["val"] == 0 and s.val_size > 0:
        raise ConfigError(f"the validation side is empty (sizes {sizes}); raise split.val_size")
    if data.task == "classification":
        present = np.unique(data.y[split.train])
        if len(present) < 2:
            raise ConfigError(
                f"the {s.strategy} split left one class only in training "
                f"({data.classes[int(present[0])]!r} of {data.classes}); "
                "try another seed, a smaller test_size or another strategy"
            )
    return split


def split_training_set(config: TrainConfig, data: TrainingSet) -> tuple[TrainingSet, TrainingSet, TrainingSet]:
    split = split_rows(config, data)
    return data.subset(split.train), data.subset(split.val), data.subset(split.test)


def cv_rows(config: TrainConfig, data: TrainingSet) -> np.ndarray:
    """Rows cross-validation runs over: every labelled post, or for a column split its train rows
    only (the benchmark's own val / test stay untouched)."""
    if config.split.strategy != "column":
        return np.arange(len(data.y))
    return np.flatnonzero(np.array([side_of(v) == "train" for v in data.groups["column"]], bool))


def train_from_config(
    config: TrainConfig,
    data: TrainingSet,
    *,
    compare_imbalance: bool = False,
    output: Path | None = None,
    folds: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything ``run_train`` does, given an assembled training set (tests call this directly)."""
    say = progress or (lambda _message: None)
    if data.stream is not None and (folds or config.split.folds or config.distill.enabled):
        raise ConfigError(
            "a streamed model (kind 'sgd') does not run cross-validation or distillation yet; "
            "drop --cv / split.folds / distill, or use logreg"
        )
    split = split_rows(config, data)
    train, val, test = data.subset(split.train), data.subset(split.val), data.subset(split.test)
    positive = trainer.positive_index(config, data)
    say(f"training {config.model.kind} on {len(train.y):,} posts" + _tuning_note(config, len(val.y) > 0))
    estimator = trainer.fit(config, train, val, on_epoch=lambda entry: say(epoch_message(entry)))
    predicted = {name: trainer.predict_side(estimator, side) for name, side in (("val", val), ("test", test))}
    figures = {
        name: trainer.score(side.task, side.y, predicted[name][0], side.classes, positive=positive)
        if len(side.y)
        else {}
        for name, side in (("val", val), ("test", test))
    }
    report: dict[str, Any] = {
        "name": config.name,
        "model": config.model.kind,
        "task": data.task,
        "imbalance": config.imbalance,
        "target": config.target,
        "classes": data.classes,
        "positive_class": data.classes[positive] if positive is not None else None,
        "split": {"strategy": config.split.strategy, **split.info, "notes": dict(data.notes)},
        "held_out": split.info.get("held_out", "test"),
        "sizes": {"train": len(train.y), "val": len(val.y), "test": len(test.y)},
        "train_seconds": round(estimator.fit_seconds_, 3),
        "epochs_run": None
        if getattr(estimator, "late_", None) is not None
        else getattr(estimator, "epochs_run_", None),
        "blocks": {b.name: b.encoder for b in config.features.blocks()},
        "val": figures["val"],
        "test": figures["test"],
        "warnings": trainer.model_warnings(
            estimator, {"val": (val, predicted["val"][0]), "held-out": (test, predicted["test"][0])}
        ),
    }
    if data.selection:
        report["where"] = {**data.selection, "posts_labelled": len(data.y)}
    if data.stream is not None:
        report["stream"] = {"batch_size": config.model.stream_batch_size, "epochs": config.model.resolved_epochs}
    if getattr(estimator, "tuning_", None) is not None:
        report["tuning"] = estimator.tuning_
    if config.model.kind == "finetune" or (config.model.kind == "fusion" and getattr(estimator, "late_", None) is None):
        # late fusion fits linear experts and a pool, not epochs: no "1 run of 30" to report
        report["epochs"] = epoch_summary(config, estimator)
        report["warnings"] += early_best_warning(config, report["epochs"], len(val.y))
    if config.model.kind == "fusion":
        report["test_missing"] = trainer.degradation(estimator, test, positive=positive)
    if config.distill.enabled:
        report["distill"] = _distill(config, estimator, train, val, test, positive)
    if compare_imbalance:
        say("comparing imbalance methods (chosen on validation)")
        report["compare_imbalance"] = compare_imbalance_methods(config, train, val, test, positive=positive)
    n_folds = folds or config.split.folds
    if n_folds:
        report["cv"] = run_cross_validation(config, data, n_folds, positive=positive, progress=say)
    fitted = fitted_inputs(estimator)
    all_keys = {**data.feature_keys, **{block: entry["key"] for block, entry in fitted.items()}}
    fingerprint = data.data.fingerprint(sorted(f"{m}={key}" for m, key in all_keys.items()))
    report["fingerprint"] = fingerprint
    if output is not None:
        save_model(
            output,
            estimator,
            task=data.task,
            classes=data.classes,
            feature_keys=data.feature_keys,
            meta_names=data.data.meta_names,
            fingerprint=fingerprint,
            config=config.model_dump(),
            metrics={key: v for key, v in report.items() if key != "classes"},
            inputs=describe_inputs(config.features, data.feature_keys, data.dims, fitted),
            trained_on={
                "where": config.where,
                "posts_labelled": len(data.y),
                "sizes": report["sizes"],
                **{k: v for k, v in data.selection.items() if k != "where"},
            },
        )
        report["output"] = str(output)
        report["predictions"] = _write_predictions(
            output, config, {"val": (val, predicted["val"]), "test": (test, predicted["test"])}
        )
        if compare_imbalance:
            (output / "compare.json").write_text(json.dumps(report["compare_imbalance"], indent=2, default=float))
    return report


def epoch_message(entry: dict[str, Any]) -> str:
    """One progress line per epoch: ``epoch 2/3: train loss 0.512, val macro-F1 0.704 (best so far), 95 s``."""
    val = entry.get("val")
    metric = {"macro_f1": "macro-F1", "spearman": "Spearman"}.get(str(entry.get("metric")), str(entry.get("metric")))
    figure = f", val {metric} {val:.3f}" + (" (best so far)" if entry.get("best") else "") if val is not None else ""
    return (
        f"epoch {entry['epoch']}/{entry['epochs']}: train loss {entry['train_loss']:.4f}{figure}, "
        f"{entry['seconds']:.0f} s"
    )


def _tuning_note(config: TrainConfig, has_val: bool) -> str:
    from postlens.models.tuning import plan

    candidates, _, _ = plan(config.model, has_val=has_val)
    return f", trying {len(candidates)} hyper-parameter combinations on validation" if len(candidates) > 1 else ""


def epoch_summary(config: TrainConfig, estimator: Any) -> dict[str, Any]:
    """Epochs asked (and whether that is the kind's default), run, and the one whose weights were kept."""
    history = list(getattr(estimator, "history_", None) or [])
    scores = [h.get("val", h.get("val_score")) for h in history]
    known = [(v, i) for i, v in enumerate(scores) if v is not None]
    best = max(known, key=lambda vi: (vi[0], -vi[1]))[1] + 1 if known else None
    return {
        "max": config.model.resolved_epochs,
        "default_for_kind": config.model.epochs is None,
        "run": getattr(estimator, "epochs_run_", len(history) or None),
        "best": best,
        "history": [{k: v for k, v in h.items() if k != "epochs"} for h in history],
    }


def early_best_warning(config: TrainConfig, epochs: dict[str, Any], n_val: int) -> list[str]:
    """Say so when fusion keeps the weights of epoch 1 or 2 of a longer run: either it overfits at once
    (the validation figure falls after) or a small validation side made an early epoch look best."""
    best, run = epochs.get("best"), epochs.get("run") or 0
    if config.model.kind != "fusion" or best is None or best > 2 or run <= best:
        return []
    return [
        (
            f"fusion kept the weights of epoch {best} of the {run} it ran ({epochs['max']} allowed): no later epoch "
            f"did better on the {n_val:,} validation posts. It overfits at once, or the validation side is too small "
            "to tell epochs apart; compare with logreg, try a lower model.lr or more dropout, or raise "
            "split.val_size (model.min_epochs keeps it training longer)"
        )
    ]


def fitted_inputs(estimator: Any) -> dict[str, dict[str, Any]]:
    """block -> {encoder, key, settings, dim} of the tfidf / word2vec blocks fitted inside ``estimator``."""
    from postlens.encoders.identity import encoder_settings
    from postlens.models.fitted_text import FittedTextFeatures

    if not isinstance(estimator, FittedTextFeatures):
        return {}
    keys, dims = estimator.keys(), estimator.fitted_dims()
    return {
        block: {
            "encoder": name,
            "key": keys[block],
            "settings": encoder_settings(estimator.featurizers_[block]),
            "dim": dims[block],
            "fitted_on": "the training posts",
        }
        for block, name in (estimator.encoders or {}).items()
    }


def _write_predictions(
    folder: Path, config: TrainConfig, sides: dict[str, tuple[TrainingSet, tuple[np.ndarray, np.ndarray | None]]]
) -> dict[str, str]:
    """``predictions_<side>.parquet`` per side; a column split adds each post's own split value."""
    written = {}
    for name, (side, (predicted, proba)) in sides.items():
        if len(side.y) == 0:
            continue
        table = prediction_table(side.task, side.data.ids or [], side.y, predicted, proba, side.classes)
        if "column" in side.groups:
            table = table.append_column(
                "source_split", [[None if v is None else str(v) for v in side.groups["column"]]]
            )
        written[name] = str(write_predictions(folder / f"predictions_{name}.parquet", table))
    return written


def compare_imbalance_methods(
    config: TrainConfig, train: TrainingSet, val: TrainingSet, test: TrainingSet, *, positive: int | None = None
) -> dict[str, Any]:
    """Every imbalance method on the same split, CHOSEN on validation macro-F1 (ties: the simpler,
    earlier method); only the chosen one is scored on the held-out side, once."""
    if train.task != "classification":
        raise ConfigError("--compare-imbalance needs a single-label classification target")
    if len(val.y) == 0:
        raise ConfigError(
            "--compare-imbalance chooses a method on validation figures, and the validation side "
            "is empty: set split.val_size above 0"
        )
    methods: dict[str, Any] = {}
    best: tuple[float, str, Any] | None = None
    for method in supported_methods(config.model.kind):
        if method == "smote" and trainer.fitted_blocks(config):
            methods[method] = {"skipped": "SMOTE's synthetic posts have no text for the tfidf / word2vec blocks"}
            continue
        estimator = trainer.fit(config, train, val, imbalance=method)
        figures = trainer.evaluate(estimator, val, positive=positive)
        methods[method] = {
            "val": figures,
            "train_seconds": round(estimator.fit_seconds_, 3),
            "warnings": list(getattr(estimator, "warnings_", []) or []),
        }
        if best is None or figures["macro_f1"] > best[0]:
            best = (figures["macro_f1"], method, estimator)
    assert best is not None
    return {
        "chosen_on": "val macro_f1",
        "chosen": best[1],
        "methods": methods,
        "test_of_chosen": trainer.evaluate(best[2], test, positive=positive),
    }


def run_cross_validation(
    config: TrainConfig, data: TrainingSet, k: int, *, positive: int | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """k-fold figures (mean, standard deviation, per fold) of ``config`` over ``cv_rows``."""
    rows = cv_rows(config, data)
    subset = data.subset(rows)
    folds, kind = folds_for(config, subset, k)
    say = progress or (lambda _message: None)

    def on_fold(number: int, entry: dict[str, Any]) -> None:
        main = entry["metrics"].get("macro_f1", entry["metrics"].get("spearman"))
        say(f"fold {number}/{len(folds)}: {entry['sizes']}" + (f", {main:.3f}" if main is not None else ""))

    result = cross_validate(config, subset, folds, positive=positive, on_fold=on_fold)
    over = "the split column's train rows" if config.split.strategy == "column" else "every labelled post"
    return {"k": k, "kind": kind, "rows": int(len(rows)), "over": over, **result}


def _distill(
    config: TrainConfig, teacher: Any, train: TrainingSet, val: TrainingSet, test: TrainingSet, positive: int | None
) -> dict[str, Any]:
    from postlens.models.distill import StudentModel, per_post_latency

    if train.task != "classification" or config.model.kind != "fusion":
        raise ConfigError("distillation needs a fusion teacher on a single-label classification target")
    blocks = [
        b
        for b in config.features.blocks_of(config.distill.student_modalities)
        if b in train.data.modalities or b in train.data.waveforms
    ]  # tfidf / word2vec live inside the teacher
    student = StudentModel(
        modalities=tuple(blocks),
        hidden=config.distill.hidden,
        temperature=config.distill.temperature,
        alpha=config.distill.alpha,
        seed=config.seed,
        num_threads=config.num_threads,
    )
    student.fit(train.data, train.y, teacher_logits=teacher.decision_function(train.data), val=(val.data, val.y))
    teacher_speed, student_speed = per_post_latency(teacher, test.data), per_post_latency(student, test.data)
    return {
        "teacher": trainer.evaluate(teacher, test, positive=positive),
        "student": trainer.evaluate(student, test, positive=positive),
        "teacher_latency": teacher_speed,
        "student_latency": student_speed,
        "speedup_single": teacher_speed["ms_per_post_single"] / max(student_speed["ms_per_post_single"], 1e-9),
    }


def run_train(
    config_path: str | Path | TrainConfig,
    *,
    workspace: str | Path | None,
    compare_imbalance: bool = False,
    cv: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Entry point of the ``postlens train`` command; returns the report (``serve.render_train`` prints it).

    ``config_path`` may also be an already parsed ``TrainConfig`` (the demo builds its own). ``cv``
    (k folds) overrides ``split.folds``.
    """
    config = config_path if isinstance(config_path, TrainConfig) else load_config(config_path)
    base = Path.cwd() if isinstance(config_path, TrainConfig) else Path(config_path).resolve().parent
    if cv is not None and cv < 2:
        raise ConfigError(f"--cv needs at least 2 folds, got {cv}")
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config, vectors=config.model.kind != "sgd")  # sgd reads them batch by batch
        root = ws.root
    output = Path(config.output) if config.output else root / "models" / config.name
    if not output.is_absolute():
        output = base / output
    return train_from_config(
        config, data, compare_imbalance=compare_imbalance, output=output, folds=cv, progress=progress
    )
