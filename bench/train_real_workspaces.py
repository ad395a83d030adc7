"""MediaEval and PHEME figures from featurized workspaces (see bench/train_real.py for the command)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postlens.models import trainer
from postlens.models.config import parse_config
from postlens.models.data import TrainingSet, assemble
from postlens.pipeline.train import split_training_set
from postlens.store.workspace import Workspace


def _row(name: str, metrics: dict, seconds: float, extra: str = "") -> None:
    keys = [k for k in ("macro_f1", "balanced_accuracy", "minority_recall", "spearman", "mae") if k in metrics]
    figures = "  ".join(f"{k} {metrics[k]:.3f}" for k in keys)
    print(f"  {name:<40} {figures}  train {seconds:7.1f}s {extra}", flush=True)


def _view(ts: TrainingSet, modalities: list[str], meta: bool) -> TrainingSet:
    return TrainingSet(
        data=ts.data.select(modalities, meta=meta),
        y=ts.y,
        task=ts.task,
        classes=ts.classes,
        y_value=ts.y_value,
        times=ts.times,
        groups=ts.groups,
        feature_keys=ts.feature_keys,
    )


def _open(path: Path) -> Workspace | None:
    if not (path / "postlens.duckdb").exists():
        print(f"workspace {path} absent: run ingest + featurize first (see bench/train_real.py)")
        return None
    return Workspace(path, read_only=True)


def mediaeval(path: Path) -> None:
    ws = _open(path)
    if ws is None:
        return
    base = {
        "target": "label",
        "features": {"modalities": {"text": "minilm", "image": "efficientnet"}},
        "split": {"strategy": "group", "group_label": "event", "test_size": 0.3, "val_size": 0.0},
        "num_threads": 1,
        "seed": 0,
    }
    with ws:
        data = assemble(ws, parse_config(base))
    config = parse_config({**base, "model": {"kind": "fusion", "epochs": 40, "patience": 6}})
    train, val, test = split_training_set(config, data)
    events = lambda s: sorted(set(s.groups["group"]))  # noqa: E731
    print(
        f"MediaEval fake/real, event-disjoint split: train {len(train.y)} ({len(events(train))} events), "
        f"test {len(test.y)} {events(test)}"
    )
    print(
        f"  classes {data.classes}; test counts {np.bincount(test.y).tolist()}; "
        f"image present train {train.data.masks['image'].mean():.2f} test {test.data.masks['image'].mean():.2f}"
    )
    for meta in (False, True):
        print(f" modalities {'with' if meta else 'without'} metadata:")
        for mods in (["text"], ["image"], ["text", "image"]):
            views = [_view(s, mods, meta) for s in (train, val, test)]
            model = trainer.fit(config, views[0], views[1])
            extra = ""
            if mods == ["text", "image"]:
                dropped = trainer.degradation(model, views[2])["without_image"]["macro_f1"]
                extra = f"| image dropped at test: macro_f1 {dropped:.3f}"
            _row(f"fusion {'+'.join(mods)}", trainer.evaluate(model, views[2]), model.fit_seconds_, extra)
        for kind in ("logreg", "lightgbm"):
            views = [_view(s, ["text", "image"], meta) for s in (train, val, test)]
            model = trainer.fit(parse_config({**base, "model": {"kind": kind}}), views[0], views[1])
            _row(f"{kind} text+image", trainer.evaluate(model, views[2]), model.fit_seconds_)
    distill(config, train, val, test)


def distill(config, train: TrainingSet, val: TrainingSet, test: TrainingSet) -> None:
    from postlens.models.distill import StudentModel, per_post_latency

    teacher = trainer.fit(config, train, val)
    student = StudentModel(modalities=("text",), temperature=3.0, alpha=0.7, seed=0, num_threads=1)
    stop = (val.data, val.y) if len(val.y) else None
    student.fit(train.data, train.y, teacher_logits=teacher.decision_function(train.data), val=stop)
    plain = StudentModel(modalities=("text",), alpha=0.0, seed=0, num_threads=1)
    plain.fit(train.data, train.y, teacher_logits=teacher.decision_function(train.data), val=stop)
    t_speed, s_speed = per_post_latency(teacher, test.data), per_post_latency(student, test.data)
    print(" distillation (teacher: fusion text+image+meta; student: MLP on text+meta):")
    _row(
        "teacher",
        trainer.evaluate(teacher, test),
        teacher.fit_seconds_,
        f"| {t_speed['ms_per_post_single']:.2f} ms/post single, {t_speed['ms_per_post_batched']:.3f} batched",
    )
    _row(
        "student (distilled, T=3)",
        trainer.evaluate(student, test),
        student.train_seconds_,
        f"| {s_speed['ms_per_post_single']:.2f} ms/post single, {s_speed['ms_per_post_batched']:.3f} batched",
    )
    _row("same MLP, labels only (alpha=0)", trainer.evaluate(plain, test), plain.train_seconds_)
    print(
        f"  student speed-up per post: x{t_speed['ms_per_post_single'] / s_speed['ms_per_post_single']:.1f} single, "
        f"x{t_speed['ms_per_post_batched'] / s_speed['ms_per_post_batched']:.1f} batched "
        "(model only; the student also skips the image encoder, ~23 ms per image)"
    )


def pheme(path: Path) -> None:
    ws = _open(path)
    if ws is None:
        return
    base = {
        "target": "popularity",
        "popularity": {"metric": "shares"},
        "features": {"modalities": {"text": "minilm"}},
        "split": {"strategy": "time"},
        "num_threads": 1,
        "seed": 0,
    }
    with ws:
        data = assemble(ws, parse_config(base))
    config = parse_config({**base, "model": {"kind": "fusion", "epochs": 40, "patience": 6}})
    train, val, test = split_training_set(config, data)
    print(
        f"PHEME log1p(retweets), time split: train {len(train.y)}, val {len(val.y)}, test {len(test.y)}; "
        f"test mean {test.y.mean():.2f}"
    )
    followers = data.data.meta_names.index("log_followers")

    def followers_only(s: TrainingSet) -> TrainingSet:
        view = _view(s, [], True)
        view.data.meta = view.data.meta[:, [followers]]
        view.data.meta_names = ["log_followers"]
        return view

    fo = [followers_only(s) for s in (train, val, test)]
    for kind in ("logreg", "lightgbm"):
        model = trainer.fit(parse_config({**base, "model": {"kind": kind}}), fo[0], fo[1])
        _row(
            f"followers only ({'linear' if kind == 'logreg' else kind})",
            trainer.evaluate(model, fo[2]),
            model.fit_seconds_,
        )
    meta_only = [_view(s, [], True) for s in (train, val, test)]
    model = trainer.fit(parse_config({**base, "model": {"kind": "lightgbm"}}), meta_only[0], meta_only[1])
    _row("lightgbm metadata", trainer.evaluate(model, meta_only[2]), model.fit_seconds_)
    for kind in ("logreg", "lightgbm"):
        model = trainer.fit(parse_config({**base, "model": {"kind": kind}}), train, val)
        _row(f"{kind} text+metadata", trainer.evaluate(model, test), model.fit_seconds_)
    model = trainer.fit(config, train, val)
    _row("fusion text+metadata", trainer.evaluate(model, test), model.fit_seconds_)
