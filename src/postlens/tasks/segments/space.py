"""One vector per post in the sentence-embedding space, whatever the post is made of.

Text, OCR text, on-screen text and transcripts are already sentence vectors. Images and video
frames are carried into that space by ``encoders/bridge.py`` (a ridge map learned on the corpus'
own image-text pairs, mixed with a zero-shot vector of the image's ImageNet label names); audio
by a ridge map of the same kind. A post's vector is the weighted mean of the unit vectors of
the parts it has, so an image-only post lands among the text posts about the same thing.

Weights are measured, not guessed: a text field counts 1, a bridged part counts its bridge's
leave-one-out cosine to the texts it should predict (a bridge that cannot predict text weighs little).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from postlens.encoders.bridge import ImageTextBridge, normalise_rows, zero_shot_vectors
from postlens.tasks.segments.cluster import distinct_rows, group_sums
from postlens.tasks.segments.parts import TEXT_FIELDS, PostParts

EmbedTexts = Callable[[list[str]], np.ndarray]
BRIDGED = {"image": "visual", "video": "visual", "audio": "audio"}
"""Media part -> the bridge that carries it (images and video frames share EfficientNet's space)."""
MIN_PAIRS = 8
MIN_BRIDGE_WEIGHT = 0.05


class SharedSpace:
    """fit(parts) learns the bridges; transform(parts) -> (n, d) unit rows (zero rows: nothing to go on).

    ``embed_texts`` embeds ImageNet label prompts for the zero-shot image vectors (None: learned
    bridge only). ``text_weights`` overrides the weight of a text field (default 1 each).
    """

    def __init__(
        self,
        *,
        embed_texts: EmbedTexts | None = None,
        text_weights: dict[str, float] | None = None,
        min_pairs: int = MIN_PAIRS,
    ) -> None:
        self.embed_texts = embed_texts
        self.text_weights = text_weights
        self.min_pairs = min_pairs
        self.bridges_: dict[str, ImageTextBridge] = {}
        self.weights_: dict[str, float] = {}
        self.dim_: int | None = None

    def fit(self, parts: PostParts) -> SharedSpace:
        text = self._text_side(parts)
        self.dim_ = text.shape[1]
        has_text = np.linalg.norm(text, axis=1) > 0
        self.weights_ = {f: float((self.text_weights or {}).get(f, 1.0)) for f in TEXT_FIELDS}
        self.bridges_ = {}
        for bridge_name in sorted(set(BRIDGED.values())):
            members = [m for m, b in BRIDGED.items() if b == bridge_name and m in parts.vectors]
            inputs, targets, zero_shot = [], [], []
            for member in members:
                rows = np.flatnonzero(parts.has(member) & has_text)
                if len(rows) and parts.vectors[member].shape[1]:
                    inputs.append(parts.vectors[member][rows])
                    targets.append(text[rows])
                    first, which = distinct_rows(parts.vectors[member][rows])
                    distinct_zero_shot = self._zero_shot(parts, member, rows[first])
                    zero_shot.append(None if distinct_zero_shot is None else distinct_zero_shot[which])
            count = sum(len(x) for x in inputs)
            if count < self.min_pairs:
                continue
            present = [z for z in zero_shot if z is not None]
            zs = np.concatenate(present) if len(present) == len(zero_shot) else None
            merged = _merge_same_inputs(np.concatenate(inputs), np.concatenate(targets), zs)
            bridge = ImageTextBridge().fit(*merged)
            self.bridges_[bridge_name] = bridge
            for member in members:
                self.weights_[member] = max(MIN_BRIDGE_WEIGHT, float(bridge.loo_cosine_ or 0.0))
        return self

    def transform(self, parts: PostParts) -> np.ndarray:
        if self.dim_ is None:
            raise ValueError("the shared space is not fitted: call fit(parts) first")
        out = np.zeros((len(parts), self.dim_), np.float64)
        for _, weighted in self.part_vectors_weights(parts):
            out += weighted
        return normalise_rows(out)

    def part_vectors_weights(self, parts: PostParts) -> list[tuple[str, np.ndarray]]:
        """(part, weighted unit vectors) for each part the posts have and this space can place."""
        assert self.dim_ is not None
        found: list[tuple[str, np.ndarray]] = []
        for field in TEXT_FIELDS:
            if field in parts.vectors and parts.vectors[field].shape[1] == self.dim_:
                weight = self.weights_.get(field, 1.0)
                found.append((field, weight * normalise_rows(parts.vectors[field]) * parts.has(field)[:, None]))
        for member, bridge_name in BRIDGED.items():
            bridge = self.bridges_.get(bridge_name)
            rows = np.flatnonzero(parts.has(member)) if member in parts.vectors else np.zeros(0, int)
            if not len(rows):
                continue
            # a picture posted many times is placed once (the same vector has the same labels)
            first, which = distinct_rows(parts.vectors[member][rows])
            zero_shot = self._zero_shot(parts, member, rows[first])
            if bridge is not None:
                fitted = bridge.x_mean_
                if fitted is not None and parts.vectors[member].shape[1] != fitted.shape[0]:
                    raise ValueError(
                        f"{member} vectors are {parts.vectors[member].shape[1]}-d, the space was fitted "
                        f"on {fitted.shape[0]}-d ones: refit the topics"
                    )
                placed = bridge.transform(parts.vectors[member][rows[first]], zero_shot)
            elif zero_shot is not None:
                placed = normalise_rows(zero_shot)
            else:
                continue
            block = np.zeros((len(parts), self.dim_), np.float64)
            block[rows] = placed[which]
            found.append((member, self.weights_.get(member, MIN_BRIDGE_WEIGHT) * block))
        return found

    def fit_transform(self, parts: PostParts) -> np.ndarray:
        return self.fit(parts).transform(parts)

    def _text_side(self, parts: PostParts) -> np.ndarray:
        """The text a media part should predict: the post's own text, else its other text fields."""
        own = parts.vectors.get("text")
        if own is None or not own.shape[1]:
            dims = [parts.vectors[f].shape[1] for f in TEXT_FIELDS if f in parts.vectors and parts.vectors[f].shape[1]]
            if not dims:
                raise ValueError("the posts have no text vectors at all: run featurize with a text encoder first")
            own = np.zeros((len(parts), dims[0]), np.float32)
        out = normalise_rows(own) * parts.has("text")[:, None]
        others = np.zeros_like(out)
        for field in TEXT_FIELDS[1:]:
            if field in parts.vectors and parts.vectors[field].shape[1] == out.shape[1]:
                others += normalise_rows(parts.vectors[field]) * parts.has(field)[:, None]
        fallback = ~parts.has("text")
        out[fallback] = normalise_rows(others[fallback])
        return out

    def _zero_shot(self, parts: PostParts, member: str, rows: np.ndarray) -> np.ndarray | None:
        """Label-name vectors of images (OCR is a text field of its own, so it is not counted twice)."""
        if member != "image" or self.embed_texts is None:
            return None
        labels = [parts.labels[i] for i in rows]
        if not any(labels):
            return None
        vectors = zero_shot_vectors(labels, None, self.embed_texts)
        if vectors.shape[1] != self.dim_:
            return None
        return vectors

    # ------------------------------------------------------------------ persistence (no pickle)

    def save(self, folder: str | Path) -> None:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, bridge in self.bridges_.items():
            bridge.save(target / f"bridge-{name}.npz")
        (target / "space.json").write_text(
            json.dumps(
                {
                    "dim": self.dim_,
                    "weights": self.weights_,
                    "bridges": sorted(self.bridges_),
                    "min_pairs": self.min_pairs,
                },
                indent=2,
                sort_keys=True,
            )
        )

    @classmethod
    def load(cls, folder: str | Path, *, embed_texts: EmbedTexts | None = None) -> SharedSpace:
        source = Path(folder)
        meta = json.loads((source / "space.json").read_text())
        space = cls(embed_texts=embed_texts, min_pairs=int(meta.get("min_pairs", MIN_PAIRS)))
        space.dim_ = int(meta["dim"]) if meta.get("dim") is not None else None
        space.weights_ = {str(k): float(v) for k, v in meta["weights"].items()}
        for name in meta["bridges"]:
            if name not in set(BRIDGED.values()):
                raise ValueError(f"{source}: unknown bridge {name!r}; known: {sorted(set(BRIDGED.values()))}")
            space.bridges_[name] = ImageTextBridge.load(source / f"bridge-{name}.npz")
        return space


def _merge_same_inputs(
    inputs: np.ndarray, targets: np.ndarray, zero_shot: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One pair per distinct media vector (a picture shared by 500 posts is one example whose text is
    their mean)."""
    first, which = distinct_rows(inputs)
    if len(first) == len(inputs):
        return inputs, targets, zero_shot
    summed = group_sums(which, normalise_rows(targets), len(first))
    return inputs[first], normalise_rows(summed), None if zero_shot is None else zero_shot[first]
