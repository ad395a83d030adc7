"""Every postlens estimator keeps scikit-learn's contract, reads X from DataFrames, and leaves the process as it found it."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from postlens.models.baselines import BaselineModel
from postlens.models.config import TrainConfig
from postlens.models.distill import StudentModel
from postlens.models.finetune import FineTunedTextModel
from postlens.models.fusion import FusionModel
from postlens.models.inputs import PostData, as_post_data
from postlens.models.sgd import StreamedLinearModel
from postlens.models.threads import THREADS_ENV, available_cores, limited_threads, resolve_threads

FAST_FUSION = {"epochs": 3, "width": 16, "batch_size": 64, "patience": 10}
ESTIMATORS = [
    BaselineModel(C=0.5),
    BaselineModel(kind="lightgbm", n_estimators=15, task="classification"),
    FusionModel(width=16, epochs=2, fusion="concat"),
    StudentModel(modalities=["text"], hidden=8),
    FineTunedTextModel(epochs=1, batch_size=4),
    StreamedLinearModel(batch_size=32, epochs=3),
]
IDS = [type(e).__name__ + ("-" + e.kind if isinstance(e, BaselineModel) else "") for e in ESTIMATORS]


def as_frame(data: PostData) -> pd.DataFrame:
    """The DataFrame a notebook would pass for ``data``: blocks ``<name>.<i>`` (NaN where absent) and metadata,
    in ``data``'s block order (the fusion network builds one encoder per block in that order)."""
    parts = []
    for name in data.modalities:
        block = data.modalities[name].astype(np.float64)
        block[~data.masks[name]] = np.nan
        parts.append(pd.DataFrame(block, columns=[f"{name}.{i}" for i in range(block.shape[1])]))
    parts.append(pd.DataFrame(data.meta, columns=data.meta_names))
    frame = pd.concat(parts, axis=1)
    frame.index = pd.Index(data.ids, name="post_id")
    return frame


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_constructor_only_stores_params_and_clone_round_trips(estimator):
    params = estimator.get_params(deep=True)
    assert set(vars(estimator)) == set(params)  # nothing computed or validated in __init__
    twin = clone(estimator)
    assert twin is not estimator and twin.get_params(deep=True) == params
    changed = clone(estimator).set_params(seed=7)
    assert changed.get_params()["seed"] == 7 and estimator.get_params()["seed"] == params["seed"]
    assert clone(changed).get_params() == changed.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        clone(estimator).set_params(not_a_param=1)
    assert is_classifier(estimator)
    with pytest.raises(NotFittedError):
        clone(estimator).predict(np.zeros((2, 3)))
    assert type(estimator).__name__ in repr(estimator)


def test_task_decides_classifier_or_regressor():
    assert is_regressor(BaselineModel(task="regression")) and not is_classifier(BaselineModel(task="regression"))
    assert is_regressor(FusionModel(task="regression"))
    assert is_classifier(FusionModel(task="multilabel"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: BaselineModel(num_threads=1),
        lambda: BaselineModel(kind="lightgbm", n_estimators=20, num_threads=1),
        lambda: FusionModel(num_threads=1, **FAST_FUSION),
        lambda: StreamedLinearModel(num_threads=1, batch_size=16),
    ],
    ids=["logreg", "lightgbm", "fusion", "sgd"],
)
def test_fit_returns_self_learns_only_underscore_attributes_and_speaks_labels(make, posts):
    data, y = posts(n=240)
    labels = np.array(["cats", "dogs", "eels"])[y]
    model = make()
    before = set(vars(model))
    assert model.fit(data, labels) is model
    learnt = set(vars(model)) - before
    assert learnt and all(name.endswith("_") for name in learnt)
    assert list(model.classes_) == ["cats", "dogs", "eels"]
    predicted = model.predict(data)
    assert set(predicted) <= set(model.classes_) and (predicted == labels).mean() > 0.7
    assert model.predict_proba(data).shape == (240, 3)
    assert model.score(data, labels) == pytest.approx((predicted == labels).mean())


def test_a_dataframe_and_the_postdata_it_shows_predict_alike(posts):
    data, y = posts(n=200)
    frame = as_frame(data)
    converted = as_post_data(frame)
    assert converted.ids == data.ids and converted.meta_names == data.meta_names
    for name in data.modalities:
        assert np.array_equal(converted.masks[name], data.masks[name])
        assert np.allclose(converted.modalities[name], data.modalities[name] * data.masks[name][:, None])
    for make in (lambda: BaselineModel(num_threads=1), lambda: FusionModel(num_threads=1, **FAST_FUSION)):
        from_arrays, from_frame = make().fit(data, y), make().fit(frame, y)
        assert np.allclose(from_arrays.predict_proba(data), from_frame.predict_proba(frame), atol=1e-5)
        assert np.allclose(from_arrays.predict_proba(data), from_arrays.predict_proba(frame), atol=1e-6)


def test_converter_refuses_what_it_cannot_read_and_says_where():
    frame = pd.DataFrame(
        {"t.0": [1.0, np.nan, np.nan], "t.1": [2.0, 3.0, np.nan], "likes": [1, 2, 3]},
        index=pd.Index(["a", "b", "c"], name="post_id"),
    )
    with pytest.raises(ValueError, match=r"post 'b': its 't' block is partly NaN"):
        as_post_data(frame)
    frame.loc["b", "t.0"] = 0.5
    data = as_post_data(frame)
    assert data.masks["t"].tolist() == [True, True, False] and data.meta_names == ["likes"]
    assert data.modalities["t"][2].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"metadata column 'likes' is NaN for 1 posts \(e.g. post 'c'\)"):
        as_post_data(frame.assign(likes=[1.0, 2.0, np.nan]))
    with pytest.raises(ValueError, match=r"non-numeric columns \['when'\]"):
        as_post_data(frame.assign(when=pd.Timestamp("2024-01-01")))
    array = as_post_data(np.array([[1.0, 2.0], [np.nan, np.nan]]))
    assert array.masks["x"].tolist() == [True, False]
    texts = as_post_data(pd.Series(["hello", None], index=["p1", "p2"]))
    assert texts.texts == ["hello", ""] and texts.ids == ["p1", "p2"]


def test_predict_refuses_x_without_the_fitted_blocks(posts):
    data, y = posts(n=120)
    model = BaselineModel(num_threads=1).fit(as_frame(data), y)
    with pytest.raises(ValueError, match=r"no block 'image'"):
        model.predict(as_frame(data).drop(columns=[c for c in as_frame(data) if c.startswith("image.")]))


def test_pipeline_and_grid_search_over_postlens_estimators(posts):
    data, y = posts(n=300)
    frame, labels = as_frame(data), np.array(["neg", "neu", "pos"])[y]
    search = GridSearchCV(BaselineModel(num_threads=1), {"C": [0.001, 1.0]}, cv=3).fit(frame, labels)
    assert search.best_params_["C"] in (0.001, 1.0) and len(search.cv_results_["mean_test_score"]) == 2
    assert set(search.predict(frame)) <= {"neg", "neu", "pos"}
    fusion = FusionModel(num_threads=1, **{**FAST_FUSION, "epochs": 10})
    pipeline = make_pipeline(StandardScaler().set_output(transform="pandas"), fusion)
    fusion_search = GridSearchCV(pipeline, {"fusionmodel__width": [8, 16]}, cv=2).fit(frame, labels)
    assert fusion_search.best_estimator_.steps[-1][1].width in (8, 16)
    assert (fusion_search.predict(frame) == labels).mean() > 0.6  # three classes: chance is 1/3


def test_saved_models_keep_their_labels(posts, tmp_path):
    data, y = posts(n=150)
    labels = np.array(["a", "b", "c"])[y]
    models = [
        BaselineModel(num_threads=1),
        FusionModel(num_threads=1, **FAST_FUSION),
        StreamedLinearModel(num_threads=1),
    ]
    for index, model in enumerate(models):
        model.fit(data, labels)
        folder = tmp_path / str(index)
        folder.mkdir()
        model.save(folder)
        again = type(model).load(folder)
        assert list(again.classes_) == ["a", "b", "c"]
        assert np.array_equal(again.predict(data), model.predict(data))


def test_a_class_seen_only_in_validation_keeps_its_output(posts):
    data, y = posts(n=200)
    train, val = np.flatnonzero(y != 2), np.flatnonzero(y == 2)
    model = FusionModel(num_threads=1, **FAST_FUSION).fit(
        data.subset(train), y[train], val=(data.subset(val), y[val], None)
    )
    assert list(model.classes_) == [0, 1, 2] and model.predict_proba(data).shape == (200, 3)
    with pytest.raises(ValueError, match=r"y has 1 missing labels"):
        BaselineModel(num_threads=1).fit(data.subset(np.arange(3)), np.array(["a", None, "b"], object))


def _process_state() -> dict:
    import torch
    from threadpoolctl import threadpool_info

    return {
        "torch_threads": torch.get_num_threads(),
        "rng": torch.random.get_rng_state().clone(),
        "environ": dict(os.environ),
        "pools": [(p["filepath"], p["num_threads"]) for p in threadpool_info()],
    }


@pytest.mark.slow
def test_fit_and_predict_change_no_process_wide_state(posts):
    import torch
    import torch._dynamo  # torch's optimizers import it once per process, and it sets TORCHINDUCTOR_CACHE_DIR

    data, y = posts(n=160)
    data.texts = [f"a post about {['cats', 'dogs', 'eels'][c]} number {i}" for i, c in enumerate(y)]
    torch.set_num_threads(2)  # a count each model's num_threads=1 has to change and give back
    teacher = FusionModel(num_threads=1, **FAST_FUSION).fit(data, y)
    models = [
        (BaselineModel(num_threads=1), {}),
        (BaselineModel(kind="lightgbm", n_estimators=10, num_threads=1), {}),
        (FusionModel(num_threads=1, **FAST_FUSION), {}),
        (StudentModel(epochs=2, num_threads=1), {"teacher_logits": teacher.decision_function(data)}),
        (FineTunedTextModel(epochs=1, batch_size=16, num_threads=1), {}),
    ]
    for model, options in models:
        before = _process_state()
        model.fit(data, y, **options)
        model.predict(data)
        after = _process_state()
        name = type(model).__name__
        assert after["torch_threads"] == before["torch_threads"] == 2, name
        assert torch.equal(after["rng"], before["rng"]), f"{name} moved torch's global RNG"
        assert after["environ"] == before["environ"], f"{name} wrote the environment"
        assert after["pools"] == before["pools"], f"{name} left a BLAS/OpenMP pool resized"
    first = FusionModel(num_threads=1, seed=5, **FAST_FUSION).fit(data, y).predict_proba(data)
    torch.manual_seed(123)  # the global RNG does not decide a seeded fit
    assert np.array_equal(first, FusionModel(num_threads=1, seed=5, **FAST_FUSION).fit(data, y).predict_proba(data))


def test_limited_threads_sets_and_restores_every_pool():
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    outside = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    with limited_threads(1, torch_too=True):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before
    assert {p["filepath"]: p["num_threads"] for p in threadpool_info()} == outside


def test_thread_defaults_come_from_the_machine(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert resolve_threads(None) == available_cores() == len(os.sched_getaffinity(0))
    assert TrainConfig().num_threads is None and BaselineModel().num_threads is None
    assert StudentModel().num_threads is None and FineTunedTextModel().num_threads is None
    monkeypatch.setenv(THREADS_ENV, "3")
    assert resolve_threads(None) == 3 and resolve_threads(2) == 2
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ValueError, match=THREADS_ENV):
        resolve_threads(None)
    with pytest.raises(ValueError, match="num_threads"):
        resolve_threads(0)
