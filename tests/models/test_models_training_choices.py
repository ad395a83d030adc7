"""Training a data scientist expects: train on a subset (``where``), baseline hyper-parameters chosen
on the validation side only (never the held-out side), epochs that suit the model kind."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from postlens.errors import ConfigError
from postlens.models import trainer
from postlens.models.baselines import BaselineModel
from postlens.models.config import TUNED_DEFAULTS, parse_config
from postlens.models.data import TrainingSet
from postlens.models.inputs import PostData
from postlens.pipeline.train import run_train, train_from_config
from postlens.serve.render_train import print_train_report

CLASSES = ["anger", "joy", "sadness"]


def _posts(n: int, *, seed: int = 0) -> list[dict]:
    """Posts whose 8-d text vector carries the class; label ``keep`` on every third post."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 8)) * 1.5
    out = []
    for i in range(n):
        cls = int(rng.integers(0, 3))
        labels = {"label": CLASSES[cls]} | ({"keep": "yes"} if i % 3 == 0 else {})
        out.append({"labels": labels, "vector": centres[cls] + rng.normal(size=8)})
    return out


def _config(key: str, tmp_path, **settings) -> object:
    base = {"name": "m", "target": "label", "features": {"modalities": {"text": key}, "metadata": False},
            "split": {"strategy": "stratified"}, "model": {"kind": "logreg"}, "output": str(tmp_path / "model"),
            "num_threads": 1}
    for name, value in settings.items():
        base[name] = {**base.get(name, {}), **value} if isinstance(value, dict) else value
    return parse_config(base)


# ---------------------------------------------------------------------------------------------- where


def test_where_trains_on_the_posts_it_picks_and_the_model_folder_records_it(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(450))
    report = run_train(_config(key, tmp_path, where="labels['keep'] = 'yes'"), workspace=tmp_path / "ws")
    assert report["where"] == {"where": "labels['keep'] = 'yes'", "posts_matching": 150, "posts_in_workspace": 450,
                               "posts_labelled": 150}
    assert sum(report["sizes"].values()) == 150
    predicted = {r for side in ("val", "test") for r in _ids(tmp_path / "model" / f"predictions_{side}.parquet")}
    assert predicted and all(int(p.split(":")[1]) % 3 == 0 for p in predicted)  # only picked posts took part
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["trained_on"]["where"] == "labels['keep'] = 'yes'" and info["trained_on"]["posts_matching"] == 150
    assert json.loads((tmp_path / "model" / "config.json").read_text())["where"] == "labels['keep'] = 'yes'"
    console = Console(record=True, width=140)
    print_train_report(console, report)
    assert "where \"labels['keep'] = 'yes'\": 150 of 450 posts match" in console.export_text()


def _ids(path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(path).column("post_id").to_pylist()


@pytest.mark.parametrize("where, message", [
    ("1 = 1; DROP TABLE posts", "may not contain ';'"),
    ("id IN (SELECT id FROM read_csv('/etc/passwd'))", None),  # refused when run: no table functions
    ("", "empty"),
])
def test_a_where_that_is_more_than_a_condition_is_refused(tmp_path, label_workspace, where, message):
    key = label_workspace(tmp_path / "ws", _posts(60))
    if message is not None:
        with pytest.raises(ConfigError, match=f"where.*{message}"):
            _config(key, tmp_path, where=where)
        return
    with pytest.raises(ConfigError, match="read_csv"):
        run_train(_config(key, tmp_path, where=where), workspace=tmp_path / "ws")


def test_a_where_matching_nothing_or_naming_an_unknown_column_says_so(tmp_path, label_workspace):
    key = label_workspace(tmp_path / "ws", _posts(60))
    with pytest.raises(ConfigError, match="matches none of the 60 posts"):
        run_train(_config(key, tmp_path, where="labels['keep'] = 'never'"), workspace=tmp_path / "ws")
    with pytest.raises(ConfigError, match="posts has columns: id, "):
        run_train(_config(key, tmp_path, where="no_such_column > 1"), workspace=tmp_path / "ws")


# ---------------------------------------------------------------------------------------------- tuning


def _column_set(n: int = 600, *, seed: int = 0, noise_dims: int = 60) -> TrainingSet:
    """Three classes in 4 informative + many noise dimensions (strong regularisation pays off);
    sides train / val / test in the ``column`` group."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, 4)) * 0.9
    x = np.hstack([centres[y] + rng.normal(size=(n, 4)), rng.normal(size=(n, noise_dims))]).astype(np.float32)
    sides = np.array(["train"] * (n // 2) + ["val"] * (n // 4) + ["test"] * (n - n // 2 - n // 4), object)
    data = PostData(modalities={"text": x}, masks={"text": np.ones(n, bool)}, meta=np.zeros((n, 0), np.float32),
                    ids=[f"p{i}" for i in range(n)])
    return TrainingSet(data=data, y=y, task="classification", classes=CLASSES,
                       groups={"column": sides}, times=np.arange(n, dtype=float))


def _tuning_config(**model) -> object:
    return parse_config({"target": "label", "split": {"strategy": "column"}, "num_threads": 1,
                         "model": {"kind": "logreg", **model}})


def test_c_is_chosen_on_validation_and_never_sees_a_held_out_row(monkeypatch):
    data = _column_set()
    test_ids = {i for i, side in zip(data.data.ids, data.groups["column"]) if side == "test"}
    val_ids = {i for i, side in zip(data.data.ids, data.groups["column"]) if side == "val"}
    seen: dict[str, set[str]] = {"fit": set(), "predict": set()}
    tuning = {"on": False}
    original_choose, original_fit, original_predict = trainer.choose, BaselineModel.fit, BaselineModel.predict

    def choose(*args, **kwargs):
        tuning["on"] = True
        try:
            return original_choose(*args, **kwargs)
        finally:
            tuning["on"] = False

    def fit(self, X, y=None, **params):
        if tuning["on"]:
            seen["fit"] |= set(X.ids) | set(params["val"][0].ids if params.get("val") else ())
        return original_fit(self, X, y, **params)

    def predict(self, X, *args, **kwargs):
        if tuning["on"]:
            seen["predict"] |= set(X.ids)
        return original_predict(self, X, *args, **kwargs)

    monkeypatch.setattr(trainer, "choose", choose)
    monkeypatch.setattr(BaselineModel, "fit", fit)
    monkeypatch.setattr(BaselineModel, "predict", predict)
    report = train_from_config(_tuning_config(), data)
    assert seen["fit"] and not (seen["fit"] | seen["predict"]) & test_ids
    assert seen["predict"] == val_ids  # every candidate is scored on the validation rows, and only on them
    record = report["tuning"]
    assert record["chosen_on"] == "val macro_f1" and [c["params"]["C"] for c in record["candidates"]] == \
        parse_config({}).model.grid.C
    best = max(record["candidates"], key=lambda c: c["val"])["val"]
    first_best = next(c for c in record["candidates"] if c["val"] == best)
    assert record["chosen"] == {"C": first_best["params"]["C"]}  # ties: the earlier, more regularised C
    assert report["val"]["macro_f1"] == pytest.approx(best)


def test_the_held_out_side_cannot_change_the_choice():
    data = _column_set(seed=3)
    test = data.groups["column"] == "test"
    scrambled = TrainingSet(data=PostData(modalities={"text": data.data.modalities["text"].copy()},
                                          masks=data.data.masks, meta=data.data.meta, ids=data.data.ids),
                            y=data.y.copy(), task=data.task, classes=data.classes, groups=data.groups, times=data.times)
    rng = np.random.default_rng(9)
    scrambled.data.modalities["text"][test] = rng.normal(size=(int(test.sum()), 64)) * 5
    scrambled.y[test] = rng.integers(0, 3, int(test.sum()))
    first, second = (train_from_config(_tuning_config(), d) for d in (data, scrambled))
    assert first["tuning"] == _without_seconds(second["tuning"], first["tuning"])
    assert first["test"]["macro_f1"] != second["test"]["macro_f1"]  # the held-out side did change


def _without_seconds(record: dict, like: dict) -> dict:
    """``record`` with the timings of ``like`` (fit times differ run to run)."""
    out = dict(record)
    out["candidates"] = [{**c, "seconds": o["seconds"]} for c, o in zip(record["candidates"], like["candidates"])]
    return out


def test_tuning_helps_where_regularisation_matters():
    data = _column_set(n=400, noise_dims=200, seed=1)
    tuned = train_from_config(_tuning_config(), data)
    fixed = train_from_config(_tuning_config(tune=False), data)
    assert fixed["tuning"]["chosen"] == {"C": TUNED_DEFAULTS["C"]} and fixed["tuning"]["candidates"] == []
    assert fixed["tuning"]["note"] == "model.tune is false"
    assert tuned["tuning"]["chosen"]["C"] < 1.0
    assert tuned["val"]["macro_f1"] >= fixed["val"]["macro_f1"]


def test_a_value_set_in_the_config_is_fixed_and_the_grid_can_be_replaced():
    data = _column_set(n=300)
    fixed = train_from_config(_tuning_config(C=0.5), data)
    assert fixed["tuning"]["chosen"] == {"C": 0.5} and fixed["tuning"]["candidates"] == []
    small = train_from_config(_tuning_config(grid={"C": [0.01, 100]}), data)
    assert [c["params"] for c in small["tuning"]["candidates"]] == [{"C": 0.01}, {"C": 100}]
    with pytest.raises(ConfigError, match="grid values must be above 0"):
        _tuning_config(grid={"C": [0, 1]})
    with pytest.raises(ConfigError, match="unknown key 'model.grid.leaves'"):
        _tuning_config(grid={"leaves": [3]})


def test_lightgbm_leaves_are_tuned_per_combination_and_early_stopping_uses_validation():
    data = _column_set(n=300, noise_dims=8)
    report = train_from_config(_tuning_config(kind="lightgbm", n_estimators=40,
                                              grid={"num_leaves": [4, 16], "min_child_samples": [5, 30]}), data)
    record = report["tuning"]
    assert [c["params"] for c in record["candidates"]] == [
        {"num_leaves": 4, "learning_rate": 0.05, "min_child_samples": 5},
        {"num_leaves": 4, "learning_rate": 0.05, "min_child_samples": 30},
        {"num_leaves": 16, "learning_rate": 0.05, "min_child_samples": 5},
        {"num_leaves": 16, "learning_rate": 0.05, "min_child_samples": 30}]
    assert record["chosen"] in [c["params"] for c in record["candidates"]]
    assert all(1 <= c["rounds"] <= 40 for c in record["candidates"])


def test_without_a_validation_side_nothing_is_tuned_and_the_report_says_why():
    data = _column_set(n=300)
    data.groups["column"] = np.where(data.groups["column"] == "val", "train", data.groups["column"])
    config = parse_config({"target": "label", "split": {"strategy": "column", "val_size": 0}, "num_threads": 1,
                           "model": {"kind": "logreg"}})
    report = train_from_config(config, data)
    assert report["tuning"]["note"] == "no validation side (split.val_size is 0)"
    assert report["tuning"]["chosen"] == {"C": 1.0} and report["sizes"]["val"] == 0


def test_regression_is_tuned_on_spearman():
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 30)).astype(np.float32)
    values = x[:, 0] * 2 + rng.normal(size=n)
    data = PostData(modalities={"text": x}, masks={"text": np.ones(n, bool)}, meta=np.zeros((n, 0), np.float32))
    train, val = (TrainingSet(data=data.subset(np.arange(a, b)), y=values[a:b], task="regression")
                  for a, b in ((0, 200), (200, 300)))
    model = trainer.fit(_tuning_config(), train, val)
    assert model.tuning_["chosen_on"] == "val spearman" and len(model.tuning_["candidates"]) == 13


def test_cross_validation_tunes_inside_each_fold():
    data = _column_set(n=450)
    report = train_from_config(_tuning_config(grid={"C": [0.01, 1.0]}), data, folds=3)
    assert all(set(f["tuned"]) == {"C"} for f in report["cv"]["folds"])


# ---------------------------------------------------------------------------------------------- epochs


def test_epochs_default_per_kind_and_a_set_value_wins():
    assert parse_config({"model": {"kind": "fusion"}}).model.resolved_epochs == 30
    assert parse_config({"model": {"kind": "finetune"}}).model.resolved_epochs == 3
    assert parse_config({"model": {"kind": "finetune", "epochs": 7}}).model.resolved_epochs == 7
    assert trainer.build_estimator(parse_config({"model": {"kind": "finetune"}}), "classification").epochs == 3
    assert trainer.build_estimator(parse_config({"model": {"kind": "fusion"}}), "classification").epochs == 30
    with pytest.raises(ConfigError, match="model.epochs"):
        parse_config({"model": {"epochs": 0}})


def test_min_epochs_keeps_fusion_from_stopping_before_it():
    config = parse_config({"model": {"kind": "fusion", "patience": 2, "min_epochs": 8}})
    assert trainer.build_estimator(config, "classification").patience == 8


def test_the_report_shows_the_grid_and_the_choice():
    report = train_from_config(_tuning_config(grid={"C": [0.01, 1.0]}), _column_set(n=300))
    console = Console(record=True, width=140)
    print_train_report(console, report)
    text = console.export_text()
    assert "hyper-parameters chosen on validation (val macro_f1; the held-out side takes no part)" in text
    chosen = f"{report['tuning']['chosen']['C']:g}"
    assert any(line.split()[:1] == [chosen] and line.rstrip().endswith("chosen") for line in text.splitlines())
    fixed = train_from_config(_tuning_config(tune=False), _column_set(n=300))
    console = Console(record=True, width=140)
    print_train_report(console, fixed)
    assert "hyper-parameters fixed (model.tune is false): C 1" in console.export_text()


def test_fusion_keeping_an_early_epoch_is_said_with_the_validation_size():
    from postlens.pipeline.train import early_best_warning

    config = parse_config({"model": {"kind": "fusion"}})
    said = early_best_warning(config, {"best": 2, "run": 7, "max": 30}, 326)
    assert len(said) == 1 and "epoch 2 of the 7 it ran" in said[0] and "326 validation posts" in said[0]
    assert early_best_warning(config, {"best": 5, "run": 10, "max": 30}, 326) == []
    assert early_best_warning(parse_config({"model": {"kind": "finetune"}}), {"best": 1, "run": 3, "max": 3}, 9) == []
