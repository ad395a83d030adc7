"""Quality probe: do image features alone tell which news event an image belongs to?

MediaEval 2016 (../shared/datasets/mediaeval2016): ~410 images of 17 events. Each image is one sample,
so a stratified split by image is image-disjoint; near-duplicate copies (same perceptual hash within
6 bits) are additionally kept on one side with StratifiedGroupKFold so that a re-saved copy cannot leak.
Prints macro-F1 of a LogisticRegression on EfficientNet vectors (and + stats) against chance.

Also the shared loader for bench/bridge_probe.py: features are cached under $POSTLENS_BENCH_CACHE
(default /tmp/postlens-bench) because OCR of 410 images takes minutes.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/image_probe.py
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
MEDIAEVAL = REPO_ROOT.parent / "shared" / "datasets" / "mediaeval2016"
CACHE = Path(os.environ.get("POSTLENS_BENCH_CACHE", "/tmp/postlens-bench"))
MIN_IMAGES_PER_EVENT = 3


@dataclass
class MediaEvalImages:
    ids: list[str]
    events: list[str]
    paths: list[Path]
    vectors: np.ndarray  # (n, 1280) EfficientNet, NaN rows for failures
    labels: list[list[dict]]
    ocr: list[str]
    stats: np.ndarray  # (n, k)
    phash: list[str]


def image_index(root: Path = MEDIAEVAL) -> dict[str, tuple[str, Path]]:
    """image id -> (event folder, path); the two .txt video pointers are skipped."""
    index: dict[str, tuple[str, Path]] = {}
    for path in sorted((root / "images").rglob("*")):
        if path.is_file() and path.suffix.lower() != ".txt":
            index[path.stem] = (path.relative_to(root / "images").parts[0], path)
    return index


def load_features(root: Path = MEDIAEVAL, *, with_ocr: bool = True, verbose: bool = True) -> MediaEvalImages:
    from postlens.encoders.image import EfficientNetEncoder, ImageStatsEncoder, OCREncoder

    index = image_index(root)
    ids = sorted(index)
    paths = [index[i][1] for i in ids]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"mediaeval_images_{len(ids)}.npz"
    meta_file = cache.with_suffix(".json")
    if cache.exists() and meta_file.exists():
        data = np.load(cache)
        meta = json.loads(meta_file.read_text())
        if with_ocr and meta.get("ocr") is None:
            meta["ocr"] = _ocr_all(OCREncoder(), paths, verbose)
            meta_file.write_text(json.dumps(meta))
        return MediaEvalImages(
            ids,
            [index[i][0] for i in ids],
            paths,
            data["vectors"],
            meta["labels"],
            meta.get("ocr") or [""] * len(ids),
            data["stats"],
            meta["phash"],
        )
    started = time.perf_counter()
    vectors_out = EfficientNetEncoder().encode(paths)
    stats_out = ImageStatsEncoder().encode(paths)
    if verbose:
        print(f"  EfficientNet + stats on {len(ids)} images: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    vectors = np.stack([f.vector if f.vector is not None else np.full(1280, np.nan, np.float32) for f in vectors_out])
    stats = np.stack([f.vector if f.vector is not None else np.full(7, np.nan, np.float32) for f in stats_out])
    labels = [f.info.get("labels", []) for f in vectors_out]
    phash = [f.info.get("phash", "") for f in stats_out]
    ocr = _ocr_all(OCREncoder(), paths, verbose) if with_ocr else None
    np.savez(cache, vectors=vectors, stats=stats)
    meta_file.write_text(json.dumps({"labels": labels, "phash": phash, "ocr": ocr}))
    return MediaEvalImages(
        ids, [index[i][0] for i in ids], paths, vectors, labels, ocr or [""] * len(ids), stats, phash
    )


def _ocr_all(encoder, paths: list[Path], verbose: bool) -> list[str]:
    started = time.perf_counter()
    out = [f.text or "" for f in encoder.encode(paths)]
    if verbose:
        print(f"  OCR on {len(paths)} images: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return out


def near_duplicate_groups(hashes: list[str], max_distance: int = 6) -> np.ndarray:
    """Copies of one picture (perceptual hashes within ``max_distance`` bits) share a group id."""
    from postlens.evaluation.image_groups import cluster_hashes

    return cluster_hashes(hashes, max_distance)


def event_probe(data: MediaEvalImages, *, folds: int = 5, seed: int = 0) -> dict[str, float]:
    """Macro-F1 of event prediction from image features; image-disjoint and near-duplicate-disjoint."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    events = np.array(data.events)
    ok = ~np.isnan(data.vectors).any(axis=1)
    counts = {e: int(((events == e) & ok).sum()) for e in set(events)}
    keep = ok & np.array([counts[e] >= MIN_IMAGES_PER_EVENT for e in events])
    x_cnn = data.vectors[keep] / np.linalg.norm(data.vectors[keep], axis=1, keepdims=True)
    x_all = np.hstack([x_cnn, data.stats[keep]])
    y = events[keep]
    groups = near_duplicate_groups([h for h, k in zip(data.phash, keep) if k])
    results: dict[str, float] = {
        "images": int(keep.sum()),
        "events": len(set(y)),
        "dropped_events": sorted(str(e) for e, c in counts.items() if c < MIN_IMAGES_PER_EVENT),
        "near_duplicate_images": int(len(groups) - len(set(groups))),
    }
    splitters = {
        "by_image": StratifiedKFold(folds, shuffle=True, random_state=seed).split(x_cnn, y),
        "by_near_duplicate_group": StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(x_cnn, y, groups),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small classes warn in every fold
        for split_name, splits in splitters.items():
            predictions = {
                "cnn": np.empty(len(y), dtype=object),
                "cnn+stats": np.empty(len(y), dtype=object),
                "chance_stratified": np.empty(len(y), dtype=object),
                "chance_majority": np.empty(len(y), dtype=object),
            }
            for train, test in splits:
                for name, x in (("cnn", x_cnn), ("cnn+stats", x_all)):
                    model = make_pipeline(
                        StandardScaler(), LogisticRegression(C=0.05, max_iter=3000, class_weight="balanced")
                    )
                    predictions[name][test] = model.fit(x[train], y[train]).predict(x[test])
                for name, strategy in (("chance_stratified", "stratified"), ("chance_majority", "most_frequent")):
                    dummy = DummyClassifier(strategy=strategy, random_state=seed).fit(x_cnn[train], y[train])
                    predictions[name][test] = dummy.predict(x_cnn[test])
            for name, predicted in predictions.items():
                results[f"{split_name}/{name}/macro_f1"] = round(
                    float(f1_score(y, predicted.astype(str), average="macro")), 4
                )
                results[f"{split_name}/{name}/accuracy"] = round(float(np.mean(predicted.astype(str) == y)), 4)
    return results


def main() -> None:
    if not MEDIAEVAL.exists():
        print(f"MediaEval data not found at {MEDIAEVAL}; nothing to probe")
        return
    data = load_features()
    for key, value in event_probe(data).items():
        print(f"{key:55s} {value}")


if __name__ == "__main__":
    main()
