"""Training reports a data scientist can trust: column splits, k-fold CV, choices made on validation,
class names, per-class figures, predictions per post, and clear errors for splits that cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import f1_score

from postlens.errors import ConfigError
from postlens.models import trainer
from postlens.models.config import parse_config
from postlens.models.data import TrainingSet
from postlens.pipeline import train as train_pipeline
from postlens.pipeline.train import run_train, train_from_config

CLASSES = ["anger", "joy", "sadness"]
START = datetime(2024, 3, 1, tzinfo=UTC)


def _posts(n: int, *, seed: int = 0, n_classes: int = 3, labels=None) -> list[dict]:
    """Posts whose text vector carries the class; ``labels(i, cls)`` adds more labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, 8)) * 2.0
    out = []
    for i in range(n):
        cls = int(rng.choice(n_classes, p=[0.5, 0.3, 0.2] if n_classes == 3 else [0.65, 0.35]))
        post = {
            "labels": {"label": CLASSES[cls] if n_classes == 3 else ["real", "fake"][cls]},
            "vector": centres[cls] + rng.normal(size=8),
            "created_at": START + timedelta(hours=5 * i),
        }
        post["labels"].update(labels(i, cls) if labels else {})
        out.append(post)
    return out


def _config(key: str, tmp_path, **settings):
    base = {
        "name": "m",
        "target": "label",
        "features": {"modalities": {"text": key}},
        "model": {"kind": "logreg"},
        "output": str(tmp_path / "model"),
        "num_threads": 1,
    }
    for name, value in settings.items():
        base[name] = {**base.get(name, {}), **value} if isinstance(value, dict) else value
    return parse_config(base)


def _split_value(i: int, _cls: int) -> dict:
    value = ["train", "train", "train", "train", "Dev", "TEST"][i % 6]
    if i % 41 == 0:
        value = "unlabelled"
    return {} if i % 53 == 0 else {"split": value}


def test_column_split_reports_names_per_class_confusion_and_writes_predictions(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(600, labels=_split_value))
    config = _config(key, tmp_path, split={"strategy": "column", "column": "split"})
    report = run_train(config, workspace=tmp_path / "ws")
    split = report["split"]
    assert split["held_out"] == "test" and split["val_from"] == "column"
    left = {"unlabelled": sum(1 for i in range(600) if i % 41 == 0 and i % 53), "(no value)": 12}
    assert split["left_out"] == left
    assert report["sizes"]["test"] + report["sizes"]["val"] + report["sizes"]["train"] + sum(left.values()) == 600
    test = report["test"]
    assert list(test["per_class"]) == CLASSES and test["confusion"]["labels"] == CLASSES
    assert test["minority_class"] in CLASSES and test["macro_f1"] > 0.8
    table = pq.read_table(tmp_path / "model" / "predictions_test.parquet").to_pylist()
    assert len(table) == report["sizes"]["test"] and {r["source_split"] for r in table} == {"TEST"}
    assert set(table[0]) == {
        "post_id",
        "true_label",
        "predicted_label",
        "proba_anger",
        "proba_joy",
        "proba_sadness",
        "source_split",
    }
    assert all(abs(r["proba_anger"] + r["proba_joy"] + r["proba_sadness"] - 1) < 1e-6 for r in table)
    recomputed = f1_score([r["true_label"] for r in table], [r["predicted_label"] for r in table], average="macro")
    assert recomputed == pytest.approx(test["macro_f1"])
    val = pq.read_table(tmp_path / "model" / "predictions_val.parquet")
    assert val.num_rows == report["sizes"]["val"] and set(val.column("source_split").to_pylist()) == {"Dev"}


def test_column_split_with_train_and_val_only_reports_on_val(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(400, labels=lambda i, c: {"split": "val" if i % 5 == 0 else "train"}))
    report = run_train(_config(key, tmp_path, split={"strategy": "column"}), workspace=tmp_path / "ws")
    assert report["held_out"] == "val" and report["sizes"]["test"] == 80
    assert report["sizes"]["val"] == pytest.approx(32, abs=3)  # 10% of the 320 train rows, for tuning
    held = pq.read_table(tmp_path / "model" / "predictions_test.parquet")
    assert set(held.column("source_split").to_pylist()) == {"val"}
    tuning = pq.read_table(tmp_path / "model" / "predictions_val.parquet")
    assert set(tuning.column("source_split").to_pylist()) == {"train"}


def test_column_split_errors_name_the_problem(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(100, labels=lambda i, c: {"part": "train"}))
    with pytest.raises(
        ConfigError, match=r"split.column 'split' is missing.*label keys in this workspace: \['label', 'part'\]"
    ):
        run_train(_config(key, tmp_path, split={"strategy": "column"}), workspace=tmp_path / "ws")
    with pytest.raises(ConfigError, match="no val or test rows"):
        run_train(_config(key, tmp_path, split={"strategy": "column", "column": "part"}), workspace=tmp_path / "ws")
    with pytest.raises(ConfigError, match="also the target"):
        run_train(_config(key, tmp_path, split={"strategy": "column", "column": "label"}), workspace=tmp_path / "ws")


def test_missing_group_label_names_label_count_and_keys(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(120, labels=lambda i, c: {"topic": f"t{i % 5}"}))
    with pytest.raises(
        ConfigError,
        match=r"split.group_label 'event' is missing on all 120 posts with target 'label'; "
        r"label keys in this workspace: \['label', 'topic'\]",
    ):
        run_train(_config(key, tmp_path, split={"strategy": "group"}), workspace=tmp_path / "ws")


def test_partly_missing_group_label_is_counted_and_each_such_post_its_own_group(tmp_path, label_workspace):
    key = label_workspace(
        tmp_path / "ws", _posts(200, labels=lambda i, c: {} if i % 10 == 0 else {"event": f"e{i % 9}"})
    )
    report = run_train(_config(key, tmp_path, split={"strategy": "group"}), workspace=tmp_path / "ws")
    assert report["split"]["notes"]["posts without group label 'event' (each its own group)"] == 20


def test_group_split_that_would_leave_one_class_in_training_says_which(tmp_path, label_workspace):
    """Each event holds one class: the error names the class (this message used to raise IndexError)."""

    def event(i, cls):
        return {"event": f"e{cls}"}

    key = label_workspace(tmp_path / "ws", _posts(150, n_classes=2, labels=event))
    with pytest.raises(ConfigError, match=r"one class only in training \('(real|fake)' of \['fake', 'real'\]\)"):
        run_train(_config(key, tmp_path, split={"strategy": "group", "val_size": 0.0}), workspace=tmp_path / "ws")


def test_binary_positive_class_default_is_the_rarer_and_can_be_set(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(300, n_classes=2, seed=3))
    ws = tmp_path / "ws"
    data_counts = {"real": 0, "fake": 0}
    for p in _posts(300, n_classes=2, seed=3):
        data_counts[p["labels"]["label"]] += 1
    rarer = min(data_counts, key=data_counts.get)
    report = run_train(_config(key, tmp_path, split={"strategy": "stratified"}), workspace=ws)
    assert report["positive_class"] == rarer and report["test"]["positive_class"] == rarer
    other = ({"fake", "real"} - {rarer}).pop()
    chosen = run_train(_config(key, tmp_path, split={"strategy": "stratified"}, positive_class=other), workspace=ws)
    assert chosen["test"]["positive_class"] == other
    assert chosen["test"]["positive_f1"] == pytest.approx(chosen["test"]["per_class"][other]["f1"])
    with pytest.raises(ConfigError, match=r"positive_class 'hate' is not a class.*\['fake', 'real'\]"):
        run_train(_config(key, tmp_path, positive_class="hate"), workspace=ws)


@pytest.mark.parametrize(
    "strategy, kind",
    [("stratified", "stratified"), ("random", "plain"), ("group", "group"), ("author", "author"), ("time", "time")],
)
def test_cross_validation_kinds_mean_std_and_clean_validation(tmp_path, monkeypatch, strategy, kind, label_workspace):
    """Every kind reports mean and std per figure; each fold's validation rows are training rows of that
    fold, never held-out ones; grouped folds keep a group (event or author) on one side."""

    def extra(i, cls):
        return {"event": f"e{i % 13}"}

    posts = _posts(360, labels=extra)
    for i, p in enumerate(posts):  # several posts per day, 15 days
        p["created_at"] = START + timedelta(hours=i)
        p["author"] = f"a{i % 17}"
    key = label_workspace(tmp_path / "ws", posts)
    seen: list[tuple[set, set]] = []
    real_fit = trainer.fit

    def spy(config, train, val, **kw):
        seen.append((set(train.data.ids), set(val.data.ids)))
        return real_fit(config, train, val, **kw)

    monkeypatch.setattr(trainer, "fit", spy)
    report = run_train(
        _config(key, tmp_path, split={"strategy": strategy, "val_size": 0.15}), workspace=tmp_path / "ws", cv=3
    )
    cv = report["cv"]
    assert cv["kind"] == kind and cv["k"] == 3 and len(cv["folds"]) == 3
    for figure in ("macro_f1", "balanced_accuracy", "accuracy", "minority_recall"):
        assert 0 <= cv["mean"][figure] <= 1 and cv["std"][figure] >= 0
    assert set(cv["per_class"]) == set(CLASSES)
    fold_fits = seen[1:]  # the first fit is the single-split model
    assert len(fold_fits) == 3
    group_of = {f"s:{i:04d}": (f"e{i % 13}" if kind == "group" else f"a{i % 17}") for i in range(360)}
    held_out_all = set()
    for (train_ids, val_ids), fold in zip(fold_fits, cv["folds"]):
        everyone = {f"s:{i:04d}" for i in range(360)}
        held_out = everyone - train_ids - val_ids if kind != "time" else None
        assert val_ids and not train_ids & val_ids
        if held_out is not None:
            assert len(held_out) == fold["sizes"]["test"]
            assert not held_out & held_out_all
            held_out_all |= held_out
            if kind in ("group", "author"):
                assert not {group_of[p] for p in held_out} & {group_of[p] for p in train_ids | val_ids}
    if kind != "time":
        assert len(held_out_all) == 360  # every post held out exactly once
    else:
        sizes = [f["sizes"]["train"] for f in cv["folds"]]
        assert sizes == sorted(sizes)  # forward chaining: the training past grows


def test_cross_validation_of_a_column_split_uses_its_train_rows_only(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(300, labels=lambda i, c: {"split": "val" if i % 4 == 0 else "train"}))
    report = run_train(_config(key, tmp_path, split={"strategy": "column"}), workspace=tmp_path / "ws", cv=4)
    cv = report["cv"]
    assert cv["rows"] == 225 and cv["kind"] == "stratified"
    assert sum(f["sizes"]["test"] for f in cv["folds"]) == 225
    assert report["sizes"]["test"] == 75  # the file's val rows: never inside a fold


class _FakeEstimator:
    """Right on val posts for one method, right on test posts for another: shows where the choice is made."""

    def __init__(self, method, truth, good_on):
        self.method, self.truth, self.good_on, self.fit_seconds_ = method, truth, good_on, 0.0

    def predict(self, data):
        ids = data.ids
        right = self.good_on.get(self.method, set())
        return np.array([self.truth[p] if p in right else (self.truth[p] + 1) % 2 for p in ids])


def test_compare_imbalance_chooses_on_validation_and_scores_test_once(posts, monkeypatch):
    data, y = posts(n=200, n_classes=2)
    ids = data.ids
    truth = dict(zip(ids, y))
    full = TrainingSet(data=data, y=y, task="classification", classes=["a", "b"])
    train, val, test = full.subset(np.arange(120)), full.subset(np.arange(120, 160)), full.subset(np.arange(160, 200))
    good_on = {"under": set(ids[120:160]), "over": set(ids[160:200])}  # "under" wins val, "over" would win test
    monkeypatch.setattr(
        trainer, "fit", lambda config, tr, va, imbalance=None: _FakeEstimator(imbalance, truth, good_on)
    )
    config = parse_config({"model": {"kind": "logreg"}})
    result = train_pipeline.compare_imbalance_methods(config, train, val, test)
    assert result["chosen"] == "under" and result["chosen_on"] == "val macro_f1"
    assert all(set(entry) == {"val", "train_seconds", "warnings"} for entry in result["methods"].values())
    assert result["methods"]["under"]["val"]["macro_f1"] == 1.0
    assert result["test_of_chosen"]["macro_f1"] == 0.0  # reported honestly, not replaced by the best test figure
    with pytest.raises(ConfigError, match=r"chooses a method on validation.*val_size"):
        train_pipeline.compare_imbalance_methods(config, train, full.subset(np.array([], int)), test)


def test_lightgbm_that_stops_at_one_tree_is_refitted_and_the_report_warns(posts):
    """Validation whose labels contradict training: early stopping keeps one tree (the class prior)."""
    data, y = posts(n=500, n_classes=2, seed=2)
    y = y.copy()
    times = np.arange(500, dtype=float) * 3600
    y[350:400] = 1 - y[350:400]  # the validation period (70-80%) says the opposite of training
    full = TrainingSet(data=data, y=y, task="classification", classes=["no", "yes"], times=times)
    config = parse_config(
        {
            "model": {"kind": "lightgbm", "n_estimators": 60},
            "num_threads": 1,
            "split": {"strategy": "time", "time_boundary": "timestamp"},
        }
    )
    report = train_from_config(config, full)
    assert any("early stopping found the best validation loss after" in w for w in report["warnings"])
    assert report["epochs_run"] == 60
    assert report["test"]["macro_f1"] > 0.7  # the refitted model separates the classes on test


def test_cli_train_prints_names_figures_and_cv(tmp_path, label_workspace, monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    from postlens.serve import cli
    from postlens.serve.cli import app

    monkeypatch.setattr(cli, "console", Console(width=200))  # a wide terminal: rows are not wrapped

    key = label_workspace(tmp_path / "ws", _posts(300, labels=lambda i, c: {"split": "dev" if i % 4 == 0 else "train"}))
    config = tmp_path / "train.yaml"
    config.write_text(
        f"target: label\nfeatures: {{modalities: {{text: '{key}'}}}}\nsplit: {{strategy: column}}\n"
        "model: {kind: logreg}\nnum_threads: 1\n"
    )
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--cv", "3", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "held-out: the split column's val rows" in out and "sadness" in out and "true \\ predicted" in out
    assert "3 stratified folds over the split column's train rows (225 posts)" in out and "+-" in out
    assert "predictions_test.parquet" in out
    refused = CliRunner().invoke(app, ["train", "--config", str(config), "--cv", "1", "-w", str(tmp_path / "ws")])
    assert refused.exit_code == 2 and "--cv" in refused.output
