"""Text encoders fitted on the training posts (TF-IDF, Word2Vec) as feature blocks of a model.

Their vectors depend on the corpus they were fitted on, so they cannot live in the feature cache
the way MiniLM's do: ``postlens featurize`` would have to guess which posts to fit on, and a
vocabulary fitted on every post of the workspace would have seen the held-out side. Here they
are part of the model instead. ``FittedTextFeatures`` wraps any postlens estimator: ``fit`` fits
each encoder on the texts of the rows it trains on (never validation or held-out rows), adds one
block per encoder (``text:tfidf``) and fits the wrapped model; ``predict`` computes the same
blocks for new posts with the SAME fitted vocabulary and weights, which the model folder keeps
(``fitted_text/<encoder>.joblib``). In cross-validation each fold fits its own vocabulary.

A block's presence mask is True where the post has non-empty text. The encoders read the post's
own text (``PostData.texts``), not OCR or transcripts.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import cache_key
from postlens.errors import ConfigError
from postlens.models.config import FITTED_TEXT_ENCODERS
from postlens.models.estimator import PostlensEstimator
from postlens.models.inputs import PostData

FOLDER = "fitted_text"
STATE_FILE = "fitted_text.json"
_FACTORIES = {"tfidf": ("postlens.encoders.text.tfidf", "TfidfFeaturizer"),
              "word2vec": ("postlens.encoders.text.word2vec", "Word2VecFeaturizer")}
assert set(_FACTORIES) == set(FITTED_TEXT_ENCODERS)


def build_fitted_encoder(name: str, *, seed: int = 0) -> Any:
    """An unfitted TF-IDF / Word2Vec featurizer with postlens' settings (Word2Vec: one worker, seeded,
    so the same posts give the same vectors)."""
    if name not in _FACTORIES:
        raise ConfigError(f"{name!r} is not a fitted text encoder; known: {', '.join(FITTED_TEXT_ENCODERS)}")
    module, factory = _FACTORIES[name]
    cls = getattr(importlib.import_module(module), factory)
    return cls(seed=seed, workers=1) if name == "word2vec" else cls()


class FittedTextFeatures(PostlensEstimator):
    """``estimator`` trained on X's blocks plus one block per fitted text encoder (``encoders``:
    block name -> ``tfidf`` | ``word2vec``), fitted on the texts of the training rows.

    X must carry raw texts (PostData from the pipeline, or a DataFrame with a ``text`` column).
    Fitted attributes the wrapped model has (``epochs_run_``, ``tuning_``, ``history_``...) read
    through. ``dims_`` lists the blocks X must hold (the wrapped model's without the fitted ones).
    """

    uses_torch = False  # the wrapped model sets up its own threads and RNG in its own fit

    def __init__(self, *, estimator: Any = None, encoders: dict[str, str] | None = None, seed: int = 0,
                 num_threads: int | None = None) -> None:
        self.estimator, self.encoders, self.seed, self.num_threads = estimator, encoders, seed, num_threads

    def _task(self) -> str:
        return str(getattr(self.estimator, "task", "classification"))

    def __getattr__(self, name: str) -> Any:
        """Fitted attributes of the wrapped model (``tuning_``, ``epochs_run_``...) read through."""
        inner = self.__dict__.get("estimator_")
        if inner is not None and name.endswith("_") and not name.startswith("__"):
            return getattr(inner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def fit(self, X: PostData, y: np.ndarray, **fit_params: Any) -> FittedTextFeatures:
        from sklearn.base import clone

        if self.estimator is None or not self.encoders:
            raise ValueError("FittedTextFeatures needs estimator= (a postlens model) and encoders= (block -> tfidf | word2vec)")
        featurizers = fit_text_encoders(self.encoders, X, seed=self.seed)
        val = fit_params.get("val")
        if val is not None:
            fit_params["val"] = (with_text_blocks(featurizers, val[0], "validation"), *val[1:])
        classes = self.__dict__.get("classes_")  # set by PostlensEstimator.fit from y's labels
        if classes is not None and self._task() == "classification":
            fit_params["classes"] = np.arange(len(classes))  # the wrapped model sees indices into classes_
        inner = clone(self.estimator).fit(with_text_blocks(featurizers, X, "fit"), y, **fit_params)
        self._adopt(inner, featurizers)
        return self

    def _adopt(self, inner: Any, featurizers: dict[str, Any]) -> None:
        self.featurizers_, self.estimator_ = featurizers, inner
        self.dims_ = {m: d for m, d in inner.dims_.items() if m not in featurizers}
        self.meta_names_ = list(getattr(inner, "meta_names_", []))

    @classmethod
    def from_parts(cls, inner: Any, featurizers: dict[str, Any], *, encoders: dict[str, str], seed: int = 0,
                   num_threads: int | None = None) -> FittedTextFeatures:
        """The fitted wrapper of ``inner``, already fitted on blocks ``featurizers`` made from the
        training texts (how the trainer tries several baselines on one fit of TF-IDF)."""
        from sklearn.base import clone

        model = cls(estimator=clone(inner), encoders=dict(encoders), seed=seed, num_threads=num_threads)
        model._adopt(inner, featurizers)
        labels = inner.__dict__.get("classes_")
        if labels is not None:
            model.classes_ = labels
            if model._task() == "classification":
                inner.classes_ = np.arange(len(labels))  # inner's outputs index the wrapper's classes_
        return model

    def keys(self) -> dict[str, str]:
        """block -> ``name@version`` of each fitted encoder (the version hashes its vocabulary and weights)."""
        return {block: cache_key(featurizer) for block, featurizer in self.featurizers_.items()}

    def fitted_dims(self) -> dict[str, int]:
        return {block: int(featurizer.dim) for block, featurizer in self.featurizers_.items()}

    def predict(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict(with_text_blocks(self.featurizers_, X, "predict")))

    def predict_proba(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(with_text_blocks(self.featurizers_, X, "predict")))

    def decision_function(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.decision_function(with_text_blocks(self.featurizers_, X, "predict")))

    def predict_value(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict_value(with_text_blocks(self.featurizers_, X, "predict")))

    def save(self, folder: Path) -> None:
        """The wrapped model's own files, plus the fitted encoders and ``fitted_text.json``."""
        import joblib

        self.estimator_.save(folder)
        (folder / FOLDER).mkdir(exist_ok=True)
        files = {}
        for block, featurizer in self.featurizers_.items():
            name = (self.encoders or {})[block]  # each fitted encoder appears once per model (config validation)
            joblib.dump(featurizer, folder / FOLDER / f"{name}.joblib")
            files[block] = f"{FOLDER}/{name}.joblib"
        state = {"encoders": self.encoders, "seed": self.seed, "num_threads": self.num_threads, "files": files,
                 "keys": self.keys()}
        (folder / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, folder: Path) -> FittedTextFeatures:
        raise ConfigError(f"{folder}: load a model folder with postlens.models.artifact.load_model (it loads the "
                          "wrapped model first, then FittedTextFeatures.around)")

    @classmethod
    def around(cls, inner: Any, folder: Path) -> FittedTextFeatures:
        """The wrapper of an already loaded model, with the encoders saved beside it; a file whose
        vocabulary is not the one recorded at training is refused."""
        import joblib

        state = json.loads((Path(folder) / STATE_FILE).read_text())
        featurizers = {block: joblib.load(Path(folder) / path) for block, path in state["files"].items()}
        found = {block: cache_key(featurizer) for block, featurizer in featurizers.items()}
        changed = sorted(b for b, k in found.items() if k != state["keys"].get(b))
        if changed:
            raise ConfigError(f"{folder}: fitted text encoders {changed} are not the ones this model was trained "
                              f"with (recorded {[state['keys'].get(b) for b in changed]}, found "
                              f"{[found[b] for b in changed]}); the folder was altered: retrain the model")
        # estimator.json holds the wrapper's labels (written last), which the loaded model now carries
        return cls.from_parts(inner, featurizers, encoders=state["encoders"], seed=state["seed"],
                              num_threads=state["num_threads"])


def fit_text_encoders(encoders: dict[str, str], X: PostData, *, seed: int = 0) -> dict[str, Any]:
    """block -> that encoder fitted on the texts of X (the training rows, nothing else)."""
    texts = _texts(X, "fit")
    return {block: build_fitted_encoder(name, seed=seed).fit(texts) for block, name in encoders.items()}


def with_text_blocks(featurizers: dict[str, Any], X: PostData, what: str) -> PostData:
    """X plus one block per fitted encoder, computed from its texts (zero and absent where a post has none)."""
    texts = _texts(X, what)
    present = np.array([bool(t.strip()) for t in texts], bool)
    modalities, masks = dict(X.modalities), dict(X.masks)
    for block, featurizer in featurizers.items():
        matrix = np.asarray(_dense(featurizer.transform(texts)), np.float32)
        matrix[~present] = 0.0
        modalities[block], masks[block] = matrix, present
    return PostData(modalities=modalities, masks=masks, meta=X.meta, meta_names=list(X.meta_names),
                    sequences=X.sequences, texts=X.texts, waveforms=X.waveforms, ids=X.ids)


def _texts(X: PostData, what: str) -> list[str]:
    if X.texts is None:
        raise ConfigError(f"{what}: tfidf / word2vec blocks are computed from raw texts and X has none; pass PostData "
                          "with texts or a DataFrame with a 'text' column (SMOTE's synthetic posts have no text: "
                          "use over or class_weight)")
    return [t if isinstance(t, str) else "" for t in X.texts]


def _dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
