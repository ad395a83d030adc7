"""``postlens train --config train.yaml [--compare-imbalance]``: assemble, split, fit, evaluate, save.

The model folder (default ``<workspace>/models/<name>``) holds everything needed to predict later;
``compare.json`` beside it holds the imbalance comparison when asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.splits import make_split
from postlens.models import trainer
from postlens.models.artifact import describe_inputs, save_model
from postlens.models.config import TrainConfig, load_config
from postlens.models.data import TrainingSet, assemble
from postlens.models.imbalance import supported_methods
from postlens.store.workspace import Workspace


def split_training_set(config: TrainConfig, data: TrainingSet) -> tuple[TrainingSet, TrainingSet, TrainingSet]:
    strategy = config.split.strategy
    groups = data.groups.get("author" if strategy == "author" else "group")
    split = make_split(strategy, len(data.y), times=data.times, groups=groups,
                       y=data.y if data.task == "classification" else None,
                       test_size=config.split.test_size, val_size=config.split.val_size, seed=config.seed)
    if len(split.val) == 0 and config.split.val_size > 0:
        raise ConfigError("the validation side is empty; raise split.val_size")
    if data.task == "classification" and len(np.unique(data.y[split.train])) < 2:
        raise ConfigError(f"the {strategy} split left one class only in training ({data.classes[int(data.y[split.train][0])]!r}); "
                          "try another seed, a smaller test_size or another strategy")
    return data.subset(split.train), data.subset(split.val), data.subset(split.test)


def train_from_config(config: TrainConfig, data: TrainingSet, *, compare_imbalance: bool = False,
                      output: Path | None = None) -> dict[str, Any]:
    """Everything ``run_train`` does, given an assembled training set (tests call this directly)."""
    train, val, test = split_training_set(config, data)
    estimator = trainer.fit(config, train, val)
    report: dict[str, Any] = {
        "name": config.name, "model": config.model.kind, "task": data.task, "imbalance": config.imbalance,
        "sizes": {"train": len(train.y), "val": len(val.y), "test": len(test.y)},
        "classes": data.classes, "train_seconds": round(estimator.fit_seconds_, 3),
        "epochs_run": getattr(estimator, "epochs_run_", None),
        "val": trainer.evaluate(estimator, val) if len(val.y) else {}, "test": trainer.evaluate(estimator, test),
    }
    if config.model.kind == "fusion":
        report["test_missing"] = trainer.degradation(estimator, test)
    if config.distill.enabled:
        report["distill"] = _distill(config, estimator, train, val, test)
    if compare_imbalance:
        report["compare_imbalance"] = compare_imbalance_methods(config, train, val, test)
    fingerprint = data.data.fingerprint(sorted(f"{m}={k}" for m, k in data.feature_keys.items()))
    report["fingerprint"] = fingerprint
    if output is not None:
        save_model(output, estimator, task=data.task, classes=data.classes, feature_keys=data.feature_keys,
                   meta_names=data.data.meta_names, fingerprint=fingerprint, config=config.model_dump(),
                   metrics={k: v for k, v in report.items() if k not in ("classes",)},
                   inputs=describe_inputs(config.features, data.feature_keys, data.data.dims))
        report["output"] = str(output)
    return report


def compare_imbalance_methods(config: TrainConfig, train: TrainingSet, val: TrainingSet,
                              test: TrainingSet) -> dict[str, dict[str, Any]]:
    if train.task != "classification":
        raise ConfigError("--compare-imbalance needs a single-label classification target")
    out = {}
    for method in supported_methods(config.model.kind):
        estimator = trainer.fit(config, train, val, imbalance=method)
        out[method] = {**trainer.evaluate(estimator, test), "train_seconds": round(estimator.fit_seconds_, 3)}
    return out


def _distill(config: TrainConfig, teacher: Any, train: TrainingSet, val: TrainingSet, test: TrainingSet) -> dict[str, Any]:
    from postlens.models.distill import StudentModel, per_post_latency

    if train.task != "classification" or config.model.kind != "fusion":
        raise ConfigError("distillation needs a fusion teacher on a single-label classification target")
    student = StudentModel(modalities=tuple(config.distill.student_modalities), hidden=config.distill.hidden,
                           temperature=config.distill.temperature, alpha=config.distill.alpha,
                           seed=config.seed, num_threads=config.num_threads)
    student.fit(train.data, train.y, teacher_logits=teacher.decision_function(train.data), val=(val.data, val.y))
    teacher_speed, student_speed = per_post_latency(teacher, test.data), per_post_latency(student, test.data)
    return {
        "teacher": trainer.evaluate(teacher, test), "student": trainer.evaluate(student, test),
        "teacher_latency": teacher_speed, "student_latency": student_speed,
        "speedup_single": teacher_speed["ms_per_post_single"] / max(student_speed["ms_per_post_single"], 1e-9),
    }


def run_train(config_path: str | Path | TrainConfig, *, workspace: str | Path | None, compare_imbalance: bool = False,
              console: Any = None) -> dict[str, Any]:
    """Entry point of the ``postlens train`` command; returns the report it prints and saves.

    ``config_path`` may also be an already parsed ``TrainConfig`` (the demo builds its own).
    """
    config = config_path if isinstance(config_path, TrainConfig) else load_config(config_path)
    base = Path.cwd() if isinstance(config_path, TrainConfig) else Path(config_path).resolve().parent
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config)
        root = ws.root
    output = Path(config.output) if config.output else root / "models" / config.name
    if not output.is_absolute():
        output = base / output
    report = train_from_config(config, data, compare_imbalance=compare_imbalance, output=output)
    if compare_imbalance:
        (output / "compare.json").write_text(json.dumps(report["compare_imbalance"], indent=2, default=float))
    if console is not None:
        _print(console, report)
    return report


def _print(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"[bold]{report['name']}[/]: {report['model']} ({report['task']}), sizes {report['sizes']}, "
                  f"trained in {report['train_seconds']:.1f}s")
    table = Table("set", "figures")
    for side in ("val", "test"):
        table.add_row(side, _figures(report[side]))
    for name, figures in report.get("test_missing", {}).items():
        table.add_row(f"test {name}", _figures(figures))
    console.print(table)
    if "compare_imbalance" in report:
        compare = Table("imbalance", "macro-F1", "balanced acc", "minority recall", "train s")
        for method, f in report["compare_imbalance"].items():
            compare.add_row(method, f"{f['macro_f1']:.3f}", f"{f['balanced_accuracy']:.3f}",
                            f"{f['minority_recall']:.3f}", f"{f['train_seconds']:.1f}")
        console.print(compare)
    if "distill" in report:
        d = report["distill"]
        console.print(f"distillation: teacher macro-F1 {d['teacher']['macro_f1']:.3f}, student "
                      f"{d['student']['macro_f1']:.3f}, speed-up per post x{d['speedup_single']:.1f}")
    if "output" in report:
        console.print(f"model saved to {report['output']}")


def _figures(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
                     if not isinstance(v, (dict, list, np.ndarray)))
