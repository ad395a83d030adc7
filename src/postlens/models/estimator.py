"""PostlensEstimator: the scikit-learn contract every postlens model keeps.

``__init__`` only stores its keyword arguments (they are the config, so ``get_params``,
``set_params`` and ``clone`` work), learned state ends in ``_``, ``fit`` returns ``self``. Like
scikit-learn's ``_SetOutputMixin``, which wraps a subclass's ``transform`` in ``__init_subclass__``,
this base wraps each subclass's own public methods once, so a model is written in its own terms
(``PostData`` in, class indices out) while callers get scikit-learn's:

    fit(X, y, classes=None, **fit_params)
        X -> ``as_post_data(X)`` (a DataFrame from ``ws.features``, an array, PostData); for
        classification y holds labels of any kind: ``classes_`` keeps them, with the labels of
        ``val=(X, y, ...)`` and ``classes`` (labels y may lack), and the model sees indices into it. Runs with
        ``num_threads`` threads (``limited_threads``) and, for torch models, a forked, seeded
        torch RNG (``isolated_torch_rng``): the process's threads, RNG and environment come back
        unchanged.
    predict / predict_proba / decision_function / predict_value (X)
        NotFittedError before ``fit``; X converted and checked against the blocks the model was
        fitted on; ``predict`` gives labels from ``classes_``, ``predict_proba`` one column per class.
    save(folder) / load(folder)
        also keep ``classes_`` (``estimator.json``).

A call a model makes to its own public method while inside one (fusion's early stopping scores
validation with ``self.predict``) goes straight to the model's code: PostData in, indices out.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from contextlib import ExitStack
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.validation import check_is_fitted

from postlens.models.inputs import PostData, as_post_data
from postlens.models.threads import limited_threads, resolve_threads

ESTIMATOR_FILE = "estimator.json"
PREDICTING = ("predict", "predict_proba", "decision_function", "predict_value")
_INSIDE: ContextVar[frozenset[int]] = ContextVar("postlens_estimator_calls", default=frozenset())


class PostlensEstimator(BaseEstimator):
    """Base of BaselineModel, FusionModel, StudentModel, FineTunedTextModel (see the module docstring).

    Subclasses take ``seed`` and ``num_threads`` (None: ``resolve_threads``) and may take ``task``
    ("classification", "multilabel", "regression"; classification when absent).
    """

    uses_torch: ClassVar[bool] = True
    """Torch models get torch's thread count and a forked, seeded RNG around ``fit``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "fit" in own:
            cls.fit = _public_fit(own["fit"])
        for name in PREDICTING:
            if name in own:
                setattr(cls, name, _public_predict(own[name], name))
        if "save" in own:
            cls.save = _public_save(own["save"])
        if isinstance(own.get("load"), classmethod):
            cls.load = _public_load(own["load"].__func__)

    # ------------------------------------------------------------------ scikit-learn

    def _task(self) -> str:
        return str(getattr(self, "task", "classification"))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a NaN row in a block = the post lacks that modality
        tags.target_tags.required = True
        if self._task() == "regression":
            tags.estimator_type, tags.classifier_tags, tags.regressor_tags = "regressor", None, RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_label=self._task() == "multilabel")
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classifiers (subset accuracy for multi-label), R^2 for regression: scikit-learn's defaults."""
        from sklearn.metrics import accuracy_score, r2_score

        predicted = self.predict(X)
        if self._task() == "regression":
            return float(r2_score(y, predicted, sample_weight=sample_weight))
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

    # ------------------------------------------------------------------ the wrapped calls

    def _fit_public(self, raw: Callable[..., Any], X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        data = as_post_data(X)
        task = self._task()
        val = fit_params.get("val")
        target, classes = prepare_targets(
            y, task, fit_params.pop("classes", None), len(data), also=None if val is None else val[1]
        )
        if val is not None:
            val_y = np.asarray(val[1])
            if classes is not None and task == "classification":
                val_y = encode_labels(val_y, classes, what="val labels")
            fit_params["val"] = (as_post_data(val[0]), val_y, *val[2:])
        self.__dict__.pop("classes_", None)
        if classes is not None:
            self.classes_ = classes
        try:
            with ExitStack() as scope:
                scope.enter_context(limited_threads(self._threads(), torch_too=self.uses_torch))
                if self.uses_torch:
                    from postlens.models.torch_utils import isolated_torch_rng

                    scope.enter_context(isolated_torch_rng(int(getattr(self, "seed", 0))))
                raw(self, data, target, **fit_params)
        except BaseException:
            self.__dict__.pop("classes_", None)
            raise

    def _predict_public(
        self, raw: Callable[..., Any], name: str, X: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        check_is_fitted(self)
        data = as_post_data(X)
        self._check_blocks(data)
        with limited_threads(self._threads(), torch_too=self.uses_torch):
            out = raw(self, data, *args, **kwargs)
        classes = getattr(self, "classes_", None)
        if classes is None or self._task() != "classification":
            return out
        if name == "predict":
            return np.asarray(classes)[np.asarray(out, dtype=np.int64)]
        if name == "predict_proba" and np.ndim(out) == 2 and out.shape[1] < len(classes):
            # a model trained without the last classes (absent from y) gives them probability 0
            return np.pad(out, ((0, 0), (0, len(classes) - out.shape[1])))
        return out

    def _threads(self) -> int:
        return resolve_threads(getattr(self, "num_threads", None))

    def _check_blocks(self, data: PostData) -> None:
        """X must hold every feature block the model was fitted on, as wide, and as many metadata columns."""
        dims: dict[str, int] = getattr(self, "dims_", None) or {}
        missing = [m for m in dims if m not in data.modalities]
        wrong = [
            f"{m} has {data.dims[m]} columns, not {d}"
            for m, d in dims.items()
            if m in data.modalities and data.dims[m] != d
        ]
        if missing or wrong:
            raise ValueError(
                f"X does not match the features this model was fitted on ({dims}): "
                + "; ".join([f"no block {m!r}" for m in missing] + wrong)
                + f". X has blocks {data.dims}"
            )
        meta_names = getattr(self, "meta_names_", None)
        if meta_names is not None and data.meta.shape[1] != len(meta_names):
            raise ValueError(
                f"X has {data.meta.shape[1]} metadata columns ({data.meta_names}); the model was fitted "
                f"on {len(meta_names)} ({meta_names})"
            )


def prepare_targets(
    y: Any, task: str, classes: Any, n: int, *, also: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(what the model trains on, ``classes_`` or None): class indices for classification.

    ``classes_``: ``classes`` when given (every label must be one), else the labels of ``y`` and
    ``also`` (validation labels: a class seen only there still gets an output, as it did when
    models took class indices)."""
    if y is None:
        raise ValueError("fit needs y: one label (or value) per post")
    values = np.asarray(y)
    if len(values) != n:
        raise ValueError(f"X has {n} posts but y has {len(values)} values")
    if task == "regression":
        return values.astype(np.float64), None
    if task == "multilabel":
        if values.ndim != 2:
            raise ValueError("multilabel y is a 0/1 matrix (posts x labels); sklearn's MultiLabelBinarizer makes one")
        return values, np.arange(values.shape[1])
    if values.ndim != 1:
        raise ValueError(f"y must hold one label per post (1-D), got shape {values.shape}")
    _refuse_missing(values)
    found = np.unique(values if also is None or not len(also) else np.concatenate([values, np.asarray(also)]))
    known = found if classes is None else np.asarray(classes)
    if classes is not None and len(np.unique(known)) != len(known):
        raise ValueError(f"classes has repeated labels: {list(known)}")
    return encode_labels(values, known, what="y"), known


def encode_labels(y: Any, classes: np.ndarray, *, what: str) -> np.ndarray:
    """Indices of ``y``'s labels in ``classes``; a label not in ``classes`` is an error naming it."""
    values = np.asarray(y)
    _refuse_missing(values)
    lookup = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
    unknown = sorted({str(v) for v in values.tolist() if v not in lookup})
    if unknown:
        raise ValueError(
            f"{what} has labels that are not classes of this fit: {unknown[:8]}; classes: "
            f"{list(np.asarray(classes).tolist())[:20]} (pass fit(..., classes=[...]) to add some)"
        )
    return np.array([lookup[v] for v in values.tolist()], dtype=np.int64)


def _refuse_missing(values: np.ndarray) -> None:
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values.tolist()], bool)
    else:
        return
    if missing.any():
        raise ValueError(
            f"y has {int(missing.sum())} missing labels (first at row {int(np.flatnonzero(missing)[0])}); "
            "keep labelled posts only, e.g. posts[posts['label.topic'].notna()]"
        )


def _guarded(method: Callable[..., Any], public: Callable[..., Any]) -> Callable[..., Any]:
    """``public`` for an outside call; ``method`` itself for a call from inside one of this object's calls."""

    @functools.wraps(method)
    def call(self: PostlensEstimator, X: Any = None, *args: Any, **kwargs: Any) -> Any:
        inside = _INSIDE.get()
        if id(self) in inside:
            return method(self, X, *args, **kwargs)
        token = _INSIDE.set(inside | {id(self)})
        try:
            return public(self, X, *args, **kwargs)
        finally:
            _INSIDE.reset(token)

    return call


def _public_fit(raw: Callable[..., Any]) -> Callable[..., Any]:
    def fit(self: PostlensEstimator, X: Any, y: Any = None, **fit_params: Any) -> PostlensEstimator:
        self._fit_public(raw, X, y, fit_params)
        return self

    return _guarded(raw, fit)


def _public_predict(raw: Callable[..., Any], name: str) -> Callable[..., Any]:
    def predict(self: PostlensEstimator, X: Any, *args: Any, **kwargs: Any) -> Any:
        return self._predict_public(raw, name, X, args, kwargs)

    return _guarded(raw, predict)


def _public_save(raw: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(raw)
    def save(self: PostlensEstimator, folder: Path) -> None:
        raw(self, folder)
        classes = getattr(self, "classes_", None)
        if classes is not None:
            (Path(folder) / ESTIMATOR_FILE).write_text(json.dumps({"classes": np.asarray(classes).tolist()}, indent=2))

    return save


def _public_load(raw: Callable[..., Any]) -> classmethod:
    @functools.wraps(raw)
    def load(cls: type[PostlensEstimator], folder: Path) -> PostlensEstimator:
        model = raw(cls, folder)
        state = Path(folder) / ESTIMATOR_FILE
        if state.exists():  # folders saved before classes_ existed predict class indices, as they did
            model.classes_ = np.asarray(json.loads(state.read_text())["classes"])
        return model

    return classmethod(load)
