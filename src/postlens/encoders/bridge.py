"""One space for images and text: project images into the sentence-embedding space (MiniLM, 384-d).

No CLIP-like model ships offline, so two weaker signals are combined:

* zero-shot: what the image *says* in words: its ImageNet label names ("a photo of a <label>",
  weighted by probability) and its OCR text, embedded by the same text model as the posts;
* learned: a ridge map from the 1280-d EfficientNet vector to the text space, fitted on the corpus'
  own image-text pairs (an image and the posts that carry it). Ridge because pairs are few (hundreds):
  closed form, the penalty chosen by exact leave-one-out error (scikit-learn's ``RidgeCV``; it picks the
  same penalty and coefficients as the hand-written SVD form it replaced), no epochs to tune.

The mix weight between both is also chosen by leave-one-out on the training pairs.
The text embedder is injected (``embed_texts``) so this module depends on no text-encoder code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

EmbedTexts = Callable[[list[str]], np.ndarray]
Label = Mapping[str, Any] | tuple[str, float]
DEFAULT_ALPHAS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
_WEIGHT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
_FORMAT_VERSION = 1


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise each row; all-zero rows stay zero (they mean "no signal")."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 1e-12)


def label_prompt(name: str) -> str:
    return f"a photo of a {name}"


def zero_shot_vectors(
    labels: Sequence[Sequence[Label]],
    ocr_texts: Sequence[str | None] | None,
    embed_texts: EmbedTexts,
    *,
    ocr_weight: float = 1.0,
    min_ocr_chars: int = 4,
) -> np.ndarray:
    """Per image: normalise(mean of label-prompt embeddings weighted by prob) + ocr_weight * OCR embedding.

    ``labels[i]`` is the EfficientNet ``info["labels"]`` list (dicts with name/prob) or (name, prob)
    pairs; ``ocr_texts[i]`` the OCR text or None. Rows with neither are zero.
    """
    count = len(labels)
    pairs = [[_name_prob(label) for label in row] for row in labels]
    names = sorted({name for row in pairs for name, _ in row})
    texts = list(ocr_texts) if ocr_texts is not None else [None] * count
    if len(texts) != count:
        raise ValueError(f"{count} label rows but {len(texts)} OCR texts; pass one of each per image")
    usable = [i for i, t in enumerate(texts) if t and sum(ch.isalnum() for ch in t) >= min_ocr_chars]
    embedded = _embed(embed_texts, [label_prompt(n) for n in names] + [" ".join(str(texts[i]).split()) for i in usable])
    name_rows = dict(zip(names, embedded[: len(names)]))
    dim = embedded.shape[1] if embedded.size else 0
    out = np.zeros((count, dim), dtype=np.float32)
    for i, row in enumerate(pairs):
        total = sum(p for _, p in row)
        if row and total > 0:
            out[i] = normalise_rows(sum(p * name_rows[n] for n, p in row)[None, :])[0]
    for i, vector in zip(usable, embedded[len(names) :]):
        out[i] += ocr_weight * normalise_rows(vector[None, :])[0]
    return normalise_rows(out)


class ImageTextBridge:
    """Images -> the text-embedding space; sklearn-style fit/transform, numpy-only save/load.

    fit(image_vectors (n, d_img), text_vectors (n, d_txt), zero_shot_vectors=None)
        rows are pairs; identical image rows are merged (their texts averaged) so that an image with
        many posts counts once. When zero-shot vectors are given, the learned/zero-shot mix weight is
        chosen by leave-one-out cosine on these pairs.
    transform(image_vectors, zero_shot_vectors=None) -> (n, d_txt) L2-normalised
        unfitted: zero-shot only (needs zero_shot_vectors); rows whose zero-shot vector is all-zero
        use the learned map alone.
    """

    def __init__(
        self,
        *,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        learned_weight: float | None = None,
        embed_texts: EmbedTexts | None = None,
    ) -> None:
        self.alphas = tuple(float(a) for a in alphas)
        self.learned_weight = learned_weight
        self.embed_texts = embed_texts
        self.coef_: np.ndarray | None = None
        self.x_mean_: np.ndarray | None = None
        self.y_mean_: np.ndarray | None = None
        self.alpha_: float | None = None
        self.weight_: float = 0.5 if learned_weight is None else float(learned_weight)
        self.loo_cosine_: float | None = None

    @property
    def fitted(self) -> bool:
        return self.coef_ is not None

    def fit(
        self, image_vectors: np.ndarray, text_vectors: np.ndarray, zero_shot_vectors: np.ndarray | None = None
    ) -> "ImageTextBridge":
        images = np.asarray(image_vectors, dtype=np.float64)
        texts = np.asarray(text_vectors, dtype=np.float64)
        if images.ndim != 2 or texts.ndim != 2 or len(images) != len(texts):
            raise ValueError(f"need (n, d) arrays of equal n; got {images.shape} and {texts.shape}")
        if len(images) < 3:
            raise ValueError(f"need at least 3 image-text pairs to fit, got {len(images)}")
        images, texts, zero_shot = _merge_duplicates(images, texts, zero_shot_vectors)
        x = normalise_rows(images).astype(np.float64)
        y = normalise_rows(texts).astype(np.float64)
        ridge = _ridge_cv(self.alphas).fit(x, y)
        self.alpha_ = float(ridge.alpha_)
        # with a scoring, RidgeCV keeps each pair's exact leave-one-out prediction for every alpha
        loo_predictions = ridge.cv_results_[:, :, self.alphas.index(self.alpha_)]
        self.x_mean_, self.y_mean_ = x.mean(axis=0), y.mean(axis=0)
        self.coef_ = ridge.coef_.T  # (x - x_mean_) @ coef_ + y_mean_ == ridge.predict(x)
        self.loo_cosine_ = float(np.mean(np.sum(normalise_rows(loo_predictions) * y, axis=1)))
        if zero_shot is not None and self.learned_weight is None:
            self.weight_ = _best_weight(normalise_rows(loo_predictions), normalise_rows(zero_shot), y)
        return self

    def transform(self, image_vectors: np.ndarray | None, zero_shot_vectors: np.ndarray | None = None) -> np.ndarray:
        learned = self.project(image_vectors) if self.fitted and image_vectors is not None else None
        zero_shot = normalise_rows(zero_shot_vectors) if zero_shot_vectors is not None else None
        if learned is None and zero_shot is None:
            raise ValueError("the bridge is not fitted: call fit(...) or pass zero_shot_vectors")
        if learned is None:
            return zero_shot  # type: ignore[return-value]
        if zero_shot is None:
            return learned
        if zero_shot.shape != learned.shape:
            raise ValueError(f"zero-shot vectors {zero_shot.shape} do not match the learned space {learned.shape}")
        return _mix(learned, zero_shot, self.weight_)

    def project(self, image_vectors: np.ndarray) -> np.ndarray:
        """The learned map alone, L2-normalised."""
        if self.coef_ is None or self.x_mean_ is None or self.y_mean_ is None:
            raise ValueError("the bridge is not fitted: call fit(image_vectors, text_vectors) first")
        x = normalise_rows(np.asarray(image_vectors, dtype=np.float64)).astype(np.float64)
        return normalise_rows((x - self.x_mean_) @ self.coef_ + self.y_mean_)

    def zero_shot(self, labels: Sequence[Sequence[Label]], ocr_texts: Sequence[str | None] | None = None) -> np.ndarray:
        if self.embed_texts is None:
            raise ValueError("pass embed_texts=... to ImageTextBridge to build zero-shot vectors")
        return zero_shot_vectors(labels, ocr_texts, self.embed_texts)

    def save(self, path: str | Path) -> Path:
        """A plain .npz (no pickle): safe to load from an untrusted workspace."""
        if not self.fitted:
            raise ValueError("nothing to save: the bridge is not fitted")
        target = Path(path)
        with open(target, "wb") as handle:
            np.savez(
                handle,
                format_version=np.int64(_FORMAT_VERSION),
                coef=self.coef_,
                x_mean=self.x_mean_,
                y_mean=self.y_mean_,
                alpha=np.float64(self.alpha_),
                weight=np.float64(self.weight_),
                alphas=np.asarray(self.alphas),
            )
        return target

    @classmethod
    def load(cls, path: str | Path, *, embed_texts: EmbedTexts | None = None) -> "ImageTextBridge":
        with np.load(Path(path), allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != _FORMAT_VERSION:
                raise ValueError(f"{path}: bridge format {version}, this postlens reads {_FORMAT_VERSION}; refit it")
            bridge = cls(alphas=tuple(data["alphas"].tolist()), learned_weight=float(data["weight"]), embed_texts=embed_texts)
            bridge.coef_, bridge.x_mean_, bridge.y_mean_ = data["coef"], data["x_mean"], data["y_mean"]
            bridge.alpha_ = float(data["alpha"])
        return bridge


def _ridge_cv(alphas: Sequence[float]) -> Any:
    """scikit-learn's RidgeCV: the penalty chosen by exact (closed-form) leave-one-out squared error."""
    try:
        from sklearn.linear_model import RidgeCV
    except ImportError as error:
        from postlens.errors import MissingDependency

        raise MissingDependency(error.name or "sklearn", "segments") from error
    return RidgeCV(alphas=alphas, fit_intercept=True, scoring="neg_mean_squared_error", store_cv_results=True)


def _name_prob(label: Label) -> tuple[str, float]:
    if isinstance(label, Mapping):
        return str(label["name"]), float(label.get("prob", 1.0))
    name, prob = label
    return str(name), float(prob)


def _embed(embed_texts: EmbedTexts, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(embed_texts(texts), dtype=np.float32)
    if vectors.shape[0] != len(texts):
        raise ValueError(f"embed_texts returned {vectors.shape[0]} vectors for {len(texts)} texts")
    return vectors


def _merge_duplicates(
    images: np.ndarray, texts: np.ndarray, zero_shot: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One row per distinct image; its target is the mean of its (normalised) texts."""
    unique, inverse = np.unique(images, axis=0, return_inverse=True)
    if len(unique) == len(images):
        return images, texts, zero_shot
    inverse = inverse.reshape(-1)
    summed = np.zeros((len(unique), texts.shape[1]))
    np.add.at(summed, inverse, normalise_rows(texts))
    merged_zero_shot = None
    if zero_shot is not None:
        first = np.full(len(unique), -1)
        for row, group in enumerate(inverse):
            if first[group] < 0:
                first[group] = row
        merged_zero_shot = np.asarray(zero_shot)[first]
    return unique, summed, merged_zero_shot


def _mix(learned: np.ndarray, zero_shot: np.ndarray, weight: float) -> np.ndarray:
    has_zero_shot = np.linalg.norm(zero_shot, axis=1) > 1e-12
    mixed = np.where(has_zero_shot[:, None], weight * learned + (1.0 - weight) * zero_shot, learned)
    return normalise_rows(mixed)


def _best_weight(learned: np.ndarray, zero_shot: np.ndarray, targets: np.ndarray) -> float:
    """The mix weight whose held-out (LOO) projections are closest, on average, to their texts."""
    scores = {w: float(np.mean(np.sum(_mix(learned, zero_shot, w) * targets, axis=1))) for w in _WEIGHT_GRID}
    return float(max(scores, key=scores.get))  # type: ignore[arg-type]
